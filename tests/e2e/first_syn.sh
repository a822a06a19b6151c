#!/bin/bash
# e2e-first-syn: the client resolves a name and connects the instant it has
# the answer; the route was made by the packet that carried the answer, so
# the connection's first SYN is already steered. 1000 names, 1000 tries:
# tcpdump on the two instances must see 1000 first SYNs between them.
T_SUITE=e2e-first-syn
. "$(dirname "$0")/mesh.bash"
N=${CS_FIRST_SYN_TRIES:-1000}
records=()
for i in $(seq 0 $((N - 1))); do records+=("n$i.syn.test,198.18.$((i / 250)).$((i % 250 + 1))"); done
mesh_up "${records[@]}" || { fail lab "the lab did not come up"; t_exit; }

casb_config syn.test
daemon_up "$LAB/cs.yaml" || { fail start "$(cat "$LAB/daemon.log")"; t_exit; }
for n in a b; do
	ns $n tcpdump -i eth0 -n -U -w "$LAB/$n.pcap" 'tcp[tcpflags] & (tcp-syn|tcp-ack) == tcp-syn' \
		>/dev/null 2>&1 &
done
sleep 1
# one shell in the client: resolve, then connect at once, N times
ns cli bash -c '
ok=0
for i in $(seq 0 $(('"$N"' - 1))); do
	ip=$(dig +short +time=2 +tries=2 @10.20.0.2 n$i.syn.test)
	[ -n "$ip" ] && socat -T 1 /dev/null TCP:$ip:9000,connect-timeout=2 2>/dev/null && ok=$((ok + 1))
done
echo $ok' > "$LAB/connected" 2>&1
connected=$(cat "$LAB/connected")
[ "$connected" = "$N" ] && pass "$N names resolved and connected" ||
	fail "$N names resolved and connected" "$connected connected"
sleep 1
ip netns pids $P-a | xargs -r kill
ip netns pids $P-b | xargs -r kill
sleep 0.5
syns=$( (tcpdump -r "$LAB/a.pcap" -n 2>/dev/null; tcpdump -r "$LAB/b.pcap" -n 2>/dev/null) |
	awk '{print $5}' | sed 's/\.9000:$//' | sort -u | wc -l)
[ "$syns" = "$N" ] && pass "the first SYN was steered in $syns of $N tries" ||
	fail "the first SYN was steered in every try" "$syns of $N"
t_exit
