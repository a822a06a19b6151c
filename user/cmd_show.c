// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cloudsteer show - print the state the daemon pinned: the cloud IP table,
 * the routes, the rules with their counters, and learn's counters.
 *
 * Everything is read from the pinned maps, never from the daemon, so it
 * works while the daemon is down or restarting, and it changes nothing.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#include "cloudsteer.h"
#include "commands.h"
#include "lib/addr.h"
#include "lib/learnprog.h"
#include "lib/log.h"
#include "lib/pins.h"
#include "lib/state.h"

static const char show_usage[] =
	"usage: cloudsteer show table|routes|rules|stats [--json] [--pin-dir DIR]\n"
	"\n"
	"Print the state that the daemon pinned, read from its maps: it works while\n"
	"the daemon is down, and changes nothing.\n"
	"\n"
	"  table    the cloud IP table: one row per (name, IP) record\n"
	"  routes   one row per policy route (IP)\n"
	"  rules    one row per rule pattern, with its rule's settings and counters\n"
	"  stats    learn's counters by reason, and how full the tables are\n"
	"\n"
	"      --json         one JSON object per line (JSON Lines)\n"
	"      --pin-dir DIR  where the maps are pinned (default $" CS_PIN_DIR_ENV ",\n"
	"                     else " CS_PIN_DIR ")\n"
	"  -h, --help         this text\n"
	"\n"
	"Exit status: 0 shown; 1 no state in DIR, or a map could not be read; 2 usage.\n";

struct show {
	const struct cs_state *st;
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
}

static void table_json(const struct table *t, size_t i)
{
	const struct cs_view *v = &t->s->v;
	const struct cs_record_row *r = t->rows[i].r;
	char ip[CS_ADDR_TEXT_MAX];
	struct cs_jw w;

	cs_jw_open(&w, stdout);
	cs_jw_str(&w, "name", t->rows[i].name);
	cs_jw_str(&w, "ip", cs_addr_format(&r->key.addr, ip, sizeof(ip)));
	cs_jw_str(&w, "pattern", cs_view_pattern_text(v, r->rec.pattern_id));
	cs_jw_u64(&w, "rule_id", r->rec.rule_id);
	cs_jw_u64(&w, "ttl", r->rec.ttl);
	cs_jw_ttl_left(&w, v->now_ns, r->rec.expires_ns);
	cs_jw_acl(&w, cs_view_route(v, &r->key.addr));
	cs_jw_s64(&w, "age", cs_secs_between(r->rec.first_ns, v->now_ns));
	cs_jw_u64(&w, "hits", r->rec.hits);
	cs_jw_close(&w);
	putchar('\n');
}

