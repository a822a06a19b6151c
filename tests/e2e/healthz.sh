#!/bin/bash
# e2e-healthz: GET /healthz on the metrics listener of `cloudsteer run`, and
# `cloudsteer health`, which asks it: 503 "starting" until the dataplane is
# attached, 200 "ok" once it runs, 503 with the reason when its pinned state
# goes (moved away here, as a detach from elsewhere would), 200 again when it
# is back. `cloudsteer health` exits 0, 1 or 2 (no listener in the config).
T_SUITE=e2e-healthz
. "$(dirname "$0")/lab.bash"
lab_need
for t in curl bpftool; do command -v $t >/dev/null || { skip all "$t missing"; exit 0; }; done
bpffs_mount || { fail setup "cannot mount bpffs"; exit 1; }
lab_up www.cloudapp.test,192.0.2.7 || { fail lab "the lab did not come up"; t_exit; }
CONF=$(conf cs.yaml <<'YAML'
metrics: 127.0.0.1:9477
learn:
  interfaces: [@IFACE@]
rules:
  - match: [cloudapp.test]
YAML
)
# get [-I]: "CODE BODY" of GET (HEAD) /healthz in the daemon's namespace
get() { in_client curl -sS --max-time 2 "$@" -o "$LAB/body" -w '%{http_code}' http://127.0.0.1:9477/healthz 2>/dev/null; echo " $(cat "$LAB/body" 2>/dev/null)"; }

# the first answers, from the moment the daemon starts: the listener opens
# before the dataplane is loaded
: > "$LAB/daemon.log"
nsenter --net="/run/netns/$NS_C" "$CS" run -c "$CONF" >>"$LAB/daemon.log" 2>&1 &
DAEMON_PID=$!
first=
for i in $(seq 200); do
	a=$(get)
	case "$a" in 000*) ;; *) [ -z "$first" ] && first=$a ;; esac
	[[ $a == "200 ok" ]] && break
	sleep 0.02
done
wait_log "running:" 50 || { fail "the daemon runs" "$(cat "$LAB/daemon.log")"; t_exit; }
case "$first" in
"503 starting: the dataplane is not attached yet") pass "503 \"starting\" before the dataplane is attached" ;;
"200 ok") skip "503 \"starting\" before the dataplane is attached" "the first answer came after the start: $first" ;;
*) fail "503 \"starting\" before the dataplane is attached" "first answer: $first" ;;
esac
a=$(get)
[ "$a" = "200 ok" ] && pass "200 ok once it runs" || fail "200 ok once it runs" "$a"
a=$(get -I)
[ "${a%% *}" = 200 ] && pass "HEAD /healthz" || fail "HEAD /healthz" "$a"
out=$(in_client "$CS" health -c "$CONF" 2>&1) && [ "$out" = ok ] && pass "cloudsteer health: ok, exit 0" ||
	fail "cloudsteer health: ok, exit 0" "$out"

# the pinned state goes: not healthy, and says why. bpffs renames nothing:
# a second pin keeps the map while the first is gone
# (outside the daemon's directory, which takes no pins of others; lab_cleanup
# removes it): move FROM TO: pin FROM's map at TO, unpin FROM
AWAY=$CLOUDSTEER_PIN_DIR-away
move() { bpftool map pin pinned "$1" "$2" && rm "$1"; }
move "$CLOUDSTEER_PIN_DIR/cs_records" "$AWAY"
a=$(get)
[[ $a == "503 the pinned state is gone: $CLOUDSTEER_PIN_DIR/cs_records: "* ]] &&
	pass "503 and the reason when the pins are gone" || fail "503 and the reason when the pins are gone" "$a"
out=$(in_client "$CS" health -c "$CONF" 2>&1); rc=$?
[ $rc = 1 ] && [[ $out == "the pinned state is gone"* ]] && pass "cloudsteer health: the reason, exit 1" ||
	fail "cloudsteer health: the reason, exit 1" "rc $rc: $out"
move "$AWAY" "$CLOUDSTEER_PIN_DIR/cs_records"
a=$(get)
[ "$a" = "200 ok" ] && pass "200 again when they are back" || fail "200 again when they are back" "$a"

# no daemon; no listener in the config
daemon_stop
out=$(in_client "$CS" health -c "$CONF" 2>&1); rc=$?
[ $rc = 1 ] && [[ $out == *"is the daemon running?"* ]] && pass "cloudsteer health with no daemon: exit 1" ||
	fail "cloudsteer health with no daemon: exit 1" "rc $rc: $out"
sed -i '/^metrics:/d' "$CONF"
out=$("$CS" health -c "$CONF" 2>&1); rc=$?
[ $rc = 2 ] && [[ $out == *"names no metrics listener"* ]] && pass "a config without metrics: exit 2, says so" ||
	fail "a config without metrics: exit 2, says so" "rc $rc: $out"
t_exit
