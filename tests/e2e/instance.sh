#!/bin/bash
# e2e-instance: the instance role. Two namespaces run `cloudsteer instance`
# in strict mode (a stateful firewall: TCP without state that is not a SYN
# is dropped); the host steers a symmetric chain to them, so each instance
# sees both directions of its streams.
#
#   cli 10.10.0.2 --lan-- host --wan-- inet 10.20.0.2 (dnsmasq; HTTP :8080)
#                          |  \
#                     10.30.0.2  10.31.0.2   instances a and b
#
# 1. A download through the primary; the primary dies mid-transfer (no
#    answers, no forwarding); the download completes through the secondary,
#    intact, with no reset. The time from the death to the stream's first
#    packet on the secondary is reported.
# 2. A UDP stream: synced to the secondary, taken over there after the death.
# 3. The dead instance returns empty: its peer syncs it what it holds, the
#    host keeps it secondary while it warms up, and when the other instance
#    dies in turn, a download it never saw begin completes through it.
# 4. A stranger floods an instance with well-formed sync datagrams; then a
#    forger sends from the peer's own address (spoofed): under a wrong key,
#    in the old version 1 format, addressed to another instance. All
#    refused and counted, nothing installed, forwarding goes on. The same
#    datagram under the right key is installed (so it was the key that
#    refused the others), and sent again, a replay, is stale.
# 5. The same as 1 with sync off: the download fails (the secondary drops
#    the stream's packets), so the test does measure the sync.
# 6. IPv6: instances, sync and streams over IPv6, failover without loss.
# Phases 1-4 authenticate the sync with mesh.sync_key; 5 and 6 with the key
# derived from mesh.affinity_key.
T_SUITE=e2e-instance
. "$(dirname "$0")/mesh.bash"
for t in curl jq; do command -v $t >/dev/null || { skip all "$t missing"; exit 0; }; done
mesh_up app.cloud.test,192.0.2.7,2001:db8:7::7 || { fail lab "the lab did not come up"; t_exit; }

# IPv6 beside IPv4 on every link (phase 6)
v6() {	# v6 NS IF ADDR
	ip -n $P-$1 addr add $3 dev $2 nodad
}
for n in cli host a b inet; do ns $n sysctl -qw net.ipv6.conf.all.forwarding=1; done
v6 cli eth0 fd00:10::2/64; v6 host lan fd00:10::1/64
v6 host wan fd00:20::1/64; v6 inet eth0 fd00:20::2/64
v6 host ia fd00:30::1/64; v6 a eth0 fd00:30::2/64
v6 host ib fd00:31::1/64; v6 b eth0 fd00:31::2/64
ip -n $P-cli -6 route add default via fd00:10::1
ip -n $P-inet -6 route add default via fd00:20::1
ip -n $P-a -6 route add default via fd00:30::1
ip -n $P-b -6 route add default via fd00:31::1
ip -n $P-host -6 route add 2001:db8:7::/48 via fd00:20::2
ip -n $P-inet -6 route add local 2001:db8:7::/48 dev lo

# The client reads at most 256 KiB ahead, so a download crosses the wire at
# curl's pace (--limit-rate), not in one burst into its buffers.
ns cli sysctl -qw net.ipv4.tcp_rmem="4096 131072 262144"

# the server: a large file over HTTP on every inet address; health probes
# of the instances on TCP 9100
mkdir -p "$LAB/www"
head -c 24M /dev/urandom > "$LAB/www/big.bin"
want_sum=$(sha256sum < "$LAB/www/big.bin")
ns inet python3 -m http.server 8080 --bind :: --directory "$LAB/www" >"$LAB/http.log" 2>&1 &
for n in a b; do
	ns $n socat TCP-LISTEN:9100,fork,reuseaddr OPEN:/dev/null >/dev/null 2>&1 &
	ns $n socat TCP6-LISTEN:9100,ipv6only=1,fork,reuseaddr OPEN:/dev/null >/dev/null 2>&1 &
done

