/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * encap.h - what steer's "encap" mode does to a packet: wrap the whole
 * Ethernet frame in VXLAN (RFC 7348) toward an instance, so that a stock
 * Linux vxlan device with the chain's VNI takes it off again; and lower the
 * MSS of TCP SYNs so that full-sized segments still fit the path once
 * wrapped.
 */
#ifndef CS_BPF_ENCAP_H
#define CS_BPF_ENCAP_H

#include "common.h"
#include "packet.h"
#include "vxlan.h"

#define CS_TCPOPT_EOL 0
#define CS_TCPOPT_NOP 1
#define CS_TCPOPT_MSS 2

/* The outer headers, written in one store after the frame's own Ethernet
 * header (which bpf_redirect_neigh rewrites). */
struct cs_vxlan_tail {
	struct udphdr udp;
	struct cs_vxlan vxlan;
} __attribute__((packed));

struct cs_vxlan4 {
	struct iphdr ip;
	struct cs_vxlan_tail t;
} __attribute__((packed));

struct cs_vxlan6 {
	struct ipv6hdr ip;
	struct cs_vxlan_tail t;
} __attribute__((packed));

_Static_assert(sizeof(struct cs_vxlan4) == CS_ENCAP_OVERHEAD4, "vxlan4 headers");
_Static_assert(sizeof(struct cs_vxlan6) == CS_ENCAP_OVERHEAD6, "vxlan6 headers");

static __always_inline __u16 cs_ip4_csum(const struct iphdr *ip)
{
	const __u16 *w = (const __u16 *)ip;
	__u32 sum = 0;
	int i;

#pragma unroll
	for (i = 0; i < (int)sizeof(*ip) / 2; i++)
		sum += w[i];
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

static __always_inline void cs_vxlan_tail_fill(struct cs_vxlan_tail *t, __u32 udp_len, __u32 code, __u32 vni,
					       const __u8 mac[6], const struct ethhdr *frame)
{
	t->udp.source = bpf_htons(CS_ENCAP_SPORT(code));
	t->udp.dest = bpf_htons(CS_VXLAN_PORT);
	t->udp.len = bpf_htons(udp_len);
	t->udp.check = 0;	/* IPv4: none; IPv6: the receiver needs udp6zerocsumrx */
	cs_vxlan_set_vni(&t->vxlan, vni);
	__builtin_memcpy(t->vxlan.inner.h_dest, mac, 6);
	__builtin_memcpy(t->vxlan.inner.h_source, frame->h_source, 6);
	t->vxlan.inner.h_proto = frame->h_proto;
}

/* The outer IPv4 header of a tunnel packet of tot_len octets, from this
 * host's address toward the instance to it; UDP, TTL 64, no DF: IPv4 may be
 * fragmented on the way, as a stock vxlan device sends. */
static __always_inline struct iphdr cs_outer_ip4(const struct cs_instance *in, __u32 tot_len)
{
	struct iphdr ip = { .version = 4, .ihl = 5, .ttl = 64, .protocol = IPPROTO_UDP };

	ip.tot_len = bpf_htons(tot_len);
	__builtin_memcpy(&ip.saddr, &in->local.b[12], 4);
	__builtin_memcpy(&ip.daddr, &in->addr.b[12], 4);
	ip.check = cs_ip4_csum(&ip);
	return ip;
}

/* The outer IPv6 header of a tunnel packet of tot_len octets; hop limit 64. */
static __always_inline struct ipv6hdr cs_outer_ip6(const struct cs_instance *in, __u32 tot_len)
{
	struct ipv6hdr ip = { .version = 6, .nexthdr = IPPROTO_UDP, .hop_limit = 64 };

	ip.payload_len = bpf_htons(tot_len - sizeof(ip));
	__builtin_memcpy(&ip.saddr, in->local.b, 16);
	__builtin_memcpy(&ip.daddr, in->addr.b, 16);
	return ip;
}

/* Room for `room` octets of outer IP, UDP and tunnel headers after the
 * frame's Ethernet header, toward an instance over IPv4 or IPv6; l2_flags
 * says whether an inner Ethernet header is among them. Only once the
 * daemon has found this host's address toward the instance. 0, or <0 when
 * the frame was left as it was. */
static __always_inline int cs_tunnel_grow(struct __sk_buff *skb, const struct cs_instance *in, __u32 room,
					  __u64 l2_flags)
{
	bool v4 = cs_addr_is_v4mapped(&in->addr);
	__u64 flags = BPF_F_ADJ_ROOM_ENCAP_L4_UDP | l2_flags |
		      (v4 ? BPF_F_ADJ_ROOM_ENCAP_L3_IPV4 : BPF_F_ADJ_ROOM_ENCAP_L3_IPV6);
	long e;

	if (!cs_addr_known(&in->local))
		return -1;
	e = bpf_skb_adjust_room(skb, (__s32)room, BPF_ADJ_ROOM_MAC, flags);
	/*
	 * -EALREADY: the skb says it is encapsulated already. A stage's skb
	 * says so when it came over a veth from the host that wrapped it (a
	 * veth hands over the sender's skb) and was unwrapped here: before
	 * Linux has BPF_F_ADJ_ROOM_DECAP_L4_UDP, taking a tunnel header off
	 * leaves the mark. A packet that is not GSO needs no inner offsets to
	 * be segmented, so it takes the room without the mark; a GSO one
	 * cannot, and is refused.
	 */
	if (e == -EALREADY && !skb->gso_size)
		e = bpf_skb_adjust_room(skb, (__s32)room, BPF_ADJ_ROOM_MAC, l2_flags);
	return (int)e;
}

/* The outer Ethernet type, last: the frame's own type until then. */
static __always_inline int cs_tunnel_set_proto(struct __sk_buff *skb, const struct cs_instance *in)
{
	__be16 proto = bpf_htons(cs_addr_is_v4mapped(&in->addr) ? ETH_P_IP : ETH_P_IPV6);

	return (int)bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_proto), &proto, sizeof(proto), 0);
}

