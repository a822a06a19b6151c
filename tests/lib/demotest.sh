# demotest.sh - how the demos' tests run a demo (tests/e2e/demo.sh,
# tests/e2e/demo_cluster.sh). Source it after testing.sh.
#
#   demo_fresh SCRIPT OUT   run SCRIPT straight through as on a fresh
#                           machine: in a mount namespace of its own in which
#                           /sys/fs/bpf is unmounted first; its output in OUT.
#                           Sets DEMO_RC and DEMO_SECS; OUT ends with a line
#                           "demo test: bpffs is still mounted ..." when the
#                           demo left bpffs mounted there
#   demo_interrupt SCRIPT OUT TEXT FIRST LAST
#                           run SCRIPT, send it SIGINT (Ctrl-C) once OUT holds
#                           TEXT, which comes in step FIRST to LAST: pass when
#                           it then says "interrupted", exits 130 and says it
#                           left nothing behind
#   demo_says OUT REGEX WHAT  pass when OUT holds a line matching the extended
#                           REGEX: "it tells: WHAT"

demo_fresh() {
	local t0
	t0=$(date +%s)
	timeout --kill-after=10 300 unshare --mount --propagation private bash -c '
		while mountpoint -q /sys/fs/bpf; do umount /sys/fs/bpf || exit 1; done
		"$1"; rc=$?
		mountpoint -q /sys/fs/bpf && echo "demo test: bpffs is still mounted on /sys/fs/bpf"
		exit $rc' _ "$1" > "$2" 2>&1 </dev/null
	DEMO_RC=$?
	DEMO_SECS=$(($(date +%s) - t0))
}

# (checks read "A && pass || fail", as in the tests)
# shellcheck disable=SC2015
demo_interrupt() {
	local pid rc shown
	# (set -m: a job of a script without job control would start with SIGINT
	# ignored, and a signal ignored at entry cannot be trapped)
	set -m
	"$1" > "$2" 2>&1 </dev/null &
	pid=$!
	set +m
	wait_in "$2" "$3" 300
	shown=$(grep -c '^== ' "$2")
	kill -INT $pid
	for _ in $(seq 300); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	if kill -0 $pid 2>/dev/null; then
		fail "SIGINT ends the demo" "still running 30 s later"
		kill -KILL $pid
	fi
	wait $pid
	rc=$?
	[ $rc = 130 ] && grep -q '^demo: interrupted' "$2" && [ "$shown" -ge "$4" ] && [ "$shown" -le "$5" ] &&
		pass "SIGINT in step $shown ends the demo (exit 130, \"interrupted\")" ||
		fail "SIGINT in step $4 to $5 ends the demo" "exit $rc after $shown steps: $(tail -10 "$2")"
	grep -q 'left nothing behind' "$2" && pass "interrupted, it says it left nothing behind" ||
		fail "interrupted, it says it left nothing behind" "$(tail -5 "$2")"
}

demo_says() {
	if grep -qE -- "$2" "$1"; then pass "it tells: $3"; else fail "it tells: $3" "no line matches /$2/"; fi
}
