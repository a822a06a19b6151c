// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cloudsteer explain IP - why an IP is steered, or why not: its route (ACL
 * id, the rule it follows, that rule's chain) and every record that names
 * it, read from the pinned maps. Works while the daemon is down.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>

#include <bpf/bpf.h>

#include "cloudsteer.h"
#include "commands.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/pins.h"
#include "lib/state.h"

static const char explain_usage[] =
	"usage: cloudsteer explain IP [--json] [--pin-dir DIR]\n"
	"\n"
	"Say why an IPv4 or IPv6 address is steered, or why not: its route (ACL id,\n"
	"the rule it follows and that rule's chain) and every record that names it.\n"
	"Read from the pinned maps: it works while the daemon is down.\n"
	"\n"
	"      --json         one JSON object on one line\n"
	"      --pin-dir DIR  where the maps are pinned (default $" CS_PIN_DIR_ENV ",\n"
	"                     else " CS_PIN_DIR ")\n"
	"  -h, --help         this text\n"
	"\n"
	"Exit status: 0 explained (steered or not); 1 no state in DIR, or a map could\n"
	"not be read; 2 usage or a bad IP.\n";

#define NOT_LEARNED "no DNS answer for a configured name has named this IP"
#define NO_ROUTE "records name this IP, but it has no route (the route table was full when they were made)"

/* One record that names the IP, with what is shown about it. */
struct named {
	const struct cs_record *rec;
	const char *name;
	const char *pattern;
	struct cs_rule rule;	/* zero when it cannot be read */
};

struct explain {
	const struct cs_state *st;
	struct cs_view v;
	struct cs_addr addr;
	char ip[CS_ADDR_TEXT_MAX];
	const struct cs_route *route;
	struct cs_rule route_rule;	/* the rule the route follows */
	struct named *named;		/* by name */
	size_t n_named;
	size_t n_rules;			/* distinct rules among the records */
};

static int cmp_named(const void *a, const void *b)
{
	return strcmp(((const struct named *)a)->name, ((const struct named *)b)->name);
}

static size_t distinct_rules(const struct named *n, size_t count)
{
	size_t i, j, distinct = 0;

	for (i = 0; i < count; i++) {
		for (j = 0; j < i && n[j].rec->rule_id != n[i].rec->rule_id; j++)
			;
		distinct += j == i;
	}
	return distinct;
}

static int gather(struct explain *x)
{
	const struct cs_record_row *first;
	size_t i;

	x->route = cs_view_route(&x->v, &x->addr);
	if (x->route)
		cs_state_rule(x->st, x->route->rule_id, &x->route_rule);
	x->n_named = cs_view_records_of(&x->v, &x->addr, &first);
	x->named = calloc(x->n_named ? x->n_named : 1, sizeof(*x->named));
	if (!x->named)
		return -1;
	for (i = 0; i < x->n_named; i++) {
		struct named *n = &x->named[i];

		n->rec = &first[i].rec;
		n->name = cs_view_name(&x->v, first[i].key.name_id);
		n->pattern = cs_view_pattern_text(&x->v, n->rec->pattern_id);
		cs_state_rule(x->st, n->rec->rule_id, &n->rule);
	}
	qsort(x->named, x->n_named, sizeof(*x->named), cmp_named);
	x->n_rules = distinct_rules(x->named, x->n_named);
	return 0;
}

/* ---- for people ---- */

/* "3m05s" since then */
static const char *since(const struct explain *x, __u64 then_ns, char *buf, size_t len)
{
	return cs_fmt_duration(cs_secs_between(then_ns, x->v.now_ns), buf, len);
}

