// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * nsh_test - the chain header of bpf/lib/nsh.h (NSH over VXLAN-GPE,
 * docs/chains.md) under BPF_PROG_TEST_RUN, through tests/prog/nsh_test.bpf.c:
 * what wrapping writes, octet by octet, against arrays written by hand from
 * RFC 8300 and draft-ietf-nvo3-vxlan-gpe; unwrapping gives back the frame
 * that was wrapped; every malformed header is refused with its reason and
 * dropped; the stage an SI names and the header toward the next stage.
 *
 *   nsh_test               the cases
 *   nsh_test --pcap FILE   write the wrapped frames of the cases to FILE and
 *                          print what each header says, one line a frame, for
 *                          tests/e2e/nsh_tshark.sh to compare with tshark
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/pkt_cls.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cloudsteer.h"
#include "bpffx.h"
#include "pkt.h"
#include "nsh_test.skel.h"
#include "testing.h"

T_SUITE("prog-nsh");

/* Where the headers of a wrapped untagged frame with an outer IPv4 header lie. */
enum {
	ETH_LEN = 14,
	OFF_UDP = 14 + 20,
	OFF_GPE = OFF_UDP + 8,
	OFF_NSH = OFF_GPE + 8,
	OFF_CTX = OFF_NSH + 8,
	OFF_INNER = OFF_NSH + 24,
};
#define NOT_GPE 0xffffffffu

static struct nsh_test_bpf *skel;
static __u8 g_out[FRAME_CAP];
static __u32 g_out_len;

/* ---- the frames ---- */

/* The client's packet: UDP "hello" from 192.0.2.10:40000 to
 * 198.51.100.7:443, or the same between 2001:db8::a and 2001:db8::7. */
static __u32 client_frame(__u8 *out, bool v6)
{
	struct frame_opts o = { .ipv6 = v6, .sport = 40000, .dport = 443,
				.src = v6 ? "2001:db8::a" : "192.0.2.10",
				.dst = v6 ? "2001:db8::7" : "198.51.100.7" };

	return frame_build(out, &o, "hello", 5);
}

/* A TCP segment of 1400 octets: a full-sized packet of a stream. */
static __u32 client_segment(__u8 *out, bool v6)
{
	struct frame_opts o = { .ipv6 = v6, .sport = 40001, .dport = 443,
				.src = v6 ? "2001:db8::a" : "192.0.2.10",
				.dst = v6 ? "2001:db8::7" : "198.51.100.7" };

	return frame_tcp(out, &o, 0x10, 1400);
}

static void set_addr(struct cs_addr *a, const char *text)
{
	memset(a, 0, sizeof(*a));
	if (strchr(text, ':')) {
		inet_pton(AF_INET6, text, a->b);
	} else {
		a->b[10] = a->b[11] = 0xff;
		inet_pton(AF_INET, text, &a->b[12]);
	}
}

/* The instance the frame goes to, over IPv4 or IPv6, of the chain with
 * wire id vni. */
static void set_instance(bool outer6, __u32 vni)
{
	struct cs_instance *in = &skel->bss->inst;

	memset(in, 0, sizeof(*in));
	set_addr(&in->local, outer6 ? "2001:db8:30::1" : "10.30.0.1");
	set_addr(&in->addr, outer6 ? "2001:db8:30::2" : "10.30.0.2");
	in->vni = vni;
}

/* Chain casb (wire id 12484427 = 0xbe7f4b) of one stage, symmetric: a
 * return packet, on the path's hop back to stage 0 (SI 254, TTL 62). */
static const struct cs_nsh_md MD_A = { .spi = 0xbe7f4b, .code = 0xdeadbeef, .chain = 0xbe7f4b,
				       .flags = CS_NSH_F_RETURN | CS_NSH_F_SYMMETRIC, .si = 254, .ttl = 62 };
/* Chain 1, to stage 1, a forward packet, one hop taken. */
static const struct cs_nsh_md MD_B = { .spi = 1, .code = 0x00c0ffee, .chain = 1, .si = 254, .ttl = 62 };

