/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * maps.h - helpers over any map, whoever pinned it: walking a hash map while
 * deleting from it, reading a whole hash map at once, summing per-CPU
 * values, and the order of sorted id sets.
 */
#ifndef CS_MAPS_H
#define CS_MAPS_H

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

/* Every entry of a hash map, as cs_map_dump read it: key i at
 * keys + i * key_size, its value at vals + i * value_size. */
struct cs_map_dump {
	__u8 *keys, *vals;
	size_t n, cap;
	__u32 key_size, value_size;
};

/* Reads every key and value of the hash map fd (keys of at most 64 octets)
 * into d, in batches of a few thousand entries where the kernel can, else
 * key by key; an entry removed meanwhile is skipped. 0, or -errno with d
 * empty. cs_map_dump_free() frees it. */
int cs_map_dump(int fd, __u32 key_size, __u32 value_size, struct cs_map_dump *d);
void cs_map_dump_free(struct cs_map_dump *d);

/* Calls each(key, value, ctx) for every entry of the hash map fd (keys of
 * at most 64 octets, values of at most 256), reading a few hundred at a
 * time, so a table of any size costs little memory. A change made during
 * the walk may or may not be seen, and where the kernel cannot read in
 * chunks the walk goes on key by key, so an entry may be seen twice.
 * 0, or -errno. */
int cs_map_each(int fd, __u32 key_size, __u32 value_size,
		void (*each)(const void *key, const void *value, void *ctx), void *ctx);

/* Zero every CPU's copy of the per-CPU value at key (value_size octets, at
 * most 256): a counter that starts again from nothing. 0 or -errno. */
int cs_percpu_zero(int fd, __u32 key, __u32 value_size);

/*
 * Reads the per-CPU values of n_keys keys of the per-CPU array map_fd, from
 * first_key on, each a struct of `words` __u64 fields, and sums them over
 * the CPUs field by field: out[k * words + w] is field w of key
 * first_key + k. A struct of counters at one key is (key, 1, out, words); an
 * array of single counters is (0, n, out, 1). 0, or -errno (out is then
 * zero from the key that failed on).
 */
int cs_percpu_sum(int map_fd, __u32 first_key, __u32 n_keys, __u64 *out, size_t words);

struct cs_bucket;

/*
 * A stage's bucket table of n_buckets, built in positions (1-based into
 * ids; 0: none), written into a new inner map as instance ids and swapped
 * into slot `slot` of the array of maps outer_fd with one update: the
 * dataplane sees the old table or the new one, never a mix. b is turned
 * into ids in place. 0, or -errno with the old table left in its slot.
 */
int cs_bucket_table_swap(int outer_fd, __u32 slot, struct cs_bucket *b, __u32 n_buckets, const __u32 *ids);

/* qsort/bsearch order of __u64 */
int cs_cmp_u64(const void *a, const void *b);

#endif
