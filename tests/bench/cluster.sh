#!/bin/bash
# cluster.sh OUT.json - part cluster of make bench (tests/bench/run.sh has the
# contract): two gateways sharing one cloud IP table through a real
# three-member etcd, in the lab of tests/e2e/cluster.bash (under this part's
# own names). The client asks resolver 10.20.0.2 across gw1 and 10.21.0.2
# across gw2; its other traffic crosses gw2.
#
#   propagation   N new names asked across gw1 at a steady rate (dnsperf):
#                 per address, gw2's route creation minus gw1's first answer
#                 (one host, one clock): p50 and p99
#   first SYN     first_packet.py's client connects 1 ms after each answer,
#                 alternating names answered across gw1 (the stream still
#                 crosses gw2) and across gw2 (the baseline), with control
#                 names no rule matches; tcpdump on both instances and gw2's
#                 uplink says which first SYNs were steered
#   writes        dnsperf through gw1 as dns_path.sh drives it (8 sockets,
#                 100 outstanding, unpaced) over new names: etcd's committed
#                 proposals per record learned and per second, until gw2
#                 has them all; then the same names again (refreshes only)
#   map           the gateways probe casb-a and casb-b (TCP :3128, every
#                 100 ms, fall 2): map_agree.py kills one's target and times
#                 until etcd's agreed map says it is down and both gateways'
#                 tables are built from that map's revision, over rounds
#
# BENCH_QUICK=1: a few names of each, 1 s runs (figures meaningless).
# CLUSTER_BENCH_NAMES (propagation, default 3000), CLUSTER_BENCH_SYNS (per
# way, default 1000), CLUSTER_BENCH_DNS_NAMES (default 20000) and
# CLUSTER_BENCH_SECONDS (dnsperf, default 5) and CLUSTER_BENCH_DEATHS
# (map, default 20) override. Everything it makes
# goes on exit, failure or a signal (the lab's cleanup).
set -u
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$REPO/build}
BENCH_DIR=${BENCH_DIR:-$BUILD/bench}
CS=${CS:-$BUILD/cloudsteer}
OUT=${1:?usage: cluster.sh OUT.json}
PY=/usr/bin/python3
HERE=$REPO/tests/bench
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	N=${CLUSTER_BENCH_NAMES:-40} N_SYN=${CLUSTER_BENCH_SYNS:-20} N_DNS=${CLUSTER_BENCH_DNS_NAMES:-500}
	SECS=${CLUSTER_BENCH_SECONDS:-1} RATE=200 QUICK=--quick DEATHS=${CLUSTER_BENCH_DEATHS:-2}
else
	N=${CLUSTER_BENCH_NAMES:-3000} N_SYN=${CLUSTER_BENCH_SYNS:-1000} N_DNS=${CLUSTER_BENCH_DNS_NAMES:-20000}
	SECS=${CLUSTER_BENCH_SECONDS:-5} RATE=500 QUICK= DEATHS=${CLUSTER_BENCH_DEATHS:-20}
fi
DELAY_MS=1
PORT=9002

