# mesh.bash - the five-namespace lab of the steering tests. Source it.
#
#   cli 10.10.0.2 --lan-- host --wan-- inet 10.20.0.2 (dnsmasq, TCP echo on :9000)
#                          |  \
#                     10.30.0.2  10.31.0.2   instances a and b (forwarding routers)
#
#   mesh_up HOST-RECORD...   build it; dnsmasq in inet serves the records, and
#                            every address they name answers on inet's lo
#                            (an argument that begins with -- is a dnsmasq
#                            option of its own, --cname=... say)
#   mesh_instance NAME NET   one more instance namespace, NAME, joined to the
#                            host by iNAME: 10.NET.0.2, the host 10.NET.0.1
#                            (a and b are 10.30 and 10.31)
#   ns NAME CMD...           run in namespace NAME (cli, host, a, b, inet,
#                            and those mesh_instance made)
#   casb_config SUFFIX [LINE...]  $LAB/cs.yaml: learn on wan, steer on lan, names
#                            under SUFFIX to chain casb (route mode, instances
#                            casb-a and casb-b); each LINE is added to the chain
#   daemon_up CONFIG         cloudsteer run on the host; log in $LAB/daemon.log
#                            (DAEMON_FLAGS=-v: with the per-record lines)
#   inst_up NAME CONFIG      a fresh `cloudsteer instance` in namespace NAME (a
#                            or b), pinned in $CLOUDSTEER_PIN_DIR-NAME, log in
#                            $LAB/NAME.log
#   inst NAME CLI-ARGS...    the CLI against instance NAME's pins
#   kill_inst NAME           the node dies: no answers, no forwarding, no sync
#   revive NAME              it answers and forwards again (inst_up restarts it)
#   mesh_fresh CONFIG        the host daemon and both instance daemons, fresh,
#                            and up: the host's health checks see both
#   inst_packets ID          packets steer sent instance ID, from the pins
#   flow_counter NAME        steer's counter NAME (show stats)
#   xdp_carried WHAT         a check: XDP carried most steered packets, TC some
#   first_after PCAP T0      ms from T0 (epoch seconds) to the first packet in
#                            PCAP after it, or "none" within 3 s
# Everything it made goes on exit, failure or a signal: processes inside the
# namespaces, the namespaces, the pins and the temp dir.
REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$REPO/tests/lib/testing.sh"
. "$REPO/tests/lib/bpffs.sh"
CS=$REPO/build/cloudsteer
XDP_PASS=$REPO/build/tests/prog/bpf/xdp_pass.bpf.o	# tests/prog/xdp_pass.bpf.c
[ "$(id -u)" = 0 ] || { skip all "needs root"; exit 0; }
for t in dnsmasq dig socat tcpdump bpftool; do
	command -v $t >/dev/null || { skip all "$t missing"; exit 0; }
done
P=cst$$
LAB=$(mktemp -d /tmp/cs-mesh.XXXXXX)
export CLOUDSTEER_PIN_DIR=/sys/fs/bpf/cs-mesh-$$
MESH_EXTRA=()	# the namespaces mesh_instance made
cleanup() {
	pkill -P $$ 2>/dev/null	# whatever this script started outside the namespaces
	for n in cli host a b inet "${MESH_EXTRA[@]}"; do
		ip netns pids $P-$n 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del $P-$n 2>/dev/null
	done
	# the instance daemons pin in $CLOUDSTEER_PIN_DIR-NAME (instance.sh)
	rm -rf "$CLOUDSTEER_PIN_DIR" "$CLOUDSTEER_PIN_DIR"-* "/run/$(basename "$CLOUDSTEER_PIN_DIR")"* "$LAB" \
		"/run/cloudsteer/$(basename "$CLOUDSTEER_PIN_DIR")"*
	bpffs_restore
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ns() { ip netns exec $P-$1 "${@:2}"; }
link() {	# link NS1 IF1 ADDR1 NS2 IF2 ADDR2
	ip link add $2 netns $P-$1 type veth peer name $5 netns $P-$4
	ip -n $P-$1 addr add $3 dev $2 && ip -n $P-$1 link set $2 up
	ip -n $P-$4 addr add $6 dev $5 && ip -n $P-$4 link set $5 up
	# for steer's XDP fast path (steer.xdp: on in the tests' configs):
	# checksums sent whole, as from a NIC (XDP cannot finish what a veth's
	# sender leaves to offload); and a program on the far end of the host's
	# veths, which gives the host's end the ndo_xdp_xmit XDP redirects to
	ns $1 ethtool -K $2 tx off >/dev/null 2>&1
	ns $4 ethtool -K $5 tx off >/dev/null 2>&1
	if [ "$1" = host ]; then ip -n $P-$4 link set dev $5 xdpdrv obj "$XDP_PASS" sec xdp; fi
	if [ "$4" = host ]; then ip -n $P-$1 link set dev $2 xdpdrv obj "$XDP_PASS" sec xdp; fi
}

mesh_up() {
	local n r records=()
	for n in cli host a b inet; do
		ip netns add $P-$n && ip -n $P-$n link set lo up
		ns $n sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	done
	link cli eth0 10.10.0.2/24 host lan 10.10.0.1/24
	link host wan 10.20.0.1/24 inet eth0 10.20.0.2/24
	link host ia 10.30.0.1/24 a eth0 10.30.0.2/24
	link host ib 10.31.0.1/24 b eth0 10.31.0.2/24
	ip -n $P-cli route add default via 10.10.0.1
	ip -n $P-inet route add default via 10.20.0.1
	ip -n $P-a route add default via 10.30.0.1
	ip -n $P-b route add default via 10.31.0.1
	ip -n $P-host route add 192.0.2.0/24 via 10.20.0.2
	ip -n $P-host route add 198.18.0.0/15 via 10.20.0.2
	for r in "$@"; do
		case $r in --*) records+=("$r") ;; *) records+=("--host-record=$r") ;; esac
	done
	# every address the records name is local in inet (any-IP), where the
	# echo server listens on all of them
	ip -n $P-inet route add local 192.0.2.0/24 dev lo
	ip -n $P-inet route add local 198.18.0.0/15 dev lo
	# (its own pid file and no config file: the host's dnsmasq is none of its business)
	ns inet dnsmasq --no-resolv --no-hosts --keep-in-foreground --conf-file=/dev/null \
		--pid-file="$LAB/dnsmasq.pid" --listen-address=10.20.0.2 \
		--bind-interfaces --local-ttl=300 "${records[@]}" >"$LAB/dnsmasq.log" 2>&1 &
	ns inet socat TCP-LISTEN:9000,reuseaddr,fork SYSTEM:cat >"$LAB/socat-server.log" 2>&1 &
	for n in $(seq 50); do
		ns cli dig +short +time=1 +tries=1 @10.20.0.2 probe.invalid >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

