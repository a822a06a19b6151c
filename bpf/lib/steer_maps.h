/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * steer_maps.h - the maps of the steer object alone: streams, chains,
 * instances, the service map and the counters. The routes, rules and config
 * it reads are in shared_maps.h.
 *
 * Names are the pin names under /sys/fs/bpf/cloudsteer/ and what `bpftool
 * map dump name <map>` takes: part of the contract, like every map's type,
 * key, value, size and flags (userspace checks them, user/lib/state.c).
 */
#ifndef CS_BPF_STEER_MAPS_H
#define CS_BPF_STEER_MAPS_H

#include "common.h"
#include "id_maps.h"
#include "bucket_table.h"

/* Proven streams to and from routes (a flow is proven by a packet that a
 * flood of first packets does not send: the handshake's last ACK, an
 * answer, a second packet). A plain hash: the kernel never evicts from it,
 * so a flood cannot push out an established connection; when it is full a
 * proven flow stays in cs_flows_new. Written by steer on every packet of
 * its flows (it moves them here from cs_flows_new); read by steer first,
 * by the daemon, which removes a flow once it has been quiet for its
 * state's lifetime (a route with a live flow stays), and by the CLI.
 * Sized to steer.limits.flows. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CS_FLOWS_ENTRIES);
	__type(key, struct cs_flow_key);
	__type(value, struct cs_flow);
} cs_flows SEC(".maps");

/* Flows not proven yet: every flow begins here, pinned to its instance
 * like a proven one. LRU: a flood of first packets churns this table
 * alone, and when it is full the kernel evicts the least recently used of
 * its flows. Written by steer (new flows, and their packets until they are
 * proven); read by steer when cs_flows misses, by the daemon (the same
 * lifetimes as cs_flows) and by the CLI. Sized to steer.limits.flows_new. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CS_FLOWS_NEW_ENTRIES);
	__type(key, struct cs_flow_key);
	__type(value, struct cs_flow);
} cs_flows_new SEC(".maps");

/* What happened to flows and which path carried their packets (enum
 * cs_steer_counter), per CPU. Written by steer (TC) and steer_xdp; summed
 * by the CLI (`show stats`) and the metrics. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CS_S_MAX);
	__type(key, __u32);
	__type(value, __u64);
} cs_steer_stats SEC(".maps");

/* Packets and bytes per ACL id, per CPU. Written by steer; read by the CLI;
 * zeroed by the daemon before it recycles an id, so counts never move to
 * another route. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CS_ACL_POOL_ENTRIES);
	__type(key, __u32);
	__type(value, struct cs_acl_stat);
} cs_acl_stats SEC(".maps");

/* Packets and bytes per rule id, per CPU: what each rule's routes carried,
 * never zeroed (a route's ACL id is recycled, a rule's id stays while the
 * config keeps the rule in its place). Written by steer; read by the
 * daemon's metrics and the CLI. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CS_RULES_MAX);
	__type(key, __u32);
	__type(value, struct cs_acl_stat);
} cs_rule_traffic SEC(".maps");

/* Chains by chain_id: mode (route, encap, nsh), on_failure, the size of
 * the first stage's table. Written by the daemon from the config; read by
 * steer for every new or moving stream, and by the CLI. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CS_CHAINS_MAX);
	__type(key, __u32);
	__type(value, struct cs_chain);
} cs_chains SEC(".maps");

/* Instances by id: address and liveness. Written by the daemon (config,
 * health) and `cloudsteer drain`; read by steer: failover reads the state,
 * so it does not wait for a new table. The CLI reads it too. A chain of
 * stages has every stage's instances here (probed, shown); steer sends
 * only to the first stage's, which its table names. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CS_INSTANCES_MAX);
	__type(key, __u32);
	__type(value, struct cs_instance);
} cs_instances SEC(".maps");

/* Each chain's bucket table, by chain_id: that of its first stage (for a
 * chain of one stage, its only one), over that stage's instances. The
 * daemon builds a new table and swaps it in with one update of this slot:
 * a packet sees the old table or the new one, never half of either. Read
 * by steer for new or moving streams, and by the CLI. The tables of later
 * stages are in cs_stage_map (below), and on the instance nodes of the
 * stage before in cs_next_table (instance_maps.h). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, CS_CHAINS_MAX);
	__type(key, __u32);
	__array(values, struct cs_bucket_table);
} cs_service_map SEC(".maps");

/* The tables of the stages after the first of each chain of several
 * (nsh), at slot chain_id * CS_CHAIN_STAGES_MAX + stage: over the stage's
 * instances, the same rendezvous table every instance node of the stage
 * before builds (cs_next_table), so the gateway, `explain` and bpftool see
 * what the stages choose. The daemon builds each from the config and swaps
 * it in whole. Read by steer for the return packets of a symmetric chain,
 * which go to its last stage first, and by the CLI. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, CS_CHAINS_MAX * CS_CHAIN_STAGES_MAX);
	__type(key, __u32);
	__array(values, struct cs_bucket_table);
} cs_stage_map SEC(".maps");

/* Packets, bytes and streams per instance, per CPU. Written by steer; read
 * by the CLI. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CS_INSTANCES_MAX);
	__type(key, __u32);
	__type(value, struct cs_inst_stat);
} cs_inst_stats SEC(".maps");

/* A bit for every route address with a live flow (cs_route_bit), in words
 * of 64: the fast path's first look, which lets a packet of no route pass
 * before any hash lookup. A bit set for a route no flow uses any more only
 * costs a lookup; one missing only leaves the stream to TC. Written by
 * steer when it proves a flow, or takes a packet of a proven one (its
 * route's bit, so one lost to a rewrite comes back), and by the daemon,
 * which rebuilds it from the live flows every sweep pass; read by
 * steer_xdp. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CS_ROUTE_BIT_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} cs_route_bits SEC(".maps");

/* The interfaces the XDP fast path may send a frame out of, by ifindex:
 * those whose driver takes frames from XDP (ndo_xdp_xmit). Written by the
 * daemon (user/daemon/steerxdp.c), which asks the kernel what each
 * interface can do; read by steer_xdp, which leaves to TC a packet whose
 * way out is not here. */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, CS_XDP_PORTS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} cs_xdp_ports SEC(".maps");

/* The way to each instance as bpf_fib_lookup gave it, by instance id, per
 * CPU (struct cs_xdp_nh). Written and read by steer_xdp alone; never
 * pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CS_INSTANCES_MAX);
	__type(key, __u32);
	__type(value, struct cs_xdp_nh);
} cs_xdp_nh SEC(".maps");

#endif /* CS_BPF_STEER_MAPS_H */
