/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * packet.h - the one packet reader of every program: a cursor over the
 * frame's linear part, from Ethernet to the transport ports, and what it
 * read in one struct cs_packet.
 *
 * It takes data and data_end, so XDP (xdp_md) and TC (__sk_buff) programs
 * call it alike. Every read is guarded against data_end; every loop is
 * bounded by a named constant (CS_VLAN_MAX, CS_IPV6_EXT_MAX). Each step
 * returns CS_PKT_OK or the named reason it stopped (enum cs_pkt_reason);
 * each program turns that into its own count and verdict, and judges the
 * facts it cares about itself (fragments, length fields, the version field),
 * which the programs judge differently.
 *
 * cs_read_packet() takes a frame from Ethernet to the ports in one call
 * (steer, instance); learn calls the steps one by one, to skip IPv6
 * extension headers and to check fragments before the ports.
 */
#ifndef CS_BPF_PACKET_H
#define CS_BPF_PACKET_H

#include "common.h"

/* The longest IPv4 header: an IHL of 15 words. */
#define CS_IPV4_HDR_MAX 60

/* TCP flags, the 14th octet of the header */
#define CS_TCP_FIN 0x01
#define CS_TCP_SYN 0x02
#define CS_TCP_RST 0x04
#define CS_TCP_ACK 0x10

struct cs_cursor {
	void *start;		/* the frame's first octet: offsets count from here */
	void *pos;		/* the next octet to read */
	void *end;		/* data_end: nothing at or past it is read */
};

/* Why a step stopped. The SHORT reasons mean a header was cut short (by the
 * end of the frame, or of its linear part) or says it is shorter than it can
 * be. */
enum cs_pkt_reason {
	CS_PKT_OK = 0,
	CS_PKT_NOT_IP,		/* shorter than Ethernet, or not IPv4/IPv6 */
	CS_PKT_L2_SHORT,	/* a VLAN tag cut short */
	CS_PKT_L3_SHORT,	/* the IP header, its options or an IPv6 extension
				 * header cut short; an IHL under 5; an extension
				 * longer than the payload */
	CS_PKT_FRAGMENT,	/* an IPv6 fragment header (cs_skip_ipv6_ext) */
	CS_PKT_L4_SHORT,	/* the TCP or UDP header cut short: the addresses
				 * are read, and the ports when their 4 octets are */
};

/* What the reader found. Offsets count from the start of the frame. The
 * reader writes only what it reads (no ports without a transport header, v6
 * only for IPv6): callers start from a zeroed struct. */
struct cs_packet {
	struct cs_addr src;	/* IPv4 as v4-mapped IPv6 */
	struct cs_addr dst;
	__s32 l4_len;		/* what the IP header says follows the headers read:
				 * IPv4's total length less its header (negative:
				 * less than its header), IPv6's payload length less
				 * the extension headers skipped */
	__u16 l3_off;		/* where IP begins: 14 when untagged */
	__u16 l4_off;		/* where the transport header begins */
	__u16 sport, dport;	/* host order; 0 when not read */
	__be16 frag_off;	/* IPv4's flags and fragment offset; IPv6: 0 */
	__u8 proto;		/* IPv4's protocol; IPv6's next header */
	__u8 tcp_flags;		/* TCP: the flags octet; else 0 */
	__u8 version;		/* the IP header's version field, as it came */
	__u8 v6;		/* the ethertype said IPv6 */
	__u16 _pad;
};

static __always_inline void cs_cursor_init(struct cs_cursor *c, void *data, void *data_end)
{
	c->start = data;
	c->pos = data;
	c->end = data_end;
}

static __always_inline __u16 cs_cursor_off(const struct cs_cursor *c)
{
	return (__u16)(c->pos - c->start);
}

/* len octets at the cursor, which moves past them; NULL when they are not there. */
static __always_inline void *cs_pull(struct cs_cursor *c, __u32 len)
{
	void *p = c->pos;

	if (p + len > c->end)
		return NULL;
	c->pos = p + len;
	return p;
}

/* ::ffff:v4, written as whole words: where the compiler keeps the address
 * in registers it then keeps a few words, not sixteen octets. */
