#!/bin/bash
# dns_path.sh OUT.json - part dns_path of make bench (tests/bench/run.sh has
# the contract): DNS queries through a host, three ways, the controls, and
# cloudsteer's pieces one by one, in one run.
#
#   cli 10.10.0.2 --eth0 / lan-- host --wan / eth0-- res 10.20.0.2
#   dnsperf                      10.10.0.1  10.20.0.1   knotd: zone dnsbench.test,
#                                router                 n0..nN-1, one A each in
#                                                       198.18.0.0/15
#   nothing         dnsperf asks 10.20.0.2, routed by host, nothing attached
#   xdp_noop        the same with a trivial XDP program (XDP_PASS, build/bench/
#                   noop.bpf.o) on wan, the control: on veth, any XDP program
#                   moves receive to veth's XDP path, whatever it does
#   tc_noop         the same with a trivial TC program (TC_ACT_OK, build/bench/
#                   tc_noop.bpf.o) on wan's clsact egress, where cloudsteer's
#                   query program sits: the price of the clsact hook alone
#   cloudsteer      the same, with `cloudsteer run` on host learning on wan
#                   (defaults, so query matching is on; one rule, the zone)
#   cloudsteer_noquery  the same with learn.match_queries: false: learn walks
#                   every answer, query stays on the hook but returns at once
#   xdp_learn_only  cloudsteer_noquery with the daemon stopped (SIGSTOP) for
#                   the runs: learn and its ring buffer without the daemon's
#                   userspace work (once the buffer is full, learn counts
#                   event_lost in place of writing events)
#   dnsmasq_nftset  dnsperf asks dnsmasq on host (10.10.0.1), which forwards to
#                   10.20.0.2 and adds every answer's address to an nft set
#                   (--nftset=/dnsbench.test/4#inet#TABLE#learned)
#
# A round runs each way once, A B C ... then ... C B A; each way gets an unpaced
# dnsperf run (max queries/s) and one paced at half the unpaced rate of
# nothing in a calibration run (latency percentiles from dnsperf -v). Each
# cloudsteer way starts a fresh daemon (--detach-on-exit), so its first pass
# over the names learns them and the rest refresh; each dnsmasq way starts
# with the set flushed. dnsperf runs on CPU 0 and knotd on CPU 1; the host's
# packet work runs in softirq on the CPU of whichever of them sent the
# packet, and the daemon and dnsmasq go where the scheduler puts them.
# The paced runs also read the kernel's own account of the programs on wan
# (kernel.bpf_stats_enabled, on for those runs only, as its two clock reads a
# run would weigh on the max rate): run_time_ns and run_cnt of the XDP
# program and of the clsact egress one, so each way has its programs' ns per
# packet, far less noisy than dnsperf's figures.
#
# BENCH_QUICK=1: one round of 1 s runs, for the smoke test (figures mean
# nothing). DNS_PATH_ROUNDS, DNS_PATH_SECONDS (per run), DNS_PATH_NAMES
# override; DNS_PATH_WAYS="nothing xdp_noop cloudsteer" runs only those ways
# (nothing among them for the ratios), to look at a few closely. Everything it makes is gone on exit, failure or a signal: the
# processes in its namespaces, the namespaces (and the nft table in host),
# the pins and the scratch directory.
set -u
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$REPO/tests/lib/bpffs.sh"
BUILD=${BUILD:-$REPO/build}
BENCH_DIR=${BENCH_DIR:-$BUILD/bench}
CS=${CS:-$BUILD/cloudsteer}
PY=/usr/bin/python3
HELPER=$REPO/tests/bench/dns_path.py
OUT=${1:-}
T_START=$SECONDS

die() { echo "dns_path: $*" >&2; exit 1; }
[ -n "$OUT" ] || die "usage: dns_path.sh OUT.json"
[ "$(id -u)" = 0 ] || die "needs root"
for t in dnsperf knotd dnsmasq nft taskset nsenter dig bpftool; do
	command -v $t >/dev/null || die "$t missing (scripts/install-deps.sh bench installs it)"
done
[ -x "$CS" ] || die "$CS missing (make)"
for o in noop tc_noop; do
	[ -f "$BENCH_DIR/$o.bpf.o" ] || die "$BENCH_DIR/$o.bpf.o missing (make bench-build)"
