/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * pkt.h - build DNS messages and the frames that carry them, for
 * BPF_PROG_TEST_RUN tests and benchmarks. Counts are written as given, so a
 * test can make them lie; nothing is validated.
 */
#ifndef CS_TEST_PKT_H
#define CS_TEST_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define DNS_MAX   4096
#define FRAME_CAP 9216

struct dnsmsg {
	__u8 b[DNS_MAX];
	__u32 len;
};

enum { DNS_QD = 4, DNS_AN = 6, DNS_NS = 8, DNS_AR = 10 };	/* count offsets */
#define DNS_FLAGS_RESPONSE 0x8180	/* QR, RD, RA, NOERROR */

/* Header: id, flags and the four counts, exactly as given. */
void dns_header(struct dnsmsg *m, __u16 id, __u16 flags, __u16 qd, __u16 an, __u16 ns, __u16 ar);
void dns_set16(struct dnsmsg *m, __u32 off, __u16 v);
void dns_put(struct dnsmsg *m, const void *p, __u32 n);
void dns_put8(struct dnsmsg *m, __u8 v);
void dns_put16(struct dnsmsg *m, __u16 v);
void dns_put32(struct dnsmsg *m, __u32 v);
/* "www.Example.com" as labels plus the root; returns where it starts.
 * "" writes the root name alone. */
__u32 dns_name(struct dnsmsg *m, const char *text);
/* Labels of `text` (no root) followed by a pointer to `target`. */
__u32 dns_name_ptr(struct dnsmsg *m, const char *text, __u16 target);
/* A bare compression pointer. */
void dns_ptr(struct dnsmsg *m, __u16 target);
/* Question: name, QTYPE, class IN. Returns the offset of the name (12). */
__u32 dns_question(struct dnsmsg *m, const char *name, __u16 qtype);
/* After an owner name: TYPE, CLASS IN, TTL, then the rdata. */
void dns_rr_a(struct dnsmsg *m, __u32 ttl, const char *ipv4);
void dns_rr_aaaa(struct dnsmsg *m, __u32 ttl, const char *ipv6);
/* CNAME rdata as an uncompressed name; returns the offset of the target. */
__u32 dns_rr_cname(struct dnsmsg *m, __u32 ttl, const char *target);
/* CNAME rdata as a bare pointer to an earlier name; returns its offset. */
__u32 dns_rr_cname_ptr(struct dnsmsg *m, __u32 ttl, __u16 target);
/* Any record: TYPE, CLASS, TTL, RDLENGTH, RDATA. */
void dns_rr_raw(struct dnsmsg *m, __u16 type, __u16 klass, __u32 ttl, const void *rdata, __u16 rdlen);

/* The usual answer: question `name` and one A record per address, owners
 * compressed to the question. */
void dns_simple_answer(struct dnsmsg *m, const char *name, const char *const *ipv4, int n, __u32 ttl);

struct frame_opts {
	bool ipv6;
	bool tcp;		/* DNS over TCP: one segment, length-prefixed */
	int vlans;		/* 0, 1 or 2 (802.1ad outer, 802.1Q inner) */
	__u16 sport;		/* default 53 */
	__u16 dport;		/* default 40000 */
	const char *src;	/* default 192.0.2.53 / 2001:db8::53 */
	const char *dst;	/* default 192.0.2.1 / 2001:db8::1 */
};

/* Ethernet [+VLANs] + IPv4/IPv6 + UDP/TCP + payload; returns the frame length. */
__u32 frame_build(__u8 *out, const struct frame_opts *o, const void *payload, __u32 len);
/* A TCP SYN (flags 0x02) or SYN-ACK (0x12) with Linux's options, the MSS
 * option carrying `mss`; addresses, ports and VLANs from o. */
__u32 frame_tcp_syn(__u8 *out, const struct frame_opts *o, __u8 flags, __u16 mss);
/* Does the header checksum of the IPv4 header at ip hold? */
bool frame_ip4_csum_ok(const __u8 *ip);
/* Does the TCP/UDP checksum of an untagged frame hold? */
bool frame_l4_csum_ok(const __u8 *frame, __u32 len);
/* A plain TCP data segment (not DNS): what most traffic looks like. */
__u32 frame_tcp_data(__u8 *out, __u32 payload_len);

/* A TCP segment with the given flags (FIN 0x01, SYN 0x02, RST 0x04, ACK
 * 0x10...), no options and payload_len zero octets (at most 1400); addresses,
 * ports and VLANs from o (o->tcp is ignored). */
__u32 frame_tcp(__u8 *out, const struct frame_opts *o, __u8 flags, __u32 payload_len);
/* An IP packet of protocol `proto` carrying the len (>= 8) octets at l4 as
 * given (no checksum is computed in them): ICMP, or anything else. */
__u32 frame_ip_raw(__u8 *out, const struct frame_opts *o, __u8 proto, const void *l4, __u32 len);
/* VXLAN (RFC 7348, I flag set) with `vni`, carrying the Ethernet frame
 * inner: outer addresses, VLANs and UDP source port from o, destination
 * port o->dport or 4789. */
__u32 frame_vxlan(__u8 *out, const struct frame_opts *o, __u32 vni, const __u8 *inner, __u32 inner_len);

/* Octets in network order, and octets as hex for a failure's message (at
 * most 64; the text lives until the next call). */
void pkt_put32(__u8 *p, __u32 v);
__u16 pkt_get16(const __u8 *p);
const char *pkt_hex(const __u8 *p, size_t n);
/* The chain header's fields (docs/chains.md), as a frame carries them; a
 * test may make any of them lie. */
struct nsh_fields {
	__u32 spi;		/* the service path, VXLAN-GPE's VNI and C2 */
	__u32 code, flags;	/* C1, C3 */
	__u8 si, ttl;
	__u8 md_type;		/* 1 */
	__u8 gpe_flags;		/* 0x0c: I and P */
	__u8 len_words;		/* 6 */
};
/* VXLAN-GPE (next protocol NSH, the VNI spi) and NSH of MD type 1 (version
 * 0, next protocol IPv4 or IPv6 as the packet's first nibble says, C4 0),
 * carrying the IP packet ip (no Ethernet header): outer addresses, VLANs and
 * UDP source port from o, destination port o->dport or 4790. */
__u32 frame_nsh(__u8 *out, const struct frame_opts *o, const struct nsh_fields *h, const __u8 *ip, __u32 ip_len);

#endif