/*
 * Wrap the frame toward instance `in`: outer IP from in->local to in->addr,
 * UDP to 4789 from the code's port, VXLAN with its chain's VNI, then the frame
 * with the instance's MAC as its destination. Only untagged frames (the IP
 * header right after Ethernet), and only once the daemon has found this
 * host's address toward the instance. Returns 0, or <0 when the frame was
 * left as it was.
 */
static __always_inline int cs_vxlan_wrap(struct __sk_buff *skb, const struct cs_instance *in, __u32 code)
{
	bool v4 = cs_addr_is_v4mapped(&in->addr);
	__u64 l2 = BPF_F_ADJ_ROOM_ENCAP_L2_ETH | ((__u64)sizeof(struct ethhdr) << BPF_ADJ_ROOM_ENCAP_L2_SHIFT);
	struct ethhdr frame;
	__u32 len;

	if (bpf_skb_load_bytes(skb, 0, &frame, sizeof(frame)))
		return -1;
	if (cs_tunnel_grow(skb, in, v4 ? CS_ENCAP_OVERHEAD4 : CS_ENCAP_OVERHEAD6, l2))
		return -1;
	len = skb->len - sizeof(struct ethhdr);	/* the outer IP packet */
	if (v4) {
		struct cs_vxlan4 h = {};

		h.ip = cs_outer_ip4(in, len);
		cs_vxlan_tail_fill(&h.t, len - sizeof(h.ip), code, in->vni, in->mac, &frame);
		if (bpf_skb_store_bytes(skb, sizeof(struct ethhdr), &h, sizeof(h), 0))
			return -1;
	} else {
		struct cs_vxlan6 h = {};

		h.ip = cs_outer_ip6(in, len);
		cs_vxlan_tail_fill(&h.t, len - sizeof(h.ip), code, in->vni, in->mac, &frame);
		if (bpf_skb_store_bytes(skb, sizeof(struct ethhdr), &h, sizeof(h), 0))
			return -1;
	}
	return cs_tunnel_set_proto(skb, in);
}

/* ---- XDP (steer's fast path): the same headers, written in front ---- */

/*
 * XDP has no room to open after the Ethernet header: the frame grows at
 * its front by `room` octets, and the caller writes a new Ethernet header
 * and `room` octets of outer headers over the new room and the old
 * Ethernet header, which it read first. The packet afterwards, checked to
 * hold the headers (NULL, the frame as it was, when it does not).
 */
static __always_inline void *cs_xdp_grow(struct xdp_md *ctx, __u32 room)
{
	void *data, *end;

	if (bpf_xdp_adjust_head(ctx, -(int)room))
		return NULL;
	data = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (data + sizeof(struct ethhdr) + room > end) {
		bpf_xdp_adjust_head(ctx, (int)room);
		return NULL;
	}
	return data;
}

/* The outer Ethernet header toward the next hop that the FIB named. */
static __always_inline void cs_xdp_outer_eth(struct ethhdr *eth, const struct cs_xdp_nh *nh, bool v4)
{
	__builtin_memcpy(eth->h_dest, nh->dmac, sizeof(eth->h_dest));
	__builtin_memcpy(eth->h_source, nh->smac, sizeof(eth->h_source));
	eth->h_proto = bpf_htons(v4 ? ETH_P_IP : ETH_P_IPV6);
}

/* The frame's Ethernet header, read before the frame grows over it. */
static __always_inline int cs_xdp_frame_eth(struct xdp_md *ctx, struct ethhdr *frame)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	if (data + sizeof(*frame) > end)
		return -1;
	__builtin_memcpy(frame, data, sizeof(*frame));
	return 0;
}

