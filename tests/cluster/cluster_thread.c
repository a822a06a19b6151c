// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The cluster thread (user/lib/cluster.h) against real etcd members that
 * tests/cluster/cluster.sh starts: a node registers on its lease with its
 * digests and its parts' synced marker; a part lists at one revision and
 * then follows every change; a lease etcd forgot is replaced and the node
 * registered again; a watch whose revision was compacted while its member
 * was away lists again, and the part learns which keys went meanwhile; etcd
 * away at the start holds nothing up; a clean stop revokes the lease.
 *
 *   cluster_thread      ETCD_ENDPOINTS (three members) and ETCD_PIDS
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "testing.h"
#include "lib/cluster.h"
#include "lib/clustervalues.h"

T_SUITE("cluster-thread");

static char *endpoints[8];
static size_t n_endpoints;
static pid_t pids[8];
static char cluster_name[32];

/* What the test part saw, under its lock (it runs on the cluster thread). */
struct seen {
	pthread_mutex_t lock;
	int lists, lease_news, ticks;
	int64_t list_revision;
	char listed[64][64];	/* the last list's keys, after the prefix */
	int n_listed;
	char events[64][80];	/* "put KEY=VALUE", "delete KEY" */
	int n_events;
};

static struct seen seen = { .lock = PTHREAD_MUTEX_INITIALIZER };

static const char *after_prefix(const struct cs_cluster_io *io, const char *key)
{
	return strlen(key) > io->prefix_len ? key + io->prefix_len : key;
}

static int t_list_begin(void *ctx, struct cs_cluster_io *io, int64_t revision)
{
	pthread_mutex_lock(&seen.lock);
	seen.n_listed = 0;
	seen.list_revision = revision;
	pthread_mutex_unlock(&seen.lock);
	return 0;
}

static int t_list_page(void *ctx, struct cs_cluster_io *io, const struct cs_etcd_kvs *page)
{
	size_t i;

	pthread_mutex_lock(&seen.lock);
	for (i = 0; i < page->n && seen.n_listed < 64; i++)
		snprintf(seen.listed[seen.n_listed++], 64, "%s", after_prefix(io, page->kvs[i].key));
	pthread_mutex_unlock(&seen.lock);
	return 0;
}

static int t_list_end(void *ctx, struct cs_cluster_io *io)
{
	pthread_mutex_lock(&seen.lock);
	seen.lists++;
	pthread_mutex_unlock(&seen.lock);
	return 0;
}

static void t_event(void *ctx, struct cs_cluster_io *io, const struct cs_etcd_event *ev)
{
	pthread_mutex_lock(&seen.lock);
	if (seen.n_events < 64) {
		if (ev->type == CS_ETCD_EVENT_PUT)
			snprintf(seen.events[seen.n_events++], 80, "put %s=%s", after_prefix(io, ev->kv.key),
				 ev->kv.value);
		else
			snprintf(seen.events[seen.n_events++], 80, "delete %s", after_prefix(io, ev->kv.key));
	}
	pthread_mutex_unlock(&seen.lock);
}

static int t_tick(void *ctx, struct cs_cluster_io *io)
{
	pthread_mutex_lock(&seen.lock);
	seen.ticks++;
	pthread_mutex_unlock(&seen.lock);
	return 0;
}

static int t_lease_new(void *ctx, struct cs_cluster_io *io)
{
	pthread_mutex_lock(&seen.lock);
	seen.lease_news++;
	pthread_mutex_unlock(&seen.lock);
	return 0;
}

/* Synced once it has ticked: its "first full publish". */
static bool t_synced(void *ctx)
{
	bool done;

	pthread_mutex_lock(&seen.lock);
	done = seen.ticks > 0;
	pthread_mutex_unlock(&seen.lock);
	return done;
}

static struct cs_cluster_part test_part = { .name = "test", .kind = "test", .list_begin = t_list_begin,
					    .list_page = t_list_page, .list_end = t_list_end, .event = t_event,
					    .tick = t_tick, .lease_new = t_lease_new, .synced = t_synced };

static void seen_reset(void)
{
	pthread_mutex_lock(&seen.lock);
	seen.lists = seen.lease_news = seen.ticks = 0;
	seen.n_listed = seen.n_events = 0;
	pthread_mutex_unlock(&seen.lock);
}

/* ---- helpers ---- */

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static struct cs_cluster_conf conf_of(char **eps, size_t n)
{
	return (struct cs_cluster_conf){ .name = cluster_name, .node = "n1", .endpoints = eps, .n_endpoints = n,
					 .lease_ttl_s = 2, .dial_timeout_ms = 300, .request_timeout_ms = 1000,
					 .line = 1 };
}

