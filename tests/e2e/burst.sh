#!/bin/bash
# e2e-burst: 20,000 new names in a burst (dnsperf through dnsmasq, every name
# once). Every record must keep its name across the sweep passes that run
# during and after the burst. A pass once started the name walk over after
# each delete, took seconds, let the event ring overflow, and removed the names
# of records learned during it for good (found by the DNS path bench).
T_SUITE=e2e-burst
. "$(dirname "$0")/lab.bash"
lab_need
command -v dnsperf >/dev/null || { skip all "dnsperf missing"; exit 0; }
N=20000
hosts=() queries=$LAB/queries
for i in $(seq 0 $((N - 1))); do
	hosts+=("n$i.burst.test,198.18.$((i / 250)).$((i % 250 + 1))")
	echo "n$i.burst.test A"
done > "$queries"
lab_up "${hosts[@]}" || { fail lab "the lab did not come up"; t_exit; }
cfg=$(conf burst.yaml <<'YAML'
learn:
  interfaces: [@IFACE@]
  match_queries: false
rules:
  - match: [burst.test]
    ttl: {min: 120}
YAML
)
daemon_start "$cfg" || { fail start "$(cat "$LAB/daemon.log")"; t_exit; }
in_client dnsperf -s 10.77.0.53 -d "$queries" -n 1 -c 4 -q 200 -t 2 >"$LAB/dnsperf.log" 2>&1
completed=$(awk '/Queries completed:/ { print $3 }' "$LAB/dnsperf.log")
[ "${completed:-0}" -ge $((N * 99 / 100)) ] && pass "dnsperf asked $N names ($completed answered)" ||
	fail "dnsperf asked $N names" "$(tail -20 "$LAB/dnsperf.log")"
sleep 3	# two sweep passes at least, one of them over the burst's records
read -r recs nameless < <(records | awk '{ n++; if ($1 == "?") q++ } END { print n + 0, q + 0 }')
[ "$recs" -ge $((completed > 0 ? completed : 1)) ] && pass "every answer made a record ($recs)" ||
	fail "every answer made a record" "$recs records for $completed answers"
[ "$nameless" = 0 ] && pass "every record keeps its name" ||
	fail "every record keeps its name" "$nameless of $recs records have no name in cs_names"
grep -E "Queries per second|Run time" "$LAB/dnsperf.log"
"$CS" show stats | grep -E "event|learned" 
grep -c "sweep" "$LAB/daemon.log"
daemon_stop
t_exit
