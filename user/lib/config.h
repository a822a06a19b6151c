/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * config.h - the YAML configuration (docs/configuration.md), parsed and validated.
 *
 * cs_config_load() either returns a complete, valid configuration or fails
 * with one message "FILE:LINE: reason" and touches nothing else.
 */
#ifndef CS_CONFIG_H
#define CS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "cloudsteer.h"
#include "addr.h"

#define CS_DEFAULT_CONFIG "/etc/cloudsteer/cloudsteer.yaml"
#define CS_TTL_MIN_DEFAULT   60
#define CS_TTL_MAX_DEFAULT   86400
#define CS_TTL_GRACE_DEFAULT 30
#define CS_FLOW_IDLE_DEFAULT_MS 120000
/* steer.flow_timeouts: how long a quiet TCP stream lives in each state.
 * Established is the default of Linux conntrack's
 * nf_conntrack_tcp_timeout_established: far beyond TCP keepalive's 2 h. */
#define CS_TIMEOUT_SYN_DEFAULT_MS         60000
#define CS_TIMEOUT_ESTABLISHED_DEFAULT_MS (5ULL * 86400000)
#define CS_TIMEOUT_FIN_DEFAULT_MS         120000
#define CS_TIMEOUT_LINGER_DEFAULT_MS      10000
#define CS_TIMEOUT_MAX_MS                 (30ULL * 86400000)	/* each at most 30 days */
#define CS_STREAM_IDLE_DEFAULT_MS 120000
#define CS_WARMUP_DEFAULT_MS 1000
#define CS_CLUSTER_LEASE_TTL_DEFAULT_S 10
#define CS_CLUSTER_DIAL_TIMEOUT_DEFAULT_MS 2000
#define CS_CLUSTER_REQUEST_TIMEOUT_DEFAULT_MS 5000
#define CS_CLUSTER_NAME_MAX 64		/* a cluster's or a node's name, its NUL included */

struct cs_ttl_policy {
	__u32 min, max, grace;
};

/* steer.flow_timeouts, in ms: the lifetime of a quiet TCP stream by its
 * state (user/lib/flowlife.h). The instance role keeps its TCP streams by
 * the same. */
struct cs_flow_timeouts {
	__u32 syn_ms;			/* SYN_SENT, SYN_RECV */
	__u32 established_ms;
	__u32 fin_ms;			/* CLOSING: a FIN one way */
	__u32 linger_ms;		/* CLOSED: FINs both ways, or a RST */
};

struct cs_pattern {
	char name[CS_NAME_TEXT_MAX];	/* lower case, no prefix, no trailing dot */
	char text[CS_NAME_TEXT_MAX + 2];	/* as shown: "=a.b", "*.a.b" or "a.b" */
	enum cs_match_kind kind;
	__u32 depth;			/* labels in name */
	__u32 rule;			/* index into cs_conf.rules */
	__u32 id;			/* pattern_id in the maps: its position + 1,
					 * unless the daemon keeps an older id */
	const char *file;		/* where it was written */
	int line;
};

struct cs_rule_conf {
	char *chain;			/* NULL: observe only */
	__u32 priority;
	__u32 quota;			/* records at most; 0: learn.quota */
	struct cs_ttl_policy ttl;
	int line;
};

struct cs_instance_conf {
	char *name;
	char *address;
	__u8 mac[6];			/* encap: its vxlan device's MAC ... */
	bool has_mac;			/* ... when given; else cs_encap_mac() */
	__u32 id;			/* its instance id on this node: `id:`, else
					 * given by name (lib/ids.h; the loader
					 * numbers as a fresh node would) */
	bool id_given;			/* `id:` fixed it */
	__u32 wire_id;			/* what the sync names it by: cs_wire_id() */
	__u32 stage;			/* the stage of its chain it serves (0 for a
					 * chain of one stage) */
	int line;
};

struct cs_health_conf {
	char *probe;			/* tcp, icmp, udp */
	__u32 port;
	__u32 interval_ms, timeout_ms, fall, rise;
	__u32 warmup_ms;		/* a returning instance is secondary only this long */
};

/* One stage of a chain: a pool of instances of one service, with its own
 * health checks and table. Its instances are the chain's instances[first]
 * to instances[first + n - 1]: one list for the whole chain, so whatever
 * walks a chain's instances (ids, drains, the sync) sees every stage's. */
