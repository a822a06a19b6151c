// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * steer - TC: find the packets whose destination (or, for the return
 * direction, source) is a policy route, keep one flow entry per stream and
 * count per route (ACL id). It never drops or changes a packet in this
 * release: rules without a chain observe, and chains arrive with issue 4.
 * The flows are what keeps a route alive after its records expire, so TTL
 * expiry never cuts a connection, and what holds an ACL id until the last
 * stream that used it is gone.
 */
#include "lib/common.h"
#include "lib/parse.h"
#include "lib/routes.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define TC_ACT_OK 0

/* Streams to and from routes. Written by steer on every matching packet;
 * read by the daemon (a route with a live flow stays; idle flows go) and
 * the CLI. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CS_FLOWS_ENTRIES);
	__type(key, struct cs_flow_key);
	__type(value, struct cs_flow);
} cs_flows SEC(".maps");

/* Packets and bytes per ACL id, per CPU. Written by steer; read by the CLI;
 * zeroed by the daemon before it recycles an id, so counts never move to
 * another route. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CS_ACL_POOL_ENTRIES);
	__type(key, __u32);
	__type(value, struct cs_acl_stat);
} cs_acl_stats SEC(".maps");

struct cs_packet {
	struct cs_addr src, dst;
	__u16 sport, dport;	/* host order; 0 when the packet has none */
	__u8 proto;
};

/* IPv4/IPv6 addresses, protocol and ports; false when not IP. */
static __always_inline bool cs_parse_packet(struct __sk_buff *skb, struct cs_packet *p)
{
	struct cs_cursor c = { .pos = (void *)(long)skb->data, .end = (void *)(long)skb->data_end };
	__u16 proto = cs_parse_eth(&c);
	__u16 *ports;
	bool first = true;

	if (proto == ETH_P_IP) {
		struct iphdr *ip = c.pos;

		if ((void *)(ip + 1) > c.end || ip->ihl < 5)
			return false;
		cs_addr_from_v4(&p->src, ip->saddr);
		cs_addr_from_v4(&p->dst, ip->daddr);
		p->proto = ip->protocol;
		first = !(ip->frag_off & bpf_htons(IP_OFFSET));
		c.pos += ip->ihl * 4;
	} else if (proto == ETH_P_IPV6) {
		struct ipv6hdr *ip6 = cs_pull(&c, sizeof(*ip6));

		if (!ip6)
			return false;
		__builtin_memcpy(p->src.b, &ip6->saddr, 16);
		__builtin_memcpy(p->dst.b, &ip6->daddr, 16);
		p->proto = ip6->nexthdr;	/* extension headers: counted, not split by port */
	} else {
		return false;
	}
	p->sport = p->dport = 0;
	if (first && (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP)) {
		ports = c.pos;
		if ((void *)(ports + 2) <= c.end) {
			p->sport = bpf_ntohs(ports[0]);
			p->dport = bpf_ntohs(ports[1]);
		}
	}
	return true;
}

static __always_inline int cs_addr_cmp(const struct cs_addr *a, const struct cs_addr *b)
{
	int i;

#pragma unroll
	for (i = 0; i < 16; i++)
		if (a->b[i] != b->b[i])
			return a->b[i] < b->b[i] ? -1 : 1;
	return 0;
}

/* The same key for both directions of a stream. */
static __always_inline void cs_flow_key_of(const struct cs_packet *p, struct cs_flow_key *k)
{
	int c = cs_addr_cmp(&p->src, &p->dst);
	bool src_lo = c < 0 || (c == 0 && p->sport <= p->dport);

	k->lo = src_lo ? p->src : p->dst;
	k->hi = src_lo ? p->dst : p->src;
	k->lo_port = src_lo ? p->sport : p->dport;
	k->hi_port = src_lo ? p->dport : p->sport;
	k->proto = p->proto;
}

static __always_inline void cs_count_acl(__u32 acl_id, __u64 bytes)
{
	struct cs_acl_stat *st = bpf_map_lookup_elem(&cs_acl_stats, &acl_id);

	if (st) {
		st->packets++;
		st->bytes += bytes;
	}
}

SEC("tc")
int steer(struct __sk_buff *skb)
{
	struct cs_flow_key key = {};
	struct cs_packet p = {};
	struct cs_route *rt;
	struct cs_flow *fl;
	struct cs_addr *route;
	__u64 now;

	if (!cs_parse_packet(skb, &p))
		return TC_ACT_OK;
	route = &p.dst;
	rt = bpf_map_lookup_elem(&cs_routes, route);
	if (!rt) {
		route = &p.src;	/* the return direction of a steered stream */
		rt = bpf_map_lookup_elem(&cs_routes, route);
		if (!rt)
			return TC_ACT_OK;
	}
	now = bpf_ktime_get_boot_ns();
	cs_flow_key_of(&p, &key);
	fl = bpf_map_lookup_elem(&cs_flows, &key);
	if (fl && fl->acl_id == rt->acl_id) {
		fl->last_ns = now;
		fl->packets++;
		fl->bytes += skb->len;
	} else {
		/* a new stream, or one whose route changed its id meanwhile */
		struct cs_flow fresh = { .first_ns = now, .last_ns = now, .packets = 1,
					 .bytes = skb->len, .route = *route, .acl_id = rt->acl_id };

		bpf_map_update_elem(&cs_flows, &key, &fresh, BPF_ANY);
	}
	if (rt->acl_id)
		cs_count_acl(rt->acl_id, skb->len);
	return TC_ACT_OK;
}
