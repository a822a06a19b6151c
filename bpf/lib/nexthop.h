/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * nexthop.h - how a packet reaches an instance once its instance is chosen:
 * the way out (as configured, or as the FIB says), whether it fits the
 * tunnel once wrapped, and the next-hop rewrite. steer uses it toward a
 * chain's first stage, the instance program toward the next stage.
 */
#ifndef CS_BPF_NEXTHOP_H
#define CS_BPF_NEXTHOP_H

#include "common.h"

/* Where the instance is reached: as configured, or as the FIB says. */
static __always_inline __u32 cs_egress(struct __sk_buff *skb, const struct cs_instance *in)
{
	struct bpf_fib_lookup fib = {};
	long rc;

	if (in->ifindex)
		return in->ifindex;
	fib.ifindex = skb->ifindex;
	if (cs_addr_is_v4mapped(&in->addr)) {
		fib.family = 2;	/* AF_INET */
		__builtin_memcpy(&fib.ipv4_dst, &in->addr.b[12], 4);
	} else {
		fib.family = 10;	/* AF_INET6 */
		__builtin_memcpy(fib.ipv6_dst, in->addr.b, 16);
	}
	/* A forwarding lookup, for the way only. tot_len stays 0: a length
	 * makes the kernel compare it with the L3 MTU (skb->len counts the
	 * Ethernet header too, so every full frame "needs fragmenting") and
	 * stop before it fills ifindex. Without one it checks the skb against
	 * the device as forwarding would, and fills ifindex either way: the
	 * packet's size is for the instance's path, not for this choice.
	 * redirect_neigh resolves the neighbour, so "no neighbour yet" is good
	 * enough. */
	rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH &&
	    rc != BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return 0;
	return fib.ifindex;
}

/* Next-hop rewrite to the instance, like a policy route; when wrapped
 * (encap, nsh) the next hop of the outer packet. */
static __always_inline int cs_redirect_neigh(__u32 ifindex, const struct cs_instance *in)
{
	struct bpf_redir_neigh nh = {};

	if (cs_addr_is_v4mapped(&in->addr)) {
		nh.nh_family = 2;	/* AF_INET */
		__builtin_memcpy(&nh.ipv4_nh, &in->addr.b[12], 4);
	} else {
		nh.nh_family = 10;	/* AF_INET6 */
		__builtin_memcpy(nh.ipv6_nh, in->addr.b, 16);
	}
	return bpf_redirect_neigh(ifindex, &nh, sizeof(nh), 0);
}

/* A wrapped packet (encap, nsh) out through ifindex: its outer destination
 * is the instance, so the kernel routes it there as any packet to that
 * address, through a router when the instance is not on the link, as a
 * stage behind another stage's router is. */
static __always_inline int cs_redirect_wrapped(__u32 ifindex)
{
	return bpf_redirect_neigh(ifindex, NULL, 0, 0);
}

/* Does the packet fit the tunnel once wrapped? A GSO packet does: wrapping
 * lowers its segment size by the overhead. 0 (not known) fits. */
static __always_inline bool cs_fits_tunnel(struct __sk_buff *skb, __u32 l3_off, const struct cs_instance *in)
{
	return !in->inner_mtu || skb->gso_size || skb->len - l3_off <= in->inner_mtu;
}

#endif /* CS_BPF_NEXTHOP_H */
