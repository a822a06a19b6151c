#!/bin/bash
# e2e-flows: steer on TC ingress keeps a flow per stream, and a flow keeps
# its route: a TCP stream to a learned IP outlives the IP's records, the
# route goes only once the stream is over (closed, and quiet for its
# state's lifetime: steer.flow_timeouts, short here), and its ACL id
# returns then. tests/e2e/idle.sh shows a quiet connection keeping it.
# detach removes our filter and the clsact hook cloudsteer made.
T_SUITE=e2e-flows
. "$(dirname "$0")/lab.bash"
lab_need
command -v socat >/dev/null || { skip all "socat missing"; exit 0; }
lab_up app.flow.test,192.0.2.7 || { fail lab "the lab did not come up"; t_exit; }
# the learned IP lives on the server; the client reaches it through the veth
ip -n "$NS_S" addr add 192.0.2.7/32 dev lo
ip -n "$NS_C" route add 192.0.2.0/24 via 10.77.0.53
ip netns exec "$NS_S" socat TCP-LISTEN:9000,bind=192.0.2.7,reuseaddr,fork SYSTEM:cat >"$LAB/socat-server.log" 2>&1 &
SOCAT_PID=$!
trap 'kill $SOCAT_PID 2>/dev/null; lab_cleanup' EXIT

cfg=$(conf flows.yaml <<'YAML'
learn:
  interfaces: [@IFACE@]
steer:
  interfaces: [@IFACE@]
  flow_idle: 2s
  flow_timeouts: {fin: 3s, linger: 1s}
rules:
  - match: [flow.test]
    ttl: {min: 2, max: 2, grace: 1}
YAML
)
daemon_start "$cfg" || { fail start "$(cat "$LAB/daemon.log")"; t_exit; }
grep -q "steer: attached to $VETH_C ingress" "$LAB/daemon.log" && pass "steer attaches on TC ingress" ||
	fail "steer attaches on TC ingress" "$(cat "$LAB/daemon.log")"
in_client tc qdisc show dev "$VETH_C" | grep -q clsact && pass "it made the clsact hook that was missing" ||
	fail "it made the clsact hook that was missing" "$(in_client tc qdisc show dev "$VETH_C")"

[ "$(dig_a app.flow.test)" = 192.0.2.7 ] || fail dig "no answer"
# a stream of 40 lines over 8 s, twice the record's life (TTL 2 + grace 1)
( for i in $(seq 40); do echo "line $i"; sleep 0.2; done ) |
	in_client socat -t 2 - TCP:192.0.2.7:9000 > "$LAB/echo.out" 2>"$LAB/socat.err" &
STREAM=$!
wait_log "expired app.flow.test 192.0.2.7" 60 && pass "the record expires while the stream runs" ||
	fail "the record expires while the stream runs" "$(cat "$LAB/daemon.log")"
wait_log "route 192.0.2.7 kept: its records expired, a flow still uses it" 30 &&
	pass "the route stays: a flow uses it" || fail "the route stays: a flow uses it" "$(cat "$LAB/daemon.log")"
routes=$("$CS" show routes --json)
echo "$routes" | python3 -c '
import json, sys
r = [json.loads(l) for l in sys.stdin if l.strip()]
r = [x for x in r if x["ip"] == "192.0.2.7"]
sys.exit(0 if r and r[0]["flows"] >= 1 and r[0]["packets"] >= 1 and r[0]["bytes"] > 0 else 1)' &&
	pass "show routes counts its flows, packets and bytes" ||
	fail "show routes counts its flows, packets and bytes" "$routes"
wait "$STREAM"
[ "$(wc -l < "$LAB/echo.out")" = 40 ] && pass "the stream completes: 40 of 40 lines echoed" ||
	fail "the stream completes" "$(wc -l < "$LAB/echo.out") lines; $(cat "$LAB/socat.err")"
packets=$(bpftool -j map dump pinned "$CLOUDSTEER_PIN_DIR/cs_flows" | python3 -c '
import json, sys
print(sum(e["formatted"]["value"]["packets"] for e in json.load(sys.stdin)))')
[ "${packets:-0}" -ge 40 ] && pass "steer counted the stream ($packets packets in flows)" ||
	fail "steer counted the stream" "$packets"
wait_log "route 192.0.2.7 removed: no record or flow needs it (acl 1)" 80 &&
	pass "once the stream is over the route goes, and its ACL id" ||
	fail "once the stream is over the route goes, and its ACL id" "$(cat "$LAB/daemon.log")"
# the fast path's first look (cs_route_bits): the route's bit went with its
# last flow, in the sweep pass that removed them
bits() { bpftool -j map dump pinned "$CLOUDSTEER_PIN_DIR/cs_route_bits" |
	jq '[.[] | (.formatted.value // .value) | select(. != 0 and . != [] and . != "0")] | length'; }
n=$(bits)
[ "$n" = 0 ] && pass "no route bit is left set once the flows are gone" || fail "route bits left" "$n words set"

daemon_stop TERM
daemon_start "$cfg"
grep -q "steer: $VETH_C: kept the attached program" "$LAB/daemon.log" &&
	pass "a restart keeps the attached steer (same code)" ||
	fail "a restart keeps the attached steer (same code)" "$(cat "$LAB/daemon.log")"
daemon_stop TERM
in_client "$CS" detach -c "$cfg" > "$LAB/detach.log" 2>&1
! in_client tc qdisc show dev "$VETH_C" | grep -q clsact && pass "detach removes the hook it made" ||
	fail "detach removes the hook it made" "$(cat "$LAB/detach.log"; in_client tc qdisc show dev "$VETH_C")"
t_exit
