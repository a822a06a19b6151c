#!/bin/bash
# corpus-bind: capture the answers of BIND 9 (named, authoritative) to dig and
# kdig, decode them with tshark, and check cloudsteer replay against the
# reference learner, response by response. See lib/live.bash.
# named loads TTLs above 2^31-1 as 0 ("> MAXTTL, setting TTL to 0"), so the
# top-bit TTLs of the zones reach the wire as 0 from this server.
. "$(dirname "$0")/lib/live.bash"
live_init bind
live_need named
live_net
live_zones "$S4" "$S6"
start_named 53 $(live_front_addrs)
live_wait_ready
live_capture_start
live_queries live_auth_queries
live_capture_stop
live_check
t_exit
