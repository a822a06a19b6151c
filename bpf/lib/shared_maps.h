/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * shared_maps.h - the maps that more than one program uses: the config, the
 * rules and the policy routes, in both the learn and the steer object. The
 * daemon pins each once; every object it loads reuses that pin, so learn and
 * steer see the same entries.
 *
 * Names are the pin names under /sys/fs/bpf/cloudsteer/ and what `bpftool
 * map dump name <map>` takes: part of the contract, like every map's type,
 * key, value, size and flags (userspace checks them, user/lib/state.c).
 */
#ifndef CS_BPF_SHARED_MAPS_H
#define CS_BPF_SHARED_MAPS_H

#include "common.h"

/* Policy routes, keyed by IP. Written by learn (create) and the daemon (ACL
 * ids, removal; in a cluster, routes for the records other gateways publish);
 * read by steer on every packet and by the CLI. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CS_ROUTES_ENTRIES);
	__type(key, struct cs_addr);
	__type(value, struct cs_route);
} cs_routes SEC(".maps");

/* The config, one entry. Written by userspace (config load, SIGHUP); read
 * by learn on every DNS response, by steer for the affinity key, and by the
 * CLI (`cloudsteer explain` shows the affinity code). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cs_config);
} cs_config SEC(".maps");

/* The rules, indexed by rule id. Written by userspace; read by learn for TTL
 * clamps and for the priority when a second rule claims a route, by steer
 * for the chain of a new stream, and by the CLI. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CS_RULES_MAX);
	__type(key, __u32);
	__type(value, struct cs_rule);
} cs_rules SEC(".maps");

#endif /* CS_BPF_SHARED_MAPS_H */
