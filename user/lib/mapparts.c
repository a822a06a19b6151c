// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * mapparts.c - the obs/, drain/, map/ and leader/ parts (mapparts.h).
 *
 * Everything the parts know sits in struct cs_mapparts under one lock:
 * the cluster thread writes what etcd says, the prober thread this node's
 * verdicts, and the daemon's loop reads the agreed maps. Calls to etcd are
 * made with the lock released, on copies.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "confdigest.h"
#include "log.h"
#include "mapparts.h"

#define OBSERVERS_MAX 32	/* observers of one instance that are counted */

struct observer {
	char node[CS_NODE_WORD_MAX];
	bool down, self;
};

struct inst {
	char name[CS_NODE_WORD_MAX];
	/* this node's verdict; dirty: etcd does not have it yet */
	bool mine_known, mine_down, mine_dirty, mine_self;
	__s64 mine_since_ms;
	char mine_why[CS_OBS_WHY_MAX];
	/* what etcd holds */
	struct observer obs[OBSERVERS_MAX];
	size_t n_obs;
	bool drain;
};

struct chain {
	char name[CS_NODE_WORD_MAX];
	__u32 id;			/* this node's: the metrics' index */
	__u32 warmup_ms;
	struct inst inst[CS_AGREED_INSTANCES_MAX];
	size_t n;
	/* leader/<chain> as etcd has it: 0, no leader */
	char leader[CS_NODE_WORD_MAX];
	int64_t leader_rev;
	bool leading;
	int64_t fence;			/* while leading: our key's create revision */
	/* map/<chain>, the last heard: kept however etcd goes */
	struct cs_map_value map;
	int64_t map_rev;
	bool map_unusable;		/* etcd's map/ key went or does not parse:
					 * its leader writes it again */
};

struct cs_mapparts {
	pthread_mutex_t lock;
	bool gateway;
	char self_chain[CS_NODE_WORD_MAX], self_inst[CS_NODE_WORD_MAX];
	struct chain *chains;
	size_t n_chains;
	__u64 chains_digest;
	struct cs_daemon_stats *stats;
	void (*changed)(void *ctx);
	void (*poke)(void *ctx);
	void *ctx;
	struct cs_cluster_part parts[CS_MAPPARTS_N];
};

static struct chain *chain_named(struct cs_mapparts *mp, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < mp->n_chains; i++)
		if (strlen(mp->chains[i].name) == len && !memcmp(mp->chains[i].name, name, len))
			return &mp->chains[i];
	return NULL;
}

static struct inst *inst_named(struct chain *c, const char *name, size_t len)
{
	size_t i;

	for (i = 0; c && i < c->n; i++)
		if (strlen(c->inst[i].name) == len && !memcmp(c->inst[i].name, name, len))
			return &c->inst[i];
	return NULL;
}

/* A value that does not parse: said (once a key and revision is enough:
 * each comes once) and counted, never acted on. */
static void skip_value(struct cs_mapparts *mp, const struct cs_etcd_kv *kv, const char *what)
{
	cs_warn("cluster: %.*s (revision %lld) is not %s: skipped", (int)kv->key_len, kv->key,
		(long long)kv->mod_revision, what);
	cs_stat_add(&mp->stats->cluster_map_skipped, 1);
}

/* The key's words after the part's prefix, split at '/': n of them exactly. */
static bool split_key(const struct cs_cluster_io *io, const struct cs_etcd_kv *kv, const char **w, size_t *len,
		      size_t n)
{
	const char *p = kv->key + io->prefix_len, *end = kv->key + kv->key_len, *slash;
	size_t i;

	if (kv->key_len <= io->prefix_len)
		return false;
	for (i = 0; i < n; i++) {
		slash = memchr(p, '/', (size_t)(end - p));
		if ((i + 1 < n) != (slash != NULL))
			return false;
		w[i] = p;
		len[i] = (size_t)((slash ? slash : end) - p);
		if (!len[i])
			return false;
		p = slash ? slash + 1 : end;
	}
	return true;
}

typedef void (*apply_fn)(struct cs_mapparts *mp, struct cs_cluster_io *io, const struct cs_etcd_kv *kv, bool put);

