#!/bin/bash
# first_packet.sh OUT.json - the share of connections whose FIRST SYN is
# steered when the client connects the instant it has the DNS answer:
# cloudsteer against the classic recipe, dnsmasq --nftset + nft mark + ip rule.
#
# The lab is tests/e2e/mesh.bash (under this part's own names):
#
#   cli 10.10.0.2 --lan-- host --wan-- inet 10.20.0.2 (dnsmasq: the origin's
#                          |  \                        resolver; every address
#                     10.30.0.2  10.31.0.2             it names is local there)
#                     instances a and b (forwarding routers)
#
#   cloudsteer      `cloudsteer run` on the host as in tests/e2e/first_syn.sh:
#                   learn on wan, steer on lan, names under cs.fpb.test to
#                   chain casb (route mode, a and b). The client asks inet's
#                   resolver, across the host.
#   dnsmasq_nftset  names under nf.fpb.test, which no cloudsteer rule matches.
#                   dnsmasq on the host (10.10.0.1) forwards to inet's, with
#                   --nftset=/nf.fpb.test/4#inet#csfpb#steer4; nft marks lan
#                   packets to @steer4 in prerouting, ip rule fwmark 0x5c ->
#                   table 100, default via instance a. The client asks it.
#
# One client process (first_packet.py client) takes N new names of each way,
# alternating the ways name by name (and which goes first), with a control
# name every 50 pairs, 5 to 200 of them (under none.fpb.test, asked through
# the host's dnsmasq: nothing steers it). For each it sends the A query over UDP, parses the
# answer and connect()s at once, non-blocking, to port 9002 (closed at the
# origin: the RST ends the try). Every name has an address of its own, never
# asked before, so each try is a first learning (a route, a set element).
# tcpdump on a, b and inet keeps every SYN, and on the host's wan and lan
# every DNS answer. first_packet.py report finds each connection's first SYN
# (lowest TCP timestamp value) and whether an instance saw it; the control
# must come out all unsteered, or the count is not trusted and the part
# fails. The host's DNS captures give how long it held each answer.
# Then, with strace on the host's dnsmasq, a few more names show whether
# dnsmasq sends the nf_tables batch that adds to the set before the reply.
#
# BENCH_QUICK=1: 20 names a way and 3 under strace (a smoke test; figures
# meaningless). FIRST_PACKET_NAMES overrides N (default 10000);
# FIRST_PACKET_KEEP=DIR keeps the captures, the tries and the logs there.
set -u
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$REPO/build}
BENCH_DIR=${BENCH_DIR:-$BUILD/bench}
CS=${CS:-$BUILD/cloudsteer}
OUT=${1:?usage: first_packet.sh OUT.json}
PY=/usr/bin/python3
HERE=$REPO/tests/bench
if [ "${BENCH_QUICK:-0}" = 1 ]; then N=${FIRST_PACKET_NAMES:-20}; N_ORDER=3; else N=${FIRST_PACKET_NAMES:-10000}; N_ORDER=20; fi
PORT=9002

die() { echo "first_packet: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root"
for t in dnsmasq dig socat tcpdump bpftool nft strace ip "$PY"; do
	command -v "$t" >/dev/null || die "$t is missing"
done
[ -x "$CS" ] || die "$CS is missing (make)"
dnsmasq --version | grep -qw nftset || die "this dnsmasq is built without nftset"
[ "$N" -ge 1 ] && [ "$N" -le 60000 ] || die "FIRST_PACKET_NAMES must be 1..60000"
# control names: one every 50 pairs, at least 5 (at most N), at most 200
N_CONTROL=$((N / 50)); [ $N_CONTROL -lt 5 ] && N_CONTROL=5
[ $N_CONTROL -gt 200 ] && N_CONTROL=200; [ $N_CONTROL -gt "$N" ] && N_CONTROL=$N

# mesh.bash: the lab and its cleanup (on exit, failure or a signal). Its
# names are made ours before anything exists; cleanup reads them at exit.
cs_bin=$CS
. "$REPO/tests/e2e/mesh.bash"
CS=$cs_bin
P=csfpb$$
export CLOUDSTEER_PIN_DIR=/sys/fs/bpf/cs-bench-fp-$$
rmdir "$LAB" && LAB=$(mktemp -d /tmp/cs-bench-fp.XXXXXX) || die "mktemp"
T_SUITE=bench-first-packet
chmod 755 "$LAB"	# dnsmasq reads its hosts file as nobody
# (processes whose pid we need start under ip netns exec itself, not ns(),
# whose subshell would be the pid)
nsx() { local n=$1; shift; exec ip netns exec "$P-$n" "$@"; }

# the origin's names: cloudsteer's in 198.18/16, dnsmasq's in 198.19/16, the
# control's (asked through the host's dnsmasq, which has no set for them) in
# 192.0.2/24
awk -v n=$((N + N_ORDER)) -v nx="$N_CONTROL" 'BEGIN {
	for (i = 0; i < n; i++) {
		printf "198.18.%d.%d c%d.cs.fpb.test\n", i / 250, i % 250 + 1, i
		printf "198.19.%d.%d d%d.nf.fpb.test\n", i / 250, i % 250 + 1, i
	}
	for (i = 0; i < nx; i++) printf "192.0.2.%d x%d.none.fpb.test\n", i + 1, i
}' > "$LAB/hosts"
t_start=$SECONDS
mesh_up "--addn-hosts=$LAB/hosts" || die "the lab did not come up"

# the classic recipe on the host
ns host nft -f - <<'NFT' || die "nft refused the recipe's table"
table inet csfpb {
	set steer4 { type ipv4_addr; }
	chain pre {
		type filter hook prerouting priority mangle; policy accept;
		iifname "lan" ip daddr @steer4 meta mark set 0x5c
	}
}
NFT
ip -n $P-host rule add fwmark 0x5c lookup 100 pref 100 &&
	ip -n $P-host route add default via 10.30.0.2 table 100 || die "ip rule / table 100"
