// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * learn_prog.c - bpf/learn.bpf.c, the very source the kernel loads, built
 * as userspace C over the shim (bpf_shim.h; CS_BPF_SHIM on the command
 * line), plus the table of its maps that the harness fills and reads.
 */
#include "learn.bpf.c"

/* Maps the harness names; the others are made on first use. */
const struct shim_map_def learn_maps[] = {
	SHIM_MAP_KV(cs_config),
	SHIM_MAP_KV(cs_rules),
	SHIM_MAP_KV(cs_rule_names),
	SHIM_MAP_KV(cs_resolvers),
	SHIM_MAP_KV(cs_never),
	SHIM_MAP_KV(cs_records),
	SHIM_MAP_KV(cs_routes),
	SHIM_MAP_KV(cs_names),
	SHIM_MAP_V(cs_acl_pool),
	SHIM_MAP_KV(cs_learn_stats),
	SHIM_MAP_KV(cs_rule_stats),
	SHIM_MAP_RB(cs_learn_events),
	{ 0 },
};
