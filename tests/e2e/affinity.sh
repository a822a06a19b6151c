#!/bin/bash
# e2e-affinity: a chain's affinity, in route mode through real namespaces.
#
#   cli 10.10.0.2 --lan-- host --wan-- inet 10.20.0.2 (dnsmasq; echo on :9000 and :9001)
#                          |  \
#                     10.30.0.2  10.31.0.2   instances a and b (`cloudsteer instance`)
#
# 1. `affinity: hosts`: eight connections from the client to the server, from
#    eight ports to two, all land on one instance with one code, the pair of
#    hosts'; the instance, which recomputes the code in route mode, holds
#    each stream under that code too, and explain gives it to a stream not
#    seen yet.
# 2. The default (`flow`): the same kind of connections spread over both
#    instances, each with the code of its 5-tuple. The key and the ports are
#    fixed, so where each lands is the same at every run.
T_SUITE=e2e-affinity
. "$(dirname "$0")/mesh.bash"
command -v jq >/dev/null || { skip all "jq missing"; exit 0; }
mesh_up app.cloud.test,192.0.2.7 || { fail lab "the lab did not come up"; t_exit; }
ns inet socat TCP-LISTEN:9001,reuseaddr,fork SYSTEM:cat >/dev/null 2>&1 &
for n in a b; do ns $n socat TCP-LISTEN:9100,fork,reuseaddr OPEN:/dev/null >/dev/null 2>&1 & done

# affinity_config [LINE...]: $LAB/cs.yaml, casb_config's chain with LINEs
# and health probes, and what its instances need: the key (in route mode
# they recompute each stream's code) and their interface
affinity_config() {
	casb_config cloud.test "$@" "health: {probe: tcp, port: 9100, interval: 100ms, timeout: 50ms, fall: 3, rise: 2}"
	cat >> "$LAB/cs.yaml" <<YAML
mesh:
  affinity_key: 00112233445566778899aabbccddeeff
instance:
  interfaces: [eth0]
YAML
}

# lab_up CONFIG: the host daemon and both instances, fresh; the client resolves
lab_up() {
	mesh_fresh "$1" && [ "$(ns cli dig +short +time=2 @10.20.0.2 app.cloud.test)" = 192.0.2.7 ]
}
# connect SPORT DPORT: a line through a new connection, echoed back
connect() {
	[ "$(echo "hi $1" | ns cli timeout 5 socat -t 1 - TCP:192.0.2.7:$2,sourceport=$1 2>/dev/null)" = "hi $1" ]
}
# placed SPORT DPORT: "INSTANCE CODE" of the client's stream, pinned, as explain has it
placed() {
	"$CS" explain --json tcp 10.10.0.2 $1 192.0.2.7 $2 |
		jq -r 'select(.stream.pinned) | "\(.stream.instance) \(.stream.code)"'
}
name_of() { [ "$1" = 1 ] && echo a || echo b; }
# held_code NAME SPORT: the code instance NAME holds its own stream from SPORT under
held_code() {
	inst $1 show streams --json | jq "select((.lo_port == $2 or .hi_port == $2) and .synced == false) | .code"
}

# run_connections FIRST_SPORT: eight connections, from FIRST_SPORT on, to
# :9000 and :9001 in turn; each one's "SPORT INSTANCE CODE" in $LAB/placed
run_connections() {
	local i sport dport failed=0
	: > "$LAB/placed"
	for i in $(seq 0 7); do
		sport=$(($1 + i)) dport=$((9000 + i % 2))
		connect $sport $dport || failed=$((failed + 1))
		echo "$sport $(placed $sport $dport)" >> "$LAB/placed"
	done
	return $failed
}
instances_used() { awk '{ print $2 }' "$LAB/placed" | sort -u | grep -c .; }
codes_used() { awk '{ print $3 }' "$LAB/placed" | sort -u | grep -c .; }
every_placed() { [ "$(awk 'NF == 3' "$LAB/placed" | wc -l)" = 8 ]; }

# ---- 1. affinity: hosts ----
affinity_config "affinity: hosts"
lab_up "$LAB/cs.yaml" || { fail "the lab runs" "$(cat "$LAB/daemon.log" "$LAB/a.log" "$LAB/b.log")"; t_exit; }
pass "the host and two instances run a chain of affinity: hosts; the client resolves"
[ "$("$CS" show chains --json | jq -r .affinity)" = hosts ] &&
	"$CS" show chains | grep -Eq "^ +1 +casb +route +bypass +no +hosts " &&
	pass "show chains says the chain's affinity is hosts" || fail "show chains says hosts" "$("$CS" show chains)"

run_connections 42001 && pass "eight connections on eight client ports to :9000 and :9001 are echoed" ||
	fail "eight connections are echoed" "$? failed"
if every_placed && [ "$(instances_used)" = 1 ] && [ "$(codes_used)" = 1 ]; then
	read -r _ ID CODE < "$LAB/placed"
	pass "all eight landed on one instance ($(name_of $ID)) with one code ($CODE)"
else
	ID= CODE=
	fail "all eight land on one instance with one code" "$(cat "$LAB/placed")"
fi

if [ -n "$ID" ]; then
	held=$(for i in $(seq 0 7); do held_code $(name_of $ID) $((42001 + i)); done | sort -u | tr '\n' ' ')
	[ "$held" = "$CODE " ] &&
		pass "instance $(name_of $ID), in route mode, recomputed that code for each of its eight streams" ||
		fail "the instance recomputes the pair's code" "codes held: $held; steer's: $CODE; $(inst $(name_of $ID) show streams)"
	ex=$("$CS" explain --json udp 10.10.0.2 50000 192.0.2.7 53)
	[ "$(echo "$ex" | jq .stream.pinned)" = false ] && [ "$(echo "$ex" | jq .stream.code)" = "$CODE" ] &&
		[ "$(echo "$ex" | jq .stream.instance)" = "$ID" ] && [ "$(echo "$ex" | jq -r .affinity)" = hosts ] &&
		pass "explain gives a UDP stream not seen yet the same code and instance" ||
		fail "explain computes the pair's code" "$ex"
	"$CS" explain 192.0.2.7 | grep -q "chain     1 (route mode, affinity hosts, on failure bypass, 256 buckets)" &&
		pass "explain's chain line says affinity hosts" || fail "explain says affinity hosts" "$("$CS" explain 192.0.2.7)"
fi

# ---- 2. the default: flow ----
affinity_config
lab_up "$LAB/cs.yaml" || { fail "the lab runs again" "$(cat "$LAB/daemon.log" "$LAB/a.log" "$LAB/b.log")"; t_exit; }
[ "$("$CS" show chains --json | jq -r .affinity)" = flow ] &&
	pass "without the key the chain's affinity is flow" || fail "the default is flow" "$("$CS" show chains --json)"
run_connections 43001 && pass "eight more connections are echoed" || fail "eight more connections are echoed" "$? failed"
every_placed && [ "$(instances_used)" = 2 ] && [ "$(codes_used)" = 8 ] &&
	pass "coded by their 5-tuples, they spread over both instances with eight codes" ||
	fail "the connections spread over both instances" "$(cat "$LAB/placed")"
read -r SPORT ID CODE < "$LAB/placed"
[ -n "$ID" ] && [ "$(held_code $(name_of $ID) $SPORT)" = "$CODE" ] &&
	pass "the instance holds a stream under its 5-tuple's code, as steer computed it" ||
	fail "the instance recomputes the 5-tuple's code" "$(cat "$LAB/placed"); $(inst $(name_of "${ID:-1}") show streams)"
t_exit
