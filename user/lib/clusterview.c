// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "clusterkeys.h"
#include "clusterview.h"

/* ---- the members ---- */

static int read_members(struct cs_etcd *c, const struct cs_conf *conf, struct cs_cluster_view *v, char *err,
			size_t errlen)
{
	char prefix[CS_CKEY_MAX];
	int len = cs_ckey(prefix, sizeof(prefix), conf->cluster.name, CS_CKEY_NODES, NULL, 0);
	struct cs_etcd_get q = { .prefix = true };
	struct cs_etcd_kvs r = { 0 };
	size_t i;
	int rc;

	if (len < 0)
		return len;
	q.key = (struct cs_etcd_buf){ prefix, (size_t)len };
	rc = cs_etcd_get(c, &q, &r, err, errlen);
	if (rc)
		return rc;
	v->members = calloc(r.n ? r.n : 1, sizeof(*v->members));
	if (!v->members) {
		cs_etcd_kvs_free(&r);
		return -ENOMEM;
	}
	for (i = 0; i < r.n; i++) {
		struct cs_cluster_member *m = &v->members[v->n_members];
		char why[CS_ETCD_ERR_MAX];

		if (r.kvs[i].key_len - (size_t)len >= sizeof(m->node) ||
		    cs_node_value_decode(r.kvs[i].value, r.kvs[i].value_len, &m->v))
			continue;	/* not a node of this version */
		memcpy(m->node, r.kvs[i].key + len, r.kvs[i].key_len - (size_t)len);
		m->lease = r.kvs[i].lease;
		if (!m->lease || cs_etcd_lease_ttl(c, m->lease, &m->ttl_left, &m->ttl_granted, why, sizeof(why)))
			m->ttl_left = m->ttl_granted = -1;
		v->n_members++;
	}
	cs_etcd_kvs_free(&r);
	return 0;
}

static struct cs_cluster_member *member_named(struct cs_cluster_view *v, const char *node)
{
	size_t i;

	for (i = 0; i < v->n_members; i++)
		if (!strcmp(v->members[i].node, node))
			return &v->members[i];
	return NULL;
}

/* Which parts of each member's config differ from this node's. A member
 * of another version that publishes no digest of a part is not said to
 * differ in it. */
static void compare_digests(struct cs_cluster_view *v)
{
	size_t i, p;

	for (i = 0; i < v->n_members; i++)
		for (p = 0; p < CS_DIGEST_PARTS; p++)
			if (v->members[i].v.digest.part[p] != v->mine.part[p] &&
			    (v->members[i].v.digest.part[p] || p == CS_DIGEST_AFFINITY_KEY || p == CS_DIGEST_SYNC_KEY))
				v->members[i].differs |= 1u << p;
}

/* ---- the records ---- */

struct scan {
	struct cs_cluster_view *v;
	const struct cs_conf *conf;
	const char **patterns;		/* this node's, sorted */
	size_t cap_publishers, cap_drift;
};

