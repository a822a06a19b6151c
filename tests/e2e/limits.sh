#!/bin/bash
# e2e-limits: the daemon at its limits, with a real dnsmasq and dig.
# ACL ids: with a pool of two, a third route waits for an id and gets one of
# the ids that expiry frees. Table full: a record table of 16 refuses what
# does not fit (counted), then the sweep evicts the least recently used.
# Cut answers: with learn.max_records below an answer's records, every cut
# answer is counted (rec_capped) and the daemon warns once, not per answer.
T_SUITE=e2e-limits
. "$(dirname "$0")/lab.bash"
lab_need
# stat_count REASON: the count `show stats` gives the learn reason
stat_count() {
	"$CS" show stats --json | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r.get("reason") == sys.argv[1]:
        print(r["count"])' "$1"
}
hosts=()
for i in $(seq 1 20); do hosts+=("h$i.bulk.test,198.51.100.$i"); done
for i in $(seq 101 104); do hosts+=("wide.bulk.test,198.51.100.$i"); done
lab_up a1.cloudapp.test,192.0.2.1 a2.cloudapp.test,192.0.2.2 a3.cloudapp.test,192.0.2.3 "${hosts[@]}" ||
	{ fail lab "the lab did not come up"; t_exit; }

acl=$(conf acl.yaml <<'YAML'
learn:
  interfaces: [@IFACE@]
  acl_ids: 2
rules:
  - match: [cloudapp.test]
    ttl: {min: 2, max: 2, grace: 1}
  - match: ["=a3.cloudapp.test"]
    ttl: {min: 60}
YAML
)
daemon_start "$acl" || { fail start "$(cat "$LAB/daemon.log")"; t_exit; }
grep -q "2 ACL ids in the pool" "$LAB/daemon.log" && pass "learn.acl_ids sizes the pool" ||
	fail "learn.acl_ids sizes the pool" "$(cat "$LAB/daemon.log")"
for n in a1 a2 a3; do dig_a $n.cloudapp.test >/dev/null; done
wait_log "learned a3.cloudapp.test 192.0.2.3 .*acl waiting" 30 ||
	grep -q "learned a3.cloudapp.test 192.0.2.3 .*acl waiting" "$LAB/daemon.log" &&
	pass "with the pool empty the route is made and waits for an id" ||
	fail "with the pool empty the route is made and waits for an id" "$(cat "$LAB/daemon.log")"
wait_log "route 192.0.2.1 removed: no record or flow needs it (acl 1)" 80 &&
	pass "expiry gives ACL ids back" || fail "expiry gives ACL ids back" "$(cat "$LAB/daemon.log")"
got=
for i in $(seq 40); do
	got=$("$CS" show table --json | python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    if r["ip"] == "192.0.2.3" and r["acl_id"]:
        print(r["acl_id"])')
	[ -n "$got" ] && break
	sleep 0.1
done
[ "$got" = 1 ] || [ "$got" = 2 ] && pass "the waiting route gets a recycled id ($got)" ||
	fail "the waiting route gets a recycled id" "acl '$got'; $(cat "$LAB/daemon.log")"
daemon_stop TERM
in_client "$CS" detach -c "$acl" >/dev/null 2>&1

full=$(conf full.yaml <<'YAML'
learn:
  interfaces: [@IFACE@]
  limits: {records: 16, routes: 64}   # routes: steer must adopt learn's route map at its size
rules:
  - match: [bulk.test]
YAML
)
daemon_start "$full" || { fail start "$(cat "$LAB/daemon.log")"; t_exit; }
for i in $(seq 1 20); do dig_a h$i.bulk.test >/dev/null; done
n=$("$CS" show table --json | wc -l)
[ "$n" = 16 ] && pass "a table of 16 holds 16 records" || fail "a table of 16 holds 16 records" "$n"
full_count=$(stat_count table_full)
[ "${full_count:-0}" -ge 4 ] && pass "what does not fit is counted (table_full $full_count)" ||
	fail "what does not fit is counted" "table_full '${full_count}'; $("$CS" show stats)"
wait_log "the record table is 100% full (16 of 16)" 40 && pass "the pressure is logged" ||
	fail "the pressure is logged" "$(cat "$LAB/daemon.log")"
wait_log "evicted .* least recently used records" 40 && pass "the least recently used are evicted" ||
	fail "the least recently used are evicted" "$(cat "$LAB/daemon.log")"
n=$("$CS" show table --json | wc -l)
[ "$n" -le 13 ] && has_record h16.bulk.test 198.51.100.16 && ! has_record h1.bulk.test 198.51.100.1 &&
	pass "down to 80%, the newest kept ($n records)" ||
	fail "down to 80%, the newest kept" "$n records: $(records)"
dig_a h20.bulk.test >/dev/null
has_record h20.bulk.test 198.51.100.20 && pass "room again for new names" ||
	fail "room again for new names" "$(records)"
daemon_stop TERM
in_client "$CS" detach -c "$full" >/dev/null 2>&1

cut=$(conf cut.yaml <<'YAML'
learn:
  interfaces: [@IFACE@]
  max_records: 2
rules:
  - match: [bulk.test]
YAML
)
daemon_start "$cut" || { fail start "$(cat "$LAB/daemon.log")"; t_exit; }
for i in 1 2 3; do dig_a wide.bulk.test >/dev/null; done
warning="answers\\? held more records than learn.max_records (2)"
wait_log "$warning" 30 && pass "an answer cut at learn.max_records is warned of" ||
	fail "an answer cut at learn.max_records is warned of" "$(cat "$LAB/daemon.log")"
sleep 2	# two more ticks: the rate limit must keep the next answers quiet
n=$(grep -c "held more records than learn.max_records" "$LAB/daemon.log")
[ "$n" = 1 ] && pass "one warning for three cut answers" || fail "one warning for three cut answers" "$n lines"
capped=$(stat_count rec_capped)
[ "${capped:-0}" = 3 ] && pass "every cut answer is counted (rec_capped 3)" ||
	fail "every cut answer is counted" "rec_capped '${capped}'; $("$CS" show stats)"
daemon_stop TERM
in_client "$CS" detach -c "$cut" >/dev/null 2>&1
t_exit
