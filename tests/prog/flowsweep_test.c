// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * flowsweep: the removal the daemons' sweeps make (cs_take_if_over,
 * user/lib/flowlife.h) against real maps of steer's two kinds: a hash
 * (cs_flows, proven) and an LRU hash (cs_flows_new). The dataplane's moves
 * between the sweep's read and its removal are played by the judgement
 * callback, which runs after the entry was taken out: a packet counted just
 * before the removal, a new entry made just after it, in the same table or
 * in the other, a full table.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "testing.h"
#include "lib/config.h"
#include "lib/flowlife.h"

T_SUITE("flowsweep");

#define NOW 1000000000000ULL	/* the sweep's clock */
#define SEC 1000000000ULL

struct fx {
	int proven, unproven;	/* a hash and an LRU hash of flows */
};

static struct fx F = { -1, -1 };

static void fx_free(void)
{
	if (F.proven >= 0)
		close(F.proven);
	if (F.unproven >= 0)
		close(F.unproven);
	F.proven = F.unproven = -1;
}

static bool fx_setup(__u32 proven_max)
{
	F.proven = bpf_map_create(BPF_MAP_TYPE_HASH, "cs_flows", sizeof(struct cs_flow_key), sizeof(struct cs_flow),
				  proven_max, NULL);
	F.unproven = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "cs_flows_new", sizeof(struct cs_flow_key),
				    sizeof(struct cs_flow), 64, NULL);
	if (F.proven < 0 || F.unproven < 0) {
		T_SKIP("cannot make maps: %s (run as root)", strerror(errno));
		return false;
	}
	return true;
}

static struct cs_flow_key key_n(__u8 n)
{
	struct cs_flow_key k;

	memset(&k, 0, sizeof(k));
	k.lo.b[15] = n;
	k.hi.b[15] = 200;
	k.lo_port = 40000;
	k.hi_port = 443;
	k.proto = 6;
	return k;
}

/* An established flow pinned to `instance`, last seen `age` ns before NOW. */
static struct cs_flow flow_of(__u16 instance, __u64 age)
{
	return (struct cs_flow){ .first_ns = 1, .last_ns = NOW - age, .packets = 10, .instance = instance,
				 .chain = 1, .state = CS_ST_ESTABLISHED };
}

/* The judgement: established flows live 5 s here. What the dataplane does
 * meanwhile (between the removal and the judgement) is `meanwhile`. */
struct judge {
	struct cs_lifetimes life;
	void (*meanwhile)(void);
	int calls;
};

static struct judge J;

static bool alive(const void *value, void *ctx)
{
	const struct cs_flow *fl = value;
	struct judge *j = ctx;

	j->calls++;
	if (j->meanwhile)
		j->meanwhile();
	return cs_stream_alive(&j->life, fl->state, fl->last_ns, NOW);
}

static void judge_reset(void (*meanwhile)(void))
{
	memset(&J, 0, sizeof(J));
	J.life.tcp = (struct cs_flow_timeouts){ .syn_ms = 1000, .established_ms = 5000, .fin_ms = 2000, .linger_ms = 500 };
	J.life.other_ms = 2000;
	J.meanwhile = meanwhile;
}

static bool put(int fd, __u8 n, struct cs_flow fl)
{
	struct cs_flow_key k = key_n(n);

	return EXPECT(!bpf_map_update_elem(fd, &k, &fl, BPF_ANY), "put: %s", strerror(errno));
}

/* The flow at n in fd; false when there is none. */
static bool get(int fd, __u8 n, struct cs_flow *fl)
{
	struct cs_flow_key k = key_n(n);

	return !bpf_map_lookup_elem(fd, &k, fl);
}

static enum cs_take take(int fd, int spill, __u8 n, struct cs_flow *out)
{
	struct cs_flow_key k = key_n(n);

	return cs_take_if_over(fd, spill, &k, out, alive, &J);
}

