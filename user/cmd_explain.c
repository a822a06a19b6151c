// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cloudsteer explain IP - why an IP is steered, or why not: its route (ACL
 * id, the rule it follows, that rule's chain) and every record that names
 * it, read from the pinned maps. Works while the daemon is down. Given a
 * 5-tuple instead, also where that stream goes: its code, bucket, primary
 * and secondary, and its instance (pinned, or the one a new stream takes);
 * through a chain of several stages, its instance at each.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#include "affinity.h"
#include "cloudsteer.h"
#include "commands.h"
#include "lib/addr.h"
#include "lib/cli.h"
#include "lib/clock.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/names.h"
#include "lib/never.h"
#include "lib/pinned.h"
#include "lib/pins.h"
#include "lib/table.h"
#include "lib/view.h"

static const char explain_usage[] =
	"usage: cloudsteer explain IP|STREAM [--json] [-c FILE] [--pin-dir DIR]\n"
	"\n"
	"STREAM is tcp|udp SRC SPORT DST DPORT.\n"
	"\n"
	"Say why an IPv4 or IPv6 address is steered, or why not: its route (ACL id,\n"
	"the rule it follows and that rule's chain) and every record that names it.\n"
	"Given a stream, explain the route among its two addresses (the destination\n"
	"first) and say where the stream goes: its affinity code, bucket, primary\n"
	"and secondary, and the instance it is pinned to, or the one a new stream\n"
	"would take now; through a chain of several stages, its instance at each.\n"
	"Read from the pinned maps: it works while the daemon is down.\n"
	"\n"
	"  -c, --config FILE  the config, for the names of a chain's stages (default\n"
	"                     " CS_DEFAULT_CONFIG ")\n"
	"  -j, --json         one JSON object on one line\n"
	"  -p, --pin-dir DIR  where the maps are pinned (default $" CS_PIN_DIR_ENV ",\n"
	"                     else " CS_PIN_DIR ")\n"
	"  -v, --verbose      more detail (twice: libbpf too)\n"
	"  -h, --help         this text\n"
	"\n"
	"Exit status: 0 explained (steered or not); 1 no state in DIR, or a map could\n"
	"not be read; 2 usage or a bad IP.\n";

#define NOT_LEARNED "no DNS answer for a configured name has named this IP"
#define NO_ROUTE "records name this IP, but it has no route (the route table was full when they were made)"
#define NEVER_ROUTE "records name this IP, but it is never steered: "

/* One record that names the IP, with what is shown about it. */
struct named {
	const struct cs_record *rec;
	const char *name;
	const char *pattern;
	struct cs_rule rule;	/* zero when it cannot be read */
};

/* A stream asked about: where it goes. */
struct asked {
	bool given;
	struct cs_flow_key key;
	char text[160];		/* "SRC:SPORT -> DST:DPORT tcp" */
	bool have_code;		/* the affinity key could be read */
	__u32 code;
	bool have_bucket;
	__u32 bucket;
	struct cs_bucket b;
	bool pinned;		/* steer has a flow for it */
	__u32 instance;		/* pinned, or the one a new stream takes; 0: none */
};

