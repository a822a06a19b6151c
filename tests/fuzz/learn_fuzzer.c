// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * learn_fuzzer - a libFuzzer target over the learn program: bpf/learn.bpf.c
 * itself, compiled as userspace C over the shim (learn_prog.c), run on each
 * input and held to the reference learner (tests/lib/refdns.h).
 *
 * An input is one octet of how, then the bytes:
 *   bit 0      0: the bytes are an Ethernet frame, as they come;
 *              1: they are a DNS message, wrapped in a frame built for it
 *                 (tests/lib/pkt.h) with
 *   bits 1-2      the transport: UDP/IPv4, UDP/IPv6, TCP/IPv4, TCP/IPv6,
 *   bits 3-4      VLAN tags: 0, 1, 2 (and 3 counts as 0);
 *   bits 5-6   runs of the same frame after the first (0-3), each with
 *              another DNS ID, as a resolver answers many clients: they
 *              reach the reuse of repeated answers;
 *   bit 7      the tight config (fuzzset.h): resolvers, small tables.
 * Raw frames exercise packet.h and the locator in dns.h; wrapped messages get
 * past them into the rest of dns.h.
 *
 * Every input starts from fresh maps (shim_reset) filled as the loader
 * fills them from a config of tests/lib/fuzzset.h, through the project's own
 * config parser and rules compiler, and a pool of ACL ids that big answers
 * empty (plain) or that outnumbers the routes (tight). The packet lies below
 * 4 GiB (the context holds __u32 addresses) and ends at a PROT_NONE page, so
 * a read past data_end faults; the octets before it are poisoned for
 * AddressSanitizer. After each run:
 *   - the verdict is XDP_PASS, every reserved ring buffer record was
 *     submitted or discarded, and exactly one packet reason was counted;
 *   - the packet reason, the record reasons and every event (type, question,
 *     owner, address, TTL, rule, pattern, ACL id) are the reference's; each
 *     address is in the message and each owner on the reference's chain;
 *   - the record, route and name tables hold what the reference holds
 *     (rule, pattern, TTL, hits, expiry; ACL ids; names), and no ACL id is
 *     lost;
 *   - a run after the first reuses the outcome of the one before exactly
 *     when the reference does (docs/concepts.md, "Repeated answers").
 * A failed check prints what differs and aborts, so libFuzzer keeps the input.
 */
#define _GNU_SOURCE	/* memmem, MAP_32BIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/types.h>
#include <sanitizer/asan_interface.h>

#include "shim_api.h"
#include "cloudsteer.h"
#define DIE_NAME "learn_fuzzer"
#define DIE_STATUS 2
#include "die.h"
#include "fuzzset.h"
#include "lib/config.h"
#include "lib/learnprog.h"
#include "lib/names.h"
#include "lib/never.h"
#include "lib/rules.h"
#include "refdns.h"

int learn(struct xdp_md *ctx);
extern const struct shim_map_def learn_maps[];

/* ACL ids in the pool. Plain: few, so big answers empty it. Tight: more
 * than the 16 routes, so a full route table gives its id back. */
#define PLAIN_ACL_IDS 16
#define TIGHT_ACL_IDS 24
#define HOW_WRAPPED 0x01
#define HOW_TRANSPORT(h) (((h) >> 1) & 3)
#define HOW_VLANS(h) ((((h) >> 3) & 3) % 3)
#define HOW_RUNS(h) (1 + (((h) >> 5) & 3))
#define HOW_TIGHT 0x80
#define PAGE 4096u
#define PACKET_ROOM (3 * PAGE)	/* the largest frame: a message over CS_MSG_MAX, wrapped */
#define START_NS (1000ULL * 1000000000ULL)
#define RUN_GAP_NS 1000000ULL	/* between runs of one input: well inside the reuse second */

static struct {
	const struct shim_map_def *config, *rules, *rule_names, *resolvers, *records, *routes, *names,
		*acl_pool, *stats, *events, *never;
} M;

/* A config as the loader reads and compiles it, and as the reference does. */
struct variant {
	struct cs_conf conf;
	struct cs_ruleset rs;
	struct refdns_rules ref;
};

