// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * acl.c - the ACL id pool, made whole again at each start.
 *
 * Every id is on a route or free in cs_acl_pool, never both, never neither.
 * The sweep breaks that for a moment each time it recycles one: it deletes a
 * route and then pushes the id back, and it pops an id before it writes it
 * into a waiting route. A daemon killed in between (SIGKILL, the OOM killer,
 * a power cut) leaves that id nowhere, and each such death shrinks the pool
 * for good. A fresh start killed while pinning can leave adopted maps beside
 * a pool that was never stocked. So a start that adopts pins counts the ids:
 * it empties the pool, reads which ids the routes hold, and queues again the
 * ids it took out, in their order, then every id of 1..acl_ids found nowhere.
 *
 * learn keeps running meanwhile. While the pool is empty it makes its new
 * routes waiting for an id (the first sweep pass gives them one), so it
 * takes nothing the count could miss. An id it popped just before, it writes
 * into a route (read after it) or, losing a race, pushes back: a second
 * emptying after a pause finds those.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon.h"

#define IN_POOL 1
#define ON_ROUTE 2
#define SETTLE_US 10000	/* far longer than one run of learn */

void cs_acl_zero(int stats_fd, __u32 acl_id)
{
	static struct cs_acl_stat zero[1024];	/* one per possible CPU, well over */
	int ncpu = libbpf_num_possible_cpus();

	if (stats_fd >= 0 && ncpu > 0 && ncpu <= 1024)
		bpf_map_update_elem(stats_fd, &acl_id, zero, BPF_ANY);
}

/* Pop every id into order[], once each; a second copy, 0 or an id past the
 * pool's reach is dropped. */
static void drain(int pool_fd, __u32 *order, __u32 *n, __u8 *where, struct cs_acl_check *c)
{
	__u32 id;

	while (!bpf_map_lookup_and_delete_elem(pool_fd, NULL, &id)) {
		if (!id || id >= CS_ACL_POOL_ENTRIES || (where[id] & IN_POOL)) {
			c->dropped++;
			continue;
		}
		where[id] |= IN_POOL;
		order[(*n)++] = id;
	}
}

int cs_acl_reconcile(int pool_fd, int routes_fd, int stats_fd, __u32 n_ids, struct cs_acl_check *c)
{
	__u32 *order = calloc(CS_ACL_POOL_ENTRIES, sizeof(*order)), n = 0, i, id;
	__u8 *where = calloc(CS_ACL_POOL_ENTRIES, 1);
	struct cs_addr key, next, *prev = NULL;
	struct cs_route rt;
	int e = 0;

	memset(c, 0, sizeof(*c));
	if (!order || !where) {
		e = -ENOMEM;
		goto out;
	}
	drain(pool_fd, order, &n, where, c);
	usleep(SETTLE_US);
	drain(pool_fd, order, &n, where, c);
	while (!bpf_map_get_next_key(routes_fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(routes_fd, &key, &rt) || (rt.flags & CS_ROUTE_WAIT_ACL) || !rt.acl_id ||
		    rt.acl_id >= CS_ACL_POOL_ENTRIES)
			continue;
		if (where[rt.acl_id] & ON_ROUTE)
			c->shared++;
		else
			c->on_routes++;
		where[rt.acl_id] |= ON_ROUTE;
	}
	/* what was free stays free, in its order, unless a route holds it:
	 * handed out once more, it would serve two routes */
	for (i = 0; i < n; i++) {
		if (where[order[i]] & ON_ROUTE) {
			c->dropped++;
			continue;
		}
		if (bpf_map_update_elem(pool_fd, NULL, &order[i], BPF_ANY))
			e = e ?: -errno;
		else
			c->free++;
	}
	for (id = 1; id <= n_ids && id < CS_ACL_POOL_ENTRIES; id++) {
		if (where[id])
			continue;
		cs_acl_zero(stats_fd, id);	/* its last route's counts */
		if (bpf_map_update_elem(pool_fd, NULL, &id, BPF_ANY)) {
			e = e ?: -errno;
			continue;
		}
		c->free++;
		if (c->recovered < CS_ACL_SHOWN)
			c->shown[c->recovered] = id;
		c->recovered++;
	}
out:
	free(order);
	free(where);
	return e;
}
