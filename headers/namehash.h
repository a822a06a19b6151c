/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * namehash.h - the keyed 64-bit DNS name hash, shared by the learn program
 * and the loader that fills the rule map. Plain C with no helpers, so both
 * sides compile this very code.
 *
 * A name is hashed label by label. Each label gets a keyed FNV-1a hash of
 * its lower-cased octets, finished by a 64-bit mixer. The name's suffixes
 * are then folded from the right:
 *
 *     S(n) = key[1];   S(i) = fold(S(i+1), label_hash(i))
 *
 * so S(i) is the hash of the suffix that starts at label i and the rule map
 * can be keyed by the hash of a pattern's name: matching a name costs one
 * lookup per label boundary, whatever the number of rules. S(0), the hash of
 * the whole name, is the name's id in the record and name maps.
 */
#ifndef CLOUDSTEER_NAMEHASH_H
#define CLOUDSTEER_NAMEHASH_H

#define CS_FNV_PRIME 0x100000001b3ULL

static __always_inline __u64 cs_mix64(__u64 x)
{
	/* murmur3's finaliser: every input bit reaches every output bit */
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static __always_inline __u8 cs_lower(__u8 c)
{
	return (__u8)(c - 'A') < 26 ? c | 0x20 : c;
}

static __always_inline __u64 cs_label_begin(const __u64 key[2], __u32 len)
{
	return key[0] ^ ((__u64)len * 0x9e3779b97f4a7c15ULL);
}

/* c must already be lower case */
static __always_inline __u64 cs_label_byte(__u64 h, __u8 c)
{
	return (h ^ c) * CS_FNV_PRIME;
}

static __always_inline __u64 cs_label_end(__u64 h)
{
	return cs_mix64(h);
}

static __always_inline __u64 cs_suffix_seed(const __u64 key[2])
{
	return key[1];
}

static __always_inline __u64 cs_suffix_fold(__u64 suffix, __u64 label_hash)
{
	return cs_mix64(((suffix << 23) | (suffix >> 41)) ^ label_hash);
}

#endif /* CLOUDSTEER_NAMEHASH_H */
