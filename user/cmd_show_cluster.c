// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cloudsteer show cluster - the cluster as etcd holds it, read as the
 * config's cluster: section reaches it (docs/cluster.md, "show cluster"):
 * its members, each chain's leader and agreed map, every member's table,
 * and a line for every way they disagree with this node's config or with
 * each other. It needs no daemon here. cmd_show.c parses the command line.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#include "cloudsteer.h"
#include "commands.h"
#include "lib/addr.h"
#include "lib/agreedmap.h"
#include "lib/clusterview.h"
#include "lib/config.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/table.h"

/* ---- cluster: from etcd ---- */

static const char *digest_parts_text(unsigned int bits, char *buf, size_t len)
{
	size_t at = 0, p;

	buf[0] = 0;
	for (p = 0; p < CS_DIGEST_PARTS; p++)
		if (bits & (1u << p))
			at += (size_t)snprintf(buf + at, at < len ? len - at : 0, "%s%s", at ? ", " : "",
					       cs_digest_part_names[p]);
	return buf;
}

static const char *addresses_text(const struct cs_node_value *n, char *buf, size_t len)
{
	char a[CS_ADDR_TEXT_MAX];
	size_t at = 0, i;

	buf[0] = 0;
	for (i = 0; i < n->n_addrs; i++)
		at += (size_t)snprintf(buf + at, at < len ? len - at : 0, "%s%s", i ? "," : "",
				       cs_addr_format(&n->addrs[i], a, sizeof(a)));
	return n->n_addrs ? buf : "-";
}

static const char *synced_text(const struct cs_node_value *n, char *buf, size_t len)
{
	size_t at = 0, i;

	buf[0] = 0;
	for (i = 0; i < n->n_synced; i++)
		at += (size_t)snprintf(buf + at, at < len ? len - at : 0, "%s%s", i ? "," : "", n->synced[i]);
	return n->n_synced ? buf : "-";
}

static void members_fill(void *ctx, size_t i, char cell[][CS_CELL_MAX])
{
	const struct cs_cluster_member *m = &((const struct cs_cluster_view *)ctx)->members[i];
	char d[CS_DIGEST_TEXT];

	snprintf(cell[0], CS_CELL_MAX, "%s", m->node);
	snprintf(cell[1], CS_CELL_MAX, "%s", m->v.role);
	snprintf(cell[2], CS_CELL_MAX, "%s", m->v.version[0] ? m->v.version : "?");
	if (m->ttl_left < 0)
		snprintf(cell[3], CS_CELL_MAX, "gone");
	else
		snprintf(cell[3], CS_CELL_MAX, "%llds/%llds", (long long)m->ttl_left, (long long)m->ttl_granted);
	snprintf(cell[4], CS_CELL_MAX, "%s%s", cs_digest_text(m->v.digest.all, d, sizeof(d)), m->differs ? " *" : "");
	snprintf(cell[5], CS_CELL_MAX, "%llu", (unsigned long long)m->records);
	synced_text(&m->v, cell[6], CS_CELL_MAX);
	addresses_text(&m->v, cell[7], CS_CELL_MAX);
}

/* Every way the members disagree with this node's config, a line each. */
static size_t cluster_differences(const struct cs_cluster_view *v)
{
	char parts[256];
	size_t i, n = 0;

	for (i = 0; i < v->n_members; i++) {
		const struct cs_cluster_member *m = &v->members[i];

		if (m->differs && ++n)
			printf("differs: %s: its config differs from this node's (%s) in %s\n", m->node, v->self,
			       digest_parts_text(m->differs, parts, sizeof(parts)));
		if (m->v.digest.random_affinity_key && !strcmp(m->v.role, "gateway") && ++n)
			printf("differs: %s: mesh.affinity_key is not set, so it made its own: gateways pick "
			       "different instances for one stream\n", m->node);
	}
	for (i = 0; i < v->n_drift; i++, n++)
		printf("differs: %s publishes %llu record%s of pattern \"%s\", which this node's rules lack\n",
		       v->drift[i].node, (unsigned long long)v->drift[i].records, v->drift[i].records == 1 ? "" : "s",
		       v->drift[i].pattern);
	return n;
}

/* ---- cluster: the chains' agreed maps and the tables built from them ---- */

static const struct cs_node_table *table_of(const struct cs_cluster_member *m, const char *chain)
{
	size_t i;

	for (i = 0; i < m->v.n_tables; i++)
		if (!strcmp(m->v.tables[i].chain, chain))
			return &m->v.tables[i];
	return NULL;
}

/* The first member whose table of ch is built from ch's agreed map: the
 * one the others are compared with. */
