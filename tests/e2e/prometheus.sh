#!/bin/bash
# e2e-prometheus: the alert rules (scripts/prometheus/cloudsteer-alerts.yml)
# pass `promtool check rules` and their unit tests (`promtool test rules`
# with cloudsteer-alerts.test.yml); the Grafana dashboard
# (scripts/grafana/cloudsteer.json) is valid JSON; and every metric name the
# rules, their tests and the dashboard use is one the daemons export: one of
# docs/metrics.md's tables, which tests/e2e/metrics.sh checks against real
# scrapes. No root, no build needed.
T_SUITE=e2e-prometheus
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/lib/testing.sh"
cd "$REPO" || exit 1
PY=/usr/bin/python3	# Debian's, where python3-yaml lives
RULES=scripts/prometheus/cloudsteer-alerts.yml
RULES_TEST=scripts/prometheus/cloudsteer-alerts.test.yml
DASH=scripts/grafana/cloudsteer.json
command -v promtool >/dev/null || { skip all "promtool missing (Debian's prometheus package)"; exit 0; }
$PY -c 'import yaml' 2>/dev/null || { skip all "python3-yaml missing"; exit 0; }

out=$(promtool check rules "$RULES" 2>&1) && pass "promtool check rules: $(echo "$out" | grep -o '[0-9]* rules found')" ||
	fail "promtool check rules" "$out"
out=$(cd scripts/prometheus && promtool test rules "$(basename "$RULES_TEST")" 2>&1) &&
	pass "promtool test rules: the alerts fire, and stay quiet, as their tests say" || fail "promtool test rules" "$out"

# the names a PromQL expression uses: identifiers outside strings, less
# PromQL's own words and functions (a function name is followed by "(",
# a grouping's labels stand inside by/on/without/ignoring/group_*)
names_in() {	# names_in KIND FILE: one name a line
	$PY - "$1" "$2" <<'PYEOF'
import json, re, sys, yaml
kind, path = sys.argv[1], sys.argv[2]
if kind == "rules":
    exprs = [r["expr"] for g in yaml.safe_load(open(path))["groups"] for r in g["rules"]]
elif kind == "tests":
    exprs = [s["series"] for t in yaml.safe_load(open(path))["tests"] for s in t.get("input_series", [])]
else:
    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == "expr" or (k == "query" and isinstance(v, str) and "(" in v):
                    yield v
                else:
                    yield from walk(v)
        elif isinstance(o, list):
            for v in o:
                yield from walk(v)
    exprs = list(walk(json.load(open(path))))
    exprs += [t["query"]["query"] for t in json.load(open(path))["templating"]["list"] if isinstance(t.get("query"), dict)]
words = {"by", "on", "without", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset", "le", "inf", "nan"}
names = set()
for e in exprs:
    e = re.sub(r'"(?:[^"\\]|\\.)*"', '""', e)		# strings
    e = re.sub(r'\b(by|on|without|ignoring|group_left|group_right)\s*\([^)]*\)', "", e)
    e = re.sub(r"\{[^}]*\}", "", e)			# label matchers
    e = re.sub(r"\[[^\]]*\]", "", e)			# ranges
    e = re.sub(r"\$\w+", "", e)				# Grafana's variables
    e = re.sub(r"label_values\(([^,]*),\s*\w+\)", r"(\1)", e)	# Grafana's: (series, label)
    for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?", e):
        w = m.group(0)
        if m.group(1) or w in words:
            continue
        names.add(w)
print("\n".join(sorted(names)))
PYEOF
}
documented=$(scripts/prometheus/metric-names.sh docs/metrics.md)
# a histogram's or a summary's series: NAME_bucket, NAME_sum, NAME_count
known() {
	local n=$1
	[ "$n" = up ] && return 0	# Prometheus' own, per target
	grep -qx "$n" <<<"$documented" && return 0
	grep -qx "${n%_bucket}" <<<"$documented" || grep -qx "${n%_sum}" <<<"$documented" ||
		grep -qx "${n%_count}" <<<"$documented"
}
for what in "rules $RULES" "tests $RULES_TEST" "dashboard $DASH"; do
	set -- $what
	used=$(names_in $1 $2)
	unknown=$(for n in $used; do known $n || echo $n; done)
	[ -n "$used" ] && [ -z "$unknown" ] && pass "the $1 file uses only exported names ($(echo "$used" | wc -l) names)" ||
		fail "the $1 file uses only exported names" "not exported: $(echo $unknown); used: $(echo $used)"
done

# the checker itself sees an unknown name
echo '{"panels": [{"targets": [{"expr": "rate(cloudsteer_no_such_total{job=\"x\"}[5m])"}]}], "templating": {"list": []}}' \
	> "${TMPDIR:-/tmp}/cs-prom-$$.json"
[ "$(names_in dashboard "${TMPDIR:-/tmp}/cs-prom-$$.json")" = cloudsteer_no_such_total ] &&
	! known cloudsteer_no_such_total && pass "a name that is not exported is found and refused" ||
	fail "the name check finds a name not exported" "$(names_in dashboard "${TMPDIR:-/tmp}/cs-prom-$$.json")"
rm -f "${TMPDIR:-/tmp}/cs-prom-$$.json"

out=$($PY -c '
import json, sys
d = json.load(open(sys.argv[1]))
panels = [p for p in d["panels"] if p["type"] != "row"]
ids = [p["id"] for p in d["panels"]]
assert d["uid"] and d["title"] and d["schemaVersion"] >= 36, "uid, title, schemaVersion"
assert len(ids) == len(set(ids)), "panel ids repeat"
for p in panels:
    assert p["targets"] and all(t["expr"] and t["refId"] for t in p["targets"]), "panel %r has no query" % p["title"]
    assert p["datasource"]["uid"] == "${datasource}", "panel %r names a data source of its own" % p["title"]
print(len(panels))' "$DASH" 2>&1) && pass "the dashboard is valid JSON: $out panels, each with its queries on the chosen data source" ||
	fail "the dashboard is valid" "$out"
t_exit
