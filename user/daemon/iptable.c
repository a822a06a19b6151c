// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * iptable.c - the shared cloud IP table (iptable.h says what and why). The
 * daemon's loop hands records over (cs_iptable_note) and takes the names of
 * installed ones back (cs_iptable_take_notes); everything else runs on the
 * cluster thread, as the ip/ part's callbacks.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "iptable.h"
#include "lib/addr.h"
#include "lib/clock.h"
#include "lib/clustervalues.h"
#include "lib/confdigest.h"
#include "lib/log.h"
#include "lib/maps.h"
#include "lib/never.h"
#include "lib/quota.h"
#include "lib/rules.h"

#define NSEC 1000000000LL
#define PUBLISH_PER_TICK 8192		/* records a tick writes at most (64 transactions) */
#define PENDING_MAX (4u << 20)		/* records waiting; past it, a list finds them */
#define DRIFT_LOGGED_MAX 64		/* patterns whose skipping is said once each */
#define LOST_EVENTS_RELIST_MS 10000	/* learn lost events: list again, at most this often */

/* ---- sets of record keys ---- */

struct keyset {
	size_t cap, n;
	struct keyslot {
		bool used;
		struct cs_record_key k;
	} *s;
};

/* name_id is a keyed hash already; the address is folded in. */
static size_t key_hash(const struct cs_record_key *k)
{
	__u64 a, b;

	memcpy(&a, k->addr.b, 8);
	memcpy(&b, k->addr.b + 8, 8);
	return (size_t)((k->name_id ^ a * 0x9e3779b97f4a7c15ULL ^ b * 0xc2b2ae3d27d4eb4fULL) >> 7);
}

static struct keyslot *keyset_slot(const struct keyset *ks, const struct cs_record_key *k)
{
	size_t i = key_hash(k) & (ks->cap - 1);

	while (ks->s[i].used && memcmp(&ks->s[i].k, k, sizeof(*k)))
		i = (i + 1) & (ks->cap - 1);
	return &ks->s[i];
}

static bool keyset_has(const struct keyset *ks, const struct cs_record_key *k)
{
	return ks->cap && keyset_slot(ks, k)->used;
}

static bool keyset_add(struct keyset *ks, const struct cs_record_key *k)
{
	struct keyslot *slot;
	size_t i;

	if ((ks->n + 1) * 2 > ks->cap) {
		struct keyset bigger = { .cap = ks->cap ? ks->cap * 2 : 1024 };

		bigger.s = calloc(bigger.cap, sizeof(*bigger.s));
		if (!bigger.s)
			return false;
		for (i = 0; i < ks->cap; i++)
			if (ks->s[i].used)
				*keyset_slot(&bigger, &ks->s[i].k) = ks->s[i];
		bigger.n = ks->n;
		free(ks->s);
		*ks = bigger;
	}
	slot = keyset_slot(ks, k);
	if (!slot->used) {
		slot->used = true;
		slot->k = *k;
		ks->n++;
	}
	return true;
}

static void keyset_free(struct keyset *ks)
{
	free(ks->s);
	memset(ks, 0, sizeof(*ks));
}

/* ---- the rules, by pattern text and by pattern id ---- */

struct pattern_entry {
	const char *text;
	__u32 pattern_id, rule_id;
};

struct rule_entry {
	__u64 digest;			/* cs_rule_digests() */
	const char *chain;		/* "" observe */
	__u32 priority, grace;
};

struct rules_index {
	struct pattern_entry *by_text;	/* sorted by text */
	struct pattern_entry *by_id;	/* sorted by pattern id */
	size_t n;
	struct rule_entry *rules;	/* by rule id - 1 */
	size_t n_rules;
	char *pool;			/* the texts */
};

/* What a record needs of its pattern and rule, copied out of the index. */
struct pattern_facts {
	char text[CS_NAME_TEXT_MAX + 2];
	__u32 pattern_id, rule_id, priority, grace;
	__u64 rule_digest;
	char chain[CS_NODE_WORD_MAX];
};

static void rules_free(struct rules_index *r)
{
	if (!r)
		return;
	free(r->by_text);
	free(r->by_id);
	free(r->rules);
	free(r->pool);
	free(r);
}

static int by_text(const void *a, const void *b)
{
	return strcmp(((const struct pattern_entry *)a)->text, ((const struct pattern_entry *)b)->text);
}

static int by_id(const void *a, const void *b)
{
	__u32 x = ((const struct pattern_entry *)a)->pattern_id, y = ((const struct pattern_entry *)b)->pattern_id;

	return x < y ? -1 : x > y;
}