# mesh_config FILE SYNC ADDR_A ADDR_B [SYNC_KEY]: one config for the host
# and both instances (each finds itself by its address)
SYNC_KEY=5ca1ab1e0ddba11c0ffee0000c0ffee1
mesh_config() {
	cat > "$1" <<YAML
learn:
  interfaces: [wan]
steer:
  interfaces: [lan, wan]
  xdp: on
rules:
  - match: [cloud.test]
    chain: casb
mesh:
  affinity_key: 00112233445566778899aabbccddeeff
${5:+  sync_key: $5}
chains:
  - name: casb
    mode: route
    symmetric: true
    instances:
      - {name: casb-a, address: $3}
      - {name: casb-b, address: $4}
    health: {probe: tcp, port: 9100, interval: 100ms, timeout: 50ms, fall: 3, rise: 2, warmup: 2s}
instance:
  interfaces: [eth0]
  policy: strict
  sync: $2
YAML
}

# lab_up CONFIG: the host daemon and both instances, fresh
lab_up() {
	mesh_fresh "$1" || return 1
	[ "$(ns cli dig +short +time=2 @10.20.0.2 app.cloud.test A)" = 192.0.2.7 ] &&
		[ "$(ns cli dig +short +time=2 @10.20.0.2 app.cloud.test AAAA)" = 2001:db8:7::7 ]
}
# holder PACKETS_BEFORE_A PACKETS_BEFORE_B: which instance carried the
# stream since the counts were taken ("a" or "b"), from steer's counters
holder() {
	local pa=$(inst_packets 1) pb=$(inst_packets 2)
	if [ $((pa - $1)) -gt 0 ] && [ $((pb - $2)) = 0 ]; then echo a
	elif [ $((pb - $2)) -gt 0 ] && [ $((pa - $1)) = 0 ]; then echo b
	else echo "none (a $1 -> $pa, b $2 -> $pb)"; fi
}
other() { [ "$1" = a ] && echo b || echo a; }
id_of() { [ "$1" = a ] && echo 1 || echo 2; }
# stream_of NAME PORT: instance NAME's entry for the client's stream from PORT
stream_of() {
	inst $1 show streams --json | jq -c "select(.lo_port == $2 or .hi_port == $2)"
}
reason() {	# reason NAME COUNTER: instance NAME's dataplane counter
	inst $1 show sync --json | jq ".dataplane.$2"
}
sync_stat() { inst $1 show sync --json | jq ".$2"; }

# download PORT URL OUT: curl from the client's PORT, 24 MiB at 3 MiB/s;
# gives up after 4 s without progress. Its exit status in $OUT.rc
download() {
	ns cli curl -sS -g --local-port $1 --limit-rate 3M --speed-time 4 --speed-limit 1000 --max-time 40 \
		-o "$3" "$2" 2>"$3.err"
	echo $? > "$3.rc"
}
# capture NS FILE FILTER: tcpdump that writes at once, stopped with the lab
capture() {
	ns $1 tcpdump -i eth0 -n -U --immediate-mode -w "$2" "$3" >/dev/null 2>&1 &
}
rst_count() { tcpdump -n -r "$1" 'tcp[tcpflags] & tcp-rst != 0 or (ip6 and ip6[13+40] & 4 != 0)' 2>/dev/null | wc -l; }

# failover_download PHASE PORT URL: a download through the primary, which
# dies 1.5 s in. Sets FIRST, SECOND, T0 and leaves $LAB/PHASE.{bin,rc,err}
failover_download() {
	local pa=$(inst_packets 1) pb=$(inst_packets 2)
	download $2 "$3" "$LAB/$1.bin" &
	DL=$!
	sleep 1.5
	FIRST=$(holder $pa $pb)
	case $FIRST in a|b) ;; *) fail "$1: the download goes to one instance" "$FIRST"; return 1;; esac
	SECOND=$(other $FIRST)
	T0=$(date +%s.%N)
	kill_inst $FIRST
	[ ! -s "$LAB/$1.bin.rc" ] || { fail "$1: the download is still running when $FIRST dies" "it ended first"; return 1; }
	wait $DL
}

# ---- 1. failover without loss ----
if [ -z "${SKIP_1_4:-}" ]; then	# (phases 5 and 6 alone: SKIP_1_4=1, to debug)
mesh_config "$LAB/on.yaml" true 10.30.0.2 10.31.0.2 $SYNC_KEY
lab_up "$LAB/on.yaml" || { fail "the lab runs" "$(cat "$LAB/daemon.log" "$LAB/a.log" "$LAB/b.log")"; t_exit; }
pass "the host and two strict instances run; the client resolves"
grep -q "sync: datagrams authenticated with mesh.sync_key" "$LAB/a.log" && [ "$(sync_stat a authenticated)" = 1 ] &&
	pass "the sync is authenticated with mesh.sync_key" || fail "the sync is authenticated" "$(cat "$LAB/a.log")"
