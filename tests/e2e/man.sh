#!/bin/bash
# e2e-man: the man page made from docs/commands.md by scripts/gen-man.py. It is
# made without warnings, groff renders it without warnings, it has its
# sections, every "### cloudsteer X" section of docs/commands.md is a
# subsection of COMMANDS and a SYNOPSIS line, every command that `cloudsteer
# --help` lists has one, and each command's usage line, in SYNOPSIS and at the
# top of its own section, is exactly the first line of `cloudsteer X --help`.
# Markdown the generator does not know must still make a clean page. No root
# needed.
T_SUITE=e2e-man
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/lib/testing.sh"
cd "$REPO" || exit 1
CS=${CLOUDSTEER:-$REPO/${BUILD:-build}/cloudsteer}
TMP=$(mktemp -d /tmp/cs-man.XXXXXX)
trap "rm -rf \"\$TMP\"" EXIT

command -v python3 >/dev/null || { fail python3 "python3 missing (make test-deps)"; t_exit; }
command -v groff >/dev/null || { fail groff "groff missing: install groff-base (make test-deps)"; t_exit; }

# render FILE.8 > TEXT: plain text, one line per synopsis line, ASCII hyphens
render() {
	groff -man -Tutf8 -P-cbou -rLL=250n "$1" 2>/dev/null |
		python3 -c 'import sys; sys.stdout.write(sys.stdin.read().translate({0x2010: 45, 0x2011: 45, 0x2212: 45, 0x2018: 96, 0x2019: 39}))'
}
# section NAME < TEXT: the lines of one top-level section of a rendered page
section() { awk -v s="$1" '/^[A-Z]/ { on = ($0 == s); next } on'; }

# ---- the page ----
SRC=docs/commands.md
python3 scripts/gen-man.py $SRC > "$TMP/cloudsteer.8" 2> "$TMP/gen.err"; rc=$?
[ $rc = 0 ] && [ -s "$TMP/cloudsteer.8" ] && [ ! -s "$TMP/gen.err" ] &&
	pass "gen-man.py makes the page from $SRC without warnings" ||
	fail "gen-man.py makes the page from $SRC without warnings" "rc $rc: $(cat "$TMP/gen.err")"

for dev in utf8 ascii; do
	warn=$(groff -t -man -T$dev -ww -z "$TMP/cloudsteer.8" 2>&1)
	[ -z "$warn" ] && pass "groff -man -T$dev -ww renders it without warnings" ||
		fail "groff -man -T$dev -ww renders it without warnings" "$(printf '%s\n' "$warn" | head -5)"
done

render "$TMP/cloudsteer.8" > "$TMP/page.txt"
missing=
for s in NAME SYNOPSIS DESCRIPTION OPTIONS COMMANDS ENVIRONMENT FILES "EXIT STATUS" "SEE ALSO"; do
	grep -qx "$s" "$TMP/page.txt" || missing="$missing [$s]"
done
[ -z "$missing" ] && pass "the page has its sections" || fail "the page has its sections" "missing:$missing"

# ---- commands: doc sections, COMMANDS subsections, SYNOPSIS, --help ----
doc_cmds=$(sed -n 's/^### cloudsteer \([a-z][a-z0-9-]*\)[[:space:]]*$/\1/p' $SRC)
[ -n "$doc_cmds" ] && pass "$SRC has command sections: $(echo $doc_cmds)" ||
	fail "$SRC has command sections" 'no "### cloudsteer X" heading'
subsections=$(section COMMANDS < "$TMP/page.txt" | sed -n 's/^   cloudsteer \([^ ]*\)$/\1/p')
for c in $doc_cmds; do
	printf '%s\n' $subsections | grep -qx "$c" &&
		pass "COMMANDS has a subsection for cloudsteer $c" ||
		fail "COMMANDS has a subsection for cloudsteer $c" "subsections: $(echo $subsections)"
done

section SYNOPSIS < "$TMP/page.txt" | sed -n 's/^ *\(cloudsteer .*[^ ]\) *$/\1/p' > "$TMP/synopsis"
syn_cmds=$(awk '{ print $2 }' "$TMP/synopsis")
[ "$(echo $syn_cmds)" = "$(echo $doc_cmds)" ] &&
	pass "SYNOPSIS has one line per command section, in their order" ||
	fail "SYNOPSIS has one line per command section, in their order" "synopsis: $(echo $syn_cmds); $SRC: $(echo $doc_cmds)"