/* The texts of conf's patterns and chains, one allocation. */
static char *pool_of(const struct cs_conf *conf, struct rules_index *r, __u64 *digests)
{
	size_t len = 1, i, at = 1;
	char *pool;

	for (i = 0; i < conf->n_patterns; i++)
		len += strlen(conf->patterns[i].text) + 1;
	for (i = 0; i < conf->n_rules; i++)
		len += (conf->rules[i].chain ? strlen(conf->rules[i].chain) : 0) + 1;
	pool = malloc(len);
	if (!pool)
		return NULL;
	pool[0] = 0;
	for (i = 0; i < conf->n_patterns; i++) {
		const struct cs_pattern *p = &conf->patterns[i];

		r->by_text[i] = (struct pattern_entry){ pool + at, p->id, cs_rule_id(p->rule) };
		at += (size_t)sprintf(pool + at, "%s", p->text) + 1;
	}
	for (i = 0; i < conf->n_rules; i++) {
		const struct cs_rule_conf *rc = &conf->rules[i];

		r->rules[i] = (struct rule_entry){ digests[i], pool + at, rc->priority, rc->ttl.grace };
		at += (size_t)sprintf(pool + at, "%s", rc->chain ? rc->chain : "") + 1;
	}
	return pool;
}

static struct rules_index *rules_of(const struct cs_conf *conf)
{
	struct rules_index *r = calloc(1, sizeof(*r));
	__u64 *digests = calloc(conf->n_rules + 1, sizeof(*digests));

	if (!r || !digests)
		goto fail;
	r->n = conf->n_patterns;
	r->n_rules = conf->n_rules;
	r->by_text = calloc(r->n + 1, sizeof(*r->by_text));
	r->by_id = calloc(r->n + 1, sizeof(*r->by_id));
	r->rules = calloc(r->n_rules + 1, sizeof(*r->rules));
	if (!r->by_text || !r->by_id || !r->rules || cs_rule_digests(conf, digests))
		goto fail;
	r->pool = pool_of(conf, r, digests);
	if (!r->pool)
		goto fail;
	memcpy(r->by_id, r->by_text, r->n * sizeof(*r->by_id));
	qsort(r->by_text, r->n, sizeof(*r->by_text), by_text);
	qsort(r->by_id, r->n, sizeof(*r->by_id), by_id);
	free(digests);
	return r;
fail:
	free(digests);
	rules_free(r);
	return NULL;
}

static bool facts_of(const struct rules_index *r, const struct pattern_entry *p, struct pattern_facts *out)
{
	const struct rule_entry *rule;

	if (!p || !p->rule_id || p->rule_id > r->n_rules)
		return false;
	rule = &r->rules[p->rule_id - 1];
	snprintf(out->text, sizeof(out->text), "%s", p->text);
	out->pattern_id = p->pattern_id;
	out->rule_id = p->rule_id;
	out->priority = rule->priority;
	out->grace = rule->grace;
	out->rule_digest = rule->digest;
	snprintf(out->chain, sizeof(out->chain), "%s", rule->chain);
	return true;
}

/* ---- the part's state ---- */

struct note {
	__u64 id;
	struct cs_name name;
};

struct lease_slot {
	__s64 bucket_s;			/* the end of the bucket */
	int64_t lease;
};

struct cs_iptable {
	struct cs_iptable_maps maps;
	struct cs_rule_quota *quota;
	__u64 name_key[2];
	struct cs_daemon_stats *stats;
	struct cs_cluster_part part;

	pthread_rwlock_t rules_lock;	/* the loop swaps rules on a reload */
	struct rules_index *rules;

	pthread_mutex_t lock;		/* the loop's side of the two queues */
	struct keyset pending;		/* records to publish */
	bool noted;			/* pending grew since cs_iptable_noted() */
	bool pending_overflow;		/* some were not kept: list again */
	struct note *notes;		/* installed records' names, for the sweep */
	size_t n_notes, cap_notes;
	bool removed_any;

	/* the cluster thread's alone */
	const char *node;
	struct keyset listed;		/* the keys of the list under way */
	bool listed_once;		/* a list has ended since the start */
	bool synced;			/* ... and everything it found to publish is */
	struct lease_slot *leases;	/* sorted by bucket */
	size_t n_leases, cap_leases;
	__u64 events_lost;		/* learn's event_lost at the last look */
	__u64 relisted_ms;
	char drift[DRIFT_LOGGED_MAX][CS_NAME_TEXT_MAX + 2];
	size_t n_drift;
};

/* ---- time: this host's clock and the wall clock ---- */