/* Over by its state: removed, and what was removed is returned. */
static void over_goes(void)
{
	struct cs_flow fl;

	if (!fx_setup(16) || !put(F.proven, 1, flow_of(2, 6 * SEC)))
		goto out;
	judge_reset(NULL);
	EXPECT_EQ(take(F.proven, F.unproven, 1, &fl), CS_TAKE_REMOVED);
	EXPECT_EQ(fl.instance, 2);
	EXPECT(!get(F.proven, 1, &fl), "still there");
	EXPECT_EQ(take(F.proven, F.unproven, 1, &fl), CS_TAKE_GONE);	/* not there: nothing done */
out:
	fx_free();
}

/* The sweep read it over, but the dataplane counted a packet before the
 * removal: the removed value is alive, and goes back as it is. */
static void touched_before_removal_stays(void)
{
	struct cs_flow fl;

	if (!fx_setup(16) || !put(F.proven, 1, flow_of(2, 6 * SEC)))
		goto out;
	put(F.proven, 1, flow_of(2, 1 * SEC));	/* the packet, after the sweep's read */
	judge_reset(NULL);
	EXPECT_EQ(take(F.proven, F.unproven, 1, &fl), CS_TAKE_KEPT);
	if (EXPECT(get(F.proven, 1, &fl), "gone"))
		EXPECT_EQ(fl.last_ns, NOW - SEC);
out:
	fx_free();
}

static void make_copy_in_unproven(void)
{
	put(F.unproven, 1, flow_of(1, 0));
}

static void make_entry_in_proven(void)
{
	put(F.proven, 1, flow_of(1, 0));
}

static void fill_proven(void)
{
	put(F.proven, 9, flow_of(3, 0));
}

/* Removed from cs_flows, alive; steer's next packet made a new flow in
 * cs_flows_new meanwhile, pinned afresh: the old one goes back to cs_flows,
 * pin and all, and the copy goes. */
static void copy_in_unproven_goes(void)
{
	struct cs_flow fl;

	if (!fx_setup(16) || !put(F.proven, 1, flow_of(2, 1 * SEC)))
		goto out;
	judge_reset(make_copy_in_unproven);
	EXPECT_EQ(take(F.proven, F.unproven, 1, &fl), CS_TAKE_KEPT);
	if (EXPECT(get(F.proven, 1, &fl), "not put back"))
		EXPECT_EQ(fl.instance, 2);
	EXPECT(!get(F.unproven, 1, &fl), "the copy stays");
out:
	fx_free();
}

/* Removed from a table, alive; the dataplane made a new entry in that same
 * table meanwhile: the old one goes back over it, so the pin is kept. */
static void new_entry_overwritten(void)
{
	struct cs_flow fl;

	if (!fx_setup(16) || !put(F.unproven, 1, flow_of(2, 1 * SEC)))
		goto out;
	judge_reset(make_copy_in_unproven);
	EXPECT_EQ(take(F.unproven, -1, 1, &fl), CS_TAKE_KEPT);
	if (EXPECT(get(F.unproven, 1, &fl), "not put back"))
		EXPECT_EQ(fl.instance, 2);
	fx_free();
	if (!fx_setup(16) || !put(F.proven, 1, flow_of(2, 1 * SEC)))
		goto out;
	judge_reset(make_entry_in_proven);
	EXPECT_EQ(take(F.proven, F.unproven, 1, &fl), CS_TAKE_KEPT);
	if (EXPECT(get(F.proven, 1, &fl), "not put back"))
		EXPECT_EQ(fl.instance, 2);
out:
	fx_free();
}

/* Removed from a full cs_flows, alive, and the room taken meanwhile: it
 * goes to cs_flows_new rather than nowhere. */
static void full_table_spills(void)
{
	struct cs_flow fl;

	if (!fx_setup(1) || !put(F.proven, 1, flow_of(2, 1 * SEC)))
		goto out;
	judge_reset(fill_proven);
	EXPECT_EQ(take(F.proven, F.unproven, 1, &fl), CS_TAKE_KEPT);
	EXPECT(!get(F.proven, 1, &fl), "in a full table");
	if (EXPECT(get(F.unproven, 1, &fl), "lost"))
		EXPECT_EQ(fl.instance, 2);
out:
	fx_free();
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	RUN(over_goes);
	RUN(touched_before_removal_stays);
	RUN(copy_in_unproven_goes);
	RUN(new_entry_overwritten);
	RUN(full_table_spills);
	T_EXIT();
}
