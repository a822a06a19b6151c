#!/bin/bash
# e2e-metrics: the Prometheus endpoints of `cloudsteer run` (on the host) and
# `cloudsteer instance` (on instances a and b, and c, the one instance of a
# chain in nsh mode), scraped with curl while real DNS answers and TCP
# traffic cross the lab of mesh.bash, and a chain header that c refuses.
# Every scrape is parsed by prometheus_client (python3-prometheus-client),
# an independent reader of the text format; the values are checked against
# what happened and against the CLI's view of the same maps.
T_SUITE=e2e-metrics
. "$(dirname "$0")/mesh.bash"
PY=/usr/bin/python3	# Debian's, where python3-prometheus-client lives
for t in curl jq; do command -v $t >/dev/null || { skip all "$t missing"; exit 0; }; done
$PY -c 'import prometheus_client' 2>/dev/null || { skip all "python3-prometheus-client missing"; exit 0; }
mesh_up app.cloud.test,192.0.2.7 && mesh_instance c 32 || { fail lab "the lab did not come up"; t_exit; }

cat > "$LAB/cs.yaml" <<'YAML'
metrics: 127.0.0.1:9477
learn:
  interfaces: [wan]
  ttl: {min: 3, max: 3, grace: 0}
steer:
  interfaces: [lan, wan]
  xdp: on
  flow_idle: 2s
  flow_timeouts: {fin: 2s, linger: 1s}
rules:
  - match: [cloud.test]
    chain: casb
  - match: [other.test]
mesh:
  affinity_key: 00112233445566778899aabbccddeeff
chains:
  - name: casb
    symmetric: true
    instances:
      - {name: casb-a, address: 10.30.0.2}
      - {name: casb-b, address: 10.31.0.2}
    health: {probe: icmp, interval: 100ms, timeout: 50ms, fall: 3, rise: 2, warmup: 0}
  - name: inspect
    mode: nsh
    instances:
      - {name: inspect-c, address: 10.32.0.2}
    health: {probe: icmp, interval: 100ms, timeout: 50ms, fall: 3, rise: 2, warmup: 0}
instance:
  interfaces: [eth0]
  policy: loose
YAML
for n in a b c; do
	CLOUDSTEER_PIN_DIR=$CLOUDSTEER_PIN_DIR-$n nsenter --net=/run/netns/$P-$n "$CS" instance -c "$LAB/cs.yaml" \
		>"$LAB/$n.log" 2>&1 &
	wait_in "$LAB/$n.log" "running:" 50 || { fail "instance $n runs" "$(cat "$LAB/$n.log")"; t_exit; }
done
daemon_up "$LAB/cs.yaml" || { fail "the daemon runs" "$(cat "$LAB/daemon.log")"; t_exit; }
wait_log "metrics on http://127.0.0.1:9477/metrics" 10 && pass "the daemon says where its metrics are" ||
	fail "the daemon logs its endpoint" "$(cat "$LAB/daemon.log")"
wait_log "instance casb-b is up" 30

# scrape NS [PATH]: the body, or nothing (curl's error on stderr)
scrape() { ns $1 curl -sS --max-time 5 "http://127.0.0.1:9477${2:-/metrics}"; }
# value NS NAME [LABELS-JSON]: one sample's value, read by prometheus_client
value() {
	scrape $1 | $PY -c '
import json, sys
from prometheus_client.parser import text_string_to_metric_families
want, labels = sys.argv[1], json.loads(sys.argv[2])
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        if s.name == want and all(s.labels.get(k) == v for k, v in labels.items()):
            print(int(s.value) if s.value == int(s.value) else s.value)
            sys.exit(0)
print("absent")' "$2" "${3:-{\}}"
}
# at_least NS NAME LABELS MIN: polls up to 5 s for the value to reach MIN
at_least() {
	local i v
	for i in $(seq 25); do
		v=$(value $1 $2 "$3")
		[ "$v" != absent ] && awk -v v="$v" -v m="$4" 'BEGIN { exit !(v >= m) }' && { echo "$v"; return 0; }
		sleep 0.2
	done
	echo "$v"
	return 1
}
expect() {	# expect WHAT NS NAME LABELS MIN
	local v
	v=$(at_least $2 $3 "$4" $5) && pass "$1 ($3 $4 = $v)" || fail "$1" "$3 $4 = $v, wanted >= $5"
}

