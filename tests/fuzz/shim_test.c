// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * fuzz-shim: the shim's maps and helpers (bpf_shim.h, bpf_shim.c) against
 * the kernel's documented behaviour, through a program-side file that uses
 * them as BPF code does (shim_prog.c). The fuzzer trusts the shim; this is
 * why it may.
 */
#include <errno.h>
#include <string.h>

#include <linux/bpf.h>
#include <linux/types.h>

#include "shim_api.h"
#include "testing.h"

T_SUITE("fuzz-shim");

extern const struct shim_map_def shim_test_maps[];
__u64 *t_hash_lookup(__u32 k);
long t_hash_update(__u32 k, __u64 v, __u64 f);
long t_hash_delete(__u32 k);
__u64 *t_lru_lookup(__u32 k);
long t_lru_update(__u32 k, __u64 v);
__u64 *t_array_lookup(__u32 k);
long t_array_update(__u32 k, __u64 v, __u64 f);
long t_array_delete(__u32 k);
__u32 *t_lpm_lookup(__u32 addr, __u32 len);
long t_lpm_update(__u32 addr, __u32 len, __u32 v);
long t_lpm_delete(__u32 addr, __u32 len);
long t_queue_push(__u32 v, __u64 f);
long t_queue_pop(__u32 *v);
long t_queue_peek(__u32 *v);
long t_stack_push(__u32 v);
long t_stack_pop(__u32 *v);
void *t_ring_reserve(__u64 size);
void t_ring_submit(void *p);
void t_ring_discard(void *p);
long t_ring_output(const void *p, __u64 size);
__u64 t_ring_avail(void);
long t_loop(__u32 n, __u64 flags, __u32 *calls);
long t_xdp_load(struct xdp_md *ctx, __u32 off, void *buf, __u32 len);
long t_skb_load(struct __sk_buff *skb, __u32 off, void *buf, __u32 len);

#define IP(a, b, c, d) ((__u32)(a) << 24 | (__u32)(b) << 16 | (__u32)(c) << 8 | (d))

