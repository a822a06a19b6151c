// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * learn_hostile: malformed and cut DNS answers. Whatever arrives, learn
 * returns XDP_PASS, counts one packet reason and learns nothing the answer
 * does not say.
 */
#include <stdio.h>
#include <string.h>

#include "learnfx.h"

T_SUITE("learn_hostile");

static const char CONF[] =
	"learn:\n"
	"  ttl: {min: 60, max: 86400, grace: 0}\n"
	"rules:\n"
	"  - match: [example.test, cdn.test]\n";

#define DT_A 1
#define DT_CNAME 5
#define DT_TXT 16
#define DT_AAAA 28
#define QNAME 12
#define F_TC 0x0200

static struct lfx F;
static struct dnsmsg M;

/* ---- building ---- */

static void msg_begin(__u16 flags, __u16 an)
{
	dns_header(&M, 0x4242, flags, 1, an, 0, 0);
	dns_question(&M, "www.example.test", DT_A);
}

static void a_at(__u32 owner, const char *ip)
{
	dns_ptr(&M, (__u16)owner);
	dns_rr_a(&M, 300, ip);
}

/* An A record whose RDLENGTH says `rdlen` over four octets of rdata. */
static void a_rdlen(__u32 owner, __u16 rdlen)
{
	static const __u8 ip[4] = { 192, 0, 2, 99 };

	dns_ptr(&M, (__u16)owner);
	dns_rr_raw(&M, DT_A, 1, 300, ip, 4);
	dns_set16(&M, M.len - 6, rdlen);
}

static void raw(const void *p, __u32 n) { dns_put(&M, p, n); }

/* A question whose name is the given raw octets, then QTYPE A, class IN. */
static void raw_question(__u16 an, const void *name, __u32 n)
{
	dns_header(&M, 0x4242, DNS_FLAGS_RESPONSE, 1, an, 0, 0);
	raw(name, n);
	dns_put16(&M, DT_A);
	dns_put16(&M, 1);
}

/* K compression pointers in a TXT record's rdata, each to the one before,
 * the first to the question; returns the offset of the last. */
static __u32 pointer_ladder(int k)
{
	static const __u8 none[1];
	__u32 rdata, i;

	dns_ptr(&M, QNAME);
	dns_rr_raw(&M, DT_TXT, 1, 300, none, 0);
	rdata = M.len;
	for (i = 0; i < (__u32)k; i++)
		dns_ptr(&M, (__u16)(i ? rdata + 2 * (i - 1) : QNAME));
	dns_set16(&M, rdata - 2, (__u16)(2 * k));
	return rdata + 2 * (k - 1);
}

/* ---- the cases: each builds M ---- */

static void h_ptr_to_itself_in_question(void)
{
	static const __u8 n[] = { 0xC0, QNAME };

	raw_question(1, n, sizeof(n));
	a_at(QNAME, "192.0.2.1");
}

static void h_ptr_to_own_labels(void)
{
	msg_begin(DNS_FLAGS_RESPONSE, 1);
	dns_name_ptr(&M, "x", (__u16)M.len);	/* "x" then a pointer back to "x" */
	dns_rr_a(&M, 300, "192.0.2.1");
}

/* Two owners, each a pointer to the other. */
static void h_two_ptrs_to_each_other(void)
{
	__u32 first;

	msg_begin(DNS_FLAGS_RESPONSE, 2);
	first = M.len;
	dns_ptr(&M, (__u16)(first + 16));	/* forward, to the next owner */
	dns_rr_a(&M, 300, "192.0.2.1");
	dns_ptr(&M, (__u16)first);
	dns_rr_a(&M, 300, "192.0.2.2");
}

static void h_forward_ptr_in_question(void)
{
	static const __u8 n[] = { 3, 'w', 'w', 'w', 0xC0, 12 + 6 + 4 };	/* to the answer */

	raw_question(1, n, sizeof(n));
	dns_name(&M, "example.test");
	dns_rr_a(&M, 300, "192.0.2.1");
}

