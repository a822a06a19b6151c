#!/bin/bash
# e2e-idle: TTL expiry never cuts a connection, however long it stays quiet.
# A TCP connection lives by its state (steer.flow_timeouts: established 5
# days), not by steer.flow_idle, which is 2 s here; the records of its
# address expire within 3 s (TTL clamped to 1 s, grace 1 s).
#
#   cli 10.10.0.2 --lan-- host --wan-- inet 10.20.0.2 (dnsmasq; socat echo :9000)
#                          |  \
#                     10.30.0.2  10.31.0.2   instances a and b: `cloudsteer
#                                            instance`, strict, stream_idle 2 s
#
# The chain is symmetric, so each instance sees both directions. Packets
# steered through an instance reach the uplink (wan) with a TTL two lower
# than the client's (the instance forwards, then the host); a packet that
# went around the instance has a TTL one lower: a capture on wan tells them
# apart, and one on each instance's link counts what crossed it.
#
# 1. A connection sends, stays quiet 8 s (4 x flow_idle) while its records
#    expire, then sends again: every packet crosses the same instance, none
#    goes around it, and the route goes only once the connection is closed.
# 2. The same, and the instance holding it dies while it is quiet: it
#    resumes on the secondary, which kept the synced copy through the quiet
#    (stream_idle 2 s does not apply to TCP).
# 3. Small flow tables (cs_flows 512, cs_flows_new 256; the same on the
#    instances) and a flood of 3000 SYNs from forged sources, every third
#    sent again (half-open): the established connection is not evicted, it
#    is still steered through its instance afterwards, and the counters say
#    what happened.
T_SUITE=e2e-idle
. "$(dirname "$0")/mesh.bash"
DAEMON_FLAGS=-v	# the expired and route lines below are per-record lines
command -v jq >/dev/null || { skip all "jq missing"; exit 0; }
mesh_up app.idle.test,192.0.2.7 || { fail lab "the lab did not come up"; t_exit; }
for n in a b; do	# what the health checks probe
	ns $n socat TCP-LISTEN:9100,fork,reuseaddr OPEN:/dev/null >/dev/null 2>&1 &
done

# idle_config FILE [LIMITS]: the host and both instances; LIMITS: small tables
idle_config() {
	local flows= streams=
	if [ -n "${2:-}" ]; then
		flows="  limits: {flows: 512, flows_new: 256}"
		streams="  limits: {streams: 512, streams_new: 256}"
	fi
	cat > "$1" <<YAML
learn:
  interfaces: [wan]
steer:
  interfaces: [lan, wan]
  xdp: on
  flow_idle: 2s
  flow_timeouts: {syn: 5s, fin: 5s, linger: 1s}
$flows
rules:
  - match: [idle.test]
    chain: casb
    ttl: {min: 1, max: 1, grace: 1}
mesh:
  affinity_key: 00112233445566778899aabbccddeeff
  sync_key: 5ca1ab1e0ddba11c0ffee0000c0ffee1
chains:
  - name: casb
    mode: route
    symmetric: true
    instances:
      - {name: casb-a, address: 10.30.0.2}
      - {name: casb-b, address: 10.31.0.2}
    health: {probe: tcp, port: 9100, interval: 100ms, timeout: 100ms, fall: 5, rise: 2, warmup: 1s}
instance:
  interfaces: [eth0]
  policy: strict
  stream_idle: 2s
$streams
YAML
}

learned() { [ "$(ns cli dig +short +time=2 @10.20.0.2 app.idle.test A)" = 192.0.2.7 ]; }
# capture PHASE: what leaves on wan, what enters each instance (it forwards
# back out of the same link), what the client sends and gets
capture() {
	local n
	ns host tcpdump -i wan -Q out -n -U --immediate-mode -w "$LAB/wan-$1.pcap" "tcp port 9000" >/dev/null 2>&1 &
	for n in a b; do
		ns $n tcpdump -i eth0 -Q in -n -U --immediate-mode -w "$LAB/$n-$1.pcap" "tcp port 9000" >/dev/null 2>&1 &
	done
	ns cli tcpdump -i eth0 -n -U --immediate-mode -w "$LAB/cli-$1.pcap" "tcp port 9000" >/dev/null 2>&1 &
	sleep 1
}

