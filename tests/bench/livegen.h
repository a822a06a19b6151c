/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * livegen.h - what livegen.bpf.c, livegen_sink.bpf.c and livegen.c (the
 * generator of steer_path.sh) agree on: the frame's layout and the map
 * values. The BPF side has the types from vmlinux.h.
 */
#ifndef LIVEGEN_H
#define LIVEGEN_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Ethernet (14) + IPv4 without options (20) + UDP (8) */
#define LG_HDR_LEN    42
#define LG_HDR_WORDS  (LG_HDR_LEN / 2)
#define LG_OFF_IP     14
#define LG_OFF_CSUM   (LG_OFF_IP + 10)
#define LG_OFF_DADDR  (LG_OFF_IP + 16)
#define LG_OFF_SPORT  (LG_OFF_IP + 20)

#define LG_DADDR_MAX  64		/* a power of two: the index is masked */
#define LG_SPORT_BASE 10000
#define LG_FLOWS_MAX  (65535 - LG_SPORT_BASE)	/* one source port each */

/* The IPv4 header checksum of a frame to daddr (network order): base is
 * the one's complement sum of the header's 16-bit words as they lie in
 * memory, with the destination and the checksum 0 (so the byte order takes
 * care of itself). livegen_tx and livegen's AF_PACKET sender both use it. */
static inline __u16 lg_ip_csum(__u32 base, __u32 daddr)
{
	__u32 sum = base + (daddr & 0xffff) + (daddr >> 16);

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)~sum;
}

/* livegen_tx's per-CPU state */
struct lg_gen {
	__u64 sent;	/* frames built */
	__u64 next;	/* the stream of the next frame, 0..flows-1 */
};

/* livegen_sink's per-CPU counts */
struct lg_sink {
	__u64 packets;	/* benchmark frames counted and dropped */
	__u64 passed;	/* anything else, passed on to the stack */
};

#endif /* LIVEGEN_H */
