// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The service-map builder: known answers for the weight and the tables, and
 * the rendezvous properties the failover relies on (a failed primary's
 * buckets go to their secondaries, spread over the survivors; a new instance
 * takes buckets only for itself).
 *
 * Benchmark, measured once (gcc -O2, 2-core AMD EPYC VM): building 65536
 * buckets over 64 instances takes about 10 ms. */
#include <errno.h>
#include <string.h>

#include "testing.h"
#include "lib/servicemap.h"

T_SUITE("servicemap");

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static const char *const casb3[] = { "casb-a", "casb-b", "casb-c" };
static const char *const five[] = { "casb-a", "casb-b", "casb-c", "casb-d", "casb-e" };

static struct cs_bucket tab[4096], tab2[4096];

/* Pinned: a change here moves streams on every deployed node. The same values
 * come from an independent implementation of the definition in servicemap.c. */
static void known_answer_weights(void)
{
	static const struct { const char *name; __u32 bucket; __u64 w; } v[] = {
		{ "casb-a", 0, 0x0caaec0ae87050deULL },
		{ "casb-a", 1, 0x81b314598c363bcbULL },
		{ "casb-a", 2, 0x0efbc390d448e08cULL },
		{ "casb-b", 0, 0x3164edce17be4129ULL },
		{ "casb-b", 1, 0xac12954ffdae5f88ULL },
		{ "casb-c", 0, 0xed4bddb2f87901a4ULL },
		{ "casb-c", 2, 0xb27c5dc27049b51cULL },
		{ "", 0, 0x2dd99ecb78651e59ULL },
		{ "casb-a", 65535, 0x5a0257dc7bc6a011ULL },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(v); i++)
		EXPECT(cs_servicemap_weight(v[i].name, v[i].bucket) == v[i].w, "w(\"%s\", %u) = 0x%016llx", v[i].name,
		       v[i].bucket, (unsigned long long)cs_servicemap_weight(v[i].name, v[i].bucket));
}

static void expect_table(const struct cs_bucket *got, const __u16 want[16][2])
{
	int b;

	for (b = 0; b < 16; b++)
		EXPECT(got[b].primary == want[b][0] && got[b].secondary == want[b][1],
		       "bucket %d: {%u,%u}, want {%u,%u}", b, got[b].primary, got[b].secondary, want[b][0],
		       want[b][1]);
}

static void known_answer_three(void)
{
	static const __u16 want[16][2] = {
		{ 3, 2 }, { 2, 1 }, { 3, 2 }, { 1, 3 }, { 3, 1 }, { 2, 1 }, { 1, 3 }, { 2, 3 },
		{ 3, 2 }, { 1, 2 }, { 2, 1 }, { 2, 3 }, { 3, 2 }, { 1, 3 }, { 3, 1 }, { 1, 3 },
	};

	if (EXPECT_EQ(cs_servicemap_build(casb3, NULL, 3, 16, tab), 0))
		expect_table(tab, want);
}

static void known_answer_two(void)
{
	static const __u16 want[16][2] = {
		{ 2, 1 }, { 2, 1 }, { 2, 1 }, { 1, 2 }, { 1, 2 }, { 2, 1 }, { 1, 2 }, { 2, 1 },
		{ 2, 1 }, { 1, 2 }, { 2, 1 }, { 2, 1 }, { 2, 1 }, { 1, 2 }, { 1, 2 }, { 1, 2 },
	};
	const bool ab[3] = { true, true, false };

	if (EXPECT_EQ(cs_servicemap_build(casb3, NULL, 2, 16, tab), 0))
		expect_table(tab, want);
	/* the same two out of three: casb-c down */
	if (EXPECT_EQ(cs_servicemap_build(casb3, ab, 3, 16, tab), 0))
		expect_table(tab, want);
}

