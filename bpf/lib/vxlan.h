/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * vxlan.h - the VXLAN header (RFC 7348) and the Ethernet header of the frame
 * it carries: what steer's encap mode writes after the outer UDP header
 * (encap.h) and what the instance program reads there. The UDP port is the
 * contract's CS_VXLAN_PORT.
 */
#ifndef CS_BPF_VXLAN_H
#define CS_BPF_VXLAN_H

#include "common.h"

/* The "I" flag: the VNI field is valid. A header without it names no VNI,
 * so no chain either. */
#define CS_VXLAN_FLAG_I 0x08000000u

struct cs_vxlan {
	__be32 flags;		/* CS_VXLAN_FLAG_I */
	__be32 vni;		/* VNI << 8 */
	struct ethhdr inner;
} __attribute__((packed));

static __always_inline void cs_vxlan_set_vni(struct cs_vxlan *v, __u32 vni)
{
	v->flags = bpf_htonl(CS_VXLAN_FLAG_I);
	v->vni = bpf_htonl(vni << 8);
}

static __always_inline bool cs_vxlan_has_vni(const struct cs_vxlan *v, __u32 vni)
{
	return (v->flags & bpf_htonl(CS_VXLAN_FLAG_I)) && bpf_ntohl(v->vni) >> 8 == vni;
}

#endif /* CS_BPF_VXLAN_H */
