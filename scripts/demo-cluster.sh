#!/bin/bash
# make demo-cluster: two steering gateways share what they learn through a
# real three-member etcd, told step by step on the cluster lab of the tests
# (tests/e2e/cluster.bash):
#
#                  +-- lan 10.10.0.0/24 -- gw1 -- wan 10.20.0.0/24 --+
#   client --------+                        |                        +- internet: dnsmasq at
#                  +-- lan 10.11.0.0/24 -- gw2 -- wan 10.21.0.0/24 --+  10.20.0.2 and 10.21.0.2;
#                                           |                           a TCP echo on :9000
#                       svc 10.30.0.0/24: casb-a .11, casb-b .12, casb-c .13
#                       mgmt 10.40.0.0/24: etcd members .1 .2 .3
#
# The client asks the DNS server across gw1 and sends its streams across
# gw2: gw1 learns the name and publishes it in etcd, gw2 installs it and
# steers the streams to the chain. One etcd member dies: nothing changes.
# Instance casb-a dies: both gateways move its streams, each stream to the
# same survivor, each by its own computation. gw2 restarted with another
# affinity key: `show cluster` names the difference. About 25 seconds.
#
# Knobs (environment):
#   DEMO_PAUSE=1   wait for Enter before each step, when run from a terminal
#                  (default: straight through, for CI and for people who watch)
#   NO_COLOR=1     no bold headers (they are bold only on a terminal anyway)
#
# Nothing is made in the host's own network namespace. Outside the lab's
# namespaces it makes its pin directories /sys/fs/bpf/cs-cluster-PID-*, the
# daemons' lock files /run/cs-cluster-PID-*, two temp dirs (the lab's, etcd's
# data), /run/netns if `ip netns add` has to make it, and bpffs on
# /sys/fs/bpf if nothing was mounted there. All of it goes on exit, on
# failure, on Ctrl-C and on SIGTERM; the last lines say whether anything was
# left behind.
#
# (checks read "A && B || fail_step ...": fail_step exits, so that is if-not)
# shellcheck disable=SC2015
set -u
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO" || exit 1
START=$(date +%s)
SERVER=192.0.2.10	# app.cloud.test: the streams go there
OTHER=192.0.2.11	# login.cloud.test: learned while an etcd member is dead
KEY2=ffeeddccbbaa99887766554433221100	# gw2's affinity key in step 9
ETCD_DATA=		# etcd's data dir, kept here: etcd.sh forgets it when it removes it
STREAMS_PID=

. "$REPO/scripts/narrate.bash"
pause_before() { [ "$1" = 1 ] || read -r -p "(press Enter for step $1) " _ || true; }

# ---- preflight: before the lab is sourced, which would skip (exit 0) ----

demo_preflight demo-cluster ip nsenter dnsmasq dig socat curl python3 bpftool etcd etcdctl setsid setpriv \
	mountpoint

# ---- the lab: three instances, health checks, and this demo's clean-up ----

CLUSTER_INSTANCES="a b c"
CLUSTER_EXIT=demo_cleanup
. "$REPO/tests/e2e/cluster.bash"
export PATH="$REPO/build:$PATH"
# libxdp takes its lock in <bpffs>/xdp and would leave /sys/fs/bpf/xdp
# behind; in a directory of this run's pins it leaves nothing
export LIBXDP_BPFFS=$PINS-libxdp
GW_HEALTH="{probe: tcp, port: 9100, interval: 250ms, timeout: 200ms, fall: 3, rise: 2}"

demo_cleanup() {
	local rc=$?
	demo_cleanup_begin $rc
	# (disowned: bash reports no "Killed" for each job the clean-up ends)
	disown -a
	cluster_cleanup
	demo_finish $rc "namespace, process, pin, lock, mount or temp dir"
}
leftovers() {	# what of this run still exists, or nothing
	local n p
	for n in "${CLUSTER_NS[@]}"; do
		ip netns list 2>/dev/null | grep -qw -- "$P-$n" && printf 'netns %s ' "$P-$n"
	done
	for p in "$PINS"-* /run/"$(basename "$PINS")"* /run/cloudsteer/"$(basename "$PINS")"* "$LAB" $ETCD_DATA; do
		[ -e "$p" ] && printf '%s ' "$p"
	done
	pgrep -f -- "$LAB|${ETCD_DATA:-$LAB}" >/dev/null && printf 'processes of %s ' "$LAB"
	[ "$BPFFS_FOUND" = 0 ] && bpffs_here && printf 'bpffs on /sys/fs/bpf '
	return 0
}