static struct cs_daemon_stats stats;

static struct cs_cluster *start(char **eps, size_t n)
{
	struct cs_cluster_conf conf = conf_of(eps, n);
	struct cs_cluster_opts o = { .conf = &conf, .role = "gateway", .tick_ms = 100, .stats = &stats };
	struct cs_cluster_part *parts[] = { &test_part };
	char err[256] = "";
	struct cs_cluster *cl;

	memset(&stats, 0, sizeof(stats));
	o.digest.all = 0x1234;
	o.digest.part[CS_DIGEST_RULES] = 0x99;
	cl = cs_cluster_start(&o, parts, 1, err, sizeof(err));
	EXPECT(cl, "%s", err);
	return cl;
}

/* A client of our own, on every member but `but` (-1: none). */
static struct cs_etcd *client_but(int but)
{
	const char *eps[8];
	struct cs_etcd_opts o = { .endpoints = eps, .dial_timeout_ms = 500, .request_timeout_ms = 3000 };
	char err[256] = "";
	struct cs_etcd *c = NULL;
	size_t i;

	for (i = 0; i < n_endpoints; i++)
		if ((int)i != but)
			eps[o.n_endpoints++] = endpoints[i];
	EXPECT(!cs_etcd_open(&o, &c, err, sizeof(err)), "%s", err);
	return c;
}

static struct cs_etcd *client(void)
{
	return client_but(-1);
}

/* A member that is not the leader: stopping it leaves the others a quorum
 * and their leader, so writes go on. -1 if none answers so. */
static int a_follower(void)
{
	struct cs_etcd_status st;
	char err[256];
	size_t i;

	for (i = 0; i < n_endpoints; i++) {
		struct cs_etcd_opts o = { .endpoints = (const char *const *)&endpoints[i], .n_endpoints = 1,
					  .dial_timeout_ms = 500, .request_timeout_ms = 2000 };
		struct cs_etcd *c = NULL;
		bool follower;

		if (cs_etcd_open(&o, &c, err, sizeof(err)))
			continue;
		follower = !cs_etcd_status(c, &st, err, sizeof(err)) && st.leader && st.member != st.leader;
		cs_etcd_close(c);
		if (follower)
			return (int)i;
	}
	return -1;
}

static const char *key(const char *kind, const char *name)
{
	static char buf[CS_CKEY_MAX];
	const char *parts[1] = { name };

	cs_ckey(buf, sizeof(buf), cluster_name, kind, parts, 1);
	return buf;
}

static int put(struct cs_etcd *c, const char *name, const char *value, int64_t *rev)
{
	char err[256] = "";
	int rc = cs_etcd_put(c, CS_ETCD_STR(key("test", name)), CS_ETCD_STR(value), 0, rev, err, sizeof(err));

	EXPECT(!rc, "put %s: %s", name, err);
	return rc;
}

static int del(struct cs_etcd *c, const char *name, int64_t *rev)
{
	char err[256] = "";
	int rc = cs_etcd_delete(c, CS_ETCD_STR(key("test", name)), false, NULL, rev, err, sizeof(err));

	EXPECT(!rc, "delete %s: %s", name, err);
	return rc;
}

/* The node's key as it is now: 1 found, 0 not. */
static int node_key(struct cs_etcd *c, struct cs_node_value *v, int64_t *lease)
{
	struct cs_etcd_get q = { .key = CS_ETCD_STR(key("nodes", "n1")) };
	struct cs_etcd_kvs r = { 0 };
	char err[256];
	int found = 0;

	if (!cs_etcd_get(c, &q, &r, err, sizeof(err)) && r.n == 1 &&
	    !cs_node_value_decode(r.kvs[0].value, r.kvs[0].value_len, v)) {
		*lease = r.kvs[0].lease;
		found = 1;
	}
	cs_etcd_kvs_free(&r);
	return found;
}

/* Wait up to ms for cond (an expression over seen, read under its lock). */
#define WAIT_FOR(ms, cond)                                                   \
	({                                                                   \
		double _t0 = now_ms();                                       \
		bool _ok = false;                                            \
		while (!_ok && now_ms() - _t0 < (ms)) {                      \
			pthread_mutex_lock(&seen.lock);                      \
			_ok = (cond);                                        \
			pthread_mutex_unlock(&seen.lock);                    \
			if (!_ok)                                            \
				usleep(20000);                               \
		}                                                            \
		_ok;                                                         \
	})

static bool listed_has(const char *name)
{
	int i;

	for (i = 0; i < seen.n_listed; i++)
		if (!strcmp(seen.listed[i], name))
			return true;
	return false;
}

static bool events_have(const char *e)
{
	int i;

	for (i = 0; i < seen.n_events; i++)
		if (!strcmp(seen.events[i], e))
			return true;
	return false;
}