die() { echo "cluster: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
for t in dnsmasq dig socat tcpdump bpftool dnsperf etcd etcdctl curl ip "$PY"; do
	command -v "$t" >/dev/null || die "$t is missing (scripts/install-deps.sh bench installs it)"
done
[ -x "$CS" ] || die "$CS is missing (make)"
[ "$N" -ge 1 ] && [ "$N" -le 16000 ] || die "CLUSTER_BENCH_NAMES must be 1..16000"
[ "$N_SYN" -ge 1 ] && [ "$N_SYN" -le 16000 ] || die "CLUSTER_BENCH_SYNS must be 1..16000"
[ "$N_DNS" -ge 1 ] && [ "$N_DNS" -le 60000 ] || die "CLUSTER_BENCH_DNS_NAMES must be 1..60000"

# the lab and its cleanup, under this part's names (read by the cleanup at exit)
cs_bin=$CS
. "$REPO/tests/e2e/cluster.bash"
CS=$cs_bin
P=cscb$$
PINS=/sys/fs/bpf/cs-bench-cluster-$$
mkdir -p "$BENCH_DIR" || die "cannot make $BENCH_DIR"
rmdir "$LAB" && LAB=$(mktemp -d "$BENCH_DIR/cluster.XXXXXX") || die "mktemp"
chmod 755 "$LAB"	# dnsmasq reads its hosts file as nobody
T_SUITE=bench-cluster
die_log() { echo "cluster: $1; the end of $2:" >&2; tail -n 15 "$LAB/$2" >&2; exit 1; }
nsx() { local n=$1; shift; exec ip netns exec "$P-$n" "$@"; }

# propagation p*.prop in 198.18.0-63, first SYN c*.cross and s*.same in
# 198.18.64-127 and 128-191, the writes' d*.dns in 198.19, control x*.none
awk -v n="$N" -v ns="$N_SYN" -v nd="$N_DNS" 'BEGIN {
	for (i = 0; i < n; i++) printf "198.18.%d.%d p%d.prop.cloud.test\n", i / 250, i % 250 + 1, i
	for (i = 0; i < ns; i++) {
		printf "198.18.%d.%d c%d.cross.cloud.test\n", 64 + i / 250, i % 250 + 1, i
		printf "198.18.%d.%d s%d.same.cloud.test\n", 128 + i / 250, i % 250 + 1, i
	}
	for (i = 0; i < nd; i++) printf "198.19.%d.%d d%d.dns.cloud.test\n", i / 250, i % 250 + 1, i
	for (i = 0; i < 200; i++) printf "192.0.2.%d x%d.none.test\n", i + 1, i
}' > "$LAB/hosts"
t_start=$SECONDS
cluster_up "--addn-hosts=$LAB/hosts" || die "the lab did not come up"
instance_serve a
instance_serve b
export GW_HEALTH="{probe: tcp, port: 3128, interval: 100ms, timeout: 100ms, fall: 2, rise: 2}"
for g in gw1 gw2; do
	gw_config $g >/dev/null
	gw_up $g || die_log "cloudsteer run did not start on $g" $g.log
done
for g in gw1 gw2; do
	eventually 100 grep -q "cluster: ip: first full publish done" "$LAB/$g.log" || die_log "$g did not join" $g.log
done
echo "cluster: lab up in $((SECONDS - t_start)) s"

etcd_metric() {	# the value of a metric of member 0
	ns etcd curl -s -m 2 http://10.40.0.1:2379/metrics | awk -v m="$1" '$1 == m { printf "%d\n", $2 }'
}
learned_on() { cs "$1" show stats --json | $PY -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r.get("reason") == "rec_learned":
        print(r["count"])'; }
installed_on() { metric "$1" cloudsteer_cluster_records_installed_total; }
# installed_reaches NODE COUNT
installed_reaches() { [ "$(installed_on "$1")" -ge "$2" ]; }

# ---- propagation ----
awk -v n="$N" 'BEGIN { for (i = 0; i < n; i++) printf "p%d.prop.cloud.test A\n", i }' > "$LAB/q-prop"
base=$(installed_on gw2)
ns cli dnsperf -s 10.20.0.2 -d "$LAB/q-prop" -n 1 -Q "$RATE" -c 1 >"$LAB/dnsperf-prop.out" 2>&1 ||
	die_log "dnsperf failed (propagation)" dnsperf-prop.out
eventually 600 installed_reaches gw2 $((base + N)) ||
	die "gw2 installed $(( $(installed_on gw2) - base )) of $N records within 60 s"
bpftool -j map dump pinned "$PINS-gw1/cs_records" > "$LAB/gw1-records.json" &&
	bpftool -j map dump pinned "$PINS-gw2/cs_routes" > "$LAB/gw2-routes.json" || die "bpftool cannot dump the maps"
(cd "$HERE" && $PY cluster.py lag --records "$LAB/gw1-records.json" --routes "$LAB/gw2-routes.json" \
	--net 198.18.0 --out "$LAB/lag.json") || die "cannot compute the propagation"

# ---- first SYN ----
syn="tcp dst port $PORT and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn"
caps=()
capture() {	# capture NS IF NAME
	nsx "$1" tcpdump -i "$2" -n -s 256 -B 16384 -U -w "$LAB/$3.pcap" "$syn" >"$LAB/tcpdump-$3.log" 2>&1 &
	caps+=($!)
}
capture a eth0 syn-a
capture b eth0 syn-b
capture gw2 wan syn-origin
for n in syn-a syn-b syn-origin; do
	wait_in "$LAB/tcpdump-$n.log" "listening on" 50 || die_log "tcpdump ($n) did not start" "tcpdump-$n.log"
done
awk -v n="$N_SYN" 'BEGIN {
	every = int(n / 10); if (every < 1) every = 1; x = 0
	for (i = 0; i < n; i++) {
		c = "cross 10.20.0.2 c" i ".cross.cloud.test"; s = "same 10.21.0.2 s" i ".same.cloud.test"
		if (i % 2 == 0) print c "\n" s; else print s "\n" c
		if (i % every == 0 && x < 200) print "control 10.20.0.2 x" x++ ".none.test"
	}
}' > "$LAB/tries"
(cd "$HERE" && ns cli $PY first_packet.py client --tries "$LAB/tries" --port $PORT --delay-ms $DELAY_MS \
	--out "$LAB/client.json") || die "the client failed"
