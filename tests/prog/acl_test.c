// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * acl: the count of the ACL id pool that each start over adopted pins makes
 * (user/daemon/acl.c), on real maps of the kinds the daemon pins: a queue
 * for the pool, a hash of routes, a per-CPU array of counters. The states
 * are those a daemon killed mid-recycle leaves (tests/e2e/soak.sh makes them
 * for real): an id nowhere, an id on a route and in the pool, an id twice in
 * the pool, a pool never stocked.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "bpffx.h"
#include "testing.h"
#include "daemon/daemon.h"

T_SUITE("acl");

static int pool_fd = -1, routes_fd = -1, stats_fd = -1;

static bool maps_new(void)
{
	if (pool_fd >= 0)
		close(pool_fd);
	if (routes_fd >= 0)
		close(routes_fd);
	if (stats_fd >= 0)
		close(stats_fd);
	pool_fd = bpf_map_create(BPF_MAP_TYPE_QUEUE, "t_acl_pool", 0, sizeof(__u32), CS_ACL_POOL_ENTRIES, NULL);
	routes_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "t_routes", sizeof(struct cs_addr), sizeof(struct cs_route),
				   1024, NULL);
	stats_fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "t_acl_stats", sizeof(__u32),
				  sizeof(struct cs_acl_stat), CS_ACL_POOL_ENTRIES, NULL);
	return EXPECT(pool_fd >= 0 && routes_fd >= 0 && stats_fd >= 0, "maps: %s", strerror(errno));
}

static void push(__u32 id)
{
	bpf_map_update_elem(pool_fd, NULL, &id, BPF_ANY);
}

static void route(__u8 last, __u32 acl_id, __u32 flags)
{
	struct cs_addr a = { .b = { [10] = 0xff, [11] = 0xff, 192, 0, 2, last } };
	struct cs_route rt = { .acl_id = acl_id, .flags = flags, .rule_id = 1 };

	bpf_map_update_elem(routes_fd, &a, &rt, BPF_ANY);
}

/* The pool's ids in queue order, taken out (the test is done with it). */
static int pool_ids(__u32 *ids, int max)
{
	__u32 id;
	int n = 0;

	while (n < max && !bpf_map_lookup_and_delete_elem(pool_fd, NULL, &id))
		ids[n++] = id;
	return n;
}

static __u64 packets_of(__u32 id) { return bpffx_acl_packets(stats_fd, id); }
static void set_packets(__u32 id, __u64 n) { bpffx_acl_set_packets(stats_fd, id, n); }

/* 1..10: 3 on a route (as it should), 4 on a route and in the pool, 5
 * nowhere (its route deleted, the daemon killed before the push), 7 twice
 * in the pool; 11 in the pool although the config now says 10. */
static void whole_again(void)
{
	__u32 want[] = { 1, 2, 6, 7, 8, 9, 10, 11, 5 }, got[32];
	struct cs_acl_check c;
	int n, i;

	if (!maps_new())
		return;
	for (i = 1; i <= 11; i++)
		if (i != 3 && i != 5)
			push((__u32)i);
	push(7);
	route(3, 3, 0);
	route(4, 4, 0);
	route(9, 0, CS_ROUTE_WAIT_ACL);
	set_packets(5, 42);
	set_packets(8, 17);
	if (!EXPECT_EQ(cs_acl_reconcile(pool_fd, routes_fd, stats_fd, 10, &c), 0))
		return;
	EXPECT_EQ(c.on_routes, 2);
	EXPECT_EQ(c.recovered, 1);
	EXPECT_EQ(c.shown[0], 5);
	EXPECT_EQ(c.dropped, 2);	/* the second 7, and 4 */
	EXPECT_EQ(c.shared, 0);
	EXPECT_EQ(c.free, 9);
	EXPECT_EQ(packets_of(5), 0);	/* the counts of its last route are gone */
	EXPECT_EQ(packets_of(8), 17);	/* a free id's are not touched */
	n = pool_ids(got, 32);
	if (!EXPECT_EQ(n, 9))
		return;
	for (i = 0; i < n; i++)
		EXPECT(got[i] == want[i], "position %d: id %u, not %u", i, got[i], want[i]);
}

/* A fresh start killed while pinning left maps to adopt and an empty pool:
 * every id no route holds is queued. */
static void never_stocked(void)
{
	struct cs_acl_check c;
	__u32 got[600];
	int n, i;

	if (!maps_new())
		return;
	route(1, 0, CS_ROUTE_WAIT_ACL);
	if (!EXPECT_EQ(cs_acl_reconcile(pool_fd, routes_fd, stats_fd, 512, &c), 0))
		return;
	EXPECT_EQ(c.recovered, 512);
	EXPECT_EQ(c.free, 512);
	n = pool_ids(got, 600);
	EXPECT_EQ(n, 512);
	for (i = 0; i < n; i++)
		if (!EXPECT(got[i] == (__u32)i + 1, "position %d: id %u", i, got[i]))
			break;
}

/* A whole pool stays as it was: nothing recovered, nothing dropped, the
 * same order. */
static void whole_already(void)
{
	struct cs_acl_check c;
	__u32 got[CS_ACL_POOL_ENTRIES];
	int n, i, bad = 0;

	if (!maps_new())
		return;
	for (i = CS_ACL_POOL_ENTRIES - 1; i >= 2; i--)
		push((__u32)i);
	route(1, 1, 0);
	if (!EXPECT_EQ(cs_acl_reconcile(pool_fd, routes_fd, stats_fd, CS_ACL_POOL_ENTRIES - 1, &c), 0))
		return;
	EXPECT_EQ(c.recovered, 0);
	EXPECT_EQ(c.dropped, 0);
	EXPECT_EQ(c.on_routes, 1);
	EXPECT_EQ(c.free, CS_ACL_POOL_ENTRIES - 2);
	n = pool_ids(got, CS_ACL_POOL_ENTRIES);
	EXPECT_EQ(n, CS_ACL_POOL_ENTRIES - 2);
	for (i = 0; i < n; i++)
		bad += got[i] != (__u32)(CS_ACL_POOL_ENTRIES - 1 - i);
	EXPECT_EQ(bad, 0);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	RUN(whole_again);
	RUN(never_stocked);
	RUN(whole_already);
	T_EXIT();
}
