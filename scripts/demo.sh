#!/bin/bash
# make demo: cloudsteer's whole story, told step by step on a built-in lab.
#
#   client 10.10.0.2 --lan-- host --wan-- internet 10.20.0.2: dnsmasq (the
#                           /    \        DNS server), HTTP on every address
#                  10.30.0.2    10.31.0.2 of 192.0.2.0/24 and 198.51.100.0/24
#                  instance A   instance B
#
# Every box is a network namespace made here; `cloudsteer run` steers on the
# host, `cloudsteer instance` runs on A and B. The client resolves a cloud
# name; the record and route appear; a download to that name is steered to
# instance A; A dies and the download moves to B, intact; the record's TTL
# expires but the route stays while the download lives, and goes after.
# About 40 seconds.
#
# Knobs (environment):
#   DEMO_PAUSE=1   wait for Enter between steps, when run from a terminal; not
#                  within steps 3 to 8, where the record's TTL and the
#                  download run on the clock (default: straight through, for
#                  CI and for people who just watch)
#   NO_COLOR=1     no bold headers (they are bold only on a terminal anyway)
#
# Nothing is made in the host's own network namespace. Outside the lab's
# namespaces it makes only: its pin directories /sys/fs/bpf/cloudsteer-demo-PID
# (-a, -b for the instances, -libxdp for libxdp's lock directory), the
# daemons' lock and hook files /run/cloudsteer/cloudsteer-demo-PID* (in
# /run/cloudsteer, their runtime directory, made if missing; it stays), a temp dir,
# /run/netns if `ip netns add` has to make it (removed again when empty),
# and bpffs on /sys/fs/bpf if nothing was mounted there (the first daemon
# mounts it; unmounted again at the end).
# All of it goes on exit, on failure, on Ctrl-C and on SIGTERM; the last line
# says whether anything was left behind.
#
# (checks read "A && B || fail_step ...": fail_step exits, so that is if-not)
# shellcheck disable=SC2015
set -Eeuo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"

ID=$$
NS=csdemo-$ID				# namespaces $NS-client, $NS-host, ...
NODES="client host a b internet"
PIN=/sys/fs/bpf/cloudsteer-demo-$ID	# the host's pins; the instances' are $PIN-a, $PIN-b
# libxdp takes its lock in <bpffs>/xdp and would leave /sys/fs/bpf/xdp
# behind; pointed at a directory of this run it leaves nothing
XDPFS=$PIN-libxdp
TTL=15			# the DNS answer's TTL, so the record's life (grace 0)
FLOW_IDLE=3		# steer.flow_idle: a UDP flow this quiet is over
LINGER=2		# steer.flow_timeouts.linger: a closed TCP flow goes this long after
DL_MIB=30		# the download: 30 MiB at 1 MiB/s, so it outlives the record
DL_RATE_BPS=1048576
SERVER=192.0.2.10	# app.saas.test
OTHER=198.51.100.7	# news.example.test: no rule names it
CPORT=			# the client's port for the download, picked in step 5
WORK=
START=$(date +%s)
# what this run found missing and so made: removed again at the end
# (and MADE_NETNS_DIR, scripts/narrate.bash's)
BPFFS_FOUND=1		# 0: nothing was on /sys/fs/bpf; the daemons mount bpffs

export CLOUDSTEER_PIN_DIR=$PIN
export PATH="$REPO/build:$PATH"

# ---- narration (scripts/narrate.bash: step, tell, note, cmd, show,
# fail_step, wait_for) ----
. "$REPO/scripts/narrate.bash"

# DEMO_PAUSE waits only where the story does not run on the clock: from the
# answer in step 3 the record's TTL runs, and the download does not wait
# either, until it ends in step 8
pause_before() {
	case $1 in
	2|9|10|11) read -r -p "(press Enter for step $1) " _ || true ;;
	3) read -r -p "(press Enter for step 3; steps 3 to 8 then run on the clock, without pauses) " _ ||
		true ;;
	esac
}
in_ns() { ip netns exec "$NS-$1" "${@:2}"; }	# in_ns NODE CMD...

