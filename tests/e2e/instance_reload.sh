#!/bin/bash
# e2e-instance-reload: `cloudsteer instance` takes chain changes on SIGHUP,
# keeping the streams it holds.
#
#   cli 10.10.0.2 --lan-- host --wan-- inet 10.20.0.2 (dnsmasq; HTTP :8080)
#                          |  |  \
#                  10.30.0.2  10.31.0.2  10.32.0.2   instances a, b and c
#
# a and b run a symmetric chain, strict, with UDP streams and a download
# through them. Then:
# 1. casb-c joins the config; a and b reload (SIGHUP): the download goes on
#    and completes intact, every held stream stays, and each stream whose
#    bucket now names c is synced to c.
# 2. A config that does not load is refused with FILE:LINE; a config without
#    this node's instance is refused too: the node goes on as it was.
# 3. c moves to another address: c rebinds its sync socket there, a and b
#    sync to the new address (the partner changed), and c takes it.
T_SUITE=e2e-instance-reload
. "$(dirname "$0")/mesh.bash"
for t in curl jq; do command -v $t >/dev/null || { skip all "$t missing"; exit 0; }; done
mesh_up app.cloud.test,192.0.2.7 || { fail lab "the lab did not come up"; t_exit; }
mesh_instance c 32 || { fail lab "instance c did not come up"; t_exit; }

mkdir -p "$LAB/www"
head -c 12M /dev/urandom > "$LAB/www/big.bin"
want_sum=$(sha256sum < "$LAB/www/big.bin")
ns inet python3 -m http.server 8080 --bind 0.0.0.0 --directory "$LAB/www" >"$LAB/http.log" 2>&1 &
for n in a b c; do ns $n socat TCP-LISTEN:9100,fork,reuseaddr OPEN:/dev/null >/dev/null 2>&1 & done
ns cli sysctl -qw net.ipv4.tcp_rmem="4096 131072 262144"

A="{name: casb-a, address: 10.30.0.2}"
B="{name: casb-b, address: 10.31.0.2}"
C="{name: casb-c, address: 10.32.0.2}"
# config FILE INSTANCE...: one config for the host and every instance
config() {
	local f=$1 i
	shift
	cat > "$f" <<YAML
learn:
  interfaces: [wan]
steer:
  interfaces: [lan, wan]
  xdp: on
rules:
  - match: [cloud.test]
    chain: casb
mesh:
  affinity_key: 00112233445566778899aabbccddeeff
  sync_key: 5ca1ab1e0ddba11c0ffee0000c0ffee1
chains:
  - name: casb
    mode: route
    symmetric: true
    health: {probe: tcp, port: 9100, interval: 100ms, timeout: 50ms, fall: 3, rise: 2, warmup: 0}
    instances:
YAML
	for i in "$@"; do echo "      - $i" >> "$f"; done
	cat >> "$f" <<YAML
instance:
  interfaces: [eth0]
  policy: strict
  stream_idle: 60s
YAML
}
declare -A INST_PID
inst_up() {	# inst_up NAME CONFIG: `cloudsteer instance` in NAME, pins in $CLOUDSTEER_PIN_DIR-NAME
	CLOUDSTEER_PIN_DIR=$CLOUDSTEER_PIN_DIR-$1 nsenter --net=/run/netns/$P-$1 "$CS" instance -c "$2" \
		>"$LAB/$1.log" 2>&1 &
	INST_PID[$1]=$!
	wait_in "$LAB/$1.log" "running:" 50
}
inst() { CLOUDSTEER_PIN_DIR=$CLOUDSTEER_PIN_DIR-$1 "$CS" "${@:2}"; }
hup() {	# hup NAME...: SIGHUP those instances
	local n
	for n in "$@"; do kill -HUP "${INST_PID[$n]}"; done
}
reloads() { grep -c "reload: instance" "$LAB/$1.log"; }
sync_stat() { inst $1 show sync --json | jq ".$2"; }
# held NAME: the UDP streams NAME holds (not synced copies), by client port
held() { inst $1 show streams --json | jq -r 'select(.proto == "udp" and .synced == false) | .lo_port' | sort -n; }
copies() { inst $1 show streams --json | jq -r 'select(.proto == "udp" and .synced) | .lo_port' | sort -n; }

