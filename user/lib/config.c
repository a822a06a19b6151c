// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * config.c - load the YAML config with libyaml's document API, so every node
 * keeps its line for error messages. Unknown keys are errors: a typo must
 * not silently turn a rule off.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "config.h"
#include "addr.h"
#include "files.h"
#include "ids.h"

struct loader {
	yaml_document_t doc;
	const char *file;
	char *err;
	size_t errlen;
	struct cs_conf *conf;
	int failed;
};

__attribute__((format(printf, 3, 4)))
static int fail(struct loader *l, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (l->failed)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n)
		snprintf(l->err, l->errlen, "%s:%zu: %s", l->file, n->start_mark.line + 1, msg);
	else
		snprintf(l->err, l->errlen, "%s: %s", l->file, msg);
	l->failed = 1;
	return -1;
}

static int line_of(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

static yaml_node_t *node(struct loader *l, int id)
{
	return yaml_document_get_node(&l->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static int want_scalar(struct loader *l, const yaml_node_t *n, const char *what, const char **out)
{
	*out = scalar(n);
	if (!*out)
		return fail(l, n, "%s must be a single value", what);
	return 0;
}

static int want_string(struct loader *l, const yaml_node_t *n, const char *what, char **out)
{
	const char *s;

	if (want_scalar(l, n, what, &s))
		return -1;
	if (!*s)
		return fail(l, n, "%s must not be empty", what);
	*out = strdup(s);
	return *out ? 0 : fail(l, n, "out of memory");
}

/* A chain's or an instance's name: the pinned ids keep it (CS_ID_NAME_MAX). */
static int want_name(struct loader *l, const yaml_node_t *n, const char *what, char **out)
{
	if (want_string(l, n, what, out))
		return -1;
	if (strlen(*out) >= CS_ID_NAME_MAX)
		return fail(l, n, "%s \"%s\" is longer than %d characters", what, *out, CS_ID_NAME_MAX - 1);
	return 0;
}

/* One of two words: *out says whether it was `yes`. */
static int want_either(struct loader *l, const yaml_node_t *n, const char *what, const char *yes, const char *no,
		       bool *out)
{
	const char *s;

	if (want_scalar(l, n, what, &s))
		return -1;
	if (!strcmp(s, yes) || !strcmp(s, no)) {
		*out = !strcmp(s, yes);
		return 0;
	}
	return fail(l, n, "%s must be %s or %s, not \"%s\"", what, yes, no, s);
}

static int want_bool(struct loader *l, const yaml_node_t *n, const char *what, bool *out)
{
	return want_either(l, n, what, "true", "false", out);
}

/* A chain's affinity: flow, the code of each stream's 5-tuple (the
 * default), or hosts, the code of its pair of hosts alone. */
static int want_affinity(struct loader *l, const yaml_node_t *n, bool *hosts)
{
	const char *s;

	if (want_scalar(l, n, "chain affinity", &s))
		return -1;
	if (strcmp(s, "flow") && strcmp(s, "hosts"))
		return fail(l, n, "chain affinity must be flow or hosts, not \"%s\"", s);
	*hosts = !strcmp(s, "hosts");
	return 0;
}

/* aa:bb:cc:dd:ee:ff, unicast (a tunnel's inner destination). */
static int want_mac(struct loader *l, const yaml_node_t *n, const char *what, __u8 out[6])
{
	unsigned int b[6];
	const char *s;
	char tail;
	int i;

	if (want_scalar(l, n, what, &s))
		return -1;
	if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
				      &tail) != 6)
		return fail(l, n, "%s must be six hex octets like 02:c5:00:00:00:01, not \"%s\"", what, s);
	if (b[0] & 1)
		return fail(l, n, "%s \"%s\" is a multicast address; a vxlan device has a unicast one", what, s);
	for (i = 0; i < 6; i++)
		out[i] = (__u8)b[i];
	return 0;
}

static int want_u32(struct loader *l, const yaml_node_t *n, const char *what, __u32 lo, __u32 hi,
		    __u32 *out)
{
	const char *s;
	char *end;
	unsigned long long v;

	if (want_scalar(l, n, what, &s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (!isdigit((unsigned char)*s) || *end || errno || v < lo || v > hi)
		return fail(l, n, "%s must be a whole number from %u to %u, not \"%s\"", what, lo, hi, s);
	*out = (__u32)v;
	return 0;
}

/* The unit a duration's number is followed by, from the largest down; 0 if
 * none. "ms" is looked for before "m". */
static const struct duration_unit { const char *sfx; __u64 ms; } duration_units[] = {
	{ "d", 86400000 }, { "h", 3600000 }, { "ms", 1 }, { "m", 60000 }, { "s", 1000 },
};

/* The rank of a unit by size (d 0, h 1, m 2, s 3, ms 4): units follow each
 * other from the largest down. */
static int unit_rank(__u64 ms)
{
	return ms == 86400000 ? 0 : ms == 3600000 ? 1 : ms == 60000 ? 2 : ms == 1000 ? 3 : 4;
}

static const struct duration_unit *unit_at(const char *p)
{
	size_t i;

	for (i = 0; i < sizeof(duration_units) / sizeof(duration_units[0]); i++)
		if (!strncmp(p, duration_units[i].sfx, strlen(duration_units[i].sfx)))
			return &duration_units[i];
	return NULL;
}

int cs_parse_duration_ms(const char *s, __u64 unit_ms, __u64 *out)
{
	const char *p = s;
	__u64 total = 0, part;
	int last_rank = -1;

	if (!isdigit((unsigned char)*p))
		return -1;
	while (*p) {
		const struct duration_unit *u;
		unsigned long long v;
		char *end;

		if (!isdigit((unsigned char)*p))
			return -1;
		errno = 0;
		v = strtoull(p, &end, 10);
		if (errno)
			return -1;
		if (!*end) {	/* a bare number: the whole duration, in unit_ms */
			if (p != s || __builtin_mul_overflow(v, unit_ms, out))
				return -1;
			return 0;
		}
		u = unit_at(end);
		if (!u || unit_rank(u->ms) <= last_rank || __builtin_mul_overflow(v, u->ms, &part) ||
		    __builtin_add_overflow(total, part, &total))
			return -1;
		last_rank = unit_rank(u->ms);
		p = end + strlen(u->sfx);
	}
	*out = total;
	return 0;
}

const char *cs_duration_text(__u64 ms, char *buf, size_t len)
{
	static const __u64 order[] = { 86400000, 3600000, 60000, 1000, 1 };
	static const char *const sfx[] = { "d", "h", "m", "s", "ms" };
	size_t i, n = 0;

	if (!ms)
		snprintf(buf, len, "0s");
	else
		buf[0] = 0;
	for (i = 0; ms && i < sizeof(order) / sizeof(order[0]); i++) {
		if (ms < order[i])
			continue;
		n += (size_t)snprintf(buf + n, n < len ? len - n : 0, "%llu%s",
				      (unsigned long long)(ms / order[i]), sfx[i]);
		ms %= order[i];
	}
	return buf;
}

/* A duration; a bare number counts as seconds. Result in milliseconds. */
static int want_duration_ms(struct loader *l, const yaml_node_t *n, const char *what, __u64 max_ms,
			    __u64 *out)
{
	const char *s;

	char longest[32];

	if (want_scalar(l, n, what, &s))
		return -1;
	if (cs_parse_duration_ms(s, 1000, out))
		return fail(l, n, "%s must be a duration such as 30, 250ms, 5s, 2m, 1h30m, 2d (got \"%s\")",
			    what, s);
	if (*out > max_ms)
		return fail(l, n, "%s is too long: at most %s (got \"%s\")", what,
			    cs_duration_text(max_ms, longest, sizeof(longest)), s);
	return 0;
}

/* TTL policy values: whole seconds, at most 2^31 - 1 (RFC 2181). */
static int want_seconds(struct loader *l, const yaml_node_t *n, const char *what, __u32 *out)
{
	__u64 ms;

	if (want_duration_ms(l, n, what, 0x7fffffffULL * 1000, &ms))
		return -1;
	if (ms % 1000)
		return fail(l, n, "%s must be whole seconds", what);
	*out = (__u32)(ms / 1000);
	return 0;
}

/* A duration of more than zero and at most max_ms (< 2^32 ms), in ms. */
static int want_positive_ms(struct loader *l, const yaml_node_t *n, const char *what, __u64 max_ms, __u32 *out)
{
	__u64 ms;

	if (want_duration_ms(l, n, what, max_ms, &ms))
		return -1;
	if (!ms)
		return fail(l, n, "%s must be more than zero", what);
	*out = (__u32)ms;
	return 0;
}

static int want_millis(struct loader *l, const yaml_node_t *n, const char *what, __u32 *out)
{
	return want_positive_ms(l, n, what, 3600000, out);
}

/* Iterate a mapping: calls fn(key, value) for each pair. */
typedef int (*pair_fn)(struct loader *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg);

static int each_pair(struct loader *l, yaml_node_t *map, const char *what, pair_fn fn, void *arg)
{
	yaml_node_pair_t *p;

	if (!map || map->type != YAML_MAPPING_NODE)
		return fail(l, map, "%s must be a mapping of keys to values", what);
	for (p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node(l, p->key), *v = node(l, p->value);
		const char *key = scalar(k);

		yaml_node_pair_t *q;

		if (!key)
			return fail(l, k, "keys of %s must be plain words", what);
		for (q = map->data.mapping.pairs.start; q < p; q++)
			if (!strcmp(scalar(node(l, q->key)), key))
				return fail(l, k, "\"%s\" is given twice in %s", key, what);
		if (fn(l, key, k, v, arg))
			return -1;
	}
	return 0;
}

/* Iterate a sequence (a lone scalar counts as a sequence of one). */
typedef int (*item_fn)(struct loader *l, yaml_node_t *item, void *arg);

static int each_item(struct loader *l, yaml_node_t *seq, const char *what, item_fn fn, void *arg)
{
	yaml_node_item_t *it;

	if (seq && seq->type == YAML_SCALAR_NODE && *scalar(seq))
		return fn(l, seq, arg);
	if (seq && seq->type == YAML_SCALAR_NODE)
		return 0;	/* "key:" with nothing: an empty list */
	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return fail(l, seq, "%s must be a list", what);
	for (it = seq->data.sequence.items.start; it < seq->data.sequence.items.top; it++)
		if (fn(l, node(l, *it), arg))
			return -1;
	return 0;
}

static int grow(struct loader *l, const yaml_node_t *n, void **arr, size_t *count, size_t size)
{
	void *p = realloc(*arr, (*count + 1) * size);

	if (!p)
		return fail(l, n, "out of memory");
	memset((char *)p + *count * size, 0, size);
	*arr = p;
	(*count)++;
	return 0;
}

#define GROW(l, n, arr, count) grow(l, n, (void **)&(arr), &(count), sizeof(*(arr)))

/* File names that patterns point to; owned by the config, freed with it. */
static const char *keep_file_name(struct loader *l, const yaml_node_t *n, const char *name)
{
	struct cs_conf *c = l->conf;
	char *copy = strdup(name);

	if (!copy || GROW(l, n, c->files, c->n_files)) {
		free(copy);
		fail(l, n, "out of memory");
		return NULL;
	}
	c->files[c->n_files - 1] = copy;
	return copy;
}

/* ---- patterns ---- */

static bool label_char_ok(unsigned char c)
{
	return isalnum(c) || c == '-' || c == '_';
}

const char *cs_pattern_parse(const char *in, struct cs_pattern *p)
{
	const char *name = in;
	size_t len, i, label = 0, wire = 1;
	__u32 depth = 0;

	memset(p, 0, sizeof(*p));
	p->kind = CS_MATCH_SUBTREE;
	if (*name == '=') {
		p->kind = CS_MATCH_EXACT;
		name++;
	} else if (name[0] == '*' && name[1] == '.') {
		p->kind = CS_MATCH_WILD;
		name += 2;
	}
	len = strlen(name);
	if (len && name[len - 1] == '.')
		len--;	/* "example.com." is the same name */
	if (!len)
		return "the pattern names no domain";
	if (len >= CS_NAME_TEXT_MAX - 1)
		return "the name is longer than 253 characters";
	for (i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)name[i] : '.';

		if (c == '.') {
			if (!label)
				return "the name has an empty label (\"..\" or a leading dot)";
			wire += label + 1;
			depth++;
			label = 0;
			p->name[i] = '.';
			continue;
		}
		if (c == '*')
			return "'*' may only stand alone as the first label (\"*.example.com\")";
		if (!label_char_ok(c))
			return "the name holds a character other than letters, digits, '-' and '_'";
		if (++label > CS_LABEL_MAX)
			return "a label is longer than 63 characters";
		p->name[i] = (char)tolower(c);
	}
	if (wire > CS_NAME_WIRE_MAX)
		return "the name is longer than 255 octets on the wire";
	p->name[len] = 0;
	p->depth = depth;
	snprintf(p->text, sizeof(p->text), "%s%s",
		 p->kind == CS_MATCH_EXACT ? "=" : p->kind == CS_MATCH_WILD ? "*." : "", p->name);
	return NULL;
}

struct rule_ctx {
	__u32 rule;
	const char *file;
};

static int add_pattern(struct loader *l, const char *text, const char *file, int line,
		       const yaml_node_t *n, __u32 rule)
{
	struct cs_conf *c = l->conf;
	struct cs_pattern p;
	const char *why = cs_pattern_parse(text, &p);

	if (why) {
		if (n)
			return fail(l, n, "bad pattern \"%s\": %s", text, why);
		snprintf(l->err, l->errlen, "%s:%d: bad pattern \"%s\": %s", file, line, text, why);
		l->failed = 1;
		return -1;
	}
	p.rule = rule;
	p.id = (__u32)c->n_patterns + 1;
	p.file = file;
	p.line = line;
	if (GROW(l, n, c->patterns, c->n_patterns))
		return -1;
	c->patterns[c->n_patterns - 1] = p;
	return 0;
}

static int match_item(struct loader *l, yaml_node_t *item, void *arg)
{
	struct rule_ctx *rc = arg;
	const char *s;

	if (want_scalar(l, item, "each pattern of match", &s))
		return -1;
	return add_pattern(l, s, rc->file, line_of(item), item, rc->rule);
}

/* A rule list file: one pattern a line, '#' comments, blank lines ignored. */
static int load_list_file(struct loader *l, yaml_node_t *n, const char *path, __u32 rule)
{
	char full[PATH_MAX], buf[1024], *dir, *copy;
	const char *file;
	FILE *f;
	int line = 0;

	if (path[0] == '/') {
		snprintf(full, sizeof(full), "%s", path);
	} else {
		copy = strdup(l->file);
		if (!copy)
			return fail(l, n, "out of memory");
		dir = dirname(copy);
		snprintf(full, sizeof(full), "%s/%s", dir, path);
		free(copy);
	}
	f = fopen(full, "r");
	if (!f)
		return fail(l, n, "cannot read rule list %s: %s", full, strerror(errno));
	file = keep_file_name(l, n, full);
	if (!file) {
		fclose(f);
		return -1;
	}
	while (fgets(buf, sizeof(buf), f)) {
		char *s = buf, *e;

		line++;
		if (!strchr(buf, '\n') && !feof(f)) {
			snprintf(l->err, l->errlen, "%s:%d: line longer than %zu characters", file, line,
				 sizeof(buf) - 2);
			l->failed = 1;
			break;
		}
		if ((e = strchr(s, '#')))
			*e = 0;
		while (isspace((unsigned char)*s))
			s++;
		e = s + strlen(s);
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = 0;
		if (!*s)
			continue;
		if (add_pattern(l, s, file, line, NULL, rule))
			break;
	}
	fclose(f);
	return l->failed ? -1 : 0;
}

/* ---- sections ---- */

static int ttl_pair(struct loader *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct cs_ttl_policy *t = arg;

	(void)k;
	if (!strcmp(key, "min"))
		return want_seconds(l, v, "ttl.min", &t->min);
	if (!strcmp(key, "max"))
		return want_seconds(l, v, "ttl.max", &t->max);
	if (!strcmp(key, "grace"))
		return want_seconds(l, v, "ttl.grace", &t->grace);
	return fail(l, k, "unknown key \"%s\" in ttl (known: min, max, grace)", key);
}

static int load_ttl(struct loader *l, yaml_node_t *v, struct cs_ttl_policy *t)
{
	if (each_pair(l, v, "ttl", ttl_pair, t))
		return -1;
	if (t->min > t->max)
		return fail(l, v, "ttl.min (%u) is greater than ttl.max (%u)", t->min, t->max);
	return 0;
}

static int iface_item(struct loader *l, yaml_node_t *item, void *arg)
{
	char ***list = ((void **)arg)[0];
	size_t *n = ((void **)arg)[1];
	char *name;

	if (want_string(l, item, "an interface name", &name))
		return -1;
	if (strlen(name) >= 16) {
		free(name);
		return fail(l, item, "interface name \"%s\" is longer than 15 characters",
			    scalar(item));
	}
	if (grow(l, item, (void **)list, n, sizeof(char *))) {
		free(name);
		return -1;
	}
	(*list)[*n - 1] = name;
	return 0;
}

static int load_ifaces(struct loader *l, yaml_node_t *v, char ***list, size_t *n)
{
	void *arg[2] = { list, n };

	return each_item(l, v, "interfaces", iface_item, arg);
}

static int resolver_item(struct loader *l, yaml_node_t *item, void *arg)
{
	struct cs_conf *c = arg;
	struct cs_addr a;
	const char *s;

	if (want_scalar(l, item, "a resolver", &s))
		return -1;
	if (c->n_resolvers >= CS_RESOLVERS_MAX)
		return fail(l, item, "more than %d resolvers", CS_RESOLVERS_MAX);
	if (cs_addr_parse(s, &a))
		return fail(l, item, "resolver \"%s\" is not an IPv4 or IPv6 address", s);
	if (GROW(l, item, c->resolvers, c->n_resolvers))
		return -1;
	c->resolvers[c->n_resolvers - 1] = a;
	return 0;
}

static int never_item(struct loader *l, yaml_node_t *item, void *arg)
{
	struct cs_conf *c = l->conf;
	struct cs_prefix p;
	const char *s, *why;

	(void)arg;
	if (want_scalar(l, item, "a prefix", &s))
		return -1;
	why = cs_prefix_parse(s, &p);
	if (why)
		return fail(l, item, "learn.never_steer: \"%s\": %s", s, why);
	if (c->n_never >= CS_NEVER_ENTRIES / 2)
		return fail(l, item, "learn.never_steer: more than %d prefixes", CS_NEVER_ENTRIES / 2);
	if (GROW(l, item, c->never, c->n_never))
		return -1;
	c->never[c->n_never - 1] = p;
	return 0;
}

/* learn.never_steer replaces the default list; [] allows private ranges. */
static int load_never(struct loader *l, yaml_node_t *v)
{
	struct cs_conf *c = l->conf;

	free(c->never);
	c->never = NULL;
	c->n_never = 0;
	return each_item(l, v, "learn.never_steer", never_item, NULL);
}

static int limits_pair(struct loader *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	(void)arg;
	if (!strcmp(key, "records"))
		return want_u32(l, v, "learn.limits.records", 16, 16 * 1024 * 1024, &l->conf->limit_records);
	if (!strcmp(key, "routes"))
		return want_u32(l, v, "learn.limits.routes", 16, 4 * 1024 * 1024, &l->conf->limit_routes);
	return fail(l, k, "unknown key \"%s\" in learn.limits (known: records, routes)", key);
}

static int learn_pair(struct loader *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct cs_conf *c = l->conf;

	(void)arg;
	if (!strcmp(key, "interfaces"))
		return load_ifaces(l, v, &c->learn_ifaces, &c->n_learn_ifaces);
	if (!strcmp(key, "resolvers"))
		return each_item(l, v, "learn.resolvers", resolver_item, c);
	if (!strcmp(key, "ttl"))
		return load_ttl(l, v, &c->ttl);
	if (!strcmp(key, "max_records"))
		return want_u32(l, v, "learn.max_records", 1, CS_RECORDS_MAX, &c->max_records);
	if (!strcmp(key, "limits"))
		return each_pair(l, v, "learn.limits", limits_pair, NULL);
	if (!strcmp(key, "acl_ids"))
		return want_u32(l, v, "learn.acl_ids", 1, CS_ACL_POOL_ENTRIES - 1, &c->acl_ids);
	if (!strcmp(key, "match_queries"))
		return want_bool(l, v, "learn.match_queries", &c->match_queries);
	if (!strcmp(key, "query_window"))
		return want_millis(l, v, "learn.query_window", &c->query_window_ms);
	if (!strcmp(key, "never_steer"))
		return load_never(l, v);
	if (!strcmp(key, "quota"))
		return want_u32(l, v, "learn.quota", 1, 16 * 1024 * 1024, &c->quota);
	return fail(l, k, "unknown key \"%s\" in learn (known: interfaces, resolvers, ttl, max_records, "
		    "limits, acl_ids, match_queries, query_window, never_steer, quota)", key);
}

/* steer.flow_timeouts: a lifetime may be days (established: 5 by default),
 * up to CS_TIMEOUT_MAX_MS. */
static int timeouts_pair(struct loader *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct cs_flow_timeouts *t = &l->conf->flow_timeouts;

	(void)arg;
	if (!strcmp(key, "syn"))
		return want_positive_ms(l, v, "steer.flow_timeouts.syn", CS_TIMEOUT_MAX_MS, &t->syn_ms);
	if (!strcmp(key, "established"))
		return want_positive_ms(l, v, "steer.flow_timeouts.established", CS_TIMEOUT_MAX_MS,
					&t->established_ms);
	if (!strcmp(key, "fin"))
		return want_positive_ms(l, v, "steer.flow_timeouts.fin", CS_TIMEOUT_MAX_MS, &t->fin_ms);
	if (!strcmp(key, "linger"))
		return want_positive_ms(l, v, "steer.flow_timeouts.linger", CS_TIMEOUT_MAX_MS, &t->linger_ms);
	return fail(l, k, "unknown key \"%s\" in steer.flow_timeouts (known: syn, established, fin, linger)", key);
}

static int steer_limits_pair(struct loader *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	(void)arg;
	if (!strcmp(key, "flows"))
		return want_u32(l, v, "steer.limits.flows", 16, 4 * 1024 * 1024, &l->conf->limit_flows);
	if (!strcmp(key, "flows_new"))
		return want_u32(l, v, "steer.limits.flows_new", 16, 4 * 1024 * 1024, &l->conf->limit_flows_new);
	return fail(l, k, "unknown key \"%s\" in steer.limits (known: flows, flows_new)", key);
}

static int want_steer_xdp(struct loader *l, const yaml_node_t *n, enum cs_steer_xdp *out)
{
	const char *s;

	if (want_scalar(l, n, "steer.xdp", &s))
		return -1;
	if (!strcmp(s, "auto"))
		*out = CS_STEER_XDP_AUTO;
	else if (!strcmp(s, "on"))
		*out = CS_STEER_XDP_ON;
	else if (!strcmp(s, "off"))
		*out = CS_STEER_XDP_OFF;
	else
		return fail(l, n, "steer.xdp must be auto, on or off, not \"%s\"", s);
	return 0;
}

static int steer_pair(struct loader *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	(void)arg;
	if (!strcmp(key, "interfaces"))
		return load_ifaces(l, v, &l->conf->steer_ifaces, &l->conf->n_steer_ifaces);
	if (!strcmp(key, "xdp"))
		return want_steer_xdp(l, v, &l->conf->steer_xdp);
	if (!strcmp(key, "flow_idle"))
		return want_millis(l, v, "steer.flow_idle", &l->conf->flow_idle_ms);
	if (!strcmp(key, "flow_timeouts"))
		return each_pair(l, v, "steer.flow_timeouts", timeouts_pair, NULL);
	if (!strcmp(key, "limits"))
		return each_pair(l, v, "steer.limits", steer_limits_pair, NULL);
	return fail(l, k, "unknown key \"%s\" in steer (known: interfaces, xdp, flow_idle, flow_timeouts, limits)",
		    key);
}

struct rule_load {
	struct cs_rule_conf *r;
	__u32 idx;
	yaml_node_t *match, *file, *ttl;
};

static int rule_pair(struct loader *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct rule_load *rl = arg;

	if (!strcmp(key, "match"))
		rl->match = v;
	else if (!strcmp(key, "file"))
		rl->file = v;
	else if (!strcmp(key, "ttl"))
		rl->ttl = v;
	else if (!strcmp(key, "chain"))
		return want_string(l, v, "rule chain", &rl->r->chain);
	else if (!strcmp(key, "priority"))
		return want_u32(l, v, "rule priority", 0, 1000000, &rl->r->priority);
	else if (!strcmp(key, "quota"))
		return want_u32(l, v, "rule quota", 1, 16 * 1024 * 1024, &rl->r->quota);
	else
		return fail(l, k, "unknown key \"%s\" in a rule (known: match, file, chain, priority, ttl, quota)",
			    key);
	return 0;
}

static int rule_item(struct loader *l, yaml_node_t *item, void *arg)
{
	struct cs_conf *c = l->conf;
	struct rule_load rl = { 0 };
	size_t before = c->n_patterns;
	struct rule_ctx rc;

	(void)arg;
	if (c->n_rules + 1 >= CS_RULES_MAX)
		return fail(l, item, "more than %d rules", CS_RULES_MAX - 1);
	if (GROW(l, item, c->rules, c->n_rules))
		return -1;
	rl.idx = c->n_rules - 1;
	rl.r = &c->rules[rl.idx];
	rl.r->line = line_of(item);
	if (each_pair(l, item, "a rule", rule_pair, &rl))
		return -1;
	rl.r->ttl = c->ttl;	/* the defaults; the rule's own ttl overrides below */
	rc.rule = rl.idx;
	rc.file = l->conf->files[0];
	if (rl.match && each_item(l, rl.match, "match", match_item, &rc))
		return -1;
	if (rl.file) {
		const char *path;

		if (want_scalar(l, rl.file, "rule file", &path) ||
		    load_list_file(l, rl.file, path, rl.idx))
			return -1;
	}
	if (c->n_patterns == before)
		return fail(l, item, "the rule has no patterns (give match: or file:)");
	return 0;
}

/* Rule ttl overrides need the learn defaults, which may come later in the
 * file: applied in a second pass. */
static int rule_ttl_item(struct loader *l, yaml_node_t *item, void *arg)
{
	size_t *i = arg;
	struct cs_rule_conf *r = &l->conf->rules[(*i)++];
	yaml_node_pair_t *p;

	r->ttl = l->conf->ttl;
	for (p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top; p++)
		if (!strcmp(scalar(node(l, p->key)), "ttl"))
			return load_ttl(l, node(l, p->value), &r->ttl);
	return 0;
}

static int health_pair(struct loader *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct cs_health_conf *h = arg;

	if (!strcmp(key, "probe")) {
		if (want_string(l, v, "health.probe", &h->probe))
			return -1;
		if (strcmp(h->probe, "tcp") && strcmp(h->probe, "icmp") && strcmp(h->probe, "udp"))
			return fail(l, v, "health.probe must be tcp, icmp or udp, not \"%s\"", h->probe);
		return 0;
	}
	if (!strcmp(key, "port"))
		return want_u32(l, v, "health.port", 1, 65535, &h->port);
	if (!strcmp(key, "interval"))
		return want_millis(l, v, "health.interval", &h->interval_ms);
	if (!strcmp(key, "timeout"))
		return want_millis(l, v, "health.timeout", &h->timeout_ms);
	if (!strcmp(key, "fall"))
		return want_u32(l, v, "health.fall", 1, 100, &h->fall);
	if (!strcmp(key, "rise"))
		return want_u32(l, v, "health.rise", 1, 100, &h->rise);
	if (!strcmp(key, "warmup")) {	/* 0: up at once, no warm-up */
		__u64 ms;

		if (want_duration_ms(l, v, "health.warmup", 3600000, &ms))
			return -1;
		h->warmup_ms = (__u32)ms;
		return 0;
	}
	return fail(l, k,
		    "unknown key \"%s\" in health (known: probe, port, interval, timeout, fall, rise, warmup)",
		    key);
}

static int instance_pair(struct loader *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct cs_instance_conf *in = arg;
	struct cs_addr a;

	if (!strcmp(key, "name"))
		return want_name(l, v, "instance name", &in->name);
	if (!strcmp(key, "id")) {
		in->id_given = true;
		return want_u32(l, v, "instance id", 1, CS_INSTANCES_MAX - 1, &in->id);
	}
	if (!strcmp(key, "address")) {
		if (want_string(l, v, "instance address", &in->address))
			return -1;
		if (cs_addr_parse(in->address, &a))
			return fail(l, v, "instance address \"%s\" is not an IPv4 or IPv6 address",
				    in->address);
		return 0;
	}
	if (!strcmp(key, "mac")) {
		in->has_mac = true;
		return want_mac(l, v, "instance mac", in->mac);
	}
	return fail(l, k, "unknown key \"%s\" in an instance (known: name, id, address, mac)", key);
}

static int instance_item(struct loader *l, yaml_node_t *item, void *arg)
{
	struct cs_chain_conf *ch = arg;
	struct cs_instance_conf *in;

	if (GROW(l, item, ch->instances, ch->n_instances))
		return -1;
	in = &ch->instances[ch->n_instances - 1];
	in->line = line_of(item);
	if (each_pair(l, item, "an instance", instance_pair, in))
		return -1;
	if (!in->name || !in->address)
		return fail(l, item, "an instance needs a name and an address");
	return 0;
}

static int stage_item(struct loader *l, yaml_node_t *item, void *arg);

static int chain_pair(struct loader *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct cs_chain_conf *ch = arg;

	if (!strcmp(key, "name"))
		return want_name(l, v, "chain name", &ch->name);
	if (!strcmp(key, "id")) {
		ch->id_given = true;
		return want_u32(l, v, "chain id", 1, CS_CHAINS_MAX - 1, &ch->id);
	}
	if (!strcmp(key, "vni")) {
		ch->vni_given = true;
		return want_u32(l, v, "chain vni", 1, CS_VNI_MAX, &ch->vni);
	}
	if (!strcmp(key, "mode")) {
		if (want_string(l, v, "chain mode", &ch->mode))
			return -1;
		if (strcmp(ch->mode, "route") && strcmp(ch->mode, "encap") && strcmp(ch->mode, "nsh"))
			return fail(l, v, "chain mode must be route, encap or nsh, not \"%s\"", ch->mode);
		return 0;
	}
	if (!strcmp(key, "on_failure")) {
		if (want_string(l, v, "chain on_failure", &ch->on_failure))
			return -1;
		if (strcmp(ch->on_failure, "bypass") && strcmp(ch->on_failure, "drop"))
			return fail(l, v, "on_failure must be bypass or drop, not \"%s\"", ch->on_failure);
		return 0;
	}
	if (!strcmp(key, "symmetric"))
		return want_bool(l, v, "chain symmetric", &ch->symmetric);
	if (!strcmp(key, "affinity"))
		return want_affinity(l, v, &ch->affinity_hosts);
	if (!strcmp(key, "instances")) {
		if (ch->stages_given)
			return fail(l, k, "a chain has instances: or stages:, not both");
		return each_item(l, v, "instances", instance_item, ch);
	}
	if (!strcmp(key, "stages")) {
		if (ch->n_instances)
			return fail(l, k, "a chain has instances: or stages:, not both");
		ch->stages_given = true;
		return each_item(l, v, "stages", stage_item, ch);
	}
	if (!strcmp(key, "health"))
		return each_pair(l, v, "health", health_pair, &ch->health);
	return fail(l, k,
		    "unknown key \"%s\" in a chain (known: name, id, vni, mode, on_failure, symmetric, affinity, "
		    "instances, stages, health)",
		    key);
}

/* The checks a chain's health gets, and the defaults it starts from. */
static struct cs_health_conf health_defaults(void)
{
	return (struct cs_health_conf){ .port = 0, .interval_ms = 1000, .timeout_ms = 500, .fall = 3, .rise = 2,
					.warmup_ms = CS_WARMUP_DEFAULT_MS };
}

static int health_check(struct loader *l, const yaml_node_t *n, const char *kind, const char *name,
			const struct cs_health_conf *h)
{
	if (h->probe && strcmp(h->probe, "icmp") && !h->port)
		return fail(l, n, "%s \"%s\": a %s health probe needs a port", kind, name, h->probe);
	return 0;
}

/* A stage being parsed: its chain, and which of its stages. */
struct stage_ctx {
	struct cs_chain_conf *ch;
	struct cs_stage_conf *st;
};

static int stage_pair(struct loader *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct stage_ctx *sc = arg;

	if (!strcmp(key, "name"))
		return want_name(l, v, "stage name", &sc->st->name);
	if (!strcmp(key, "instances"))
		return each_item(l, v, "instances", instance_item, sc->ch);
	if (!strcmp(key, "health")) {
		sc->st->health_given = true;
		return each_pair(l, v, "health", health_pair, &sc->st->health);
	}
	return fail(l, k, "unknown key \"%s\" in a stage (known: name, instances, health)", key);
}

/* A stage's instances are the chain's from where its list began: one list
 * for the chain, kept in stage order. */
static int stage_item(struct loader *l, yaml_node_t *item, void *arg)
{
	struct cs_chain_conf *ch = arg;
	struct stage_ctx sc = { .ch = ch };
	size_t i, k;

	if (ch->n_stages >= CS_CHAIN_STAGES_MAX)
		return fail(l, item, "more than %d stages in a chain (NSH service indexes 255 down to %d, out and back)",
			    CS_CHAIN_STAGES_MAX, CS_NSH_SI_FIRST - 2 * CS_CHAIN_STAGES_MAX + 1);
	k = ch->n_stages++;
	sc.st = &ch->stages[k];
	sc.st->line = line_of(item);
	sc.st->first = ch->n_instances;
	sc.st->health = health_defaults();
	if (each_pair(l, item, "a stage", stage_pair, &sc))
		return -1;
	if (!sc.st->name)
		return fail(l, item, "a stage needs a name");
	sc.st->n = ch->n_instances - sc.st->first;
	if (!sc.st->n)
		return fail(l, item, "stage \"%s\" has no instances", sc.st->name);
	if (sc.st->health_given && health_check(l, item, "stage", sc.st->name, &sc.st->health))
		return -1;
	for (i = 0; i < k; i++)
		if (!strcmp(ch->stages[i].name, sc.st->name))
			return fail(l, item, "stage \"%s\" is defined twice in the chain (first on line %d)",
				    sc.st->name, ch->stages[i].line);
	for (i = sc.st->first; i < ch->n_instances; i++)
		ch->instances[i].stage = (__u32)k;
	return 0;
}

/* A chain written without stages is one stage of all its instances, named
 * as the chain; a stage without health: of its own takes the chain's. */
static int stages_settle(struct loader *l, yaml_node_t *item, struct cs_chain_conf *ch)
{
	size_t i;

	if (!ch->stages_given) {
		ch->stages[0].name = strdup(ch->name);
		if (!ch->stages[0].name)
			return fail(l, item, "out of memory");
		ch->stages[0].n = ch->n_instances;
		ch->stages[0].line = ch->line;
		ch->n_stages = 1;
	}
	for (i = 0; i < ch->n_stages; i++)
		if (!ch->stages[i].health_given)
			ch->stages[i].health = ch->health;
	if (ch->n_stages > 1 && (!ch->mode || strcmp(ch->mode, "nsh")))
		return fail(l, item, "chain \"%s\" has %zu stages: its packets must carry the chain header "
			    "(mode: nsh)", ch->name, ch->n_stages);
	return 0;
}

static int chain_item(struct loader *l, yaml_node_t *item, void *arg)
{
	struct cs_conf *c = l->conf;
	struct cs_chain_conf *ch;
	size_t i;

	(void)arg;
	if (c->n_chains + 1 >= CS_CHAINS_MAX)
		return fail(l, item, "more than %d chains", CS_CHAINS_MAX - 1);
	if (GROW(l, item, c->chains, c->n_chains))
		return -1;
	ch = &c->chains[c->n_chains - 1];
	ch->line = line_of(item);
	ch->health = health_defaults();
	if (each_pair(l, item, "a chain", chain_pair, ch))
		return -1;
	if (!ch->name)
		return fail(l, item, "a chain needs a name");
	if (health_check(l, item, "chain", ch->name, &ch->health))
		return -1;
	if (!ch->n_instances)
		return fail(l, item, "chain \"%s\" has no %s", ch->name, ch->stages_given ? "stages" : "instances");
	if (stages_settle(l, item, ch))
		return -1;
	for (i = 0; i + 1 < c->n_chains; i++)
		if (!strcmp(c->chains[i].name, ch->name))
			return fail(l, item, "chain \"%s\" is defined twice (first on line %d)", ch->name,
				    c->chains[i].line);
	return 0;
}

/* ADDRESS:PORT of an endpoint this host serves. */
static int want_listen(struct loader *l, const yaml_node_t *n, const char *what, struct cs_listen *out)
{
	const char *s, *why;

	if (want_scalar(l, n, what, &s))
		return -1;
	why = cs_addr_port_parse(s, &out->addr, &out->port);
	if (why)
		return fail(l, n, "%s \"%s\": %s", what, s, why);
	out->on = true;
	return 0;
}

/* 32 hex digits: the two 64-bit words of a key, first word first. A
 * failure is said at n, the key's line. */
static int parse_key128(struct loader *l, const yaml_node_t *n, const char *what, const char *s, __u64 out[2])
{
	int i;

	if (strlen(s) != 32)
		return fail(l, n, "%s must be 32 hex digits (128 bits), not %zu characters", what, strlen(s));
	out[0] = out[1] = 0;
	for (i = 0; i < 32; i++) {
		int c = tolower((unsigned char)s[i]);

		if (!isxdigit(c))
			return fail(l, n, "%s must be 32 hex digits; \"%c\" is not one", what, s[i]);
		out[i / 16] = out[i / 16] << 4 | (__u64)(c <= '9' ? c - '0' : c - 'a' + 10);
	}
	return 0;
}

static int want_key128(struct loader *l, const yaml_node_t *n, const char *what, __u64 out[2])
{
	const char *s;

	if (want_scalar(l, n, what, &s))
		return -1;
	return parse_key128(l, n, what, s, out);
}

/* A key file holds the key as the config would: 32 hex digits, a final
 * newline (and blanks around it) allowed. It is a secret: a file that
 * others may read or write, or that another user owns, is refused. Read
 * at every load, so a reload takes a new key from it. */
#define CS_KEY_FILE_MAX 256

static int want_key128_file(struct loader *l, const yaml_node_t *n, const char *what, __u64 out[2])
{
	char why[160], *data, *s, *end;
	const char *path;
	size_t len;
	int rc;

	if (want_scalar(l, n, what, &path))
		return -1;
	if (cs_file_read(path, CS_KEY_FILE_MAX, true, &data, &len, why, sizeof(why)))
		return fail(l, n, "%s_file %s %s", what, path, why);
	for (s = data; isspace((unsigned char)*s); s++)
		;
	for (end = data + len; end > s && isspace((unsigned char)end[-1]); end--)
		;
	*end = 0;
	{
		char in_file[160];

		snprintf(in_file, sizeof(in_file), "%s_file: the key in %s", what, path);
		rc = parse_key128(l, n, in_file, s, out);
	}
	cs_file_forget(data, len);
	return rc;
}

/* A key given inline or from a file, once: which, by the config's key. */
static int want_key_either(struct loader *l, const yaml_node_t *n, const char *key, const char *what,
			   bool *given, __u64 out[2])
{
	bool from_file = strstr(key, "_file") != NULL;

	if (*given)
		return fail(l, n, "%s and %s_file are both given: write the key inline or in a file, not both", what,
			    what);
	*given = true;
	return from_file ? want_key128_file(l, n, what, out) : want_key128(l, n, what, out);
}

/* All zeros is what a node without any key tags its datagrams with
 * (lib/sync.h): as a sync_key it would only look like authentication. */
static int want_sync_key(struct loader *l, const yaml_node_t *n, const char *key, bool *given, __u64 out[2])
{
	if (want_key_either(l, n, key, "mesh.sync_key", given, out))
		return -1;
	if (!out[0] && !out[1])
		return fail(l, n, "mesh.sync_key must not be all zeros: anyone could forge sync datagrams with it");
	return 0;
}

static int mesh_pair(struct loader *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct cs_conf *c = l->conf;

	(void)arg;
	if (!strcmp(key, "affinity_key") || !strcmp(key, "affinity_key_file"))
		return want_key_either(l, v, key, "mesh.affinity_key", &c->has_affinity_key, c->affinity_key);
	if (!strcmp(key, "sync_key") || !strcmp(key, "sync_key_file"))
		return want_sync_key(l, v, key, &c->has_sync_key, c->sync_key);
	if (!strcmp(key, "sync_port"))
		return want_u32(l, v, "mesh.sync_port", 1, 65535, &c->sync_port);
	return fail(l, k,
		    "unknown key \"%s\" in mesh (known: affinity_key, affinity_key_file, sync_key, sync_key_file, "
		    "sync_port)",
		    key);
}

static int role_limits_pair(struct loader *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct cs_instance_role *r = &l->conf->instance;

	(void)arg;
	if (!strcmp(key, "streams"))
		return want_u32(l, v, "instance.limits.streams", 16, 4 * 1024 * 1024, &r->limit_streams);
	if (!strcmp(key, "streams_new"))
		return want_u32(l, v, "instance.limits.streams_new", 16, 4 * 1024 * 1024, &r->limit_streams_new);
	return fail(l, k, "unknown key \"%s\" in instance.limits (known: streams, streams_new)", key);
}

static int role_pair(struct loader *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct cs_instance_role *r = &l->conf->instance;

	(void)arg;
	if (!strcmp(key, "name"))
		return want_string(l, v, "instance.name", &r->name);
	if (!strcmp(key, "interfaces"))
		return load_ifaces(l, v, &r->ifaces, &r->n_ifaces);
	if (!strcmp(key, "policy"))
		return want_either(l, v, "instance.policy", "strict", "loose", &r->strict);
	if (!strcmp(key, "sync"))
		return want_bool(l, v, "instance.sync", &r->sync);
	if (!strcmp(key, "stream_idle"))
		return want_millis(l, v, "instance.stream_idle", &r->stream_idle_ms);
	if (!strcmp(key, "mark"))
		return want_either(l, v, "instance.mark", "code", "none", &r->mark_code);
	if (!strcmp(key, "metrics"))
		return want_listen(l, v, "instance.metrics", &r->metrics);
	if (!strcmp(key, "limits"))
		return each_pair(l, v, "instance.limits", role_limits_pair, NULL);
	return fail(l, k,
		    "unknown key \"%s\" in instance (known: name, interfaces, policy, sync, stream_idle, mark, "
		    "limits, metrics)", key);
}

/* ---- cluster ---- */

/* Names that become one level of an etcd key (the cluster's, a node's):
 * no '/', nothing a shell or a URL would mangle. */
static const char *name_problem(const char *s)
{
	size_t i, n = strlen(s);

	if (n >= CS_CLUSTER_NAME_MAX)
		return "is longer than 63 characters";
	if (!strcmp(s, ".") || !strcmp(s, ".."))
		return "may not be \".\" or \"..\"";
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return "may hold only letters, digits, '.', '_' and '-'";
	return NULL;
}

static int want_key_name(struct loader *l, const yaml_node_t *n, const char *what, char **out)
{
	const char *why;

	if (want_string(l, n, what, out))
		return -1;
	why = name_problem(*out);
	return why ? fail(l, n, "%s \"%s\" %s", what, *out, why) : 0;
}

/* What is wrong with an endpoint URL, or NULL: http:// or https://, a host,
 * an optional port; no user, path or query (the client adds /v3/...). */
static const char *endpoint_problem(const char *url)
{
	const char *host = strstr(url, "://"), *p, *colon;
	unsigned long port;
	char *end;

	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8))
		return "must start with http:// or https://";
	host += 3;
	if (*host == '[') {	/* [IPv6]:port */
		p = strchr(host, ']');
		if (!p || p == host + 1)
			return "has an IPv6 address without its closing ']'";
		colon = p[1] == ':' ? p + 1 : NULL;
		p++;
	} else {
		p = host + strcspn(host, ":/?#@");
		colon = *p == ':' ? p : NULL;
		if (p == host)
			return "names no host";
	}
	if (colon) {
		errno = 0;
		port = strtoul(colon + 1, &end, 10);
		if (!isdigit((unsigned char)colon[1]) || errno || !port || port > 65535)
			return "has a port that is not a number from 1 to 65535";
		p = end;
	}
	if (*p == '/' && !p[1])
		return NULL;
	if (*p)
		return "must be only a scheme, a host and a port (no user, path or query)";
	return NULL;
}

