/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * mapparts.h - the parts of the cluster thread (cluster.h) that agree on one
 * service map per chain (docs/cluster.md, "One service map"):
 *
 *   obs     this node's observations of the instances, on its lease, and
 *           everyone's, followed (a gateway's prober verdicts; an instance
 *           node says of itself that it lives);
 *   drain   the drains asked for (`cloudsteer drain` on any node), followed;
 *   map     every chain's agreed inputs, followed: a new one calls changed(),
 *           and the daemon builds its table from it;
 *   leader  (gateways) each chain's leader: campaign when there is none; the
 *           leader decides the states (cs_agreed_decide) and writes map/ in
 *           a transaction that checks its leader key's create revision (the
 *           fence), so a leader that lost its key can write nothing.
 *
 * Threads: the callbacks run on the cluster thread; cs_mapparts_observe()
 * (the prober's), cs_mapparts_agreed() (the daemon's loop) and the rest may
 * be called from any thread: one lock guards it all, never held over a
 * call to etcd.
 */
#ifndef CS_MAPPARTS_H
#define CS_MAPPARTS_H

#include <stdbool.h>
#include <stdint.h>

#include "agreedmap.h"
#include "cluster.h"
#include "config.h"
#include "metrics.h"

#define CS_MAPPARTS_N 4

struct cs_mapparts_opts {
	const struct cs_conf *conf;	/* the chains: copied */
	bool gateway;			/* observes, campaigns, leads */
	const char *self_chain;		/* an instance node: its chain and name, */
	const char *self_instance;	/* which it says lives (NULL: none) */
	struct cs_daemon_stats *stats;
	void (*changed)(void *ctx);	/* an agreed map changed (cluster thread) */
	void (*poke)(void *ctx);	/* something to write: the next tick now
					 * (cs_cluster_poke; any thread) */
	void *ctx;
};

struct cs_mapparts;

struct cs_mapparts *cs_mapparts_new(const struct cs_mapparts_opts *o);
void cs_mapparts_free(struct cs_mapparts *mp);
/* The parts, for cs_cluster_join: out gets CS_MAPPARTS_N. */
void cs_mapparts_parts(struct cs_mapparts *mp, struct cs_cluster_part **out);
/* A reload: the chains of conf from now on (agreed maps are kept by name). */
int cs_mapparts_set_conf(struct cs_mapparts *mp, const struct cs_conf *conf);

/* This node's verdict on an instance changed (any thread). */
void cs_mapparts_observe(struct cs_mapparts *mp, const char *chain, const char *instance, bool down,
			 const char *why);
/* The last agreed map of chain and its revision (its key's mod revision):
 * 0, or -ENOENT when none was heard yet. A node cut off keeps its last. */
int cs_mapparts_agreed(struct cs_mapparts *mp, const char *chain, struct cs_map_value *out, int64_t *revision);

#endif
