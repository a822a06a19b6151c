// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The service-map builder: rendezvous (highest random weight) hashing of a
 * chain's instances over its buckets.
 *
 * The weight, all arithmetic on unsigned 64-bit integers modulo 2^64:
 *
 *     cs_mix64(x)  = murmur3's fmix64:  x ^= x >> 33;  x *= 0xff51afd7ed558ccd;
 *                                  x ^= x >> 33;  x *= 0xc4ceb9fe1a85ec53;
 *                                  x ^= x >> 33
 *     N(name) = cs_mix64(FNV-1a-64(name)), FNV-1a-64 over the octets of the name as
 *               given (no terminating NUL, no case folding): h = 0xcbf29ce484222325,
 *               then for each octet c, h = (h ^ c) * 0x100000001b3
 *     B(b)    = cs_mix64(b + 0x9e3779b97f4a7c15), b the bucket number (0-based)
 *     w(name, b) = cs_mix64(N(name) ^ B(b))
 *
 * mix is a bijection, so within one bucket two names tie only when their
 * FNV-1a-64 hashes collide; strcmp order breaks that tie. The bucket count is
 * not an input: bucket b weighs the instances the same in tables of any size.
 * Known answers are pinned in tests/unit/servicemap_test.c.
 *
 * Why these steps: FNV-1a alone barely separates names that differ in their
 * last octet ("casb-a", "casb-b"), hence the mix over it; the bucket goes
 * through its own mix so consecutive buckets are unrelated; the final mix
 * makes the order of two names in a bucket a fresh coin toss per bucket.
 *
 * Cost: the name hashes are computed once per build, then one mix per
 * (bucket, eligible instance). 65536 buckets x 64 instances build in about
 * 10 ms (gcc -O2, a 2-core AMD EPYC VM; measured once: best of 20 runs 10.1 ms).
 */
#include <errno.h>
#include <string.h>

#include "servicemap.h"
#include "namehash.h"

/* cs_mix64: the murmur3 finaliser, the mixer of the name hash, the same code */
static __u64 name_hash(const char *name)
{
	__u64 h = 0xcbf29ce484222325ULL;
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 0x100000001b3ULL;
	return cs_mix64(h);
}

static __u64 bucket_hash(__u32 bucket)
{
	return cs_mix64((__u64)bucket + 0x9e3779b97f4a7c15ULL);
}

__u64 cs_servicemap_weight(const char *name, __u32 bucket)
{
	return cs_mix64(name_hash(name) ^ bucket_hash(bucket));
}

struct candidate {
	__u64 hash;		/* N(name) */
	const char *name;
	__u16 id;		/* index + 1 */
};

/* Does (w1, c1) rank above (w2, c2)? A total order, since names are distinct. */
static bool ranks_above(__u64 w1, const struct candidate *c1, __u64 w2, const struct candidate *c2)
{
	if (w1 != w2)
		return w1 > w2;
	return strcmp(c1->name, c2->name) < 0;
}

static int check_args(const char *const *names, size_t n, __u32 n_buckets, const struct cs_bucket *out)
{
	size_t i, j;

	if (!out || n_buckets == 0 || n_buckets > CS_SERVICEMAP_BUCKETS_MAX || (n_buckets & (n_buckets - 1)))
		return -EINVAL;
	if (n > CS_SERVICEMAP_INSTANCES_MAX || (n && !names))
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (!names[i])
			return -EINVAL;
		/* a duplicate would make the table depend on the order of the list */
		for (j = 0; j < i; j++)
			if (!strcmp(names[i], names[j]))
				return -EINVAL;
	}
	return 0;
}

int cs_servicemap_build(const char *const *names, const bool *eligible, size_t n, __u32 n_buckets,
		struct cs_bucket *out)
{
	struct candidate cand[CS_SERVICEMAP_INSTANCES_MAX];
	size_t n_cand = 0, i;
	__u32 b;
	int err;

	err = check_args(names, n, n_buckets, out);
	if (err)
		return err;

	for (i = 0; i < n; i++) {
		if (eligible && !eligible[i])
			continue;
		cand[n_cand].hash = name_hash(names[i]);
		cand[n_cand].name = names[i];
		cand[n_cand].id = (__u16)(i + 1);
		n_cand++;
	}

	for (b = 0; b < n_buckets; b++) {
		const struct candidate *first = NULL, *second = NULL;
		__u64 kb = bucket_hash(b), w1 = 0, w2 = 0;

		for (i = 0; i < n_cand; i++) {
			__u64 w = cs_mix64(cand[i].hash ^ kb);

			if (!first || ranks_above(w, &cand[i], w1, first)) {
				second = first;
				w2 = w1;
				first = &cand[i];
				w1 = w;
			} else if (!second || ranks_above(w, &cand[i], w2, second)) {
				second = &cand[i];
				w2 = w;
			}
		}
		out[b].primary = first ? first->id : 0;
		out[b].secondary = second ? second->id : 0;
	}
	return 0;
}

void cs_servicemap_defer_warming(struct cs_bucket *b, __u32 n_buckets, const bool *warming)
{
	__u32 i;

	if (!b || !warming)
		return;
	for (i = 0; i < n_buckets; i++) {
		__u16 p = b[i].primary, s = b[i].secondary;

		if (p && s && warming[p - 1] && !warming[s - 1]) {
			b[i].primary = s;
			b[i].secondary = p;
		}
	}
}
