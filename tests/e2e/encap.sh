#!/bin/bash
# e2e-encap: encap mode through real namespaces, terminated by stock vxlan
# devices.
#
#   cli 10.10.0.2 --lan-- host --wan-- inet 10.20.0.2 (dnsmasq, echo on :9000)
#                          |  \
#                     10.30.0.2  10.31.0.2   instances a and b: plain Linux
#                     vxlan devices (dstport 4789), forwarding
#
# Chain 1 (casb, `vni: 1`) is asymmetric: the client's packets go to the
# instance in VXLAN, the answers come straight back. Chain 2 (dlp, its VNI
# derived from its name) is symmetric: the answers go through the instance
# too. The VNIs come from the config, never from the chains' ids: the
# derived one is computed here apart (tests/lib/syncforge.py) and must be
# what the daemon shows and what tshark reads. steer runs on lan (the client's
# packets) and on wan (the answers: SYN-ACKs are clamped there, and chain
# 2's answers are wrapped). The client sends full-sized segments (no TSO or
# GSO) and a chain that drops what does not fit: a transfer only completes
# when the MSS clamp works. tshark decodes what crossed the instances' links.
T_SUITE=e2e-encap
. "$(dirname "$0")/mesh.bash"
command -v ethtool >/dev/null || { skip all "ethtool missing"; exit 0; }
command -v tshark >/dev/null || { skip all "tshark missing"; exit 0; }
command -v jq >/dev/null || { skip all "jq missing"; exit 0; }
mesh_up app.cloud.test,192.0.2.7 sym.cloud.test,192.0.2.8 || { fail lab "the lab did not come up"; t_exit; }

VNI_DLP=$(python3 "$REPO/tests/lib/syncforge.py" wire dlp)
vtep() {	# vtep NS ADDR VNI: a stock vxlan device with the MAC cloudsteer's default names
	ip -n $P-$1 link add vx$3 type vxlan id $3 dstport 4789 local $2 dev eth0 nolearning
	ip -n $P-$1 link set vx$3 address "$(printf '02:c5:00:%02x:%02x:%02x' $(($3 >> 16)) $(($3 >> 8 & 255)) $(($3 & 255)))" up
	ns $1 sysctl -qw net.ipv4.conf.vx$3.rp_filter=0
}
for v in 1 $VNI_DLP; do vtep a 10.30.0.2 $v; vtep b 10.31.0.2 $v; done
ns cli ethtool -K eth0 tso off gso off >/dev/null 2>&1

cat > "$LAB/cs.yaml" <<'YAML'
learn:
  interfaces: [wan]
steer:
  interfaces: [lan, wan]
  xdp: on
rules:
  - match: [app.cloud.test]
    chain: casb
  - match: [sym.cloud.test]
    chain: dlp
chains:
  - name: casb
    mode: encap
    vni: 1
    on_failure: drop
    instances:
      - {name: casb-a, address: 10.30.0.2}
      - {name: casb-b, address: 10.31.0.2}
  - name: dlp
    mode: encap
    symmetric: true
    on_failure: drop
    instances:
      - {name: dlp-a, address: 10.30.0.2}
      - {name: dlp-b, address: 10.31.0.2}
YAML
daemon_up "$LAB/cs.yaml" && pass "the daemon runs two encap chains" ||
	{ fail "the daemon runs" "$(cat "$LAB/daemon.log")"; t_exit; }

out=$("$CS" show instances)
mac_dlp=$(printf '02:c5:00:%02x:%02x:%02x' $((VNI_DLP >> 16)) $((VNI_DLP >> 8 & 255)) $((VNI_DLP & 255)))
echo "$out" | grep -Eq "^ +1 +casb-a +1 +10\.30\.0\.2 +up( +[0-9]+){3} +10\.30\.0\.1 +1450 +02:c5:00:00:00:01 " &&
	echo "$out" | grep -Eq "^ +4 +dlp-b +2 +10\.31\.0\.2 +up( +[0-9]+){3} +10\.31\.0\.1 +1450 +$mac_dlp " &&
	pass "show instances: the outer source, inner MTU and MAC the daemon found" ||
	fail "show instances: the outer source, inner MTU and MAC" "$out"
out=$("$CS" show chains --json)
[ "$(echo "$out" | jq -s -c 'map({name, vni})')" = "[{\"name\":\"casb\",\"vni\":1},{\"name\":\"dlp\",\"vni\":$VNI_DLP}]" ] &&
	pass "show chains: casb's VNI is its vni: (1), dlp's is derived from its name ($VNI_DLP)" ||
	fail "show chains: the VNIs" "$out"

for n in a b; do
	ns $n tcpdump -i eth0 -n -U -s 256 -w "$LAB/$n.pcap" udp port 4789 >/dev/null 2>&1 &
