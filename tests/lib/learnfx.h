/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * learnfx.h - a fixture for BPF_PROG_TEST_RUN tests of the learn program.
 *
 * It loads the program the way replay does (YAML config in a temp file,
 * cs_config_load, cs_learn_load with report_refresh and lazy tables), runs
 * one frame at a time and keeps what that run did: the verdict, the reason
 * counters it changed and the ring-buffer events it sent. Lookups of records,
 * routes and names take the text form ("www.example.test", "192.0.2.7").
 * Header-only, like testing.h; one fixture is open at a time.
 */
#ifndef CS_TEST_LEARNFX_H
#define CS_TEST_LEARNFX_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cloudsteer.h"
#include "lib/addr.h"
#include "lib/config.h"
#include "lib/learnprog.h"
#include "lib/maps.h"
#include "lib/names.h"
#include "lib/rules.h"
#include "learn.skel.h"
#include "bpffx.h"
#include "pkt.h"
#include "testing.h"

#define XDP_PASS_VERDICT 2
#define LFX_EVENTS_MAX 512	/* a 256 KiB ring holds fewer than this */

struct lfx {
	struct cs_conf conf;
	struct cs_ruleset rs;
	struct learn_bpf *skel;
	struct ring_buffer *rb;
	int prog_fd;
	bool skip_counters;	/* fuzz: runs are many, counters are not read */
	/* the last run */
	__u32 verdict;
	__u64 delta[CS_R_MAX];	/* how much each reason counter grew */
	struct cs_learn_event ev[LFX_EVENTS_MAX];
	int n_ev;
	__u8 frame[FRAME_CAP];	/* scratch for lfx_run_dns() */
};

static inline int lfx_on_event(void *ctx, void *data, size_t size)
{
	struct lfx *f = ctx;

	if (f->n_ev < LFX_EVENTS_MAX) {
		memset(&f->ev[f->n_ev], 0, sizeof(f->ev[0]));
		memcpy(&f->ev[f->n_ev], data, size < sizeof(f->ev[0]) ? size : sizeof(f->ev[0]));
	}
	f->n_ev++;
	return 0;
}

/* The config goes through a real file: the loader wants a path. */
static inline bool lfx_load_yaml(struct lfx *f, const char *yaml)
{
	char path[] = "/tmp/cs-learn-test-XXXXXX", err[512];
	int fd = mkstemp(path), rc;
	FILE *out;

	if (!EXPECT(fd >= 0, "mkstemp: %s", strerror(errno)))
		return false;
	out = fdopen(fd, "w");
	if (!out) {
		close(fd);
		unlink(path);
		return EXPECT(false, "fdopen: %s", strerror(errno));
	}
	fputs(yaml, out);
	fclose(out);
	rc = cs_config_load(path, &f->conf, err, sizeof(err));
	unlink(path);
	/* answers are sent alone here, as in a capture, unless a test asks
	 * for query matching in its YAML */
	if (!rc && !strstr(yaml, "match_queries"))
		f->conf.match_queries = false;
	return EXPECT(rc == 0, "config: %s", err);
}

/* Open a fixture with `acl_ids` ids in the pool; false (and a FAIL) if not. */
/* Load with the given options: the daemon's (no refresh events, repeats
 * reused) or replay's (lfx_open). */
static inline bool lfx_open_opts(struct lfx *f, const char *yaml, const struct cs_learn_opts *o)
{
	struct cs_learn_opts opts = *o;
	char err[512];

	memset(f, 0, sizeof(*f));
	if (!lfx_load_yaml(f, yaml))
		return false;
	f->skel = cs_learn_load(&f->conf, &opts, &f->rs, err, sizeof(err));
	if (!EXPECT(f->skel, "load: %s", err)) {
		cs_config_free(&f->conf);
		return false;
	}
	f->prog_fd = bpf_program__fd(f->skel->progs.learn);
	f->rb = ring_buffer__new(bpf_map__fd(f->skel->maps.cs_learn_events), lfx_on_event, f, NULL);
	if (!EXPECT(f->rb, "ring_buffer__new: %s", strerror(errno))) {
		learn_bpf__destroy(f->skel);
		cs_rules_free(&f->rs);
		cs_config_free(&f->conf);
		f->skel = NULL;
		return false;
	}
	return true;
}

