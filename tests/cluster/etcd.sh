#!/bin/bash
# The etcd client (user/lib/etcd.h) against real etcd members on 127.0.0.1
# (tests/lib/etcd.sh), by build/tests/cluster/etcd_client:
#   - one member: every call (kv), under valgrind; the timeouts, against a
#     listener that never answers and a port that refuses; then auth on
#   - three members: a follower the client talks to killed (failover), the
#     harness's restart of it, then the leader killed
#   - one member with TLS and --client-cert-auth
# Everything it starts is stopped and removed on exit, also on failure.
cd "$(dirname "$0")/../.." || exit 1
T_SUITE=etcd
. tests/lib/testing.sh
. tests/lib/etcd.sh

BIN=${BUILD:-build}/tests/cluster/etcd_client
HUNG_PID=

# Reap the members the client killed and start them again.
etcd_revive() {
	local i
	for ((i = 0; i < 3; i++)); do
		kill -0 "${ETCD_PID[$i]}" 2>/dev/null && continue
		etcd_kill "$i"
		etcd_restart "$i" || return 1
	done
}

cleanup() {
	[ -n "$HUNG_PID" ] && kill -- -"$HUNG_PID" 2>/dev/null
	etcd_stop_all
}

if [ ! -x "$BIN" ]; then
	fail build "$BIN is missing (make test-build)"
	t_exit
fi
for tool in etcd etcdctl socat openssl curl; do
	if ! command -v $tool >/dev/null; then
		skip all "$tool is not installed (make test-deps)"
		t_exit
	fi
done

VALGRIND=()
command -v valgrind >/dev/null &&
	VALGRIND=(valgrind -q --leak-check=full --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect
		--error-exitcode=99)

# client SUITE [valgrind]: the client's own PASS/FAIL lines; a crash, or an
# error valgrind found (exit 99, its report above), is a failure too.
client() {
	local suite=$1 out rc
	shift
	if [ "${1:-}" = valgrind ] && [ ${#VALGRIND[@]} -gt 0 ]; then
		out=$("${VALGRIND[@]}" "$BIN" "$suite" 2>&1); rc=$?
	else
		out=$("$BIN" "$suite" 2>&1); rc=$?
	fi
	printf '%s\n' "$out"
	if [ $rc -eq 99 ]; then
		fail "$suite-valgrind" "valgrind found errors (above)"
	elif [ $rc -ne 0 ] && ! grep -q '^FAIL: ' <<< "$out"; then
		fail "$suite" "etcd_client $suite exited with $rc"
	elif [ ${#VALGRIND[@]} -gt 0 ] && [ "${1:-}" = valgrind ]; then
		pass "$suite-valgrind"
	fi
}

# ---- one member ----
t0=$(date +%s%N)
if ! etcd_start 1; then
	fail start-1 "one etcd member did not start"
	t_exit
fi
pass "start-1 ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
trap 'cleanup' EXIT
trap 'cleanup; exit 130' INT TERM
export ETCD_ENDPOINTS
client kv valgrind

# a listener that takes connections and never answers, and a port that refuses
read -r hung closed <<< "$(etcd_free_ports 2)"
setsid socat -u TCP-LISTEN:"$hung",bind=127.0.0.1,reuseaddr,fork OPEN:/dev/null &
HUNG_PID=$!
for _ in $(seq 30); do
	ss -Hltn "sport = :$hung" | grep -q . && break
	sleep 0.1
done
ETCD_HUNG=http://127.0.0.1:$hung ETCD_CLOSED=http://127.0.0.1:$closed client timeout
kill -- -"$HUNG_PID" 2>/dev/null
HUNG_PID=

# auth: a user of its own with a role on the keys, root as etcd wants it
if etcd_ctl user add root --new-user-password=rootpw >/dev/null &&
	etcd_ctl user grant-role root root >/dev/null &&
	etcd_ctl role add cs >/dev/null &&
	etcd_ctl role grant-permission cs --prefix=true readwrite / >/dev/null &&
	etcd_ctl user add cs --new-user-password='s3cr:et' >/dev/null &&
	etcd_ctl user grant-role cs cs >/dev/null &&
	etcd_ctl auth enable >/dev/null; then
	ETCD_USER=cs ETCD_PASSWORD='s3cr:et' client auth valgrind
else
	fail auth-setup "etcdctl could not turn auth on"
fi
etcd_stop_all

# ---- three members ----
t0=$(date +%s%N)
if etcd_start 3; then
	pass "start-3 ($(( ($(date +%s%N) - t0) / 1000000 )) ms)"
	export ETCD_PIDS
	ETCD_PIDS=$(IFS=,; echo "${ETCD_PID[*]:0:3}")
	client failover valgrind
	# the harness reaps what the client killed, and brings it back
	if ! etcd_revive; then
		fail restart-member "the killed member did not answer again"
	elif ! health=$(etcd_ctl endpoint health 2>&1) || [ "$(grep -c 'is healthy' <<< "$health")" != 3 ]; then
		fail restart-member "not every member is healthy: $(tr '\n' ' ' <<< "$health")"
	else
		pass restart-member
		ETCD_PIDS=$(IFS=,; echo "${ETCD_PID[*]:0:3}")
		client leader
		etcd_revive || fail restart-leader "the killed leader did not answer again"
	fi
	pids=("${ETCD_PID[@]:0:3}") dir=$ETCD_DIR
	etcd_stop_all
	if ! kill -0 "${pids[@]}" 2>/dev/null && [ ! -e "$dir" ]; then
		pass stop-all
	else
		fail stop-all "a member or $dir is left"
	fi
else
	fail start-3 "three etcd members did not start"
fi

# ---- TLS ----
if etcd_tls_make && etcd_start 1; then
	export ETCD_CA ETCD_CERT ETCD_KEY
	client tls valgrind
else
	fail tls-setup "no etcd with TLS"
fi
etcd_stop_all
t_exit
