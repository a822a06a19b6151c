#!/bin/bash
# e2e-bpffs: a machine with nothing mounted on /sys/fs/bpf (a fresh VM, a
# CI runner, a container without -v /sys/fs/bpf). The test runs in a mount
# namespace of its own in which it unmounts /sys/fs/bpf first, so the
# host's mounts are never touched.
#  - show, explain, drain and detach never mount; they say that no daemon
#    has run here
#  - cloudsteer run mounts bpffs, says so in one line, learns onto its pins,
#    and a restart adopts them without mounting again
#  - a daemon that waits while another mounts does not mount again (the
#    interleaving forced with flock); run and instance together mount once
#  - refused, with what to do and nothing attached: a tmpfs on /sys/fs/bpf,
#    the host's bare /sys/fs/bpf bound in (a container's -v from a host
#    without bpffs), no CAP_SYS_ADMIN, a pin directory that is not on bpffs
#  - a read-only /sys does not stop the mount
T_SUITE=e2e-bpffs
if [ -z "${CS_BPFFS_PRIVATE:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "SKIP: $T_SUITE: all: needs root"; exit 0; }
	exec env CS_BPFFS_PRIVATE=1 unshare --mount --propagation private "$0" "$@"
fi
while mountpoint -q /sys/fs/bpf; do umount /sys/fs/bpf || exit 1; done
. "$(dirname "$0")/lab.bash"
lab_need
lab_up app.cloudapp.test,192.0.2.7 || { fail lab "the lab did not come up"; t_exit; }

bpf_mounts() { awk '$5 == "/sys/fs/bpf" && $0 ~ / - bpf / { n++ } END { print n + 0 }' /proc/self/mountinfo; }
unmount_all() { while mountpoint -q /sys/fs/bpf; do umount /sys/fs/bpf || return 1; done; }

cfg=$(conf cs.yaml <<'YAML'
learn:
  interfaces: [@IFACE@]
rules:
  - match: [cloudapp.test]
YAML
)

# ---- the readers, with nothing mounted ----
NOBODY="no cloudsteer daemon has run here: nothing is mounted on /sys/fs/bpf"
for cmd in "show table" "show instances --json" "explain 192.0.2.7" "drain 1"; do
	out=$(in_client "$CS" $cmd 2>&1); rc=$?
	[ $rc = 1 ] && [[ $out == *"$NOBODY"* ]] && [ "$(bpf_mounts)" = 0 ] &&
		pass "$cmd: says no daemon has run here, mounts nothing" ||
		fail "$cmd: says no daemon has run here, mounts nothing" "rc $rc, $(bpf_mounts) mounts: $out"
done
out=$(in_client "$CS" detach -c "$cfg" 2>&1); rc=$?
[ $rc = 0 ] && [[ $out == *"$NOBODY"*"no pinned state to remove"* ]] && [ "$(bpf_mounts)" = 0 ] &&
	pass "detach: nothing to remove, mounts nothing" ||
	fail "detach: nothing to remove, mounts nothing" "rc $rc, $(bpf_mounts) mounts: $out"

# ---- run mounts it ----
if daemon_start "$cfg"; then
	n=$(grep -c "bpffs: nothing was mounted on /sys/fs/bpf, so mounted bpffs there" "$LAB/daemon.log")
	[ "$n" = 1 ] && [ "$(bpf_mounts)" = 1 ] && pass "run mounts bpffs once and says so in one line" ||
		fail "run mounts bpffs once and says so in one line" "$n lines, $(bpf_mounts) mounts"
	opts=$(awk '$5 == "/sys/fs/bpf" { print $6 }' /proc/self/mountinfo)
	[[ $opts == *nosuid*nodev*noexec* ]] && grep -q "/sys/fs/bpf .* bpf bpf rw,mode=700" /proc/self/mountinfo &&
		pass "mounted as systemd mounts it (nosuid, nodev, noexec, mode 700)" ||
		fail "mounted as systemd mounts it (nosuid, nodev, noexec, mode 700)" "$(grep /sys/fs/bpf /proc/self/mountinfo)"
	dig_a app.cloudapp.test >/dev/null
	wait_log "learned app.cloudapp.test 192.0.2.7" 30 &&
		in_client "$CS" show table | grep -q "^app.cloudapp.test  *192.0.2.7 " &&
		pass "it learns onto pins the CLI reads" || fail "it learns onto pins the CLI reads" "$(cat "$LAB/daemon.log")"
	daemon_stop
	daemon_start "$cfg" && grep -q "adopted .* pinned maps" "$LAB/daemon.log" &&
		! grep -q "bpffs:" "$LAB/daemon.log" && [ "$(bpf_mounts)" = 1 ] &&
		in_client "$CS" show table | grep -q "^app.cloudapp.test  *192.0.2.7 " &&
		pass "a restart adopts the pins and mounts nothing" ||
		fail "a restart adopts the pins and mounts nothing" "$(bpf_mounts) mounts: $(cat "$LAB/daemon.log")"
	daemon_stop
else
	fail "run mounts bpffs once and says so in one line" "$(cat "$LAB/daemon.log")"
fi
in_client "$CS" detach -c "$cfg" >/dev/null 2>&1
unmount_all

# ---- run and instance at the same moment: one mount ----
# the instance lives in the server's namespace, whose address it has
inst_cfg=$(conf inst.yaml <<YAML
learn:
  interfaces: [@IFACE@]
rules:
  - match: [cloudapp.test]
    chain: casb
mesh:
  affinity_key: 00112233445566778899aabbccddeeff
chains:
  - name: casb
    instances:
      - {name: casb-a, address: 10.77.0.53}
instance:
  interfaces: [$VETH_S]
YAML
)
# Forced: the daemon blocks on the lock (flock, syscall 73) while someone
# else mounts; when it gets the lock it must find bpffs and not stack a
# second mount on it.
exec 9</sys/fs/bpf
flock 9
nsenter --net="/run/netns/$NS_C" "$CS" run -c "$cfg" --detach-on-exit >"$LAB/daemon.log" 2>&1 9<&- &
DAEMON_PID=$!
for _ in $(seq 100); do
	read -r nr _ < "/proc/$DAEMON_PID/syscall" 2>/dev/null && [ "$nr" = 73 ] && break
	sleep 0.05
done
waited=$nr
mount -t bpf bpf /sys/fs/bpf
exec 9<&-
if [ "$waited" = 73 ] && wait_log "running:" 50; then
	[ "$(bpf_mounts)" = 1 ] && ! grep -q "bpffs:" "$LAB/daemon.log" &&
		pass "a daemon that waited while another mounted finds bpffs and mounts nothing" ||
		fail "a daemon that waited while another mounted finds bpffs and mounts nothing" \
			"$(bpf_mounts) mounts: $(cat "$LAB/daemon.log")"
else
	fail "a daemon that waited while another mounted finds bpffs and mounts nothing" \
		"it never waited on the lock (syscall ${waited:-?}), or did not start: $(cat "$LAB/daemon.log")"
fi
daemon_stop
unmount_all

# run and instance started together (the race above, unforced)
CLOUDSTEER_PIN_DIR=$CLOUDSTEER_PIN_DIR-inst nsenter --net="/run/netns/$NS_S" "$CS" instance \
	-c "$inst_cfg" --detach-on-exit >"$LAB/inst.log" 2>&1 &
inst=$!
if daemon_start "$inst_cfg" "--detach-on-exit" && wait_in "$LAB/inst.log" "running:" 50; then
	lines=$(cat "$LAB/daemon.log" "$LAB/inst.log" | grep -c "bpffs: nothing was mounted")
	[ "$(bpf_mounts)" = 1 ] && [ "$lines" = 1 ] && pass "run and instance started together: one mount, one line" ||
		fail "run and instance started together: one mount, one line" "$(bpf_mounts) mounts, $lines lines"
else
	fail "run and instance started together: one mount, one line" "$(cat "$LAB/daemon.log" "$LAB/inst.log")"
fi
kill "$inst" 2>/dev/null; wait "$inst" 2>/dev/null
daemon_stop
unmount_all

# ---- refusals: a clear reason, what to do, nothing attached ----
# refused RC NAME TEXT CMD...: CMD exits RC, says TEXT, attaches no XDP
refused() {
	local want_rc=$1 name=$2 text=$3 out rc
	shift 3
	out=$("$@" 2>&1); rc=$?
	[ $rc = "$want_rc" ] && [[ $out == *"$text"* ]] && ! in_client ip link show "$VETH_C" | grep -q " xdp" &&
		pass "$name" || fail "$name" "rc $rc: $out"
}
mount -t tmpfs tmpfs /sys/fs/bpf
refused 1 "a tmpfs on /sys/fs/bpf: run refuses and says to unmount it" \
	"/sys/fs/bpf holds a tmpfs file system, not bpffs, so the maps cannot be pinned there: unmount it" \
	in_client "$CS" run -c "$cfg"
out=$(in_client "$CS" show table 2>&1)
[[ $out == *"/sys/fs/bpf holds a tmpfs file system, not bpffs"* ]] && pass "a tmpfs on /sys/fs/bpf: show says so" ||
	fail "a tmpfs on /sys/fs/bpf: show says so" "$out"
[ "$(stat -f -c %T /sys/fs/bpf)" = tmpfs ] && pass "the tmpfs stays as it was" || fail "the tmpfs stays as it was"
umount /sys/fs/bpf

# what a container gets from -v /sys/fs/bpf:/sys/fs/bpf on a host without bpffs
mount --bind /sys/fs/bpf /sys/fs/bpf
refused 1 "the host's bare /sys/fs/bpf bound in: run says to mount bpffs on the host" \
	"/sys/fs/bpf is a bind mount of a directory with no bpffs on it (in a container: the host's" \
	in_client "$CS" run -c "$cfg"
umount /sys/fs/bpf

refused 1 "no CAP_SYS_ADMIN: run refuses and says how to provide bpffs" \
	"Operation not permitted (mounting takes CAP_SYS_ADMIN); mount it first (mount -t bpf bpf /sys/fs/bpf)" \
	in_client setpriv --inh-caps -sys_admin --bounding-set -sys_admin "$CS" run -c "$cfg"
refused 1 "no CAP_SYS_ADMIN: instance refuses the same way" "mounting takes CAP_SYS_ADMIN" \
	nsenter --net="/run/netns/$NS_S" setpriv --inh-caps -sys_admin --bounding-set -sys_admin \
	"$CS" instance -c "$inst_cfg" --pin-dir "$CLOUDSTEER_PIN_DIR-inst"
[ "$(bpf_mounts)" = 0 ] && pass "a refused mount leaves nothing mounted" || fail "a refused mount leaves nothing mounted"

refused 1 "a pin directory off bpffs is refused" \
	"$LAB is not on bpffs, so $LAB/pins cannot hold pinned maps" \
	in_client "$CS" run -c "$cfg" --pin-dir "$LAB/pins"
[ ! -e "$LAB/pins" ] && pass "... and not made" || fail "... and not made"

# ---- a read-only /sys is no obstacle: mounting on it writes nothing to it ----
mount -o remount,bind,ro /sys
if daemon_start "$cfg" "--detach-on-exit"; then
	[ "$(bpf_mounts)" = 1 ] && pass "a read-only /sys: run still mounts bpffs" ||
		fail "a read-only /sys: run still mounts bpffs" "$(bpf_mounts) mounts"
	daemon_stop
else
	fail "a read-only /sys: run still mounts bpffs" "$(cat "$LAB/daemon.log")"
fi
mount -o remount,bind,rw /sys
t_exit
