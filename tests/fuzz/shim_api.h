/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * shim_api.h - the maps, ring buffers and clock of the BPF shim, between
 * the program compiled as userspace C (bpf_shim.h, no libc there) and the
 * implementation (bpf_shim.c) and harness (libc). Plain __u32/__u64 and
 * pointers only: both kinds of translation unit include it after their own
 * type headers (vmlinux.h or <linux/types.h>).
 *
 * A map is known by the address of its definition, the struct that libbpf's
 * __uint/__type macros declare; its type, sizes and max_entries are read
 * off that struct's member types at compile time (bpf_shim.h) and travel
 * with every call, so a map needs no registration: its table is made the
 * first time anything touches it.
 */
#ifndef CS_SHIM_API_H
#define CS_SHIM_API_H

struct shim_map_def {
	const void *map;	/* the definition: what identifies the map */
	const char *name;	/* for messages; NULL from a helper call */
	__u32 type;		/* enum bpf_map_type */
	__u32 key_size;		/* 0: no key (queue, stack, ring buffer) */
	__u32 value_size;	/* 0: no value (ring buffer) */
	__u32 max_entries;	/* for a ring buffer: its size in octets */
};

/* Map helpers, with the kernel's results: a value pointer or NULL; 0 or
 * -errno (-EEXIST, -ENOENT, -E2BIG, -EINVAL). */
void *shim_map_lookup(const struct shim_map_def *d, const void *key);
long shim_map_update(const struct shim_map_def *d, const void *key, const void *value, __u64 flags);
long shim_map_delete(const struct shim_map_def *d, const void *key);
long shim_map_push(const struct shim_map_def *d, const void *value, __u64 flags);
long shim_map_pop(const struct shim_map_def *d, void *value);
long shim_map_peek(const struct shim_map_def *d, void *value);

/* Ring buffer helpers. */
void *shim_ringbuf_reserve(const struct shim_map_def *d, __u64 size, __u64 flags);
void shim_ringbuf_submit(void *data, __u64 flags);
void shim_ringbuf_discard(void *data, __u64 flags);
long shim_ringbuf_output(const struct shim_map_def *d, const void *data, __u64 size, __u64 flags);
__u64 shim_ringbuf_query(const struct shim_map_def *d, __u64 flags);

/* The clock every bpf_ktime_* helper reads; the harness sets it. */
extern __u64 shim_clock_ns;

/* bpf_get_prandom_u32: a fixed sequence from shim_reset, so runs repeat. */
__u32 shim_prandom_u32(void);

/* ---- for the harness ---- */

/* Every map back to what a fresh load gives: arrays zero, the rest empty.
 * Also frees what deletes and ring buffer reads left for later. */
void shim_reset(void);

/* What libbpf's bpf_map__set_max_entries does before a load, for hash, LRU
 * and LPM maps; 0 goes back to the definition's. It outlives shim_reset. */
void shim_map_set_max_entries(const struct shim_map_def *d, __u32 max_entries);

/* Entries in a hash, LRU or LPM map; values waiting in a queue or stack;
 * records submitted and not read in a ring buffer. */
__u32 shim_map_count(const struct shim_map_def *d);

/* Call fn for every entry of a hash, LRU or LPM map (in no set order) or
 * every element of an array; a non-zero return stops the walk. */
int shim_map_each(const struct shim_map_def *d,
		  int (*fn)(void *ctx, const void *key, const void *value), void *ctx);

/* Read the submitted records of a ring buffer in order, as a consumer
 * would; returns how many. Discarded records are skipped. */
int shim_ringbuf_consume(const struct shim_map_def *d,
			 int (*fn)(void *ctx, const void *data, __u32 size), void *ctx);

/* Records reserved and neither submitted nor discarded, over every ring
 * buffer: the verifier would refuse a program that leaves any. */
__u32 shim_ringbuf_pending(void);

#endif /* CS_SHIM_API_H */