/* Every key of a list's page, as a put. */
static int apply_page(struct cs_mapparts *mp, struct cs_cluster_io *io, const struct cs_etcd_kvs *page,
		      apply_fn apply)
{
	size_t i;

	for (i = 0; i < page->n; i++)
		apply(mp, io, &page->kvs[i], true);
	return 0;
}

/* fn on every instance, under the lock: what etcd held of each is
 * forgotten when a list begins (the list says it again), every observation
 * is dirty on a new lease. */
static int for_each_instance(struct cs_mapparts *mp, void (*fn)(struct inst *in))
{
	size_t c, i;

	pthread_mutex_lock(&mp->lock);
	for (c = 0; c < mp->n_chains; c++)
		for (i = 0; i < mp->chains[c].n; i++)
			fn(&mp->chains[c].inst[i]);
	pthread_mutex_unlock(&mp->lock);
	return 0;
}

/* ---- obs/<chain>/<instance>/<observer> ---- */

static void poke(struct cs_mapparts *mp);

static void obs_forget(struct inst *in, const char *node, size_t len)
{
	size_t i;

	for (i = 0; i < in->n_obs; i++)
		if (strlen(in->obs[i].node) == len && !memcmp(in->obs[i].node, node, len)) {
			in->obs[i] = in->obs[--in->n_obs];
			return;
		}
}

static void obs_apply(struct cs_mapparts *mp, struct cs_cluster_io *io, const struct cs_etcd_kv *kv, bool put)
{
	const char *w[3];
	size_t len[3];
	struct cs_obs_value v;
	struct inst *in;

	if (!split_key(io, kv, w, len, 3) || len[2] >= CS_NODE_WORD_MAX) {
		if (put)
			skip_value(mp, kv, "an observation's key (obs/<chain>/<instance>/<observer>)");
		return;
	}
	if (put && cs_obs_value_decode(kv->value, kv->value_len, &v)) {
		skip_value(mp, kv, "an observation");
		return;
	}
	pthread_mutex_lock(&mp->lock);
	in = inst_named(chain_named(mp, w[0], len[0]), w[1], len[1]);
	if (in) {
		obs_forget(in, w[2], len[2]);
		if (put && in->n_obs < OBSERVERS_MAX) {
			struct observer *o = &in->obs[in->n_obs++];

			memcpy(o->node, w[2], len[2]);
			o->node[len[2]] = 0;
			o->down = v.down;
			o->self = v.self;
		}
	}
	pthread_mutex_unlock(&mp->lock);
}

static void forget_obs(struct inst *in)
{
	in->n_obs = 0;
}

static int obs_list_begin(void *ctx, struct cs_cluster_io *io, int64_t revision)
{
	(void)io, (void)revision;
	return for_each_instance(ctx, forget_obs);
}

static int obs_list_page(void *ctx, struct cs_cluster_io *io, const struct cs_etcd_kvs *page)
{
	return apply_page(ctx, io, page, obs_apply);
}

static void poke(struct cs_mapparts *mp)
{
	if (mp->poke)
		mp->poke(mp->ctx);
}

static int leader_tick(void *ctx, struct cs_cluster_io *io);

/* What a leader hears changed (an observation, a drain): it decides now,
 * not at its next tick; what it could not write, its tick writes. */
static void decide_now(struct cs_mapparts *mp, struct cs_cluster_io *io)
{
	if (mp->gateway && leader_tick(mp, io))
		cs_debug("cluster: the map could not be written at once (%s): the next tick tries again", io->err);
}

static void obs_event(void *ctx, struct cs_cluster_io *io, const struct cs_etcd_event *ev)
{
	obs_apply(ctx, io, &ev->kv, ev->type == CS_ETCD_EVENT_PUT);
	decide_now(ctx, io);
}

/* One of this node's observations to write: its key and value, malloc'd. */
struct obs_write {
	char key[CS_CKEY_MAX];
	char *value;
	size_t chain, inst;
};

/* Copies of this node's observations that etcd lacks (dirty): how many,
 * up to max. */
