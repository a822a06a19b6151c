/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * nsh.h - the header that carries a stream's place in a chain of services:
 * NSH (RFC 8300, MD type 1) inside VXLAN-GPE (draft-ietf-nvo3-vxlan-gpe,
 * UDP 4790), in front of the stream's IP packet. The layout, and why it is
 * this one, is in docs/chains.md; the values both sides name (port, next
 * protocols, struct cs_nsh_md, the reasons) are in the contract header.
 *
 * Three things:
 * - cs_nsh_wrap() puts outer IP, UDP, VXLAN-GPE and NSH between a frame's
 *   Ethernet header and its IP packet, toward an instance;
 * - cs_nsh_read() checks such a header at the packet cursor and says what
 *   it carries, or why it is refused (enum cs_nsh_reason): a refused packet
 *   is dropped by its caller, never sent on around the chain;
 * - cs_nsh_unwrap() takes the outer headers off again, and cs_nsh_stage()
 *   and cs_nsh_next_hop() say which stage a header names and what the
 *   header toward the next stage holds.
 *
 * Every read is guarded by the cursor; nothing loops. The NSH is of fixed
 * size (MD type 1), so every offset is a constant the verifier of 6.1
 * follows as well as newer ones.
 */
#ifndef CS_BPF_NSH_H
#define CS_BPF_NSH_H

#include "common.h"
#include "packet.h"
#include "encap.h"

/* The VXLAN-GPE flags octet: |R|R|Ver|I|P|B|O| */
#define CS_GPE_FLAG_I    0x08	/* the VNI is valid */
#define CS_GPE_FLAG_P    0x04	/* the next protocol field is valid */
#define CS_GPE_FLAG_O    0x01	/* an OAM packet */
#define CS_GPE_VER_MASK  0x30

/* The first 16 bits of NSH: |Ver(2)|O|U|TTL(6)|Length(6)| */
#define CS_NSH_VER_SHIFT 14
#define CS_NSH_O_BIT     0x2000
#define CS_NSH_TTL_SHIFT 6
#define CS_NSH_TTL_MASK  0x3f
#define CS_NSH_LEN_MASK  0x3f
#define CS_NSH_MD_MASK   0x0f	/* the low nibble; the high one is unassigned */
#define CS_NSH_MD1_WORDS 6	/* base, service path, four context words */

/* The lowest SI that names a stage: that of the last hop of the longest
 * path, out through CS_CHAIN_STAGES_MAX stages and back. */
#define CS_NSH_SI_LAST (CS_NSH_SI_FIRST - 2 * CS_CHAIN_STAGES_MAX + 1)

struct cs_gpe {
	__u8 flags;		/* CS_GPE_FLAG_I | CS_GPE_FLAG_P, version 0 */
	__u8 _rsvd[2];
	__u8 next_proto;	/* CS_GPE_NP_NSH */
	__be32 vni;		/* VNI << 8 */
};

struct cs_nsh {
	__be16 ver_ttl_len;
	__u8 md_type;
	__u8 next_proto;	/* CS_NSH_NP_* */
	__be32 path;		/* SPI << 8 | SI */
	__be32 ctx[4];		/* MD type 1: the context words (struct cs_nsh_md) */
};

/* What follows the outer IP header, written in one store with it. */
struct cs_nsh_tail {
	struct udphdr udp;
	struct cs_gpe gpe;
	struct cs_nsh nsh;
} __attribute__((packed));

struct cs_nsh4 {
	struct iphdr ip;
	struct cs_nsh_tail t;
} __attribute__((packed));

struct cs_nsh6 {
	struct ipv6hdr ip;
	struct cs_nsh_tail t;
} __attribute__((packed));

_Static_assert(sizeof(struct cs_gpe) == 8, "VXLAN-GPE header");
_Static_assert(sizeof(struct cs_nsh) == CS_NSH_MD1_WORDS * 4, "NSH of MD type 1");
_Static_assert(sizeof(struct cs_nsh4) == CS_NSH_OVERHEAD4, "nsh4 headers");
_Static_assert(sizeof(struct cs_nsh6) == CS_NSH_OVERHEAD6, "nsh6 headers");

/* ---- writing ---- */

/* The NSH of md; a value, as the packed tail it goes into holds it unaligned. */
static __always_inline struct cs_nsh cs_nsh_of(const struct cs_nsh_md *md, __u8 next_proto)
{
	struct cs_nsh h = {};

	/* version 0, O and U bits 0 */
	h.ver_ttl_len = bpf_htons((__u16)((md->ttl & CS_NSH_TTL_MASK) << CS_NSH_TTL_SHIFT | CS_NSH_MD1_WORDS));
	h.md_type = CS_NSH_MD_TYPE1;
	h.next_proto = next_proto;
	h.path = bpf_htonl((md->spi & 0xffffff) << 8 | md->si);
	h.ctx[0] = bpf_htonl(md->code);
	h.ctx[1] = bpf_htonl(md->chain);
	h.ctx[2] = bpf_htonl(md->flags);
	return h;
}

