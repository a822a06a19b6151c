#!/bin/bash
# Run every test; print "N passed, N failed[, N skipped]" last; exit non-zero
# on any failure. Each test prints PASS:/FAIL:/SKIP: lines (tests/lib/testing.h
# for C, tests/lib/testing.sh for shell); a test that exits non-zero without a
# FAIL line counts as one failure.
#   tests/run.sh [PATTERN]     only tests whose path contains PATTERN
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
log=$BUILD/test.log
mkdir -p "$BUILD"
: > "$log"
pattern=${1:-}
pass=0 fail=0 skip=0

run_one() {
	local name=$1; shift
	local out rc
	# a test that hangs is killed and fails; CI must not wait on it
	out=$(timeout --kill-after=10 "${TEST_TIMEOUT:-600}" "$@" 2>&1 </dev/null); rc=$?
	printf '%s\n' "$out" >> "$log"
	printf '%s\n' "$out" | grep -E '^(PASS|FAIL|SKIP): ' || true
	local p f s
	p=$(printf '%s\n' "$out" | grep -c '^PASS: ')
	f=$(printf '%s\n' "$out" | grep -c '^FAIL: ')
	s=$(printf '%s\n' "$out" | grep -c '^SKIP: ')
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $name: exited with status $rc without saying why; see $log"
		printf '%s\n' "$out" | tail -5 | sed 's/^/    /'
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
}

for t in $BUILD/tests/unit/* $BUILD/tests/prog/* tests/fuzz/*.sh tests/kernel/*.sh tests/cluster/*.sh tests/e2e/*.sh tests/corpus/*.sh; do
	[ -x "$t" ] && [ -f "$t" ] || continue
	case "$t" in *"$pattern"*) ;; *) continue ;; esac
	echo "== $t"
	run_one "$t" "$t"
done

line="$pass passed, $fail failed"
[ "$skip" -gt 0 ] && line="$line, $skip skipped"
echo "$line"
[ "$fail" -eq 0 ]
