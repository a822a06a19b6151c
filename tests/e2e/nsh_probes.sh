#!/bin/bash
# e2e-nsh-probes: in a chain of two stages, every instance probes the
# instances of its neighbour stages and marks them in cs_next_instances,
# where its program picks the instance a stream goes on to.
#
#   cli --lan-- host --wan-- inet
#              / |  | \
#   10.30.0.2   10.31.0.2   10.32.0.2   10.33.0.2
#   one-a (a)   one-b (b)   two-c (c)   two-d (d)
#   stage one               stage two
#
# The chain is symmetric: a and b send on to c and d (next stage), c and d
# send back to a and b (previous stage). Every instance answers the health
# probes on TCP 9100. No gateway: the probes alone are under test (the
# data path through both stages is chain2.sh's).
# 1. c dies (no answers, no forwarding): a and b say the next stage's c is
#    down, and a's cs_next_instances holds it DOWN (0); d, its peer, too.
# 2. a reloads while c is still dead: c stays DOWN through the reload (a
#    neighbour that keeps its name and address keeps its verdict).
# 3. c comes back, nothing restarted: a and b say it is warming, state
#    WARMING (3), then, its warmup (1 s) passed, up, state UP (1).
# 4. a dies: d says the previous stage's a is down, and marks it so.
T_SUITE=e2e-nsh-probes
. "$(dirname "$0")/mesh.bash"
command -v jq >/dev/null || { skip all "jq missing"; exit 0; }
mesh_up probe.test,192.0.2.7 || { fail lab "the lab did not come up"; t_exit; }
mesh_instance c 32 && mesh_instance d 33 || { fail lab "instances c and d did not come up"; t_exit; }
for n in a b c d; do ns $n socat TCP-LISTEN:9100,fork,reuseaddr OPEN:/dev/null >/dev/null 2>&1 & done

# A fresh node numbers its instances in config order
ID_A=1 ID_C=3
cat > "$LAB/chain.yaml" <<YAML
chains:
  - name: probes
    mode: nsh
    symmetric: true
    health: {probe: tcp, port: 9100, interval: 100ms, timeout: 50ms, fall: 3, rise: 2, warmup: 1s}
    stages:
      - name: one
        instances: [{name: one-a, address: 10.30.0.2}, {name: one-b, address: 10.31.0.2}]
      - name: two
        instances: [{name: two-c, address: 10.32.0.2}, {name: two-d, address: 10.33.0.2}]
instance:
  interfaces: [eth0]
  policy: loose
YAML

# state NODE ID: the state of instance ID in NODE's cs_next_instances
state() {
	bpftool -j map dump pinned "$CLOUDSTEER_PIN_DIR-$1/cs_next_instances" |
		jq ".[].formatted | select(.key == $2) | .value.state"
}
# wait_state NODE ID STATE: until it holds STATE; 3 s at most
wait_state() {
	local i
	for i in $(seq 30); do
		[ "$(state "$1" "$2")" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}
# wait_since FILE LINES TEXT: until TEXT shows in FILE past its first LINES
# lines; 3 s at most
wait_since() {
	local i
	for i in $(seq 30); do
		tail -n +$(($2 + 1)) "$1" | grep -q -- "$3" && return 0
		sleep 0.1
	done
	return 1
}
lines() { wc -l < "$LAB/$1.log"; }

for n in a b c d; do
	inst_up $n "$LAB/chain.yaml" || { fail start "instance $n did not start: $(tail -3 "$LAB/$n.log")"; t_exit; }
done
if wait_in "$LAB/a.log" "next stage: instance two-c is up" && wait_in "$LAB/a.log" "next stage: instance two-d is up" &&
	wait_in "$LAB/b.log" "next stage: instance two-c is up" &&
	wait_in "$LAB/c.log" "previous stage: instance one-a is up" && [ "$(state a $ID_C)" = 1 ]; then
	pass "every instance probes its neighbour stages: up"
else
	fail "up" "a: $(grep stage: "$LAB/a.log" | tail -3); c's state on a: $(state a $ID_C)"
fi
if grep -q "previous stage" "$LAB/a.log" || grep -q "next stage" "$LAB/c.log"; then
	fail "sides" "a probes a previous stage or c a next one: $(grep " stage:" "$LAB/a.log" "$LAB/c.log")"
else
	pass "the first stage has no previous one, the last no next one"
fi

# 1. c dies
kill_inst c
if wait_in "$LAB/a.log" "next stage: instance two-c is down: tcp 10.32.0.2:9100" &&
	wait_in "$LAB/b.log" "next stage: instance two-c is down" && wait_state a $ID_C 0; then
	pass "c dies: a and b mark it down in cs_next_instances"
else
	fail "c down" "a: $(grep two-c "$LAB/a.log" | tail -2); state on a: $(state a $ID_C)"
fi
check "d hears its peer c die" wait_in "$LAB/d.log" "peer two-c is down"
entry=$(bpftool -j map dump pinned "$CLOUDSTEER_PIN_DIR-a/cs_next_instances" |
	jq -c ".[].formatted | select(.key == $ID_C) | .value | {vni, inner_mtu}")
if [ "$(jq '.vni > 0 and .inner_mtu > 0' <<< "$entry")" = true ]; then
	pass "the verdict keeps the rest of c's entry"
else
	fail "entry" "c's entry on a: $entry"
fi

# 2. a reloads while c is dead: c's verdict stays
mark=$(lines a)
kill -HUP "${INST_PID[a]}"
if wait_since "$LAB/a.log" "$mark" "reload: instance one-a" && [ "$(state a $ID_C)" = 0 ]; then
	pass "a reload keeps c down"
else
	fail "reload" "a: $(tail -n +$((mark + 1)) "$LAB/a.log" | head -3); state on a: $(state a $ID_C)"
fi
check "after the reload the probes still find c down" wait_since "$LAB/a.log" "$mark" "next stage: instance two-c is down"

# 3. c comes back, nothing restarted
mark_a=$(lines a) mark_b=$(lines b)
revive c
if wait_since "$LAB/a.log" "$mark_a" "next stage: instance two-c is up: warming" &&
	wait_since "$LAB/b.log" "$mark_b" "next stage: instance two-c is up: warming" && [ "$(state a $ID_C)" = 3 ]; then
	pass "c comes back: a and b mark it warming (the bucket's other instance keeps its streams)"
else
	fail "c warming" "a: $(tail -n +$((mark_a + 1)) "$LAB/a.log" | grep two-c); state on a: $(state a $ID_C)"
fi
if wait_since "$LAB/a.log" "$mark_a" "next stage: instance two-c is up: warmed up" &&
	wait_since "$LAB/b.log" "$mark_b" "next stage: instance two-c is up: warmed up" && wait_state a $ID_C 1 &&
	wait_state b $ID_C 1; then
	pass "c comes back: once its warmup has passed, a and b mark it up"
else
	fail "c up" "a: $(tail -n +$((mark_a + 1)) "$LAB/a.log" | grep two-c); state on a: $(state a $ID_C)"
fi

# 4. a dies: the stage after it marks it down, for the way back (d: c's
# daemon died with it in 1)
kill_inst a
if wait_in "$LAB/d.log" "previous stage: instance one-a is down" && wait_state d $ID_A 0; then
	pass "a dies: d marks the previous stage's a down"
else
	fail "a down" "d: $(grep one-a "$LAB/d.log" | tail -2); a's state on d: $(state d $ID_A)"
fi
t_exit
