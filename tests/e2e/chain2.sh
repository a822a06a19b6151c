#!/bin/bash
# e2e-chain2: a chain of two stages, end to end. The host steers chain
# `inspect` (mode nsh, symmetric) to stage fw (instances fw-a, fw-b), whose
# instances send it on to stage dlp (dlp-c, dlp-d); the answers come back
# through dlp, then fw. Every instance runs `cloudsteer instance` in strict
# mode (a stateful firewall) and forwards as a router (the service).
#
#   cli 10.10.0.2 --lan-- host --wan-- inet 10.20.0.2 (dnsmasq; HTTP :8080)
#                        / |  | \
#         fw-a 10.30.0.2  fw-b 10.31.0.2  dlp-c 10.32.0.2  dlp-d 10.33.0.2
#
# 1. A 30 MiB download from the client goes through both stages; mid-way
#    the stage-1 (fw) primary dies, then the stage-2 (dlp) primary: the
#    download completes intact, with no reset at the client.
# 2. tshark, the independent decoder, reads VXLAN-GPE and NSH on every link
#    of the host to an instance: one SPI (the chain), the service indexes
#    of each hop out and back, and one affinity code in C1 on all of them,
#    the code the host computed.
# 3. `cloudsteer explain` on the host names, at each stage, the instance the
#    stream's packets were seen on there (before the deaths: the primaries;
#    after: the secondaries).
# 4. instance.mark: code: the service on every stage sees the code in the
#    packets' mark (nftables in each instance records the marks it forwards).
T_SUITE=e2e-chain2
. "$(dirname "$0")/mesh.bash"
for t in curl jq tshark nft; do command -v $t >/dev/null || { skip all "$t missing"; exit 0; }; done
mesh_up app.cloud.test,192.0.2.7 || { fail lab "the lab did not come up"; t_exit; }
mesh_instance c 32 && mesh_instance d 33 || { fail lab "the second stage's namespaces"; t_exit; }

# The client reads at most 256 KiB ahead, so the download crosses the wire at
# curl's pace (--limit-rate), not in one burst into its buffers.
ns cli sysctl -qw net.ipv4.tcp_rmem="4096 131072 262144"
mkdir -p "$LAB/www"
head -c 30M /dev/urandom > "$LAB/www/big.bin"
want_sum=$(sha256sum < "$LAB/www/big.bin")
ns inet python3 -m http.server 8080 --bind 0.0.0.0 --directory "$LAB/www" >"$LAB/http.log" 2>&1 &
for n in a b c d; do
	ns $n socat TCP-LISTEN:9100,fork,reuseaddr OPEN:/dev/null >/dev/null 2>&1 &
done

cat > "$LAB/cs.yaml" <<YAML
learn:
  interfaces: [wan]
steer:
  interfaces: [lan, wan]
  xdp: on
rules:
  - match: [cloud.test]
    chain: inspect
mesh:
  affinity_key: 00112233445566778899aabbccddeeff
chains:
  - name: inspect
    mode: nsh
    symmetric: true
    health: {probe: tcp, port: 9100, interval: 100ms, timeout: 50ms, fall: 3, rise: 2, warmup: 1s}
    stages:
      - name: fw
        instances: [{name: fw-a, address: 10.30.0.2}, {name: fw-b, address: 10.31.0.2}]
      - name: dlp
        instances: [{name: dlp-c, address: 10.32.0.2}, {name: dlp-d, address: 10.33.0.2}]
instance:
  interfaces: [eth0]
  policy: strict
  mark: code
YAML
# the service's host records the marks of what it forwards
for n in a b c d; do
	ns $n nft -f - <<'NFT' || { fail "nftables in $n" "nft refused the table"; t_exit; }
