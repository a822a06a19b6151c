// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpffs.h"
#include "json.h"
#include "pins.h"
#include "state.h"
#include "learnprog.h"
#include "maps.h"

/* ---- opening ---- */

/* What each map must look like; order and index follow enum cs_state_map. */
struct map_spec {
	const char *name;
	enum bpf_map_type type;
	__u32 key_size;
	__u32 value_size;
	__u32 min_entries;	/* lookups by index go up to this */
	bool optional;		/* may be missing: older state, or no steer */
};

static const struct map_spec specs[CS_M_COUNT] = {
	[CS_M_RECORDS] = { "cs_records", BPF_MAP_TYPE_HASH, sizeof(struct cs_record_key),
			   sizeof(struct cs_record), 1 },
	[CS_M_ROUTES] = { "cs_routes", BPF_MAP_TYPE_HASH, sizeof(struct cs_addr), sizeof(struct cs_route), 1 },
	[CS_M_NAMES] = { "cs_names", BPF_MAP_TYPE_HASH, sizeof(__u64), sizeof(struct cs_name), 1 },
	[CS_M_PATTERNS] = { "cs_patterns", BPF_MAP_TYPE_HASH, sizeof(__u32), sizeof(struct cs_pattern_info), 1 },
	[CS_M_RULES] = { "cs_rules", BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(struct cs_rule), 1 },
	[CS_M_RULE_STATS] = { "cs_rule_stats", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
			      sizeof(struct cs_rule_stat), 1 },
	[CS_M_LEARN_STATS] = { "cs_learn_stats", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32), sizeof(__u64),
			       CS_R_MAX },
	[CS_M_ACL_POOL] = { "cs_acl_pool", BPF_MAP_TYPE_QUEUE, 0, sizeof(__u32), 1 },
	[CS_M_FLOWS] = { "cs_flows", BPF_MAP_TYPE_LRU_HASH, sizeof(struct cs_flow_key), sizeof(struct cs_flow),
			 1, true },
	[CS_M_ACL_STATS] = { "cs_acl_stats", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
			     sizeof(struct cs_acl_stat), 1, true },
	[CS_M_CHAINS] = { "cs_chains", BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(struct cs_chain), CS_CHAINS_MAX,
			  true },
	[CS_M_INSTANCES] = { "cs_instances", BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(struct cs_instance),
			     CS_INSTANCES_MAX, true },
	[CS_M_SERVICE_MAP] = { "cs_service_map", BPF_MAP_TYPE_ARRAY_OF_MAPS, sizeof(__u32), sizeof(__u32),
			       CS_CHAINS_MAX, true },
	[CS_M_INST_STATS] = { "cs_inst_stats", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
			      sizeof(struct cs_inst_stat), CS_INSTANCES_MAX, true },
	[CS_M_CONFIG] = { "cs_config", BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(struct cs_config), 1 },
	[CS_M_STREAMS] = { "cs_streams", BPF_MAP_TYPE_LRU_HASH, sizeof(struct cs_flow_key),
			   sizeof(struct cs_stream), 1, true },
	[CS_M_INST_REASONS] = { "cs_inst_reasons", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32), sizeof(__u64),
				CS_I_MAX, true },
	[CS_M_SYNC_STATS] = { "cs_sync_stats", BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(struct cs_sync_stat), 1,
			      true },
	[CS_M_RULE_TRAFFIC] = { "cs_rule_traffic", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
				sizeof(struct cs_acl_stat), 1, true },
	[CS_M_NEVER] = { "cs_never", BPF_MAP_TYPE_LPM_TRIE, sizeof(struct cs_never_key), sizeof(__u32), 1, true },
	[CS_M_RULE_QUOTA] = { "cs_rule_quota", BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(struct cs_rule_quota),
			      1, true },
};

const char *cs_state_map_name(enum cs_state_map m)
{
	return m < CS_M_COUNT ? specs[m].name : "?";
}

