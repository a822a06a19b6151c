// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cluster.c - the cluster thread (cluster.h): connect, lease, register,
 * list and watch each part's keys, tick, and start over whenever a call
 * fails, without ever touching what the parts installed because etcd is
 * away.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "cluster.h"
#include "clustervalues.h"
#include "log.h"
#include "version.h"	/* build/version.h */

#define CS_CLUSTER_PARTS_MAX 8

/* A part and where the thread is with it. */
struct part_state {
	struct cs_cluster_part *p;
	char prefix[CS_CKEY_MAX];
	size_t prefix_len;
	struct cs_etcd_watch *watch;
	int64_t revision;	/* every change up to it has been handed over */
	bool listed;		/* the list is done and the watch follows it */
	bool synced;		/* as the node's key last said */
	unsigned long lists;	/* done, for the log */
};

struct cs_cluster {
	struct cs_cluster_conf conf;	/* a copy: the daemon frees its own on reload */
	char role[CS_NODE_WORD_MAX];
	unsigned int tick_ms;
	struct cs_daemon_stats *stats;
	struct part_state parts[CS_CLUSTER_PARTS_MAX];
	size_t n_parts;

	pthread_t thread;
	int wake_fd;			/* an eventfd: stop, or a new digest */
	atomic_bool stopping;
	atomic_bool poked;		/* cs_cluster_poke(): tick as soon as allowed */
	pthread_mutex_t lock;		/* digest, node_dirty: the daemon's side */
	struct cs_conf_digest digest;
	struct cs_node_table tables[CS_NODE_TABLES_MAX];	/* as installed */
	size_t n_tables;
	bool node_dirty;		/* the node's key must be put again */
	__s64 started_s;

	/* the thread's alone */
	struct cs_etcd *etcd;
	int64_t lease;
	bool connected;
	__u64 lost_at_ms;		/* when etcd went away (0: it answers) */
	unsigned int retry_ms;
	__u64 next_keep_ms;		/* the lease's next renewal (CLOCK_MONOTONIC) */
	char last_err[CS_ETCD_ERR_MAX + 64];	/* what failed, for the outage's log line */
};

/* ---- the copy of the config section ---- */

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static bool dup_blob(struct cs_blob *to, const struct cs_blob *from)
{
	memset(to, 0, sizeof(*to));
	if (!from->data)
		return true;
	to->data = malloc(from->len + 1);
	if (!to->data)
		return false;
	memcpy(to->data, from->data, from->len + 1);
	to->len = from->len;
	return true;
}

static void conf_copy_free(struct cs_cluster_conf *c)
{
	size_t i;

	free(c->name);
	free(c->node);
	for (i = 0; i < c->n_endpoints; i++)
		free(c->endpoints[i]);
	free(c->endpoints);
	free(c->ca.data);
	free(c->cert.data);
	free(c->key.data);
	free(c->user);
	free(c->password);
	memset(c, 0, sizeof(*c));
}

static int conf_copy(struct cs_cluster_conf *to, const struct cs_cluster_conf *from)
{
	size_t i;
	bool ok;

	memset(to, 0, sizeof(*to));
	*to = (struct cs_cluster_conf){ .lease_ttl_s = from->lease_ttl_s, .dial_timeout_ms = from->dial_timeout_ms,
					 .request_timeout_ms = from->request_timeout_ms, .line = from->line };
	to->name = dup_or_null(from->name);
	to->node = dup_or_null(from->node);
	to->user = dup_or_null(from->user);
	to->password = dup_or_null(from->password);
	to->endpoints = calloc(from->n_endpoints ? from->n_endpoints : 1, sizeof(char *));
	ok = to->name && to->node && to->endpoints && (!from->user || to->user) &&
	     (!from->password || to->password) && dup_blob(&to->ca, &from->ca) && dup_blob(&to->cert, &from->cert) &&
	     dup_blob(&to->key, &from->key);
	for (i = 0; ok && i < from->n_endpoints; i++) {
		to->endpoints[i] = strdup(from->endpoints[i]);
		ok = to->endpoints[i] != NULL;
		to->n_endpoints = i + 1;
	}
	if (!ok) {
		conf_copy_free(to);
		return -ENOMEM;
	}
	return 0;
}