table inet cst {
	set marks { type mark; flags dynamic; }
	chain forwarded { type filter hook forward priority 0; meta mark != 0 add @marks { meta mark }; }
}
NFT
done
declare -A NAME=([a]=fw-a [b]=fw-b [c]=dlp-c [d]=dlp-d)
for n in a b c d; do
	inst_up $n "$LAB/cs.yaml" || { fail "instance $n runs" "$(cat "$LAB/$n.log")"; t_exit; }
done
daemon_up "$LAB/cs.yaml" || { fail "the host daemon runs" "$(cat "$LAB/daemon.log")"; t_exit; }
for n in a b c d; do
	wait_log "instance ${NAME[$n]} is up" 30 || { fail "the host sees ${NAME[$n]} up" "$(cat "$LAB/daemon.log")"; t_exit; }
done
[ "$(ns cli dig +short +time=2 @10.20.0.2 app.cloud.test A)" = 192.0.2.7 ] ||
	{ fail "the client resolves" "$(cat "$LAB/daemon.log")"; t_exit; }
pass "the host and four strict instances in two stages run; the client resolves"

# the host's side of every link to an instance, and the client's
for n in a b c d; do
	ns host tcpdump -i i$n -n -U --immediate-mode -w "$LAB/i$n.pcap" udp port 4790 >/dev/null 2>&1 &
done
ns cli tcpdump -i eth0 -n -U --immediate-mode -w "$LAB/cli.pcap" tcp port 8080 >/dev/null 2>&1 &
sleep 1

PORT=40001
# holder X Y: which of the two instances holds the client's stream itself
# (its entry not a synced copy), from their stream tables
holder() {
	local n s
	for n in "$@"; do
		s=$(inst $n show streams --json 2>/dev/null | jq -c "select(.lo_port == $PORT or .hi_port == $PORT)")
		[ -n "$s" ] && [ "$(echo "$s" | jq .synced)" = false ] && { echo $n; return; }
	done
	echo none
}
other() { case $1 in a) echo b;; b) echo a;; c) echo d;; d) echo c;; esac; }
explain() { "$CS" explain -c "$LAB/cs.yaml" --json tcp 10.10.0.2 $PORT 192.0.2.7 8080; }
# explain_says STAGE NAME: explain on the host names instance NAME at STAGE
explain_says() {
	[ "$(explain | jq -r --arg s "$1" '.stream.stages[] | select(.stage_name == $s) | .instance')" = "$2" ]
}

ns cli curl -sS --local-port $PORT --limit-rate 3M --speed-time 4 --speed-limit 1000 --max-time 60 \
	-o "$LAB/big.bin" http://192.0.2.7:8080/big.bin 2>"$LAB/curl.err" &
DL=$!
sleep 2
S1=$(holder a b); S2=$(holder c d)
if [ $S1 = none ] || [ $S2 = none ]; then
	fail "the download goes through one instance of each stage" "fw: $S1, dlp: $S2; $(explain)"
	kill $DL; t_exit
fi
pass "the download goes through ${NAME[$S1]} (stage fw), then ${NAME[$S2]} (stage dlp)"
explain_says fw ${NAME[$S1]} && explain_says dlp ${NAME[$S2]} &&
	pass "explain on the host names ${NAME[$S1]} at stage fw and ${NAME[$S2]} at stage dlp" ||
	fail "explain names the instance of each stage" "$(explain)"

# 1. the stage-1 primary dies, then the stage-2 primary
kill_inst $S1
wait_log "instance ${NAME[$S1]} is down" 20 || fail "the host sees ${NAME[$S1]} die" "$(cat "$LAB/daemon.log")"
sleep 2
kill_inst $S2
wait_log "instance ${NAME[$S2]} is down" 20 || fail "the host sees ${NAME[$S2]} die" "$(cat "$LAB/daemon.log")"
sleep 1
T1=$(other $S1) T2=$(other $S2)
explain_says fw ${NAME[$T1]} && explain_says dlp ${NAME[$T2]} &&
	pass "explain on the host names the secondaries now: ${NAME[$T1]} at fw, ${NAME[$T2]} at dlp" ||
	fail "explain names the secondaries" "$(explain)"
