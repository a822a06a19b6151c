// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xdp_fwd_min - a control of `make bench`: the least a load balancer that
 * forwards in XDP does per packet of a known flow. The parse of xdp_parse,
 * one hash lookup of the flow, whose value caches what a FIB lookup gave
 * (egress interface, MACs), the Ethernet addresses rewritten, redirect.
 * The bench fills the map with the frame's flow. Under BPF_PROG_TEST_RUN
 * the redirect returns XDP_REDIRECT without sending.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "parse.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Written by bench.c, read here. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CTL_FLOWS_MAX);
	__type(key, struct ctl_flow);
	__type(value, struct ctl_fwd);
} ctl_flows SEC(".maps");

SEC("xdp")
int xdp_fwd_min(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ctl_flow k = {};
	struct ctl_fwd *fwd;

	if (ctl_parse(data, end, &k))
		return XDP_PASS;
	fwd = bpf_map_lookup_elem(&ctl_flows, &k);
	if (!fwd)
		return XDP_PASS;
	/* ctl_parse has checked the Ethernet header against end */
	__builtin_memcpy(eth->h_source, fwd->smac, sizeof(eth->h_source));
	__builtin_memcpy(eth->h_dest, fwd->dmac, sizeof(eth->h_dest));
	return bpf_redirect(fwd->ifindex, 0);
}
