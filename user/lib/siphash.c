// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * SipHash-2-4-128 (siphash.h), step by step as the paper describes it:
 * initialization, compression of each 64-bit word with c = 2 rounds, the
 * last word carrying the message length, finalization with d = 4 rounds.
 * Octets are read one by one, so neither alignment nor the host's byte
 * order matters.
 */
#include "siphash.h"

#define C_ROUNDS 2
#define D_ROUNDS 4

struct sip_state {
	__u64 v0, v1, v2, v3;
};

static __u64 rotl(__u64 x, int b)
{
	return x << b | x >> (64 - b);
}

static __u64 load_le64(const __u8 *p)
{
	__u64 v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void store_le64(__u8 *p, __u64 v)
{
	int i;

	for (i = 0; i < 8; i++)
		p[i] = (__u8)(v >> (8 * i));
}

static void sip_round(struct sip_state *s)
{
	s->v0 += s->v1;
	s->v1 = rotl(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl(s->v2, 32);
}

static void sip_rounds(struct sip_state *s, int n)
{
	while (n--)
		sip_round(s);
}

static void sip_init(struct sip_state *s, const __u8 key[CS_SIPHASH_KEY_LEN])
{
	__u64 k0 = load_le64(key), k1 = load_le64(key + 8);

	/* "somepseudorandomlygeneratedbytes" */
	s->v0 = k0 ^ 0x736f6d6570736575ULL;
	s->v1 = k1 ^ 0x646f72616e646f6dULL;
	s->v2 = k0 ^ 0x6c7967656e657261ULL;
	s->v3 = k1 ^ 0x7465646279746573ULL;
	s->v1 ^= 0xee;	/* the 128-bit output variant */
}

static void sip_compress(struct sip_state *s, __u64 m)
{
	s->v3 ^= m;
	sip_rounds(s, C_ROUNDS);
	s->v0 ^= m;
}

/* The 0 to 7 octets after the last whole word, with the message length
 * modulo 256 in the top octet. */
static __u64 last_word(const __u8 *tail, size_t len)
{
	__u64 b = (__u64)(len & 0xff) << 56;
	size_t i;

	for (i = 0; i < (len & 7); i++)
		b |= (__u64)tail[i] << (8 * i);
	return b;
}

static __u64 sip_output(const struct sip_state *s)
{
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

void cs_siphash128(const __u8 key[CS_SIPHASH_KEY_LEN], const void *msg, size_t len,
		   __u8 tag[CS_SIPHASH_TAG_LEN])
{
	const __u8 *p = msg;
	struct sip_state s;
	size_t i;

	sip_init(&s, key);
	for (i = 0; i + 8 <= len; i += 8)
		sip_compress(&s, load_le64(p + i));
	sip_compress(&s, last_word(p + i, len));
	s.v2 ^= 0xee;
	sip_rounds(&s, D_ROUNDS);
	store_le64(tag, sip_output(&s));
	s.v1 ^= 0xdd;
	sip_rounds(&s, D_ROUNDS);
	store_le64(tag + 8, sip_output(&s));
}

bool cs_equal_ct(const void *a, const void *b, size_t n)
{
	const volatile __u8 *x = a, *y = b;
	__u8 diff = 0;
	size_t i;

	/* no early exit: every octet is compared whatever came before */
	for (i = 0; i < n; i++)
		diff |= x[i] ^ y[i];
	return diff == 0;
}
