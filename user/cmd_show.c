// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cloudsteer show - print the state the daemon pinned: the cloud IP table,
 * the routes, the rules with their counters, and learn's counters.
 *
 * Everything is read from the pinned maps, never from the daemon, so it
 * works while the daemon is down or restarting, and it changes nothing.
 * show cluster reads etcd instead: cmd_show_cluster.c.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#include "cloudsteer.h"
#include "commands.h"
#include "lib/addr.h"
#include "lib/cli.h"
#include "lib/clock.h"
#include "lib/config.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/names.h"
#include "lib/pinned.h"
#include "lib/pins.h"
#include "lib/table.h"
#include "lib/view.h"

static const char show_usage[] =
	"usage: cloudsteer show table|routes|rules|stats|chains|instances|map|streams|sync|cluster [--json] "
	"[-c FILE] [--pin-dir DIR]\n"
	"\n"
	"Print the state that the daemon pinned, read from its maps: it works while\n"
	"the daemon is down, and changes nothing. cluster reads etcd instead.\n"
	"\n"
	"  table    the cloud IP table: one row per (name, IP) record\n"
	"  routes   one row per policy route (IP)\n"
	"  rules    one row per rule pattern, with its rule's settings and counters\n"
	"  stats    learn's counters by reason, steer's flow counters, how full the tables are\n"
	"  chains   one row per service chain (by id): name, mode, on_failure,\n"
	"           symmetric, affinity, buckets, instances, VNI, stages\n"
	"  instances  one row per instance (by id): name, chain, stage, address,\n"
	"           state, counters\n"
	"  map      how many buckets of each chain's tables (one per stage) each\n"
	"           instance holds; with --json every bucket\n"
	"  streams  on an instance node: one row per stream it holds or has a synced\n"
	"           copy of\n"
	"  sync     on an instance node: the sync counters and the dataplane's\n"
	"           counters by reason\n"
	"  cluster  from etcd, as the config's cluster: section reaches it: the\n"
	"           members, the records each published, each chain's leader and\n"
	"           agreed map, each member's table, and a line for every way\n"
	"           they disagree with this node's config or the agreed map\n"
	"\n"
	"  -c, --config FILE  the config, for cluster and the names of a chain's stages\n"
	"                     (default " CS_DEFAULT_CONFIG ")\n"
	"  -j, --json         one JSON object per line (JSON Lines)\n"
	"  -p, --pin-dir DIR  where the maps are pinned (default $" CS_PIN_DIR_ENV ",\n"
	"                     else " CS_PIN_DIR ")\n"
	"  -v, --verbose      more detail (twice: libbpf too)\n"
	"  -h, --help         this text\n"
	"\n"
	"Exit status: 0 shown; 1 no state in DIR, or a map could not be read (cluster:\n"
	"no cluster: section, or etcd could not be read); 2 usage.\n";

struct show {
	const struct cs_pinned *pins;
	struct cs_view v;
	bool json;
};

/* ---- table: one row per record ---- */

struct table_row {
	const struct cs_record_row *r;
	const char *name;
};

struct table {
	struct show *s;
	struct table_row *rows;
};

static int cmp_table_row(const void *a, const void *b)
{
	const struct table_row *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : memcmp(&x->r->key.addr, &y->r->key.addr, sizeof(struct cs_addr));
}

/* Where a record came from: learned here, or heard from another gateway. */
static const char *origin_text(__u32 origin)
{
	return origin == CS_ORIGIN_CLUSTER ? "cluster" : "here";
}

static void table_fill(void *ctx, size_t i, char cell[][CS_CELL_MAX])
{
	const struct table *t = ctx;
	const struct cs_view *v = &t->s->v;
	const struct cs_record *rec = &t->rows[i].r->rec;

	snprintf(cell[0], CS_CELL_MAX, "%s", t->rows[i].name);
	cs_addr_format(&t->rows[i].r->key.addr, cell[1], CS_CELL_MAX);
	snprintf(cell[2], CS_CELL_MAX, "%s", cs_view_pattern_text(v, rec->pattern_id));
	snprintf(cell[3], CS_CELL_MAX, "%u", rec->ttl);
	cs_fmt_ttl_left(v->now_ns, rec->expires_ns, cell[4], CS_CELL_MAX);
	cs_acl_text(cs_view_route(v, &t->rows[i].r->key.addr), "-", cell[5], CS_CELL_MAX);
	cs_fmt_duration(cs_secs_between(rec->first_ns, v->now_ns), cell[6], CS_CELL_MAX);
	snprintf(cell[7], CS_CELL_MAX, "%u", rec->hits);
	snprintf(cell[8], CS_CELL_MAX, "%s", origin_text(rec->origin));
}

static void table_json(const struct table *t, size_t i)
{
	const struct cs_view *v = &t->s->v;
	const struct cs_record_row *r = t->rows[i].r;
	char ip[CS_ADDR_TEXT_MAX];
	struct cs_json j;

	cs_json_begin(&j, stdout);
	cs_json_str(&j, "name", t->rows[i].name);
	cs_json_str(&j, "ip", cs_addr_format(&r->key.addr, ip, sizeof(ip)));
	cs_json_str(&j, "pattern", cs_view_pattern_text(v, r->rec.pattern_id));
	cs_json_u64(&j, "rule_id", r->rec.rule_id);
	cs_json_u64(&j, "ttl", r->rec.ttl);
	cs_ttl_left_json(&j, v->now_ns, r->rec.expires_ns);
	cs_acl_json(&j, cs_view_route(v, &r->key.addr));
	cs_json_s64(&j, "age", cs_secs_between(r->rec.first_ns, v->now_ns));
	cs_json_u64(&j, "hits", r->rec.hits);
	cs_json_str(&j, "origin", origin_text(r->rec.origin));
	cs_json_end(&j);
}

static int show_table(struct show *s)
{
	static const struct cs_column cols[] = {
		{ "NAME", false }, { "IP", false }, { "PATTERN", false }, { "TTL", true },
		{ "TTL LEFT", true }, { "ACL", true }, { "AGE", true }, { "HITS", true }, { "FROM", false },
	};
	struct table t = { s, calloc(s->v.n_records ? s->v.n_records : 1, sizeof(struct table_row)) };
	size_t i;

	if (!t.rows) {
		cs_err("out of memory");
		return 1;
	}
	for (i = 0; i < s->v.n_records; i++) {
		t.rows[i].r = &s->v.records[i];
		t.rows[i].name = cs_view_name(&s->v, s->v.records[i].key.name_id);
	}
	qsort(t.rows, s->v.n_records, sizeof(*t.rows), cmp_table_row);
	if (s->json)
		for (i = 0; i < s->v.n_records; i++)
			table_json(&t, i);
	else
		cs_table_print(stdout, cols, sizeof(cols) / sizeof(cols[0]), s->v.n_records, table_fill, &t);
	free(t.rows);
	return 0;
}

