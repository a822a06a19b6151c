#!/bin/bash
# e2e-failover: how long a stream takes to reach the secondary once its
# instance dies, by health probe and by link-down, measured on the wire.
#
#   cli 10.10.0.2 --lan-- host --wan-- inet 10.20.0.2
#                          |  \
#                     10.30.0.2  10.31.0.2   instances a and b: forwarding
#                                            routers, TCP probe port 9100
#
# The client sends a UDP stream to a learned address, one datagram per
# millisecond. tcpdump in the instances timestamps every datagram with the
# same clock the test reads when it breaks an instance, so the failover
# time is the first datagram on the secondary minus the moment of failure.
#   1. the primary stops answering and forwarding (a blackhole rule before
#      every routing table but the local one): health probes
#      (tcp, interval 100ms, timeout 50ms, fall 3) must see it within the
#      probe budget, interval x fall + interval = 400 ms;
#   2. it comes back: the stream stays where it is (a returning instance
#      moves no established stream);
#   3. the link to the stream's instance goes down: the stream moves at once.
T_SUITE=e2e-failover
. "$(dirname "$0")/mesh.bash"
mesh_up app.cloud.test,192.0.2.7 || { fail lab "the lab did not come up"; t_exit; }

for n in a b; do
	ns $n socat TCP-LISTEN:9100,fork,reuseaddr OPEN:/dev/null >/dev/null 2>&1 &
done
casb_config cloud.test "health: {probe: tcp, port: 9100, interval: 100ms, timeout: 50ms, fall: 3, rise: 2}"
daemon_up "$LAB/cs.yaml" || { fail "the daemon runs" "$(cat "$LAB/daemon.log")"; t_exit; }
[ "$(ns cli dig +short +time=2 @10.20.0.2 app.cloud.test)" = 192.0.2.7 ] ||
	{ fail "the client resolves" "$(cat "$LAB/daemon.log")"; t_exit; }

for n in a b; do
	ns $n tcpdump -i eth0 -n -U --immediate-mode -w "$LAB/$n.pcap" udp port 9001 >/dev/null 2>&1 &
done
sleep 1
ns cli python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.10.0.2", 41234))
i = 0
while True:
    s.sendto(b"%d" % i, ("192.0.2.7", 9001))
    i += 1
    time.sleep(0.001)' >/dev/null 2>&1 &
sleep 1
a_pk=$(inst_packets 1); b_pk=$(inst_packets 2)
if [ "${a_pk:-0}" -gt 0 ] && [ "${b_pk:-0}" = 0 ]; then first=a second=b
elif [ "${b_pk:-0}" -gt 0 ] && [ "${a_pk:-0}" = 0 ]; then first=b second=a
else fail "the stream goes to one instance" "a $a_pk, b $b_pk; $(cat "$LAB/daemon.log")"; t_exit; fi
pass "the stream goes to its primary, $first"

# expect_moved WHAT PCAP T0 LIMIT_MS STAT: the stream shows up in PCAP within
# LIMIT_MS of T0; the time is printed as "stats: STAT=ms"
expect_moved() {
	local ms
	ms=$(first_after "$2" "$3")
	echo "    stats: $5=$ms"
	[ "$ms" != none ] && awk -v m="$ms" -v l="$4" 'BEGIN { exit !(m <= l) }' &&
		pass "$1 $ms ms later (limit $4 ms)" || fail "$1 within $4 ms" "$ms ms; $(cat "$LAB/daemon.log")"
}

# 1. the primary stops answering anything
t0=$(date +%s.%N)
ip -n $P-$first rule add priority 1 blackhole	# no answers, no forwarding
wait_log "instance casb-$first is down" || fail "health sees $first die" "$(cat "$LAB/daemon.log")"
expect_moved "by probe (budget: interval x fall + interval): $first died, the stream reached $second" \
	"$LAB/$second.pcap" "$t0" 400 failover_probe_ms

# a new stream while the primary is dead goes to the secondary as well
ns cli python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.10.0.2", 41300))
s.sendto(b"new", ("192.0.2.7", 9001))'
id_second=$([ $second = a ] && echo 1 || echo 2)
ex=$("$CS" explain --json udp 10.10.0.2 41300 192.0.2.7 9001)
[ "$(echo "$ex" | jq .stream.pinned)" = true ] && [ "$(echo "$ex" | jq .stream.instance)" = "$id_second" ] &&
	pass "a new stream while $first is dead goes to $second" || fail "a new stream goes to $second" "$ex"

# 2. it comes back, and the stream stays on the secondary
ip -n $P-$first rule del priority 1 blackhole
wait_log "instance casb-$first is up: warmed up" 50 || fail "health sees $first return, and warms it up" "$(cat "$LAB/daemon.log")"
t_back=$(date +%s.%N)
[ "$(first_after "$LAB/$first.pcap" "$t_back")" = none ] &&
	pass "$first returns and the established stream stays on $second" ||
	fail "the established stream stays on $second" "$first got datagrams again"

# 3. the link to the secondary goes down: back to the first at once
t0=$(date +%s.%N)
ip -n $P-host link set i$second down
wait_log "instance casb-$second is down: link i$second down" || fail "link-down is seen" "$(cat "$LAB/daemon.log")"
expect_moved "by link-down: the link to $second went, the stream reached $first" \
	"$LAB/$first.pcap" "$t0" 100 failover_link_ms
xdp_carried "the streams across failovers"
t_exit
