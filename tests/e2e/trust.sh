#!/bin/bash
# e2e-trust: only trusted, expected answers teach. `cloudsteer run` on a
# veth with a real dnsmasq and dig, plus crafted forgeries (dnsforge.py, a
# raw socket in the server's namespace that can claim any source):
#   - an answer nobody asked for teaches nothing (no_query);
#   - a blind spoofer's guessed ids teach nothing; the right id with the
#     wrong question neither (query_mismatch); the matching answer does, once;
#   - a late answer teaches nothing; one from a server not in learn.resolvers
#     neither (not_resolver);
#   - with learn.match_queries off the same forgery is learned (the control);
#   - DNS rebinding: names that answer with loopback, link-local, multicast,
#     unspecified, private or this host's own addresses make records but no
#     route, counted by kind, and explain says why; never_steer: [] allows
#     private ranges, and a reload that forbids them again removes the route;
#   - a rule's quota caps its records (rule_quota).
# tshark, the independent decoder, confirms the forgeries crossed the link as
# well-formed DNS answers: refused for trust, not for their shape.
T_SUITE=e2e-trust
. "$(dirname "$0")/lab.bash"
lab_need
command -v tshark >/dev/null || { skip all "tshark missing"; exit 0; }
FORGE="$REPO/tests/e2e/dnsforge.py"
SELF=198.51.100.1	# an extra address of the host (the client namespace)
SILENT=10.77.0.54	# a resolver address nothing answers from: forgeries only

lab_up www.cloudapp.test,192.0.2.7 loop.cloudapp.test,127.0.0.1 inside.cloudapp.test,10.1.2.3 \
	inside2.cloudapp.test,10.1.2.4 ll.cloudapp.test,169.254.1.1 mcast.cloudapp.test,224.1.1.1 \
	self.cloudapp.test,$SELF loop6.cloudapp.test,::1 ula.cloudapp.test,fd00::1 \
	q1.quota.test,198.18.7.1 q2.quota.test,198.18.7.2 q3.quota.test,198.18.7.3 \
	q4.quota.test,198.18.7.4 || { fail lab "the lab did not come up"; t_exit; }
ip -n "$NS_C" addr add $SELF/32 dev "$VETH_C"
ip -n "$NS_S" addr add $SILENT/24 dev "$VETH_S"

conf_with() {	# conf_with FILE EXTRA-LEARN-LINES
	conf "$1" <<YAML
learn:
  interfaces: [@IFACE@]
  query_window: 2s
$2
rules:
  - match: [cloudapp.test]
  - match: [quota.test]
    quota: 2
YAML
}
main=$(conf_with main.yaml "")
# reload_with EXTRA-LEARN-LINES: rewrite the config, SIGHUP, wait for it
reload_with() {
	local n i; n=$(grep -c "patterns in force" "$LAB/daemon.log")
	conf_with main.yaml "$1" >/dev/null
	kill -HUP "$DAEMON_PID"
	for i in $(seq 30); do
		[ "$(grep -c "patterns in force" "$LAB/daemon.log")" -gt "$n" ] && return 0
		sleep 0.1
	done
	return 1
}

counter() { in_client "$CS" show stats --json | jq -r "select(.reason == \"$1\") | .count"; }
forge() { nsenter --net="/run/netns/$NS_S" /usr/bin/python3 "$FORGE" answer "$@" >/dev/null; }
ask() { in_client /usr/bin/python3 "$FORGE" query "$@" >/dev/null; }
routed() { in_client "$CS" explain "$1" --json | jq -r .steered; }
# taught NAME IP CHECK / not_taught NAME IP CHECK: the record is there / is not
taught() { has_record "$1" "$2" && pass "$3" || fail "$3" "$(records)"; }
not_taught() { ! has_record "$1" "$2" && pass "$3" || fail "$3" "$(records)"; }
# check_count NAME COUNTER BEFORE WANT: the counter grew by exactly WANT
check_count() {
	local now; now=$(counter "$2")
	[ -n "$now" ] && [ -n "$3" ] && [ "$((now - $3))" = "$4" ] && pass "$1" ||
		fail "$1" "$2 is ${now:-unreadable} (was ${3:-unreadable}), want $4 more"
}