static struct variant plain, tight;
static struct refdns R;
static __u8 *room;		/* PACKET_ROOM octets, then the guard page */

/* ================= setting up ================= */

static const struct shim_map_def *map_named(const char *name)
{
	const struct shim_map_def *d;

	for (d = learn_maps; d->map; d++)
		if (!strcmp(d->name, name))
			return d;
	die("learn_prog.c lists no map %s", name);
}

static const __u64 name_key[2] = { 0x5eedc0de0123abcdULL, 0x0ddba11fee1dead5ULL };

/* The config goes through the project's own parser (which wants a file) and
 * rules compiler, under a fixed key so that runs repeat. */
static void compile_variant(struct variant *v, const char *yaml, const struct refdns_rules *ref,
			    __u32 acl_ids)
{
	char path[] = "/tmp/cs-fuzz-XXXXXX", err[512];
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, yaml, strlen(yaml)) != (ssize_t)strlen(yaml))
		die("cannot write the config to %s", path);
	close(fd);
	if (cs_config_load(path, &v->conf, err, sizeof(err)))
		die("config: %s", err);
	unlink(path);
	if (cs_rules_compile(&v->conf, name_key, &v->rs, err, sizeof(err)))
		die("rules: %s", err);
	v->ref = *ref;
	v->ref.acl_ids = acl_ids;
}

/* Below 4 GiB, followed by a page that faults. */
static void map_packet_room(void)
{
	void *p = mmap(NULL, PACKET_ROOM + PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);

	if (p == MAP_FAILED || (unsigned long)p + PACKET_ROOM + PAGE > 0xffffffffUL)
		die("cannot map the packet below 4 GiB");
	if (mprotect((__u8 *)p + PACKET_ROOM, PAGE, PROT_NONE))
		die("cannot make the guard page");
	room = p;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	M.config = map_named("cs_config");
	M.rules = map_named("cs_rules");
	M.rule_names = map_named("cs_rule_names");
	M.resolvers = map_named("cs_resolvers");
	M.records = map_named("cs_records");
	M.routes = map_named("cs_routes");
	M.names = map_named("cs_names");
	M.acl_pool = map_named("cs_acl_pool");
	M.stats = map_named("cs_learn_stats");
	M.events = map_named("cs_learn_events");
	M.never = map_named("cs_never");
	compile_variant(&plain, FUZZSET_CONF, &fuzzset_rules, PLAIN_ACL_IDS);
	compile_variant(&tight, FUZZSET_CONF_TIGHT, &fuzzset_rules_tight, TIGHT_ACL_IDS);
	if (!refdns_init(&R, &plain.ref, name_key))
		die("out of memory");
	R.reuse_repeats = true;	/* as the daemon loads the program */
	map_packet_room();
	return 0;
}

static int put_never(const struct cs_prefix *p, __u32 kind, void *ctx)
{
	struct cs_never_key k = { .prefixlen = p->len, .addr = p->addr };

	(void)ctx;
	return shim_map_update(M.never, &k, &kind, BPF_ANY);
}

/* What cs_learn_load leaves in fresh maps: tables of the config's sizes,
 * the resolvers, the never-steer prefixes, the rules, the config entry
 * with learning on, a stocked pool. */
static void fresh_maps(const struct variant *v)
{
	const struct cs_ruleset *rs = &v->rs;
	struct cs_config cfg = { 0 };
	__u32 i, zero = 0, unused = 0;
	size_t n;

	shim_reset();
	shim_map_set_max_entries(M.records, v->conf.limit_records);
	shim_map_set_max_entries(M.names, v->conf.limit_records);
	shim_map_set_max_entries(M.routes, v->conf.limit_routes);
	for (n = 0; n < v->conf.n_resolvers; n++)
		shim_map_update(M.resolvers, &v->conf.resolvers[n], &unused, BPF_ANY);
	if (cs_never_each(&v->conf, put_never, NULL))
		die("cs_never is full");
	for (i = 0; i < rs->n_rules; i++)
		shim_map_update(M.rules, &i, &rs->rules[i], BPF_ANY);
	for (n = 0; n < rs->n_names; n++)
		shim_map_update(M.rule_names, &rs->names[n].hash, &rs->names[n].value, BPF_ANY);
	cfg.name_key[0] = rs->key[0];
	cfg.name_key[1] = rs->key[1];
	cfg.depth_mask[0] = rs->depth_mask[0];
	cfg.depth_mask[1] = rs->depth_mask[1];
	cfg.max_records = v->conf.max_records;
	cfg.flags = CS_CFG_READY | (v->conf.n_resolvers ? CS_CFG_RESOLVERS : 0);
	cfg.generation = 1;
	shim_map_update(M.config, &zero, &cfg, BPF_ANY);
	for (i = 1; i <= v->ref.acl_ids; i++)
		shim_map_push(M.acl_pool, &i, 0);
}

