/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * parse.bpf.h - the parse of the bench's controls (xdp_parse, xdp_fwd_min):
 * the least a steering program must read of a packet to know its flow.
 * Ethernet, up to two VLAN tags, IPv4 (its options skipped by IHL) or the
 * fixed IPv6 header (no extension headers), the ports of TCP and UDP. Every
 * read is checked against data_end. Written on its own, not with
 * bpf/lib/packet.h, so that it stays the minimum whatever the programs
 * grow.
 */
#ifndef PARSE_BPF_H
#define PARSE_BPF_H

#include "controls.h"

#define CTL_ETH_P_IP     0x0800
#define CTL_ETH_P_IPV6   0x86DD
#define CTL_ETH_P_8021Q  0x8100
#define CTL_ETH_P_8021AD 0x88A8
#define CTL_IP_OFFSET    0x1FFF
#define CTL_VLANS_MAX    2

/* Past the VLAN tags, at most two; the EtherType they carry in *proto
 * (network order). NULL when a tag is cut short. */
static __always_inline void *ctl_skip_vlans(void *p, void *end, __u16 *proto)
{
	int i;

#pragma unroll
	for (i = 0; i < CTL_VLANS_MAX; i++) {
		struct vlan_hdr *vh = p;

		if (*proto != bpf_htons(CTL_ETH_P_8021Q) && *proto != bpf_htons(CTL_ETH_P_8021AD))
			break;
		if ((void *)(vh + 1) > end)
			return NULL;
		*proto = vh->h_vlan_encapsulated_proto;
		p = vh + 1;
	}
	return p;
}

/* The addresses and protocol of an IPv4 header; its payload, or NULL. A
 * later fragment has no ports: NULL too. */
static __always_inline void *ctl_ip4(void *p, void *end, struct ctl_flow *k)
{
	struct iphdr *ip = p;
	__u32 len;

	if ((void *)(ip + 1) > end)
		return NULL;
	len = ip->ihl * 4;
	if (len < sizeof(*ip) || p + len > end)
		return NULL;
	if (ip->frag_off & bpf_htons(CTL_IP_OFFSET))
		return NULL;
	k->src[0] = ip->saddr;
	k->dst[0] = ip->daddr;
	k->proto = ip->protocol;
	return p + len;
}

/* The same of the fixed IPv6 header: its next header is taken as the L4
 * protocol, extension headers are not walked. */
static __always_inline void *ctl_ip6(void *p, void *end, struct ctl_flow *k)
{
	struct ipv6hdr *ip6 = p;

	if ((void *)(ip6 + 1) > end)
		return NULL;
	__builtin_memcpy(k->src, &ip6->saddr, sizeof(k->src));
	__builtin_memcpy(k->dst, &ip6->daddr, sizeof(k->dst));
	k->proto = ip6->nexthdr;
	return ip6 + 1;
}

/* The flow of the frame in [data, end) into k (zeroed by the caller):
 * 0 when it is TCP or UDP and whole up to its ports, -1 otherwise. */
static __always_inline int ctl_parse(void *data, void *end, struct ctl_flow *k)
{
	struct ethhdr *eth = data;
	__u16 proto;
	__u16 *ports;
	void *p;

	if ((void *)(eth + 1) > end)
		return -1;
	proto = eth->h_proto;
	p = ctl_skip_vlans(eth + 1, end, &proto);
	if (!p)
		return -1;
	if (proto == bpf_htons(CTL_ETH_P_IP))
		p = ctl_ip4(p, end, k);
	else if (proto == bpf_htons(CTL_ETH_P_IPV6))
		p = ctl_ip6(p, end, k);
	else
		return -1;
	if (!p || (k->proto != IPPROTO_TCP && k->proto != IPPROTO_UDP))
		return -1;
	ports = p;	/* both put the source and destination ports first */
	if ((void *)(ports + 2) > end)
		return -1;
	k->sport = ports[0];
	k->dport = ports[1];
	return 0;
}

#endif
