# live.bash - sourced by tests/corpus/live-*.sh: capture a DNS corpus from a
# real server and check cloudsteer replay against the reference learner.
#
# One run:
#   live_init NAME            skip unless root and the tools are here; temp dir;
#                             traps that always clean up
#   live_net                  two namespaces (csc-PID-c client, csc-PID-s server)
#                             joined by one veth pair:
#                               client vc 10.53.0.1/24 2001:db8:53::1/64
#                               server vs 10.53.0.2/24 2001:db8:53::2/64
#                             and, on it, an 802.1Q VLAN (id 100) and a QinQ
#                             stack (802.1ad 300, then 802.1Q 200):
#                               vc.100 10.53.100.1/24      vs.100 10.53.100.2/24
#                               vc.q300.200 2001:db8:5302::1/64, vs... ::2
#   start_knot/start_named/start_unbound/start_dnsmasq   a server in the server
#                             namespace, its config, pid and working files in
#                             the temp dir, run in the foreground as a child
#   live_wait_ready           until the server answers
#   live_capture_start        tcpdump on the client veth -> $TMP/NAME.pcap
#   live_queries [EXTRA_FN]   dig and kdig, IPv4 and IPv6, UDP and TCP
#   live_capture_stop
#   live_check                tshark -> oracle -> expect.py vs cloudsteer replay
#
# Nothing listens outside the two namespaces; the addresses exist only on the
# veth pair and on the server namespace's loopback (resolver back ends).
# CS_KEEP_CORPUS=DIR keeps the pcap, the oracle, configs and logs in DIR.

PATH=$PATH:/usr/sbin:/sbin	# the servers live there; a user's PATH may lack them
CORPUS=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO=$(cd "$CORPUS/../.." && pwd)
CLOUDSTEER=${CLOUDSTEER:-$REPO/build/cloudsteer}
RULES=$CORPUS/rules.yaml

C4=10.53.0.1 S4=10.53.0.2 C6=2001:db8:53::1 S6=2001:db8:53::2
V4C=10.53.100.1 V4=10.53.100.2			# one VLAN tag
Q6C=2001:db8:5302::1 Q6=2001:db8:5302::2	# two tags (QinQ)
BACK_PORT=5300		# resolver back ends: 127.0.0.1 and ::1 in the server namespace

NS_C='' NS_S='' TMP='' NAME='' LIVE_PIDS=() CAP_PID='' HAVE_VLAN=0

# shellcheck source=../../lib/testing.sh
. "$REPO/tests/lib/testing.sh"

live_cleanup() {
	local rc=$? pid ns i
	trap - EXIT INT TERM
	for pid in "${LIVE_PIDS[@]}" $CAP_PID; do
		kill -TERM "$pid" 2>/dev/null
	done
	for i in 1 2 3 4 5 6 7 8 9 10; do
		local alive=
		for pid in "${LIVE_PIDS[@]}" $CAP_PID; do
			kill -0 "$pid" 2>/dev/null && alive=1
		done
		[ -z "$alive" ] && break
		sleep 0.1
	done
	for pid in "${LIVE_PIDS[@]}" $CAP_PID; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	for ns in $NS_C $NS_S; do
		ip netns list 2>/dev/null | grep -qw "^$ns" || continue
		# what is left in our namespaces is ours (a forked TCP child, say)
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$TMP" ] && [ -d "$TMP" ]; then
		if [ -n "${CS_KEEP_CORPUS:-}" ]; then
			mkdir -p "$CS_KEEP_CORPUS/$NAME" &&
				cp -r "$TMP"/. "$CS_KEEP_CORPUS/$NAME/" 2>/dev/null &&
				echo "# corpus kept in $CS_KEEP_CORPUS/$NAME"
		fi
		rm -rf "$TMP"
	fi
	exit "$rc"
}

