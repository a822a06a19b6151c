#!/bin/bash
# e2e-status: `cloudsteer status` against a real daemon in the mesh lab (learn
# and query on wan, steer on lan, chain casb with two instances): the pid
# from the lock, every program with its hook, mode, id and tag, the tables'
# fill, the instances' states, in text and JSON (jq), and the exit status:
# 0 while the daemon runs, 1 once it is stopped (the dataplane stays on its
# pins and status still shows it), 1 once detached, with nothing attached.
# Also -j, the short --json, on every command that prints data.
T_SUITE=e2e-status
. "$(dirname "$0")/mesh.bash"
command -v jq >/dev/null || { skip all "jq missing"; exit 0; }
mesh_up app.cloud.test,192.0.2.7 || { fail lab "the lab did not come up"; t_exit; }

# nsenter, not ip netns exec: that mounts a /sys of its own, without bpffs
host() { nsenter --net=/run/netns/$P-host "$CS" "$@"; }

# ---- before any daemon: it says what is missing, and exits 1 ----
out=$(host status -c /nonexistent.yaml); rc=$?
[ $rc = 1 ] && [[ $out == *"(missing: no daemon has run here)"* ]] && [[ $out == *"run:       not running"* ]] &&
	[[ $out == *"nothing of ours on any interface"* ]] && [[ $out == *"/nonexistent.yaml"* ]] &&
	pass "no daemon, no pins: says so, exit 1" || fail "no daemon, no pins: says so, exit 1" "rc $rc: $out"

casb_config cloud.test
daemon_up "$LAB/cs.yaml" && pass "the daemon runs" || { fail "the daemon runs" "$(cat "$LAB/daemon.log")"; t_exit; }
pid=$!
[ "$(ns cli dig +short +time=2 @10.20.0.2 app.cloud.test)" = 192.0.2.7 ] || fail "the client resolves" "no answer"

# ---- text ----
out=$(host status -c "$LAB/cs.yaml"); rc=$?
[ $rc = 0 ] && pass "exit 0 while the daemon runs and programs are attached" || fail "exit 0 while running" "rc $rc: $out"
[[ $out == *"run:       running (pid $pid)"* ]] && pass "the daemon's pid, from its lock" || fail "the daemon's pid" "$out"
[[ $out == *"version:   cloudsteer "* ]] && pass "the binary's version" || fail "the binary's version" "$out"
echo "$out" | grep -Eq '^wan +xdp +(native|generic) +learn +[0-9]+ +[0-9a-f]{16} ' &&
	echo "$out" | grep -Eq '^wan +tc egress +- +query +[0-9]+ ' &&
	echo "$out" | grep -Eq '^lan +tc ingress +- +steer +[0-9]+ ' &&
	pass "learn (XDP, with its mode), query and steer, each on its interface and hook" ||
	fail "the attached programs" "$out"
echo "$out" | grep -Eq '^records +1 +[0-9]+ +[0-9.]+%$' && echo "$out" | grep -Eq '^routes +1 ' &&
	pass "how full the tables are" || fail "how full the tables are" "$out"
echo "$out" | grep -Eq '^  casb-a +chain casb +(up|warming)' && echo "$out" | grep -Eq '^  casb-b +chain casb ' &&
	pass "the instances and their states" || fail "the instances and their states" "$out"
[[ $out == *"cluster:   none configured"* ]] && pass "no cluster: said so" || fail "no cluster: said so" "$out"

# ---- JSON, with -j and --json alike ----
js=$(host status -c "$LAB/cs.yaml" -j)
[ "$(echo "$js" | jq .run.pid)" = "$pid" ] && [ "$(echo "$js" | jq .ok)" = true ] &&
	[ "$(echo "$js" | jq '.tables.records.entries')" = 1 ] &&
	[ "$(echo "$js" | jq '.tables.records.max_entries > 0')" = true ] &&
	[ "$(echo "$js" | jq -r '.attached[] | select(.program == "learn") | .interface + " " + .hook')" = "wan xdp" ] &&
	[ "$(echo "$js" | jq -r '.attached[] | select(.program == "steer") | .interface + " " + .hook')" = "lan tc ingress" ] &&
	[ "$(echo "$js" | jq -r '.attached[] | select(.program == "query") | .hook')" = "tc egress" ] &&
	[ "$(echo "$js" | jq -r '.attached[] | select(.program == "steer_xdp") | .interface + " " + .hook + " " + .mode')" = "lan xdp native" ] &&
	[ "$(echo "$js" | jq '[.attached[] | select(.id > 0 and (.tag | length) == 16 and .loaded > 0)] | length')" = 4 ] &&
	[ "$(echo "$js" | jq -r '[.instances[].name] | sort | join(",")')" = "casb-a,casb-b" ] &&
	[ "$(echo "$js" | jq '.missing | length')" = 0 ] &&
	pass "--json: pid, tables, programs with id, tag and load time, instances" || fail "--json" "$js"
[ "$(host status -c "$LAB/cs.yaml" --json | jq -c 'del(.attached[].loaded)')" = "$(echo "$js" | jq -c 'del(.attached[].loaded)')" ] &&
	pass "-j and --json print the same" || fail "-j and --json print the same" "$js"

# -j on every command that prints data: one JSON document a line
for cmd in "show table" "show routes" "show rules" "show stats" "show chains" "show instances" "show map" \
	   "explain 192.0.2.7"; do
	short=$(host $cmd -j 2>&1) && long=$(host $cmd --json 2>&1) && [ "$short" = "$long" ] &&
		{ [ -z "$short" ] || echo "$short" | jq -e . >/dev/null; } &&
		pass "$cmd -j is $cmd --json" || fail "$cmd -j is $cmd --json" "$short"
done

# ---- the daemon stops: the dataplane stays on its pins ----
kill -TERM "$pid"
for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
out=$(host status -c "$LAB/cs.yaml"); rc=$?
[ $rc = 1 ] && [[ $out == *"run:       not running"* ]] && echo "$out" | grep -Eq '^lan +tc ingress +- +steer ' &&
	pass "daemon down: exit 1, not running, the programs still shown" || fail "daemon down" "rc $rc: $out"
js=$(host status -j -c "$LAB/cs.yaml"); rc=$?
[ $rc = 1 ] && [ "$(echo "$js" | jq .run.running)" = false ] && [ "$(echo "$js" | jq .ok)" = false ] &&
	pass "daemon down, --json: running false, ok false" || fail "daemon down, --json" "rc $rc: $js"

# ---- detached: nothing attached, and the config's interfaces lack them ----
host detach -c "$LAB/cs.yaml" >/dev/null 2>&1
out=$(host status -c "$LAB/cs.yaml"); rc=$?
[ $rc = 1 ] && [[ $out == *"nothing of ours on any interface"* ]] && [[ $out == *"missing:   learn: nothing on wan's xdp"* ]] &&
	[[ $out == *"missing:   steer: nothing on lan's tc ingress"* ]] &&
	pass "detached: nothing attached, the config's interfaces named, exit 1" || fail "detached" "rc $rc: $out"
t_exit