static void known_answer_one(void)
{
	static const __u16 want[16][2] = {
		{ 1, 0 }, { 1, 0 }, { 1, 0 }, { 1, 0 }, { 1, 0 }, { 1, 0 }, { 1, 0 }, { 1, 0 },
		{ 1, 0 }, { 1, 0 }, { 1, 0 }, { 1, 0 }, { 1, 0 }, { 1, 0 }, { 1, 0 }, { 1, 0 },
	};
	static const __u16 want_b[16][2] = {
		{ 2, 0 }, { 2, 0 }, { 2, 0 }, { 2, 0 }, { 2, 0 }, { 2, 0 }, { 2, 0 }, { 2, 0 },
		{ 2, 0 }, { 2, 0 }, { 2, 0 }, { 2, 0 }, { 2, 0 }, { 2, 0 }, { 2, 0 }, { 2, 0 },
	};
	const bool b_only[3] = { false, true, false };

	if (EXPECT_EQ(cs_servicemap_build(casb3, NULL, 1, 16, tab), 0))
		expect_table(tab, want);
	if (EXPECT_EQ(cs_servicemap_build(casb3, b_only, 3, 16, tab), 0))
		expect_table(tab, want_b);
}

static void known_answer_none_eligible(void)
{
	static const __u16 want[16][2];
	const bool none[3] = { false, false, false };

	memset(tab, 0xff, sizeof(tab));
	if (EXPECT_EQ(cs_servicemap_build(casb3, none, 3, 16, tab), 0))
		expect_table(tab, want);
	memset(tab, 0xff, sizeof(tab));
	if (EXPECT_EQ(cs_servicemap_build(NULL, NULL, 0, 16, tab), 0))
		expect_table(tab, want);
}

/* Every subset of five instances as the eligible set, over 1024 buckets: the
 * table holds exactly the two highest weights, computed here the slow way. */
static void primary_and_secondary_are_the_top_two(void)
{
	unsigned int mask;
	__u32 b;
	size_t i;

	for (mask = 0; mask < 32; mask++) {
		bool el[5];
		int n_el = 0;

		for (i = 0; i < 5; i++)
			n_el += el[i] = mask >> i & 1;
		if (!EXPECT_EQ(cs_servicemap_build(five, el, 5, 1024, tab), 0))
			return;
		for (b = 0; b < 1024; b++) {
			__u16 p = tab[b].primary, s = tab[b].secondary, want_p = 0, want_s = 0;
			__u64 wp = 0, ws = 0;

			for (i = 0; i < 5; i++) {
				__u64 w = cs_servicemap_weight(five[i], b);

				if (!el[i])
					continue;
				if (!want_p || w > wp) {
					want_s = want_p, ws = wp;
					want_p = (__u16)(i + 1), wp = w;
				} else if (!want_s || w > ws) {
					want_s = (__u16)(i + 1), ws = w;
				}
			}
			if (!EXPECT(p == want_p && s == want_s, "mask %#x bucket %u: {%u,%u}, want {%u,%u}", mask,
				    b, p, s, want_p, want_s) ||
			    !EXPECT(!(p && s) || p != s, "mask %#x bucket %u: primary is secondary", mask, b) ||
			    !EXPECT((p != 0) == (n_el >= 1) && (s != 0) == (n_el >= 2),
				    "mask %#x bucket %u: {%u,%u} with %d eligible", mask, b, p, s, n_el) ||
			    !EXPECT((!p || el[p - 1]) && (!s || el[s - 1]), "mask %#x bucket %u: ineligible named",
				    mask, b))
				return;
		}
	}
}

/* Bucket b is decided by b alone: a small table is the head of a big one. */
static void table_size_does_not_change_a_bucket(void)
{
	if (!EXPECT_EQ(cs_servicemap_build(five, NULL, 5, 4096, tab), 0) ||
	    !EXPECT_EQ(cs_servicemap_build(five, NULL, 5, 64, tab2), 0))
		return;
	EXPECT(!memcmp(tab, tab2, 64 * sizeof(tab[0])), "the first 64 buckets differ");
}

static const char *id_name(const char *const *names, __u16 id)
{
	return id ? names[id - 1] : "(none)";
}

/* The list in several orders (with its eligibility shuffled along): the same
 * names in every bucket. */
