#!/bin/bash
# The cluster thread (user/lib/cluster.h) against three real etcd members
# on 127.0.0.1 (tests/lib/etcd.sh), by build/tests/cluster/cluster_thread:
# registration, list and watch, a lost lease, a compacted watch (its member
# stopped with SIGSTOP while etcd compacts), etcd away at the start. Every
# member it starts is stopped and removed on exit, also on failure.
cd "$(dirname "$0")/../.." || exit 1
T_SUITE=cluster-thread
. tests/lib/testing.sh
. tests/lib/etcd.sh

BIN=${BUILD:-build}/tests/cluster/cluster_thread
if [ ! -x "$BIN" ]; then
	fail build "$BIN is missing (make test-build)"
	t_exit
fi
for tool in etcd etcdctl; do
	command -v $tool >/dev/null || { skip all "$tool is not installed (make test-deps)"; t_exit; }
done
if ! etcd_start 3; then
	fail start-3 "three etcd members did not start"
	t_exit
fi
# a member stopped by the test is let go again, whatever happens
trap 'kill -CONT "${ETCD_PID[@]:0:3}" 2>/dev/null; etcd_stop_all' EXIT
trap 'exit 130' INT TERM
ETCD_PIDS=$(IFS=,; echo "${ETCD_PID[*]:0:3}")
read -r closed <<< "$(etcd_free_ports 1)"
out=$(ETCD_ENDPOINTS=$ETCD_ENDPOINTS ETCD_PIDS=$ETCD_PIDS ETCD_CLOSED=http://127.0.0.1:$closed "$BIN" 2>&1); rc=$?
printf '%s\n' "$out"
[ $rc -ne 0 ] && ! grep -q '^FAIL: ' <<< "$out" && fail cluster-thread "cluster_thread exited with $rc"
t_exit
