// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cloudsteer.h"
#include "maps.h"

#define KEY_MAX 64	/* the largest key read is 24 bytes */

int cs_map_walk(int fd, size_t key_size, bool (*each)(const void *key, void *ctx), void *ctx)
{
	__u8 key[KEY_MAX], next[KEY_MAX];
	bool more;

	if (key_size > sizeof(key))
		return -EINVAL;
	more = !bpf_map_get_next_key(fd, NULL, key);
	while (more) {
		more = !bpf_map_get_next_key(fd, key, next);
		if (!each(key, ctx))
			break;
		memcpy(key, next, key_size);
	}
	return 0;
}

/* ---- a whole hash map ---- */

#define DUMP_CHUNK 4096

static int dump_reserve(struct cs_map_dump *d, size_t want)
{
	size_t cap = d->cap ? d->cap : DUMP_CHUNK;
	__u8 *k, *v;

	if (want <= d->cap)
		return 0;
	while (cap < want)
		cap *= 2;
	k = realloc(d->keys, cap * d->key_size);
	if (!k)
		return -ENOMEM;
	d->keys = k;
	v = realloc(d->vals, cap * d->value_size);
	if (!v)
		return -ENOMEM;
	d->vals = v;
	d->cap = cap;
	return 0;
}

void cs_map_dump_free(struct cs_map_dump *d)
{
	free(d->keys);
	free(d->vals);
	memset(d, 0, sizeof(*d));
}

/* One syscall per few thousand entries instead of two per entry. */
static int dump_batch(int fd, struct cs_map_dump *d)
{
	__u64 token[KEY_MAX / 8];	/* opaque position: a hash map keeps a bucket index in it */
	size_t room = DUMP_CHUNK;
	bool first = true;

	for (;;) {
		__u32 count;
		int e = dump_reserve(d, d->n + room);

		if (e)
			return e;
		count = (__u32)(d->cap - d->n);
		e = bpf_map_lookup_batch(fd, first ? NULL : token, token, d->keys + d->n * d->key_size,
					 d->vals + d->n * d->value_size, &count, NULL);
		if (e && e != -ENOENT && e != -ENOSPC)
			return e;
		if (e == -ENOSPC) {	/* one bucket holds more than fits: more room */
			room = (d->cap - d->n) * 2;
			continue;
		}
		d->n += count;
		if (e == -ENOENT)	/* the end */
			return 0;
		first = false;
	}
}

/* For kernels or maps without batch lookups. */
static int dump_by_keys(int fd, struct cs_map_dump *d)
{
	__u8 prev[KEY_MAX], key[KEY_MAX];
	bool started = false;
	int e;

	while (!(e = bpf_map_get_next_key(fd, started ? prev : NULL, key))) {
		if (dump_reserve(d, d->n + 1))
			return -ENOMEM;
		/* an entry removed since get_next_key is skipped */
		if (!bpf_map_lookup_elem(fd, key, d->vals + d->n * d->value_size)) {
			memcpy(d->keys + d->n * d->key_size, key, d->key_size);
			d->n++;
		}
		memcpy(prev, key, d->key_size);
		started = true;
	}
	return e == -ENOENT ? 0 : e;
}

int cs_map_dump(int fd, __u32 key_size, __u32 value_size, struct cs_map_dump *d)
{
	int e;

	memset(d, 0, sizeof(*d));
	if (key_size > KEY_MAX)
		return -EINVAL;
	d->key_size = key_size;
	d->value_size = value_size;
	e = dump_batch(fd, d);
	if (e && e != -ENOMEM) {
		d->n = 0;
		e = dump_by_keys(fd, d);
	}
	if (e)
		cs_map_dump_free(d);
	return e;
}

/* ---- a walk in chunks ---- */

#define EACH_CHUNK 256
#define VALUE_MAX 256

static int each_by_keys(int fd, __u32 key_size, void (*each)(const void *, const void *, void *), void *ctx)
{
	__u8 prev[KEY_MAX], key[KEY_MAX], val[VALUE_MAX];
	bool started = false;
	int e;

	while (!(e = bpf_map_get_next_key(fd, started ? prev : NULL, key))) {
		if (!bpf_map_lookup_elem(fd, key, val))	/* one removed meanwhile is skipped */
			each(key, val, ctx);
		memcpy(prev, key, key_size);
		started = true;
	}
	return e == -ENOENT ? 0 : e;
}

