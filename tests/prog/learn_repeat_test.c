// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The repeat cache of the learn program, loaded as the daemon loads it (no
 * refresh events): an answer identical to one this CPU handled in the last
 * second, ID aside, reuses that outcome instead of walking again, but only
 * an outcome that created nothing, and only within one config generation.
 *
 * The cache is per CPU and lasts a second of the clock, so the test runs on
 * one CPU and sets the kept outcome's deadline itself: what it checks does
 * not depend on how fast the machine gets from one run to the next.
 */
#define _GNU_SOURCE
#include <sched.h>

#include "learnfx.h"

T_SUITE("learn_repeat");

static struct lfx F;
static struct dnsmsg M;

static const char CONF[] = "rules:\n  - match: [example.test]\n";
static const char CONF_CAP1[] = "learn:\n  max_records: 1\nrules:\n  - match: [example.test]\n";

static bool open_daemon_mode_with(const char *conf)
{
	const struct cs_learn_opts opts = { .lazy_tables = true, .acl_ids = 16 };

	return lfx_open_opts(&F, conf, &opts);
}

static bool open_daemon_mode(void) { return open_daemon_mode_with(CONF); }

static void answer(const char *name, __u16 id, __u32 ttl)
{
	static const char *const ip[] = { "192.0.2.7", "192.0.2.8" };

	dns_simple_answer(&M, name, ip, 2, ttl);
	dns_set16(&M, 0, id);
}

static bool run(void) { return lfx_run_dns(&F, &M, NULL); }

/* Every BPF_PROG_TEST_RUN of this test on one CPU, so they share a cache. */
static bool stay_on_this_cpu(void)
{
	cpu_set_t one;
	int cpu = sched_getcpu();

	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	return cpu >= 0 && !sched_setaffinity(0, sizeof(one), &one);
}

/* Give every outcome this CPU keeps the deadline until_ns (CLOCK_MONOTONIC_
 * COARSE): far ahead, the next run is within its second however long the
 * machine took; 1, it is over. Returns how many outcomes it moved. */
static int set_repeat_deadline(__u64 until_ns)
{
	int fd = bpf_map__fd(F.skel->maps.cs_repeats), ncpu = libbpf_num_possible_cpus(), cpu = sched_getcpu();
	struct cs_repeat_slot *v = calloc(ncpu > 0 ? ncpu : 1, sizeof(*v));
	__u32 key;
	int moved = 0;

	for (key = 0; v && cpu >= 0 && cpu < ncpu && key < CS_REPEAT_SLOTS; key++) {
		if (bpf_map_lookup_elem(fd, &key, v) || !v[cpu].until_ns)
			continue;
		v[cpu].until_ns = until_ns;
		moved += !bpf_map_update_elem(fd, &key, v, BPF_ANY);
	}
	free(v);
	return moved;
}

static __u32 hits(const char *ip)
{
	struct cs_record r = { 0 };

	lfx_record(&F, "www.example.test", ip, &r);
	return r.hits;
}

/* userspace writing the config again: what a reload or an expiry sweep does */
static bool new_generation(void)
{
	return EXPECT(cs_rules_write(&F.rs, &F.conf, bpf_map__fd(F.skel->maps.cs_rule_names),
				     bpf_map__fd(F.skel->maps.cs_rules),
				     bpf_map__fd(F.skel->maps.cs_config)) == 0, "cs_rules_write");
}

static void identical_answer_reuses_refresh(void)
{
	if (!open_daemon_mode())
		return;
	answer("www.example.test", 1, 300);
	if (!run() || !EXPECT_REASON(&F, CS_R_LEARNED))
		goto out;
	EXPECT_EQ(F.n_ev, 2);	/* two new records */
	if (!run() || !EXPECT_REASON(&F, CS_R_REFRESHED))
		goto out;
	EXPECT_EQ(F.delta[CS_R_REPEATS], 0);
	EXPECT_EQ(hits("192.0.2.7"), 2);
	if (!EXPECT_EQ(set_repeat_deadline(UINT64_MAX), 1))	/* the refresh's outcome, kept */
		goto out;
	/* the same answer to another client (another ID): reused */
	answer("www.example.test", 2, 300);
	if (!run() || !EXPECT_REASON(&F, CS_R_REFRESHED))
		goto out;
	EXPECT_EQ(F.delta[CS_R_REPEATS], 1);
	EXPECT_EQ(F.delta[CS_R_REC_REFRESHED], 2);
	EXPECT_EQ(hits("192.0.2.7"), 2);	/* not walked, so not counted in hits */
	EXPECT_EQ(F.n_ev, 0);
out:
	lfx_close(&F);
}

