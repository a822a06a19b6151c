/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * pull.h - headers that lie past an skb's linear part, for the TC programs
 * (steer, instance). The packet reader (packet.h) reads the linear part
 * only; in a real skb a driver, GRO or a tunnel may leave headers in the
 * fragments (an IPv4 header with options, a TCP header, a frame inside
 * VXLAN). A program whose read ran out there pulls the headers in and
 * reads once more, in a loop that the compiler keeps (unroll(disable)), so
 * the reader appears once in the program:
 *
 *	#pragma clang loop unroll(disable)
 *	for (tries = 0; tries < 2; tries++) {
 *		r = read(skb, ...);
 *		if (!cut_short(r) || tries || !cs_pull_headers(skb, MAX))
 *			break;
 *		cs_keep_tries(tries);
 *	}
 */
#ifndef CS_BPF_PULL_H
#define CS_BPF_PULL_H

#include "common.h"

/* Keep the count of tries a variable: left to itself the compiler makes
 * the second try a block that sets it to 1 and falls into the loop, a back
 * edge that the 6.1 verifier refuses ("back-edge from insn"); so the loop
 * goes back by a conditional jump. */
#define cs_keep_tries(tries) asm volatile("" : "+r"(tries))

/* Pull the first `max` octets (or the whole packet, when shorter) into the
 * linear part. False when they are there already (so the headers are cut
 * short in the packet itself, and a second read would find nothing more)
 * or the pull failed. It invalidates every packet pointer: read again. */
static __always_inline bool cs_pull_headers(struct __sk_buff *skb, __u32 max)
{
	__u32 len = skb->len < max ? skb->len : max;

	if ((void *)(long)skb->data + len <= (void *)(long)skb->data_end)
		return false;
	return bpf_skb_pull_data(skb, len) == 0;
}

#endif /* CS_BPF_PULL_H */
