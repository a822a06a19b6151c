#!/bin/bash
# e2e-cluster: two steering gateways share one cloud IP table through a real
# three-member etcd (tests/e2e/cluster.bash has the lab):
#   - the answer crosses gw1, the client's stream crosses gw2: gw2 steers it,
#     to the instance gw1 would pick (cloudsteer explain on both);
#   - one etcd member killed: records keep flowing; two killed: both keep
#     steering on what they have, no route goes, and a record learned
#     meanwhile on gw1 reaches gw2 once the members are back;
#   - gw2 cut off from etcd while a key goes and etcd compacts: its watch
#     cannot resume, it lists again, the record of the key that went is
#     removed, the one learned meanwhile installed;
#   - gw1 restarted: gw2 keeps every copy meanwhile, and what gw1's
#     dataplane learned while its daemon was down reaches gw2 after;
#   - show cluster on both lists both members; gw2 restarted with another
#     rule and affinity key: the disagreement lines name them, and gw1 skips
#     gw2's records of the pattern it lacks;
#   - the metrics say so.
T_SUITE=e2e-cluster
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/e2e/cluster.bash"
[ -x "$CS" ] || { fail build "no $CS: run make first"; t_exit; }

records=()
for i in 1 2 3 4 5; do records+=("s$i.cloud.test,198.18.1.$i"); done
if ! cluster_up "${records[@]}" "o1.other.test,198.18.2.1"; then
	fail lab "the lab did not come up"
	t_exit
fi
pass "lab: two gateways' namespaces, two instances, three etcd members at 10.40.0.1-3"
gw_config gw1 >/dev/null
gw_config gw2 >/dev/null
for g in gw1 gw2; do
	gw_up $g || { fail "$g-start" "$(tail -5 "$LAB/$g.log")"; t_exit; }
done
eventually 50 grep -q "cluster: joined lab as gw1" "$LAB/gw1.log" &&
	eventually 50 grep -q "cluster: joined lab as gw2" "$LAB/gw2.log" &&
	pass "both gateways join the cluster" ||
	fail "both gateways join the cluster" "$(grep cluster: "$LAB"/gw*.log)"

