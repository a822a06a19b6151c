#!/bin/bash
# e2e-demo: `make demo` (scripts/demo.sh). Run straight through, it exits 0
# and its output tells every part of the story: the client resolves a name,
# the record and the route appear (in cloudsteer show and in bpftool's dump),
# the download is steered to instance A, A dies and the stream goes on
# through B intact, the record expires while the route is kept by the live
# download, and the route goes once the download is over. Interrupted with
# SIGINT (Ctrl-C) midway, it still cleans up. Either way no namespace, pin
# directory, /run file, temp dir or process of the run is left behind. The
# first run meets no bpffs on /sys/fs/bpf, as on a fresh machine.
#
# (checks read "A && pass || fail", as in the other tests)
# shellcheck disable=SC2015
export T_SUITE=e2e-demo
REPO=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=tests/lib/testing.sh
. "$REPO/tests/lib/testing.sh"
# shellcheck source=tests/lib/demotest.sh
. "$REPO/tests/lib/demotest.sh"
[ "$(id -u)" = 0 ] || { skip all "needs root"; exit 0; }
for t in dnsmasq dig socat tcpdump curl python3 bpftool; do
	command -v $t >/dev/null || { skip all "$t missing (scripts/install-deps.sh demo)"; exit 0; }
done
[ -x "$REPO/${BUILD:-build}/cloudsteer" ] || { fail build "no ${BUILD:-build}/cloudsteer: run make first"; t_exit; }
OUT=$(mktemp -d /tmp/cs-demo-test.XXXXXX)
trap 'rm -rf "$OUT"' EXIT

# run_id OUTPUT: the run's id (the demo's pid), as its output names it
run_id() { sed -n 's/.*namespaces csdemo-\([0-9]*\)-.*/\1/p' "$1" | head -1; }
# run_tmp OUTPUT: the run's temp dir, as its output names it
run_tmp() { grep -o '/tmp/cloudsteer-demo\.[A-Za-z0-9]*' "$1" | head -1; }

# leftovers ID TMP: whatever of run ID still exists, or nothing
leftovers() {
	local id=$1 tmp=$2 p
	ip netns list | grep -o "csdemo-$id-[a-z]*" | sed 's/^/netns /'
	for p in /sys/fs/bpf/cloudsteer-demo-"$id" /sys/fs/bpf/cloudsteer-demo-"$id"-* \
		/run/cloudsteer-demo-"$id".* /run/cloudsteer-demo-"$id"-* \
		/run/cloudsteer/cloudsteer-demo-"$id".* /run/cloudsteer/cloudsteer-demo-"$id"-* $tmp; do
		[ -e "$p" ] && echo "$p"
	done
	# a process of the run names its pins or its temp dir on its command line
	pgrep -af "cloudsteer-demo-${id}[-. ]|cloudsteer-demo-${id}\$${tmp:+|$tmp}" | sed 's/^/process /'
	return 0
}
check_nothing_left() {	# check_nothing_left WHAT OUTPUT
	local id tmp left
	id=$(run_id "$2") tmp=$(run_tmp "$2")
	[ -n "$id" ] || { fail "$1: the output names the run" "$(head -20 "$2")"; return; }
	left=$(leftovers "$id" "$tmp")
	[ -z "$left" ] && pass "$1: nothing of run $id is left (netns, pins, /run files, temp dir, processes)" ||
		fail "$1: nothing is left behind" "$left"
}

# says TEXT-REGEX WHAT: the full run's output holds an (extended) regex
says() { demo_says "$OUT/full.txt" "$@"; }

# ---- 1. straight through, on a machine with nothing on /sys/fs/bpf ----
# (a mount namespace of its own, in which /sys/fs/bpf is unmounted first:
# what `sudo make demo` meets on a fresh machine)
demo_fresh "$REPO/scripts/demo.sh" "$OUT/full.txt"
rc=$DEMO_RC secs=$DEMO_SECS
echo "    stats: demo_seconds=$secs"
if [ $rc = 0 ]; then
	pass "the demo runs through and exits 0 (${secs}s)"