static void order_does_not_matter(void)
{
	static const char *const base[8] = { "casb-a", "casb-b", "casb-c", "casb-d",
					     "dlp-1",  "dlp-2",  "fw-west", "fw-east" };
	static const bool base_el[8] = { true, true, false, true, true, true, false, true };
	const char *names[8];
	bool el[8];
	__u32 seed = 12345, b;
	int round;
	size_t i;

	if (!EXPECT_EQ(cs_servicemap_build(base, base_el, 8, 4096, tab), 0))
		return;
	memcpy(names, base, sizeof(names));
	memcpy(el, base_el, sizeof(el));
	for (round = 0; round < 10; round++) {
		for (i = 7; i > 0; i--) {	/* Fisher-Yates with a fixed LCG */
			size_t j;
			const char *tn;
			bool te;

			seed = seed * 1103515245u + 12345u;
			j = (seed >> 16) % (i + 1);
			tn = names[i], names[i] = names[j], names[j] = tn;
			te = el[i], el[i] = el[j], el[j] = te;
		}
		if (!EXPECT_EQ(cs_servicemap_build(names, el, 8, 4096, tab2), 0))
			return;
		for (b = 0; b < 4096; b++)
			if (!EXPECT(!strcmp(id_name(base, tab[b].primary), id_name(names, tab2[b].primary)) &&
					    !strcmp(id_name(base, tab[b].secondary), id_name(names, tab2[b].secondary)),
				    "round %d bucket %u: %s/%s, shuffled %s/%s", round, b,
				    id_name(base, tab[b].primary), id_name(base, tab[b].secondary),
				    id_name(names, tab2[b].primary), id_name(names, tab2[b].secondary)))
				return;
	}
}

/* 5 instances over 4096 buckets: each holds 1/5 of the primaries, and of the
 * secondaries, within +-15%. */
static void balance(void)
{
	unsigned int prim[6] = { 0 }, sec[6] = { 0 }, lo = 4096 / 5 * 85 / 100, hi = 4096 / 5 * 115 / 100;
	size_t i;
	__u32 b;

	if (!EXPECT_EQ(cs_servicemap_build(five, NULL, 5, 4096, tab), 0))
		return;
	for (b = 0; b < 4096; b++) {
		prim[tab[b].primary]++;
		sec[tab[b].secondary]++;
	}
	EXPECT_EQ(prim[0] + sec[0], 0);
	for (i = 1; i <= 5; i++) {
		EXPECT(prim[i] >= lo && prim[i] <= hi, "%s: %u primaries, want %u..%u", five[i - 1], prim[i], lo,
		       hi);
		EXPECT(sec[i] >= lo && sec[i] <= hi, "%s: %u secondaries, want %u..%u", five[i - 1], sec[i], lo,
		       hi);
	}
}

/* Each of 5 instances fails in turn. Its buckets go to their secondaries (the
 * failover already sent their streams there), spread over at least 3
 * survivors; a bucket whose primary lives keeps it; a bucket that lost
 * neither its primary nor its secondary does not change at all. */
static void spread_on_failure(void)
{
	size_t dead, i;
	__u32 b;

	if (!EXPECT_EQ(cs_servicemap_build(five, NULL, 5, 4096, tab), 0))
		return;
	for (dead = 1; dead <= 5; dead++) {
		unsigned int took[6] = { 0 }, takers = 0, moved = 0;
		bool el[5] = { true, true, true, true, true };

		el[dead - 1] = false;
		if (!EXPECT_EQ(cs_servicemap_build(five, el, 5, 4096, tab2), 0))
			return;
		for (b = 0; b < 4096; b++) {
			const struct cs_bucket *o = &tab[b], *n = &tab2[b];

			if (o->primary == dead) {
				if (!EXPECT(n->primary == o->secondary, "%s down, bucket %u: primary %u, was secondary %u",
					    five[dead - 1], b, n->primary, o->secondary))
					return;
				took[n->primary]++;
				moved++;
			} else if (!EXPECT(n->primary == o->primary, "%s down, bucket %u: primary %u -> %u",
					   five[dead - 1], b, o->primary, n->primary)) {
				return;
			} else if (o->secondary != dead &&
				   !EXPECT(n->secondary == o->secondary, "%s down, bucket %u: secondary %u -> %u",
					   five[dead - 1], b, o->secondary, n->secondary)) {
				return;
			}
			if (!EXPECT(n->primary != dead && n->secondary != dead && n->secondary && n->secondary != n->primary,
				    "%s down, bucket %u: {%u,%u}", five[dead - 1], b, n->primary, n->secondary))
				return;
		}
		for (i = 1; i <= 5; i++) {
			takers += took[i] > 0;
			/* no survivor takes more than 40% of the orphans (fair: 25%) */
			EXPECT(took[i] * 10 <= moved * 4, "%s down: %s took %u of %u buckets", five[dead - 1],
			       five[i - 1], took[i], moved);
		}
		EXPECT(moved > 0 && takers >= 3, "%s down: %u buckets went to %u survivors", five[dead - 1], moved,
		       takers);
	}
}