static int run(struct bpf_program *prog, const __u8 *frame, __u32 len)
{
	int verdict = 0, err = bpffx_run(bpf_program__fd(prog), frame, len, g_out, sizeof(g_out), &g_out_len, &verdict);

	return err ? err : verdict;
}

/* frame wrapped toward the instance with md, into out; its length, 0 when
 * the program refused. */
static __u32 wrap(const __u8 *frame, __u32 len, bool outer6, const struct cs_nsh_md *md, __u8 *out)
{
	set_instance(outer6, md->chain);
	skel->bss->md_in = *md;
	if (run(skel->progs.nsh_wrap, frame, len) != 0 || skel->bss->helper_err)
		return 0;
	memcpy(out, g_out, g_out_len);
	return g_out_len;
}

/* The reason nsh_unwrap gives the frame; the verdict in *verdict. */
static __u32 unwrap_reason(const __u8 *frame, __u32 len, int *verdict)
{
	skel->bss->reason = 0xdead;
	*verdict = run(skel->progs.nsh_unwrap, frame, len);
	return skel->bss->reason;
}

static bool md_equal(const struct cs_nsh_md *a, const struct cs_nsh_md *b)
{
	return a->spi == b->spi && a->code == b->code && a->chain == b->chain && a->flags == b->flags &&
	       a->si == b->si && a->ttl == b->ttl;
}

/* Where two buffers first differ, for the failure message; -1: nowhere. */
static int first_diff(const __u8 *a, const __u8 *b, __u32 n)
{
	for (__u32 i = 0; i < n; i++)
		if (a[i] != b[i])
			return (int)i;
	return -1;
}

static bool setup(void)
{
	skel = nsh_test_bpf__open_and_load();
	if (!skel) {
		printf("SKIP: %s: all: the test programs do not load (%s): run as root\n", t_state.suite,
		       strerror(errno));
		return false;
	}
	return true;
}

/* ---- the cases ---- */

/* Outer IPv4 to 10.30.0.2, chain 0xbe7f4b, code 0xdeadbeef, stage 0 on
 * the way back of a symmetric chain of one stage. */
static void wrap_ipv4_octets(void)
{
	static const __u8 want[60] = {
		/* IPv4: version 4, IHL 5, total 60 + 33, no id or DF, TTL 64,
		 * UDP, checksum, 10.30.0.1 -> 10.30.0.2 */
		0x45, 0x00, 0x00, 0x5d, 0x00, 0x00, 0x00, 0x00, 0x40, 0x11, 0x66, 0x52,
		0x0a, 0x1e, 0x00, 0x01, 0x0a, 0x1e, 0x00, 0x02,
		/* UDP: source 0xc000 | low 14 bits of the code, to 4790,
		 * length 40 + 33, no checksum */
		0xfe, 0xef, 0x12, 0xb6, 0x00, 0x49, 0x00, 0x00,
		/* VXLAN-GPE: flags I and P, next protocol NSH, VNI 0xbe7f4b */
		0x0c, 0x00, 0x00, 0x04, 0xbe, 0x7f, 0x4b, 0x00,
		/* NSH: version 0, O 0, TTL 62, length 6; MD type 1; next
		 * protocol IPv4 */
		0x0f, 0x86, 0x01, 0x01,
		/* SPI 0xbe7f4b, SI 254: stage 0, coming back */
		0xbe, 0x7f, 0x4b, 0xfe,
		/* the code; the chain; flags return | symmetric; reserved */
		0xde, 0xad, 0xbe, 0xef, 0x00, 0xbe, 0x7f, 0x4b, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00,
	};
	__u8 in[256], out[FRAME_CAP];
	__u32 n = client_frame(in, false), m = wrap(in, n, false, &MD_A, out);

	if (!EXPECT_EQ(m, n + sizeof(want)))
		return;
	EXPECT(!memcmp(out, in, 12), "the Ethernet addresses changed");
	EXPECT(out[12] == 0x08 && out[13] == 0x00, "Ethernet type %02x%02x, not IPv4", out[12], out[13]);
	EXPECT(!memcmp(out + ETH_LEN, want, sizeof(want)), "octet %d of the headers differs",
	       first_diff(out + ETH_LEN, want, sizeof(want)));
	EXPECT(!memcmp(out + OFF_INNER, in + ETH_LEN, n - ETH_LEN), "the inner packet changed");
	EXPECT(frame_ip4_csum_ok(out + ETH_LEN), "the outer IPv4 checksum does not hold");
}

