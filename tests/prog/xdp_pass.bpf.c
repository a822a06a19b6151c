// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xdp_pass - passes every frame. The e2e labs attach it to the far end of
 * the steering host's veths: a veth takes the frames another interface's
 * XDP program redirects to it (ndo_xdp_xmit) only when its peer runs NAPI,
 * which an XDP program there gives without the GRO that `ethtool -K gro
 * on` would add (GRO merges segments, which the tests count one by one).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	(void)ctx;
	return XDP_PASS;
}