/* ---- routes: one row per IP ---- */

/* Flows, packets and bytes come from steer (cs_flows, cs_acl_stats): "-"
 * here and null in JSON where steer never ran, and for a route still
 * waiting for its ACL id (it counts under none). */
static bool route_traffic(const struct show *s, const struct cs_route_row *r, struct cs_acl_stat *traffic)
{
	return r->route.acl_id && !cs_pinned_acl_stat(s->pins, r->route.acl_id, traffic);
}

static void routes_fill(void *ctx, size_t i, char cell[][CS_CELL_MAX])
{
	const struct show *s = ctx;
	const struct cs_route_row *r = &s->v.routes[i];
	const struct cs_record_row *first;
	struct cs_acl_stat traffic;

	cs_addr_format(&r->addr, cell[0], CS_CELL_MAX);
	cs_acl_text(&r->route, "waiting", cell[1], CS_CELL_MAX);
	snprintf(cell[2], CS_CELL_MAX, "%u", r->route.rule_id);
	cs_view_rule_patterns_text(&s->v, r->route.rule_id, cell[3], CS_CELL_MAX);
	snprintf(cell[4], CS_CELL_MAX, "%zu", cs_view_records_of(&s->v, &r->addr, &first));
	cs_fmt_duration(cs_secs_between(r->route.created_ns, s->v.now_ns), cell[5], CS_CELL_MAX);
	if (s->pins->fd[CS_M_FLOWS] >= 0)
		snprintf(cell[6], CS_CELL_MAX, "%zu", cs_view_flows_of(&s->v, &r->addr));
	else
		snprintf(cell[6], CS_CELL_MAX, "-");
	if (route_traffic(s, r, &traffic)) {
		snprintf(cell[7], CS_CELL_MAX, "%llu", (unsigned long long)traffic.packets);
		snprintf(cell[8], CS_CELL_MAX, "%llu", (unsigned long long)traffic.bytes);
	} else {
		snprintf(cell[7], CS_CELL_MAX, "-");
		snprintf(cell[8], CS_CELL_MAX, "-");
	}
}

static void routes_json(const struct show *s, size_t i)
{
	const struct cs_route_row *r = &s->v.routes[i];
	const struct cs_record_row *first;
	char ip[CS_ADDR_TEXT_MAX];
	struct cs_acl_stat traffic;
	struct cs_json j;

	cs_json_begin(&j, stdout);
	cs_json_str(&j, "ip", cs_addr_format(&r->addr, ip, sizeof(ip)));
	cs_acl_json(&j, &r->route);
	cs_json_u64(&j, "rule_id", r->route.rule_id);
	cs_view_rule_patterns_json(&j, &s->v, r->route.rule_id);
	cs_json_u64(&j, "records", cs_view_records_of(&s->v, &r->addr, &first));
	cs_json_s64(&j, "age", cs_secs_between(r->route.created_ns, s->v.now_ns));
	if (s->pins->fd[CS_M_FLOWS] >= 0)
		cs_json_u64(&j, "flows", cs_view_flows_of(&s->v, &r->addr));
	else
		cs_json_null(&j, "flows");
	if (route_traffic(s, r, &traffic)) {
		cs_json_u64(&j, "packets", traffic.packets);
		cs_json_u64(&j, "bytes", traffic.bytes);
	} else {
		cs_json_null(&j, "packets");
		cs_json_null(&j, "bytes");
	}
	cs_json_end(&j);
}

static int show_routes(struct show *s)
{
	static const struct cs_column cols[] = {
		{ "IP", false }, { "ACL", true }, { "RULE", true }, { "PATTERNS", false }, { "RECORDS", true },
		{ "AGE", true }, { "FLOWS", true }, { "PACKETS", true }, { "BYTES", true },
	};
	size_t i;

	if (s->json)
		for (i = 0; i < s->v.n_routes; i++)
			routes_json(s, i);
	else
		cs_table_print(stdout, cols, sizeof(cols) / sizeof(cols[0]), s->v.n_routes, routes_fill, s);
	return 0;
}

/* ---- rules: one row per pattern, with its rule's settings and counters ---- */

struct rule_facts {
	struct cs_rule rule;
	struct cs_rule_stat stat;
	struct cs_acl_stat traffic;	/* what steer counted for it; 0 without steer */
	struct cs_rule_quota quota;	/* its limit (learn.quota); 0: none or older state */
	bool known;		/* the rule and its counters could be read */
};

struct rules {
	struct show *s;
	__u64 records[CS_RULES_MAX];	/* records held, by rule id */
	struct rule_facts *facts;	/* by row */
};

/* Read once per row: the table is filled twice. */
static void read_rule_facts(const struct cs_pinned *pins, __u32 rule_id, struct rule_facts *f)
{
	f->known = !cs_pinned_rule(pins, rule_id, &f->rule) && !cs_pinned_rule_stat(pins, rule_id, &f->stat);
	if (!f->known) {
		memset(f, 0, sizeof(*f));
		return;
	}
	cs_pinned_rule_traffic(pins, rule_id, &f->traffic);
	cs_pinned_rule_quota(pins, rule_id, &f->quota);
}

static __u64 rule_records(const struct rules *r, __u32 rule_id)
{
	return rule_id < CS_RULES_MAX ? r->records[rule_id] : 0;
}