# live_init NAME: the suite is corpus-NAME.
live_init() {
	NAME=$1
	T_SUITE=corpus-$NAME
	local t missing=
	if [ "$(id -u)" != 0 ]; then
		skip all "needs root (network namespaces)"
		exit 0
	fi
	for t in ip tcpdump tshark dig python3; do
		command -v "$t" >/dev/null 2>&1 || missing="$missing $t"
	done
	if [ -n "$missing" ]; then
		skip all "missing:$missing (scripts/install-deps.sh test)"
		exit 0
	fi
	if [ ! -x "$CLOUDSTEER" ]; then
		fail build "no $CLOUDSTEER: run make first"
		exit 1
	fi
	NS_C=csc-$$-c
	NS_S=csc-$$-s
	trap live_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/cs-corpus-$NAME.XXXXXX") || exit 1
	mkdir -p "$TMP/zones"
}

# live_need BIN...: skip the suite when a server binary is missing.
live_need() {
	local b
	for b in "$@"; do
		if ! command -v "$b" >/dev/null 2>&1; then
			skip all "$b is not installed (scripts/install-deps.sh test)"
			exit 0
		fi
	done
}

live_net() {
	ip netns add "$NS_C" && ip netns add "$NS_S" &&
	ip -n "$NS_C" link add vc type veth peer name vs netns "$NS_S" &&
	# one TCP segment per packet, as on a wire: no GSO super-packets on the veth
	ip -n "$NS_S" link set vs gso_max_segs 1 &&
	ip -n "$NS_C" link set vc gso_max_segs 1 &&
	ip -n "$NS_C" addr add $C4/24 dev vc &&
	ip -n "$NS_C" addr add $C6/64 dev vc nodad &&
	ip -n "$NS_S" addr add $S4/24 dev vs &&
	ip -n "$NS_S" addr add $S6/64 dev vs nodad &&
	ip -n "$NS_C" link set lo up && ip -n "$NS_S" link set lo up &&
	ip -n "$NS_C" link set vc up && ip -n "$NS_S" link set vs up || {
		fail setup "could not make the namespaces and the veth pair"
		exit 1
	}
	if live_vlans "$NS_C" vc $V4C $Q6C 2>/dev/null && live_vlans "$NS_S" vs $V4 $Q6 2>/dev/null; then
		HAVE_VLAN=1
	else
		skip vlan "no 802.1Q/802.1ad devices in this kernel: no tagged frames in the capture"
	fi
}

# live_vlans NS DEV V4 Q6: DEV.100 (802.1Q) with V4, DEV.q300.200 (QinQ) with Q6
live_vlans() {
	ip -n "$1" link add link "$2" name "$2.100" type vlan id 100 &&
	ip -n "$1" link add link "$2" name "$2.q300" type vlan proto 802.1ad id 300 &&
	ip -n "$1" link add link "$2.q300" name "$2.q300.200" type vlan id 200 &&
	ip -n "$1" addr add "$3/24" dev "$2.100" &&
	ip -n "$1" addr add "$4/64" dev "$2.q300.200" nodad &&
	ip -n "$1" link set "$2.100" up && ip -n "$1" link set "$2.q300" up &&
	ip -n "$1" link set "$2.q300.200" up
}

# live_bg NAME CMD...: run CMD in the server namespace, in the background.
live_bg() {
	local n=$1
	shift
	ip netns exec "$NS_S" "$@" >"$TMP/$n.log" 2>&1 &
	LIVE_PIDS+=($!)
}

# live_zones NS4 NS6: the zone files, NS glue at the given addresses.
live_zones() {
	python3 "$CORPUS/zones.py" "$TMP/zones" --ns4 "$1" --ns6 "$2"
}

# live_front_addrs: the server's addresses facing the client, VLANs included.
live_front_addrs() {
	echo "$S4 $S6"
	[ "$HAVE_VLAN" = 1 ] && echo "$V4 $Q6"
}