static int endpoint_item(struct loader *l, yaml_node_t *item, void *arg)
{
	struct cs_cluster_conf *cl = arg;
	const char *why;
	char *url;
	size_t n;

	if (want_string(l, item, "cluster.endpoints: an endpoint", &url))
		return -1;
	why = endpoint_problem(url);
	if (why) {
		fail(l, item, "cluster.endpoints: \"%s\" %s", url, why);
		free(url);
		return -1;
	}
	n = strlen(url);
	if (url[n - 1] == '/')
		url[n - 1] = 0;
	if (grow(l, item, (void **)&cl->endpoints, &cl->n_endpoints, sizeof(char *))) {
		free(url);
		return -1;
	}
	cl->endpoints[cl->n_endpoints - 1] = url;
	return 0;
}

/* A certificate, a key or a password file, read now: a file that is missing
 * or that others may read stops the start, not the first connection. */
#define CS_CLUSTER_FILE_MAX (1024 * 1024)

static int want_blob(struct loader *l, const yaml_node_t *n, const char *what, bool secret, struct cs_blob *b)
{
	char why[160];

	if (b->path)
		return fail(l, n, "%s is given twice", what);
	if (want_string(l, n, what, &b->path))
		return -1;
	if (cs_file_read(b->path, CS_CLUSTER_FILE_MAX, secret, &b->data, &b->len, why, sizeof(why)))
		return fail(l, n, "%s %s %s", what, b->path, why);
	return 0;
}

