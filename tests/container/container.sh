#!/bin/bash
# container: the image (make image) runs the daemon the way the run line of
# docs/operations.md ("Container") says, in a lab of its own, and the host
# reads what it pins. Every container runs with the explicit capability list
# CAPS below, not --privileged (CTR_PRIVILEGED=1 runs them privileged, to
# compare); the image's HEALTHCHECK (`cloudsteer health`, GET /healthz) passes
# once the daemon runs, and the ICMP health probe of a chain works (NET_RAW).
#
#   resolver (dnsmasq, 10.78.0.53) --veth-- host (10.78.0.1: the container, dig)
#
# The container joins the lab's host namespace (--network ns:..., which is
# --network host seen from inside it), never the real host network, and pins
# in a directory of its own run. Checks: the image (bpftool, the binary, this
# build); the daemon starts, learns, and its pins are read from the host
# (show table, show routes, bpftool); podman stop leaves the dataplane, which
# learns on; a second container adopts it; SIGHUP through podman kill; detach
# and --detach-on-exit clean up; a second container on the same pins is
# refused (the lock is on the pin directory). One limit of the daemon in a
# container is a SKIP while it lasts: the record of the clsact hooks it made
# lives in /run, which is each container's own. Everything it made goes on exit, failure or
# a signal; the images stay.
T_SUITE=container
REPO=$(cd "$(dirname "$0")/../.." && pwd)
. "$REPO/tests/lib/testing.sh"
. "$REPO/tests/lib/bpffs.sh"
CS=$REPO/build/cloudsteer
IMG=${CLOUDSTEER_IMAGE:-localhost/cloudsteer:latest}
# The least this kernel and podman's default seccomp profile take: SYS_ADMIN
# (bpf() is allowed by the profile with it, and libxdp reads attached
# programs by id, which needs it; it covers CAP_BPF and CAP_PERFMON),
# NET_ADMIN (XDP, tc), NET_RAW (ICMP probes). scripts/kubernetes/ lists the
# same (tests/e2e/kubernetes.sh compares).
CAPS=NET_ADMIN,NET_RAW,SYS_ADMIN
export CONTAINERS_CONF=${CONTAINERS_CONF:-$REPO/scripts/containers.conf}

[ "$(id -u)" = 0 ] || { skip all "needs root"; exit 0; }
for t in podman dnsmasq dig bpftool ip tc python3; do
	command -v $t >/dev/null || { fail setup "$t missing (make test-container installs it)"; exit 1; }
done
[ -x "$CS" ] || { fail setup "no $CS: run make first"; exit 1; }
podman image exists "$IMG" || { fail setup "no image $IMG: run make image"; exit 1; }

NS_H=csctr-h-$$
NS_R=csctr-r-$$
VETH_H=csctr-h$$
VETH_R=csctr-r$$
CTR=csctr-$$			# every container's name starts so
PIN=/sys/fs/bpf/cs-ctr-$$
LAB=$(mktemp -d /tmp/cs-ctr.XXXXXX)

