/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * learn_maps.h - the maps of the learn object alone: learn (XDP) and query
 * (TC egress of the learn interfaces). The maps it shares with steer are in
 * shared_maps.h.
 *
 * Names are the pin names under /sys/fs/bpf/cloudsteer/ and what `bpftool
 * map dump name <map>` takes: part of the contract, like every map's type,
 * key, value, size and flags (userspace checks them, user/lib/state.c).
 * cs_repeats and cs_scratch are the exceptions: never pinned (user/lib/pins.c).
 */
#ifndef CS_BPF_LEARN_MAPS_H
#define CS_BPF_LEARN_MAPS_H

#include "common.h"
#include "learn_structs.h"

/* The servers to learn from (learn.resolvers), keyed by address; value
 * unused. Written by userspace; read by learn when CS_CFG_RESOLVERS is set. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CS_RESOLVERS_MAX);
	__type(key, struct cs_addr);
	__type(value, __u32);
} cs_resolvers SEC(".maps");

/* Queries that left the host, by (client, port, server, DNS id, protocol).
 * Written by query (TC egress of the learn interfaces); read and consumed
 * by learn, which takes an answer only in place of its query. LRU: a flood
 * of queries pushes out the oldest, which then teach nothing. Userspace
 * only pins it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CS_QUERIES_ENTRIES);
	__type(key, struct cs_query_key);
	__type(value, struct cs_query);
} cs_queries SEC(".maps");

/* Prefixes that never get a route, value enum cs_never_kind. Written by
 * userspace (the built-in ranges and learn.never_steer with the rules; the
 * host's own addresses by the daemon as they change); read by learn before
 * it makes a route. */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, CS_NEVER_ENTRIES);
	__type(key, struct cs_never_key);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} cs_never SEC(".maps");

/* Records per rule and each rule's limit (learn.quota), by rule_id. learn
 * adds atomically; the daemon takes off through an mmap of the same memory
 * and writes the limits. The CLI reads it. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CS_RULES_MAX);
	__type(key, __u32);
	__type(value, struct cs_rule_quota);
	__uint(map_flags, BPF_F_MMAPABLE);
} cs_rule_quota SEC(".maps");

/* Written by userspace from the rule patterns, keyed by the suffix hash of a
 * pattern's name; read by learn, one lookup per label boundary of a name. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CS_RULE_NAMES_ENTRIES);
	__type(key, __u64);
	__type(value, struct cs_rule_name);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} cs_rule_names SEC(".maps");

/* Pattern texts by pattern_id, for people. Written by userspace with the
 * rules; read by the CLI. learn never touches it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CS_PATTERNS_ENTRIES);
	__type(key, __u32);
	__type(value, struct cs_pattern_info);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} cs_patterns SEC(".maps");

/* Per-rule counters, per CPU, by rule_id. Written by learn once per answer
 * a rule wins; summed by the CLI. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CS_RULES_MAX);
	__type(key, __u32);
	__type(value, struct cs_rule_stat);
} cs_rule_stats SEC(".maps");

/* The cloud IP table. Written by learn (create, refresh) and by the daemon
 * (expiry; in a cluster, its cluster thread installs and removes the records
 * other gateways publish); read by the daemon and the CLI. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CS_RECORDS_ENTRIES);
	__type(key, struct cs_record_key);
	__type(value, struct cs_record);
} cs_records SEC(".maps");

/* Owner names as text, keyed by name id. Written by learn when a record is
 * made (and by the daemon's cluster thread when it installs another
 * gateway's); read by the daemon and CLI; removed by the daemon with the
 * last record. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CS_NAMES_ENTRIES);
	__type(key, __u64);
	__type(value, struct cs_name);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} cs_names SEC(".maps");

/* Free ACL ids. Pushed by the daemon (stocking, recycling); popped by learn
 * when it makes a route, and by the daemon's cluster thread when it makes
 * one for another gateway's record. */
struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, CS_ACL_POOL_ENTRIES);
	__type(value, __u32);
} cs_acl_pool SEC(".maps");

/* Outcome counters by enum cs_reason, per CPU. Written by learn; summed by
 * the CLI and replay. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CS_R_MAX);
	__type(key, __u32);
	__type(value, __u64);
} cs_learn_stats SEC(".maps");

/* New records (and, for replay, refreshes; in a cluster, refreshes that
 * move an expiry past what the cluster knows). Written by learn; read by the
 * daemon for its log and the cluster, and by replay for its output. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} cs_learn_events SEC(".maps");

/* Direct-mapped per-CPU cache of recent outcomes (struct cs_repeat_slot);
 * written and read by learn only (the tests look at it). Not pinned. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CS_REPEAT_SLOTS);
	__type(key, __u32);
	__type(value, struct cs_repeat_slot);
} cs_repeats SEC(".maps");

/* Per-packet working memory, one slot per CPU (struct cs_scratch,
 * learn_structs.h). Written and read by learn (XDP) and query (TC egress)
 * alone; not pinned. They never interleave on one CPU: both run with bottom
 * halves off, and neither runs inside the other. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cs_scratch);
} cs_scratch SEC(".maps");

/* Steer's XDP program for the interfaces that learn and steer, at slot
 * ifindex: one XDP program runs on an interface where libxdp's dispatcher
 * cannot load, so learn hands every packet on to it (a tail call) after
 * its own work. An empty slot: learn passes the packet, and TC steers it.
 * Written by the daemon (user/daemon/steerxdp.c); read by learn. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, CS_XDP_IFINDEX_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} cs_xdp_after_learn SEC(".maps");

#endif /* CS_BPF_LEARN_MAPS_H */