// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * livegen - the packet source of steer_path.sh. tests/bench/livegen.c runs
 * it with BPF_PROG_TEST_RUN in live-frames mode (BPF_F_TEST_XDP_LIVE_FRAMES):
 * every run turns one page-pool frame into an IPv4/UDP packet of stream
 * `flow` and returns XDP_TX, which the kernel turns into a redirect out of
 * the veth named as the context's ingress_ifindex, so the frame arrives at
 * its peer like one from a NIC.
 *
 * The kernel recycles a frame's page without restoring its bytes, and the
 * hosts it crossed have written into it (MACs, TTL, checksum), so each run
 * writes the whole header again from lg_hdr rather than patching it.
 */
/* Packet headers and xdp_md are fixed formats (wire, UAPI), not kernel
 * internals: no CO-RE relocations, so loading needs no vmlinux BTF (tens of
 * ms per load, paid on every sample). */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include "livegen.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by livegen before load. lg_hdr is the frame's Ethernet, IPv4 and UDP
 * headers as 16-bit words in wire order, with the IPv4 destination, its
 * checksum and the UDP source port left 0; lg_csum_base is the one's
 * complement sum of those IPv4 words, so a frame only adds its destination. */
const volatile __u16 lg_hdr[LG_HDR_WORDS];
const volatile __u32 lg_csum_base;
const volatile __u32 lg_daddr[LG_DADDR_MAX];	/* network order */
const volatile __u32 lg_n_daddr = 1;
const volatile __u32 lg_flows = 1;
const volatile __u16 lg_sport_base = LG_SPORT_BASE;

/* Frames built and the next stream, per CPU. Written by livegen_tx on every
 * run; read by livegen for the frames sent. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lg_gen);
} lg_gen SEC(".maps");

SEC("xdp")
int livegen_tx(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u16 *w = data;
	struct lg_gen *g;
	__u32 zero = 0, flow, daddr;
	int i;

	if ((void *)(w + LG_HDR_WORDS) > data_end)
		return XDP_ABORTED;
	g = bpf_map_lookup_elem(&lg_gen, &zero);
	if (!g)
		return XDP_ABORTED;
	/* streams take turns, one frame each: the worst case for any
	 * per-stream cache on the way */
	flow = (__u32)g->next;
	g->next = flow + 1 < lg_flows ? flow + 1 : 0;
	g->sent++;

#pragma unroll
	for (i = 0; i < LG_HDR_WORDS; i++)
		w[i] = lg_hdr[i];
	daddr = lg_daddr[(flow % lg_n_daddr) & (LG_DADDR_MAX - 1)];
	w[LG_OFF_DADDR / 2] = (__u16)daddr;
	w[LG_OFF_DADDR / 2 + 1] = (__u16)(daddr >> 16);
	w[LG_OFF_CSUM / 2] = lg_ip_csum(lg_csum_base, daddr);
	w[LG_OFF_SPORT / 2] = __builtin_bswap16((__u16)(lg_sport_base + flow));
	return XDP_TX;
}