dig1() { ns cli dig +short +time=2 +tries=2 @10.20.0.2 "$1" A; }	# across gw1
dig2() { ns cli dig +short +time=2 +tries=2 @10.21.0.2 "$1" A; }	# across gw2
# echo LINE through TCP to IP:9000 from source port SPORT, across gw2
echo_via_gw2() { echo "$3" | ns cli socat -t 2 - TCP:"$1":9000,sourceport="$2",reuseaddr 2>/dev/null; }
routes_of() { cs "$1" show routes --json | python3 -c '
import json, sys
print(" ".join(sorted(json.loads(l)["ip"] for l in sys.stdin)))'; }
lacks_record() { ! has_record "$@"; }
# show cluster on NODE (its own config) matches the extended regexp RE
cluster_says() { cs "$1" show cluster -c "$LAB/$1.yaml" 2>&1 | grep -Eq -- "$2"; }
cluster_lacks() { ! cluster_says "$@"; }
etcd_has() { etcd_ctl get --keys-only "$1" 2>/dev/null | grep -q .; }
connected() { [ "$(metric "$1" cloudsteer_cluster_connected)" = 1 ]; }

# ---- (a) the answer across gw1, the stream across gw2 ----
t0=$(date +%s%N)
[ "$(dig1 s1.cloud.test)" = 198.18.1.1 ] || fail "dig across gw1" "no answer"
if eventually 100 has_record gw2 s1.cloud.test 198.18.1.1 cluster; then
	pass "gw1's record reaches gw2 in $(( ($(date +%s%N) - t0) / 1000000 )) ms, heard from the cluster"
else
	fail "gw1's record reaches gw2" "gw2: $(records_on gw2 | tr '\n' ';') gw1: $(records_on gw1 | tr '\n' ';')"
fi
has_record gw1 s1.cloud.test 198.18.1.1 here && pass "gw1's own record says it was learned here" ||
	fail "gw1's own record says it was learned here" "$(records_on gw1 | tr '\n' ';')"
has_route gw2 198.18.1.1 && pass "gw2 has the route, with an ACL id of its own pool" ||
	fail "gw2 has the route" "$(cs gw2 show routes)"
got=$(echo_via_gw2 198.18.1.1 40001 hello)
on2=$(stream_instance gw2 40001 198.18.1.1)
on1=$(stream_instance gw1 40001 198.18.1.1)
[ "$got" = hello ] && [ -n "$on2" ] && [ "$(inst_packets gw2 "$on2")" -gt 0 ] &&
	pass "the stream across gw2 is steered, to $on2 (its packets counted on gw2)" ||
	fail "the stream across gw2 is steered" "echo '$got', instance '$on2', packets $(inst_packets gw2 "$on2")"
[ -n "$on1" ] && [ "$on1" = "$on2" ] && pass "gw1 would send the same stream to the same instance ($on1)" ||
	fail "gw1 would send the same stream to the same instance" "gw1 '$on1', gw2 '$on2'"

m_pub=$(metric gw1 cloudsteer_cluster_records_published_total)
m_inst=$(metric gw2 cloudsteer_cluster_records_installed_total)
m_lag=$(metric gw2 cloudsteer_cluster_propagation_lag_seconds)
m_ttl=$(metric gw2 cloudsteer_cluster_lease_ttl_seconds)
[ "${m_pub:-0}" -ge 1 ] && [ "${m_inst:-0}" -ge 1 ] && [ "$m_ttl" = 3 ] && connected gw1 && connected gw2 &&
	python3 -c "import sys; assert 0 < float(sys.argv[1]) < 5" "$m_lag" &&
	pass "metrics: gw1 published $m_pub, gw2 installed $m_inst, lease TTL $m_ttl s, last lag $m_lag s" ||
	fail "metrics" "published '$m_pub' installed '$m_inst' ttl '$m_ttl' lag '$m_lag'"

# ---- (e) show cluster: both members, no difference ----
for g in gw1 gw2; do
	out=$(cs $g show cluster -c "$LAB/$g.yaml")
	grep -Eq '^gw1 +gateway ' <<< "$out" && grep -Eq '^gw2 +gateway ' <<< "$out" &&
		grep -q '^no differences' <<< "$out" &&
		pass "show cluster on $g lists both members and no difference" ||
		fail "show cluster on $g lists both members and no difference" "$out"
done
out=$(cs gw1 show cluster -c "$LAB/gw1.yaml" --json)
python3 - "$out" <<'PY' && pass "show cluster --json: members with their records and leases" ||
import json, sys
lines = [json.loads(l) for l in sys.argv[1].splitlines()]
head, members = lines[0], {l["member"]: l for l in lines if "member" in l}
assert head["cluster"] == "lab" and head["members"] == 2 and head["records"] >= 1, head
assert members["gw1"]["records"] >= 1 and members["gw1"]["same_config"], members["gw1"]
assert members["gw2"]["synced"] == ["ip"] and 0 <= members["gw2"]["lease_ttl_left"] <= 3, members["gw2"]
PY
	fail "show cluster --json" "$out"

# ---- (c) one member killed; then two ----
etcd_kill 0
t0=$(date +%s%N)
dig1 s2.cloud.test >/dev/null
eventually 100 has_record gw2 s2.cloud.test 198.18.1.2 cluster &&
	pass "one etcd member killed: records keep flowing ($(( ($(date +%s%N) - t0) / 1000000 )) ms)" ||
	fail "one etcd member killed: records keep flowing" "$(records_on gw2 | tr '\n' ';')"
etcd_restart 0 || fail "member 0 back" "it did not answer"
before=$(routes_of gw2)
on3=$(stream_instance gw2 40002 198.18.1.1)
packets_before=$(inst_packets gw2 "$on3")
from1=$(log_lines gw1)
from2=$(log_lines gw2)
etcd_kill 1
etcd_kill 2
eventually 100 log_since gw1 "$from1" "etcd cannot be reached" &&
	eventually 100 log_since gw2 "$from2" "etcd cannot be reached" &&
	[ "$(metric gw2 cloudsteer_cluster_connected)" = 0 ] &&
	pass "two members killed: both gateways say etcd cannot be reached (cloudsteer_cluster_connected 0)" ||
	fail "two members killed: both gateways say so" "$(tail -3 "$LAB/gw2.log")"
dig1 s3.cloud.test >/dev/null
got=$(echo_via_gw2 198.18.1.1 40002 again)
has_record gw1 s3.cloud.test 198.18.1.3 here && [ "$got" = again ] &&
	[ "$(inst_packets gw2 "$on3")" -gt "$packets_before" ] &&
	pass "without etcd, gw1 learns and gw2 steers a new stream on what it has (to $on3)" ||
	fail "without etcd, gw1 learns and gw2 steers on what it has" \
		"echo '$got', $on3 packets $packets_before -> $(inst_packets gw2 "$on3"); gw1: $(records_on gw1 | tr '\n' ';')"
sleep 2
[ "$(routes_of gw2)" = "$before" ] && pass "no route went on gw2 while etcd was away ($before)" ||
	fail "no route went on gw2 while etcd was away" "before: $before; now: $(routes_of gw2)"
etcd_restart 1 && etcd_restart 2 || fail "members 1 and 2 back" "they did not answer"
t0=$(date +%s%N)
eventually 300 has_record gw2 s3.cloud.test 198.18.1.3 cluster &&
	pass "the members back, gw1's record learned meanwhile reaches gw2 ($(( ($(date +%s%N) - t0) / 1000000 )) ms)" ||
	fail "the record learned meanwhile reaches gw2" "$(records_on gw2 | tr '\n' ';'); $(tail -5 "$LAB/gw1.log")"
eventually 100 connected gw1 && eventually 100 connected gw2 && pass "both gateways connected again" ||
	fail "both gateways connected again" "$(tail -3 "$LAB/gw2.log")"

# ---- (d) a watch past a compaction lists again ----
fake=/cloudsteer/v1/lab/ip/198.18.7.7/fake.cloud.test
etcd_ctl put "$fake" "{\"pattern\":\"cloud.test\",\"ttl\":300,\"expires\":$(($(date +%s) + 300)),\"learned\":$(date +%s%3N),\"by\":\"gw9\"}" >/dev/null
eventually 100 has_record gw2 fake.cloud.test 198.18.7.7 cluster &&
	pass "a record written by hand (by gw9) is installed on gw2" ||
	fail "a record written by hand is installed on gw2" "$(records_on gw2 | tr '\n' ';')"
from2=$(log_lines gw2)
ip -n $P-gw2 link set mgmt down
eventually 100 log_since gw2 "$from2" "etcd cannot be reached" || fail "gw2 cut off" "it does not say so"
etcd_ctl del "$fake" >/dev/null
dig1 s4.cloud.test >/dev/null
eventually 100 etcd_has /cloudsteer/v1/lab/ip/198.18.1.4/s4.cloud.test || fail "gw1 publishes s4" "not in etcd"
rev=$(etcd_ctl get / -w json | python3 -c 'import json, sys; print(json.load(sys.stdin)["header"]["revision"])')
etcd_ctl compact "$rev" >/dev/null && pass "etcd compacted to revision $rev while gw2 was away" ||
	fail "etcd compacted" "etcdctl compact $rev failed"
ip -n $P-gw2 link set mgmt up
eventually 300 log_since gw2 "$from2" "listed .* keys at revision .* (again)" &&
	log_since gw2 "$from2" "compacted" &&
	pass "gw2's watch cannot resume past the compaction: it lists again" ||
	fail "gw2 lists again" "$(tail -n +"$from2" "$LAB/gw2.log" | tail -8)"
eventually 100 has_record gw2 s4.cloud.test 198.18.1.4 cluster &&
	pass "the record learned while gw2 was cut off is installed by the list" ||
	fail "the record learned meanwhile is installed" "$(records_on gw2 | tr '\n' ';')"
eventually 50 lacks_record gw2 fake.cloud.test 198.18.7.7 &&
	pass "the record whose key went meanwhile is removed from gw2" ||
	fail "the record whose key went meanwhile is removed" "$(records_on gw2 | tr '\n' ';')"
[ "$(metric gw2 cloudsteer_cluster_relists_total)" -ge 1 ] && [ "$(metric gw2 cloudsteer_cluster_records_removed_total)" -ge 1 ] &&
	pass "gw2's metrics count the list and the removal" ||
	fail "gw2's metrics count the list and the removal" "relists $(metric gw2 cloudsteer_cluster_relists_total), removed $(metric gw2 cloudsteer_cluster_records_removed_total)"

# ---- (b) gw1 restarted ----
n2=$(records_on gw2 | wc -l)
gw_stop gw1
eventually 50 cluster_lacks gw2 '^gw1 ' &&
	pass "gw1 stopped: it leaves at once (its lease revoked)" ||
	fail "gw1 stopped: it leaves at once" "$(cs gw2 show cluster -c "$LAB/gw2.yaml")"
dig1 s5.cloud.test >/dev/null
has_record gw1 s5.cloud.test 198.18.1.5 here && pass "gw1's dataplane learns while its daemon is down" ||
	fail "gw1's dataplane learns while its daemon is down" "$(records_on gw1 | tr '\n' ';')"
sleep 3
[ "$(records_on gw2 | wc -l)" = "$n2" ] && ! has_record gw2 s5.cloud.test 198.18.1.5 &&
	pass "gw2 keeps its $n2 copies meanwhile" || fail "gw2 keeps its copies" "$(records_on gw2 | tr '\n' ';')"
gw_up gw1 || fail "gw1 restarts" "$(tail -5 "$LAB/gw1.log")"
eventually 100 has_record gw2 s5.cloud.test 198.18.1.5 cluster &&
	pass "restarted, gw1 publishes what it learned while down; gw2 has it" ||
	fail "restarted, gw1 publishes what it learned while down" "$(records_on gw2 | tr '\n' ';')"
[ "$(records_on gw2 | wc -l)" = $((n2 + 1)) ] && pass "nothing lost on gw2 across gw1's restart" ||
	fail "nothing lost on gw2" "$(records_on gw2 | tr '\n' ';')"

# ---- (e) a config that disagrees ----
gw_stop gw2
GW_AFFINITY_KEY=ffeeddccbbaa99887766554433221100 gw_config gw2 "  - match: [other.test]" "    chain: casb" >/dev/null
gw_up gw2 || fail "gw2 restarts with another config" "$(tail -5 "$LAB/gw2.log")"
eventually 100 cluster_says gw1 'differs: gw2: its config differs from this node.s \(gw1\) in rules, mesh.affinity_key' &&
	pass "show cluster on gw1 names what differs in gw2's config: rules, mesh.affinity_key" ||
	fail "show cluster on gw1 names what differs in gw2's config" "$(cs gw1 show cluster -c "$LAB/gw1.yaml")"
[ "$(dig2 o1.other.test)" = 198.18.2.1 ] && eventually 50 has_record gw2 o1.other.test 198.18.2.1 here ||
	fail "gw2 learns o1.other.test" "$(records_on gw2 | tr '\n' ';')"
eventually 100 cluster_says gw1 'differs: gw2 publishes 1 record of pattern "other.test", which this node.s rules lack' &&
	pass "show cluster on gw1 names the pattern gw2 publishes that gw1 lacks" ||
	fail "show cluster on gw1 names the pattern" "$(cs gw1 show cluster -c "$LAB/gw1.yaml")"
! has_record gw1 o1.other.test 198.18.2.1 && [ "$(metric gw1 cloudsteer_cluster_records_skipped_total)" -ge 1 ] &&
	grep -q 'publishes records of pattern "other.test", which this node.s rules lack' "$LAB/gw1.log" &&
	pass "gw1 skips gw2's record of that pattern, counts it and says so once" ||
	fail "gw1 skips gw2's record of that pattern" "skipped $(metric gw1 cloudsteer_cluster_records_skipped_total)"
out=$(cs gw2 show cluster -c "$LAB/gw2.yaml")
grep -Eq 'differs: gw1: its config differs from this node.s \(gw2\) in rules, mesh.affinity_key' <<< "$out" &&
	pass "show cluster on gw2 says the same of gw1" || fail "show cluster on gw2 says the same of gw1" "$out"
out=$(cs gw1 show cluster -c "$LAB/gw1.yaml" --json)
python3 - "$out" <<'PY' && pass "show cluster --json: the differences" || fail "show cluster --json: the differences" "$out"
import json, sys
lines = [json.loads(l) for l in sys.argv[1].splitlines()]
gw2 = [l for l in lines if l.get("member") == "gw2"][0]
assert not gw2["same_config"] and gw2["differs"] == ["rules", "mesh.affinity_key"], gw2
assert {"difference": "pattern", "node": "gw2", "pattern": "other.test", "records": 1} in lines, lines
PY

t_exit
