# bpffs.sh - a lab leaves /sys/fs/bpf as it found it. A fresh machine, a CI
# runner or a container may have no bpffs there; then the daemons the lab
# runs mount it (cloudsteer run and instance do, user/lib/bpffs.c), or the
# lab does with bpffs_mount where it pins before any daemon runs. Source
# this when the lab begins and call bpffs_restore in its cleanup: it
# unmounts bpffs only if the lab began without it.
BPFFS_ROOT=/sys/fs/bpf
bpffs_here() { [ "$(stat -f -c %t "$BPFFS_ROOT" 2>/dev/null)" = cafe4a11 ]; }
if bpffs_here; then BPFFS_FOUND=1; else BPFFS_FOUND=0; fi
bpffs_mount() { bpffs_here || mount -t bpf bpf "$BPFFS_ROOT"; }
bpffs_restore() {
	[ "$BPFFS_FOUND" = 0 ] || return 0
	while bpffs_here; do umount "$BPFFS_ROOT" 2>/dev/null || break; done
}
