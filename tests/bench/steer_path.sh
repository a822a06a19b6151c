#!/bin/bash
# steer_path.sh OUT.json - the steer_path part of make bench (contract: run.sh):
# packets per second through a steering host for steered traffic, cloudsteer
# route mode against the classic recipe (nftables set + mark + ip rule), on
# TC (steer.xdp: off) and on its XDP fast path (steer.xdp: on, host cx).
#
#                     +-- gcs --- lan [cs] inst --- ics --+        [cs] cloudsteer run, steer on lan
#                     |               wan --- ocs --+     |        [cl] nft set -> mark -> ip rule
#   [gen] livegen ----+-- gcl --- lan [cl] inst --- icl --+ [inst] [pl] a plain route, no policy
#      (CPU pinned)   |               wan --- ocl --+     |  XDP   (gdir: no host at all)
#                     +-- gpl --- lan [pl] inst --- ipl --+  sink
#                     |               wan --- opl --+     |
#                     +-- gcx --- lan [cx] inst --- icx --+        [cx] cloudsteer run, steer_xdp on lan
#                     |               wan --- ocx --+     |
#                     +-- gdir ---------------------- idir+
#                                           [orig] XDP sink, dnsmasq (what is not steered goes here)
#
# One steering host per way, built alike, so the ways can take turns
# without restarting anything: the generator picks the host by the veth it
# sends from. cloudsteer learns the service addresses from a real answer
# (dig from gen, through its host, to dnsmasq in orig); the classic host's
# set holds the addresses the daemon learned.
#
# The generator (livegen) sends by live frames where the kernel allows them
# and by an AF_PACKET socket where it refuses them (some builds do, with
# EPERM); livegen --probe picks once, every sample of the run uses the same
# one, and every row says which ("generator"). SP_GENERATOR forces one.
#
# Where the work happens: with live frames, livegen's XDP_TX hands each batch
# to the host's lan veth (ndo_xdp_xmit), whose NAPI runs when livegen's
# BPF_PROG_TEST_RUN enables bottom halves again, on livegen's CPU; with
# AF_PACKET, each frame is an skb that the veth hands to the same NAPI when
# the send enables bottom halves. Either way the host forwards the frames
# (steer, or IP + nftables + rules), and its veth_xmit wakes the instance's
# NAPI on the same CPU. So the whole path runs in softirq on the one CPU
# livegen is pinned to, and pps is that CPU's rate for generator + host +
# sink; the direct way (no host) gives the rest.
#
# Env: BENCH_QUICK=1 (one short round, figures meaningless: a smoke test),
# SP_ROUNDS, SP_SECONDS (window per sample), SP_WARMUP, SP_FLOWS ("1 10000"),
# SP_CPU (the generator's CPU; default the last one), SP_WAYS (a subset of
# "cs cx cl pl dir", for profiling one way), SP_GENERATOR (live_frames or
# af_packet; default: what livegen --probe picks).
set -u
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$REPO/tests/lib/bpffs.sh"
BUILD=${BUILD:-$REPO/build}
BENCH_DIR=${BENCH_DIR:-$BUILD/bench}
CS=${CS:-$BUILD/cloudsteer}
LIVEGEN=$BENCH_DIR/livegen
PY=/usr/bin/python3
OUT=${1:-}

die() { echo "steer_path: $*" >&2; exit 1; }
[ -n "$OUT" ] || die "usage: steer_path.sh OUT.json"
[ "$(id -u)" = 0 ] || die "needs root"
for t in nft dnsmasq dig ethtool taskset nsenter jq; do
	command -v $t >/dev/null || die "$t missing"
done
if [ ! -x "$CS" ] || [ ! -x "$LIVEGEN" ]; then
	die "build first: make bench-build ($CS, $LIVEGEN)"
fi

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	ROUNDS=${SP_ROUNDS:-1} WINDOW=${SP_SECONDS:-0.3} WARMUP=${SP_WARMUP:-0.1}
else
	ROUNDS=${SP_ROUNDS:-5} WINDOW=${SP_SECONDS:-1} WARMUP=${SP_WARMUP:-0.3}
