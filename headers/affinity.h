/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * affinity.h - the stream affinity code, compiled by steer and by the CLI
 * (explain tells which bucket, primary and secondary a stream has).
 *
 * The flow key puts the lower (address, port) first, so both directions of
 * a stream have one key and one code. The code is the key's five 64-bit
 * words folded through a mixer under the secret key of cs_config. A chain
 * may ask for the code of the pair of hosts instead (affinity: hosts), so
 * that every stream between two hosts shares one bucket and one instance.
 */
#ifndef CLOUDSTEER_AFFINITY_H
#define CLOUDSTEER_AFFINITY_H

#include "cloudsteer.h"
#include "namehash.h"

static __always_inline int cs_addr_cmp(const struct cs_addr *a, const struct cs_addr *b)
{
	int i;

	for (i = 0; i < 16; i++)
		if (a->b[i] != b->b[i])
			return a->b[i] < b->b[i] ? -1 : 1;
	return 0;
}

/* The key of a packet from (src, sport) to (dst, dport), ports in host
 * order: the same for the packets of the other direction. Returns whether
 * the packet came from the key's lo side (which side sent a SYN or a FIN
 * is part of a TCP stream's state). */
static __always_inline int cs_flow_key_make(struct cs_flow_key *k, const struct cs_addr *src, __u16 sport,
					     const struct cs_addr *dst, __u16 dport, __u8 proto)
{
	int c = cs_addr_cmp(src, dst);
	int src_lo = c < 0 || (c == 0 && sport <= dport);

	__builtin_memset(k, 0, sizeof(*k));
	k->lo = src_lo ? *src : *dst;
	k->hi = src_lo ? *dst : *src;
	k->lo_port = src_lo ? sport : dport;
	k->hi_port = src_lo ? dport : sport;
	k->proto = proto;
	return src_lo;
}

/* The key is read as 64-bit words through a type that may alias it: through
 * a plain __u64 pointer an optimising compiler may read the words of a key
 * built just before, in the same function, as if it were never written. */
typedef __u64 __attribute__((__may_alias__)) cs_key_word;

static __always_inline __u32 cs_affinity_code(const struct cs_flow_key *k, const __u64 key[2])
{
	const cs_key_word *w = (const cs_key_word *)k;
	__u64 h = key[0];
	int i;

	/* five words: clang unrolls it in BPF; gcc compiles it in userspace */
	for (i = 0; i < (int)(sizeof(*k) / 8); i++)
		h = cs_mix64(h ^ w[i]);
	return (__u32)cs_mix64(h ^ key[1]);
}

/* The code of a stream by its chain's choice: of its 5-tuple, or of its
 * pair of hosts alone (hosts set): the key's two addresses with its ports
 * and protocol left out. The key's lo is the lower address whenever the
 * two differ, so the pair, like the 5-tuple, is one both ways. */
static __always_inline __u32 cs_affinity_code_by(const struct cs_flow_key *k, const __u64 key[2], int hosts)
{
	struct cs_flow_key pair = { .lo = k->lo, .hi = k->hi };

	return cs_affinity_code(hosts ? &pair : k, key);
}

/* The bit of a route's address in cs_route_bits: the top
 * CS_ROUTE_BITS_SHIFT bits of a multiplicative hash of its four words
 * (Knuth's constant), which spreads neighbouring addresses apart. */
static __always_inline __u32 cs_route_bit(const struct cs_addr *a)
{
	__u32 w[4];

	__builtin_memcpy(w, a->b, sizeof(w));
	return ((w[0] ^ w[1] ^ w[2] ^ w[3]) * 0x9e3779b1u) >> (32 - CS_ROUTE_BITS_SHIFT);
}

#endif