/* The outer IP packet's length once `size` octets of outer headers are in
 * front: all of the frame but the (outer) Ethernet header. */
static __always_inline __u32 cs_xdp_outer_len(struct xdp_md *ctx, __u32 size)
{
	return (__u32)(ctx->data_end - ctx->data) - sizeof(struct ethhdr) + size;
}

/* The outer headers hdr (size octets, a constant) in front of the frame,
 * behind a new Ethernet header toward nh. 0, or <0: left as it was. */
static __always_inline int cs_xdp_push(struct xdp_md *ctx, const void *hdr, __u32 size, const struct cs_xdp_nh *nh,
				       bool v4)
{
	void *data = cs_xdp_grow(ctx, size);

	if (!data)
		return -1;
	__builtin_memcpy(data + sizeof(struct ethhdr), hdr, size);
	cs_xdp_outer_eth(data, nh, v4);
	return 0;
}

/* cs_vxlan_wrap in XDP: the frame inside VXLAN toward `in`, behind a new
 * Ethernet header toward nh. The old Ethernet header becomes the inner one
 * (its destination the instance's vxlan device). 0, or <0: left as it was. */
static __always_inline int cs_xdp_vxlan_wrap(struct xdp_md *ctx, const struct cs_instance *in,
					     const struct cs_xdp_nh *nh, __u32 code)
{
	struct ethhdr frame;
	__u32 len;

	if (cs_xdp_frame_eth(ctx, &frame))
		return -1;
	if (cs_addr_is_v4mapped(&in->addr)) {
		struct cs_vxlan4 h = {};

		len = cs_xdp_outer_len(ctx, sizeof(h));
		h.ip = cs_outer_ip4(in, len);
		cs_vxlan_tail_fill(&h.t, len - sizeof(h.ip), code, in->vni, in->mac, &frame);
		return cs_xdp_push(ctx, &h, sizeof(h), nh, true);
	} else {
		struct cs_vxlan6 h = {};

		len = cs_xdp_outer_len(ctx, sizeof(h));
		h.ip = cs_outer_ip6(in, len);
		cs_vxlan_tail_fill(&h.t, len - sizeof(h.ip), code, in->vni, in->mac, &frame);
		return cs_xdp_push(ctx, &h, sizeof(h), nh, false);
	}
}

/*
 * Lower the MSS option of the TCP SYN at l4_off to at most `mss`, fixing
 * the checksum. 1 when it was lowered; a SYN without the option (536 by
 * default) or with a smaller one is left alone. A global function: the
 * verifier checks its walk over the options once, not again for every path
 * of the program that leads to it.
 */
__noinline int cs_clamp_mss(struct __sk_buff *skb, __u32 l4_off, __u32 mss)
{
	__u8 opts[64];
	__u64 optlen;
	__u32 i = 0;
	__u8 doff;
	int n;

	if (bpf_skb_load_bytes(skb, l4_off + 12, &doff, 1))
		return 0;
	optlen = (__u64)(doff >> 4) * 4;
	/* the length is checked on the register the call takes, so that
	 * older verifiers (6.1) keep its bounds */
	asm volatile("" : "+r"(optlen));
	if (optlen <= sizeof(struct tcphdr))
		return 0;
	optlen -= sizeof(struct tcphdr);
	asm volatile("" : "+r"(optlen));
	if (optlen < 4 || optlen > 40)
		return 0;
	if (bpf_skb_load_bytes(skb, l4_off + sizeof(struct tcphdr), opts, optlen))
		return 0;
	for (n = 0; n < 12 && i + 3 < optlen; n++) {	/* real SYNs carry up to 7 options */
		__u8 kind = opts[i & 63], len = opts[(i + 1) & 63];
		__be16 old, new;

		if (kind == CS_TCPOPT_EOL)
			return 0;
		if (kind == CS_TCPOPT_NOP) {
			i++;
			continue;
		}
		if (len < 2)
			return 0;	/* malformed: not ours to fix */
		if (kind != CS_TCPOPT_MSS || len != 4) {
			i += len;
			continue;
		}
		old = (__be16)(opts[(i + 2) & 63] | opts[(i + 3) & 63] << 8);
		if (bpf_ntohs(old) <= mss)
			return 0;
		new = bpf_htons((__u16)mss);
		if (bpf_l4_csum_replace(skb, l4_off + offsetof(struct tcphdr, check), old, new, sizeof(new)))
			return 0;
		return bpf_skb_store_bytes(skb, l4_off + sizeof(struct tcphdr) + (i & 63) + 2, &new, sizeof(new),
					   0) == 0;
	}
	return 0;
}

#endif /* CS_BPF_ENCAP_H */