static const struct cs_cluster_member *reference_member(const struct cs_cluster_view *v,
							const struct cs_cluster_chain *ch)
{
	const struct cs_node_table *t;
	size_t i;

	for (i = 0; i < v->n_members; i++)
		if ((t = table_of(&v->members[i], ch->name)) && t->map_revision == ch->map_revision)
			return &v->members[i];
	return NULL;
}

typedef void (*say_fn)(void *ctx, const char *node, const char *chain, const char *what);

/* One member against the agreed map of ch, and the reference's table. */
static size_t table_differences(const struct cs_cluster_member *m, const struct cs_cluster_chain *ch,
				const struct cs_cluster_member *ref, say_fn say, void *ctx)
{
	const struct cs_node_table *t = table_of(m, ch->name), *rt = ref ? table_of(ref, ch->name) : NULL;
	char what[256];

	if (!t && strcmp(m->v.role, "gateway"))
		return 0;	/* an instance node shows the tables it builds, if any */
	if (!t)
		snprintf(what, sizeof(what), "it publishes no table of the chain");
	else if (!t->map_revision && ch->map_revision)
		snprintf(what, sizeof(what), "its table is built from its own view, not from the agreed map "
			 "(revision %lld)", (long long)ch->map_revision);
	else if (t->map_revision != ch->map_revision)
		snprintf(what, sizeof(what), "its table is built from map revision %lld, not the agreed %lld",
			 (long long)t->map_revision, (long long)ch->map_revision);
	else if (rt && rt->digest != t->digest)
		snprintf(what, sizeof(what), "its table differs from %s's, built from the same map", ref->node);
	else
		return 0;
	say(ctx, m->node, ch->name, what);
	return 1;
}

/* Every disagreement about the chains: no leader, no agreed map, a map
 * decided on another chains config, a table not built from the agreed map
 * or unlike the others'. */
static size_t chain_differences(const struct cs_cluster_view *v, say_fn say, void *ctx)
{
	char what[256];
	size_t c, i, n = 0;

	for (c = 0; c < v->n_chains; c++) {
		const struct cs_cluster_chain *ch = &v->chains[c];
		const struct cs_cluster_member *ref = reference_member(v, ch);

		if (!ch->leader[0] && ++n)
			say(ctx, "", ch->name, "no node leads the chain");
		if (!ch->map_revision && ++n) {
			say(ctx, "", ch->name, ch->map_bad ? "its agreed map does not parse" : "it has no agreed map yet");
			continue;
		}
		if (ch->map.chains_digest != v->mine.part[CS_DIGEST_CHAINS] && ++n) {
			snprintf(what, sizeof(what), "its agreed map was decided by %s on a chains config that differs "
				 "from this node's", ch->map.leader);
			say(ctx, "", ch->name, what);
		}
		for (i = 0; i < v->n_members; i++)
			n += table_differences(&v->members[i], ch, ref, say, ctx);
	}
	return n;
}

static void say_text(void *ctx, const char *node, const char *chain, const char *what)
{
	(void)ctx;
	printf("differs: %s%schain %s: %s\n", node, node[0] ? ": " : "", chain, what);
}

static void say_json(void *ctx, const char *node, const char *chain, const char *what)
{
	struct cs_json j;

	(void)ctx;
	cs_json_begin(&j, stdout);
	cs_json_str(&j, "difference", "chain");
	cs_json_str(&j, "node", node);
	cs_json_str(&j, "chain", chain);
	cs_json_str(&j, "what", what);
	cs_json_end(&j);
}

/* "casb-a down (2 of 2 say down), casb-b up": the agreed states, and what
 * the observers say now. */
static void states_text(const struct cs_cluster_chain *ch, char *buf, size_t len)
{
	size_t at = 0, i;

	buf[0] = 0;
	for (i = 0; i < ch->map.n; i++) {
		at += (size_t)snprintf(buf + at, at < len ? len - at : 0, "%s%s %s", i ? ", " : "", ch->map.inst[i].name,
				       ch->map_revision ? cs_agreed_state_name(ch->map.inst[i].state) : "-");
		if (ch->down[i])
			at += (size_t)snprintf(buf + at, at < len ? len - at : 0, " (%u of %u say down)", ch->down[i],
					       ch->observers[i]);
		if (ch->drain[i] && ch->map.inst[i].state != CS_INST_DRAINING)
			at += (size_t)snprintf(buf + at, at < len ? len - at : 0, " (drain asked)");
	}
}

static void agreed_chains_fill(void *ctx, size_t i, char cell[][CS_CELL_MAX])
{
	const struct cs_cluster_chain *ch = &((const struct cs_cluster_view *)ctx)->chains[i];

	snprintf(cell[0], CS_CELL_MAX, "%s", ch->name);
	snprintf(cell[1], CS_CELL_MAX, "%s", ch->leader[0] ? ch->leader : "-");
	snprintf(cell[2], CS_CELL_MAX, "%lld", (long long)ch->fence);
	snprintf(cell[3], CS_CELL_MAX, "%lld", (long long)ch->map_revision);
	states_text(ch, cell[4], CS_CELL_MAX);
}