# start_knot PORT ADDR...
start_knot() {
	local z a port=$1
	shift
	mkdir -p "$TMP/knot/db"
	{
		echo "server:"
		echo "    rundir: \"$TMP/knot\""
		echo "    pidfile: \"$TMP/knot/knot.pid\""
		for a in "$@"; do echo "    listen: $a@$port"; done
		echo "log:"
		echo "  - target: stderr"
		echo "    any: info"
		echo "database:"
		echo "    storage: \"$TMP/knot/db\""
		echo "control:"
		echo "    listen: \"$TMP/knot/knot.sock\""
		echo "template:"
		echo "  - id: default"
		echo "    storage: \"$TMP/zones\""
		echo "    file: \"%s.zone\""
		echo "    zonefile-sync: -1"
		echo "    journal-content: none"
		echo "zone:"
		for z in $(cat "$TMP/zones/zones.txt"); do echo "  - domain: $z"; done
	} >"$TMP/knot/knot.conf"
	live_bg knotd knotd -c "$TMP/knot/knot.conf"
}

# start_named PORT ADDR...
start_named() {
	local z a port=$1 v4='' v6=''
	shift
	for a in "$@"; do
		case $a in *:*) v6="$v6 $a;" ;; *) v4="$v4 $a;" ;; esac
	done
	mkdir -p "$TMP/named"
	{
		echo "options {"
		echo "    directory \"$TMP/named\";"
		echo "    pid-file \"$TMP/named/named.pid\";"
		echo "    session-keyfile \"$TMP/named/session.key\";"
		echo "    managed-keys-directory \"$TMP/named\";"
		echo "    listen-on port $port {$v4 };"
		echo "    listen-on-v6 port $port {$v6 };"
		echo "    recursion no;"
		echo "    dnssec-validation no;"
		echo "    notify no;"
		echo "    allow-query { any; };"
		echo "};"
		echo "controls { };"
		echo "logging { channel err { stderr; severity info; }; category default { err; }; };"
		for z in $(cat "$TMP/zones/zones.txt"); do
			echo "zone \"$z\" { type primary; file \"$TMP/zones/$z.zone\"; };"
		done
	} >"$TMP/named/named.conf"
	live_bg named named -f -n 1 -c "$TMP/named/named.conf"
}

# start_unbound: a recursive resolver on S4/S6, stub zones at the back end.
start_unbound() {
	local z a
	mkdir -p "$TMP/unbound"
	{
		echo "server:"
		for a in $(live_front_addrs); do echo "    interface: $a"; done
		echo "    port: 53"
		echo "    access-control: 10.53.0.0/24 allow"
		echo "    access-control: 2001:db8:53::/64 allow"
		echo "    access-control: 10.53.100.0/24 allow"
		echo "    access-control: 2001:db8:5302::/64 allow"
		echo "    username: \"\""
		echo "    chroot: \"\""
		echo "    directory: \"$TMP/unbound\""
		echo "    pidfile: \"$TMP/unbound/unbound.pid\""
		echo "    use-syslog: no"
		echo "    logfile: \"\""
		echo "    verbosity: 1"
		echo "    num-threads: 1"
		echo "    so-reuseport: no"
		echo "    do-not-query-localhost: no"
		echo "    module-config: \"iterator\""
		echo "    local-zone: \"test.\" nodefault"
		echo "    domain-insecure: \"test.\""
		echo "    qname-minimisation: no"
		echo "    edns-buffer-size: 1232"
		echo "    trust-anchor-signaling: no"
		echo "    root-key-sentinel: no"
		for z in $(cat "$TMP/zones/zones.txt"); do
			echo "stub-zone:"
			echo "    name: \"$z\""
			echo "    stub-addr: 127.0.0.1@$BACK_PORT"
		done
	} >"$TMP/unbound/unbound.conf"
	live_bg unbound unbound -d -c "$TMP/unbound/unbound.conf"
}