# ---- clean-up: everything this run made, whatever happened ----

bpffs_here() { [ "$(stat -f -c %t /sys/fs/bpf 2>/dev/null)" = cafe4a11 ]; }

cleanup() {
	local rc=$? n p i pids
	demo_cleanup_begin $rc
	# every process in the lab's namespaces, then what ran outside them;
	# disowned first, so that bash reports no "Killed" for each
	pids=$(jobs -p)
	disown -a
	for n in $NODES; do
		ip netns pids "$NS-$n" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	done
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	for p in $pids; do
		for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	done
	for n in $NODES; do ip netns del "$NS-$n" 2>/dev/null; done
	rm -rf "$PIN" "$PIN"-a "$PIN"-b "$XDPFS" /run/cloudsteer-demo-"$ID".* /run/cloudsteer-demo-"$ID"-* \
		/run/cloudsteer/cloudsteer-demo-"$ID".* /run/cloudsteer/cloudsteer-demo-"$ID"-*
	[ -n "$WORK" ] && rm -rf "$WORK"
	# the daemons mounted bpffs for this run: as it was, so it is again
	if [ $BPFFS_FOUND = 0 ]; then
		while bpffs_here; do umount /sys/fs/bpf 2>/dev/null || break; done
	fi
	demo_finish $rc "namespace, pin, lock, mount or temp dir"
}
leftovers() {	# what of this run still exists, or nothing
	local n p
	for n in $NODES; do
		ip netns list 2>/dev/null | grep -qw -- "$NS-$n" && printf 'netns %s ' "$NS-$n"
	done
	for p in "$PIN" "$PIN"-a "$PIN"-b "$XDPFS" /run/cloudsteer-demo-"$ID".* /run/cloudsteer-demo-"$ID"-* \
		/run/cloudsteer/cloudsteer-demo-"$ID".* /run/cloudsteer/cloudsteer-demo-"$ID"-* $WORK; do
		[ -e "$p" ] && printf '%s ' "$p"
	done
	[ $BPFFS_FOUND = 0 ] && bpffs_here && printf 'bpffs on /sys/fs/bpf '
	return 0
}
on_error() {	# a command failed that no step checks: say which, then clean up
	# (in a subshell, only end it: the main shell then fails and says so)
	[ "$BASHPID" = $$ ] || exit 1
	printf '\ndemo: step %s failed: a command failed (line %s: %s)\n' "$STEP" "$1" "$2" >&2
	exit 1
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'on_error $LINENO "$BASH_COMMAND"' ERR

# ---- preflight ----

preflight() {
	demo_preflight demo ip nsenter dnsmasq dig socat tcpdump curl python3 bpftool sha256sum mountpoint
	bpffs_here || BPFFS_FOUND=0
}

# ---- the lab ----

link() {	# link NODE1 IF1 ADDR1 NODE2 IF2 ADDR2: a veth pair made in the namespaces
	ip link add "$2" netns "$NS-$1" type veth peer name "$5" netns "$NS-$4"
	ip -n "$NS-$1" addr add "$3" dev "$2"
	ip -n "$NS-$1" link set "$2" up
	ip -n "$NS-$4" addr add "$6" dev "$5"
	ip -n "$NS-$4" link set "$5" up
}

build_lab() {
	local n
	for n in $NODES; do
		ip netns add "$NS-$n"
		ip -n "$NS-$n" link set lo up
		in_ns "$n" sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
			net.ipv4.conf.default.rp_filter=0
	done
	link client eth0 10.10.0.2/24 host lan 10.10.0.1/24
	link host wan 10.20.0.1/24 internet eth0 10.20.0.2/24
	link host ia 10.30.0.1/24 a eth0 10.30.0.2/24
	link host ib 10.31.0.1/24 b eth0 10.31.0.2/24
	for n in client:10.10.0.1 internet:10.20.0.1 a:10.30.0.1 b:10.31.0.1; do
		ip -n "$NS-${n%%:*}" route add default via "${n#*:}"
	done
	# the "cloud": every address of these ranges is local in the internet
	# namespace (any-IP), where the servers listen on all of them
	for n in 192.0.2.0/24 198.51.100.0/24; do
		ip -n "$NS-host" route add "$n" via 10.20.0.2
		ip -n "$NS-internet" route add local "$n" dev lo
	done
}

# The web server: Python's http.server, but it sends files at a steady rate
# from its side. (curl --limit-rate paces in bursts: seconds of silence, then
# megabytes at once; the demo wants bytes flowing all the time.)
write_paced_server() {
	cat > "$WORK/server.py" <<'PY'
import http.server, sys, time
root, rate = sys.argv[1], int(sys.argv[2])
class Paced(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *a, **kw):
        super().__init__(*a, directory=root, **kw)
    def copyfile(self, src, dst):
        t = time.monotonic()
        while chunk := src.read(16384):
            dst.write(chunk)
            t += len(chunk) / rate
            time.sleep(max(0, t - time.monotonic()))
http.server.ThreadingHTTPServer(("0.0.0.0", 8080), Paced).serve_forever()
PY
}

start_internet() {
	mkdir -p "$WORK/www"
	head -c "${DL_MIB}M" /dev/urandom > "$WORK/www/big.bin"
	# its own config, pid file and log: nothing of the host's dnsmasq is read
	# or written (no /etc/dnsmasq.conf, no /run/dnsmasq.pid, no syslog)
	in_ns internet dnsmasq --conf-file=/dev/null --no-resolv --no-hosts --keep-in-foreground \
		--log-facility=- --pid-file="$WORK/dnsmasq.pid" --listen-address=10.20.0.2 --bind-interfaces \
		--local-ttl=$TTL \
		--host-record=app.saas.test,$SERVER \
		--host-record=login.saas.test,192.0.2.11 \
		--host-record=news.example.test,$OTHER >"$WORK/dnsmasq.log" 2>&1 &
	write_paced_server
	in_ns internet python3 "$WORK/server.py" "$WORK/www" $DL_RATE_BPS >"$WORK/http.log" 2>&1 &
	# the instances answer the host's health probes on TCP 9100
	in_ns a socat TCP-LISTEN:9100,fork,reuseaddr OPEN:/dev/null >/dev/null 2>&1 &
	in_ns b socat TCP-LISTEN:9100,fork,reuseaddr OPEN:/dev/null >/dev/null 2>&1 &
	local i
	for i in $(seq 50); do
		in_ns client dig +short +time=1 +tries=1 @10.20.0.2 ready.invalid >/dev/null 2>&1 &&
			in_ns client curl -sf -o /dev/null --max-time 1 http://$OTHER:8080/ && return 0
		sleep 0.1
	done
	fail_step "dnsmasq and the HTTP server to answer" "they did not within 5 s" \
		"$WORK/dnsmasq.log" "$WORK/http.log"
}

write_config() {
	cat > "$WORK/cloudsteer.yaml" <<YAML
learn:
  interfaces: [wan]             # DNS answers arrive from the internet side
  ttl: {min: 5, max: 86400, grace: 0}
steer:
  interfaces: [lan, wan]        # client traffic, and the answers (symmetric)
  flow_idle: ${FLOW_IDLE}s
  flow_timeouts: {linger: ${LINGER}s}   # a closed connection's flow goes soon after
rules:
  - match: [saas.test]          # the cloud service; news.example.test is not in it
    chain: casb
mesh:
  affinity_key: 00112233445566778899aabbccddeeff
chains:
  - name: casb
    mode: route
    symmetric: true
    instances:
      - {name: casb-a, address: 10.30.0.2}
      - {name: casb-b, address: 10.31.0.2}
    health: {probe: tcp, port: 9100, interval: 250ms, timeout: 200ms, fall: 3, rise: 2}
instance:
  interfaces: [eth0]
  policy: strict                # TCP without state that is not a SYN is dropped
metrics: 127.0.0.1:9477         # Prometheus, in each daemon's own namespace
YAML
}

declare -A DAEMON_PID
# start_instance NODE: `cloudsteer instance` in NODE, pins in $PIN-NODE.
# (nsenter, not ip netns exec: that remounts /sys, and the pins are in /sys/fs/bpf)
start_instance() {
	cmd nsenter --net="/run/netns/$NS-$1" cloudsteer instance -c "$WORK/cloudsteer.yaml" \
		--pin-dir "$PIN-$1" '>' "$1.log" '&'
	nsenter --net="/run/netns/$NS-$1" cloudsteer instance -c "$WORK/cloudsteer.yaml" --pin-dir "$PIN-$1" \
		>"$WORK/$1.log" 2>&1 &
	DAEMON_PID[$1]=$!
}

start_daemons() {
	start_instance a
	start_instance b
	wait_for "$WORK/a.log" "running:" 10 && wait_for "$WORK/b.log" "running:" 10 ||
		fail_step "both instances to run" "they did not within 10 s" "$WORK/a.log" "$WORK/b.log"
	if [ $BPFFS_FOUND = 0 ]; then
		grep -h "bpffs:" "$WORK/a.log" "$WORK/b.log" | sed 's/^/  /'
		tell "(Nothing was mounted on /sys/fs/bpf, where the pins live, so the first daemon to start mounted" \
			"bpffs there, as systemd does at boot on most hosts. This run unmounts it again at the end.)"
	fi
	tell "(LIBXDP_BPFFS: libxdp keeps its lock directory there, not in /sys/fs/bpf/xdp where it would stay)"
	cmd LIBXDP_BPFFS="$XDPFS" nsenter --net=/run/netns/$NS-host cloudsteer run -v -c "$WORK/cloudsteer.yaml" \
		'>' host.log '&'
	mkdir -p "$XDPFS"
	LIBXDP_BPFFS=$XDPFS nsenter --net="/run/netns/$NS-host" cloudsteer run -v -c "$WORK/cloudsteer.yaml" \
		>"$WORK/host.log" 2>&1 &
	DAEMON_PID[host]=$!
	wait_for "$WORK/host.log" "running:" 10 ||
		fail_step "cloudsteer run to start" "it did not within 10 s" "$WORK/host.log"
	wait_for "$WORK/host.log" "instance casb-a is up" 10 && wait_for "$WORK/host.log" "instance casb-b is up" 10 ||
		fail_step "the host's health checks to find both instances up" "they did not within 10 s" "$WORK/host.log"
	echo
	grep -h "running:" "$WORK/a.log" | sed 's/^/  a.log: /'
	grep -h "running:" "$WORK/b.log" | sed 's/^/  b.log: /'
	grep -hE "attached to|running:|cloudsteer: instance casb-. is up" "$WORK/host.log" | sed 's/^/  host.log: /'
}

# ---- reading the state (JSON from the CLI, parsed by python3) ----

# inst_field ID FIELD: a field of `show instances --json` for instance ID
inst_field() {
	cloudsteer show instances --json | python3 -c '
import json, sys
for l in sys.stdin:
    o = json.loads(l)
    if o["id"] == int(sys.argv[1]):
        print(o[sys.argv[2]])' "$1" "$2"
}
# stream_field NODE FIELD: a field of NODE's entry for the download's stream
stream_field() {
	cloudsteer show streams --json --pin-dir "$PIN-$1" | python3 -c '
import json, sys
for l in sys.stdin:
    o = json.loads(l)
    if int(sys.argv[1]) in (o["lo_port"], o["hi_port"]):
        print(str(o[sys.argv[2]]).lower()); break' "$CPORT" "$2"
}
# route_field IP FIELD: a field of `show routes --json` for IP, or nothing
route_field() {
	cloudsteer show routes --json | python3 -c '
import json, sys
for l in sys.stdin:
    o = json.loads(l)
    if o["ip"] == sys.argv[1]:
        print(str(o[sys.argv[2]]).lower())' "$1" "$2"
}
dataplane_reason() {	# dataplane_reason NODE REASON: NODE's instance counter
	cloudsteer show sync --json --pin-dir "$PIN-$1" | python3 -c '
import json, sys
print(json.load(sys.stdin)["dataplane"][sys.argv[1]])' "$2"
}
would_go_to() {	# would_go_to PORT: the instance a new stream from PORT would take
	cloudsteer explain --json tcp 10.10.0.2 "$1" $SERVER 8080 | python3 -c '
import json, sys
print(json.load(sys.stdin)["stream"]["instance"])'
}
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
download_running() { [ ! -s "$WORK/download.rc" ]; }

# first_after PCAP T0: ms from T0 (epoch seconds) to the first packet in PCAP
# after it, or "?" (tcpdump writes a little after the kernel stamps)
first_after() {
	local i ms
	for i in $(seq 20); do
		ms=$(tcpdump -tt -n -r "$1" 2>/dev/null |
			awk -v t0="$2" '$1 > t0 { printf "%.0f\n", ($1 - t0) * 1000; exit }' || true)
		[ -n "$ms" ] && { echo "$ms"; return; }
		sleep 0.1
	done
	echo "?"
}
capture() {	# capture NODE FILE: the download's packets on NODE's eth0
	in_ns "$1" tcpdump -i eth0 -n -U --immediate-mode -w "$2" "tcp port 8080" >/dev/null 2>&1 &
}

# ---- the story ----

preflight
WORK=$(mktemp -d /tmp/cloudsteer-demo.XXXXXX)

step 1 "The lab: a client, the cloudsteer host, two instances and an internet"
tell "Five network namespaces joined by veth pairs; the host's own interfaces are not touched." \
	"The internet runs a real DNS server (dnsmasq) for a few cloud names, and real servers behind them." \
	"" \
	"  client 10.10.0.2 --lan-- host --wan-- internet 10.20.0.2" \
	"                          /    \\         dnsmasq; HTTP :8080 on 192.0.2.0/24, 198.51.100.0/24" \
	"                 10.30.0.2    10.31.0.2" \
	"                 instance A   instance B   (casb-a, casb-b: \`cloudsteer instance\`)" \
	"" \
	"This run's names: namespaces $NS-{client,host,a,b,internet}, pins $PIN (-a, -b)," \
	"config and logs in $WORK." \
	"To type the commands yourself meanwhile (DEMO_PAUSE=1 waits between steps):" \
	"  export PATH=$REPO/build:\$PATH CLOUDSTEER_PIN_DIR=$PIN"
build_lab
start_internet
note "dnsmasq serves app.saas.test ($SERVER) and login.saas.test (192.0.2.11), the cloud service," \
	"and news.example.test ($OTHER), all with TTL ${TTL} s; HTTP answers on every one of them"

step 2 "cloudsteer starts: \`cloudsteer run\` on the host, \`cloudsteer instance\` on A and B"
tell "One config for all three. Names under saas.test go to the chain casb: two instances, symmetric" \
	"(both directions of a stream cross its instance), health-checked every 250 ms. The instances keep" \
	"per-stream state, strict, and sync each stream to the other, so a stream survives its instance."
write_config
show cat "$WORK/cloudsteer.yaml"
start_daemons

step 3 "The client resolves app.saas.test"
tell "An ordinary DNS query from the client to the internet's dnsmasq. The answer crosses the host," \
	"where the learn XDP program reads it on the way (it never holds or changes it)."
# (asked once: a second answer would refresh the record, HITS 2)
cmd ip netns exec "$NS-client" dig +noall +answer @10.20.0.2 app.saas.test A
answer=$(in_ns client dig +noall +answer +time=2 +tries=2 @10.20.0.2 app.saas.test A)
echo "$answer"
[ "$(echo "$answer" | awk '$4 == "A" { print $5 }')" = $SERVER ] ||
	fail_step "app.saas.test to resolve to $SERVER" "dig said \"$answer\"" "$WORK/dnsmasq.log"
T_RESOLVED=$(date +%s)
show ip netns exec "$NS-client" dig +short @10.20.0.2 news.example.test A
note "the client got $SERVER for app.saas.test, and $OTHER for news.example.test (no rule names it)"

step 4 "The record and the route appear"
tell "learn made a record (name, IP, TTL) and a policy route for the IP before the client even read the" \
	"answer. The daemon logged it; \`cloudsteer show\` reads the pinned maps, and so does bpftool."
wait_for "$WORK/host.log" "learned app.saas.test $SERVER" 5 ||
	fail_step "the record app.saas.test $SERVER to be learned" "the daemon did not log it" "$WORK/host.log"
grep -h "learned app.saas.test" "$WORK/host.log" | sed 's/^/  host.log: /'
show cloudsteer show table
show cloudsteer show routes
[ "$(route_field $SERVER acl_id)" != "" ] ||
	fail_step "a route for $SERVER" "show routes has none" "$WORK/host.log"
note "record: app.saas.test $SERVER, TTL ${TTL}s; route: $SERVER, ACL id $(route_field $SERVER acl_id)"
tell "" "The same two maps, as the kernel holds them (IPv4 kept IPv4-mapped: ...,255,255,192,0,2,10):"
show bpftool map dump pinned "$PIN/cs_records"
show bpftool map dump pinned "$PIN/cs_routes"
note "bpftool map dump shows the record and the route in the pinned maps"
tell "" "And why one IP is steered and the other is not:"
show cloudsteer explain $SERVER
show cloudsteer explain $OTHER

step 5 "The client downloads from app.saas.test: steered to instance A"
tell "Each stream of the chain gets a bucket from a keyed hash of its 5-tuple; the bucket names a primary" \
	"and a secondary instance. \`explain\` computes that before the first packet: we pick a client port" \
	"whose stream goes to A, so that A is the one to die. Then a ${DL_MIB} MiB download at 1 MiB/s starts."
for CPORT in $(seq 40001 40100); do
	[ "$(would_go_to "$CPORT")" = 1 ] && break
done
[ "$(would_go_to "$CPORT")" = 1 ] || fail_step "a client port whose stream goes to instance 1 (A)" "none in 40001-40100"
show cloudsteer explain tcp 10.10.0.2 "$CPORT" $SERVER 8080
capture b "$WORK/b.pcap"
capture client "$WORK/client.pcap"
sleep 0.5
cmd "ip netns exec $NS-client curl --local-port $CPORT --resolve app.saas.test:8080:$SERVER -o download.bin http://app.saas.test:8080/big.bin &"
(
	rc=0
	in_ns client curl -sS --local-port "$CPORT" --resolve app.saas.test:8080:$SERVER \
		--speed-time 5 --speed-limit 1000 --max-time 120 -o "$WORK/download.bin" \
		http://app.saas.test:8080/big.bin 2>"$WORK/curl.err" || rc=$?
	echo $rc > "$WORK/download.rc"
) &
DOWNLOAD=$!
sleep 2.5
pa=$(inst_field 1 packets) pb=$(inst_field 2 packets)
tell "The host's side: steer's counters per instance (instance 1 is casb-a, 2 is casb-b):"
show cloudsteer show instances
[ "$pa" -gt 0 ] && [ "$pb" = 0 ] ||
	fail_step "the download on instance 1 (A) alone" "A $pa packets, B $pb" "$WORK/host.log" "$WORK/curl.err"
tell "" "The instances' side: A holds the stream; B holds the copy A synced to it:"
show cloudsteer show streams --pin-dir "$PIN-a"
show cloudsteer show streams --pin-dir "$PIN-b"
[ "$(stream_field a synced)" = false ] && [ "$(stream_field b synced)" = true ] ||
	fail_step "A to hold the stream and B a synced copy" \
		"A: synced=$(stream_field a synced), B: synced=$(stream_field b synced)" "$WORK/a.log" "$WORK/b.log"
note "steered to instance A: $pa packets through A, none through B; B holds a synced copy"

step 6 "Instance A dies; the stream moves to B"
tell "A stops answering and forwarding at once (a blackhole rule) and its daemon is killed: no goodbye," \
	"no last sync. The host's health checks notice within about a second (3 failed probes), and the next" \
	"packet of the stream goes to B, which already holds its state and takes it over."
download_running || fail_step "the download to run still" "it ended already: $(cat "$WORK/curl.err")"
T0=$(date +%s.%N)
show ip -n "$NS-a" rule add priority 1 blackhole
disown "${DAEMON_PID[a]}"	# (so that bash does not report it "Killed")
show kill -KILL "${DAEMON_PID[a]}"
wait_for "$WORK/host.log" "instance casb-a is down" 5 ||
	fail_step "the host to find A down" "it did not within 5 s" "$WORK/host.log"
grep -m1 -h "health: instance casb-a is down" "$WORK/host.log" | sed 's/^/  host.log: /'
for i in $(seq 50); do
	[ "$(inst_field 2 packets)" -gt 0 ] && break
	sleep 0.1
done
resumed=$(first_after "$WORK/b.pcap" "$T0")
sleep 1
show cloudsteer show instances
pb2=$(inst_field 2 packets)
[ "$pb2" -gt 0 ] || fail_step "the stream on instance 2 (B)" "B counted $pb2 packets" "$WORK/host.log" "$WORK/b.log"
show cloudsteer show streams --pin-dir "$PIN-b"
show cloudsteer explain tcp 10.10.0.2 "$CPORT" $SERVER 8080
[ "$(stream_field b synced)" = false ] && [ "$(dataplane_reason b taken_over)" -ge 1 ] ||
	fail_step "B to have taken the stream over" "$(cloudsteer show streams --pin-dir "$PIN-b")" "$WORK/b.log"
note "A died; the stream is on instance B now: it resumed there ${resumed} ms after the death;" \
	"B took it over (taken_over $(dataplane_reason b taken_over)) and dropped nothing (strict_drop $(dataplane_reason b strict_drop))"

step 7 "The record's TTL expires: the route stays while the download lives"
tell "The answer said ${TTL} s. When the record expires, the daemon removes it; the route would go with it," \
	"but a live flow uses it, so it is kept: TTL expiry never cuts a connection."
wait_for "$WORK/host.log" "expired app.saas.test $SERVER" $((TTL + 10)) ||
	fail_step "the record to expire after ${TTL} s" "it did not" "$WORK/host.log"
wait_for "$WORK/host.log" "route $SERVER kept" 5 ||
	fail_step "the route to be kept by the live flow" "the daemon did not say so" "$WORK/host.log"
download_running || fail_step "the download to outlive the record" "it ended first: $(cat "$WORK/curl.err")"
grep -hE "expired app.saas.test|route $SERVER kept" "$WORK/host.log" | sed 's/^/  host.log: /'
note "record expired $(($(date +%s) - T_RESOLVED)) s after the answer"
show cloudsteer show table
show cloudsteer show routes
tell "" "RECORDS 0, FLOWS 1: only the download holds the route (flags 2 in the map: kept by flows):"
show bpftool map dump pinned "$PIN/cs_routes"
[ "$(route_field $SERVER records)" = 0 ] && [ "$(route_field $SERVER flows)" -ge 1 ] ||
	fail_step "the route with no record and a flow" "$(cloudsteer show routes)" "$WORK/host.log"
b1=$(size_of "$WORK/download.bin") r1=$(route_field $SERVER bytes)
sleep 2
b2=$(size_of "$WORK/download.bin") r2=$(route_field $SERVER bytes)
[ "$b2" -gt "$b1" ] && [ "$r2" -gt "$r1" ] ||
	fail_step "the download to go on" "it received $b1 -> $b2 bytes" "$WORK/curl.err" "$WORK/host.log"
note "route kept; the connection still works: the client received $(mib "$b1") -> $(mib "$b2") in 2 s," \
	"the route counted $(mib "$r1") -> $(mib "$r2")"

step 8 "The download completes, intact"
tell "Through A, then B, with a record that expired on the way: same bytes as the server's, no reset." \
	"(It has $(mib $((DL_MIB * 1048576 - $(size_of "$WORK/download.bin")))) to go at 1 MiB/s.)"
wait "$DOWNLOAD" || true
[ "$(cat "$WORK/download.rc")" = 0 ] ||
	fail_step "the download to complete" "curl exited $(cat "$WORK/download.rc"): $(cat "$WORK/curl.err")" \
		"$WORK/host.log" "$WORK/b.log"
show sha256sum "$WORK/www/big.bin" "$WORK/download.bin"
[ "$(sha256sum < "$WORK/www/big.bin")" = "$(sha256sum < "$WORK/download.bin")" ] ||
	fail_step "the same bytes as the server's" "the sha256 differs"
sleep 0.5
resets=$(tcpdump -n -r "$WORK/client.pcap" 'tcp[tcpflags] & tcp-rst != 0' 2>/dev/null | wc -l)
[ "$resets" = 0 ] || fail_step "no reset on the client's wire" "$resets resets"
note "the stream on B completed intact: ${DL_MIB} MiB, sha256 equal, no reset"

step 9 "The connection is over: the route goes"
tell "The connection closed (FINs both ways); once its flow has lingered steer.flow_timeouts.linger (${LINGER} s" \
	"here), nothing needs the route: the daemon removes it and returns its ACL id to the pool. (A quiet" \
	"connection that is not closed keeps it: an established flow lives through days of silence.)"
wait_for "$WORK/host.log" "route $SERVER removed" $((LINGER + 10)) ||
	fail_step "the route to go once the flow is over" "it is still there" "$WORK/host.log"
grep -h "route $SERVER removed" "$WORK/host.log" | sed 's/^/  host.log: /'
show cloudsteer show routes
[ -z "$(route_field $SERVER ip)" ] || fail_step "no route for $SERVER" "$(cloudsteer show routes)"
show cloudsteer explain $SERVER
note "route removed: $SERVER is no longer steered; a new DNS answer would bring it back"

step 10 "The same story in numbers: the metrics"
tell "With \`metrics: 127.0.0.1:9477\` each daemon serves Prometheus metrics. The host's counted the" \
	"answer, the record and its expiry, the rule's traffic and each instance's share and health."
cmd "ip netns exec $NS-host curl -s http://127.0.0.1:9477/metrics | grep -E '...'"
in_ns host curl -s --max-time 5 http://127.0.0.1:9477/metrics > "$WORK/host.prom" ||
	fail_step "the host's metrics to be served" "curl failed" "$WORK/host.log"
grep -E '^cloudsteer_(dns_packets_total\{reason="learned"\}|dns_records_total\{reason="rec_learned"\}|records_expired_total|expiry_lag_max_seconds|routes_removed_total|rule_(packets|bytes)_total|instance_(packets_total|up))' \
	"$WORK/host.prom"
grep -q '^cloudsteer_records_expired_total [1-9]' "$WORK/host.prom" ||
	fail_step "the expired record in the metrics" "$(grep expired "$WORK/host.prom")"
tell "And instance B's: the stream it took over, and the sync that made it possible."
cmd "ip netns exec $NS-b curl -s http://127.0.0.1:9477/metrics | grep -E '...'"
in_ns b curl -s --max-time 5 http://127.0.0.1:9477/metrics |
	grep -E '^cloudsteer_(stream_packets_total\{reason="(tracked|taken_over|strict_drop)"\}|sync_(installed|streams_received)_total)'
note "every number above is a Prometheus series; scrape it with: targets: [\"127.0.0.1:9477\"]"

step 11 "Clean up"
tell "Every process in the lab is stopped, the namespaces, pins, lock files and temp dir removed."
# (the exit trap does it, also on failure, Ctrl-C and SIGTERM, and checks it)
