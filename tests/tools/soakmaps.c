// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * soakmaps - what tests/e2e/soak.sh reads from the pins, fast and exactly.
 *
 *   soakmaps watch PIN_DIR MS   a snapshot every MS ms until stdin closes or
 *                               a signal ends it; each is, one item a line:
 *                                 S NOW_NS                 (begin)
 *                                 r NAME_ID IP EXPIRES_NS  (a record)
 *                                 t NOW_NS                 (records read by then)
 *                                 o IP ACL FLAGS CREATED_NS (a route)
 *                                 p PACKETS                (steered to instances)
 *                                 E NOW_NS                 (routes read by then)
 *   soakmaps pool PIN_DIR N     count the ACL ids: those on routes and those
 *                               in cs_acl_pool, which is emptied and filled
 *                               again in the same order (run it with learn
 *                               idle: no DNS answers, no daemon). Exit 0 when
 *                               every id 1..N is in exactly one of the two.
 *
 * The CLI's `show` is the user's view and rounds times to seconds; a record
 * of a 2 s TTL needs nanoseconds, and a sampler that runs every 50 ms must
 * not cost a process and a JSON parse each time. Times are CLOCK_BOOTTIME,
 * the dataplane's clock.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cloudsteer.h"
#include "lib/addr.h"
#include "lib/clock.h"
#include "lib/learnprog.h"
#include "lib/maps.h"
#include "lib/pins.h"

static int open_pin(const char *dir, const char *name)
{
	int fd = cs_pin_open(dir, name);

	if (fd < 0)
		fprintf(stderr, "soakmaps: %s/%s: %s\n", dir, name, strerror(-fd));
	return fd;
}

/* One walk; entries deleted meanwhile are skipped, and a deleted anchor
 * restarts the walk (duplicates then, never a miss). */
static void print_records(int fd)
{
	struct cs_record_key key, next, *prev = NULL;
	char ip[CS_ADDR_TEXT_MAX];
	struct cs_record r;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &r))
			continue;
		printf("r %llx %s %llu\n", (unsigned long long)key.name_id,
		       cs_addr_format(&key.addr, ip, sizeof(ip)), (unsigned long long)r.expires_ns);
	}
}

static void print_routes(int fd)
{
	struct cs_addr key, next, *prev = NULL;
	char ip[CS_ADDR_TEXT_MAX];
	struct cs_route rt;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &rt))
			continue;
		printf("o %s %u %u %llu\n", cs_addr_format(&key, ip, sizeof(ip)), rt.acl_id, rt.flags,
		       (unsigned long long)rt.created_ns);
	}
}

static __u64 steered_packets(int fd)
{
	__u64 sum = 0, st[sizeof(struct cs_inst_stat) / 8];
	__u32 id;

	for (id = 1; id < CS_INSTANCES_MAX && !cs_percpu_sum(fd, id, 1, st, sizeof(st) / 8); id++)
		sum += st[0];
	return sum;
}

static int watch(const char *dir, int ms)
{
	int records = open_pin(dir, "cs_records"), routes = open_pin(dir, "cs_routes");
	int inst = open_pin(dir, "cs_inst_stats");
	struct pollfd in = { .fd = 0, .events = POLLIN };

	if (records < 0 || routes < 0 || inst < 0)
		return 1;
	for (;;) {
		printf("S %llu\n", (unsigned long long)cs_now_ns());
		print_records(records);
		printf("t %llu\n", (unsigned long long)cs_now_ns());
		print_routes(routes);
		printf("p %llu\nE %llu\n", (unsigned long long)steered_packets(inst),
		       (unsigned long long)cs_now_ns());
		if (fflush(stdout))
			return 0;	/* the reader went */
		/* stdin readable means closed (EOF) or told to stop */
		if (poll(&in, 1, ms) > 0)
			return 0;
	}
}

static int pool(const char *dir, __u32 n)
{
	int pool_fd = open_pin(dir, "cs_acl_pool"), routes = open_pin(dir, "cs_routes");
	__u32 *free_ids = calloc(CS_ACL_POOL_ENTRIES + 1, sizeof(*free_ids)), n_free = 0, n_used = 0;
	__u32 *used = calloc(CS_ACL_POOL_ENTRIES + 1, sizeof(*used)), n_wait = 0, i, id;
	__u8 *seen = calloc(CS_ACL_POOL_ENTRIES + 1, 1);	/* bit 1: free, bit 2: on a route */
	unsigned long twice = 0, missing = 0, outside = 0;
	struct cs_addr key, next, *prev = NULL;
	struct cs_route rt;
	int bad_push = 0;

	if (pool_fd < 0 || routes < 0 || !free_ids || !used || !seen)
		return 2;
	while (n_free <= CS_ACL_POOL_ENTRIES && !bpf_map_lookup_and_delete_elem(pool_fd, NULL, &id))
		free_ids[n_free++] = id;
	for (i = 0; i < n_free; i++)	/* as it was, order and all */
		if (bpf_map_update_elem(pool_fd, NULL, &free_ids[i], BPF_ANY))
			bad_push++;
	while (!bpf_map_get_next_key(routes, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(routes, &key, &rt))
			continue;
		if (rt.flags & CS_ROUTE_WAIT_ACL)
			n_wait++;
		else if (n_used <= CS_ACL_POOL_ENTRIES)
			used[n_used++] = rt.acl_id;
	}
	for (i = 0; i < n_free + n_used; i++) {
		bool on_route = i >= n_free;

		id = on_route ? used[i - n_free] : free_ids[i];
		if (!id || id > n || id > CS_ACL_POOL_ENTRIES) {
			printf("id %u %s: outside 1..%u\n", id, on_route ? "on a route" : "in the pool", n);
			outside++;
			continue;
		}
		if (seen[id]) {
			printf("id %u twice: %s and %s\n", id, seen[id] == 1 ? "in the pool" : "on a route",
			       on_route ? "on a route" : "in the pool");
			twice++;
		}
		seen[id] |= on_route ? 2 : 1;
	}
	for (id = 1; id <= n; id++)
		if (!seen[id]) {
			if (missing < 20)
				printf("id %u leaked: neither on a route nor in the pool\n", id);
			missing++;
		}
	printf("pool %u: %u on routes + %u free = %u; %u routes wait for an id; %lu leaked, %lu twice, "
	       "%lu outside, %d not put back\n", n, n_used, n_free, n_used + n_free, n_wait, missing, twice,
	       outside, bad_push);
	return missing || twice || outside || bad_push || n_used + n_free != n;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOFBF, 1 << 20);
	if (argc == 4 && !strcmp(argv[1], "watch"))
		return watch(argv[2], atoi(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "pool")) {
		int rc = pool(argv[2], (__u32)strtoul(argv[3], NULL, 10));

		fflush(stdout);
		return rc;
	}
	fprintf(stderr, "usage: soakmaps watch PIN_DIR MS | soakmaps pool PIN_DIR N\n");
	return 2;
}