mesh_instance() {
	ip netns add $P-$1 && ip -n $P-$1 link set lo up || return 1
	MESH_EXTRA+=("$1")
	ns $1 sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	link host i$1 10.$2.0.1/24 $1 eth0 10.$2.0.2/24
	ip -n $P-$1 route add default via 10.$2.0.1
}

casb_config() {
	local line
	cat > "$LAB/cs.yaml" <<YAML
learn:
  interfaces: [wan]
steer:
  interfaces: [lan]
  xdp: on
rules:
  - match: [$1]
    chain: casb
chains:
  - name: casb
    mode: route
    instances:
      - {name: casb-a, address: 10.30.0.2}
      - {name: casb-b, address: 10.31.0.2}
YAML
	for line in "${@:2}"; do echo "    $line" >> "$LAB/cs.yaml"; done
}

daemon_up() {
	# shellcheck disable=SC2086 # DAEMON_FLAGS: words, e.g. -v for the
	# per-record lines (and libbpf's)
	nsenter --net=/run/netns/$P-host "$CS" run ${DAEMON_FLAGS:-} -c "$1" >"$LAB/daemon.log" 2>&1 &
	wait_log "running:" 50
}

declare -A INST_PID
inst_up() {
	local pins=$CLOUDSTEER_PIN_DIR-$1
	rm -rf "$pins"
	: > "$LAB/$1.log"
	CLOUDSTEER_PIN_DIR=$pins nsenter --net=/run/netns/$P-$1 "$CS" instance -c "$2" >"$LAB/$1.log" 2>&1 &
	INST_PID[$1]=$!
	wait_in "$LAB/$1.log" "running:" 50
}
inst() {
	CLOUDSTEER_PIN_DIR=$CLOUDSTEER_PIN_DIR-$1 "$CS" "${@:2}"
}
kill_inst() {
	ip -n $P-$1 rule add priority 1 blackhole
	ip -n $P-$1 -6 rule add priority 1 blackhole
	kill -KILL "${INST_PID[$1]}" 2>/dev/null
}
revive() {
	ip -n $P-$1 rule del priority 1 blackhole 2>/dev/null
	ip -n $P-$1 -6 rule del priority 1 blackhole 2>/dev/null
}
mesh_fresh() {
	local n
	for n in a b; do kill -KILL "${INST_PID[$n]}" 2>/dev/null; revive $n; done
	ip netns pids $P-host | xargs -r kill -TERM 2>/dev/null
	sleep 0.3
	nsenter --net=/run/netns/$P-host "$CS" detach -c "$1" >/dev/null 2>&1
	inst_up a "$1" && inst_up b "$1" || return 1
	daemon_up "$1" && wait_log "instance casb-a is up" 30 && wait_log "instance casb-b is up" 30
}

# flow_counter NAME: steer's counter NAME (show stats), e.g. xdp_steered
flow_counter() { "$CS" show stats --json | jq "select(.flow_counter == \"$1\") | .count"; }

# xdp_carried WHAT: pass when steer's XDP fast path carried most of the
# packets steered so far and TC the first ones of each stream (the counters
# per path), fail otherwise
xdp_carried() {
	local x t
	x=$(flow_counter xdp_steered); t=$(flow_counter tc_steered)
	[ "${x:-0}" -gt "${t:-0}" ] && [ "${t:-0}" -gt 0 ] &&
		pass "$1: the XDP fast path carried the established streams, TC their first packets (xdp $x, tc $t)" ||
		fail "$1: which path carried the packets" "xdp ${x:-?}, tc ${t:-?}; $(grep 'steer:' "$LAB/daemon.log")"
}

inst_packets() {
	bpftool -j map dump pinned "$CLOUDSTEER_PIN_DIR/cs_inst_stats" | python3 -c '
import json, sys
want = int(sys.argv[1])
for e in json.load(sys.stdin):
    f = e["formatted"]
    if f["key"] == want:
        print(sum(v["value"]["packets"] for v in f["values"]))' "$1"
}

# (the kernel stamps each packet when it arrives; tcpdump writes it a little
# later, so the file is read again until one shows up)
first_after() {
	local i ms
	for i in $(seq 30); do
		ms=$(tcpdump -tt -n -r "$1" 2>/dev/null |
			awk -v t0="$2" '$1 > t0 { printf "%.1f\n", ($1 - t0) * 1000; exit }')
		[ -n "$ms" ] && { echo "$ms"; return; }
		sleep 0.1
	done
	echo none
}