fi
FLOWS=${SP_FLOWS:-1 10000}
WAYS=${SP_WAYS:-cs cx cl pl dir}
CPU=${SP_CPU:-$(($(nproc) - 1))}
N_IPS=8			# addresses of the service: one answer, eight A records
DPORT=5001
MARK=0x5e		# the classic recipe's mark and table
TABLE=105
NAME=svc.steerpath.test

P=cssp$$
LAB=$(mktemp -d /tmp/cs-steerpath.XXXXXX)
export CLOUDSTEER_PIN_DIR=/sys/fs/bpf/cssp-$$
CX_PIN_DIR=/sys/fs/bpf/cssp-$$-cx	# the XDP way's daemon: pins of its own
NSES="gen cs cx cl pl inst orig"
DAEMON= CX_DAEMON=

cleanup() {
	local n
	[ -n "$DAEMON" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null
	[ -n "$CX_DAEMON" ] && kill "$CX_DAEMON" 2>/dev/null && wait "$CX_DAEMON" 2>/dev/null
	for n in $NSES; do
		ip netns pids $P-$n 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del $P-$n 2>/dev/null
	done
	rm -rf "$CLOUDSTEER_PIN_DIR" "/run/cloudsteer/$(basename "$CLOUDSTEER_PIN_DIR")".* "$CX_PIN_DIR" \
		"/run/cloudsteer/$(basename "$CX_PIN_DIR")".* "$LAB"
	bpffs_restore
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

in_ns() { nsenter --net=/run/netns/$P-$1 "${@:2}"; }
mac() { ip -n $P-$1 -j link show dev "$2" | jq -r '.[0].address'; }
link() {	# link NS1 IF1 ADDR1 NS2 IF2 ADDR2 (an address "-" is none)
	ip link add "$2" netns $P-$1 type veth peer name "$5" netns $P-$4 || return 1
	[ "$3" = - ] || ip -n $P-$1 addr add "$3" dev "$2"
	[ "$6" = - ] || ip -n $P-$4 addr add "$6" dev "$5"
	ip -n $P-$1 link set "$2" up && ip -n $P-$4 link set "$5" up
}

# Host k of way w: lan 10.1k.0.1 (from gen), inst 10.3k.0.1, wan 10.2k.0.1.
# Its lan gets frames from the generator's XDP_TX, which a veth accepts only
# when its peer runs NAPI: GRO on does that (the same on every host), with
# GRO of forwarded UDP off so each frame stays one packet. Its neighbours
# are permanent so that no ARP runs during a window.
host_up() {
	local w=$1 k=$2
	in_ns $w sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 \
		net.ipv4.conf.default.rp_filter=0 || return 1
	link gen g$w 10.1$k.0.2/24 $w lan 10.1$k.0.1/24 &&
	link $w inst 10.3$k.0.1/24 inst i$w 10.3$k.0.2/24 &&
	link $w wan 10.2$k.0.1/24 orig o$w 10.2$k.0.2/24 || return 1
	in_ns $w ethtool -K lan gro on rx-gro-list off rx-udp-gro-forwarding off >/dev/null || return 1
	ip -n $P-$w neigh replace 10.3$k.0.2 lladdr "$(mac inst i$w)" dev inst nud permanent &&
	ip -n $P-$w neigh replace 10.2$k.0.2 lladdr "$(mac orig o$w)" dev wan nud permanent &&
	ip -n $P-$w neigh replace 10.1$k.0.2 lladdr "$(mac gen g$w)" dev lan nud permanent
}

lab_up() {
	local n
	for n in $NSES; do
		ip netns add $P-$n && ip -n $P-$n link set lo up || return 1
	done
	host_up cs 1 && host_up cl 2 && host_up pl 3 && host_up cx 5 || return 1
	link gen gdir - inst idir - || return 1
	# steer_xdp redirects into cx's inst veth, whose peer must run NAPI to
	# take XDP frames (the sink's program does too, while it counts)
	in_ns inst ethtool -K icx gro on >/dev/null || return 1
	# normal routing sends the service to the origin; only the plain host
	# routes it to the instance, as if that were the way out
	ip -n $P-cs route add 198.18.0.0/15 via 10.21.0.2 &&
	ip -n $P-cl route add 198.18.0.0/15 via 10.22.0.2 &&
	ip -n $P-pl route add 198.18.0.0/15 via 10.33.0.2 &&
	ip -n $P-cx route add 198.18.0.0/15 via 10.25.0.2 &&
	ip -n $P-gen route add 10.25.0.0/24 via 10.15.0.1 &&
	ip -n $P-orig route add 10.15.0.0/24 via 10.25.0.1 &&
	ip -n $P-gen route add default via 10.11.0.1 &&
	ip -n $P-orig route add default via 10.21.0.1
}

# A cloudsteer config: learn on wan, steer on lan with steer.xdp $1, the name
# to a route-mode chain of one instance at $2.
cs_config() {
	cat <<-YAML
	learn:
	  interfaces: [wan]
	steer:
	  interfaces: [lan]
	  xdp: $1
	rules:
	  - match: [$NAME]
	    chain: casb
	chains:
	  - name: casb
	    mode: route
	    instances:
	      - {name: casb-a, address: $2}
	YAML
}

# daemon_up NS LOG: cloudsteer run in NS (its pins: CLOUDSTEER_PIN_DIR), up
# and learned the $N_IPS addresses of $NAME from an answer through its host
# (dig from gen to dnsmasq at DNS); sets IPS, prints the daemon's pid
daemon_up() {
	local ns=$1 cfg=$2 log=$3 dns=$4 pid n
	in_ns $ns "$CS" run -c "$cfg" >"$log" 2>&1 &
	pid=$!
	echo $pid
	for n in $(seq 100); do
		grep -q "running:" "$log" && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.1
	done
	grep -q "running:" "$log" || { cat "$log" >&2; return 1; }
	for n in $(seq 50); do
		in_ns gen dig +short +time=1 +tries=1 @$dns $NAME >"$LAB/answer" 2>&1 &&
			[ "$(grep -c '^198\.18\.' "$LAB/answer")" = $N_IPS ] && break
		sleep 0.1
	done
	for n in $(seq 50); do
		IPS=$("$CS" show routes --json 2>/dev/null | jq -r 'select(.waiting_acl == false) | .ip' |
			sort -V | paste -sd, -)
		[ "$(echo "$IPS" | tr , '\n' | grep -c .)" = $N_IPS ] && return 0
		sleep 0.1
	done
	echo "cloudsteer in $ns learned [$IPS] from: $(cat "$LAB/answer")" >&2
	return 1
}

# cloudsteer on host cs (TC: steer.xdp off) and on host cx (its XDP fast
# path: steer.xdp on, as a veth needs); dnsmasq in orig answers both with
# $N_IPS addresses.
cloudsteer_up() {
	local i records=()
	for i in $(seq 1 $N_IPS); do records+=("--host-record=$NAME,198.18.0.$i"); done
	cs_config off 10.31.0.2 >"$LAB/cs.yaml"
	cs_config on 10.35.0.2 >"$LAB/cx.yaml"
	in_ns orig dnsmasq --no-resolv --no-hosts --keep-in-foreground --conf-file=/dev/null \
		--pid-file="$LAB/dnsmasq.pid" --listen-address=10.21.0.2 --listen-address=10.25.0.2 \
		--bind-interfaces --local-ttl=3600 "${records[@]}" >"$LAB/dnsmasq.log" 2>&1 &
	daemon_up cs "$LAB/cs.yaml" "$LAB/daemon.log" 10.21.0.2 >"$LAB/cs.pid" || return 1
	DAEMON=$(head -1 "$LAB/cs.pid")
	CLOUDSTEER_PIN_DIR=$CX_PIN_DIR daemon_up cx "$LAB/cx.yaml" "$LAB/cx-daemon.log" 10.25.0.2 \
		>"$LAB/cx.pid" || return 1
	CX_DAEMON=$(head -1 "$LAB/cx.pid")
}

# The classic recipe on host cl, with the addresses cloudsteer learned.
classic_up() {
	in_ns cl nft -f - <<-NFT || return 1
	table ip $P {
		set svc { type ipv4_addr; elements = { $IPS } }
		chain pre {
			type filter hook prerouting priority mangle; policy accept;
			ip daddr @svc meta mark set $MARK
		}
	}
	NFT
	ip -n $P-cl rule add fwmark $MARK lookup $TABLE pref 100 &&
	ip -n $P-cl route add default via 10.32.0.2 dev inst table $TABLE
}

link_stats() {	# link_stats NS: {"ifname": stats64, ...}
	ip -n $P-$1 -s -j link show | jq -c '[.[] | {(.ifname): .stats64}] | add'
}

# One sample: way w (cs cl pl dir), f streams, round r -> a line of samples.jsonl
sample() {
	local w=$1 f=$2 r=$3 dev=g$1 src dst sinks before after res
	case $w in cs) src=10.11.0.2 ;; cl) src=10.12.0.2 ;; pl) src=10.13.0.2 ;; cx) src=10.15.0.2 ;;
	*) src=10.14.0.2 ;; esac
	if [ "$w" = dir ]; then
		dst=$(mac inst idir) sinks=(--sink "/run/netns/$P-inst:idir")
	else
		dst=$(mac $w lan) sinks=(--sink "/run/netns/$P-inst:i$w" --sink "/run/netns/$P-orig:o$w")
	fi
	[ "$w" = dir ] && before={} || before=$(link_stats $w)
	res=$(in_ns gen taskset -c "$CPU" "$LIVEGEN" --dev $dev --dst-mac "$dst" --src $src \
		--dst "$IPS" --dport $DPORT --flows "$f" --warmup "$WARMUP" --seconds "$WINDOW" \
		--generator "$GENERATOR" "${sinks[@]}") || return 1
	[ "$w" = dir ] && after={} || after=$(link_stats $w)
	printf '{"way":"%s","flows":%s,"round":%s,"gen":%s,"host_before":%s,"host_after":%s}\n' \
		"$w" "$f" "$r" "$res" "$before" "$after" >>"$LAB/samples.jsonl"
	echo "  round $r, $f flows, $w: $(echo "$res" | jq -r '(.sinks[0] / .seconds | floor | tostring) + " pps at the instance" + (if (.sinks | length) > 1 then ", " + (.sinks[1] | tostring) + " at the origin" else "" end)')"
}

