/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * instance.h - the state of `cloudsteer instance`: this node is one instance
 * of a chain. The instance program tracks and enforces per-stream state on
 * the interfaces where steered traffic arrives; this daemon syncs each
 * stream it holds to the other instance(s) of the stream's bucket, installs
 * what its peers sync to it, and forgets streams past their state's
 * lifetime.
 *
 * The bucket table is the steering hosts' own: the same config, the same
 * rendezvous builder (lib/servicemap), the same view of who is alive (the
 * chain's health checks, run here against the peers). A bucket names two
 * instances; the one of them that holds a stream syncs it to the other.
 */
#ifndef CS_INSTANCE_H
#define CS_INSTANCE_H

#include <stdbool.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/types.h>

#include "cloudsteer.h"
#include "lib/config.h"
#include "lib/health.h"
#include "lib/ids.h"
#include "lib/metrics.h"
#include "lib/servicemap.h"
#include "lib/sync.h"

struct instance_bpf;
struct ring_buffer;
struct cs_cluster;
struct cs_mapparts;

#define CS_INSTANCE_HANDLE 0xc6	/* our TC filter's handle and priority */
#define CS_INSTANCE_PRIO   0xc6
#define CS_INST_TICK_MS    1000
#define CS_RESYNC_AGAIN_MS 300	/* after a rebuild, the held streams go once more */
#define CS_RECV_PER_ROUND  256	/* datagrams read per loop round: a flood
				 * cannot starve the dataplane's events */

/* One instance of this node's chain, this node included. */
struct cs_member {
	const char *name;		/* the config's */
	__u32 id;			/* its instance id on this node (lib/ids.h):
					 * what a stream synced from it names */
	__u32 wire;			/* its wire id: what the sync names it by */
	struct cs_addr addr;
	struct sockaddr_storage sa;	/* addr:sync_port */
	socklen_t salen;
	bool self;
	bool up;			/* health: this node counts itself up */
	struct cs_sync_batch *out;	/* the datagram being filled for it */
	__u64 oldest_event_ns;		/* of the dataplane events in it (lag) */
};

/* nsh: one instance of a neighbour stage, where this node sends streams
 * on (neighbours.c). */
struct cs_neighbour {
	const char *name;		/* the config's */
	__u32 id;			/* its instance id on this node: its entry
					 * in cs_next_instances */
	__u32 stage;			/* of the chain */
	bool next;			/* of the next stage; else of the previous */
	struct cs_addr addr;
	bool up;			/* what its probes said last; up until
					 * the first verdict */
	__u64 warm_until_ns;		/* back from down: warming until then
					 * (cs_neighbours_tick); 0: not warming */
};

struct cs_instance_daemon {
	const char *config_path;
	const char *pin_dir;
	const char *name;		/* --name: overrides instance.name */
	bool detach_on_exit;
	struct cs_conf conf;
	struct cs_ids ids;		/* who holds each id on this node, as
					 * written to the pins (lib/ids.h) */
	__u64 ids_checked_ns;		/* the last look for streams of LEFT ids */
	size_t chain;			/* index of this node's chain in conf */
	struct cs_member members[CS_SERVICEMAP_INSTANCES_MAX];
	size_t n_members;
	size_t self;			/* index in members */
	struct cs_neighbour neighbours[CS_INSTANCES_MAX];	/* nsh: the next stage's,
								 * then the previous one's */
	size_t n_neighbours;
	struct cs_bucket *table;	/* positions in members + 1, CS_BUCKETS_DEFAULT */
	__u64 map_version;		/* Lamport clock over the table rebuilds;
					 * in a cluster, the agreed map's revision */
	int table_dirty;		/* set by health, read by the loop */
	struct instance_bpf *skel;
	struct ring_buffer *rb;
	struct cs_health *health;	/* probes the peers, then the neighbours */
	int lock_fd;
	int sock;			/* sync: bound to self's address:sync_port; -1: off */
	struct cs_sync_key sync_key;	/* the tag's (all zeros: no key configured) */
	int epoll_fd;
	struct cs_sync_stat stats;
	struct cs_daemon_stats daemon_stats;	/* for the metrics: streams */
	struct cs_metrics *metrics;	/* the endpoint; NULL: none configured */
	struct cs_cluster *cluster;	/* in a cluster: the thread that registers
					 * the node (lib/cluster.h); NULL: none */
	struct cs_mapparts *mapparts;	/* ... its parts: this node says it lives,
					 * and follows its chain's agreed map */
	__u64 resync_again_ns;		/* the held streams go once more then
					 * (after a rebuild); 0: not due */
	__u64 last_refresh_ns;		/* streams active since then are re-sent */
	__u64 refresh_every_ns;
};

/* The partners of one bucket: the instances other than this node that it
 * names, by wire id and address (zero: none). A held stream whose bucket's
 * partners change is synced again. */
struct cs_partners {
	__u32 wire[2];
	struct cs_addr addr[2];
};

/* role.c: who this node is, its peers, the table, the program's config. */
int cs_role_resolve(struct cs_instance_daemon *d, char *err, size_t errlen);
/* The chain this node serves, and its stage there. */
const struct cs_chain_conf *cs_role_chain(const struct cs_instance_daemon *d);
__u32 cs_role_stage(const struct cs_instance_daemon *d);
/* This node's index among its chain's instances (d->self is its index
 * among the members: its stage's instances). */
size_t cs_role_self_index(const struct cs_instance_daemon *d);
/* This node's addresses into cs_local_addrs: what it never tracks. */
int cs_role_local_addrs(struct cs_instance_daemon *d);
/* The program's config: key, chain, mode, policy, map version. */
int cs_role_write_cfg(struct cs_instance_daemon *d);
/* Rebuild the table over the members that are up; the map version moves on. */
int cs_role_rebuild(struct cs_instance_daemon *d);
/* In a cluster, once its parts exist: the peers' verdicts the prober
 * reached before, as this node's observations (the later ones follow from
 * the prober thread). */
void cs_role_observe_peers(struct cs_instance_daemon *d);
/* Probe the peers and the neighbours (one prober, the peers first). */
int cs_role_health_begin(struct cs_instance_daemon *d);
void cs_role_health_end(struct cs_instance_daemon *d);
/* The member at a table position (1-based), or NULL. */
struct cs_member *cs_role_member_at(struct cs_instance_daemon *d, __u16 pos);
/* A reload: this node in the new config conf, which must still name it as
 * the same instance of the same chain and give the role what it needs. 0
 * with its chain's and its own index, or -1 with why in err. */
int cs_role_find_again(const struct cs_instance_daemon *d, const struct cs_conf *conf, size_t *chain,
		       size_t *inst, char *err, size_t errlen);
/* The members and the neighbours from d->conf (just swapped in), this node
 * at (chain, inst); one of the same name and address keeps its health
 * verdict. The health checks must be stopped and the batches gone
 * (cs_sync_drop_batches). */
void cs_role_take(struct cs_instance_daemon *d, size_t chain, size_t inst);
/* d->ids' instance ids into the pinned cs_peer_ids (an instance node's
 * chain ids name nothing, and are not kept). 0 or -errno. */
int cs_role_ids_write(struct cs_instance_daemon *d);
/* Every LEFT id that no stream's peer names any more is freed (every few
 * seconds), and the pins say so. */
void cs_role_ids_tick(struct cs_instance_daemon *d);

/* neighbours.c (nsh): the instances of the stages next to this node's. */
/* The neighbours from d->conf, this node's place in it resolved; one of
 * the same name and address as before keeps its verdict. */
void cs_neighbours_take(struct cs_instance_daemon *d);
/* Every neighbour into cs_next_instances, each neighbour stage's table
 * into cs_next_table (a failure is said). Only while the prober is
 * stopped: its verdicts write the same entries. */
void cs_neighbours_write(struct cs_instance_daemon *d);
/* The neighbours as the prober's targets, with their stage's health
 * settings, into t: how many. */
size_t cs_neighbours_targets(const struct cs_instance_daemon *d, struct cs_health_target *t);
/* From the prober thread: neighbour i is up or down; its state in
 * cs_next_instances follows at once, and the log says so. */
void cs_neighbours_verdict(struct cs_instance_daemon *d, size_t i, enum cs_health_verdict verdict, const char *why);
/* Every round of the loop: a neighbour whose warmup has passed is up
 * again, primary of its buckets. */
void cs_neighbours_tick(struct cs_instance_daemon *d);

/* peers.c */
int cs_sync_open(struct cs_instance_daemon *d, char *err, size_t errlen);
/* A socket bound to self's address and port: an fd, or -1 with err. */
int cs_sync_socket(const struct cs_member *self, __u32 port, char *err, size_t errlen);
void cs_sync_close(struct cs_instance_daemon *d);
/* Free the datagrams being filled (after a flush: the members change). */
void cs_sync_drop_batches(struct cs_instance_daemon *d);
/* Every bucket's partners, into out[CS_BUCKETS_DEFAULT]. */
void cs_sync_partners(struct cs_instance_daemon *d, struct cs_partners *out);
/* Queue every held stream whose bucket's partners are not those of before
 * (cs_sync_partners of the old table). Returns how many. */
__u64 cs_sync_queue_moved(struct cs_instance_daemon *d, const struct cs_partners *before);
/* A dataplane event: queue the stream for its bucket's other instance(s). */
int cs_sync_on_event(void *ctx, void *data, size_t size);
/* Queue every held stream (active since since_ns; 0: all). Returns how many. */
__u64 cs_sync_queue_held(struct cs_instance_daemon *d, __u64 since_ns);
/* Send every queued datagram. */
void cs_sync_flush(struct cs_instance_daemon *d);
/* Read up to CS_RECV_PER_ROUND datagrams and install what is newer. */
void cs_sync_receive(struct cs_instance_daemon *d);
/* Write the counters to cs_sync_stats. */
void cs_sync_publish(struct cs_instance_daemon *d);

/* streams.c: forget streams quiet for longer than their state's lifetime
 * (steer.flow_timeouts for TCP, instance.stream_idle for the rest). */
void cs_streams_sweep(struct cs_instance_daemon *d);
/* Call fn for every entry of cs_streams_new, then of cs_streams, in batches. */
typedef void (*cs_stream_fn)(struct cs_instance_daemon *d, const struct cs_flow_key *k, const struct cs_stream *stream,
			     void *arg);
void cs_streams_each(struct cs_instance_daemon *d, cs_stream_fn fn, void *arg);

#endif