/* ---- waiting ---- */

static void wake(struct cs_cluster *cl)
{
	uint64_t one = 1;

	if (write(cl->wake_fd, &one, sizeof(one)) < 0)
		cs_debug("cluster: waking the thread: %s", strerror(errno));
}

static void drain_wake(struct cs_cluster *cl)
{
	uint64_t n;

	while (read(cl->wake_fd, &n, sizeof(n)) == sizeof(n))
		;
}

static bool stopping(struct cs_cluster *cl)
{
	return atomic_load(&cl->stopping);
}

/* Sleep ms, or until woken. */
static void pause_ms(struct cs_cluster *cl, unsigned int ms)
{
	struct pollfd p = { .fd = cl->wake_fd, .events = POLLIN };

	poll(&p, 1, (int)ms);
}

/* ---- connected or not ---- */

static __s64 wall_s(void)
{
	return (__s64)time(NULL);
}

static void count_error(struct cs_cluster *cl, const char *what, const char *err)
{
	cs_stat_add(&cl->stats->cluster_etcd_errors, 1);
	snprintf(cl->last_err, sizeof(cl->last_err), "%s: %s", what, err);
}

/* A call failed: said once per outage, not at every try. */
static void went_away(struct cs_cluster *cl)
{
	if (cl->connected || !cl->lost_at_ms) {
		cl->lost_at_ms = cs_monotonic_ms();
		cs_warn("cluster: etcd cannot be reached (%s); steering goes on with what this node has, "
			"and it tries again", cl->last_err);
	}
	cl->connected = false;
	cs_stat_set(&cl->stats->cluster_connected, 0);
}

static void came_back(struct cs_cluster *cl)
{
	if (cl->connected)
		return;
	if (cl->lost_at_ms)
		cs_info("cluster: etcd answers again at %s, after %llu s", cs_etcd_endpoint(cl->etcd),
			(unsigned long long)((cs_monotonic_ms() - cl->lost_at_ms) / 1000));
	else
		cs_info("cluster: joined %s as %s at %s (lease %llx, TTL %u s)", cl->conf.name, cl->conf.node,
			cs_etcd_endpoint(cl->etcd), (unsigned long long)cl->lease, cl->conf.lease_ttl_s);
	cl->connected = true;
	cl->lost_at_ms = 0;
	cl->retry_ms = CS_CLUSTER_RETRY_MS;
	cs_stat_set(&cl->stats->cluster_connected, 1);
}

static struct cs_cluster_io io_for(struct cs_cluster *cl, const struct part_state *ps)
{
	return (struct cs_cluster_io){ .etcd = cl->etcd, .cluster = cl->conf.name, .node = cl->conf.node,
				       .lease = cl->lease, .prefix = ps ? ps->prefix : NULL,
				       .prefix_len = ps ? ps->prefix_len : 0, .stats = cl->stats };
}

/* ---- the node's key ---- */

static bool addr_is_local_only(const struct cs_addr *a)
{
	static const __u8 v6_loop[16] = { [15] = 1 };

	if (cs_addr_is_v4(a))
		return a->b[12] == 127 || (a->b[12] == 169 && a->b[13] == 254);
	return !memcmp(a->b, v6_loop, 16) || (a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80);
}

static void node_addresses(struct cs_node_value *v)
{
	struct cs_addr all[64];
	int n = cs_local_addrs(all, 64), i;

	for (i = 0; i < n && v->n_addrs < CS_NODE_ADDRS_MAX; i++)
		if (!addr_is_local_only(&all[i]))
			v->addrs[v->n_addrs++] = all[i];
}