/* Outer IPv6, chain 1, code 0x00c0ffee, stage 1, forward; inner IPv6. */
static void wrap_ipv6_octets(void)
{
	static const __u8 want[80] = {
		/* IPv6: version 6, payload 40 + 53, next header UDP, hop limit 64 */
		0x60, 0x00, 0x00, 0x00, 0x00, 0x5d, 0x11, 0x40,
		0x20, 0x01, 0x0d, 0xb8, 0x00, 0x30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
		0x20, 0x01, 0x0d, 0xb8, 0x00, 0x30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
		/* UDP: 0xc000 | 0x3fee, to 4790, length 93, checksum 0 (the
		 * receiver is ours and takes it off before UDP) */
		0xff, 0xee, 0x12, 0xb6, 0x00, 0x5d, 0x00, 0x00,
		/* VXLAN-GPE: I, P, NSH, VNI 1 */
		0x0c, 0x00, 0x00, 0x04, 0x00, 0x00, 0x01, 0x00,
		/* NSH: TTL 62, length 6, MD type 1, next protocol IPv6 */
		0x0f, 0x86, 0x01, 0x02,
		/* SPI 1, SI 254 */
		0x00, 0x00, 0x01, 0xfe,
		/* the code; the chain; no flags; reserved */
		0x00, 0xc0, 0xff, 0xee, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	};
	__u8 in[256], out[FRAME_CAP];
	__u32 n = client_frame(in, true), m = wrap(in, n, true, &MD_B, out);

	if (!EXPECT_EQ(m, n + sizeof(want)))
		return;
	EXPECT(out[12] == 0x86 && out[13] == 0xdd, "Ethernet type %02x%02x, not IPv6", out[12], out[13]);
	EXPECT(!memcmp(out + ETH_LEN, want, sizeof(want)), "octet %d of the headers differs",
	       first_diff(out + ETH_LEN, want, sizeof(want)));
	EXPECT(!memcmp(out + ETH_LEN + sizeof(want), in + ETH_LEN, n - ETH_LEN), "the inner packet changed");
}

/* The next protocol follows the inner packet, whatever the outer family. */
static void wrap_mixed_families(void)
{
	__u8 in[256], out[FRAME_CAP];
	__u32 n = client_frame(in, true);

	if (EXPECT_EQ(wrap(in, n, false, &MD_A, out), n + CS_NSH_OVERHEAD4))
		EXPECT_EQ(out[OFF_NSH + 3], CS_NSH_NP_IPV6);
	n = client_frame(in, false);
	if (EXPECT_EQ(wrap(in, n, true, &MD_B, out), n + CS_NSH_OVERHEAD6))
		EXPECT_EQ(out[ETH_LEN + 40 + 16 + 3], CS_NSH_NP_IPV4);
}

/* What NSH does not carry, and an instance whose address toward it is not
 * known yet, are left as they were. */
static void wrap_refuses(void)
{
	__u8 in[256], out[FRAME_CAP];
	__u32 n = client_frame(in, false);

	in[12] = 0x08, in[13] = 0x06;	/* ARP */
	EXPECT_EQ(wrap(in, n, false, &MD_A, out), 0);
	n = client_frame(in, false);
	set_instance(false, 1);
	memset(&skel->bss->inst.local, 0, sizeof(skel->bss->inst.local));
	skel->bss->md_in = MD_A;
	EXPECT_EQ(run(skel->progs.nsh_wrap, in, n), TC_ACT_SHOT);
	EXPECT(g_out_len == n && !memcmp(g_out, in, n), "the frame changed");
}

/* Wrapped, then unwrapped: the frame as it was, and the header read as it
 * was written. */
