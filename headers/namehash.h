/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * namehash.h - the keyed 64-bit DNS name hash, shared by the learn program
 * and the loader that fills the rule map. Plain C with no helpers, so both
 * sides compile this very code.
 *
 * A name is hashed label by label. Each label's octets are lower-cased and
 * taken 8 at a time as a little-endian word, zero-padded at the end; the
 * words are mixed into a keyed hash, finished by a 64-bit mixer. The name's
 * suffixes are then folded from the right:
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

/* Lower-case the ASCII letters among 8 octets at once; other octets, also
 * those over 0x7f, stay as they are. Per octet b (below 0x80), adding 0x3f
 * sets the top bit iff b >= 'A' and adding 0x25 iff b > 'Z'; no carry
 * crosses octets. */
static __always_inline __u64 cs_lower8(__u64 x)
{
	const __u64 top = 0x8080808080808080ULL;
	__u64 lo = x & ~top;
	__u64 upper = ((lo + 0x3f3f3f3f3f3f3f3fULL) & ~(lo + 0x2525252525252525ULL)) & ~x & top;

	return x | (upper >> 2);
}

/* The first n (1..8) octets of w, a little-endian load: the rest zeroed. */
static __always_inline __u64 cs_word_head(__u64 w, __u32 n)
{
	return n >= 8 ? w : w & ((1ULL << (n * 8)) - 1);
}

/* w: up to 8 octets of a label, already through cs_lower8 and cs_word_head */
static __always_inline __u64 cs_label_word(__u64 h, __u64 w)
{
	return (h ^ w) * CS_FNV_PRIME;
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
