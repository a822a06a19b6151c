// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * learn_seeds DIR [PCAP]: write the seed inputs of learn_fuzzer into DIR
 * (its input format is in learn_fuzzer.c): every frame of the capture as it
 * is; the DNS message of each that carries one, wrapped in two transports;
 * the fuzz set's built answers in every transport, tagged and not, sent
 * more than once, under both configs; and frames with IPv4 options and
 * IPv6 extension headers.
 * PCAP defaults to the shared Knot capture (tests/lib/fuzzset.h); without
 * it the built seeds are written alone, and it says so.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzset.h"
#include "lib/pcapread.h"
#include "refdns.h"

#define HOW_FRAME 0x00
#define HOW_WRAPPED 0x01
#define HOW_TRANSPORT(t) ((__u8)((t) << 1))	/* udp4, udp6, tcp4, tcp6 */
#define HOW_VLANS(n) ((__u8)((n) << 3))
#define HOW_RUNS(n) ((__u8)(((n) - 1) << 5))	/* 1..4 */
#define HOW_TIGHT 0x80

static const char *dir;
static int written;

static void put_seed(const char *name, __u8 how, const __u8 *b, __u32 len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(&how, 1, 1, f) != 1 || fwrite(b, 1, len, f) != len || fclose(f)) {
		fprintf(stderr, "learn_seeds: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	written++;
}

/* The capture: each frame as it is; its message, if any, wrapped. */
static int capture_frame(void *ctx, unsigned long frame, const __u8 *eth, __u32 len)
{
	struct refdns_loc loc;
	char name[64];

	(void)ctx;
	if (!len)
		return 0;
	snprintf(name, sizeof(name), "knot-%03lu-frame", frame);
	put_seed(name, HOW_FRAME, eth, len);
	if (refdns_locate(eth, len, &loc))
		return 0;
	snprintf(name, sizeof(name), "knot-%03lu-udp4", frame);
	put_seed(name, HOW_WRAPPED, eth + loc.off, loc.len);
	snprintf(name, sizeof(name), "knot-%03lu-tcp6-x3-tight", frame);
	put_seed(name, HOW_WRAPPED | HOW_TRANSPORT(3) | HOW_RUNS(3) | HOW_TIGHT, eth + loc.off, loc.len);
	return 0;
}

/* IPv4 options (NOPs and an end) after the header of an untagged frame. */
static __u32 v4_insert_options(__u8 *f, __u32 len)
{
	__u8 *ip = f + 14;
	__u32 total = (__u32)(ip[2] << 8 | ip[3]) + 8;

	memmove(ip + 28, ip + 20, len - 14 - 20);
	memset(ip + 20, 1, 7);
	ip[27] = 0;
	ip[0] = 0x47;
	ip[2] = (__u8)(total >> 8);
	ip[3] = (__u8)total;
	return len + 8;
}

/* An IPv6 extension header of `type` after the header of an untagged frame. */
static __u32 v6_insert_ext(__u8 *f, __u32 len, __u8 type)
{
	__u8 *ip = f + 14, *ext = ip + 40;
	__u32 plen = (__u32)(ip[4] << 8 | ip[5]) + 8;

	memmove(ext + 8, ext, len - 14 - 40);
	memset(ext, 0, 8);
	ext[0] = ip[6];
	ip[6] = type;
	ip[4] = (__u8)(plen >> 8);
	ip[5] = (__u8)plen;
	return len + 8;
}

static void built_seeds(void)
{
	static const char *const transport[] = { "udp4", "udp6", "tcp4", "tcp6" };
	static __u8 frame[FRAME_CAP + 64];
	static struct dnsmsg m;
	char name[64];
	size_t b;
	int t, v;

	for (b = 0; b < FUZZSET_N_BASES; b++) {
		fuzzset_base(b, &m);
		for (t = 0; t < 4; t++)
			for (v = 0; v <= 2; v += 2) {
				snprintf(name, sizeof(name), "built-%zu-%s-vlan%d%s", b, transport[t], v,
					 v ? "-tight" : "");
				put_seed(name, HOW_WRAPPED | HOW_TRANSPORT(t) | HOW_VLANS(v) | HOW_RUNS(1 + t % 3) |
					 (v ? HOW_TIGHT : 0), m.b, m.len);
			}
		snprintf(name, sizeof(name), "built-%zu-ipv4-options", b);
		put_seed(name, HOW_FRAME, frame,
			 v4_insert_options(frame, frame_build(frame, &(struct frame_opts){ 0 }, m.b, m.len)));
		snprintf(name, sizeof(name), "built-%zu-ipv6-ext", b);
		put_seed(name, HOW_FRAME, frame,
			 v6_insert_ext(frame, frame_build(frame, &(struct frame_opts){ .ipv6 = true }, m.b, m.len), 60));
	}
}

int main(int argc, char **argv)
{
	const char *pcap;
	char err[512];

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: learn_seeds DIR [PCAP]\n");
		return 2;
	}
	dir = argv[1];
	pcap = argc > 2 ? argv[2] : fuzzset_capture();
	built_seeds();
	if (cs_pcap_each(pcap, capture_frame, NULL, err, sizeof(err)))
		printf("learn_seeds: no capture: %s\n", err);
	printf("learn_seeds: %d seeds in %s\n", written, dir);
	return 0;
}
