#!/bin/bash
# e2e-demo-cluster: `make demo-cluster` (scripts/demo-cluster.sh). Run
# straight through, as on a fresh machine (nothing on /sys/fs/bpf), it exits
# 0 and its output tells every part of the story: three etcd members, both
# gateways join (show cluster), the client resolves a name across gw1, gw1
# publishes it and gw2 installs it (FROM cluster), the streams across gw2 are
# steered and gw1 computes the same instance for each, an etcd member dies
# and the next record still reaches gw2, an instance dies and both gateways
# move each stream to the same survivor, show cluster names gw2's other
# affinity key, and the streams end cleanly. Interrupted with SIGINT while
# the streams run, it still cleans up. Either way no namespace, pin, /run
# file, temp dir, etcd data or process of the run is left behind.
#
# (checks read "A && pass || fail", as in the other tests)
# shellcheck disable=SC2015
export T_SUITE=e2e-demo-cluster
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/lib/testing.sh
. "$REPO/tests/lib/testing.sh"
# shellcheck source=tests/lib/demotest.sh
. "$REPO/tests/lib/demotest.sh"
[ "$(id -u)" = 0 ] || { skip all "needs root"; exit 0; }
for t in dnsmasq dig socat curl python3 bpftool etcd etcdctl; do
	command -v $t >/dev/null || { skip all "$t missing (scripts/install-deps.sh demo-cluster)"; exit 0; }
done
[ -x "$REPO/${BUILD:-build}/cloudsteer" ] || { fail build "no ${BUILD:-build}/cloudsteer: run make first"; t_exit; }
OUT=$(mktemp -d /tmp/cs-demo-cluster-test.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

# what the run names in its first step: its id (the demo's pid), its lab's
# temp dir and etcd's data dir
run_id() { sed -n 's/.*namespaces csc\([0-9]*\)-.*/\1/p' "$1" | head -1; }
run_dirs() { grep -oE '/tmp/cs-(cluster|etcd)\.[A-Za-z0-9]+' "$1" | sort -u; }

# leftovers ID DIRS: whatever of run ID still exists, or nothing
leftovers() {
	local id=$1 dirs=$2 p
	ip netns list | grep -o "csc$id-[a-z0-9]*" | sed 's/^/netns /'
	for p in /sys/fs/bpf/cs-cluster-"$id"-* /run/cs-cluster-"$id"* /run/cloudsteer/cs-cluster-"$id"* $dirs; do
		[ -e "$p" ] && echo "$p"
	done
	# a process of the run names its config, its pins or etcd's data on its
	# command line
	for p in "cs-cluster-$id-" $dirs; do
		pgrep -af -- "$p" | sed 's/^/process /'
	done
	return 0
}
check_nothing_left() {	# check_nothing_left WHAT OUTPUT
	local id dirs left
	id=$(run_id "$2") dirs=$(run_dirs "$2")
	[ -n "$id" ] && [ "$(echo "$dirs" | wc -w)" = 2 ] ||
		{ fail "$1: the output names the run and its two temp dirs" "$(head -20 "$2")"; return; }
	left=$(leftovers "$id" "$dirs")
	[ -z "$left" ] && pass "$1: nothing of run $id is left (netns, pins, /run files, temp dirs, processes)" ||
		fail "$1: nothing is left behind" "$left"
}
says() { demo_says "$OUT/full.txt" "$@"; }

# ---- 1. straight through, on a machine with nothing on /sys/fs/bpf ----
demo_fresh "$REPO/scripts/demo-cluster.sh" "$OUT/full.txt"
echo "    stats: demo_cluster_seconds=$DEMO_SECS"
[ $DEMO_RC = 0 ] && pass "the demo runs through and exits 0 (${DEMO_SECS}s)" ||
	fail "the demo runs through and exits 0" "exit $DEMO_RC; last lines: $(tail -25 "$OUT/full.txt")"
says '^\| http://10\.40\.0\.3:2379 \|' "three etcd members (etcdctl endpoint status)"
says 'cluster: joined lab as gw2 at http://10\.40\.0\.[123]:2379' "gw2 joins (its log)"
says '^gw2 +gateway .* ip +10\.11\.0\.1,' "show cluster lists gw2"
says '^app\.cloud\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.10$' "dig's answer across gw1"
says '^app\.cloud\.test +192\.0\.2\.10 +cloud\.test +300 .* here$' "gw1's record, learned here"
says '^\{"pattern":"cloud\.test",.*"by":"gw1"\}$' "the record's key in etcd, by gw1"
says '^app\.cloud\.test +192\.0\.2\.10 +cloud\.test +300 .* cluster$' "gw2's copy, from the cluster"
says '^192\.0\.2\.10 +[0-9]+ +1 +cloud\.test +1 ' "gw2's route"
says '^-> gw2 has the record and the route within [0-9]+ ms' "gw2 has it in time"
says '^10\.11\.0\.2:4[0-9]{4} > 192\.0\.2\.10:9000 +[0-9a-f]{8} +pinned to casb-a +would go to casb-a$' \
	"a stream pinned to casb-a on gw2, and gw1 would send it there"
says 'is unhealthy' "etcdctl says the killed member is unhealthy"
says '^login\.cloud\.test +192\.0\.2\.11 .* cluster$' "the record learned with a member dead reaches gw2"
says 'health: instance casb-a is down' "casb-a dies and the gateways notice"
says '^10\.11\.0\.2:4[0-9]{4} > 192\.0\.2\.10:9000 +[0-9a-f]{8} +pinned to casb-b +would go to casb-b$' \
	"a stream moved to casb-b on both gateways"
says '^10\.11\.0\.2:4[0-9]{4} > 192\.0\.2\.10:9000 +[0-9a-f]{8} +pinned to casb-c +would go to casb-c$' \
	"a stream moved to casb-c on both gateways"
says '^casb +gw[12] +[0-9]+ +[0-9]+ +casb-a down \(2 of 2 say down\)' "the agreed map: casb-a down, as both gateways say"
says '^gw1 +casb +[0-9]+ +[0-9a-f]{16}$' "gw1's table, from the agreed map"
says '^-> casb-a died; within [0-9]+ ms the leader.s map said so and both gateways ran the table built from it' \
	"both gateways on one map revision and one digest"
says '^\{.*"casb-a".*"down"' "the map's value in etcd"
says '^gw2 +gateway +[^ ]+ +[0-9]+s/3s +[0-9a-f]{16} \* ' "show cluster flags gw2's config"
says "^differs: gw2: its config differs from this node's \(gw1\) in mesh\.affinity_key$" \
	"show cluster names the affinity key"
says '^-> four streams, [0-9]+ lines echoed, none lost' "the streams end cleanly"
says 'left nothing behind' "the demo says it left nothing behind"
says "^\(Nothing was mounted on /sys/fs/bpf" "it mounts bpffs where nothing was"
grep -q "demo test: bpffs is still mounted" "$OUT/full.txt" && fail "the demo unmounts the bpffs it mounted" ||
	pass "the demo unmounts the bpffs it mounted"
check_nothing_left "straight through" "$OUT/full.txt"

# ---- 2. interrupted with SIGINT while the streams run: Ctrl-C ----
demo_interrupt "$REPO/scripts/demo-cluster.sh" "$OUT/int.txt" "cli# python3 streams.py" 5 5
check_nothing_left "interrupted" "$OUT/int.txt"
t_exit