struct clocks {
	__s64 boot_ns;			/* CLOCK_BOOTTIME, the records' clock */
	__s64 wall_ns;			/* CLOCK_REALTIME, the cluster's */
};

static struct clocks clocks_now(void)
{
	return (struct clocks){ (__s64)cs_now_ns(), cs_wall_ns() };
}

static __s64 wall_of(const struct clocks *c, __u64 boot_ns)
{
	return c->wall_ns + ((__s64)boot_ns - c->boot_ns);
}

static __s64 boot_of(const struct clocks *c, __s64 wall_ns)
{
	return c->boot_ns + (wall_ns - c->wall_ns);
}

static __u32 secs_up(__s64 ns)
{
	return ns <= 0 ? 0 : (__u32)((ns + NSEC - 1) / NSEC);
}

/* ---- from the daemon's loop ---- */

void cs_iptable_note(struct cs_iptable *t, __u64 name_id, const struct cs_addr *addr)
{
	struct cs_record_key k = { .name_id = name_id, .addr = *addr };

	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	if (t->pending.n >= PENDING_MAX || !keyset_add(&t->pending, &k))
		t->pending_overflow = true;
	t->noted = true;
	pthread_mutex_unlock(&t->lock);
}

bool cs_iptable_noted(struct cs_iptable *t)
{
	bool noted;

	if (!t)
		return false;
	pthread_mutex_lock(&t->lock);
	noted = t->noted;
	t->noted = false;
	pthread_mutex_unlock(&t->lock);
	return noted;
}

bool cs_iptable_take_notes(struct cs_iptable *t, void (*keep)(__u64 id, const struct cs_name *text, void *ctx),
			   void *ctx)
{
	struct note *notes;
	size_t n, i;
	bool removed;

	if (!t)
		return false;
	pthread_mutex_lock(&t->lock);
	notes = t->notes;
	n = t->n_notes;
	removed = t->removed_any;
	t->notes = NULL;
	t->n_notes = t->cap_notes = 0;
	t->removed_any = false;
	pthread_mutex_unlock(&t->lock);
	for (i = 0; i < n; i++)
		keep(notes[i].id, &notes[i].name, ctx);
	free(notes);
	return removed;
}

int cs_iptable_set_rules(struct cs_iptable *t, const struct cs_conf *conf)
{
	struct rules_index *fresh = rules_of(conf), *old;

	if (!fresh)
		return -ENOMEM;
	pthread_rwlock_wrlock(&t->rules_lock);
	old = t->rules;
	t->rules = fresh;
	pthread_rwlock_unlock(&t->rules_lock);
	rules_free(old);
	return 0;
}

/* ---- the thread's side of the queues ---- */

static void note_installed(struct cs_iptable *t, __u64 id, const char *name)
{
	pthread_mutex_lock(&t->lock);
	if (t->n_notes == t->cap_notes) {
		size_t cap = t->cap_notes ? t->cap_notes * 2 : 256;
		struct note *bigger = realloc(t->notes, cap * sizeof(*bigger));

		if (bigger) {
			t->notes = bigger;
			t->cap_notes = cap;
		}
	}
	if (t->n_notes < t->cap_notes) {
		t->notes[t->n_notes].id = id;
		memset(&t->notes[t->n_notes].name, 0, sizeof(struct cs_name));
		snprintf(t->notes[t->n_notes].name.text, CS_NAME_TEXT_MAX, "%s", name);
		t->n_notes++;
	}
	pthread_mutex_unlock(&t->lock);
}

static void note_removed(struct cs_iptable *t)
{
	pthread_mutex_lock(&t->lock);
	t->removed_any = true;
	pthread_mutex_unlock(&t->lock);
}

static void publish_later(struct cs_iptable *t, const struct cs_record_key *k)
{
	pthread_mutex_lock(&t->lock);
	if (t->pending.n >= PENDING_MAX || !keyset_add(&t->pending, k))
		t->pending_overflow = true;
	pthread_mutex_unlock(&t->lock);
}

/* ---- pattern lookups, under the rules' read lock ---- */

static bool pattern_by_text(struct cs_iptable *t, const char *text, struct pattern_facts *out)
{
	struct pattern_entry want = { .text = text };
	bool found;

	pthread_rwlock_rdlock(&t->rules_lock);
	found = t->rules && facts_of(t->rules, bsearch(&want, t->rules->by_text, t->rules->n,
						       sizeof(want), by_text), out);
	pthread_rwlock_unlock(&t->rules_lock);
	return found;
}