config "$LAB/ab.yaml" "$A" "$B"
inst_up a "$LAB/ab.yaml" && inst_up b "$LAB/ab.yaml" && daemon_up "$LAB/ab.yaml" &&
	wait_log "instance casb-a is up" 30 && wait_log "instance casb-b is up" 30 &&
	[ "$(ns cli dig +short +time=2 @10.20.0.2 app.cloud.test)" = 192.0.2.7 ] &&
	pass "the host and the strict instances a and b run; the client resolves" ||
	{ fail "the lab runs" "$(cat "$LAB/daemon.log" "$LAB/a.log" "$LAB/b.log")"; t_exit; }

# twelve UDP streams, 20 datagrams a second each, for 40 s
ns cli python3 -c '
import socket, time
socks = []
for port in range(41001, 41013):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.10.0.2", port))
    socks.append(s)
for i in range(800):
    for s in socks:
        s.sendto(b"x" * 100, ("192.0.2.7", 9001))
    time.sleep(0.05)' >/dev/null 2>&1 &
sleep 1.5
held0=$( (held a; held b) | sort -n | tr '\n' ' ')
[ "$(echo $held0 | wc -w)" = 12 ] && pass "a and b hold the 12 UDP streams between them" ||
	fail "a and b hold the UDP streams" "held: $held0"

# ---- 1. casb-c joins ----
config "$LAB/abc.yaml" "$A" "$B" "$C"
inst_up c "$LAB/abc.yaml" || fail "c runs" "$(cat "$LAB/c.log")"
ns cli curl -sS --local-port 40001 --limit-rate 3M --max-time 30 -o "$LAB/dl.bin" http://192.0.2.7:8080/big.bin \
	2>"$LAB/dl.err" &
DL=$!
sleep 1
cp "$LAB/abc.yaml" "$LAB/ab.yaml"	# the file a and b read: the same path, new contents
ra=$(reloads a) rb=$(reloads b)
hup a b
ip netns pids $P-host | xargs -r kill -HUP
wait_in "$LAB/a.log" "reload: instance casb-a of chain casb, 2 peer(s) (were 1)" 30 &&
	wait_in "$LAB/b.log" "reload: instance casb-b of chain casb, 2 peer(s) (were 1)" 30 &&
	pass "SIGHUP: a and b take casb-c as a peer: $(grep -h "reload: instance" "$LAB/a.log" | tail -1 | sed 's/.*reload: //')" ||
	fail "a and b reload" "$(tail -5 "$LAB/a.log" "$LAB/b.log")"
wait $DL
[ "$(sha256sum < "$LAB/dl.bin")" = "$want_sum" ] && pass "a download across the reload completed, intact" ||
	fail "the download across the reload" "$(cat "$LAB/dl.err")"
sleep 1
held1=$( (held a; held b) | sort -n | tr '\n' ' ')
[ "$held1" = "$held0" ] && pass "every UDP stream a and b held before the reload they hold after it" ||
	fail "the held streams stay" "before: $held0; after: $held1"
# which streams' buckets name c now: the host's table, built the same way
want_c=""
c_id=$("$CS" show instances --json | jq 'select(.name == "casb-c") | .id')
for port in $(seq 41001 41012); do
	ex=$("$CS" explain --json udp 10.10.0.2 $port 192.0.2.7 9001)
	echo "$ex" | jq -e ".stream.primary == $c_id or .stream.secondary == $c_id" >/dev/null && want_c="$want_c$port "