struct cs_stage_conf {
	char *name;			/* a chain written without stages: the chain's */
	size_t first, n;
	struct cs_health_conf health;	/* its own health:, else a copy of the chain's */
	bool health_given;		/* health.probe is its own (freed with it) */
	int line;
};

struct cs_chain_conf {
	char *name;
	__u32 id;			/* its chain id on this node, as an instance's */
	bool id_given;
	__u32 vni;			/* its wire id: `vni:`, else cs_vni_of_name() */
	bool vni_given;
	char *mode;			/* route, encap or nsh */
	char *on_failure;		/* bypass or drop */
	bool symmetric;			/* steer return packets too */
	bool affinity_hosts;		/* affinity: hosts, the code of the pair of
					 * hosts; else (flow) the 5-tuple's */
	struct cs_instance_conf *instances;	/* every stage's, stage by stage */
	size_t n_instances;
	struct cs_stage_conf stages[CS_CHAIN_STAGES_MAX];	/* a chain without `stages:`
								 * has one, of all its instances */
	size_t n_stages;
	bool stages_given;		/* written with `stages:` */
	struct cs_health_conf health;
	int line;
};

/* Where a daemon serves its Prometheus metrics (`metrics:`). */
struct cs_listen {
	bool on;			/* absent: no endpoint */
	struct cs_addr addr;
	__u16 port;
};

/* The instance role (`cloudsteer instance`): this node is one instance of a chain. */
struct cs_instance_role {
	char *name;			/* which instance; NULL: the one whose address is local */
	char **ifaces;			/* TC ingress: where steered traffic arrives */
	size_t n_ifaces;
	bool strict;			/* policy: strict (default) or loose */
	bool sync;			/* sync state to peers (default true) */
	bool mark_code;			/* mark: code: admitted packets carry their
					 * stream's affinity code as their mark */
	__u32 stream_idle_ms;		/* a stream of UDP or another protocol this
					 * quiet is forgotten (TCP: steer.flow_timeouts) */
	__u32 limit_streams;		/* instance.limits.streams: cs_streams size */
	__u32 limit_streams_new;	/* instance.limits.streams_new: cs_streams_new size */
	struct cs_listen metrics;	/* instance.metrics: overrides the top-level one */
	int line;			/* of the `instance:` key; 0: absent */
};

/* A file read whole at load (`cluster.tls`, `cluster.credentials`): the
 * daemon never goes back to the disk for it, so what was checked is what
 * is used. */
struct cs_blob {
	char *path;			/* NULL: not given */
	char *data;			/* its bytes, NUL-terminated */
	size_t len;
};

/* The cluster (`cluster:`): the gateways that share one etcd (docs/cluster.md).
 * Absent (line 0), a node is on its own and needs no etcd. */
struct cs_cluster_conf {
	char *name;			/* in every key: /cloudsteer/v1/<name>/ */
	char *node;			/* this node's name; default the host name */
	char **endpoints;		/* http:// or https:// URLs, at least one */
	size_t n_endpoints;
	struct cs_blob ca, cert, key;	/* tls: the CA to trust, our certificate and key */
	struct cs_blob credentials;	/* "user:password" for etcd's auth */
	char *user, *password;		/* ... split */
	__u32 lease_ttl_s;		/* the node lease's TTL */
	__u32 dial_timeout_ms;		/* to connect to one endpoint */
	__u32 request_timeout_ms;	/* a whole call, whatever it takes */
	int line;			/* of the `cluster:` key; 0: absent */
};

/* steer.xdp: where steer's XDP fast path runs */
enum cs_steer_xdp {
	CS_STEER_XDP_AUTO = 0,	/* every steer interface with native XDP but a
				 * veth, whose sender leaves checksums to
				 * offload, which XDP cannot finish */
	CS_STEER_XDP_ON,	/* veths too (their senders checksum: tx off) */
	CS_STEER_XDP_OFF,	/* TC steers alone */
};

