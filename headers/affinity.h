/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * affinity.h - the stream affinity code, compiled by steer and by the CLI
 * (explain tells which bucket, primary and secondary a stream has).
 *
 * The flow key puts the lower (address, port) first, so both directions of
 * a stream have one key and one code. The code is the key's five 64-bit
 * words folded through a mixer under the secret key of cs_config.
 */
#ifndef CLOUDSTEER_AFFINITY_H
#define CLOUDSTEER_AFFINITY_H

#include "cloudsteer.h"
#include "namehash.h"

static __always_inline __u32 cs_affinity_code(const struct cs_flow_key *k, const __u64 key[2])
{
	const __u64 *w = (const __u64 *)k;
	__u64 h = key[0];
	int i;

	/* five words: clang unrolls it in BPF; gcc compiles it in userspace */
	for (i = 0; i < (int)(sizeof(*k) / 8); i++)
		h = cs_mix64(h ^ w[i]);
	return (__u32)cs_mix64(h ^ key[1]);
}

#endif