for n in a b; do capture $n "$LAB/$n-1.pcap" "tcp port 8080"; done
capture cli "$LAB/cli-1.pcap" "tcp port 8080"
sleep 1
if failover_download tcp4 40001 http://192.0.2.7:8080/big.bin; then
	[ "$(cat "$LAB/tcp4.bin.rc")" = 0 ] && [ "$(sha256sum < "$LAB/tcp4.bin")" = "$want_sum" ] &&
		pass "the primary ($FIRST) died mid-download; the download completed through $SECOND, intact" ||
		fail "the download completes through $SECOND" "curl $(cat "$LAB/tcp4.bin.rc"): $(cat "$LAB/tcp4.bin.err"); $(tail -5 "$LAB/$SECOND.log")"
	ms=$(first_after "$LAB/$SECOND-1.pcap" "$T0")
	echo "    stats: instance_resume_ms=$ms"
	[ "$ms" != none ] && pass "the stream resumed on $SECOND $ms ms after $FIRST died" ||
		fail "the stream resumes on $SECOND" "no packet"
	sleep 0.5
	[ "$(rst_count "$LAB/cli-1.pcap")" = 0 ] && pass "no reset reached the client" ||
		fail "no reset" "$(rst_count "$LAB/cli-1.pcap") resets"
	[ "$(reason $SECOND taken_over)" -ge 1 ] && [ "$(reason $SECOND strict_drop)" = 0 ] &&
		pass "$SECOND took the synced stream over and dropped nothing" ||
		fail "$SECOND takes over" "$(inst $SECOND show sync)"
	s=$(stream_of $SECOND 40001)
	[ "$(echo "$s" | jq -r .state)" != null ] && [ "$(echo "$s" | jq .synced)" = false ] &&
		[ "$(echo "$s" | jq .epoch)" -ge 2 ] &&
		pass "$SECOND holds the stream now, in a later epoch: $(echo "$s" | jq -c '{state, epoch, seq}')" ||
		fail "$SECOND holds the stream" "$s"
fi

# ---- 2. a UDP stream ----
# (the dead instance stays dead: the UDP stream starts on the live one and
# is synced to... nobody. So revive first, as phase 3 would, then kill.)
SURVIVOR=$SECOND
revive $FIRST
inst_up $FIRST "$LAB/on.yaml" || fail "$FIRST runs again" "$(cat "$LAB/$FIRST.log")"
wait_log "instance casb-$FIRST is up: warmed up" 50 || fail "the host warms $FIRST up" "$(cat "$LAB/daemon.log")"
grep -q "instance casb-$FIRST is warming" "$LAB/daemon.log" &&
	pass "the host kept the returning $FIRST secondary-only while it warmed up" ||
	fail "the host warms $FIRST up" "$(grep casb-$FIRST "$LAB/daemon.log")"

# 100 datagrams a second for 4 s
ns cli python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.10.0.2", 41234))
for i in range(400):
    s.sendto(b"x" * 100, ("192.0.2.7", 9001))
    time.sleep(0.01)' >/dev/null 2>&1 &
UDP=$!
sleep 1
a_u=$(stream_of a 41234); b_u=$(stream_of b 41234)
if [ "$(echo "$a_u" | jq .synced)" = false ] && [ "$(echo "$b_u" | jq .synced)" = true ]; then UH=a
elif [ "$(echo "$b_u" | jq .synced)" = false ] && [ "$(echo "$a_u" | jq .synced)" = true ]; then UH=b
else UH=none; fi
[ $UH != none ] && pass "the UDP stream is held by $UH and synced to $(other $UH)" ||
	fail "the UDP stream is held and synced" "a: $a_u; b: $b_u"
if [ $UH != none ]; then
	UO=$(other $UH)
	age0=$(stream_of $UO 41234 | jq .age_ms)
	kill_inst $UH
	wait_log "instance casb-$UH is down" 20
	sleep 0.5
	u=$(stream_of $UO 41234)
	[ "$(echo "$u" | jq .synced)" = false ] && [ "$(echo "$u" | jq .age_ms)" -ge "$age0" ] &&
		pass "$UH died; $UO took the UDP stream over with its history: $(echo "$u" | jq -c '{state, packets, age_ms, epoch}')" ||
		fail "$UO takes the UDP stream over" "$u"
	revive $UH
	inst_up $UH "$LAB/on.yaml"
	wait_log "instance casb-$UH is up: warmed up" 50