static void h_forward_ptr_in_cname(void)
{
	__u32 t;

	msg_begin(DNS_FLAGS_RESPONSE, 2);
	dns_ptr(&M, QNAME);
	t = dns_rr_cname_ptr(&M, 300, 0);
	dns_set16(&M, t, (__u16)(0xC000 | (t + 2)));	/* to the owner of the next record */
	dns_name(&M, "edge.cdn.test");
	dns_rr_a(&M, 300, "192.0.2.1");
}

/* 'w' (0x77) read as a length octet is a 0x40-type label. */
static void h_ptr_into_label(void)
{
	msg_begin(DNS_FLAGS_RESPONSE, 1);
	a_at(QNAME + 1, "192.0.2.1");
}

/* '5' (53) read as a length octet: a label running off into what follows. */
static void h_ptr_into_label_digit(void)
{
	dns_header(&M, 0x4242, DNS_FLAGS_RESPONSE, 1, 1, 0, 0);
	dns_question(&M, "www.e5ample.test", DT_A);
	a_at(QNAME + 6, "192.0.2.1");
}

static void h_label_type_0x40(void)
{
	static const __u8 n[] = { 0x41, 'x', 0 };

	raw_question(1, n, sizeof(n));
	a_at(QNAME, "192.0.2.1");
}

static void h_label_type_0x80(void)
{
	static const __u8 n[] = { 3, 'w', 'w', 'w', 0x80, 'x', 0 };

	raw_question(1, n, sizeof(n));
	a_at(QNAME, "192.0.2.1");
}

static void h_label_of_64_in_owner(void)
{
	char name[80];

	memset(name, 'a', 64);
	strcpy(name + 64, ".example.test");
	msg_begin(DNS_FLAGS_RESPONSE, 1);
	dns_name(&M, name);
	dns_rr_a(&M, 300, "192.0.2.1");
}

/* Four 63-octet labels and "example.test": 270 octets. */
static void h_name_over_255(void)
{
	char name[300];
	int i;

	for (i = 0; i < 4; i++) {
		memset(name + i * 64, 'a' + i, 63);
		name[i * 64 + 63] = '.';
	}
	strcpy(name + 256, "example.test");
	dns_header(&M, 0x4242, DNS_FLAGS_RESPONSE, 1, 1, 0, 0);
	dns_question(&M, name, DT_A);
	a_at(QNAME, "192.0.2.1");
}

static void h_32_pointers(void)
{
	msg_begin(DNS_FLAGS_RESPONSE, 2);
	a_at(pointer_ladder(31), "192.0.2.32");	/* the owner's pointer is the 32nd */
}

static void h_33_pointers(void)
{
	msg_begin(DNS_FLAGS_RESPONSE, 2);
	a_at(pointer_ladder(32), "192.0.2.33");
}

static void h_ancount_larger(void)
{
	msg_begin(DNS_FLAGS_RESPONSE, 3);
	a_at(QNAME, "192.0.2.1");
	a_at(QNAME, "192.0.2.2");
}

static void h_ancount_far_larger(void)
{
	msg_begin(DNS_FLAGS_RESPONSE, 65535);
	a_at(QNAME, "192.0.2.1");
}

static void h_ancount_smaller(void)
{
	msg_begin(DNS_FLAGS_RESPONSE, 2);
	a_at(QNAME, "192.0.2.41");
	a_at(QNAME, "192.0.2.42");
	a_at(QNAME, "192.0.2.43");
}

static void h_rdlength_past_end(void)
{
	msg_begin(DNS_FLAGS_RESPONSE, 2);
	a_at(QNAME, "192.0.2.1");
	a_rdlen(QNAME, 200);
}

static void h_rdlength_past_end_tc(void)
{
	msg_begin(DNS_FLAGS_RESPONSE | F_TC, 2);
	a_at(QNAME, "192.0.2.51");
	a_rdlen(QNAME, 200);
}