static size_t obs_collect(struct cs_mapparts *mp, struct cs_cluster_io *io, struct obs_write *out, size_t max)
{
	size_t c, i, n = 0;

	pthread_mutex_lock(&mp->lock);
	for (c = 0; c < mp->n_chains; c++)
		for (i = 0; i < mp->chains[c].n && n < max; i++) {
			struct inst *in = &mp->chains[c].inst[i];
			const char *parts[3] = { mp->chains[c].name, in->name, io->node };
			struct cs_obs_value v = { .down = in->mine_down, .since_ms = in->mine_since_ms,
						  .self = in->mine_self };

			if (!in->mine_known || !in->mine_dirty)
				continue;
			memcpy(v.why, in->mine_why, sizeof(v.why));
			if (cs_ckey(out[n].key, sizeof(out[n].key), io->cluster, CS_CKEY_OBS, parts, 3) < 0)
				continue;
			out[n].value = cs_obs_value_encode(&v);
			if (!out[n].value)
				continue;
			in->mine_dirty = false;	/* set again below if the write fails */
			out[n].chain = c;
			out[n].inst = i;
			n++;
		}
	pthread_mutex_unlock(&mp->lock);
	return n;
}

/* Write this node's observations that etcd lacks, each on the node's
 * lease: they go when it goes. What could not be written waits. */
static int obs_publish(struct cs_mapparts *mp, struct cs_cluster_io *io)
{
	struct obs_write *w = calloc(CS_CLUSTER_TXN_OPS, sizeof(*w));
	struct cs_etcd_op ops[CS_CLUSTER_TXN_OPS];
	size_t n, i, done = 0;
	int rc = 0;

	if (!w)
		return -ENOMEM;
	do {
		n = obs_collect(mp, io, w, CS_CLUSTER_TXN_OPS);
		for (i = 0; i < n; i++)
			ops[i] = (struct cs_etcd_op){ .kind = CS_ETCD_OP_PUT, .key = CS_ETCD_STR(w[i].key),
						     .value = CS_ETCD_STR(w[i].value), .lease = io->lease };
		rc = n ? cs_cluster_write(io, ops, n, &done, io->err, sizeof(io->err)) : 0;
		pthread_mutex_lock(&mp->lock);
		for (i = done; i < n; i++)
			if (w[i].chain < mp->n_chains && w[i].inst < mp->chains[w[i].chain].n)
				mp->chains[w[i].chain].inst[w[i].inst].mine_dirty = true;
		pthread_mutex_unlock(&mp->lock);
		for (i = 0; i < n; i++)
			free(w[i].value);
	} while (!rc && n == CS_CLUSTER_TXN_OPS);
	free(w);
	return rc;
}

static int obs_tick(void *ctx, struct cs_cluster_io *io)
{
	return obs_publish(ctx, io);
}

static void mark_dirty(struct inst *in)
{
	in->mine_dirty = in->mine_known;
}

/* A new lease: every observation went with the old one. */
static int obs_lease_new(void *ctx, struct cs_cluster_io *io)
{
	for_each_instance(ctx, mark_dirty);
	return obs_publish(ctx, io);
}

void cs_mapparts_observe(struct cs_mapparts *mp, const char *chain, const char *instance, bool down,
			 const char *why)
{
	struct inst *in;
	bool changed = false;

	if (!mp)
		return;
	pthread_mutex_lock(&mp->lock);
	in = inst_named(chain_named(mp, chain, strlen(chain)), instance, strlen(instance));
	if (in && (!in->mine_known || in->mine_down != down)) {
		in->mine_known = in->mine_dirty = true;
		in->mine_down = down;
		in->mine_since_ms = cs_wall_ms();
		snprintf(in->mine_why, sizeof(in->mine_why), "%s", why ? why : "");
		changed = true;
	}
	pthread_mutex_unlock(&mp->lock);
	if (changed)
		poke(mp);	/* written now, not at the next tick */
}

/* ---- drain/<chain>/<instance> ---- */

static void drain_apply(struct cs_mapparts *mp, struct cs_cluster_io *io, const struct cs_etcd_kv *kv, bool put)
{
	const char *w[2];
	size_t len[2];
	struct inst *in;

	if (!split_key(io, kv, w, len, 2)) {
		if (put)
			skip_value(mp, kv, "a drain's key (drain/<chain>/<instance>)");
		return;
	}
	pthread_mutex_lock(&mp->lock);
	in = inst_named(chain_named(mp, w[0], len[0]), w[1], len[1]);
	if (in)
		in->drain = put;
	pthread_mutex_unlock(&mp->lock);
}

