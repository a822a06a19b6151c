#!/bin/bash
# kernel-verify.sh - does Debian 12's own kernel (6.1) accept our BPF programs?
#
# Boots Debian's 6.1 kernel in QEMU (software emulation is enough, ~10 s) with a
# tiny initramfs: static busybox, tests/kernel/verify_load (static libbpf) and
# the BPF objects. Inside, each object is loaded (not attached) and the
# verifier's verdict comes back over the serial console.
#
#   scripts/kernel-verify.sh [OBJ...]      default: build/*.bpf.o
#
# Prints "PASS: kernel-6.1: OBJ" or "FAIL: kernel-6.1: OBJ: reason" (with the
# verifier's last lines and stats below, indented); exits non-zero on failure.
# Skips (exit 0) when the kernel package cannot be had or a tool is missing.
#
# Environment:
#   KV_CACHE=build/kernel-6.1   the kernel package and what is built from it;
#                               the .deb is reused while it is there (remove
#                               the directory to move to a newer kernel)
#   KV_PKG=linux-image-6.1.0-N-amd64   the package; default: newest apt knows
#   KV_MEM=512M  KV_TIMEOUT=900 (seconds for the whole VM run)
#   KV_ACCEL=tcg                or kvm, where /dev/kvm works
#   KV_VERBOSE=1                also print the whole console output
set -u
cd "$(dirname "$0")/.."
T_SUITE=kernel-6.1
. tests/lib/testing.sh

CACHE=${KV_CACHE:-build/kernel-6.1}
MEM=${KV_MEM:-512M}
TIMEOUT=${KV_TIMEOUT:-900}

# Extra loads with a `const volatile` knob changed: the verifier drops code
# behind a frozen false, so each knob that enables code is verified on too.
#   object-file  VAR=VALUE...
VARIANTS='
learn.bpf.o report_refresh=1
learn.bpf.o report_extended=1
'