# start_dnsmasq: a forwarder and cache on S4/S6 in front of the back end,
# with some local data of its own (local answers have TTL 0 by default).
start_dnsmasq() {
	local a
	mkdir -p "$TMP/dnsmasq"
	{
		echo "no-resolv"
		echo "no-hosts"
		echo "no-poll"
		echo "bind-interfaces"
		for a in $(live_front_addrs); do echo "listen-address=$a"; done
		echo "except-interface=lo"
		echo "port=53"
		echo "server=/test/127.0.0.1#$BACK_PORT"
		echo "pid-file=$TMP/dnsmasq/dnsmasq.pid"
		echo "user=root"
		echo "cache-size=1000"
		echo "edns-packet-max=1232"
		echo "log-facility=-"
		echo "host-record=dm-local.cloudapp.test,192.0.2.200,2001:db8:200::1"
		echo "host-record=dm-ttl.cloudapp.test,192.0.2.202,3600"
		echo "cname=dm-alias.cloudapp.test,dm-local.cloudapp.test"
		echo "address=/dm-addr.wild.test/192.0.2.201"
	} >"$TMP/dnsmasq/dnsmasq.conf"
	live_bg dnsmasq dnsmasq -k -C "$TMP/dnsmasq/dnsmasq.conf"
}

# live_wait_ready [ADDR [PORT]]: until example.test SOA answers, at most 15 s.
live_wait_ready() {
	local a=${1:-$S4} p=${2:-53} ns=$NS_C i
	[ "$a" = 127.0.0.1 ] && ns=$NS_S
	for i in $(seq 1 75); do
		if ip netns exec "$ns" dig @"$a" -p "$p" +time=1 +tries=1 example.test SOA 2>/dev/null |
			grep -q 'status: NOERROR'; then
			return 0
		fi
		for pid in "${LIVE_PIDS[@]}"; do
			kill -0 "$pid" 2>/dev/null || {
				fail setup "a server exited; its log:$(tail -n 5 "$TMP"/*.log | sed 's/^/ /' | tr '\n' ' ')"
				exit 1
			}
		done
		sleep 0.2
	done
	fail setup "no answer from $a port $p after 15 s; logs:$(tail -n 3 "$TMP"/*.log | tr '\n' ' ')"
	exit 1
}

live_capture_start() {
	ip netns exec "$NS_C" tcpdump -i vc -n -U --immediate-mode -s 0 -w "$TMP/$NAME.pcap" >"$TMP/tcpdump.log" 2>&1 &
	CAP_PID=$!
	local i
	for i in $(seq 1 50); do
		grep -q 'listening on' "$TMP/tcpdump.log" 2>/dev/null && return 0
		sleep 0.1
	done
	fail setup "tcpdump did not start: $(cat "$TMP/tcpdump.log")"
	exit 1
}

live_capture_stop() {
	sleep 0.3	# the last answers reach the capture
	kill -INT "$CAP_PID" 2>/dev/null
	wait "$CAP_PID" 2>/dev/null
	CAP_PID=
}

# q ARGS...: one dig from the client namespace (default server S4); kq: kdig.
QLOG=''
q() { ip netns exec "$NS_C" dig +time=2 +tries=1 "$@" >>"$QLOG" 2>&1; }
kq() {
	command -v kdig >/dev/null 2>&1 || return 0	# knot-dnsutils: optional
	ip netns exec "$NS_C" kdig +time=2 +retry=0 "$@" >>"$QLOG" 2>&1
}

LONG=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc.dddddddddddddddddddddddddddddddddddddddddddd-end.example.test
MANY=$(printf 'x.%.0s' $(seq 1 120))example.test