static int cmp_text(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool has_pattern(const struct scan *s, const char *text)
{
	return bsearch(&text, s->patterns, s->conf->n_patterns, sizeof(*s->patterns), cmp_text) != NULL;
}

/* One more of what grows: *n of *cap, each size octets. */
static void *grow(void *array, size_t *cap, size_t n, size_t size)
{
	void *bigger;

	if (n < *cap)
		return array;
	bigger = realloc(array, (*cap ? *cap * 2 : 16) * size);
	if (bigger) {
		*cap = *cap ? *cap * 2 : 16;
		memset((char *)bigger + n * size, 0, (*cap - n) * size);
	}
	return bigger;
}

static struct cs_cluster_publisher *publisher(struct scan *s, const char *by)
{
	struct cs_cluster_view *v = s->v;
	struct cs_cluster_publisher *p;
	size_t i;

	for (i = 0; i < v->n_publishers; i++)
		if (!strcmp(v->publishers[i].node, by))
			return &v->publishers[i];
	p = grow(v->publishers, &s->cap_publishers, v->n_publishers, sizeof(*p));
	if (!p)
		return NULL;
	v->publishers = p;
	p = &v->publishers[v->n_publishers++];
	snprintf(p->node, sizeof(p->node), "%s", by);
	p->member = member_named(v, by) != NULL;
	return p;
}

static struct cs_cluster_drift *drift(struct scan *s, const struct cs_record_value *r)
{
	struct cs_cluster_view *v = s->v;
	struct cs_cluster_drift *d;
	size_t i;

	for (i = 0; i < v->n_drift; i++)
		if (!strcmp(v->drift[i].node, r->by) && !strcmp(v->drift[i].pattern, r->pattern))
			return &v->drift[i];
	d = grow(v->drift, &s->cap_drift, v->n_drift, sizeof(*d));
	if (!d)
		return NULL;
	v->drift = d;
	d = &v->drift[v->n_drift++];
	snprintf(d->node, sizeof(d->node), "%s", r->by);
	snprintf(d->pattern, sizeof(d->pattern), "%s", r->pattern);
	return d;
}

static int count_page(void *ctx, const struct cs_etcd_kvs *kvs)
{
	struct scan *s = ctx;
	struct cs_record_value r;
	struct cs_cluster_publisher *p;
	struct cs_cluster_member *m;
	struct cs_cluster_drift *d;
	size_t i;

	for (i = 0; i < kvs->n; i++) {
		if (cs_record_value_decode(kvs->kvs[i].value, kvs->kvs[i].value_len, &r)) {
			s->v->malformed++;
			continue;
		}
		s->v->records++;
		p = publisher(s, r.by);
		m = member_named(s->v, r.by);
		if (!p)
			return -ENOMEM;
		p->records++;
		if (m)
			m->records++;
		if (!has_pattern(s, r.pattern) && strcmp(r.by, s->v->self)) {
			d = drift(s, &r);
			if (!d)
				return -ENOMEM;
			d->records++;
		}
	}
	return 0;
}

static int read_records(struct cs_etcd *c, const struct cs_conf *conf, struct cs_cluster_view *v, char *err,
			size_t errlen)
{
	struct scan s = { .v = v, .conf = conf };
	char prefix[CS_CKEY_MAX];
	int len = cs_ckey(prefix, sizeof(prefix), conf->cluster.name, CS_CKEY_IP, NULL, 0), rc;
	size_t i;

	if (len < 0)
		return len;
	s.patterns = calloc(conf->n_patterns + 1, sizeof(*s.patterns));
	if (!s.patterns)
		return -ENOMEM;
	for (i = 0; i < conf->n_patterns; i++)
		s.patterns[i] = conf->patterns[i].text;
	qsort(s.patterns, conf->n_patterns, sizeof(*s.patterns), cmp_text);
	v->revision = 0;
	rc = cs_cluster_scan(c, prefix, (size_t)len, &v->revision, count_page, &s, err, errlen);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	free(s.patterns);
	return rc;
}

/* ---- the chains: leader, agreed map, observations, drains ---- */

static struct cs_cluster_chain *view_chain(struct cs_cluster_view *v, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < v->n_chains; i++)
		if (strlen(v->chains[i].name) == len && !memcmp(v->chains[i].name, name, len))
			return &v->chains[i];
	return NULL;
}

/* The position of instance name in the chain's map, -1 when it is not. */
static int map_position(const struct cs_cluster_chain *ch, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < ch->map.n; i++)
		if (strlen(ch->map.inst[i].name) == len && !memcmp(ch->map.inst[i].name, name, len))
			return (int)i;
	return -1;
}

/* Every key of one kind under the cluster, in one get (a handful a chain). */
static int get_kind(struct cs_etcd *c, const struct cs_conf *conf, const char *kind, struct cs_etcd_kvs *r,
		    size_t *prefix_len, char *err, size_t errlen)
{
	char prefix[CS_CKEY_MAX];
	int len = cs_ckey(prefix, sizeof(prefix), conf->cluster.name, kind, NULL, 0);
	struct cs_etcd_get q = { .prefix = true };

	if (len < 0)
		return len;
	*prefix_len = (size_t)len;
	q.key = (struct cs_etcd_buf){ prefix, (size_t)len };
	return cs_etcd_get(c, &q, r, err, errlen);
}

/* The key's rest after the prefix, split at its first '/': the chain. */
static struct cs_cluster_chain *chain_of_key(struct cs_cluster_view *v, const struct cs_etcd_kv *kv, size_t plen,
					     const char **rest, size_t *rest_len)
{
	const char *p = kv->key + plen, *slash;
	size_t len = kv->key_len > plen ? kv->key_len - plen : 0;

	slash = memchr(p, '/', len);
	*rest = slash ? slash + 1 : p + len;
	*rest_len = slash ? len - (size_t)(slash + 1 - p) : 0;
	return view_chain(v, p, slash ? (size_t)(slash - p) : len);
}

static void read_leaders_and_maps(struct cs_cluster_view *v, const struct cs_etcd_kvs *leaders, size_t lplen,
				  const struct cs_etcd_kvs *maps, size_t mplen)
{
	struct cs_leader_value lv;
	const char *rest;
	size_t i, rl;

	for (i = 0; i < leaders->n; i++) {
		struct cs_cluster_chain *ch = chain_of_key(v, &leaders->kvs[i], lplen, &rest, &rl);

		if (!ch)
			continue;
		ch->fence = leaders->kvs[i].create_revision;
		if (cs_leader_value_decode(leaders->kvs[i].value, leaders->kvs[i].value_len, &lv))
			snprintf(ch->leader, sizeof(ch->leader), "?");
		else
			snprintf(ch->leader, sizeof(ch->leader), "%s", lv.node);
	}
	for (i = 0; i < maps->n; i++) {
		struct cs_cluster_chain *ch = chain_of_key(v, &maps->kvs[i], mplen, &rest, &rl);

		if (!ch)
			continue;
		ch->map_bad = cs_map_value_decode(maps->kvs[i].value, maps->kvs[i].value_len, &ch->map) != 0;
		ch->map_revision = ch->map_bad ? 0 : maps->kvs[i].mod_revision;
	}
}