/* The frame at the end of the room; the octets before it poisoned. */
static struct xdp_md place_frame(const __u8 *frame, __u32 len)
{
	__u8 *at = room + PACKET_ROOM - len;
	struct xdp_md ctx = { 0 };

	ASAN_UNPOISON_MEMORY_REGION(room, PACKET_ROOM);
	memcpy(at, frame, len);
	ASAN_POISON_MEMORY_REGION(room, PACKET_ROOM - len);
	ctx.data = (__u32)(unsigned long)at;
	ctx.data_end = (__u32)(unsigned long)(at + len);
	ctx.data_meta = ctx.data;
	return ctx;
}

/* ================= what a run did ================= */

struct run_view {
	__u64 counts[CS_R_MAX];		/* cs_learn_stats after the run */
	__u64 delta[CS_R_MAX];
	struct cs_learn_event ev[CS_ADDRS_MAX];
	int n_ev;
	int reason;			/* the one packet reason counted, or -1 */
};

static int add_count(void *ctx, const void *key, const void *value)
{
	__u64 *counts = ctx;
	__u32 k;

	memcpy(&k, key, 4);
	if (k < CS_R_MAX)
		counts[k] += *(const __u64 *)value;
	return 0;
}

static int take_event(void *ctx, const void *data, __u32 size)
{
	struct run_view *v = ctx;

	if (v->n_ev < CS_ADDRS_MAX) {
		memset(&v->ev[v->n_ev], 0, sizeof(v->ev[0]));
		memcpy(&v->ev[v->n_ev], data, size < sizeof(v->ev[0]) ? size : sizeof(v->ev[0]));
	}
	v->n_ev++;
	return 0;
}

static void read_run(struct run_view *v, const __u64 *before)
{
	__u64 total = 0;
	int i;

	memset(v->counts, 0, sizeof(v->counts));
	shim_map_each(M.stats, add_count, v->counts);
	v->reason = -1;
	for (i = 0; i < CS_R_MAX; i++)
		v->delta[i] = v->counts[i] - before[i];
	for (i = 1; i < CS_R_PACKET_END; i++) {
		total += v->delta[i];
		if (v->delta[i])
			v->reason = i;
	}
	if (total != 1)
		v->reason = -1;
	v->n_ev = 0;
	shim_ringbuf_consume(M.events, take_event, v);
}

/* ================= the checks ================= */

/* What is being checked, for the message of a failed check. */
static struct {
	const __u8 *frame;
	__u32 frame_len;
	int run;
} now;

static void dump(const __u8 *b, __u32 len)
{
	__u32 i;

	for (i = 0; i < len; i++)
		fprintf(stderr, "%s%02x", i % 32 ? " " : "\n    ", b[i]);
	fprintf(stderr, "\n");
}

__attribute__((noreturn, format(printf, 1, 2)))
static void disagree(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "learn_fuzzer: run %d: ", now.run);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n  reference: %s\n  frame (%u octets):", cs_reason_name((__u32)R.reason),
		now.frame_len);
	dump(now.frame, now.frame_len);
	abort();
}

static const char *reason_name(int r)
{
	return r < 0 ? "(not exactly one)" : cs_reason_name((__u32)r);
}

/* Record reasons as the reference counts them; a reused outcome counts
 * repeats and the refreshes again, and nothing else. */