static void records_fill(void *ctx, size_t i, char cell[][CS_CELL_MAX])
{
	const struct explain *x = ctx;
	const struct named *n = &x->named[i];

	snprintf(cell[0], CS_CELL_MAX, "%s", n->name);
	snprintf(cell[1], CS_CELL_MAX, "%s", n->pattern);
	snprintf(cell[2], CS_CELL_MAX, "%u", n->rec->rule_id);
	snprintf(cell[3], CS_CELL_MAX, "%u", n->rule.priority);
	snprintf(cell[4], CS_CELL_MAX, "%u", n->rec->ttl);
	cs_fmt_ttl_left(x->v.now_ns, n->rec->expires_ns, cell[5], CS_CELL_MAX);
	snprintf(cell[6], CS_CELL_MAX, "%u", n->rec->hits);
	since(x, n->rec->first_ns, cell[7], CS_CELL_MAX);
	since(x, n->rec->last_ns, cell[8], CS_CELL_MAX);
}

static void print_records(const struct explain *x)
{
	static const struct cs_column cols[] = {
		{ "NAME", false }, { "PATTERN", false }, { "RULE", true }, { "PRIO", true }, { "TTL", true },
		{ "TTL LEFT", true }, { "HITS", true }, { "AGE", true }, { "LAST HIT", true },
	};

	printf("\n");
	cs_table_print(stdout, cols, sizeof(cols) / sizeof(cols[0]), x->n_named, records_fill, (void *)x);
}

/* ---- the chain and the streams of the route (steer's maps, optional) ---- */

static bool read_chain(const struct cs_state *st, __u32 id, struct cs_chain *out)
{
	return st->fd[CS_M_CHAINS] >= 0 && !bpf_map_lookup_elem(st->fd[CS_M_CHAINS], &id, out);
}

static const char *inst_state(const struct cs_state *st, __u32 id)
{
	struct cs_instance in;

	if (!id)
		return "none";
	if (st->fd[CS_M_INSTANCES] < 0 || bpf_map_lookup_elem(st->fd[CS_M_INSTANCES], &id, &in))
		return "?";
	return in.state == CS_INST_UP ? "up" : in.state == CS_INST_DRAINING ? "draining" : "down";
}

/* The bucket of a code in a chain's current table. */
static bool read_bucket(const struct cs_state *st, __u32 chain_id, __u32 code, struct cs_bucket *out,
			__u32 *idx)
{
	struct cs_chain ch;
	__u32 table_id;
	int fd;
	bool ok;

	if (!read_chain(st, chain_id, &ch) || !ch.n_buckets || st->fd[CS_M_SERVICE_MAP] < 0 ||
	    bpf_map_lookup_elem(st->fd[CS_M_SERVICE_MAP], &chain_id, &table_id))
		return false;
	fd = bpf_map_get_fd_by_id(table_id);
	if (fd < 0)
		return false;
	*idx = code & (ch.n_buckets - 1);
	ok = !bpf_map_lookup_elem(fd, idx, out);
	close(fd);
	return ok;
}

static void flow_text(const struct cs_flow_key *k, char *buf, size_t len)
{
	char lo[CS_ADDR_TEXT_MAX], hi[CS_ADDR_TEXT_MAX];

	snprintf(buf, len, "%s:%u <-> %s:%u %s", cs_addr_format(&k->lo, lo, sizeof(lo)), k->lo_port,
		 cs_addr_format(&k->hi, hi, sizeof(hi)), k->hi_port,
		 k->proto == 6 ? "tcp" : k->proto == 17 ? "udp" : "ip");
}

static void print_chain(const struct explain *x)
{
	__u32 chain_id = x->route_rule.chain_id;
	struct cs_chain ch;
	size_t i;

	if (!chain_id) {
		printf("  chain     observe only (the rule has no chain)\n");
		return;
	}
	if (read_chain(x->st, chain_id, &ch))
		printf("  chain     %u (%s mode%s, on failure %s, %u buckets)\n", chain_id,
		       ch.mode == CS_MODE_ENCAP ? "encap" : "route",
		       ch.flags & CS_CHAIN_SYMMETRIC ? ", symmetric" : "",
		       ch.on_failure == CS_FAIL_DROP ? "drop" : "bypass", ch.n_buckets);
	else
		printf("  chain     %u (steer has not run here)\n", chain_id);
	for (i = 0; i < x->v.n_flows; i++) {
		const struct cs_flow_row *f = &x->v.flows[i];
		struct cs_bucket b = { 0 };
		__u32 idx = 0;
		char text[128];

		if (memcmp(&f->flow.route, &x->addr, sizeof(x->addr)))
			continue;
		flow_text(&f->key, text, sizeof(text));
		printf("  stream    %s: code %#010x", text, f->flow.code);
		if (read_bucket(x->st, chain_id, f->flow.code, &b, &idx))
			printf(", bucket %u: primary %u (%s), secondary %u (%s)", idx, b.primary,
			       inst_state(x->st, b.primary), b.secondary, inst_state(x->st, b.secondary));
		printf(", pinned to %u (%s)\n", f->flow.instance, inst_state(x->st, f->flow.instance));
	}
}