static void rules_fill(void *ctx, size_t i, char cell[][CS_CELL_MAX])
{
	const struct rules *r = ctx;
	const struct cs_pattern_row *p = &r->s->v.patterns[i];
	const struct rule_facts *f = &r->facts[i];

	snprintf(cell[0], CS_CELL_MAX, "%s", p->info.text);
	snprintf(cell[1], CS_CELL_MAX, "%s", cs_match_kind_name(p->info.kind));
	snprintf(cell[2], CS_CELL_MAX, "%u", p->info.rule_id);
	snprintf(cell[3], CS_CELL_MAX, "%u", f->rule.priority);
	snprintf(cell[4], CS_CELL_MAX, "%u/%u/%u", f->rule.ttl_min, f->rule.ttl_max, f->rule.ttl_grace);
	snprintf(cell[5], CS_CELL_MAX, "%llu", (unsigned long long)f->stat.answers);
	snprintf(cell[6], CS_CELL_MAX, "%llu", (unsigned long long)f->stat.learned);
	snprintf(cell[7], CS_CELL_MAX, "%llu", (unsigned long long)f->stat.refreshed);
	snprintf(cell[8], CS_CELL_MAX, "%llu", (unsigned long long)rule_records(r, p->info.rule_id));
	if (f->quota.limit)
		snprintf(cell[9], CS_CELL_MAX, "%llu", (unsigned long long)f->quota.limit);
	else
		snprintf(cell[9], CS_CELL_MAX, "-");
	snprintf(cell[10], CS_CELL_MAX, "%llu", (unsigned long long)f->traffic.packets);
	snprintf(cell[11], CS_CELL_MAX, "%llu", (unsigned long long)f->traffic.bytes);
}

static void rules_json(const struct rules *r, size_t i)
{
	const struct cs_pattern_row *p = &r->s->v.patterns[i];
	const struct rule_facts *f = &r->facts[i];
	struct cs_json j;

	cs_json_begin(&j, stdout);
	cs_json_str(&j, "pattern", p->info.text);
	cs_json_str(&j, "kind", cs_match_kind_name(p->info.kind));
	cs_json_u64(&j, "pattern_id", p->id);
	cs_json_u64(&j, "rule_id", p->info.rule_id);
	cs_json_u64(&j, "priority", f->rule.priority);
	cs_json_u64(&j, "ttl_min", f->rule.ttl_min);
	cs_json_u64(&j, "ttl_max", f->rule.ttl_max);
	cs_json_u64(&j, "ttl_grace", f->rule.ttl_grace);
	cs_json_u64(&j, "chain_id", f->rule.chain_id);
	cs_json_u64(&j, "answers", f->stat.answers);
	cs_json_u64(&j, "learned", f->stat.learned);
	cs_json_u64(&j, "refreshed", f->stat.refreshed);
	cs_json_u64(&j, "records", rule_records(r, p->info.rule_id));
	cs_json_u64(&j, "quota", f->quota.limit);
	cs_json_u64(&j, "packets", f->traffic.packets);
	cs_json_u64(&j, "bytes", f->traffic.bytes);
	cs_json_end(&j);
}

static int show_rules(struct show *s)
{
	static const struct cs_column cols[] = {
		{ "PATTERN", false }, { "KIND", false }, { "RULE", true }, { "PRIO", true },
		{ "TTL MIN/MAX/GRACE", true }, { "ANSWERS", true }, { "LEARNED", true },
		{ "REFRESHED", true }, { "RECORDS", true }, { "QUOTA", true }, { "PACKETS", true },
		{ "BYTES", true },
	};
	struct rules *r = calloc(1, sizeof(*r));
	size_t i;

	if (!r || !(r->facts = calloc(s->v.n_patterns ? s->v.n_patterns : 1, sizeof(*r->facts)))) {
		free(r);
		cs_err("out of memory");
		return 1;
	}
	r->s = s;
	cs_view_count_by_rule(&s->v, r->records, CS_RULES_MAX);
	for (i = 0; i < s->v.n_patterns; i++) {
		__u32 rule_id = s->v.patterns[i].info.rule_id;

		/* patterns come grouped by rule: read each rule once */
		if (i && s->v.patterns[i - 1].info.rule_id == rule_id)
			r->facts[i] = r->facts[i - 1];
		else
			read_rule_facts(s->pins, rule_id, &r->facts[i]);
	}
	if (s->json)
		for (i = 0; i < s->v.n_patterns; i++)
			rules_json(r, i);
	else
		cs_table_print(stdout, cols, sizeof(cols) / sizeof(cols[0]), s->v.n_patterns, rules_fill, r);
	free(r->facts);
	free(r);
	return 0;
}

/* ---- stats: counters by reason, and how full the tables are ---- */

struct reasons {
	const __u64 *count;
	__u32 first;		/* the reason of row 0 */
};

static void reasons_fill(void *ctx, size_t i, char cell[][CS_CELL_MAX])
{
	const struct reasons *g = ctx;
	__u32 reason = g->first + (__u32)i;

	snprintf(cell[0], CS_CELL_MAX, "%s", cs_reason_name(reason));
	snprintf(cell[1], CS_CELL_MAX, "%llu", (unsigned long long)g->count[reason]);
	snprintf(cell[2], CS_CELL_MAX, "%s", cs_reason_help(reason));
}

static void reasons_json(const __u64 *count)
{
	__u32 i;

	for (i = 0; i < CS_R_MAX; i++) {
		struct cs_json j;

		if (!cs_reason_name(i))	/* the group marker */
			continue;
		cs_json_begin(&j, stdout);
		cs_json_str(&j, "reason", cs_reason_name(i));
		cs_json_str(&j, "kind", i < CS_R_PACKET_END ? "packet" : "record");
		cs_json_u64(&j, "count", count[i]);
		cs_json_str(&j, "help", cs_reason_help(i));
		cs_json_end(&j);
	}
}

/* The tables whose fill is shown: entries counted from the view. steer's
 * flow tables only where steer ran. */
static const struct {
	const char *name;
	enum cs_pinned_map map;
} fill_tables[] = {
	{ "records", CS_M_RECORDS },
	{ "routes", CS_M_ROUTES },
	{ "names", CS_M_NAMES },
	{ "flows", CS_M_FLOWS },
	{ "flows_new", CS_M_FLOWS_NEW },
};
#define N_FILL (sizeof(fill_tables) / sizeof(fill_tables[0]))

/* The flows of the view in cs_flows (proven) or in cs_flows_new. */
static size_t flows_counted(const struct show *s, bool proven)
{
	size_t i, n = 0;

	for (i = 0; i < s->v.n_flows; i++)
		n += s->v.flows[i].proven == proven;
	return n;
}

static size_t fill_entries(const struct show *s, size_t i)
{
	switch (fill_tables[i].map) {
	case CS_M_RECORDS: return s->v.n_records;
	case CS_M_ROUTES: return s->v.n_routes;
	case CS_M_FLOWS: return flows_counted(s, true);
	case CS_M_FLOWS_NEW: return flows_counted(s, false);
	default: return s->v.n_names;
	}
}