static __always_inline void cs_addr_from_v4(struct cs_addr *a, __be32 v4)
{
	__u32 w[4] = { 0, 0, bpf_htonl(0x0000ffff), v4 };

	__builtin_memcpy(a->b, w, sizeof(w));
}

static __always_inline bool cs_addr_is_v4mapped(const struct cs_addr *a)
{
	__u64 hi;
	__u32 mid;

	__builtin_memcpy(&hi, a->b, 8);
	__builtin_memcpy(&mid, &a->b[8], 4);
	return hi == 0 && mid == bpf_htonl(0x0000ffff);
}

/* Is a set at all (not all zero: "not known")? */
static __always_inline bool cs_addr_known(const struct cs_addr *a)
{
	__u64 w[2];

	__builtin_memcpy(w, a->b, sizeof(w));
	return w[0] | w[1];
}

/* Are a and b the same address? Two words each. */
static __always_inline bool cs_addr_same(const struct cs_addr *a, const struct cs_addr *b)
{
	__u64 x[2], y[2];

	__builtin_memcpy(x, a->b, sizeof(x));
	__builtin_memcpy(y, b->b, sizeof(y));
	return x[0] == y[0] && x[1] == y[1];
}

/* An IPv4 fragment, first or later: its transport payload is not whole. */
static __always_inline bool cs_is_fragment(const struct cs_packet *p)
{
	return p->frag_off & bpf_htons(IP_MF | IP_OFFSET);
}

/* A later IPv4 fragment: no transport header, so no ports. */
static __always_inline bool cs_is_later_fragment(const struct cs_packet *p)
{
	return p->frag_off & bpf_htons(IP_OFFSET);
}

/* The version field agrees with the ethertype (as the kernel's IP input
 * requires). */
static __always_inline bool cs_version_ok(const struct cs_packet *p)
{
	return p->version == (p->v6 ? 6 : 4);
}

/* Ethernet and up to CS_VLAN_MAX 802.1Q/802.1ad tags; *ethertype is the
 * type that follows them (a third tag's: not IP). */
static __always_inline int cs_read_eth(struct cs_cursor *c, __u16 *ethertype)
{
	struct ethhdr *eth = cs_pull(c, sizeof(*eth));
	__u16 proto;
	int i;

	if (!eth)
		return CS_PKT_NOT_IP;
	proto = bpf_ntohs(eth->h_proto);
#pragma unroll
	for (i = 0; i < CS_VLAN_MAX; i++) {
		struct vlan_hdr *vh;

		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
			break;
		vh = cs_pull(c, sizeof(*vh));
		if (!vh)
			return CS_PKT_L2_SHORT;
		proto = bpf_ntohs(vh->h_vlan_encapsulated_proto);
	}
	*ethertype = proto;
	return CS_PKT_OK;
}

/* IPv4 with its options; the cursor moves to the transport header. */
static __always_inline int cs_read_ipv4(struct cs_cursor *c, struct cs_packet *p)
{
	struct iphdr *ip = c->pos;
	__u32 hlen;

	if ((void *)(ip + 1) > c->end)
		return CS_PKT_L3_SHORT;
	hlen = ip->ihl * 4;
	if (hlen < sizeof(*ip) || c->pos + hlen > c->end)
		return CS_PKT_L3_SHORT;
	cs_addr_from_v4(&p->src, ip->saddr);
	cs_addr_from_v4(&p->dst, ip->daddr);
	p->l4_len = (__s32)bpf_ntohs(ip->tot_len) - (__s32)hlen;
	p->frag_off = ip->frag_off;
	p->proto = ip->protocol;
	p->version = ip->version;
	c->pos += hlen;
	return CS_PKT_OK;
}

/* The fixed IPv6 header: its next header is the protocol until
 * cs_skip_ipv6_ext() skips what lies between. */
