/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * cluster.h - a node's life in a cluster (docs/cluster.md), on a thread of
 * its own so that neither daemon's loop ever waits on etcd.
 *
 * The thread connects (the client fails over between the endpoints),
 * grants the node's lease (cluster.lease_ttl) and keeps it alive, registers
 * the node at nodes/<node> on it (role, addresses, version, config digests,
 * the parts that are synced), and runs the parts. A part owns the keys of
 * one kind (ip/, and later obs/, leader/, map/): it lists them at one
 * revision, in pages, then follows them from that revision + 1 with a watch,
 * and publishes what it has on every tick. Its callbacks all run on this
 * thread, one at a time.
 *
 * What happens when etcd goes away, as Cilium's kvstore does it:
 *   - calls fail: the node is "disconnected" (a metric says so), nothing a
 *     part installed is touched, and the thread tries again after 1 s, then
 *     up to every 5 s; a part keeps what it could not publish;
 *   - a watch breaks: it is opened again from the revision it had reached,
 *     missing nothing;
 *   - a watch starts at a revision etcd has compacted: the part lists again,
 *     and at the end of that list removes what it installed from keys that
 *     are gone (only then: only etcd's word, once it can be heard, removes
 *     anything);
 *   - the node's lease is gone (etcd forgot it after a partition longer than
 *     its TTL): a new one is granted and every key the node keeps on it is
 *     put back (the node key, and each part's lease_new).
 * On a clean stop the lease is revoked: the node leaves at once.
 */
#ifndef CS_CLUSTER_H
#define CS_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "clusterkeys.h"
#include "clustervalues.h"
#include "config.h"
#include "confdigest.h"
#include "etcd.h"
#include "metrics.h"

#define CS_CLUSTER_TICK_MS 50		/* parts publish at most this often: 20
					 * transactions a second at most, each of
					 * up to 128 records, far below etcd's
					 * limits; a record waits 25 ms on average */
#define CS_CLUSTER_PAGE 1000		/* keys a page when a part lists */
#define CS_CLUSTER_TXN_OPS 128		/* etcd's --max-txn-ops default */
#define CS_CLUSTER_RETRY_MS 1000	/* after a failure, first try again after */
#define CS_CLUSTER_RETRY_MAX_MS 5000	/* ... doubling up to this */

/* What a part's callback may use. */
struct cs_cluster_io {
	struct cs_etcd *etcd;		/* the thread's client: every call blocks,
					 * at most cluster.request_timeout */
	const char *cluster;		/* the cluster's name */
	const char *node;		/* this node's */
	int64_t lease;			/* the node's lease: keys that are the
					 * node's and go with it hang on it */
	const char *prefix;		/* the part's keys: /cloudsteer/v1/<cluster>/<kind>/ */
	size_t prefix_len;
	struct cs_daemon_stats *stats;	/* the daemon's, for the metrics */
	char err[CS_ETCD_ERR_MAX];	/* a callback that fails says why here */
	bool relist;			/* a callback sets it when the part lost
					 * track of its keys: it lists them again */
};

/*
 * A part: one kind of key, listed, followed and published. Every callback
 * may be NULL. 0 or -errno; a failure of a list callback makes the thread
 * list again later, from list_begin.
 */
struct cs_cluster_part {
	const char *name;		/* in logs and in the node's "synced" */
	const char *kind;		/* the kind it owns (CS_CKEY_IP, ...); NULL:
					 * none to list or follow: ticks only */
	void *ctx;
	/* A list, at one revision: its start, each page, its end. At the end
	 * the part has seen every key that exists: it installs what it lacks
	 * and removes what it installed from keys the list did not hold. */
	int (*list_begin)(void *ctx, struct cs_cluster_io *io, int64_t revision);
	int (*list_page)(void *ctx, struct cs_cluster_io *io, const struct cs_etcd_kvs *page);
	int (*list_end)(void *ctx, struct cs_cluster_io *io);
	/* A change under the prefix, in order, after the list. */
	void (*event)(void *ctx, struct cs_cluster_io *io, const struct cs_etcd_event *ev);
	/* Every tick while etcd answers: publish what waits. An error is
	 * counted; the part keeps what it could not write for the next. */
	int (*tick)(void *ctx, struct cs_cluster_io *io);
	/* The node's lease is new (the first, or one after the old was lost):
	 * put back every key the part keeps on it. */
	int (*lease_new)(void *ctx, struct cs_cluster_io *io);
	/* Its first full publish is done: the node's key says so, so others
	 * know its keys are all there (Cilium's "synced" marker). */
	bool (*synced)(void *ctx);
};

struct cs_cluster_opts {
	const struct cs_cluster_conf *conf;	/* copied: the caller may free it */
	const char *role;			/* "gateway" or "instance" */
	struct cs_conf_digest digest;		/* of the config: the node's key shows it */
	unsigned int tick_ms;			/* 0: CS_CLUSTER_TICK_MS */
	struct cs_daemon_stats *stats;		/* outlives the cluster */
};

struct cs_cluster;

/* Start the thread with the parts (which outlive it). NULL with the
 * reason in err (out of memory, no thread); etcd being away is no error:
 * the thread keeps trying. */
struct cs_cluster *cs_cluster_start(const struct cs_cluster_opts *o, struct cs_cluster_part *const *parts,
				    size_t n_parts, char *err, size_t errlen);
/* Something waits to be published (any thread): the next tick comes now
 * if the last was a tick ago, else when its time comes, so sparse changes
 * go out at once and a burst still goes out once a tick. */
void cs_cluster_poke(struct cs_cluster *cl);

/* A reload changed the config: the node's key gets the new digests. */
void cs_cluster_set_digest(struct cs_cluster *cl, const struct cs_conf_digest *d);

/* The node's tables changed (any thread): the node's key gets their
 * digests and the map revisions they were built from, at the next tick. */
void cs_cluster_set_tables(struct cs_cluster *cl, const struct cs_node_table *t, size_t n);

/* What both daemons do: join the cluster of conf as role with the parts
 * (conf has a cluster: section), the digests of conf in the node's key.
 * NULL with the reason in err. */
struct cs_cluster *cs_cluster_join(const struct cs_conf *conf, const char *role, struct cs_daemon_stats *stats,
				   struct cs_cluster_part *const *parts, size_t n_parts, char *err, size_t errlen);
/* A reload: the node's key gets next's digests; a cluster: section that
 * changed takes a restart, which the log says. */
void cs_cluster_reload(struct cs_cluster *cl, const struct cs_conf *running, const struct cs_conf *next);
/* Stop the thread (within a call's timeout), revoke the node's lease when
 * etcd answers, and free cl. NULL is fine. */
void cs_cluster_stop(struct cs_cluster *cl);

/* Every key under prefix, in pages of CS_CLUSTER_PAGE, all read at one
 * revision: *revision, or (0) the first page's, which goes there. page(ctx,
 * kvs) for each; its error ends the scan. 0 or -errno (-ESTALE: etcd
 * compacted that revision meanwhile: scan again). */
int cs_cluster_scan(struct cs_etcd *c, const char *prefix, size_t prefix_len, int64_t *revision,
		    int (*page)(void *ctx, const struct cs_etcd_kvs *kvs), void *ctx, char *err, size_t errlen);

/* Put and delete ops in transactions of at most CS_CLUSTER_TXN_OPS, in
 * order; stops at the first that fails (its outcome unknown: the ops may or
 * may not have been applied). How many were applied in *done. 0 or -errno,
 * with etcd's words in err. */
int cs_cluster_write(struct cs_cluster_io *io, const struct cs_etcd_op *ops, size_t n, size_t *done, char *err,
		     size_t errlen);

#endif