wait $DL; rc=$?
[ $rc = 0 ] && [ "$(sha256sum < "$LAB/big.bin")" = "$want_sum" ] &&
	pass "the 30 MiB download completed intact while ${NAME[$S1]}, then ${NAME[$S2]}, died" ||
	fail "the download completes intact" "curl $rc: $(cat "$LAB/curl.err"); $(tail -n 5 "$LAB/$T1.log" "$LAB/$T2.log")"
[ "$(holder $T1)" = $T1 ] && [ "$(holder $T2)" = $T2 ] &&
	pass "${NAME[$T1]} and ${NAME[$T2]} took the stream over from their synced copies" ||
	fail "the secondaries hold the stream" "$(inst $T1 show streams; inst $T2 show streams)"
sleep 0.5
rst=$(tcpdump -n -r "$LAB/cli.pcap" 'tcp[tcpflags] & tcp-rst != 0' 2>/dev/null | wc -l)
[ "$rst" = 0 ] && pass "no reset reached the client" || fail "no reset reached the client" "$rst resets"

# 2. the header on every link, as tshark reads it
code=$(explain | jq -r .stream.code)
pkill -f "tcpdump -i i[abcd]" 2>/dev/null; sleep 0.5
all_codes=""
for n in a b c d; do
	tshark -n -d udp.port==4790,vxlan_gpe -r "$LAB/i$n.pcap" -Y nsh -T fields -E separator='|' \
		-E occurrence=f -e nsh.spi -e nsh.si -e nsh.contextheader > "$LAB/i$n.nsh" 2>"$LAB/tshark.err"
	frames=$(wc -l < "$LAB/i$n.nsh")
	sis=$(cut -d'|' -f2 "$LAB/i$n.nsh" | sort -un | tr '\n' ' ')
	codes=$(cut -d'|' -f3 "$LAB/i$n.nsh" | sort -u | tr '\n' ' ')
	echo "    link i$n: $frames NSH frames; SI $sis; C1 $codes"
	[ "$frames" -gt 0 ] && pass "tshark decodes NSH on the link to ${NAME[$n]} ($frames frames, SI $sis)" ||
		fail "tshark decodes NSH on the link to ${NAME[$n]}" "none; $(head -3 "$LAB/tshark.err")"
	all_codes="$all_codes $codes"
done
spis=$(cat "$LAB"/i?.nsh | cut -d'|' -f1 | sort -u | wc -l)
distinct=$(echo $all_codes | tr ' ' '\n' | sort -u)
[ "$spis" = 1 ] && [ "$(echo "$distinct" | wc -l)" = 1 ] &&
	[ $((16#$distinct)) = "$code" ] &&
	pass "one SPI, and one affinity code on every link: C1 $distinct, the code the host computed" ||
	fail "one code on every link" "SPIs $spis; C1 $(echo $distinct); host's code $code"
# out: 255 host -> fw, 254 fw -> dlp; back: 253 host -> dlp, 252 dlp -> fw
sis=$(cat "$LAB"/i?.nsh | cut -d'|' -f2 | sort -un | tr '\n' ' ')
[ "$sis" = "252 253 254 255 " ] &&
	pass "the service indexes of the path out (255, 254) and back (253, 252)" ||
	fail "the service indexes out and back" "$sis"

# 4. the code in the mark, on every instance the stream went through
for n in a b c d; do
	marks=$(ns $n nft -j list set inet cst marks | jq -c '[.nftables[] | .set? | select(.) | .elem? // [] | .[]]')
	[ "$marks" = "[$code]" ] && pass "${NAME[$n]}'s service saw the code in the mark: $marks" ||
		fail "${NAME[$n]}'s service sees the code in the mark" "marks $marks, code $code"
done
xdp_carried "the chain of two stages, out and back"
t_exit
