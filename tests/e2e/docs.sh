#!/bin/bash
# e2e-docs: the documents cannot drift from the code without a test saying so.
# docs/reference.md is what scripts/gen-reference.py writes from the code now
# (run `make docs` when it is not); every relative link of README.md and
# docs/*.md reaches a file and heading that exist, every repository path they
# name exists, and nothing cites DESIGN.md (tests/lib/checkdocs.py). No
# root, no build needed.
T_SUITE=e2e-docs
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/lib/testing.sh"
cd "$REPO" || exit 1

out=$(/usr/bin/python3 scripts/gen-reference.py --check 2>&1); rc=$?
[ $rc = 0 ] && pass "docs/reference.md is what scripts/gen-reference.py writes from the code" ||
	fail "docs/reference.md is what scripts/gen-reference.py writes from the code" \
		"run make docs; rc $rc: $(printf '%s\n' "$out" | head -20)"

docs=(README.md docs/*.md tests/corpus/README.md)
out=$(/usr/bin/python3 tests/lib/checkdocs.py . "${docs[@]}" 2>&1); rc=$?
[ $rc = 0 ] && pass "links and paths in ${#docs[@]} documents reach what exists" ||
	fail "links and paths in the documents reach what exists" "$(printf '%s\n' "$out" | head -20)"

# the generator refuses a map without its comment, and finds maps in any
# file under bpf/, however deep
tmp=$(mktemp -d /tmp/cs-docs.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/headers" "$tmp/bpf/lib/deeper" "$tmp/docs"
cp headers/cloudsteer.h "$tmp/headers/"
cp docs/reference.md "$tmp/docs/"
cp -r bpf/. "$tmp/bpf/"
printf '/* A test map. Written by nobody; read by docs.sh. */\nstruct {\n\t__uint(type, BPF_MAP_TYPE_HASH);\n\t__uint(max_entries, 8);\n\t__type(key, __u32);\n\t__type(value, struct cs_addr);\n} cs_docs_probe SEC(".maps");\n' \
	> "$tmp/bpf/lib/deeper/probe.h"
/usr/bin/python3 scripts/gen-reference.py --root "$tmp" >/dev/null 2>&1 &&
	grep -q '^### cs_docs_probe$' "$tmp/docs/reference.md" &&
	grep -q 'Written by nobody; read by docs.sh' "$tmp/docs/reference.md" &&
	pass "the generator finds a map in bpf/lib/deeper/ with its comment" ||
	fail "the generator finds a map in bpf/lib/deeper/ with its comment" "$(grep -c cs_docs_probe "$tmp/docs/reference.md")"
sed -i '/A test map/d' "$tmp/bpf/lib/deeper/probe.h"
out=$(/usr/bin/python3 scripts/gen-reference.py --root "$tmp" 2>&1)
[[ $out == *"cs_docs_probe has no comment"* ]] &&
	pass "the generator refuses a map without a comment on who writes and reads it" ||
	fail "the generator refuses a map without a comment on who writes and reads it" "$out"
t_exit