static inline bool lfx_open(struct lfx *f, const char *yaml, __u32 acl_ids)
{
	struct cs_learn_opts opts = { .report_refresh = true, .lazy_tables = true, .acl_ids = acl_ids };

	return lfx_open_opts(f, yaml, &opts);
}

static inline void lfx_close(struct lfx *f)
{
	if (!f->skel)
		return;
	ring_buffer__free(f->rb);
	learn_bpf__destroy(f->skel);
	cs_rules_free(&f->rs);
	cs_config_free(&f->conf);
	f->skel = NULL;
}

static inline bool lfx_counters(struct lfx *f, __u64 *out)
{
	return cs_percpu_sum(bpf_map__fd(f->skel->maps.cs_learn_stats), 0, CS_R_MAX, out, 1) == 0;
}

/* Run one frame; the verdict, counter deltas and events land in f. */
static inline bool lfx_run(struct lfx *f, const void *frame, __u32 len)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = len, .repeat = 1);
	__u64 before[CS_R_MAX], after[CS_R_MAX];
	int i;

	f->n_ev = 0;
	memset(f->delta, 0, sizeof(f->delta));
	if (!f->skip_counters && !EXPECT(lfx_counters(f, before), "reading cs_learn_stats"))
		return false;
	if (!EXPECT(bpf_prog_test_run_opts(f->prog_fd, &opts) == 0, "test run (%u bytes): %s", len,
		    strerror(errno)))
		return false;
	f->verdict = opts.retval;
	ring_buffer__consume(f->rb);
	if (!f->skip_counters) {
		if (!EXPECT(lfx_counters(f, after), "reading cs_learn_stats"))
			return false;
		for (i = 0; i < CS_R_MAX; i++)
			f->delta[i] = after[i] - before[i];
	}
	return EXPECT(f->verdict == XDP_PASS_VERDICT, "verdict %u, not XDP_PASS", f->verdict);
}

static inline bool lfx_run_dns(struct lfx *f, const struct dnsmsg *m, const struct frame_opts *o)
{
	static const struct frame_opts udp4;

	return lfx_run(f, f->frame, frame_build(f->frame, o ? o : &udp4, m->b, m->len));
}

/* The one packet reason the last run counted, or -1 if not exactly one. */
static inline int lfx_reason(const struct lfx *f)
{
	__u64 total = 0;
	int i, found = -1;

	for (i = 1; i < CS_R_PACKET_END; i++) {
		total += f->delta[i];
		if (f->delta[i])
			found = i;
	}
	return total == 1 ? found : -1;
}

static inline const char *lfx_reason_name(int r)
{
	return r < 0 ? "(not exactly one)" : cs_reason_name((__u32)r);
}

#define EXPECT_REASON(f, r)                                                            \
	EXPECT(lfx_reason(f) == (r), "packet reason %s, want %s",                      \
	       lfx_reason_name(lfx_reason(f)), cs_reason_name(r))

/* ---- map contents, by text ---- */

static inline __u64 lfx_name_id(const struct lfx *f, const char *name)
{
	return cs_text_name_hash(f->rs.key, name, NULL);
}

static inline struct cs_addr lfx_addr(const char *ip)
{
	struct cs_addr a;

	memset(&a, 0, sizeof(a));
	if (cs_addr_parse(ip, &a))
		fprintf(stderr, "learnfx: bad address in a test: %s\n", ip);
	return a;
}

static inline struct cs_record_key lfx_record_key(const struct lfx *f, const char *name, const char *ip)
{
	struct cs_record_key k;

	memset(&k, 0, sizeof(k));
	k.name_id = lfx_name_id(f, name);
	k.addr = lfx_addr(ip);
	return k;
}

