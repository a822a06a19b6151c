// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * learn_fuzz: seeded random mutations of answers, run through the learn
 * program under BPF_PROG_TEST_RUN and through the reference learner
 * (tests/lib/refdns.h). The answers are the campaign's built ones and the
 * real answers of the shared Knot capture (tests/lib/fuzzset.h), mutated in
 * the DNS message or, one run in 16, anywhere in the frame's headers. For
 * every run the verdict is XDP_PASS, and the events (type, question, owner,
 * address, TTL, rule, pattern, ACL id) are exactly the reference's; every
 * learned address is in the message. Every EPOCH runs the program is loaded
 * afresh, after the reason counters and the size of the record table have
 * been checked against the reference's.
 *
 * CS_FUZZ_ITERATIONS and CS_FUZZ_SEED in the environment run it longer or
 * elsewhere (make fuzz runs millions); the default is what `make test` runs.
 * CS_SHARED_CORPUS names the directory of the capture.
 */
#define _GNU_SOURCE	/* memmem */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "learnfx.h"
#include "fuzzset.h"
#include "refdns.h"

T_SUITE("learn_fuzz");

#define ITERATIONS 20000
#define EPOCH 100000	/* runs per load: the tables stay far from full */
#define SEED 0xc10d5ee7u
#define REPORT_MAX 5	/* mismatches printed before the campaign stops */

static struct lfx F;
static struct refdns R;
static struct dnsmsg *real;	/* the capture's answers */
static int n_real;
static const char *real_why;	/* why there are none */

/* ================= mutations ================= */

static __u32 rng;

static __u32 next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

/* One change to the octets buf[0..*len): a random, flipped or interesting
 * octet, a compression pointer anywhere to anywhere, a cut, or (counts_at
 * >= 0) one of the four DNS counts. */
static void mutate_octets(__u8 *buf, __u32 *len, int counts_at)
{
	static const __u8 interesting[] = { 0x00, 0x01, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xff, 0x0c, 0x05, 0x1c };
	__u32 at = *len ? next_rand() % *len : 0, kind = next_rand() % 16;

	if (!*len)
		return;
	if (kind < 5) {
		buf[at] = (__u8)next_rand();
	} else if (kind < 9) {
		buf[at] ^= (__u8)(1u << (next_rand() % 8));
	} else if (kind < 12) {
		buf[at] = interesting[next_rand() % sizeof(interesting)];
	} else if (kind < 14) {
		__u32 to = next_rand() % *len;

		if (at + 1 < *len) {
			buf[at] = (__u8)(0xC0 | to >> 8);
			buf[at + 1] = (__u8)to;
		}
	} else if (kind < 15 || counts_at < 0) {
		*len = next_rand() % (*len + 1);
	} else if ((__u32)counts_at + 12 <= *len) {
		buf[counts_at + 4 + 2 * (next_rand() % 4) + 1] = (__u8)(next_rand() % 8);
	}
}

static void mutate_message(struct dnsmsg *m)
{
	int k, n = 1 + (int)(next_rand() % 4);

	for (k = 0; k < n; k++)
		mutate_octets(m->b, &m->len, 0);
}

/* Headers are what a frame mutation is for: most changes land in the first
 * 80 octets (Ethernet, two tags, IPv6, TCP), the rest anywhere. */
static void mutate_frame(__u8 *frame, __u32 *len)
{
	int k, n = 1 + (int)(next_rand() % 3);

	for (k = 0; k < n; k++) {
		__u32 span = *len < 80 || next_rand() % 4 == 0 ? *len : 80, cut = span;

		mutate_octets(frame, &cut, -1);
		/* a cut in the headers ends the frame there, but no shorter than
		 * Ethernet: BPF_PROG_TEST_RUN refuses less */
		if (cut < span)
			*len = cut < 14 ? 14 : cut;
	}
}

/* ================= comparing ================= */

static int reported;

static void dump(const char *what, const __u8 *b, __u32 len)
{
	__u32 i;

	printf("    %s (%u octets):", what, len);
	for (i = 0; i < len; i++)
		printf("%s%02x", i % 32 ? " " : "\n    ", b[i]);
	printf("\n");
}

/* The run to blame: a message wrapped with o, or a whole frame. */
struct fuzz_run {
	int iter;
	const struct dnsmsg *m;
	const struct frame_opts *o;
	const __u8 *frame;
	__u32 frame_len;
};

static bool run_program(const struct fuzz_run *r)
{
	return r->frame ? lfx_run(&F, r->frame, r->frame_len) : lfx_run_dns(&F, r->m, r->o);
}

