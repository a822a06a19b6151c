#!/bin/bash
# fuzz-learn: the libFuzzer target over the learn program (tests/fuzz/learn_fuzzer.c).
#   tests/fuzz/learn.sh        the short run of `make test`: every seed, then
#                              FUZZ_SECONDS (default 25) of fuzzing on a fresh corpus
#   tests/fuzz/learn.sh long   `make fuzz`: FUZZ_SECONDS (default 600) of fuzzing on
#                              build/fuzz/corpus (kept from run to run), the lines of
#                              the program that corpus reaches, then FUZZ_ITERATIONS
#                              (default 5,000,000) runs of the BPF_PROG_TEST_RUN
#                              campaign (tests/prog/learn_fuzz_test.c); ends with
#                              "N passed, N failed"
# Both first hold the shim to the kernel's behaviour (build/fuzz/shim_test).
# Seeds come from build/fuzz/learn_seeds (the shared capture, CS_SHARED_CORPUS, and the
# built answers); tests/fuzz/repro/ holds inputs that once failed, replayed every run.
# An input that fails is kept in build/fuzz/artifacts/: `build/fuzz/learn_fuzzer FILE`
# runs it again and says what differs.
REPO=$(cd "$(dirname "$0")/../.." && pwd)
T_SUITE=fuzz-learn
. "$REPO/tests/lib/testing.sh"
BUILD=${BUILD:-$REPO/build}
FUZZER=$BUILD/fuzz/learn_fuzzer
SEEDER=$BUILD/fuzz/learn_seeds
SHIM_TEST=$BUILD/fuzz/shim_test
COVER=$BUILD/fuzz/learn_fuzzer_cov
CAMPAIGN=$BUILD/tests/prog/learn_fuzz_test
ARTIFACTS=$BUILD/fuzz/artifacts
mode=${1:-short}
if [ "$mode" = long ]; then
	SECONDS_TO_FUZZ=${FUZZ_SECONDS:-600}
else
	SECONDS_TO_FUZZ=${FUZZ_SECONDS:-25}
fi
# -max_len: a message just over CS_MSG_MAX, wrapped, reaches too_big
FUZZ_ARGS="-max_len=5000 -timeout=10 -dict=$REPO/tests/fuzz/learn.dict -print_final_stats=1"

# The libFuzzer runtime, as the compiler would link it (fuzz.mk does the same).
runtime_missing() {
	[ ! -e "$(${CLANG:-clang} --print-runtime-dir 2>/dev/null)/libclang_rt.fuzzer-x86_64.a" ]
}