/* A directory that holds at least one entry: the daemon left state there. */
static bool dir_has_pins(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	bool any = false;

	if (!d)
		return false;
	while (!any && (de = readdir(d)))
		any = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return any;
}

static void say_no_state(const char *dir, const char *map, char *err, size_t errlen)
{
	int n;

	if (!cs_bpffs_present(dir, err, errlen))
		return;	/* no bpffs: no daemon has pinned anything here */
	n = snprintf(err, errlen, "no cloudsteer state in %s (is the daemon running, or was it detached?)", dir);

	/* Some pins but not this one: another version, or a detach cut short. */
	if (dir_has_pins(dir) && n > 0 && (size_t)n < errlen)
		snprintf(err + n, errlen - (size_t)n, "; %s is not pinned there", map);
}

static const char *layout_problem(const struct bpf_map_info *info, const struct map_spec *s)
{
	if (info->type != (__u32)s->type)
		return "its type differs";
	if (info->key_size != s->key_size || info->value_size != s->value_size)
		return "its key or value size differs";
	if (info->max_entries < s->min_entries)
		return "it has fewer entries than this version counts";
	return NULL;
}

/* may_miss: a map that is not pinned is left at fd -1, not an error. */
static int open_map(struct cs_state *st, enum cs_state_map m, bool may_miss, char *err, size_t errlen)
{
	const struct map_spec *s = &specs[m];
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	const char *why;
	int fd = cs_pin_open(st->dir, s->name);

	if (fd == -ENOENT && may_miss)
		return 0;
	if (fd == -ENOENT) {
		say_no_state(st->dir, s->name, err, errlen);
		return fd;
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s/%s: %s%s", st->dir, s->name, strerror(-fd),
			 fd == -EPERM || fd == -EACCES ? " (run as root, or with CAP_BPF)" : "");
		return fd;
	}
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		int e = -errno;

		snprintf(err, errlen, "cannot read what %s/%s is: %s", st->dir, s->name, strerror(-e));
		close(fd);
		return e;
	}
	why = layout_problem(&info, s);
	if (why) {
		/* reading it with our structs would misread it, or overrun them */
		snprintf(err, errlen, "%s/%s was made by another version of cloudsteer (%s): not read",
			 st->dir, s->name, why);
		close(fd);
		return -EPROTO;
	}
	st->fd[m] = fd;
	st->max_entries[m] = info.max_entries;
	return 0;
}

/* Open the maps in want; those in may_miss may be absent. */
static int open_maps(struct cs_state *st, const char *dir, unsigned want, unsigned may_miss, char *err,
		     size_t errlen)
{
	int m, e;

	memset(st, 0, sizeof(*st));
	st->dir = dir;
	for (m = 0; m < CS_M_COUNT; m++)
		st->fd[m] = -1;
	for (m = 0; m < CS_M_COUNT; m++) {
		if (!(want & CS_STATE_BIT(m)))
			continue;
		e = open_map(st, m, may_miss & CS_STATE_BIT(m), err, errlen);
		if (e) {
			cs_state_close(st);
			return e;
		}
	}
	return 0;
}

int cs_state_open(struct cs_state *st, const char *dir, char *err, size_t errlen)
{
	unsigned optional = 0;
	int m;

	for (m = 0; m < CS_M_COUNT; m++)
		if (specs[m].optional)
			optional |= CS_STATE_BIT(m);
	return open_maps(st, dir, CS_STATE_BIT(CS_M_COUNT) - 1, optional, err, errlen);
}

int cs_state_open_only(struct cs_state *st, const char *dir, unsigned need, char *err, size_t errlen)
{
	return open_maps(st, dir, need, 0, err, errlen);
}

int cs_state_open_any(struct cs_state *st, const char *dir, unsigned want, char *err, size_t errlen)
{
	return open_maps(st, dir, want, want, err, errlen);
}

/* Counters of the per-CPU map m at key, summed (every field is a __u64). */
static int sum_stat(const struct cs_state *st, enum cs_state_map m, __u32 key, void *out, size_t size)
{
	memset(out, 0, size);
	if (st->fd[m] < 0)
		return -ENOENT;	/* an optional map that is not there */
	return cs_percpu_sum(st->fd[m], key, 1, out, size / sizeof(__u64));
}