done
command -v tc >/dev/null || die "tc missing"

if [ "${BENCH_QUICK:-0}" = 1 ]; then ROUNDS=1 SECS=1 CAL_S=1; else ROUNDS=3 SECS=3 CAL_S=2; fi
ROUNDS=${DNS_PATH_ROUNDS:-$ROUNDS}
SECS=${DNS_PATH_SECONDS:-$SECS}
NAMES=${DNS_PATH_NAMES:-20000}
ZONE=dnsbench.test
CLIENTS=8		# dnsperf sockets
OUTSTANDING=100		# below dnsmasq's --dns-forward-max (150), so it drops none for that
HZ=$(getconf CLK_TCK)

P=csbd$$
mkdir -p "$BENCH_DIR" || die "cannot make $BENCH_DIR"
LAB=$(mktemp -d "$BENCH_DIR/dns_path.XXXXXX") || die "cannot make a scratch directory"
export CLOUDSTEER_PIN_DIR=/sys/fs/bpf/$P
KNOT= DAEMON= DNSMASQ=
BPF_STATS0=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo 0)
cleanup() {
	local rc=$? n
	trap - EXIT INT TERM
	sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS0" 2>/dev/null
	for n in cli host res; do
		ip netns pids $P-$n 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	done
	wait 2>/dev/null	# reap them
	for n in cli host res; do ip netns del $P-$n 2>/dev/null; done
	rm -rf "$CLOUDSTEER_PIN_DIR" "/run/cloudsteer/$P".* "$LAB"	# the daemon's lock and clsact notes
	bpffs_restore
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# die with the end of a log of the lab
die_log() { echo "dns_path: $1; the end of $2:" >&2; tail -n 20 "$LAB/$2" >&2; exit 1; }
ns() { ip netns exec $P-$1 "${@:2}"; }
alive() { local s; s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [ "$s" != Z ]; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
calc() { awk "BEGIN { printf \"%.3f\", $* }"; }
ksoftirqd_ticks() {
	local p t=0
	for p in $(pgrep -x 'ksoftirqd/[0-9]+'); do t=$((t + $(cpu_ticks "$p"))); done
	echo $t
}
wait_dns() {	# wait_dns SERVER: until it answers n0 of the zone
	local i
	for i in $(seq 50); do
		[ "$(ns cli dig +short +time=1 +tries=1 @"$1" n0.$ZONE 2>/dev/null)" = 198.18.0.1 ] && return 0
		sleep 0.1
	done
	return 1
}

# ---- the lab ----
if [ "$(nproc)" -ge 2 ]; then
	PIN_CLI="taskset -c 0" PIN_RES="taskset -c 1"
	PINNING="dnsperf pinned to CPU 0 and knotd (1 UDP worker) to CPU 1; the host's packet work runs in softirq on the CPU of the sender, the cloudsteer daemon and dnsmasq are not pinned"
else
	PIN_CLI= PIN_RES=
	PINNING="one CPU: nothing pinned"
fi
echo "dns_path: lab $P ($NAMES names, $ROUNDS round(s) of ${SECS} s runs)"
for n in cli host res; do
	ip netns add $P-$n || die "cannot make namespace $P-$n"
	ip -n $P-$n link set lo up
	ns $n sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
done
ip link add eth0 netns $P-cli type veth peer name lan netns $P-host &&
ip link add wan netns $P-host type veth peer name eth0 netns $P-res &&
ip -n $P-cli addr add 10.10.0.2/24 dev eth0 && ip -n $P-cli link set eth0 up &&
ip -n $P-host addr add 10.10.0.1/24 dev lan && ip -n $P-host link set lan up &&
ip -n $P-host addr add 10.20.0.1/24 dev wan && ip -n $P-host link set wan up &&
ip -n $P-res addr add 10.20.0.2/24 dev eth0 && ip -n $P-res link set eth0 up &&
ip -n $P-cli route add default via 10.10.0.1 &&
ip -n $P-res route add default via 10.20.0.1 || die "cannot wire the lab"

$PY "$HELPER" zone "$LAB" "$NAMES" $ZONE || die "cannot write the zone"
cat > "$LAB/knot.conf" <<EOF
server:
    rundir: $LAB
    listen: 10.20.0.2@53
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: $LAB
zone:
  - domain: $ZONE
    file: $LAB/zone
log:
  - target: stderr
    any: warning
EOF
# (started without a shell function between, so that $! is the server itself)
ip netns exec $P-res $PIN_RES knotd -c "$LAB/knot.conf" >"$LAB/knot.log" 2>&1 &
KNOT=$!
wait_dns 10.20.0.2 || die_log "knotd does not answer" knot.log

printf 'learn:\n  interfaces: [wan]\nrules:\n  - match: [%s]\n' $ZONE > "$LAB/cs.yaml"
printf 'learn:\n  interfaces: [wan]\n  match_queries: false\nrules:\n  - match: [%s]\n' $ZONE \
	> "$LAB/cs-noquery.yaml"
NFT_TABLE=$P
ns host nft -f - <<EOF || die "cannot make the nft set"
table inet $NFT_TABLE {
	set learned { type ipv4_addr; }
}
EOF

# ---- the ways ----
# the ways that run `cloudsteer run`, whose learn counters each run reads
runs_cloudsteer() {
	case $1 in cloudsteer | cloudsteer_noquery | xdp_learn_only) return 0 ;; esac
	return 1
}

# the config of a cloudsteer way: the defaults, or query matching off
cloudsteer_conf() {
	if [ "$1" = cloudsteer ]; then echo "$LAB/cs.yaml"; else echo "$LAB/cs-noquery.yaml"; fi
}

start_cloudsteer() {	# start_cloudsteer WAY ROUND
	local log=daemon-$1-$2.log i
	nsenter --net=/run/netns/$P-host "$CS" run -c "$(cloudsteer_conf "$1")" --detach-on-exit \
		>"$LAB/$log" 2>&1 &
	DAEMON=$!
	for i in $(seq 100); do
		grep -q 'running:' "$LAB/$log" && return 0
		alive $DAEMON || break
		sleep 0.1
	done
	die_log "cloudsteer run did not start" "$log"
}

stop_cloudsteer() {	# stop_cloudsteer WAY ROUND
	local log=daemon-$1-$2.log t0 i cpu
	alive $DAEMON || die_log "cloudsteer run died during the runs" "$log"
	cpu=$(calc "$(cpu_ticks $DAEMON) / $HZ")
	t0=$(date +%s.%N)
	kill -TERM $DAEMON
	for i in $(seq 50); do alive $DAEMON || break; sleep 0.1; done
	if alive $DAEMON; then
		echo "dns_path: the daemon did not stop within 5 s of SIGTERM; killed, then detached" >&2
		kill -KILL $DAEMON
		wait $DAEMON 2>/dev/null
		nsenter --net=/run/netns/$P-host "$CS" detach -c "$(cloudsteer_conf "$1")" >>"$LAB/$log" 2>&1
	fi
	wait $DAEMON 2>/dev/null
	DAEMON=
	STOP_S=$(calc "$(date +%s.%N) - $t0")
	printf '{"way":"%s","round":%s,"daemon_cpu_s":%s,"daemon_stop_s":%s}\n' "$1" "$2" "$cpu" "$STOP_S" \
		>>"$LAB/slots.jsonl"
	# nothing of it may stay for the next way
	ip -n $P-host link show wan | grep -q prog/xdp && die "learn is still attached to wan after the daemon stopped"
	[ -z "$(ip netns exec $P-host tc filter show dev wan egress 2>/dev/null)" ] ||
		die "query is still attached to wan egress after the daemon stopped"
	[ ! -e "$CLOUDSTEER_PIN_DIR" ] || die "$CLOUDSTEER_PIN_DIR is still there after the daemon stopped"
}

start_dnsmasq() {
	ns host nft flush set inet $NFT_TABLE learned || die "cannot flush the nft set"
	ip netns exec $P-host dnsmasq --no-resolv --no-hosts --keep-in-foreground --conf-file=/dev/null \
		--pid-file="$LAB/dnsmasq.pid" --listen-address=10.10.0.1 --bind-interfaces \
		--server=10.20.0.2 --log-facility=- --nftset=/$ZONE/4#inet#$NFT_TABLE#learned \
		>"$LAB/dnsmasq-$1.log" 2>&1 &
	DNSMASQ=$!
	wait_dns 10.10.0.1 || die_log "dnsmasq does not answer" "dnsmasq-$1.log"
	read -r FWD_SEEN LOCAL_SEEN < <(dnsmasq_counts "$1")	# the probe's
}

# the trivial TC program where query sits; the hook is made for it and goes with it
attach_tc_noop() {
	ns host tc qdisc add dev wan clsact &&
		ns host tc filter add dev wan egress bpf direct-action obj "$BENCH_DIR/tc_noop.bpf.o" sec tc ||
		die "cannot attach the trivial TC program"
}

detach_tc_noop() {
	ns host tc qdisc del dev wan clsact || die "cannot remove the clsact hook from wan"
}

stop_dnsmasq() {
	kill -TERM $DNSMASQ
	wait $DNSMASQ 2>/dev/null
	DNSMASQ=
}

# dnsmasq's counters since it started (SIGUSR1 writes them to its log)
dnsmasq_counts() {
	local log=$LAB/dnsmasq-$1.log n0 i
	n0=$(grep -c 'queries forwarded' "$log")
	kill -USR1 $DNSMASQ
	for i in $(seq 20); do
		[ "$(grep -c 'queries forwarded' "$log")" -gt "$n0" ] && break
		sleep 0.05
	done
	grep 'queries forwarded' "$log" | tail -n 1 | sed -E 's/.*forwarded ([0-9]+), queries answered locally ([0-9]+).*/\1 \2/'
}

# prog_snap FILE: the programs on wan (XDP, clsact egress) with the kernel's
# run_time_ns and run_cnt of each, as dns_path.py progs writes them
prog_snap() {
	ns host bpftool -j net show dev wan >"$1.net" || die "bpftool net show failed"
	$PY "$HELPER" progs "$1.net" "$1" || die "cannot read the programs on wan"
}

# measure WAY KIND ROUND SERVER: one dnsperf run and what it cost whom
measure() {
	local way=$1 kind=$2 r=$3 server=$4 f=$LAB/$1-$2-$3 args=() extras=()
	local fwd_pid=${DAEMON:-$DNSMASQ} k0 f0 s0 t0 t1 utime stime fw lo
	[ "$kind" = latency ] && args=(-Q "$RATE" -v)
	runs_cloudsteer "$way" && { "$CS" show stats --json >"$f.before" || die "cloudsteer show stats failed"; }
	k0=$(cpu_ticks $KNOT) f0=0
	[ -n "$fwd_pid" ] && f0=$(cpu_ticks $fwd_pid)
	s0=$(ksoftirqd_ticks)
	if [ "$kind" = latency ]; then
		sysctl -qw kernel.bpf_stats_enabled=1 || die "cannot turn kernel.bpf_stats_enabled on"
		prog_snap "$f.progs0"
	fi
	cp /proc/stat "$f.stat0"
	t0=$(date +%s.%N)
	TIMEFORMAT='%U %S'
	{ time ns cli $PIN_CLI dnsperf -s "$server" -d "$LAB/queries" -l "$SECS" -c $CLIENTS \
		-q $OUTSTANDING -t 1 "${args[@]}" >"$f.out" 2>&1; } 2>"$f.time" ||
		die_log "dnsperf failed ($way, $kind)" "$(basename "$f").out"
	t1=$(date +%s.%N)
	cp /proc/stat "$f.stat1"
	if [ "$kind" = latency ]; then
		prog_snap "$f.progs1"
		sysctl -qw kernel.bpf_stats_enabled="$BPF_STATS0"
	fi
	read -r utime stime < "$f.time"
	extras=(way=$way kind=$kind round=$r wall_s="$(calc "$t1 - $t0")"
		dnsperf_cpu_s="$(calc "$utime + $stime")"
		resolver_cpu_s="$(calc "($(cpu_ticks $KNOT) - $k0) / $HZ")"
		ksoftirqd_cpu_s="$(calc "($(ksoftirqd_ticks) - $s0) / $HZ")"
		proc_stat="$f.stat0,$f.stat1")
	[ "$kind" = latency ] && extras+=(progs="$f.progs0,$f.progs1")
	[ -n "$fwd_pid" ] && extras+=(forwarder_cpu_s="$(calc "($(cpu_ticks $fwd_pid) - $f0) / $HZ")")
	if runs_cloudsteer "$way"; then
		"$CS" show stats --json >"$f.after" || die "cloudsteer show stats failed"
		extras+=(learn_before="$f.before" learn_after="$f.after")
	elif [ "$way" = dnsmasq_nftset ]; then
		read -r fw lo < <(dnsmasq_counts "$r")
		extras+=(nftset_elements="$(ns host nft list set inet $NFT_TABLE learned | grep -o '198\.1[89]\.[0-9]*\.[0-9]*' | wc -l)"
			forwarded=$((fw - FWD_SEEN)) answered_locally=$((lo - LOCAL_SEEN)))
		FWD_SEEN=$fw LOCAL_SEEN=$lo
	fi
	$PY "$HELPER" run "$LAB/runs.jsonl" "$f.out" "${extras[@]}" || die "cannot read the dnsperf output of $way $kind"
	rm -f "$f.out"	# dnsperf -v writes a line per query
}

slot() {	# slot WAY ROUND
	local way=$1 r=$2 server=10.20.0.2
	case $way in
	xdp_noop) ip -n $P-host link set dev wan xdpdrv obj "$BENCH_DIR/noop.bpf.o" sec xdp ||
		die "cannot attach the trivial XDP program" ;;
	tc_noop) attach_tc_noop ;;
	cloudsteer | cloudsteer_noquery) start_cloudsteer "$way" "$r" ;;
	# started as cloudsteer_noquery is, then left unread during the runs
	xdp_learn_only) start_cloudsteer "$way" "$r"; kill -STOP $DAEMON ;;
	dnsmasq_nftset) start_dnsmasq "$r"; server=10.10.0.1 ;;
	esac
	measure "$way" qps "$r" $server
	measure "$way" latency "$r" $server
	case $way in
	xdp_noop) ip -n $P-host link set dev wan xdpdrv off ;;
	tc_noop) detach_tc_noop ;;
	xdp_learn_only) kill -CONT $DAEMON ;;&	# then on to the next pattern: stopped as the others
	cloudsteer*|xdp_learn_only) stop_cloudsteer "$way" "$r"; echo "dns_path:   (the daemon took $STOP_S s to stop)" ;;
	dnsmasq_nftset) stop_dnsmasq ;;
	esac
}

