// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * livegen_sink - the counter at the ends of steer_path.sh's lab: attached
 * (XDP) to the instance's and the origin's veth, it counts and drops the
 * benchmark's frames (IPv4, UDP to lg_dport) and passes everything else,
 * so ARP and the DNS that teaches cloudsteer still work. Dropping in XDP
 * keeps the receivers' cost small and the same in every way measured.
 */
/* Packet headers and xdp_md are fixed formats (wire, UAPI), not kernel
 * internals: no CO-RE relocations, so loading needs no vmlinux BTF (tens of
 * ms per load, paid on every sample). */
#define BPF_NO_PRESERVE_ACCESS_INDEX
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "livegen.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u16 lg_dport;	/* network order; set by livegen before load */

/* What arrived, per CPU. Written by livegen_sink on every frame; read by
 * livegen at the ends of its window. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct lg_sink);
} lg_sink SEC(".maps");

static __always_inline bool lg_is_bench(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(0x0800) ||
	    ip->protocol != 17 /* UDP */ || ip->ihl < 5)
		return false;
	udp = (void *)ip + ip->ihl * 4;
	return (void *)(udp + 1) <= data_end && udp->dest == lg_dport;
}

SEC("xdp")
int livegen_sink(struct xdp_md *ctx)
{
	struct lg_sink *s;
	__u32 zero = 0;
	bool bench = lg_is_bench((void *)(long)ctx->data, (void *)(long)ctx->data_end);

	s = bpf_map_lookup_elem(&lg_sink, &zero);
	if (s) {
		if (bench)
			s->packets++;
		else
			s->passed++;
	}
	return bench ? XDP_DROP : XDP_PASS;
}
