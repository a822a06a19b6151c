# lab.bash - a client and a DNS server in two network namespaces joined by a
# veth pair, for end-to-end tests of the daemon. Source it; it cleans up
# everything it made on exit, also on failure or a signal.
#   lab_up RECORDS...   start the lab; dnsmasq serves --host-record=RECORD
#   in_client CMD...    run in the client namespace (where learn attaches)
#   dig_a NAME          ask the server for NAME's A records, short answer
#   daemon_start CONF   start `cloudsteer run` in the client namespace
#   daemon_stop [SIG]   stop it (default TERM) and wait
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$REPO/tests/lib/testing.sh"
. "$REPO/tests/lib/bpffs.sh"
CS=${CLOUDSTEER:-$REPO/build/cloudsteer}
LAB=$(mktemp -d /tmp/cs-e2e.XXXXXX)
NS_C=cse2e-c-$$
NS_S=cse2e-s-$$
VETH_C=cse2e-c$$
VETH_S=cse2e-s$$
export CLOUDSTEER_PIN_DIR=/sys/fs/bpf/cs-e2e-$$
DAEMON_PID=

lab_cleanup() {
	[ -n "$DAEMON_PID" ] && kill -KILL "$DAEMON_PID" 2>/dev/null
	[ -f "$LAB/dnsmasq.pid" ] && kill "$(cat "$LAB/dnsmasq.pid")" 2>/dev/null
	# everything still running inside our namespaces, then the namespaces
	ip netns pids "$NS_C" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	ip netns pids "$NS_S" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	ip netns del "$NS_C" 2>/dev/null
	ip netns del "$NS_S" 2>/dev/null
	# pins and /run notes of the daemons, also of those a test ran on
	# $CLOUDSTEER_PIN_DIR-SOMETHING (a second daemon, an instance)
	rm -rf "$CLOUDSTEER_PIN_DIR" "$CLOUDSTEER_PIN_DIR"-* "/run/$(basename "$CLOUDSTEER_PIN_DIR")".* \
	       "/run/$(basename "$CLOUDSTEER_PIN_DIR")"-* "$LAB" \
	       "/run/cloudsteer/$(basename "$CLOUDSTEER_PIN_DIR")".* "/run/cloudsteer/$(basename "$CLOUDSTEER_PIN_DIR")"-*
	bpffs_restore
}
trap lab_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

lab_need() {
	[ "$(id -u)" = 0 ] || { skip all "needs root"; exit 0; }
	command -v dnsmasq >/dev/null || { skip all "dnsmasq missing"; exit 0; }
	command -v dig >/dev/null || { skip all "dig missing"; exit 0; }
	[ -x "$CS" ] || { fail build "no $CS: run make first"; exit 1; }
}

lab_up() {
	local args=() r
	for r in "$@"; do args+=("--host-record=$r"); done
	ip netns add "$NS_C" && ip netns add "$NS_S" &&
	ip link add "$VETH_C" type veth peer name "$VETH_S" &&
	ip link set "$VETH_C" netns "$NS_C" && ip link set "$VETH_S" netns "$NS_S" &&
	ip -n "$NS_C" addr add 10.77.0.1/24 dev "$VETH_C" &&
	ip -n "$NS_S" addr add 10.77.0.53/24 dev "$VETH_S" &&
	ip -n "$NS_C" link set "$VETH_C" up && ip -n "$NS_S" link set "$VETH_S" up &&
	ip -n "$NS_C" link set lo up && ip -n "$NS_S" link set lo up || return 1
	# TTL 2 so that expiry can be watched within a test
	ip netns exec "$NS_S" dnsmasq --no-resolv --no-hosts --keep-in-foreground --port=53 \
		--listen-address=10.77.0.53 --bind-interfaces --pid-file="$LAB/dnsmasq.pid" \
		--local-ttl=2 "${args[@]}" >"$LAB/dnsmasq.log" 2>&1 &
	local i
	for i in $(seq 50); do
		ip netns exec "$NS_C" dig +short +time=1 +tries=1 @10.77.0.53 probe.invalid >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

in_client() { nsenter --net="/run/netns/$NS_C" "$@"; }
dig_a() { in_client dig +short +time=2 +tries=2 @10.77.0.53 "$1" A; }

# The config, with the learn interface filled in: conf NAME <<YAML
conf() { sed "s/@IFACE@/$VETH_C/g" > "$LAB/$1"; echo "$LAB/$1"; }

daemon_start() {
	: > "$LAB/daemon.log"
	# nsenter execs the daemon, so $! is the daemon (a backgrounded shell
	# function would be a subshell); -v: the tests watch the lines a record
	# (learned, expired, route removed), which are debug level
	nsenter --net="/run/netns/$NS_C" "$CS" run -v -c "$1" ${2:-} >>"$LAB/daemon.log" 2>&1 &
	DAEMON_PID=$!
	wait_log "running:" 50
}

daemon_stop() {
	[ -n "$DAEMON_PID" ] || return 0
	kill -"${1:-TERM}" "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
}

# Records as "name ip" lines, read from the pins with bpftool (the CLI's
# own view is tested elsewhere): name ids are resolved through cs_names.
records() {
	python3 - "$CLOUDSTEER_PIN_DIR" <<'PY'
import json, subprocess, sys, ipaddress
d = sys.argv[1]
def dump(m):
    out = subprocess.run(["bpftool", "-j", "map", "dump", "pinned", f"{d}/{m}"], capture_output=True, text=True)
    return [e["formatted"] for e in json.loads(out.stdout or "[]")]
names = {e["key"]: e["value"]["text"] for e in dump("cs_names")}
for e in dump("cs_records"):
    b = bytes(e["key"]["addr"]["b"])
    ip = ipaddress.ip_address(b[12:]) if b[:12] == b"\0" * 10 + b"\xff\xff" else ipaddress.ip_address(b)
    print(names.get(e["key"]["name_id"], "?"), ip, e["value"]["hits"])
PY
}
has_record() { records | grep -q "^$1 $2 "; }
record_hits() { records | awk -v n="$1" -v i="$2" '$1 == n && $2 == i { print $3 }'; }
route_count() { bpftool -j map dump pinned "$CLOUDSTEER_PIN_DIR/cs_routes" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
