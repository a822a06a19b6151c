/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * iptable.h - the shared cloud IP table: the part of a gateway's cluster
 * thread (lib/cluster.h) that owns the ip/ keys (docs/cluster.md).
 *
 * It lives with `run`'s pieces because only a gateway has records and
 * routes: an instance node never learns or steers by IP, so it never runs
 * this part (its cluster thread only registers the node).
 *
 * Publishing. What this node's learn makes or extends is published: the
 * NEW and EXTENDED events (learn's report_extended) name the records; the
 * daemon's loop hands them over (cs_iptable_note) and the thread writes
 * them once a tick, in transactions of up to 128 puts, each key on the lease
 * of its expiry's 5 s bucket (lib/clustervalues.h). A refresh is reported
 * by learn only once it moves the expiry past what the cluster knows by the
 * rule's grace (at least 5 s), so a busy resolver writes once a grace per
 * name, not once an answer. After a list (a start, a compaction, learn
 * losing events) every record of this node's own that etcd lacks, or holds
 * with an expiry older by that step, is published again: a restarted
 * gateway loses nothing. Records heard from the cluster are never
 * republished, unless learn refreshes them here (then they are this node's
 * own too: cs_record.origin).
 *
 * Installing. Every other gateway's record is installed with this node's
 * own ids: the name's text under the local name hash, the record under the
 * local pattern and rule found by the pattern's text (a pattern this node
 * lacks: skipped and counted), its expiry turned from the wall clock into
 * this host's, origin CS_ORIGIN_CLUSTER; its route made as learn makes one
 * (an ACL id from the pool, put back on a lost race; none for an address
 * that is never steered). A later expiry extends a copy; an earlier one
 * never shortens it. Local expiry stays the authority: the sweep removes a
 * copy when it expires, as any record. A copy goes earlier only when etcd
 * says its key is gone (a delete, or a list that lacks it) while it is
 * alive, by lookup-and-delete, and judged by what was removed: learn may
 * have made it its own meanwhile (it replaces, never writes in place, a
 * record of CS_ORIGIN_CLUSTER), and then it goes back.
 */
#ifndef CS_DAEMON_IPTABLE_H
#define CS_DAEMON_IPTABLE_H

#include <stdbool.h>
#include <linux/types.h>

#include "cloudsteer.h"
#include "lib/cluster.h"
#include "lib/config.h"
#include "lib/metrics.h"

/* The maps the part reads and writes (the daemon's, open while it runs). */
struct cs_iptable_maps {
	int records, routes, names, acl_pool, never, learn_stats;
};

struct cs_iptable;

/* The part, for this node (node), with the name hash key of the records,
 * the rules of conf, and the quota array (mapped). NULL with errno. */
struct cs_iptable *cs_iptable_new(const struct cs_iptable_maps *maps, struct cs_rule_quota *quota,
				  const __u64 name_key[2], const struct cs_conf *conf, struct cs_daemon_stats *stats);
void cs_iptable_free(struct cs_iptable *t);
struct cs_cluster_part *cs_iptable_part(struct cs_iptable *t);

/* ---- from the daemon's loop ---- */

/* The rules changed (a reload): patterns are found by text in these. 0 or
 * -ENOMEM (the old ones stay). */
int cs_iptable_set_rules(struct cs_iptable *t, const struct cs_conf *conf);
/* learn made or extended the record (name_id, addr): publish it. */
void cs_iptable_note(struct cs_iptable *t, __u64 name_id, const struct cs_addr *addr);
/* Did notes come since the last call (the thread should hear of them)? */
bool cs_iptable_noted(struct cs_iptable *t);
/* The names of the records the thread installed since the last call, for
 * the sweep to keep (keep(id, text, ctx) each). True if it removed a record
 * since: learn must not reuse an outcome that counted on it. */
bool cs_iptable_take_notes(struct cs_iptable *t, void (*keep)(__u64 id, const struct cs_name *text, void *ctx),
			   void *ctx);

#endif