static bool pattern_by_id(struct cs_iptable *t, __u32 id, struct pattern_facts *out)
{
	struct pattern_entry want = { .pattern_id = id };
	bool found;

	pthread_rwlock_rdlock(&t->rules_lock);
	found = t->rules && facts_of(t->rules, bsearch(&want, t->rules->by_id, t->rules->n,
						       sizeof(want), by_id), out);
	pthread_rwlock_unlock(&t->rules_lock);
	return found;
}

static __u32 rule_priority(struct cs_iptable *t, __u32 rule_id, bool *known)
{
	__u32 p = 0;

	pthread_rwlock_rdlock(&t->rules_lock);
	*known = t->rules && rule_id && rule_id <= t->rules->n_rules;
	if (*known)
		p = t->rules->rules[rule_id - 1].priority;
	pthread_rwlock_unlock(&t->rules_lock);
	return p;
}

/* The refresh step of learn (CS_SHARE_STEP_MIN_S). */
static __s64 step_ns(const struct pattern_facts *p)
{
	return (__s64)(p->grace > CS_SHARE_STEP_MIN_S ? p->grace : CS_SHARE_STEP_MIN_S) * NSEC;
}

/* ---- publishing ---- */

/* The lease of the bucket that ends at bucket_s: one granted before, or a
 * new one. 0 or -errno (etcd's words in io->err). */
static int lease_for(struct cs_iptable *t, struct cs_cluster_io *io, __s64 bucket_s, __s64 now_s, int64_t *lease)
{
	size_t lo = 0, hi = t->n_leases;
	int rc;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (t->leases[mid].bucket_s < bucket_s)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < t->n_leases && t->leases[lo].bucket_s == bucket_s) {
		*lease = t->leases[lo].lease;
		return 0;
	}
	rc = cs_etcd_lease_grant(io->etcd, cs_lease_ttl(bucket_s, now_s), lease, io->err, sizeof(io->err));
	if (rc)
		return rc;
	if (t->n_leases == t->cap_leases) {
		size_t cap = t->cap_leases ? t->cap_leases * 2 : 64;
		struct lease_slot *bigger = realloc(t->leases, cap * sizeof(*bigger));

		if (!bigger)
			return 0;	/* used once, not kept */
		t->leases = bigger;
		t->cap_leases = cap;
	}
	memmove(&t->leases[lo + 1], &t->leases[lo], (t->n_leases - lo) * sizeof(*t->leases));
	t->leases[lo] = (struct lease_slot){ bucket_s, *lease };
	t->n_leases++;
	return 0;
}

/* Leases of buckets that have ended are gone in etcd too. */
static void forget_old_leases(struct cs_iptable *t, __s64 now_s)
{
	size_t n = 0;

	while (n < t->n_leases && t->leases[n].bucket_s + CS_LEASE_SLACK_S <= now_s)
		n++;
	memmove(t->leases, t->leases + n, (t->n_leases - n) * sizeof(*t->leases));
	t->n_leases -= n;
}

/* The value of a record of this node's own, or false (gone, heard from
 * the cluster, expired, or its name or pattern unknown). */
static bool value_of(struct cs_iptable *t, const struct cs_record_key *k, const struct clocks *now,
		     struct cs_record_value *v, struct cs_name *name)
{
	struct pattern_facts p;
	struct cs_record r;

	if (bpf_map_lookup_elem(t->maps.records, k, &r) || r.origin != CS_ORIGIN_LOCAL ||
	    (__s64)r.expires_ns <= now->boot_ns || bpf_map_lookup_elem(t->maps.names, &k->name_id, name) ||
	    !pattern_by_id(t, r.pattern_id, &p))
		return false;
	memset(v, 0, sizeof(*v));
	snprintf(v->pattern, sizeof(v->pattern), "%s", p.text);
	v->rule = p.rule_digest;
	snprintf(v->chain, sizeof(v->chain), "%s", p.chain);
	v->ttl = r.ttl;
	v->expires_s = secs_up(wall_of(now, r.expires_ns));
	v->learned_ms = wall_of(now, r.last_ns) / 1000000;
	snprintf(v->by, sizeof(v->by), "%s", t->node);
	return true;
}

struct batch {
	struct cs_etcd_op ops[PUBLISH_PER_TICK];
	struct cs_record_key keys[PUBLISH_PER_TICK];
	size_t n;
};

static void batch_free(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		free((void *)b->ops[i].key.p);
		free((void *)b->ops[i].value.p);
	}
	b->n = 0;
}

/* The put of one record into b: 1, 0 when there is nothing to publish, or
 * -errno when no lease could be had. */
