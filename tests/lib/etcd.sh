# etcd.sh - a real etcd for the tests: 1 or 3 members on 127.0.0.1, on ports
# free at the time (tests run beside others), data in a temporary directory,
# stopped and removed on exit, also on failure or a signal. Source it after
# testing.sh.
#
#   etcd_start N                start N members (1 or 3); wait until each answers
#   etcd_kill I                 SIGKILL member I (0-based) and reap it
#   etcd_restart I              start member I again on its data and ports
#   etcd_stop_all               stop every member, remove the directory
#   etcd_ctl ARGS...            etcdctl against the members
#   etcd_tls_make               a CA and certificates (openssl) in $ETCD_DIR/tls,
#                               then etcd_start serves https with
#                               --client-cert-auth (call it first)
#
# After etcd_start: ETCD_ENDPOINTS ("URL,URL,..."), ETCD_URL[i], ETCD_PID[i],
# ETCD_DIR. With TLS: ETCD_CA, ETCD_CERT, ETCD_KEY (the client's).
#
# Members elsewhere than 127.0.0.1 (a lab's gateways reach them from their own
# namespaces): set before etcd_start
#   ETCD_NETNS=NAME            the network namespace the members run in (made
#                              by the test); etcd_ctl and the health checks
#                              run there too
#   ETCD_ADDRS="A1 A2 A3"      member I listens on A(I+1), ports 2379 (clients)
#                              and 2380 (peers): addresses the test chose
#
# Each member runs in a session of its own (setsid), so a terminal's Ctrl-C
# reaches the test, whose trap stops them in order, and never a member half
# way; and with the parent-death signal (setpriv --pdeathsig), so a test
# killed beyond its traps takes its members with it.

ETCD_DIR=
ETCD_N=0
ETCD_SCHEME=http
ETCD_TLS_ARGS=()
declare -a ETCD_URL ETCD_PEER ETCD_PID ETCD_ARGS
ETCD_ENDPOINTS=
ETCD_NETNS=${ETCD_NETNS:-}
ETCD_ADDRS=${ETCD_ADDRS:-}

# Runs its arguments in the members' namespace, if they have one.
etcd_in_ns() {
	if [ -n "$ETCD_NETNS" ]; then
		ip netns exec "$ETCD_NETNS" "$@"
	else
		"$@"
	fi
}

