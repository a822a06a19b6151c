/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* bpffx.h - what tests that read BPF maps share. */
#ifndef CS_TESTS_BPFFX_H
#define CS_TESTS_BPFFX_H

#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cloudsteer.h"

/* Run prog_fd once on frame (BPF_PROG_TEST_RUN); what came out goes to
 * out (at most cap octets), its length to *out_len, the program's return
 * value to *retval (a TC verdict may be -1: TC_ACT_UNSPEC); the skb as the
 * program left it (its mark, say) to *skb when skb is not NULL. 0, or
 * -errno when the kernel refused to run it. */
static inline int bpffx_run_skb(int prog_fd, const void *frame, __u32 len, void *out, __u32 cap, __u32 *out_len,
				int *retval, struct __sk_buff *skb)
{
	LIBBPF_OPTS(bpf_test_run_opts, ro, .data_in = frame, .data_size_in = len, .data_out = out,
		    .data_size_out = cap, .repeat = 1);

	if (skb) {
		memset(skb, 0, sizeof(*skb));
		ro.ctx_out = skb;
		ro.ctx_size_out = sizeof(*skb);
	}
	if (bpf_prog_test_run_opts(prog_fd, &ro))
		return -errno;
	*out_len = ro.data_size_out;
	*retval = (int)ro.retval;
	return 0;
}

static inline int bpffx_run(int prog_fd, const void *frame, __u32 len, void *out, __u32 cap, __u32 *out_len,
			    int *retval)
{
	return bpffx_run_skb(prog_fd, frame, len, out, cap, out_len, retval, NULL);
}

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