static void json_streams(const struct explain *x, struct cs_jw *w)
{
	size_t i, n = 0;

	cs_jw_key(w, "streams");
	putchar('[');
	for (i = 0; i < x->v.n_flows; i++) {
		const struct cs_flow_row *f = &x->v.flows[i];
		struct cs_bucket b = { 0 };
		__u32 idx = 0;
		char lo[CS_ADDR_TEXT_MAX], hi[CS_ADDR_TEXT_MAX];
		struct cs_jw s;

		if (memcmp(&f->flow.route, &x->addr, sizeof(x->addr)))
			continue;
		if (n++)
			putchar(',');
		cs_jw_open(&s, stdout);
		cs_jw_str(&s, "lo", cs_addr_format(&f->key.lo, lo, sizeof(lo)));
		cs_jw_u64(&s, "lo_port", f->key.lo_port);
		cs_jw_str(&s, "hi", cs_addr_format(&f->key.hi, hi, sizeof(hi)));
		cs_jw_u64(&s, "hi_port", f->key.hi_port);
		cs_jw_u64(&s, "proto", f->key.proto);
		cs_jw_u64(&s, "code", f->flow.code);
		if (read_bucket(x->st, x->route_rule.chain_id, f->flow.code, &b, &idx)) {
			cs_jw_u64(&s, "bucket", idx);
			cs_jw_u64(&s, "primary", b.primary);
			cs_jw_u64(&s, "secondary", b.secondary);
		}
		cs_jw_u64(&s, "instance", f->flow.instance);
		cs_jw_str(&s, "instance_state", inst_state(x->st, f->flow.instance));
		cs_jw_close(&s);
	}
	putchar(']');
}

static void print_route(const struct explain *x)
{
	const struct cs_route *rt = x->route;
	char buf[CS_CELL_MAX], age[32];

	printf("%s: steered: a DNS answer for a configured name named this IP\n", x->ip);
	if (rt->flags & CS_ROUTE_WAIT_ACL)
		printf("  acl id    waiting (the pool was empty when the route was made; "
		       "the daemon gives it one)\n");
	else
		printf("  acl id    %u\n", rt->acl_id);
	printf("  rule      %u: %s (priority %u)\n", rt->rule_id,
	       cs_view_rule_patterns_text(&x->v, rt->rule_id, buf, sizeof(buf)), x->route_rule.priority);
	print_chain(x);
	printf("  created   %s ago\n", since(x, rt->created_ns, age, sizeof(age)));
	printf("  learned   %s ago (a record for it was made, or its rule changed)\n",
	       since(x, rt->learned_ns, age, sizeof(age)));
	printf("  records   %zu\n", x->n_named);
}

static void explain_human(const struct explain *x)
{
	if (!x->route && !x->n_named) {
		printf("%s: not steered: " NOT_LEARNED "\n", x->ip);
		return;
	}
	if (x->route)
		print_route(x);
	else
		printf("%s: not steered: " NO_ROUTE "\n", x->ip);
	if (x->n_named)
		print_records(x);
	if (x->route && x->n_rules > 1)
		printf("\n%zu rules claim %s; the route follows rule %u: the highest priority wins, and "
		       "between equals the first to claim it.\n", x->n_rules, x->ip, x->route->rule_id);
}