/* A row of the tables' table: a member and one of its tables. */
struct node_table_row {
	const struct cs_cluster_member *m;
	const struct cs_node_table *t;
};

static void tables_fill(void *ctx, size_t i, char cell[][CS_CELL_MAX])
{
	const struct node_table_row *r = &((const struct node_table_row *)ctx)[i];
	char d[CS_DIGEST_TEXT];

	snprintf(cell[0], CS_CELL_MAX, "%s", r->m->node);
	snprintf(cell[1], CS_CELL_MAX, "%s", r->t->chain);
	snprintf(cell[2], CS_CELL_MAX, "%lld", (long long)r->t->map_revision);
	snprintf(cell[3], CS_CELL_MAX, "%s", cs_digest_text(r->t->digest, d, sizeof(d)));
}

static void chains_text(const struct cs_cluster_view *v)
{
	static const struct cs_column chain_cols[] = {
		{ "CHAIN", false }, { "LEADER", false }, { "FENCE", true }, { "MAP", true }, { "STATES", false },
	};
	static const struct cs_column table_cols[] = {
		{ "NODE", false }, { "CHAIN", false }, { "MAP", true }, { "TABLE", false },
	};
	struct node_table_row *rows;
	size_t i, k, n = 0, cap = 0;

	if (!v->n_chains)
		return;
	cs_table_print(stdout, chain_cols, 5, v->n_chains, agreed_chains_fill, (void *)v);
	for (i = 0; i < v->n_members; i++)
		cap += v->members[i].v.n_tables;
	rows = calloc(cap ? cap : 1, sizeof(*rows));
	for (i = 0; rows && i < v->n_members; i++)
		for (k = 0; k < v->members[i].v.n_tables; k++)
			rows[n++] = (struct node_table_row){ &v->members[i], &v->members[i].v.tables[k] };
	if (n)
		cs_table_print(stdout, table_cols, 4, n, tables_fill, rows);
	free(rows);
}

static void cluster_text(const struct cs_cluster_view *v)
{
	static const struct cs_column cols[] = {
		{ "NODE", false }, { "ROLE", false }, { "VERSION", false }, { "LEASE", true },
		{ "CONFIG", false }, { "RECORDS", true }, { "SYNCED", false }, { "ADDRESSES", false },
	};
	size_t i;

	printf("cluster %s: %zu member%s, %llu records (etcd %s at %s, revision %lld); this node: %s\n",
	       v->cluster, v->n_members, v->n_members == 1 ? "" : "s", (unsigned long long)v->records,
	       v->status.version, v->endpoint, (long long)v->revision, v->self);
	if (v->n_members)
		cs_table_print(stdout, cols, sizeof(cols) / sizeof(cols[0]), v->n_members, members_fill, (void *)v);
	for (i = 0; i < v->n_publishers; i++)
		if (!v->publishers[i].member)
			printf("note: %llu records published by %s, which is not a member now (they expire "
			       "with their leases)\n", (unsigned long long)v->publishers[i].records,
			       v->publishers[i].node);
	if (v->malformed)
		printf("note: %llu keys under ip/ are not records of this version\n",
		       (unsigned long long)v->malformed);
	chains_text(v);
	if (!cluster_differences(v) + !chain_differences(v, say_text, NULL) == 2)
		printf("no differences: every member's config is this node's, every pattern published is "
		       "one of its rules', and every table is built from its chain's agreed map\n");
}

static void member_json(const struct cs_cluster_member *m)
{
	char d[CS_DIGEST_TEXT], a[CS_ADDR_TEXT_MAX];
	struct cs_json j;
	size_t i;

	cs_json_begin(&j, stdout);
	cs_json_str(&j, "member", m->node);
	cs_json_str(&j, "role", m->v.role);
	cs_json_str(&j, "version", m->v.version);
	if (m->ttl_left < 0) {
		cs_json_null(&j, "lease_ttl_left");
	} else {
		cs_json_s64(&j, "lease_ttl_left", m->ttl_left);
	}
	cs_json_u64(&j, "lease_ttl", m->v.lease_ttl_s);
	cs_json_str(&j, "config", cs_digest_text(m->v.digest.all, d, sizeof(d)));
	cs_json_bool(&j, "same_config", !m->differs);
	cs_json_array(&j, "differs");
	for (i = 0; i < CS_DIGEST_PARTS; i++)
		if (m->differs & (1u << i))
			cs_json_str(&j, NULL, cs_digest_part_names[i]);
	cs_json_close(&j);
	cs_json_u64(&j, "records", m->records);
	cs_json_array(&j, "synced");
	for (i = 0; i < m->v.n_synced; i++)
		cs_json_str(&j, NULL, m->v.synced[i]);
	cs_json_close(&j);
	cs_json_array(&j, "addresses");
	for (i = 0; i < m->v.n_addrs; i++)
		cs_json_str(&j, NULL, cs_addr_format(&m->v.addrs[i], a, sizeof(a)));
	cs_json_close(&j);
	cs_json_s64(&j, "started", m->v.started_s);
	cs_json_bool(&j, "random_affinity_key", m->v.digest.random_affinity_key);
	cs_json_array(&j, "tables");
	for (i = 0; i < m->v.n_tables; i++) {
		cs_json_object(&j, NULL);
		cs_json_str(&j, "chain", m->v.tables[i].chain);
		cs_json_s64(&j, "map", m->v.tables[i].map_revision);
		cs_json_str(&j, "digest", cs_digest_text(m->v.tables[i].digest, d, sizeof(d)));
		cs_json_close(&j);
	}
	cs_json_close(&j);
	cs_json_end(&j);
}