static void h_a_rdlength_5(void)
{
	msg_begin(DNS_FLAGS_RESPONSE, 2);
	a_at(QNAME, "192.0.2.1");
	a_rdlen(QNAME, 5);
	dns_put8(&M, 0);
}

static void h_a_rdlength_3(void)
{
	msg_begin(DNS_FLAGS_RESPONSE, 2);
	a_at(QNAME, "192.0.2.1");
	a_rdlen(QNAME, 3);
}

static void h_aaaa_rdlength_4(void)
{
	static const __u8 ip[4] = { 192, 0, 2, 99 };

	msg_begin(DNS_FLAGS_RESPONSE, 1);
	dns_ptr(&M, QNAME);
	dns_rr_raw(&M, DT_AAAA, 1, 300, ip, 4);
}

static void h_cname_rdata_longer_than_name(void)
{
	__u32 t;

	msg_begin(DNS_FLAGS_RESPONSE, 2);
	dns_ptr(&M, QNAME);
	t = dns_rr_cname(&M, 300, "edge.cdn.test");
	dns_put8(&M, 0);
	dns_set16(&M, t - 2, (__u16)(M.len - t));
	a_at(t, "192.0.2.1");
}

static void h_cname_rdata_shorter_than_name(void)
{
	__u32 t;

	msg_begin(DNS_FLAGS_RESPONSE, 2);
	dns_ptr(&M, QNAME);
	t = dns_rr_cname(&M, 300, "edge.cdn.test");
	dns_set16(&M, t - 2, 5);
	a_at(t, "192.0.2.1");
}

static void h_question_cut_in_qtype(void)
{
	msg_begin(DNS_FLAGS_RESPONSE, 1);
	M.len -= 3;
}

static void h_question_without_root(void)
{
	static const __u8 n[] = { 3, 'w', 'w', 'w' };

	dns_header(&M, 0x4242, DNS_FLAGS_RESPONSE, 1, 1, 0, 0);
	raw(n, sizeof(n));
}

static void h_owner_half_pointer(void)
{
	msg_begin(DNS_FLAGS_RESPONSE, 1);
	dns_put8(&M, 0xC0);
}

static void h_pointer_loop_with_tc(void)
{
	msg_begin(DNS_FLAGS_RESPONSE | F_TC, 2);
	a_at(QNAME, "192.0.2.1");
	dns_ptr(&M, (__u16)M.len);
	dns_rr_a(&M, 300, "192.0.2.2");
}

static void h_header_only_with_counts(void)
{
	dns_header(&M, 0x4242, DNS_FLAGS_RESPONSE, 1, 1, 1, 1);
}

struct hostile_case {
	const char *name;
	void (*build)(void);
	int reason;		/* 0: any, as long as nothing wrong is learned */
	const char *learns[2];	/* the addresses it must teach, all others none */
};

/* REFUSED: nothing learned; TEACHES: exactly the addresses listed. */
#define REFUSED(name, fn, reason) { name, fn, reason, { NULL, NULL } }
#define TEACHES(name, fn, reason, ...) { name, fn, reason, { __VA_ARGS__ } }