/* obs/<chain>/<instance>/<observer> and drain/<chain>/<instance>, counted
 * by instance. */
static void read_obs_and_drains(struct cs_cluster_view *v, const struct cs_etcd_kvs *obs, size_t oplen,
				const struct cs_etcd_kvs *drains, size_t dplen)
{
	struct cs_obs_value ov;
	const char *rest, *slash;
	size_t i, rl;
	int at;

	for (i = 0; i < obs->n; i++) {
		struct cs_cluster_chain *ch = chain_of_key(v, &obs->kvs[i], oplen, &rest, &rl);

		slash = ch ? memchr(rest, '/', rl) : NULL;
		if (!slash || (at = map_position(ch, rest, (size_t)(slash - rest))) < 0 ||
		    cs_obs_value_decode(obs->kvs[i].value, obs->kvs[i].value_len, &ov))
			continue;
		if (ov.self) {
			ch->self_seen[at] = true;
			continue;
		}
		ch->observers[at]++;
		ch->down[at] += ov.down;
	}
	for (i = 0; i < drains->n; i++) {
		struct cs_cluster_chain *ch = chain_of_key(v, &drains->kvs[i], dplen, &rest, &rl);

		if (ch && (at = map_position(ch, rest, rl)) >= 0)
			ch->drain[at] = true;
	}
}

/* Without an agreed map, the config's instances stand in its place, so
 * observations and drains still show. */
static void chains_from_config(struct cs_cluster_view *v, const struct cs_conf *conf)
{
	size_t c, i;

	for (c = 0; c < v->n_chains; c++) {
		struct cs_cluster_chain *ch = &v->chains[c];

		if (ch->map_revision)
			continue;
		memset(&ch->map, 0, sizeof(ch->map));
		for (i = 0; i < conf->chains[c].n_instances && i < CS_AGREED_INSTANCES_MAX; i++)
			snprintf(ch->map.inst[i].name, sizeof(ch->map.inst[i].name), "%s",
				 conf->chains[c].instances[i].name);
		ch->map.n = i;
	}
}

static int read_chains(struct cs_etcd *c, const struct cs_conf *conf, struct cs_cluster_view *v, char *err,
		       size_t errlen)
{
	struct cs_etcd_kvs leaders = { 0 }, maps = { 0 }, obs = { 0 }, drains = { 0 };
	size_t lp = 0, mp = 0, op = 0, dp = 0, i;
	int rc;

	v->chains = calloc(conf->n_chains ? conf->n_chains : 1, sizeof(*v->chains));
	if (!v->chains)
		return -ENOMEM;
	v->n_chains = conf->n_chains;
	for (i = 0; i < conf->n_chains; i++)
		snprintf(v->chains[i].name, sizeof(v->chains[i].name), "%s", conf->chains[i].name);
	rc = get_kind(c, conf, CS_CKEY_LEADER, &leaders, &lp, err, errlen);
	if (!rc)
		rc = get_kind(c, conf, CS_CKEY_MAP, &maps, &mp, err, errlen);
	if (!rc)
		rc = get_kind(c, conf, CS_CKEY_OBS, &obs, &op, err, errlen);
	if (!rc)
		rc = get_kind(c, conf, CS_CKEY_DRAIN, &drains, &dp, err, errlen);
	if (!rc) {
		read_leaders_and_maps(v, &leaders, lp, &maps, mp);
		chains_from_config(v, conf);
		read_obs_and_drains(v, &obs, op, &drains, dp);
	}
	cs_etcd_kvs_free(&leaders);
	cs_etcd_kvs_free(&maps);
	cs_etcd_kvs_free(&obs);
	cs_etcd_kvs_free(&drains);
	return rc;
}

int cs_cluster_view_read(const struct cs_conf *conf, struct cs_cluster_view *v, char *err, size_t errlen)
{
	struct cs_etcd_opts o;
	struct cs_etcd *c = NULL;
	int rc;

	memset(v, 0, sizeof(*v));
	snprintf(v->cluster, sizeof(v->cluster), "%s", conf->cluster.name);
	snprintf(v->self, sizeof(v->self), "%s", conf->cluster.node);
	if (cs_conf_digest(conf, &v->mine)) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	cs_etcd_opts_from_conf(&conf->cluster, &o);
	rc = cs_etcd_open(&o, &c, err, errlen);
	if (!rc)
		rc = cs_etcd_status(c, &v->status, err, errlen);
	if (!rc) {
		snprintf(v->endpoint, sizeof(v->endpoint), "%s", cs_etcd_endpoint(c));
		rc = read_members(c, conf, v, err, errlen);
	}
	if (!rc)
		rc = read_records(c, conf, v, err, errlen);
	if (!rc)
		rc = read_chains(c, conf, v, err, errlen);
	if (!rc)
		compare_digests(v);
	cs_etcd_close(c);
	return rc;
}

void cs_cluster_view_free(struct cs_cluster_view *v)
{
	free(v->members);
	free(v->publishers);
	free(v->drift);
	free(v->chains);
	memset(v, 0, sizeof(*v));
}
