#!/bin/bash
# e2e-ids: instance ids that do not move (lib/ids.h). Streams pinned to
# casb-b stay on casb-b when an instance is inserted before it in the config
# and the daemon reloads (SIGHUP), and when the daemon restarts. When
# casb-b leaves the config its id stays its own, draining, while its
# streams live: a new instance does not get it, and the streams finish where
# they are. Once they are over the id is free, and the next new name takes it.
#
#   cli 10.10.0.2 --lan-- host --wan-- inet 10.20.0.2 (dnsmasq, echo on :9000)
#                          |  |  \
#                  10.30.0.2  10.31.0.2  10.32.0.2   instances a, b and c
#                                                    (forwarding routers)
#
# With ids that were positions in the config, casb-c inserted before casb-b
# took casb-b's id (2), and the pinned streams went to c at the restart.
# Here tcpdump on b and c counts where they go, and steer's counters by id.
T_SUITE=e2e-ids
. "$(dirname "$0")/mesh.bash"
command -v jq >/dev/null || { skip all "jq missing"; exit 0; }
mesh_up app.cloud.test,192.0.2.7 || { fail lab "the lab did not come up"; t_exit; }
mesh_instance c 32 || { fail lab "instance c did not come up"; t_exit; }

A="{name: casb-a, address: 10.30.0.2}"
B="{name: casb-b, address: 10.31.0.2}"
C="{name: casb-c, address: 10.32.0.2}"
D="{name: casb-d, address: 10.32.0.2}"	# where c is: a stream sent there by mistake shows
E="{name: casb-e, address: 10.30.0.2}"

# config INSTANCE...: chain casb of these instances; idle UDP flows go after
# 3 s, and a finished connection's flow (a FIN seen: steer sees one direction)
# after 2 s, so a left id is freed within the test
config() {
	local i
	cat > "$LAB/cs.yaml" <<YAML
learn:
  interfaces: [wan]
steer:
  interfaces: [lan]
  xdp: on
  flow_idle: 3s
  flow_timeouts: {fin: 2s, linger: 1s}
rules:
  - match: [cloud.test]
    chain: casb
chains:
  - name: casb
    mode: route
    instances:
YAML
	for i in "$@"; do echo "      - $i" >> "$LAB/cs.yaml"; done
}
reload() {	# SIGHUP, and the daemon's word that the reload went through
	local n
	n=$(grep -c "reload: .* rules" "$LAB/daemon.log")
	ip netns pids $P-host | xargs -r kill -HUP
	for i in $(seq 50); do
		[ "$(grep -c "reload: .* rules" "$LAB/daemon.log")" -gt "$n" ] && return 0
		sleep 0.1
	done
	return 1
}
id_of() {	# id_of NAME: its id, as show instances has it (not one it left)
	"$CS" show instances --json | jq -r "select(.name == \"$1\" and .state != \"left\") | .id"
}
state_of() { "$CS" show instances --json | jq -r "select(.id == $1) | .state"; }
pinned_to() {	# pinned_to PORT: the instance the client's stream from PORT is pinned to
	"$CS" explain --json tcp 10.10.0.2 "$1" 192.0.2.7 9000 | jq -r 'if .stream.pinned then .stream.instance else "none" end'
}
# seen NS T0: packets of the client's streams on NS's link since T0 (epoch s)
seen() {
	tcpdump -tt -n -r "$LAB/$1.pcap" 2>/dev/null | awk -v t0="$2" '$1 > t0' | wc -l
}

config "$A" "$B"
daemon_up "$LAB/cs.yaml" && pass "the daemon runs with casb-a and casb-b" ||
	{ fail "the daemon runs" "$(cat "$LAB/daemon.log")"; t_exit; }
[ "$(id_of casb-a)" = 1 ] && [ "$(id_of casb-b)" = 2 ] && pass "a fresh start numbers in config order: casb-a 1, casb-b 2" ||
	fail "a fresh start numbers in config order" "$("$CS" show instances)"
[ "$(ns cli dig +short +time=2 @10.20.0.2 app.cloud.test)" = 192.0.2.7 ] || fail "the client resolves" ""