static __always_inline void cs_nsh_tail_fill(struct cs_nsh_tail *t, __u32 udp_len, __u32 vni,
					     const struct cs_nsh_md *md, __u8 next_proto)
{
	/* the code in the source port too: ECMP on the way spreads streams,
	 * as RFC 7348 asks of a tunnel's source port */
	t->udp.source = bpf_htons(CS_ENCAP_SPORT(md->code));
	t->udp.dest = bpf_htons(CS_GPE_PORT);
	t->udp.len = bpf_htons(udp_len);
	t->udp.check = 0;	/* the receiver is a program of ours, which takes it off before UDP */
	t->gpe.flags = CS_GPE_FLAG_I | CS_GPE_FLAG_P;
	t->gpe.next_proto = CS_GPE_NP_NSH;
	t->gpe.vni = bpf_htonl(vni << 8);
	t->nsh = cs_nsh_of(md, next_proto);
}

/* The NSH next protocol of an Ethernet type: 0 for what NSH does not carry here. */
static __always_inline __u8 cs_nsh_np_of(__be16 ethertype)
{
	if (ethertype == bpf_htons(ETH_P_IP))
		return CS_NSH_NP_IPV4;
	if (ethertype == bpf_htons(ETH_P_IPV6))
		return CS_NSH_NP_IPV6;
	return 0;
}

/*
 * Wrap the frame's IP packet toward instance `in`: outer IP from in->local
 * to in->addr, UDP to CS_GPE_PORT, VXLAN-GPE with the chain's VNI, NSH with
 * md (its next_proto is taken from the frame), then the packet. The frame's
 * own Ethernet header stays in front (bpf_redirect_neigh rewrites it). The
 * inner Ethernet header that encap mode carries is left out: a stage is a
 * routed service, and the program that unwraps it writes the Ethernet
 * header the packet goes on with. Only untagged frames, and only once this
 * host's address toward the instance is known. Returns 0, or <0 when the
 * frame was left as it was.
 */
static __always_inline int cs_nsh_wrap(struct __sk_buff *skb, const struct cs_instance *in,
				       const struct cs_nsh_md *md)
{
	bool v4 = cs_addr_is_v4mapped(&in->addr);
	__be16 ethertype;
	__u32 len;
	__u8 np;

	if (bpf_skb_load_bytes(skb, offsetof(struct ethhdr, h_proto), &ethertype, sizeof(ethertype)))
		return -1;
	np = cs_nsh_np_of(ethertype);
	if (!np || cs_tunnel_grow(skb, in, v4 ? CS_NSH_OVERHEAD4 : CS_NSH_OVERHEAD6, 0))
		return -1;
	len = skb->len - sizeof(struct ethhdr);	/* the outer IP packet */
	if (v4) {
		struct cs_nsh4 h = {};

		h.ip = cs_outer_ip4(in, len);
		cs_nsh_tail_fill(&h.t, len - sizeof(h.ip), in->vni, md, np);
		if (bpf_skb_store_bytes(skb, sizeof(struct ethhdr), &h, sizeof(h), 0))
			return -1;
	} else {
		struct cs_nsh6 h = {};

		h.ip = cs_outer_ip6(in, len);
		cs_nsh_tail_fill(&h.t, len - sizeof(h.ip), in->vni, md, np);
		if (bpf_skb_store_bytes(skb, sizeof(struct ethhdr), &h, sizeof(h), 0))
			return -1;
	}
	return cs_tunnel_set_proto(skb, in);
}

/* cs_nsh_wrap in XDP: outer IP, UDP, VXLAN-GPE and NSH over the frame's
 * old Ethernet header, behind a new one toward nh. 0, or <0: left as it was. */