# on NODE CMD...: print "NODE# CMD" and run CMD in NODE's namespace;
# cloudsteer there reads NODE's pins
on() {
	printf '%s# %s\n' "$1" "${*:2}"
	if [ "$2" = cloudsteer ]; then cs "$1" "${@:3}"; else ns "$1" "${@:2}"; fi
}
# the same for a command whose output is trimmed: on_grep NODE REGEX CMD...
on_grep() {
	printf "%s# %s | grep -E '%s'\n" "$1" "${*:3}" "$2"
	if [ "$3" = cloudsteer ]; then cs "$1" "${@:4}"; else ns "$1" "${@:3}"; fi | grep -E -- "$2"
}
etcdctl_on() { on etcd etcdctl --endpoints "$ETCD_ENDPOINTS" "$@"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
has_key() { ns etcd etcdctl --endpoints "$ETCD_ENDPOINTS" get --keys-only "$1" 2>/dev/null | grep -q .; }
cluster_shows() { cs "$1" show cluster -c "$LAB/$1.yaml" 2>/dev/null | grep -Eq -- "$2"; }

# ---- the client's streams: long-lived TCP connections across gw2 ----

# Each stream sends a numbered line every 100 ms to the echo server and reads
# it back; $LAB/streams.txt holds "PORT ECHOED STATE" for each, rewritten
# every 100 ms. They end, with a FIN, when $LAB/streams.stop appears.
write_streams() {
	cat > "$LAB/streams.py" <<'PY'
import os, socket, sys, threading, time
server, status, stop, ports = sys.argv[1], sys.argv[2], sys.argv[3], [int(p) for p in sys.argv[4:]]
echoed, state = {p: 0 for p in ports}, {p: "connecting" for p in ports}
def stream(port):
    try:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("10.11.0.2", port))
        s.settimeout(5)
        s.connect((server, 9000))
        # a failover holds the echo for as long as TCP takes to retransmit
        s.settimeout(20)
        f = s.makefile("rb")
        state[port] = "open"
        while not os.path.exists(stop):
            line = b"%d %d\n" % (port, echoed[port] + 1)
            s.sendall(line)
            if f.readline() != line:
                raise OSError("the echo differs")
            echoed[port] += 1
            time.sleep(0.1)
        s.shutdown(socket.SHUT_WR)
        f.read()
        state[port] = "closed"
    except OSError as e:
        state[port] = "failed:" + (str(e) or type(e).__name__).replace(" ", "_")
def write():
    with open(status + ".new", "w") as f:
        for p in ports:
            f.write("%d %d %s\n" % (p, echoed[p], state[p]))
    os.rename(status + ".new", status)
threads = [threading.Thread(target=stream, args=(p,), daemon=True) for p in ports]
for t in threads:
    t.start()
while any(t.is_alive() for t in threads):
    write()
    time.sleep(0.1)
write()
PY
}
echoed_total() { awk '{ n += $2 } END { print n + 0 }' "$LAB/streams.txt" 2>/dev/null; }
streams_ok() { [ -s "$LAB/streams.txt" ] && ! grep -qv ' open$' "$LAB/streams.txt"; }
# streams_flow SECONDS: every stream echoes more within SECONDS
streams_flow() {
	local before i
	eventually 50 streams_ok || return 1
	before=$(cat "$LAB/streams.txt")
	for ((i = 0; i < $1 * 10; i++)); do
		sleep 0.1
		streams_ok || return 1
		python3 - "$before" "$(cat "$LAB/streams.txt")" <<'PY' && return 0
import sys
old = {l.split()[0]: int(l.split()[1]) for l in sys.argv[1].splitlines()}
new = {l.split()[0]: int(l.split()[1]) for l in sys.argv[2].splitlines()}
sys.exit(0 if all(new[p] > old[p] for p in old) else 1)
PY
	done
	return 1
}