/* A 6th instance joins: primaries move only to it (about 1/6 of them), never
 * between the old five; the primary it displaces becomes the secondary. */
static void minimal_disruption_on_join(void)
{
	static const char *const six[] = { "casb-a", "casb-b", "casb-c", "casb-d", "casb-e", "casb-f" };
	unsigned int moved = 0;
	__u32 b;

	if (!EXPECT_EQ(cs_servicemap_build(five, NULL, 5, 4096, tab), 0) ||
	    !EXPECT_EQ(cs_servicemap_build(six, NULL, 6, 4096, tab2), 0))
		return;
	for (b = 0; b < 4096; b++) {
		const struct cs_bucket *o = &tab[b], *n = &tab2[b];

		if (n->primary != o->primary) {
			moved++;
			if (!EXPECT(n->primary == 6 && n->secondary == o->primary,
				    "bucket %u: {%u,%u} -> {%u,%u}", b, o->primary, o->secondary, n->primary,
				    n->secondary))
				return;
		} else if (!EXPECT(n->secondary == o->secondary || n->secondary == 6,
				   "bucket %u: secondary %u -> %u", b, o->secondary, n->secondary)) {
			return;
		}
	}
	EXPECT(moved >= 4096 / 6 * 85 / 100 && moved <= 4096 / 6 * 115 / 100,
	       "%u of 4096 buckets moved to the new instance, want about %u", moved, 4096 / 6);
}

/* A warming instance gives way to a secondary that is not warming, and only
 * then; positions, not ids. */
static void defer_warming_known_cases(void)
{
	static const struct cs_bucket in[] = {
		{ 1, 2 }, { 2, 1 }, { 2, 3 }, { 3, 2 }, { 2, 0 }, { 0, 0 }, { 1, 3 }, { 3, 1 },
	};
	static const struct cs_bucket only_b[] = {	/* casb-b warming */
		{ 1, 2 }, { 1, 2 }, { 3, 2 }, { 3, 2 }, { 2, 0 }, { 0, 0 }, { 1, 3 }, { 3, 1 },
	};
	static const struct cs_bucket a_and_b[] = {	/* both warming: {1,2} and {2,1} stay */
		{ 1, 2 }, { 2, 1 }, { 3, 2 }, { 3, 2 }, { 2, 0 }, { 0, 0 }, { 3, 1 }, { 3, 1 },
	};
	static const struct {
		bool warming[3];
		const struct cs_bucket *want;
	} v[] = {
		{ { false, false, false }, in },
		{ { false, true, false }, only_b },
		{ { true, true, false }, a_and_b },
		{ { true, true, true }, in },
	};
	struct cs_bucket t[ARRAY_SIZE(in)];
	size_t c, i;

	for (c = 0; c < ARRAY_SIZE(v); c++) {
		memcpy(t, in, sizeof(in));
		cs_servicemap_defer_warming(t, ARRAY_SIZE(in), v[c].warming);
		for (i = 0; i < ARRAY_SIZE(in); i++)
			EXPECT(t[i].primary == v[c].want[i].primary && t[i].secondary == v[c].want[i].secondary,
			       "case %zu bucket %zu: {%u,%u}, want {%u,%u}", c, i, t[i].primary, t[i].secondary,
			       v[c].want[i].primary, v[c].want[i].secondary);
	}
	/* nothing to do: no warming list, no buckets */
	memcpy(t, in, sizeof(in));
	cs_servicemap_defer_warming(t, ARRAY_SIZE(in), NULL);
	cs_servicemap_defer_warming(t, 0, v[1].warming);
	EXPECT(!memcmp(t, in, sizeof(in)), "changed without cause");
}

/* Over a real table: casb-b warming is primary nowhere, secondary in every
 * bucket it would hold either way, so its peers sync it exactly the buckets
 * it takes when its warmup is over; the others do not move otherwise. */