static int tls_pair(struct loader *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct cs_cluster_conf *cl = arg;

	if (!strcmp(key, "ca"))
		return want_blob(l, v, "cluster.tls.ca", false, &cl->ca);
	if (!strcmp(key, "cert"))
		return want_blob(l, v, "cluster.tls.cert", false, &cl->cert);
	if (!strcmp(key, "key"))
		return want_blob(l, v, "cluster.tls.key", true, &cl->key);
	return fail(l, k, "unknown key \"%s\" in cluster.tls (known: ca, cert, key)", key);
}

/* "user:password" on the first line; a final newline is not part of it. */
static int split_credentials(struct loader *l, const yaml_node_t *n, struct cs_cluster_conf *cl)
{
	const char *s = cl->credentials.data, *colon = strchr(s, ':');
	size_t len = strcspn(s, "\r\n");

	if (s[len] && s[len + strspn(s + len, "\r\n")])
		return fail(l, n, "cluster.credentials %s must hold one line, user:password",
			    cl->credentials.path);
	if (!colon || colon == s || (size_t)(colon - s) >= len)
		return fail(l, n, "cluster.credentials %s must hold user:password, with a user before the ':'",
			    cl->credentials.path);
	cl->user = strndup(s, (size_t)(colon - s));
	cl->password = strndup(colon + 1, len - (size_t)(colon - s) - 1);
	if (!cl->user || !cl->password)
		return fail(l, n, "out of memory");
	return 0;
}