# N loopback ports that nothing listens on now: the kernel picks them.
etcd_free_ports() {
	python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

etcd_dir() {
	[ -n "$ETCD_DIR" ] || ETCD_DIR=$(mktemp -d /tmp/cs-etcd.XXXXXX)
	trap 'etcd_stop_all' EXIT
	trap 'etcd_stop_all; exit 130' INT TERM
}

# openssl: a CA, a server certificate for 127.0.0.1 and a client certificate.
etcd_tls_make() {
	local d
	etcd_dir
	d=$ETCD_DIR/tls
	mkdir -p "$d"
	(
		cd "$d" || exit 1
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=cs-test-ca \
			-keyout ca.key -out ca.pem
		openssl req -newkey rsa:2048 -nodes -subj /CN=etcd -keyout server.key -out server.csr
		printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' > server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
			-extfile server.ext -out server.pem
		openssl req -newkey rsa:2048 -nodes -subj /CN=gw-1 -keyout client.key -out client.csr
		printf 'extendedKeyUsage=clientAuth\n' > client.ext
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
			-extfile client.ext -out client.pem
		chmod 600 ./*.key
	) > "$d/openssl.log" 2>&1 || { echo "etcd_tls_make: openssl failed; see $d/openssl.log" >&2; return 1; }
	ETCD_SCHEME=https
	ETCD_CA=$d/ca.pem ETCD_CERT=$d/client.pem ETCD_KEY=$d/client.key
	ETCD_TLS_ARGS=(--cert-file "$d/server.pem" --key-file "$d/server.key" --client-cert-auth
		--trusted-ca-file "$d/ca.pem")
}

# curl's TLS options for the members, when they serve TLS.
etcd_curl_tls() {
	[ "$ETCD_SCHEME" = https ] && echo "--cacert $ETCD_CA --cert $ETCD_CERT --key $ETCD_KEY"
}

# Member I answers its health check within TENTHS tenths of a second (30).
etcd_wait_ready() {
	local i=$1 n
	for n in $(seq "${2:-30}"); do
		# shellcheck disable=SC2046
		etcd_in_ns curl -s -m 1 $(etcd_curl_tls) "${ETCD_URL[$i]}/health" 2>/dev/null |
			grep -q '"health":"true"' &&
			return 0
		kill -0 "${ETCD_PID[$i]}" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

etcd_spawn() {
	local i=$1
	local ns=()
	[ -n "$ETCD_NETNS" ] && ns=(ip netns exec "$ETCD_NETNS")
	setsid setpriv --pdeathsig KILL "${ns[@]}" etcd "${ETCD_ARGS[@]}" \
		--name "m$i" --data-dir "$ETCD_DIR/m$i" \
		--listen-client-urls "${ETCD_URL[$i]}" --advertise-client-urls "${ETCD_URL[$i]}" \
		--listen-peer-urls "${ETCD_PEER[$i]}" --initial-advertise-peer-urls "${ETCD_PEER[$i]}" \
		"${ETCD_TLS_ARGS[@]}" >> "$ETCD_DIR/m$i.log" 2>&1 &
	ETCD_PID[$i]=$!
}

# One try at N members on fresh ports; 1 when a port was taken meanwhile
# (or anything else went wrong: the logs say).
etcd_try_start() {
	local n=$1 ports i cluster= addrs
	read -r -a ports <<< "$(etcd_free_ports $((2 * n)))"
	read -r -a addrs <<< "$ETCD_ADDRS"
	for ((i = 0; i < n; i++)); do
		if [ -n "$ETCD_ADDRS" ]; then
			ETCD_URL[$i]=$ETCD_SCHEME://${addrs[$i]}:2379
			ETCD_PEER[$i]=http://${addrs[$i]}:2380
		else
			ETCD_URL[$i]=$ETCD_SCHEME://127.0.0.1:${ports[$((2 * i))]}
			ETCD_PEER[$i]=http://127.0.0.1:${ports[$((2 * i + 1))]}
		fi
		cluster=$cluster${cluster:+,}m$i=${ETCD_PEER[$i]}
	done
	ETCD_ARGS=(--initial-cluster "$cluster" --initial-cluster-state new
		--initial-cluster-token "cs-test-$$" --logger zap --log-outputs stderr)
	for ((i = 0; i < n; i++)); do
		etcd_spawn "$i"
	done
	ETCD_N=$n
	for ((i = 0; i < n; i++)); do
		etcd_wait_ready "$i" 100 || return 1
	done
	ETCD_ENDPOINTS=$(IFS=,; echo "${ETCD_URL[*]:0:$n}")
}

etcd_start() {
	local n=$1 try
	command -v etcd >/dev/null || { echo "etcd_start: etcd is not installed (etcd-server)" >&2; return 1; }
	etcd_dir
	for try in 1 2 3; do
		etcd_try_start "$n" && return 0
		echo "etcd_start: try $try: the members did not all answer; logs:" >&2
		tail -n 3 "$ETCD_DIR"/m*.log >&2
		etcd_stop_members
		rm -rf "$ETCD_DIR"/m*
	done
	return 1
}

etcd_kill() {
	kill -KILL "${ETCD_PID[$1]}" 2>/dev/null
	wait "${ETCD_PID[$1]}" 2>/dev/null
	ETCD_PID[$1]=
}

etcd_restart() {
	etcd_spawn "$1"
	etcd_wait_ready "$1" 100
}

# TERM, five seconds to go, then KILL: a stop never hangs the test.
etcd_stop_members() {
	local i n pids=()
	for ((i = 0; i < ETCD_N; i++)); do
		[ -n "${ETCD_PID[$i]:-}" ] && pids+=("${ETCD_PID[$i]}")
		ETCD_PID[$i]=
	done
	ETCD_N=0
	[ ${#pids[@]} -gt 0 ] || return 0
	kill -TERM "${pids[@]}" 2>/dev/null
	for n in $(seq 50); do
		kill -0 "${pids[@]}" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "${pids[@]}" 2>/dev/null
	wait "${pids[@]}" 2>/dev/null
	return 0
}

etcd_stop_all() {
	etcd_stop_members
	[ -n "$ETCD_DIR" ] && rm -rf "$ETCD_DIR"
	ETCD_DIR=
}

etcd_ctl() {
	local tls=()
	[ "$ETCD_SCHEME" = https ] && tls=(--cacert "$ETCD_CA" --cert "$ETCD_CERT" --key "$ETCD_KEY")
	etcd_in_ns env ETCDCTL_API=3 etcdctl --endpoints "$ETCD_ENDPOINTS" --dial-timeout 2s "${tls[@]}" "$@"
}