in_client tcpdump -i "$VETH_C" -n -w "$LAB/client.pcap" -U udp port 53 2>/dev/null &
CAP=$!
daemon_start "$main" || { fail "the daemon starts" "$(cat "$LAB/daemon.log")"; t_exit; }
sleep 0.3	# tcpdump is up

# ---- a real query teaches ----
seen=$(counter queries_seen)
[ "$(dig_a www.cloudapp.test)" = 192.0.2.7 ] || fail "dig www.cloudapp.test" "no answer"
taught www.cloudapp.test 192.0.2.7 "dig's answer to its own query teaches"
[ "$(($(counter queries_seen) - seen))" -ge 1 ] && pass "the query was recorded as it left" ||
	fail "the query was recorded as it left" "queries_seen did not grow"

# ---- an answer nobody asked for ----
before=$(counter no_query)
forge --src 10.77.0.53 --dst 10.77.0.1 --dport 33333 --id 4242 --name evil.cloudapp.test --a 198.51.100.66
sleep 0.3
not_taught evil.cloudapp.test 198.51.100.66 "an unexpected answer teaches nothing"
check_count "and is counted no_query" no_query "$before" 1

# ---- a blind spoofer, a wrong question, the matching answer, a replay ----
before=$(counter no_query)
ask --server $SILENT --name blind.cloudapp.test --id 7777 --port 34567
forge --src $SILENT --dst 10.77.0.1 --dport 34567 --name blind.cloudapp.test --a 198.51.100.77 \
	--count 500 --id 7777 --random-ids
forge --src $SILENT --dst 10.77.0.1 --dport 34568 --id 7777 --name blind.cloudapp.test --a 198.51.100.77
sleep 0.5
not_taught blind.cloudapp.test 198.51.100.77 "500 guessed ids and a wrong port teach nothing"
check_count "each counted no_query" no_query "$before" 501
before=$(counter query_mismatch)
forge --src $SILENT --dst 10.77.0.1 --dport 34567 --id 7777 --name other.cloudapp.test --a 198.51.100.78
sleep 0.2
not_taught other.cloudapp.test 198.51.100.78 "the right id with another question teaches nothing"
check_count "counted query_mismatch" query_mismatch "$before" 1
forge --src $SILENT --dst 10.77.0.1 --dport 34567 --id 7777 --name blind.cloudapp.test --a 198.51.100.77
sleep 0.2
taught blind.cloudapp.test 198.51.100.77 "the answer that matches its query still teaches"
before=$(counter no_query)
forge --src $SILENT --dst 10.77.0.1 --dport 34567 --id 7777 --name blind.cloudapp.test --a 198.51.100.79
sleep 0.2
not_taught blind.cloudapp.test 198.51.100.79 "a second answer to the same query teaches nothing"
check_count "the query was consumed (no_query)" no_query "$before" 1

# ---- late ----
before=$(counter no_query)
ask --server $SILENT --name late.cloudapp.test --id 8888 --port 34600
sleep 2.5	# past learn.query_window
forge --src $SILENT --dst 10.77.0.1 --dport 34600 --id 8888 --name late.cloudapp.test --a 198.51.100.80
sleep 0.2
not_taught late.cloudapp.test 198.51.100.80 "an answer after learn.query_window teaches nothing"
check_count "counted no_query" no_query "$before" 1

# ---- tshark, the oracle: the forgeries crossed as well-formed DNS answers ----
sleep 0.3
kill "$CAP" 2>/dev/null; wait "$CAP" 2>/dev/null
n=$(tshark -r "$LAB/client.pcap" -Y "dns.flags.response == 1 && dns.a == 198.51.100.77 && dns.flags.rcode == 0" \
	-T fields -e frame.number 2>/dev/null | wc -l)
[ "$n" = 502 ] && pass "tshark decodes the 502 forged answers for blind.cloudapp.test as valid responses" ||
	fail "tshark decodes the 502 forged answers for blind.cloudapp.test as valid responses" \
		"it found $n of $(tshark -r "$LAB/client.pcap" 2>&1 | wc -l) frames: $(tshark -r "$LAB/client.pcap" 2>&1 | tail -3)"