echo "steer_path: lab $P, generator on CPU $CPU, $ROUNDS round(s) of ${WINDOW}s windows"
lab_up || die "could not build the lab"
cloudsteer_up || die "cloudsteer did not learn the $N_IPS addresses of $NAME"
classic_up || die "could not set up the classic recipe"
echo "steer_path: learned $IPS"
# one generator for every sample, so the ways are compared under the same one
if [ -n "${SP_GENERATOR:-}" ]; then
	GENERATOR=$SP_GENERATOR
	echo "steer_path: generator $GENERATOR (SP_GENERATOR)"
else
	probe=$(in_ns gen "$LIVEGEN" --dev gcs --dst-mac "$(mac cs lan)" --src 10.11.0.2 --dst "$IPS" \
		--dport $DPORT --probe) || die "livegen --probe failed"
	GENERATOR=${probe%% *}
	echo "steer_path: generator $probe"
fi

for r in $(seq 1 "$ROUNDS"); do
	# A B B A: every way runs early and late as often
	if [ $((r % 2)) = 1 ]; then ways=$WAYS; else ways=$(echo "$WAYS" | tr ' ' '\n' | tac); fi
	for f in $FLOWS; do
		for w in $ways; do
			sample $w "$f" "$r" || die "livegen failed ($w, $f flows, round $r)"
		done
	done
