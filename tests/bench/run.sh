#!/bin/bash
# run.sh - every part of `make bench`, one after the other on this machine,
# then the report. Called by make bench after the build; run as root.
#
#   per_packet    build/bench/bench (bench.c): BPF_PROG_TEST_RUN of learn and
#                 steer at each table size and rule count, and of an
#                 instance's chain header in and out
#   dns_path      dns_path.sh      dnsperf through the host: nothing, cloudsteer,
#                                  dnsmasq --nftset, and cloudsteer's pieces alone
#   steer_path    steer_path.sh    pps through the host: cloudsteer route mode
#                                  against nftables set + mark + ip rule
#   first_packet  first_packet.sh  share of first SYNs steered
#   expiry        expiry.sh        the daemon sweeping 1,000,000 records
#   failover      failover.sh      instance death to the first packet on the secondary
#   cluster       cluster.sh       two gateways and etcd: propagation, the first
#                                  SYN across gateways, etcd writes
#
# The contract of a part script, tests/bench/PART.sh OUT.json:
#   - runs as root, with REPO, BUILD ($REPO/build), BENCH_DIR ($BUILD/bench,
#     its scratch space) and CS ($BUILD/cloudsteer) in the environment;
#   - makes its own namespaces, veths and pins under names no other part or
#     test uses, and removes them on exit, failure or a signal;
#   - writes OUT.json, a JSON array with one object per case:
#       "case"      a name unique in the whole bench
#       "part"      PART
#       "label"     a few words for the table ("dnsmasq --nftset forwarder")
#       "unit"      the name of the member that holds the case's figure,
#                   which is there too: "ns_per_pkt", "qps", "pps", "ms", "s",
#                   "share", ...
#       "better"    "lower" or "higher": which way the figure improves
#       "ratio", "baseline"  where the case has a baseline measured side by
#                   side in the same run: ratio = figure / the baseline's figure
#       "target", "meets"    where the issue sets a target (text, bool)
#       "targets"   further targets of the case against other baselines: a
#                   list of {"target", "meets", "ratio", "baseline"}
#       a case the issue sets a target for that cannot run yet: its figure
#                   null, "meets" null, "not_measured" saying why
#       "method"    how it was measured, in a sentence or two
#     and whatever else the case has (percentiles, samples, CPU time);
#   - prints progress to stdout and exits 0 when it measured; otherwise
#     non-zero with the reason on stderr.
# A part that fails is reported with its last lines of error (on stderr, kept
# in PARTS_DIR/PART.err; the exit line is followed by them, each line
# beginning "====   "), the report's document says so (PART.failed), and
# the others still run; make bench then exits non-zero.
# BENCH_PARTS="dns_path failover" runs only those.
# Where the results go (the smoke test of make test points them elsewhere):
#   BENCH_PARTS_DIR  the parts' files ($BENCH_DIR/parts)
#   BENCH_JSON       every case ($BUILD/bench.json); BENCH_ENV_JSON the machine
#   BENCH_DOC        docs/benchmarks.md and its plots; empty: not written
#   BENCH_README     README.md, whose bench block (each target, met or not) is
#                    rewritten; empty: not touched
# BENCH_QUICK=1 asks every part for its shortest run: every case, figures meaningless.
set -u
REPO=${REPO:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-$REPO/build}
BENCH_DIR=${BENCH_DIR:-$BUILD/bench}
CS=${CS:-$BUILD/cloudsteer}
export REPO BUILD BENCH_DIR CS
PARTS_DIR=${BENCH_PARTS_DIR:-$BENCH_DIR/parts}
JSON=${BENCH_JSON:-$BUILD/bench.json}
ENV_JSON=${BENCH_ENV_JSON:-$BUILD/bench-env.json}
DOC=${BENCH_DOC-$REPO/docs/benchmarks.md}
README=${BENCH_README-$REPO/README.md}
ALL="per_packet dns_path steer_path first_packet expiry failover cluster"
mkdir -p "$PARTS_DIR"

# part_cmd PART OUT: the command of a part
part_cmd() {
	if [ "$1" = per_packet ]; then
		"$BENCH_DIR/bench" -o "$2" -e "$ENV_JSON" -d "$BENCH_DIR" ${BENCH_ARGS:-}
	else
		"$REPO/tests/bench/$1.sh" "$2"
	fi
}

run_part() {
	local part=$1 out=$PARTS_DIR/$1.json err=$PARTS_DIR/$1.err t0=$SECONDS rc why
	rm -f "$out" "$PARTS_DIR/$part.failed"
	echo "==== bench: $part"
	# stderr goes to the terminal as it comes and into $err, for the reason
	{ part_cmd "$part" "$out" 2>&1 1>&3 3>&- | tee "$err" >&2 3>&-; rc=${PIPESTATUS[0]}; } 3>&1
	echo "==== bench: $part: exit $rc in $((SECONDS - t0)) s"
	[ $rc = 0 ] && return 0
	why=$(grep -v '^[[:space:]]*$' "$err" | tail -n 5)
	[ -n "$why" ] || why="(it wrote nothing on stderr)"
	printf '%s\n' "$why" | sed 's/^/====   /'
	printf 'exit %s in %s s\n%s\n' "$rc" "$((SECONDS - t0))" "$why" > "$PARTS_DIR/$part.failed"
	return $rc
}

failed=
for part in ${BENCH_PARTS:-$ALL}; do
	run_part "$part" || failed="$failed $part"
done
report=(--parts "$PARTS_DIR" --env "$ENV_JSON" --json "$JSON" --elapsed "$SECONDS" --ran "${BENCH_PARTS:-$ALL}")
[ -n "$DOC" ] && report+=(--doc "$DOC" --plots "$(dirname "$DOC")")
[ -n "$README" ] && report+=(--readme "$README")
/usr/bin/python3 "$REPO/scripts/bench-report.py" "${report[@]}" || failed="$failed report"
[ -z "$failed" ] || { echo "bench: failed:$failed" >&2; exit 1; }
echo "bench: every part measured in $SECONDS s"
