/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * pcapread.h - iterate the frames of a pcap or pcapng capture as Ethernet
 * frames. Kept apart from libbpf: <pcap.h> and <bpf/bpf.h> both define
 * struct bpf_insn.
 */
#ifndef CS_PCAPREAD_H
#define CS_PCAPREAD_H

#include <stddef.h>
#include <linux/types.h>

/* Called for each frame, numbered from 1 as tcpdump and tshark do. A frame
 * that cannot be given an Ethernet header comes with len 0. Return non-zero
 * to stop. */
typedef int (*cs_frame_fn)(void *ctx, unsigned long frame, const __u8 *eth, __u32 len);

/* Returns 0, or -1 with the reason (naming the file) in err. */
int cs_pcap_each(const char *path, cs_frame_fn fn, void *ctx, char *err, size_t errlen);

#endif