# where_table: for each stream, the instance each gateway sends it to, as
# stream_view computes it from `cloudsteer explain --json` (names, not ids:
# ids are each node's own); fails when the gateways differ
where_table() {
	local p v1 v2 same=0
	printf '%-34s %-9s %-30s %s\n' STREAM CODE "gw2 (carries it)" "gw1 (computes it)"
	for p in "${PORTS[@]}"; do
		read -r i2 _ _ pin2 code <<< "$(stream_view gw2 "$p" $SERVER)"
		read -r i1 _ _ pin1 _ <<< "$(stream_view gw1 "$p" $SERVER)"
		[ "$pin2" = yes ] && v2="pinned to $i2" || v2="would go to $i2"
		[ "$pin1" = yes ] && v1="pinned to $i1" || v1="would go to $i1"
		printf '%-34s %-9s %-30s %s\n' "10.11.0.2:$p > $SERVER:9000" "$code" "$v2" "$v1"
		[ "$i1" = "$i2" ] && [ "$i1" != - ] || same=1
	done
	return $same
}

# ---- the story ----

step 1 "The lab, and three etcd members"
tell "Eight network namespaces joined by veth pairs and two bridges; the host's own interfaces are not" \
	"touched. The client reaches the internet's DNS server across gw1 and sends everything else across" \
	"gw2: an answer that one gateway sees serves traffic that crosses the other, as with ECMP or" \
	"asymmetric paths. Without a cluster, gw2 would not know the name and the traffic would skip the chain." \
	"" \
	"  client --lan-- gw1 --wan-- internet (dnsmasq: app.cloud.test $SERVER, login.cloud.test $OTHER;" \
	"  client --lan-- gw2 --wan--           TCP echo on :9000)" \
	"                  gw1, gw2 --svc--  casb-a 10.30.0.11, casb-b 10.30.0.12, casb-c 10.30.0.13 (chain casb)" \
	"                  gw1, gw2 --mgmt-- etcd members 10.40.0.1, .2, .3" \
	"" \
	"A prompt names where a command runs: \"gw2# cloudsteer ...\" runs in gw2's namespace on gw2's pins."
if [ "$BPFFS_FOUND" = 0 ]; then
	bpffs_mount || fail_step "bpffs on /sys/fs/bpf" "mount -t bpf failed"
	tell "(Nothing was mounted on /sys/fs/bpf, where the pins live: the demo mounted bpffs there, as systemd" \
		"does at boot on most hosts. It unmounts it again at the end.)"
fi
mkdir -p "$LIBXDP_BPFFS"
cluster_up app.cloud.test,$SERVER login.cloud.test,$OTHER ||
	fail_step "the lab, dnsmasq and three etcd members to come up" "they did not" "$LAB/dnsmasq.log" \
		"${ETCD_DIR:-/nonexistent}/m0.log"
ETCD_DATA=$ETCD_DIR
tell "This run: namespaces $P-{cli,gw1,gw2,inet,a,b,c,svc,etcd}, pins $PINS-*," \
	"files in $LAB, etcd's data in $ETCD_DATA." \
	"" "Three etcd members (etcd 3.4, Debian's etcd-server) form the store; they elected a leader:"
etcdctl_on endpoint status -w table
note "three members, one leader: the store survives the loss of any one"

step 2 "gw1 and gw2 start and join the cluster"
tell "Both run \`cloudsteer run\` with one config: names under cloud.test go to the chain casb (three" \
	"instances, probed every 250 ms); the cluster section points at the three members. The configs differ" \
	"in the node's name alone:"
gw_config gw1 >/dev/null
gw_config gw2 >/dev/null
cmd "sed -n '/^rules:/,\$p' gw1.yaml"
sed -n '/^rules:/,$p' "$LAB/gw1.yaml"
cmd diff gw1.yaml gw2.yaml
diff "$LAB/gw1.yaml" "$LAB/gw2.yaml"
# the health probes' listener on every instance
for n in a b c; do
	ns $n socat TCP-LISTEN:9100,fork,reuseaddr OPEN:/dev/null >/dev/null 2>&1 &
	[ $n = a ] && PROBED_A=$!
done
for g in gw1 gw2; do
	cmd "nsenter --net=/run/netns/$P-$g cloudsteer run -v -c $g.yaml > $g.log &"
	gw_up $g || fail_step "$g to start" "it did not say running within 10 s" "$LAB/$g.log"
done
for g in gw1 gw2; do
	wait_for "$LAB/$g.log" "cluster: joined lab as $g" 10 ||
		fail_step "$g to join the cluster" "it did not say so" "$LAB/$g.log"
	grep -h "cluster: joined" "$LAB/$g.log" | sed "s/^/  $g.log: /"
done
# one of them leads the chain and writes its first map; both build from it
eventually 100 cluster_shows gw1 '^no differences' ||
	fail_step "show cluster to list gw1 and gw2, no differences" "$(cs gw1 show cluster -c "$LAB/gw1.yaml" 2>&1)"