static __always_inline int cs_xdp_nsh_wrap(struct xdp_md *ctx, const struct cs_instance *in,
					   const struct cs_xdp_nh *nh, const struct cs_nsh_md *md)
{
	struct ethhdr frame;
	__u32 len;
	__u8 np;

	if (cs_xdp_frame_eth(ctx, &frame))
		return -1;
	np = cs_nsh_np_of(frame.h_proto);
	if (!np)
		return -1;
	if (cs_addr_is_v4mapped(&in->addr)) {
		struct cs_nsh4 h = {};

		len = cs_xdp_outer_len(ctx, sizeof(h));
		h.ip = cs_outer_ip4(in, len);
		cs_nsh_tail_fill(&h.t, len - sizeof(h.ip), in->vni, md, np);
		return cs_xdp_push(ctx, &h, sizeof(h), nh, true);
	} else {
		struct cs_nsh6 h = {};

		len = cs_xdp_outer_len(ctx, sizeof(h));
		h.ip = cs_outer_ip6(in, len);
		cs_nsh_tail_fill(&h.t, len - sizeof(h.ip), in->vni, md, np);
		return cs_xdp_push(ctx, &h, sizeof(h), nh, false);
	}
}

/* ---- reading ---- */

/* The VXLAN-GPE header: version 0, next protocol present and NSH; no OAM,
 * which no stage answers. The VNI is not judged: the SPI names the chain. */
static __always_inline int cs_gpe_check(const struct cs_gpe *g)
{
	if (!(g->flags & CS_GPE_FLAG_P) || (g->flags & (CS_GPE_VER_MASK | CS_GPE_FLAG_O)))
		return CS_NSH_GPE_FLAGS;
	if (g->next_proto != CS_GPE_NP_NSH)
		return CS_NSH_GPE_NOT_NSH;
	return CS_NSH_OK;
}

/*
 * The NSH base header and service path, in the order that names the first
 * fault: a version not 0 may lay out everything else differently, so it
 * comes first; the MD type before the length, which it decides. Unassigned
 * bits are ignored, as RFC 8300 asks.
 */
static __always_inline int cs_nsh_base_check(const struct cs_nsh *h)
{
	__u16 w = bpf_ntohs(h->ver_ttl_len);
	__u8 si = bpf_ntohl(h->path) & 0xff;

	if (w >> CS_NSH_VER_SHIFT)
		return CS_NSH_VERSION;
	if (w & CS_NSH_O_BIT)
		return CS_NSH_OAM;
	if ((h->md_type & CS_NSH_MD_MASK) != CS_NSH_MD_TYPE1)
		return CS_NSH_MD_TYPE;
	if ((w & CS_NSH_LEN_MASK) != CS_NSH_MD1_WORDS)
		return CS_NSH_LENGTH;
	if (!((w >> CS_NSH_TTL_SHIFT) & CS_NSH_TTL_MASK))
		return CS_NSH_TTL;
	if (h->next_proto != CS_NSH_NP_IPV4 && h->next_proto != CS_NSH_NP_IPV6)
		return CS_NSH_NEXT_PROTO;
	if (si < CS_NSH_SI_LAST)
		return CS_NSH_SI_RANGE;
	return CS_NSH_OK;
}

/* The inner packet begins with the IP version the next protocol names. */
static __always_inline int cs_nsh_inner_check(const struct cs_cursor *c, __u8 next_proto)
{
	const __u8 *v = c->pos;

	if ((void *)(v + 1) > c->end)
		return CS_NSH_SHORT;
	if ((*v >> 4) != (next_proto == CS_NSH_NP_IPV4 ? 4 : 6))
		return CS_NSH_INNER;
	return CS_NSH_OK;
}

static __always_inline void cs_nsh_md_of(const struct cs_nsh *h, struct cs_nsh_md *md)
{
	__u32 path = bpf_ntohl(h->path);

	md->spi = path >> 8;
	md->si = path & 0xff;
	md->ttl = (bpf_ntohs(h->ver_ttl_len) >> CS_NSH_TTL_SHIFT) & CS_NSH_TTL_MASK;
	md->next_proto = h->next_proto;
	md->code = bpf_ntohl(h->ctx[0]);
	md->chain = bpf_ntohl(h->ctx[1]);
	md->flags = bpf_ntohl(h->ctx[2]);
}

/*
 * The VXLAN-GPE and NSH headers after the outer UDP header at the cursor
 * (where cs_read_packet() leaves it). CS_NSH_OK with *md filled and the
 * cursor at the inner IP packet; else the reason, *md and the cursor
 * undefined. The caller has judged the UDP destination port.
 */
static __always_inline int cs_nsh_read(struct cs_cursor *c, struct cs_nsh_md *md)
{
	struct cs_gpe *g;
	struct cs_nsh *h;
	int r;

	if (!cs_pull(c, sizeof(struct udphdr)))
		return CS_NSH_SHORT;
	g = cs_pull(c, sizeof(*g));
	if (!g)
		return CS_NSH_SHORT;
	r = cs_gpe_check(g);
	if (r)
		return r;
	/* the base header and service path alone first: a header of another
	 * MD type is refused for its type, not as cut short */
	h = c->pos;
	if (c->pos + 8 > c->end)
		return CS_NSH_SHORT;
	r = cs_nsh_base_check(h);
	if (r)
		return r;
	if (!cs_pull(c, sizeof(*h)))
		return CS_NSH_SHORT;
	r = cs_nsh_inner_check(c, h->next_proto);
	if (r)
		return r;
	cs_nsh_md_of(h, md);
	return CS_NSH_OK;
}

