#!/bin/bash
# e2e-nsh-tshark: tshark is the oracle for the chain header. The frames that
# bpf/lib/nsh.h wraps under BPF_PROG_TEST_RUN (tests/prog/nsh_test --pcap:
# IPv4 and IPv6, inside either, two chains, two stages) are decoded by
# tshark as VXLAN-GPE (UDP 4790, next protocol NSH, the chain's VNI) and NSH
# (version 0, no O bit, MD type 1, length 6), and what tshark reads there
# (SPI, SI, TTL, next protocol, the four context words) and behind it (the
# inner packet) is what the program was asked to write. Needs root (BPF)
# and tshark (make test-deps).
T_SUITE=e2e-nsh-tshark
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/lib/testing.sh"
BIN=$REPO/${BUILD:-build}/tests/prog/nsh_test
TMP=$(mktemp -d /tmp/cs-nsh.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

[ -x "$BIN" ] || { fail build "$BIN missing: run make test-build"; t_exit; }
command -v tshark >/dev/null || { fail tshark "tshark missing: the oracle of this test (make test-deps)"; t_exit; }
[ "$(id -u)" = 0 ] || { skip all "needs root to run BPF programs"; exit 0; }

"$BIN" --pcap "$TMP/nsh.pcap" > "$TMP/want" 2> "$TMP/err" ||
	{ fail "frames written" "$(cat "$TMP/err")"; t_exit; }
n=$(wc -l < "$TMP/want")
[ "$n" = 4 ] && pass "4 wrapped frames written" || { fail "4 wrapped frames written" "$n"; t_exit; }

# Decode-as spelled out, so that a tshark without 4790 registered still
# reads VXLAN-GPE. Lists (-E occurrence=a) keep the outer and inner headers'
# fields of one name apart: outer first.
tshark -n -d udp.port==4790,vxlan_gpe -r "$TMP/nsh.pcap" -T fields -E separator='|' -E occurrence=a \
	-E aggregator=, -e vxlan.flags -e vxlan.next_proto -e vxlan.vni -e nsh.version -e nsh.Obit \
	-e nsh.length -e nsh.mdtype -e nsh.spi -e nsh.si -e nsh.ttl -e nsh.nextproto -e nsh.contextheader \
	-e ip.src -e ipv6.src -e udp.dstport -e _ws.malformed > "$TMP/got" 2> "$TMP/tshark.err" ||
	{ fail "tshark reads the capture" "$(tail -3 "$TMP/tshark.err")"; t_exit; }

# the inner packet's source: tests/prog/nsh_test.c's client
inner_src() { [ "$1" = 2 ] && echo 2001:db8::a || echo 192.0.2.10; }

i=0
while IFS='|' read -r gflags gnp vni ver obit len md spi si ttl np ctx ip4 ip6 dports malformed; do
	i=$((i + 1))
	want=$(sed -n "${i}p" "$TMP/want")
	IFS=, read -r c1 c2 c3 c4 <<< "$ctx"
	got="spi=$spi si=$si ttl=$((ttl)) np=$np c1=$c1 c2=$c2 c3=$c3 c4=$c4"
	[ "$got" = "$want" ] && pass "frame $i: tshark reads SPI, SI, TTL, next protocol and context words as written" ||
		fail "frame $i: tshark reads SPI, SI, TTL, next protocol and context words as written" \
			"tshark: $got; written: $want"
	[ "$gflags" = 0x0c ] && [ "$gnp" = 4 ] && [ "$vni" = "$spi" ] &&
		pass "frame $i: VXLAN-GPE with I and P, next protocol NSH, the chain's VNI" ||
		fail "frame $i: VXLAN-GPE with I and P, next protocol NSH, the chain's VNI" "flags $gflags np $gnp vni $vni"
	[ "$ver" = 0 ] && [ "$obit" = 0 ] && [ "$len" = 6 ] && [ "$md" = 1 ] &&
		pass "frame $i: NSH version 0, no O bit, MD type 1, 6 words" ||
		fail "frame $i: NSH version 0, no O bit, MD type 1, 6 words" "version $ver O $obit length $len MD $md"
	# the inner header is the last of its family's: outer first
	[ "$np" = 2 ] && src=${ip6##*,} || src=${ip4##*,}
	[ "$src" = "$(inner_src "$np")" ] && [ "${dports##*,}" = 443 ] && [ -z "$malformed" ] &&
		pass "frame $i: the inner packet decodes behind NSH" ||
		fail "frame $i: the inner packet decodes behind NSH" "source $src ports $dports malformed '$malformed'"
done < "$TMP/got"
[ "$i" = "$n" ] || fail "tshark decodes every frame" "$i of $n"
t_exit
