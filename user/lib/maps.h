/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* mapwalk.h - walking a hash map while deleting from it, and sorted id sets. */
#ifndef CS_MAPWALK_H
#define CS_MAPWALK_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/*
 * Calls each(key, ctx) for every key of map fd (keys of at most 64 octets).
 * each may delete the key it is given: the walk takes the next key first,
 * because a deleted key is no anchor and the kernel would start over from
 * the first key, which made every walk that deletes quadratic. A key made
 * during the walk may or may not be seen. each returns false to stop.
 * Returns 0, or -EINVAL for a key too long.
 */
int cs_map_walk(int fd, size_t key_size, bool (*each)(const void *key, void *ctx), void *ctx);

/* qsort/bsearch order of __u64 */
int cs_cmp_u64(const void *a, const void *b);

#endif