done
got_c=$(copies c | tr '\n' ' ')
[ -n "$want_c" ] && [ "$got_c" = "$want_c" ] && [ "$(sync_stat c streams_received)" -gt 0 ] &&
	inst c show streams | grep -Eq "synced from #[12] \(casb-[ab]\)" &&
	pass "c, added by SIGHUP, was synced every stream whose bucket names it: $got_c" ||
	fail "c is synced the streams of its buckets" "want $want_c, got $got_c; $(inst c show sync)"
[ "$(inst a show sync --json | jq .dataplane.strict_drop)" = 0 ] && [ "$(inst b show sync --json | jq .dataplane.strict_drop)" = 0 ] &&
	pass "a and b dropped nothing across the reload (strict)" ||
	fail "nothing dropped" "$(inst a show sync) $(inst b show sync)"

# ---- 2. configs a node must refuse ----
ha=$(held a | tr '\n' ' ')
printf 'chains:\n  - name: casb\n    instances: [%s]\n    colour: blue\n' "$A" > "$LAB/ab.yaml"
hup a
wait_in "$LAB/a.log" "reload refused, the running config stays: $LAB/ab.yaml:4: unknown key \"colour\" in a chain" 30 &&
	pass "a config that does not load is refused with FILE:LINE" || fail "a bad config is refused" "$(tail -3 "$LAB/a.log")"
config "$LAB/ab.yaml" "$B" "$C"
hup a
wait_in "$LAB/a.log" "reload refused, the running config stays: $LAB/ab.yaml: instance casb-a, which this node is, is not in it any more: a node leaves its chain by a stop, not a reload; it goes on as casb-a of chain casb" 30 &&
	pass "a config without this node's instance is refused: a says it is still casb-a" ||
	fail "a config without casb-a is refused" "$(tail -3 "$LAB/a.log")"
sleep 1.5
[ -d /proc/${INST_PID[a]} ] && [ "$(reloads a)" = $((ra + 1)) ] && [ -n "$ha" ] && [ "$(held a | tr '\n' ' ')" = "$ha" ] &&
	pass "a goes on as it was: running on the config it had, holding its streams ($ha)" ||
	fail "a goes on" "held $ha -> $(held a | tr '\n' ' '); $(tail -5 "$LAB/a.log")"

# ---- 3. c moves to another address ----
ip -n $P-c addr add 10.32.0.3/24 dev eth0
C2="{name: casb-c, address: 10.32.0.3}"
config "$LAB/ab.yaml" "$A" "$B" "$C2"
config "$LAB/abc.yaml" "$A" "$B" "$C2"
r0=$(sync_stat c msgs_received)
hup a b c
ip netns pids $P-host | xargs -r kill -HUP
wait_in "$LAB/c.log" "reload: instance casb-c of chain casb, 2 peer(s) (were 2)" 30 &&
	ns c ss -uln | grep -q "10.32.0.3:4788" && ! ns c ss -uln | grep -q "10.32.0.2:4788" &&
	pass "c, moved to 10.32.0.3, listens there for the sync (and no more at 10.32.0.2)" ||
	fail "c rebinds its sync socket" "$(tail -3 "$LAB/c.log"; ns c ss -uln)"
wait_in "$LAB/a.log" "reload: instance casb-a of chain casb, 2 peer(s) (were 2)" 30
for i in $(seq 30); do [ "$(sync_stat c msgs_received)" -gt "$r0" ] && break; sleep 0.1; done
[ "$(sync_stat c msgs_received)" -gt "$r0" ] && [ "$(sync_stat c refused)" = 0 ] &&
	pass "a and b sync c at its new address: $(( $(sync_stat c msgs_received) - r0 )) datagrams, none refused" ||
	fail "the sync follows c's address" "$(inst c show sync)"
kill -TERM "${INST_PID[a]}" "${INST_PID[b]}" "${INST_PID[c]}" 2>/dev/null
t_exit
