#!/bin/bash
# e2e-daemon: `cloudsteer run` on a veth, a real dnsmasq, dig as the client.
# Learning within the answer's packet, refresh, expiry and route removal,
# restart with nothing lost (the dataplane learns while the daemon is down),
# one daemon per state, SIGHUP with a good and a bad config, detach, and
# config errors refused before anything is touched.
T_SUITE=e2e-daemon
. "$(dirname "$0")/lab.bash"
lab_need
lab_up www.cloudapp.test,192.0.2.7 api.cloudapp.test,192.0.2.8 \
	new.cloudapp.test,192.0.2.9 other.test,192.0.2.99 || { fail lab "the lab did not come up"; t_exit; }

good=$(conf good.yaml <<'YAML'
learn:
  interfaces: [@IFACE@]
  ttl: {min: 60, max: 600, grace: 1}
rules:
  - match: [cloudapp.test]
  - match: ["=new.cloudapp.test"]    # short-lived, to watch expiry
    ttl: {min: 2, max: 2}
YAML
)

# ---- refusals that must touch nothing ----
bad=$(conf bad.yaml <<'YAML'
learn:
  interfaces: [@IFACE@]
rules:
  - match: [cloudapp.test]
    chian: casb
YAML
)
out=$(in_client "$CS" run -c "$bad" 2>&1); rc=$?
[ $rc = 2 ] && [[ $out == *"bad.yaml:5: unknown key \"chian\""* ]] && [ ! -e "$CLOUDSTEER_PIN_DIR" ] &&
	pass "a bad config is refused with file and line, nothing pinned" ||
	fail "a bad config is refused with file and line, nothing pinned" "rc $rc: $out"
noif=$(conf noif.yaml <<'YAML'
learn:
  interfaces: [nosuchif0]
rules:
  - match: [cloudapp.test]
YAML
)
out=$(in_client "$CS" run -c "$noif" 2>&1); rc=$?
[ $rc = 2 ] && [[ $out == *'learn interface "nosuchif0" does not exist'* ]] &&
	pass "a missing interface is refused" || fail "a missing interface is refused" "rc $rc: $out"

# ---- learning ----
daemon_start "$good" && pass "the daemon starts and attaches" ||
	{ fail "the daemon starts and attaches" "$(cat "$LAB/daemon.log")"; t_exit; }
grep -q "learn: attached to $VETH_C" "$LAB/daemon.log" && pass "it says which XDP mode it got" ||
	fail "it says which XDP mode it got" "$(cat "$LAB/daemon.log")"

[ "$(dig_a www.cloudapp.test)" = 192.0.2.7 ] || fail "dig www.cloudapp.test" "no answer"
# no wait: the record is made by the packet that carried the answer
has_record www.cloudapp.test 192.0.2.7 && pass "learned by the time dig has its answer" ||
	fail "learned by the time dig has its answer" "$(records)"
wait_log "learned www.cloudapp.test 192.0.2.7" && pass "the new record is logged" ||
	fail "the new record is logged" "$(cat "$LAB/daemon.log")"
dig_a other.test >/dev/null
has_record other.test 192.0.2.99 && fail "names without a rule are not learned" "$(records)" ||
	pass "names without a rule are not learned"
sleep 1.1	# past the repeat window: the next answer is walked, not reused
dig_a www.cloudapp.test >/dev/null
[ "$(record_hits www.cloudapp.test 192.0.2.7)" = 2 ] && pass "a second answer refreshes (hits 2)" ||
	fail "a second answer refreshes (hits 2)" "$(records)"

# ---- one daemon per state ----
out=$(in_client "$CS" run -c "$good" 2>&1); rc=$?
[ $rc = 1 ] && [[ $out == *"another cloudsteer daemon (pid $DAEMON_PID)"* ]] &&
	pass "a second daemon is refused" || fail "a second daemon is refused" "rc $rc: $out"

# ---- restart: the dataplane keeps learning on its pins ----
daemon_stop TERM
grep -q "the dataplane keeps running" "$LAB/daemon.log" && pass "SIGTERM leaves the dataplane" ||
	fail "SIGTERM leaves the dataplane" "$(cat "$LAB/daemon.log")"
dig_a api.cloudapp.test >/dev/null
has_record api.cloudapp.test 192.0.2.8 && pass "learning goes on while the daemon is down" ||
	fail "learning goes on while the daemon is down" "$(records)"