int cs_state_rule_traffic(const struct cs_state *st, __u32 rule_id, struct cs_acl_stat *out)
{
	return sum_stat(st, CS_M_RULE_TRAFFIC, rule_id, out, sizeof(*out));
}

int cs_state_inst_stat(const struct cs_state *st, __u32 id, struct cs_inst_stat *out)
{
	return sum_stat(st, CS_M_INST_STATS, id, out, sizeof(*out));
}

void cs_state_close(struct cs_state *st)
{
	int m;

	for (m = 0; m < CS_M_COUNT; m++) {
		if (st->fd[m] >= 0)
			close(st->fd[m]);
		st->fd[m] = -1;
	}
}

int cs_state_rule(const struct cs_state *st, __u32 rule_id, struct cs_rule *out)
{
	return bpf_map_lookup_elem(st->fd[CS_M_RULES], &rule_id, out) ? -errno : 0;
}

int cs_state_rule_stat(const struct cs_state *st, __u32 rule_id, struct cs_rule_stat *out)
{
	return sum_stat(st, CS_M_RULE_STATS, rule_id, out, sizeof(*out));
}

static int cmp_stream_row(const void *a, const void *b)
{
	return memcmp(&((const struct cs_stream_row *)a)->key, &((const struct cs_stream_row *)b)->key,
		      sizeof(struct cs_flow_key));
}

int cs_state_streams(const struct cs_state *st, struct cs_stream_row **rows, size_t *n)
{
	struct cs_stream_row *r;
	struct cs_map_dump d;
	size_t i;
	int e;

	*rows = NULL;
	*n = 0;
	if (st->fd[CS_M_STREAMS] < 0)
		return -ENOENT;
	e = cs_map_dump(st->fd[CS_M_STREAMS], sizeof(struct cs_flow_key), sizeof(struct cs_stream), &d);
	if (e)
		return e;
	r = calloc(d.n ? d.n : 1, sizeof(*r));
	if (!r) {
		cs_map_dump_free(&d);
		return -ENOMEM;
	}
	for (i = 0; i < d.n; i++) {
		memcpy(&r[i].key, d.keys + i * d.key_size, sizeof(r[i].key));
		memcpy(&r[i].st, d.vals + i * d.value_size, sizeof(r[i].st));
	}
	qsort(r, d.n, sizeof(*r), cmp_stream_row);
	*rows = r;
	*n = d.n;
	cs_map_dump_free(&d);
	return 0;
}

int cs_state_inst_reasons(const struct cs_state *st, __u64 *out)
{
	memset(out, 0, CS_I_MAX * sizeof(*out));
	if (st->fd[CS_M_INST_REASONS] < 0)
		return -ENOENT;
	return cs_percpu_sum(st->fd[CS_M_INST_REASONS], 0, CS_I_MAX, out, 1);
}

/* ---- the view ---- */

static int cmp_addr(const struct cs_addr *a, const struct cs_addr *b)
{
	return memcmp(a->b, b->b, sizeof(a->b));
}

static int cmp_record_row(const void *a, const void *b)
{
	const struct cs_record_row *x = a, *y = b;
	int c = cmp_addr(&x->key.addr, &y->key.addr);

	if (c)
		return c;
	return x->key.name_id < y->key.name_id ? -1 : x->key.name_id > y->key.name_id;
}

static int cmp_route_row(const void *a, const void *b)
{
	const struct cs_route_row *x = a, *y = b;

	return cmp_addr(&x->addr, &y->addr);
}

