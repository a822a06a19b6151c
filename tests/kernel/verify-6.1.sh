#!/bin/sh
# Does Debian 12's kernel (6.1) verify every build/*.bpf.o? Boots it in QEMU;
# skips when the kernel package or QEMU cannot be had. See scripts/kernel-verify.sh.
exec "$(dirname "$0")/../../scripts/kernel-verify.sh" "$@"
