// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xdp_parse - a control of `make bench`: the least any steering program
 * does, find the packet's flow (parse.bpf.h), then XDP_PASS. The noop
 * baselines cost so little that a ratio to them mostly measures the test
 * run's own overhead; a ratio to this says what a program costs beyond
 * reading the headers it cannot avoid reading.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "parse.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int xdp_parse(struct xdp_md *ctx)
{
	struct ctl_flow k = {};

	ctl_parse((void *)(long)ctx->data, (void *)(long)ctx->data_end, &k);
	/* the key is what the parse is for: made in memory as a lookup would
	 * need it, so the compiler cannot drop the reads that fill it */
	asm volatile("" : : "r"(&k) : "memory");
	return XDP_PASS;
}