static int batch_add(struct cs_iptable *t, struct cs_cluster_io *io, struct batch *b, const struct cs_record_key *k,
		     const struct clocks *now)
{
	char key[CS_CKEY_MAX], *json, *keydup;
	struct cs_record_value v;
	struct cs_name name;
	int64_t lease = 0;
	int rc;

	if (!value_of(t, k, now, &v, &name) || cs_record_key(key, sizeof(key), io->cluster, &k->addr, name.text) < 0)
		return 0;
	rc = lease_for(t, io, cs_lease_bucket(v.expires_s), now->wall_ns / NSEC, &lease);
	if (rc)
		return rc;
	json = cs_record_value_encode(&v);
	keydup = strdup(key);
	if (!json || !keydup) {
		free(json);
		free(keydup);
		return -ENOMEM;
	}
	b->keys[b->n] = *k;
	b->ops[b->n++] = (struct cs_etcd_op){ .kind = CS_ETCD_OP_PUT, .key = CS_ETCD_STR(keydup),
					      .value = CS_ETCD_STR(json), .lease = lease };
	return 1;
}

/* The records waiting, taken whole: what is not written goes back. */
static struct keyset take_pending(struct cs_iptable *t, bool *overflow)
{
	struct keyset ks;

	pthread_mutex_lock(&t->lock);
	ks = t->pending;
	memset(&t->pending, 0, sizeof(t->pending));
	*overflow = t->pending_overflow;
	t->pending_overflow = false;
	pthread_mutex_unlock(&t->lock);
	return ks;
}

/* Write what waits, PUBLISH_PER_TICK at most; the rest, and what a failed
 * transaction held, waits for the next tick. */
static int publish(struct cs_iptable *t, struct cs_cluster_io *io, bool *overflow)
{
	static struct batch b;
	struct keyset ks = take_pending(t, overflow);
	struct clocks now = clocks_now();
	size_t i, done = 0;
	int rc = 0;

	forget_old_leases(t, now.wall_ns / NSEC);
	for (i = 0; i < ks.cap; i++) {
		if (!ks.s[i].used)
			continue;
		if (b.n == PUBLISH_PER_TICK || rc < 0) {
			publish_later(t, &ks.s[i].k);
			continue;
		}
		rc = batch_add(t, io, &b, &ks.s[i].k, &now);
		if (rc < 0)
			publish_later(t, &ks.s[i].k);
	}
	if (rc >= 0 && b.n)
		rc = cs_cluster_write(io, b.ops, b.n, &done, io->err, sizeof(io->err));
	for (i = done; i < b.n; i++)
		publish_later(t, &b.keys[i]);
	cs_stat_add(&t->stats->cluster_published, done);
	if (rc == -ENOENT) {
		/* a lease etcd no longer has (its own restart from an old
		 * snapshot, an operator): grant anew, next tick */
		cs_warn("cluster: ip: %s; granting new leases", io->err);
		t->n_leases = 0;
		rc = 0;
	}
	batch_free(&b);
	keyset_free(&ks);
	return rc < 0 ? rc : 0;
}

/* ---- installing ---- */

/* An ACL id from the pool: 0 when it is empty (the route waits for one). */
static __u32 take_acl_id(struct cs_iptable *t)
{
	__u32 id = 0;

	return bpf_map_lookup_and_delete_elem(t->maps.acl_pool, NULL, &id) ? 0 : id;
}

/* The route of an installed record, as learn makes one: the route hears of
 * the record (its stamp, which keeps the sweep's pass under way from
 * removing it, and the claim of a rule of higher priority) by replacing the
 * element; a missing one is made with an id from the pool, which goes back
 * when another writer made the route first. */
static void route_for(struct cs_iptable *t, const struct cs_addr *addr, const struct pattern_facts *p, __u64 now)
{
	struct cs_route rt;
	bool known;

	if (cs_never_kind_of(t->maps.never, addr))
		return;
	if (!bpf_map_lookup_elem(t->maps.routes, addr, &rt)) {
		rt.learned_ns = now;
		if (rt.rule_id != p->rule_id && (p->priority > rule_priority(t, rt.rule_id, &known) || !known))
			rt.rule_id = p->rule_id;
		if (!bpf_map_update_elem(t->maps.routes, addr, &rt, BPF_EXIST))
			return;
		/* the sweep removed it meanwhile: a new one, as for a new IP */
	}
	rt = (struct cs_route){ .created_ns = now, .learned_ns = now, .rule_id = p->rule_id };
	rt.acl_id = take_acl_id(t);
	rt.flags = rt.acl_id ? 0 : CS_ROUTE_WAIT_ACL;
	if (bpf_map_update_elem(t->maps.routes, addr, &rt, BPF_NOEXIST) && rt.acl_id &&
	    bpf_map_update_elem(t->maps.acl_pool, NULL, &rt.acl_id, BPF_ANY))
		cs_warn("cluster: ip: ACL id %u could not go back to the pool: %s", rt.acl_id, strerror(errno));
}