/* The rows of the fill table: the tables that are pinned here. */
struct fill_rows {
	const struct show *s;
	size_t idx[N_FILL];	/* into fill_tables */
	size_t n;
};

static void fill_rows_of(const struct show *s, struct fill_rows *r)
{
	size_t i;

	r->s = s;
	r->n = 0;
	for (i = 0; i < N_FILL; i++)
		if (s->pins->fd[fill_tables[i].map] >= 0)
			r->idx[r->n++] = i;
}

static void fill_fill(void *ctx, size_t row, char cell[][CS_CELL_MAX])
{
	const struct fill_rows *r = ctx;
	size_t i = r->idx[row], n = fill_entries(r->s, i);
	__u32 max = r->s->pins->max_entries[fill_tables[i].map];

	snprintf(cell[0], CS_CELL_MAX, "%s", fill_tables[i].name);
	snprintf(cell[1], CS_CELL_MAX, "%zu", n);
	snprintf(cell[2], CS_CELL_MAX, "%u", max);
	snprintf(cell[3], CS_CELL_MAX, "%.1f%%", max ? 100.0 * (double)n / max : 0.0);
}

static void fill_json(const struct show *s)
{
	struct fill_rows r;
	struct cs_json j;
	size_t row;

	fill_rows_of(s, &r);
	for (row = 0; row < r.n; row++) {
		size_t i = r.idx[row];

		cs_json_begin(&j, stdout);
		cs_json_str(&j, "table", fill_tables[i].name);
		cs_json_u64(&j, "entries", fill_entries(s, i));
		cs_json_u64(&j, "max_entries", s->pins->max_entries[fill_tables[i].map]);
		cs_json_end(&j);
	}
	/* a queue can only be counted by popping it, which would take ids */
	cs_json_begin(&j, stdout);
	cs_json_str(&j, "table", "acl_pool");
	cs_json_null(&j, "entries");
	cs_json_u64(&j, "max_entries", s->pins->max_entries[CS_M_ACL_POOL]);
	cs_json_end(&j);
}

/* steer's flow counters, where steer ran. */
static void steer_counters_fill(void *ctx, size_t i, char cell[][CS_CELL_MAX])
{
	const __u64 *count = ctx;

	snprintf(cell[0], CS_CELL_MAX, "%s", cs_steer_counter_name((__u32)i));
	snprintf(cell[1], CS_CELL_MAX, "%llu", (unsigned long long)count[i]);
	snprintf(cell[2], CS_CELL_MAX, "%s", cs_steer_counter_help((__u32)i));
}

static void steer_counters_json(const __u64 *count)
{
	__u32 i;

	for (i = 0; i < CS_S_MAX; i++) {
		struct cs_json j;

		cs_json_begin(&j, stdout);
		cs_json_str(&j, "flow_counter", cs_steer_counter_name(i));
		cs_json_u64(&j, "count", count[i]);
		cs_json_str(&j, "help", cs_steer_counter_help(i));
		cs_json_end(&j);
	}
}

static int show_stats(struct show *s)
{
	static const struct cs_column packet_cols[] = {
		{ "PACKET REASON", false }, { "COUNT", true }, { "MEANING", false },
	};
	static const struct cs_column record_cols[] = {
		{ "RECORD REASON", false }, { "COUNT", true }, { "MEANING", false },
	};
	static const struct cs_column fill_cols[] = {
		{ "TABLE", false }, { "ENTRIES", true }, { "MAX", true }, { "FILL", true },
	};
	static const struct cs_column flow_cols[] = {
		{ "FLOW COUNTER", false }, { "COUNT", true }, { "MEANING", false },
	};
	__u64 count[CS_R_MAX], flows[CS_S_MAX];
	struct reasons packets = { count, CS_R_OK + 1 }, records = { count, CS_R_PACKET_END + 1 };
	bool steer_ran = !cs_pinned_steer_stats(s->pins, flows);
	struct fill_rows fill;
	int e = cs_pinned_learn_reasons(s->pins, count);

	if (e) {
		cs_err("cannot read %s/cs_learn_stats: %s", s->pins->dir, strerror(-e));
		return 1;
	}
	if (s->json) {
		reasons_json(count);
		if (steer_ran)
			steer_counters_json(flows);
		fill_json(s);
		return 0;
	}
	cs_table_print(stdout, packet_cols, 3, CS_R_PACKET_END - packets.first, reasons_fill, &packets);
	putchar('\n');
	cs_table_print(stdout, record_cols, 3, CS_R_MAX - records.first, reasons_fill, &records);
	putchar('\n');
	if (steer_ran) {
		cs_table_print(stdout, flow_cols, 3, CS_S_MAX, steer_counters_fill, flows);
		putchar('\n');
	}
	fill_rows_of(s, &fill);
	cs_table_print(stdout, fill_cols, 4, fill.n, fill_fill, &fill);
	printf("acl_pool holds up to %u free ACL ids; how many are left cannot be read without "
	       "taking them out.\n", s->pins->max_entries[CS_M_ACL_POOL]);
	return 0;
}

/* ---- chains, instances, map: steer's maps only ---- */

/* The bit of a column that speaks of stages, to hide where no chain has
 * several: what chains of one stage show stays as it was. */
static unsigned stage_columns(const struct show *s, unsigned column)
{
	return cs_view_any_stages(&s->v) ? 0 : 1u << column;
}

/* The chains or instances shown: their ids, one a row. */
struct id_rows {
	const struct cs_view *v;
	const struct cs_steer_view *sv;
	__u32 id[CS_INSTANCES_MAX > CS_CHAINS_MAX ? CS_INSTANCES_MAX : CS_CHAINS_MAX];
	size_t n;
};

/* An encap or nsh chain's VNI (nsh: its SPI), as its instances carry it;
 * 0: none (route mode, or no instance written yet). */
static __u32 chain_vni(const struct cs_steer_view *sv, __u32 chain_id)
{
	__u32 i;

	if (sv->chain[chain_id].mode != CS_MODE_ENCAP && sv->chain[chain_id].mode != CS_MODE_NSH)
		return 0;
	for (i = 1; i < CS_INSTANCES_MAX; i++)
		if (sv->inst[i].chain_id == chain_id && sv->inst[i].vni)
			return sv->inst[i].vni;
	return 0;
}