static void round_trip_one(const char *what, bool inner6, bool outer6, bool segment, const struct cs_nsh_md *md)
{
	static __u8 in[FRAME_CAP], wrapped[FRAME_CAP];
	__u32 n = segment ? client_segment(in, inner6) : client_frame(in, inner6);
	__u32 m = wrap(in, n, outer6, md, wrapped);
	int verdict;

	if (!EXPECT(m, "%s: not wrapped", what))
		return;
	EXPECT(unwrap_reason(wrapped, m, &verdict) == CS_NSH_OK, "%s: refused for %u", what, skel->bss->reason);
	if (!EXPECT(verdict == 0 && !skel->bss->helper_err, "%s: verdict %d, unwrap %d", what, verdict,
		    skel->bss->helper_err))
		return;
	EXPECT(g_out_len == n && !memcmp(g_out, in, n), "%s: unwrapped is %u octets, not the %u wrapped; octet %d",
	       what, g_out_len, n, first_diff(g_out, in, n < g_out_len ? n : g_out_len));
	EXPECT(md_equal(&skel->bss->md_seen, md), "%s: the header read is not the one written", what);
	EXPECT_EQ(skel->bss->md_seen.next_proto, inner6 ? CS_NSH_NP_IPV6 : CS_NSH_NP_IPV4);
}

static void round_trip(void)
{
	round_trip_one("v4 in v4", false, false, false, &MD_A);
	round_trip_one("v6 in v6", true, true, false, &MD_B);
	round_trip_one("tcp v4 in v4", false, false, true, &MD_B);
	round_trip_one("tcp v6 in v6", true, true, true, &MD_A);
}

/* The skb's protocol changes with the family: BPF_F_ADJ_ROOM_DECAP_L3_*,
 * from Linux 6.3. */
static void round_trip_mixed(void)
{
	__u8 in[256], wrapped[FRAME_CAP];
	__u32 n = client_frame(in, false), m = wrap(in, n, true, &MD_A, wrapped);
	int verdict;

	unwrap_reason(wrapped, m, &verdict);
	if (skel->bss->helper_err && !skel->bss->reason) {
		T_SKIP("this kernel does not change an skb's family on decap (Linux 6.3 does)");
		return;
	}
	round_trip_one("v4 in v6", false, true, false, &MD_A);
	round_trip_one("v6 in v4", true, false, true, &MD_B);
}

/* VXLAN (4789), or UDP elsewhere: not the header's to judge. */
static void other_udp_passes(void)
{
	__u8 inner[256], frame[FRAME_CAP];
	struct frame_opts o = { .src = "10.30.0.1", .dst = "10.30.0.2" };
	__u32 n = client_frame(inner, false), m = frame_vxlan(frame, &o, 1, inner, n);
	int verdict;

	EXPECT_EQ(unwrap_reason(frame, m, &verdict), NOT_GPE);
	EXPECT_EQ(verdict, TC_ACT_OK);
	EXPECT(g_out_len == m && !memcmp(g_out, frame, m), "the frame changed");
}

struct bad_case {
	const char *name;
	__u32 off;		/* the octet changed, from the frame's start */
	__u8 and_mask, or_bits;	/* it becomes (octet & and_mask) | or_bits */
	__u32 reason;
};

