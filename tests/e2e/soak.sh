#!/bin/bash
# e2e-soak: `cloudsteer run` killed with SIGKILL and started again, over and
# over, while DNS answers and steered data cross the mesh lab (mesh.bash).
#
#   dig loops in cli ask 240 names with TTLs of 1 to 5 s (some shared IPs,
#   CNAMEs, AAAA), so records are made, refreshed and expire all the time; a
#   burst of 60 names every few seconds makes sweeps that remove many routes
#   at once; after each batch of answers one short TCP exchange goes to an
#   answered IP, and one long TCP stream runs all along to an IP whose record
#   expired long ago, so that only its flow keeps its route.
#   soak.py kills the daemon at random, mid-sweep, mid-reload and mid-start,
#   while a sampler reads the pinned records and routes every 50 ms.
#
# Checks: no record lost, no route flap, no ACL id leaked or given twice
# (ids on routes + ids in the pool = learn.acl_ids, counted at the end with
# the daemon stopped), every record kept its name's text, every start reached
# "running:", steering went on while no daemon ran, every DNS question was
# answered, every exchange echoed, the stream lost no line.
# SOAK_ROUNDS (default 12) and SOAK_SECONDS (default 40) bound the kill rounds;
# `make soak` runs it for minutes. SOAK_SEED repeats a run's random choices.
T_SUITE=e2e-soak
. "$(dirname "$0")/mesh.bash"
TOOL=$REPO/build/tests/tools/soakmaps
[ -x "$TOOL" ] || make -C "$REPO" --no-print-directory -s build/tests/tools/soakmaps >/dev/null 2>&1 ||
	{ fail build "no $TOOL and it could not be built"; t_exit; }
ROUNDS=${SOAK_ROUNDS:-12}
SECS=${SOAK_SECONDS:-40}
NAMES=240 BURST=60 ACL_IDS=512
STREAM_IP=198.18.255.1

# The names. Learned addresses are in 198.18.0.0/15 (benchmarking), never in
# a private range. Every 10th name shares the address of the one before
# (two records, one route), every 7th has an AAAA too.
dns=()
for i in $(seq $NAMES); do
	j=$((i % 10 ? i : i - 1))
	v6=; [ $((i % 7)) = 0 ] && v6=,2001:db8::$i
	dns+=("n$i.soak.test,198.18.$((j / 250 + 1)).$((j % 250 + 1))$v6,$((i % 5 + 1))")
done
for i in $(seq 20); do dns+=("--cname=c$i.soak.test,n$i.soak.test,3"); done
for i in $(seq $BURST); do dns+=("b$i.soak.test,198.19.0.$i,1"); done
dns+=("stream.soak.test,$STREAM_IP,1")
dns+=(--local=/soak.test/)	# the zone is dnsmasq's own: an AAAA it lacks is NODATA, not REFUSED
mesh_up "${dns[@]}" || { fail lab "the lab did not come up"; t_exit; }

cat > "$LAB/cs.yaml" <<YAML
learn:
  interfaces: [wan]
  acl_ids: $ACL_IDS
  limits: {records: 4096, routes: 4096}
  ttl: {min: 1, max: 5, grace: 1}
steer:
  interfaces: [lan]
  xdp: on
  flow_idle: 2s
rules:
  - match: [soak.test]
    chain: casb
chains:
  - name: casb
    mode: route
    instances:
      - {name: casb-a, address: 10.30.0.2}
      - {name: casb-b, address: 10.31.0.2}
    health: {probe: icmp, interval: 200ms, timeout: 500ms, fall: 3, rise: 2}
YAML

in_cli() { nsenter --net=/run/netns/$P-cli "$@"; }

dns_loop() {	# dns_loop ID: 8 questions a dig, then one exchange with an answered IP
	local asked=0 answered=0 conns=0 echoed=0 qs out ip k n
	while [ -e "$LAB/run" ]; do
		qs=()
		for k in 1 2 3 4 5 6 7 8; do
			n=$((RANDOM % NAMES + 1))
			case $((RANDOM % 8)) in
			0) qs+=("c$((n % 20 + 1)).soak.test" A) ;;
			1) qs+=("n$n.soak.test" AAAA) ;;
			*) qs+=("n$n.soak.test" A) ;;
			esac
		done
		out=$(in_cli dig @10.20.0.2 +time=1 +tries=3 +noall +comments +answer "${qs[@]}" 2>&1)
		asked=$((asked + 8)) k=$(grep -c 'status: NOERROR' <<<"$out")
		answered=$((answered + k))
		[ "$k" = 8 ] || printf '%s\n%s\n' "${qs[*]}" "$out" >> "$LAB/dns-failed"
		ip=$(awk '$4 == "A" { print $5 }' <<<"$out" | shuf -n 1)
		if [ -n "$ip" ]; then
			conns=$((conns + 1))
			if [ "$(echo soak | in_cli timeout 5 socat -t 2 - TCP:"$ip":9000,connect-timeout=2 2>/dev/null)" = soak ]
			then echoed=$((echoed + 1)); else echo "$ip" >> "$LAB/conn-failed"; fi
		fi
		sleep 0.05
	done
	echo "$asked $answered $conns $echoed" > "$LAB/dns$1.done"
}

