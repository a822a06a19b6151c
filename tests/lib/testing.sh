# testing.sh - shell side of the harness: source it, then call pass/fail/skip.
# Prints the same PASS:/FAIL:/SKIP: lines as tests/lib/testing.h.
T_SUITE=${T_SUITE:-$(basename "$0" .sh)}
T_FAILED=0
pass() { echo "PASS: $T_SUITE: $1"; }
fail() { echo "FAIL: $T_SUITE: $1: ${2:-}"; T_FAILED=1; }
skip() { echo "SKIP: $T_SUITE: $1: ${2:-}"; }
# check NAME CMD...: pass if CMD succeeds
check() { local n=$1; shift; if "$@"; then pass "$n"; else fail "$n" "command failed: $*"; fi; }
t_exit() { exit $T_FAILED; }
# wait_in FILE TEXT [TENTHS]: until FILE holds TEXT; default 3 s
wait_in() {
	local i
	for i in $(seq "${3:-30}"); do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
# wait_log TEXT [TENTHS]: the same for $LAB/daemon.log, where the e2e labs
# keep the daemon's output
wait_log() { wait_in "$LAB/daemon.log" "$@"; }