struct explain {
	const struct cs_pinned *pins;
	struct asked asked;
	struct cs_view v;
	struct cs_addr addr;
	struct cs_addr alt;		/* a stream's source: explained when its destination is no route */
	char ip[CS_ADDR_TEXT_MAX];
	const struct cs_route *route;
	struct cs_rule route_rule;	/* the rule the route follows */
	struct named *named;		/* by name */
	size_t n_named;
	size_t n_rules;			/* distinct rules among the records */
	__u32 never;			/* enum cs_never_kind that holds it; 0: none */
	char why[160];			/* why it has no route, when it has records */
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
		cs_pinned_rule(x->pins, x->route->rule_id, &x->route_rule);
	x->n_named = cs_view_records_of(&x->v, &x->addr, &first);
	x->named = calloc(x->n_named ? x->n_named : 1, sizeof(*x->named));
	if (!x->named)
		return -1;
	for (i = 0; i < x->n_named; i++) {
		struct named *n = &x->named[i];

		n->rec = &first[i].rec;
		n->name = cs_view_name(&x->v, first[i].key.name_id);
		n->pattern = cs_view_pattern_text(&x->v, n->rec->pattern_id);
		cs_pinned_rule(x->pins, n->rec->rule_id, &n->rule);
	}
	qsort(x->named, x->n_named, sizeof(*x->named), cmp_named);
	x->n_rules = distinct_rules(x->named, x->n_named);
	if (x->pins->fd[CS_M_NEVER] >= 0)
		x->never = cs_never_kind_of(x->pins->fd[CS_M_NEVER], &x->addr);
	if (x->never)
		snprintf(x->why, sizeof(x->why), NEVER_ROUTE "%s", cs_never_kind_help(x->never));
	else
		snprintf(x->why, sizeof(x->why), "%s", NO_ROUTE);
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

/* The state of instance id as steer has it: "none" for 0, "?" where it
 * cannot be read. */
static const char *inst_state(const struct cs_view *v, __u32 id)
{
	const struct cs_instance *in = cs_view_instance(v, id);

	if (!id)
		return "none";
	return in ? cs_inst_state_name(in->state) : "?";
}

static void flow_text(const struct cs_flow_key *k, char *buf, size_t len)
{
	char lo[CS_ADDR_TEXT_MAX], hi[CS_ADDR_TEXT_MAX];

	snprintf(buf, len, "%s:%u <-> %s:%u %s", cs_addr_format(&k->lo, lo, sizeof(lo)), k->lo_port,
		 cs_addr_format(&k->hi, hi, sizeof(hi)), k->hi_port,
		 k->proto == 6 ? "tcp" : k->proto == 17 ? "udp" : "ip");
}

/* ---- a chain of several stages: the stream's instance at each ---- */

/* "dlp-b (4)", or "4" where the daemon kept no names. */
static const char *inst_text(const struct cs_view *v, __u32 id, char *buf, size_t len)
{
	const char *name = cs_view_instance_name(v, id);

	if (strcmp(name, "-"))
		snprintf(buf, len, "%s (%u)", name, id);
	else
		snprintf(buf, len, "%u", id);
	return buf;
}

/* No instance of the stage may take the stream: who could, and what
 * follows (steer's on_failure at the first stage; at a later one, the
 * stage before drops the packet). */
static void print_no_hop(const struct cs_view *v, const struct cs_hop *h)
{
	char p[96], s[96];

	if (!h->have_table) {
		printf("no table yet\n");
		return;
	}
	printf("none: primary %s %s, secondary %s %s; %s\n", inst_text(v, h->b.primary, p, sizeof(p)),
	       inst_state(v, h->b.primary), inst_text(v, h->b.secondary, s, sizeof(s)), inst_state(v, h->b.secondary),
	       h->stage ? "the stage before drops it (nsh_no_next)" : "on_failure decides");
}

/* One line a stage: "stage 1   dlp: dlp-b (4), secondary, up". Nothing
 * for a chain of one stage. */
static void print_stages(const struct explain *x, __u32 chain_id, __u32 code, __u32 pinned)
{
	__u32 k, n = cs_view_stages(&x->v, chain_id);
	char inst[96];

	for (k = 0; n > 1 && k < n; k++) {
		struct cs_hop h = cs_view_hop(&x->v, chain_id, k, code, pinned);
		const char *name = cs_view_stage_name(&x->v, chain_id, k);

		printf("  stage %-3u %s%s", k, name ? name : "", name ? ": " : "");
		if (h.id)
			printf("%s, %s, %s\n", inst_text(&x->v, h.id, inst, sizeof(inst)), h.role,
			       inst_state(&x->v, h.id));
		else
			print_no_hop(&x->v, &h);
	}
}

/* "stages": one object a stage, as print_stages has them. Nothing for a
 * chain of one stage. */
static void json_stages(const struct explain *x, struct cs_json *j, __u32 chain_id, __u32 code, __u32 pinned)
{
	__u32 k, n = cs_view_stages(&x->v, chain_id);

	if (n < 2)
		return;
	cs_json_array(j, "stages");
	for (k = 0; k < n; k++) {
		struct cs_hop h = cs_view_hop(&x->v, chain_id, k, code, pinned);
		const char *name = cs_view_instance_name(&x->v, h.id);

		cs_json_object(j, NULL);
		cs_view_stage_json(j, &x->v, chain_id, k);
		if (h.have_table)
			cs_json_u64(j, "bucket", h.bucket);
		if (h.id && strcmp(name, "-"))
			cs_json_str(j, "instance", name);
		else
			cs_json_null(j, "instance");
		cs_json_u64(j, "id", h.id);
		cs_json_str(j, "role", h.role);
		cs_json_str(j, "state", inst_state(&x->v, h.id));
		cs_json_close(j);
	}
	cs_json_close(j);
}

static void print_chain(const struct explain *x)
{
	__u32 chain_id = x->route_rule.chain_id;
	const struct cs_chain *ch = cs_view_chain(&x->v, chain_id);
	size_t i;

	if (!chain_id) {
		printf("  chain     observe only (the rule has no chain)\n");
		return;
	}
	if (ch)
		printf("  chain     %u (%s mode%s, affinity %s, on failure %s, %u buckets)\n", chain_id,
		       cs_chain_mode_name(ch->mode), ch->flags & CS_CHAIN_SYMMETRIC ? ", symmetric" : "",
		       cs_chain_affinity_name(ch->flags), cs_on_failure_name(ch->on_failure), ch->n_buckets);
	else
		printf("  chain     %u (steer has not run here)\n", chain_id);
	for (i = 0; i < x->v.n_flows; i++) {
		const struct cs_flow_row *f = &x->v.flows[i];
		const struct cs_bucket *b;
		__u32 idx = 0;
		char text[128];

		if (memcmp(&f->flow.route, &x->addr, sizeof(x->addr)))
			continue;
		flow_text(&f->key, text, sizeof(text));
		printf("  stream    %s: code %#010x", text, f->flow.code);
		b = cs_view_bucket(&x->v, chain_id, f->flow.code, &idx);
		if (b)
			printf(", bucket %u: primary %u (%s), secondary %u (%s)", idx, b->primary,
			       inst_state(&x->v, b->primary), b->secondary, inst_state(&x->v, b->secondary));
		printf(", pinned to %u (%s); %s%s\n", f->flow.instance, inst_state(&x->v, f->flow.instance),
		       cs_stream_state_name(f->flow.state), f->proven ? "" : ", not proven yet");
		print_stages(x, chain_id, f->flow.code, f->flow.instance);
	}
}

static void json_streams(const struct explain *x, struct cs_json *j)
{
	size_t i;

	cs_json_array(j, "streams");
	for (i = 0; i < x->v.n_flows; i++) {
		const struct cs_flow_row *f = &x->v.flows[i];
		const struct cs_bucket *b;
		__u32 idx = 0;
		char lo[CS_ADDR_TEXT_MAX], hi[CS_ADDR_TEXT_MAX];

		if (memcmp(&f->flow.route, &x->addr, sizeof(x->addr)))
			continue;
		cs_json_object(j, NULL);
		cs_json_str(j, "lo", cs_addr_format(&f->key.lo, lo, sizeof(lo)));
		cs_json_u64(j, "lo_port", f->key.lo_port);
		cs_json_str(j, "hi", cs_addr_format(&f->key.hi, hi, sizeof(hi)));
		cs_json_u64(j, "hi_port", f->key.hi_port);
		cs_json_u64(j, "proto", f->key.proto);
		cs_json_u64(j, "code", f->flow.code);
		b = cs_view_bucket(&x->v, x->route_rule.chain_id, f->flow.code, &idx);
		if (b) {
			cs_json_u64(j, "bucket", idx);
			cs_json_u64(j, "primary", b->primary);
			cs_json_u64(j, "secondary", b->secondary);
		}
		cs_json_u64(j, "instance", f->flow.instance);
		cs_json_str(j, "instance_state", inst_state(&x->v, f->flow.instance));
		cs_json_str(j, "state", cs_stream_state_name(f->flow.state));
		cs_json_bool(j, "proven", f->proven);
		json_stages(x, j, x->route_rule.chain_id, f->flow.code, f->flow.instance);
		cs_json_close(j);
	}
	cs_json_close(j);
}

/* Does the route's chain code its streams by their pair of hosts? */
static bool chain_by_hosts(const struct explain *x)
{
	const struct cs_chain *ch = cs_view_chain(&x->v, x->route_rule.chain_id);

	return ch && (ch->flags & CS_CHAIN_AFFINITY_HOSTS);
}

/* Where the asked stream goes, as steer decides it: its pin, else the
 * bucket's primary when up, else its secondary when up. */
static void place_asked(struct explain *x)
{
	struct asked *a = &x->asked;
	const struct cs_bucket *b;
	struct cs_config cfg;
	struct cs_flow fl;
	bool proven;

	if (!cs_pinned_config(x->pins, &cfg)) {
		a->code = cs_affinity_code_by(&a->key, cfg.affinity_key, chain_by_hosts(x));
		a->have_code = true;
		b = cs_view_bucket(&x->v, x->route_rule.chain_id, a->code, &a->bucket);
		a->have_bucket = b != NULL;
		if (b)
			a->b = *b;
	}
	if (!cs_pinned_flow(x->pins, &a->key, &fl, &proven)) {
		a->pinned = true;
		a->instance = fl.instance;
		a->code = fl.code;	/* the code steer computed */
	} else if (a->have_bucket) {
		a->instance = cs_view_hop(&x->v, x->route_rule.chain_id, 0, a->code, 0).id;
	}
}

static void print_asked(const struct explain *x)
{
	const struct asked *a = &x->asked;

	printf("  asked     %s", a->text);
	if (!a->have_code) {
		printf(": no affinity key in the state\n");
		return;
	}
	printf(": code %#010x", a->code);
	if (a->have_bucket)
		printf(", bucket %u: primary %u (%s), secondary %u (%s)", a->bucket, a->b.primary,
		       inst_state(&x->v, a->b.primary), a->b.secondary, inst_state(&x->v, a->b.secondary));
	if (a->pinned)
		printf(", pinned to %u (%s)\n", a->instance, inst_state(&x->v, a->instance));
	else if (a->instance)
		printf(", not seen yet: it would go to %u\n", a->instance);
	else
		printf(", not seen yet: no instance would take it (on_failure decides)\n");
	print_stages(x, x->route_rule.chain_id, a->code, a->pinned ? a->instance : 0);
}

static void json_asked(const struct explain *x, struct cs_json *j)
{
	const struct asked *a = &x->asked;

	cs_json_object(j, "stream");
	if (a->have_code)
		cs_json_u64(j, "code", a->code);
	if (a->have_bucket) {
		cs_json_u64(j, "bucket", a->bucket);
		cs_json_u64(j, "primary", a->b.primary);
		cs_json_u64(j, "secondary", a->b.secondary);
	}
	cs_json_bool(j, "pinned", a->pinned);
	cs_json_u64(j, "instance", a->instance);
	if (a->have_code || a->pinned)
		json_stages(x, j, x->route_rule.chain_id, a->code, a->pinned ? a->instance : 0);
	cs_json_close(j);
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
	if (x->asked.given && x->route_rule.chain_id)
		print_asked(x);
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
		printf("%s: not steered: %s\n", x->ip, x->why);
	if (x->n_named)
		print_records(x);
	if (x->route && x->n_rules > 1)
		printf("\n%zu rules claim %s; the route follows rule %u: the highest priority wins, and "
		       "between equals the first to claim it.\n", x->n_rules, x->ip, x->route->rule_id);
}

/* ---- for programs ---- */

/* One element of "records". */
static void json_record(const struct explain *x, const struct named *n, struct cs_json *j)
{
	cs_json_object(j, NULL);
	cs_json_str(j, "name", n->name);
	cs_json_str(j, "pattern", n->pattern);
	cs_json_u64(j, "rule_id", n->rec->rule_id);
	cs_json_u64(j, "priority", n->rule.priority);
	cs_json_u64(j, "ttl", n->rec->ttl);
	cs_ttl_left_json(j, x->v.now_ns, n->rec->expires_ns);
	cs_json_u64(j, "hits", n->rec->hits);
	cs_json_s64(j, "age", cs_secs_between(n->rec->first_ns, x->v.now_ns));
	cs_json_s64(j, "last_hit", cs_secs_between(n->rec->last_ns, x->v.now_ns));
	cs_json_close(j);
}

static void json_route(const struct explain *x, struct cs_json *j)
{
	const struct cs_chain *ch = cs_view_chain(&x->v, x->route_rule.chain_id);
	const struct cs_route *rt = x->route;

	cs_acl_json(j, rt);
	cs_json_u64(j, "rule_id", rt->rule_id);
	cs_view_rule_patterns_json(j, &x->v, rt->rule_id);
	cs_json_u64(j, "priority", x->route_rule.priority);
	cs_json_u64(j, "chain_id", x->route_rule.chain_id);
	cs_json_bool(j, "observe_only", !x->route_rule.chain_id);
	if (ch && x->route_rule.chain_id)
		cs_json_str(j, "affinity", cs_chain_affinity_name(ch->flags));
	cs_json_s64(j, "created_age", cs_secs_between(rt->created_ns, x->v.now_ns));
	cs_json_s64(j, "learned_age", cs_secs_between(rt->learned_ns, x->v.now_ns));
	json_streams(x, j);
	if (x->asked.given && x->route_rule.chain_id)
		json_asked(x, j);
}

static void explain_json(const struct explain *x)
{
	struct cs_json j;
	size_t i;

	cs_json_begin(&j, stdout);
	cs_json_str(&j, "ip", x->ip);
	cs_json_bool(&j, "steered", x->route != NULL);
	if (x->route)
		json_route(x, &j);
	else
		cs_json_str(&j, "reason", x->n_named ? x->why : NOT_LEARNED);
	if (!x->route && x->never)
		cs_json_str(&j, "never_steer", cs_never_kind_name(x->never));
	cs_json_array(&j, "records");
	for (i = 0; i < x->n_named; i++)
		json_record(x, &x->named[i], &j);
	cs_json_end(&j);
}

/* ---- the command ---- */

static bool parse_port(const char *s, __u16 *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v > 65535)
		return false;
	*out = (__u16)v;
	return true;
}