static void chains_fill(void *ctx, size_t r, char cell[][CS_CELL_MAX])
{
	const struct id_rows *rows = ctx;
	__u32 id = rows->id[r], vni = chain_vni(rows->sv, id);
	const struct cs_chain *c = &rows->sv->chain[id];

	snprintf(cell[0], CS_CELL_MAX, "%u", id);
	snprintf(cell[1], CS_CELL_MAX, "%s", cs_view_chain_name(rows->v, id));
	snprintf(cell[2], CS_CELL_MAX, "%s", cs_chain_mode_name(c->mode));
	snprintf(cell[3], CS_CELL_MAX, "%s", cs_on_failure_name(c->on_failure));
	snprintf(cell[4], CS_CELL_MAX, "%s", c->flags & CS_CHAIN_SYMMETRIC ? "yes" : "no");
	snprintf(cell[5], CS_CELL_MAX, "%s", cs_chain_affinity_name(c->flags));
	snprintf(cell[6], CS_CELL_MAX, "%u", c->n_buckets);
	snprintf(cell[7], CS_CELL_MAX, "%u", rows->sv->n_inst_of[id]);
	if (vni)
		snprintf(cell[8], CS_CELL_MAX, "%u", vni);
	else
		snprintf(cell[8], CS_CELL_MAX, "-");
	snprintf(cell[9], CS_CELL_MAX, "%u", cs_view_stages(rows->v, id));
}

static void chain_json(const struct cs_view *v, __u32 id)
{
	const struct cs_steer_view *sv = v->steer;
	const struct cs_chain *c = &sv->chain[id];
	__u32 vni = chain_vni(sv, id);
	struct cs_json j;

	cs_json_begin(&j, stdout);
	cs_json_u64(&j, "chain_id", id);
	cs_json_str(&j, "name", cs_view_chain_name(v, id));
	cs_json_str(&j, "mode", cs_chain_mode_name(c->mode));
	cs_json_str(&j, "on_failure", cs_on_failure_name(c->on_failure));
	cs_json_bool(&j, "symmetric", c->flags & CS_CHAIN_SYMMETRIC);
	cs_json_str(&j, "affinity", cs_chain_affinity_name(c->flags));
	cs_json_u64(&j, "buckets", c->n_buckets);
	cs_json_u64(&j, "instances", sv->n_inst_of[id]);
	if (vni)
		cs_json_u64(&j, "vni", vni);
	if (cs_view_stages(v, id) > 1)
		cs_json_u64(&j, "stages", cs_view_stages(v, id));
	cs_json_end(&j);
}

static int show_chains(struct show *s)
{
	static const struct cs_column cols[] = {
		{ "CHAIN", true }, { "NAME", false }, { "MODE", false }, { "ON FAILURE", false },
		{ "SYMMETRIC", false }, { "AFFINITY", false }, { "BUCKETS", true }, { "INSTANCES", true },
		{ "VNI", true }, { "STAGES", true },
	};
	struct id_rows rows = { .v = &s->v, .sv = s->v.steer };
	__u32 i;
	size_t r;

	for (i = 1; i < CS_CHAINS_MAX; i++)
		if (rows.sv->chain_used[i])
			rows.id[rows.n++] = i;
	if (!s->json)
		cs_table_print_hiding(stdout, cols, sizeof(cols) / sizeof(cols[0]), stage_columns(s, 9 /* STAGES */),
				      rows.n, chains_fill, &rows);
	else
		for (r = 0; r < rows.n; r++)
			chain_json(&s->v, rows.id[r]);
	return 0;
}

static bool inst_is_encap(const struct cs_steer_view *sv, __u32 id)
{
	__u32 c = sv->inst[id].chain_id;

	return c < CS_CHAINS_MAX && sv->chain[c].mode == CS_MODE_ENCAP;
}

static const char *mac_text(const __u8 mac[6], char *buf, size_t len)
{
	snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
	return buf;
}

/* The outer source; "none" until the daemon found a way to the instance. */
static const char *inst_local_text(const struct cs_instance *in, char *buf, size_t len)
{
	static const struct cs_addr zero;

	if (!memcmp(&in->local, &zero, sizeof(zero)))
		snprintf(buf, len, "none");
	else
		cs_addr_format(&in->local, buf, len);
	return buf;
}

/* Its state, or "left" for one whose name left the config: it drains
 * until the flows pinned to it end, then its id is free. */
static const char *inst_state_text(const struct cs_view *v, __u32 id)
{
	return cs_view_instance_left(v, id) ? "left" : cs_inst_state_name(v->steer->inst[id].state);
}

static void instances_fill(void *ctx, size_t r, char cell[][CS_CELL_MAX])
{
	const struct id_rows *rows = ctx;
	const struct cs_steer_view *sv = rows->sv;
	__u32 id = rows->id[r];
	const struct cs_instance *in = &sv->inst[id];

	snprintf(cell[0], CS_CELL_MAX, "%u", id);
	snprintf(cell[1], CS_CELL_MAX, "%s", cs_view_instance_name(rows->v, id));
	snprintf(cell[2], CS_CELL_MAX, "%u", in->chain_id);
	cs_instance_stage_text(rows->v, id, cell[3], CS_CELL_MAX);
	cs_addr_format(&in->addr, cell[4], CS_CELL_MAX);
	snprintf(cell[5], CS_CELL_MAX, "%s", inst_state_text(rows->v, id));
	snprintf(cell[6], CS_CELL_MAX, "%llu", (unsigned long long)sv->stat[id].packets);
	snprintf(cell[7], CS_CELL_MAX, "%llu", (unsigned long long)sv->stat[id].bytes);
	snprintf(cell[8], CS_CELL_MAX, "%llu", (unsigned long long)sv->stat[id].flows);
	if (!inst_is_encap(sv, id)) {
		for (int c = 9; c <= 13; c++)
			snprintf(cell[c], CS_CELL_MAX, "-");
		return;
	}
	inst_local_text(in, cell[9], CS_CELL_MAX);
	snprintf(cell[10], CS_CELL_MAX, "%u", in->inner_mtu);
	mac_text(in->mac, cell[11], CS_CELL_MAX);
	snprintf(cell[12], CS_CELL_MAX, "%llu", (unsigned long long)sv->stat[id].clamped);
	snprintf(cell[13], CS_CELL_MAX, "%llu", (unsigned long long)sv->stat[id].encap_failed);
}