static void forget_drain(struct inst *in)
{
	in->drain = false;
}

static int drain_list_begin(void *ctx, struct cs_cluster_io *io, int64_t revision)
{
	(void)io, (void)revision;
	return for_each_instance(ctx, forget_drain);
}

static int drain_list_page(void *ctx, struct cs_cluster_io *io, const struct cs_etcd_kvs *page)
{
	return apply_page(ctx, io, page, drain_apply);
}

static void drain_event(void *ctx, struct cs_cluster_io *io, const struct cs_etcd_event *ev)
{
	drain_apply(ctx, io, &ev->kv, ev->type == CS_ETCD_EVENT_PUT);
	decide_now(ctx, io);
}

/* ---- map/<chain> ---- */

static void set_map_stat(struct cs_mapparts *mp, const struct chain *c)
{
	if (c->id < CS_CHAINS_MAX)
		cs_stat_set(&mp->stats->cluster_map_revision[c->id], (__u64)c->map_rev);
}

/* A map heard (put): newer than the one kept, it replaces it. */
/* The chain's map key cannot serve (gone, or not a map): every node keeps
 * the map it has, and its leader writes one again. */
static void map_unusable(struct cs_mapparts *mp, const char *chain, size_t len)
{
	struct chain *c;

	pthread_mutex_lock(&mp->lock);
	c = chain_named(mp, chain, len);
	if (c)
		c->map_unusable = true;
	pthread_mutex_unlock(&mp->lock);
}

/* A map heard (put): newer than the one kept, it replaces it. */
static void map_apply(struct cs_mapparts *mp, struct cs_cluster_io *io, const struct cs_etcd_kv *kv, bool put)
{
	struct cs_map_value *v = malloc(sizeof(*v));
	const char *w[1];
	size_t len[1];
	struct chain *c;
	bool changed = false;

	if (!v || !put) {
		free(v);
		return;
	}
	if (!split_key(io, kv, w, len, 1)) {
		skip_value(mp, kv, "a map's key (map/<chain>)");
	} else if (cs_map_value_decode(kv->value, kv->value_len, v) || strlen(v->chain) != len[0] ||
		   memcmp(v->chain, w[0], len[0])) {
		skip_value(mp, kv, "a service map's inputs");
		map_unusable(mp, w[0], len[0]);
	} else {
		pthread_mutex_lock(&mp->lock);
		c = chain_named(mp, w[0], len[0]);
		if (c)
			c->map_unusable = false;
		if (c && kv->mod_revision > c->map_rev) {
			c->map = *v;
			c->map_rev = kv->mod_revision;
			set_map_stat(mp, c);
			changed = true;
		}
		pthread_mutex_unlock(&mp->lock);
	}
	free(v);
	if (changed && mp->changed)
		mp->changed(mp->ctx);
}

static int map_list_page(void *ctx, struct cs_cluster_io *io, const struct cs_etcd_kvs *page)
{
	return apply_page(ctx, io, page, map_apply);
}

/* A map key deleted (an operator): every node keeps the last it had, and
 * the leader writes it again. */
static void map_event(void *ctx, struct cs_cluster_io *io, const struct cs_etcd_event *ev)
{
	const char *w[1];
	size_t len[1];

	if (ev->type == CS_ETCD_EVENT_PUT) {
		map_apply(ctx, io, &ev->kv, true);
		return;
	}
	cs_info("cluster: %.*s was deleted: this node keeps the last map it had", (int)ev->kv.key_len, ev->kv.key);
	if (split_key(io, &ev->kv, w, len, 1))
		map_unusable(ctx, w[0], len[0]);
}

int cs_mapparts_agreed(struct cs_mapparts *mp, const char *chain, struct cs_map_value *out, int64_t *revision)
{
	struct chain *c;
	int rc = -ENOENT;

	if (!mp)
		return rc;
	pthread_mutex_lock(&mp->lock);
	c = chain_named(mp, chain, strlen(chain));
	if (c && c->map_rev) {
		*out = c->map;
		*revision = c->map_rev;
		rc = 0;
	}
	pthread_mutex_unlock(&mp->lock);
	return rc;
}

