#!/bin/bash
# corpus-shared-knot: the capture from Knot DNS in shared/dns-corpus and its
# tshark oracle. Checks that oracle.py (the reducer the live corpus tests use)
# rebuilds that oracle from the capture, then checks cloudsteer replay against
# the reference learner (expect.py) with tests/corpus/rules.yaml, one line per
# DNS response; then again with learn.max_records 8 and 256 (suites
# corpus-shared-knot-max8, -max256): the walk cap cuts chains and big RRsets.
#   CS_SHARED_CORPUS=DIR   where knot_auth.pcap and knot_auth.oracle.jsonl are
#                          (default: shared/dns-corpus beside the checkout,
#                          as CI lays it out)
CORPUS=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$CORPUS/../.." && pwd)
T_SUITE=corpus-shared-knot
. "$REPO/tests/lib/testing.sh"
DIR=${CS_SHARED_CORPUS:-$REPO/../shared/dns-corpus}
PCAP=$DIR/knot_auth.pcap
ORACLE=$DIR/knot_auth.oracle.jsonl
CLOUDSTEER=${CLOUDSTEER:-$REPO/build/cloudsteer}

if [ ! -r "$PCAP" ] || [ ! -r "$ORACLE" ]; then
	skip all "no shared capture in $DIR (set CS_SHARED_CORPUS)"
	exit 0
fi
if [ ! -x "$CLOUDSTEER" ]; then
	fail build "no $CLOUDSTEER: run make first"
	exit 1
fi
if [ "$(id -u)" != 0 ]; then
	skip all "needs root (cloudsteer replay loads a BPF program)"
	exit 0
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/cs-corpus-shared.XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# the reducer against the shared oracle, on every field the shared one has
if command -v tshark >/dev/null 2>&1; then
	if python3 "$CORPUS/oracle.py" --pcap "$PCAP" --server knot >"$TMP/oracle.jsonl" 2>"$TMP/err"; then
		why=$(python3 - "$ORACLE" "$TMP/oracle.jsonl" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
bad = []
if len(a) != len(b):
    bad.append("%d responses in the shared oracle, %d decoded" % (len(a), len(b)))
for x, y in zip(a, b):
    for k, v in x.items():
        w = y.get(k)
        if k in ("answers", "cname_chain"):
            w = [{kk: vv for kk, vv in r.items() if kk != "class"} for r in w]
        if v != w:
            bad.append("frame %s %s: %s != %s" % (x["frame"], k, json.dumps(v)[:80], json.dumps(w)[:80]))
print("; ".join(bad[:5]) + (" (+%d more)" % (len(bad) - 5) if len(bad) > 5 else ""))
PY
)
		if [ -z "$why" ]; then
			pass "oracle.py rebuilds the shared oracle"
		else
			fail "oracle.py rebuilds the shared oracle" "$why"
		fi
	else
		fail "oracle.py rebuilds the shared oracle" "$(tail -n 3 "$TMP/err")"
	fi
else
	skip "oracle.py rebuilds the shared oracle" "tshark is not installed"
fi

python3 "$CORPUS/compare.py" --suite "$T_SUITE" --config "$CORPUS/rules.yaml" \
	--oracle "$ORACLE" --pcap "$PCAP" --cloudsteer "$CLOUDSTEER" || T_FAILED=1

for max in 8 256; do
	python3 - "$CORPUS/rules.yaml" "$max" >"$TMP/rules-max$max.yaml" <<'PY'
import json, sys
text = "".join(l for l in open(sys.argv[1]) if not l.lstrip().startswith("#"))
conf = json.loads(text)
conf["learn"]["max_records"] = int(sys.argv[2])
print(json.dumps(conf, indent=1))
PY
	python3 "$CORPUS/compare.py" --suite "$T_SUITE-max$max" --config "$TMP/rules-max$max.yaml" \
		--oracle "$ORACLE" --pcap "$PCAP" --cloudsteer "$CLOUDSTEER" || T_FAILED=1
done
t_exit