on gw1 cloudsteer show cluster -c "$LAB/gw1.yaml"
cluster_shows gw1 '^gw2 +gateway ' ||
	fail_step "show cluster to list gw1 and gw2" "$(cs gw1 show cluster -c "$LAB/gw1.yaml" 2>&1)"
note "both gateways are members (each key on its node's lease), with the same config digest;" \
	"one of them leads the chain casb and wrote its service map, and both built the same table from it"

step 3 "The client resolves app.cloud.test through gw1; gw1 learns it and publishes it"
tell "An ordinary DNS query. The answer crosses gw1, whose learn program reads it on the way: a record," \
	"a route. gw1's daemon then writes the record to etcd, under ip/<ip>/<name>, on a lease that ends" \
	"when the record does."
t0=$(date +%s%N)
answer=$(on cli dig +noall +answer +time=2 +tries=2 @10.20.0.2 app.cloud.test A)
echo "$answer"
grep -q "A[[:space:]]*$SERVER\$" <<< "$answer" ||
	fail_step "app.cloud.test to resolve to $SERVER" "dig said \"$answer\"" "$LAB/dnsmasq.log"
wait_for "$LAB/gw1.log" "learned app.cloud.test $SERVER" 5 ||
	fail_step "gw1 to learn app.cloud.test" "it did not log it" "$LAB/gw1.log"
grep -h "learned app.cloud.test" "$LAB/gw1.log" | sed 's/^/  gw1.log: /'
on gw1 cloudsteer show table
eventually 50 has_key /cloudsteer/v1/lab/ip/$SERVER/app.cloud.test ||
	fail_step "the record in etcd" "no key ip/$SERVER/app.cloud.test" "$LAB/gw1.log"
etcdctl_on get --prefix /cloudsteer/v1/lab/ip/
note "gw1 learned app.cloud.test (FROM here) and published it: one key in etcd, by gw1"

step 4 "gw2 installs it: the route exists where the traffic will cross"
tell "gw2 watches ip/ and installs every record the others publish, with its own ACL id; \`show table\`" \
	"says where it came from (FROM cluster)."
eventually 100 has_record gw2 app.cloud.test $SERVER cluster ||
	fail_step "gw2 to install the record" "$(records_on gw2 | tr '\n' ';')" "$LAB/gw2.log"
lag=$(ms_since "$t0")
on gw2 cloudsteer show table
on gw2 cloudsteer show routes
has_route gw2 $SERVER || fail_step "a route for $SERVER on gw2" "$(cs gw2 show routes 2>&1)" "$LAB/gw2.log"
note "gw2 has the record and the route within $lag ms of the client's query, though it never saw the answer"

step 5 "The client's streams cross gw2 and are steered to the chain"
tell "Each stream gets an affinity code (a keyed hash of its 5-tuple); its bucket names a primary and a" \
	"secondary instance, by rendezvous hashing over the instances' names. \`explain\` computes that before" \
	"the first packet: the demo picks four client ports whose streams have casb-a as primary, two with" \
	"casb-b and two with casb-c as secondary, so that casb-a is the one to die in step 7."