# live_queries [EXTRA_FN]: the query set; EXTRA_FN adds server-specific ones.
live_queries() {
	local s=@$S4 s6=@$S6 n
	QLOG=$TMP/queries.log
	: >"$QLOG"
	# single and many addresses, UDP over IPv4
	q $s www.example.test A; q $s www.example.test AAAA
	q $s single.example.test; q $s multi8.example.test; q $s multi16.example.test
	q $s v6only.example.test AAAA; q $s dual.example.test A; q $s dual.example.test AAAA
	q $s edgeips.example.test A; q $s edgeips.example.test AAAA
	# TTLs: 0, 1, 86400, 2^31-1, and the top bit set
	q $s ttl0.example.test A; q $s ttl0.example.test AAAA; q $s ttl1.example.test
	q $s ttl86400.example.test; q $s ttlmax.example.test A; q $s ttlmax.example.test AAAA
	q $s ttl2p31.example.test; q $s ttlbig.example.test; q $s ttlbig.cloudapp.test
	# long names
	q $s $LONG A; q $s $LONG AAAA; q $s longcname.example.test; q $s $MANY A
	# mixed case questions (answers point at the question's spelling)
	q $s WwW.ExAmPlE.TeSt; q $s mIxEdCaSe.example.test; q $s MIXEDCASE.EXAMPLE.TEST
	q $s DuAl.ExAmPlE.tEsT AAAA; q $s LoGiN.CloudApp.TEST; q $s Foo.CN.wild.test
	q $s host-01.example.test; q $s 123.example.test; q $s xn--bcher-kva.example.test
	# CNAME chains: in the zone, leaving it, past CS_CHAIN_MAX, loops
	q $s cname1.example.test; q $s chain2.example.test; q $s chain3.example.test
	q $s cname-ext.example.test; q $s cname-other.example.test
	q $s mid12.example.test A; q $s mid12.example.test AAAA; q $s hop18.example.test
	q $s mid10.example.test AAAA; q $s mid8.example.test A; q $s mid5.example.test A
	q $s login.cloudapp.test A; q $s login.cloudapp.test AAAA; q $s www.cloudapp.test
	q $s app.cloudapp.test A; q $s app.cloudapp.test AAAA; q $s x.cloudapp.test
	q $s direct.cloudapp.test; q $s chain1.cloudapp.test; q $s chain6.cloudapp.test
	q $s to-other.cloudapp.test
	q $s edge.cdn.test A; q $s edge.cdn.test AAAA; q $s cdn.test A; q $s final.cdn.test
	q $s in6.cdn.test A; q $s loopa.cdn.test
	q $s plain.other.test; q $s origin.other.test; q $s to-cloud.other.test; q $s to-cdn.other.test
	# DNAME
	q $s x.olddept.example.test; q $s app.olddept.example.test AAAA
	q $s login.olddept.example.test
	# ties between chain names, on records not learned before (resolvers
	# follow these into cloudapp.test and cdn.test)
	q $s dnamed.olddept.example.test; q $s bar.cn2.wild.test; q $s alias-ip.example.test
	# wildcards
	q $s wild.test A; q $s foo.wild.test; q $s a.b.c.wild.test AAAA; q $s x.deep.wild.test
	q $s q.many.wild.test; q $s explicit.wild.test A; q $s explicit.wild.test TXT
	# NXDOMAIN, NODATA, CNAME to them, other types (addresses in additional)
	q $s nope.example.test; q $s nope.nope.cloudapp.test; q $s cname-nx.example.test
	q $s cname-nodata.example.test; q $s www.example.test TXT; q $s mx.example.test A
	q $s mx.example.test MX; q $s txt.example.test TXT; q $s example.test NS
	# big answers: fit 1232 octets, or TC over UDP then dig retries over TCP
	q $s a16.big.test; q $s a40.big.test; q $s a72.big.test; q $s a74.big.test; q $s a100.big.test
	q $s aaaa20.big.test AAAA; q $s aaaa42.big.test AAAA; q $s aaaa60.big.test AAAA
	q $s mixed40.big.test A; q $s mixed40.big.test AAAA; q $s cname-big.big.test
	q $s txtbig.big.test TXT
	# truncated UDP answers, kept as they are
	for n in a40 a72 a100; do q $s +bufsize=512 +ignore +notcp $n.big.test; done
	q $s +bufsize=512 +ignore +notcp aaaa42.big.test AAAA
	q $s +bufsize=512 +ignore +notcp cname-big.big.test
	q $s +bufsize=512 +ignore +notcp multi16.example.test
	q $s +noedns +ignore +notcp mixed40.big.test AAAA
	# TCP
	q $s +tcp www.example.test; q $s +tcp multi8.example.test; q $s +tcp dual.example.test AAAA
	q $s +tcp a40.big.test; q $s +tcp a100.big.test; q $s +tcp aaaa60.big.test AAAA
	q $s +tcp login.cloudapp.test; q $s +tcp chain6.cloudapp.test; q $s +tcp nope.example.test
	# kdig, UDP and TCP
	kq $s www.example.test; kq $s multi16.example.test; kq $s +tcp a40.big.test
	kq $s cname-ext.example.test; kq $s +tcp mixed40.big.test AAAA
	# IPv6 transport
	q $s6 www.example.test; q $s6 WWW.example.TEST AAAA; q $s6 dual.example.test AAAA
	q $s6 multi16.example.test; q $s6 chain6.cloudapp.test; q $s6 nope.example.test
	q $s6 foo.wild.test; q $s6 $LONG; q $s6 aaaa42.big.test AAAA
	q $s6 +bufsize=512 +ignore +notcp a40.big.test; q $s6 a100.big.test
	q $s6 +tcp edge.cdn.test; kq $s6 +tcp dual.example.test A
	# VLAN-tagged (802.1Q) and QinQ (802.1ad + 802.1Q) frames
	[ "$HAVE_VLAN" = 1 ] && live_vlan_queries
	# the same again: refreshes, and answers from a cache where there is one
	q $s www.example.test; q $s multi8.example.test; q $s login.cloudapp.test
	q $s edge.cdn.test; q $s chain6.cloudapp.test
	[ -n "${1:-}" ] && "$1"
	return 0
}

