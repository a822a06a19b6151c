/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * siphash.h - SipHash-2-4 with a 128-bit output, the keyed MAC of the sync
 * datagrams (lib/sync.h), written from its specification: Aumasson and
 * Bernstein, "SipHash: a fast short-input PRF" (2012), with the 128-bit
 * output variant as its authors define it (0xee into v1 at the start and
 * into v2 before finalization; 0xdd into v1 before the second half).
 *
 * The key is 16 octets; k0 is the first eight read little-endian, k1 the
 * next eight. The tag is the two 64-bit halves, each little-endian.
 */
#ifndef CS_SIPHASH_H
#define CS_SIPHASH_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define CS_SIPHASH_KEY_LEN 16
#define CS_SIPHASH_TAG_LEN 16

void cs_siphash128(const __u8 key[CS_SIPHASH_KEY_LEN], const void *msg, size_t len,
		   __u8 tag[CS_SIPHASH_TAG_LEN]);

/* a and b hold the same n octets. Takes as long whatever they hold, so a
 * forger cannot learn from the time a refusal takes how much of a tag was
 * right. */
bool cs_equal_ct(const void *a, const void *b, size_t n);

#endif
