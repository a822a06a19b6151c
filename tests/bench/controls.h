/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * controls.h - what xdp_fwd_min.bpf.c and bench.c agree on: the flow key
 * the parse makes and the cached forwarding result a flow's value holds.
 * The BPF side has the types from vmlinux.h.
 */
#ifndef CONTROLS_H
#define CONTROLS_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* A 5-tuple, addresses and ports as the packet carries them (network
 * order). An IPv4 address takes the first word, the other three stay 0. */
struct ctl_flow {
	__u32 src[4];
	__u32 dst[4];
	__u16 sport, dport;
	__u8 proto;
	__u8 pad[3];	/* zeroed: the key is hashed whole */
};

/* What a FIB lookup gave for the flow, once: where to send it. */
struct ctl_fwd {
	__u32 ifindex;
	__u8 smac[6];
	__u8 dmac[6];
};

#define CTL_FLOWS_MAX 1024

#endif