static void defer_warming_over_a_table(void)
{
	static const __u16 want[16][2] = {
		{ 3, 2 }, { 1, 2 }, { 3, 2 }, { 1, 3 }, { 3, 1 }, { 1, 2 }, { 1, 3 }, { 3, 2 },
		{ 3, 2 }, { 1, 2 }, { 1, 2 }, { 3, 2 }, { 3, 2 }, { 1, 3 }, { 3, 1 }, { 1, 3 },
	};
	const bool b_warming[3] = { false, true, false }, five_warming[5] = { false, false, true, false, false };
	__u32 b;

	if (EXPECT_EQ(cs_servicemap_build(casb3, NULL, 3, 16, tab), 0)) {
		cs_servicemap_defer_warming(tab, 16, b_warming);
		expect_table(tab, want);
	}
	if (!EXPECT_EQ(cs_servicemap_build(five, NULL, 5, 4096, tab), 0))
		return;
	memcpy(tab2, tab, sizeof(tab));
	cs_servicemap_defer_warming(tab2, 4096, five_warming);
	for (b = 0; b < 4096; b++) {
		const struct cs_bucket *o = &tab[b], *n = &tab2[b];

		if (!EXPECT(n->primary != 3, "bucket %u: the warming instance is primary", b) ||
		    !EXPECT((n->primary == o->primary && n->secondary == o->secondary) ||
				    (n->primary == o->secondary && n->secondary == o->primary),
			    "bucket %u: {%u,%u} -> {%u,%u}", b, o->primary, o->secondary, n->primary, n->secondary) ||
		    !EXPECT((o->primary == 3 || o->secondary == 3) == (n->secondary == 3),
			    "bucket %u: {%u,%u} -> {%u,%u}", b, o->primary, o->secondary, n->primary, n->secondary))
			return;
	}
}

static void bad_input(void)
{
	static const char *names[CS_SERVICEMAP_INSTANCES_MAX + 1];
	static char text[CS_SERVICEMAP_INSTANCES_MAX + 1][8];
	static struct cs_bucket big[CS_SERVICEMAP_BUCKETS_MAX];
	static const char *const dup[] = { "casb-a", "casb-b", "casb-a" };
	static const char *const hole[] = { "casb-a", NULL };
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(text[i], sizeof(text[i]), "i%zu", i);
		names[i] = text[i];
	}
	EXPECT_EQ(cs_servicemap_build(casb3, NULL, 3, 0, tab), -EINVAL);
	EXPECT_EQ(cs_servicemap_build(casb3, NULL, 3, 3, tab), -EINVAL);
	EXPECT_EQ(cs_servicemap_build(casb3, NULL, 3, 4095, tab), -EINVAL);
	EXPECT_EQ(cs_servicemap_build(casb3, NULL, 3, 131072, big), -EINVAL);
	EXPECT_EQ(cs_servicemap_build(names, NULL, CS_SERVICEMAP_INSTANCES_MAX + 1, 16, tab), -EINVAL);
	EXPECT_EQ(cs_servicemap_build(dup, NULL, 3, 16, tab), -EINVAL);
	EXPECT_EQ(cs_servicemap_build(hole, NULL, 2, 16, tab), -EINVAL);
	EXPECT_EQ(cs_servicemap_build(NULL, NULL, 3, 16, tab), -EINVAL);
	EXPECT_EQ(cs_servicemap_build(casb3, NULL, 3, 16, NULL), -EINVAL);

	/* a refused build leaves the table as it was */
	memset(tab, 0xab, 16 * sizeof(tab[0]));
	cs_servicemap_build(dup, NULL, 3, 16, tab);
	for (i = 0; i < 16; i++)
		EXPECT(tab[i].primary == 0xabab && tab[i].secondary == 0xabab, "bucket %zu written", i);

	/* the limits themselves are fine */
	EXPECT_EQ(cs_servicemap_build(casb3, NULL, 3, 1, tab), 0);
	EXPECT_EQ(cs_servicemap_build(names, NULL, CS_SERVICEMAP_INSTANCES_MAX, CS_SERVICEMAP_BUCKETS_MAX, big), 0);
	EXPECT(big[CS_SERVICEMAP_BUCKETS_MAX - 1].primary && big[CS_SERVICEMAP_BUCKETS_MAX - 1].secondary, "last bucket empty");
}

int main(void)
{
	RUN(known_answer_weights);
	RUN(known_answer_three);
	RUN(known_answer_two);
	RUN(known_answer_one);
	RUN(known_answer_none_eligible);
	RUN(primary_and_secondary_are_the_top_two);
	RUN(table_size_does_not_change_a_bucket);
	RUN(order_does_not_matter);
	RUN(balance);
	RUN(spread_on_failure);
	RUN(minimal_disruption_on_join);
	RUN(defer_warming_known_cases);
	RUN(defer_warming_over_a_table);
	RUN(bad_input);
	T_EXIT();
}
