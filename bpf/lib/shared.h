/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * shared.h - the maps that learn and steer both use: the config, the rules
 * and the policy routes. The daemon pins each once; every program reuses
 * that pin.
 */
#ifndef CS_BPF_SHARED_H
#define CS_BPF_SHARED_H

#include "common.h"

/* Policy routes, keyed by IP. Written by learn (create) and the daemon (ACL
 * ids, removal); read by steer on every packet and by the CLI. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CS_ROUTES_ENTRIES);
	__type(key, struct cs_addr);
	__type(value, struct cs_route);
} cs_routes SEC(".maps");

/* Written by userspace (config load, SIGHUP); read by learn on every DNS
 * response and by steer for the affinity key. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cs_config);
} cs_config SEC(".maps");

/* Written by userspace, indexed by rule id; read by learn for TTL clamps and
 * for the priority when a second rule claims a route, and by steer for the
 * chain of a new stream. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CS_RULES_MAX);
	__type(key, __u32);
	__type(value, struct cs_rule);
} cs_rules SEC(".maps");

#endif /* CS_BPF_SHARED_H */
