#!/bin/bash
# e2e-systemd: the daemons as systemd runs them, without systemd (no PID 1
# here): `cloudsteer run` and `cloudsteer instance` with $NOTIFY_SOCKET on a
# datagram socket this test reads, and only the capabilities the units'
# CapabilityBoundingSet= names (setpriv). READY=1 comes once learn is
# attached (looked at when the message arrives), RELOADING=1 then READY=1
# on SIGHUP, with STATUS= saying taken or refused; STOPPING=1 on SIGTERM.
# Logs under a $JOURNAL_STREAM that names stderr carry syslog priorities;
# records are not a line each at the default level; the summary comes.
T_SUITE=e2e-systemd
. "$(dirname "$0")/lab.bash"
lab_need
command -v setpriv >/dev/null || { skip all "setpriv missing (util-linux)"; exit 0; }
lab_up www.cloudapp.test,192.0.2.7 api.cloudapp.test,192.0.2.8 || { fail lab "the lab did not come up"; t_exit; }
LISTENER=

cleanup_listener() { [ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null; }
trap 'cleanup_listener; lab_cleanup' EXIT

# listen SOCK LOG IFACE: each datagram to SOCK as one line in LOG (newlines
# as '|'), with "xdp=yes" or "xdp=no": was an XDP program on IFACE in the
# client namespace when the message came
listen() {
	python3 - "$1" "$2" "$NS_C" "$3" <<'PY' &
import socket, subprocess, sys
path, log, ns, ifname = sys.argv[1:5]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
with open(log, "a", buffering=1) as f:
    while True:
        msg = s.recv(4096).decode()
        link = subprocess.run(["ip", "-n", ns, "link", "show", "dev", ifname], capture_output=True, text=True).stdout
        f.write(msg.replace("\n", "|") + " xdp=" + ("yes" if " xdp" in link or "prog/xdp" in link else "no") + "\n")
PY
	LISTENER=$!
	for _ in $(seq 50); do [ -S "$1" ] && return 0; sleep 0.1; done
	return 1
}
# the capabilities of a unit's CapabilityBoundingSet=, as setpriv takes them
unit_caps() {
	sed -n 's/^CapabilityBoundingSet=//p' "$REPO/scripts/systemd/$1" | tr 'A-Z' 'a-z' |
		sed 's/cap_/+/g; s/ /,/g'
}
wait_msg() {	# wait_msg LOG TEXT [N]: until LOG holds TEXT N times (default 1)
	local i
	for i in $(seq 100); do
		[ "$(grep -c -- "$2" "$1" 2>/dev/null)" -ge "${3:-1}" ] && return 0
		sleep 0.1
	done
	return 1
}

good=$(conf good.yaml <<'YAML'
learn:
  interfaces: [@IFACE@]
rules:
  - match: [cloudapp.test]
YAML
)
bad=$( (cat "$good"; echo "    chian: casb") | conf bad.yaml)	# an unknown key

# ---- cloudsteer run, as cloudsteer.service starts it ----
caps=$(unit_caps cloudsteer.service)
listen "$LAB/notify.sock" "$LAB/notify.log" "$VETH_C" || { fail "the listener starts" ""; t_exit; }
cp "$good" "$LAB/cs.yaml"
# stderr is the log file; $JOURNAL_STREAM names it as journald's would be
# named, so the lines carry their priorities. The summary every 2 s (a
# variable for tests alone).
: > "$LAB/daemon.log"
exec 8>>"$LAB/daemon.log"
js=$(stat -L -c '%d:%i' "$LAB/daemon.log")
NOTIFY_SOCKET=$LAB/notify.sock JOURNAL_STREAM=$js CLOUDSTEER_TEST_SUMMARY_MS=2000 \
	nsenter --net="/run/netns/$NS_C" setpriv --inh-caps=-all,$caps --ambient-caps=-all,$caps \
	--bounding-set=-all,$caps "$CS" run -c "$LAB/cs.yaml" 2>&8 &
DAEMON_PID=$!
exec 8>&-
wait_msg "$LAB/notify.log" "READY=1" && pass "run: READY=1 with only the unit's capabilities ($caps)" ||
	{ fail "run: READY=1 with the unit's capabilities" "$(cat "$LAB/notify.log" "$LAB/daemon.log")"; t_exit; }
grep -m1 "READY=1" "$LAB/notify.log" | grep -q "xdp=yes" && pass "run: learn was attached when READY=1 came" ||
	fail "run: learn was attached when READY=1 came" "$(cat "$LAB/notify.log")"
grep -m1 "READY=1" "$LAB/notify.log" | grep -q "STATUS=learning on $VETH_C; 1 rules; 0 chains" &&
	pass "run: READY=1 with a STATUS= line" || fail "run: STATUS= line" "$(cat "$LAB/notify.log")"
[ "$(grep -c . "$LAB/notify.log")" = 1 ] && pass "run: nothing before READY=1" ||
	fail "run: nothing before READY=1" "$(cat "$LAB/notify.log")"

kill -HUP "$DAEMON_PID"
wait_msg "$LAB/notify.log" "READY=1" 2 && sed -n 2p "$LAB/notify.log" | grep -q "^RELOADING=1|MONOTONIC_USEC=[0-9]*|" &&
	sed -n 3p "$LAB/notify.log" | grep -q "^READY=1|STATUS=reloaded; " &&
	pass "run: SIGHUP: RELOADING=1 with MONOTONIC_USEC, then READY=1, STATUS=reloaded" ||
	fail "run: SIGHUP: RELOADING=1 then READY=1" "$(cat "$LAB/notify.log")"
cp "$bad" "$LAB/cs.yaml"
kill -HUP "$DAEMON_PID"
wait_msg "$LAB/notify.log" "READY=1" 3 && sed -n 4p "$LAB/notify.log" | grep -q "^RELOADING=1" &&
	sed -n 5p "$LAB/notify.log" | grep -q "^READY=1|STATUS=reload refused, the running config stays; " &&
	pass "run: a refused config: READY=1 with STATUS=reload refused" ||
	fail "run: a refused config: READY=1 with STATUS=reload refused" "$(cat "$LAB/notify.log")"

# ---- its log, as journald would read it ----
grep -q '^<6>cloudsteer: running: ' "$LAB/daemon.log" && pass "run: info lines start with <6>" ||
	fail "run: info lines start with <6>" "$(cat "$LAB/daemon.log")"
grep -q '^<3>cloudsteer: error: reload refused' "$LAB/daemon.log" && pass "run: errors start with <3>" ||
	fail "run: errors start with <3>" "$(cat "$LAB/daemon.log")"
grep -v '^<[3467]>' "$LAB/daemon.log" | grep -q . && fail "run: every line has a priority" \
	"$(grep -v '^<[3467]>' "$LAB/daemon.log")" || pass "run: every line has a priority"
dig_a www.cloudapp.test >/dev/null; dig_a api.cloudapp.test >/dev/null
wait_log "<6>cloudsteer: learned 2 new records, refreshed 0, expired 0, removed 0 routes in the last [0-9]* s" 60 &&
	pass "run: the summary counts the records at info" || fail "run: the summary" "$(cat "$LAB/daemon.log")"
! grep -q "learned www.cloudapp.test" "$LAB/daemon.log" && pass "run: no line a record at the default level" ||
	fail "run: no line a record at the default level" "$(grep learned "$LAB/daemon.log")"
wait_msg "$LAB/notify.log" "^STATUS=learning on .*; 2 routes" && pass "run: STATUS= follows the routes" ||
	fail "run: STATUS= follows the routes" "$(cat "$LAB/notify.log")"

kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
wait_msg "$LAB/notify.log" "^STOPPING=1|STATUS=stopping on signal 15" && pass "run: STOPPING=1 on SIGTERM" ||
	fail "run: STOPPING=1 on SIGTERM" "$(cat "$LAB/notify.log")"
ls "/run/cloudsteer/$(basename "$CLOUDSTEER_PIN_DIR").lock" >/dev/null 2>&1 &&
	[ "$(stat -c %a /run/cloudsteer)" = 700 ] && [ ! -e "/run/$(basename "$CLOUDSTEER_PIN_DIR").lock" ] &&
	pass "run: its lock note is in /run/cloudsteer (0700), not loose in /run" ||
	fail "run: its lock note in /run/cloudsteer" "$(ls -la /run/cloudsteer)"
# the JOURNAL_STREAM of another file: plain lines
out=$(JOURNAL_STREAM=1:1 in_client "$CS" run -c "$bad" 2>&1)
[[ $out == "cloudsteer: "* ]] && pass "run: plain lines when stderr is not journald's" ||
	fail "run: plain lines when stderr is not journald's" "$out"
in_client "$CS" detach -c "$good" >/dev/null 2>&1

# ---- cloudsteer instance, as cloudsteer-instance.service starts it ----
caps=$(unit_caps cloudsteer-instance.service)
inst=$(conf inst.yaml <<'YAML'
rules:
  - match: [cloudapp.test]
    chain: casb
chains:
  - name: casb
    instances:
      - {name: casb-a, address: 10.77.0.1}
      - {name: casb-b, address: 10.77.0.53}
    health: {probe: icmp, interval: 100ms, timeout: 50ms}
instance:
  interfaces: [@IFACE@]
  sync: false
mesh:
  affinity_key: 00112233445566778899aabbccddeeff
YAML
)
: > "$LAB/inotify.log"
kill "$LISTENER" 2>/dev/null; wait "$LISTENER" 2>/dev/null; rm -f "$LAB/notify.sock"
listen "$LAB/notify.sock" "$LAB/inotify.log" "$VETH_C" || { fail "the listener starts again" ""; t_exit; }
NOTIFY_SOCKET=$LAB/notify.sock CLOUDSTEER_PIN_DIR=$CLOUDSTEER_PIN_DIR-inst \
	nsenter --net="/run/netns/$NS_C" setpriv --inh-caps=-all,$caps --ambient-caps=-all,$caps \
	--bounding-set=-all,$caps "$CS" instance -c "$inst" >"$LAB/inst.log" 2>&1 &
DAEMON_PID=$!
wait_msg "$LAB/inotify.log" "READY=1" && grep -m1 READY=1 "$LAB/inotify.log" | grep -q "STATUS=instance casb-a of chain casb" &&
	pass "instance: READY=1 with the unit's capabilities, and a STATUS= line" ||
	fail "instance: READY=1" "$(cat "$LAB/inotify.log" "$LAB/inst.log")"
tc -n "$NS_C" filter show dev "$VETH_C" ingress | grep -q "instance" &&
	pass "instance: its program is on TC ingress" || fail "instance: its program is attached" \
	"$(tc -n "$NS_C" filter show dev "$VETH_C" ingress)"
kill -HUP "$DAEMON_PID"
wait_msg "$LAB/inotify.log" "READY=1" 2 && grep -q "^RELOADING=1|MONOTONIC_USEC=" "$LAB/inotify.log" &&
	tail -1 "$LAB/inotify.log" | grep -q "^READY=1|STATUS=reloaded; instance casb-a" &&
	pass "instance: SIGHUP: RELOADING=1, then READY=1" || fail "instance: SIGHUP" "$(cat "$LAB/inotify.log")"
kill -TERM "$DAEMON_PID"; wait "$DAEMON_PID" 2>/dev/null; DAEMON_PID=
wait_msg "$LAB/inotify.log" "^STOPPING=1" && pass "instance: STOPPING=1 on SIGTERM" ||
	fail "instance: STOPPING=1 on SIGTERM" "$(cat "$LAB/inotify.log")"
# (its pins go with the lab's cleanup, its filter with the namespace)

# ---- without $NOTIFY_SOCKET nothing is sent (and nothing fails) ----
daemon_start "$good" && ! grep -q "systemd:" "$LAB/daemon.log" && pass "without NOTIFY_SOCKET it runs as before" ||
	fail "without NOTIFY_SOCKET it runs as before" "$(cat "$LAB/daemon.log")"
daemon_stop
t_exit