# each command section opens with a code block holding its usage line
awk '/^### cloudsteer / { want = 1; next } want && /^```/ { getline; print; want = 0 }' $SRC |
	tr -s ' ' > "$TMP/section-usage"

if [ ! -x "$CS" ]; then
	fail "cloudsteer COMMAND --help" "no $CS: run make first"
else
	listed=$("$CS" --help | sed -n 's/^  \([a-z][a-z0-9-]*\)  .*/\1/p' | sort)
	[ "$(echo $listed)" = "$(printf '%s\n' $doc_cmds | sort | xargs)" ] &&
		pass "every command of cloudsteer --help has a section, and only those" ||
		fail "every command of cloudsteer --help has a section, and only those" \
			"--help: $(echo $listed); $SRC: $(echo $doc_cmds)"
	while read -r line; do
		c=$(awk '{ print $2 }' <<< "$line")
		out=$("$CS" "$c" --help 2>&1); rc=$?
		if [ $rc != 0 ]; then
			fail "cloudsteer $c --help exits 0" "rc $rc: $(head -3 <<< "$out")"
			continue
		fi
		pass "cloudsteer $c --help exits 0"
		usage=$(sed -n '1s/^usage: *//p' <<< "$out" | tr -s ' ')
		[ "$usage" = "$(tr -s ' ' <<< "$line")" ] &&
			pass "cloudsteer $c: the SYNOPSIS line is the --help usage line" ||
			fail "cloudsteer $c: the SYNOPSIS line is the --help usage line" "man: $line; --help: $usage"
		grep -qxF -- "$usage" "$TMP/section-usage" &&
			pass "cloudsteer $c: its section opens with the --help usage line" ||
			fail "cloudsteer $c: its section opens with the --help usage line" \
				"--help: $usage; $SRC: $(grep -- "^cloudsteer $c " "$TMP/section-usage")"
	done < "$TMP/synopsis"
fi

# ---- markdown it does not know still makes a clean page ----
cat > "$TMP/odd.md" <<'EOF'
# odd(8)

A note before the first section, left out of the page.

## NAME

odd - a page of odd markdown

## DESCRIPTION

Intro: a [link](https://example.com), <https://example.com/x>, *em **strong** em*,
a_b_c, 2 * 3, `unclosed, **unclosed, \* escaped, a back\slash, "quotes" and → ≤ é 😀.
.TH at the start of a line
'br at the start of a line

### What `learn` does

<!-- a comment --> <div>html *block*</div>

#### Sub *heading* with `code`

- item `--x`
  - nested
    ```
    .code in a nested item
    'quote \n
    ```
- | a | b |
  |---|---|
  | `x\|y` | a cell far too long to stand in a column beside the others, so it is wrapped and wrapped |

> quoted **text**
> .dot

    indented code

***

## SYNOPSIS

```
cloudsteer odd [--flag] NAME=VALUE {a|b} FILE...
```

## COMMANDS

### cloudsteer odd

A [link to a file](commands.md#x) and one [elsewhere](https://example.com/y).

A word too long for any line: {"pattern":"=api.other.test","kind":"exact","pattern_id":3,"rule_id":2,"priority":10}
and /a/very/long/path/that/goes/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on/and/on.
Exit status: 0 always.  
Hard break above.

| unclosed | table
|---|
EOF
python3 scripts/gen-man.py "$TMP/odd.md" > "$TMP/odd.8" 2> "$TMP/odd.err"; rc=$?
warn=$(groff -t -man -Tutf8 -ww -z "$TMP/odd.8" 2>&1)
render "$TMP/odd.8" > "$TMP/odd.txt"
[ $rc = 0 ] && [ -z "$warn" ] && grep -q ' \.TH at the start of a line '"'"'br at the start' "$TMP/odd.txt" &&
	grep -q '^ *\.code in a nested item' "$TMP/odd.txt" && grep -q '^ *x|y  a cell' "$TMP/odd.txt" &&
	grep -q '^   cloudsteer odd$' "$TMP/odd.txt" && grep -q 'Exit status: 0 always\.$' "$TMP/odd.txt" &&
	! grep -q 'A note before' "$TMP/odd.txt" && grep -q '^ *A link to a file and one elsewhere <https://example.com/y>' "$TMP/odd.txt" &&
	pass "odd markdown degrades to plain text and still renders without warnings" ||
	fail "odd markdown degrades to plain text and still renders without warnings" "rc $rc: $warn"
t_exit