static void node_value(struct cs_cluster *cl, struct cs_node_value *v)
{
	size_t i;

	memset(v, 0, sizeof(*v));
	snprintf(v->role, sizeof(v->role), "%s", cl->role);
	snprintf(v->version, sizeof(v->version), "%s", CS_VERSION);
	node_addresses(v);
	pthread_mutex_lock(&cl->lock);
	v->digest = cl->digest;
	memcpy(v->tables, cl->tables, sizeof(cl->tables));
	v->n_tables = cl->n_tables;
	cl->node_dirty = false;
	pthread_mutex_unlock(&cl->lock);
	v->lease_ttl_s = cl->conf.lease_ttl_s;
	v->started_s = cl->started_s;
	for (i = 0; i < cl->n_parts; i++)
		if (cl->parts[i].synced && v->n_synced < CS_NODE_SYNCED_MAX)
			snprintf(v->synced[v->n_synced++], CS_NODE_WORD_MAX, "%s", cl->parts[i].p->name);
}

static int put_node(struct cs_cluster *cl)
{
	const char *parts[1] = { cl->conf.node };
	char key[CS_CKEY_MAX], err[CS_ETCD_ERR_MAX];
	struct cs_node_value v;
	char *json;
	int rc;

	if (cs_ckey(key, sizeof(key), cl->conf.name, CS_CKEY_NODES, parts, 1) < 0)
		return -ENAMETOOLONG;
	node_value(cl, &v);
	json = cs_node_value_encode(&v);
	if (!json)
		return -ENOMEM;
	rc = cs_etcd_put(cl->etcd, CS_ETCD_STR(key), CS_ETCD_STR(json), cl->lease, NULL, err, sizeof(err));
	free(json);
	if (rc) {
		pthread_mutex_lock(&cl->lock);
		cl->node_dirty = true;
		pthread_mutex_unlock(&cl->lock);
		count_error(cl, "registering the node", err);
	}
	return rc;
}

static bool node_dirty(struct cs_cluster *cl)
{
	bool dirty;
	size_t i;

	for (i = 0; i < cl->n_parts; i++) {
		struct part_state *ps = &cl->parts[i];
		bool synced = ps->p->synced && ps->p->synced(ps->p->ctx);

		if (synced != ps->synced) {
			ps->synced = synced;
			if (synced)
				cs_info("cluster: %s: first full publish done (the node's key says it is synced)",
					ps->p->name);
			pthread_mutex_lock(&cl->lock);
			cl->node_dirty = true;
			pthread_mutex_unlock(&cl->lock);
		}
	}
	pthread_mutex_lock(&cl->lock);
	dirty = cl->node_dirty;
	pthread_mutex_unlock(&cl->lock);
	return dirty;
}

/* ---- the lease ---- */

/* A new lease, the node's key on it, and every part's keys put back. */
static int new_lease(struct cs_cluster *cl)
{
	char err[CS_ETCD_ERR_MAX];
	size_t i;
	int rc;

	rc = cs_etcd_lease_grant(cl->etcd, cl->conf.lease_ttl_s, &cl->lease, err, sizeof(err));
	if (rc) {
		cl->lease = 0;
		count_error(cl, "granting the node's lease", err);
		return rc;
	}
	cs_stat_set(&cl->stats->cluster_lease_ttl_s, cl->conf.lease_ttl_s);
	rc = put_node(cl);
	for (i = 0; !rc && i < cl->n_parts; i++) {
		struct cs_cluster_io io = io_for(cl, &cl->parts[i]);

		if (cl->parts[i].p->lease_new && (rc = cl->parts[i].p->lease_new(cl->parts[i].p->ctx, &io)))
			count_error(cl, cl->parts[i].p->name, io.err[0] ? io.err : strerror(-rc));
	}
	return rc;
}

