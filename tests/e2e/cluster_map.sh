#!/bin/bash
# e2e-cluster-map: one agreed service map for two gateways, through a real
# three-member etcd (tests/e2e/cluster.bash has the lab; the instances'
# health targets are TCP listeners in namespaces a and b):
#   - at start one gateway leads the chain and writes its map; both build
#     their tables from it: one map revision, one table digest;
#   - a drain on gw1 reaches gw2; --undo too;
#   - an instance dies: both gateways move its streams to the same
#     secondary (cloudsteer explain on both) and steer by the same map
#     revision; show cluster says it down;
#   - the chain's leader is SIGKILLed: the other takes over when its lease
#     ends, and the next failover still reaches both;
#   - one etcd member killed: nothing changes; two killed: both keep
#     steering on their last map, nothing flaps, and they catch up when the
#     members return;
#   - instance daemons register and take their roles and sync epoch from
#     the map; one SIGKILLed is agreed down when its lease ends;
#   - gw2 cut off past its lease while the map changes and etcd compacts:
#     it keeps its last map, then lists again and takes the current one.
T_SUITE=e2e-cluster-map
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/e2e/cluster.bash"
[ -x "$CS" ] || { fail build "no $CS: run make first"; t_exit; }

if ! cluster_up "s1.cloud.test,198.18.1.1"; then
	fail lab "the lab did not come up"
	t_exit
fi
instance_serve a
instance_serve b
export GW_HEALTH="{probe: tcp, port: 3128, interval: 100ms, timeout: 100ms, fall: 2, rise: 2}"
gw_config gw1 >/dev/null
gw_config gw2 >/dev/null
for g in gw1 gw2; do
	gw_up $g || { fail "$g-start" "$(tail -5 "$LAB/$g.log")"; t_exit; }
done
pass "lab: two gateways probing casb-a and casb-b, three etcd members"