__attribute__((format(printf, 2, 3)))
static void mismatch(const struct fuzz_run *r, const char *fmt, ...)
{
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (reported++ >= REPORT_MAX)
		return;
	/* run it again, counting, to say what the program made of it */
	F.skip_counters = false;
	run_program(r);
	F.skip_counters = true;
	EXPECT(false, "iteration %d: %s (program again: %s; reference: %s)", r->iter, why,
	       lfx_reason_name(lfx_reason(&F)), cs_reason_name((__u32)R.reason));
	if (r->frame)
		dump("frame", r->frame, r->frame_len);
	else
		dump("message", r->m->b, r->m->len);
}

static bool in_bytes(const __u8 *b, __u32 len, const struct cs_addr *a)
{
	const __u8 *p = refdns_v4_mapped(a) ? a->b + 12 : a->b;
	__u32 n = refdns_v4_mapped(a) ? 4 : 16;

	return len >= n && memmem(b, len, p, n) != NULL;
}

/* Names from mutated messages hold any octet: escape them for the log. */
static const char *vis(const char *s, char *buf)
{
	char *o = buf;

	for (; *s && o < buf + 4 * CS_NAME_TEXT_MAX - 5; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c >= 0x7f || c == '\\')
			o += sprintf(o, "\\x%02x", c);
		else
			*o++ = (char)c;
	}
	*o = 0;
	return buf;
}

static void compare_events(const struct fuzz_run *run)
{
	static char v[4][4 * CS_NAME_TEXT_MAX];
	const __u8 *b = run->frame ? run->frame : run->m->b;
	__u32 len = run->frame ? run->frame_len : run->m->len;
	int i;

	if (F.n_ev != R.n_ev) {
		mismatch(run, "%d events, reference %d", F.n_ev, R.n_ev);
		return;
	}
	for (i = 0; i < F.n_ev; i++) {
		const struct cs_learn_event *e = &F.ev[i];
		const struct refdns_event *r = &R.ev[i];

		if (!in_bytes(b, len, &e->addr))
			mismatch(run, "event %d: learned an address not in the message", i);
		if (e->type != r->type || memcmp(&e->addr, &r->addr, sizeof(r->addr)) ||
		    strcmp(e->name.text, r->name) || strcmp(e->qname.text, R.qname) ||
		    e->ttl != r->ttl || e->rule_id != r->rule || e->pattern_id != r->pattern ||
		    e->acl_id != r->acl)
			mismatch(run,
				 "event %d: type %u name \"%s\" q \"%s\" ttl %u rule %u/%u acl %u; reference "
				 "type %u name \"%s\" q \"%s\" ttl %u rule %u/%u acl %u", i, e->type,
				 vis(e->name.text, v[0]), vis(e->qname.text, v[1]), e->ttl, e->rule_id,
				 e->pattern_id, e->acl_id,
				 r->type, vis(r->name, v[2]), vis(R.qname, v[3]), r->ttl, r->rule,
				 r->pattern, r->acl);
	}
}

static void compare_counters(int epoch)
{
	__u64 got[CS_R_MAX];
	int i;

	if (!EXPECT(lfx_counters(&F, got), "reading counters"))
		return;
	for (i = 1; i < CS_R_MAX; i++)
		EXPECT(got[i] == R.counts[i], "epoch %d: %s: %llu, reference %llu", epoch,
		       cs_reason_name((__u32)i) ? cs_reason_name((__u32)i) : "?",
		       (unsigned long long)got[i], (unsigned long long)R.counts[i]);
	EXPECT(lfx_records(&F) == (int)R.n_records, "epoch %d: %d records, reference %u", epoch,
	       lfx_records(&F), R.n_records);
	EXPECT(lfx_routes(&F) == (int)R.n_routes, "epoch %d: %d routes, reference %u", epoch,
	       lfx_routes(&F), R.n_routes);
}

/* ================= the campaign ================= */

static bool epoch_open(void)
{
	if (!lfx_open(&F, FUZZSET_CONF, fuzzset_rules.acl_ids))
		return false;
	if (!EXPECT(refdns_init(&R, &fuzzset_rules, F.rs.key), "out of memory")) {
		lfx_close(&F);
		return false;
	}
	F.skip_counters = true;
	return true;
}

static void epoch_close(int epoch)
{
	if (!reported)
		compare_counters(epoch);
	lfx_close(&F);
	refdns_free(&R);
}

/* Built answers and real ones take turns. */
static const struct dnsmsg *pick_answer(int iter, const struct dnsmsg *built)
{
	if (n_real && iter % 2)
		return &real[(iter / 2) % n_real];
	return &built[(iter / 2) % FUZZSET_N_BASES];
}