done
# what steer itself counted for the instance: a check that cloudsteer, not
# the kernel's routing, took the packets there
"$CS" show instances --json >"$LAB/instances.json" 2>/dev/null
# and which path carried the XDP way's packets: steer's counters per path
CLOUDSTEER_PIN_DIR=$CX_PIN_DIR "$CS" show stats --json >"$LAB/cx-stats.json" 2>/dev/null

$PY - "$LAB/samples.jsonl" "$LAB/instances.json" "$OUT" "$CPU" "$(nproc)" "$WINDOW" "$N_IPS" \
	"$LAB/cx-stats.json" <<'PY' ||
import json, statistics, sys

samples_path, inst_path, out, cpu, ncpu, window, n_ips, cx_stats_path = sys.argv[1:9]
WAYS = {	# way: (case word, label)
    "cs": ("cloudsteer", "cloudsteer route mode (steer: bpf_redirect_neigh)"),
    "cx": ("cloudsteer_xdp", "cloudsteer route mode in XDP (steer_xdp: cached FIB answer, devmap redirect)"),
    "cl": ("classic", "classic: nft set + mark + ip rule to a table"),
    "pl": ("plain", "plain forwarding, a static route, no policy"),
    "dir": ("direct", "generator to instance, no host (context)"),
}
BASE = {"cs": "cl", "cx": "cl", "cl": "pl"}	# a row's ratio: against the next simpler way
GENERATORS = {
    "live_frames": "livegen's live frames (BPF_PROG_TEST_RUN with BPF_F_TEST_XDP_LIVE_FRAMES, batch 64, "
                   "one long call) builds 60-octet IPv4/UDP frames, %d stream(s) by source port over %s "
                   "learned addresses, taking turns frame by frame, and XDP_TX sends them",
    "af_packet": "livegen's AF_PACKET sender (the fallback for kernels that refuse live frames; sendmmsg "
                 "of 64 frames, PACKET_QDISC_BYPASS, an skb a frame) sends 60-octet IPv4/UDP frames, %d stream(s) by "
                 "source port over %s learned addresses, taking turns frame by frame,",
}
METHOD = (
    "%s out of a veth to the way's own host, "
    "whose lan veth has GRO on (NAPI); an XDP program on the instance's veth counts and drops "
    "them. pps = instance count / wall time over a %s s window after a warm-up; median of %d "
    "rounds, the ways interleaved A B B A. The generator is pinned to CPU %s of %s and the "
    "whole path (the host's NAPI, its forwarding, the instance's XDP) runs in softirq in the "
    "generator's context on that CPU, so 1/pps adds the generator's, the host's and the "
    "sink's cost; host_ns_per_pkt subtracts the direct way's 1/pps of the same round, "
    "pps_on_cpu divides by the sender's CPU time instead of wall time.")


