#!/bin/bash
# failover.sh OUT.json - time from an instance's death to the first packet of
# its stream on the secondary, by probe and by link-down.
#
# The lab is tests/e2e/mesh.bash (under this part's own names), as in
# tests/e2e/failover.sh:
#
#   cli 10.10.0.2 --lan-- host --wan-- inet 10.20.0.2 (dnsmasq: app.fob.test
#                          |  \                        is 192.0.2.7)
#                     10.30.0.2  10.31.0.2   instances a and b: forwarding
#                                            routers, TCP probe port 9100
#
# cloudsteer run on the host steers *.fob.test to chain casb (route mode, a
# and b), health {probe: tcp, port: 9100, interval: 100ms, timeout: 50ms,
# fall: 3, rise: 2}. K repetitions of each kind, alternating kinds and
# victims (probe a, link-down a, probe b, link-down b, ...). Each one:
#   - a new UDP stream from the client (failover.py send, a datagram every
#     0.5 ms) from a source port whose bucket has the victim as primary
#     (cloudsteer explain), pinned there before the failure;
#   - t0 ($EPOCHREALTIME), then the failure, written to an `ip -batch`
#     already running in the namespace (no process starts in between):
#       probe      the victim stops answering and forwarding: ip rule
#                  priority 1 blackhole in its namespace;
#       link_down  the host's link to the victim goes down;
#     ip's answer to a second command says when it has made it (cmd_ms); a
#     repetition where that took more than 10 ms (the rtnl lock busy with
#     other work on the machine, so t0 is not the moment of failure) runs
#     again, a few times a part at most;
#   - once the daemon logs the victim down, the stream stops, the failure
#     is undone, and the next repetition waits for "is up: warmed up".
# tcpdump in a and b stamps every datagram; failover.py report takes, per
# repetition, the first datagram of the stream on the secondary after t0.
# The probe budget, interval x fall + interval = 400 ms, is the target of the
# probe case's median (the issue sets no number).
#
# BENCH_QUICK=1: one repetition of each (a smoke test; figures meaningless).
# FAILOVER_REPS overrides K (default 7).
set -u
export LC_ALL=C	# $EPOCHREALTIME with a decimal point
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$REPO/build}
BENCH_DIR=${BENCH_DIR:-$BUILD/bench}
CS=${CS:-$BUILD/cloudsteer}
OUT=${1:?usage: failover.sh OUT.json}
PY=/usr/bin/python3
HERE=$REPO/tests/bench
if [ "${BENCH_QUICK:-0}" = 1 ]; then K=${FAILOVER_REPS:-1}; else K=${FAILOVER_REPS:-7}; fi
HEALTH='{"probe":"tcp","port":9100,"interval_ms":100,"timeout_ms":50,"fall":3,"rise":2}'
DST=192.0.2.7 DPORT=9001