else
	fail "the demo runs through and exits 0" "exit $rc; last lines: $(tail -25 "$OUT/full.txt")"
fi
says '^== 3\. The client resolves app\.saas\.test' "the client resolves the name"
says '^app\.saas\.test\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+A[[:space:]]+192\.0\.2\.10$' "dig's answer"
says 'learned app\.saas\.test 192\.0\.2\.10 for app\.saas\.test' "the record is learned (the daemon's log)"
says '^app\.saas\.test +192\.0\.2\.10 +saas\.test +15 ' "the record in show table"
says '^192\.0\.2\.10 +1 +1 +saas\.test +1 ' "the route in show routes"
says '^\$ bpftool map dump pinned /sys/fs/bpf/cloudsteer-demo-[0-9]+/cs_records$' "the bpftool dump of the records"
says '"b": \[0,0,0,0,0,0,0,0,0,0,255,255,192,0,2,10' "the address in bpftool's dump"
says 'it would go to 1$' "explain says where the stream will go"
says '^-> steered to instance A: [1-9][0-9]* packets through A, none through B' "steered to A, counted on the host"
says '^tcp +10\.10\.0\.2:[0-9]+ +192\.0\.2\.10:8080 +established +[0-9a-f]{8} +here ' "A holds the stream (show streams)"
says 'synced from #1' "B holds A's synced copy (show streams)"
says 'health: instance casb-a is down' "A dies and the host notices"
says 'pinned to 2 \(up\)' "the stream is pinned to B (explain)"
says '^-> A died; the stream is on instance B now: it resumed there [0-9]+ ms after the death' "the stream moves to B"
says 'taken_over [1-9]' "B took the stream over"
says 'expired app\.saas\.test 192\.0\.2\.10' "the record expires"
says 'route 192\.0\.2\.10 kept: its records expired, a flow still uses it' "the route is kept by the live flow"
says '^-> route kept; the connection still works' "the connection works while only the flow holds the route"
says '^-> the stream on B completed intact: 30 MiB, sha256 equal, no reset' "the download completes intact"
says 'route 192\.0\.2\.10 removed: no record or flow needs it' "the route goes once the flow is over"
says '^192\.0\.2\.10: not steered' "explain says the IP is no longer steered"
says '^cloudsteer_records_expired_total [1-9]' "the host's metrics count the expired record"
says '^cloudsteer_rule_packets_total\{rule="1"\} [1-9]' "the host's metrics count the rule's packets"
says '^cloudsteer_stream_packets_total\{reason="taken_over"\} [1-9]' "B's metrics count the takeover"
says 'left nothing behind' "the demo says it left nothing behind"
says 'bpffs: nothing was mounted on /sys/fs/bpf, so mounted bpffs there' "a daemon mounts bpffs, where nothing was"
grep -q "demo test: bpffs is still mounted" "$OUT/full.txt" && fail "the demo unmounts the bpffs its daemons mounted" ||
	pass "the demo unmounts the bpffs its daemons mounted"
sums=$(grep -cE '^[0-9a-f]{64}  ' "$OUT/full.txt")
[ "$(grep -E '^[0-9a-f]{64}  ' "$OUT/full.txt" | cut -c1-64 | sort -u | wc -l)" = 1 ] && [ "$sums" = 2 ] &&
	pass "the two sha256 sums shown are equal" || fail "the two sha256 sums shown are equal" "$(grep -E '^[0-9a-f]{64}' "$OUT/full.txt")"
grep -o 'resumed there [0-9]* ms' "$OUT/full.txt" | sed 's/resumed there \([0-9]*\) ms/    stats: demo_resume_ms=\1/'
check_nothing_left "straight through" "$OUT/full.txt"

# ---- 2. interrupted with SIGINT once the lab is up: Ctrl-C ----
# in step 2, as the host's daemon starts (the instances run, their pins exist)
demo_interrupt "$REPO/scripts/demo.sh" "$OUT/int.txt" "cloudsteer run -v -c" 2 4
check_nothing_left "interrupted" "$OUT/int.txt"
t_exit