/* Whole seconds from 2 s (etcd's smallest lease with its default timing)
 * to an hour. */
static int want_lease_ttl(struct loader *l, const yaml_node_t *n, __u32 *out)
{
	__u64 ms;

	if (want_duration_ms(l, n, "cluster.lease_ttl", 3600000, &ms))
		return -1;
	if (ms % 1000 || ms < 2000)
		return fail(l, n, "cluster.lease_ttl must be whole seconds, at least 2s");
	*out = (__u32)(ms / 1000);
	return 0;
}

static int cluster_pair(struct loader *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	struct cs_cluster_conf *cl = &l->conf->cluster;

	(void)arg;
	if (!strcmp(key, "name"))
		return want_key_name(l, v, "cluster.name", &cl->name);
	if (!strcmp(key, "node"))
		return want_key_name(l, v, "cluster.node", &cl->node);
	if (!strcmp(key, "endpoints"))
		return each_item(l, v, "cluster.endpoints", endpoint_item, cl);
	if (!strcmp(key, "tls"))
		return each_pair(l, v, "cluster.tls", tls_pair, cl);
	if (!strcmp(key, "credentials"))
		return want_blob(l, v, "cluster.credentials", true, &cl->credentials) ||
		       split_credentials(l, v, cl);
	if (!strcmp(key, "lease_ttl"))
		return want_lease_ttl(l, v, &cl->lease_ttl_s);
	if (!strcmp(key, "dial_timeout"))
		return want_millis(l, v, "cluster.dial_timeout", &cl->dial_timeout_ms);
	if (!strcmp(key, "request_timeout"))
		return want_millis(l, v, "cluster.request_timeout", &cl->request_timeout_ms);
	return fail(l, k, "unknown key \"%s\" in cluster (known: name, node, endpoints, tls, credentials, "
		    "lease_ttl, dial_timeout, request_timeout)", key);
}

