/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * metrics.h - the daemons' Prometheus endpoint (`metrics: ADDRESS:PORT`).
 *
 * A thread of its own answers HTTP GET /metrics with the text exposition
 * format, so a slow or hostile scraper never holds up the daemon's loop.
 * Each scrape reads the pinned maps afresh (the dataplane's counters) plus
 * what only the daemon knows (struct cs_daemon_stats, written by its loop
 * with cs_stat_set/cs_stat_add and read here without a lock). Names for
 * labels (rules, chains, instances) are copied from the config at start
 * and on every reload, under the server's own lock.
 */
#ifndef CS_METRICS_H
#define CS_METRICS_H

#include <stdio.h>
#include <linux/types.h>

#include "config.h"

enum cs_metrics_role {
	CS_METRICS_RUN,		/* the steering host: learn, routes, steer */
	CS_METRICS_INSTANCE,	/* an instance node: streams, sync */
};

/* A histogram of durations, in Prometheus' shape (cumulative buckets are
 * summed at scrape time): the bounds are CS_HIST_BOUNDS_US, the same for
 * every histogram, from 100 us (a probe on a LAN) to 10 s (a timeout). */
#define CS_HIST_BUCKETS 16
struct cs_histogram {
	__u64 bucket[CS_HIST_BUCKETS + 1];	/* observations in (bound[i-1], bound[i]];
						 * the last: above every bound (+Inf) */
	__u64 sum_us;
};

/* One observation of us microseconds; any thread (relaxed atomics). */
void cs_histogram_observe(struct cs_histogram *h, __u64 us);

/* What the health probes of one instance found (lib/health.h writes it
 * when given; the daemon keeps one per instance id, so reloads keep it). */
struct cs_probe_stats {
	__u64 ok, failed, timeout;	/* probes by result */
	struct cs_histogram latency;	/* of the probes that succeeded */
};

/* What a daemon knows that no map holds. */
struct cs_daemon_stats {
	/* run: as the last full sweep pass found them */
	__u64 records, routes, routes_kept, routes_waiting_acl, names;
	/* run: since the daemon started */
	__u64 sweep_passes, expired, evicted, routes_removed;
	__u64 expiry_lag_ms_sum;	/* over the expired records: how late */
	__u64 expiry_lag_ms_max;	/* the latest of the last pass that expired any */
	__u64 flows, flows_new;		/* in cs_flows, cs_flows_new (last pass) */
	__u64 flows_expired;		/* removed past their state's lifetime */
	/* instance */
	__u64 streams;			/* held at the last sweep, proven or new */
	__u64 streams_new;		/* of those, in cs_streams_new */
	__u64 streams_forgotten;	/* since the daemon started */
	/* both, in a cluster: written by the cluster thread (lib/cluster.h) */
	__u64 cluster_on;		/* 1: a cluster: section, so these count */
	__u64 cluster_connected;	/* 1 while etcd answers */
	__u64 cluster_lease_ttl_s;	/* the node lease's TTL at its last renewal */
	__u64 cluster_etcd_errors;	/* calls to etcd that failed */
	__u64 cluster_leases_lost;	/* leases etcd forgot: the node registered anew */
	__u64 cluster_relists;		/* lists after the first (compaction) */
	/* run, in a cluster: the shared cloud IP table (daemon/iptable.c) */
	__u64 cluster_published;	/* records this node wrote to etcd */
	__u64 cluster_installed;	/* records of other gateways installed here */
	__u64 cluster_skipped;		/* ... not installed: a pattern this node lacks */
	__u64 cluster_removed;		/* installed records removed: etcd said gone */
	__u64 cluster_lag_ms;		/* the last install: ms from the answer on its
					 * publisher to the record here */
	/* both, in a cluster: the agreed service map (lib/mapparts.h), by this
	 * node's chain id; written by the cluster thread but table_revision,
	 * by the daemon's loop when it installs a table */
	__u64 cluster_map_revision[CS_CHAINS_MAX];	/* the last agreed map heard */
	__u64 cluster_table_revision[CS_CHAINS_MAX];	/* the map the installed table
							 * was built from (0: own view) */
	__u64 cluster_table_digest[CS_CHAINS_MAX];	/* of the installed table, in names */
	__u64 cluster_leading[CS_CHAINS_MAX];		/* 1: this node leads the chain */
	__u64 cluster_map_skipped;	/* obs/, leader/, map/, drain/ values that did not parse */
	__u64 cluster_maps_written;	/* maps this node wrote as a chain's leader */
	/* run: the health probes, by instance id */
	struct cs_probe_stats probes[CS_INSTANCES_MAX];
	/* instance: from a dataplane event to its sync datagram sent */
	struct cs_histogram sync_lag;
};

static inline void cs_stat_set(__u64 *stat, __u64 v)
{
	__atomic_store_n(stat, v, __ATOMIC_RELAXED);
}

static inline void cs_stat_add(__u64 *stat, __u64 v)
{
	__atomic_fetch_add(stat, v, __ATOMIC_RELAXED);
}

struct cs_metrics;

/* Listen on at and serve the role's metrics from the maps pinned in
 * pin_dir and from stats (which must outlive the server); logs where. NULL
 * with the reason in err (the address is taken, not local, ...). */
struct cs_metrics *cs_metrics_start(const struct cs_listen *at, enum cs_metrics_role role, const char *pin_dir,
				    const struct cs_conf *conf, const struct cs_daemon_stats *stats, char *err,
				    size_t errlen);
/* The names of rules, chains and instances, after a reload. */
void cs_metrics_set_conf(struct cs_metrics *m, const struct cs_conf *conf);
/* Stop serving, close the socket, free m. NULL is fine. */
void cs_metrics_stop(struct cs_metrics *m);

/* The body of a scrape, written to f. 0, or -errno (the pins cannot be read). */
int cs_metrics_render(struct cs_metrics *m, FILE *f);

#endif
