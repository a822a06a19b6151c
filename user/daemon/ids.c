// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ids.c - the daemon's side of chain and instance ids (lib/ids.h): given at
 * start against what the pins kept, again on every reload, written to the
 * pinned cs_chain_ids and cs_instance_ids, and a LEFT id freed once no flow
 * of steer names it any more.
 *
 * Why flows: steer keeps a flow's instance for as long as the flow is in
 * one of its two tables (cs_flows, cs_flows_new), whatever its age, and a
 * flow goes only when it has lived out its state's lifetime (the sweep) or
 * is evicted from cs_flows_new. An id that no flow of either table names can
 * therefore never be followed again by an old flow, and may serve a new
 * name. Until
 * then the instance drains (chains.c): its flows finish where they are.
 * Freed, its entries go first (cs_instances, cs_inst_stats; a chain's
 * cs_chains and cs_service_map), its holder after: a daemon killed between
 * the two finds an entry without a holder, and keeps it LEFT.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon.h"
#include "lib/clock.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/maps.h"
#include "lib/stagetable.h"
#include "steer.skel.h"

int cs_daemon_ids_begin(struct cs_daemon *d, char *err, size_t errlen)
{
	if (cs_ids_read_pinned(&d->ids, d->pin_dir, CS_IDS_STEER, err, errlen))
		return 1;
	return cs_ids_assign(&d->ids, &d->conf, cs_now_ns(), err, errlen) ? 2 : 0;
}

/* An entry in the dataplane that no holder accounts for (state an older
 * version left, or a daemon killed while freeing it) may still have flows:
 * it is LEFT, nameless, until they end. */
static void keep_orphans(struct cs_daemon *d)
{
	int inst_fd = bpf_map__fd(d->steer->maps.cs_instances), chain_fd = bpf_map__fd(d->steer->maps.cs_chains);
	__u64 now = cs_now_ns();
	struct cs_instance in;
	struct cs_chain ch;
	__u32 id;

	for (id = 1; id < CS_INSTANCES_MAX; id++)
		if (d->ids.inst[id].state == CS_ID_FREE && !bpf_map_lookup_elem(inst_fd, &id, &in) && in.chain_id)
			d->ids.inst[id] = (struct cs_id_holder){ .state = CS_ID_LEFT, .since_ns = now };
	for (id = 1; id < CS_CHAINS_MAX; id++)
		if (d->ids.chain[id].state == CS_ID_FREE && !bpf_map_lookup_elem(chain_fd, &id, &ch) && ch.n_buckets)
			d->ids.chain[id] = (struct cs_id_holder){ .state = CS_ID_LEFT, .since_ns = now };
}

int cs_daemon_ids_write(struct cs_daemon *d)
{
	keep_orphans(d);
	return cs_ids_write(&d->ids, bpf_map__fd(d->steer->maps.cs_chain_ids),
			    bpf_map__fd(d->steer->maps.cs_instance_ids));
}

static void note_flow(const void *key, const void *value, void *ctx)
{
	const struct cs_flow *fl = value;
	struct cs_ids_named *named = ctx;

	(void)key;
	named->inst[fl->instance % CS_INSTANCES_MAX] = true;
	named->chain[fl->chain % CS_CHAINS_MAX] = true;
}

/* Its entries gone: nothing of the old instance (state, address, counts)
 * passes to the next one to get the id. */
static void clear_instance(struct cs_daemon *d, __u32 id)
{
	struct cs_instance none = { 0 };

	bpf_map_update_elem(bpf_map__fd(d->steer->maps.cs_instances), &id, &none, BPF_ANY);
	cs_percpu_zero(bpf_map__fd(d->steer->maps.cs_inst_stats), id, sizeof(struct cs_inst_stat));
}

static void clear_chain(struct cs_daemon *d, __u32 id)
{
	struct cs_chain none = { 0 };

	__u32 k, slot;

	bpf_map_update_elem(bpf_map__fd(d->steer->maps.cs_chains), &id, &none, BPF_ANY);
	bpf_map_delete_elem(bpf_map__fd(d->steer->maps.cs_service_map), &id);
	for (k = 1; k < CS_CHAIN_STAGES_MAX; k++) {
		slot = cs_stage_slot(id, k);
		bpf_map_delete_elem(bpf_map__fd(d->steer->maps.cs_stage_map), &slot);
	}
}

static void say_freed(const char *what, __u32 id, const struct cs_id_holder *h)
{
	if (h->instance[0])
		cs_info("%s id %u is free: no flow uses %s of chain %s any more", what, id, h->instance, h->chain);
	else if (h->chain[0])
		cs_info("%s id %u is free: no flow uses chain %s any more", what, id, h->chain);
	else
		cs_info("%s id %u is free: no flow uses it any more", what, id);
}

/* Free what no flow names; clear each freed id's entries, then its holder. */
static void free_unnamed(struct cs_daemon *d, const struct cs_ids_named *named)
{
	bool freed_chain[CS_CHAINS_MAX] = { false }, freed_inst[CS_INSTANCES_MAX] = { false };
	struct cs_ids before = d->ids;
	__u32 id;
	int e;

	if (!cs_ids_release(&d->ids, named, freed_chain, freed_inst))
		return;
	pthread_mutex_lock(&d->states_lock);
	for (id = 1; id < CS_INSTANCES_MAX; id++)
		if (freed_inst[id]) {
			clear_instance(d, id);
			say_freed("instance", id, &before.inst[id]);
		}
	pthread_mutex_unlock(&d->states_lock);
	for (id = 1; id < CS_CHAINS_MAX; id++)
		if (freed_chain[id]) {
			clear_chain(d, id);
			say_freed("chain", id, &before.chain[id]);
		}
	e = cs_daemon_ids_write(d);
	if (e)
		cs_warn("ids: the freed ids could not be written to the pins: %s", strerror(-e));
}

void cs_ids_tick(struct cs_daemon *d)
{
	struct cs_ids_named named = { 0 };
	int e;

	if (!cs_ids_time_to_look(&d->ids, &d->ids_checked_ns, cs_now_ns()))
		return;
	e = cs_map_each(bpf_map__fd(d->steer->maps.cs_flows), sizeof(struct cs_flow_key), sizeof(struct cs_flow),
			note_flow, &named);
	if (!e)	/* the unproven flows are pinned too */
		e = cs_map_each(bpf_map__fd(d->steer->maps.cs_flows_new), sizeof(struct cs_flow_key),
				sizeof(struct cs_flow), note_flow, &named);
	if (e) {	/* an unread flow could name any id: free none */
		cs_warn("ids: reading the flows: %s; ids of instances that left stay kept", strerror(-e));
		return;
	}
	free_unnamed(d, &named);
}