die() { echo "failover: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
for t in dnsmasq dig socat tcpdump bpftool jq ip "$PY"; do
	command -v "$t" >/dev/null || die "$t is missing"
done
[ -x "$CS" ] || die "$CS is missing (make)"
[ "$K" -ge 1 ] 2>/dev/null || die "FAILOVER_REPS must be a positive number"

# mesh.bash: the lab and its cleanup (on exit, failure or a signal). Its
# names are made ours before anything exists; cleanup reads them at exit.
cs_bin=$CS
. "$REPO/tests/e2e/mesh.bash"
CS=$cs_bin
P=csfob$$
export CLOUDSTEER_PIN_DIR=/sys/fs/bpf/cs-bench-fo-$$
rmdir "$LAB" && LAB=$(mktemp -d /tmp/cs-bench-fo.XXXXXX) || die "mktemp"
T_SUITE=bench-failover
# (processes whose pid we need start under ip netns exec itself, not ns(),
# whose subshell would be the pid)
nsx() { local n=$1; shift; exec ip netns exec "$P-$n" "$@"; }

t_start=$SECONDS
mesh_up app.fob.test,$DST || die "the lab did not come up"
for n in a b; do
	ns $n socat TCP-LISTEN:9100,fork,reuseaddr OPEN:/dev/null >/dev/null 2>&1 &
done
casb_config fob.test "health: {probe: tcp, port: 9100, interval: 100ms, timeout: 50ms, fall: 3, rise: 2}"
DAEMON_FLAGS=-v	# the learned line below is a per-record line
daemon_up "$LAB/cs.yaml" || die "cloudsteer run did not start: $(cat "$LAB/daemon.log")"
[ "$(ns cli dig +short +time=2 @10.20.0.2 app.fob.test)" = $DST ] ||
	die "the client cannot resolve app.fob.test"
wait_log "learned app.fob.test $DST" 30 || die "cloudsteer did not learn app.fob.test: $(cat "$LAB/daemon.log")"

# The failures are written to `ip -batch` processes already running, one a
# namespace, so no process starts between t0 and the failure. Each failure
# is followed by `link show dev lo`, whose line of output says that ip has
# done the failure: t1. A failure that took ip more than CMD_MAX_MS (the
# rtnl lock busy with other work on the machine: t0 is then not the moment
# of failure) makes the repetition run again, up to MAX_REDO times a part and
# not after REDO_UNTIL seconds (the budget); one kept anyway is "contended".
CMD_MAX_MS=10 MAX_REDO=4 REDO_UNTIL=40
declare -A IPW IPR
for n in host a b; do
	mkfifo "$LAB/ipw-$n" "$LAB/ipr-$n"
	stdbuf -oL ip -o -n $P-$n -force -batch - < "$LAB/ipw-$n" > "$LAB/ipr-$n" 2>>"$LAB/ip.log" &
	exec {fd}>"$LAB/ipw-$n"; IPW[$n]=$fd
	exec {fd}<"$LAB/ipr-$n"; IPR[$n]=$fd
done
# ipb NS COMMAND: t0, COMMAND to NS's ip -batch, t1 once ip has done it
ipb() {
	local line
	t0=$EPOCHREALTIME
	printf '%s\nlink show dev lo\n' "$2" >&"${IPW[$1]}"
	read -r -t 5 line <&"${IPR[$1]}" || die "ip -batch in $1 did not answer: $(cat "$LAB/ip.log")"
	t1=$EPOCHREALTIME
}

caps=()
for n in a b; do
	nsx $n tcpdump -i eth0 -n -s 64 -B 8192 -U --immediate-mode -w "$LAB/$n.pcap" \
		"udp dst port $DPORT" >"$LAB/tcpdump-$n.log" 2>&1 &
	caps+=($!)
done
for n in a b; do
	wait_in "$LAB/tcpdump-$n.log" "listening on" 50 || die "tcpdump in $n: $(cat "$LAB/tcpdump-$n.log")"
done
echo "failover: lab up in $((SECONDS - t_start)) s; $K repetitions of each kind"

# count TEXT: lines of the daemon's log that hold TEXT
count() { grep -c -- "$1" "$LAB/daemon.log"; }
# wait_count TEXT N TENTHS: until more than N lines hold TEXT
wait_count() {
	local i
	for i in $(seq "$3"); do
		[ "$(count "$1")" -gt "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# explain SPORT: "primary pinned instance" of the stream from SPORT
explain() {
	"$CS" explain --json udp 10.10.0.2 "$1" $DST $DPORT |
		jq -r '.stream | "\(.primary) \(.pinned) \(.instance)"'
}

: > "$LAB/reps"
port=42000 redone=0 j=0
while [ $j -lt $((2 * K)) ]; do
	kind=$([ $((j % 2)) = 0 ] && echo probe || echo link_down)
	if [ $((j / 2 % 2)) = 0 ]; then v=a vid=1 s=b; else v=b vid=2 s=a; fi
	what="$kind rep $((j / 2 + 1)) ($v dies)"
	# a new stream whose bucket has v as primary
	for try in $(seq 64); do
		port=$((port + 1))
		read -r primary pinned _ <<<"$(explain $port)"
		[ "$primary" = $vid ] && [ "$pinned" = false ] && break
		[ "$try" = 64 ] && die "no source port with $v as primary: $(explain $port)"
	done
	nsx cli "$PY" "$HERE/failover.py" send --dst $DST --dport $DPORT --sport $port --interval 0.0005 &
	sender=$!
	for i in $(seq 40); do
		[ "$(explain $port)" = "$vid true $vid" ] && break
		[ "$i" = 40 ] && die "$what: the stream from $port was not pinned to $v: $(explain $port)"
		sleep 0.05
	done
	sleep 0.2
	downs=$(count "instance casb-$v is down")
	ups=$(count "instance casb-$v is up: warmed up")
	if [ "$kind" = probe ]; then ipb $v "rule add priority 1 blackhole"; else ipb host "link set i$v down"; fi
	f0=$t0 cmd_ms=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) * 1000 }')
	wait_count "instance casb-$v is down" "$downs" 30 && detected=true || detected=false
	sleep 0.2
	kill $sender; wait $sender 2>/dev/null
	if [ "$kind" = probe ]; then ipb $v "rule del priority 1 blackhole"; else ipb host "link set i$v up"; fi
	$detected || die "$what: the daemon did not see $v fail: $(tail -5 "$LAB/daemon.log")"
	if awk -v c="$cmd_ms" -v m=$CMD_MAX_MS 'BEGIN { exit !(c > m) }' &&
		[ $redone -lt $MAX_REDO ] && [ $((SECONDS - t_start)) -lt $REDO_UNTIL ]; then
		redone=$((redone + 1))
		echo "failover: $what: ip took $cmd_ms ms to make the failure; once more"
	else
		echo "{\"kind\":\"$kind\",\"rep\":$((j / 2 + 1)),\"victim\":\"$v\",\"secondary\":\"$s\",\"sport\":$port,\"t0\":$f0,\"cmd_ms\":$cmd_ms}" >> "$LAB/reps"
		j=$((j + 1))
	fi
	wait_count "instance casb-$v is up: warmed up" "$ups" 80 ||
		die "$what: $v did not come back: $(tail -5 "$LAB/daemon.log")"
done
[ -s "$LAB/ip.log" ] && die "ip -batch: $(cat "$LAB/ip.log")"

sleep 0.2
kill -INT "${caps[@]}"; wait "${caps[@]}" 2>/dev/null
for n in a b; do
	grep -E "^[1-9][0-9]* packets? dropped by kernel" "$LAB/tcpdump-$n.log" | sed "s/^/failover: tcpdump in $n: /"
done
quick=(); [ "${BENCH_QUICK:-0}" = 1 ] && quick=(--quick)
"$PY" "$HERE/failover.py" report --reps "$LAB/reps" --pcap a="$LAB/a.pcap" --pcap b="$LAB/b.pcap" \
	--health "$HEALTH" --redone $redone --cmd-max-ms $CMD_MAX_MS "${quick[@]}" --out "$OUT" ||
	die "cannot measure (see above)"
echo "failover: done in $((SECONDS - t_start)) s"