/* The node's name when the file gives none: the host name, which must then
 * make a key too. */
static int default_node(struct loader *l, const yaml_node_t *n, struct cs_cluster_conf *cl)
{
	char host[256];
	const char *why;

	if (gethostname(host, sizeof(host)))
		return fail(l, n, "cluster.node is not given and the host name cannot be read: %s",
			    strerror(errno));
	host[sizeof(host) - 1] = 0;
	why = name_problem(host);
	if (why)
		return fail(l, n, "cluster.node is not given and the host name \"%s\" %s: give cluster.node",
			    host, why);
	cl->node = strdup(host);
	return cl->node ? 0 : fail(l, n, "out of memory");
}

static bool all_https(const struct cs_cluster_conf *cl)
{
	size_t i;

	for (i = 0; i < cl->n_endpoints; i++)
		if (strncmp(cl->endpoints[i], "https://", 8))
			return false;
	return true;
}

/* What needs the whole section. */
static int check_cluster(struct loader *l, const yaml_node_t *n, struct cs_cluster_conf *cl)
{
	if (!cl->name)
		return fail(l, n, "cluster needs a name (it is part of every key)");
	if (!cl->n_endpoints)
		return fail(l, n, "cluster.endpoints must list at least one etcd URL");
	if (!cl->cert.path != !cl->key.path)
		return fail(l, n, "cluster.tls needs both cert and key, or neither");
	if ((cl->ca.path || cl->cert.path) && !all_https(cl))
		return fail(l, n, "cluster.tls is given, so every endpoint must be https://");
	if (cl->dial_timeout_ms > cl->request_timeout_ms)
		return fail(l, n, "cluster.dial_timeout (%ums) is longer than cluster.request_timeout (%ums)",
			    cl->dial_timeout_ms, cl->request_timeout_ms);
	return cl->node ? 0 : default_node(l, n, cl);
}