/* Each case changes one octet of the IPv4-wrapped frame of MD_A. */
static const struct bad_case BAD[] = {
	{ "GPE without the P bit", OFF_GPE, 0x08, 0x00, CS_NSH_GPE_FLAGS },
	{ "GPE version 1", OFF_GPE, 0xff, 0x10, CS_NSH_GPE_FLAGS },
	{ "GPE OAM", OFF_GPE, 0xff, 0x01, CS_NSH_GPE_FLAGS },
	{ "GPE next protocol Ethernet", OFF_GPE + 3, 0x00, 0x03, CS_NSH_GPE_NOT_NSH },
	{ "GPE next protocol IPv4", OFF_GPE + 3, 0x00, 0x01, CS_NSH_GPE_NOT_NSH },
	{ "NSH version 1", OFF_NSH, 0x3f, 0x40, CS_NSH_VERSION },
	{ "NSH version 2", OFF_NSH, 0x3f, 0x80, CS_NSH_VERSION },
	{ "NSH O bit", OFF_NSH, 0xff, 0x20, CS_NSH_OAM },
	{ "MD type 2", OFF_NSH + 2, 0x00, 0x02, CS_NSH_MD_TYPE },
	{ "MD type 0", OFF_NSH + 2, 0x00, 0x00, CS_NSH_MD_TYPE },
	{ "MD type 15", OFF_NSH + 2, 0x00, 0x0f, CS_NSH_MD_TYPE },
	{ "length 2", OFF_NSH + 1, 0xc0, 0x02, CS_NSH_LENGTH },
	{ "length 5", OFF_NSH + 1, 0xc0, 0x05, CS_NSH_LENGTH },
	{ "length 7", OFF_NSH + 1, 0xc0, 0x07, CS_NSH_LENGTH },
	{ "length 63", OFF_NSH + 1, 0xc0, 0x3f, CS_NSH_LENGTH },
	{ "TTL 0", OFF_NSH, 0xf0, 0x00, CS_NSH_TTL },	/* and the next octet's top two bits, below */
	{ "next protocol Ethernet", OFF_NSH + 3, 0x00, CS_NSH_NP_ETHERNET, CS_NSH_NEXT_PROTO },
	{ "next protocol NSH", OFF_NSH + 3, 0x00, 0x04, CS_NSH_NEXT_PROTO },
	{ "next protocol MPLS", OFF_NSH + 3, 0x00, 0x05, CS_NSH_NEXT_PROTO },
	{ "next protocol 0", OFF_NSH + 3, 0x00, 0x00, CS_NSH_NEXT_PROTO },
	{ "next protocol experiment", OFF_NSH + 3, 0x00, 0xfe, CS_NSH_NEXT_PROTO },
	{ "IPv6 named, IPv4 carried", OFF_NSH + 3, 0x00, CS_NSH_NP_IPV6, CS_NSH_INNER },
	{ "SI 223: past any chain's path out and back", OFF_NSH + 7, 0x00, 223, CS_NSH_SI_RANGE },
	{ "SI 0", OFF_NSH + 7, 0x00, 0, CS_NSH_SI_RANGE },
	{ "inner version 0", OFF_INNER, 0x0f, 0x00, CS_NSH_INNER },
};

static const struct bad_case *g_bad;

/* A malformed header: refused with its reason, dropped, left as it was. */
static void refuses_one(void)
{
	const struct bad_case *b = g_bad;
	__u8 in[256], bad[FRAME_CAP];
	__u32 n = client_frame(in, false), m = wrap(in, n, false, &MD_A, bad);
	int verdict;

	if (!EXPECT(m, "not wrapped"))
		return;
	bad[b->off] = (bad[b->off] & b->and_mask) | b->or_bits;
	if (b->reason == CS_NSH_TTL)
		bad[b->off + 1] &= 0x3f;	/* the TTL's low two bits */
	EXPECT(unwrap_reason(bad, m, &verdict) == b->reason, "reason %u, not %u", skel->bss->reason, b->reason);
	EXPECT(verdict == TC_ACT_SHOT, "verdict %d, not dropped", verdict);
	EXPECT(g_out_len == m && !memcmp(g_out, bad, m), "the frame changed");
}

/* One case a line, so that each malformed header is counted. */
static void refuses_malformed(void)
{
	char name[96];

	for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
		g_bad = &BAD[i];
		snprintf(name, sizeof(name), "refuses %s", BAD[i].name);
		t_run(name, refuses_one);
	}
}

/* Cut short anywhere in UDP, VXLAN-GPE, NSH, or before the inner packet. */
static void refuses_short(void)
{
	static const __u32 cut[] = { OFF_UDP + 4, OFF_GPE, OFF_GPE + 4, OFF_NSH, OFF_NSH + 4, OFF_NSH + 8,
				     OFF_CTX + 15, OFF_INNER };
	__u8 in[256], good[FRAME_CAP];
	__u32 n = client_frame(in, false), m = wrap(in, n, false, &MD_A, good);
	int verdict;

	if (!EXPECT(m, "not wrapped"))
		return;
	for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		__u32 reason = unwrap_reason(good, cut[i], &verdict);

		/* a frame cut inside its UDP header is not taken for VXLAN-GPE */
		if (cut[i] < OFF_GPE) {
			EXPECT(reason == NOT_GPE || reason == CS_NSH_SHORT, "cut at %u: reason %u", cut[i], reason);
			continue;
		}
		EXPECT(reason == CS_NSH_SHORT, "cut at %u: reason %u, not short", cut[i], reason);
		EXPECT(verdict == TC_ACT_SHOT, "cut at %u: verdict %d", cut[i], verdict);
	}
	/* MD type 2 with no context (length 2) ends where MD type 1's context
	 * begins: refused for its type, not as cut short */
	good[OFF_NSH + 1] = (good[OFF_NSH + 1] & 0xc0) | 2;
	good[OFF_NSH + 2] = 2;
	EXPECT_EQ(unwrap_reason(good, OFF_CTX, &verdict), CS_NSH_MD_TYPE);
}

