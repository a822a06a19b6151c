/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bucket_table.h - a stage's bucket table (struct cs_bucket: a primary and
 * a secondary instance per bucket) as both programs that choose an
 * instance keep it: steer for a chain's first stage (cs_service_map) and,
 * for return packets, its last (cs_stage_map), the instance program for the
 * stages beside its own (cs_next_table). Each is an
 * array of maps whose slots the daemons swap whole, so a packet sees an old
 * table or a new one, never half of either; and the same rule chooses in
 * both: the primary while it may take a stream, else the secondary.
 */
#ifndef CS_BPF_BUCKET_TABLE_H
#define CS_BPF_BUCKET_TABLE_H

#include "common.h"

/* The inner maps: one stage's table of struct cs_bucket. Sizes, not types:
 * libbpf 1.1 cannot size an inner map's value from its BTF type. */
struct cs_bucket_table {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CS_BUCKETS_MAX);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct cs_bucket));
};

/* The bucket of affinity code `code` in the table at `slot` of the array of
 * maps `tables`, of n_buckets (a power of two); NULL when there is none. */
static __always_inline struct cs_bucket *cs_bucket_in(void *tables, __u32 slot, __u32 n_buckets, __u32 code)
{
	void *table;
	__u32 idx;

	if (!n_buckets)
		return NULL;
	table = bpf_map_lookup_elem(tables, &slot);
	if (!table)
		return NULL;
	idx = code & (n_buckets - 1);
	return bpf_map_lookup_elem(table, &idx);
}

/* May instance `in` take a stream? Up or warming: yes (a warming instance
 * is not primary of any bucket whose secondary can be: the daemon's table
 * sees to that, not this check, so a stream fails over to it like to an up
 * one). Draining: only one pinned to it. */
static __always_inline bool cs_instance_takes(const struct cs_instance *in, bool pinned_here)
{
	return in->state == CS_INST_UP || in->state == CS_INST_WARMING ||
	       (in->state == CS_INST_DRAINING && pinned_here);
}

/* Instance id in the array `instances` when it may take the stream
 * (cs_instance_takes; pinned_here: the stream is pinned to it). */
static __always_inline struct cs_instance *cs_instance_usable(void *instances, __u32 id, bool pinned_here)
{
	struct cs_instance *in;

	if (!id)
		return NULL;
	in = bpf_map_lookup_elem(instances, &id);
	return in && cs_instance_takes(in, pinned_here) ? in : NULL;
}

/*
 * The instance of bucket b for a stream of a stage that pins nothing (every
 * stage after the first, chosen per packet): the primary while it may take
 * streams, the secondary when it may not, and the secondary too while the
 * primary is warming and the secondary is up: a returning instance's peers
 * are still syncing it the state of its buckets, so streams stay where
 * their state is until the warmup ends. NULL when neither may; the chosen
 * id in *id.
 */
static __always_inline struct cs_instance *cs_bucket_choice(void *instances, const struct cs_bucket *b, __u32 *id)
{
	struct cs_instance *p = cs_instance_usable(instances, b->primary, false);
	struct cs_instance *s = cs_instance_usable(instances, b->secondary, false);

	if (p && !(p->state == CS_INST_WARMING && s && s->state == CS_INST_UP)) {
		*id = b->primary;
		return p;
	}
	*id = b->secondary;
	return s;
}

#endif /* CS_BPF_BUCKET_TABLE_H */