static const struct hostile_case cases[] = {
	REFUSED("pointer to itself (question)", h_ptr_to_itself_in_question, CS_R_POINTER_LOOP),
	REFUSED("pointer to its own labels", h_ptr_to_own_labels, CS_R_POINTER_LOOP),
	REFUSED("two pointers to each other", h_two_ptrs_to_each_other, CS_R_POINTER_LOOP),
	REFUSED("forward pointer in the question", h_forward_ptr_in_question, CS_R_POINTER_LOOP),
	REFUSED("forward pointer in CNAME rdata", h_forward_ptr_in_cname, CS_R_POINTER_LOOP),
	REFUSED("pointer into a label (letter)", h_ptr_into_label, CS_R_BAD_NAME),
	REFUSED("pointer into a label (digit)", h_ptr_into_label_digit, 0),
	REFUSED("label type 0x40", h_label_type_0x40, CS_R_BAD_NAME),
	REFUSED("label type 0x80", h_label_type_0x80, CS_R_BAD_NAME),
	REFUSED("label of 64 octets", h_label_of_64_in_owner, CS_R_BAD_NAME),
	REFUSED("name over 255 octets", h_name_over_255, CS_R_BAD_NAME),
	TEACHES("32 pointers in one name", h_32_pointers, CS_R_LEARNED, "192.0.2.32"),
	REFUSED("33 pointers in one name", h_33_pointers, CS_R_POINTER_LOOP),
	REFUSED("ancount larger than present", h_ancount_larger, CS_R_BAD_RECORD),
	REFUSED("ancount 65535, one present", h_ancount_far_larger, CS_R_BAD_RECORD),
	TEACHES("ancount smaller than present", h_ancount_smaller, CS_R_LEARNED, "192.0.2.41", "192.0.2.42"),
	REFUSED("rdlength past the end", h_rdlength_past_end, CS_R_BAD_RECORD),
	TEACHES("rdlength past the end, TC=1", h_rdlength_past_end_tc, CS_R_LEARNED, "192.0.2.51"),
	REFUSED("A with rdlength 5", h_a_rdlength_5, CS_R_BAD_RECORD),
	REFUSED("A with rdlength 3", h_a_rdlength_3, CS_R_BAD_RECORD),
	REFUSED("AAAA with rdlength 4", h_aaaa_rdlength_4, CS_R_BAD_RECORD),
	REFUSED("CNAME rdata longer than its name", h_cname_rdata_longer_than_name, CS_R_BAD_RECORD),
	REFUSED("CNAME rdata shorter than its name", h_cname_rdata_shorter_than_name, CS_R_BAD_RECORD),
	REFUSED("question cut in QTYPE", h_question_cut_in_qtype, CS_R_BAD_RECORD),
	REFUSED("question name without root", h_question_without_root, CS_R_BAD_RECORD),
	REFUSED("owner cut after a pointer's first octet", h_owner_half_pointer, CS_R_BAD_RECORD),
	REFUSED("pointer loop in a TC=1 answer", h_pointer_loop_with_tc, CS_R_POINTER_LOOP),
	REFUSED("header only, counts say more", h_header_only_with_counts, CS_R_BAD_RECORD),
};

static int n_learns(const struct hostile_case *c)
{
	return !!c->learns[0] + !!c->learns[1];
}

/* Over UDP/IPv4, then TCP/IPv6: the verdict, the reason, and exactly the
 * events and records the case allows. The second run refreshes what the
 * first one learned. */
static void run_hostile(const struct hostile_case *c, const struct frame_opts *o)
{
	int before = lfx_records(&F), i;
	int reason = c->reason == CS_R_LEARNED && o->tcp ? CS_R_REFRESHED : c->reason;

	if (!lfx_run_dns(&F, &M, o))
		return;
	if (reason)
		EXPECT(lfx_reason(&F) == reason, "%s: %s, want %s", c->name,
		       lfx_reason_name(lfx_reason(&F)), cs_reason_name(reason));
	else
		EXPECT(lfx_reason(&F) > 0, "%s: not one packet reason", c->name);
	EXPECT(F.n_ev == n_learns(c), "%s: %d events, want %d", c->name, F.n_ev, n_learns(c));
	for (i = 0; i < n_learns(c); i++)
		EXPECT(lfx_event(&F, "www.example.test", c->learns[i]), "%s: %s not learned", c->name,
		       c->learns[i]);
	if (!o->tcp)	/* the TCP run sees the same records again */
		EXPECT(lfx_records(&F) == before + n_learns(c), "%s: %d records, had %d", c->name,
		       lfx_records(&F), before);
}

static void hostile_title(size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "%s -> %s", cases[i].name,
		 cases[i].reason ? cs_reason_name(cases[i].reason) : "any reason");
}