burst_loop() {	# all the burst names in one dig; they expire together
	local asked=0 answered=0 qs=() out i
	for i in $(seq $BURST); do qs+=("b$i.soak.test"); done
	while [ -e "$LAB/run" ]; do
		out=$(in_cli dig @10.20.0.2 +time=1 +tries=3 +noall +comments "${qs[@]}" 2>&1)
		asked=$((asked + BURST)) i=$(grep -c 'status: NOERROR' <<<"$out")
		answered=$((answered + i))
		[ "$i" = $BURST ] || printf 'burst\n%s\n' "$out" >> "$LAB/dns-failed"
		sleep 3.$((RANDOM % 10))
	done
	echo "$asked $answered 0 0" > "$LAB/burst.done"
}

touch "$LAB/run"
python3 "$REPO/tests/e2e/soak.py" run --cs "$CS" --netns /run/netns/$P-host --config "$LAB/cs.yaml" \
	--pin-dir "$CLOUDSTEER_PIN_DIR" --helper "$TOOL" --log "$LAB/daemon.log" --out "$LAB/soak.json" \
	--up "$LAB/up" --traffic "$LAB/traffic" --flag "$LAB/run" --stream-ip $STREAM_IP \
	--done "$LAB/dns1.done" "$LAB/dns2.done" "$LAB/burst.done" "$LAB/stream.json" \
	--rounds "$ROUNDS" --seconds "$SECS" ${SOAK_SEED:+--seed "$SOAK_SEED"} > "$LAB/soak.out" 2>&1 &
DRIVER=$!
for i in $(seq 300); do [ -e "$LAB/up" ] || ! kill -0 $DRIVER 2>/dev/null && break; sleep 0.1; done
if [ ! -e "$LAB/up" ]; then
	wait $DRIVER
	fail "the daemon starts" "$(cat "$LAB/soak.out"; tail -20 "$LAB/daemon.log")"
	t_exit
fi

# the stream's name once, at the start: its record expires within seconds
# and from then on only the stream's flow keeps the route
[ "$(in_cli dig +short +time=1 +tries=3 @10.20.0.2 stream.soak.test)" = $STREAM_IP ] ||
	fail "the stream's name resolves" "no answer"
in_cli python3 "$REPO/tests/e2e/soak.py" stream $STREAM_IP 9000 "$LAB/run" "$LAB/stream.json" \
	2>"$LAB/stream.err" &
loops=($!)
dns_loop 1 & loops+=($!)
dns_loop 2 & loops+=($!)
burst_loop & loops+=($!)
touch "$LAB/traffic"
# (not a bare wait: mesh_up's dnsmasq and echo server are children too)
wait $DRIVER "${loops[@]}"

# ---- what the driver saw ----
# (the daemons' log and the driver's findings stay in build/ for a look after)
cp "$LAB/daemon.log" "$REPO/build/soak-daemon.log" 2>/dev/null
cp "$LAB/soak.json" "$REPO/build/soak.json" 2>/dev/null
[ -s "$LAB/soak.json" ] || { fail "the soak ran" "$(cat "$LAB/soak.out"; tail -20 "$LAB/daemon.log")"; t_exit; }
while IFS='|' read -r verdict name why; do
	case $verdict in
	PASS) pass "$name" ;;
	FAIL) fail "$name" "$why" ;;
	FIG) echo "soak: $name" ;;
	esac
done < <(python3 "$REPO/tests/e2e/soak.py" report "$LAB/soak.json")

# ---- ACL ids: with no daemon and no DNS, every id is on a route or free ----
out=$("$TOOL" pool "$CLOUDSTEER_PIN_DIR" $ACL_IDS 2>&1) && pass "no ACL id leaked or given twice: ${out##*$'\n'}" ||
	fail "no ACL id leaked or given twice" "$out"
echo "soak: ACL ids checked $ACL_IDS: ${out##*$'\n'}"

# ---- DNS and data ----
read -r q1 a1 c1 e1 < "$LAB/dns1.done"; read -r q2 a2 c2 e2 < "$LAB/dns2.done"
read -r qb ab _ _ < "$LAB/burst.done"
asked=$((q1 + q2 + qb)) answered=$((a1 + a2 + ab)) conns=$((c1 + c2)) echoed=$((e1 + e2))
[ "$asked" -gt 0 ] && [ "$answered" = "$asked" ] && pass "DNS kept working: $answered of $asked questions answered" ||
	fail "DNS kept working" "$answered of $asked questions answered; $(head -30 "$LAB/dns-failed")"
[ "$conns" -gt 0 ] && [ "$echoed" = "$conns" ] && pass "every exchange with a learned IP echoed ($echoed of $conns)" ||
	fail "every exchange with a learned IP echoed" "$echoed of $conns; failed: $(sort "$LAB/conn-failed" 2>/dev/null | uniq -c | head)"
read -r sent back gap order err < <(python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
print(r["sent"], r["echoed"], round(r["max_gap_ms"]), r["out_of_order"], r["error"] or "-")' "$LAB/stream.json" 2>/dev/null)
[ "${sent:-0}" -gt 0 ] && [ "$back" = "$sent" ] && [ "$order" = 0 ] && [ "$err" = - ] && [ "$gap" -lt 1000 ] &&
	pass "the long stream went on across every kill: $back of $sent lines echoed, longest gap $gap ms" ||
	fail "the long stream went on across every kill" "sent $sent, echoed $back, out of order $order, gap $gap ms, error $err; $(cat "$LAB/stream.err")"
echo "soak: DNS questions $asked, exchanges $conns, stream lines $sent (longest gap $gap ms)"
t_exit