/* tcp|udp SRC SPORT DST DPORT */
static int parse_stream(const struct cs_cli *cli, struct explain *x, char **arg)
{
	struct cs_addr src, dst;
	__u16 sport, dport;
	char s[CS_ADDR_TEXT_MAX], d[CS_ADDR_TEXT_MAX];
	__u8 proto;

	if (!strcmp(arg[0], "tcp"))
		proto = 6;
	else if (!strcmp(arg[0], "udp"))
		proto = 17;
	else
		return cs_usage_error(cli, true, "a stream is tcp|udp SRC SPORT DST DPORT, not \"%s\"", arg[0]);
	if (cs_addr_parse(arg[1], &src) || cs_addr_parse(arg[3], &dst) ||
	    cs_addr_is_v4(&src) != cs_addr_is_v4(&dst))
		return cs_usage_error(cli, false, "\"%s\" and \"%s\" are not two addresses of one family", arg[1],
				      arg[3]);
	if (!parse_port(arg[2], &sport))
		return cs_usage_error(cli, true, "a port is a number from 0 to 65535, not \"%s\"", arg[2]);
	if (!parse_port(arg[4], &dport))
		return cs_usage_error(cli, true, "a port is a number from 0 to 65535, not \"%s\"", arg[4]);
	cs_flow_key_make(&x->asked.key, &src, sport, &dst, dport, proto);
	snprintf(x->asked.text, sizeof(x->asked.text), "%s:%u -> %s:%u %s", cs_addr_format(&src, s, sizeof(s)),
		 sport, cs_addr_format(&dst, d, sizeof(d)), dport, arg[0]);
	x->asked.given = true;
	x->addr = dst;
	x->alt = src;
	return 0;
}