static void hostile_row(size_t i)
{
	static const struct frame_opts udp4 = { 0 }, tcp6 = { .ipv6 = true, .tcp = true };

	cases[i].build();
	run_hostile(&cases[i], &udp4);
	run_hostile(&cases[i], &tcp6);
}

/* ================= cut at every octet ================= */

/* question www.example.test, CNAME to edge.cdn.test, A, AAAA, A, and an
 * additional A; addr_end[i] is where the i-th address record ends. */
static const char *const base_ips[] = { "192.0.2.1", "2001:db8::1", "192.0.2.2" };
static __u32 addr_end[3], answer_end;

static void base_answer(__u16 flags)
{
	__u32 t;

	dns_header(&M, 0x4242, flags, 1, 4, 0, 1);
	dns_question(&M, "www.example.test", DT_A);
	dns_ptr(&M, QNAME);
	t = dns_rr_cname(&M, 300, "edge.cdn.test");
	a_at(t, base_ips[0]);
	addr_end[0] = M.len;
	dns_ptr(&M, (__u16)t);
	dns_rr_aaaa(&M, 300, base_ips[1]);
	addr_end[1] = M.len;
	a_at(t, base_ips[2]);
	addr_end[2] = M.len;
	answer_end = M.len;
	a_at(t, "198.51.100.1");	/* additional: never learned */
}

/* Every record in the map is (edge.cdn.test, one of base_ips). */
static void expect_records_only_from_base(const char *why)
{
	struct cs_record_key key, next;
	int fd = bpf_map__fd(F.skel->maps.cs_records), bad = 0;
	__u64 edge = lfx_name_id(&F, "edge.cdn.test");
	void *prev = NULL;
	size_t i;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		bool ok = next.name_id == edge;
		bool ip_ok = false;

		for (i = 0; i < 3; i++) {
			struct cs_addr a = lfx_addr(base_ips[i]);

			ip_ok |= !memcmp(&a, &next.addr, sizeof(a));
		}
		bad += !(ok && ip_ok);
		key = next;
		prev = &key;
	}
	EXPECT(bad == 0, "%s: %d records not in the answer", why, bad);
}

static const struct {
	const char *name;
	struct frame_opts o;
	int also;		/* a second reason a cut may give */
} cut_transports[] = {
	{ "udp4", { 0 }, CS_R_TRUNCATED },
	{ "udp6", { .ipv6 = true }, CS_R_TRUNCATED },
	/* cut inside the length prefix: the segment holds no whole message */
	{ "tcp4", { .tcp = true }, CS_R_TCP_PARTIAL },
	{ "tcp6 802.1ad+802.1Q", { .ipv6 = true, .tcp = true, .vlans = 2 }, CS_R_TCP_PARTIAL },
	{ "udp4 802.1Q", { .vlans = 1 }, CS_R_TRUNCATED },
};

/* What a frame cut to k octets may be counted as: truncated; not_ip while
 * the cut leaves no ethertype after the VLAN tags; tcp_partial inside the
 * TCP length prefix. */
static bool cut_reason_ok(int r, __u32 k, int vlans, int also)
{
	if (r == CS_R_NOT_IP)
		return k < 14u + 4u * (__u32)vlans;
	return r == CS_R_TRUNCATED || r == also;
}

/* The frame cut at every length from 14 octets up, its headers unchanged:
 * no cut teaches anything; the whole frame teaches. */
static void frame_cut_at_every_octet(void)
{
	static __u8 frame[FRAME_CAP];
	size_t t;
	__u32 len, k;

	base_answer(DNS_FLAGS_RESPONSE);
	for (t = 0; t < sizeof(cut_transports) / sizeof(cut_transports[0]); t++) {
		int bad = 0;

		len = frame_build(frame, &cut_transports[t].o, M.b, M.len);
		for (k = 14; k < len; k++) {
			int r;

			if (!lfx_run(&F, frame, k))
				return;
			r = lfx_reason(&F);
			if (!cut_reason_ok(r, k, cut_transports[t].o.vlans, cut_transports[t].also) &&
			    bad++ < 3)
				EXPECT(false, "%s cut to %u of %u: %s", cut_transports[t].name, k, len,
				       lfx_reason_name(r));
			if (F.n_ev && bad++ < 3)
				EXPECT(false, "%s cut to %u: %d events", cut_transports[t].name, k, F.n_ev);
		}
		EXPECT(lfx_records(&F) == 0, "%s: %d records from cut frames", cut_transports[t].name,
		       lfx_records(&F));
	}
	if (lfx_run(&F, frame, len))
		EXPECT(F.n_ev == 3, "the whole frame: %d events", F.n_ev);
	expect_records_only_from_base("whole frame");
}