done
ns cli tcpdump -i eth0 -n -U -w "$LAB/cli.pcap" 'tcp[tcpflags] & tcp-syn != 0' >/dev/null 2>&1 &
sleep 1

# 1 MiB each way, in full-sized segments from the client
head -c 1048576 /dev/urandom > "$LAB/blob"
want=$(sha256sum < "$LAB/blob")
port=41000
for name in app sym; do
	ip=$(ns cli dig +short +time=2 @10.20.0.2 $name.cloud.test)
	port=$((port + 1))
	got=$(ns cli timeout 30 socat -T 5 -t 5 - TCP:$ip:9000,sourceport=$port < "$LAB/blob" 2>"$LAB/$name.err" |
		sha256sum)
	[ "$got" = "$want" ] && pass "$name.cloud.test: 1 MiB echoed through the tunnel intact" ||
		fail "$name.cloud.test: 1 MiB echoed through the tunnel" "$(cat "$LAB/$name.err" "$LAB/daemon.log")"
done
sleep 1
ip netns pids $P-a | xargs -r kill
ip netns pids $P-b | xargs -r kill
ip netns pids $P-cli | xargs -r kill
sleep 0.5

# tshark, not cloudsteer, says what the VXLAN packets carried
decode() {	# pcap -> "vni sport inner-src inner-dst" per packet
	tshark -r "$1" -d udp.port==4789,vxlan -Y vxlan -T fields -E separator=' ' \
		-e vxlan.vni -e udp.srcport -e ip.src -e ip.dst -e frame.len 2>/dev/null
}
decode "$LAB/a.pcap" > "$LAB/a.txt"
decode "$LAB/b.pcap" > "$LAB/b.txt"
cat "$LAB/a.txt" "$LAB/b.txt" > "$LAB/all.txt"
vni1=$(awk '$1 == 1' "$LAB/all.txt" | wc -l)
vni2=$(awk -v v=$VNI_DLP '$1 == v' "$LAB/all.txt" | wc -l)
[ "$vni1" -gt 500 ] && [ "$vni2" -gt 500 ] &&
	pass "tshark decodes VXLAN with VNI 1 ($vni1) and dlp's VNI $VNI_DLP ($vni2)" ||
	fail "tshark decodes VXLAN with both VNIs" "vni1 $vni1 vni2 $vni2; $(head -5 "$LAB/all.txt")"
bad=$(awk '$2 < 49152' "$LAB/all.txt" | wc -l)
[ "$bad" = 0 ] && pass "every source port is in 49152-65535" || fail "source ports" "$bad below 49152"
# outer src, outer dst, inner src, inner dst: ip.src/ip.dst list both
fwd=$(awk '$1 == 1 && $3 ~ /^10\.3[01]\.0\.1,10\.10\.0\.2$/' "$LAB/all.txt" | wc -l)
ret1=$(awk '$1 == 1 && $3 ~ /,192\.0\.2\.7$/' "$LAB/all.txt" | wc -l)
ret2=$(awk -v v=$VNI_DLP '$1 == v && $3 ~ /,192\.0\.2\.8$/' "$LAB/all.txt" | wc -l)
[ "$fwd" -gt 500 ] && [ "$ret1" = 0 ] && [ "$ret2" -gt 500 ] &&
	pass "chain 1 wraps the client's packets only; symmetric chain 2 wraps the answers too" ||
	fail "directions" "chain 1 forward $fwd, chain 1 answers $ret1, chain 2 answers $ret2"
big=$(awk '{ if ($5 > m) m = $5 } END { print m + 0 }' "$LAB/all.txt")
[ "$big" -le 1514 ] && [ "$big" -gt 1400 ] && pass "the largest wrapped frame is $big octets: full, and within the MTU" ||
	fail "the largest wrapped frame" "$big"
mss=$(tshark -r "$LAB/cli.pcap" -Y 'tcp.flags.syn == 1 && tcp.flags.ack == 1' -T fields -e tcp.options.mss_val 2>/dev/null |
	sort -u | tr '\n' ' ')
[ "$mss" = "1410 " ] && pass "the client sees the SYN-ACKs' MSS clamped to 1410" ||
	fail "the SYN-ACKs' MSS" "$mss"
xdp_carried "the encap chains, both ways"
out=$("$CS" show instances --json)
clamped=$(echo "$out" | jq -s 'map(.clamped) | add')
unwrapped=$(echo "$out" | jq -s 'map(.unwrapped) | add')
[ "$clamped" -ge 4 ] && [ "$unwrapped" = 0 ] &&
	pass "counters: $clamped SYNs clamped, no packet left unwrapped" || fail "counters" "$out"
t_exit
