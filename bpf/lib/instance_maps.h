/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * instance_maps.h - the maps of the instance object (`cloudsteer instance`):
 * per-stream state, its events, the role's config and counters. It shares no
 * map with learn or steer.
 *
 * Names are the pin names under the instance's pin directory and what
 * `bpftool map dump name <map>` takes: part of the contract, like every map's
 * type, key, value, size and flags (userspace checks them, user/lib/state.c).
 */
#ifndef CS_BPF_INSTANCE_MAPS_H
#define CS_BPF_INSTANCE_MAPS_H

#include "common.h"
#include "bucket_table.h"

/* Per-stream state of proven streams (CS_STREAM_PROVEN), both directions
 * under one key. A plain hash: the kernel never evicts from it, so a SYN
 * flood cannot push out an established stream; when it is full a proven
 * stream stays in cs_streams_new (streams_full). Written by instance on
 * every packet of its streams (it moves them here from cs_streams_new) and
 * by the instance daemon when a peer syncs a proven one (CS_STREAM_SYNCED);
 * read by instance first, by the daemon (sync, and the sweep that forgets a
 * stream quiet for its state's lifetime) and by the CLI. Sized to
 * instance.limits.streams. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CS_STREAMS_ENTRIES);
	__type(key, struct cs_flow_key);
	__type(value, struct cs_stream);
} cs_streams SEC(".maps");

/* Streams not proven yet: every stream begins here. LRU: a flood of first
 * packets churns this table alone; a full one forgets its least recently
 * used stream, never refuses a new one. Written by instance and by the
 * instance daemon (synced streams not proven on their holder); read by
 * instance when cs_streams misses, by the daemon and by the CLI. Sized to
 * instance.limits.streams_new. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CS_STREAMS_NEW_ENTRIES);
	__type(key, struct cs_flow_key);
	__type(value, struct cs_stream);
} cs_streams_new SEC(".maps");

/* Streams that are new, changed state or were taken over, as instance left
 * them (struct cs_stream_event). Written by instance; read by the instance
 * daemon, which batches them to the secondary. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
} cs_stream_evts SEC(".maps");

/* Key, chain, mode, policy and map version. Written by the instance daemon
 * (start, SIGHUP, every table rebuild); read by instance on every packet. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cs_inst_cfg);
} cs_inst_cfg SEC(".maps");

/* This node's own addresses; value unused. Written by the instance daemon;
 * read by instance: what is to or from them is never tracked, and VXLAN is
 * only taken from packets to them. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CS_LOCAL_ADDRS_MAX);
	__type(key, struct cs_addr);
	__type(value, __u32);
} cs_local_addrs SEC(".maps");

/* Outcome counters by enum cs_inst_reason, per CPU. Written by instance;
 * summed by the CLI. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CS_I_MAX);
	__type(key, __u32);
	__type(value, __u64);
} cs_inst_reasons SEC(".maps");

/* nsh: the instances of the neighbour stages of this node's chain (the
 * next; in a symmetric chain the previous too), by their instance id on
 * this node: address, this host's address toward each, the chain's SPI,
 * liveness. Written by the instance daemon (config, and its probes of
 * them); read by instance on the way out, for every packet it sends on to
 * a neighbour stage. Empty on a chain's only stage. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CS_INSTANCES_MAX);
	__type(key, __u32);
	__type(value, struct cs_instance);
} cs_next_instances SEC(".maps");

/* nsh: the neighbour stages' bucket tables, the next stage's in slot
 * CS_NEXT_SLOT and (symmetric chains) the previous one's in CS_PREV_SLOT:
 * the same rendezvous table every node builds for that stage. The instance
 * daemon builds a new one and swaps it in with one update of the slot;
 * read by instance on the way out: the bucket of a stream's code (C1) names
 * the stage's primary and secondary. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct cs_bucket_table);
} cs_next_table SEC(".maps");

/* nsh: chain headers refused, by enum cs_nsh_reason, per CPU (each such
 * packet also counts nsh_refused in cs_inst_reasons, or, on the way out,
 * is dropped under nsh_no_next). Written by instance; summed by the CLI. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CS_NSH_MAX);
	__type(key, __u32);
	__type(value, __u64);
} cs_nsh_reasons SEC(".maps");

/* The chain and instance name each instance id was given on this node
 * (struct cs_id_holder, by instance id): what a synced copy's peer names.
 * The program never touches it: it is here so the daemon pins it with the
 * rest. Written by the instance daemon at start, on SIGHUP and when a left
 * id is freed; read by it at start, and by `cloudsteer show streams`. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CS_INSTANCES_MAX);
	__type(key, __u32);
	__type(value, struct cs_id_holder);
} cs_peer_ids SEC(".maps");

/* What the sync did (struct cs_sync_stat, one entry). The program never
 * touches it: it is here so the daemon pins it with the rest. Written by the
 * instance daemon once a tick; read by `cloudsteer show sync`. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cs_sync_stat);
} cs_sync_stats SEC(".maps");

#endif /* CS_BPF_INSTANCE_MAPS_H */
