// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * noop - the baseline of `make bench`: an XDP program that passes every
 * packet untouched. What BPF_PROG_TEST_RUN reports for it is the cost of the
 * test loop itself (context setup, bh disable/enable, the call), which every
 * learn case pays too; bench.c divides by it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int noop(struct xdp_md *ctx)
{
	return XDP_PASS;
}
