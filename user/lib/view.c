// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "clock.h"
#include "config.h"
#include "log.h"
#include "maps.h"
#include "stagetable.h"
#include "view.h"

/* ---- orders ---- */

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

static int cmp_flow_row(const void *a, const void *b)
{
	const struct cs_flow_row *x = a, *y = b;

	return memcmp(&x->flow.route, &y->flow.route, sizeof(x->flow.route));
}

/* ---- reading ---- */

/* Append every entry of a hash map to *rows (*n of them so far): each row
 * is row_size bytes with the key at its start and the value at val_off. */
static int append_rows(int fd, __u32 key_size, __u32 value_size, size_t row_size, size_t val_off, void **rows,
		       size_t *n)
{
	struct cs_map_dump d;
	__u8 *out;
	size_t i;
	int e = cs_map_dump(fd, key_size, value_size, &d);

	if (e)
		return e;
	out = realloc(*rows, (*n + d.n ? *n + d.n : 1) * row_size);
	if (!out) {
		cs_map_dump_free(&d);
		return -ENOMEM;
	}
	memset(out + *n * row_size, 0, d.n * row_size);
	for (i = 0; i < d.n; i++) {
		memcpy(out + (*n + i) * row_size, d.keys + i * d.key_size, key_size);
		memcpy(out + (*n + i) * row_size + val_off, d.vals + i * d.value_size, value_size);
	}
	*n += d.n;
	*rows = out;
	cs_map_dump_free(&d);
	return 0;
}

/* Read a whole hash map into sorted rows (see append_rows). */
static int read_rows(int fd, __u32 key_size, __u32 value_size, size_t row_size, size_t val_off,
		     int (*cmp)(const void *, const void *), void **rows, size_t *n)
{
	int e;

	*rows = NULL;
	*n = 0;
	e = append_rows(fd, key_size, value_size, row_size, val_off, rows, n);
	if (!e)
		qsort(*rows, *n, row_size, cmp);
	return e;
}

#define READ_ROWS(fd, rowtype, keyf, valf, cmp, rows, n)                                          \
	read_rows(fd, sizeof(((rowtype *)0)->keyf), sizeof(((rowtype *)0)->valf), sizeof(rowtype), \
		  offsetof(rowtype, valf), cmp, (void **)(rows), n)

/* Reads cs_records: every (name, IP) record, by IP, then name id. */
static int read_records(const struct cs_pinned *pins, struct cs_view *v, char *err, size_t errlen)
{
	return READ_ROWS(pins->fd[CS_M_RECORDS], struct cs_record_row, key, rec, cmp_record_row,
			 &v->records, &v->n_records);
}

/* Reads cs_routes: every policy route, by IP. */
static int read_routes(const struct cs_pinned *pins, struct cs_view *v, char *err, size_t errlen)
{
	return READ_ROWS(pins->fd[CS_M_ROUTES], struct cs_route_row, addr, route, cmp_route_row, &v->routes,
			 &v->n_routes);
}

/* Reads cs_names: the text of every name id, by id. Names are kept
 * packed: a full names map is 256 bytes an entry, most of
 * it padding. */
