#!/bin/bash
# e2e-steer: route mode through real namespaces.
#
#   cli 10.10.0.2 --lan-- host --wan-- inet 10.20.0.2 (dnsmasq, 192.0.2.7:9000 echo)
#                          |  \
#                     10.30.0.2  10.31.0.2   instances a and b (forwarding routers)
#
# learn on the host's wan ingress (answers), steer on its lan ingress (client
# traffic). The client resolves app.cloud.test and connects: the stream goes
# to the bucket's primary (seen by tcpdump there and by cloudsteer's
# counters); marking that instance down moves the established stream to the
# secondary on its next packet, and the stream completes.
T_SUITE=e2e-steer
. "$(dirname "$0")/mesh.bash"
mesh_up app.cloud.test,192.0.2.7 || { fail lab "the lab did not come up"; t_exit; }

casb_config cloud.test
daemon_up "$LAB/cs.yaml" && pass "the daemon runs with learn on wan and steer on lan" ||
	{ fail "the daemon runs" "$(cat "$LAB/daemon.log")"; t_exit; }

[ "$(ns cli dig +short +time=2 @10.20.0.2 app.cloud.test)" = 192.0.2.7 ] && pass "the client resolves" ||
	fail "the client resolves" "$(cat "$LAB/dnsmasq.log")"

# which instance is primary for this stream depends on the affinity code:
# capture on both, then see where the stream went
ns a tcpdump -i eth0 -n -U -w "$LAB/a.pcap" tcp port 9000 >/dev/null 2>&1 &
ns b tcpdump -i eth0 -n -U -w "$LAB/b.pcap" tcp port 9000 >/dev/null 2>&1 &
sleep 1
( for i in $(seq 30); do echo "line $i"; sleep 0.2; done ) |
	ns cli timeout 30 socat -t 3 - TCP:192.0.2.7:9000,sourceport=40001 > "$LAB/echo.out" 2>"$LAB/socat.err" &
STREAM=$!
sleep 2
a_pk=$(inst_packets 1); b_pk=$(inst_packets 2)
if [ "${a_pk:-0}" -gt 0 ] && [ "${b_pk:-0}" = 0 ]; then first=a second=b first_id=1
elif [ "${b_pk:-0}" -gt 0 ] && [ "${a_pk:-0}" = 0 ]; then first=b second=a first_id=2
else first=; fi
[ -n "$first" ] && pass "the stream goes to one instance ($first: $a_pk/$b_pk packets)" ||
	fail "the stream goes to one instance" "a $a_pk, b $b_pk; $(cat "$LAB/daemon.log")"

# traffic to an address no answer named is left alone: routed straight to
# inet, never through an instance (checked in the captures below)
[ "$(echo untouched | ns cli timeout 5 socat -t 1 - TCP:10.20.0.2:9000)" = untouched ] &&
	pass "unconfigured traffic flows as before, while both instances are up" || fail "unconfigured traffic flows as before, while both instances are up" "no echo"

ex=$("$CS" explain 192.0.2.7)
echo "$ex" | grep -q "chain     1 (route mode, affinity flow, on failure bypass, 256 buckets)" &&
	echo "$ex" | grep -Eq "stream    10.10.0.2:40001 <-> 192.0.2.7:9000 tcp: code 0x[0-9a-f]{8}, bucket [0-9]+: primary [12] \(up\), secondary [12] \(up\), pinned to $first_id \(up\)" &&
	pass "explain shows the chain, and the stream's code, bucket, primary, secondary and instance" ||
	fail "explain shows the chain and the stream" "$ex"

# a 5-tuple: the live stream is pinned; an unseen one would take its bucket's
# primary; the way back (source first) explains the same route
ex=$("$CS" explain tcp 10.10.0.2 40001 192.0.2.7 9000)
echo "$ex" | grep -Eq "^  asked     10.10.0.2:40001 -> 192.0.2.7:9000 tcp: code 0x[0-9a-f]{8}, bucket [0-9]+: primary [12] \(up\), secondary [12] \(up\), pinned to $first_id \(up\)$" &&
	pass "explain of a 5-tuple: the live stream's bucket and pin" || fail "explain of a 5-tuple" "$ex"
ex=$("$CS" explain --json udp 192.0.2.7 53 10.10.0.2 40999)
code=$(echo "$ex" | jq .stream.code); prim=$(echo "$ex" | jq .stream.primary)
[ "$(echo "$ex" | jq -r .ip)" = 192.0.2.7 ] && [ "$(echo "$ex" | jq .stream.pinned)" = false ] &&
	[ "$(echo "$ex" | jq .stream.instance)" = "$prim" ] && [ "$code" -ge 0 ] 2>/dev/null &&
	pass "explain of an unseen stream, source first: the route, and the primary it would take ($prim)" ||
	fail "explain of an unseen stream" "$ex"

echo probe | ns cli socat -u - UDP:192.0.2.7:53,sourceport=40999 2>/dev/null
ex=$("$CS" explain --json udp 192.0.2.7 53 10.10.0.2 40999)
[ "$(echo "$ex" | jq .stream.pinned)" = true ] && [ "$(echo "$ex" | jq .stream.instance)" = "$prim" ] &&
	[ "$(echo "$ex" | jq .stream.code)" = "$code" ] &&
	pass "that stream, sent, went where explain said" || fail "that stream went where explain said" "$ex"