/* Renew the lease; a lease etcd forgot is replaced. 0 or -errno. */
static int keep_lease(struct cs_cluster *cl)
{
	char err[CS_ETCD_ERR_MAX];
	int64_t ttl = 0;
	int rc = cs_etcd_lease_keepalive(cl->etcd, cl->lease, &ttl, err, sizeof(err));

	if (!rc) {
		cs_stat_set(&cl->stats->cluster_lease_ttl_s, (__u64)ttl);
		return 0;
	}
	if (rc != -ENOENT) {
		count_error(cl, "renewing the node's lease", err);
		return rc;
	}
	cs_warn("cluster: etcd forgot this node's lease %llx (cut off longer than its TTL?): registering "
		"again on a new one", (unsigned long long)cl->lease);
	cs_stat_add(&cl->stats->cluster_leases_lost, 1);
	cl->lease = 0;
	rc = new_lease(cl);
	if (!rc)
		cs_info("cluster: registered again on lease %llx", (unsigned long long)cl->lease);
	return rc;
}

/* Renew the lease when a third of its TTL has passed since the last
 * renewal: between the rounds of the loop, and between the pages of a long
 * list, which could otherwise outlast the lease. */
static int keep_lease_if_due(struct cs_cluster *cl)
{
	__u64 now = cs_monotonic_ms();

	if (now < cl->next_keep_ms)
		return 0;
	cl->next_keep_ms = now + cl->conf.lease_ttl_s * 1000 / 3;
	return keep_lease(cl);
}

/* ---- lists and watches ---- */

int cs_cluster_scan(struct cs_etcd *c, const char *prefix, size_t prefix_len, int64_t *revision,
		    int (*page)(void *ctx, const struct cs_etcd_kvs *kvs), void *ctx, char *err, size_t errlen)
{
	unsigned char end[CS_CKEY_MAX + 1], from[CS_CKEY_MAX + 1];
	struct cs_etcd_get q = { .key = { prefix, prefix_len }, .limit = CS_CLUSTER_PAGE, .revision = *revision };
	bool more;
	int rc;

	if (prefix_len > CS_CKEY_MAX)
		return -ENAMETOOLONG;
	q.end = (struct cs_etcd_buf){ end, cs_etcd_prefix_end(prefix, prefix_len, end) };
	do {
		struct cs_etcd_kvs kvs = { 0 };

		rc = cs_etcd_get(c, &q, &kvs, err, errlen);
		if (rc)
			return rc;
		if (!q.revision)
			*revision = q.revision = kvs.revision;	/* every page at the first's */
		rc = page(ctx, &kvs);
		more = kvs.more && kvs.n;
		/* the next page starts just past the last key: the key and a NUL */
		if (!rc && more && kvs.kvs[kvs.n - 1].key_len >= CS_CKEY_MAX) {
			snprintf(err, errlen, "a key under %s is longer than %d octets", prefix, CS_CKEY_MAX);
			rc = -ENAMETOOLONG;
		} else if (!rc && more) {
			memcpy(from, kvs.kvs[kvs.n - 1].key, kvs.kvs[kvs.n - 1].key_len);
			from[kvs.kvs[kvs.n - 1].key_len] = 0;
			q.key = (struct cs_etcd_buf){ from, kvs.kvs[kvs.n - 1].key_len + 1 };
		}
		cs_etcd_kvs_free(&kvs);
	} while (!rc && more);
	return rc;
}

/* A part's list, page by page, to its callbacks. */
struct listing {
	struct cs_cluster *cl;
	struct part_state *ps;
	struct cs_cluster_io io;
	size_t n_keys;
	bool begun;
};

static int list_one_page(void *ctx, const struct cs_etcd_kvs *kvs)
{
	struct listing *l = ctx;
	struct cs_cluster_part *p = l->ps->p;
	int rc = 0;

	if (!l->begun) {
		l->begun = true;
		rc = p->list_begin ? p->list_begin(p->ctx, &l->io, kvs->revision) : 0;
	} else {
		keep_lease_if_due(l->cl);	/* a failure shows at the next call */
		l->io.lease = l->cl->lease;
	}
	if (!rc && p->list_page)
		rc = p->list_page(p->ctx, &l->io, kvs);
	l->n_keys += kvs->n;
	return rc;
}

