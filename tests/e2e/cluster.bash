# cluster.bash - the lab of a cluster of two steering gateways and a real
# three-member etcd, in network namespaces. Source it.
#
#                  +-- lan 10.10.0.0/24 -- gw1 -- wan 10.20.0.0/24 --+
#   cli 10.10.0.2 -+                        |  \                     +- inet 10.20.0.2, 10.21.0.2
#       10.11.0.2 -+-- lan 10.11.0.0/24 -- gw2 -- wan 10.21.0.0/24 --+  (dnsmasq on both; every
#                                            |  |                         address it names is local,
#                              svc 10.30.0.0/24 (a bridge):               a TCP echo on :9000)
#                              gw1 .1, gw2 .2, casb-a .11, casb-b .12 (...)
#                              mgmt 10.40.0.0/24 (a bridge in the etcd namespace):
#                              etcd members .1 .2 .3, gw1 .11, gw2 .12,
#                              casb-a .21, casb-b .22 (...)
#
# The client asks resolver 10.20.0.2 across gw1 and 10.21.0.2 across gw2; its
# other traffic crosses gw2. So an answer that gw1 learns serves a stream
# that crosses gw2: the case the cluster exists for.
#
#   cluster_up HOST-RECORD...  build it, dnsmasq serving the records, etcd up
#   gw_config NODE [LINE...]   $LAB/NODE.yaml: learn on wan, steer on lan,
#                              names under cloud.test to chain casb (route
#                              mode, casb-a and casb-b, health: $GW_HEALTH if
#                              set), the cluster section; each LINE goes
#                              under rules: (another rule)
#   instance_serve X, instance_die X   casb-X's health target, a TCP
#                              listener on :3128 in namespace X, up or gone
#   gw_up NODE [CONFIG]        cloudsteer run in NODE's namespace, pins in
#                              $CLOUDSTEER_PIN_DIR-NODE, log $LAB/NODE.log
#   gw_stop NODE [SIGNAL]      stop it and wait (default TERM)
#   inst_config NS NODE        $LAB/NODE.yaml: gw_config's, and an instance:
#                              section: NODE is that instance, on eth0
#   inst_up NS NODE            cloudsteer instance in namespace NS (a, b, ...) as
#                              NODE; gw_stop stops it
#   cs NODE ARGS...            the CLI in NODE's namespace, on its pins
#   ns NAME CMD...             run in namespace NAME
#   etcd_member_kill I, etcd_member_back I   (tests/lib/etcd.sh's, in the lab)
#   records_on NODE            "name ip origin" lines of NODE's table
#   stream_view NODE SPORT IP  the stream from cli's 10.11.0.2:SPORT to IP:9000
#                              on NODE: "INSTANCE PRIMARY SECONDARY PINNED
#                              CODE", instances by name (INSTANCE: the one it
#                              is pinned to, or would go to now; PINNED: yes
#                              or no; CODE: its affinity code, in hex)
#   stream_instance NODE SPORT IP   its INSTANCE alone
#   inst_field NODE NAME FIELD a field of instance NAME in NODE's show instances
#   inst_packets NODE NAME     the packets NODE sent to instance NAME
#   eventually TENTHS CMD...   CMD succeeds within TENTHS tenths of a second
# Everything it made goes on exit, failure or a signal: the daemons and
# etcd, every process in the namespaces, the namespaces, the pins, the
# temporary directory.
#
# Set before sourcing, to change the lab (scripts/demo-cluster.sh does):
#   CLUSTER_INSTANCES="a b c"  the chain's instances, casb-X in namespace X at
#                              10.30.0.11, .12, ... in this order (default a b)
#   CLUSTER_EXIT=FUNCTION      what the exit trap calls instead of
#                              cluster_cleanup (it must call cluster_cleanup)
# and before gw_config:
#   GW_HEALTH="{probe: ...}"   the chain's health checks (default none: only
#                              the link is watched, and on the bridge it stays up)
#   GW_AFFINITY_KEY=HEX        the mesh's affinity key
REPO=${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$REPO/tests/lib/testing.sh"
. "$REPO/tests/lib/bpffs.sh"
. "$REPO/tests/lib/etcd.sh"
CS=${CLOUDSTEER:-$REPO/build/cloudsteer}
[ "$(id -u)" = 0 ] || { skip all "needs root"; exit 0; }
for t in dnsmasq dig socat bpftool etcd etcdctl curl python3; do
	command -v $t >/dev/null || { skip all "$t missing"; exit 0; }
done
P=csc$$
LAB=$(mktemp -d /tmp/cs-cluster.XXXXXX)
PINS=/sys/fs/bpf/cs-cluster-$$
declare -A GW_PID
read -r -a CLUSTER_INST <<< "${CLUSTER_INSTANCES:-a b}"
CLUSTER_NS=(cli gw1 gw2 inet "${CLUSTER_INST[@]}" svc etcd)
# inst_addr X: the address of instance X, by its place in CLUSTER_INSTANCES
inst_addr() {
	local i
	for i in "${!CLUSTER_INST[@]}"; do
		[ "${CLUSTER_INST[$i]}" = "$1" ] && { echo "10.30.0.$((11 + i))"; return 0; }
	done
	return 1
}

cluster_cleanup() {
	local n i
	# the daemons leave as they would (SIGTERM), and are killed if they hang
	for n in "${!GW_PID[@]}"; do
		[ -n "${GW_PID[$n]}" ] && kill -TERM "${GW_PID[$n]}" 2>/dev/null
	done
	for i in $(seq 50); do
		for n in "${!GW_PID[@]}"; do
			[ -n "${GW_PID[$n]}" ] && kill -0 "${GW_PID[$n]}" 2>/dev/null && break
			n=
		done
		[ -z "$n" ] && break
		sleep 0.1
	done
	for n in "${!GW_PID[@]}"; do
		[ -n "${GW_PID[$n]}" ] || continue
		kill -KILL "${GW_PID[$n]}" 2>/dev/null
		wait "${GW_PID[$n]}" 2>/dev/null
	done
	etcd_stop_all
	for n in "${CLUSTER_NS[@]}"; do
		ip netns pids $P-$n 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del $P-$n 2>/dev/null
	done
	rm -rf "$PINS"-* "/run/$(basename "$PINS")"* "/run/cloudsteer/$(basename "$PINS")"* "$LAB"
	bpffs_restore
}
# (again after etcd_start, which sets traps of its own)
cluster_traps() {
	trap "${CLUSTER_EXIT:-cluster_cleanup}" EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}
cluster_traps

ns() { ip netns exec $P-$1 "${@:2}"; }
link() {	# link NS1 IF1 ADDR1 NS2 IF2 ADDR2 (an empty address: none)
	ip link add $2 netns $P-$1 type veth peer name $5 netns $P-$4 || return 1
	[ -n "$3" ] && ip -n $P-$1 addr add $3 dev $2
	[ -n "$6" ] && ip -n $P-$4 addr add $6 dev $5
	ip -n $P-$1 link set $2 up && ip -n $P-$4 link set $5 up
}
# bridge NS: br0 in NS, up; bridge_port NS IF: IF joins it
bridge() { ip -n $P-$1 link add br0 type bridge && ip -n $P-$1 link set br0 up; }
bridge_port() { ip -n $P-$1 link set $2 master br0; }

eventually() {
	local i n=$1
	shift
	for i in $(seq "$n"); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

cluster_net() {
	local n i
	for n in "${CLUSTER_NS[@]}"; do
		ip netns add $P-$n && ip -n $P-$n link set lo up || return 1
		ns $n sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
	done
	link cli eth1 10.10.0.2/24 gw1 lan 10.10.0.1/24 &&
	link cli eth2 10.11.0.2/24 gw2 lan 10.11.0.1/24 &&
	link gw1 wan 10.20.0.1/24 inet eth1 10.20.0.2/24 &&
	link gw2 wan 10.21.0.1/24 inet eth2 10.21.0.2/24 || return 1
	bridge svc && bridge etcd || return 1
	link gw1 svc 10.30.0.1/24 svc p1 "" && link gw2 svc 10.30.0.2/24 svc p2 "" &&
	bridge_port svc p1 && bridge_port svc p2 || return 1
	for n in "${CLUSTER_INST[@]}"; do
		link $n eth0 "$(inst_addr $n)/24" svc p$n "" && bridge_port svc p$n &&
			ip -n $P-$n route add default via 10.30.0.2 || return 1
	done
	link gw1 mgmt 10.40.0.11/24 etcd g1 "" && link gw2 mgmt 10.40.0.12/24 etcd g2 "" || return 1
	bridge_port etcd g1 && bridge_port etcd g2 || return 1
	for i in "${!CLUSTER_INST[@]}"; do
		n=${CLUSTER_INST[$i]}
		link $n mgmt 10.40.0.$((21 + i))/24 etcd i$n "" && bridge_port etcd i$n || return 1
	done
	for n in 1 2 3; do ip -n $P-etcd addr add 10.40.0.$n/24 dev br0 || return 1; done
	# the answers across gw1, the rest across gw2
	ip -n $P-cli route add 10.20.0.2/32 via 10.10.0.1 &&
	ip -n $P-cli route add default via 10.11.0.1 &&
	ip -n $P-inet route add 10.10.0.0/24 via 10.20.0.1 &&
	ip -n $P-inet route add 10.11.0.0/24 via 10.21.0.1 &&
	ip -n $P-inet route add 10.30.0.0/24 via 10.21.0.1 || return 1
	ip -n $P-gw1 route add 192.0.2.0/24 via 10.20.0.2 && ip -n $P-gw1 route add 198.18.0.0/15 via 10.20.0.2 &&
	ip -n $P-gw2 route add 192.0.2.0/24 via 10.21.0.2 && ip -n $P-gw2 route add 198.18.0.0/15 via 10.21.0.2 &&
	ip -n $P-inet route add local 192.0.2.0/24 dev lo && ip -n $P-inet route add local 198.18.0.0/15 dev lo
}

cluster_up() {
	local r records=() i
	cluster_net || return 1
	for r in "$@"; do
		case $r in --*) records+=("$r") ;; *) records+=("--host-record=$r") ;; esac
	done
	ns inet dnsmasq --no-resolv --no-hosts --keep-in-foreground --conf-file=/dev/null \
		--pid-file="$LAB/dnsmasq.pid" --listen-address=10.20.0.2,10.21.0.2 \
		--bind-interfaces --local-ttl=300 "${records[@]}" >"$LAB/dnsmasq.log" 2>&1 &
	ns inet socat TCP-LISTEN:9000,reuseaddr,fork SYSTEM:cat >"$LAB/echo.log" 2>&1 &
	ETCD_NETNS=$P-etcd ETCD_ADDRS="10.40.0.1 10.40.0.2 10.40.0.3"
	etcd_start 3 || return 1
	# etcd.sh set its own traps: the lab's does what they did, and more
	cluster_traps
	for i in $(seq 50); do
		ns cli dig +short +time=1 +tries=1 @10.20.0.2 probe.invalid >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

gw_config() {
	local node=$1 line n
	{
		cat <<YAML
learn:
  interfaces: [wan]
steer:
  interfaces: [lan]
rules:
  - match: [cloud.test]
    chain: casb
YAML
		for line in "${@:2}"; do echo "$line"; done
		cat <<YAML
chains:
  - name: casb
    mode: route
YAML
		[ -n "${GW_HEALTH:-}" ] && echo "    health: $GW_HEALTH"
		echo "    instances:"
		for n in "${CLUSTER_INST[@]}"; do
			echo "      - {name: casb-$n, address: $(inst_addr $n)}"
		done
		cat <<YAML
mesh:
  affinity_key: ${GW_AFFINITY_KEY:-00112233445566778899aabbccddeeff}
metrics: 127.0.0.1:9477
cluster:
  name: lab
  node: $node
  endpoints: [http://10.40.0.1:2379, http://10.40.0.2:2379, http://10.40.0.3:2379]
  lease_ttl: 3s
  dial_timeout: 300ms
  request_timeout: 1s
YAML
	} > "$LAB/$node.yaml"
	echo "$LAB/$node.yaml"
}

# The instances' health targets: a TCP listener on :3128 in namespace a
# (casb-a) or b (casb-b). instance_serve I starts it, instance_die I kills
# it (the probes are refused at once).
declare -A INST_PID
instance_serve() {
	# not through ns(): a function would run in a subshell, and $! be its
	ip netns exec $P-$1 socat TCP-LISTEN:3128,reuseaddr,fork SYSTEM:true >/dev/null 2>&1 &
	INST_PID[$1]=$!
}
instance_die() {
	[ -n "${INST_PID[$1]:-}" ] || return 0
	kill "${INST_PID[$1]}" 2>/dev/null
	wait "${INST_PID[$1]}" 2>/dev/null
	INST_PID[$1]=
}

# NODE NAME FIELD: a field of instance NAME in NODE's show instances
inst_field() {
	cs "$1" show instances --json | python3 -c '
import json, sys
for line in sys.stdin:
    i = json.loads(line)
    if i["name"] == sys.argv[1]:
        print(i[sys.argv[2]])' "$2" "$3"
}
inst_packets() { inst_field "$1" "$2" packets; }

# log_since NODE LINE TEXT: NODE's log holds TEXT from line LINE on
log_since() { tail -n +"$2" "$LAB/$1.log" 2>/dev/null | grep -q -- "$3"; }
log_lines() { wc -l < "$LAB/$1.log" 2>/dev/null || echo 0; }

gw_up() {
	local node=$1 conf=${2:-$LAB/$1.yaml} from
	touch "$LAB/$node.log"
	from=$(($(log_lines "$node") + 1))
	CLOUDSTEER_PIN_DIR=$PINS-$node nsenter --net=/run/netns/$P-$node "$CS" run -v -c "$conf" >>"$LAB/$node.log" 2>&1 &
	GW_PID[$node]=$!
	eventually 100 log_since "$node" "$from" "running:"
}

inst_config() {
	gw_config "$2" >/dev/null
	printf 'instance:\n  interfaces: [eth0]\n  name: %s\n' "$2" >> "$LAB/$2.yaml"
}

inst_up() {
	local node=$2 from
	touch "$LAB/$node.log"
	from=$(($(log_lines "$node") + 1))
	CLOUDSTEER_PIN_DIR=$PINS-$node nsenter --net=/run/netns/$P-$1 "$CS" instance -c "$LAB/$node.yaml" \
		>>"$LAB/$node.log" 2>&1 &
	GW_PID[$node]=$!
	eventually 100 log_since "$node" "$from" "running:"
}

gw_stop() {
	local node=$1
	[ -n "${GW_PID[$node]:-}" ] || return 0
	kill -"${2:-TERM}" "${GW_PID[$node]}" 2>/dev/null
	wait "${GW_PID[$node]}" 2>/dev/null
	GW_PID[$node]=
}

cs() { CLOUDSTEER_PIN_DIR=$PINS-$1 nsenter --net=/run/netns/$P-$1 "$CS" "${@:2}"; }

# "name ip origin", a line a record
records_on() {
	cs "$1" show table --json 2>/dev/null | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    print(r["name"], r["ip"], r["origin"])'
}
has_record() { records_on "$1" | grep -q "^$2 $3 ${4:-}"; }
has_route() { cs "$1" show routes --json 2>/dev/null | grep -q "\"ip\":\"$2\""; }

stream_view() {
	local ex
	ex=$(cs "$1" explain --json tcp 10.11.0.2 "$2" "$3" 9000) || return 1
	cs "$1" show instances --json | python3 -c '
import json, sys
names = {}
for line in sys.stdin:
    i = json.loads(line)
    names[i["id"]] = i["name"]
s = json.loads(sys.argv[1])["stream"]
print(names.get(s["instance"], "-"), names.get(s.get("primary"), "-"), names.get(s.get("secondary"), "-"),
      "yes" if s["pinned"] else "no", "%08x" % s["code"])' "$ex"
}
stream_instance() {
	local v
	v=$(stream_view "$@") || return 1
	v=${v%% *}
	[ "$v" != - ] && echo "$v"
}

# a metric's value, scraped in NODE's namespace
metric() { ns "$1" curl -s -m 2 http://127.0.0.1:9477/metrics | awk -v m="$2" '$1 == m { print $2 }'; }

etcd_member_kill() { etcd_kill "$1"; }
etcd_member_back() { etcd_restart "$1"; }