# A connection from the client's PORT to the echo server, fed line by line.
declare -A CONN_FD
conn_open() {	# conn_open PORT
	local fd
	mkfifo "$LAB/in-$1"
	ns cli socat -t 2 STDIO "TCP:192.0.2.7:9000,sourceport=$1,reuseaddr" < "$LAB/in-$1" > "$LAB/out-$1" 2>&1 &
	exec {fd}>"$LAB/in-$1"
	CONN_FD[$1]=$fd
}
# say PORT TEXT: send a line and wait (5 s at most) for its echo
say() {
	echo "$2" >&"${CONN_FD[$1]}"
	wait_in "$LAB/out-$1" "$2" 50
}
conn_close() { eval "exec ${CONN_FD[$1]}>&-"; }

stream_of() {	# stream_of NAME PORT: instance NAME's entry of the client's stream from PORT
	inst $1 show streams --json | jq -c "select(.lo_port == $2 or .hi_port == $2)"
}
# holder_of PORT: the instance holding the stream (not a synced copy)
holder_of() {
	local n
	for n in a b; do
		[ "$(stream_of $n $1 | jq .synced)" = false ] && { echo $n; return; }
	done
	echo none
}
other() { [ "$1" = a ] && echo b || echo a; }
# sent PCAP PORT [FILTER]: the client's packets of the connection in PCAP
sent() { tcpdump -n -r "$1" "src host 10.10.0.2 and src port $2${3:+ and $3}" 2>/dev/null | wc -l; }
# every_packet_through PHASE PORT NAME...: each packet the client sent
# crossed one of the instances NAME..., and none reached wan around them
every_packet_through() {
	local phase=$1 port=$2 n crossed=0 sent_n around through
	sleep 0.5	# the captures written out
	sent_n=$(sent "$LAB/cli-$phase.pcap" $port)
	for n in "${@:3}"; do crossed=$((crossed + $(sent "$LAB/$n-$phase.pcap" $port))); done
	around=$(sent "$LAB/wan-$phase.pcap" $port "ip[8] == 63")
	through=$(sent "$LAB/wan-$phase.pcap" $port "ip[8] == 62")
	echo "    stats: ${phase}_client_packets=$sent_n through_instance=$crossed wan_via_instance=$through wan_around=$around"
	[ "$sent_n" -gt 0 ] && [ "$crossed" = "$sent_n" ] && [ "$through" = "$sent_n" ] && [ "$around" = 0 ]
}
table_entries() { "$CS" show stats --json | jq "select(.table == \"$1\") | .entries"; }

# ---- 1. quiet for 4 x flow_idle, its records expired ----
idle_config "$LAB/idle.yaml"
mesh_fresh "$LAB/idle.yaml" || { fail "the lab runs" "$(cat "$LAB/daemon.log" "$LAB/a.log" "$LAB/b.log")"; t_exit; }
capture 1
learned && pass "the host and two strict instances run; the client resolves" || fail "the client resolves" ""
conn_open 41001
if say 41001 one; then
	H=$(holder_of 41001)
	[ $H != none ] && pass "the connection goes through $H" || fail "the connection has a holder" "$(stream_of a 41001) $(stream_of b 41001)"
	wait_log "expired app.idle.test 192.0.2.7" 50 && wait_log "route 192.0.2.7 kept: its records expired, a flow still uses it" 50 &&
		pass "its records expire; the route stays for the connection" ||
		fail "the route stays for the connection" "$(tail -20 "$LAB/daemon.log")"
	p0=$(stream_of $H 41001 | jq .packets)
	sleep 8	# 4 x flow_idle, 4 x stream_idle, quiet
	ex=$("$CS" explain tcp 10.10.0.2 41001 192.0.2.7 9000)
	echo "$ex" | grep -q "stream    10.10.0.2:41001 <-> 192.0.2.7:9000 tcp: .*; established$" &&
		pass "after 8 s quiet the flow is established, proven, and keeps its route" ||
		fail "the quiet flow lives" "$ex"
	if say 41001 two; then
		pass "8 s quiet, then the connection carries data again: echoed"
	else
		fail "the connection carries data after 8 s quiet" "$(cat "$LAB/out-41001"; tail -20 "$LAB/daemon.log")"
	fi
	s=$(stream_of $H 41001)
	[ "$(echo "$s" | jq .synced)" = false ] && [ "$(echo "$s" | jq .packets)" -gt "$p0" ] &&
		[ "$(echo "$s" | jq -r .state)" = established ] &&
		pass "the same instance ($H) carried it after the quiet: $(echo "$s" | jq -c '{state, packets, idle_ms}')" ||
		fail "the same instance carries it" "$s"
	conn_close 41001
	every_packet_through 1 41001 $H && pass "every packet of the connection crossed $H; none went around it" ||
		fail "every packet crosses $H" "see the stats line"
	wait_log "route 192.0.2.7 removed: no record or flow needs it" 100 &&
		pass "closed (FINs both ways), the flow lingers 1 s and the route goes" ||
		fail "the route goes once the connection is closed" "$("$CS" show routes; "$CS" explain 192.0.2.7)"