static void clear_keys(struct cs_etcd *c)
{
	char prefix[CS_CKEY_MAX], err[256];

	snprintf(prefix, sizeof(prefix), "/cloudsteer/v1/%s/", cluster_name);
	cs_etcd_delete(c, CS_ETCD_STR(prefix), true, NULL, NULL, err, sizeof(err));
}

/* ---- the cases ---- */

/* The node key, on the lease, with role, digests and the synced marker;
 * the list at one revision, then every change in order. */
static void registers_lists_and_follows(void)
{
	struct cs_etcd *c = client();
	struct cs_cluster *cl = NULL;
	struct cs_node_value v;
	int64_t lease = 0, rev = 0, ttl = 0, granted = 0;
	char err[256] = "";
	double t0;

	seen_reset();
	if (!c || put(c, "a", "1", NULL) || put(c, "b", "2", &rev))
		goto out;
	t0 = now_ms();
	cl = start(endpoints, n_endpoints);
	if (!cl)
		goto out;
	EXPECT(WAIT_FOR(3000, seen.lists == 1), "no list within 3 s");
	pthread_mutex_lock(&seen.lock);
	EXPECT(seen.n_listed == 2 && listed_has("a") && listed_has("b") && seen.list_revision >= rev,
	       "listed %d keys at %lld", seen.n_listed, (long long)seen.list_revision);
	pthread_mutex_unlock(&seen.lock);
	EXPECT(WAIT_FOR(3000, seen.ticks > 0 && stats.cluster_connected == 1), "not connected");
	printf("cluster-thread: joined and listed in %.0f ms\n", now_ms() - t0);
	EXPECT(WAIT_FOR(3000, node_key(c, &v, &lease) && v.n_synced == 1), "no node key with the synced marker");
	EXPECT(!strcmp(v.role, "gateway") && v.digest.all == 0x1234 && v.digest.part[CS_DIGEST_RULES] == 0x99 &&
	       v.lease_ttl_s == 2 && !strcmp(v.synced[0], "test") && lease, "node: %s %llx", v.role,
	       (unsigned long long)v.digest.all);
	EXPECT(!cs_etcd_lease_ttl(c, lease, &ttl, &granted, err, sizeof(err)) && granted == 2, "lease: %s", err);
	EXPECT_EQ(seen.lease_news, 1);
	/* followed from the list's revision on, in order */
	if (put(c, "c", "3", NULL) || del(c, "a", NULL) || put(c, "b", "4", NULL))
		goto out;
	EXPECT(WAIT_FOR(3000, seen.n_events == 3), "%d events, not 3", seen.n_events);
	pthread_mutex_lock(&seen.lock);
	EXPECT(!strcmp(seen.events[0], "put c=3") && !strcmp(seen.events[1], "delete a") &&
	       !strcmp(seen.events[2], "put b=4"), "events: %s, %s, %s", seen.events[0], seen.events[1],
	       seen.events[2]);
	pthread_mutex_unlock(&seen.lock);
	/* a lease that lasts: it is renewed */
	usleep(3000 * 1000);
	EXPECT(node_key(c, &v, &lease), "the node's key went while it ran");
out:
	cs_cluster_stop(cl);
	if (c) {
		EXPECT(!node_key(c, &v, &lease), "the node's key outlived a clean stop");
		clear_keys(c);
	}
	cs_etcd_close(c);
}

/* etcd forgets the lease (revoked here, as a partition longer than its TTL
 * would): a new one, the node's key on it, the part's keys put back. */
static void a_lost_lease_is_replaced(void)
{
	struct cs_etcd *c = client();
	struct cs_cluster *cl = NULL;
	struct cs_node_value v;
	int64_t lease = 0, again = 0;
	char err[256] = "";

	seen_reset();
	if (!c || !(cl = start(endpoints, n_endpoints)))
		goto out;
	if (!EXPECT(WAIT_FOR(3000, seen.lease_news == 1) && WAIT_FOR(3000, node_key(c, &v, &lease)), "not joined"))
		goto out;
	if (!EXPECT(!cs_etcd_lease_revoke(c, lease, err, sizeof(err)), "%s", err))
		goto out;
	EXPECT(WAIT_FOR(4000, seen.lease_news == 2), "lease_new not called again");
	EXPECT(WAIT_FOR(2000, node_key(c, &v, &again) && again != lease), "the node's key not back on a new lease");
	EXPECT_EQ(stats.cluster_leases_lost, 1);
out:
	cs_cluster_stop(cl);
	if (c)
		clear_keys(c);
	cs_etcd_close(c);
}