static int show_table(struct show *s)
{
	static const struct cs_column cols[] = {
		{ "NAME", false }, { "IP", false }, { "PATTERN", false }, { "TTL", true },
		{ "TTL LEFT", true }, { "ACL", true }, { "AGE", true }, { "HITS", true },
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
static bool route_traffic(const struct show *s, const struct cs_route_row *r, struct cs_acl_stat *st)
{
	return r->route.acl_id && !cs_state_acl_stat(s->st, r->route.acl_id, st);
}

static void routes_fill(void *ctx, size_t i, char cell[][CS_CELL_MAX])
{
	const struct show *s = ctx;
	const struct cs_route_row *r = &s->v.routes[i];
	const struct cs_record_row *first;
	struct cs_acl_stat st;

	cs_addr_format(&r->addr, cell[0], CS_CELL_MAX);
	cs_acl_text(&r->route, "waiting", cell[1], CS_CELL_MAX);
	snprintf(cell[2], CS_CELL_MAX, "%u", r->route.rule_id);
	cs_view_rule_patterns_text(&s->v, r->route.rule_id, cell[3], CS_CELL_MAX);
	snprintf(cell[4], CS_CELL_MAX, "%zu", cs_view_records_of(&s->v, &r->addr, &first));
	cs_fmt_duration(cs_secs_between(r->route.created_ns, s->v.now_ns), cell[5], CS_CELL_MAX);
	if (s->st->fd[CS_M_FLOWS] >= 0)
		snprintf(cell[6], CS_CELL_MAX, "%zu", cs_view_flows_of(&s->v, &r->addr));
	else
		snprintf(cell[6], CS_CELL_MAX, "-");
	if (route_traffic(s, r, &st)) {
		snprintf(cell[7], CS_CELL_MAX, "%llu", (unsigned long long)st.packets);
		snprintf(cell[8], CS_CELL_MAX, "%llu", (unsigned long long)st.bytes);
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
	struct cs_acl_stat st;
	struct cs_jw w;

	cs_jw_open(&w, stdout);
	cs_jw_str(&w, "ip", cs_addr_format(&r->addr, ip, sizeof(ip)));
	cs_jw_acl(&w, &r->route);
	cs_jw_u64(&w, "rule_id", r->route.rule_id);
	cs_jw_rule_patterns(&w, &s->v, r->route.rule_id);
	cs_jw_u64(&w, "records", cs_view_records_of(&s->v, &r->addr, &first));
	cs_jw_s64(&w, "age", cs_secs_between(r->route.created_ns, s->v.now_ns));
	if (s->st->fd[CS_M_FLOWS] >= 0)
		cs_jw_u64(&w, "flows", cs_view_flows_of(&s->v, &r->addr));
	else
		cs_jw_null(&w, "flows");
	if (route_traffic(s, r, &st)) {
		cs_jw_u64(&w, "packets", st.packets);
		cs_jw_u64(&w, "bytes", st.bytes);
	} else {
		cs_jw_null(&w, "packets");
		cs_jw_null(&w, "bytes");
	}
	cs_jw_close(&w);
	putchar('\n');
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
	bool known;		/* the rule and its counters could be read */
};

struct rules {
	struct show *s;
	__u64 records[CS_RULES_MAX];	/* records held, by rule id */
	struct rule_facts *facts;	/* by row */
};

/* Read once per row: the table is filled twice. */
static void read_rule_facts(const struct cs_state *st, __u32 rule_id, struct rule_facts *f)
{
	f->known = !cs_state_rule(st, rule_id, &f->rule) && !cs_state_rule_stat(st, rule_id, &f->stat);
	if (!f->known)
		memset(f, 0, sizeof(*f));
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
}

static void rules_json(const struct rules *r, size_t i)
{
	const struct cs_pattern_row *p = &r->s->v.patterns[i];
	const struct rule_facts *f = &r->facts[i];
	struct cs_jw w;

	cs_jw_open(&w, stdout);
	cs_jw_str(&w, "pattern", p->info.text);
	cs_jw_str(&w, "kind", cs_match_kind_name(p->info.kind));
	cs_jw_u64(&w, "pattern_id", p->id);
	cs_jw_u64(&w, "rule_id", p->info.rule_id);
	cs_jw_u64(&w, "priority", f->rule.priority);
	cs_jw_u64(&w, "ttl_min", f->rule.ttl_min);
	cs_jw_u64(&w, "ttl_max", f->rule.ttl_max);
	cs_jw_u64(&w, "ttl_grace", f->rule.ttl_grace);
	cs_jw_u64(&w, "chain_id", f->rule.chain_id);
	cs_jw_u64(&w, "answers", f->stat.answers);
	cs_jw_u64(&w, "learned", f->stat.learned);
	cs_jw_u64(&w, "refreshed", f->stat.refreshed);
	cs_jw_u64(&w, "records", rule_records(r, p->info.rule_id));
	cs_jw_close(&w);
	putchar('\n');
}

static int show_rules(struct show *s)
{
	static const struct cs_column cols[] = {
		{ "PATTERN", false }, { "KIND", false }, { "RULE", true }, { "PRIO", true },
		{ "TTL MIN/MAX/GRACE", true }, { "ANSWERS", true }, { "LEARNED", true },
		{ "REFRESHED", true }, { "RECORDS", true },
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
			read_rule_facts(s->st, rule_id, &r->facts[i]);
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
		struct cs_jw w;

		if (!cs_reason_name(i))	/* the group marker */
			continue;
		cs_jw_open(&w, stdout);
		cs_jw_str(&w, "reason", cs_reason_name(i));
		cs_jw_str(&w, "kind", i < CS_R_PACKET_END ? "packet" : "record");
		cs_jw_u64(&w, "count", count[i]);
		cs_jw_str(&w, "help", cs_reason_help(i));
		cs_jw_close(&w);
		putchar('\n');
	}
}

/* The tables whose fill is shown: entries counted from the view. */
static const struct {
	const char *name;
	enum cs_state_map map;
} fill_tables[] = {
	{ "records", CS_M_RECORDS },
	{ "routes", CS_M_ROUTES },
	{ "names", CS_M_NAMES },
};
#define N_FILL (sizeof(fill_tables) / sizeof(fill_tables[0]))

static size_t fill_entries(const struct show *s, size_t i)
{
	switch (fill_tables[i].map) {
	case CS_M_RECORDS: return s->v.n_records;
	case CS_M_ROUTES: return s->v.n_routes;
	default: return s->v.n_names;
	}
}

static void fill_fill(void *ctx, size_t i, char cell[][CS_CELL_MAX])
{
	const struct show *s = ctx;
	size_t n = fill_entries(s, i);
	__u32 max = s->st->max_entries[fill_tables[i].map];

	snprintf(cell[0], CS_CELL_MAX, "%s", fill_tables[i].name);
	snprintf(cell[1], CS_CELL_MAX, "%zu", n);
	snprintf(cell[2], CS_CELL_MAX, "%u", max);
	snprintf(cell[3], CS_CELL_MAX, "%.1f%%", max ? 100.0 * (double)n / max : 0.0);
}

static void fill_json(const struct show *s)
{
	struct cs_jw w;
	size_t i;

	for (i = 0; i < N_FILL; i++) {
		cs_jw_open(&w, stdout);
		cs_jw_str(&w, "table", fill_tables[i].name);
		cs_jw_u64(&w, "entries", fill_entries(s, i));
		cs_jw_u64(&w, "max_entries", s->st->max_entries[fill_tables[i].map]);
		cs_jw_close(&w);
		putchar('\n');
	}
	/* a queue can only be counted by popping it, which would take ids */
	cs_jw_open(&w, stdout);
	cs_jw_str(&w, "table", "acl_pool");
	cs_jw_null(&w, "entries");
	cs_jw_u64(&w, "max_entries", s->st->max_entries[CS_M_ACL_POOL]);
	cs_jw_close(&w);
	putchar('\n');
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
	__u64 count[CS_R_MAX];
	struct reasons packets = { count, CS_R_OK + 1 }, records = { count, CS_R_PACKET_END + 1 };
	int e = cs_sum_percpu(s->st->fd[CS_M_LEARN_STATS], count, CS_R_MAX);

	if (e) {
		cs_err("cannot read %s/cs_learn_stats: %s", s->st->dir, strerror(-e));
		return 1;
	}
	if (s->json) {
		reasons_json(count);
		fill_json(s);
		return 0;
	}
	cs_table_print(stdout, packet_cols, 3, CS_R_PACKET_END - packets.first, reasons_fill, &packets);
	putchar('\n');
	cs_table_print(stdout, record_cols, 3, CS_R_MAX - records.first, reasons_fill, &records);
	putchar('\n');
	cs_table_print(stdout, fill_cols, 4, N_FILL, fill_fill, s);
	printf("acl_pool holds up to %u free ACL ids; how many are left cannot be read without "
	       "taking them out.\n", s->st->max_entries[CS_M_ACL_POOL]);
	return 0;
}

/* ---- dispatch ---- */

static const struct {
	const char *name;
	unsigned reads;		/* CS_READ_* */
	int (*run)(struct show *s);
} subcommands[] = {
	{ "table", CS_READ_RECORDS | CS_READ_ROUTES | CS_READ_NAMES | CS_READ_PATTERNS, show_table },
	{ "routes", CS_READ_RECORDS | CS_READ_ROUTES | CS_READ_PATTERNS | CS_READ_FLOWS, show_routes },
	{ "rules", CS_READ_RECORDS | CS_READ_PATTERNS, show_rules },
	{ "stats", CS_READ_RECORDS | CS_READ_ROUTES | CS_READ_NAMES, show_stats },
};

static int find_subcommand(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(name, subcommands[i].name))
			return (int)i;
	return -1;
}

static int usage_error(const char *what, const char *arg)
{
	return cs_usage_error("show", show_usage, what, arg);
}

int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pin-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *dir = cs_pin_dir();
	struct show s = { 0 };
	struct cs_state st;
	char err[1024];
	int c, sub, rc;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': s.json = true; break;
		case 'd': dir = optarg; break;
		case 'h': fputs(show_usage, stdout); return 0;
		default: fputs(show_usage, stderr); return 2;
		}
	}
	if (optind >= argc)
		return usage_error("say what to show", NULL);
	if (optind + 1 < argc)
		return usage_error("unexpected argument", argv[optind + 1]);
	sub = find_subcommand(argv[optind]);
	if (sub < 0)
		return usage_error("unknown subcommand", argv[optind]);
	if (cs_state_open(&st, dir, err, sizeof(err))) {
		cs_err("%s", err);
		return 1;
	}
	s.st = &st;
	if (cs_view_read(&st, subcommands[sub].reads, &s.v, err, sizeof(err))) {
		cs_err("%s", err);
		cs_state_close(&st);
		return 1;
	}
	rc = subcommands[sub].run(&s);
	cs_view_free(&s.v);
	cs_state_close(&st);
	return rc;
}