# the ways in a round's order: odd rounds forward, even rounds backward
round_order() {
	local ways=${DNS_PATH_WAYS:-nothing xdp_noop tc_noop cloudsteer_noquery xdp_learn_only cloudsteer dnsmasq_nftset}
	if [ $(($1 % 2)) = 1 ]; then echo $ways; else echo $ways | tr ' ' '\n' | tac | tr '\n' ' '; fi
}

# ---- calibration: the paced rate is half of what nothing does unpaced ----
ns cli $PIN_CLI dnsperf -s 10.20.0.2 -d "$LAB/queries" -l $CAL_S -c $CLIENTS -q $OUTSTANDING -t 1 \
	>"$LAB/calibration.out" 2>&1 || die_log "dnsperf failed (calibration)" calibration.out
cal=$(sed -nE 's/.*Queries per second: +([0-9]+).*/\1/p' "$LAB/calibration.out")
[ -n "$cal" ] && [ "$cal" -gt 0 ] || die_log "the calibration run answered nothing" calibration.out
RATE=$((cal / 2 / 100 * 100))
[ "$RATE" -ge 100 ] || RATE=100
echo "dns_path: calibration: nothing does $cal queries/s unpaced; paced runs at $RATE"

for r in $(seq "$ROUNDS"); do
	for way in $(round_order "$r"); do slot "$way" "$r"; done
done

$PY "$HELPER" report "$LAB/runs.jsonl" "$OUT" slots="$LAB/slots.jsonl" ways="${DNS_PATH_WAYS:-}" rate=$RATE names=$NAMES qps_s=$SECS lat_s=$SECS \
	rounds="$ROUNDS" clients=$CLIENTS outstanding=$OUTSTANDING pinning="$PINNING" ||
	die "cannot write $OUT"
echo "dns_path: wrote $OUT in $((SECONDS - T_START)) s"