/* The node talks to one follower alone, which stops; meanwhile a key
 * comes, one goes and etcd compacts. When the follower answers again, the
 * watch cannot start where it was: the part lists again, and the list says
 * what is gone. */
static void a_compacted_watch_lists_again(void)
{
	int f = a_follower();
	struct cs_etcd *c = f >= 0 ? client_but(f) : NULL;
	struct cs_cluster *cl = NULL;
	char *only[1] = { f >= 0 ? endpoints[f] : NULL }, cmd[512];
	int64_t rev = 0;
	double t0;

	seen_reset();
	if (!EXPECT(f >= 0 && pids[f] > 0, "no follower, or no ETCD_PIDS") || !c || put(c, "old", "1", NULL) ||
	    put(c, "gone", "1", NULL))
		goto out;
	if (!(cl = start(only, 1)) || !EXPECT(WAIT_FOR(3000, seen.lists == 1 && stats.cluster_connected), "not up"))
		goto out;
	kill(pids[f], SIGSTOP);
	t0 = now_ms();
	if (del(c, "gone", NULL) || put(c, "new", "1", &rev))
		goto out_cont;
	snprintf(cmd, sizeof(cmd), "ETCDCTL_API=3 etcdctl --endpoints %s compact %lld >/dev/null",
		 endpoints[f ? 0 : 1], (long long)rev);
	EXPECT(!system(cmd), "%s failed", cmd);
	EXPECT(WAIT_FOR(4000, stats.cluster_connected == 0), "still connected with its member stopped");
out_cont:
	kill(pids[f], SIGCONT);
	if (!EXPECT(WAIT_FOR(15000, seen.lists == 2), "no second list within 15 s of the member's return"))
		goto out;
	printf("cluster-thread: listed again %.0f ms after the member stopped\n", now_ms() - t0);
	pthread_mutex_lock(&seen.lock);
	EXPECT(listed_has("old") && listed_has("new") && !listed_has("gone") && seen.list_revision >= rev &&
	       !events_have("delete gone"), "the second list: %d keys", seen.n_listed);
	pthread_mutex_unlock(&seen.lock);
	EXPECT_EQ(stats.cluster_relists, 1);
	EXPECT(WAIT_FOR(3000, stats.cluster_connected == 1), "not connected again");
	if (!put(c, "after", "1", NULL))
		EXPECT(WAIT_FOR(3000, events_have("put after=1")), "no event after the second list");
out:
	cs_cluster_stop(cl);
	if (c)
		clear_keys(c);
	cs_etcd_close(c);
}

/* Nothing answers: the node starts, says it is not connected, and stops at
 * once. */
static void etcd_away_holds_nothing_up(void)
{
	char *nowhere[1] = { getenv("ETCD_CLOSED") };
	struct cs_cluster *cl;
	double t0;

	if (!EXPECT(nowhere[0], "no ETCD_CLOSED"))
		return;
	t0 = now_ms();
	cl = start(nowhere, 1);
	EXPECT(now_ms() - t0 < 100, "the start took %.0f ms", now_ms() - t0);
	usleep(1500 * 1000);
	EXPECT(stats.cluster_connected == 0 && stats.cluster_etcd_errors > 0, "connected %llu, errors %llu",
	       (unsigned long long)stats.cluster_connected, (unsigned long long)stats.cluster_etcd_errors);
	t0 = now_ms();
	cs_cluster_stop(cl);
	EXPECT(now_ms() - t0 < 1500, "the stop took %.0f ms", now_ms() - t0);
}

static size_t split(char *list, char **out, size_t max)
{
	size_t n = 0;
	char *tok, *save = NULL;

	for (tok = strtok_r(list, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save))
		out[n++] = tok;
	return n;
}

int main(void)
{
	char *list = getenv("ETCD_ENDPOINTS") ? strdup(getenv("ETCD_ENDPOINTS")) : NULL;
	char *pid_list = getenv("ETCD_PIDS") ? strdup(getenv("ETCD_PIDS")) : NULL, *p[8];
	size_t i, n;

	if (!list) {
		printf("FAIL: cluster-thread: ETCD_ENDPOINTS is not set\n");
		return 1;
	}
	n_endpoints = split(list, endpoints, 8);
	n = pid_list ? split(pid_list, p, 8) : 0;
	for (i = 0; i < n; i++)
		pids[i] = (pid_t)atoi(p[i]);
	snprintf(cluster_name, sizeof(cluster_name), "t%d", (int)getpid());
	RUN(registers_lists_and_follows);
	RUN(a_lost_lease_is_replaced);
	RUN(a_compacted_watch_lists_again);
	RUN(etcd_away_holds_nothing_up);
	free(list);
	free(pid_list);
	T_EXIT();
}