static int load_cluster(struct loader *l, yaml_node_t *k, yaml_node_t *v)
{
	struct cs_cluster_conf *cl = &l->conf->cluster;

	cl->line = line_of(k);
	cl->lease_ttl_s = CS_CLUSTER_LEASE_TTL_DEFAULT_S;
	cl->dial_timeout_ms = CS_CLUSTER_DIAL_TIMEOUT_DEFAULT_MS;
	cl->request_timeout_ms = CS_CLUSTER_REQUEST_TIMEOUT_DEFAULT_MS;
	if (each_pair(l, v, "cluster", cluster_pair, NULL))
		return -1;
	return check_cluster(l, k, cl);
}

static int top_pair(struct loader *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *arg)
{
	(void)arg;
	if (!strcmp(key, "learn"))
		return each_pair(l, v, "learn", learn_pair, NULL);
	if (!strcmp(key, "steer"))
		return each_pair(l, v, "steer", steer_pair, NULL);
	if (!strcmp(key, "rules"))
		return each_item(l, v, "rules", rule_item, NULL);
	if (!strcmp(key, "chains"))
		return each_item(l, v, "chains", chain_item, NULL);
	if (!strcmp(key, "mesh"))
		return each_pair(l, v, "mesh", mesh_pair, NULL);
	if (!strcmp(key, "instance")) {
		l->conf->instance.line = line_of(k);
		return each_pair(l, v, "instance", role_pair, NULL);
	}
	if (!strcmp(key, "metrics"))
		return want_listen(l, v, "metrics", &l->conf->metrics);
	if (!strcmp(key, "cluster"))
		return load_cluster(l, k, v);
	return fail(l, k,
		    "unknown top-level key \"%s\" (known: learn, steer, rules, chains, mesh, instance, metrics, "
		    "cluster)", key);
}