mapkey=/cloudsteer/v1/lab/map/casb
map_rev() { metric "$1" 'cloudsteer_cluster_map_revision{chain="casb"}'; }
table_rev() { metric "$1" 'cloudsteer_cluster_table_revision{chain="casb"}'; }
leads() { [ "$(metric "$1" 'cloudsteer_cluster_leader{chain="casb"}')" = 1 ]; }
# the agreed map's revision in etcd; its state of instance NAME
etcd_map_rev() { etcd_ctl get "$mapkey" -w json | python3 -c '
import json, sys
print(json.load(sys.stdin)["kvs"][0]["mod_revision"])' 2>/dev/null; }
agreed_state() { etcd_ctl get --print-value-only "$mapkey" | python3 -c '
import json, sys
print({i["name"]: i["state"] for i in json.load(sys.stdin)["instances"]}[sys.argv[1]])' "$1" 2>/dev/null; }
leader_node() { etcd_ctl get --print-value-only /cloudsteer/v1/lab/leader/casb | python3 -c '
import json, sys
print(json.load(sys.stdin)["node"])' 2>/dev/null; }
# every gateway's table is built from etcd's map, the same revision
all_on_map() {
	local r g
	r=$(etcd_map_rev) || return 1
	[ -n "$r" ] || return 1
	for g in "$@"; do
		[ "$(map_rev $g)" = "$r" ] && [ "$(table_rev $g)" = "$r" ] || return 1
	done
}
state_is() { [ "$(agreed_state "$1")" = "$2" ]; }
inst_state_on() { [ "$(inst_field "$1" "$2" state)" = "$3" ]; }
cluster_says() { cs "$1" show cluster -c "$LAB/$1.yaml" 2>&1 | grep -Eq -- "$2"; }
echo_via_gw2() { echo "$3" | ns cli socat -t 2 - TCP:"$1":9000,sourceport="$2",reuseaddr 2>/dev/null; }
dig1() { ns cli dig +short +time=2 +tries=2 @10.20.0.2 "$1" A; }

# ---- one leader, one map, one table ----
eventually 100 all_on_map gw1 gw2 && pass "both gateways steer by the agreed map (revision $(etcd_map_rev))" ||
	fail "both gateways steer by the agreed map" "etcd $(etcd_map_rev); gw1 $(map_rev gw1)/$(table_rev gw1); gw2 $(map_rev gw2)/$(table_rev gw2)"
leader=$(leader_node)
other=gw1
[ "$leader" = gw1 ] && other=gw2
{ [ "$leader" = gw1 ] || [ "$leader" = gw2 ]; } && leads "$leader" && ! leads "$other" &&
	pass "one leader for chain casb: $leader (cloudsteer_cluster_leader 1 there, 0 on $other)" ||
	fail "one leader for chain casb" "leader '$leader'"
out=$(cs gw1 show cluster -c "$LAB/gw1.yaml")
grep -Eq "^casb +$leader +[0-9]+ +[0-9]+ +casb-a up, casb-b up" <<< "$out" &&
	grep -Eq '^gw1 +casb +[0-9]+ +[0-9a-f]{16}' <<< "$out" && grep -q '^no differences' <<< "$out" &&
	[ "$(grep -E '^gw[12] +casb ' <<< "$out" | awk '{print $3, $4}' | sort -u | wc -l)" = 1 ] &&
	pass "show cluster: the chain's leader, map and states, one table digest on both, no differences" ||
	fail "show cluster: the chain, its map and the tables" "$out"
digest_of() { ns "$1" curl -s -m 2 http://127.0.0.1:9477/metrics | sed -n 's/^cloudsteer_cluster_table_info{chain="casb",digest="\([0-9a-f]*\)"} 1$/\1/p'; }
d1=$(digest_of gw1)
[ -n "$d1" ] && [ "$d1" = "$(digest_of gw2)" ] && pass "metrics: both gateways' cloudsteer_cluster_table_info name one digest ($d1)" ||
	fail "metrics: one table digest" "gw1 '$d1' gw2 '$(digest_of gw2)'"
out=$(cs gw2 show cluster -c "$LAB/gw2.yaml" --json)
python3 - "$out" "$leader" <<'PY' && pass "show cluster --json: the chain and each member's table" ||
import json, sys
lines = [json.loads(l) for l in sys.argv[1].splitlines()]
chain = [l for l in lines if l.get("chain") == "casb" and "map_revision" in l][0]
assert chain["leader"] == sys.argv[2] and chain["map_revision"] > 0, chain
assert [i["state"] for i in chain["instances"]] == ["up", "up"], chain
tables = [l["tables"][0] for l in lines if "member" in l]
assert len(tables) == 2 and tables[0] == tables[1] and tables[0]["map"] == chain["map_revision"], tables
assert not [l for l in lines if "difference" in l], lines
PY
	fail "show cluster --json" "$out"

# ---- a drain on gw1 reaches gw2 ----
out=$(cs gw1 drain casb-b -c "$LAB/gw1.yaml" 2>&1)
grep -q "every node drains it" <<< "$out" && eventually 100 state_is casb-b drained &&
	eventually 50 inst_state_on gw2 casb-b draining && eventually 50 all_on_map gw1 gw2 &&
	pass "drain casb-b on gw1: the agreed map drains it, gw2 drains it too" ||
	fail "a drain on gw1 reaches gw2" "$out; agreed $(agreed_state casb-b); gw2 $(inst_field gw2 casb-b state)"
out=$(cs gw1 drain casb-b --undo -c "$LAB/gw1.yaml" 2>&1)
eventually 100 state_is casb-b up && eventually 50 inst_state_on gw2 casb-b up &&
	pass "drain --undo on gw1: casb-b is up again on gw2" ||
	fail "drain --undo on gw1 reaches gw2" "$out; agreed $(agreed_state casb-b); gw2 $(inst_field gw2 casb-b state)"

# ---- an instance dies: both gateways, the same secondary, the same revision ----
[ "$(dig1 s1.cloud.test)" = 198.18.1.1 ] && eventually 100 has_route gw2 198.18.1.1 || fail "s1 learned" "no route"
# a stream whose primary is casb-a on both gateways
sport=
for p in $(seq 41000 41063); do
	[ "$(stream_instance gw1 $p 198.18.1.1)" = casb-a ] && [ "$(stream_instance gw2 $p 198.18.1.1)" = casb-a ] &&
		{ sport=$p; break; }
done
[ -n "$sport" ] || fail "a stream for casb-a" "none among 64 source ports"
t0=$(date +%s%N)
instance_die a
both_secondary() { [ "$(stream_instance gw1 $sport 198.18.1.1)" = casb-b ] && [ "$(stream_instance gw2 $sport 198.18.1.1)" = casb-b ]; }
eventually 100 state_is casb-a down && eventually 100 all_on_map gw1 gw2 && both_secondary &&
	pass "casb-a dies: agreed down in $(( ($(date +%s%N) - t0) / 1000000 )) ms; both gateways send its stream to casb-b, by map revision $(etcd_map_rev)" ||
	fail "casb-a dies: both gateways move its stream to casb-b" "agreed $(agreed_state casb-a); gw1 $(stream_instance gw1 $sport 198.18.1.1) gw2 $(stream_instance gw2 $sport 198.18.1.1); etcd $(etcd_map_rev) gw1 $(table_rev gw1) gw2 $(table_rev gw2)"
[ "$(echo_via_gw2 198.18.1.1 "$sport" hello)" = hello ] && pass "the stream across gw2 still flows (to casb-b)" ||
	fail "the stream across gw2 flows" "no echo"
cluster_says gw2 '^casb .*casb-a down \(2 of 2 say down\)' && pass "show cluster: casb-a down, 2 of 2 say so" ||
	fail "show cluster says casb-a down" "$(cs gw2 show cluster -c "$LAB/gw2.yaml")"
instance_serve a
eventually 100 state_is casb-a up && eventually 100 all_on_map gw1 gw2 &&
	[ "$(stream_instance gw1 $sport 198.18.1.1)" = casb-a ] &&
	pass "casb-a back: agreed up, primary again on both" ||
	fail "casb-a back" "agreed $(agreed_state casb-a); gw1 $(stream_instance gw1 $sport 198.18.1.1)"

# ---- the leader SIGKILLed: the other takes over; the next failover works ----
leader=$(leader_node)
other=gw1
[ "$leader" = gw1 ] && other=gw2
t0=$(date +%s%N)
gw_stop "$leader" KILL
eventually 100 leads "$other" && [ "$(leader_node)" = "$other" ] &&
	pass "the leader $leader SIGKILLed: $other leads casb $(( ($(date +%s%N) - t0) / 1000000 )) ms later" ||
	fail "another node takes over" "leader '$(leader_node)'; $(grep 'leads it' "$LAB/$other.log")"
instance_die b
eventually 100 state_is casb-b down && eventually 100 all_on_map "$other" &&
	[ "$(stream_instance $other 41999 198.18.1.1)" = casb-a ] &&
	pass "the next failover works: casb-b dies, $other's map (its own, as leader) says down" ||
	fail "the next failover under the new leader" "agreed $(agreed_state casb-b)"
instance_serve b
gw_up "$leader" || fail "$leader restarts" "$(tail -5 "$LAB/$leader.log")"
eventually 100 state_is casb-b up && eventually 100 all_on_map gw1 gw2 &&
	pass "$leader back: it steers by the same map revision as $other ($(etcd_map_rev))" ||
	fail "$leader back on the same map" "etcd $(etcd_map_rev); gw1 $(table_rev gw1) gw2 $(table_rev gw2)"

# ---- one etcd member killed: nothing changes ----
rev=$(etcd_map_rev)
etcd_kill 0
sleep 2
[ "$(etcd_map_rev)" = "$rev" ] && all_on_map gw1 gw2 && state_is casb-a up && state_is casb-b up &&
	pass "one etcd member killed: the map stays at revision $rev on both" ||
	fail "one etcd member killed: nothing changes" "etcd $(etcd_map_rev) (was $rev)"
etcd_restart 0 || fail "member 0 back" "it did not answer"

# ---- two killed: both keep their last map, no flap; they catch up ----
rev=$(etcd_map_rev)
g1=$(table_rev gw1) g2=$(table_rev gw2)
from1=$(log_lines gw1)
etcd_kill 1
etcd_kill 2
eventually 100 log_since gw1 "$from1" "etcd cannot be reached" || fail "gw1 says etcd is away" "$(tail -3 "$LAB/gw1.log")"
on=$(stream_instance gw2 41500 198.18.1.1)
got=$(echo_via_gw2 198.18.1.1 41500 again)
sleep 3
[ "$(table_rev gw1)" = "$g1" ] && [ "$(table_rev gw2)" = "$g2" ] && [ "$got" = again ] &&
	[ "$(stream_instance gw2 41500 198.18.1.1)" = "$on" ] &&
	pass "quorum lost: both keep steering on map revision $rev, a new stream steered (to $on), no flap" ||
	fail "quorum lost: both keep their last map" "gw1 $(table_rev gw1) (was $g1), gw2 $(table_rev gw2) (was $g2), echo '$got'"
# a stream the last map gives casb-b as primary, not pinned yet
for p in $(seq 42000 42063); do
	[ "$(stream_instance gw1 $p 198.18.1.1)" = casb-b ] && { sport=$p; break; }
done
instance_die b	# meanwhile: each gateway fails it over by its own probe, etcd hears nothing
eventually 50 inst_state_on gw2 casb-b down && [ "$(stream_instance gw2 $sport 198.18.1.1)" = casb-a ] &&
	pass "cut off from etcd, gw2's own probe still fails casb-b over at once" ||
	fail "local failover without etcd" "gw2 casb-b $(inst_field gw2 casb-b state)"
etcd_restart 1 && etcd_restart 2 || fail "members 1 and 2 back" "they did not answer"
t0=$(date +%s%N)
eventually 200 state_is casb-b down && eventually 100 all_on_map gw1 gw2 &&
	pass "the members back: casb-b agreed down, both on map revision $(etcd_map_rev) ($(( ($(date +%s%N) - t0) / 1000000 )) ms)" ||
	fail "catching up after quorum is back" "agreed $(agreed_state casb-b); etcd $(etcd_map_rev) gw1 $(table_rev gw1) gw2 $(table_rev gw2)"
# ---- instances take their roles from the agreed map ----
instance_serve b
eventually 100 state_is casb-b up || fail "casb-b up again" "agreed $(agreed_state casb-b)"
inst_config a casb-a
inst_config b casb-b
inst_up a casb-a && inst_up b casb-b || fail "the instance daemons start" "$(tail -3 "$LAB/casb-a.log")"
inst_map_version() { metric "$1" cloudsteer_sync_map_version; }
insts_on_map() { local r; r=$(etcd_map_rev); [ "$(inst_map_version a)" = "$r" ] && [ "$(inst_map_version b)" = "$r" ]; }
registered() { cs gw1 show cluster -c "$LAB/gw1.yaml" --json | python3 -c '
import json, sys
c = [json.loads(l) for l in sys.stdin if "map_revision" in l][0]
assert all(i["registered"] and i["observers"] == 3 for i in c["instances"])' 2>/dev/null; }
eventually 100 registered && eventually 100 all_on_map gw1 gw2 && eventually 50 insts_on_map &&
	eventually 50 cluster_says gw1 '^no differences' &&
	pass "both instances register and observe each other (3 observers each); their tables and sync epoch are the agreed map's (revision $(etcd_map_rev)), the gateways' too" ||
	fail "instances on the agreed map" "etcd $(etcd_map_rev), a $(inst_map_version a), b $(inst_map_version b); $(cs gw1 show cluster -c "$LAB/gw1.yaml")"
for p in $(seq 43000 43063); do
	[ "$(stream_instance gw1 $p 198.18.1.1)" = casb-a ] && { sport=$p; break; }
done
t0=$(date +%s%N)
gw_stop casb-a KILL	# its probe target still answers: only its lease says it is gone
eventually 100 state_is casb-a down
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
b_on_map() { [ "$(inst_map_version b)" = "$(etcd_map_rev)" ]; }
eventually 100 all_on_map gw1 gw2 && eventually 50 b_on_map &&
	[ "$(agreed_state casb-a)" = down ] && [ "$(stream_instance gw1 $sport 198.18.1.1)" = casb-b ] &&
	[ "$(stream_instance gw2 $sport 198.18.1.1)" = casb-b ] && [ "$(inst_map_version b)" = "$(etcd_map_rev)" ] &&
	pass "casb-a's daemon SIGKILLed: its lease ends, it is agreed down ($ms ms; lease_ttl 3 s), both gateways and casb-b on map revision $(etcd_map_rev)" ||
	fail "an instance whose lease ends is agreed down" "agreed $(agreed_state casb-a); gw1 $(stream_instance gw1 $sport 198.18.1.1); b $(inst_map_version b), etcd $(etcd_map_rev)"

# ---- a gateway cut off past a compaction lists again and takes the current map ----
from2=$(log_lines gw2)
ip -n $P-gw2 link set mgmt down
eventually 100 log_since gw2 "$from2" "etcd cannot be reached" || fail "gw2 cut off" "it does not say so"
sleep 4	# past its lease: if it led, gw1 leads now
eventually 100 leads gw1 || fail "gw1 leads while gw2 is cut off" "leader '$(leader_node)'"
cs gw1 drain casb-b -c "$LAB/gw1.yaml" >/dev/null 2>&1
eventually 100 state_is casb-b drained || fail "casb-b drained while gw2 is cut off" "$(agreed_state casb-b)"
rev=$(etcd_ctl get / -w json | python3 -c 'import json, sys; print(json.load(sys.stdin)["header"]["revision"])')
etcd_ctl compact "$rev" >/dev/null || fail "etcd compacted" "etcdctl compact $rev failed"
[ "$(table_rev gw2)" != "$(etcd_map_rev)" ] && inst_state_on gw2 casb-b up &&
	pass "gw2 cut off: it keeps its last map (revision $(table_rev gw2)) while etcd's is $(etcd_map_rev), compacted to $rev" ||
	fail "gw2 cut off keeps its last map" "gw2 $(table_rev gw2), etcd $(etcd_map_rev), casb-b $(inst_field gw2 casb-b state)"
ip -n $P-gw2 link set mgmt up
eventually 300 log_since gw2 "$from2" "map: listed .* keys at revision .* (again)" &&
	eventually 100 all_on_map gw1 gw2 && inst_state_on gw2 casb-b draining && ! leads gw2 &&
	pass "back, gw2 lists again past the compaction: the current map (revision $(etcd_map_rev)), casb-b draining; gw1 still leads" ||
	fail "gw2 catches up past a compaction" "gw2 $(table_rev gw2), etcd $(etcd_map_rev), casb-b $(inst_field gw2 casb-b state); $(tail -n +"$from2" "$LAB/gw2.log" | grep cluster | tail -5)"
cs gw2 drain casb-b --undo -c "$LAB/gw2.yaml" >/dev/null 2>&1
eventually 100 state_is casb-b up && eventually 50 inst_state_on gw1 casb-b up &&
	pass "drain --undo from gw2 reaches gw1" || fail "drain --undo from gw2" "$(agreed_state casb-b)"

m=$(metric gw1 cloudsteer_cluster_map_values_skipped_total)
[ "${m:-1}" = 0 ] && pass "no value was skipped on gw1" || fail "no value skipped" "$m"

# ---- a drain from a host with no state of its own (instance a's namespace) ----
drain_from_a() { CLOUDSTEER_PIN_DIR=$PINS-none nsenter --net=/run/netns/$P-a "$CS" drain casb-b -c "$LAB/casb-a.yaml" "$@" 2>&1; }
out=$(drain_from_a)
grep -q "no state here: only the cluster is told" <<< "$out" && eventually 100 state_is casb-b drained &&
	eventually 50 inst_state_on gw1 casb-b draining && eventually 50 inst_state_on gw2 casb-b draining &&
	pass "drain from a host without a daemon: only the cluster is told, both gateways drain casb-b" ||
	fail "drain from a host without a daemon" "$out; agreed $(agreed_state casb-b)"
out=$(drain_from_a --undo)
eventually 100 state_is casb-b up && eventually 50 inst_state_on gw1 casb-b up && eventually 50 inst_state_on gw2 casb-b up &&
	pass "... and its --undo" || fail "drain --undo from a host without a daemon" "$out; agreed $(agreed_state casb-b)"

# ---- what no node wrote: skipped, counted, said; the leader writes the map again ----
rev=$(etcd_map_rev)
etcd_ctl put "$mapkey" 'not a map' >/dev/null
etcd_ctl put /cloudsteer/v1/lab/obs/casb/casb-b/gw9 '{"state":"maybe"}' >/dev/null
map_again() { r=$(etcd_map_rev); [ -n "$r" ] && [ "$r" -gt "$rev" ] && agreed_state casb-b >/dev/null && all_on_map gw1 gw2; }
skipped_on() { [ "$(metric "$1" cloudsteer_cluster_map_values_skipped_total)" -ge "$2" ]; }
eventually 100 map_again && eventually 50 skipped_on gw1 2 && eventually 50 skipped_on gw2 2 &&
	grep -q "is not a service map's inputs: skipped" "$LAB/gw2.log" && grep -q "is not an observation: skipped" "$LAB/gw2.log" &&
	state_is casb-b up && kill -0 "${GW_PID[gw1]}" && kill -0 "${GW_PID[gw2]}" &&
	pass "a map and an observation no node wrote: skipped, counted and said on both; the leader writes a map again (revision $(etcd_map_rev))" ||
	fail "malformed values" "etcd $(etcd_map_rev) (was $rev); skipped gw1 $(metric gw1 cloudsteer_cluster_map_values_skipped_total) gw2 $(metric gw2 cloudsteer_cluster_map_values_skipped_total)"
etcd_ctl del /cloudsteer/v1/lab/obs/casb/casb-b/gw9 >/dev/null
rev=$(etcd_map_rev)
etcd_ctl del "$mapkey" >/dev/null
eventually 100 map_again && pass "the map deleted by hand: the leader writes it again, both steer by it" ||
	fail "the map deleted by hand is written again" "etcd '$(etcd_map_rev)'"

t_exit