/* The message cut at every length, UDP and IP lengths made to agree. Cut
 * inside the answer section, TC=0 teaches nothing and TC=1 exactly the
 * address records that are whole; cut in the additional section, both
 * teach the whole answer. */
static void message_cut_at_every_octet(__u16 flags, const struct frame_opts *o)
{
	const char *what = flags & F_TC ? "TC=1" : "TC=0";
	struct dnsmsg full;
	__u32 m;
	int bad = 0;

	base_answer(flags);
	full = M;
	for (m = 0; m < full.len; m++) {
		int want = 0, i;

		M = full;
		M.len = m;
		if (!lfx_run_dns(&F, &M, o))
			return;
		for (i = 0; i < 3; i++)
			want += (flags & F_TC || m >= answer_end) && addr_end[i] <= m;
		if (lfx_reason(&F) <= 0 && bad++ < 3)
			EXPECT(false, "%s cut to %u: not one packet reason", what, m);
		if (F.n_ev != want && bad++ < 3)
			EXPECT(false, "%s cut to %u: %d events, want %d", what, m, F.n_ev, want);
		for (i = 0; i < F.n_ev && i < want; i++)
			if (!lfx_event(&F, "edge.cdn.test", base_ips[i]) && bad++ < 3)
				EXPECT(false, "%s cut to %u: %s missing", what, m, base_ips[i]);
		if (!(flags & F_TC) && m < answer_end && lfx_reason(&F) != CS_R_TRUNCATED &&
		    lfx_reason(&F) != CS_R_BAD_RECORD && bad++ < 3)
			EXPECT(false, "%s cut to %u: %s", what, m, lfx_reason_name(lfx_reason(&F)));
	}
	expect_records_only_from_base(what);
}

static void message_cut_tc0_udp4(void) { message_cut_at_every_octet(DNS_FLAGS_RESPONSE, &(struct frame_opts){ 0 }); }
static void message_cut_tc0_tcp6(void) { message_cut_at_every_octet(DNS_FLAGS_RESPONSE, &(struct frame_opts){ .ipv6 = true, .tcp = true }); }
static void message_cut_tc1_udp4(void) { message_cut_at_every_octet(DNS_FLAGS_RESPONSE | F_TC, &(struct frame_opts){ 0 }); }
static void message_cut_tc1_udp6(void) { message_cut_at_every_octet(DNS_FLAGS_RESPONSE | F_TC, &(struct frame_opts){ .ipv6 = true }); }

/* ================= the list ================= */

#define ROWS(a) (sizeof(a) / sizeof((a)[0]))
#define CASE(fn) { #fn, fn, CONF, 4096 }

static const struct lfx_case cut_cases[] = {
	CASE(frame_cut_at_every_octet),
	CASE(message_cut_tc0_udp4),
	CASE(message_cut_tc0_tcp6),
	CASE(message_cut_tc1_udp4),
	CASE(message_cut_tc1_udp6),
};

/* The rows share one load: what one hostile packet leaves behind must not
 * change what the next one does. */
static const struct lfx_table hostile = {
	"message", CONF, 4096, ROWS(cases), hostile_title, hostile_row,
};

int main(void)
{
	size_t i;

	lfx_run_table(&F, &hostile);
	for (i = 0; i < ROWS(cut_cases); i++)
		lfx_run_case(&F, &cut_cases[i]);
	T_EXIT();
}