static bool quota_full(struct cs_iptable *t, __u32 rule_id)
{
	const struct cs_rule_quota *q = &t->quota[rule_id];
	__u64 records = __atomic_load_n(&q->records, __ATOMIC_RELAXED);

	return q->limit && records >= q->limit && !(records >> 63);
}

/* Said once a pattern: the records another node publishes under a pattern
 * this one lacks (show cluster lists them all). */
static void skipped(struct cs_iptable *t, const struct cs_record_value *v)
{
	size_t i;

	cs_stat_add(&t->stats->cluster_skipped, 1);
	for (i = 0; i < t->n_drift; i++)
		if (!strcmp(t->drift[i], v->pattern))
			return;
	if (t->n_drift < DRIFT_LOGGED_MAX)
		snprintf(t->drift[t->n_drift++], sizeof(t->drift[0]), "%s", v->pattern);
	cs_warn("cluster: ip: %s publishes records of pattern \"%s\", which this node's rules lack: not "
		"installed (cloudsteer show cluster lists what differs)", v->by, v->pattern);
}

/* A record this node does not have, made as another gateway has it. False
 * when another writer made it first: the caller looks again. */
static bool install_new(struct cs_iptable *t, const struct cs_record_key *k, const char *name,
			const struct cs_record_value *v, const struct pattern_facts *p, __s64 expires_ns,
			const struct clocks *now)
{
	__s64 learned = boot_of(now, v->learned_ms * 1000000);
	struct cs_record r = {
		.expires_ns = (__u64)expires_ns, .first_ns = (__u64)now->boot_ns,
		.last_ns = (__u64)(learned > 0 && learned < now->boot_ns ? learned : now->boot_ns),
		.rule_id = p->rule_id, .pattern_id = p->pattern_id, .ttl = v->ttl, .origin = CS_ORIGIN_CLUSTER,
		.shared_s = secs_up(expires_ns),
	};
	struct cs_name text;

	if (quota_full(t, p->rule_id)) {
		cs_stat_add(&t->stats->cluster_skipped, 1);
		return true;
	}
	if (bpf_map_update_elem(t->maps.records, k, &r, BPF_NOEXIST)) {
		if (errno == EEXIST)
			return false;
		cs_stat_add(&t->stats->cluster_skipped, 1);
		cs_debug("cluster: ip: %s not installed: %s", name, strerror(errno));
		return true;
	}
	cs_quota_give(t->quota, p->rule_id, 1);
	memset(&text, 0, sizeof(text));
	snprintf(text.text, sizeof(text.text), "%s", name);
	bpf_map_update_elem(t->maps.names, &k->name_id, &text, BPF_NOEXIST);
	note_installed(t, k->name_id, name);
	route_for(t, &k->addr, p, (__u64)now->boot_ns);
	cs_stat_add(&t->stats->cluster_installed, 1);
	if (v->learned_ms)	/* clocks a little apart make it 0, not a wrap */
		cs_stat_set(&t->stats->cluster_lag_ms,
			    now->wall_ns / 1000000 > v->learned_ms ? (__u64)(now->wall_ns / 1000000 - v->learned_ms) : 0);
	return true;
}

/* A later expiry for a record this node has: its copy lives as long, by
 * replacing the element. False when it went meanwhile: the caller looks
 * again. A record of this node's own is extended so too: learn refreshes
 * those in place, and a refresh that lands in the microseconds between this
 * read and this write is lost; the record then keeps the later expiry
 * written here, which another gateway's answer of moments ago set. */
static bool extend(struct cs_iptable *t, const struct cs_record_key *k, struct cs_record r, __s64 expires_ns)
{
	r.expires_ns = (__u64)expires_ns;
	if (secs_up(expires_ns) > r.shared_s)
		r.shared_s = secs_up(expires_ns);
	return !bpf_map_update_elem(t->maps.records, k, &r, BPF_EXIST);
}

