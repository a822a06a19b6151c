#!/bin/bash
# corpus-knot: capture the answers of Knot DNS (knotd, authoritative) to dig
# and kdig, decode them with tshark, and check cloudsteer replay against the
# reference learner, response by response. See lib/live.bash.
. "$(dirname "$0")/lib/live.bash"
live_init knot
live_need knotd
live_net
live_zones "$S4" "$S6"
start_knot 53 $(live_front_addrs)
live_wait_ready
live_capture_start
live_queries live_auth_queries
live_capture_stop
live_check
t_exit