daemon_start "$good"
grep -q "adopted" "$LAB/daemon.log" && grep -q "kept the attached program" "$LAB/daemon.log" &&
	pass "a restart adopts the pins and the attached program" ||
	fail "a restart adopts the pins and the attached program" "$(cat "$LAB/daemon.log")"
has_record www.cloudapp.test 192.0.2.7 && has_record api.cloudapp.test 192.0.2.8 &&
	pass "no record lost across the restart" || fail "no record lost across the restart" "$(records)"
daemon_stop KILL
daemon_start "$good"
has_record api.cloudapp.test 192.0.2.8 && pass "nor across SIGKILL" || fail "nor across SIGKILL" "$(records)"

# ---- expiry: TTL 2 + grace 1 for new.cloudapp.test, swept within a second after ----
dig_a new.cloudapp.test >/dev/null
wait_log "expired new.cloudapp.test 192.0.2.9" 80 && pass "an expired record is removed and logged" ||
	fail "an expired record is removed and logged" "$(records)"
wait_log "route 192.0.2.9 removed: no record or flow needs it" 30 && pass "its route goes, with its ACL id" ||
	fail "its route goes, with its ACL id" "$(cat "$LAB/daemon.log")"

# ---- SIGHUP ----
cat > "$good" <<YAML
learn:
  interfaces: [$VETH_C]
  ttl: {min: 60, max: 600, grace: 1}
rules:
  - match: [other.test]
YAML
dig_a www.cloudapp.test >/dev/null
kill -HUP "$DAEMON_PID"
wait_log "reload: 1 rules, 1 patterns in force" && pass "SIGHUP loads a good config" ||
	fail "SIGHUP loads a good config" "$(cat "$LAB/daemon.log")"
dig_a other.test >/dev/null
has_record other.test 192.0.2.99 && pass "the new rule learns" || fail "the new rule learns" "$(records)"
wait_log "dropped www.cloudapp.test 192.0.2.7" 30 && pass "records of a removed rule go" ||
	fail "records of a removed rule go" "$(records)"
printf 'rules:\n  - match: [other..test]\n' > "$good"
kill -HUP "$DAEMON_PID"
wait_log "reload refused, the running config stays" && grep -q "good.yaml:2: bad pattern" "$LAB/daemon.log" &&
	pass "a bad config on SIGHUP is refused with file and line" ||
	fail "a bad config on SIGHUP is refused with file and line" "$(cat "$LAB/daemon.log")"
has_record other.test 192.0.2.99 && kill -0 "$DAEMON_PID" && pass "and the running state stays" ||
	fail "and the running state stays" "$(records)"

# ---- detach ----
daemon_stop TERM
cat > "$good" <<YAML
learn:
  interfaces: [$VETH_C]
rules:
  - match: [other.test]
YAML
in_client "$CS" detach -c "$good" >"$LAB/detach.log" 2>&1
! in_client ip link show "$VETH_C" | grep -q " xdp" && [ ! -e "$CLOUDSTEER_PIN_DIR" ] &&
	pass "detach removes the program and the pins" ||
	fail "detach removes the program and the pins" "$(cat "$LAB/detach.log"; in_client ip link show "$VETH_C")"
daemon_start "$good" --detach-on-exit
daemon_stop TERM
! in_client ip link show "$VETH_C" | grep -q " xdp" && [ ! -e "$CLOUDSTEER_PIN_DIR" ] &&
	pass "--detach-on-exit leaves nothing" || fail "--detach-on-exit leaves nothing" "$(cat "$LAB/daemon.log")"

# without CAP_SYS_ADMIN libxdp 1.3 crashes in its attach: the daemon says
# what it lacks and exits, before that
if command -v capsh >/dev/null; then
	nsenter --net="/run/netns/$NS_C" capsh --drop=cap_sys_admin -- -c "\"$CS\" run -c \"$good\"" \
		>"$LAB/nocap.log" 2>&1
	rc=$?
	[ $rc = 1 ] && grep -q "attaching XDP through libxdp takes CAP_SYS_ADMIN, which this process lacks" "$LAB/nocap.log" &&
		pass "without CAP_SYS_ADMIN the daemon refuses to attach, with the reason (exit 1, no crash)" ||
		fail "without CAP_SYS_ADMIN" "exit $rc: $(cat "$LAB/nocap.log")"
	in_client "$CS" detach -c "$good" >/dev/null 2>&1
else
	skip "without CAP_SYS_ADMIN" "capsh missing (libcap2-bin)"
fi
t_exit