/* Cross-checks that need the whole file: a refusal names the line to blame. */
__attribute__((format(printf, 3, 4)))
static int fail_line(struct loader *l, int line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(l->err, l->errlen, "%s:%d: %s", l->file, line, msg);
	l->failed = 1;
	return -1;
}

/* Is a (an earlier instance) in the way of b? Names are unique across
 * chains (logs, drain and the service map name instances by them), ids
 * the config gives too, and the wire ids the sync names them by. */
static int instance_clash(struct loader *l, const struct cs_instance_conf *a, const struct cs_instance_conf *b)
{
	if (!strcmp(a->name, b->name))
		return fail_line(l, b->line, "instance \"%s\" is defined twice (first on line %d)", b->name,
				 a->line);
	if (a->id_given && b->id_given && a->id == b->id)
		return fail_line(l, b->line, "instance \"%s\" asks for id %u, which instance \"%s\" (line %d) "
				 "has", b->name, b->id, a->name, a->line);
	if (a->wire_id == b->wire_id)
		return fail_line(l, b->line, "instance \"%s\" has the wire id of instance \"%s\" (line %d), "
				 "%#x, and the sync could not tell them apart: rename one", b->name, a->name,
				 a->line, b->wire_id);
	return 0;
}

static int check_instances(struct loader *l)
{
	struct cs_instance_conf *all[CS_INSTANCES_MAX];
	struct cs_conf *c = l->conf;
	size_t i, j, n = 0;

	for (i = 0; i < c->n_chains; i++)
		for (j = 0; j < c->chains[i].n_instances; j++) {
			struct cs_instance_conf *in = &c->chains[i].instances[j];

			if (n + 1 >= CS_INSTANCES_MAX)
				return fail_line(l, in->line, "more than %d instances in all", CS_INSTANCES_MAX - 1);
			in->wire_id = cs_wire_id(c->chains[i].name, in->name);
			all[n++] = in;
		}
	for (i = 0; i < n; i++)
		for (j = 0; j < i; j++)
			if (instance_clash(l, all[j], all[i]))
				return -1;
	return 0;
}

/* Chains: ids the config gives, and VNIs (given or derived), unique. */
static int check_chains(struct loader *l)
{
	struct cs_conf *c = l->conf;
	size_t i, j;

	for (i = 0; i < c->n_chains; i++) {
		struct cs_chain_conf *b = &c->chains[i];

		if (!b->vni_given)
			b->vni = cs_vni_of_name(b->name);
		for (j = 0; j < i; j++) {
			const struct cs_chain_conf *a = &c->chains[j];

			if (a->id_given && b->id_given && a->id == b->id)
				return fail_line(l, b->line, "chain \"%s\" asks for id %u, which chain \"%s\" (line "
						 "%d) has", b->name, b->id, a->name, a->line);
			if (a->vni == b->vni)
				return fail_line(l, b->line, "chain \"%s\" has VNI %u (%s), which chain \"%s\" (line "
						 "%d) has too: give one of them another with vni:", b->name, b->vni,
						 b->vni_given ? "its vni:" : "derived from its name", a->name, a->line);
		}
	}
	return 0;
}

/* The ids a fresh node gives: in config order, `id:` first. A daemon gives
 * them again against what its pins kept (lib/ids.h). */
static int number_fresh(struct loader *l)
{
	struct cs_ids *fresh = calloc(1, sizeof(*fresh));
	int rc;

	if (!fresh)
		return fail(l, NULL, "out of memory");
	rc = cs_ids_assign(fresh, l->conf, 0, l->err, l->errlen);
	free(fresh);
	if (rc)
		l->failed = 1;
	return rc;
}

static int check_conf(struct loader *l, yaml_node_t *root)
{
	struct cs_conf *c = l->conf;
	size_t i, j;

	if (check_chains(l) || check_instances(l))
		return -1;

	for (i = 0; i < c->n_rules; i++) {
		struct cs_rule_conf *r = &c->rules[i];
		bool found = !r->chain;

		for (j = 0; !found && j < c->n_chains; j++)
			found = !strcmp(c->chains[j].name, r->chain);
		if (!found) {
			snprintf(l->err, l->errlen, "%s:%d: the rule names chain \"%s\", which is not defined",
				 l->file, r->line, r->chain);
			return l->failed = -1;
		}
	}
	if (c->instance.name && !cs_instance_named(c, c->instance.name, NULL)) {
		snprintf(l->err, l->errlen, "%s:%d: instance.name \"%s\" is not an instance of any chain", l->file,
			 c->instance.line, c->instance.name);
		return l->failed = -1;
	}
	(void)root;
	return number_fresh(l);
}

