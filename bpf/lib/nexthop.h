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

/* ---- XDP (steer's fast path) ---- */

/* Is the FIB's destination (the next hop, after a lookup) still a? */
static __always_inline bool cs_fib_dst_is(const struct bpf_fib_lookup *fib, const struct cs_addr *a, bool v4)
{
	__u32 w[4];

	__builtin_memcpy(w, a->b, sizeof(w));
	if (v4)
		return fib->ipv4_dst == w[3];
	return fib->ipv6_dst[0] == w[0] && fib->ipv6_dst[1] == w[1] && fib->ipv6_dst[2] == w[2] &&
	       fib->ipv6_dst[3] == w[3];
}

/* Fill nh from the FIB: the way to in, its MTU, the next hop's MAC and
 * ours. ifindex 0 when XDP cannot send that way: no route, no neighbour
 * yet (TC's redirect resolves it), or an interface not in cs_xdp_ports. */
static __always_inline void cs_xdp_fib(struct xdp_md *ctx, const struct cs_instance *in, struct cs_xdp_nh *nh,
				       void *ports)
{
	bool v4 = cs_addr_is_v4mapped(&in->addr);
	struct bpf_fib_lookup fib = {};
	long rc;

	nh->ifindex = 0;
	fib.ifindex = ctx->ingress_ifindex;
	fib.family = v4 ? 2 : 10;	/* AF_INET, AF_INET6 */
	if (v4)
		__builtin_memcpy(&fib.ipv4_dst, &in->addr.b[12], 4);
	else
		__builtin_memcpy(fib.ipv6_dst, in->addr.b, 16);
	/* the largest length asks the route's MTU: FRAG_NEEDED returns it
	 * (SUCCESS or NO_NEIGH: it takes anything) */
	fib.tot_len = 0xffff;
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	nh->mtu = rc == BPF_FIB_LKUP_RET_FRAG_NEEDED ? fib.mtu_result : 0xffff;
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH &&
	    rc != BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return;
	fib.tot_len = 0;
	if (bpf_fib_lookup(ctx, &fib, sizeof(fib), 0) != BPF_FIB_LKUP_RET_SUCCESS)
		return;
	/* a router on the way: the lookup wrote its address over ours */
	nh->flags = cs_fib_dst_is(&fib, &in->addr, v4) ? 0 : CS_XDP_NH_VIA_GW;
	__builtin_memcpy(nh->dmac, fib.dmac, 6);
	__builtin_memcpy(nh->smac, fib.smac, 6);
	if (bpf_map_lookup_elem(ports, &fib.ifindex))
		nh->ifindex = fib.ifindex;
}

/* The way to instance id (in) for this tick (CS_XDP_NH_TICK_SHIFT of the
 * kernel's jiffies): this
 * CPU's cached FIB answer, looked up again once a tick. NULL when XDP
 * cannot send that way (cs_xdp_fib); the packet is TC's then. */
static __always_inline struct cs_xdp_nh *cs_xdp_way(struct xdp_md *ctx, void *cache, void *ports, __u32 id,
						    const struct cs_instance *in, __u64 jiffies)
{
	__u32 tick = (__u32)(jiffies >> CS_XDP_NH_TICK_SHIFT) + 1;	/* 0 is "never looked up" */
	struct cs_xdp_nh *nh = bpf_map_lookup_elem(cache, &id);

	if (!nh)
		return NULL;
	if (nh->tick != tick || !cs_addr_same(&nh->addr, &in->addr)) {
		cs_xdp_fib(ctx, in, nh, ports);
		nh->addr = in->addr;
		nh->tick = tick;
	}
	return nh->ifindex ? nh : NULL;
}

#endif /* CS_BPF_NEXTHOP_H */