nsx host dnsmasq --no-resolv --no-hosts --keep-in-foreground --conf-file=/dev/null \
	--pid-file="$LAB/fwd.pid" --listen-address=10.10.0.1 --bind-interfaces \
	--server=10.20.0.2 --nftset=/nf.fpb.test/4#inet#csfpb#steer4 >"$LAB/fwd.log" 2>&1 &
fwd_pid=$!

casb_config cs.fpb.test
daemon_up "$LAB/cs.yaml" || die "cloudsteer run did not start: $(cat "$LAB/daemon.log")"
daemon_pid=$!
for i in $(seq 30); do
	ns cli dig +short +time=1 +tries=1 @10.10.0.1 probe.invalid >/dev/null 2>&1 && break
	[ "$i" = 30 ] && die "dnsmasq on the host does not answer: $(cat "$LAB/fwd.log")"
	sleep 0.1
done

# SYNs at the instances and the origin; DNS on the host's two sides
syn="tcp dst port $PORT and tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn"
caps=()
capture() {	# capture NS IF NAME FILTER
	nsx "$1" tcpdump -i "$2" -n -s 256 -B 16384 -U -w "$LAB/$3.pcap" "$4" >"$LAB/tcpdump-$3.log" 2>&1 &
	caps+=($!)
}
capture a eth0 syn-a "$syn"
capture b eth0 syn-b "$syn"
capture inet eth0 syn-origin "$syn"
capture host wan dns-wan "udp port 53"
capture host lan dns-lan "udp port 53"
for n in syn-a syn-b syn-origin dns-wan dns-lan; do
	wait_in "$LAB/tcpdump-$n.log" "listening on" 50 || die "tcpdump ($n): $(cat "$LAB/tcpdump-$n.log")"
done
echo "first_packet: lab up in $((SECONDS - t_start)) s; $N names a way, interleaved, and $N_CONTROL control names"

# the ways alternate name by name, and which goes first alternates too; a
# control name every N/N_CONTROL pairs
awk -v n="$N" -v nx="$N_CONTROL" 'BEGIN {
	every = int(n / nx); x = 0
	for (i = 0; i < n; i++) {
		cs = "cloudsteer 10.20.0.2 c" i ".cs.fpb.test"; nf = "dnsmasq 10.10.0.1 d" i ".nf.fpb.test"
		if (i % 2 == 0) print cs "\n" nf; else print nf "\n" cs
		if (i % every == 0 && x < nx) print "control 10.10.0.1 x" x++ ".none.fpb.test"
	}
}' > "$LAB/tries"
t_run=$SECONDS
ns cli "$PY" "$HERE/first_packet.py" client --tries "$LAB/tries" --port $PORT --out "$LAB/client.json" ||
	die "the client failed"
echo "first_packet: $((2 * N + N_CONTROL)) tries in $((SECONDS - t_run)) s"

# dnsmasq's order: strace the forwarder while it answers a few more names
for i in $(seq "$N" $((N + N_ORDER - 1))); do echo "dnsmasq 10.10.0.1 d$i.nf.fpb.test"; done > "$LAB/tries-order"
strace -f -ttt -yy -e trace=sendto,sendmsg,recvfrom,recvmsg -p "$fwd_pid" -o "$LAB/strace.txt" 2>"$LAB/strace.log" &
st_pid=$!
wait_in "$LAB/strace.log" "attached" 30 || die "strace did not attach: $(cat "$LAB/strace.log")"
ns cli "$PY" "$HERE/first_packet.py" client --tries "$LAB/tries-order" --port $PORT --hold 0 \
	--out "$LAB/client-order.json" >/dev/null || die "the client failed under strace"
kill -INT $st_pid; wait $st_pid 2>/dev/null
"$PY" "$HERE/first_packet.py" order --strace "$LAB/strace.txt" --client-ip 10.10.0.2 \
	--server-ip 10.20.0.2 > "$LAB/order.json" || die "cannot read strace's output"
echo "first_packet: dnsmasq under strace: $(cat "$LAB/order.json")"

sleep 0.2
# (SIGKILL, not SIGTERM: after thousands of names the daemon's sweep walk
# keeps it seconds from reading the signal; the pins and namespaces go anyway)
kill -INT "${caps[@]}"; kill -KILL $daemon_pid; wait "${caps[@]}" $daemon_pid 2>/dev/null
for n in syn-a syn-b syn-origin dns-wan dns-lan; do
	grep -E "^[1-9][0-9]* packets? dropped by kernel" "$LAB/tcpdump-$n.log" | sed "s/^/first_packet: tcpdump ($n): /"
done
quick=(); [ "${BENCH_QUICK:-0}" = 1 ] && quick=(--quick)
"$PY" "$HERE/first_packet.py" report --client "$LAB/client.json" --instance "$LAB/syn-a.pcap" \
	--instance "$LAB/syn-b.pcap" --origin "$LAB/syn-origin.pcap" --dns-wan "$LAB/dns-wan.pcap" \
	--dns-lan "$LAB/dns-lan.pcap" --order "$LAB/order.json" "${quick[@]}" --out "$OUT" ||
	die "cannot count"
if [ -n "${FIRST_PACKET_KEEP:-}" ]; then
	mkdir -p "$FIRST_PACKET_KEEP" &&
		cp "$LAB"/*.pcap "$LAB"/*.json "$LAB"/*.log "$LAB"/strace.txt "$LAB"/tries* "$FIRST_PACKET_KEEP"/
fi
echo "first_packet: done in $((SECONDS - t_start)) s"