/* ---- the chain ---- */

/*
 * A chain of n stages is one path out and back: hops 0 to n - 1 go out
 * through stages 0 to n - 1; hops n to 2n - 1 come back (the return packets
 * of a symmetric chain) through stages n - 1 to 0. The SI of hop h is
 * 255 - h, so it falls by one at every hop, as RFC 8300 asks.
 */
static __always_inline __u8 cs_nsh_si_of(__u32 stage, __u32 n_stages, bool back)
{
	return (__u8)(CS_NSH_SI_FIRST - (back ? 2 * n_stages - 1 - stage : stage));
}

/* The stage an SI names in a chain of n_stages, and whether the packet is
 * on its way back: CS_NSH_SI_RANGE past the path's last hop. */
static __always_inline int cs_nsh_stage(const struct cs_nsh_md *md, __u32 n_stages, __u32 *stage, bool *back)
{
	__u32 hop = CS_NSH_SI_FIRST - (__u32)md->si;

	if (n_stages > CS_CHAIN_STAGES_MAX || hop >= 2 * n_stages)
		return CS_NSH_SI_RANGE;
	*back = hop >= n_stages;
	*stage = *back ? 2 * n_stages - 1 - hop : hop;
	return CS_NSH_OK;
}

/*
 * The header a packet of stream `code` carries toward hop `si` of chain
 * `chain`'s path: the chain's wire id as SPI and C2, the whole code in C1,
 * C3 whether it comes back and whether the chain sees both directions, and
 * the TTL 63 less the hops before it. Whoever writes it (the gateway toward
 * the path's first hop either way, a stage toward its neighbour) writes the
 * same header for the same hop.
 */
static __always_inline struct cs_nsh_md cs_nsh_md_at(__u32 chain, __u32 code, __u8 si, bool symmetric, bool back)
{
	struct cs_nsh_md md = { .spi = chain, .chain = chain, .code = code, .si = si };

	md.ttl = (__u8)(CS_NSH_TTL_DEFAULT - (CS_NSH_SI_FIRST - si));
	md.flags = (symmetric ? CS_NSH_F_SYMMETRIC : 0) | (back ? CS_NSH_F_RETURN : 0);
	return md;
}

/*
 * The header toward the next stage, in place: the SI one lower (RFC 8300:
 * the service function decrements it) and the TTL one lower (each hop
 * decrements it, and a packet whose TTL that takes to 0 is not forwarded).
 * Whether the next stage exists is cs_nsh_stage()'s to say, with the
 * chain's length.
 */
static __always_inline int cs_nsh_next_hop(struct cs_nsh_md *md)
{
	if (md->ttl <= 1)
		return CS_NSH_TTL_EXPIRED;
	if (md->si <= CS_NSH_SI_LAST)
		return CS_NSH_SI_RANGE;
	md->ttl--;
	md->si--;
	return CS_NSH_OK;
}

/*
 * Take off the outer_len octets of outer IP, UDP, VXLAN-GPE and NSH that
 * follow the Ethernet header, leaving the frame with the inner packet and
 * its Ethernet type. When the families differ the skb's protocol must
 * change too: the kernel does that from 6.3 (BPF_F_ADJ_ROOM_DECAP_L3_*);
 * an older one refuses the call, and the frame is left as it was. Returns
 * 0, or <0 when the frame was left as it was.
 */
static __always_inline int cs_nsh_unwrap(struct __sk_buff *skb, __u32 outer_len, bool outer_v6, __u8 next_proto)
{
	bool inner_v6 = next_proto == CS_NSH_NP_IPV6;
	__be16 inner_proto = bpf_htons(inner_v6 ? ETH_P_IPV6 : ETH_P_IP);
	__u64 flags = 0;

	if (inner_v6 != outer_v6)
		flags = inner_v6 ? BPF_F_ADJ_ROOM_DECAP_L3_IPV6 : BPF_F_ADJ_ROOM_DECAP_L3_IPV4;
	if (bpf_skb_adjust_room(skb, -(__s32)outer_len, BPF_ADJ_ROOM_MAC, flags))
		return -1;
	return (int)bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_proto), &inner_proto, sizeof(inner_proto), 0);
}

#endif /* CS_BPF_NSH_H */
