/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* bpffx.h - what tests that read BPF maps share. */
#ifndef CS_TESTS_BPFFX_H
#define CS_TESTS_BPFFX_H

#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cloudsteer.h"

/* Entries in a hash map (keys up to 64 octets). */
static inline int bpffx_map_len(int fd)
{
	__u8 key[64], next[64];
	void *prev = NULL;
	int n = 0;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, sizeof(key));
		prev = key;
		n++;
	}
	return n;
}

/* The packets a per-CPU map of struct cs_acl_stat (cs_acl_stats) counts
 * for id, over every CPU; ~0 when it holds no such entry. */
static inline __u64 bpffx_acl_packets(int fd, __u32 id)
{
	static struct cs_acl_stat per_cpu[1024];
	int ncpu = libbpf_num_possible_cpus(), c;
	__u64 sum = 0;

	if (ncpu <= 0 || ncpu > 1024 || bpf_map_lookup_elem(fd, &id, per_cpu))
		return ~0ULL;
	for (c = 0; c < ncpu; c++)
		sum += per_cpu[c].packets;
	return sum;
}

/* Make such a map count n packets for id (on the first CPU). */
static inline void bpffx_acl_set_packets(int fd, __u32 id, __u64 n)
{
	static struct cs_acl_stat per_cpu[1024];

	per_cpu[0].packets = n;
	bpf_map_update_elem(fd, &id, per_cpu, BPF_ANY);
}

#endif