static void agreed_chain_json(const struct cs_cluster_chain *ch)
{
	struct cs_json j;
	size_t i;

	cs_json_begin(&j, stdout);
	cs_json_str(&j, "chain", ch->name);
	if (ch->leader[0])
		cs_json_str(&j, "leader", ch->leader);
	else
		cs_json_null(&j, "leader");
	cs_json_s64(&j, "fence", ch->fence);
	cs_json_s64(&j, "map_revision", ch->map_revision);
	cs_json_array(&j, "instances");
	for (i = 0; i < ch->map.n; i++) {
		cs_json_object(&j, NULL);
		cs_json_str(&j, "name", ch->map.inst[i].name);
		if (ch->map_revision)
			cs_json_str(&j, "state", cs_agreed_state_name(ch->map.inst[i].state));
		else
			cs_json_null(&j, "state");
		cs_json_u64(&j, "observers", ch->observers[i]);
		cs_json_u64(&j, "down", ch->down[i]);
		cs_json_bool(&j, "drain", ch->drain[i]);
		cs_json_bool(&j, "registered", ch->self_seen[i]);
		cs_json_close(&j);
	}
	cs_json_close(&j);
	cs_json_end(&j);
}

static void cluster_json(const struct cs_cluster_view *v)
{
	char d[CS_DIGEST_TEXT];
	struct cs_json j;
	size_t i;

	cs_json_begin(&j, stdout);
	cs_json_str(&j, "cluster", v->cluster);
	cs_json_str(&j, "self", v->self);
	cs_json_str(&j, "config", cs_digest_text(v->mine.all, d, sizeof(d)));
	cs_json_str(&j, "endpoint", v->endpoint);
	cs_json_str(&j, "etcd_version", v->status.version);
	cs_json_s64(&j, "revision", v->revision);
	cs_json_u64(&j, "members", v->n_members);
	cs_json_u64(&j, "records", v->records);
	cs_json_u64(&j, "malformed", v->malformed);
	cs_json_end(&j);
	for (i = 0; i < v->n_members; i++)
		member_json(&v->members[i]);
	for (i = 0; i < v->n_publishers; i++) {
		cs_json_begin(&j, stdout);
		cs_json_str(&j, "publisher", v->publishers[i].node);
		cs_json_u64(&j, "records", v->publishers[i].records);
		cs_json_bool(&j, "member", v->publishers[i].member);
		cs_json_end(&j);
	}
	for (i = 0; i < v->n_chains; i++)
		agreed_chain_json(&v->chains[i]);
	chain_differences(v, say_json, NULL);
	for (i = 0; i < v->n_drift; i++) {
		cs_json_begin(&j, stdout);
		cs_json_str(&j, "difference", "pattern");
		cs_json_str(&j, "node", v->drift[i].node);
		cs_json_str(&j, "pattern", v->drift[i].pattern);
		cs_json_u64(&j, "records", v->drift[i].records);
		cs_json_end(&j);
	}
}

int cmd_show_cluster(const char *config_path, bool json)
{
	struct cs_cluster_view v;
	struct cs_conf conf;
	char err[1024];
	int rc;

	if (cs_config_load(config_path, &conf, err, sizeof(err))) {
		cs_err("%s", err);
		return 1;
	}
	if (!conf.cluster.line) {
		cs_err("%s has no cluster: section: this node is on its own", config_path);
		cs_config_free(&conf);
		return 1;
	}
	rc = cs_cluster_view_read(&conf, &v, err, sizeof(err));
	if (rc)
		cs_err("cluster %s: %s", conf.cluster.name, err);
	else if (json)
		cluster_json(&v);
	else
		cluster_text(&v);
	cs_cluster_view_free(&v);
	cs_config_free(&conf);
	return rc ? 1 : 0;
}