static void instance_json(const struct cs_view *v, __u32 id)
{
	const struct cs_steer_view *sv = v->steer;
	const struct cs_instance *in = &sv->inst[id];
	char ip[CS_ADDR_TEXT_MAX];
	struct cs_json j;

	cs_json_begin(&j, stdout);
	cs_json_u64(&j, "id", id);
	cs_json_str(&j, "name", cs_view_instance_name(v, id));
	cs_json_u64(&j, "chain_id", in->chain_id);
	cs_instance_stage_json(&j, v, id);
	cs_json_str(&j, "address", cs_addr_format(&in->addr, ip, sizeof(ip)));
	cs_json_str(&j, "state", inst_state_text(v, id));
	cs_json_u64(&j, "packets", sv->stat[id].packets);
	cs_json_u64(&j, "bytes", sv->stat[id].bytes);
	cs_json_u64(&j, "streams", sv->stat[id].flows);
	if (inst_is_encap(sv, id)) {
		char mac[18];

		cs_json_str(&j, "via", inst_local_text(in, ip, sizeof(ip)));
		cs_json_u64(&j, "inner_mtu", in->inner_mtu);
		cs_json_str(&j, "mac", mac_text(in->mac, mac, sizeof(mac)));
		cs_json_u64(&j, "clamped", sv->stat[id].clamped);
		cs_json_u64(&j, "unwrapped", sv->stat[id].encap_failed);
	}
	cs_json_end(&j);
}

static int show_instances(struct show *s)
{
	static const struct cs_column cols[] = {
		{ "INSTANCE", true }, { "NAME", false }, { "CHAIN", true }, { "STAGE", false }, { "ADDRESS", false },
		{ "STATE", false }, { "PACKETS", true }, { "BYTES", true }, { "STREAMS", true },
		{ "VIA", false }, { "INNER MTU", true }, { "MAC", false }, { "CLAMPED", true },
		{ "UNWRAPPED", true },
	};
	struct id_rows rows = { .v = &s->v, .sv = s->v.steer };
	__u32 i;
	size_t r;

	for (i = 1; i < CS_INSTANCES_MAX; i++)
		if (rows.sv->inst[i].chain_id)
			rows.id[rows.n++] = i;
	if (!s->json)
		cs_table_print_hiding(stdout, cols, sizeof(cols) / sizeof(cols[0]), stage_columns(s, 3 /* STAGE */),
				      rows.n, instances_fill, &rows);
	else
		for (r = 0; r < rows.n; r++)
			instance_json(&s->v, rows.id[r]);
	return 0;
}

static int show_map(struct show *s)
{
	return cmd_show_map(&s->v, s->json);
}

/* ---- dispatch ---- */

/* ---- streams and sync: on an instance node ---- */

struct streams {
	struct cs_stream_row *rows;
	__u64 now;
	const struct cs_ids *ids;	/* the names of the peers; NULL: none kept */
};

/* The name of the peer a synced copy came from, or NULL. */
static const char *peer_name(const struct streams *ss, __u16 peer)
{
	const struct cs_id_holder *h;

	if (!ss->ids || !peer || peer >= CS_INSTANCES_MAX)
		return NULL;
	h = &ss->ids->inst[peer];
	return h->state != CS_ID_FREE && h->instance[0] ? h->instance : NULL;
}

static const char *endpoint_text(const struct cs_addr *a, __u16 port, char *buf, size_t len)
{
	char ip[CS_ADDR_TEXT_MAX];

	cs_addr_format(a, ip, sizeof(ip));
	snprintf(buf, len, cs_addr_is_v4(a) ? "%s:%u" : "[%s]:%u", ip, port);
	return buf;
}

static const char *holder_text(const struct streams *ss, const struct cs_stream *stream, char *buf, size_t len)
{
	const char *name = peer_name(ss, stream->peer);

	if (stream->flags & CS_STREAM_SYNCED)
		snprintf(buf, len, name ? "synced from #%u (%s)" : "synced from #%u", stream->peer, name);
	else
		snprintf(buf, len, "%s", stream->flags & CS_STREAM_PICKED_UP ? "here (picked up)" : "here");
	return buf;
}

static __u64 ms_since(__u64 now, __u64 then)
{
	return now > then ? (now - then) / 1000000 : 0;
}

static void streams_fill(void *ctx, size_t i, char cell[][CS_CELL_MAX])
{
	const struct streams *ss = ctx;
	const struct cs_stream_row *r = &ss->rows[i];
	char d[32], p[16];

	snprintf(cell[0], CS_CELL_MAX, "%s", cs_proto_name(r->key.proto, p, sizeof(p)));
	endpoint_text(&r->key.lo, r->key.lo_port, cell[1], CS_CELL_MAX);
	endpoint_text(&r->key.hi, r->key.hi_port, cell[2], CS_CELL_MAX);
	snprintf(cell[3], CS_CELL_MAX, "%s", cs_stream_state_name(r->stream.state));
	snprintf(cell[4], CS_CELL_MAX, "%08x", r->stream.code);
	holder_text(ss, &r->stream, cell[5], CS_CELL_MAX);
	snprintf(cell[6], CS_CELL_MAX, "%llu.%u", (unsigned long long)r->stream.epoch, r->stream.seq);
	snprintf(cell[7], CS_CELL_MAX, "%llu", (unsigned long long)r->stream.packets);
	snprintf(cell[8], CS_CELL_MAX, "%llu", (unsigned long long)r->stream.bytes);
	snprintf(cell[9], CS_CELL_MAX, "%s", cs_fmt_duration(cs_secs_between(r->stream.first_ns, ss->now), d, sizeof(d)));
	snprintf(cell[10], CS_CELL_MAX, "%s", cs_fmt_duration(cs_secs_between(r->stream.last_ns, ss->now), d, sizeof(d)));
}