static void check_counters(const struct run_view *v)
{
	int i;

	for (i = CS_R_PACKET_END + 1; i < CS_R_MAX; i++)
		if (v->delta[i] != R.counts[i])
			disagree("%s: %llu, reference %llu%s", cs_reason_name((__u32)i),
				 (unsigned long long)v->delta[i], (unsigned long long)R.counts[i],
				 R.reused ? " (a repeat)" : "");
}

static bool in_bytes(const __u8 *b, __u32 len, const struct cs_addr *a)
{
	const __u8 *p = refdns_v4_mapped(a) ? a->b + 12 : a->b;
	__u32 n = refdns_v4_mapped(a) ? 4 : 16;

	return len >= n && memmem(b, len, p, n) != NULL;
}

static bool on_chain(const char *name)
{
	int i;

	for (i = 0; i < R.n_chain; i++)
		if (!strcmp(R.chain[i], name))
			return true;
	return false;
}

/* The program sends events for new records only (report_refresh is off). */
static void check_events(const struct run_view *v)
{
	int i, k = 0;

	for (i = 0; i < R.n_ev; i++) {
		const struct refdns_event *r = &R.ev[i];
		const struct cs_learn_event *e;

		if (r->type != CS_EV_RECORD_NEW)
			continue;
		if (k >= v->n_ev)
			disagree("%d events, the reference has more", v->n_ev);
		e = &v->ev[k++];
		if (!in_bytes(now.frame, now.frame_len, &e->addr))
			disagree("event %d: an address that is not in the frame", k - 1);
		if (strcmp(e->qname.text, R.qname) || !on_chain(e->name.text))
			disagree("event %d: owner \"%s\" of question \"%s\" is not on the reference's chain",
				 k - 1, e->name.text, e->qname.text);
		if (e->type != r->type || memcmp(&e->addr, &r->addr, sizeof(r->addr)) ||
		    strcmp(e->name.text, r->name) || e->ttl != r->ttl || e->rule_id != r->rule ||
		    e->pattern_id != r->pattern || e->acl_id != r->acl || e->ts_ns != shim_clock_ns)
			disagree("event %d: name \"%s\" ttl %u rule %u/%u acl %u; reference name \"%s\" "
				 "ttl %u rule %u/%u acl %u", k - 1, e->name.text, e->ttl, e->rule_id,
				 e->pattern_id, e->acl_id, r->name, r->ttl, r->rule, r->pattern, r->acl);
	}
	if (k != v->n_ev)
		disagree("%d events, reference %d", v->n_ev, k);
}

static int check_record(void *ctx, const void *key, const void *value)
{
	const struct cs_record_key *k = key;
	const struct cs_record *rec = value;
	const struct refdns_record *r = refdns_record(&R, k->name_id, &k->addr);

	(void)ctx;
	if (!r)
		disagree("a record the reference does not have");
	if (rec->rule_id != r->rule || rec->pattern_id != r->pattern || rec->ttl != r->ttl ||
	    rec->hits != r->hits || rec->expires_ns != r->expires_ns || rec->last_ns > shim_clock_ns)
		disagree("record: rule %u/%u ttl %u hits %u expires %llu; reference rule %u/%u ttl %u "
			 "hits %u expires %llu", rec->rule_id, rec->pattern_id, rec->ttl, rec->hits,
			 (unsigned long long)rec->expires_ns, r->rule, r->pattern, r->ttl, r->hits,
			 (unsigned long long)r->expires_ns);
	if (!shim_map_lookup(M.names, &k->name_id))
		disagree("a record whose name is not in cs_names");
	return 0;
}

static int check_route(void *ctx, const void *key, const void *value)
{
	const struct cs_route *rt = value;
	const struct refdns_route *r = refdns_route(&R, key);
	__u32 *with_ids = ctx;

	if (!r)
		disagree("a route the reference does not have");
	if (rt->acl_id != r->acl || !!(rt->flags & CS_ROUTE_WAIT_ACL) != !r->acl)
		disagree("route: ACL id %u flags %#x; reference %u", rt->acl_id, rt->flags, r->acl);
	*with_ids += !!rt->acl_id;
	return 0;
}