def fail(msg):
    print("steer_path: " + msg, file=sys.stderr)
    sys.exit(1)


def check(s):
    """A figure counts only when the packets went where the way sends them."""
    g, what = s["gen"], "%s, %d flows, round %d" % (s["way"], s["flows"], s["round"])
    if not g["sinks"][0]:
        fail("nothing reached the instance (%s)" % what)
    if len(g["sinks_total"]) > 1 and g["sinks_total"][1] > 0.01 * g["sent_total"]:
        fail("%d packets went to the origin (%s): not steered" % (g["sinks_total"][1], what))


def pps(s):
    return s["gen"]["sinks"][0] / s["gen"]["seconds"]


def pps_on_cpu(s):
    """Packets per second of the sender's CPU time: what pps would be with
    the CPU to itself (the path runs in its softirq)."""
    share = s["gen"].get("sender_cpu_share") or 0
    return pps(s) / share if share > 0 else None


def median_or_none(values):
    values = [v for v in values if v is not None]
    return round(statistics.median(values)) if values else None


def case(way, flows):
    return "steer_path_%s_%dflow%s" % (WAYS[way][0], flows, "" if flows == 1 else "s")


def link_delta(s, ifname, direction):
    a, b = s["host_after"].get(ifname), s["host_before"].get(ifname)
    return a[direction]["packets"] - b[direction]["packets"] if a and b else None


def host_ns(v, direct):
    """Median ns per packet that the host adds to the direct way, round by round."""
    ns = [1e9 / pps(s) - 1e9 / direct[s["round"]] for s in v if s["round"] in direct]
    return round(statistics.median(ns), 1) if ns else None


