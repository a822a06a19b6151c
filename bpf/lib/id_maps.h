/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * id_maps.h - who holds each chain and instance id on a steering host, in
 * the steer object (`cloudsteer run`). No program reads them: they are in
 * the object so that the daemon pins them with the rest, and a restart
 * finds every id where it was (lib/ids.h gives them). An instance node
 * keeps its own, cs_peer_ids (instance_maps.h): the two daemons may share
 * a pin directory, and each frees ids by what its own state names.
 *
 * Names are the pin names and what `bpftool map dump name <map>` takes:
 * part of the contract, like every map's type, key, value, size and flags.
 */
#ifndef CS_BPF_ID_MAPS_H
#define CS_BPF_ID_MAPS_H

#include "common.h"

/* The name each chain id was given (struct cs_id_holder, by chain id).
 * Written by `cloudsteer run` at start, on SIGHUP and when a left id is
 * freed; read by it at start, and by the CLI (`show chains` names). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CS_CHAINS_MAX);
	__type(key, __u32);
	__type(value, struct cs_id_holder);
} cs_chain_ids SEC(".maps");

/* The chain and instance name each instance id was given (struct
 * cs_id_holder, by instance id). Written by `cloudsteer run` at start, on
 * SIGHUP and when a left id is freed; read by it at start, and by the CLI
 * (`show instances` names, `drain NAME`). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, CS_INSTANCES_MAX);
	__type(key, __u32);
	__type(value, struct cs_id_holder);
} cs_instance_ids SEC(".maps");

#endif /* CS_BPF_ID_MAPS_H */