static int list_pages(struct cs_cluster *cl, struct part_state *ps, int64_t *revision)
{
	struct listing l = { .cl = cl, .ps = ps, .io = io_for(cl, ps) };
	struct cs_cluster_part *p = ps->p;
	char err[CS_ETCD_ERR_MAX] = "";
	int rc;

	*revision = 0;
	rc = cs_cluster_scan(cl->etcd, ps->prefix, ps->prefix_len, revision, list_one_page, &l, err, sizeof(err));
	if (rc && rc != -ESTALE)
		count_error(cl, "listing", err[0] ? err : l.io.err);
	if (!rc && p->list_end)
		rc = p->list_end(p->ctx, &l.io);
	if (!rc)
		cs_info("cluster: %s: listed %zu keys at revision %lld%s", p->name, l.n_keys, (long long)*revision,
			ps->lists ? " (again)" : "");
	return rc;
}

/* List a part's keys and follow them from there. */
static int list_part(struct cs_cluster *cl, struct part_state *ps)
{
	int64_t revision = 0;
	int rc, tries = 0;

	/* etcd may compact the revision of a long list between its pages */
	while ((rc = list_pages(cl, ps, &revision)) == -ESTALE && ++tries < 3)
		cs_info("cluster: %s: etcd compacted its history during the list: listing again", ps->p->name);
	if (rc)
		return rc;
	if (ps->lists++)
		cs_stat_add(&cl->stats->cluster_relists, 1);
	ps->revision = revision;
	ps->listed = true;
	return 0;
}

static int open_watch(struct cs_cluster *cl, struct part_state *ps)
{
	struct cs_etcd_watch_opts o = { .key = { ps->prefix, ps->prefix_len }, .prefix = true,
					.start_revision = ps->revision + 1, .progress_notify = true };
	char err[CS_ETCD_ERR_MAX];
	int rc = cs_etcd_watch_open(cl->etcd, &o, &ps->watch, err, sizeof(err));

	if (rc == -ESTALE) {
		cs_info("cluster: %s: %s", ps->p->name, err);
		ps->listed = false;
	} else if (rc) {
		count_error(cl, "watching", err);
	}
	return rc;
}

static void close_watch(struct part_state *ps)
{
	cs_etcd_watch_close(ps->watch);
	ps->watch = NULL;
}

static void close_watches(struct cs_cluster *cl)
{
	size_t i;

	for (i = 0; i < cl->n_parts; i++)
		close_watch(&cl->parts[i]);
}

/* Every part listed and followed. */
static int follow_parts(struct cs_cluster *cl)
{
	size_t i;
	int rc;

	for (i = 0; i < cl->n_parts; i++) {
		struct part_state *ps = &cl->parts[i];

		if (!ps->p->kind || ps->watch)
			continue;
		if (!ps->listed && (rc = list_part(cl, ps)))
			return rc;
		rc = open_watch(cl, ps);
		if (rc == -ESTALE)	/* compacted past the list: list again */
			rc = list_part(cl, ps) ? -EAGAIN : open_watch(cl, ps);
		if (rc)
			return rc;
	}
	return 0;
}

/* What came on a part's watch. A watch that ended is closed (the next
 * round opens it again, or lists again when etcd compacted past it). */
static void drain_watch(struct cs_cluster *cl, struct part_state *ps)
{
	struct cs_cluster_io io = io_for(cl, ps);
	char err[CS_ETCD_ERR_MAX];
	struct cs_etcd_event *ev;
	int rc;

	while (ps->watch && (rc = cs_etcd_watch_next(ps->watch, 0, &ev, err, sizeof(err))) == 1) {
		if (ps->p->event)
			ps->p->event(ps->p->ctx, &io, ev);
		ps->revision = cs_etcd_watch_revision(ps->watch);
	}
	if (!ps->watch || rc == 0) {
		if (ps->watch)
			ps->revision = cs_etcd_watch_revision(ps->watch);
		return;
	}
	if (rc == -ESTALE) {
		cs_info("cluster: %s: %s", ps->p->name, err);
		ps->listed = false;
	} else {
		cs_info("cluster: %s: the watch ended (%s); opening it again from revision %lld", ps->p->name, err,
			(long long)ps->revision + 1);
	}
	close_watch(ps);
}

