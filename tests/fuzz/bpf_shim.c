// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bpf_shim.c - the maps, ring buffers and clock behind bpf_shim.h.
 *
 * Every value and every ring buffer record is its own allocation of exactly
 * its size, so AddressSanitizer sees a program that reads or writes past one.
 * Results follow the kernel's helpers (errno values, flags, LRU eviction,
 * longest-prefix match); what the verifier would refuse (a record submitted
 * twice, a map type the shim lacks) aborts with a message.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/bpf.h>
#include <linux/types.h>

#include "shim_api.h"

#define SHIM_MAPS_MAX 64	/* maps of one program, and then some */
#define RB_HDR 8		/* the kernel's ring buffer record header */
#define LPM_KEY_MAX 64		/* octets of an LPM key, prefix length included */

__u64 shim_clock_ns;
static __u64 prandom_state;

/* An entry of a hash, LRU or LPM map; the key follows, the value is apart. */
struct entry {
	struct entry *next;
	__u64 hash;
	__u64 used;		/* LRU: the stamp of its last use */
	void *value;
	__u8 key[];
};

/* A ring buffer record from reserve until the consumer passes it. */
struct rec {
	struct rec *next;
	struct map *rb;
	void *data;
	__u32 size;
	bool committed, discarded;
};

struct map {
	struct shim_map_def def;
	__u32 limit;		/* entries of a hash map: max_entries, or what the loader set */
	/* ARRAY, PERCPU_ARRAY: elements made on first touch, and which */
	void **elems;
	__u32 *touched;
	__u32 n_touched;
	/* HASH and kin, LPM_TRIE (keys stored with the bits past the prefix zeroed) */
	struct entry **buckets;
	__u32 n_buckets;
	__u32 count;
	__u64 stamp;
	/* QUEUE, STACK: a ring of values */
	__u8 *ring;
	__u32 head, n_queued;
	/* RINGBUF */
	struct rec *first, *last;
	__u64 prod_pos, cons_pos;
};

static struct map *maps[SHIM_MAPS_MAX];
static __u32 n_maps;

/* What a deleted or replaced entry leaves: the kernel frees it after an RCU
 * grace period, so a pointer the program still holds stays readable until
 * the run ends; here, until shim_reset. */
static void **deferred;
static __u32 n_deferred, cap_deferred;

__attribute__((noreturn, format(printf, 1, 2)))
static void shim_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bpf_shim: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		shim_die("out of memory");
	return p;
}

static void defer_free(void *p)
{
	if (n_deferred == cap_deferred) {
		cap_deferred = cap_deferred ? 2 * cap_deferred : 64;
		deferred = realloc(deferred, cap_deferred * sizeof(*deferred));
		if (!deferred)
			shim_die("out of memory");
	}
	deferred[n_deferred++] = p;
}

static const char *map_name(const struct map *m)
{
	return m->def.name ? m->def.name : "(a map)";
}

static bool is_array(__u32 type)
{
	return type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY;
}

static bool is_hash(__u32 type)
{
	return type == BPF_MAP_TYPE_HASH || type == BPF_MAP_TYPE_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LRU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
	       type == BPF_MAP_TYPE_LPM_TRIE;
}