/* ---- for programs ---- */

static void json_record(const struct explain *x, const struct named *n)
{
	struct cs_jw w;

	cs_jw_open(&w, stdout);
	cs_jw_str(&w, "name", n->name);
	cs_jw_str(&w, "pattern", n->pattern);
	cs_jw_u64(&w, "rule_id", n->rec->rule_id);
	cs_jw_u64(&w, "priority", n->rule.priority);
	cs_jw_u64(&w, "ttl", n->rec->ttl);
	cs_jw_ttl_left(&w, x->v.now_ns, n->rec->expires_ns);
	cs_jw_u64(&w, "hits", n->rec->hits);
	cs_jw_s64(&w, "age", cs_secs_between(n->rec->first_ns, x->v.now_ns));
	cs_jw_s64(&w, "last_hit", cs_secs_between(n->rec->last_ns, x->v.now_ns));
	cs_jw_close(&w);
}

static void json_route(const struct explain *x, struct cs_jw *w)
{
	const struct cs_route *rt = x->route;

	cs_jw_acl(w, rt);
	cs_jw_u64(w, "rule_id", rt->rule_id);
	cs_jw_rule_patterns(w, &x->v, rt->rule_id);
	cs_jw_u64(w, "priority", x->route_rule.priority);
	cs_jw_u64(w, "chain_id", x->route_rule.chain_id);
	cs_jw_bool(w, "observe_only", !x->route_rule.chain_id);
	cs_jw_s64(w, "created_age", cs_secs_between(rt->created_ns, x->v.now_ns));
	cs_jw_s64(w, "learned_age", cs_secs_between(rt->learned_ns, x->v.now_ns));
	json_streams(x, w);
}

static void explain_json(const struct explain *x)
{
	struct cs_jw w;
	size_t i;

	cs_jw_open(&w, stdout);
	cs_jw_str(&w, "ip", x->ip);
	cs_jw_bool(&w, "steered", x->route != NULL);
	if (x->route)
		json_route(x, &w);
	else
		cs_jw_str(&w, "reason", x->n_named ? NO_ROUTE : NOT_LEARNED);
	cs_jw_key(&w, "records");
	putchar('[');
	for (i = 0; i < x->n_named; i++) {
		if (i)
			putchar(',');
		json_record(x, &x->named[i]);
	}
	putchar(']');
	cs_jw_close(&w);
	putchar('\n');
}

/* ---- the command ---- */

static int usage_error(const char *what, const char *arg)
{
	return cs_usage_error("explain", explain_usage, what, arg);
}

int cmd_explain(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "pin-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *dir = cs_pin_dir();
	struct explain x = { 0 };
	struct cs_state st;
	bool json = false;
	char err[1024];
	int c, rc = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'd': dir = optarg; break;
		case 'h': fputs(explain_usage, stdout); return 0;
		default: fputs(explain_usage, stderr); return 2;
		}
	}
	if (optind >= argc)
		return usage_error("name the IP to explain", NULL);
	if (optind + 1 < argc)
		return usage_error("unexpected argument", argv[optind + 1]);
	if (cs_addr_parse(argv[optind], &x.addr)) {
		fprintf(stderr, "cloudsteer explain: \"%s\" is not an IPv4 or IPv6 address\n", argv[optind]);
		return 2;
	}
	cs_addr_format(&x.addr, x.ip, sizeof(x.ip));
	if (cs_state_open(&st, dir, err, sizeof(err))) {
		cs_err("%s", err);
		return 1;
	}
	x.st = &st;
	if (cs_view_read(&st, CS_READ_ALL, &x.v, err, sizeof(err))) {
		cs_err("%s", err);
		cs_state_close(&st);
		return 1;
	}
	if (gather(&x)) {
		cs_err("out of memory");
		rc = 1;
	} else if (json) {
		explain_json(&x);
	} else {
		explain_human(&x);
	}
	free(x.named);
	cs_view_free(&x.v);
	cs_state_close(&st);
	return rc;
}