# ---- the format, read by an independent parser ----
hdr=$(ns host curl -sS -D - -o "$LAB/first.prom" --max-time 5 http://127.0.0.1:9477/metrics)
echo "$hdr" | grep -qi '^content-type: text/plain; version=0.0.4' && pass "scrape: 200 with the text format's content type" ||
	fail "scrape content type" "$hdr"
families=$($PY -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
print(len(list(text_string_to_metric_families(open(sys.argv[1]).read()))))' "$LAB/first.prom" 2>&1)
[ "$families" -ge 25 ] 2>/dev/null && pass "prometheus_client parses the host's scrape: $families families" ||
	fail "the host's scrape parses" "$families"
[ "$(value host cloudsteer_build_info '{"role":"run"}')" = 1 ] && pass "build_info names the role" ||
	fail "build_info" "$(grep build_info "$LAB/first.prom")"
# every family has its HELP and TYPE before its samples, and no name twice
awk '/^# TYPE/ { if (seen[$3]++) { print "twice: " $3; bad = 1 } }
     /^[a-z]/ { n = $1; sub(/[{ ].*/, "", n); b = n; sub(/_(sum|count|bucket)$/, "", b)
		if (!(n in seen) && !(b in seen)) { print "no TYPE before " n; bad = 1 } }
     END { exit bad }' "$LAB/first.prom" && pass "every sample follows its family's TYPE, once" ||
	fail "families are whole" "$(awk '/^# TYPE/ { if (seen[$3]++) print $3 }' "$LAB/first.prom")"

# ---- DNS: parse reasons, records, routes ----
[ "$(ns cli dig +short +time=2 @10.20.0.2 app.cloud.test A)" = 192.0.2.7 ] || fail "dig" "no answer"
ns cli dig +short +time=2 @10.20.0.2 unmatched.invalid A >/dev/null
expect "the learned answer is counted by reason" host cloudsteer_dns_packets_total '{"reason":"learned"}' 1
expect "an NXDOMAIN answer is counted as rcode" host cloudsteer_dns_packets_total '{"reason":"rcode"}' 1
expect "records learned" host cloudsteer_dns_records_total '{"reason":"rec_learned"}' 1
[ "$(value host cloudsteer_records_learned_total)" = absent ] && pass "no records_learned_total: dns_records_total{reason=\"rec_learned\"} says it" ||
	fail "records_learned_total is gone" "$(scrape host | grep records_learned)"
[ "$(value host cloudsteer_dns_packets_total '{"reason":"not_dns"}')" = absent ] &&
	[ "$(value host cloudsteer_learn_frames_not_dns_total '{"reason":"not_dns"}')" != absent ] &&
	pass "frames that are not DNS are counted apart from dns_packets_total" ||
	fail "not_dns apart" "$(scrape host | grep -E 'not_dns|not_ip')"
expect "queries seen leaving, a family of their own" host cloudsteer_dns_queries_total '{}' 1
expect "the record is in the table gauge after a sweep" host cloudsteer_records '{}' 1
expect "the route gauge" host cloudsteer_routes '{}' 1
expect "per rule: answers won" host cloudsteer_rule_answers_total '{"rule":"1"}' 1
[ "$(value host cloudsteer_rule_info '{"rule":"1","match":"cloud.test","chain":"casb"}')" = 1 ] &&
	[ "$(value host cloudsteer_rule_info '{"rule":"2","match":"other.test","chain":""}')" = 1 ] &&
	! scrape host | grep -v '^cloudsteer_rule_info' | grep -q 'match=' &&
	pass "the patterns are in cloudsteer_rule_info only: the counters are labelled by rule id" ||
	fail "rule_info" "$(scrape host | grep 'match=')"
[ "$(value host cloudsteer_rule_answers_total '{"rule":"2"}')" = 0 ] &&
	pass "a rule with no answers is there, at 0" || fail "rule 2 present at 0" "$(value host cloudsteer_rule_answers_total '{"rule":"2"}')"

# ---- traffic: per rule and per instance, and the instances' own view ----
# an idle connection held open through the checks: a stream that lives (the
# echoed one is closed, and gone within its closed lifetime, 10 s)
ns cli socat -u EXEC:'sleep 61' TCP:192.0.2.7:9000,connect-timeout=3 >/dev/null 2>&1 &
payload=$(head -c 30000 /dev/zero | tr '\0' x)
got=$(echo "$payload" | ns cli socat -t 2 - TCP:192.0.2.7:9000,connect-timeout=3 | wc -c)
[ "$got" -ge 30000 ] && pass "the client's stream crossed the chain ($got bytes echoed)" || fail "echo" "$got bytes"
expect "per rule: packets steer counted" host cloudsteer_rule_packets_total '{"rule":"1"}' 10
expect "per rule: bytes" host cloudsteer_rule_bytes_total '{"rule":"1"}' 60000
expect "steer counted the stream's flow as new" host cloudsteer_flow_events_total '{"event":"flows_new"}' 1
expect "and its answer proved it" host cloudsteer_flow_events_total '{"event":"flows_promoted"}' 1
[ "$(value host cloudsteer_flow_events_total '{"event":"flow_table_full"}')" = 0 ] &&
	pass "no proven flow found cs_flows full" || fail "flow_table_full is 0" "$(scrape host | grep flow_events)"
rule_pkts=$(value host cloudsteer_rule_packets_total '{"rule":"1"}')
cli_pkts=$(nsenter --net=/run/netns/$P-host "$CS" show rules --json | jq -s 'map(select(.rule_id == 1))[0].packets')
[ "$rule_pkts" = "$cli_pkts" ] && pass "the rule's packets agree with show rules ($cli_pkts)" ||
	fail "metrics and show rules agree" "metrics $rule_pkts, show rules $cli_pkts"
pa=$(value host cloudsteer_instance_packets_total '{"service_instance":"casb-a","chain":"casb"}')
pb=$(value host cloudsteer_instance_packets_total '{"service_instance":"casb-b","chain":"casb"}')
[ $((pa + pb)) -ge 10 ] && [ "$pa" = "$(inst_packets 1)" ] && [ "$pb" = "$(inst_packets 2)" ] &&
	pass "per instance: packets (a $pa, b $pb), as bpftool reads cs_inst_stats" ||
	fail "per instance packets" "metrics a $pa b $pb; bpftool a $(inst_packets 1) b $(inst_packets 2)"
holder=a; [ "$pb" -gt "$pa" ] && holder=b
other=b; [ $holder = b ] && other=a
[ "$(value host cloudsteer_instance_up '{"service_instance":"casb-a","stage":"casb"}')" = 1 ] &&
	[ "$(value host cloudsteer_instance_state '{"service_instance":"casb-a","state":"up"}')" = 1 ] &&
	[ "$(value host cloudsteer_instance_state '{"service_instance":"casb-a","state":"down"}')" = 0 ] &&
	pass "instance health: up, one state set" || fail "instance health" "$(scrape host | grep 'instance_state{service_instance="casb-a"')"
! scrape host | grep -Eq '[{,](instance|job)="' && pass "no label that Prometheus sets on targets (instance, job)" ||
	fail "no instance or job label" "$(scrape host | grep -E '[{,](instance|job)="' | head -3)"

# ---- the probes, map fill and the process ----
expect "the icmp probes of casb-a are counted" host cloudsteer_probe_total '{"service_instance":"casb-a","chain":"casb","result":"ok"}' 3
expect "and their latency" host cloudsteer_probe_duration_seconds_count '{"service_instance":"casb-a"}' 3
# one scrape: the probes go on between two
scrape host | grep 'service_instance="inspect-c"' > "$LAB/probe.prom"
inf=$(sed -n 's/^cloudsteer_probe_duration_seconds_bucket{.*le="+Inf"} //p' "$LAB/probe.prom")
count=$(sed -n 's/^cloudsteer_probe_duration_seconds_count{.*} //p' "$LAB/probe.prom")
ok=$(sed -n 's/^cloudsteer_probe_total{.*result="ok"} //p' "$LAB/probe.prom")
[ -n "$inf" ] && [ "$inf" -gt 0 ] && [ "$inf" = "$count" ] && [ "$inf" = "$ok" ] &&
	pass "the +Inf bucket holds every good probe ($inf), as many as probe_total{result=\"ok\"}" ||
	fail "+Inf bucket = count = ok probes" "$(cat "$LAB/probe.prom")"
cap=$(value host cloudsteer_map_capacity '{"map":"cs_records"}')
cli_cap=$(nsenter --net=/run/netns/$P-host bpftool -j map show pinned "$CLOUDSTEER_PIN_DIR/cs_records" | jq .max_entries)
[ "$cap" = "$cli_cap" ] && pass "cs_records' capacity is its max_entries ($cap)" || fail "map capacity" "metrics $cap, bpftool $cli_cap"
expect "cs_records' entries" host cloudsteer_map_entries '{"map":"cs_records"}' 1
[ "$(value a cloudsteer_map_capacity '{"map":"cs_streams"}')" -gt 0 ] 2>/dev/null &&
	pass "an instance's map fill: cs_streams" || fail "instance map fill" "$(scrape a | grep '^cloudsteer_map')"
start=$(value host process_start_time_seconds)
awk -v s="$start" -v now="$(date +%s)" 'BEGIN { exit !(s > now - 600 && s <= now + 1) }' &&
	pass "process_start_time_seconds is the daemon's start ($start)" || fail "process start time" "$start"
[ "$(value a process_open_fds)" -gt 3 ] 2>/dev/null && [ "$(value host process_resident_memory_bytes)" -gt 0 ] 2>/dev/null &&
	pass "process_open_fds, process_resident_memory_bytes" || fail "process metrics" "$(scrape host | grep ^process_)"

expect "the holder ($holder) tracked the stream's packets" $holder cloudsteer_stream_packets_total '{"reason":"tracked"}' 10
expect "the holder synced it" $holder cloudsteer_sync_streams_sent_total '{}' 1
expect "and the sync lag histogram counts its datagrams" $holder cloudsteer_sync_lag_seconds_count '{}' 1
expect "the other ($other) installed it" $other cloudsteer_sync_installed_total '{}' 1
streams_held() {	# the instances' streams gauges, summed, once at least 1 (5 s)
	local i n
	for i in $(seq 25); do
		n=$(($(value a cloudsteer_streams '{}' | sed 's/absent/0/') + $(value b cloudsteer_streams '{}' | sed 's/absent/0/')))
		[ $n -ge 1 ] && break
		sleep 0.2
	done
	echo $n
}
n=$(streams_held)
[ "$n" -ge 1 ] && pass "the instances' streams gauges count the open stream ($n)" ||
	fail "the streams gauges" "a $(value a cloudsteer_streams '{}'), b $(value b cloudsteer_streams '{}')"
pkill -f '^sleep 61$'	# its end closes the idle connection: gone with the other stream
[ "$(value a cloudsteer_build_info '{"role":"instance"}')" = 1 ] && pass "an instance's build_info names its role" ||
	fail "instance build_info" "$(scrape a | head -5)"

# ---- nsh: a chain header refused, counted by reason ----
# VXLAN-GPE (I and P, next protocol NSH) and an NSH base header and service
# path with TTL 0, to c (a chain in nsh mode): refused for its TTL before
# the rest is read (docs/chains.md), and dropped
refused_sync() { inst c show sync --json | jq "$1"; }
printf '\x0c\x00\x00\x04\x00\x00\x00\x00\x00\x06\x01\x01\x00\x00\x00\xff' |
	ns host socat -u - UDP-SENDTO:10.32.0.2:4790
for i in $(seq 20); do [ "$(refused_sync .nsh_refused.nsh_ttl)" = 1 ] && break; sleep 0.1; done
[ "$(refused_sync .nsh_refused.nsh_ttl)" = 1 ] && [ "$(refused_sync '[.nsh_refused[]] | add')" = 1 ] &&
	[ "$(refused_sync .dataplane.nsh_refused)" = 1 ] &&
	pass "show sync --json: the header counted under nsh_refused.nsh_ttl, and once under dataplane.nsh_refused" ||
	fail "show sync counts the refused header by reason" "$(inst c show sync --json)"
inst c show sync | grep -Eq '^nsh_refused +nsh_ttl +1 ' && ! inst c show sync | grep -q nsh_ok &&
	pass "show sync: a row nsh_refused nsh_ttl 1; none for nsh_ok" ||
	fail "show sync's nsh_refused rows" "$(inst c show sync)"
[ "$(value c cloudsteer_nsh_refused_total '{"reason":"nsh_ttl"}')" = 1 ] &&
	[ "$(value c cloudsteer_nsh_refused_total '{"reason":"nsh_stage"}')" = 0 ] &&
	pass "metrics: cloudsteer_nsh_refused_total{reason=\"nsh_ttl\"} 1, other reasons at 0" ||
	fail "the refused header in the metrics" "$(scrape c | grep nsh_refused)"
series=$(scrape c | grep -c '^cloudsteer_nsh_refused_total{')
[ "$series" -gt 0 ] && [ "$series" = "$(refused_sync '.nsh_refused | length')" ] &&
	[ "$(value c cloudsteer_nsh_refused_total '{"reason":"nsh_ok"}')" = absent ] &&
	pass "a series for every reason show sync lists ($series), none for nsh_ok" ||
	fail "the same reasons in both" "metrics $series, show sync $(refused_sync '.nsh_refused | length')"
[ "$(value host cloudsteer_nsh_refused_total)" = absent ] && pass "no nsh refusals on the steering host" ||
	fail "the steering host has no cs_nsh_reasons" "$(scrape host | grep nsh_refused)"

# ---- every family exported is in docs/metrics.md, and every one documented
# is exported here (those of a cluster: by tests/e2e/cluster*.sh) ----
documented=$("$REPO/scripts/prometheus/metric-names.sh" "$REPO/docs/metrics.md")
exported=$(for n in host a b c; do scrape $n; done | awk '/^# TYPE/ { print $3 }' | sort -u)
undocumented=$(comm -13 <(echo "$documented") <(echo "$exported"))
[ -n "$documented" ] && [ -z "$undocumented" ] && pass "every exported family is in docs/metrics.md ($(echo "$exported" | wc -l))" ||
	fail "undocumented families" "$undocumented"
missing=$(comm -23 <(echo "$documented") <(echo "$exported") | grep -v '^cloudsteer_cluster_' | grep -v '^cloudsteer_learn_other_total$')
[ -z "$missing" ] && pass "every documented family but the cluster's is exported" || fail "documented, not exported" "$missing"

# ---- expiry: the TTL (3 s) passes; the lag is measured ----
expect "the record expired and is counted" host cloudsteer_records_expired_total '{}' 1
lag=$(value host cloudsteer_expiry_lag_max_seconds)
awk -v l="$lag" 'BEGIN { exit !(l >= 0 && l < 2.5) }' &&
	pass "expiry lag: $lag s (a sweep each second)" || fail "expiry lag under 2.5 s" "$lag"
[ "$(value host cloudsteer_expiry_lag_seconds_count)" = "$(value host cloudsteer_records_expired_total)" ] &&
	pass "the lag summary counts every expired record" || fail "lag count" "$(scrape host | grep expir)"
expect "the closed stream's flow went after its linger (1 s)" host cloudsteer_flows_expired_total '{}' 1
expect "the route went once no flow used it" host cloudsteer_routes_removed_total '{}' 1
[ "$(value host cloudsteer_flows '{"table":"flows"}')" = 0 ] && [ "$(value host cloudsteer_flows '{"table":"flows_new"}')" = 0 ] &&
	pass "no flow is left in either table" || fail "the flow tables are empty" "$(scrape host | grep '^cloudsteer_flows')"

# ---- HTTP: what else a scraper or a stranger may send ----
code() { ns host curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@"; }
[ "$(code http://127.0.0.1:9477/nope)" = 404 ] && [ "$(code -X POST http://127.0.0.1:9477/metrics)" = 405 ] &&
	[ "$(code -I http://127.0.0.1:9477/metrics)" = 200 ] && [ "$(code http://127.0.0.1:9477/)" = 200 ] &&
	pass "404 elsewhere, 405 for POST, HEAD and / answered" ||
	fail "HTTP answers" "$(code http://127.0.0.1:9477/nope) $(code -X POST http://127.0.0.1:9477/metrics)"
# a client that connects and says nothing is dropped after 2 s; meanwhile
# the daemon goes on learning, and the next scrape is answered
ns host socat -u OPEN:/dev/null,ignoreeof TCP:127.0.0.1:9477 >/dev/null 2>&1 &
sleep 0.3
t0=$(date +%s%N)
v=$(value host cloudsteer_build_info)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$v" = 1 ] && [ "$ms" -lt 4500 ] && pass "a silent client holds a scrape up $ms ms at most, not forever" ||
	fail "a silent client" "value $v after $ms ms"
! grep -qi 'error\|warn' "$LAB/daemon.log" && pass "the daemon logged no error or warning" ||
	fail "a clean log" "$(grep -i 'error\|warn' "$LAB/daemon.log")"

# ---- a taken port is a clear start failure ----
# (eth0 runs the lab's xdp_pass: the program there must stay the one it was)
xdp_id() { ip -n $P-cli -d link show eth0 | grep -o 'prog/xdp id [0-9]*'; }
xdp_before=$(xdp_id)
ns cli socat TCP-LISTEN:9477,bind=127.0.0.1,reuseaddr,fork OPEN:/dev/null >/dev/null 2>&1 &
sleep 0.3
sed 's/\[wan\]/[eth0]/; s/\[lan, wan\]/[eth0]/' "$LAB/cs.yaml" > "$LAB/cli.yaml"
out=$(CLOUDSTEER_PIN_DIR=$CLOUDSTEER_PIN_DIR-cli timeout 10 nsenter --net=/run/netns/$P-cli "$CS" run \
	-c "$LAB/cli.yaml" 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q 'metrics: cannot listen on 127.0.0.1:9477: Address already in use' &&
	[ ! -e "$CLOUDSTEER_PIN_DIR-cli" ] && [ "$(xdp_id)" = "$xdp_before" ] &&
	pass "a taken port: exit 1, \"cannot listen on 127.0.0.1:9477: Address already in use\", nothing loaded" ||
	fail "a taken port is refused before the dataplane is touched" "rc $rc: $out"
t_exit