int cs_map_each(int fd, __u32 key_size, __u32 value_size,
		void (*each)(const void *key, const void *value, void *ctx), void *ctx)
{
	static __u8 keys[EACH_CHUNK * KEY_MAX], vals[EACH_CHUNK * VALUE_MAX];
	__u64 token[KEY_MAX / 8];
	bool first = true;
	__u32 i;

	if (key_size > KEY_MAX || value_size > VALUE_MAX)
		return -EINVAL;
	for (;;) {
		__u32 count = EACH_CHUNK;
		int e = bpf_map_lookup_batch(fd, first ? NULL : token, token, keys, vals, &count, NULL);

		if (e && e != -ENOENT)	/* no batch calls here, or a bucket too full for a chunk */
			return each_by_keys(fd, key_size, each, ctx);
		for (i = 0; i < count; i++)
			each(keys + (size_t)i * key_size, vals + (size_t)i * value_size, ctx);
		if (e == -ENOENT)
			return 0;
		first = false;
	}
}

/* ---- per-CPU values ---- */

int cs_percpu_zero(int fd, __u32 key, __u32 value_size)
{
	int ncpu = libbpf_num_possible_cpus(), e = 0;
	void *zero;

	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	/* the kernel takes each CPU's copy padded to 8 octets */
	zero = calloc((size_t)ncpu, (value_size + 7) & ~7u);
	if (!zero)
		return -ENOMEM;
	if (bpf_map_update_elem(fd, &key, zero, BPF_ANY))
		e = -errno;
	free(zero);
	return e;
}

/* The per-CPU value at key, a struct of `words` __u64 fields, summed over
 * the ncpu CPUs into out; vals has room for every CPU's copy. */
static int sum_one_key(int map_fd, __u32 key, __u64 *out, size_t words, __u64 *vals, int ncpu)
{
	size_t w;
	int c;

	if (bpf_map_lookup_elem(map_fd, &key, vals))
		return -errno;
	for (c = 0; c < ncpu; c++)
		for (w = 0; w < words; w++)
			out[w] += vals[(size_t)c * words + w];
	return 0;
}

int cs_percpu_sum(int map_fd, __u32 first_key, __u32 n_keys, __u64 *out, size_t words)
{
	int ncpu = libbpf_num_possible_cpus(), e = 0;
	__u64 *vals;
	__u32 k;

	memset(out, 0, (size_t)n_keys * words * sizeof(*out));
	if (ncpu <= 0)
		return ncpu < 0 ? ncpu : -EINVAL;
	/* the kernel hands each CPU's value padded to 8 octets: whole words here */
	vals = calloc((size_t)ncpu * words, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (k = 0; !e && k < n_keys; k++)
		e = sum_one_key(map_fd, first_key + k, out + (size_t)k * words, words, vals, ncpu);
	free(vals);
	return e;
}

int cs_cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

int cs_bucket_table_swap(int outer_fd, __u32 slot, struct cs_bucket *b, __u32 n_buckets, const __u32 *ids)
{
	int table_fd, e = 0;
	__u32 i;

	table_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "cs_bucket_table", sizeof(__u32), sizeof(struct cs_bucket),
				  CS_BUCKETS_MAX, NULL);
	if (table_fd < 0)
		return -errno;
	for (i = 0; !e && i < n_buckets; i++) {
		/* positions -> instance ids */
		if (b[i].primary)
			b[i].primary = (__u16)ids[b[i].primary - 1];
		if (b[i].secondary)
			b[i].secondary = (__u16)ids[b[i].secondary - 1];
		if (bpf_map_update_elem(table_fd, &i, &b[i], BPF_ANY))
			e = -errno;
	}
	if (!e && bpf_map_update_elem(outer_fd, &slot, &table_fd, BPF_ANY))
		e = -errno;
	close(table_fd);	/* the outer map holds it now */
	return e;
}