# FILE: a libFuzzer log. The figures of its last line and final stats.
figures() {
	local log=$1 execs rate cov ft corp
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
	ft=$(grep -Eo 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
	corp=$(grep -Eo 'corp: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
	echo "${execs:-?} executions (${rate:-?}/s), cov ${cov:-?} ft ${ft:-?}, corpus ${corp:-?} inputs"
}

# FILE: what a failed libFuzzer run said: the disagreement or sanitizer report, and
# where the input went.
failure() {
	{
		grep -E -m1 -A3 '^learn_fuzzer: run|ERROR: (AddressSanitizer|libFuzzer)|runtime error:|bpf_shim:' "$1"
		grep -E -m1 'Test unit written to' "$1"
	} | tr '\n' ' '
}

seeds() {
	SEEDS=$BUILD/fuzz/seeds
	rm -rf "$SEEDS" && mkdir -p "$SEEDS" "$ARTIFACTS" || return 1
	local out
	if out=$("$SEEDER" "$SEEDS" 2>&1); then
		pass "seeds: $(printf '%s\n' "$out" | tail -1 | sed 's/^learn_seeds: //')"
	else
		fail seeds "$out"
		return 1
	fi
	REPRO=()
	[ -n "$(ls -A "$REPO/tests/fuzz/repro" 2>/dev/null)" ] && REPRO=("$REPO/tests/fuzz/repro")
	return 0
}

replay_seeds() {
	local log=$TMP/replay.log n
	if "$FUZZER" -runs=0 $FUZZ_ARGS -artifact_prefix="$ARTIFACTS/" "$SEEDS" "${REPRO[@]}" >"$log" 2>&1; then
		n=$(find "$SEEDS" "${REPRO[@]}" -type f | wc -l)
		pass "every seed and kept input agrees with the reference ($n inputs, cov $(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2))"
	else
		fail "seeds agree with the reference" "$(failure "$log")"
	fi
}

# DIR: the corpus to grow. Fuzz for SECONDS_TO_FUZZ.
fuzz() {
	local corpus=$1 log=$BUILD/fuzz/learn_fuzzer.log t0=$SECONDS
	mkdir -p "$corpus"
	if "$FUZZER" -max_total_time="$SECONDS_TO_FUZZ" $FUZZ_ARGS -artifact_prefix="$ARTIFACTS/" \
		"$corpus" "$SEEDS" "${REPRO[@]}" >"$log" 2>&1; then
		pass "$((SECONDS - t0)) s of fuzzing: $(figures "$log"), no crash, no disagreement"
	else
		fail "fuzzing" "$(failure "$log") (log: $log)"
	fi
}

# DIR: the corpus. The share of the program's lines it reaches, by
# clang's source coverage (a build of its own, without sanitizers).
line_coverage() {
	local corpus=$1 prof=$TMP/cov
	if [ ! -x "$COVER" ]; then
		skip "lines reached" "no $COVER"
		return
	fi
	mkdir -p "$prof"
	LLVM_PROFILE_FILE="$prof/%p.profraw" "$COVER" -runs=0 -max_len=5000 "$corpus" "$SEEDS" >/dev/null 2>&1
	if ! llvm-profdata merge -o "$prof/all.profdata" "$prof"/*.profraw 2>/dev/null; then
		skip "lines reached" "llvm-profdata could not merge the profile"
		return
	fi
	local report
	report=$(cd "$REPO" && llvm-cov report "$COVER" -instr-profile="$prof/all.profdata" \
		bpf/learn.bpf.c bpf/lib/packet.h bpf/lib/dns.h 2>/dev/null |
		awk '$1 ~ /(learn.bpf.c|packet.h|dns.h|TOTAL)$/ { n = split($1, p, "/"); printf "%s%s %s", sep, p[n], $10; sep = ", " }')
	pass "lines of the program the corpus reaches: $report"
}

campaign() {
	local out=$TMP/campaign.log t0=$SECONDS n=${FUZZ_ITERATIONS:-5000000}
	if [ ! -x "$CAMPAIGN" ]; then
		fail campaign "no $CAMPAIGN: run make test-build"
		return
	fi
	CS_FUZZ_ITERATIONS=$n "$CAMPAIGN" >"$out" 2>&1
	grep -E '^(PASS|FAIL|SKIP): ' "$out" | sed 's/^/    /'
	if grep -q '^FAIL: ' "$out" || ! grep -q '^PASS: learn_fuzz: mutations_agree' "$out"; then
		fail "BPF_PROG_TEST_RUN campaign" "$(grep -m1 -A3 '^FAIL: ' "$out" | tr '\n' ' ')"
	else
		pass "BPF_PROG_TEST_RUN campaign, $((SECONDS - t0)) s: $(sed -n 's/^learn_fuzz: //p' "$out")"
	fi
}

# It prints its own PASS/FAIL lines (suite fuzz-shim) and exits 1 after a
# FAIL; any other status is a crash that said nothing.
shim_test() {
	local rc
	"$SHIM_TEST"
	rc=$?
	[ "$rc" -eq 1 ] && T_FAILED=1
	[ "$rc" -le 1 ] || fail "shim test" "exited with status $rc"
}

short_run() {
	shim_test
	seeds || return
	replay_seeds
	fuzz "$TMP/corpus"
}

long_run() {
	shim_test
	seeds || return
	replay_seeds
	fuzz "$BUILD/fuzz/corpus"
	line_coverage "$BUILD/fuzz/corpus"
	campaign
}

if [ ! -x "$FUZZER" ] || [ ! -x "$SEEDER" ] || [ ! -x "$SHIM_TEST" ]; then
	if runtime_missing; then
		skip all "no libFuzzer runtime (Debian's libclang-rt-14-dev; scripts/install-deps.sh test installs it)"
		exit 0
	fi
	fail build "no $FUZZER: run make test-build"
	exit 1
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cs-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$mode" = long ]; then
	long_run 2>&1 | tee "$TMP/long.log"
	p=$(grep -c '^PASS: ' "$TMP/long.log")
	f=$(grep -c '^FAIL: ' "$TMP/long.log")
	s=$(grep -c '^SKIP: ' "$TMP/long.log")
	line="$p passed, $f failed"
	[ "$s" -gt 0 ] && line="$line, $s skipped"
	echo "$line"
	[ "$f" -eq 0 ]
	exit
fi
short_run
t_exit
