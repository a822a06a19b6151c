#!/bin/bash
# e2e-bench-smoke: every part of `make bench` runs once in its shortest form
# (BENCH_QUICK=1) and writes cases that keep the contract of tests/bench/run.sh,
# and the report turns them into bench.json, the document and its plots. The
# figures are not judged here: speed belongs to make bench, never to a test.
T_SUITE=e2e-bench-smoke
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/lib/testing.sh"
[ "$(id -u)" = 0 ] || { skip all "needs root"; exit 0; }
PARTS="per_packet dns_path steer_path first_packet expiry failover"
tmp=$(mktemp -d /tmp/cs-bench-smoke.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

BENCH_QUICK=1 BENCH_PARTS_DIR=$tmp/parts BENCH_JSON=$tmp/bench.json BENCH_ENV_JSON=$tmp/env.json \
	BENCH_DOC=$tmp/doc/benchmarks.md BENCH_README= "$REPO/tests/bench/run.sh" >"$tmp/log" 2>&1
for part in $PARTS; do
	if grep -q "^==== bench: $part: exit 0 " "$tmp/log"; then
		pass "$part runs"
	else
		fail "$part runs" "$(grep -A3 "^==== bench: $part" "$tmp/log" | tail -4 | tr '\n' ' ')"
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
t_exit