/* ---- leader/<chain> ---- */

static void set_leading(struct cs_mapparts *mp, struct chain *c, bool leading)
{
	if (c->leading && !leading)
		cs_warn("cluster: chain %s: this node no longer leads it (its leader key is not ours any more): "
			"it writes no map", c->name);
	c->leading = leading;
	if (c->id < CS_CHAINS_MAX)
		cs_stat_set(&mp->stats->cluster_leading[c->id], leading);
}

static void leader_apply(struct cs_mapparts *mp, struct cs_cluster_io *io, const struct cs_etcd_kv *kv, bool put)
{
	struct cs_leader_value v = { 0 };
	const char *w[1];
	size_t len[1];
	struct chain *c;

	if (!split_key(io, kv, w, len, 1)) {
		if (put)
			skip_value(mp, kv, "a leader's key (leader/<chain>)");
		return;
	}
	if (put && cs_leader_value_decode(kv->value, kv->value_len, &v))
		skip_value(mp, kv, "a leader");	/* still someone's key: it holds the chain */
	pthread_mutex_lock(&mp->lock);
	c = chain_named(mp, w[0], len[0]);
	if (c) {
		snprintf(c->leader, sizeof(c->leader), "%s", put ? v.node : "");
		c->leader_rev = put ? kv->create_revision : 0;
		if (c->leading && c->leader_rev != c->fence)
			set_leading(mp, c, false);
	}
	pthread_mutex_unlock(&mp->lock);
}

static int leader_list_begin(void *ctx, struct cs_cluster_io *io, int64_t revision)
{
	struct cs_mapparts *mp = ctx;
	size_t c;

	(void)io, (void)revision;
	pthread_mutex_lock(&mp->lock);
	for (c = 0; c < mp->n_chains; c++)
		mp->chains[c].leader_rev = 0;	/* the list says again who leads */
	pthread_mutex_unlock(&mp->lock);
	return 0;
}

static int leader_list_page(void *ctx, struct cs_cluster_io *io, const struct cs_etcd_kvs *page)
{
	return apply_page(ctx, io, page, leader_apply);
}

static int leader_list_end(void *ctx, struct cs_cluster_io *io)
{
	struct cs_mapparts *mp = ctx;
	size_t c;

	(void)io;
	pthread_mutex_lock(&mp->lock);
	for (c = 0; c < mp->n_chains; c++)
		if (mp->chains[c].leading && mp->chains[c].leader_rev != mp->chains[c].fence)
			set_leading(mp, &mp->chains[c], false);
	pthread_mutex_unlock(&mp->lock);
	return 0;
}

static void leader_event(void *ctx, struct cs_cluster_io *io, const struct cs_etcd_event *ev)
{
	leader_apply(ctx, io, &ev->kv, ev->type == CS_ETCD_EVENT_PUT);
}

/* The node's lease is new: its leader keys went with the old one. */
static int leader_lease_new(void *ctx, struct cs_cluster_io *io)
{
	struct cs_mapparts *mp = ctx;
	size_t c;

	(void)io;
	pthread_mutex_lock(&mp->lock);
	for (c = 0; c < mp->n_chains; c++)
		set_leading(mp, &mp->chains[c], false);
	pthread_mutex_unlock(&mp->lock);
	return 0;
}

/* Take the chain's leader key if nobody holds it: put on this node's lease
 * only while it does not exist. Its create revision is the fence. */