cleanup() {
	trap '' INT TERM PIPE
	podman ps -a -q --filter "name=^$CTR-" | xargs -r podman rm -f -t 0 >/dev/null 2>&1
	ip netns pids "$NS_H" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	ip netns pids "$NS_R" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	ip netns del "$NS_H" 2>/dev/null
	ip netns del "$NS_R" 2>/dev/null
	rm -rf "$PIN" "/run/$(basename "$PIN").lock" "/run/$(basename "$PIN").clsact" "$LAB" \
		"/run/cloudsteer/$(basename "$PIN").lock" "/run/cloudsteer/$(basename "$PIN").clsact"
	bpffs_restore
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# the containers share the host's bpffs (-v /sys/fs/bpf), as the run line of
# docs/operations.md has it: the host must have one (cleanup unmounts what
# this made)
bpffs_mount || { fail setup "cannot mount bpffs on /sys/fs/bpf"; exit 1; }

# The run line of docs/operations.md, with the lab's namespace for the host
# network and the run's own pin directory: ctr [PODMAN-RUN-OPTIONS...] -- [ARGS...]
ctr() {
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	if [ "${CTR_PRIVILEGED:-0}" = 1 ]; then
		opts+=(--privileged)
	else
		opts+=(--cap-drop=all "--cap-add=$CAPS")
	fi
	podman run "${opts[@]}" --network "ns:/run/netns/$NS_H" \
		-v /sys/fs/bpf:/sys/fs/bpf -v "$LAB/etc:/etc/cloudsteer:ro" \
		-e CLOUDSTEER_PIN_DIR="$PIN" "$IMG" "$@"
}
# ctr_start NAME [ARGS...]: the daemon in container NAME, until it says "running:"
ctr_start() {
	local name=$CTR-$1; shift
	ctr -d --name "$name" -- "$@" >/dev/null 2>"$LAB/$name.err" || { cat "$LAB/$name.err"; return 1; }
	ctr_wait "$name" "running:" 100
}
ctr_log() { podman logs "$1" 2>&1; }
# ctr_wait NAME TEXT [TENTHS]: until the container's log holds TEXT (default 3 s)
ctr_wait() {
	local i
	for i in $(seq "${3:-30}"); do
		ctr_log "$1" | grep -q -- "$2" && return 0
		[ "$(podman inspect -f '{{.State.Running}}' "$1" 2>/dev/null)" = true ] || break
		sleep 0.1
	done
	ctr_log "$1" | grep -q -- "$2"
}
in_host() { ip netns exec "$NS_H" "$@"; }
dig_a() { in_host dig +short +time=2 +tries=2 @10.78.0.53 "$1" A; }
# the host's view: the CLI of this build, in the root namespace, on the pins
host_cs() { CLOUDSTEER_PIN_DIR=$PIN "$CS" "$@"; }
has_record() { host_cs show table | awk -v n="$1" -v i="$2" '$1 == n && $2 == i { f = 1 } END { exit !f }'; }
has_route() { host_cs show routes | awk -v i="$1" '$1 == i { f = 1 } END { exit !f }'; }
xdp_on() { in_host ip link show "$VETH_H" | grep -q " xdp"; }
tc_on() { [ -n "$(in_host tc filter show dev "$VETH_H" ingress 2>/dev/null)" ]; }
clsact_on() { in_host tc qdisc show dev "$VETH_H" | grep -q clsact; }

# ---- the image ----
out=$(podman run --rm --no-healthcheck --name "$CTR-bpftool" --network none --entrypoint bpftool "$IMG" version 2>&1) &&
	[[ $out == *"bpftool v"* ]] && pass "the image has bpftool" || fail "the image has bpftool" "$out"
out=$(podman run --rm --no-healthcheck --name "$CTR-help" --network none "$IMG" --help 2>&1) &&
	[[ $out == *"usage: cloudsteer COMMAND"* ]] && pass "the binary runs in the image (--help)" ||
	fail "the binary runs in the image (--help)" "$out"
in_img=$(podman run --rm --no-healthcheck --name "$CTR-sum" --network none --entrypoint sha256sum "$IMG" /usr/local/sbin/cloudsteer 2>&1)
[ "${in_img%% *}" = "$(sha256sum "$CS" | cut -d' ' -f1)" ] && pass "the image holds this build" ||
	fail "the image holds this build" "$in_img; run make image"
want=$("$CS" --version | cut -d' ' -f2)
label=$(podman image inspect -f '{{index .Labels "org.opencontainers.image.version"}}' "$IMG")
entry=$(podman image inspect -f '{{.Config.Entrypoint}} {{.Config.Cmd}}' "$IMG")
[ "$label" = "$want" ] && [ "$entry" = "[cloudsteer] [run -c /etc/cloudsteer/cloudsteer.yaml]" ] &&
	pass "labels, entrypoint and command" || fail "labels, entrypoint and command" "version $label, $entry"
hc=$(podman image inspect -f '{{json .Config.Healthcheck.Test}}' "$IMG" 2>&1)
[ "$hc" = '["CMD","cloudsteer","health","-c","/etc/cloudsteer/cloudsteer.yaml"]' ] &&
	pass "the image's HEALTHCHECK runs cloudsteer health" || fail "the image's HEALTHCHECK runs cloudsteer health" "$hc"

# ---- the lab ----
ip netns add "$NS_H" && ip netns add "$NS_R" &&
ip link add "$VETH_H" netns "$NS_H" type veth peer name "$VETH_R" netns "$NS_R" &&
ip -n "$NS_H" addr add 10.78.0.1/24 dev "$VETH_H" && ip -n "$NS_R" addr add 10.78.0.53/24 dev "$VETH_R" &&
ip -n "$NS_H" link set "$VETH_H" up && ip -n "$NS_R" link set "$VETH_R" up &&
ip -n "$NS_H" link set lo up && ip -n "$NS_R" link set lo up ||
	{ fail lab "the namespaces did not come up"; t_exit; }
ip netns exec "$NS_R" dnsmasq --no-resolv --no-hosts --keep-in-foreground --port=53 \
	--listen-address=10.78.0.53 --bind-interfaces --local-ttl=300 \
	--host-record=www.cloudapp.test,192.0.2.7 --host-record=api.cloudapp.test,192.0.2.8 \
	--host-record=other.test,192.0.2.99 >"$LAB/dnsmasq.log" 2>&1 &
disown	# cleanup kills it; no "Killed" notice
for i in $(seq 50); do
	dig_a probe.invalid >/dev/null 2>&1 && break
	[ "$i" = 50 ] && { fail lab "dnsmasq does not answer: $(cat "$LAB/dnsmasq.log")"; t_exit; }
	sleep 0.1
done
mkdir "$LAB/etc"
# metrics: the HEALTHCHECK asks /healthz there; the chain no rule names
# probes the resolver with ICMP, which needs NET_RAW; rules last, as the
# reload below adds one
cat > "$LAB/etc/cloudsteer.yaml" <<YAML
metrics: 127.0.0.1:9477
learn:
  interfaces: [$VETH_H]
steer:
  interfaces: [$VETH_H]
chains:
  - name: probe
    instances:
      - {name: resolver, address: 10.78.0.53}
    health: {probe: icmp, interval: 100ms, timeout: 50ms, fall: 3, rise: 2}
rules:
  - match: [cloudapp.test]
YAML

# ---- the daemon in a container; the host reads its pins ----
ctr_start a run -v -c /etc/cloudsteer/cloudsteer.yaml && pass "the daemon starts in the container (running:)" ||
	{ fail "the daemon starts in the container (running:)" "$(ctr_log "$CTR-a")"; t_exit; }
ctr_log "$CTR-a" | grep -q "learn: attached to $VETH_H" && xdp_on && tc_on &&
	pass "it attaches learn and steer in its network namespace" ||
	fail "it attaches learn and steer in its network namespace" "$(ctr_log "$CTR-a"; in_host ip link show)"
caps=$(podman inspect -f '{{.EffectiveCaps}}' "$CTR-a" | tr -d '[]' | tr ' ' '\n' | sed 's/^CAP_//' | sort | paste -sd,)
[ "${CTR_PRIVILEGED:-0}" = 1 ] || { [ "$caps" = "$CAPS" ] && [ "$(podman inspect -f '{{.HostConfig.Privileged}}' "$CTR-a")" = false ] &&
	pass "it runs unprivileged with the capabilities $CAPS alone" ||
	fail "it runs unprivileged with the capabilities $CAPS alone" "$caps"; }
# podman runs the HEALTHCHECK on a timer when systemd is there; run it now
for i in $(seq 50); do podman healthcheck run "$CTR-a" >/dev/null 2>&1 && break; sleep 0.2; done
out=$(podman healthcheck run "$CTR-a" 2>&1) && [ "$(podman inspect -f '{{.State.Health.Status}}' "$CTR-a")" = healthy ] &&
	pass "podman healthcheck run: healthy" ||
	fail "podman healthcheck run: healthy" "$out $(podman inspect -f '{{json .State.Health}}' "$CTR-a")"
ctr_wait "$CTR-a" "instance resolver is up: icmp" 50 && pass "the ICMP health probe works (NET_RAW)" ||
	fail "the ICMP health probe works (NET_RAW)" "$(ctr_log "$CTR-a" | grep -i health)"
[ -e "$PIN/cs_records" ] && [ -e "$PIN/cs_routes" ] && pass "its pins are visible from the host" ||
	fail "its pins are visible from the host" "$(ls -la "$PIN" 2>&1)"

[ "$(dig_a www.cloudapp.test)" = 192.0.2.7 ] && pass "the client resolves www.cloudapp.test" ||
	fail "the client resolves www.cloudapp.test" "no answer"
has_record www.cloudapp.test 192.0.2.7 && pass "cloudsteer show table on the host lists the record" ||
	fail "cloudsteer show table on the host lists the record" "$(host_cs show table 2>&1)"
has_route 192.0.2.7 && pass "cloudsteer show routes on the host lists the route" ||
	fail "cloudsteer show routes on the host lists the route" "$(host_cs show routes 2>&1)"
n=$(bpftool -j map dump pinned "$PIN/cs_records" 2>"$LAB/bpftool.err" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 1 ] && pass "bpftool map dump pinned cs_records on the host" ||
	fail "bpftool map dump pinned cs_records on the host" "$n records; $(cat "$LAB/bpftool.err")"
ctr_wait "$CTR-a" "learned www.cloudapp.test 192.0.2.7" && pass "the container logs what it learns" ||
	fail "the container logs what it learns" "$(ctr_log "$CTR-a")"
dig_a other.test >/dev/null
! has_record other.test 192.0.2.99 && pass "names without a rule are not learned" ||
	fail "names without a rule are not learned" "$(host_cs show table 2>&1)"

# One daemon per state: a second container on the same pins is refused. The
# lock is on the pin directory in bpffs, which the containers share (each has
# its own /run).
ctr -d --name "$CTR-twin" -- >/dev/null 2>&1
ctr_wait "$CTR-twin" "another cloudsteer daemon\|running:" 100
if ctr_log "$CTR-twin" | grep -q "another cloudsteer daemon"; then
	pass "a second container on the same pins is refused"
else
	fail "a second container on the same pins is refused" "$(ctr_log "$CTR-twin")"
fi
podman stop -t 10 "$CTR-twin" >/dev/null

# ---- podman stop: SIGTERM, the dataplane stays and learns on ----
podman stop -t 10 "$CTR-a" >/dev/null
code=$(podman inspect -f '{{.State.ExitCode}}' "$CTR-a")
[ "$code" = 0 ] && ctr_log "$CTR-a" | grep -q "the dataplane keeps running" &&
	pass "podman stop ends the daemon cleanly (SIGTERM, exit 0)" ||
	fail "podman stop ends the daemon cleanly (SIGTERM, exit 0)" "exit $code: $(ctr_log "$CTR-a" | tail -3)"
[ -e "$PIN/cs_records" ] && xdp_on && tc_on && pass "the pins and programs stay" ||
	fail "the pins and programs stay" "$(ls "$PIN" 2>&1; in_host ip link show "$VETH_H")"
dig_a api.cloudapp.test >/dev/null
has_record api.cloudapp.test 192.0.2.8 && pass "learning goes on with no container running" ||
	fail "learning goes on with no container running" "$(host_cs show table 2>&1)"

# ---- a second container adopts the state ----
ctr_start b && ctr_log "$CTR-b" | grep -q adopted && ctr_log "$CTR-b" | grep -q "kept the attached program" &&
	pass "a new container adopts the pins and the attached program" ||
	fail "a new container adopts the pins and the attached program" "$(ctr_log "$CTR-b")"
has_record www.cloudapp.test 192.0.2.7 && has_record api.cloudapp.test 192.0.2.8 &&
	pass "no record lost across the change of container" ||
	fail "no record lost across the change of container" "$(host_cs show table 2>&1)"
# the config directory is mounted, so an edit on the host is seen inside
printf '  - match: [other.test]\n' >> "$LAB/etc/cloudsteer.yaml"
podman kill -s HUP "$CTR-b" >/dev/null
ctr_wait "$CTR-b" "reload: 2 rules, 2 patterns in force" && dig_a other.test >/dev/null &&
	has_record other.test 192.0.2.99 && pass "podman kill -s HUP reloads the mounted config" ||
	fail "podman kill -s HUP reloads the mounted config" "$(ctr_log "$CTR-b" | tail -5)"
podman stop -t 10 "$CTR-b" >/dev/null

# ---- clean up: detach, then --detach-on-exit ----
out=$(ctr --rm --name "$CTR-detach" -- detach -c /etc/cloudsteer/cloudsteer.yaml 2>&1); rc=$?
[ $rc = 0 ] && [ ! -e "$PIN" ] && ! xdp_on && ! tc_on && pass "cloudsteer detach in a container removes programs and pins" ||
	fail "cloudsteer detach in a container removes programs and pins" \
	"rc $rc: $out; $(ls "$PIN" 2>&1; in_host ip link show "$VETH_H"; in_host tc filter show dev "$VETH_H" ingress)"
# the first container made the clsact hook and wrote so in its own /run
if ! clsact_on; then
	pass "detach removes the clsact hook the first container made"
else
	skip "detach removes the clsact hook the first container made" \
		"it stays: the record of it, /run/cloudsteer/$(basename "$PIN").clsact, went with that container"
	in_host tc qdisc del dev "$VETH_H" clsact
fi
ctr_start c run -c /etc/cloudsteer/cloudsteer.yaml --detach-on-exit &&
	ctr_log "$CTR-c" | grep -q "learn: attached to $VETH_H" && [ -e "$PIN/cs_records" ] ||
	fail "run --detach-on-exit starts" "$(ctr_log "$CTR-c")"
podman stop -t 10 "$CTR-c" >/dev/null
[ ! -e "$PIN" ] && ! xdp_on && ! tc_on && ! clsact_on && pass "run --detach-on-exit, stopped, leaves nothing" ||
	fail "run --detach-on-exit, stopped, leaves nothing" "$(ctr_log "$CTR-c" | tail -5; ls "$PIN" 2>&1)"
t_exit
