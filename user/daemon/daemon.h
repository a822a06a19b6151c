/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * daemon.h - the state of `cloudsteer run` and the pieces that act on it:
 * attach, steer, chains and their tables, sweep (expiry, routes, ACL ids),
 * event log.
 */
#ifndef CS_DAEMON_H
#define CS_DAEMON_H

#include <pthread.h>
#include <stdbool.h>
#include <linux/bpf.h>	/* BPF_OBJ_NAME_LEN */
#include <linux/types.h>

#include "cloudsteer.h"
#include "lib/config.h"
#include "lib/ids.h"
#include "lib/metrics.h"
#include "lib/rules.h"

struct learn_bpf;
struct steer_bpf;
struct cs_health;
struct ring_buffer;
struct cs_cluster;
struct cs_iptable;
struct cs_mapparts;

#define CS_IFACES_MAX 16		/* per list: learn, steer */

/* A bounded pass over the records, spread over ticks. */
struct cs_sweep {
	bool active;
	__u32 token;			/* bpf_map_lookup_batch position */
	__u64 pass_start_ns;
	struct cs_addr_set *live;	/* IPs with records this pass, and their best rule */
	struct cs_addr_set *flows;	/* routes with a live flow at the end of the pass */
	struct cs_u64_set *names;	/* name ids with records this pass */
	__u64 events_lost;		/* learn's event_lost count when the pass began */
	__u64 logged;			/* records removed this pass (a line each, up to
					 * CS_LOG_REMOVED_PER_PASS) */
	__u64 expired, remapped;	/* this pass */
	__u64 put_back;			/* records removed alive after all, this pass */
	bool removed_any;
	bool check_never;		/* cs_never changed before this pass: look
					 * every route up in it */
	__u64 *ages;			/* last use of each record kept this pass */
	size_t n_ages, cap_ages;
	__u64 evicted;			/* this pass */
	__u64 lag_max_ms;		/* the latest removal after expiry, this pass */
};

struct cs_attachment {
	char ifname[16];
	int ifindex;
	const char *mode;		/* "native" or "generic" */
	bool ours;			/* attached by this daemon (not adopted) */
};

/* Counters as the periodic summary last read them (daemon/summary.c). */
struct cs_summary_counts {
	__u64 learned, refreshed, expired, evicted, routes_removed;
};

struct cs_summary {
	__u64 every_ms;			/* its interval */
	__u64 since_ms;			/* CLOCK_MONOTONIC of the last */
	struct cs_summary_counts last;
};

struct cs_daemon {
	const char *config_path;
	const char *pin_dir;
	bool detach_on_exit;
	struct cs_conf conf;
	struct cs_ruleset rs;
	struct learn_bpf *skel;
	struct steer_bpf *steer;
	struct ring_buffer *rb;
	int lock_fd;
	struct cs_attachment att[CS_IFACES_MAX];
	int n_att;
	bool xdp_steering;		/* steer_xdp runs somewhere: keep cs_xdp_ports */
	__u64 xdp_ports_next_ms;	/* when to look at the interfaces again */
	struct cs_sweep sweep;
	__u32 sweep_per_tick;		/* records looked at per tick */
	struct cs_ids ids;		/* who holds each chain and instance id
					 * (daemon/ids.c), as written to the pins */
	__u64 ids_checked_ns;		/* the last look for flows of LEFT ids */
	struct cs_health *health;	/* the prober thread */
	__u32 health_ids[CS_INSTANCES_MAX];	/* the prober's targets' ids, by
						 * their place in its list */
	int rebuild_tables;		/* set by health, read by the main loop */
	__u64 tables_digest;		/* the instance states the tables were built for */
	/* The prober thread (health verdicts) and the main loop (warmups
	 * ending, table builds) both read and write instance states in
	 * cs_instances: each read-modify-write of a state, and warm_until, is
	 * done under this lock. Held for a few map calls at most. */
	pthread_mutex_t states_lock;
	__u64 warm_until[CS_INSTANCES_MAX];	/* by instance id: when a WARMING
						 * instance may be primary
						 * (CLOCK_BOOTTIME ns); 0: not warming */
	__u64 evict_before;		/* table pressure: the next pass evicts
					 * records last used before this (0: none) */
	struct cs_rule_quota *quota;	/* cs_rule_quota, mapped: the sweep takes
					 * off the records it removes */
	__u64 locals_digest;		/* of the host's own addresses last written */
	bool never_changed;		/* cs_never was written (start, reload, the
					 * host's addresses): the next pass checks
					 * the routes against it */
	struct cs_daemon_stats stats;	/* for the metrics: written by the loop */
	struct cs_metrics *metrics;	/* the endpoint; NULL: none configured */
	__u64 capped_seen;		/* learn's rec_capped when last warned of */
	__u64 capped_warned_ms;		/* CLOCK_MONOTONIC of that warning; 0: none yet */
	struct cs_cluster *cluster;	/* the cluster thread; NULL: no cluster: section */
	struct cs_iptable *iptable;	/* its part, the shared cloud IP table */
	struct cs_mapparts *mapparts;	/* its parts that agree on the service map */
	struct cs_summary summary;	/* the periodic summary of records */
	bool drained_by_map[CS_INSTANCES_MAX];	/* by instance id: DRAINING because
						 * the agreed map says drained (so
						 * its end there makes it up again) */
};