static int load_file(struct loader *l)
{
	yaml_parser_t parser;
	yaml_node_t *root;
	FILE *f;
	int rc = -1;

	f = fopen(l->file, "r");
	if (!f)
		return fail(l, NULL, "cannot read the config: %s", strerror(errno));
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &l->doc)) {
		snprintf(l->err, l->errlen, "%s:%zu: YAML syntax: %s", l->file,
			 parser.problem_mark.line + 1, parser.problem ? parser.problem : "unreadable");
		l->failed = 1;
		yaml_parser_delete(&parser);
		fclose(f);
		return -1;
	}
	yaml_parser_delete(&parser);
	fclose(f);

	root = yaml_document_get_root_node(&l->doc);
	if (!root) {
		rc = fail(l, NULL, "the config is empty");
	} else if (!each_pair(l, root, "the config", top_pair, NULL)) {
		yaml_node_pair_t *p;
		size_t idx = 0;

		rc = 0;
		/* second pass: rule ttl overrides over the learn defaults */
		for (p = root->data.mapping.pairs.start; !rc && p < root->data.mapping.pairs.top; p++)
			if (!strcmp(scalar(node(l, p->key)), "rules") &&
			    node(l, p->value)->type == YAML_SEQUENCE_NODE)
				rc = each_item(l, node(l, p->value), "rules", rule_ttl_item, &idx);
		if (!rc)
			rc = check_conf(l, root);
	}
	yaml_document_delete(&l->doc);
	return rc;
}

/* Private ranges are never steered unless learn.never_steer says otherwise:
 * a public name that answers with an inside address is DNS rebinding. */
static const char *const private_ranges[] = {
	"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7",
};

static int default_never(struct cs_conf *conf)
{
	size_t i, n = sizeof(private_ranges) / sizeof(private_ranges[0]);

	conf->never = calloc(n, sizeof(*conf->never));
	if (!conf->never)
		return -1;
	for (i = 0; i < n; i++)
		cs_prefix_parse(private_ranges[i], &conf->never[i]);
	conf->n_never = n;
	return 0;
}

int cs_config_load(const char *path, struct cs_conf *conf, char *err, size_t errlen)
{
	struct loader l = { .file = path, .err = err, .errlen = errlen, .conf = conf };

	memset(conf, 0, sizeof(*conf));
	conf->ttl = (struct cs_ttl_policy){ CS_TTL_MIN_DEFAULT, CS_TTL_MAX_DEFAULT, CS_TTL_GRACE_DEFAULT };
	conf->max_records = CS_RECORDS_DEFAULT;
	conf->limit_records = CS_RECORDS_ENTRIES;
	conf->limit_routes = CS_ROUTES_ENTRIES;
	conf->acl_ids = CS_ACL_POOL_ENTRIES - 1;
	conf->match_queries = true;
	conf->query_window_ms = CS_QUERY_WINDOW_DEFAULT_MS;
	conf->quota = CS_QUOTA_DEFAULT;
	if (default_never(conf)) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	conf->flow_idle_ms = CS_FLOW_IDLE_DEFAULT_MS;
	conf->flow_timeouts = (struct cs_flow_timeouts){ CS_TIMEOUT_SYN_DEFAULT_MS, CS_TIMEOUT_ESTABLISHED_DEFAULT_MS,
							 CS_TIMEOUT_FIN_DEFAULT_MS, CS_TIMEOUT_LINGER_DEFAULT_MS };
	conf->limit_flows = CS_FLOWS_ENTRIES;
	conf->limit_flows_new = CS_FLOWS_NEW_ENTRIES;
	conf->sync_port = CS_SYNC_PORT_DEFAULT;
	conf->instance = (struct cs_instance_role){ .strict = true, .sync = true,
						    .stream_idle_ms = CS_STREAM_IDLE_DEFAULT_MS,
						    .limit_streams = CS_STREAMS_ENTRIES,
						    .limit_streams_new = CS_STREAMS_NEW_ENTRIES };
	if (!keep_file_name(&l, NULL, path) || load_file(&l)) {
		if (!l.failed)
			snprintf(err, errlen, "%s: out of memory", path);
		cs_config_free(conf);
		return -1;
	}
	return 0;
}

const struct cs_pattern *cs_pattern_by_id(const struct cs_conf *conf, __u32 id)
{
	size_t i;

	if (id && id <= conf->n_patterns && conf->patterns[id - 1].id == id)
		return &conf->patterns[id - 1];
	for (i = 0; i < conf->n_patterns; i++)
		if (conf->patterns[i].id == id)
			return &conf->patterns[i];
	return NULL;
}

const char *cs_pattern_text(const struct cs_conf *conf, __u32 id)
{
	const struct cs_pattern *p = cs_pattern_by_id(conf, id);

	return p ? p->text : "?";
}

const struct cs_instance_conf *cs_instance_named(const struct cs_conf *conf, const char *name, size_t *chain)
{
	size_t c, i;

	for (c = 0; c < conf->n_chains; c++)
		for (i = 0; i < conf->chains[c].n_instances; i++)
			if (!strcmp(conf->chains[c].instances[i].name, name)) {
				if (chain)
					*chain = c;
				return &conf->chains[c].instances[i];
			}
	return NULL;
}

size_t cs_stage_span(const struct cs_chain_conf *cc, size_t stage, size_t *first)
{
	*first = 0;
	if (!cc->n_stages)
		return stage ? 0 : cc->n_instances;
	if (stage >= cc->n_stages)
		return 0;
	*first = cc->stages[stage].first;
	return cc->stages[stage].n;
}

const struct cs_health_conf *cs_stage_health(const struct cs_chain_conf *cc, size_t stage)
{
	return stage < cc->n_stages ? &cc->stages[stage].health : &cc->health;
}

__u32 cs_chain_id_of(const struct cs_conf *conf, const char *name)
{
	size_t i;

	for (i = 0; name && i < conf->n_chains; i++)
		if (!strcmp(conf->chains[i].name, name))
			return conf->chains[i].id;
	return 0;
}

const struct cs_instance_conf *cs_instance_by_id(const struct cs_conf *conf, __u32 id, size_t *chain)
{
	size_t c, i;

	for (c = 0; id && c < conf->n_chains; c++)
		for (i = 0; i < conf->chains[c].n_instances; i++)
			if (conf->chains[c].instances[i].id == id) {
				if (chain)
					*chain = c;
				return &conf->chains[c].instances[i];
			}
	return NULL;
}

static void free_list(char **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

static void free_blob(struct cs_blob *b, bool secret)
{
	if (secret)
		cs_file_forget(b->data, b->len);
	else
		free(b->data);
	free(b->path);
}

static void free_cluster(struct cs_cluster_conf *cl)
{
	free(cl->name);
	free(cl->node);
	free_list(cl->endpoints, cl->n_endpoints);
	free_blob(&cl->ca, false);
	free_blob(&cl->cert, false);
	free_blob(&cl->key, true);
	free_blob(&cl->credentials, true);
	if (cl->password)
		cs_file_forget(cl->password, strlen(cl->password));
	free(cl->user);
}

void cs_config_free(struct cs_conf *c)
{
	size_t i, j;

	free(c->patterns);
	for (i = 0; i < c->n_rules; i++)
		free(c->rules[i].chain);
	free(c->rules);
	for (i = 0; i < c->n_chains; i++) {
		for (j = 0; j < c->chains[i].n_instances; j++) {
			free(c->chains[i].instances[j].name);
			free(c->chains[i].instances[j].address);
		}
		free(c->chains[i].instances);
		free(c->chains[i].name);
		free(c->chains[i].mode);
		free(c->chains[i].on_failure);
		for (j = 0; j < c->chains[i].n_stages; j++) {
			free(c->chains[i].stages[j].name);
			if (c->chains[i].stages[j].health_given)
				free(c->chains[i].stages[j].health.probe);
		}
		free(c->chains[i].health.probe);
	}
	free(c->chains);
	free_list(c->learn_ifaces, c->n_learn_ifaces);
	free_list(c->steer_ifaces, c->n_steer_ifaces);
	free_list(c->instance.ifaces, c->instance.n_ifaces);
	free(c->instance.name);
	free(c->resolvers);
	free(c->never);
	free_list(c->files, c->n_files);
	free_cluster(&c->cluster);
	memset(c, 0, sizeof(*c));
}