static void check_tables(void)
{
	__u32 with_ids = 0;

	if (shim_map_count(M.records) != R.n_records || shim_map_count(M.routes) != R.n_routes)
		disagree("%u records and %u routes; reference %u and %u", shim_map_count(M.records),
			 shim_map_count(M.routes), R.n_records, R.n_routes);
	if (shim_map_count(M.names) > R.n_records)
		disagree("%u names for %u records", shim_map_count(M.names), R.n_records);
	shim_map_each(M.records, check_record, NULL);
	shim_map_each(M.routes, check_route, &with_ids);
	if (with_ids + shim_map_count(M.acl_pool) != R.rules->acl_ids)
		disagree("ACL ids: %u on routes and %u in the pool, of %u", with_ids,
			 shim_map_count(M.acl_pool), R.rules->acl_ids);
}

/* Another client's copy of the answer: the same octets but the DNS ID. */
static void next_dns_id(__u8 *frame, __u32 len, int run)
{
	struct refdns_loc loc;

	if (!refdns_locate(frame, len, &loc) && loc.len >= 2)
		frame[loc.off] ^= (__u8)(0x3b * run);
}

/* One run of the frame through the program and the reference. */
static void run_once(struct xdp_md *ctx, const __u64 *before, struct run_view *v)
{
	int verdict;

	shim_clock_ns += RUN_GAP_NS;
	R.now_ns = shim_clock_ns;
	verdict = learn(ctx);
	if (verdict != XDP_PASS)
		disagree("verdict %d, not XDP_PASS", verdict);
	if (shim_ringbuf_pending())
		disagree("%u ring buffer records neither submitted nor discarded", shim_ringbuf_pending());
	read_run(v, before);
	refdns_learn_frame(&R, now.frame, now.frame_len);
	if (v->reason < 0)
		disagree("not exactly one packet reason counted");
	if (v->reason != R.reason)
		disagree("packet reason %s", reason_name(v->reason));
	check_counters(v);
	check_events(v);
	check_tables();
}

/* ================= the input ================= */

static const struct frame_opts *wrap_opts(__u8 how)
{
	static struct frame_opts o;

	memset(&o, 0, sizeof(o));
	o.ipv6 = HOW_TRANSPORT(how) & 1;
	o.tcp = HOW_TRANSPORT(how) >> 1;
	o.vlans = HOW_VLANS(how);
	return &o;
}

/* The frame an input stands for, in buf; its length, or 0 for none. */
static __u32 frame_of(const __u8 *data, size_t size, __u8 *buf)
{
	__u8 how = data[0];

	data++;
	size--;
	if (!(how & HOW_WRAPPED)) {
		if (size > PACKET_ROOM)
			return 0;
		memcpy(buf, data, size);
		return (__u32)size;
	}
	/* the headers frame_build adds: 14 + 2 tags + IPv6 + TCP + prefix */
	if (size > FRAME_CAP - (14 + 8 + 40 + 20 + 2))
		return 0;
	return frame_build(buf, wrap_opts(how), data, (__u32)size);
}

int LLVMFuzzerTestOneInput(const __u8 *data, size_t size)
{
	static __u8 frame[FRAME_CAP > PACKET_ROOM ? FRAME_CAP : PACKET_ROOM];
	static struct run_view view;
	__u64 before[CS_R_MAX] = { 0 };
	const struct variant *v;
	struct xdp_md ctx;
	int run, runs;
	__u32 len;

	if (!size)
		return 0;
	len = frame_of(data, size, frame);
	if (!len && size > 1)
		return 0;
	runs = HOW_RUNS(data[0]);
	v = data[0] & HOW_TIGHT ? &tight : &plain;
	fresh_maps(v);
	R.rules = &v->ref;
	refdns_reset(&R);
	shim_clock_ns = START_NS;
	ctx = place_frame(frame, len);
	now.frame = (const __u8 *)(unsigned long)ctx.data;
	now.frame_len = len;
	for (run = 0; run < runs; run++) {
		now.run = run;
		if (run)
			next_dns_id((__u8 *)(unsigned long)ctx.data, len, run);
		/* the reference counts from zero every run; the program's stats
		 * go on, so each run is told what they were before it */
		memset(R.counts, 0, sizeof(R.counts));
		run_once(&ctx, before, &view);
		memcpy(before, view.counts, sizeof(before));
	}
	return 0;
}