def row_of(way, flows, v, direct, rounds):
    g = [s["gen"] for s in v]
    row = {
        "case": case(way, flows), "part": "steer_path",
        "label": "%s, %s stream%s" % (WAYS[way][1], "{:,}".format(flows), "" if flows == 1 else "s"),
        "unit": "pps", "pps": round(statistics.median(pps(s) for s in v)), "better": "higher",
        "flows": flows, "service_addresses": int(n_ips), "window_s": float(window),
        "samples_pps": [round(pps(s)) for s in v],
        "sent_pps": round(statistics.median(x["sent"] / x["seconds"] for x in g)),
        "delivered_share": round(sum(x["sinks_total"][0] for x in g) /
                                 max(1, sum(x["sent_total"] for x in g)), 4),
        "cpu": "generator on CPU %s of %s; the path's softirq work follows it" % (cpu, ncpu),
        # the share of each window the sender (and the path, in its softirq)
        # had its CPU: well under 1 means other work shared it
        "sender_cpu_share": [x.get("sender_cpu_share") for x in g],
        "pps_on_cpu": median_or_none(pps_on_cpu(s) for s in v),
        "generator": g[0]["generator"],
        "method": METHOD % (GENERATORS[g[0]["generator"]] % (flows, n_ips), window, rounds, cpu, ncpu),
    }
    if way == "dir":
        return row
    rx = [link_delta(s, "lan", "rx") for s in v]
    tx = [link_delta(s, "inst", "tx") for s in v]
    row["origin_packets"] = sum(x["sinks_total"][1] for x in g)
    if None not in rx + tx:
        row["host_rx_packets"] = sum(rx)
        row["host_forwarded_share"] = round(sum(tx) / max(1, sum(rx)), 4)
    ns = host_ns(v, direct)
    if ns is not None:
        row["host_ns_per_pkt"] = ns
    return row


def path_counts():
    """steer's counters per path on the XDP way's host (show stats --json)."""
    counts = {}
    for l in open(cx_stats_path):
        l = l.strip()
        if l:
            e = json.loads(l)
            if "flow_counter" in e:
                counts[e["flow_counter"]] = e.get("count", 0)
    return counts


def xdp_targets(got, last, samples):
    """The issue's targets for the XDP way: >= 3x the classic recipe and >= 2x
    plain forwarding, by pps with live frames, by the host's own cost (the
    direct way's 1/pps taken off) with AF_PACKET, whose skb a frame costs the
    sender about what a host costs; and the path check: steer_xdp, not TC,
    carried the packets."""
    cx = got["cx"]
    direct = got.get("dir")
    if direct:
        cx["vs_direct"] = round(cx["pps"] / direct["pps"], 3)
    targets = []
    for way, need in (("cl", 3), ("pl", 2)):
        base = got.get(way)
        if not base:
            continue
        if cx["generator"] == "live_frames":
            ratio, how = cx["pps"] / base["pps"], "pps"
        elif cx.get("host_ns_per_pkt") and base.get("host_ns_per_pkt"):
            ratio = base["host_ns_per_pkt"] / cx["host_ns_per_pkt"]
            how = "host's ns per packet, the AF_PACKET generator's own cost taken off"
        else:
            continue
        here = "here %.2f: " % ratio if not targets else ""	# a further target's ratio is shown apart
        targets.append({"target": "%s >= %d x %s (%s%s)" % (
                            "pps" if how == "pps" else "host_cost_ratio", need, WAYS[way][0], here, how),
                        "meets": ratio >= need, "ratio": round(ratio, 3), "baseline": base["case"]})
    if targets:
        cx["target"], cx["meets"] = targets[0]["target"], targets[0]["meets"]
        cx["target_ratio"] = targets[0]["ratio"]
        cx["targets"] = targets[1:]
    if last:
        c = path_counts()
        got_x = sum(s["gen"]["sinks_total"][0] for s in samples if s["way"] == "cx")
        cx["path_check"] = {"xdp_steered": c.get("xdp_steered"), "tc_steered": c.get("tc_steered"),
                            "xdp_to_tc": c.get("xdp_to_tc"), "instance_got": got_x}
        # TC steers a stream's first two packets (the second proves it);
        # every later one is XDP's
        first = 2 * sum({s["flows"] for s in samples if s["way"] == "cx"})
        cx["path_check"]["tc_allowed"] = first
        if not c.get("xdp_steered") or c.get("tc_steered", 0) > first + 0.01 * c["xdp_steered"]:
            fail("the XDP way's packets did not take the XDP path: %s" % cx["path_check"])