/* Fills *out (if given) and returns true when the record exists. */
static inline bool lfx_record(const struct lfx *f, const char *name, const char *ip, struct cs_record *out)
{
	struct cs_record_key k = lfx_record_key(f, name, ip);
	struct cs_record r;

	if (bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.cs_records), &k, &r))
		return false;
	if (out)
		*out = r;
	return true;
}

static inline bool lfx_route(const struct lfx *f, const char *ip, struct cs_route *out)
{
	struct cs_addr a = lfx_addr(ip);
	struct cs_route r;

	if (bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.cs_routes), &a, &r))
		return false;
	if (out)
		*out = r;
	return true;
}

/* The text the names map holds for `name`, or "" when it holds none. */
static inline const char *lfx_name_text(const struct lfx *f, const char *name)
{
	static struct cs_name n;
	__u64 id = lfx_name_id(f, name);

	if (bpf_map_lookup_elem(bpf_map__fd(f->skel->maps.cs_names), &id, &n))
		return "";
	n.text[CS_NAME_TEXT_MAX - 1] = 0;
	return n.text;
}

/* Entries in a hash map. */
static inline int lfx_map_len(const struct bpf_map *map)
{
	return bpffx_map_len(bpf_map__fd(map));
}

static inline int lfx_records(const struct lfx *f) { return lfx_map_len(f->skel->maps.cs_records); }
static inline int lfx_routes(const struct lfx *f) { return lfx_map_len(f->skel->maps.cs_routes); }

/* The event of the last run for (name, ip), or NULL. */
static inline const struct cs_learn_event *lfx_event(const struct lfx *f, const char *name, const char *ip)
{
	struct cs_addr a = lfx_addr(ip);
	int i;

	for (i = 0; i < f->n_ev && i < LFX_EVENTS_MAX; i++)
		if (!strcmp(f->ev[i].name.text, name) && !memcmp(&f->ev[i].addr, &a, sizeof(a)))
			return &f->ev[i];
	return NULL;
}

/* ---- running cases ---- */

/* A case on a fresh load of `conf` with `acl_ids` ids in the pool. */
struct lfx_case {
	const char *name;
	void (*fn)(void);
	const char *conf;
	__u32 acl_ids;
};

/* Rows of a table share one load; each row is a case of its own, named
 * "<group>: <title>". */
struct lfx_table {
	const char *group;
	const char *conf;
	__u32 acl_ids;
	size_t n;
	void (*title)(size_t i, char *buf, size_t len);
	void (*row)(size_t i);
};

static struct {
	struct lfx *f;
	const struct lfx_case *c;
	const struct lfx_table *t;
	size_t i;
} lfx_now;

static inline void lfx_case_body(void)
{
	if (!lfx_open(lfx_now.f, lfx_now.c->conf, lfx_now.c->acl_ids))
		return;
	lfx_now.c->fn();
	lfx_close(lfx_now.f);
}

static inline void lfx_run_case(struct lfx *f, const struct lfx_case *c)
{
	lfx_now.f = f;
	lfx_now.c = c;
	t_run(c->name, lfx_case_body);
}

static inline void lfx_row_body(void)
{
	if (!lfx_now.f->skel && !lfx_open(lfx_now.f, lfx_now.t->conf, lfx_now.t->acl_ids))
		return;
	lfx_now.t->row(lfx_now.i);
}

static inline void lfx_run_table(struct lfx *f, const struct lfx_table *t)
{
	char name[384];
	int n;

	lfx_now.f = f;
	lfx_now.t = t;
	for (lfx_now.i = 0; lfx_now.i < t->n; lfx_now.i++) {
		n = snprintf(name, sizeof(name), "%s: ", t->group);
		t->title(lfx_now.i, name + n, sizeof(name) - (size_t)n);
		t_run(name, lfx_row_body);
	}
	lfx_close(f);
}

#endif