sleep 0.5
kill -INT "${caps[@]}" 2>/dev/null
wait "${caps[@]}" 2>/dev/null

# ---- etcd writes at the DNS path's rate ----
awk -v n="$N_DNS" 'BEGIN { for (i = 0; i < n; i++) printf "d%d.dns.cloud.test A\n", i }' > "$LAB/q-dns"
p0=$(etcd_metric etcd_server_proposals_committed_total)
l0=$(learned_on gw1)
i0=$(installed_on gw2)
t0=$(date +%s.%N)
ns cli dnsperf -s 10.20.0.2 -d "$LAB/q-dns" -l "$SECS" -c 8 -q 100 >"$LAB/dnsperf-dns.out" 2>&1 &
dnsperf_pid=$!
# every name is new and learned on dnsperf's first pass: the burst is over
# when gw2 has them all (the rest of the run only refreshes)
eventually 600 installed_reaches gw2 $((i0 + N_DNS)) ||
	echo "cluster: gw2 installed $(( $(installed_on gw2) - i0 )) of $N_DNS records within 60 s" >&2
t1=$(date +%s.%N)
wait $dnsperf_pid || die_log "dnsperf failed (writes)" dnsperf-dns.out
l1=$(learned_on gw1)
installed_reaches gw2 $((i0 + l1 - l0)) ||
	die "gw2 installed $(( $(installed_on gw2) - i0 )) of the $((l1 - l0)) records gw1 learned"
sleep 1	# what the last tick wrote is committed
p1=$(etcd_metric etcd_server_proposals_committed_total)
ns cli dnsperf -s 10.20.0.2 -d "$LAB/q-dns" -l "$SECS" -c 8 -q 100 >"$LAB/dnsperf-refresh.out" 2>&1 ||
	die_log "dnsperf failed (refreshes)" dnsperf-refresh.out
sleep 1
p2=$(etcd_metric etcd_server_proposals_committed_total)
queries() { sed -nE 's/.*Queries completed: +([0-9]+).*/\1/p' "$LAB/$1"; }
$PY - "$LAB/writes.json" <<PY || die "cannot write the figures of the writes"
import json, sys
json.dump({"writes": $p1 - $p0, "learned": $l1 - $l0, "installed": $(installed_on gw2) - $i0,
           "queries": int("$(queries dnsperf-dns.out)" or 0), "qps": round(int("$(queries dnsperf-dns.out)" or 0) / $SECS),
           "seconds": $SECS, "names": $N_DNS, "publish_s": round($t1 - $t0, 2), "txns_max_ops": 128,
           "refresh_writes": $p2 - $p1, "refresh_queries": int("$(queries dnsperf-refresh.out)" or 0),
           "etcd_db_bytes": int("$(etcd_metric etcd_mvcc_db_total_size_in_bytes)" or 0),
           "etcd_keys": int("$(etcd_metric etcd_debugging_mvcc_keys_total)" or 0),
           "delay_ms": $DELAY_MS, "prop_rate": $RATE}, open(sys.argv[1], "w"))
PY

# ---- an instance's death to one map revision everywhere ----
$PY "$HERE/map_agree.py" --lab "$P" --rounds "$DEATHS" --pid-a "${INST_PID[a]}" --pid-b "${INST_PID[b]}" \
	--out "$LAB/map.json" || die "the map's agreement could not be timed"
INST_PID[a]= INST_PID[b]=	# map_agree.py ended them

(cd "$HERE" && $PY cluster.py report --lag "$LAB/lag.json" --client "$LAB/client.json" \
	--instance "$LAB/syn-a.pcap" --instance "$LAB/syn-b.pcap" --origin "$LAB/syn-origin.pcap" \
	--writes "$LAB/writes.json" --map "$LAB/map.json" $QUICK --out "$OUT") || die "cannot write $OUT"
echo "cluster: wrote $OUT in $((SECONDS - t_start)) s"