/* What another gateway published, against what this node has. */
static void take_value(struct cs_iptable *t, const struct cs_record_key *k, const char *name,
		       const struct cs_record_value *v)
{
	struct clocks now = clocks_now();
	__s64 expires_ns = boot_of(&now, v->expires_s * NSEC);
	struct pattern_facts p;
	struct cs_record r;
	int tries;

	if (expires_ns <= now.boot_ns)
		return;		/* expired already: nothing to install */
	if (!pattern_by_text(t, v->pattern, &p)) {
		skipped(t, v);
		return;
	}
	for (tries = 0; tries < 3; tries++) {
		if (bpf_map_lookup_elem(t->maps.records, k, &r)) {
			if (install_new(t, k, name, v, &p, expires_ns, &now))
				return;
			continue;
		}
		if ((__s64)r.expires_ns + NSEC < expires_ns) {
			if (extend(t, k, r, expires_ns))
				return;
			continue;
		}
		/* this node knows a later expiry of its own: etcd should too */
		if (r.origin == CS_ORIGIN_LOCAL && (__s64)r.expires_ns > expires_ns + step_ns(&p))
			publish_later(t, k);
		return;
	}
}

/* etcd says the key of (name, addr) is gone: a live copy heard from the
 * cluster goes (an expired one is the sweep's, a record of this node's own
 * stays). Removed by lookup-and-delete and judged by what was removed:
 * learn replaces a heard record when it answers for it, so a record it made
 * its own meanwhile is what was removed, and goes back. */
static void remove_gone(struct cs_iptable *t, const struct cs_record_key *k)
{
	__u64 now = cs_now_ns();
	struct cs_record r, gone;

	if (bpf_map_lookup_elem(t->maps.records, k, &r) || r.origin != CS_ORIGIN_CLUSTER || r.expires_ns <= now)
		return;
	if (bpf_map_lookup_and_delete_elem(t->maps.records, k, &gone))
		return;
	if (gone.origin != CS_ORIGIN_CLUSTER) {
		if (bpf_map_update_elem(t->maps.records, k, &gone, BPF_NOEXIST) && errno != EEXIST)
			cs_warn("cluster: ip: a record learn refreshed during its removal could not go back: %s",
				strerror(errno));
		return;
	}
	cs_quota_take(t->quota, gone.rule_id, 1);
	cs_stat_add(&t->stats->cluster_removed, 1);
	note_removed(t);
}

/* ---- the part's callbacks ---- */

/* The record key and name of an ip/ key; false for a key that is not one. */
static bool record_of_key(struct cs_iptable *t, const struct cs_cluster_io *io, const struct cs_etcd_kv *kv,
			  struct cs_record_key *k, char *name)
{
	if (cs_record_key_parse(kv->key, kv->key_len, io->prefix_len, &k->addr, name, CS_NAME_TEXT_MAX))
		return false;
	k->name_id = cs_text_name_hash(t->name_key, name, NULL);
	return true;
}

static void take_kv(struct cs_iptable *t, const struct cs_cluster_io *io, const struct cs_etcd_kv *kv,
		    bool listing)
{
	char name[CS_NAME_TEXT_MAX];
	struct cs_record_value v;
	struct cs_record_key k;

	if (!record_of_key(t, io, kv, &k, name) || cs_record_value_decode(kv->value, kv->value_len, &v)) {
		cs_debug("cluster: ip: not a record: %s", kv->key);
		return;
	}
	if (listing)
		keyset_add(&t->listed, &k);
	/* its own puts come back on the watch: it knows them */
	if (!listing && !strcmp(v.by, t->node))
		return;
	take_value(t, &k, name, &v);
}

static int ip_list_begin(void *ctx, struct cs_cluster_io *io, int64_t revision)
{
	struct cs_iptable *t = ctx;

	t->node = io->node;
	keyset_free(&t->listed);
	return 0;
}

static int ip_list_page(void *ctx, struct cs_cluster_io *io, const struct cs_etcd_kvs *page)
{
	size_t i;

	for (i = 0; i < page->n; i++)
		take_kv(ctx, io, &page->kvs[i], true);
	return 0;
}

struct reconcile {
	struct cs_iptable *t;
	__u64 now;
	size_t gone, missing;
};

/* A record against the list that just ended: a copy whose key is gone
 * goes; one of this node's own that etcd lacks is published. */
static void reconcile_one(const void *key, const void *value, void *ctx)
{
	struct reconcile *rc = ctx;
	const struct cs_record_key *k = key;
	const struct cs_record *r = value;

	if (keyset_has(&rc->t->listed, k) || r->expires_ns <= rc->now)
		return;
	if (r->origin == CS_ORIGIN_CLUSTER) {
		remove_gone(rc->t, k);
		rc->gone++;
	} else {
		publish_later(rc->t, k);
		rc->missing++;
	}
}

