/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * parse.h - cursor parsers from Ethernet to the DNS message.
 *
 * Every read is guarded against data_end; every loop is bounded by a named
 * constant. Parsers return 0 or a positive enum cs_reason that says why the
 * packet is not (or not wholly) a DNS response.
 */
#ifndef CS_BPF_PARSE_H
#define CS_BPF_PARSE_H

#include "common.h"

/* TCP flags, the 14th octet of the header */
#define CS_TCP_FIN 0x01
#define CS_TCP_SYN 0x02
#define CS_TCP_RST 0x04
#define CS_TCP_ACK 0x10

struct cs_cursor {
	void *pos;
	void *end;
};

/* Which side of port 53 a parse looks for: answers come from it (learn),
 * queries go to it (query). */
enum cs_dns_dir { CS_DNS_ANSWER = 0, CS_DNS_QUERY = 1 };

/* Where the DNS message sits in the frame, and who sent it to whom. Small:
 * it lives on learn's stack, which 6.1 keeps short. */
struct cs_dns_loc {
	__u32 off;		/* from the start of the frame */
	__u32 len;
	struct cs_addr src;	/* answer: the server; query: the client */
	__u16 dst_off;		/* where the destination address is (cs_loc_dst) */
	__u16 client_port;	/* host order: the port that is not 53 */
	__u8 proto;		/* IPPROTO_UDP or IPPROTO_TCP */
	__u8 v6;
	__u16 _pad;
};

static __always_inline void *cs_pull(struct cs_cursor *c, __u32 len)
{
	void *p = c->pos;

	if (p + len > c->end)
		return NULL;
	c->pos = p + len;
	return p;
}

static __always_inline void cs_addr_from_v4(struct cs_addr *a, __be32 v4)
{
	__builtin_memset(a->b, 0, 10);
	a->b[10] = 0xff;
	a->b[11] = 0xff;
	__builtin_memcpy(&a->b[12], &v4, 4);
}

static __always_inline bool cs_addr_is_v4mapped(const struct cs_addr *a)
{
	__u64 hi;
	__u32 mid;

	__builtin_memcpy(&hi, a->b, 8);
	__builtin_memcpy(&mid, &a->b[8], 4);
	return hi == 0 && mid == bpf_htonl(0x0000ffff);
}

/* Ethernet plus up to CS_VLAN_MAX tags; returns the inner ethertype or 0. */
static __always_inline __u16 cs_parse_eth(struct cs_cursor *c)
{
	struct ethhdr *eth = cs_pull(c, sizeof(*eth));
	__u16 proto;
	int i;

	if (!eth)
		return 0;
	proto = bpf_ntohs(eth->h_proto);
#pragma unroll
	for (i = 0; i < CS_VLAN_MAX; i++) {
		struct vlan_hdr *vh;

		if (proto != ETH_P_8021Q && proto != ETH_P_8021AD)
			break;
		vh = cs_pull(c, sizeof(*vh));
		if (!vh)
			return 0;
		proto = bpf_ntohs(vh->h_vlan_encapsulated_proto);
	}
	return proto;
}

/* IPv4: returns the L4 protocol, or -reason; *l4_len is the IP payload length. */
static __always_inline int cs_parse_ipv4(struct cs_cursor *c, struct cs_dns_loc *loc,
					 __u32 *l4_len)
{
	struct iphdr *ip = c->pos;
	__u32 hlen, tot;

	if ((void *)(ip + 1) > c->end)
		return -CS_R_TRUNCATED;
	hlen = ip->ihl * 4;
	tot = bpf_ntohs(ip->tot_len);
	if (hlen < sizeof(*ip) || tot < hlen)
		return -CS_R_TRUNCATED;
	if (c->pos + hlen > c->end)
		return -CS_R_TRUNCATED;
	if (ip->frag_off & bpf_htons(IP_MF | IP_OFFSET))
		return -CS_R_FRAGMENT;
	cs_addr_from_v4(&loc->src, ip->saddr);
	c->pos += hlen;
	*l4_len = tot - hlen;
	return ip->protocol;
}

/* IPv6 with up to CS_IPV6_EXT_MAX extension headers. */
static __always_inline int cs_parse_ipv6(struct cs_cursor *c, struct cs_dns_loc *loc,
					 __u32 *l4_len)
{
	struct ipv6hdr *ip6 = cs_pull(c, sizeof(struct ipv6hdr));
	__u32 plen;
	__u8 next;
	int i;

	if (!ip6)
		return -CS_R_TRUNCATED;
	__builtin_memcpy(loc->src.b, &ip6->saddr, 16);
	plen = bpf_ntohs(ip6->payload_len);
	next = ip6->nexthdr;
#pragma unroll
	for (i = 0; i < CS_IPV6_EXT_MAX; i++) {
		struct ipv6_opt_hdr *eh;
		__u32 elen;

		if (next == IPPROTO_FRAGMENT_)
			return -CS_R_FRAGMENT;
		if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING_ &&
		    next != IPPROTO_DSTOPTS_)
			break;
		eh = c->pos;
		if ((void *)(eh + 1) > c->end)
			return -CS_R_TRUNCATED;
		elen = (eh->hdrlen + 1) * 8;
		if (elen > plen || c->pos + elen > c->end)
			return -CS_R_TRUNCATED;
		plen -= elen;
		next = eh->nexthdr;
		c->pos += elen;
	}
	*l4_len = plen;
	return next;
}

