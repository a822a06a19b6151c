#!/bin/bash
# e2e-bench-smoke: every part of `make bench` runs once in its shortest form
# (BENCH_QUICK=1) and writes cases that keep the contract of tests/bench/run.sh,
# and the report turns them into bench.json, the document and its plots. The
# figures are not judged here: speed belongs to make bench, never to a test.
T_SUITE=e2e-bench-smoke
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/lib/testing.sh"
[ "$(id -u)" = 0 ] || { skip all "needs root"; exit 0; }
PARTS="per_packet dns_path steer_path first_packet expiry failover cluster"
tmp=$(mktemp -d /tmp/cs-bench-smoke.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

BENCH_QUICK=1 BENCH_PARTS_DIR=$tmp/parts BENCH_JSON=$tmp/bench.json BENCH_ENV_JSON=$tmp/env.json \
	BENCH_DOC=$tmp/doc/benchmarks.md BENCH_README= "$REPO/tests/bench/run.sh" >"$tmp/log" 2>&1
# why_failed PART: run.sh's exit line of PART and the last lines of error under it
why_failed() {
	awk -v p="$1" 'index($0, "==== bench: " p ": exit") == 1 { on = 1; print; next }
		on && /^====   / { print; next } { on = 0 }' "$tmp/log" | tr '\n' ' '
}
for part in $PARTS; do
	if grep -q "^==== bench: $part: exit 0 " "$tmp/log"; then
		pass "$part runs"
	else
		fail "$part runs" "$(why_failed "$part")"
	fi
done
counts=$(/usr/bin/python3 -c '
import collections, json, sys
c = collections.Counter(r["part"] for r in json.load(open(sys.argv[1])))
print(" ".join("%s=%d" % kv for kv in sorted(c.items())))' "$tmp/bench.json" 2>&1)
for part in $PARTS; do
	case " $counts " in
	*" $part="[1-9]*) pass "bench.json holds cases of $part" ;;
	*) fail "bench.json holds cases of $part" "$counts" ;;
	esac
done
check "the document is written" grep -q '^# cloudsteer benchmarks' "$tmp/doc/benchmarks.md"
check "the plots are drawn" ls "$tmp/doc/bench-learn-records.png" "$tmp/doc/bench-learn-rules.png"
grep -q "^bench: every part measured" "$tmp/log" && pass "run.sh reports success" ||
	fail "run.sh reports success" "$(tail -3 "$tmp/log" | tr '\n' ' ')"

# A part that fails says why: its last lines of error follow its exit line,
# and the document names it with them (here steer_path, given no binary)
mkdir -p "$tmp/failing"
CS=/nonexistent/cloudsteer BENCH_PARTS=steer_path BENCH_PARTS_DIR=$tmp/failing/parts \
	BENCH_JSON=$tmp/failing/bench.json BENCH_ENV_JSON=$tmp/env.json BENCH_DOC=$tmp/failing/doc/benchmarks.md \
	BENCH_README= "$REPO/tests/bench/run.sh" >"$tmp/failing/log" 2>&1
rc=$?
why=$(tmp=$tmp/failing why_failed steer_path)
[ $rc != 0 ] && [[ $why == *"exit 1 in"*"====   steer_path: build first"* ]] &&
	pass "a failed part's last lines of error follow its exit line" ||
	fail "a failed part's last lines of error follow its exit line" "rc $rc: $(tail -5 "$tmp/failing/log")"
grep -q "^## Parts that failed" "$tmp/failing/doc/benchmarks.md" &&
	grep -q "steer_path: build first" "$tmp/failing/doc/benchmarks.md" &&
	pass "the document names the failed part and why" ||
	fail "the document names the failed part and why" "$(head -30 "$tmp/failing/doc/benchmarks.md" 2>&1)"
t_exit