static int ip_list_end(void *ctx, struct cs_cluster_io *io)
{
	struct cs_iptable *t = ctx;
	struct reconcile rc = { .t = t, .now = cs_now_ns() };
	int e = cs_map_each(t->maps.records, sizeof(struct cs_record_key), sizeof(struct cs_record), reconcile_one,
			    &rc);

	keyset_free(&t->listed);
	if (e)
		return e;
	if (rc.gone || rc.missing)
		cs_info("cluster: ip: after the list, %zu records heard from the cluster are gone from etcd "
			"and removed here; %zu of this node's own are published again", rc.gone, rc.missing);
	t->listed_once = true;
	return 0;
}

/* A key gone while this node's own record of it lives (an operator's
 * delete, a lease etcd lost): etcd should know what the node knows, so it
 * is published again. True if so. */
static bool republish_own(struct cs_iptable *t, const struct cs_record_key *k)
{
	struct cs_record r;

	if (bpf_map_lookup_elem(t->maps.records, k, &r) || r.origin != CS_ORIGIN_LOCAL || r.expires_ns <= cs_now_ns())
		return false;
	publish_later(t, k);
	return true;
}

static void ip_event(void *ctx, struct cs_cluster_io *io, const struct cs_etcd_event *ev)
{
	struct cs_iptable *t = ctx;
	char name[CS_NAME_TEXT_MAX];
	struct cs_record_key k;

	if (ev->type == CS_ETCD_EVENT_PUT)
		take_kv(t, io, &ev->kv, false);
	else if (record_of_key(t, io, &ev->kv, &k, name) && !republish_own(t, &k))
		remove_gone(t, &k);
}

/* learn lost events (its ring buffer was full): records made or extended
 * then were never handed over. A list finds them (what etcd lacks). */
static bool lost_events(struct cs_iptable *t)
{
	__u64 lost = 0, now = cs_monotonic_ms();

	if (cs_percpu_sum(t->maps.learn_stats, CS_R_EVENT_LOST, 1, &lost, 1) || lost == t->events_lost)
		return false;
	if (now - t->relisted_ms < LOST_EVENTS_RELIST_MS && t->relisted_ms)
		return false;
	cs_info("cluster: ip: learn lost %llu events: listing etcd again to publish what they named",
		(unsigned long long)(lost - t->events_lost));
	t->events_lost = lost;
	t->relisted_ms = now;
	return true;
}

static int ip_tick(void *ctx, struct cs_cluster_io *io)
{
	struct cs_iptable *t = ctx;
	bool overflow = false;
	int rc;

	t->node = io->node;
	rc = publish(t, io, &overflow);
	if ((overflow || lost_events(t)) && t->listed_once)
		io->relist = true;
	if (!rc && t->listed_once && !t->synced) {
		pthread_mutex_lock(&t->lock);
		t->synced = t->pending.n == 0;
		pthread_mutex_unlock(&t->lock);
	}
	return rc;
}

static bool ip_synced(void *ctx)
{
	return ((struct cs_iptable *)ctx)->synced;
}

/* ---- life ---- */

struct cs_iptable *cs_iptable_new(const struct cs_iptable_maps *maps, struct cs_rule_quota *quota,
				  const __u64 name_key[2], const struct cs_conf *conf, struct cs_daemon_stats *stats)
{
	struct cs_iptable *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->maps = *maps;
	t->quota = quota;
	memcpy(t->name_key, name_key, sizeof(t->name_key));
	t->stats = stats;
	pthread_rwlock_init(&t->rules_lock, NULL);
	pthread_mutex_init(&t->lock, NULL);
	if (cs_iptable_set_rules(t, conf)) {
		cs_iptable_free(t);
		errno = ENOMEM;
		return NULL;
	}
	/* what learn lost before this daemon is for the first list to find */
	cs_percpu_sum(maps->learn_stats, CS_R_EVENT_LOST, 1, &t->events_lost, 1);
	t->part = (struct cs_cluster_part){ .name = "ip", .kind = CS_CKEY_IP, .ctx = t,
					    .list_begin = ip_list_begin, .list_page = ip_list_page,
					    .list_end = ip_list_end, .event = ip_event, .tick = ip_tick,
					    .synced = ip_synced };
	return t;
}

struct cs_cluster_part *cs_iptable_part(struct cs_iptable *t)
{
	return &t->part;
}

void cs_iptable_free(struct cs_iptable *t)
{
	if (!t)
		return;
	rules_free(t->rules);
	keyset_free(&t->pending);
	keyset_free(&t->listed);
	free(t->notes);
	free(t->leases);
	pthread_rwlock_destroy(&t->rules_lock);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
