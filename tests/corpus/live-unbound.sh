#!/bin/bash
# corpus-unbound: Unbound as a recursive resolver (stub zones) in front of an
# authoritative back end (knotd, else named) on the server namespace's
# loopback; capture its answers to dig and kdig on the client veth, decode
# them with tshark, and check cloudsteer replay against the reference
# learner. Unlike the authoritative servers, unbound follows CNAMEs from zone
# to zone (cloudapp.test -> cdn.test -> other.test), answers repeats from its
# cache with counted-down TTLs and caps TTLs at cache-max-ttl (86400).
. "$(dirname "$0")/lib/live.bash"
live_init unbound
live_need unbound
live_net
live_zones 127.0.0.1 ::1
if command -v knotd >/dev/null 2>&1; then
	start_knot "$BACK_PORT" 127.0.0.1 ::1
elif command -v named >/dev/null 2>&1; then
	start_named "$BACK_PORT" 127.0.0.1 ::1
else
	skip all "neither knotd nor named is installed for the back end"
	exit 0
fi
live_wait_ready 127.0.0.1 "$BACK_PORT"
start_unbound
live_wait_ready
live_capture_start
live_queries
live_capture_stop
live_check
t_exit