fi
wait $UDP

# ---- 3. an instance that returns ----
# a download held by the survivor while the other is dead; the other comes
# back empty, is synced, and carries the download when the survivor dies
R=$(other $SURVIVOR)
kill_inst $R
wait_log "instance casb-$R is down" 20
for n in a b; do capture $n "$LAB/$n-3.pcap" "tcp port 8080"; done
sleep 0.5
download 40003 http://192.0.2.7:8080/big.bin "$LAB/ret.bin" &
DL=$!
sleep 1
revive $R
inst_up $R "$LAB/on.yaml" || fail "$R runs again, empty" "$(cat "$LAB/$R.log")"
mark=$(grep -c "instance casb-$R is up: warmed up" "$LAB/daemon.log")
for i in $(seq 30); do
	[ -n "$(stream_of $R 40003)" ] && break
	sleep 0.1
done
warm=$(grep -c "instance casb-$R is up: warmed up" "$LAB/daemon.log")
s=$(stream_of $R 40003)
[ "$(echo "$s" | jq .synced)" = true ] && [ "$warm" = "$mark" ] &&
	pass "the returning $R got the download's state from $SURVIVOR before it was primary again" ||
	fail "the returning $R is synced while warming" "stream: $s; warmed up: $mark -> $warm"
wait_log "instance casb-$R is up: warmed up" 50
T0=$(date +%s.%N)
kill_inst $SURVIVOR
wait $DL
ms=$(first_after "$LAB/$R-3.pcap" "$T0")
echo "    stats: instance_return_resume_ms=$ms"
[ "$(cat "$LAB/ret.bin.rc")" = 0 ] && [ "$(sha256sum < "$LAB/ret.bin")" = "$want_sum" ] && [ "$ms" != none ] &&
	pass "$SURVIVOR died mid-download; it completed through the returned $R ($ms ms later), intact" ||
	fail "the download completes through $R" "curl $(cat "$LAB/ret.bin.rc"): $(cat "$LAB/ret.bin.err"); resumed: $ms; $R: $(stream_of $R 40003) $(inst $R show sync --json); $(tail -5 "$LAB/$R.log"); $(tail -8 "$LAB/daemon.log")"
revive $SURVIVOR
inst_up $SURVIVOR "$LAB/on.yaml"
wait_log "instance casb-$SURVIVOR is up: warmed up" 50

# ---- 4. strangers and forgers at the sync port ----
# a (10.30.0.2) takes sync from b (10.31.0.2) alone, named on the wire by
# its wire id (syncforge.py computes it from the names, as the daemons do). Every
# datagram comes from the host, made by tests/lib/syncforge.py, which binds
# to any address it is given: the host's own (a stranger), or b's (spoofed).
# Each forged stream has a client in 10.8/16 (10.7/16: the right key).
WRONG_KEY=0f0e0d0c0b0a09080706050403020100
forge() { ns host python3 "$REPO/tests/lib/syncforge.py" send --dst 10.30.0.2 "$@"; }
a_counters() { inst a show sync --json; }
delta() {	# delta FIELD BEFORE-JSON: how much a's counter grew since
	echo $(( $(a_counters | jq ".$1") - $(echo "$2" | jq ".$1") ))
}
# grown FIELD BEFORE-JSON N [EXTRA]: a's counter grew by N - EXTRA or more.
# The daemon publishes its counters once a second: poll, up to 3 s.
grown() {
	local i
	for i in $(seq 30); do
		[ $(( $(delta $1 "$2") + ${4:-0} )) -ge $3 ] && return 0
		sleep 0.1
	done
	return 1
}
forged_streams() { inst a show streams --json | jq -c "select(.lo | startswith(\"$1\"))" | wc -l; }
udp_rcvbuf_errors() {	# datagrams a's kernel dropped, its socket buffers full
	ns a awk '/^Udp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 } else print $c["RcvbufErrors"] }' \
		/proc/net/snmp
}
ns host python3 "$REPO/tests/lib/syncforge.py" selftest >/dev/null ||
	fail "the forger's SipHash matches the reference vectors" "$(ns host python3 "$REPO/tests/lib/syncforge.py" selftest)"