# a stream whose first packet is a full-sized frame (1500 octets of IP, as a
# retransmitted segment is after a failover) reaches its instance too
rx() { ns $1 cat /sys/class/net/eth0/statistics/rx_bytes; }
rx_a=$(rx a); rx_b=$(rx b)
head -c 1472 /dev/zero | ns cli socat -u - UDP:192.0.2.7:9999,sourceport=40998 2>/dev/null
ex=$("$CS" explain --json udp 10.10.0.2 40998 192.0.2.7 9999)
got=$(( $(rx a) - rx_a )); [ "$(echo "$ex" | jq .stream.instance)" = 2 ] && got=$(( $(rx b) - rx_b ))
[ "$(echo "$ex" | jq .stream.pinned)" = true ] && [ "$got" -ge 1500 ] &&
	pass "a stream that begins with a full-sized frame reaches its instance ($got octets there)" ||
	fail "a full-sized first frame reaches the instance" "$got octets; $ex"

# the primary dies: what health or link-down does, written the same way
key=$(printf '%d 0 0 0' $first_id)
val=$(bpftool -j map lookup pinned "$CLOUDSTEER_PIN_DIR/cs_instances" key $key | python3 -c '
import json, sys
v = [int(x, 16) for x in json.load(sys.stdin)["value"]]
v[36:40] = [0, 0, 0, 0]	# state: CS_INST_DOWN (offsetof(struct cs_instance, state) == 36)
print(" ".join(str(x) for x in v))')
bpftool map update pinned "$CLOUDSTEER_PIN_DIR/cs_instances" key $key value $val
wait $STREAM
[ "$(wc -l < "$LAB/echo.out")" = 30 ] && pass "the stream completes across the failover: 30 of 30 lines" ||
	fail "the stream completes across the failover" "$(wc -l < "$LAB/echo.out") lines; $(cat "$LAB/socat.err")"
s_pk=$(inst_packets $((3 - first_id)))
[ "${s_pk:-0}" -gt 0 ] && pass "after $first went down the stream moved to $second ($s_pk packets)" ||
	fail "the stream moved to the secondary" "$s_pk"
# a drain by name through the pins: the daemon follows it within a tick
"$CS" drain casb-$first -c "$LAB/cs.yaml" >"$LAB/drain.out" 2>&1
grep -q "draining" "$LAB/drain.out" && wait_log "instance states changed outside the daemon" &&
	pass "drain by name; the daemon rebuilds the tables for it" ||
	fail "drain by name; the daemon rebuilds the tables for it" "$(cat "$LAB/drain.out" "$LAB/daemon.log")"

# link-down of the way to an instance fails it at once (the daemon's health
# thread watches the links), and streams still flow
ip -n $P-host link set i$second down
wait_log "instance casb-$second is down: link i$second down" &&
	pass "link-down of the way to $second fails it at once" ||
	fail "link-down of the way to $second fails it at once" "$(cat "$LAB/daemon.log")"
[ "$(echo hello | ns cli timeout 5 socat -t 1 - TCP:192.0.2.7:9000)" = hello ] &&
	pass "with both instances down a new stream bypasses (on_failure: bypass)" ||
	fail "with both instances down a new stream bypasses" "no echo"
sleep 1
ip netns pids $P-a | xargs -r kill	# tcpdump: flush and stop
ip netns pids $P-b | xargs -r kill
sleep 0.5
n_first=$(tcpdump -r "$LAB/$first.pcap" -n 2>/dev/null | grep -c "192.0.2.7.9000: ")
n_second=$(tcpdump -r "$LAB/$second.pcap" -n 2>/dev/null | grep -c "192.0.2.7.9000: ")
[ "$n_first" -gt 0 ] && [ "$n_second" -gt 0 ] &&
	pass "tcpdump on the instances saw the stream on $first, then on $second ($n_first, $n_second)" ||
	fail "tcpdump on the instances" "$first $n_first, $second $n_second"
# which path carried them: each stream's first packets TC, the rest XDP
xdp_carried "lan"
n_other=$(tcpdump -r "$LAB/a.pcap" -n 2>/dev/null | grep -c "10.20.0.2.9000")
n_other=$((n_other + $(tcpdump -r "$LAB/b.pcap" -n 2>/dev/null | grep -c "10.20.0.2.9000")))
[ "$n_other" = 0 ] && pass "no instance saw the unconfigured traffic" ||
	fail "no instance saw the unconfigured traffic" "$n_other packets"

# a restart with steer.xdp: off takes the fast path off lan again; TC steers
ip netns pids $P-host | xargs -r kill -TERM; sleep 1
sed -i 's/^  xdp: on$/  xdp: off/' "$LAB/cs.yaml"
daemon_up "$LAB/cs.yaml" && ! ip -n $P-host link show lan | grep -q "prog/xdp" &&
	grep -q "steer: steer.xdp is off: TC steers alone" "$LAB/daemon.log" &&
	grep -q "steer: lan: the XDP fast path an earlier run attached (id [0-9]*) detached" "$LAB/daemon.log" &&
	pass "steer.xdp: off at a restart takes the fast path an earlier run attached off lan" ||
	fail "steer.xdp: off at a restart" "$(ip -n $P-host link show lan; cat "$LAB/daemon.log")"
t_exit