static int read_names(const struct cs_pinned *pins, struct cs_view *v, char *err, size_t errlen)
{
	size_t i, total = 0, at = 0;
	struct cs_map_dump d;
	int e = cs_map_dump(pins->fd[CS_M_NAMES], sizeof(__u64), sizeof(struct cs_name), &d);

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

/* Reads cs_patterns: every pattern, by rule id, then pattern id, and an
 * index by pattern id. */
static int read_patterns(const struct cs_pinned *pins, struct cs_view *v, char *err, size_t errlen)
{
	struct cs_map_dump d;
	size_t i;
	int e = cs_map_dump(pins->fd[CS_M_PATTERNS], sizeof(__u32), sizeof(struct cs_pattern_info), &d);

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

#define APPEND_FLOWS(fd, v)                                                                            \
	append_rows(fd, sizeof(struct cs_flow_key), sizeof(struct cs_flow), sizeof(struct cs_flow_row), \
		    offsetof(struct cs_flow_row, flow), (void **)&(v)->flows, &(v)->n_flows)

/* Reads cs_flows and cs_flows_new: steer's flows, proven or not, by the
 * route they use. */
static int read_flows(const struct cs_pinned *pins, struct cs_view *v, char *err, size_t errlen)
{
	size_t i;
	int e;

	if (pins->fd[CS_M_FLOWS] < 0)
		return 0;	/* steer never ran here: no flows */
	e = APPEND_FLOWS(pins->fd[CS_M_FLOWS], v);
	for (i = 0; !e && i < v->n_flows; i++)
		v->flows[i].proven = true;
	if (!e && pins->fd[CS_M_FLOWS_NEW] >= 0)
		e = APPEND_FLOWS(pins->fd[CS_M_FLOWS_NEW], v);
	if (!e)
		qsort(v->flows, v->n_flows, sizeof(*v->flows), cmp_flow_row);
	return e;
}

/* ---- reading steer's chains, instances and tables ---- */

/* Reads cs_instances: every instance, and how many name each chain. */
static int read_instances(const struct cs_pinned *pins, struct cs_view *v, char *err, size_t errlen)
{
	struct cs_steer_view *sv = v->steer;
	__u32 i;
	int e;

	if (pins->fd[CS_M_INSTANCES] < 0)
		return 0;	/* steer never ran here */
	e = cs_pinned_ids(pins, &sv->ids);
	if (e && e != -ENOENT)
		return e;
	for (i = 1; i < CS_INSTANCES_MAX; i++) {
		e = cs_pinned_instance(pins, i, &sv->inst[i]);
		if (e)
			return e;
		if (sv->inst[i].chain_id && sv->inst[i].chain_id < CS_CHAINS_MAX)
			sv->n_inst_of[sv->inst[i].chain_id]++;
	}
	sv->has_instances = true;
	return 0;
}

/* Reads cs_chains: every chain, and which are used. */
static int read_chains(const struct cs_pinned *pins, struct cs_view *v, char *err, size_t errlen)
{
	struct cs_steer_view *sv = v->steer;
	__u32 i;

	if (pins->fd[CS_M_CHAINS] < 0)
		return 0;
	for (i = 1; i < CS_CHAINS_MAX; i++) {
		if (bpf_map_lookup_elem(pins->fd[CS_M_CHAINS], &i, &sv->chain[i]))
			return -errno;
		sv->chain_used[i] = sv->chain[i].n_buckets || sv->n_inst_of[i];
	}
	sv->has_chains = true;
	return 0;
}

/* Reads cs_inst_stats: the counters of every instance a chain has. */
static int read_inst_stats(const struct cs_pinned *pins, struct cs_view *v, char *err, size_t errlen)
{
	struct cs_steer_view *sv = v->steer;
	__u32 i;
	int e;

	if (pins->fd[CS_M_INST_STATS] < 0)
		return 0;
	for (i = 1; i < CS_INSTANCES_MAX; i++) {
		if (!sv->inst[i].chain_id)
			continue;
		e = cs_pinned_inst_stat(pins, i, &sv->stat[i]);
		if (e)
			return e;
	}
	return 0;
}

/* The inner map at slot of the array of maps outer_fd: an fd, or -errno
 * (-ENOENT: none yet). */
static int open_table(int outer_fd, __u32 slot)
{
	__u32 id;
	int fd;

	if (bpf_map_lookup_elem(outer_fd, &slot, &id))
		return -errno;
	fd = bpf_map_get_fd_by_id(id);
	return fd < 0 ? -errno : fd;
}

/* Reads the n buckets of table fd (what names it for an error) into a new
 * array. */
static int read_buckets(int fd, const char *what, __u32 n, struct cs_bucket **out, char *err, size_t errlen)
{
	struct cs_bucket *t = calloc(n, sizeof(*t));
	__u32 b;

	if (!t)
		return -ENOMEM;
	for (b = 0; b < n; b++) {
		if (bpf_map_lookup_elem(fd, &b, &t[b])) {
			int e = -errno;

			snprintf(err, errlen, "cannot read bucket %u of %s: %s", b, what, strerror(-e));
			free(t);
			return e;
		}
	}
	*out = t;
	return 0;
}

/* Reads the n buckets of the table at slot of pinned map m (what names it
 * for an error) into *out and n into *len; none yet leaves them alone. */
static int read_table(const struct cs_pinned *pins, enum cs_pinned_map m, __u32 slot, __u32 n, const char *what,
		      struct cs_bucket **out, __u32 *len, char *err, size_t errlen)
{
	int fd = open_table(pins->fd[m], slot), e;

	if (fd == -ENOENT)
		return 0;	/* no table yet */
	if (fd < 0) {
		snprintf(err, errlen, "cannot open the table of %s (%s/%s): %s", what, pins->dir,
			 m == CS_M_STAGE_MAP ? "cs_stage_map" : "cs_service_map", strerror(-fd));
		return fd;
	}
	e = read_buckets(fd, what, n, out, err, errlen);
	close(fd);
	if (!e)
		*len = n;
	return e;
}

static __u32 at_most_max(__u32 n)
{
	return n < CS_BUCKETS_MAX ? n : CS_BUCKETS_MAX;
}

/* The buckets of a later stage's table. The daemon builds each with
 * CS_BUCKETS_DEFAULT (stagetable.h); cs_chains says so of the last
 * (last_buckets), where steer reads it. */
static __u32 stage_buckets(const struct cs_chain *ch)
{
	return at_most_max(ch->last_buckets ? ch->last_buckets : CS_BUCKETS_DEFAULT);
}

static __u32 stages_of(const struct cs_chain *ch)
{
	if (!ch->n_stages)
		return 1;	/* written before stages */
	return ch->n_stages < CS_CHAIN_STAGES_MAX ? ch->n_stages : CS_CHAIN_STAGES_MAX;
}

static void mark_stage(struct cs_steer_view *sv, __u32 id, __u32 stage)
{
	if (id && id < CS_INSTANCES_MAX)	/* 0: a bucket without one */
		sv->inst_stage[id] = (__u8)stage;
}

/* Reads, through cs_stage_map, the tables of the later stages of chain c,
 * and marks the instances each names as serving that stage. */
static int read_stage_tables(const struct cs_pinned *pins, struct cs_steer_view *sv, __u32 c, char *err,
			     size_t errlen)
{
	__u32 k, b, n_stages = stages_of(&sv->chain[c]);
	char what[64];
	int e;

	sv->stages_read[c] = true;
	for (k = 1; k < n_stages; k++) {
		snprintf(what, sizeof(what), "stage %u of chain %u", k, c);
		e = read_table(pins, CS_M_STAGE_MAP, cs_stage_slot(c, k), stage_buckets(&sv->chain[c]), what,
			       &sv->stage_table[c][k], &sv->stage_table_len[c][k], err, errlen);
		if (e)
			return e;
		sv->stages_read[c] = sv->stages_read[c] && sv->stage_table[c][k];
		for (b = 0; b < sv->stage_table_len[c][k]; b++) {
			mark_stage(sv, sv->stage_table[c][k][b].primary, k);
			mark_stage(sv, sv->stage_table[c][k][b].secondary, k);
		}
	}
	return 0;
}

/* Reads cs_service_map and, through it, the current table of every used
 * chain that has buckets; and, where cs_stage_map is pinned, the tables
 * of the later stages of every chain of several. */
static int read_tables(const struct cs_pinned *pins, struct cs_view *v, char *err, size_t errlen)
{
	struct cs_steer_view *sv = v->steer;
	char what[32];
	__u32 c;

	for (c = 1; c < CS_CHAINS_MAX; c++) {
		__u32 n = at_most_max(sv->chain[c].n_buckets);
		int e = 0;

		if (!sv->chain_used[c])
			continue;
		snprintf(what, sizeof(what), "chain %u", c);
		if (n && pins->fd[CS_M_SERVICE_MAP] >= 0)
			e = read_table(pins, CS_M_SERVICE_MAP, c, n, what, &sv->table[c], &sv->table_len[c], err,
				       errlen);
		if (!e && pins->fd[CS_M_STAGE_MAP] >= 0)
			e = read_stage_tables(pins, sv, c, err, errlen);
		if (e)
			return e;
	}
	return 0;
}

#define CS_READ_STEER (CS_READ_INSTANCES | CS_READ_CHAINS | CS_READ_INST_STATS | CS_READ_TABLES)

/* The parts of the view that read one map each, in the order they must be
 * read. A part that says more than which map it could not read writes err
 * itself. */
static const struct {
	unsigned bit;
	const char *name;	/* of its pin, for the error */
	int (*read)(const struct cs_pinned *, struct cs_view *, char *err, size_t errlen);
} parts[] = {
	{ CS_READ_RECORDS, "cs_records", read_records },
	{ CS_READ_ROUTES, "cs_routes", read_routes },
	{ CS_READ_NAMES, "cs_names", read_names },
	{ CS_READ_PATTERNS, "cs_patterns", read_patterns },
	{ CS_READ_FLOWS, "cs_flows", read_flows },
	{ CS_READ_INSTANCES, "cs_instances", read_instances },
	{ CS_READ_CHAINS, "cs_chains", read_chains },
	{ CS_READ_INST_STATS, "cs_inst_stats", read_inst_stats },
	{ CS_READ_TABLES, "cs_service_map", read_tables },	/* and cs_stage_map */
};

int cs_view_read(const struct cs_pinned *pins, unsigned what, struct cs_view *v, char *err, size_t errlen)
{
	size_t i;

	memset(v, 0, sizeof(*v));
	if ((what & CS_READ_STEER) && !(v->steer = calloc(1, sizeof(*v->steer)))) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		int e;

		if (!(what & parts[i].bit))
			continue;
		err[0] = 0;
		e = parts[i].read(pins, v, err, errlen);
		if (e) {
			if (!err[0])
				snprintf(err, errlen, "cannot read %s/%s: %s", pins->dir, parts[i].name,
					 strerror(-e));
			cs_view_free(v);
			return e;
		}
	}
	/* after the reads: nothing read was made later, so no age is negative */
	v->now_ns = cs_now_ns();
	return 0;
}

static void free_tables(struct cs_steer_view *sv, size_t c)
{
	size_t k;

	free(sv->table[c]);
	for (k = 0; k < CS_CHAIN_STAGES_MAX; k++)
		free(sv->stage_table[c][k]);
}

void cs_view_free(struct cs_view *v)
{
	size_t c;

	free(v->records);
	free(v->flows);
	free(v->routes);
	free(v->names);
	free(v->name_text);
	free(v->patterns);
	free(v->pattern_by_id);
	if (v->steer)
		for (c = 0; c < CS_CHAINS_MAX; c++)
			free_tables(v->steer, c);
	free(v->steer);
	memset(v, 0, sizeof(*v));
}

/* ---- looking up ---- */

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

static const char *holder_name(const struct cs_id_holder *h, const char *name)
{
	return h->state != CS_ID_FREE && name[0] ? name : "-";
}

const char *cs_view_instance_name(const struct cs_view *v, __u32 id)
{
	if (!v->steer || id >= CS_INSTANCES_MAX)
		return "-";
	return holder_name(&v->steer->ids.inst[id], v->steer->ids.inst[id].instance);
}

const char *cs_view_chain_name(const struct cs_view *v, __u32 chain_id)
{
	if (!v->steer || chain_id >= CS_CHAINS_MAX)
		return "-";
	return holder_name(&v->steer->ids.chain[chain_id], v->steer->ids.chain[chain_id].chain);
}

bool cs_view_instance_left(const struct cs_view *v, __u32 id)
{
	return v->steer && id < CS_INSTANCES_MAX && v->steer->ids.inst[id].state == CS_ID_LEFT;
}

const struct cs_chain *cs_view_chain(const struct cs_view *v, __u32 chain_id)
{
	return v->steer && v->steer->has_chains && chain_id < CS_CHAINS_MAX ? &v->steer->chain[chain_id] : NULL;
}

const struct cs_instance *cs_view_instance(const struct cs_view *v, __u32 id)
{
	return id && v->steer && v->steer->has_instances && id < CS_INSTANCES_MAX ? &v->steer->inst[id] : NULL;
}

const struct cs_bucket *cs_view_bucket(const struct cs_view *v, __u32 chain_id, __u32 code, __u32 *idx)
{
	return cs_view_stage_bucket(v, chain_id, 0, code, idx);
}

/* ---- the stages of a chain ---- */

__u32 cs_view_stages(const struct cs_view *v, __u32 chain_id)
{
	const struct cs_chain *ch = cs_view_chain(v, chain_id);

	return ch ? stages_of(ch) : 1;
}

bool cs_view_any_stages(const struct cs_view *v)
{
	__u32 c;

	for (c = 1; v->steer && c < CS_CHAINS_MAX; c++)
		if (v->steer->chain_used[c] && cs_view_stages(v, c) > 1)
			return true;
	return false;
}

const struct cs_bucket *cs_view_table(const struct cs_view *v, __u32 chain_id, __u32 stage, __u32 *len)
{
	const struct cs_steer_view *sv = v->steer;

	*len = 0;
	if (!cs_view_chain(v, chain_id) || stage >= cs_view_stages(v, chain_id))
		return NULL;
	*len = stage ? sv->stage_table_len[chain_id][stage] : sv->table_len[chain_id];
	return stage ? sv->stage_table[chain_id][stage] : sv->table[chain_id];
}

const struct cs_bucket *cs_view_stage_bucket(const struct cs_view *v, __u32 chain_id, __u32 stage, __u32 code,
					     __u32 *idx)
{
	__u32 len;
	const struct cs_bucket *t = cs_view_table(v, chain_id, stage, &len);

	/* a table's length is a power of two: its chain's n_buckets, or
	 * stage_buckets() */
	if (!t || !len)
		return NULL;
	*idx = code & (len - 1);
	return &t[*idx];
}

bool cs_view_instance_takes(const struct cs_view *v, __u32 id)
{
	const struct cs_instance *in = cs_view_instance(v, id);

	return in && (in->state == CS_INST_UP || in->state == CS_INST_WARMING);
}

struct cs_hop cs_view_hop(const struct cs_view *v, __u32 chain_id, __u32 stage, __u32 code, __u32 pinned)
{
	struct cs_hop h = { .stage = stage, .role = "none" };
	const struct cs_bucket *b = cs_view_stage_bucket(v, chain_id, stage, code, &h.bucket);

	if (b) {
		h.have_table = true;
		h.b = *b;
	}
	if (!stage && pinned) {
		h.id = pinned;
		h.role = "pinned";
	} else if (b && cs_view_instance_takes(v, b->primary)) {
		h.id = b->primary;
		h.role = "primary";
	} else if (b && cs_view_instance_takes(v, b->secondary)) {
		h.id = b->secondary;
		h.role = "secondary";
	}
	return h;
}

bool cs_view_instance_stage(const struct cs_view *v, __u32 id, __u32 *stage)
{
	const struct cs_instance *in = cs_view_instance(v, id);

	*stage = in ? v->steer->inst_stage[id] : 0;
	if (*stage || !in || cs_view_stages(v, in->chain_id) < 2)
		return true;
	return in->chain_id < CS_CHAINS_MAX && v->steer->stages_read[in->chain_id];
}

const char *cs_view_stage_name(const struct cs_view *v, __u32 chain_id, __u32 stage)
{
	if (!v->steer || chain_id >= CS_CHAINS_MAX || stage >= CS_CHAIN_STAGES_MAX)
		return NULL;
	return v->steer->stage_name[chain_id][stage][0] ? v->steer->stage_name[chain_id][stage] : NULL;
}

/* The config's chain that is chain c of the view: of its name, with as
 * many stages; NULL when none is. */
static const struct cs_chain_conf *conf_chain_of(const struct cs_view *v, const struct cs_conf *conf, __u32 c)
{
	const char *name = cs_view_chain_name(v, c);
	size_t i;

	for (i = 0; i < conf->n_chains; i++)
		if (!strcmp(conf->chains[i].name, name) && conf->chains[i].n_stages == cs_view_stages(v, c))
			return &conf->chains[i];
	return NULL;
}

void cs_view_name_stages(struct cs_view *v, const char *path, bool given)
{
	struct cs_conf conf;
	char err[1024];
	__u32 c, k;

	if (!cs_view_any_stages(v))
		return;
	if (access(path, F_OK)) {
		if (given)
			cs_warn("%s: %s: so the stages are shown by number", path, strerror(errno));
		return;
	}
	if (cs_config_load(path, &conf, err, sizeof(err))) {
		cs_warn("%s: so the stages are shown by number", err);
		return;
	}
	for (c = 1; c < CS_CHAINS_MAX; c++) {
		const struct cs_chain_conf *cc =
			v->steer->chain_used[c] && cs_view_stages(v, c) > 1 ? conf_chain_of(v, &conf, c) : NULL;

		for (k = 0; cc && k < cc->n_stages; k++)
			snprintf(v->steer->stage_name[c][k], CS_ID_NAME_MAX, "%s", cc->stages[k].name);
	}
	cs_config_free(&conf);
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

/* ---- the streams of an instance node ---- */

static int cmp_stream_row(const void *a, const void *b)
{
	return memcmp(&((const struct cs_stream_row *)a)->key, &((const struct cs_stream_row *)b)->key,
		      sizeof(struct cs_flow_key));
}

#define APPEND_STREAMS(fd, rows, n)                                                                     \
	append_rows(fd, sizeof(struct cs_flow_key), sizeof(struct cs_stream), sizeof(struct cs_stream_row), \
		    offsetof(struct cs_stream_row, stream), (void **)(rows), n)

int cs_view_streams(const struct cs_pinned *pins, struct cs_stream_row **rows, size_t *n)
{
	int e;

	*rows = NULL;
	*n = 0;
	if (pins->fd[CS_M_STREAMS] < 0)
		return -ENOENT;
	e = APPEND_STREAMS(pins->fd[CS_M_STREAMS], rows, n);
	if (!e && pins->fd[CS_M_STREAMS_NEW] >= 0)
		e = APPEND_STREAMS(pins->fd[CS_M_STREAMS_NEW], rows, n);
	if (e) {
		free(*rows);
		*rows = NULL;
		*n = 0;
		return e;
	}
	qsort(*rows, *n, sizeof(**rows), cmp_stream_row);
	return 0;
}

/* ---- facts show and explain both write ---- */

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

const char *cs_stage_text(const struct cs_view *v, __u32 chain_id, __u32 stage, char *buf, size_t len)
{
	const char *name = cs_view_stage_name(v, chain_id, stage);

	if (cs_view_stages(v, chain_id) < 2)
		snprintf(buf, len, "-");
	else if (name)
		snprintf(buf, len, "%u %s", stage, name);
	else
		snprintf(buf, len, "%u", stage);
	return buf;
}

const char *cs_instance_stage_text(const struct cs_view *v, __u32 id, char *buf, size_t len)
{
	const struct cs_instance *in = cs_view_instance(v, id);
	__u32 stage;

	if (!cs_view_instance_stage(v, id, &stage))
		snprintf(buf, len, "?");
	else
		cs_stage_text(v, in ? in->chain_id : 0, stage, buf, len);
	return buf;
}

void cs_ttl_left_json(struct cs_json *j, __u64 now_ns, __u64 expires_ns)
{
	__s64 left = cs_secs_between(now_ns, expires_ns);

	cs_json_s64(j, "ttl_left", left);
	cs_json_bool(j, "expired", left < 0);
}

void cs_acl_json(struct cs_json *j, const struct cs_route *rt)
{
	bool waiting = rt && (rt->flags & CS_ROUTE_WAIT_ACL);

	if (rt && !waiting)
		cs_json_u64(j, "acl_id", rt->acl_id);
	else
		cs_json_null(j, "acl_id");
	cs_json_bool(j, "waiting_acl", waiting);
}

void cs_view_rule_patterns_json(struct cs_json *j, const struct cs_view *v, __u32 rule_id)
{
	const struct cs_pattern_row *p;
	size_t n = cs_view_rule_patterns(v, rule_id, &p), i;

	cs_json_array(j, "patterns");
	for (i = 0; i < n && i < CS_PATTERNS_SHOWN; i++)
		cs_json_str(j, NULL, p[i].info.text);
	cs_json_close(j);
	cs_json_u64(j, "patterns_more", n > CS_PATTERNS_SHOWN ? n - CS_PATTERNS_SHOWN : 0);
}

void cs_view_stage_json(struct cs_json *j, const struct cs_view *v, __u32 chain_id, __u32 stage)
{
	const char *name = cs_view_stage_name(v, chain_id, stage);

	if (cs_view_stages(v, chain_id) < 2)
		return;
	cs_json_u64(j, "stage", stage);
	if (name)
		cs_json_str(j, "stage_name", name);
}

void cs_instance_stage_json(struct cs_json *j, const struct cs_view *v, __u32 id)
{
	const struct cs_instance *in = cs_view_instance(v, id);
	__u32 stage;

	if (!cs_view_instance_stage(v, id, &stage))
		cs_json_null(j, "stage");
	else if (in)
		cs_view_stage_json(j, v, in->chain_id, stage);
}