static int campaign(struct cs_mapparts *mp, struct cs_cluster_io *io, const char *chain)
{
	struct cs_leader_value v = { .since_ms = cs_wall_ms() };
	const char *parts[1] = { chain };
	char key[CS_CKEY_MAX], *json;
	struct cs_etcd_txn_result r = { 0 };
	struct cs_etcd_cmp cmp = { .target = CS_ETCD_CREATE, .op = CS_ETCD_EQ, .number = 0 };
	struct cs_etcd_op put = { .kind = CS_ETCD_OP_PUT, .lease = io->lease };
	struct cs_etcd_op get = { .kind = CS_ETCD_OP_GET };
	struct cs_etcd_txn t = { .cmp = &cmp, .n_cmp = 1, .then = &put, .n_then = 1, .otherwise = &get,
				 .n_otherwise = 1 };
	struct chain *c;
	int rc;

	snprintf(v.node, sizeof(v.node), "%s", io->node);
	if (cs_ckey(key, sizeof(key), io->cluster, CS_CKEY_LEADER, parts, 1) < 0)
		return -ENAMETOOLONG;
	json = cs_leader_value_encode(&v);
	if (!json)
		return -ENOMEM;
	cmp.key = put.key = get.key = CS_ETCD_STR(key);
	put.value = CS_ETCD_STR(json);
	rc = cs_etcd_txn(io->etcd, &t, &r, io->err, sizeof(io->err));
	free(json);
	if (rc)
		return rc;
	pthread_mutex_lock(&mp->lock);
	/* by name: a reload may have moved the chain meanwhile */
	c = chain_named(mp, chain, strlen(chain));
	if (c && r.succeeded) {
		snprintf(c->leader, sizeof(c->leader), "%s", io->node);
		c->leader_rev = c->fence = r.revision;
		set_leading(mp, c, true);
		cs_info("cluster: chain %s: this node leads it (fence %lld)", chain, (long long)r.revision);
	} else if (c && r.n_gets && r.gets[0].n) {
		c->leader_rev = r.gets[0].kvs[0].create_revision;	/* someone was first */
	}
	pthread_mutex_unlock(&mp->lock);
	cs_etcd_txn_result_free(&r);
	return 0;
}

/* What the live observers say of an instance. */
static struct cs_agreed_view view_of(const struct inst *in)
{
	struct cs_agreed_view v = { .drain = in->drain };
	size_t i;

	for (i = 0; i < in->n_obs; i++) {
		if (in->obs[i].self) {
			v.self_seen = true;
			continue;
		}
		v.observers++;
		v.down += in->obs[i].down;
	}
	return v;
}

static const struct cs_agreed_instance *agreed_named(const struct cs_map_value *m, const char *name)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (!strcmp(m->inst[i].name, name))
			return &m->inst[i];
	return NULL;
}

/* The leader's next map of chain c: true when it must be written (a state
 * changed, there is none yet, or another leader wrote the last). */
static bool decide_map(struct cs_mapparts *mp, struct chain *c, const char *node, struct cs_map_value *next)
{
	__s64 now = cs_wall_ms();
	bool write = !c->map_rev || c->map_unusable || c->map.fence != c->fence || strcmp(c->map.leader, node) ||
		     c->map.chains_digest != mp->chains_digest || c->map.n != c->n;
	size_t i;

	memset(next, 0, sizeof(*next));
	snprintf(next->chain, sizeof(next->chain), "%s", c->name);
	snprintf(next->leader, sizeof(next->leader), "%s", node);
	next->n_buckets = CS_BUCKETS_DEFAULT;
	next->fence = c->fence;
	next->chains_digest = mp->chains_digest;
	next->decided_ms = now;
	next->n = c->n;
	for (i = 0; i < c->n; i++) {
		const struct cs_agreed_instance *prev = c->map_rev ? agreed_named(&c->map, c->inst[i].name) : NULL;
		struct cs_agreed_view view = view_of(&c->inst[i]);

		if (cs_agreed_decide(prev, &view, now, c->warmup_ms, &next->inst[i]) || !prev)
			write = true;
		snprintf(next->inst[i].name, sizeof(next->inst[i].name), "%s", c->inst[i].name);
	}
	return write;
}