/* IP, or a stream: what to explain, into x. 0, or the exit status of a
 * usage error. */
static int parse_operands(const struct cs_cli *cli, struct explain *x, int argc, char **argv)
{
	if (optind >= argc)
		return cs_usage_error(cli, true, "name the IP to explain");
	if (argc - optind == 5)
		return parse_stream(cli, x, argv + optind);
	if (optind + 1 < argc)
		return cs_usage_error(cli, true, "unexpected argument \"%s\"", argv[optind + 1]);
	if (cs_addr_parse(argv[optind], &x->addr))
		return cs_usage_error(cli, false, "\"%s\" is not an IPv4 or IPv6 address", argv[optind]);
	return 0;
}

/* steer looks up the destination, then the source (the way back). */
static void pick_route_of_stream(struct explain *x)
{
	if (!cs_view_route(&x->v, &x->addr) && cs_view_route(&x->v, &x->alt))
		x->addr = x->alt;
}

int cmd_explain(int argc, char **argv)
{
	struct cs_cli cli = { .cmd = "explain", .usage = explain_usage,
			      .flags = CS_FLAG_CONFIG | CS_FLAG_PIN_DIR | CS_FLAG_JSON | CS_FLAG_VERBOSE,
			      .config = CS_DEFAULT_CONFIG, .pin_dir = cs_pin_dir() };
	struct explain x = { 0 };
	struct cs_pinned pins;
	char err[1024];
	int rc = cs_cli_parse(&cli, argc, argv);

	if (rc != CS_CLI_GO_ON)
		return rc;
	rc = parse_operands(&cli, &x, argc, argv);
	if (rc)
		return rc;
	if (cs_pinned_open(&pins, cli.pin_dir, err, sizeof(err))) {
		cs_err("%s", err);
		return 1;
	}
	x.pins = &pins;
	if (cs_view_read(&pins, CS_READ_ALL & ~CS_READ_INST_STATS, &x.v, err, sizeof(err))) {
		cs_err("%s", err);
		cs_pinned_close(&pins);
		return 1;
	}
	cs_view_name_stages(&x.v, cli.config, strcmp(cli.config, CS_DEFAULT_CONFIG) != 0);
	if (x.asked.given)
		pick_route_of_stream(&x);
	cs_addr_format(&x.addr, x.ip, sizeof(x.ip));
	if (gather(&x)) {
		cs_err("out of memory");
		rc = 1;
	} else {
		if (x.asked.given)
			place_asked(&x);
		if (cli.json)
			explain_json(&x);
		else
			explain_human(&x);
	}
	free(x.named);
	cs_view_free(&x.v);
	cs_pinned_close(&pins);
	return rc;
}
