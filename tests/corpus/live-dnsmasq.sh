#!/bin/bash
# corpus-dnsmasq: dnsmasq as a forwarder and cache in front of an
# authoritative back end (named, else knotd) on the server namespace's
# loopback, with local data of its own (host-record, cname, address: answers
# with TTL 0 unless given); capture its answers to dig and kdig on the client
# veth, decode them with tshark, and check cloudsteer replay against the
# reference learner. Repeated questions come from dnsmasq's cache, which
# writes its own messages.
. "$(dirname "$0")/lib/live.bash"
live_init dnsmasq
live_need dnsmasq
live_net
live_zones 127.0.0.1 ::1
if command -v named >/dev/null 2>&1; then
	start_named "$BACK_PORT" 127.0.0.1 ::1
elif command -v knotd >/dev/null 2>&1; then
	start_knot "$BACK_PORT" 127.0.0.1 ::1
else
	skip all "neither named nor knotd is installed for the back end"
	exit 0
fi
live_wait_ready 127.0.0.1 "$BACK_PORT"
start_dnsmasq
live_wait_ready

dnsmasq_queries() {
	local s=@$S4
	q $s dm-local.cloudapp.test A; q $s dm-local.cloudapp.test AAAA
	q $s DM-Alias.CloudApp.test A; q $s dm-alias.cloudapp.test AAAA
	q $s dm-ttl.cloudapp.test; q $s dm-addr.wild.test; q $s +tcp dm-alias.cloudapp.test
	q @$S6 dm-local.cloudapp.test AAAA
	# from the cache this time
	q $s dual.example.test AAAA; q $s a40.big.test; q $s mixed40.big.test AAAA
	q $s cname-big.big.test; q $s edge.cdn.test AAAA; q $s x.olddept.example.test
}

live_capture_start
live_queries dnsmasq_queries
live_capture_stop
live_check
t_exit