/* ---- the rounds ---- */

/* Client, lease, node key, lists and watches: everything a connected node
 * has. 0, or the error of the call that failed. */
static int connect_all(struct cs_cluster *cl)
{
	struct cs_etcd_opts o;
	char err[CS_ETCD_ERR_MAX];
	int rc;

	if (!cl->etcd) {
		cs_etcd_opts_from_conf(&cl->conf, &o);
		rc = cs_etcd_open(&o, &cl->etcd, err, sizeof(err));
		if (rc) {
			count_error(cl, "connecting", err);
			return rc;
		}
	}
	rc = cl->lease ? keep_lease(cl) : new_lease(cl);
	cl->next_keep_ms = cs_monotonic_ms() + cl->conf.lease_ttl_s * 1000 / 3;
	if (!rc && node_dirty(cl))
		rc = put_node(cl);
	if (!rc)
		rc = follow_parts(cl);
	return rc;
}

static bool all_followed(struct cs_cluster *cl)
{
	size_t i;

	for (i = 0; i < cl->n_parts; i++)
		if (cl->parts[i].p->kind && !cl->parts[i].watch)
			return false;
	return true;
}

static int tick_parts(struct cs_cluster *cl)
{
	size_t i;
	int rc;

	for (i = 0; i < cl->n_parts; i++) {
		struct cs_cluster_io io = io_for(cl, &cl->parts[i]);

		if (!cl->parts[i].p->tick)
			continue;
		rc = cl->parts[i].p->tick(cl->parts[i].p->ctx, &io);
		if (io.relist && cl->parts[i].p->kind) {
			cs_info("cluster: %s: listing its keys again", cl->parts[i].p->name);
			cl->parts[i].listed = false;
			close_watch(&cl->parts[i]);
		}
		if (rc) {
			count_error(cl, cl->parts[i].p->name, io.err[0] ? io.err : strerror(-rc));
			return rc;
		}
	}
	return node_dirty(cl) ? put_node(cl) : 0;
}

/* Connected: watches, keepalives and ticks until a call fails, a watch
 * ends, or the thread stops. */
static void run_connected(struct cs_cluster *cl)
{
	__u64 last_tick = 0, next_tick = cs_monotonic_ms();
	struct cs_etcd_watch *ws[CS_CLUSTER_PARTS_MAX];
	size_t i;

	while (!stopping(cl) && all_followed(cl)) {
		__u64 now = cs_monotonic_ms(), until;

		/* poked: the next tick as soon as a tick has passed since the last */
		if (atomic_exchange(&cl->poked, false) && last_tick + cl->tick_ms < next_tick)
			next_tick = last_tick + cl->tick_ms;
		until = next_tick < cl->next_keep_ms ? next_tick : cl->next_keep_ms;

		for (i = 0; i < cl->n_parts; i++)
			ws[i] = cl->parts[i].watch;
		if (until > now)
			cs_etcd_watch_wait(ws, cl->n_parts, cl->wake_fd, (int)(until - now));
		drain_wake(cl);
		for (i = 0; i < cl->n_parts; i++)
			drain_watch(cl, &cl->parts[i]);
		now = cs_monotonic_ms();
		if (keep_lease_if_due(cl))
			return;
		if (now >= next_tick) {
			if (tick_parts(cl))
				return;
			last_tick = now;
			next_tick = now + cl->tick_ms;
		}
	}
}

