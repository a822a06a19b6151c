/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * routes.h - the policy routes, the one map that learn and steer share (the
 * daemon pins it once; each program reuses that pin).
 */
#ifndef CS_BPF_ROUTES_H
#define CS_BPF_ROUTES_H

#include "common.h"

/* Policy routes, keyed by IP. Written by learn (create) and the daemon (ACL
 * ids, removal); read by steer on every packet and by the CLI. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CS_ROUTES_ENTRIES);
	__type(key, struct cs_addr);
	__type(value, struct cs_route);
} cs_routes SEC(".maps");

#endif /* CS_BPF_ROUTES_H */