static const struct frame_opts transports[] = {
	{ 0 },
	{ .ipv6 = true, .tcp = true },
	{ .ipv6 = true, .vlans = 2 },
	{ .tcp = true, .vlans = 1 },
};

struct figures {
	long runs, real_runs, frame_runs, learned;
	int epochs;
};

static void run_one(int iter, const struct dnsmsg *built, struct figures *fig)
{
	static __u8 frame[FRAME_CAP];
	static struct dnsmsg m;
	struct fuzz_run run = { .iter = iter, .m = &m };

	m = *pick_answer(iter, built);
	fig->real_runs += n_real && iter % 2;
	if (iter % 16 == 5) {	/* the frame's headers */
		run.frame = frame;
		run.frame_len = frame_build(frame, &transports[next_rand() % 4], m.b, m.len);
		mutate_frame(frame, &run.frame_len);
		refdns_learn_frame(&R, frame, run.frame_len);
		fig->frame_runs++;
	} else {
		mutate_message(&m);
		run.o = iter % 8 ? &transports[0] : &transports[1];
		refdns_learn(&R, m.b, m.len);
	}
	if (!run_program(&run)) {
		mismatch(&run, "the run failed");
		return;
	}
	compare_events(&run);
	fig->learned += R.reason == CS_R_LEARNED;
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void mutations_agree_with_reference(void)
{
	static struct dnsmsg built[FUZZSET_N_BASES];
	const char *env_n = getenv("CS_FUZZ_ITERATIONS"), *env_seed = getenv("CS_FUZZ_SEED");
	int iterations = env_n ? atoi(env_n) : ITERATIONS, iter;
	struct figures fig = { 0 };
	struct timespec t0;
	double secs;
	size_t b;

	rng = env_seed ? (__u32)strtoul(env_seed, NULL, 0) : SEED;
	if (!rng)
		rng = SEED;
	for (b = 0; b < FUZZSET_N_BASES; b++)
		fuzzset_base(b, &built[b]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (iter = 0; iter < iterations && !reported; iter++) {
		if (iter % EPOCH == 0) {
			if (iter)
				epoch_close(fig.epochs);
			if (!epoch_open())
				return;
			fig.epochs++;
		}
		run_one(iter, built, &fig);
		fig.runs++;
	}
	if (fig.epochs)
		epoch_close(fig.epochs);
	secs = seconds_since(&t0);
	printf("learn_fuzz: %ld runs (%ld of real answers, %ld with mutated headers, %ld learned) "
	       "in %d loads, %.1f s, %.0f runs/s, seed %#x\n", fig.runs, fig.real_runs, fig.frame_runs,
	       fig.learned, fig.epochs, secs, secs > 0 ? (double)fig.runs / secs : 0.0,
	       env_seed ? (__u32)strtoul(env_seed, NULL, 0) : SEED);
}

/* The unmutated answers first: the reference must learn from the built ones
 * and from some of the real ones, or the fuzz would compare nothing with
 * nothing. */
static void reference_learns_the_answers(void)
{
	static struct dnsmsg m;
	struct fuzz_run run = { .m = &m };
	int i, taught = 0;

	if (!epoch_open())
		return;
	for (i = 0; i < FUZZSET_N_BASES; i++) {
		fuzzset_base((size_t)i, &m);
		run.iter = -1 - i;
		EXPECT(refdns_learn(&R, m.b, m.len) == CS_R_LEARNED && R.n_ev > 0,
		       "built answer %d: the reference learns nothing", i);
		if (lfx_run_dns(&F, &m, NULL))
			compare_events(&run);
	}
	for (i = 0; i < n_real; i++) {
		m = real[i];
		run.iter = -100 - i;
		taught += refdns_learn(&R, m.b, m.len) == CS_R_LEARNED;
		if (lfx_run_dns(&F, &m, NULL))
			compare_events(&run);
	}
	EXPECT(!n_real || taught >= n_real / 4, "the reference learns from %d of %d real answers", taught,
	       n_real);
	epoch_close(0);
}

static void real_answers_are_read(void)
{
	if (real_why)
		T_SKIP("%s", real_why);
	else
		EXPECT(n_real > 100, "%d answers in %s", n_real, fuzzset_capture());
}

int main(void)
{
	static char err[512];

	n_real = fuzzset_capture_answers(fuzzset_capture(), &real, err, sizeof(err));
	if (n_real < 0) {
		n_real = 0;
		real_why = err;
	}
	RUN(real_answers_are_read);
	RUN(reference_learns_the_answers);
	RUN(mutations_agree_with_reference);
	free(real);
	T_EXIT();
}