/* Write map/<chain> only if our leader key is still the one of our fence. */
static int write_map(struct cs_mapparts *mp, struct cs_cluster_io *io, const struct cs_map_value *m)
{
	const char *parts[1] = { m->chain };
	char lkey[CS_CKEY_MAX], mkey[CS_CKEY_MAX], *json;
	struct cs_etcd_txn_result r = { 0 };
	struct cs_etcd_cmp cmp = { .target = CS_ETCD_CREATE, .op = CS_ETCD_EQ, .number = m->fence };
	struct cs_etcd_op put = { .kind = CS_ETCD_OP_PUT };
	struct cs_etcd_txn t = { .cmp = &cmp, .n_cmp = 1, .then = &put, .n_then = 1 };
	struct chain *c;
	int rc;

	if (cs_ckey(lkey, sizeof(lkey), io->cluster, CS_CKEY_LEADER, parts, 1) < 0 ||
	    cs_ckey(mkey, sizeof(mkey), io->cluster, CS_CKEY_MAP, parts, 1) < 0)
		return -ENAMETOOLONG;
	json = cs_map_value_encode(m);
	if (!json)
		return -ENOMEM;
	cmp.key = CS_ETCD_STR(lkey);
	put.key = CS_ETCD_STR(mkey);
	put.value = CS_ETCD_STR(json);
	rc = cs_etcd_txn(io->etcd, &t, &r, io->err, sizeof(io->err));
	free(json);
	if (rc)
		return rc;
	pthread_mutex_lock(&mp->lock);
	c = chain_named(mp, m->chain, strlen(m->chain));
	if (c && !r.succeeded)
		set_leading(mp, c, false);
	pthread_mutex_unlock(&mp->lock);
	if (r.succeeded) {
		cs_stat_add(&mp->stats->cluster_maps_written, 1);
		cs_info("cluster: chain %s: map revision %lld written (fence %lld)", m->chain, (long long)r.revision,
			(long long)m->fence);
	}
	cs_etcd_txn_result_free(&r);
	return 0;
}

/* Every tick on a gateway: campaign for the chains nobody leads, and
 * write the map of those this node leads when it changed. */
static int leader_tick(void *ctx, struct cs_cluster_io *io)
{
	struct cs_mapparts *mp = ctx;
	struct cs_map_value *next = malloc(sizeof(*next));
	char chain[CS_NODE_WORD_MAX];
	size_t c, n;
	int rc = 0;

	if (!next)
		return -ENOMEM;
	pthread_mutex_lock(&mp->lock);
	n = mp->n_chains;
	pthread_mutex_unlock(&mp->lock);
	for (c = 0; !rc && c < n; c++) {
		bool free_chain, write = false;

		pthread_mutex_lock(&mp->lock);
		if (c >= mp->n_chains) {
			pthread_mutex_unlock(&mp->lock);
			break;
		}
		snprintf(chain, sizeof(chain), "%s", mp->chains[c].name);
		free_chain = !mp->chains[c].leader_rev;
		if (mp->chains[c].leading)
			write = decide_map(mp, &mp->chains[c], io->node, next);
		pthread_mutex_unlock(&mp->lock);
		if (free_chain)
			rc = campaign(mp, io, chain);
		else if (write)
			rc = write_map(mp, io, next);
	}
	free(next);
	return rc;
}

/* ---- setup ---- */

static int chains_from(struct cs_mapparts *mp, const struct cs_conf *conf, struct chain **out, size_t *n_out)
{
	struct chain *cs = calloc(conf->n_chains ? conf->n_chains : 1, sizeof(*cs));
	size_t c, i;

	if (!cs)
		return -ENOMEM;
	for (c = 0; c < conf->n_chains; c++) {
		const struct cs_chain_conf *cc = &conf->chains[c];

		snprintf(cs[c].name, sizeof(cs[c].name), "%s", cc->name);
		cs[c].id = cc->id;
		cs[c].warmup_ms = cc->health.warmup_ms;
		if (cc->n_instances > CS_AGREED_INSTANCES_MAX)
			cs_warn("cluster: chain %s has %zu instances: only the first %d are agreed on", cc->name,
				cc->n_instances, CS_AGREED_INSTANCES_MAX);
		for (i = 0; i < cc->n_instances && i < CS_AGREED_INSTANCES_MAX; i++) {
			struct inst *in = &cs[c].inst[i];

			snprintf(in->name, sizeof(in->name), "%s", cc->instances[i].name);
			/* an instance node says of itself that it lives */
			if (!strcmp(mp->self_chain, cc->name) && !strcmp(mp->self_inst, in->name))
				in->mine_known = in->mine_dirty = in->mine_self = true;
		}
		cs[c].n = i;
	}
	*out = cs;
	*n_out = conf->n_chains;
	return 0;
}