static __always_inline int cs_read_ipv6(struct cs_cursor *c, struct cs_packet *p)
{
	struct ipv6hdr *ip6 = cs_pull(c, sizeof(*ip6));

	if (!ip6)
		return CS_PKT_L3_SHORT;
	__builtin_memcpy(p->src.b, &ip6->saddr, 16);
	__builtin_memcpy(p->dst.b, &ip6->daddr, 16);
	p->l4_len = bpf_ntohs(ip6->payload_len);
	p->frag_off = 0;	/* an IPv6 fragment shows as next header 44 */
	p->proto = ip6->nexthdr;
	p->version = ip6->version;
	p->v6 = 1;
	return CS_PKT_OK;
}

/* The IP header that Ethernet type `ethertype` names, at the cursor. */
static __always_inline int cs_read_ip(struct cs_cursor *c, __u16 ethertype, struct cs_packet *p)
{
	int r;

	p->l3_off = cs_cursor_off(c);
	if (ethertype == ETH_P_IP)
		r = cs_read_ipv4(c, p);
	else if (ethertype == ETH_P_IPV6)
		r = cs_read_ipv6(c, p);
	else
		return CS_PKT_NOT_IP;
	p->l4_off = cs_cursor_off(c);
	return r;
}

/* Up to CS_IPV6_EXT_MAX hop-by-hop, routing and destination options headers
 * after the IPv6 header; p->proto becomes the header that follows them. */
static __always_inline int cs_skip_ipv6_ext(struct cs_cursor *c, struct cs_packet *p)
{
	int i;

#pragma unroll
	for (i = 0; i < CS_IPV6_EXT_MAX; i++) {
		struct ipv6_opt_hdr *eh;
		__s32 elen;

		if (p->proto == IPPROTO_FRAGMENT_)
			return CS_PKT_FRAGMENT;
		if (p->proto != IPPROTO_HOPOPTS && p->proto != IPPROTO_ROUTING_ &&
		    p->proto != IPPROTO_DSTOPTS_)
			break;
		eh = c->pos;
		if ((void *)(eh + 1) > c->end)
			return CS_PKT_L3_SHORT;
		elen = (eh->hdrlen + 1) * 8;
		if (elen > p->l4_len || c->pos + elen > c->end)
			return CS_PKT_L3_SHORT;
		p->l4_len -= elen;
		p->proto = eh->nexthdr;
		c->pos += elen;
	}
	p->l4_off = cs_cursor_off(c);
	return CS_PKT_OK;
}

static __always_inline void cs_take_ports(struct cs_packet *p, const __be16 *ports)
{
	p->sport = bpf_ntohs(ports[0]);
	p->dport = bpf_ntohs(ports[1]);
}

/* The ports of the TCP or UDP header at the cursor, and TCP's flags; the
 * cursor stays at the header. A later fragment has no header, and other
 * protocols no ports: both are CS_PKT_OK with the ports 0. A header cut
 * short still gives its ports when their 4 octets are there. */
static __always_inline int cs_read_ports(struct cs_cursor *c, struct cs_packet *p)
{
	if (p->proto == IPPROTO_TCP && !cs_is_later_fragment(p)) {
		struct tcphdr *th = c->pos;

		if ((void *)(th + 1) <= c->end) {
			cs_take_ports(p, c->pos);
			p->tcp_flags = ((__u8 *)th)[13];
			return CS_PKT_OK;
		}
	} else if (p->proto == IPPROTO_UDP && !cs_is_later_fragment(p)) {
		struct udphdr *uh = c->pos;

		if ((void *)(uh + 1) <= c->end) {
			cs_take_ports(p, c->pos);
			return CS_PKT_OK;
		}
	} else {
		return CS_PKT_OK;
	}
	if (c->pos + 2 * sizeof(__be16) <= c->end)
		cs_take_ports(p, c->pos);
	return CS_PKT_L4_SHORT;
}

/* From Ethernet to the ports, IPv6's first next header taken as the
 * protocol. The cursor is left at the transport header. */
static __always_inline int cs_read_packet(struct cs_cursor *c, struct cs_packet *p)
{
	__u16 ethertype = 0;
	int r;

	r = cs_read_eth(c, &ethertype);
	if (!r)
		r = cs_read_ip(c, ethertype, p);
	if (!r)
		r = cs_read_ports(c, p);
	return r;
}

#endif /* CS_BPF_PACKET_H */