/* Unassigned bits are ignored, as RFC 8300 asks: the U bit, MD type's high
 * nibble, unknown flags, the fourth context word, GPE's reserved octets. */
static void ignores_unassigned(void)
{
	__u8 in[256], frame[FRAME_CAP];
	__u32 n = client_frame(in, false), m = wrap(in, n, false, &MD_A, frame);
	int verdict;

	if (!EXPECT(m, "not wrapped"))
		return;
	frame[OFF_NSH] |= 0x10;
	frame[OFF_NSH + 2] |= 0xf0;
	frame[OFF_CTX + 8] = 0x80;
	frame[OFF_CTX + 15] = 0x5a;
	frame[OFF_GPE + 1] = frame[OFF_GPE + 2] = 0xff;
	EXPECT_EQ(unwrap_reason(frame, m, &verdict), CS_NSH_OK);
	EXPECT_EQ(verdict, TC_ACT_OK);
	EXPECT_EQ(skel->bss->md_seen.flags, 0x80000000u | MD_A.flags);
	EXPECT_EQ(g_out_len, n);
}

/* The stage of an SI, and the header toward the next one. */
static __u32 next_of(__u8 si, __u8 ttl, __u32 n_stages)
{
	struct cs_nsh_md md = MD_A;
	__u8 in[256], frame[FRAME_CAP];
	__u32 n = client_frame(in, false), m;

	md.si = si;
	md.ttl = ttl;
	m = wrap(in, n, false, &md, frame);
	skel->bss->n_stages = n_stages;
	skel->bss->stage = 0xdead;
	run(skel->progs.nsh_next, frame, m);
	return skel->bss->reason;
}

static void next_stage(void)
{
	/* out: SI 255 - stage */
	EXPECT_EQ(next_of(255, 63, 3), CS_NSH_OK);
	EXPECT_EQ(skel->bss->stage, 0);
	EXPECT(!skel->bss->back, "the way out");
	EXPECT_EQ(skel->bss->md_seen.si, 254);
	EXPECT_EQ(skel->bss->md_seen.ttl, 62);
	EXPECT_EQ(skel->bss->md_seen.code, MD_A.code);
	EXPECT_EQ(next_of(253, 10, 3), CS_NSH_OK);
	EXPECT_EQ(skel->bss->stage, 2);
	EXPECT(!skel->bss->back, "the way out");
	EXPECT_EQ(skel->bss->md_seen.si, 252);
	/* back, last stage first: SI 255 - n - (n - 1 - stage) */
	EXPECT_EQ(next_of(252, 60, 3), CS_NSH_OK);
	EXPECT_EQ(skel->bss->stage, 2);
	EXPECT(skel->bss->back, "the way back");
	EXPECT_EQ(next_of(250, 58, 3), CS_NSH_OK);
	EXPECT_EQ(skel->bss->stage, 0);
	EXPECT(skel->bss->back, "the way back");
	EXPECT_EQ(next_of(254, 62, 1), CS_NSH_OK);
	EXPECT_EQ(skel->bss->stage, 0);
	EXPECT(skel->bss->back, "the way back");
	/* past the chain's path out and back, and past the longest chain's */
	EXPECT_EQ(next_of(249, 63, 3), CS_NSH_SI_RANGE);
	EXPECT_EQ(next_of(255, 63, 0), CS_NSH_SI_RANGE);
	EXPECT_EQ(next_of(255, 63, CS_CHAIN_STAGES_MAX + 1), CS_NSH_SI_RANGE);
	EXPECT_EQ(next_of(240, 63, CS_CHAIN_STAGES_MAX), CS_NSH_OK);
	EXPECT_EQ(skel->bss->stage, CS_CHAIN_STAGES_MAX - 1);
	EXPECT(!skel->bss->back, "the way out");
	EXPECT_EQ(next_of(239, 63, CS_CHAIN_STAGES_MAX), CS_NSH_OK);
	EXPECT_EQ(skel->bss->stage, CS_CHAIN_STAGES_MAX - 1);
	EXPECT(skel->bss->back, "the way back");
	EXPECT_EQ(next_of(224, 63, CS_CHAIN_STAGES_MAX), CS_NSH_SI_RANGE);	/* the path's very last hop */
	EXPECT_EQ(skel->bss->stage, 0);
	/* a TTL of 1 arrives, but may go no further */
	EXPECT_EQ(next_of(255, 1, 3), CS_NSH_TTL_EXPIRED);
	EXPECT_EQ(next_of(255, 2, 3), CS_NSH_OK);
	EXPECT_EQ(skel->bss->md_seen.ttl, 1);
}

