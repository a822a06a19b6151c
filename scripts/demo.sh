#!/bin/bash
# The built-in lab: a client and a DNS server in their own network
# namespaces, a real dnsmasq answering for a few "cloud" names, dig as the
# client. What crosses the wire is captured and run through the learn
# program, and cloudsteer shows what it learned. Leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."
CS=./build/cloudsteer
NS_DNS=csdemo-dns-$$ NS_CLI=csdemo-cli-$$
work=$(mktemp -d /tmp/cloudsteer-demo.XXXXXX)

cleanup() {
	[ -f "$work/tcpdump.pid" ] && kill "$(cat "$work/tcpdump.pid")" 2>/dev/null || true
	[ -f "$work/dnsmasq.pid" ] && kill "$(cat "$work/dnsmasq.pid")" 2>/dev/null || true
	ip netns del "$NS_DNS" 2>/dev/null || true
	ip netns del "$NS_CLI" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
[ "$(id -u)" = 0 ] || { echo "demo: run as root (sudo make demo)" >&2; exit 1; }

say "Lab: namespaces $NS_CLI (client 10.99.0.1) and $NS_DNS (dnsmasq 10.99.0.53)"
ip netns add "$NS_DNS"
ip netns add "$NS_CLI"
ip link add csdemo-c type veth peer name csdemo-d
ip link set csdemo-c netns "$NS_CLI"
ip link set csdemo-d netns "$NS_DNS"
ip -n "$NS_CLI" addr add 10.99.0.1/24 dev csdemo-c
ip -n "$NS_DNS" addr add 10.99.0.53/24 dev csdemo-d
ip -n "$NS_CLI" link set csdemo-c up
ip -n "$NS_DNS" link set csdemo-d up
ip -n "$NS_CLI" link set lo up
ip -n "$NS_DNS" link set lo up

ip netns exec "$NS_DNS" dnsmasq --no-resolv --no-hosts --no-daemon --port=53 \
	--listen-address=10.99.0.53 --bind-interfaces --pid-file="$work/dnsmasq.pid" \
	--host-record=login.cloudapp.test,192.0.2.7 \
	--host-record=edge.cdn.test,198.51.100.20,2001:db8:cd::20 \
	--cname=www.cloudapp.test,edge.cdn.test \
	--host-record=files.storage.test,203.0.113.5 \
	--host-record=intranet.corp.test,10.1.2.3 \
	--local-ttl=300 >"$work/dnsmasq.log" 2>&1 &
echo $! > "$work/dnsmasq.pid"

cat > "$work/cloudsteer.yaml" <<'YAML'
learn:
  ttl: {min: 60, max: 86400, grace: 30}
rules:
  - match: [cloudapp.test, "*.cdn.test"]
    priority: 10
  - match: ["=files.storage.test"]
    ttl: {min: 600}
YAML
say "Config: learn these domains"
cat "$work/cloudsteer.yaml"

ip netns exec "$NS_CLI" tcpdump -i csdemo-c -U -w "$work/dns.pcap" udp port 53 or tcp port 53 \
	>/dev/null 2>&1 &
echo $! > "$work/tcpdump.pid"
sleep 1

say "The client resolves names with dig"
for q in "login.cloudapp.test A" "www.cloudapp.test A" "www.cloudapp.test AAAA" \
	 "files.storage.test A" "intranet.corp.test A" "login.cloudapp.test A"; do
	set -- $q
	printf '  dig %-22s %-5s -> %s\n' "$1" "$2" \
		"$(ip netns exec "$NS_CLI" dig +short +time=2 +tries=2 @10.99.0.53 "$1" "$2" | tr '\n' ' ')"
done
sleep 1
kill "$(cat "$work/tcpdump.pid")"; rm "$work/tcpdump.pid"; sleep 0.5

say "cloudsteer replay: the answers, through the learn XDP program"
$CS replay --config "$work/cloudsteer.yaml" "$work/dns.pcap"

say "The same as JSON (what tests and tools read)"
$CS replay --json --config "$work/cloudsteer.yaml" "$work/dns.pcap"

say "Notice: intranet.corp.test matched no rule and was not learned; the second
   answer for login.cloudapp.test refreshed its record; www.cloudapp.test was
   learned through its CNAME to edge.cdn.test under the most specific rule."
