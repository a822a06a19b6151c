// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cluster.c - `cloudsteer run` in a cluster (docs/cluster.md): the cluster
 * thread (lib/cluster.h) with its parts, the shared cloud IP table
 * (iptable.h) and the agreed service map (lib/mapparts.h), joined once the
 * dataplane is up and left first on exit; and
 * what the daemon's loop does for it: hand learn's events over (events.c),
 * keep the names of installed records through the sweep, start a new
 * generation when the thread removed records.
 */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon.h"
#include "iptable.h"
#include "lib/cluster.h"
#include "lib/log.h"
#include "lib/mapparts.h"
#include "learn.skel.h"

/* An agreed map changed (the cluster thread): the loop builds the tables
 * from it at its next pass. */
static void agreed_map_changed(void *ctx)
{
	struct cs_daemon *d = ctx;

	__atomic_store_n(&d->rebuild_tables, 1, __ATOMIC_RELEASE);
}

/* The parts have something to write: the cluster thread ticks now. It may
 * come from the thread itself before cs_cluster_join returned: then the
 * tick comes in its time. */
static void poke_cluster(void *ctx)
{
	struct cs_daemon *d = ctx;

	cs_cluster_poke(__atomic_load_n(&d->cluster, __ATOMIC_ACQUIRE));
}

int cs_daemon_cluster_start(struct cs_daemon *d)
{
	struct cs_iptable_maps maps = {
		.records = bpf_map__fd(d->skel->maps.cs_records), .routes = bpf_map__fd(d->skel->maps.cs_routes),
		.names = bpf_map__fd(d->skel->maps.cs_names), .acl_pool = bpf_map__fd(d->skel->maps.cs_acl_pool),
		.never = bpf_map__fd(d->skel->maps.cs_never), .learn_stats = bpf_map__fd(d->skel->maps.cs_learn_stats),
	};
	struct cs_mapparts_opts mo = { .conf = &d->conf, .gateway = true, .stats = &d->stats,
				       .changed = agreed_map_changed, .poke = poke_cluster, .ctx = d };
	struct cs_cluster_part *parts[1 + CS_MAPPARTS_N];
	char err[512];

	if (!d->conf.cluster.line)
		return 0;
	d->iptable = cs_iptable_new(&maps, d->quota, d->rs.key, &d->conf, &d->stats);
	if (!d->iptable) {
		cs_err("cluster: the shared cloud IP table: %s", strerror(errno));
		return -1;
	}
	d->mapparts = cs_mapparts_new(&mo);
	if (!d->mapparts) {
		cs_err("cluster: the agreed service map: out of memory");
		return -1;
	}
	parts[0] = cs_iptable_part(d->iptable);
	cs_mapparts_parts(d->mapparts, parts + 1);
	__atomic_store_n(&d->cluster,
			 cs_cluster_join(&d->conf, "gateway", &d->stats, parts, 1 + CS_MAPPARTS_N, err, sizeof(err)),
			 __ATOMIC_RELEASE);
	if (!d->cluster) {
		cs_err("%s", err);
		return -1;
	}
	return 0;
}

void cs_daemon_cluster_stop(struct cs_daemon *d)
{
	cs_cluster_stop(d->cluster);
	d->cluster = NULL;
	cs_iptable_free(d->iptable);
	d->iptable = NULL;
	cs_mapparts_free(d->mapparts);
	d->mapparts = NULL;
}

void cs_daemon_cluster_reload(struct cs_daemon *d, const struct cs_conf *next)
{
	if (!d->cluster && !next->cluster.line)
		return;
	cs_cluster_reload(d->cluster, &d->conf, next);
	if (d->iptable && cs_iptable_set_rules(d->iptable, next))
		cs_err("reload: the cluster still finds patterns by the old rules: out of memory");
	if (cs_mapparts_set_conf(d->mapparts, next))
		cs_err("reload: the cluster still agrees on the old chains: out of memory");
}

/* A name of a record the thread installed: kept by the pass under way, and
 * put back if a pass removed it before it was handed over (as events.c
 * does for learn's). */
static void keep_installed_name(__u64 id, const struct cs_name *text, void *ctx)
{
	struct cs_daemon *d = ctx;

	cs_sweep_keep_name(&d->sweep, id);
	bpf_map_update_elem(bpf_map__fd(d->skel->maps.cs_names), &id, text, BPF_NOEXIST);
}

void cs_daemon_cluster_notes(struct cs_daemon *d)
{
	if (cs_iptable_noted(d->iptable))
		cs_cluster_poke(d->cluster);	/* published now, not at the next tick */
	if (cs_iptable_take_notes(d->iptable, keep_installed_name, d))
		cs_new_generation(d);
}