static int cmp_name_row(const void *a, const void *b)
{
	const struct cs_name_row *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_pattern_by_rule(const void *a, const void *b)
{
	const struct cs_pattern_row *x = a, *y = b;

	if (x->info.rule_id != y->info.rule_id)
		return x->info.rule_id < y->info.rule_id ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_pattern_ptr_by_id(const void *a, const void *b)
{
	const struct cs_pattern_row *x = *(const struct cs_pattern_row *const *)a;
	const struct cs_pattern_row *y = *(const struct cs_pattern_row *const *)b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/* Read a whole hash map into sorted rows: each row is row_size bytes with
 * the key at its start and the value at val_off. */
static int read_rows(int fd, __u32 key_size, __u32 value_size, size_t row_size, size_t val_off,
		     int (*cmp)(const void *, const void *), void **rows, size_t *n)
{
	struct cs_map_dump d;
	__u8 *out;
	size_t i;
	int e = cs_map_dump(fd, key_size, value_size, &d);

	if (e)
		return e;
	out = calloc(d.n ? d.n : 1, row_size);
	if (!out) {
		cs_map_dump_free(&d);
		return -ENOMEM;
	}
	for (i = 0; i < d.n; i++) {
		memcpy(out + i * row_size, d.keys + i * d.key_size, key_size);
		memcpy(out + i * row_size + val_off, d.vals + i * d.value_size, value_size);
	}
	*n = d.n;
	*rows = out;
	cs_map_dump_free(&d);
	qsort(out, *n, row_size, cmp);
	return 0;
}

#define READ_ROWS(fd, rowtype, keyf, valf, cmp, rows, n)                                          \
	read_rows(fd, sizeof(((rowtype *)0)->keyf), sizeof(((rowtype *)0)->valf), sizeof(rowtype), \
		  offsetof(rowtype, valf), cmp, (void **)(rows), n)

static int read_records(const struct cs_state *st, struct cs_view *v)
{
	return READ_ROWS(st->fd[CS_M_RECORDS], struct cs_record_row, key, rec, cmp_record_row,
			 &v->records, &v->n_records);
}

static int cmp_flow_row(const void *a, const void *b)
{
	const struct cs_flow_row *x = a, *y = b;

	return memcmp(&x->flow.route, &y->flow.route, sizeof(x->flow.route));
}

static int read_flows(const struct cs_state *st, struct cs_view *v)
{
	if (st->fd[CS_M_FLOWS] < 0)
		return 0;	/* steer never ran here: no flows */
	return READ_ROWS(st->fd[CS_M_FLOWS], struct cs_flow_row, key, flow, cmp_flow_row, &v->flows,
			 &v->n_flows);
}

size_t cs_view_flows_of(const struct cs_view *v, const struct cs_addr *a)
{
	size_t lo = 0, hi = v->n_flows, n = 0;

	while (lo < hi) {	/* the first flow of route a */
		size_t mid = (lo + hi) / 2;

		if (memcmp(&v->flows[mid].flow.route, a, sizeof(*a)) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo + n < v->n_flows && !memcmp(&v->flows[lo + n].flow.route, a, sizeof(*a)))
		n++;
	return n;
}

int cs_state_acl_stat(const struct cs_state *st, __u32 acl_id, struct cs_acl_stat *out)
{
	return sum_stat(st, CS_M_ACL_STATS, acl_id, out, sizeof(*out));
}

static int read_routes(const struct cs_state *st, struct cs_view *v)
{
	return READ_ROWS(st->fd[CS_M_ROUTES], struct cs_route_row, addr, route, cmp_route_row, &v->routes,
			 &v->n_routes);
}

/* Names are kept packed: a full names map is 256 bytes an entry, most of
 * it padding. */
static int read_names(const struct cs_state *st, struct cs_view *v)
{
	size_t i, total = 0, at = 0;
	struct cs_map_dump d;
	int e = cs_map_dump(st->fd[CS_M_NAMES], sizeof(__u64), sizeof(struct cs_name), &d);

	if (e)
		return e;
	for (i = 0; i < d.n; i++) {
		struct cs_name *nm = (struct cs_name *)(d.vals + i * d.value_size);

		nm->text[CS_NAME_TEXT_MAX - 1] = 0;
		total += strlen(nm->text) + 1;
	}
	v->names = calloc(d.n ? d.n : 1, sizeof(*v->names));
	v->name_text = malloc(total ? total : 1);
	if (!v->names || !v->name_text) {
		cs_map_dump_free(&d);
		return -ENOMEM;
	}
	for (i = 0; i < d.n; i++) {
		const char *text = ((struct cs_name *)(d.vals + i * d.value_size))->text;
		size_t len = strlen(text) + 1;

		memcpy(&v->names[i].id, d.keys + i * d.key_size, sizeof(__u64));
		memcpy(v->name_text + at, text, len);
		v->names[i].text = v->name_text + at;
		at += len;
	}
	v->n_names = d.n;
	cs_map_dump_free(&d);
	qsort(v->names, v->n_names, sizeof(*v->names), cmp_name_row);
	return 0;
}

static int read_patterns(const struct cs_state *st, struct cs_view *v)
{
	struct cs_map_dump d;
	size_t i;
	int e = cs_map_dump(st->fd[CS_M_PATTERNS], sizeof(__u32), sizeof(struct cs_pattern_info), &d);

	if (e)
		return e;
	v->patterns = calloc(d.n ? d.n : 1, sizeof(*v->patterns));
	v->pattern_by_id = calloc(d.n ? d.n : 1, sizeof(*v->pattern_by_id));
	if (!v->patterns || !v->pattern_by_id) {
		cs_map_dump_free(&d);
		return -ENOMEM;
	}
	for (i = 0; i < d.n; i++) {
		memcpy(&v->patterns[i].id, d.keys + i * d.key_size, sizeof(__u32));
		memcpy(&v->patterns[i].info, d.vals + i * d.value_size, sizeof(struct cs_pattern_info));
		v->patterns[i].info.text[sizeof(v->patterns[i].info.text) - 1] = 0;
	}
	v->n_patterns = d.n;
	cs_map_dump_free(&d);
	qsort(v->patterns, v->n_patterns, sizeof(*v->patterns), cmp_pattern_by_rule);
	for (i = 0; i < v->n_patterns; i++)
		v->pattern_by_id[i] = &v->patterns[i];
	qsort(v->pattern_by_id, v->n_patterns, sizeof(*v->pattern_by_id), cmp_pattern_ptr_by_id);
	return 0;
}

int cs_view_read(const struct cs_state *st, unsigned what, struct cs_view *v, char *err, size_t errlen)
{
	static const struct {
		unsigned bit;
		enum cs_state_map map;
		int (*read)(const struct cs_state *, struct cs_view *);
	} parts[] = {
		{ CS_READ_RECORDS, CS_M_RECORDS, read_records },
		{ CS_READ_ROUTES, CS_M_ROUTES, read_routes },
		{ CS_READ_NAMES, CS_M_NAMES, read_names },
		{ CS_READ_PATTERNS, CS_M_PATTERNS, read_patterns },
		{ CS_READ_FLOWS, CS_M_FLOWS, read_flows },
	};
	size_t i;

	memset(v, 0, sizeof(*v));
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		int e;

		if (!(what & parts[i].bit))
			continue;
		e = parts[i].read(st, v);
		if (e) {
			snprintf(err, errlen, "cannot read %s/%s: %s", st->dir, specs[parts[i].map].name,
				 strerror(-e));
			cs_view_free(v);
			return e;
		}
	}
	/* after the reads: nothing read was made later, so no age is negative */
	v->now_ns = cs_now_ns();
	return 0;
}

void cs_view_free(struct cs_view *v)
{
	free(v->records);
	free(v->flows);
	free(v->routes);
	free(v->names);
	free(v->name_text);
	free(v->patterns);
	free(v->pattern_by_id);
	memset(v, 0, sizeof(*v));
}

const char *cs_view_name(const struct cs_view *v, __u64 name_id)
{
	struct cs_name_row want = { .id = name_id };
	const struct cs_name_row *r = bsearch(&want, v->names, v->n_names, sizeof(*v->names), cmp_name_row);

	return r ? r->text : "?";
}

const struct cs_pattern_info *cs_view_pattern(const struct cs_view *v, __u32 pattern_id)
{
	struct cs_pattern_row want = { .id = pattern_id };
	const struct cs_pattern_row *key = &want, **r;

	r = bsearch(&key, v->pattern_by_id, v->n_patterns, sizeof(*v->pattern_by_id), cmp_pattern_ptr_by_id);
	return r ? &(*r)->info : NULL;
}

const char *cs_view_pattern_text(const struct cs_view *v, __u32 pattern_id)
{
	const struct cs_pattern_info *p = cs_view_pattern(v, pattern_id);

	return p ? p->text : "?";
}

const struct cs_route *cs_view_route(const struct cs_view *v, const struct cs_addr *a)
{
	struct cs_route_row want = { .addr = *a };
	const struct cs_route_row *r = bsearch(&want, v->routes, v->n_routes, sizeof(*v->routes), cmp_route_row);

	return r ? &r->route : NULL;
}

size_t cs_view_records_of(const struct cs_view *v, const struct cs_addr *a, const struct cs_record_row **first)
{
	size_t lo = 0, hi = v->n_records, n = 0;

	while (lo < hi) {	/* the first record not before a */
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_addr(&v->records[mid].key.addr, a) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = v->records + lo;
	while (lo + n < v->n_records && !cmp_addr(&v->records[lo + n].key.addr, a))
		n++;
	return n;
}

void cs_view_count_by_rule(const struct cs_view *v, __u64 *counts, size_t n)
{
	size_t i;

	memset(counts, 0, n * sizeof(*counts));
	for (i = 0; i < v->n_records; i++)
		if (v->records[i].rec.rule_id < n)
			counts[v->records[i].rec.rule_id]++;
}

size_t cs_view_rule_patterns(const struct cs_view *v, __u32 rule_id, const struct cs_pattern_row **first)
{
	size_t lo = 0, hi = v->n_patterns, n = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->patterns[mid].info.rule_id < rule_id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = v->patterns + lo;
	while (lo + n < v->n_patterns && v->patterns[lo + n].info.rule_id == rule_id)
		n++;
	return n;
}

const char *cs_view_rule_patterns_text(const struct cs_view *v, __u32 rule_id, char *buf, size_t len)
{
	const struct cs_pattern_row *p;
	size_t n = cs_view_rule_patterns(v, rule_id, &p), i, at = 0;
	const size_t tail = 24;	/* room kept for ",+N more" */

	buf[0] = 0;
	for (i = 0; i < n && i < CS_PATTERNS_SHOWN; i++) {
		size_t want = strlen(p[i].info.text) + (i ? 1 : 0);

		if (at + want + tail >= len)
			break;
		at += (size_t)snprintf(buf + at, len - at, "%s%s", i ? "," : "", p[i].info.text);
	}
	if (i < n)
		snprintf(buf + at, len - at, "%s+%zu more", i ? "," : "", n - i);
	else if (!n)
		snprintf(buf, len, "?");
	return buf;
}

/* ---- time ---- */

__u64 cs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

__s64 cs_secs_between(__u64 from_ns, __u64 to_ns)
{
	__s64 ns = (__s64)(to_ns - from_ns);

	/* round down, not toward zero: half a second past expiry is -1, so a
	 * negative value means "expired" and nothing else does */
	return ns >= 0 ? ns / 1000000000LL : -((-ns + 999999999LL) / 1000000000LL);
}

const char *cs_fmt_duration(__s64 secs, char *buf, size_t len)
{
	const char *sign = secs < 0 ? "-" : "";
	long long s = secs < 0 ? -(long long)secs : (long long)secs;

	if (s < 60)
		snprintf(buf, len, "%s%llds", sign, s);
	else if (s < 3600)
		snprintf(buf, len, "%s%lldm%02llds", sign, s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%s%lldh%02lldm", sign, s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%s%lldd%02lldh", sign, s / 86400, s % 86400 / 3600);
	return buf;
}

const char *cs_fmt_ttl_left(__u64 now_ns, __u64 expires_ns, char *buf, size_t len)
{
	__s64 left = cs_secs_between(now_ns, expires_ns);

	if (left < 0)
		snprintf(buf, len, "expired");
	else
		cs_fmt_duration(left, buf, len);
	return buf;
}

/* ---- tables ---- */

/* A name straight off the wire may hold escape sequences: never send them
 * to a terminal. */
static void put_cell(FILE *f, const char *s, size_t width, bool right, bool last)
{
	size_t len = strlen(s), pad = width > len ? width - len : 0;

	if (right)
		fprintf(f, "%*s", (int)pad, "");
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
	if (!right && !last)
		fprintf(f, "%*s", (int)pad, "");
}

static void put_row(FILE *f, const struct cs_column *cols, size_t ncols, const size_t *width,
		    const char *const *text)
{
	size_t c;

	for (c = 0; c < ncols; c++) {
		if (c)
			fputs("  ", f);
		put_cell(f, text[c], width[c], cols[c].right, c + 1 == ncols);
	}
	fputc('\n', f);
}

void cs_table_print(FILE *f, const struct cs_column *cols, size_t ncols, size_t nrows, cs_row_fn fill,
		    void *ctx)
{
	char (*cell)[CS_CELL_MAX] = calloc(CS_COLS_MAX, CS_CELL_MAX);
	const char *text[CS_COLS_MAX] = { 0 };
	size_t width[CS_COLS_MAX] = { 0 }, r, c;

	if (!cell || ncols > CS_COLS_MAX) {
		free(cell);
		return;
	}
	for (c = 0; c < ncols; c++) {
		width[c] = strlen(cols[c].head);
		text[c] = cols[c].head;
	}
	for (r = 0; r < nrows; r++) {
		fill(ctx, r, cell);
		for (c = 0; c < ncols; c++)
			if (strlen(cell[c]) > width[c])
				width[c] = strlen(cell[c]);
	}
	put_row(f, cols, ncols, width, text);
	for (c = 0; c < ncols; c++)
		text[c] = cell[c];
	for (r = 0; r < nrows; r++) {
		memset(cell, 0, CS_COLS_MAX * CS_CELL_MAX);
		fill(ctx, r, cell);
		put_row(f, cols, ncols, width, text);
	}
	free(cell);
}

const char *cs_acl_text(const struct cs_route *rt, const char *waiting, char *buf, size_t len)
{
	if (!rt)
		snprintf(buf, len, "none");
	else if (rt->flags & CS_ROUTE_WAIT_ACL)
		snprintf(buf, len, "%s", waiting);
	else
		snprintf(buf, len, "%u", rt->acl_id);
	return buf;
}

/* ---- JSON ---- */

void cs_json_ttl_left(struct cs_json *j, __u64 now_ns, __u64 expires_ns)
{
	__s64 left = cs_secs_between(now_ns, expires_ns);

	cs_json_s64(j, "ttl_left", left);
	cs_json_bool(j, "expired", left < 0);
}

void cs_json_acl(struct cs_json *j, const struct cs_route *rt)
{
	bool waiting = rt && (rt->flags & CS_ROUTE_WAIT_ACL);

	if (rt && !waiting)
		cs_json_u64(j, "acl_id", rt->acl_id);
	else
		cs_json_null(j, "acl_id");
	cs_json_bool(j, "waiting_acl", waiting);
}

void cs_json_rule_patterns(struct cs_json *j, const struct cs_view *v, __u32 rule_id)
{
	const struct cs_pattern_row *p;
	size_t n = cs_view_rule_patterns(v, rule_id, &p), i;

	cs_json_array(j, "patterns");
	for (i = 0; i < n && i < CS_PATTERNS_SHOWN; i++)
		cs_json_str(j, NULL, p[i].info.text);
	cs_json_close(j);
	cs_json_u64(j, "patterns_more", n > CS_PATTERNS_SHOWN ? n - CS_PATTERNS_SHOWN : 0);
}