else
	fail "the connection echoes" "$(cat "$LAB/out-41001")"
fi

# ---- 2. its instance dies while it is quiet ----
capture 2
learned || fail "the name resolves again" ""
conn_open 41002
if say 41002 three; then
	H=$(holder_of 41002); O=$(other $H)
	for i in $(seq 30); do [ "$(stream_of $O 41002 | jq .synced)" = true ] && break; sleep 0.1; done
	[ "$(stream_of $O 41002 | jq .synced)" = true ] && pass "the connection is held by $H and synced to $O" ||
		fail "the connection is synced" "$(stream_of $O 41002)"
	sleep 3
	kill_inst $H
	wait_log "instance casb-$H is down" 30 || fail "the host sees $H die" "$(tail -5 "$LAB/daemon.log")"
	sleep 5	# quiet 8 s in all
	c=$(stream_of $O 41002)
	[ -n "$c" ] && pass "after 8 s quiet (stream_idle 2 s) $O still holds the copy: $(echo "$c" | jq -c '{state, idle_ms}')" ||
		fail "$O keeps the synced copy" "$(inst $O show streams)"
	if say 41002 four; then
		s=$(stream_of $O 41002)
		[ "$(echo "$s" | jq .synced)" = false ] && [ "$(inst $O show sync --json | jq .dataplane.strict_drop)" = 0 ] &&
			pass "$H died while the connection was quiet; it resumed on $O: $(echo "$s" | jq -c '{state, epoch}')" ||
			fail "$O takes the connection over" "$s $(inst $O show sync --json)"
	else
		fail "the connection resumes on the secondary" "$(cat "$LAB/out-41002"); $(inst $O show sync --json)"
	fi
	conn_close 41002
	every_packet_through 2 41002 a b && pass "every packet crossed an instance; none went around the chain" ||
		fail "every packet crosses an instance after the failover" "see the stats line"
else
	fail "the second connection echoes" "$(cat "$LAB/out-41002")"
fi

# ---- 3. a SYN flood with small flow tables ----
idle_config "$LAB/flood.yaml" small
mesh_fresh "$LAB/flood.yaml" || { fail "the lab runs with small tables" "$(cat "$LAB/daemon.log")"; t_exit; }
capture 3
learned || fail "the name resolves" ""
conn_open 41003
if say 41003 five; then
	H=$(holder_of 41003)
	new0=$(flow_counter flows_new)
	ns cli python3 "$REPO/tests/e2e/synflood.py" --dst 192.0.2.7 --dport 9000 --count 3000 --src-net 10.10.0 \
		--twice-every 3 > "$LAB/flood.out"
	sleep 2
	new=$(( $(flow_counter flows_new) - new0 ))
	echo "    stats: $(cat "$LAB/flood.out"); flows_new=$new flows_promoted=$(flow_counter flows_promoted)" \
	     "flow_table_full=$(flow_counter flow_table_full) flows=$(table_entries flows)/512" \
	     "flows_new_table=$(table_entries flows_new)/256" \
	     "instance_$H=$(inst $H show sync --json | jq -c '.dataplane | {new, promoted, streams_full}')"
	[ "$new" -ge 3000 ] && [ "$(table_entries flows_new)" -le 256 ] &&
		pass "3000 forged connections made $new new flows, which churned cs_flows_new (256) alone" ||
		fail "the flood churns cs_flows_new" "new $new, in the table $(table_entries flows_new)"
	ex=$("$CS" explain tcp 10.10.0.2 41003 192.0.2.7 9000)
	echo "$ex" | grep -q "stream    10.10.0.2:41003 <-> 192.0.2.7:9000 tcp: .*; established$" &&
		pass "the established connection is still in cs_flows" || fail "the connection's flow is kept" "$ex"
	if say 41003 six; then
		s=$(stream_of $H 41003)
		[ "$(echo "$s" | jq .synced)" = false ] && [ "$(echo "$s" | jq .proven)" = true ] &&
			pass "after the flood the connection is still steered through $H: $(echo "$s" | jq -c '{state, packets}')" ||
			fail "the connection stays on $H" "$s"
	else
		fail "the connection echoes after the flood" "$(cat "$LAB/out-41003"); $("$CS" show stats)"
	fi
	conn_close 41003
	every_packet_through 3 41003 $H && pass "every packet of the connection crossed $H; none went around it" ||
		fail "every packet crosses $H through the flood" "see the stats line"
else
	fail "the third connection echoes" "$(cat "$LAB/out-41003")"
fi
t_exit