recv0=$(( $(sync_stat a msgs_received) + $(sync_stat b msgs_received) ))

# a stranger: 20,000 from the host's own address, as fast as they are made;
# what the kernel dropped for a full socket buffer is counted apart
c0=$(a_counters); drops0=$(udp_rcvbuf_errors)
forge --src 10.30.0.1 --sport 0 --key $WRONG_KEY --sender casb-b --receiver casb-a --count 20000 \
	--client-net 10.9 --map-version $((1 << 40)) >/dev/null
drops=$(( $(udp_rcvbuf_errors) - drops0 ))
grown refused "$c0" 20000 $drops
refused=$(delta refused "$c0")
fake=$(forged_streams 10.9.)
echo "    stats: stranger_refused=$refused of 20000 (kernel drops $drops)"
[ "$refused" -ge 1000 ] && [ $((refused + drops)) -ge 20000 ] && [ "$fake" = 0 ] &&
	[ "$(sync_stat a map_version)" -lt 1099511627776 ] &&
	pass "20000 datagrams from a stranger: $refused refused, $drops dropped by the kernel (socket full), none installed" ||
	fail "a stranger is refused" "refused $refused, drops $drops, installed $fake, version $(sync_stat a map_version)"

# b's own address, a wrong key: 5,000, paced so that most reach the daemon
c0=$(a_counters); drops0=$(udp_rcvbuf_errors)
forge --src 10.31.0.2 --key $WRONG_KEY --sender casb-b --receiver casb-a --count 5000 --client-net 10.8 \
	--map-version $((1 << 40)) --burst 50 --pause-ms 2 >/dev/null
drops=$(( $(udp_rcvbuf_errors) - drops0 ))
grown unauthenticated "$c0" 5000 $drops
unauth=$(delta unauthenticated "$c0")
fake=$(forged_streams 10.8.)
echo "    stats: spoofed_unauthenticated=$unauth of 5000 (kernel drops $drops)"
[ "$unauth" -ge 2500 ] && [ "$unauth" -le 5000 ] && [ $((unauth + drops)) -ge 5000 ] && [ "$fake" = 0 ] &&
	[ "$(delta malformed "$c0")" = 0 ] && [ "$(sync_stat a map_version)" -lt 1099511627776 ] &&
	pass "5000 datagrams from b's own address under a wrong key: $unauth unauthenticated, $drops dropped by the kernel, none installed" ||
	fail "spoofed datagrams under a wrong key are refused" "unauthenticated $unauth, drops $drops, forged streams $fake: $(a_counters)"
grep -q "refused a datagram from 10.31.0.2: its tag does not verify" "$LAB/a.log" &&
	pass "a says why: the tag does not verify" || fail "a logs the bad tag" "$(tail -5 "$LAB/a.log")"

# b's own address: older peers' datagrams (version 1, no tag; version 2,
# which named instances by their positions in the config: 2 and 1, under
# the right key), and one under the right key addressed to another
# instance (as if captured on its way there)
c0=$(a_counters)
forge --src 10.31.0.2 --version 1 --key $WRONG_KEY --sender casb-b --receiver casb-a --repeat 3 --client-net 10.8 >/dev/null
forge --src 10.31.0.2 --version 2 --key $SYNC_KEY --chain 1 --sender 2 --receiver 1 --repeat 3 --client-net 10.8 >/dev/null
forge --src 10.31.0.2 --key $SYNC_KEY --sender casb-b --receiver casb-c --repeat 3 --client-net 10.8 >/dev/null
grown malformed "$c0" 6 && grown refused "$c0" 3
[ "$(delta malformed "$c0")" = 6 ] && [ "$(delta refused "$c0")" = 3 ] && [ "$(forged_streams 10.8.)" = 0 ] &&
	grep -q "sync format version 1, this node speaks 3" "$LAB/a.log" &&
	pass "version 1 and 2 datagrams are malformed (and logged as another version), one for another instance refused" ||
	fail "version 1, 2 and misaddressed datagrams are refused" "$(a_counters); $(grep sync: "$LAB/a.log")"