static void streams_json(const struct streams *ss, size_t i)
{
	const struct cs_stream_row *r = &ss->rows[i];
	char ip[CS_ADDR_TEXT_MAX], p[16];
	struct cs_json j;

	cs_json_begin(&j, stdout);
	cs_json_str(&j, "proto", cs_proto_name(r->key.proto, p, sizeof(p)));
	cs_json_str(&j, "lo", cs_addr_format(&r->key.lo, ip, sizeof(ip)));
	cs_json_u64(&j, "lo_port", r->key.lo_port);
	cs_json_str(&j, "hi", cs_addr_format(&r->key.hi, ip, sizeof(ip)));
	cs_json_u64(&j, "hi_port", r->key.hi_port);
	cs_json_str(&j, "state", cs_stream_state_name(r->stream.state));
	cs_json_u64(&j, "code", r->stream.code);
	cs_json_bool(&j, "synced", r->stream.flags & CS_STREAM_SYNCED);
	cs_json_u64(&j, "peer", r->stream.peer);
	if (peer_name(ss, r->stream.peer))
		cs_json_str(&j, "peer_name", peer_name(ss, r->stream.peer));
	cs_json_bool(&j, "picked_up", r->stream.flags & CS_STREAM_PICKED_UP);
	cs_json_bool(&j, "proven", r->stream.flags & CS_STREAM_PROVEN);
	cs_json_u64(&j, "epoch", r->stream.epoch);
	cs_json_u64(&j, "seq", r->stream.seq);
	cs_json_u64(&j, "packets", r->stream.packets);
	cs_json_u64(&j, "bytes", r->stream.bytes);
	cs_json_u64(&j, "age_ms", ms_since(ss->now, r->stream.first_ns));
	cs_json_u64(&j, "idle_ms", ms_since(ss->now, r->stream.last_ns));
	cs_json_end(&j);
}

static int show_streams(struct show *s)
{
	static const struct cs_column cols[] = {
		{ "PROTO", false }, { "ENDPOINT", false }, { "ENDPOINT", false }, { "STATE", false },
		{ "CODE", false }, { "HOLDER", false }, { "EPOCH.SEQ", true }, { "PACKETS", true },
		{ "BYTES", true }, { "AGE", true }, { "IDLE", true },
	};
	struct streams ss = { .now = cs_now_ns() };
	struct cs_ids *ids = calloc(1, sizeof(*ids));
	size_t n, i;
	int e = cs_view_streams(s->pins, &ss.rows, &n);

	if (e) {
		cs_err("cannot read %s/cs_streams: %s", s->pins->dir, strerror(-e));
		free(ids);
		return 1;
	}
	if (ids && !cs_pinned_peer_ids(s->pins, ids))
		ss.ids = ids;
	if (!s->json)
		cs_table_print(stdout, cols, sizeof(cols) / sizeof(cols[0]), n, streams_fill, &ss);
	else
		for (i = 0; i < n; i++)
			streams_json(&ss, i);
	free(ss.rows);
	free(ids);
	return 0;
}

static const struct {
	const char *name;
	size_t off;
	const char *help;
} sync_counters[] = {
#define SYNC_FIELD(f, help) { #f, offsetof(struct cs_sync_stat, f), help }
	SYNC_FIELD(msgs_sent, "datagrams sent to peers"),
	SYNC_FIELD(streams_sent, "stream versions in them"),
	SYNC_FIELD(msgs_received, "datagrams accepted from peers"),
	SYNC_FIELD(streams_received, "stream versions in them"),
	SYNC_FIELD(installed, "newer than what was here: written"),
	SYNC_FIELD(stale, "not newer (old or repeated): ignored"),
	SYNC_FIELD(refused, "datagrams not from a peer of the chain, or not for this node"),
	SYNC_FIELD(malformed, "datagrams from peers that do not parse (or another version)"),
	SYNC_FIELD(unauthenticated, "datagrams from peers whose tag does not verify"),
	SYNC_FIELD(send_errors, "datagrams the kernel would not send"),
	SYNC_FIELD(lag_last_us, "dataplane event to datagram sent, last (us)"),
	SYNC_FIELD(lag_max_us, "the same, the most (us)"),
	SYNC_FIELD(map_version, "service map version (Lamport clock)"),
	SYNC_FIELD(resyncs, "whole-table passes: the table changed"),
	SYNC_FIELD(refreshes, "streams re-sent to keep peers' copies alive"),
	SYNC_FIELD(authenticated, "1: datagrams carry a keyed tag; 0: no key"),
#undef SYNC_FIELD
};

#define N_SYNC_COUNTERS (sizeof(sync_counters) / sizeof(sync_counters[0]))
/* The refusals of chain headers: every reason but CS_NSH_OK, which counts nothing. */
#define NSH_FIRST_REFUSAL (CS_NSH_OK + 1)
#define N_NSH_REFUSALS (CS_NSH_MAX - NSH_FIRST_REFUSAL)

struct sync_view {
	struct cs_sync_stat stat;
	__u64 reasons[CS_I_MAX];
	__u64 nsh[CS_NSH_MAX];
	bool has_nsh;	/* cs_nsh_reasons is pinned (state older than chains has none) */
};

static __u64 sync_counter(const struct cs_sync_stat *stat, size_t i)
{
	return *(const __u64 *)((const char *)stat + sync_counters[i].off);
}

/* Row i: the sync's counters, the dataplane's by reason, then the chain
 * headers refused by reason (what nsh_refused counts, and what was not
 * sent on to the next stage). */
static void sync_fill(void *ctx, size_t i, char cell[][CS_CELL_MAX])
{
	const struct sync_view *v = ctx;
	const char *of, *name, *help;
	__u64 value;

	if (i < N_SYNC_COUNTERS) {
		of = "sync", name = sync_counters[i].name, help = sync_counters[i].help;
		value = sync_counter(&v->stat, i);
	} else if ((i -= N_SYNC_COUNTERS) < CS_I_MAX) {
		of = "dataplane", name = cs_inst_reason_name(i), help = cs_inst_reason_help(i);
		value = v->reasons[i];
	} else {
		i += NSH_FIRST_REFUSAL - CS_I_MAX;
		of = "nsh_refused", name = cs_nsh_reason_name(i), help = cs_nsh_reason_help(i);
		value = v->nsh[i];
	}
	snprintf(cell[0], CS_CELL_MAX, "%s", of);
	snprintf(cell[1], CS_CELL_MAX, "%s", name);
	snprintf(cell[2], CS_CELL_MAX, "%llu", (unsigned long long)value);
	snprintf(cell[3], CS_CELL_MAX, "%s", help);
}