/* What the old chains knew that the new ones keep, by name: etcd's view
 * (observations, drains, leader, the agreed map) and this node's verdicts. */
static void carry_over(struct chain *to, size_t n_to, const struct chain *from, size_t n_from)
{
	size_t c, k, i, j;

	for (c = 0; c < n_to; c++)
		for (k = 0; k < n_from; k++) {
			if (strcmp(to[c].name, from[k].name))
				continue;
			memcpy(to[c].leader, from[k].leader, sizeof(to[c].leader));
			to[c].leader_rev = from[k].leader_rev;
			to[c].leading = from[k].leading;
			to[c].fence = from[k].fence;
			to[c].map = from[k].map;
			to[c].map_rev = from[k].map_rev;
			to[c].map_unusable = from[k].map_unusable;
			for (i = 0; i < to[c].n; i++)
				for (j = 0; j < from[k].n; j++)
					if (!strcmp(to[c].inst[i].name, from[k].inst[j].name))
						to[c].inst[i] = from[k].inst[j];
		}
}

int cs_mapparts_set_conf(struct cs_mapparts *mp, const struct cs_conf *conf)
{
	struct chain *cs, *old;
	struct cs_conf_digest d;
	size_t n;

	if (!mp)
		return 0;
	if (chains_from(mp, conf, &cs, &n))
		return -ENOMEM;
	pthread_mutex_lock(&mp->lock);
	carry_over(cs, n, mp->chains, mp->n_chains);
	old = mp->chains;
	mp->chains = cs;
	mp->n_chains = n;
	if (!cs_conf_digest(conf, &d))
		mp->chains_digest = d.part[CS_DIGEST_CHAINS];
	pthread_mutex_unlock(&mp->lock);
	free(old);
	return 0;
}

struct cs_mapparts *cs_mapparts_new(const struct cs_mapparts_opts *o)
{
	struct cs_mapparts *mp = calloc(1, sizeof(*mp));

	if (!mp)
		return NULL;
	pthread_mutex_init(&mp->lock, NULL);
	mp->gateway = o->gateway;
	snprintf(mp->self_chain, sizeof(mp->self_chain), "%s", o->self_chain ? o->self_chain : "");
	snprintf(mp->self_inst, sizeof(mp->self_inst), "%s", o->self_instance ? o->self_instance : "");
	mp->stats = o->stats;
	mp->changed = o->changed;
	mp->poke = o->poke;
	mp->ctx = o->ctx;
	if (cs_mapparts_set_conf(mp, o->conf)) {
		cs_mapparts_free(mp);
		return NULL;
	}
	/* listed in this order, so a leader decides over lists already done */
	mp->parts[0] = (struct cs_cluster_part){ .name = "obs", .kind = CS_CKEY_OBS, .ctx = mp,
						 .list_begin = obs_list_begin, .list_page = obs_list_page,
						 .event = obs_event, .tick = obs_tick, .lease_new = obs_lease_new };
	mp->parts[1] = (struct cs_cluster_part){ .name = "drain", .kind = CS_CKEY_DRAIN, .ctx = mp,
						 .list_begin = drain_list_begin, .list_page = drain_list_page,
						 .event = drain_event };
	mp->parts[2] = (struct cs_cluster_part){ .name = "map", .kind = CS_CKEY_MAP, .ctx = mp,
						 .list_page = map_list_page, .event = map_event };
	mp->parts[3] = (struct cs_cluster_part){ .name = "leader", .kind = CS_CKEY_LEADER, .ctx = mp,
						 .list_begin = leader_list_begin, .list_page = leader_list_page,
						 .list_end = leader_list_end, .event = leader_event,
						 .tick = o->gateway ? leader_tick : NULL,
						 .lease_new = leader_lease_new };
	return mp;
}

void cs_mapparts_parts(struct cs_mapparts *mp, struct cs_cluster_part **out)
{
	size_t i;

	for (i = 0; i < CS_MAPPARTS_N; i++)
		out[i] = &mp->parts[i];
}

void cs_mapparts_free(struct cs_mapparts *mp)
{
	if (!mp)
		return;
	pthread_mutex_destroy(&mp->lock);
	free(mp->chains);
	free(mp);
}