struct cs_conf {
	char **files;			/* files[0]: the config; then rule lists */
	size_t n_files;
	char **learn_ifaces;
	size_t n_learn_ifaces;
	struct cs_addr *resolvers;
	size_t n_resolvers;
	struct cs_ttl_policy ttl;	/* defaults for every rule */
	__u32 max_records;
	__u32 limit_records;		/* learn.limits.records: cs_records size */
	__u32 limit_routes;		/* learn.limits.routes: cs_routes size */
	__u32 acl_ids;			/* learn.acl_ids: ids 1..acl_ids exist */
	bool match_queries;		/* learn.match_queries: answers only to
					 * queries seen leaving (the daemon; replay
					 * and the tests of captures turn it off) */
	__u32 query_window_ms;		/* learn.query_window */
	struct cs_prefix *never;	/* learn.never_steer (default: private ranges) */
	size_t n_never;
	__u32 quota;			/* learn.quota: records per rule by default */
	char **steer_ifaces;
	size_t n_steer_ifaces;
	enum cs_steer_xdp steer_xdp;	/* steer.xdp */
	__u32 flow_idle_ms;		/* steer.flow_idle: a flow of UDP or another
					 * protocol this quiet is over */
	struct cs_flow_timeouts flow_timeouts;	/* steer.flow_timeouts: TCP's */
	__u32 limit_flows;		/* steer.limits.flows: cs_flows size */
	__u32 limit_flows_new;		/* steer.limits.flows_new: cs_flows_new size */
	struct cs_rule_conf *rules;
	size_t n_rules;
	struct cs_pattern *patterns;
	size_t n_patterns;
	struct cs_chain_conf *chains;
	size_t n_chains;
	__u64 affinity_key[2];		/* mesh.affinity_key ... */
	bool has_affinity_key;		/* ... when given */
	__u64 sync_key[2];		/* mesh.sync_key ... */
	bool has_sync_key;		/* ... when given */
	__u32 sync_port;		/* mesh.sync_port */
	struct cs_instance_role instance;
	struct cs_listen metrics;	/* metrics: ADDRESS:PORT */
	struct cs_cluster_conf cluster;
};

/* The pattern with pattern_id `id`, or NULL. Ids are positions + 1 unless
 * the daemon kept older ones, so the position is tried first. */
const struct cs_pattern *cs_pattern_by_id(const struct cs_conf *conf, __u32 id);

/* Its text ("=a.b", "*.a.b", "a.b") for logs and the CLI; "?" when the
 * config has no pattern with that id. */
const char *cs_pattern_text(const struct cs_conf *conf, __u32 id);

/* The instance named name, and the index of its chain in conf->chains in
 * *chain (may be NULL); NULL if no instance has that name. */
const struct cs_instance_conf *cs_instance_named(const struct cs_conf *conf, const char *name, size_t *chain);

/* The instance with instance id `id` (cs_instance_conf.id), and the index
 * of its chain in *chain (may be NULL); NULL when no instance has it. */
const struct cs_instance_conf *cs_instance_by_id(const struct cs_conf *conf, __u32 id, size_t *chain);

/* How many instances stage `stage` of chain cc has, its first at
 * cc->instances[*first]. A chain put together without the loader (no
 * stages filled) is one stage of all its instances. */
size_t cs_stage_span(const struct cs_chain_conf *cc, size_t stage, size_t *first);

/* How stage `stage` of chain cc is probed: its own health:, else the
 * chain's (also for a chain put together without the loader). */
const struct cs_health_conf *cs_stage_health(const struct cs_chain_conf *cc, size_t stage);

/* The chain id of a chain name (cs_chain_conf.id); 0 for NULL (observe). */
__u32 cs_chain_id_of(const struct cs_conf *conf, const char *name);

/* Returns 0, or -1 with the reason in err ("FILE:LINE: reason"). */
int cs_config_load(const char *path, struct cs_conf *conf, char *err, size_t errlen);
void cs_config_free(struct cs_conf *conf);

/*
 * Parse one rule pattern ("example.com", "*.example.com", "=example.com").
 * Returns NULL and fills p, or a static string that says what is wrong.
 */
const char *cs_pattern_parse(const char *in, struct cs_pattern *p);

/* Durations: whole numbers with units from the largest down, each unit at
 * most once ("250ms", "5s", "1h30m", "2d12h"); a bare number is in unit_ms.
 * 0, or -1 for anything else, a value beyond 64 bits of milliseconds
 * included: it never wraps to a small one. */
int cs_parse_duration_ms(const char *s, __u64 unit_ms, __u64 *out);

/* ms in the form cs_parse_duration_ms reads ("1h30m", "250ms", "0s"). */
const char *cs_duration_text(__u64 ms, char *buf, size_t len);

#endif