declare -A WANT=([casb-b]=2 [casb-c]=2)
PORTS=()
for p in $(seq 40001 40400); do
	read -r _ pri sec _ _ <<< "$(stream_view gw2 "$p" $SERVER)"
	[ "$pri" = casb-a ] && [ "${WANT[$sec]:-0}" -gt 0 ] || continue
	PORTS+=("$p")
	WANT[$sec]=$((WANT[$sec] - 1))
	[ ${#PORTS[@]} = 4 ] && break
done
[ ${#PORTS[@]} = 4 ] || fail_step "four client ports of casb-a's buckets" "found ${PORTS[*]:-none} in 40001-40400"
on_grep gw2 'stream|asked' cloudsteer explain tcp 10.11.0.2 "${PORTS[0]}" $SERVER 9000
write_streams
printf '%s\n' "cli# python3 streams.py $SERVER ... ${PORTS[*]} &    (a numbered line every 100 ms, echoed back)"
ns cli python3 "$LAB/streams.py" $SERVER "$LAB/streams.txt" "$LAB/streams.stop" "${PORTS[@]}" \
	>"$LAB/streams.log" 2>&1 &
STREAMS_PID=$!
streams_flow 5 || fail_step "four streams echoing across gw2" "$(cat "$LAB/streams.txt" "$LAB/streams.log" 2>&1)"
on gw2 cloudsteer show instances
[ "$(inst_packets gw2 casb-a)" -gt 0 ] && [ "$(inst_packets gw2 casb-b)" = 0 ] &&
	[ "$(inst_packets gw2 casb-c)" = 0 ] ||
	fail_step "the streams on casb-a alone" "$(cs gw2 show instances 2>&1)" "$LAB/gw2.log"
tell "" "Where each gateway sends each stream: gw2 carries them; gw1 never saw them, but computes the same:"
where_table || fail_step "gw1 and gw2 to agree on every stream" "they differ"
note "the streams cross gw2 and go through casb-a; gw1 would send each to the same instance"

step 6 "One etcd member dies: nothing changes"
tell "The gateways talk to the first member of their list, 10.40.0.1, while it answers. It is killed" \
	"without warning; the gateways move to another member within the call. Then the client resolves" \
	"another name across gw1."
# was it the leader? (then the other two elect another first)
leader0=$(ns etcd etcdctl --endpoints "${ETCD_URL[0]}" endpoint status -w json 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)[0]["Status"]
print("yes" if s["header"]["member_id"] == s["leader"] else "no")')
cmd "kill -KILL ${ETCD_PID[0]}    # etcd member m0, at 10.40.0.1"
etcd_member_kill 0
# (etcdctl logs its retries of the dead member as JSON on stderr: trimmed)
printf "etcd# etcdctl --endpoints %s endpoint health 2>&1 | grep -E 'healthy'\n" "$ETCD_ENDPOINTS"
ns etcd etcdctl --endpoints "$ETCD_ENDPOINTS" endpoint health 2>&1 | grep -E 'healthy'
t0=$(date +%s%N)
on cli dig +short +time=2 +tries=2 @10.20.0.2 login.cloud.test A
eventually 100 has_record gw2 login.cloud.test $OTHER cluster ||
	fail_step "login.cloud.test to reach gw2 with a member dead" "$(records_on gw2 | tr '\n' ';')" "$LAB/gw1.log" "$LAB/gw2.log"
lag=$(ms_since "$t0")
on_grep gw2 'cloud.test|FROM' cloudsteer show table
on_grep gw1 '^cluster' cloudsteer show cluster -c "$LAB/gw1.yaml"
streams_flow 3 || fail_step "the streams to go on" "$(cat "$LAB/streams.txt")"
[ "$leader0" = yes ] && was=" (it was etcd's leader: the other two elected another meanwhile)" || was=
note "with one member of three dead$was, login.cloud.test reached gw2 in $lag ms; the streams never paused"

step 7 "Instance casb-a dies: both gateways move its streams, each to the same survivor"
tell "casb-a stops forwarding at once (a blackhole rule) and stops answering probes. Each gateway's" \
	"health checks find it down within about a second, on their own, and each moves the streams at" \
	"once to their bucket's secondary; casb-a's buckets are shared between casb-b and casb-c, not all" \
	"given to one. Each also publishes what it saw; the next step shows what the cluster made of it."
T0=$(date +%s%N)
on a ip rule add priority 1 blackhole
printf 'a# kill %s    # the listener that answers the probes\n' "$PROBED_A"
kill "$PROBED_A"
for g in gw1 gw2; do
	wait_for "$LAB/$g.log" "instance casb-a is down" 5 ||
		fail_step "$g to find casb-a down" "it did not within 5 s" "$LAB/$g.log"
	grep -m1 -h "instance casb-a is down" "$LAB/$g.log" | sed "s/^/  $g.log: /"
done
streams_flow 10 || fail_step "the streams to go on through the survivors" "$(cat "$LAB/streams.txt")" "$LAB/gw2.log"
moved=$(ms_since "$T0")
on_grep gw2 'stream' cloudsteer explain $SERVER
on_grep gw1 'asked' cloudsteer explain tcp 10.11.0.2 "${PORTS[0]}" $SERVER 9000
on gw2 cloudsteer show instances
tell "" "Per stream, by name:"
where_table || fail_step "gw1 and gw2 to agree on every stream after the failover" "they differ"
[ "$(inst_packets gw2 casb-b)" -gt 0 ] && [ "$(inst_packets gw2 casb-c)" -gt 0 ] ||
	fail_step "the streams shared by casb-b and casb-c" "$(cs gw2 show instances 2>&1)"
note "casb-a died; its streams echo again through casb-b and casb-c ${moved} ms after, and gw1 agrees on each"

step 8 "The agreed service map: one revision, one table, on every gateway"
tell "Each gateway published its observation at obs/casb/casb-a/<node>. The chain's leader (the" \
	"gateway that holds leader/casb, its create revision the fence) saw a majority say down and wrote" \
	"map/casb in a transaction that checks it still leads. Both gateways rebuilt their tables from that" \
	"map: the same revision and the same digest on each, as show cluster says on either of them:"
map_agreed() {
	local r1 r2 d1 d2
	r1=$(metric gw1 'cloudsteer_cluster_table_revision{chain="casb"}')
	r2=$(metric gw2 'cloudsteer_cluster_table_revision{chain="casb"}')
	d1=$(table_digest gw1) d2=$(table_digest gw2)
	[ -n "$r1" ] && [ "$r1" = "$r2" ] && [ -n "$d1" ] && [ "$d1" = "$d2" ] &&
		cluster_shows gw2 '^casb .*casb-a down' && cluster_shows gw2 '^no differences'
}
table_digest() {
	ns "$1" curl -s -m 2 http://127.0.0.1:9477/metrics |
		sed -n 's/^cloudsteer_cluster_table_info{chain="casb",digest="\([0-9a-f]*\)"} 1$/\1/p'
}
eventually 100 map_agreed ||
	fail_step "both gateways on one map revision and one table" "$(cs gw2 show cluster -c "$LAB/gw2.yaml" 2>&1)" \
		"$LAB/gw1.log" "$LAB/gw2.log"
agreed=$(ms_since "$T0")
on_grep gw2 '^(CHAIN|casb|NODE|gw[12] +casb|no differences)' cloudsteer show cluster -c "$LAB/gw2.yaml"
etcdctl_on get /cloudsteer/v1/lab/map/casb --print-value-only
note "casb-a died; within ${agreed} ms the leader's map said so and both gateways ran the table built from it" \
	"(revision $(metric gw1 'cloudsteer_cluster_table_revision{chain="casb"}'), digest $(table_digest gw1))"

step 9 "A config that disagrees: gw2 restarts with another affinity key"
tell "Each node publishes digests of the config the cluster must share (rules, chains, each mesh key's" \
	"digest, never the key). gw2 comes back with another affinity key: its streams' codes, so their" \
	"buckets, no longer match gw1's. \`show cluster\` names the difference on any node."
gw_stop gw2
GW_AFFINITY_KEY=$KEY2 gw_config gw2 >/dev/null
cmd diff gw1.yaml gw2.yaml
diff "$LAB/gw1.yaml" "$LAB/gw2.yaml"
cmd "nsenter --net=/run/netns/$P-gw2 cloudsteer run -v -c gw2.yaml >> gw2.log &"
gw_up gw2 || fail_step "gw2 to start again" "it did not say running within 10 s" "$LAB/gw2.log"
eventually 100 cluster_shows gw1 'differs: gw2: .*mesh.affinity_key' ||
	fail_step "show cluster on gw1 to name gw2's affinity key" "$(cs gw1 show cluster -c "$LAB/gw1.yaml" 2>&1)"
on gw1 cloudsteer show cluster -c "$LAB/gw1.yaml"
tell "" "The same new stream, asked of both: another code on each, so perhaps another instance:"
on_grep gw1 'asked' cloudsteer explain tcp 10.11.0.2 40999 $SERVER 9000
on_grep gw2 'asked' cloudsteer explain tcp 10.11.0.2 40999 $SERVER 9000
streams_flow 5 || fail_step "the streams pinned on gw2 to go on across its restart" "$(cat "$LAB/streams.txt")"
note "show cluster flags gw2 (*) and names mesh.affinity_key; the streams gw2 had pinned go on"

step 10 "Clean end"
touch "$LAB/streams.stop"
wait "$STREAMS_PID"
cmd cat streams.txt
cat "$LAB/streams.txt"
n=$(echoed_total)
! grep -qv ' closed$' "$LAB/streams.txt" ||
	fail_step "every stream to end cleanly" "$(cat "$LAB/streams.txt")" "$LAB/streams.log"
note "four streams, $n lines echoed, none lost across a dead etcd member, a dead instance and a restarted gateway"
tell "The gateways leave the cluster (SIGTERM revokes their leases), etcd stops, and every namespace, pin," \
	"lock file and temp dir goes."
# (the exit trap does it, also on failure, Ctrl-C and SIGTERM, and checks it)