if [ $# -gt 0 ]; then objs=("$@"); else objs=(build/*.bpf.o); fi
for o in "${objs[@]}"; do
	[ -f "$o" ] || fail "$(basename "$o")" "no such object: $o (run make first)"
done
[ "$T_FAILED" = 0 ] || t_exit

skip_all() {
	for o in "${objs[@]}"; do skip "$(basename "$o")" "$1"; done
	exit 0
}

# ---- tools ----
QEMU=$(command -v qemu-system-x86_64) || skip_all "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
BUSYBOX=/bin/busybox	# ldd fails on a static binary, which the initramfs needs
[ -x "$BUSYBOX" ] && ! ldd "$BUSYBOX" >/dev/null 2>&1 || skip_all "static busybox missing (apt-get install busybox-static)"
command -v cpio >/dev/null || skip_all "cpio missing (apt-get install cpio)"
LIBDIR=$(gcc -print-multiarch 2>/dev/null)
for a in libbpf libelf libz; do
	[ -e "/usr/lib/$LIBDIR/$a.a" ] || [ -e "/usr/lib/$a.a" ] ||
		skip_all "$a.a missing (apt-get install libbpf-dev libelf-dev zlib1g-dev)"
done

# ---- the kernel ----
mkdir -p "$CACHE"
want=${KV_PKG:-linux-image-6.1.0-*-amd64}
deb=$(ls -t "$CACHE"/${want}_*.deb 2>/dev/null | head -1)
if [ -z "$deb" ]; then
	newest() {
		apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null |
			awk '{print $1}' | sort -V | tail -1
	}
	pkg=${KV_PKG:-$(newest)}
	if [ -z "$pkg" ] && [ "$(id -u)" = 0 ]; then
		apt-get update -qq >/dev/null 2>&1
		pkg=$(newest)
	fi
	[ -n "$pkg" ] || skip_all "apt knows no linux-image-6.1.0-*-amd64 (not Debian 12, or run apt-get update)"
	echo "kernel-verify: downloading $pkg into $CACHE"
	if ! (cd "$CACHE" && apt-get download -q "$pkg" >download.log 2>&1); then
		tail -3 "$CACHE/download.log" | sed 's/^/    /'
		skip_all "cannot download $pkg"
	fi
	deb=$(ls -t "$CACHE"/"${pkg}"_*.deb 2>/dev/null | head -1)
	[ -n "$deb" ] || skip_all "cannot download $pkg"
fi
kver=$(dpkg-deb -f "$deb" Package | sed 's/^linux-image-//; s/-unsigned$//')
vmlinuz=$CACHE/vmlinuz-$kver
if [ ! -s "$vmlinuz" ]; then
	# only /boot/vmlinuz-*: the modules are not needed (BPF is built in)
	dpkg-deb --fsys-tarfile "$deb" | tar -xO --wildcards './boot/vmlinuz-*' >"$vmlinuz.tmp" &&
		[ -s "$vmlinuz.tmp" ] && mv "$vmlinuz.tmp" "$vmlinuz" ||
		{ rm -f "$vmlinuz.tmp"; fail kernel "no /boot/vmlinuz-* in $deb"; t_exit; }
fi

# ---- the loader and the initramfs ----
loader=$CACHE/verify_load
if [ ! -x "$loader" ] || [ tests/kernel/verify_load.c -nt "$loader" ]; then
	if ! gcc -O2 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -static \
		-o "$loader" tests/kernel/verify_load.c -lbpf -lelf -lz >"$CACHE/cc.log" 2>&1; then
		sed 's/^/    /' "$CACHE/cc.log" | head -20
		fail verify_load "cannot build tests/kernel/verify_load.c (static: libbpf.a, libelf.a, libz.a)"
		t_exit
	fi
fi

root=$CACHE/initramfs
rm -rf "$root"
mkdir -p "$root"/{bin,dev,proc,sys,tmp,objs}
cp "$BUSYBOX" "$root/bin/busybox"
cp "$loader" "$root/bin/verify_load"
[ "$(id -u)" = 0 ] && mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null
runs=$root/runs
: >"$runs"
for o in "${objs[@]}"; do
	b=$(basename "$o")
	cp "$o" "$root/objs/$b"
	echo "$b $b" >>"$runs"
	printf '%s\n' "$VARIANTS" | while read -r vo sets; do
		[ "$vo" = "$b" ] && [ -n "$sets" ] && echo "$b[${sets// /,}] $b $sets" >>"$runs"
	done
done
cat >"$root/init" <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t devtmpfs dev /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t bpf bpf /sys/fs/bpf
echo	# the firmware leaves escapes on the console's current line
echo "VL-KERNEL $(uname -r) $(cat /proc/version)"
[ -e /sys/kernel/btf/vmlinux ] || echo "VL-NOTE no /sys/kernel/btf/vmlinux"
while read -r label obj sets; do
	/bin/verify_load -l "$label" "/objs/$obj" $sets
done </runs
echo "VL-DONE"
poweroff -f
EOF
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 >"$CACHE/initramfs.cpio.gz"

# ---- boot ----
console=$CACHE/console.log
start=$(date +%s)
# Software emulation (TCG) by default: it is enough, and a /dev/kvm that is
# there is not always one that works (nested, sandboxed).
case ${KV_ACCEL:-tcg} in
kvm) accel=(-accel kvm -cpu host) ;;
*) accel=(-accel tcg -cpu max) ;;
esac
timeout --foreground -k 10 "$TIMEOUT" "$QEMU" "${accel[@]}" -nographic -no-reboot -m "$MEM" -smp 1 \
	-kernel "$vmlinuz" -initrd "$CACHE/initramfs.cpio.gz" -nic none \
	-append "console=ttyS0 panic=-1 quiet" </dev/null 2>&1 | tr -d '\r' >"$console"
qrc=${PIPESTATUS[0]}
secs=$(($(date +%s) - start))
[ "${KV_VERBOSE:-}" = 1 ] && sed 's/^/    | /' "$console"
kline=$(grep -m1 '^VL-KERNEL ' "$console" | cut -d' ' -f2)
echo "kernel-verify: $kver under qemu (${KV_ACCEL:-tcg}): ${kline:-did not start}, ${secs}s"

if ! grep -q '^VL-DONE' "$console"; then
	why="the VM did not finish (qemu exit $qrc; timeout ${TIMEOUT}s)"
	[ "$qrc" = 124 ] || why="the VM did not finish (qemu exit $qrc)"
	echo "    last console lines ($console):"
	grep -v '^$' "$console" | tail -15 | sed 's/^/    | /'
fi
# the lines of one kind for one label, without kind and label
vl() { awk -v k="VL-$1" -v l="$2" '$1 == k && $2 == l { sub(/^[^ ]* [^ ]* /, ""); print }' "$console"; }
while read -r label obj sets; do
	res=$(vl RESULT "$label" | head -1)
	vl STAT "$label" | sed 's/^/    stats: /'
	case "$res" in
	PASS) pass "$label" ;;
	FAIL*)
		fail "$label" "${res#FAIL }"
		vl LOG "$label" | sed 's/^[^ ]* /    | /'
		;;
	*) fail "$label" "${why:-no verdict from the VM}" ;;
	esac
done <"$runs"
t_exit
