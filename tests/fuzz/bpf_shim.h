/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bpf_shim.h - what bpf/lib/common.h includes instead of vmlinux.h and
 * libbpf's bpf_helpers.h/bpf_endian.h when CS_BPF_SHIM is defined: the same
 * names, so a cloudsteer BPF source compiles unchanged as x86-64 userspace
 * C, for libFuzzer and the sanitizers.
 *
 * No libc here: vmlinux.h and libc headers define the same types. Helpers
 * that touch the context (packet bytes) are inline below, over the context's
 * own fields; map, ring buffer and clock helpers go to bpf_shim.c through
 * shim_api.h, each carrying what it reads off the map's definition.
 *
 * The context holds the packet as __u32 addresses, as vmlinux.h declares
 * them, so the harness must put packets below 4 GiB (mmap MAP_32BIT).
 */
#ifndef CS_BPF_SHIM_H
#define CS_BPF_SHIM_H

/* preserve_access_index (CO-RE relocations) means nothing off the BPF target */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "vmlinux.h"

#include "shim_api.h"

/* ---- libbpf's declaration macros, as bpf_helpers.h spells them ---- */

#define SEC(name)
#define NULL ((void *)0)
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]
#define __always_inline inline __attribute__((always_inline))
#define __noinline __attribute__((noinline))

/* x86-64 is little-endian: network order is a byte swap */
#define bpf_htons(x) ((__u16)__builtin_bswap16(x))
#define bpf_ntohs(x) ((__u16)__builtin_bswap16(x))
#define bpf_htonl(x) ((__u32)__builtin_bswap32(x))
#define bpf_ntohl(x) ((__u32)__builtin_bswap32(x))

/* ---- a map's definition, read off its member types ---- */

/* __uint(name, N) declares int (*name)[N]: N is the size of the array
 * pointed to, in ints. */
#define SHIM_UINT(member) ((__u32)(sizeof(*(member)) / sizeof(int)))

#define SHIM_DEF_INIT(m, nm, ksize, vsize)                                         \
	{ .map = (m), .name = (nm), .type = SHIM_UINT((m)->type), .key_size = (ksize), \
	  .value_size = (vsize), .max_entries = SHIM_UINT((m)->max_entries) }
#define SHIM_DEF(m, ksize, vsize) (&(const struct shim_map_def)SHIM_DEF_INIT(m, 0, ksize, vsize))
/* maps with a key and a value; queues and stacks (value only); ring buffers */
#define SHIM_KV(m) SHIM_DEF(m, sizeof(*(m)->key), sizeof(*(m)->value))
#define SHIM_V(m) SHIM_DEF(m, 0, sizeof(*(m)->value))
#define SHIM_RB(m) SHIM_DEF(m, 0, 0)

/* The same by name, for a table of a program's maps that the harness reads:
 * { SHIM_MAP_KV(cs_config), SHIM_MAP_RB(cs_learn_events), ... } */
#define SHIM_MAP_KV(m) SHIM_DEF_INIT(&m, #m, sizeof(*m.key), sizeof(*m.value))
#define SHIM_MAP_V(m) SHIM_DEF_INIT(&m, #m, 0, sizeof(*m.value))
#define SHIM_MAP_RB(m) SHIM_DEF_INIT(&m, #m, 0, 0)

/* ---- map and ring buffer helpers ---- */

#define bpf_map_lookup_elem(m, k) shim_map_lookup(SHIM_KV(m), (k))
#define bpf_map_update_elem(m, k, v, f) shim_map_update(SHIM_KV(m), (k), (v), (f))
#define bpf_map_delete_elem(m, k) shim_map_delete(SHIM_KV(m), (k))
#define bpf_map_push_elem(m, v, f) shim_map_push(SHIM_V(m), (v), (f))
#define bpf_map_pop_elem(m, v) shim_map_pop(SHIM_V(m), (v))
#define bpf_map_peek_elem(m, v) shim_map_peek(SHIM_V(m), (v))

#define bpf_ringbuf_reserve(m, size, f) shim_ringbuf_reserve(SHIM_RB(m), (size), (f))
#define bpf_ringbuf_submit(data, f) shim_ringbuf_submit((data), (f))
#define bpf_ringbuf_discard(data, f) shim_ringbuf_discard((data), (f))
#define bpf_ringbuf_output(m, data, size, f) shim_ringbuf_output(SHIM_RB(m), (data), (size), (f))
#define bpf_ringbuf_query(m, f) shim_ringbuf_query(SHIM_RB(m), (f))

/* ---- the other helpers ---- */

static __always_inline __u64 bpf_ktime_get_ns(void) { return shim_clock_ns; }
static __always_inline __u64 bpf_ktime_get_boot_ns(void) { return shim_clock_ns; }
static __always_inline __u64 bpf_ktime_get_coarse_ns(void) { return shim_clock_ns; }
static __always_inline __u32 bpf_get_smp_processor_id(void) { return 0; }
static __always_inline __u32 bpf_get_prandom_u32(void) { return shim_prandom_u32(); }

#define SHIM_EINVAL 22
#define SHIM_E2BIG 7
#define SHIM_EFAULT 14
#define SHIM_LOOP_MAX (1u << 23)	/* the kernel's bound on nr_loops */

/* The kernel's loop: returns the callbacks run, counting one that stopped it. */
static __always_inline long bpf_loop(__u32 nr_loops, long (*fn)(__u32 index, void *ctx), void *ctx,
				     __u64 flags)
{
	__u32 i;

	if (flags)
		return -SHIM_EINVAL;
	if (nr_loops > SHIM_LOOP_MAX)
		return -SHIM_E2BIG;
	for (i = 0; i < nr_loops; i++)
		if (fn(i, ctx))
			return i + 1;
	return i;
}

/* The packet of a context is linear here: [data, data_end). */
static __always_inline __u32 shim_xdp_len(const struct xdp_md *ctx)
{
	return ctx->data_end - ctx->data;
}

static __always_inline __u32 bpf_xdp_get_buff_len(struct xdp_md *ctx)
{
	return shim_xdp_len(ctx);
}

/* As the kernel: -EFAULT for offsets or lengths past 64 KiB, -EINVAL past the
 * frame, the buffer untouched then. */
static __always_inline long bpf_xdp_load_bytes(struct xdp_md *ctx, __u32 off, void *buf, __u32 len)
{
	if (off > 0xffff || len > 0xffff)
		return -SHIM_EFAULT;
	if (off + len > shim_xdp_len(ctx))
		return -SHIM_EINVAL;
	__builtin_memcpy(buf, (void *)(long)(ctx->data + off), len);
	return 0;
}

/* A tail call into an empty slot, as the harness never fills one: the
 * kernel returns then, and the program goes on. */
static __always_inline long bpf_tail_call(void *ctx, void *prog_array, __u32 index)
{
	(void)ctx;
	(void)prog_array;
	(void)index;
	return -1;
}

/* As the kernel: past the packet, -EFAULT and the buffer zeroed. */
static __always_inline long bpf_skb_load_bytes(const void *skb_ctx, __u32 off, void *to, __u32 len)
{
	const struct __sk_buff *skb = skb_ctx;
	__u32 n = skb->data_end - skb->data;

	if (off > n || len > n - off) {
		__builtin_memset(to, 0, len);
		return -SHIM_EFAULT;
	}
	__builtin_memcpy(to, (void *)(long)(skb->data + off), len);
	return 0;
}

#endif /* CS_BPF_SHIM_H */
