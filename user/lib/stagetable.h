/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * stagetable.h - the bucket table of one stage of a chain as every node
 * builds it from the config: the gateway for each stage after the first
 * (cs_stage_map), the instances of a stage for its neighbours
 * (cs_next_table). Over all the stage's instances, their liveness left to
 * the dataplane (the primary while it may take streams, else the
 * secondary), so every node that reads the same config holds the same
 * table and the stages agree on each code's instance.
 */
#ifndef CS_STAGETABLE_H
#define CS_STAGETABLE_H

#include <stddef.h>
#include <linux/types.h>

#include "config.h"

/* Build stage `stage` of chain cc (CS_BUCKETS_DEFAULT buckets, instance
 * ids of this node) and swap it into slot `slot` of the array of maps
 * outer_fd. 0, or -errno (-EINVAL: no such stage). */
int cs_stage_table_swap(int outer_fd, __u32 slot, const struct cs_chain_conf *cc, size_t stage);

/* The slot of cs_stage_map that holds stage `stage` of chain chain_id. */
static inline __u32 cs_stage_slot(__u32 chain_id, size_t stage)
{
	return chain_id * CS_CHAIN_STAGES_MAX + (__u32)stage;
}

#endif /* CS_STAGETABLE_H */