#define CS_SWEEP_PER_TICK 65536
#define CS_TICK_MS 1000
#define CS_LOG_REMOVED_PER_PASS 1000
#define CS_FULL_PERCENT 90		/* a pass that finds the records this full... */
#define CS_EVICT_TO_PERCENT 80		/* ...makes the next one evict down to this */

/* attach.c */
/* Every learn and steer interface exists (checked before anything is touched). */
int cs_ifaces_check(const struct cs_conf *conf, char *err, size_t errlen);
int cs_attach_learn(struct cs_daemon *d, char *err, size_t errlen);
/* Detach learn from the interfaces of conf, where it is ours. Logs each. */
void cs_detach_learn(const struct cs_conf *conf);
/* The name and id of the XDP program on ifindex, as libxdp finds it. */
bool cs_xdp_attached_prog(int ifindex, char name[BPF_OBJ_NAME_LEN], __u32 *id);
int cs_xdp_detach_ifindex(int ifindex);
/* May this process attach through libxdp (CAP_SYS_ADMIN)? */
bool cs_xdp_attach_allowed(void);

/* steerxdp.c: steer's XDP fast path, where it can be (never fails a start:
 * TC steers alone where it cannot, and the log says why); the interfaces
 * it may send out of, looked at again every few seconds. */
void cs_steer_xdp_attach(struct cs_daemon *d);
void cs_steer_xdp_ports_tick(struct cs_daemon *d);
void cs_steer_xdp_detach(const struct cs_conf *conf, const char *pin_dir);

/* steer.c */
int cs_steer_load(struct cs_daemon *d, char *err, size_t errlen);
int cs_attach_steer(struct cs_daemon *d, char *err, size_t errlen);
void cs_detach_steer(const struct cs_conf *conf, const char *pin_dir);

/* chains.c */
int cs_chains_write(struct cs_daemon *d);
int cs_tables_build(struct cs_daemon *d);
void cs_tables_follow_states(struct cs_daemon *d);
/* Main loop, often (every pass): instances whose warmup is over become UP,
 * and the tables are rebuilt to make them primary where they belong. */
void cs_warmups_tick(struct cs_daemon *d);
/* Start and stop the health checks of every instance. */
int cs_health_begin(struct cs_daemon *d);
void cs_health_end(struct cs_daemon *d);

/* ids.c: chain and instance ids. At start, before anything is loaded:
 * what the pins kept, and the config's names given their ids against it.
 * 0, or the exit status with the reason in err: 1 when the pins cannot be
 * read, 2 when the config asks for an id this node cannot give
 * ("FILE:LINE: reason"). */
int cs_daemon_ids_begin(struct cs_daemon *d, char *err, size_t errlen);
/* d->ids into steer's pinned maps (after load and each reload). 0 or -errno. */
int cs_daemon_ids_write(struct cs_daemon *d);
/* From the main loop: every few seconds while some id is LEFT, free those
 * that no flow names any more. */
void cs_ids_tick(struct cs_daemon *d);

/* acl.c: the ACL id pool counted and made whole at start (see there). */
#define CS_ACL_SHOWN 8
struct cs_acl_check {
	__u32 on_routes;		/* distinct ids that routes hold */
	__u32 free;			/* ids queued in the pool afterwards */
	__u32 recovered;		/* ids of 1..acl_ids found nowhere: queued again */
	__u32 dropped;			/* pool entries taken out: a second copy, an id
					 * that a route holds, or 0 */
	__u32 shared;			/* routes whose id another route holds too:
					 * left as they are, and logged */
	__u32 shown[CS_ACL_SHOWN];	/* the first ids recovered, for the log */
};
/* Empty the pool, read the routes' ids, queue again what was free (minus
 * what a route holds) and every id of 1..n_ids found nowhere, its counters
 * in stats_fd (-1: none) zeroed. learn may run meanwhile. 0 or -errno. */
int cs_acl_reconcile(int pool_fd, int routes_fd, int stats_fd, __u32 n_ids, struct cs_acl_check *c);
/* Before an ACL id serves another route, its counters start from zero. */
void cs_acl_zero(int stats_fd, __u32 acl_id);

