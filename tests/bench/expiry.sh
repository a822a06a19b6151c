#!/bin/bash
# expiry.sh OUT.json - the expiry part of `make bench` (tests/bench/run.sh
# states the contract): the real daemon sweeps 1,000,000 records that expire
# at one moment; its wall time and CPU, and the dataplane's cost per packet
# while it sweeps against while it idles.
#
# This script owns the lab: a namespace of its own (csbx<pid>) with a veth
# pair, learn on one end and steer on the other, nothing else in it; pins in
# /sys/fs/bpf/csbx-<pid>; `cloudsteer run` with the default tick and
# sweep_per_tick, pinned to one CPU. build/bench/expiry (expiry.c) does the
# rest on the other CPU: it fills the daemon's maps, times the sweep and the
# programs, and writes OUT.json. Everything goes on exit, failure or a signal.
#
# BENCH_QUICK=1: 20,000 records, every case in well under 25 s (a smoke test:
# the figures mean nothing). EXPIRY_BUDGET=S: how long the sweep may take
# before it is reported unfinished (default 60 s, so the part takes at most
# about 80 s; raise it to see a slow sweep to its end).
set -u
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$REPO/tests/lib/bpffs.sh"
BUILD=${BUILD:-$REPO/build}
BENCH_DIR=${BENCH_DIR:-$BUILD/bench}
CS=${CS:-$BUILD/cloudsteer}
TOOL=$BENCH_DIR/expiry
OUT=${1:-}

NS=csbx$$
PIN=/sys/fs/bpf/csbx-$$
PORT=9477	# the metrics endpoint, on the namespace's own loopback
WORK=
DAEMON=
TOOLPID=

fail() { echo "expiry: $*" >&2; exit 1; }

cleanup() {
	[ -n "$TOOLPID" ] && kill -TERM "$TOOLPID" 2>/dev/null && wait "$TOOLPID" 2>/dev/null
	if [ -n "$DAEMON" ]; then
		# a stopped daemon takes no TERM; a busy one may not get to it soon
		kill -CONT "$DAEMON" 2>/dev/null
		kill -TERM "$DAEMON" 2>/dev/null
		for _ in $(seq 30); do kill -0 "$DAEMON" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$DAEMON" 2>/dev/null
		wait "$DAEMON" 2>/dev/null
	fi
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	rm -rf "$PIN" "/run/cloudsteer/csbx-$$.lock" "/run/cloudsteer/csbx-$$.clsact"
	[ -n "$WORK" ] && rm -rf "$WORK"
	bpffs_restore
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[ -n "$OUT" ] || fail "usage: expiry.sh OUT.json"
[ "$(id -u)" = 0 ] || fail "needs root"
[ -x "$CS" ] && [ -x "$TOOL" ] || fail "no $CS or $TOOL: run make bench-build"
for t in taskset nsenter ip; do command -v $t >/dev/null || fail "$t missing"; done

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	RECORDS=20000 LEAD=2 AFTER=1 BUDGET=10 QUICK=-q
else
	# the fill (~2 s for a million) happens within LEAD; BUDGET bounds the sweep
	RECORDS=1000000 LEAD=6 AFTER=2 BUDGET=60 QUICK=
fi
BUDGET=${EXPIRY_BUDGET:-$BUDGET}
# the daemon on the first CPU, the measurer on the last (as bench.c)
CPUS=$(nproc)
DCPU=0 MCPU=$((CPUS - 1))
[ "$CPUS" -ge 2 ] || fail "needs two CPUs: one for the daemon, one for the measurer"

mkdir -p "$BENCH_DIR"
WORK=$(mktemp -d /tmp/csbx.XXXXXX) || fail "cannot make a temp dir"

# ---- the namespace: a veth pair, IPv6 off so nothing reaches learn but our runs ----
ip netns add "$NS" || fail "cannot add namespace $NS"
ip netns exec "$NS" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip -n "$NS" link set lo up &&
	ip -n "$NS" link add xa type veth peer name xb &&
	ip -n "$NS" addr add 10.99.0.1/24 dev xa && ip -n "$NS" addr add 10.99.0.2/24 dev xb &&
	ip -n "$NS" link set xa up && ip -n "$NS" link set xb up || fail "cannot make the veth pair in $NS"

# ---- the config: tables that hold the fill without the 90% eviction ----
cat > "$WORK/cs.yaml" <<YAML
# written by tests/bench/expiry.sh
learn:
  interfaces: [xa]
  match_queries: false        # the measured answers come without queries
  limits: {records: $((RECORDS * 5 / 4 + 1024))}
  quota: $((RECORDS * 2))
steer:
  interfaces: [xb]
rules:
  - match: [cloud.test]
metrics: 127.0.0.1:$PORT
YAML

# ---- the daemon (nsenter --net keeps the host's bpffs in view) ----
echo "expiry: starting the daemon in $NS on CPU $DCPU ($RECORDS records; tick and sweep_per_tick: defaults)"
: > "$WORK/daemon.log"
taskset -c "$DCPU" nsenter --net="/run/netns/$NS" "$CS" run -c "$WORK/cs.yaml" --pin-dir "$PIN" \
	2>"$WORK/daemon.log" &
DAEMON=$!
for _ in $(seq 300); do
	grep -q "running:" "$WORK/daemon.log" && break
	kill -0 "$DAEMON" 2>/dev/null || break
	sleep 0.1
done
grep -q "running:" "$WORK/daemon.log" ||
	{ tail -5 "$WORK/daemon.log" >&2; fail "the daemon did not start"; }
sed -n 's/^cloudsteer: //p' "$WORK/daemon.log" | grep -E "^(info: )?(fresh start|running:|learn: attached)" | head -3

# ---- the measurement ----
# (in the background: a signal to this script must not wait for it to end)
taskset -c "$MCPU" nsenter --net="/run/netns/$NS" "$TOOL" -p "$PIN" -d "$DAEMON" -o "$OUT" \
	-n "$RECORDS" -l "$LEAD" -a "$AFTER" -b "$BUDGET" -m "$PORT" -L "$WORK/daemon.log" -c "$DCPU" $QUICK &
TOOLPID=$!
wait "$TOOLPID"
rc=$?
TOOLPID=
# what the daemon said, less a line per record and route, for a look afterwards
grep -v -e " expired " -e " removed: no record" "$WORK/daemon.log" | tail -200 > "$BENCH_DIR/expiry-daemon.log"
kill -0 "$DAEMON" 2>/dev/null || { tail -5 "$WORK/daemon.log" >&2; fail "the daemon died during the run"; }
[ $rc = 0 ] || fail "the measuring tool failed (exit $rc)"
/usr/bin/python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$OUT" || fail "$OUT is not valid JSON"
echo "expiry: wrote $OUT"