static const struct shim_map_def *map_named(const char *name)
{
	const struct shim_map_def *d;

	for (d = shim_test_maps; d->map; d++)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

static void hash_flags_and_limit(void)
{
	__u64 *old;

	shim_reset();
	EXPECT(!t_hash_lookup(1), "a fresh hash holds nothing");
	EXPECT_EQ(t_hash_update(1, 10, BPF_NOEXIST), 0);
	EXPECT_EQ(t_hash_update(1, 11, BPF_NOEXIST), -EEXIST);
	EXPECT_EQ(t_hash_update(2, 20, BPF_EXIST), -ENOENT);
	EXPECT_EQ(t_hash_update(2, 20, BPF_ANY), 0);
	EXPECT_EQ(t_hash_update(3, 30, BPF_ANY), -E2BIG);
	old = t_hash_lookup(1);
	EXPECT_EQ(t_hash_update(1, 12, BPF_EXIST), 0);
	/* the kernel swaps in a new element: a pointer taken before still
	 * reads the old one, until the program ends */
	EXPECT(old && *old == 10, "the old element stays readable");
	EXPECT(t_hash_lookup(1) && *t_hash_lookup(1) == 12, "the new value");
	EXPECT_EQ(t_hash_update(1, 0, 4), -EINVAL);
	EXPECT_EQ(t_hash_delete(3), -ENOENT);
	EXPECT_EQ(t_hash_delete(2), 0);
	EXPECT_EQ(shim_map_count(map_named("t_hash")), 1);
	shim_map_set_max_entries(map_named("t_hash"), 1);
	EXPECT_EQ(t_hash_update(2, 20, BPF_ANY), -E2BIG);
	shim_map_set_max_entries(map_named("t_hash"), 0);
	EXPECT_EQ(t_hash_update(2, 20, BPF_ANY), 0);
	shim_reset();
	EXPECT(!t_hash_lookup(1), "shim_reset empties it");
}

static void lru_evicts_least_recent(void)
{
	shim_reset();
	EXPECT_EQ(t_lru_update(1, 10), 0);
	EXPECT_EQ(t_lru_update(2, 20), 0);
	EXPECT(t_lru_lookup(1), "1 is there");	/* 2 is now the least recent */
	EXPECT_EQ(t_lru_update(3, 30), 0);
	EXPECT(t_lru_lookup(1) && t_lru_lookup(3) && !t_lru_lookup(2), "2 made room for 3");
}

static void array_elements_exist(void)
{
	__u64 *v;

	shim_reset();
	v = t_array_lookup(3);
	EXPECT(v && *v == 0, "every element exists, zero");
	EXPECT(!t_array_lookup(4), "none past max_entries");
	EXPECT_EQ(t_array_update(1, 5, BPF_ANY), 0);
	EXPECT_EQ(t_array_update(1, 5, BPF_NOEXIST), -EEXIST);
	EXPECT_EQ(t_array_update(4, 5, BPF_ANY), -E2BIG);
	EXPECT_EQ(t_array_delete(1), -EINVAL);
	v = t_array_lookup(1);
	EXPECT(v && *v == 5, "the value written");
	shim_reset();
	v = t_array_lookup(1);
	EXPECT(v && *v == 0, "shim_reset zeroes it");
}

static void lpm_longest_prefix(void)
{
	__u32 *v;

	shim_reset();
	EXPECT_EQ(t_lpm_update(IP(10, 0, 0, 0), 8, 1), 0);
	EXPECT_EQ(t_lpm_update(IP(10, 1, 0, 0), 16, 2), 0);
	/* bits past the prefix do not matter */
	EXPECT_EQ(t_lpm_update(IP(192, 0, 2, 99), 24, 3), 0);
	v = t_lpm_lookup(IP(10, 1, 2, 3), 32);
	EXPECT(v && *v == 2, "10.1.2.3 under 10.1/16");
	v = t_lpm_lookup(IP(10, 2, 0, 0), 32);
	EXPECT(v && *v == 1, "10.2.0.0 under 10/8");
	v = t_lpm_lookup(IP(192, 0, 2, 1), 32);
	EXPECT(v && *v == 3, "192.0.2.1 under 192.0.2/24");
	v = t_lpm_lookup(IP(10, 1, 2, 3), 12);
	EXPECT(v && *v == 1, "a shorter key sees only shorter prefixes");
	EXPECT(!t_lpm_lookup(IP(11, 0, 0, 0), 32), "11.0.0.0 under none");
	EXPECT_EQ(t_lpm_update(IP(10, 0, 0, 0), 33, 9), -EINVAL);
	EXPECT_EQ(t_lpm_update(IP(172, 16, 0, 0), 12, 9), -ENOSPC);
	EXPECT_EQ(t_lpm_delete(IP(10, 0, 0, 0), 8), 0);
	EXPECT_EQ(t_lpm_delete(IP(10, 0, 0, 0), 8), -ENOENT);
	EXPECT(!t_lpm_lookup(IP(10, 2, 0, 0), 32), "10/8 is gone");
}

static void queue_and_stack(void)
{
	__u32 v = 0;

	shim_reset();
	EXPECT_EQ(t_queue_pop(&v), -ENOENT);
	EXPECT_EQ(t_queue_push(1, 0), 0);
	EXPECT_EQ(t_queue_push(2, 0), 0);
	EXPECT_EQ(t_queue_push(3, 0), -E2BIG);
	EXPECT_EQ(t_queue_push(3, BPF_NOEXIST), -EINVAL);
	EXPECT_EQ(t_queue_push(3, BPF_EXIST), 0);	/* drops the oldest, 1 */
	EXPECT(t_queue_peek(&v) == 0 && v == 2, "peek: 2 (got %u)", v);
	EXPECT(t_queue_pop(&v) == 0 && v == 2, "first out: 2 (got %u)", v);
	EXPECT(t_queue_pop(&v) == 0 && v == 3, "then 3 (got %u)", v);
	EXPECT_EQ(shim_map_count(map_named("t_queue")), 0);
	EXPECT_EQ(t_stack_push(1), 0);
	EXPECT_EQ(t_stack_push(2), 0);
	EXPECT(t_stack_pop(&v) == 0 && v == 2, "last in first out: 2 (got %u)", v);
}

static int count_record(void *ctx, const void *data, __u32 size)
{
	(void)data;
	*(__u32 *)ctx += size;
	return 0;
}

static void ring_buffer_records(void)
{
	static const char hello[5] = "hello";
	void *a, *b;
	__u32 bytes = 0;

	shim_reset();
	a = t_ring_reserve(100);
	EXPECT(a, "reserve 100 octets");
	EXPECT_EQ(t_ring_avail(), 112);	/* 8 of header, rounded up to 8 */
	EXPECT(!t_ring_reserve(4096), "no record as large as the ring");
	b = t_ring_reserve(16);
	EXPECT_EQ(shim_ringbuf_pending(), 2);
	t_ring_discard(b);
	EXPECT_EQ(shim_ringbuf_consume(map_named("t_ring"), count_record, &bytes), 0);	/* a is pending */
	t_ring_submit(a);
	EXPECT_EQ(t_ring_output(hello, sizeof(hello)), 0);
	EXPECT_EQ(shim_ringbuf_pending(), 0);
	EXPECT_EQ(shim_ringbuf_consume(map_named("t_ring"), count_record, &bytes), 2);
	EXPECT_EQ(bytes, 105);
	EXPECT_EQ(t_ring_avail(), 0);
}

static void loop_and_packet_helpers(void)
{
	__u8 pkt[64], buf[16];
	struct xdp_md xdp = { 0 };
	struct __sk_buff skb;
	__u32 calls = 0;

	EXPECT_EQ(t_loop(10, 0, &calls), 4);	/* the stopping call counts */
	EXPECT_EQ(calls, 4);
	EXPECT_EQ(t_loop(10, 1, &calls), -EINVAL);
	memset(pkt, 0xab, sizeof(pkt));
	xdp.data = 0x1000;	/* never read: every load below is refused */
	xdp.data_end = 0x1000 + sizeof(pkt);
	EXPECT_EQ(t_xdp_load(&xdp, 60, buf, 8), -EINVAL);
	EXPECT_EQ(t_xdp_load(&xdp, 0x10000, buf, 1), -EFAULT);
	memset(&skb, 0, sizeof(skb));
	skb.data = 0x1000;
	skb.data_end = 0x1000 + sizeof(pkt);
	memset(buf, 0xff, sizeof(buf));
	EXPECT_EQ(t_skb_load(&skb, 60, buf, 8), -EFAULT);
	EXPECT(buf[0] == 0 && buf[7] == 0, "a refused skb load zeroes the buffer");
}

int main(void)
{
	RUN(hash_flags_and_limit);
	RUN(lru_evicts_least_recent);
	RUN(array_elements_exist);
	RUN(lpm_longest_prefix);
	RUN(queue_and_stack);
	RUN(ring_buffer_records);
	RUN(loop_and_packet_helpers);
	T_EXIT();
}