/* Past its second, a kept outcome is not reused: the answer is walked. */
static void reuse_ends_after_its_second(void)
{
	if (!open_daemon_mode())
		return;
	answer("www.example.test", 1, 300);
	if (!run() || !run())
		goto out;
	if (!EXPECT_EQ(set_repeat_deadline(1), 1))
		goto out;
	answer("www.example.test", 2, 300);
	if (!run() || !EXPECT_REASON(&F, CS_R_REFRESHED))
		goto out;
	EXPECT_EQ(F.delta[CS_R_REPEATS], 0);
	EXPECT_EQ(hits("192.0.2.7"), 3);	/* walked, so counted */
out:
	lfx_close(&F);
}

/* A TTL one second lower is another answer: walked, hits counted. */
static void changed_bytes_are_walked(void)
{
	if (!open_daemon_mode())
		return;
	answer("www.example.test", 1, 300);
	if (!run() || !run())
		goto out;
	answer("www.example.test", 1, 299);
	if (!run() || !EXPECT_REASON(&F, CS_R_REFRESHED))
		goto out;
	EXPECT_EQ(F.delta[CS_R_REPEATS], 0);
	EXPECT_EQ(hits("192.0.2.7"), 3);
out:
	lfx_close(&F);
}

/* A new generation (rules rewritten, records removed) ends every reuse: a
 * record removed by the daemon is made again by the next identical answer. */
static void new_generation_ends_reuse(void)
{
	struct cs_record_key key;

	if (!open_daemon_mode())
		return;
	answer("www.example.test", 1, 300);
	if (!run() || !run())
		goto out;
	key = lfx_record_key(&F, "www.example.test", "192.0.2.7");
	if (!EXPECT(bpf_map_delete_elem(bpf_map__fd(F.skel->maps.cs_records), &key) == 0, "delete"))
		goto out;
	if (!new_generation() || !run())
		goto out;
	EXPECT_REASON(&F, CS_R_LEARNED);
	EXPECT_EQ(F.delta[CS_R_REPEATS], 0);
	EXPECT(lfx_record(&F, "www.example.test", "192.0.2.7", NULL), "record made again");
out:
	lfx_close(&F);
}

/* An answer that taught something is never reused: the next identical one
 * is walked (and refreshes). */
static void learned_is_not_reused(void)
{
	if (!open_daemon_mode())
		return;
	answer("www.example.test", 1, 300);
	if (!run() || !EXPECT_REASON(&F, CS_R_LEARNED))
		goto out;
	if (!run())
		goto out;
	EXPECT_REASON(&F, CS_R_REFRESHED);
	EXPECT_EQ(F.delta[CS_R_REPEATS], 0);
out:
	lfx_close(&F);
}

/* An answer no rule matches is reused with its own reason. */
static void no_rule_is_reused(void)
{
	if (!open_daemon_mode())
		return;
	answer("www.other.test", 1, 300);
	if (!run() || !EXPECT_REASON(&F, CS_R_NO_RULE))
		goto out;
	if (!run() || !EXPECT_REASON(&F, CS_R_NO_RULE))
		goto out;
	EXPECT_EQ(F.delta[CS_R_REPEATS], 1);
	EXPECT_EQ(lfx_records(&F), 0);
out:
	lfx_close(&F);
}

/* An answer cut at learn.max_records counts again when its outcome is
 * reused: rec_capped counts every cut answer, repeats too. */
static void cut_answer_counted_when_reused(void)
{
	if (!open_daemon_mode_with(CONF_CAP1))
		return;
	answer("www.example.test", 1, 300);	/* two A records, one walked */
	if (!run() || !EXPECT_REASON(&F, CS_R_LEARNED))
		goto out;
	EXPECT_EQ(F.delta[CS_R_REC_CAPPED], 1);
	if (!run() || !EXPECT_REASON(&F, CS_R_REFRESHED))
		goto out;
	EXPECT_EQ(F.delta[CS_R_REC_CAPPED], 1);
	if (!EXPECT_EQ(set_repeat_deadline(UINT64_MAX), 1))
		goto out;
	answer("www.example.test", 2, 300);
	if (!run() || !EXPECT_REASON(&F, CS_R_REFRESHED))
		goto out;
	EXPECT_EQ(F.delta[CS_R_REPEATS], 1);
	EXPECT_EQ(F.delta[CS_R_REC_CAPPED], 1);
	EXPECT_EQ(F.delta[CS_R_REC_REFRESHED], 1);
out:
	lfx_close(&F);
}

int main(void)
{
	if (!stay_on_this_cpu()) {
		printf("FAIL: learn_repeat: setup: cannot stay on one CPU: %s\n", strerror(errno));
		return 1;
	}
	RUN(identical_answer_reuses_refresh);
	RUN(reuse_ends_after_its_second);
	RUN(changed_bytes_are_walked);
	RUN(new_generation_ends_reuse);
	RUN(learned_is_not_reused);
	RUN(no_rule_is_reused);
	RUN(cut_answer_counted_when_reused);
	T_EXIT();
}
