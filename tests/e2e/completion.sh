#!/bin/bash
# e2e-completion: scripts/completion/cloudsteer.bash, sourced into bash and
# asked as bash asks it (COMP_WORDS, COMP_CWORD, then COMPREPLY), against
# the real binary's help, so the script cannot drift from the commands: the
# commands of `cloudsteer --help`, show's subcommands from `show --help`,
# and every option of each command's --help. No root needed.
T_SUITE=e2e-completion
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/lib/testing.sh"
CS=${CLOUDSTEER:-$REPO/build/cloudsteer}
COMPLETION=$REPO/scripts/completion/cloudsteer.bash
[ -x "$CS" ] || { fail build "no $CS: run make first"; t_exit; }
TMP=$(mktemp -d /tmp/cs-completion.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

bash -n "$COMPLETION" && pass "the script parses" || fail "the script parses" "bash -n"
. "$COMPLETION"

# complete WORD...: COMPREPLY for the last word, sorted, on one line
complete_words() {
	COMP_WORDS=(cloudsteer "$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_cloudsteer
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
sorted() { tr ' ' '\n' | grep -v '^$' | sort | tr '\n' ' ' | sed 's/ $//'; }

[ "$(complete -p cloudsteer 2>/dev/null)" = "complete -F _cloudsteer cloudsteer" ] &&
	pass "it registers itself for cloudsteer" || fail "it registers itself" "$(complete -p cloudsteer 2>&1)"
[ "$(complete_words sh)" = show ] && pass "cloudsteer sh<TAB>: show" || fail "cloudsteer sh<TAB>" "$(complete_words sh)"
[ "$(complete_words st)" = status ] &&
	pass "cloudsteer st<TAB>: status" || fail "cloudsteer st<TAB>" "$(complete_words st)"

# the commands, from the binary's own list
want=$( ("$CS" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'; echo help version) | sorted)
got=$(complete_words "" | tr ' ' '\n' | grep -v '^-' | sorted)
[ -n "$want" ] && [ "$got" = "$want" ] && pass "the commands are those of cloudsteer --help" ||
	fail "the commands are those of cloudsteer --help" "completion: $got; --help: $want"

# show's subcommands, from its usage line
want=$("$CS" show --help | sed -n '1s/^usage: cloudsteer show \([a-z|]*\) .*/\1/p' | tr '|' ' ' | sorted)
[ -n "$want" ] && [ "$(complete_words show "")" = "$want" ] && [ "$(complete_words show -j "")" = "$want" ] &&
	pass "cloudsteer show <TAB>: the subcommands of show --help" ||
	fail "cloudsteer show <TAB>" "completion: $(complete_words show ""); --help: $want"
[ "$(complete_words show table "")" = "" ] && [ "$(complete_words show ro)" = routes ] &&
	pass "one subcommand, then no more" || fail "one subcommand, then no more" "$(complete_words show table "")"

# every command's options, from its --help
for cmd in $("$CS" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }'); do
	want=$("$CS" "$cmd" --help | grep -oE '^ +(-[a-zA-Z], )?--[a-z-]+' | tr -d ',' | sorted)
	got=$(complete_words "$cmd" -)
	[ -n "$want" ] && [ "$got" = "$want" ] && pass "cloudsteer $cmd -<TAB>: the options of its --help" ||
		fail "cloudsteer $cmd -<TAB>: the options of its --help" "completion: $got; --help: $want"
done
got=$(complete_words show table -)
[[ " $got " == *" -j "* ]] && [[ " $got " == *" --json "* ]] && pass "cloudsteer show table -<TAB>: -j and --json" ||
	fail "cloudsteer show table -<TAB>" "$got"

# files where an option takes them
touch "$TMP/cs.yaml" "$TMP/notes.txt" "$TMP/dns.pcap"
mkdir "$TMP/sub"
[ "$(complete_words run -c "$TMP/")" = "$TMP/cs.yaml $TMP/sub" ] &&
	pass "-c <TAB>: YAML files and directories" || fail "-c <TAB>" "$(complete_words run -c "$TMP/")"
[ "$(complete_words show --pin-dir "$TMP/")" = "$TMP/sub" ] &&
	pass "--pin-dir <TAB>: directories" || fail "--pin-dir <TAB>" "$(complete_words show --pin-dir "$TMP/")"
[ "$(complete_words replay -c "$TMP/cs.yaml" "$TMP/")" = "$TMP/dns.pcap $TMP/sub" ] &&
	pass "replay <TAB>: captures" || fail "replay <TAB>" "$(complete_words replay -c "$TMP/cs.yaml" "$TMP/")"
t_exit
