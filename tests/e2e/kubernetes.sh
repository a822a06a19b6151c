#!/bin/bash
# e2e-kubernetes: scripts/kubernetes/cloudsteer-daemonset.yaml parses
# (python3-yaml; yamllint when there), its DaemonSet has what matters
# (hostNetwork, system-node-critical, tolerations, /sys/fs/bpf from the host,
# the config from its ConfigMap, probes on /healthz at the config's metrics
# port, resources, capabilities: drop ALL and add exactly the container
# test's CAPS), and the ConfigMap's config passes `cloudsteer check`. No
# cluster and no root needed (kubeconform is not in Debian).
T_SUITE=e2e-kubernetes
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/lib/testing.sh"
CS=$REPO/${BUILD:-build}/cloudsteer
M=$REPO/scripts/kubernetes/cloudsteer-daemonset.yaml
python3 -c 'import yaml' 2>/dev/null || { fail setup "python3-yaml missing (make test-deps)"; t_exit; }
TMP=$(mktemp -d /tmp/cs-k8s.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

if command -v yamllint >/dev/null; then
	out=$(yamllint -d '{extends: default, rules: {line-length: {max: 120}, document-start: disable}}' "$M" 2>&1) &&
		pass "yamllint finds nothing" || fail "yamllint" "$out"
fi
caps=$(sed -n 's/^CAPS=//p' "$REPO/tests/container/container.sh")
# the checks, one "ok NAME" or "bad NAME: why" a line; the config to $TMP
python3 - "$M" "$caps" "$TMP/cloudsteer.yaml" > "$TMP/out" 2>&1 <<'PY'
import sys, yaml
path, caps, conf_out = sys.argv[1], sys.argv[2].split(","), sys.argv[3]
docs = [d for d in yaml.safe_load_all(open(path)) if d]
kinds = {d["kind"]: d for d in docs}
def check(name, ok, why=""):
    print(("ok " if ok else "bad ") + name + ("" if ok else ": " + str(why)))
check("a Namespace, a ConfigMap and a DaemonSet", sorted(kinds) == ["ConfigMap", "DaemonSet", "Namespace"], sorted(kinds))
ds, cm = kinds["DaemonSet"], kinds["ConfigMap"]
check("apps/v1 DaemonSet, its selector matches its pods",
      ds["apiVersion"] == "apps/v1" and
      ds["spec"]["selector"]["matchLabels"].items() <= ds["spec"]["template"]["metadata"]["labels"].items())
pod = ds["spec"]["template"]["spec"]
c = pod["containers"][0]
check("hostNetwork", pod.get("hostNetwork") is True)
check("priorityClassName system-node-critical", pod.get("priorityClassName") == "system-node-critical")
check("tolerates every taint", {"operator": "Exists"} in pod.get("tolerations", []))
sc = c.get("securityContext", {})
add = sc.get("capabilities", {}).get("add", [])
check("not privileged, capabilities drop ALL", sc.get("privileged") is False and sc["capabilities"].get("drop") == ["ALL"])
check("capabilities add the container test's list " + ",".join(caps), sorted(add) == sorted(caps), add)
vols = {v["name"]: v for v in pod["volumes"]}
mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
bpf = mounts.get("/sys/fs/bpf")
check("/sys/fs/bpf mounted from the host's /sys/fs/bpf",
      bpf is not None and vols[bpf["name"]].get("hostPath", {}).get("path") == "/sys/fs/bpf")
cfg = mounts.get("/etc/cloudsteer")
check("/etc/cloudsteer from the ConfigMap",
      cfg is not None and vols[cfg["name"]].get("configMap", {}).get("name") == cm["metadata"]["name"]
      and "cloudsteer.yaml" in cm["data"])
check("it runs cloudsteer run -c /etc/cloudsteer/cloudsteer.yaml",
      c.get("args") == ["run", "-c", "/etc/cloudsteer/cloudsteer.yaml"])
conf = yaml.safe_load(cm["data"]["cloudsteer.yaml"])
port = int(str(conf.get("metrics", ":0")).rsplit(":", 1)[1])
for p in ("livenessProbe", "readinessProbe"):
    g = c.get(p, {}).get("httpGet", {})
    check(p + " GET /healthz on the config's metrics port", g.get("path") == "/healthz" and g.get("port") == port, g)
r = c.get("resources", {})
check("resources: requests and a memory limit", "cpu" in r.get("requests", {}) and "memory" in r.get("limits", {}))
check("the namespaces agree", cm["metadata"]["namespace"] == ds["metadata"]["namespace"] == kinds["Namespace"]["metadata"]["name"])
open(conf_out, "w").write(cm["data"]["cloudsteer.yaml"])
PY
rc=$?
while read -r word rest; do
	case "$word" in
	ok) pass "$rest" ;;
	bad) fail "${rest%%: *}" "${rest#*: }" ;;
	*) fail "the manifest parses" "$word $rest" ;;
	esac
done < "$TMP/out"
[ $rc = 0 ] || fail "the checks ran" "python3 exited $rc"
[ -n "$caps" ] || fail "the container test's CAPS" "not found in tests/container/container.sh"
out=$("$CS" check -c "$TMP/cloudsteer.yaml" 2>&1) && pass "the ConfigMap's config passes cloudsteer check" ||
	fail "the ConfigMap's config passes cloudsteer check" "$out"
t_exit