static int sync_read(const struct cs_pinned *pins, struct sync_view *v)
{
	int e;

	memset(v, 0, sizeof(*v));
	e = cs_pinned_sync_stat(pins, &v->stat);
	if (e) {
		cs_err("cannot read %s/cs_sync_stats: %s", pins->dir, strerror(-e));
		return e;
	}
	e = cs_pinned_inst_reasons(pins, v->reasons);
	if (e) {
		cs_err("cannot read %s/cs_inst_reasons: %s", pins->dir, strerror(-e));
		return e;
	}
	v->has_nsh = pins->fd[CS_M_NSH_REASONS] >= 0;
	e = v->has_nsh ? cs_pinned_nsh_reasons(pins, v->nsh) : 0;
	if (e)
		cs_err("cannot read %s/cs_nsh_reasons: %s", pins->dir, strerror(-e));
	return e;
}

static int show_sync(struct show *s)
{
	static const struct cs_column cols[] = {
		{ "OF", false }, { "COUNTER", false }, { "VALUE", true }, { "MEANING", false },
	};
	struct sync_view v;
	struct cs_json j;
	size_t i;

	if (sync_read(s->pins, &v))
		return 1;
	if (!s->json) {
		cs_table_print(stdout, cols, sizeof(cols) / sizeof(cols[0]),
			       N_SYNC_COUNTERS + CS_I_MAX + (v.has_nsh ? N_NSH_REFUSALS : 0), sync_fill, &v);
		return 0;
	}
	cs_json_begin(&j, stdout);
	for (i = 0; i < N_SYNC_COUNTERS; i++)
		cs_json_u64(&j, sync_counters[i].name, sync_counter(&v.stat, i));
	cs_json_object(&j, "dataplane");
	for (i = 0; i < CS_I_MAX; i++)
		cs_json_u64(&j, cs_inst_reason_name(i), v.reasons[i]);
	cs_json_close(&j);
	if (v.has_nsh) {
		cs_json_object(&j, "nsh_refused");
		for (i = NSH_FIRST_REFUSAL; i < CS_NSH_MAX; i++)
			cs_json_u64(&j, cs_nsh_reason_name(i), v.nsh[i]);
	}
	cs_json_end(&j);
	return 0;
}

#define STEER_BASE (CS_PINNED_BIT(CS_M_CHAINS) | CS_PINNED_BIT(CS_M_INSTANCES))
#define STEER_READS (CS_READ_INSTANCES | CS_READ_CHAINS)

static const struct subcommand {
	const char *name;
	unsigned reads;		/* CS_READ_* */
	int (*run)(struct show *s);
	unsigned only;		/* CS_PINNED_BIT()s: steer's (or instance's) maps alone, all
				 * required; 0: every map the CLI reads */
} subcommands[] = {
	{ "table", CS_READ_RECORDS | CS_READ_ROUTES | CS_READ_NAMES | CS_READ_PATTERNS, show_table, 0 },
	{ "routes", CS_READ_RECORDS | CS_READ_ROUTES | CS_READ_PATTERNS | CS_READ_FLOWS, show_routes, 0 },
	{ "rules", CS_READ_RECORDS | CS_READ_PATTERNS, show_rules, 0 },
	{ "stats", CS_READ_RECORDS | CS_READ_ROUTES | CS_READ_NAMES | CS_READ_FLOWS, show_stats, 0 },
	{ "chains", STEER_READS, show_chains, STEER_BASE },
	{ "instances", STEER_READS | CS_READ_INST_STATS | CS_READ_TABLES, show_instances,
	  STEER_BASE | CS_PINNED_BIT(CS_M_INST_STATS) },
	{ "map", STEER_READS | CS_READ_TABLES, show_map, STEER_BASE | CS_PINNED_BIT(CS_M_SERVICE_MAP) },
	{ "streams", 0, show_streams, CS_PINNED_BIT(CS_M_STREAMS) | CS_PINNED_BIT(CS_M_STREAMS_NEW) },
	{ "sync", 0, show_sync, CS_PINNED_BIT(CS_M_SYNC_STATS) | CS_PINNED_BIT(CS_M_INST_REASONS) },
};

static int find_subcommand(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(name, subcommands[i].name))
			return (int)i;
	return -1;
}

/* The maps the subcommand reads, opened and checked. */
static int open_pins(const struct subcommand *sub, const char *dir, struct cs_pinned *pins, char *err,
		     size_t errlen)
{
	/* and the names of the ids, the tables of later stages and the refusals
	 * of chain headers, where a daemon kept them */
	if (sub->only)
		return cs_pinned_open_with(pins, dir, sub->only,
					   CS_PINNED_IDS | CS_PINNED_BIT(CS_M_PEER_IDS) | CS_PINNED_BIT(CS_M_STAGE_MAP) |
						   CS_PINNED_BIT(CS_M_NSH_REASONS),
					   err, errlen);
	return cs_pinned_open(pins, dir, err, errlen);
}

int cmd_show(int argc, char **argv)
{
	struct cs_cli cli = { .cmd = "show", .usage = show_usage,
			      .flags = CS_FLAG_CONFIG | CS_FLAG_PIN_DIR | CS_FLAG_JSON | CS_FLAG_VERBOSE,
			      .config = CS_DEFAULT_CONFIG, .pin_dir = cs_pin_dir() };
	struct show s = { 0 };
	struct cs_pinned pins;
	char err[1024];
	int sub, rc = cs_cli_parse(&cli, argc, argv);

	if (rc != CS_CLI_GO_ON)
		return rc;
	if (optind >= argc)
		return cs_usage_error(&cli, true, "say what to show");
	if (optind + 1 < argc)
		return cs_usage_error(&cli, true, "unexpected argument \"%s\"", argv[optind + 1]);
	if (!strcmp(argv[optind], "cluster"))
		return cmd_show_cluster(cli.config, cli.json);
	sub = find_subcommand(argv[optind]);
	if (sub < 0)
		return cs_usage_error(&cli, true, "unknown subcommand \"%s\"", argv[optind]);
	s.json = cli.json;
	if (open_pins(&subcommands[sub], cli.pin_dir, &pins, err, sizeof(err))) {
		cs_err("%s", err);
		return 1;
	}
	s.pins = &pins;
	if (cs_view_read(&pins, subcommands[sub].reads, &s.v, err, sizeof(err))) {
		cs_err("%s", err);
		cs_pinned_close(&pins);
		return 1;
	}
	if (subcommands[sub].reads & CS_READ_CHAINS)
		cs_view_name_stages(&s.v, cli.config, strcmp(cli.config, CS_DEFAULT_CONFIG) != 0);
	rc = subcommands[sub].run(&s);
	cs_view_free(&s.v);
	cs_pinned_close(&pins);
	return rc;
}