# three client ports whose streams the table gives casb-b (2)
PORTS=()
for port in $(seq 40101 40400); do
	[ "$("$CS" explain --json tcp 10.10.0.2 $port 192.0.2.7 9000 | jq .stream.instance)" = 2 ] && PORTS+=($port)
	[ ${#PORTS[@]} = 3 ] && break
done
[ ${#PORTS[@]} = 3 ] || { fail "three ports whose streams go to casb-b" "${PORTS[*]}"; t_exit; }
for n in b c; do ns $n tcpdump -i eth0 -n -U -w "$LAB/$n.pcap" "tcp port 9000" >/dev/null 2>&1 & done
sleep 1
# 24 s of lines each, one every 0.25 s: they outlive the reload and the restart
for port in "${PORTS[@]}"; do
	( for i in $(seq 96); do echo "line $i"; sleep 0.25; done ) |
		ns cli timeout 60 socat -t 3 - TCP:192.0.2.7:9000,sourceport=$port > "$LAB/echo-$port.out" 2>&1 &
done
sleep 1.5
pinned=$(for port in "${PORTS[@]}"; do pinned_to $port; done | sort -u | tr '\n' ' ')
[ "$pinned" = "2 " ] && pass "three streams (ports ${PORTS[*]}) are pinned to casb-b (2)" ||
	fail "the streams are pinned to casb-b" "$pinned"

# ---- casb-c inserted before casb-b ----
config "$A" "$C" "$B"
T1=$(date +%s.%N); b1=$(inst_packets 2)
reload && pass "SIGHUP: casb-c is inserted before casb-b" || fail "the reload" "$(tail -5 "$LAB/daemon.log")"
[ "$(id_of casb-b)" = 2 ] && [ "$(id_of casb-c)" = 3 ] && [ "$(id_of casb-a)" = 1 ] &&
	pass "casb-b keeps id 2; casb-c takes the lowest free one, 3" || fail "ids after the insertion" "$("$CS" show instances)"
sleep 2
pinned=$(for port in "${PORTS[@]}"; do pinned_to $port; done | sort -u | tr '\n' ' ')
b_seen=$(seen b "$T1") c_seen=$(seen c "$T1") b2=$(inst_packets 2) c_pk=$(inst_packets 3)
[ "$pinned" = "2 " ] && [ "$b_seen" -gt 20 ] && [ "$c_seen" = 0 ] && [ $((b2 - b1)) -gt 20 ] && [ "${c_pk:-0}" = 0 ] &&
	pass "after the reload the streams stay on casb-b: $b_seen packets on b's link, none on c's; steer counted $((b2 - b1)) for 2, ${c_pk:-0} for 3" ||
	fail "the streams stay on casb-b after the reload" "pinned $pinned, b $b_seen, c $c_seen, id 2 $b1 -> $b2, id 3 $c_pk"

# ---- a restart, with casb-c where casb-b's position was ----
ip netns pids $P-host | xargs -r kill -TERM
for i in $(seq 50); do [ -z "$(ip netns pids $P-host)" ] && break; sleep 0.1; done
T2=$(date +%s.%N)
daemon_up "$LAB/cs.yaml" && pass "the daemon restarts over its pins" || fail "the restart" "$(cat "$LAB/daemon.log")"
[ "$(id_of casb-b)" = 2 ] && [ "$(id_of casb-c)" = 3 ] &&
	pass "after the restart casb-b is still 2 and casb-c 3, from the pinned ids" ||
	fail "ids after the restart" "$("$CS" show instances)"
sleep 2
pinned=$(for port in "${PORTS[@]}"; do pinned_to $port; done | sort -u | tr '\n' ' ')
b_seen=$(seen b "$T2") c_seen=$(seen c "$T2")
[ "$pinned" = "2 " ] && [ "$b_seen" -gt 20 ] && [ "$c_seen" = 0 ] &&
	pass "after the restart the streams stay on casb-b: $b_seen packets on b's link, none on c's" ||
	fail "the streams stay on casb-b after the restart" "pinned $pinned, b $b_seen, c $c_seen"

# ---- casb-b leaves while its streams live; casb-d (at c's address) comes ----
config "$A" "$C" "$D"
T3=$(date +%s.%N)
reload || fail "the reload without casb-b" "$(tail -5 "$LAB/daemon.log")"
[ "$(state_of 2)" = left ] && [ "$(id_of casb-d)" = 4 ] &&
	pass "casb-b left: its id 2 is kept (state left) while its streams live; casb-d gets 4, not 2" ||
	fail "a left id is kept" "$("$CS" show instances)"
sleep 2
b_seen=$(seen b "$T3") c_seen=$(seen c "$T3")
[ "$b_seen" -gt 20 ] && [ "$c_seen" = 0 ] &&
	pass "the streams of casb-b finish where they are (drained): $b_seen packets on b's link, none on c's" ||
	fail "the left instance's streams stay" "b $b_seen, c $c_seen"
for port in "${PORTS[@]}"; do
	wait_in "$LAB/echo-$port.out" "line 96" 200
done
n_ok=0
for port in "${PORTS[@]}"; do [ "$(wc -l < "$LAB/echo-$port.out")" = 96 ] && n_ok=$((n_ok + 1)); done
[ $n_ok = 3 ] && pass "the three streams completed: 96 of 96 lines each" ||
	fail "the streams complete" "$(wc -l "$LAB"/echo-*.out)"

# once no flow names it (its state's lifetime after the last packet, then
# the daemon's next look), id 2 is free, and the next new name takes it
wait_log "instance id 2 is free: no flow uses casb-b of chain casb any more" 200 &&
	[ -z "$(state_of 2)" ] && pass "when the streams are over, id 2 is free" ||
	fail "id 2 is freed" "$(grep -i "free\|left" "$LAB/daemon.log"; "$CS" show instances)"
config "$A" "$C" "$D" "$E"
reload && [ "$(id_of casb-e)" = 2 ] && [ "$(id_of casb-d)" = 4 ] &&
	pass "casb-e, new, takes the freed id 2" || fail "a freed id is given again" "$("$CS" show instances)"

# ids the config gives, and one this node cannot give
config "$A" "$C" "$D" "{name: casb-e, address: 10.30.0.2, id: 9}"
reload && [ "$(id_of casb-e)" = 9 ] && [ "$(state_of 2)" = left ] &&
	pass "id: 9 moves casb-e to 9; its old id 2 is left until nothing names it" ||
	fail "id: 9" "$("$CS" show instances; tail -5 "$LAB/daemon.log")"
config "$A" "{name: casb-c, address: 10.32.0.2, id: 4}" "$D"
ip netns pids $P-host | xargs -r kill -HUP
wait_log "reload refused, the running config stays: $LAB/cs.yaml:16: instance \"casb-c\" asks for id 4, which this node gave instance \"casb-d\"" 30 &&
	[ "$(id_of casb-c)" = 3 ] && pass "an id: that another instance holds here is refused with FILE:LINE; the running ids stay" ||
	fail "a taken id: is refused" "$(tail -3 "$LAB/daemon.log")"
ip netns pids $P-b | xargs -r kill
ip netns pids $P-c | xargs -r kill
t_exit