n=$(tshark -r "$LAB/client.pcap" -Y 'dns.flags.response == 1 && dns.qry.name == "evil.cloudapp.test"' \
	-T fields -e dns.a 2>/dev/null)
[ "$n" = 198.51.100.66 ] && pass "and the unasked one, with its address" || fail "and the unasked one, with its address" "$n"

# ---- rebinding: records, never routes, counted by kind ----
for n in loop inside ll mcast self; do dig_a $n.cloudapp.test >/dev/null; done
for n in loop6 ula; do in_client dig +short +time=2 +tries=2 @10.77.0.53 $n.cloudapp.test AAAA >/dev/null; done
sleep 0.3
for pair in loop:127.0.0.1:never_loopback inside:10.1.2.3:never_configured ll:169.254.1.1:never_link_local \
	mcast:224.1.1.1:never_multicast self:$SELF:never_local loop6:::1:never_loopback ula:fd00::1:never_configured; do
	name=${pair%%:*} rest=${pair#*:}
	ip=${rest%:*} why=${rest##*:}
	if has_record $name.cloudapp.test "$ip" && [ "$(routed "$ip")" = false ] && [ "$(counter "$why")" -ge 1 ]; then
		pass "$name.cloudapp.test -> $ip: a record, no route ($why)"
	else
		fail "$name.cloudapp.test -> $ip: a record, no route ($why)" \
			"record: $(has_record $name.cloudapp.test "$ip" && echo yes), steered: $(routed "$ip"), $why: $(counter "$why")"
	fi
done
out=$(in_client "$CS" explain 10.1.2.3)
[[ $out == *"10.1.2.3: not steered: records name this IP, but it is never steered: in learn.never_steer"* ]] &&
	pass "explain says why" || fail "explain says why" "$out"
out=$(in_client "$CS" explain $SELF --json)
[ "$(jq -r .never_steer <<<"$out")" = local ] && pass "explain --json names the kind" ||
	fail "explain --json names the kind" "$out"

# ---- never_steer: [] allows private ranges; forbidding them again removes the route ----
reload_with "  never_steer: []" || fail "reload" "$(tail -3 "$LAB/daemon.log")"
dig_a inside2.cloudapp.test >/dev/null
[ "$(routed 10.1.2.4)" = true ] && pass "never_steer: [] lets a private address route" ||
	fail "never_steer: [] lets a private address route" "$(in_client "$CS" explain 10.1.2.4)"
reload_with ""
wait_log "route 10.1.2.4 removed: never steered (configured)" 40 &&
	[ "$(routed 10.1.2.4)" = false ] && pass "forbidding it again removes the route" ||
	fail "forbidding it again removes the route" "$(tail -5 "$LAB/daemon.log")"

# ---- a rule's quota ----
before=$(counter rule_quota)
for n in q1 q2 q3 q4; do dig_a $n.quota.test >/dev/null; done
sleep 0.2
held=$(records | grep -c '\.quota\.test ')
[ "$held" = 2 ] && pass "a rule with quota 2 holds 2 records" || fail "a rule with quota 2 holds 2 records" "$held"
check_count "the others are counted rule_quota" rule_quota "$before" 2
q=$(in_client "$CS" show rules --json | jq -r 'select(.pattern == "quota.test") | "\(.records)/\(.quota)"')
[ "$q" = 2/2 ] && pass "show rules shows records and quota" || fail "show rules shows records and quota" "$q"

# ---- resolvers, then the control: matching off learns the forgery ----
reload_with "  resolvers: [10.77.0.53]"
before=$(counter not_resolver)
ask --server $SILENT --name res.cloudapp.test --id 9999 --port 34700
forge --src $SILENT --dst 10.77.0.1 --dport 34700 --id 9999 --name res.cloudapp.test --a 198.51.100.81
sleep 0.2
not_taught res.cloudapp.test 198.51.100.81 "a matching answer from a server not in learn.resolvers teaches nothing"
check_count "counted not_resolver" not_resolver "$before" 1
reload_with "  match_queries: false"
forge --src 10.77.0.53 --dst 10.77.0.1 --dport 33333 --id 4242 --name evil.cloudapp.test --a 198.51.100.66
sleep 0.2
taught evil.cloudapp.test 198.51.100.66 "control: with match_queries off the same forgery is learned"

daemon_stop
t_exit
