#!/bin/sh
# Regenerate vmlinux/vmlinux.h from the running kernel's BTF.
# The header is a pinned input: regenerate it deliberately, review the diff, commit it.
set -eu
btf=${1:-/sys/kernel/btf/vmlinux}
out=$(dirname "$0")/../vmlinux/vmlinux.h
[ -r "$btf" ] || { echo "gen-vmlinux: $btf is not readable (kernel without BTF?)" >&2; exit 1; }
bpftool btf dump file "$btf" format c > "$out.tmp"
mv "$out.tmp" "$out"
echo "gen-vmlinux: wrote $out from $btf ($(uname -r))"