# the right key: installed, so the forger's datagrams are right but for the
# key; sent again, byte for byte (a replay), it is stale
stream_107() { inst a show streams --json | jq -c 'select(.lo | startswith("10.7.")) | {peer, synced, epoch, seq}'; }
c0=$(a_counters)
forge --src 10.31.0.2 --key $SYNC_KEY --sender casb-b --receiver casb-a --client-net 10.7 --epoch 5 >/dev/null
grown installed "$c0" 1
first=$(stream_107)
[ "$(echo "$first" | jq .synced)" = true ] && [ "$(echo "$first" | jq .epoch)" = 5 ] &&
	pass "the same datagram under the right key is installed: $first" ||
	fail "a datagram under the right key is installed" "$first; $(a_counters)"
c1=$(a_counters)
forge --src 10.31.0.2 --key $SYNC_KEY --sender casb-b --receiver casb-a --client-net 10.7 --epoch 5 >/dev/null
grown stale "$c1" 1
again=$(stream_107)
[ "$(delta stale "$c1")" -ge 1 ] && [ "$(delta installed "$c1")" = 0 ] && [ "$again" = "$first" ] &&
	pass "replayed, it is stale: the copy stays as it was" ||
	fail "a replay is stale" "before $first, after $again; $(a_counters)"

ns cli curl -sS --max-time 10 -o /dev/null http://192.0.2.7:8080/big.bin --limit-rate 20M &&
	pass "forwarding went on after the flood" || fail "forwarding after the flood" ""
sleep 0.3
[ $(( $(sync_stat a msgs_received) + $(sync_stat b msgs_received) )) -gt "$recv0" ] &&
	pass "the instances still sync each other" || fail "the instances still sync" "$(inst a show sync)"

# ---- 5. the same failover with sync off must fail ----
fi	# phases 1-4
mesh_config "$LAB/off.yaml" false 10.30.0.2 10.31.0.2
lab_up "$LAB/off.yaml" || { fail "the lab runs with sync off" "$(cat "$LAB/daemon.log")"; t_exit; }
if failover_download off 40005 http://192.0.2.7:8080/big.bin; then
	[ "$(cat "$LAB/off.bin.rc")" != 0 ] && [ "$(reason $SECOND strict_drop)" -gt 0 ] &&
		pass "with sync off the download fails: $SECOND dropped $(reason $SECOND strict_drop) packets it had no state for" ||
		fail "with sync off the download fails" "curl $(cat "$LAB/off.bin.rc"), drops $(reason $SECOND strict_drop); $(cat "$LAB/daemon.log"); $(inst $SECOND show sync --json); $("$CS" show instances); $("$CS" explain tcp 10.10.0.2 40005 192.0.2.7 8080); $(cat "$LAB/$SECOND.log")"
fi

# ---- 6. IPv6: instances, sync and the stream ----
mesh_config "$LAB/v6.yaml" true fd00:30::2 fd00:31::2
lab_up "$LAB/v6.yaml" || { fail "the lab runs over IPv6" "$(cat "$LAB/daemon.log" "$LAB/a.log")"; t_exit; }
grep -q "sync: datagrams authenticated with a key derived from mesh.affinity_key" "$LAB/a.log" &&
	pass "without mesh.sync_key the sync is authenticated with a key derived from mesh.affinity_key" ||
	fail "the sync key is derived" "$(cat "$LAB/a.log")"
capture cli "$LAB/cli-6.pcap" "tcp port 8080"
for n in a b; do capture $n "$LAB/$n-6.pcap" "tcp port 8080"; done
sleep 1
if failover_download tcp6 40006 "http://[2001:db8:7::7]:8080/big.bin"; then
	ms=$(first_after "$LAB/$SECOND-6.pcap" "$T0")
	echo "    stats: instance_resume6_ms=$ms"
	[ "$(cat "$LAB/tcp6.bin.rc")" = 0 ] && [ "$(sha256sum < "$LAB/tcp6.bin")" = "$want_sum" ] &&
		[ "$(rst_count "$LAB/cli-6.pcap")" = 0 ] && [ "$ms" != none ] &&
		pass "IPv6: the primary ($FIRST) died mid-download; it completed through $SECOND ($ms ms later), intact, no reset" ||
		fail "IPv6 failover without loss" "curl $(cat "$LAB/tcp6.bin.rc"): $(cat "$LAB/tcp6.bin.err")"
	[ "$(sync_stat $SECOND msgs_received)" -gt 0 ] && pass "IPv6: the sync went over IPv6" ||
		fail "IPv6 sync" "$(inst $SECOND show sync)"
fi
t_exit