/* ---- --pcap: the frames tshark decodes (tests/e2e/nsh_tshark.sh) ---- */

static void print_md(const struct cs_nsh_md *md, __u8 np)
{
	printf("spi=%u si=%u ttl=%u np=%u c1=%08x c2=%08x c3=%08x c4=00000000\n", md->spi, md->si, md->ttl, np,
	       md->code, md->chain, md->flags);
}

/* The classic pcap file format (what tcpdump -w writes), written by hand:
 * libpcap's header and libbpf's cannot be included together. */
static bool pcap_put(FILE *f, const void *p, size_t n)
{
	return fwrite(p, 1, n, f) == n;
}

static bool pcap_begin(FILE *f)
{
	const struct {
		__u32 magic;
		__u16 major, minor;
		__s32 zone;
		__u32 sigfigs, snaplen, linktype;
	} h = { 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1 /* Ethernet */ };

	return pcap_put(f, &h, sizeof(h));
}

static bool pcap_frame(FILE *f, __u32 n, const __u8 *frame, __u32 len)
{
	const __u32 h[4] = { 1, n, len, len };	/* seconds, microseconds, captured, on the wire */

	return pcap_put(f, h, sizeof(h)) && pcap_put(f, frame, len);
}

static int write_pcap(const char *path)
{
	static const struct {
		bool inner6, outer6;
		const struct cs_nsh_md *md;
	} frames[] = { { false, false, &MD_A }, { true, true, &MD_B }, { false, true, &MD_B }, { true, false, &MD_A } };
	FILE *f = fopen(path, "wb");
	bool ok = f && pcap_begin(f);

	for (size_t i = 0; ok && i < sizeof(frames) / sizeof(frames[0]); i++) {
		__u8 in[256], out[FRAME_CAP];
		__u32 n = client_frame(in, frames[i].inner6), m = wrap(in, n, frames[i].outer6, frames[i].md, out);

		ok = m && pcap_frame(f, (__u32)i, out, m);
		if (ok)
			print_md(frames[i].md, frames[i].inner6 ? CS_NSH_NP_IPV6 : CS_NSH_NP_IPV4);
	}
	if (f && fclose(f))
		ok = false;
	if (!ok)
		fprintf(stderr, "nsh_test: could not write the frames to %s\n", path);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	int rc;

	if (!setup())
		return argc > 1;
	if (argc == 3 && !strcmp(argv[1], "--pcap")) {
		rc = write_pcap(argv[2]);
		nsh_test_bpf__destroy(skel);
		return rc;
	}
	RUN(wrap_ipv4_octets);
	RUN(wrap_ipv6_octets);
	RUN(wrap_mixed_families);
	RUN(wrap_refuses);
	RUN(round_trip);
	RUN(round_trip_mixed);
	RUN(other_udp_passes);
	refuses_malformed();
	RUN(refuses_short);
	RUN(ignores_unassigned);
	RUN(next_stage);
	nsh_test_bpf__destroy(skel);
	T_EXIT();
}
