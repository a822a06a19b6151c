#!/bin/bash
# e2e-units: the systemd units in scripts/systemd/ are valid (systemd-analyze
# verify, with the binary and the man page they name made from this tree),
# the commands they run are ones cloudsteer accepts, they are Type=notify,
# and `systemd-analyze security` rates them 5.0 or better (exposure), with
# bpf(2) still allowed by their SystemCallFilter=. No root needed. (The
# daemons under these units' capabilities and $NOTIFY_SOCKET: e2e/systemd.sh.)
T_SUITE=e2e-units
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/lib/testing.sh"
CS=$REPO/${BUILD:-build}/cloudsteer
command -v systemd-analyze >/dev/null || { skip all "systemd-analyze missing (no systemd)"; exit 0; }
TMP=$(mktemp -d /tmp/cs-units.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

# the man page the units' Documentation= names, where man finds it
mkdir -p "$TMP/man/man8"
python3 "$REPO/scripts/gen-man.py" "$REPO/docs/commands.md" > "$TMP/man/man8/cloudsteer.8" 2>/dev/null
printf 'learn:\n  interfaces: [lo]\nrules:\n  - match: [example.test]\n' > "$TMP/cloudsteer.yaml"
# the system calls a SystemCallFilter= list allows, its @groups expanded
# (they nest: @system-service holds @resources ...)
expand_filter() {
	local g
	for g in "$@"; do
		case $g in
		@*) expand_filter $(systemd-analyze syscall-filter "$g" 2>/dev/null | sed 's/^ *//' | grep -v '^#' | tail -n +2);;
		*) echo "$g";;
		esac
	done
}
for unit in "$REPO"/scripts/systemd/*.service; do
	name=$(basename "$unit")
	# (without man-db, verify cannot look the page up: leave it out)
	sed -e "s|/usr/local/sbin/cloudsteer|$CS|g" -e "s|/etc/cloudsteer/cloudsteer.yaml|$TMP/cloudsteer.yaml|g" \
		-e "$(command -v man >/dev/null || echo '/^Documentation=man:/d')" "$unit" > "$TMP/$name"
	out=$(MANPATH=$TMP/man: SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$TMP/$name" 2>&1)
	[ -z "$out" ] && pass "$name: systemd-analyze verify finds nothing wrong" || fail "$name verifies" "$out"
	pre=$(sed -n 's/^ExecStartPre=//p' "$TMP/$name")
	$pre >/dev/null 2>&1 && pass "$name: its ExecStartPre accepts a good config" ||
		fail "$name: ExecStartPre" "$pre: $($pre 2>&1)"
	cmd=$(sed -n 's/^ExecStart=[^ ]* \([a-z]*\) .*/\1/p' "$TMP/$name")
	"$CS" "$cmd" --help | grep -q -- '-c, --config FILE' && pass "$name: cloudsteer $cmd takes -c" ||
		fail "$name: ExecStart's command" "cloudsteer $cmd --help"
	grep -qx 'Type=notify' "$unit" && grep -qx 'NotifyAccess=main' "$unit" &&
		pass "$name: Type=notify, NotifyAccess=main" || fail "$name: Type=notify" "$(grep -e ^Type -e ^Notify "$unit")"
	# --offline=true (systemd 252): the file alone, no running manager
	sec=$(SYSTEMD_LOG_LEVEL=warning systemd-analyze security --offline=true "$TMP/$name" 2>&1)
	score=$(printf '%s\n' "$sec" | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p')
	[ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 5.0) }' &&
		pass "$name: systemd-analyze security rates its exposure $score (5.0 or better)" ||
		fail "$name: exposure 5.0 or better" "${score:-no score}: $(printf '%s\n' "$sec" | tail -3)"
	# the daemons live on bpf(2): the filter must name it (it is in
	# @privileged, which @system-service leaves out)
	filter=$(sed -n 's/^SystemCallFilter=//p' "$unit")
	allowed=$(expand_filter $filter)
	for sc in bpf setrlimit socket sendto epoll_wait; do
		grep -qx "$sc" <<<"$allowed" || { fail "$name: SystemCallFilter= allows $sc" "$filter"; continue 2; }
	done
	pass "$name: SystemCallFilter= allows bpf(2), setrlimit, socket, sendto, epoll_wait"
done
t_exit