static void *cluster_main(void *arg)
{
	struct cs_cluster *cl = arg;
	char err[CS_ETCD_ERR_MAX];

	while (!stopping(cl)) {
		if (connect_all(cl)) {
			close_watches(cl);
			went_away(cl);
			pause_ms(cl, cl->retry_ms);
			cl->retry_ms = cl->retry_ms * 2 > CS_CLUSTER_RETRY_MAX_MS ? CS_CLUSTER_RETRY_MAX_MS
										 : cl->retry_ms * 2;
			continue;
		}
		came_back(cl);
		run_connected(cl);
		if (!stopping(cl) && all_followed(cl)) {
			/* a call failed (a watch that ended is no outage): the
			 * watches may hang on a member that is gone, and are
			 * opened again from their revisions when etcd answers */
			close_watches(cl);
			went_away(cl);
		}
	}
	close_watches(cl);
	/* leave at once, rather than a lease TTL later; not when etcd is away,
	 * which would only hold the stop for a timeout */
	if (cl->etcd && cl->lease && cl->connected && cs_etcd_lease_revoke(cl->etcd, cl->lease, err, sizeof(err)))
		cs_warn("cluster: revoking the node's lease: %s", err);
	else if (cl->lease && cl->connected)
		cs_info("cluster: left %s (lease %llx revoked)", cl->conf.name, (unsigned long long)cl->lease);
	cs_etcd_close(cl->etcd);
	cl->etcd = NULL;
	cs_stat_set(&cl->stats->cluster_connected, 0);
	return NULL;
}

/* ---- the daemon's side ---- */

static void cluster_free(struct cs_cluster *cl)
{
	if (cl->wake_fd >= 0)
		close(cl->wake_fd);
	pthread_mutex_destroy(&cl->lock);
	conf_copy_free(&cl->conf);
	free(cl);
}

static int add_parts(struct cs_cluster *cl, struct cs_cluster_part *const *parts, size_t n, char *err,
		     size_t errlen)
{
	size_t i;
	int len;

	if (n > CS_CLUSTER_PARTS_MAX) {
		snprintf(err, errlen, "cluster: more than %d parts", CS_CLUSTER_PARTS_MAX);
		return -E2BIG;
	}
	for (i = 0; i < n; i++) {
		struct part_state *ps = &cl->parts[i];

		ps->p = parts[i];
		if (!parts[i]->kind)
			continue;
		len = cs_ckey(ps->prefix, sizeof(ps->prefix), cl->conf.name, parts[i]->kind, NULL, 0);
		if (len < 0) {
			snprintf(err, errlen, "cluster: the prefix of %s is too long", parts[i]->name);
			return len;
		}
		ps->prefix_len = (size_t)len;
	}
	cl->n_parts = n;
	return 0;
}

struct cs_cluster *cs_cluster_start(const struct cs_cluster_opts *o, struct cs_cluster_part *const *parts,
				    size_t n_parts, char *err, size_t errlen)
{
	struct cs_cluster *cl = calloc(1, sizeof(*cl));
	int e;

	if (!cl) {
		snprintf(err, errlen, "cluster: out of memory");
		return NULL;
	}
	cl->wake_fd = -1;
	pthread_mutex_init(&cl->lock, NULL);
	if (conf_copy(&cl->conf, o->conf)) {
		snprintf(err, errlen, "cluster: out of memory");
		cluster_free(cl);
		return NULL;
	}
	if (add_parts(cl, parts, n_parts, err, errlen)) {
		cluster_free(cl);
		return NULL;
	}
	snprintf(cl->role, sizeof(cl->role), "%s", o->role);
	cl->digest = o->digest;
	cl->tick_ms = o->tick_ms ? o->tick_ms : CS_CLUSTER_TICK_MS;
	cl->stats = o->stats;
	cl->started_s = wall_s();
	cl->retry_ms = CS_CLUSTER_RETRY_MS;
	cs_stat_set(&cl->stats->cluster_on, 1);
	cl->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (cl->wake_fd < 0) {
		snprintf(err, errlen, "cluster: eventfd: %s", strerror(errno));
		cluster_free(cl);
		return NULL;
	}
	e = pthread_create(&cl->thread, NULL, cluster_main, cl);
	if (e) {
		snprintf(err, errlen, "cluster: cannot start its thread: %s", strerror(e));
		cluster_free(cl);
		return NULL;
	}
	cs_info("cluster: %s, node %s (%s), etcd at %zu endpoint(s)", cl->conf.name, cl->conf.node, cl->role,
		cl->conf.n_endpoints);
	return cl;
}