# live_auth_queries: for the authoritative servers only (a resolver would
# chase the delegation to an address that does not exist).
live_auth_queries() {
	local s=@$S4
	q $s host.sub.example.test; q $s +norec www.sub.example.test AAAA
	q $s +norec www.example.test; q $s example.test SOA; q $s +tcp example.test ANY
}

live_vlan_queries() {
	q @$V4 www.example.test; q @$V4 multi16.example.test; q @$V4 +tcp dual.example.test AAAA
	q @$V4 +bufsize=512 +ignore +notcp a40.big.test; q @$V4 login.cloudapp.test
	q @$Q6 www.example.test AAAA; q @$Q6 chain2.example.test; q @$Q6 +tcp multi8.example.test
	q @$Q6 aaaa42.big.test AAAA; q @$Q6 foo.wild.test
}

# live_check: decode the capture with tshark into the oracle, then compare.
live_check() {
	local pcap=$TMP/$NAME.pcap oracle=$TMP/$NAME.oracle.jsonl
	if ! python3 "$CORPUS/oracle.py" --pcap "$pcap" --server "$NAME" >"$oracle" 2>"$TMP/oracle.err"; then
		fail oracle "tshark could not decode the capture: $(tail -3 "$TMP/oracle.err")"
		return 1
	fi
	local n
	n=$(wc -l <"$oracle")
	if [ "$n" -lt 50 ]; then
		fail capture "only $n DNS responses in the capture (queries: $TMP/queries.log)"
		tail -20 "$TMP/queries.log" | sed 's/^/    /'
		return 1
	fi
	python3 "$CORPUS/expect.py" --config "$RULES" --oracle "$oracle" --explain \
		>"$TMP/$NAME.expected" 2>&1
	cp "$RULES" "$TMP/rules.yaml"
	python3 "$CORPUS/compare.py" --suite "$T_SUITE" --config "$RULES" --oracle "$oracle" \
		--pcap "$pcap" --cloudsteer "$CLOUDSTEER" || T_FAILED=1
}