/* sweep.c */
void cs_sweep_tick(struct cs_daemon *d);
/* The host's own addresses into cs_never, when they changed. */
void cs_locals_sync(struct cs_daemon *d);
/* A name a record has, whatever the pass read: not removed at its end. */
void cs_sweep_keep_name(struct cs_sweep *sw, __u64 name_id);
/* cs_config one generation on: learn reuses no outcome from before a
 * removal of records. */
void cs_new_generation(struct cs_daemon *d);
void cs_sweep_free(struct cs_sweep *sw);

/*
 * The pieces of a pass, which the tests call without a running daemon to
 * force learn's answers between them. The sweep removes a record or route
 * with lookup-and-delete, which is atomic with learn's replacing updates
 * (a revival, a change of rule, a route's stamp or claim), and judges the
 * value it removed, not the one it read: what is alive after all goes back
 * (BPF_NOEXIST), unless learn made a new one meanwhile, which stands.
 */
/* A new pass: nothing read yet, its start stamped (pass_start_ns). */
void cs_sweep_begin(struct cs_daemon *d);
/* Remove the records the pass read (read[i] at keys[i]) as ones to go:
 * each removed, then judged by what was removed; one alive after all goes
 * back and counts as read live (its IP and name stay). Returns how many
 * went for good. */
size_t cs_sweep_remove_records(struct cs_daemon *d, const struct cs_record_key *keys,
			       const struct cs_record *read, size_t n, __u64 now);
/* The two halves of one removal: take the record (its quota taken off;
 * false if it was gone already), then settle what was taken (true: gone
 * for good; false: put back, or learn's new one stands). */
bool cs_sweep_take_record(struct cs_daemon *d, const struct cs_record_key *k, const struct cs_record *read,
			  struct cs_record *gone);
bool cs_sweep_settle_taken_record(struct cs_daemon *d, const struct cs_record_key *k, const struct cs_record *gone,
				  __u64 now);
/* One route at the end of a pass, as read (rt), against what the pass saw:
 * removed when no record read and no live flow needs it and it was not
 * stamped since the pass began; else kept, flagged, given an ACL id. True
 * if it was removed for good. */
bool cs_sweep_settle_route(struct cs_daemon *d, const struct cs_addr *key, struct cs_route *rt,
			   unsigned long *assigned);
/* The two halves of a route's removal: take it (false: none was there),
 * then settle it: */
enum cs_route_fate {
	CS_ROUTE_REMOVED,	/* not stamped since the pass began: its ACL id,
				 * counters zeroed, back to the pool */
	CS_ROUTE_PUT_BACK,	/* stamped since: learn made a record for its IP */
	CS_ROUTE_REPLACED,	/* stamped, and learn made a new route meanwhile:
				 * that one stands, the taken id goes to the pool */
};
bool cs_sweep_take_route(struct cs_daemon *d, const struct cs_addr *key, struct cs_route *gone);
enum cs_route_fate cs_sweep_settle_taken_route(struct cs_daemon *d, const struct cs_addr *key,
					       const struct cs_route *gone);

/* capped.c: answers cut at learn.max_records, warned of (rate-limited). */
#define CS_CAPPED_WARN_MS 60000		/* at most one warning line this often */
/* At start: what learn has cut so far is not this daemon's to warn of. */
void cs_capped_begin(struct cs_daemon *d);
/* Every tick: a warning if learn cut answers since the last one, and that
 * one is CS_CAPPED_WARN_MS old. */
void cs_capped_tick(struct cs_daemon *d);

/* events.c: the log line of each new record; in a cluster, what learn made
 * or extended is handed to the shared cloud IP table. */
int cs_on_learn_event(void *ctx, void *data, size_t size);

/* cluster.c: in a cluster (a cluster: section), the cluster thread and its
 * part, the shared cloud IP table (iptable.h). */
/* Join, once the dataplane is up. 0 (also without a cluster), or -1 said. */
int cs_daemon_cluster_start(struct cs_daemon *d);
/* Leave: first on exit. */
void cs_daemon_cluster_stop(struct cs_daemon *d);
/* A reload to next (before it replaces d->conf). */
void cs_daemon_cluster_reload(struct cs_daemon *d, const struct cs_conf *next);
/* From the loop, and from a sweep pass before it removes names: the names
 * of installed records kept, a new generation after removals. */
void cs_daemon_cluster_notes(struct cs_daemon *d);

/* The periodic summary at info level of what learn and the sweep did
 * (records are logged one a line only at debug level): begin once the
 * dataplane is up, tick every tick; a summary is said, and status(d) sent to
 * systemd as STATUS=, once an interval when anything happened. */
void cs_summary_begin(struct cs_daemon *d);
void cs_summary_tick(struct cs_daemon *d, void (*status)(void *daemon, char *buf, size_t len));

#endif