void cs_cluster_set_digest(struct cs_cluster *cl, const struct cs_conf_digest *d)
{
	if (!cl)
		return;
	pthread_mutex_lock(&cl->lock);
	if (memcmp(&cl->digest, d, sizeof(*d))) {
		cl->digest = *d;
		cl->node_dirty = true;
	}
	pthread_mutex_unlock(&cl->lock);
	wake(cl);
}

void cs_cluster_set_tables(struct cs_cluster *cl, const struct cs_node_table *t, size_t n)
{
	if (!cl)
		return;
	if (n > CS_NODE_TABLES_MAX)
		n = CS_NODE_TABLES_MAX;
	pthread_mutex_lock(&cl->lock);
	if (n != cl->n_tables || memcmp(cl->tables, t, n * sizeof(*t))) {
		memset(cl->tables, 0, sizeof(cl->tables));
		memcpy(cl->tables, t, n * sizeof(*t));
		cl->n_tables = n;
		cl->node_dirty = true;
	}
	pthread_mutex_unlock(&cl->lock);
	cs_cluster_poke(cl);
}

struct cs_cluster *cs_cluster_join(const struct cs_conf *conf, const char *role, struct cs_daemon_stats *stats,
				   struct cs_cluster_part *const *parts, size_t n_parts, char *err, size_t errlen)
{
	struct cs_cluster_opts o = { .conf = &conf->cluster, .role = role, .stats = stats };

	if (cs_conf_digest(conf, &o.digest)) {
		snprintf(err, errlen, "cluster: out of memory");
		return NULL;
	}
	return cs_cluster_start(&o, parts, n_parts, err, errlen);
}

static bool same_text(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same_section(const struct cs_cluster_conf *a, const struct cs_cluster_conf *b)
{
	size_t i;
	bool same = !a->line == !b->line && same_text(a->name, b->name) && same_text(a->node, b->node) &&
		    a->n_endpoints == b->n_endpoints && a->lease_ttl_s == b->lease_ttl_s &&
		    a->dial_timeout_ms == b->dial_timeout_ms && a->request_timeout_ms == b->request_timeout_ms &&
		    same_text(a->user, b->user) && same_text(a->password, b->password) &&
		    same_text(a->ca.data, b->ca.data) && same_text(a->cert.data, b->cert.data) &&
		    same_text(a->key.data, b->key.data);

	for (i = 0; same && i < a->n_endpoints; i++)
		same = !strcmp(a->endpoints[i], b->endpoints[i]);
	return same;
}

void cs_cluster_reload(struct cs_cluster *cl, const struct cs_conf *running, const struct cs_conf *next)
{
	struct cs_conf_digest d;

	if (!same_section(&running->cluster, &next->cluster))
		cs_warn("reload: cluster changes take a restart; kept the running one");
	if (cl && !cs_conf_digest(next, &d))
		cs_cluster_set_digest(cl, &d);
}

void cs_cluster_poke(struct cs_cluster *cl)
{
	if (!cl || atomic_exchange(&cl->poked, true))
		return;		/* poked already: one wake is enough */
	wake(cl);
}

void cs_cluster_stop(struct cs_cluster *cl)
{
	if (!cl)
		return;
	atomic_store(&cl->stopping, true);
	wake(cl);
	pthread_join(cl->thread, NULL);
	cluster_free(cl);
}

int cs_cluster_write(struct cs_cluster_io *io, const struct cs_etcd_op *ops, size_t n, size_t *done, char *err,
		     size_t errlen)
{
	size_t at = 0;
	int rc = 0;

	while (at < n) {
		struct cs_etcd_txn t = { .then = ops + at,
					 .n_then = n - at < CS_CLUSTER_TXN_OPS ? n - at : CS_CLUSTER_TXN_OPS };
		struct cs_etcd_txn_result r = { 0 };

		rc = cs_etcd_txn(io->etcd, &t, &r, err, errlen);
		cs_etcd_txn_result_free(&r);
		if (rc)
			break;
		at += t.n_then;
	}
	if (done)
		*done = at;
	return rc;
}
