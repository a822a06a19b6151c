// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * shim_prog.c - a map of every type the shim serves, declared and used as a
 * BPF program does (through bpf/lib/common.h), for shim_test.c to hold to
 * the kernel's behaviour. The wrappers only pass through: what they return
 * is what the helpers return.
 */
#include "lib/common.h"

struct lpm_v4 {
	__u32 prefixlen;
	__u8 addr[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} t_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, __u64);
} t_lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} t_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 3);
	__type(key, struct lpm_v4);
	__type(value, __u32);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} t_lpm SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 2);
	__type(value, __u32);
} t_queue SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 2);
	__type(value, __u32);
} t_stack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} t_ring SEC(".maps");

const struct shim_map_def shim_test_maps[] = {
	SHIM_MAP_KV(t_hash), SHIM_MAP_KV(t_lru), SHIM_MAP_KV(t_array), SHIM_MAP_KV(t_lpm),
	SHIM_MAP_V(t_queue), SHIM_MAP_V(t_stack), SHIM_MAP_RB(t_ring), { 0 },
};

__u64 *t_hash_lookup(__u32 k) { return bpf_map_lookup_elem(&t_hash, &k); }
long t_hash_update(__u32 k, __u64 v, __u64 f) { return bpf_map_update_elem(&t_hash, &k, &v, f); }
long t_hash_delete(__u32 k) { return bpf_map_delete_elem(&t_hash, &k); }
__u64 *t_lru_lookup(__u32 k) { return bpf_map_lookup_elem(&t_lru, &k); }
long t_lru_update(__u32 k, __u64 v) { return bpf_map_update_elem(&t_lru, &k, &v, BPF_ANY); }
__u64 *t_array_lookup(__u32 k) { return bpf_map_lookup_elem(&t_array, &k); }
long t_array_update(__u32 k, __u64 v, __u64 f) { return bpf_map_update_elem(&t_array, &k, &v, f); }
long t_array_delete(__u32 k) { return bpf_map_delete_elem(&t_array, &k); }

/* prefix a.b.c.d/len */
static struct lpm_v4 lpm_key(__u32 addr, __u32 len)
{
	struct lpm_v4 k = { .prefixlen = len };

	k.addr[0] = addr >> 24;
	k.addr[1] = addr >> 16;
	k.addr[2] = addr >> 8;
	k.addr[3] = addr;
	return k;
}

__u32 *t_lpm_lookup(__u32 addr, __u32 len)
{
	struct lpm_v4 k = lpm_key(addr, len);

	return bpf_map_lookup_elem(&t_lpm, &k);
}

long t_lpm_update(__u32 addr, __u32 len, __u32 v)
{
	struct lpm_v4 k = lpm_key(addr, len);

	return bpf_map_update_elem(&t_lpm, &k, &v, BPF_ANY);
}

long t_lpm_delete(__u32 addr, __u32 len)
{
	struct lpm_v4 k = lpm_key(addr, len);

	return bpf_map_delete_elem(&t_lpm, &k);
}

long t_queue_push(__u32 v, __u64 f) { return bpf_map_push_elem(&t_queue, &v, f); }
long t_queue_pop(__u32 *v) { return bpf_map_pop_elem(&t_queue, v); }
long t_queue_peek(__u32 *v) { return bpf_map_peek_elem(&t_queue, v); }
long t_stack_push(__u32 v) { return bpf_map_push_elem(&t_stack, &v, 0); }
long t_stack_pop(__u32 *v) { return bpf_map_pop_elem(&t_stack, v); }

void *t_ring_reserve(__u64 size) { return bpf_ringbuf_reserve(&t_ring, size, 0); }
void t_ring_submit(void *p) { bpf_ringbuf_submit(p, BPF_RB_NO_WAKEUP); }
void t_ring_discard(void *p) { bpf_ringbuf_discard(p, 0); }
long t_ring_output(const void *p, __u64 size) { return bpf_ringbuf_output(&t_ring, (void *)p, size, 0); }
__u64 t_ring_avail(void) { return bpf_ringbuf_query(&t_ring, BPF_RB_AVAIL_DATA); }

static long stop_at_three(__u32 i, void *ctx)
{
	*(__u32 *)ctx += 1;
	return i == 3;
}

long t_loop(__u32 n, __u64 flags, __u32 *calls)
{
	return bpf_loop(n, stop_at_three, calls, flags);
}

long t_xdp_load(struct xdp_md *ctx, __u32 off, void *buf, __u32 len)
{
	return bpf_xdp_load_bytes(ctx, off, buf, len);
}

long t_skb_load(struct __sk_buff *skb, __u32 off, void *buf, __u32 len)
{
	return bpf_skb_load_bytes(skb, off, buf, len);
}
