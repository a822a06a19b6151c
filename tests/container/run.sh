#!/bin/bash
# Run the container tests (make test-container; the image must exist) the way
# tests/run.sh runs the others: their PASS:/FAIL:/SKIP: lines as they come,
# then "N passed, N failed[, N skipped]"; exit non-zero on any failure. They
# are not in tests/run.sh's set: they need the image and take longer. The
# full output goes to build/test-container.log.
#   tests/container/run.sh [PATTERN]    only tests whose path contains PATTERN
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
log=$BUILD/test-container.log
mkdir -p "$BUILD"
: > "$log"
pattern=${1:-}
pass=0 fail=0 skip=0 stopped=0
out=$(mktemp /tmp/cs-ctr-run.XXXXXX)
trap 'rm -f "$out"' EXIT
# Ctrl-C reaches the test too (it cleans up and exits); stop after it
trap 'stopped=1' INT TERM

for t in tests/container/*.sh; do
	[ "$t" = tests/container/run.sh ] && continue
	[ -x "$t" ] && [ -f "$t" ] || continue
	case "$t" in *"$pattern"*) ;; *) continue ;; esac
	echo "== $t"
	# in the foreground process group, so that Ctrl-C reaches the test; the
	# readers ignore it, so the test's last lines still reach the log
	timeout --foreground --kill-after=30 "${TEST_TIMEOUT:-600}" "$t" </dev/null 2>&1 |
		(trap '' INT; exec tee "$out") |
		(trap '' INT; exec grep --line-buffered -E '^(PASS|FAIL|SKIP): ')
	rc=${PIPESTATUS[0]}
	cat "$out" >> "$log"
	p=$(grep -c '^PASS: ' "$out")
	f=$(grep -c '^FAIL: ' "$out")
	s=$(grep -c '^SKIP: ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL: $t: exited with status $rc without saying why; see $log"
		tail -5 "$out" | sed 's/^/    /'
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	[ $stopped = 1 ] && break
done

line="$pass passed, $fail failed"
[ "$skip" -gt 0 ] && line="$line, $skip skipped"
echo "$line"
[ $stopped = 1 ] && exit 130
[ "$fail" -eq 0 ]
