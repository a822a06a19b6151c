/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * servicemap.h - a chain's service map: a table of buckets, each naming a
 * primary and a secondary instance, built by rendezvous hashing so that every
 * node with the same view of the instances builds the same table.
 *
 * A stream's bucket is its affinity code modulo the number of buckets (a
 * power of two, so code & (n_buckets - 1)). When the primary fails, the
 * bucket's streams go to the secondary; rebuilt without the failed instance,
 * the table names that same secondary as the new primary.
 */
#ifndef CS_SERVICEMAP_H
#define CS_SERVICEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "cloudsteer.h"

#define CS_SERVICEMAP_INSTANCES_MAX 255		/* instances in one chain */
#define CS_SERVICEMAP_BUCKETS_MAX   65536	/* buckets in one chain's table */

/* Buckets are struct cs_bucket of the contract (cloudsteer.h). The builder
 * fills them with positions in the list it is given (index + 1, 0 = none);
 * the daemon turns positions into instance ids before the table goes to
 * the dataplane. */

/* Build a chain's table: n_buckets (a power of two, 1..65536) buckets over the n instances
 * (names, up to 255; distinct, not NULL); eligible[i] false leaves instance i out (down or
 * drained); eligible NULL means all are eligible. For every bucket, primary = the eligible
 * instance with the highest rendezvous weight w(name, bucket), secondary = the one with the
 * second highest (distinct from primary), 0 when fewer than two (or one) are eligible.
 * Equal weights (only when two names collide in the 64-bit name hash) rank the name that
 * sorts first (strcmp) higher. Deterministic: weights depend on the name and the bucket
 * only, so neither the run, the node nor the order of the list changes the table (in terms
 * of names). Returns 0, or -EINVAL (bad n_buckets, n over 255, NULL or duplicate names)
 * leaving out untouched. */
int cs_servicemap_build(const char *const *names, const bool *eligible, size_t n, __u32 n_buckets,
		struct cs_bucket *out);

/* Keep instances that are warming (back from down, still being synced the
 * state of their buckets by their peers) from being primary where another can
 * be: in every bucket whose primary is warming and whose secondary exists and
 * is not warming, swap the two. A bucket with no secondary, or whose two are
 * both warming, keeps its warming primary: new streams may start on it, as
 * there is nobody better. b holds positions as cs_servicemap_build fills them
 * (index + 1, 0 = none); warming[i] is about position i + 1. Once the warmup
 * is over the table is built again without this step, which puts each
 * instance back where rendezvous hashing wants it: the same table every node
 * with the same view builds. */
void cs_servicemap_defer_warming(struct cs_bucket *b, __u32 n_buckets, const bool *warming);

/* The weight function, exposed for tests and for `explain`: a 64-bit hash of the instance
 * name and the bucket number, defined in servicemap.c. Fixed and stable across versions: it
 * decides which instance every node sends a stream to, so changing it moves streams. */
__u64 cs_servicemap_weight(const char *name, __u32 bucket);

#endif