static bool is_lru(__u32 type)
{
	return type == BPF_MAP_TYPE_LRU_HASH || type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

static bool is_queue(__u32 type)
{
	return type == BPF_MAP_TYPE_QUEUE || type == BPF_MAP_TYPE_STACK;
}

static void check_def(const struct shim_map_def *d)
{
	if (!is_array(d->type) && !is_hash(d->type) && !is_queue(d->type) &&
	    d->type != BPF_MAP_TYPE_RINGBUF)
		shim_die("%s: map type %u is not in the shim", d->name ? d->name : "(a map)", d->type);
	if (is_array(d->type) && d->key_size != 4)
		shim_die("%s: an array's key is a __u32", d->name ? d->name : "(a map)");
	if (d->type == BPF_MAP_TYPE_LPM_TRIE && (d->key_size <= 4 || d->key_size > LPM_KEY_MAX))
		shim_die("%s: an LPM key is a __u32 prefix length and data", d->name ? d->name : "(a map)");
}

static struct map *map_make(const struct shim_map_def *d)
{
	struct map *m = xcalloc(1, sizeof(*m));

	check_def(d);
	m->def = *d;
	m->limit = d->max_entries;
	if (is_array(d->type)) {
		m->elems = xcalloc(d->max_entries, sizeof(*m->elems));
		m->touched = xcalloc(d->max_entries, sizeof(*m->touched));
	} else if (is_queue(d->type)) {
		m->ring = xcalloc(d->max_entries, d->value_size);
	}
	return m;
}

/* The table of a map, made the first time it is named; every later call
 * must describe it the same way. */
static struct map *map_of(const struct shim_map_def *d)
{
	struct map *m;
	__u32 i;

	for (i = 0; i < n_maps; i++) {
		m = maps[i];
		if (m->def.map != d->map)
			continue;
		if (m->def.type != d->type || m->def.max_entries != d->max_entries ||
		    (d->key_size && m->def.key_size != d->key_size) ||
		    (d->value_size && m->def.value_size != d->value_size))
			shim_die("%s: used with another type or size than it was made with", map_name(m));
		if (!m->def.name)
			m->def.name = d->name;
		return m;
	}
	if (n_maps == SHIM_MAPS_MAX)
		shim_die("more than %d maps", SHIM_MAPS_MAX);
	m = map_make(d);
	maps[n_maps++] = m;
	return m;
}

/* ---- arrays ---- */

static void *array_elem(struct map *m, __u32 idx)
{
	if (idx >= m->def.max_entries)
		return NULL;
	if (!m->elems[idx]) {
		m->elems[idx] = xcalloc(1, m->def.value_size);
		m->touched[m->n_touched++] = idx;
	}
	return m->elems[idx];
}

static long array_update(struct map *m, __u32 idx, const void *value, __u64 flags)
{
	if (flags > BPF_EXIST)
		return -EINVAL;
	if (idx >= m->def.max_entries)
		return -E2BIG;
	if (flags == BPF_NOEXIST)
		return -EEXIST;	/* every element of an array exists */
	memcpy(array_elem(m, idx), value, m->def.value_size);
	return 0;
}

/* ---- hash, LRU and LPM maps ---- */

static __u64 key_hash(const void *key, __u32 len)
{
	const __u8 *p = key;
	__u64 h = 0xcbf29ce484222325ULL;
	__u32 i;

	for (i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h ^ (h >> 29);
}

static struct entry **slot_of(struct map *m, const void *key, __u64 hash)
{
	struct entry **e;

	if (!m->n_buckets)
		return NULL;
	for (e = &m->buckets[hash & (m->n_buckets - 1)]; *e; e = &(*e)->next)
		if ((*e)->hash == hash && !memcmp((*e)->key, key, m->def.key_size))
			return e;
	return NULL;
}

static void grow(struct map *m)
{
	__u32 n = m->n_buckets ? 2 * m->n_buckets : 64, i;
	struct entry **b = xcalloc(n, sizeof(*b));

	for (i = 0; i < m->n_buckets; i++) {
		struct entry *e = m->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	}
	free(m->buckets);
	m->buckets = b;
	m->n_buckets = n;
}

static void unlink_entry(struct map *m, struct entry **at)
{
	struct entry *e = *at;

	*at = e->next;
	m->count--;
	defer_free(e->value);
	defer_free(e);
}

/* The kernel's LRU evicts from lists it keeps approximately in order; the
 * least recently used entry is always a victim it could pick. */
static void evict_one(struct map *m)
{
	struct entry **victim = NULL, **e;
	__u32 i;

	for (i = 0; i < m->n_buckets; i++)
		for (e = &m->buckets[i]; *e; e = &(*e)->next)
			if (!victim || (*e)->used < (*victim)->used)
				victim = e;
	if (victim)
		unlink_entry(m, victim);
}

static void insert(struct map *m, const void *key, __u64 hash, const void *value)
{
	struct entry *e = xcalloc(1, sizeof(*e) + m->def.key_size);

	if (m->count >= m->n_buckets)
		grow(m);
	memcpy(e->key, key, m->def.key_size);
	e->hash = hash;
	e->used = ++m->stamp;
	e->value = xcalloc(1, m->def.value_size);
	memcpy(e->value, value, m->def.value_size);
	e->next = m->buckets[hash & (m->n_buckets - 1)];
	m->buckets[hash & (m->n_buckets - 1)] = e;
	m->count++;
}

static void *hash_lookup(struct map *m, const void *key)
{
	struct entry **e = slot_of(m, key, key_hash(key, m->def.key_size));

	if (!e)
		return NULL;
	(*e)->used = ++m->stamp;
	return (*e)->value;
}

/* A full map: -E2BIG from a hash, -ENOSPC from an LPM trie; an LRU map
 * makes room. */
static long hash_update(struct map *m, const void *key, const void *value, __u64 flags)
{
	__u64 hash = key_hash(key, m->def.key_size);
	struct entry **old;

	/* BPF_F_LOCK too: the shim has no spin locks in values */
	if (flags > BPF_EXIST)
		return -EINVAL;
	old = slot_of(m, key, hash);
	if (old && flags == BPF_NOEXIST)
		return -EEXIST;
	if (!old && flags == BPF_EXIST)
		return -ENOENT;
	if (old) {
		/* a new element replaces the old one, as in the kernel: a value
		 * pointer taken before still shows the old value */
		unlink_entry(m, old);
	} else if (m->count >= m->limit) {
		if (!is_lru(m->def.type))
			return m->def.type == BPF_MAP_TYPE_LPM_TRIE ? -ENOSPC : -E2BIG;
		evict_one(m);
	}
	insert(m, key, hash, value);
	return 0;
}

static long hash_delete(struct map *m, const void *key)
{
	struct entry **e = slot_of(m, key, key_hash(key, m->def.key_size));

	if (!e)
		return -ENOENT;
	unlink_entry(m, e);
	return 0;
}

/* ---- LPM trie: { __u32 prefixlen; __u8 data[] } ---- */

static __u32 lpm_bits(const struct map *m)
{
	return (m->def.key_size - 4) * 8;
}

/* The key with every bit past `prefixlen` zeroed: the one stored form of
 * all keys that name the same prefix. */
static void lpm_canonical(const struct map *m, const void *key, __u32 prefixlen, __u8 *out)
{
	__u32 n = m->def.key_size - 4, i;

	memcpy(out, &prefixlen, 4);
	memcpy(out + 4, (const __u8 *)key + 4, n);
	for (i = 0; i < n; i++) {
		__u32 keep = prefixlen > 8 * i ? prefixlen - 8 * i : 0;

		if (keep < 8)
			out[4 + i] &= (__u8)(0xff00u >> keep);
	}
}

static __u32 lpm_prefixlen(const void *key)
{
	__u32 p;

	memcpy(&p, key, 4);
	return p;
}

/* The longest stored prefix that covers the key's first prefixlen bits. */
static void *lpm_lookup(struct map *m, const void *key)
{
	__u8 k[LPM_KEY_MAX];
	__u32 p = lpm_prefixlen(key);
	void *v;

	if (p > lpm_bits(m))
		p = lpm_bits(m);
	for (;; p--) {
		lpm_canonical(m, key, p, k);
		v = hash_lookup(m, k);
		if (v || !p)
			return v;
	}
}

static long lpm_update(struct map *m, const void *key, const void *value, __u64 flags)
{
	__u8 k[LPM_KEY_MAX];

	if (lpm_prefixlen(key) > lpm_bits(m))
		return -EINVAL;
	lpm_canonical(m, key, lpm_prefixlen(key), k);
	return hash_update(m, k, value, flags);
}

static long lpm_delete(struct map *m, const void *key)
{
	__u8 k[LPM_KEY_MAX];

	if (lpm_prefixlen(key) > lpm_bits(m))
		return -EINVAL;
	lpm_canonical(m, key, lpm_prefixlen(key), k);
	return hash_delete(m, k);
}

/* ---- the map helpers ---- */

void *shim_map_lookup(const struct shim_map_def *d, const void *key)
{
	struct map *m = map_of(d);
	__u32 idx;

	if (is_array(m->def.type)) {
		memcpy(&idx, key, 4);
		return array_elem(m, idx);
	}
	if (m->def.type == BPF_MAP_TYPE_LPM_TRIE)
		return lpm_lookup(m, key);
	if (is_hash(m->def.type))
		return hash_lookup(m, key);
	shim_die("%s: lookup on a map without keys", map_name(m));
}

long shim_map_update(const struct shim_map_def *d, const void *key, const void *value, __u64 flags)
{
	struct map *m = map_of(d);
	__u32 idx;

	if (is_array(m->def.type)) {
		memcpy(&idx, key, 4);
		return array_update(m, idx, value, flags);
	}
	if (m->def.type == BPF_MAP_TYPE_LPM_TRIE)
		return lpm_update(m, key, value, flags);
	if (is_hash(m->def.type))
		return hash_update(m, key, value, flags);
	shim_die("%s: update on a map without keys", map_name(m));
}

long shim_map_delete(const struct shim_map_def *d, const void *key)
{
	struct map *m = map_of(d);

	if (is_array(m->def.type))
		return -EINVAL;
	if (m->def.type == BPF_MAP_TYPE_LPM_TRIE)
		return lpm_delete(m, key);
	if (is_hash(m->def.type))
		return hash_delete(m, key);
	shim_die("%s: delete on a map without keys", map_name(m));
}

/* ---- queues and stacks ---- */

static struct map *queue_of(const struct shim_map_def *d)
{
	struct map *m = map_of(d);

	if (!is_queue(m->def.type))
		shim_die("%s: push, pop or peek on a map that is not a queue or stack", map_name(m));
	return m;
}

/* Where the value a pop would take sits: the oldest (queue) or newest (stack). */
static __u8 *queue_next(struct map *m)
{
	__u32 i = m->def.type == BPF_MAP_TYPE_QUEUE ? m->head : m->head + m->n_queued - 1;

	return m->ring + (size_t)(i % m->def.max_entries) * m->def.value_size;
}

static void queue_drop_oldest(struct map *m)
{
	m->head = (m->head + 1) % m->def.max_entries;
	m->n_queued--;
}

/* BPF_EXIST on a full queue or stack drops its oldest value to make room. */
long shim_map_push(const struct shim_map_def *d, const void *value, __u64 flags)
{
	struct map *m = queue_of(d);
	__u32 tail;

	if ((flags & BPF_NOEXIST) || flags > BPF_EXIST)
		return -EINVAL;
	if (m->n_queued == m->def.max_entries) {
		if (flags != BPF_EXIST)
			return -E2BIG;
		queue_drop_oldest(m);
	}
	tail = (m->head + m->n_queued) % m->def.max_entries;
	memcpy(m->ring + (size_t)tail * m->def.value_size, value, m->def.value_size);
	m->n_queued++;
	return 0;
}

long shim_map_peek(const struct shim_map_def *d, void *value)
{
	struct map *m = queue_of(d);

	if (!m->n_queued)
		return -ENOENT;
	memcpy(value, queue_next(m), m->def.value_size);
	return 0;
}

long shim_map_pop(const struct shim_map_def *d, void *value)
{
	struct map *m = queue_of(d);

	if (!m->n_queued)
		return -ENOENT;
	memcpy(value, queue_next(m), m->def.value_size);
	if (m->def.type == BPF_MAP_TYPE_QUEUE)
		queue_drop_oldest(m);
	else
		m->n_queued--;
	return 0;
}

/* ---- ring buffers ---- */

static struct map *ringbuf_of(const struct shim_map_def *d)
{
	struct map *m = map_of(d);

	if (m->def.type != BPF_MAP_TYPE_RINGBUF)
		shim_die("%s: a ring buffer helper on a map that is not one", map_name(m));
	return m;
}

static __u64 rb_len(__u64 size)
{
	return (size + RB_HDR + 7) & ~7ULL;
}

void *shim_ringbuf_reserve(const struct shim_map_def *d, __u64 size, __u64 flags)
{
	struct map *m = ringbuf_of(d);
	struct rec *r;

	if (flags || size > m->def.max_entries || m->prod_pos + rb_len(size) - m->cons_pos > m->def.max_entries)
		return NULL;
	r = xcalloc(1, sizeof(*r));
	r->rb = m;
	r->size = (__u32)size;
	r->data = xcalloc(1, size);
	m->prod_pos += rb_len(size);
	if (m->last)
		m->last->next = r;
	else
		m->first = r;
	m->last = r;
	return r->data;
}

static struct rec *pending_rec(void *data)
{
	__u32 i;

	for (i = 0; i < n_maps; i++) {
		struct rec *r;

		if (maps[i]->def.type != BPF_MAP_TYPE_RINGBUF)
			continue;
		for (r = maps[i]->first; r; r = r->next)
			if (r->data == data && !r->committed && !r->discarded)
				return r;
	}
	shim_die("submit or discard of a record that is not reserved (the verifier refuses this)");
}

static void check_wakeup_flags(__u64 flags)
{
	if (flags & ~(__u64)(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP))
		shim_die("ring buffer flags %#llx", (unsigned long long)flags);
}

void shim_ringbuf_submit(void *data, __u64 flags)
{
	check_wakeup_flags(flags);
	pending_rec(data)->committed = true;
}

void shim_ringbuf_discard(void *data, __u64 flags)
{
	check_wakeup_flags(flags);
	pending_rec(data)->discarded = true;
}

long shim_ringbuf_output(const struct shim_map_def *d, const void *data, __u64 size, __u64 flags)
{
	void *p = shim_ringbuf_reserve(d, size, 0);

	if (!p)
		return -EAGAIN;
	memcpy(p, data, size);
	shim_ringbuf_submit(p, flags);
	return 0;
}

__u64 shim_ringbuf_query(const struct shim_map_def *d, __u64 flags)
{
	struct map *m = ringbuf_of(d);

	switch (flags) {
	case BPF_RB_AVAIL_DATA:
		return m->prod_pos - m->cons_pos;
	case BPF_RB_RING_SIZE:
		return m->def.max_entries;
	case BPF_RB_CONS_POS:
		return m->cons_pos;
	case BPF_RB_PROD_POS:
		return m->prod_pos;
	default:
		return 0;
	}
}

static void rec_free(struct rec *r)
{
	free(r->data);
	free(r);
}

int shim_ringbuf_consume(const struct shim_map_def *d,
			 int (*fn)(void *ctx, const void *data, __u32 size), void *ctx)
{
	struct map *m = ringbuf_of(d);
	int n = 0;

	/* a consumer stops at the first record still being written */
	while (m->first && (m->first->committed || m->first->discarded)) {
		struct rec *r = m->first;

		m->first = r->next;
		if (!m->first)
			m->last = NULL;
		m->cons_pos += rb_len(r->size);
		if (r->committed) {
			n++;
			fn(ctx, r->data, r->size);
		}
		rec_free(r);
	}
	return n;
}

__u32 shim_ringbuf_pending(void)
{
	__u32 i, n = 0;

	for (i = 0; i < n_maps; i++) {
		struct rec *r;

		if (maps[i]->def.type != BPF_MAP_TYPE_RINGBUF)
			continue;
		for (r = maps[i]->first; r; r = r->next)
			n += !r->committed && !r->discarded;
	}
	return n;
}

/* ---- for the harness ---- */

void shim_map_set_max_entries(const struct shim_map_def *d, __u32 n)
{
	struct map *m = map_of(d);

	if (!is_hash(m->def.type))
		shim_die("%s: only hash maps are resized here", map_name(m));
	m->limit = n ? n : m->def.max_entries;
}

__u32 shim_prandom_u32(void)
{
	prandom_state = prandom_state * 6364136223846793005ULL + 1442695040888963407ULL;
	return (__u32)(prandom_state >> 33);
}

__u32 shim_map_count(const struct shim_map_def *d)
{
	struct map *m = map_of(d);
	struct rec *r;
	__u32 n = 0;

	if (is_hash(m->def.type))
		return m->count;
	if (is_queue(m->def.type))
		return m->n_queued;
	if (m->def.type == BPF_MAP_TYPE_RINGBUF) {
		for (r = m->first; r; r = r->next)
			n += r->committed;
		return n;
	}
	return m->def.max_entries;
}

int shim_map_each(const struct shim_map_def *d,
		  int (*fn)(void *ctx, const void *key, const void *value), void *ctx)
{
	struct map *m = map_of(d);
	struct entry *e;
	__u32 i;
	int r;

	if (is_array(m->def.type)) {
		for (i = 0; i < m->n_touched; i++) {
			__u32 idx = m->touched[i];

			r = fn(ctx, &idx, m->elems[idx]);
			if (r)
				return r;
		}
		return 0;
	}
	if (!is_hash(m->def.type))
		shim_die("%s: only arrays and hashes can be walked", map_name(m));
	for (i = 0; i < m->n_buckets; i++)
		for (e = m->buckets[i]; e; e = e->next) {
			r = fn(ctx, e->key, e->value);
			if (r)
				return r;
		}
	return 0;
}

static void map_clear(struct map *m)
{
	struct entry *e, *next;
	struct rec *r, *rnext;
	__u32 i;

	for (i = 0; i < m->n_touched; i++) {
		free(m->elems[m->touched[i]]);
		m->elems[m->touched[i]] = NULL;
	}
	m->n_touched = 0;
	for (i = 0; i < m->n_buckets; i++) {
		for (e = m->buckets[i]; e; e = next) {
			next = e->next;
			free(e->value);
			free(e);
		}
		m->buckets[i] = NULL;
	}
	m->count = 0;
	m->head = 0;
	m->n_queued = 0;
	for (r = m->first; r; r = rnext) {
		rnext = r->next;
		rec_free(r);
	}
	m->first = m->last = NULL;
	m->prod_pos = m->cons_pos = 0;
}

void shim_reset(void)
{
	__u32 i;

	for (i = 0; i < n_maps; i++)
		map_clear(maps[i]);
	for (i = 0; i < n_deferred; i++)
		free(deferred[i]);
	n_deferred = 0;
	prandom_state = 0;
}