/* Is (sport, dport) DNS in direction dir? Notes the client's port. */
static __always_inline bool cs_dns_ports(__be16 sport, __be16 dport, enum cs_dns_dir dir,
					 struct cs_dns_loc *loc)
{
	__be16 server = dir == CS_DNS_ANSWER ? sport : dport;

	loc->client_port = bpf_ntohs(dir == CS_DNS_ANSWER ? dport : sport);
	return server == bpf_htons(CS_DNS_PORT);
}

/* UDP to or from port 53: the message is the datagram's payload. */
static __always_inline int cs_parse_udp(struct cs_cursor *c, __u32 l4_len, enum cs_dns_dir dir,
					struct cs_dns_loc *loc, __u32 *msg_len)
{
	struct udphdr *udp = cs_pull(c, sizeof(*udp));
	__u32 ulen;

	if (!udp)
		return CS_R_TRUNCATED;
	if (!cs_dns_ports(udp->source, udp->dest, dir, loc))
		return CS_R_NOT_DNS;
	ulen = bpf_ntohs(udp->len);
	if (ulen < sizeof(*udp) || ulen > l4_len)
		return CS_R_TRUNCATED;
	*msg_len = ulen - sizeof(*udp);
	return 0;
}

/* TCP to or from port 53: only a segment that holds one whole
 * length-prefixed message is parsed; the rest of a stream is left to the
 * resolver's client. */
static __always_inline int cs_parse_tcp(struct cs_cursor *c, __u32 l4_len, enum cs_dns_dir dir,
					struct cs_dns_loc *loc, __u32 *msg_len)
{
	struct tcphdr *tcp = c->pos;
	__u32 hlen, payload;
	__u8 *pfx;

	if ((void *)(tcp + 1) > c->end)
		return CS_R_TRUNCATED;
	if (!cs_dns_ports(tcp->source, tcp->dest, dir, loc))
		return CS_R_NOT_DNS;
	hlen = tcp->doff * 4;
	if (hlen < sizeof(*tcp) || hlen > l4_len)
		return CS_R_TRUNCATED;
	if (c->pos + hlen > c->end)
		return CS_R_TRUNCATED;
	c->pos += hlen;
	payload = l4_len - hlen;
	if (payload == 0)
		return CS_R_NOT_DNS;	/* a bare ACK or FIN of a DNS connection */
	pfx = cs_pull(c, 2);
	if (!pfx || payload < 2)
		return CS_R_TCP_PARTIAL;
	*msg_len = ((__u32)pfx[0] << 8) | pfx[1];
	if (*msg_len + 2 != payload)
		return CS_R_TCP_PARTIAL;
	return 0;
}

/* From the frame [data, data_end) to the DNS message going in direction
 * dir: 0 and *loc filled, or a reason. The caller checks that the message
 * lies within the whole frame (cs_dns_in_frame), which may be longer than
 * its linear part. */
static __always_inline int cs_locate_dns(void *data, void *data_end, enum cs_dns_dir dir, struct cs_dns_loc *loc)
{
	struct cs_cursor c = { .pos = data, .end = data_end };
	__u32 l4_len = 0, msg_len = 0;
	__u16 proto = cs_parse_eth(&c);
	__u32 l3 = c.pos - data;
	int l4, r;

	if (proto == ETH_P_IP)
		l4 = cs_parse_ipv4(&c, loc, &l4_len);
	else if (proto == ETH_P_IPV6)
		l4 = cs_parse_ipv6(&c, loc, &l4_len);
	else
		return CS_R_NOT_IP;
	loc->v6 = proto == ETH_P_IPV6;
	loc->dst_off = l3 + (loc->v6 ? __builtin_offsetof(struct ipv6hdr, daddr) : __builtin_offsetof(struct iphdr, daddr));
	if (l4 < 0)
		return -l4;
	if (l4 == IPPROTO_UDP)
		r = cs_parse_udp(&c, l4_len, dir, loc, &msg_len);
	else if (l4 == IPPROTO_TCP)
		r = cs_parse_tcp(&c, l4_len, dir, loc, &msg_len);
	else
		return CS_R_NOT_DNS;
	if (r)
		return r;
	loc->proto = l4;
	loc->off = c.pos - data;
	loc->len = msg_len;
	return 0;
}

/* Against the whole frame, not its linear part: BPF_PROG_TEST_RUN (replay)
 * puts what passes a page into fragments, and the message is read with
 * bpf_xdp_load_bytes (bpf_skb_load_bytes), which reads them too. The
 * headers always sit in the linear part. */
static __always_inline int cs_dns_in_frame(const struct cs_dns_loc *loc, __u32 frame_len)
{
	return loc->off + loc->len > frame_len ? CS_R_TRUNCATED : 0;
}

/* The destination address of the packet loc describes, from its 4 or 16
 * octets at dst_off (read_fn: bpf_xdp_load_bytes or bpf_skb_load_bytes).
 * 0, or -1 if they cannot be read. */
#define cs_loc_dst(read_fn, ctx, loc, out)                                             \
	({                                                                             \
		int _r;                                                                \
		if ((loc)->v6) {                                                       \
			_r = read_fn(ctx, (loc)->dst_off, (out)->b, 16);               \
		} else {                                                               \
			__be32 _v4 = 0;                                                \
			_r = read_fn(ctx, (loc)->dst_off, &_v4, 4);                    \
			cs_addr_from_v4(out, _v4);                                     \
		}                                                                      \
		_r ? -1 : 0;                                                           \
	})

#endif /* CS_BPF_PARSE_H */
