// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdio.h>
#include <string.h>

#include <pcap/pcap.h>

#include "pcapread.h"

#define FRAME_MAX (65536 + 32)

/* Give a frame an Ethernet header, as the learn program sees on a NIC. */
static int to_ethernet(int linktype, const __u8 *in, __u32 len, __u8 *out, __u32 *out_len)
{
	__u16 proto;
	__u32 skip;

	switch (linktype) {
	case DLT_EN10MB:
		memcpy(out, in, len);
		*out_len = len;
		return 0;
	case DLT_RAW:
		if (!len)
			return -1;
		proto = (in[0] >> 4) == 6 ? 0x86DD : 0x0800;
		skip = 0;
		break;
	case DLT_LINUX_SLL:
		if (len < 16)
			return -1;
		proto = (__u16)(in[14] << 8 | in[15]);
		skip = 16;
		break;
	case DLT_LINUX_SLL2:
		if (len < 20)
			return -1;
		proto = (__u16)(in[0] << 8 | in[1]);
		skip = 20;
		break;
	default:
		return -1;
	}
	memset(out, 0, 12);
	out[12] = proto >> 8;
	out[13] = proto & 0xff;
	memcpy(out + 14, in + skip, len - skip);
	*out_len = len - skip + 14;
	return 0;
}

static int linktype_supported(int lt)
{
	return lt == DLT_EN10MB || lt == DLT_RAW || lt == DLT_LINUX_SLL || lt == DLT_LINUX_SLL2;
}

int cs_pcap_each(const char *path, cs_frame_fn fn, void *ctx, char *err, size_t errlen)
{
	static __u8 frame[FRAME_MAX];
	char errbuf[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *hdr;
	const u_char *pkt;
	unsigned long n = 0;
	pcap_t *pc;
	int lt, r;

	pc = pcap_open_offline(path, errbuf);
	if (!pc) {
		snprintf(err, errlen, "%s: %s", path, errbuf);
		return -1;
	}
	lt = pcap_datalink(pc);
	if (!linktype_supported(lt)) {
		const char *name = pcap_datalink_val_to_name(lt);

		snprintf(err, errlen, "%s: link type %s is not supported (Ethernet, raw IP and Linux cooked are)",
			 path, name ? name : "unknown");
		pcap_close(pc);
		return -1;
	}
	while ((r = pcap_next_ex(pc, &hdr, &pkt)) == 1) {
		__u32 len = 0;

		if (hdr->caplen > FRAME_MAX - 14 || to_ethernet(lt, pkt, hdr->caplen, frame, &len))
			len = 0;
		if (fn(ctx, ++n, frame, len))
			break;
	}
	if (r == -1) {
		snprintf(err, errlen, "%s: frame %lu: %s", path, n + 1, pcap_geterr(pc));
		pcap_close(pc);
		return -1;
	}
	pcap_close(pc);
	return 0;
}