def main():
    samples = [json.loads(l) for l in open(samples_path)]
    insts = [json.loads(l) for l in open(inst_path) if l.strip()]
    steer_inst = next((i for i in insts if i.get("id") == 1), {})
    for s in samples:
        check(s)
    if len({s["gen"]["generator"] for s in samples}) > 1:
        fail("the samples were sent by different generators: the ways are not comparable")
    by = {}
    for s in samples:
        by.setdefault((s["way"], s["flows"]), []).append(s)
    rounds = max(s["round"] for s in samples)
    flows_list = sorted({s["flows"] for s in samples})
    rows = []
    for flows in flows_list:
        direct = {s["round"]: pps(s) for s in by.get(("dir", flows), [])}
        got = {w: row_of(w, flows, by[(w, flows)], direct, rounds)
               for w in WAYS if (w, flows) in by}
        for w, row in got.items():
            base = got.get(BASE.get(w))
            if base:
                row["ratio"] = round(row["pps"] / base["pps"], 3)
                row["baseline"] = base["case"]
                if row["pps_on_cpu"] and base["pps_on_cpu"]:
                    row["ratio_on_cpu"] = round(row["pps_on_cpu"] / base["pps_on_cpu"], 3)
        if "cs" in got:
            cs = got["cs"]
            # the ratio of each round's neighbouring samples: how far the noise goes
            cl = {s["round"]: pps(s) for s in by.get(("cl", flows), [])}
            cs["ratio_per_round"] = [round(pps(s) / cl[s["round"]], 3)
                                     for s in by[("cs", flows)] if s["round"] in cl]
            # classic over cloudsteer without the generator's and the sink's
            # cost, which every way pays alike
            if "cl" in got and cs.get("host_ns_per_pkt") and got["cl"].get("host_ns_per_pkt"):
                cs["host_cost_ratio"] = round(got["cl"]["host_ns_per_pkt"] / cs["host_ns_per_pkt"], 2)
            if cs["generator"] == "live_frames":
                cs["target"] = "ratio >= 1.5"
                cs["meets"] = cs.get("ratio", 0) >= 1.5
            else:
                # an skb a frame costs the sender about as much as the host's
                # path, and every way pays it: the pps ratio would measure the
                # generator half the time, so the target is judged on the
                # host's own cost (the direct way's 1/pps taken off)
                cs["target"] = ("host_cost_ratio >= 1.5 (here %s: the classic host's ns per packet over "
                                "cloudsteer's, the AF_PACKET generator's own cost taken off)"
                                % cs.get("host_cost_ratio", "not measured"))
                cs["meets"] = cs.get("host_cost_ratio", 0) >= 1.5
            if flows == flows_list[-1]:	# over the whole run, every stream count
                cs["steer_check"] = {
                    "steer_counted": steer_inst.get("packets"),
                    "streams_pinned": steer_inst.get("streams"),
                    "instance_got": sum(s["gen"]["sinks_total"][0] for s in samples
                                        if s["way"] == "cs"),
                }
        if "cx" in got:
            xdp_targets(got, flows == flows_list[-1], samples)
        rows += got.values()
    with open(out, "w") as f:
        json.dump(rows, f, indent=1)
        f.write("\n")
    for r in rows:
        extra = ", ratio %.2f vs %s" % (r["ratio"], r["baseline"]) if "ratio" in r else ""
        if "host_ns_per_pkt" in r:
            extra += ", host %s ns/packet, origin got %d" % (r["host_ns_per_pkt"], r["origin_packets"])
        print("  %-34s %10.0f pps%s" % (r["case"], r["pps"], extra))


main()
PY
	die "no figures"
echo "steer_path: wrote $OUT in $SECONDS s"
