// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * learn: what the XDP program learns from well-formed DNS answers, and what
 * it refuses, run for real with BPF_PROG_TEST_RUN. Each case gets a fresh
 * load; the rows of a table share one.
 * Hostile input is in learn_hostile_test.c, the mutation fuzz in
 * learn_fuzz_test.c.
 */
#include <stdio.h>
#include <string.h>

#include "learnfx.h"

T_SUITE("learn");

/* Rule and pattern ids follow the order of the config below. */
static const char CONF_MAIN[] =
	"learn:\n"
	"  ttl: {min: 60, max: 86400, grace: 5}\n"
	"rules:\n"
	"  - match: [example.test, cdn.test]\n"
	"  - match: [\"=a.example.test\"]\n"
	"    ttl: {min: 300, max: 600}\n"
	"  - match: [\"*.wild.test\"]\n"
	"  - match: [deep.cdn.test]\n"
	"  - match: [other.test]\n"
	"  - match: [z.t, big.test]\n"
	"  - match: [zero.test]\n"
	"    ttl: {min: 0, max: 100}\n";

enum { R_EXAMPLE = 1, R_EXACT_A, R_WILD, R_DEEP, R_OTHER, R_LONG, R_ZERO };
enum { P_EXAMPLE = 1, P_CDN, P_EXACT_A, P_WILD, P_DEEP, P_OTHER, P_ZT, P_BIG, P_ZERO };
#define TTL_MIN 60
#define TTL_MAX 86400
#define GRACE 5

static const char CONF_CAP8[] =
	"learn:\n"
	"  max_records: 8\n"
	"rules:\n"
	"  - match: [example.test]\n";

static const char CONF_CAP256[] =
	"learn:\n"
	"  max_records: 256\n"
	"rules:\n"
	"  - match: [example.test]\n";

static const char CONF_CAP64[] =
	"learn:\n"
	"  max_records: 64\n"
	"rules:\n"
	"  - match: [example.test]\n";

static const char CONF_DEFAULT_CAP[] =
	"rules:\n"
	"  - match: [example.test]\n";

static const char CONF_RESOLVERS[] =
	"learn:\n"
	"  resolvers: [192.0.2.53, \"2001:db8::53\"]\n"
	"rules:\n"
	"  - match: [example.test]\n";

static const char CONF_PRIORITY[] =
	"rules:\n"
	"  - match: [low.test]\n"
	"    priority: 5\n"
	"  - match: [high.test]\n"
	"    priority: 10\n";

#define DT_A 1
#define DT_CNAME 5
#define DT_TXT 16
#define DT_AAAA 28
#define DT_DNAME 39
#define QNAME 12	/* offset of the question name: the usual owner pointer */

static struct lfx F;
static struct dnsmsg M;

#define EXPECT_STR(a, b) EXPECT(!strcmp((a), (b)), "\"%s\" != \"%s\"", (a), (b))

/* ---- building answers ---- */

/* Header and question; each record added bumps its section's count. */
static void msg_begin(const char *qname, __u16 qtype)
{
	dns_header(&M, 0x1234, DNS_FLAGS_RESPONSE, 1, 0, 0, 0);
	dns_question(&M, qname, qtype);
}

static void count_one(int section)
{
	dns_set16(&M, section, (__u16)((M.b[section] << 8 | M.b[section + 1]) + 1));
}

/* Owner of the next record: a pointer to an earlier name... */
static void owner_at(int section, __u32 off)
{
	count_one(section);
	dns_ptr(&M, (__u16)off);
}

/* ...or a name written out. */
static void owner_named(int section, const char *name)
{
	count_one(section);
	dns_name(&M, name);
}

static void an_a_ttl(__u32 owner, __u32 ttl, const char *ip)
{
	owner_at(DNS_AN, owner);
	dns_rr_a(&M, ttl, ip);
}

static void an_a(__u32 owner, const char *ip) { an_a_ttl(owner, 300, ip); }

static void an_aaaa(__u32 owner, const char *ip)
{
	owner_at(DNS_AN, owner);
	dns_rr_aaaa(&M, 300, ip);
}

/* CNAME owned by the name at `owner`; returns where its target starts. */
static __u32 an_cname(__u32 owner, const char *target)
{
	owner_at(DNS_AN, owner);
	return dns_rr_cname(&M, 300, target);
}

static void set_flags(__u16 flags) { dns_set16(&M, 2, flags); }

/* The usual one-A answer. */
static void simple_answer(const char *qname, __u32 ttl, const char *ip)
{
	msg_begin(qname, DT_A);
	an_a_ttl(QNAME, ttl, ip);
}

/* ---- running ---- */

static bool run(void) { return lfx_run_dns(&F, &M, NULL); }
static bool run_over(const struct frame_opts *o) { return lfx_run_dns(&F, &M, o); }

/* ---- checking ---- */

/* Record, route, name text and NEW event for (name, ip), under rule/pattern. */
static void expect_learned(const char *name, const char *ip, __u32 rule, __u32 pattern, __u32 ttl)
{
	const struct cs_learn_event *e = lfx_event(&F, name, ip);
	struct cs_record r;

	if (!EXPECT(lfx_record(&F, name, ip, &r), "no record (%s, %s)", name, ip))
		return;
	EXPECT(r.rule_id == rule && r.pattern_id == pattern,
	       "(%s, %s): rule %u pattern %u, want rule %u pattern %u", name, ip, r.rule_id,
	       r.pattern_id, rule, pattern);
	EXPECT(r.ttl == ttl, "(%s, %s): ttl %u, want %u", name, ip, r.ttl, ttl);
	EXPECT(r.hits == 1, "(%s, %s): hits %u", name, ip, r.hits);
	EXPECT(lfx_route(&F, ip, NULL), "no route for %s", ip);
	EXPECT_STR(lfx_name_text(&F, name), name);
	if (EXPECT(e, "no event for (%s, %s)", name, ip)) {
		EXPECT_EQ(e->type, CS_EV_RECORD_NEW);
		EXPECT(e->rule_id == rule && e->pattern_id == pattern && e->ttl == ttl,
		       "event (%s, %s): rule %u pattern %u ttl %u", name, ip, e->rule_id,
		       e->pattern_id, e->ttl);
	}
}

static void expect_not_learned(const char *name, const char *ip)
{
	EXPECT(!lfx_record(&F, name, ip, NULL), "(%s, %s) learned", name, ip);
	EXPECT(!lfx_event(&F, name, ip), "event for (%s, %s)", name, ip);
}

static void expect_nothing_learned(void)
{
	EXPECT(lfx_records(&F) == 0, "%d records", lfx_records(&F));
	EXPECT(lfx_routes(&F) == 0, "%d routes", lfx_routes(&F));
	EXPECT(F.n_ev == 0, "%d events", F.n_ev);
}

static void expect_qname_in_events(const char *qname)
{
	int i;

	for (i = 0; i < F.n_ev && i < LFX_EVENTS_MAX; i++)
		EXPECT(!strcmp(F.ev[i].qname.text, qname), "event %d qname \"%s\", want \"%s\"", i,
		       F.ev[i].qname.text, qname);
}

/* ================= transports ================= */

static const struct {
	const char *name;
	struct frame_opts o;
} transports[] = {
	{ "udp4", { 0 } },
	{ "udp6", { .ipv6 = true } },
	{ "udp4 802.1Q", { .vlans = 1 } },
	{ "udp4 802.1ad+802.1Q", { .vlans = 2 } },
	{ "udp6 802.1Q", { .ipv6 = true, .vlans = 1 } },
	{ "udp6 802.1ad+802.1Q", { .ipv6 = true, .vlans = 2 } },
	{ "tcp4 one segment", { .tcp = true } },
	{ "tcp6 one segment", { .ipv6 = true, .tcp = true } },
	{ "tcp6 802.1ad+802.1Q", { .ipv6 = true, .tcp = true, .vlans = 2 } },
};

static void transport_title(size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "%s", transports[i].name);
}

/* The same answer over every transport the program parses; each transport
 * answers with its own address, so each one must make a new record. */
static void transport_row(size_t i)
{
	char ip[32];

	snprintf(ip, sizeof(ip), "192.0.2.%zu", 10 + i);
	simple_answer("www.example.test", 300, ip);
	if (run_over(&transports[i].o) && EXPECT_REASON(&F, CS_R_LEARNED))
		expect_learned("www.example.test", ip, R_EXAMPLE, P_EXAMPLE, 300);
}

/* IPv6 with a hop-by-hop options header before UDP: skipped, learned. */
static __u32 v6_insert_ext(__u8 *frame, __u32 len, __u8 type)
{
	__u8 *ip = frame + 14, *ext = ip + 40;
	__u16 plen = (__u16)(ip[4] << 8 | ip[5]);

	memmove(ext + 8, ext, len - 14 - 40);
	memset(ext, 0, 8);
	ext[0] = ip[6];		/* the next header after this one */
	if (type == 44)
		ext[3] = 1;	/* fragment: offset 0, M=1 */
	ip[6] = type;
	plen += 8;
	ip[4] = plen >> 8;
	ip[5] = plen & 0xff;
	return len + 8;
}

static void learns_past_ipv6_extension_header(void)
{
	const struct frame_opts o = { .ipv6 = true };
	__u32 len;

	simple_answer("www.example.test", 300, "192.0.2.7");
	len = frame_build(F.frame, &o, M.b, M.len);
	len = v6_insert_ext(F.frame, len, 0);
	if (lfx_run(&F, F.frame, len) && EXPECT_REASON(&F, CS_R_LEARNED))
		expect_learned("www.example.test", "192.0.2.7", R_EXAMPLE, P_EXAMPLE, 300);
}

#define TCP4_PREFIX_OFF (14 + 20 + 20)

/* The length prefix says one more or one less than the segment holds. */
static void tcp_prefix_mismatch_is_partial(void)
{
	const struct frame_opts o = { .tcp = true };
	int delta[] = { +1, -1, +1000 };
	size_t i;

	simple_answer("www.example.test", 300, "192.0.2.7");
	for (i = 0; i < sizeof(delta) / sizeof(delta[0]); i++) {
		__u32 len = frame_build(F.frame, &o, M.b, M.len);
		__u16 pfx = (__u16)(M.len + delta[i]);

		F.frame[TCP4_PREFIX_OFF] = pfx >> 8;
		F.frame[TCP4_PREFIX_OFF + 1] = pfx & 0xff;
		if (lfx_run(&F, F.frame, len))
			EXPECT(lfx_reason(&F) == CS_R_TCP_PARTIAL, "prefix %+d: %s", delta[i],
			       lfx_reason_name(lfx_reason(&F)));
	}
	expect_nothing_learned();
}

/* A segment that is the second half of a message: one byte of payload. */
static void tcp_one_byte_segment_is_partial(void)
{
	static const __u8 one = 0x42;
	const struct frame_opts o = { .tcp = true };
	__u32 len = frame_build(F.frame, &o, &one, 1);

	/* drop the builder's length prefix: one payload octet in all */
	memmove(F.frame + TCP4_PREFIX_OFF, F.frame + TCP4_PREFIX_OFF + 2, 1);
	len -= 2;
	F.frame[14 + 3] -= 2;	/* IPv4 total length, low octet: 20 + 20 + 3 -> 41 */
	if (lfx_run(&F, F.frame, len))
		EXPECT_REASON(&F, CS_R_TCP_PARTIAL);
	expect_nothing_learned();
}

/* ================= records ================= */

static void learns_a_and_aaaa(void)
{
	msg_begin("www.example.test", DT_A);
	an_a(QNAME, "192.0.2.7");
	an_aaaa(QNAME, "2001:db8::7");
	if (!run())
		return;
	EXPECT_REASON(&F, CS_R_LEARNED);
	EXPECT_EQ(F.delta[CS_R_REC_LEARNED], 2);
	EXPECT_EQ(F.n_ev, 2);
	expect_learned("www.example.test", "192.0.2.7", R_EXAMPLE, P_EXAMPLE, 300);
	expect_learned("www.example.test", "2001:db8::7", R_EXAMPLE, P_EXAMPLE, 300);
	expect_qname_in_events("www.example.test");
}

static void answer_of_n_a_records(const char *qname, int n)
{
	char ip[32];
	int i;

	msg_begin(qname, DT_A);
	for (i = 0; i < n; i++) {
		snprintf(ip, sizeof(ip), "198.18.%d.%d", i / 250, 1 + i % 250);
		an_a(QNAME, ip);
	}
}

static void expect_first_n_learned(const char *qname, int n, int total)
{
	char ip[32];
	int i;

	for (i = 0; i < total; i++) {
		snprintf(ip, sizeof(ip), "198.18.%d.%d", i / 250, 1 + i % 250);
		EXPECT(lfx_record(&F, qname, ip, NULL) == (i < n), "record %d (%s): %s", i, ip,
		       i < n ? "missing" : "learned past the cap");
	}
	EXPECT(lfx_records(&F) == n, "%d records, want %d", lfx_records(&F), n);
}

/* An answer of n A records for many.example.test, no longer than `octets`:
 * every address learned, with its route and event; nothing cut. */
static void expect_n_a_records_learned(int n, __u32 octets)
{
	answer_of_n_a_records("many.example.test", n);
	EXPECT(M.len <= octets, "%u octets", M.len);
	if (!run())
		return;
	EXPECT_REASON(&F, CS_R_LEARNED);
	EXPECT_EQ(F.delta[CS_R_REC_LEARNED], n);
	EXPECT_EQ(F.delta[CS_R_REC_CAPPED], 0);
	EXPECT_EQ(F.n_ev, n);
	EXPECT_EQ(lfx_routes(&F), n);
	expect_first_n_learned("many.example.test", n, n);
}

static void learns_40_a_records(void) { expect_n_a_records_learned(40, CS_MSG_MAX); }

/* learn.resolvers: answers from the listed servers teach, over IPv4 and
 * IPv6; an answer from any other source teaches nothing and is counted. */
static void resolvers_only_listed_servers_teach(void)
{
	static const struct frame_opts v6 = { .ipv6 = true }, stranger = { .src = "192.0.2.99" },
				       stranger6 = { .ipv6 = true, .src = "2001:db8::99" };

	simple_answer("www.example.test", 300, "192.0.2.7");
	if (!run_over(&stranger))
		return;
	EXPECT_REASON(&F, CS_R_NOT_RESOLVER);
	if (!run_over(&stranger6))
		return;
	EXPECT_REASON(&F, CS_R_NOT_RESOLVER);
	EXPECT_EQ(lfx_records(&F), 0);
	if (!run())
		return;
	EXPECT_REASON(&F, CS_R_LEARNED);
	simple_answer("www.example.test", 300, "192.0.2.8");
	if (!run_over(&v6))
		return;
	EXPECT_REASON(&F, CS_R_LEARNED);
	EXPECT_EQ(lfx_records(&F), 2);
}

/* An answer of n A records under learn.max_records cap (< n): the walk
 * stops after cap records, which are learned, and the answer is counted as
 * cut, once. False if it did not run. */
static bool expect_cut_at(int cap, int n)
{
	answer_of_n_a_records("many.example.test", n);
	if (!run())
		return false;
	EXPECT_REASON(&F, CS_R_LEARNED);
	EXPECT_EQ(F.delta[CS_R_REC_CAPPED], 1);
	EXPECT_EQ(F.delta[CS_R_REC_LEARNED], cap);
	expect_first_n_learned("many.example.test", cap, n);
	return true;
}

static void max_records_caps_the_walk(void) { expect_cut_at(8, 20); }

/* Exactly max_records records: nothing is cut, nothing counted. */
static void max_records_exactly_reached_is_not_capped(void)
{
	answer_of_n_a_records("many.example.test", 8);
	if (!run())
		return;
	EXPECT_EQ(F.delta[CS_R_REC_CAPPED], 0);
	expect_first_n_learned("many.example.test", 8, 8);
}

/* learn.max_records 256, the most: every address of an answer that fills
 * the 4096-octet message is learned; the address cap is never below the
 * walk cap. */
static void max_records_256_learns_every_address(void)
{
	const int n = 250;

	answer_of_n_a_records("many.example.test", n);
	if (!run())
		return;
	EXPECT_REASON(&F, CS_R_LEARNED);
	EXPECT_EQ(F.delta[CS_R_REC_LEARNED], n);
	EXPECT_EQ(F.delta[CS_R_REC_CAPPED], 0);
	expect_first_n_learned("many.example.test", n, n);
}

/* Knot and BIND answer a UDP query with 74 A records in 1,232 octets: the
 * default learns every one, and nothing is cut. */
static void default_learns_74_a_records(void) { expect_n_a_records_learned(74, 1232); }

/* The most A records a message of CS_MSG_MAX octets holds with every owner
 * compressed to a 2-octet pointer: 254, under a question of at most 16
 * octets (example.test: 12 + 18 + 254 x 16 = 4094 octets). All learned. */
static void default_learns_a_full_message_of_a_records(void)
{
	answer_of_n_a_records("example.test", 254);
	EXPECT(M.len <= CS_MSG_MAX && M.len + 16 > CS_MSG_MAX, "%u octets", M.len);
	if (!run())
		return;
	EXPECT_REASON(&F, CS_R_LEARNED);
	EXPECT_EQ(F.delta[CS_R_REC_LEARNED], 254);
	EXPECT_EQ(F.delta[CS_R_REC_CAPPED], 0);
	expect_first_n_learned("example.test", 254, 254);
}

/* Owners of one octet: a CNAME to the root name, then A records the root
 * owns, 15 octets each: 270 in 4095 octets, more than the old bound of 256
 * records walked. All learned. */
static void default_learns_270_a_records_owned_by_the_root(void)
{
	char ip[32];
	int i;

	msg_begin("x.example.test", DT_A);
	an_cname(QNAME, "");
	for (i = 0; i < 270; i++) {
		snprintf(ip, sizeof(ip), "198.18.%d.%d", i / 250, 1 + i % 250);
		owner_named(DNS_AN, "");
		dns_rr_a(&M, 300, ip);
	}
	EXPECT(M.len <= CS_MSG_MAX && M.len + 15 > CS_MSG_MAX, "%u octets", M.len);
	if (!run())
		return;
	EXPECT_REASON(&F, CS_R_LEARNED);
	EXPECT_EQ(F.delta[CS_R_REC_LEARNED], 270);
	EXPECT_EQ(F.delta[CS_R_REC_CAPPED], 0);
	EXPECT_EQ(lfx_routes(&F), 270);
}

/* learn.max_records 64 (the old default) under the same 74 records: the
 * first 64 are learned, and every answer cut is counted, once each. */
static void answers_cut_at_the_cap_are_counted(void)
{
	if (!expect_cut_at(64, 74) || !run())
		return;
	EXPECT_REASON(&F, CS_R_REFRESHED);
	EXPECT_EQ(F.delta[CS_R_REC_CAPPED], 1);
	EXPECT_EQ(F.delta[CS_R_REC_REFRESHED], 64);
}

/* A message of exactly CS_MSG_MAX octets whose A record ends on its last
 * octet, over UDP and again over TCP; one octet more is too big. These
 * frames pass a page, so BPF_PROG_TEST_RUN (and so replay) puts their tail
 * in a fragment, where the message must still be found whole. */
static void message_of_msg_max_octets(void)
{
	static const struct frame_opts tcp6 = { .ipv6 = true, .tcp = true };
	static __u8 pad[CS_MSG_MAX];
	static __u8 big[CS_MSG_MAX + 1];
	__u32 room;

	msg_begin("www.example.test", DT_A);
	owner_at(DNS_AN, QNAME);
	room = CS_MSG_MAX - M.len - 10 - 16;	/* this TXT record, then a compressed A */
	dns_rr_raw(&M, DT_TXT, 1, 300, pad, (__u16)room);
	an_a(QNAME, "192.0.2.99");
	if (!EXPECT_EQ(M.len, CS_MSG_MAX) || !run())
		return;
	EXPECT_REASON(&F, CS_R_LEARNED);
	expect_learned("www.example.test", "192.0.2.99", R_EXAMPLE, P_EXAMPLE, 300);
	if (run_over(&tcp6))
		EXPECT_REASON(&F, CS_R_REFRESHED);

	memcpy(big, M.b, M.len);
	if (lfx_run(&F, F.frame, frame_build(F.frame, &(struct frame_opts){ 0 }, big, sizeof(big))))
		EXPECT_REASON(&F, CS_R_TOO_BIG);
}

/* Records in the authority and additional sections are never learned. */
static void authority_and_additional_never_learned(void)
{
	msg_begin("www.example.test", DT_A);
	an_a(QNAME, "192.0.2.1");
	owner_named(DNS_NS, "www.example.test");
	dns_rr_a(&M, 300, "192.0.2.2");
	owner_at(DNS_AR, QNAME);
	dns_rr_a(&M, 300, "192.0.2.3");
	owner_at(DNS_AR, QNAME);
	dns_rr_aaaa(&M, 300, "2001:db8::3");
	if (!run())
		return;
	expect_learned("www.example.test", "192.0.2.1", R_EXAMPLE, P_EXAMPLE, 300);
	expect_not_learned("www.example.test", "192.0.2.2");
	expect_not_learned("www.example.test", "192.0.2.3");
	expect_not_learned("www.example.test", "2001:db8::3");
	EXPECT_EQ(lfx_records(&F), 1);
}

/* Authority and additional addresses alone teach nothing. */
static void additional_only_is_no_answer(void)
{
	msg_begin("www.example.test", DT_A);
	owner_at(DNS_AR, QNAME);
	dns_rr_a(&M, 300, "192.0.2.3");
	if (run())
		EXPECT_REASON(&F, CS_R_NO_ANSWER);
	expect_nothing_learned();
}

/* AAAA ::ffff:a.b.c.d would alias an IPv4 key: refused, counted. */
static void aaaa_v4_mapped_refused(void)
{
	msg_begin("www.example.test", DT_AAAA);
	an_aaaa(QNAME, "::ffff:192.0.2.7");
	if (!run())
		return;
	EXPECT_EQ(F.delta[CS_R_REC_BAD_ADDR], 1);
	EXPECT_REASON(&F, CS_R_NO_ADDRESS);
	expect_nothing_learned();
}

static void aaaa_v4_mapped_beside_good_records(void)
{
	msg_begin("www.example.test", DT_AAAA);
	an_aaaa(QNAME, "::ffff:192.0.2.7");
	an_aaaa(QNAME, "2001:db8::7");
	if (!run())
		return;
	EXPECT_EQ(F.delta[CS_R_REC_BAD_ADDR], 1);
	EXPECT_REASON(&F, CS_R_LEARNED);
	expect_learned("www.example.test", "2001:db8::7", R_EXAMPLE, P_EXAMPLE, 300);
	expect_not_learned("www.example.test", "192.0.2.7");
	EXPECT_EQ(lfx_records(&F), 1);
}

/* ================= CNAME chains ================= */

static void chain_name(char *buf, size_t len, int i)
{
	snprintf(buf, len, "c%d.cdn.test", i);
}

/* question -> c1 -> ... -> cN, then an A record owned by each listed hop. */
static __u32 build_chain(int n, __u32 *offs)
{
	char name[64];
	__u32 off = QNAME;
	int i;

	msg_begin("www.example.test", DT_A);
	offs[0] = QNAME;
	for (i = 1; i <= n; i++) {
		chain_name(name, sizeof(name), i);
		off = an_cname(off, name);
		offs[i] = off;
	}
	return off;
}

static void learns_at_end_of_chain_of_10(void)
{
	__u32 offs[11];

	an_a(build_chain(10, offs), "192.0.2.10");
	if (!run())
		return;
	EXPECT_REASON(&F, CS_R_LEARNED);
	/* question and targets tie at depth 2: the question's rule */
	expect_learned("c10.cdn.test", "192.0.2.10", R_EXAMPLE, P_EXAMPLE, 300);
	expect_qname_in_events("www.example.test");
	EXPECT_EQ(lfx_records(&F), 1);
}

/* 20 hops: the chain keeps the question and 15 targets (CS_CHAIN_MAX); a
 * record of c15 is learned, one of c20 is not. */
static void chain_longer_than_max(void)
{
	__u32 offs[21];

	_Static_assert(CS_CHAIN_MAX == 16, "the case counts on 16");
	an_a(build_chain(20, offs), "192.0.2.20");
	an_a(offs[15], "192.0.2.15");
	an_a(offs[16], "192.0.2.16");
	if (!run())
		return;
	EXPECT_REASON(&F, CS_R_LEARNED);
	EXPECT_EQ(F.delta[CS_R_REC_CHAIN_LONG], 1);
	/* CNAMEs c16->c17 .. c19->c20, then the A records of c20 and c16 */
	EXPECT_EQ(F.delta[CS_R_REC_OFF_CHAIN], 6);
	expect_learned("c15.cdn.test", "192.0.2.15", R_EXAMPLE, P_EXAMPLE, 300);
	expect_not_learned("c20.cdn.test", "192.0.2.20");
	expect_not_learned("c16.cdn.test", "192.0.2.16");
	EXPECT_EQ(lfx_records(&F), 1);
}

/* An A record of a name that no CNAME on the chain leads to. */
static void off_chain_owner_not_learned(void)
{
	msg_begin("www.example.test", DT_A);
	owner_named(DNS_AN, "other.example.test");
	dns_rr_a(&M, 300, "192.0.2.66");
	if (!run())
		return;
	EXPECT_EQ(F.delta[CS_R_REC_OFF_CHAIN], 1);
	EXPECT_REASON(&F, CS_R_NO_ADDRESS);
	expect_nothing_learned();
}

/* y.example.test is a CNAME target, but of a record the chain does not
 * reach: neither that CNAME nor y's A record counts. */
static void target_of_unrelated_cname_not_learned(void)
{
	__u32 y;

	msg_begin("www.example.test", DT_A);
	an_a(QNAME, "192.0.2.1");
	owner_named(DNS_AN, "unrelated.test");
	y = dns_rr_cname(&M, 300, "y.example.test");
	an_a(y, "192.0.2.66");
	if (!run())
		return;
	EXPECT_REASON(&F, CS_R_LEARNED);
	EXPECT_EQ(F.delta[CS_R_REC_OFF_CHAIN], 2);
	expect_learned("www.example.test", "192.0.2.1", R_EXAMPLE, P_EXAMPLE, 300);
	expect_not_learned("y.example.test", "192.0.2.66");
	EXPECT_EQ(lfx_records(&F), 1);
}

/* The chain grows in wire order: an A record before the CNAME that leads
 * to its owner is off the chain. */
static void record_before_its_cname_not_learned(void)
{
	msg_begin("www.example.test", DT_A);
	owner_named(DNS_AN, "edge.cdn.test");
	dns_rr_a(&M, 300, "192.0.2.66");
	an_cname(QNAME, "edge.cdn.test");
	if (!run())
		return;
	EXPECT_REASON(&F, CS_R_NO_ADDRESS);
	expect_nothing_learned();
}

/* Owners written out in another case still land on the chain. */
static void uncompressed_owner_in_other_case_is_on_chain(void)
{
	msg_begin("www.example.test", DT_A);
	owner_named(DNS_AN, "WWW.EXAMPLE.test");
	dns_rr_cname(&M, 300, "edge.cdn.test");
	owner_named(DNS_AN, "Edge.CDN.Test");
	dns_rr_a(&M, 300, "192.0.2.8");
	if (run() && EXPECT_REASON(&F, CS_R_LEARNED))
		expect_learned("edge.cdn.test", "192.0.2.8", R_EXAMPLE, P_EXAMPLE, 300);
}

/* DNAME old.test -> cdn.test and the CNAME synthesized from it: the
 * addresses are learned through the CNAME, under the target's rule. */
static void dname_learned_via_synthesized_cname(void)
{
	static const __u8 dname_target[] = "\x03" "cdn" "\x04" "test";	/* + the NUL: root */
	__u32 old, t;

	msg_begin("www.old.test", DT_A);
	old = QNAME + 4;	/* "old.test" inside the question */
	owner_at(DNS_AN, old);
	dns_rr_raw(&M, DT_DNAME, 1, 300, dname_target, sizeof(dname_target));
	t = an_cname(QNAME, "www.cdn.test");
	an_a(t, "192.0.2.44");
	if (!run())
		return;
	EXPECT_REASON(&F, CS_R_LEARNED);
	expect_learned("www.cdn.test", "192.0.2.44", R_EXAMPLE, P_CDN, 300);
	expect_qname_in_events("www.old.test");
}

/* ================= names ================= */

static void mixed_case_question(void)
{
	simple_answer("WwW.ExAmPlE.TEST", 300, "192.0.2.7");
	if (!run())
		return;
	EXPECT_REASON(&F, CS_R_LEARNED);
	expect_learned("www.example.test", "192.0.2.7", R_EXAMPLE, P_EXAMPLE, 300);
	expect_qname_in_events("www.example.test");
}

/* `labels` labels under `suffix`, the first one `first` octets long and the
 * rest one octet: "aaa.a.a.....suffix". */
static void long_name(char *out, int first, int labels, const char *suffix)
{
	int i, n = 0;

	for (i = 0; i < first; i++)
		out[n++] = 'a';
	for (i = 1; i < labels; i++) {
		out[n++] = '.';
		out[n++] = 'a';
	}
	sprintf(out + n, ".%s", suffix);
}

/* 127 labels, 255 octets on the wire, 253 characters: the biggest name. */
static void learns_127_label_name(void)
{
	char name[CS_NAME_TEXT_MAX + 8];

	long_name(name, 1, 125, "z.t");
	if (!EXPECT_EQ(strlen(name), 253))
		return;
	simple_answer(name, 300, "192.0.2.127");
	if (!EXPECT_EQ(M.len, 12 + 255 + 4 + 16) || !run())
		return;
	EXPECT_REASON(&F, CS_R_LEARNED);
	expect_learned(name, "192.0.2.127", R_LONG, P_ZT, 300);
	expect_qname_in_events(name);
}

/* 253 characters with a long first label, under a two-label suffix, via a
 * CNAME whose target is just as long. */
static void learns_253_character_chain(void)
{
	char q[CS_NAME_TEXT_MAX + 8], t[CS_NAME_TEXT_MAX + 8];
	__u32 off;

	long_name(q, 62, 92, "big.test");
	long_name(t, 60, 93, "big.test");
	t[0] = 'b';
	if (!EXPECT_EQ(strlen(q), 253) || !EXPECT_EQ(strlen(t), 253))
		return;
	msg_begin(q, DT_A);
	off = an_cname(QNAME, t);
	an_a(off, "192.0.2.253");
	if (!run())
		return;
	EXPECT_REASON(&F, CS_R_LEARNED);
	expect_learned(t, "192.0.2.253", R_LONG, P_BIG, 300);
	expect_qname_in_events(q);
}

/* One octet over: 127 labels, the first of two octets, make 256 octets:
 * bad_name... */
static void name_of_256_octets_refused(void)
{
	char name[CS_NAME_TEXT_MAX + 8];

	long_name(name, 2, 125, "z.t");
	simple_answer(name, 300, "192.0.2.128");
	if (!EXPECT_EQ(M.len, 12 + 256 + 4 + 16))
		return;
	if (run())
		EXPECT_REASON(&F, CS_R_BAD_NAME);
	expect_nothing_learned();
}

/* ...and so are 128 labels... */
static void name_of_128_labels_refused(void)
{
	char name[CS_NAME_TEXT_MAX + 8];

	long_name(name, 1, 126, "z.t");
	simple_answer(name, 300, "192.0.2.128");
	if (run())
		EXPECT_REASON(&F, CS_R_BAD_NAME);
	expect_nothing_learned();
}

/* ...and so is a 256-octet name that is only long through a pointer: a
 * two-octet label in front of the 255-octet question. */
static void name_over_255_through_pointer_refused(void)
{
	char name[CS_NAME_TEXT_MAX + 8];

	long_name(name, 1, 125, "z.t");
	msg_begin(name, DT_A);
	an_cname(QNAME, "x.z.t");
	count_one(DNS_AN);
	dns_name_ptr(&M, "x", QNAME);
	dns_rr_a(&M, 300, "192.0.2.129");
	if (run())
		EXPECT_REASON(&F, CS_R_BAD_NAME);
	expect_nothing_learned();
}

/* ================= rule precedence ================= */

struct match_case {
	const char *qname;
	const char *target;	/* CNAME target holding the A record, or NULL */
	__u32 rule, pattern;	/* 0: no rule matches */
};

static const struct match_case match_cases[] = {
	/* "=a.example.test" beats the subtree "example.test" */
	{ "a.example.test", NULL, R_EXACT_A, P_EXACT_A },
	{ "A.Example.Test", NULL, R_EXACT_A, P_EXACT_A },
	/* the exact pattern is the name alone, not names under it */
	{ "b.a.example.test", NULL, R_EXAMPLE, P_EXAMPLE },
	{ "example.test", NULL, R_EXAMPLE, P_EXAMPLE },
	/* "*.wild.test" is names under wild.test, not wild.test itself */
	{ "wild.test", NULL, 0, 0 },
	{ "x.wild.test", NULL, R_WILD, P_WILD },
	{ "y.x.wild.test", NULL, R_WILD, P_WILD },
	{ "www.unknown.test", NULL, 0, 0 },
	{ "test", NULL, 0, 0 },
	/* most specific anywhere on the chain wins... */
	{ "www.example.test", "e.deep.cdn.test", R_DEEP, P_DEEP },
	{ "www.unknown.test", "e.cdn.test", R_EXAMPLE, P_CDN },
	{ "www.unknown.test", "e.wild.test", R_WILD, P_WILD },
	/* ...and on a tie the question's match wins */
	{ "www.example.test", "e.other.test", R_EXAMPLE, P_EXAMPLE },
	{ "e.other.test", "www.example.test", R_OTHER, P_OTHER },
	{ "e.deep.cdn.test", "www.example.test", R_DEEP, P_DEEP },
};

static void lower(char *out, const char *in)
{
	while (*in)
		*out++ = (char)(*in >= 'A' && *in <= 'Z' ? *in++ | 0x20 : *in++);
	*out = 0;
}

static void match_title(size_t i, char *buf, size_t len)
{
	static const char *const rules[] = {
		"no rule", "example.test", "=a.example.test", "*.wild.test", "deep.cdn.test",
		"other.test",
	};
	const struct match_case *c = &match_cases[i];

	snprintf(buf, len, "%s%s%s -> %s", c->qname, c->target ? " CNAME " : "",
		 c->target ? c->target : "", rules[c->rule]);
}

static void match_row(size_t i)
{
	const struct match_case *c = &match_cases[i];
	char ip[32], owner[CS_NAME_TEXT_MAX];
	struct cs_record r;

	snprintf(ip, sizeof(ip), "192.0.2.%zu", 100 + i);
	msg_begin(c->qname, DT_A);
	an_a(c->target ? an_cname(QNAME, c->target) : QNAME, ip);
	lower(owner, c->target ? c->target : c->qname);
	if (!run())
		return;
	if (!c->rule) {
		EXPECT_REASON(&F, CS_R_NO_RULE);
		expect_not_learned(owner, ip);
		return;
	}
	if (EXPECT(lfx_record(&F, owner, ip, &r), "not learned"))
		EXPECT(r.rule_id == c->rule && r.pattern_id == c->pattern,
		       "rule %u pattern %u, want rule %u pattern %u", r.rule_id, r.pattern_id,
		       c->rule, c->pattern);
}

/* ================= TTL ================= */

struct ttl_case {
	const char *qname;
	__u32 wire, want, grace;
};

static const struct ttl_case ttl_cases[] = {
	{ "t1.example.test", 300, 300, GRACE },
	{ "t2.example.test", 10, TTL_MIN, GRACE },
	{ "t3.example.test", 0, TTL_MIN, GRACE },
	{ "t4.example.test", 100000, TTL_MAX, GRACE },
	{ "t5.example.test", 0x7fffffff, TTL_MAX, GRACE },
	/* RFC 2181: the top bit set counts as 0, then the minimum applies */
	{ "t6.example.test", 0x80000000u, TTL_MIN, GRACE },
	{ "t7.example.test", 0xffffffffu, TTL_MIN, GRACE },
	/* the rule's own clamps override the learn defaults; grace is inherited */
	{ "a.example.test", 100, 300, GRACE },
	{ "a.example.test", 1000, 600, GRACE },
	{ "a.example.test", 0x80000001u, 300, GRACE },
	{ "z1.zero.test", 0x80000001u, 0, GRACE },
	{ "z2.zero.test", 0, 0, GRACE },
	{ "z3.zero.test", 101, 100, GRACE },
};

static void ttl_title(size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "%s wire %#x -> %u", ttl_cases[i].qname, ttl_cases[i].wire,
		 ttl_cases[i].want);
}

static void ttl_row(size_t i)
{
	const struct ttl_case *c = &ttl_cases[i];
	struct cs_record r;
	char ip[32];

	snprintf(ip, sizeof(ip), "192.0.2.%zu", 150 + i);
	simple_answer(c->qname, c->wire, ip);
	if (!run() || !EXPECT(lfx_record(&F, c->qname, ip, &r), "not learned"))
		return;
	EXPECT(r.ttl == c->want, "ttl %u, want %u", r.ttl, c->want);
	EXPECT(r.expires_ns - r.last_ns == (c->want + c->grace) * 1000000000ULL,
	       "expires %llu ns after learning", (unsigned long long)(r.expires_ns - r.last_ns));
	EXPECT(F.n_ev == 1 && F.ev[0].ttl == c->want, "event ttl");
}

/* ================= refresh ================= */

static void second_answer_refreshes(void)
{
	struct cs_record first, again;
	struct cs_route rt1 = { 0 }, rt2 = { 0 };

	simple_answer("www.example.test", 300, "192.0.2.7");
	if (!run() || !lfx_record(&F, "www.example.test", "192.0.2.7", &first) ||
	    !EXPECT(lfx_route(&F, "192.0.2.7", &rt1), "no route"))
		return;
	if (!run())
		return;
	EXPECT_REASON(&F, CS_R_REFRESHED);
	EXPECT_EQ(F.delta[CS_R_REC_REFRESHED], 1);
	EXPECT_EQ(F.delta[CS_R_REC_LEARNED], 0);
	if (EXPECT_EQ(F.n_ev, 1)) {
		EXPECT_EQ(F.ev[0].type, CS_EV_RECORD_REFRESH);
		EXPECT_STR(F.ev[0].name.text, "www.example.test");
		EXPECT_STR(F.ev[0].qname.text, "www.example.test");
	}
	if (!EXPECT(lfx_record(&F, "www.example.test", "192.0.2.7", &again), "record gone"))
		return;
	EXPECT_EQ(again.hits, 2);
	EXPECT_EQ(again.first_ns, first.first_ns);
	EXPECT(again.last_ns >= first.last_ns, "last_ns went back");
	EXPECT(again.expires_ns >= first.expires_ns, "expiry went back");
	EXPECT(lfx_route(&F, "192.0.2.7", &rt2) && rt2.acl_id == rt1.acl_id, "route changed");
	EXPECT_EQ(lfx_records(&F), 1);
}

/* A known record named by an answer under another rule takes that rule
 * (its TTL was clamped under it), and the route hears of the answer. */
static void refresh_under_another_rule_takes_it(void)
{
	struct cs_route rt1 = { 0 }, rt2 = { 0 };
	struct cs_record r;

	simple_answer("www.example.test", 30, "192.0.2.7");
	if (!run() || !EXPECT(lfx_route(&F, "192.0.2.7", &rt1), "no route"))
		return;
	msg_begin("e.other.test", DT_A);	/* ties with www.example.test: the question's rule */
	an_a_ttl(an_cname(QNAME, "www.example.test"), 30, "192.0.2.7");
	if (!run() || !EXPECT_REASON(&F, CS_R_REFRESHED) ||
	    !EXPECT(lfx_record(&F, "www.example.test", "192.0.2.7", &r), "record gone"))
		return;
	EXPECT(r.rule_id == R_OTHER && r.pattern_id == P_OTHER, "record rule %u pattern %u",
	       r.rule_id, r.pattern_id);
	EXPECT(F.n_ev == 1 && F.ev[0].rule_id == R_OTHER && F.ev[0].pattern_id == P_OTHER,
	       "refresh event rule");
	EXPECT(lfx_route(&F, "192.0.2.7", &rt2) && rt2.learned_ns > rt1.learned_ns,
	       "route learned_ns not moved by the refresh");
	EXPECT(rt2.created_ns == rt1.created_ns && rt2.acl_id == rt1.acl_id, "route remade");
	EXPECT(F.n_ev == 1 && F.ev[0].acl_id == rt1.acl_id, "refresh event acl id %u",
	       F.n_ev ? F.ev[0].acl_id : 0);
}

/* A shorter TTL later never pulls the expiry in: clients may still hold
 * the longer answer. */
static void refresh_never_shortens_expiry(void)
{
	struct cs_record first, again;

	simple_answer("www.example.test", 3000, "192.0.2.7");
	if (!run() || !lfx_record(&F, "www.example.test", "192.0.2.7", &first))
		return;
	simple_answer("www.example.test", 60, "192.0.2.7");
	if (!run() || !lfx_record(&F, "www.example.test", "192.0.2.7", &again))
		return;
	EXPECT_EQ(again.ttl, 60);
	EXPECT(again.expires_ns >= first.expires_ns, "expiry shortened");
}

/* ================= in a cluster ================= */

/* Writes r back at (name, ip), as the daemon's cluster thread would. */
static bool put_record(const char *name, const char *ip, const struct cs_record *r)
{
	struct cs_record_key k = lfx_record_key(&F, name, ip);

	return EXPECT(!bpf_map_update_elem(bpf_map__fd(F.skel->maps.cs_records), &k, r, BPF_EXIST),
		      "writing the record: %s", strerror(errno));
}

/* A record heard from the cluster and then answered here is this node's
 * own: learn replaces it (never writes it in place) as its own. */
static void answer_makes_a_heard_record_local(void)
{
	struct cs_record r;

	simple_answer("www.example.test", 300, "192.0.2.7");
	if (!run() || !lfx_record(&F, "www.example.test", "192.0.2.7", &r))
		return;
	EXPECT_EQ(r.origin, CS_ORIGIN_LOCAL);
	r.origin = CS_ORIGIN_CLUSTER;
	r.hits = 0;
	if (!put_record("www.example.test", "192.0.2.7", &r))
		return;
	simple_answer("www.example.test", 301, "192.0.2.7");
	if (!run() || !EXPECT_REASON(&F, CS_R_REFRESHED) ||
	    !lfx_record(&F, "www.example.test", "192.0.2.7", &r))
		return;
	EXPECT_EQ(r.origin, CS_ORIGIN_LOCAL);
	EXPECT_EQ(r.hits, 1);
	EXPECT_EQ(r.ttl, 301);
	EXPECT_EQ(lfx_records(&F), 1);
}

/* The daemon's load in a cluster: only its events (no refresh events), and
 * every answer walked, so each run below is a refresh of its own. */
static bool reopen_as_cluster_gateway(void)
{
	const struct cs_learn_opts opts = { .report_extended = true, .walk_repeats = true, .lazy_tables = true,
					    .acl_ids = 16 };

	lfx_close(&F);
	return lfx_open_opts(&F, CONF_MAIN, &opts);
}

/* The EXTENDED events of one run for (name, ip). */
static int extended_events(void)
{
	int i, n = 0;

	for (i = 0; i < F.n_ev && i < LFX_EVENTS_MAX; i++)
		n += F.ev[i].type == CS_EV_RECORD_EXTENDED;
	return n;
}

/* A new record's expiry is what its NEW event tells the cluster; a refresh
 * is reported once it runs past that by the rule's grace (5 s here, the
 * least step too), not before; then what the cluster knows moves. */
static void refresh_reported_once_past_the_step(void)
{
	const char *name = "www.example.test", *ip = "192.0.2.7";
	struct cs_record r;
	__u32 shared;

	if (!reopen_as_cluster_gateway())
		return;
	simple_answer(name, 300, ip);
	if (!run() || !lfx_record(&F, name, ip, &r))
		return;
	EXPECT(F.n_ev == 1 && F.ev[0].type == CS_EV_RECORD_NEW, "one NEW event");
	EXPECT(r.shared_s == (r.expires_ns + 999999999ULL) / 1000000000ULL, "shared_s %u, expiry %llu ns",
	       r.shared_s, (unsigned long long)r.expires_ns);
	/* the same expiry again, and one 4 s past what the cluster knows */
	simple_answer(name, 300, ip);
	if (run())
		EXPECT_EQ(extended_events(), 0);
	r.shared_s -= 4;
	if (!put_record(name, ip, &r))
		return;
	shared = r.shared_s;
	if (run() && lfx_record(&F, name, ip, &r)) {
		EXPECT_EQ(extended_events(), 0);
		EXPECT_EQ(r.shared_s, shared);
	}
	/* 6 s past it: reported, and the cluster knows the new expiry */
	r.shared_s -= 2;
	if (!put_record(name, ip, &r))
		return;
	if (run() && lfx_record(&F, name, ip, &r) && EXPECT_EQ(extended_events(), 1)) {
		EXPECT(!strcmp(F.ev[0].name.text, name) && F.ev[0].ttl == 300, "event of %s ttl %u",
		       F.ev[0].name.text, F.ev[0].ttl);
		EXPECT(r.shared_s == (r.expires_ns + 999999999ULL) / 1000000000ULL, "shared_s not moved");
	}
}

/* A heard record answered here past what the cluster knows: replaced as
 * this node's own, and reported. */
static void heard_record_extended_here_is_reported(void)
{
	const char *name = "www.example.test", *ip = "192.0.2.7";
	struct cs_record r;

	if (!reopen_as_cluster_gateway())
		return;
	simple_answer(name, 300, ip);
	if (!run() || !lfx_record(&F, name, ip, &r))
		return;
	r.origin = CS_ORIGIN_CLUSTER;
	r.shared_s -= 60;
	r.expires_ns -= 60 * 1000000000ULL;
	if (!put_record(name, ip, &r))
		return;
	if (run() && lfx_record(&F, name, ip, &r)) {
		EXPECT_EQ(extended_events(), 1);
		EXPECT_EQ(r.origin, CS_ORIGIN_LOCAL);
	}
}

/* Without the cluster's load option, no refresh is ever reported. */
static void no_extended_events_outside_a_cluster(void)
{
	const struct cs_learn_opts opts = { .walk_repeats = true, .lazy_tables = true, .acl_ids = 16 };
	struct cs_record r;

	lfx_close(&F);
	if (!lfx_open_opts(&F, CONF_MAIN, &opts))
		return;
	simple_answer("www.example.test", 300, "192.0.2.7");
	if (!run() || !lfx_record(&F, "www.example.test", "192.0.2.7", &r))
		return;
	r.shared_s -= 3600;
	if (put_record("www.example.test", "192.0.2.7", &r) && run())
		EXPECT_EQ(F.n_ev, 0);
}

/* ================= routes and ACL ids ================= */

static void routes_take_acl_ids_from_pool(void)
{
	struct cs_route a = { 0 }, b = { 0 };

	msg_begin("www.example.test", DT_A);
	an_a(QNAME, "192.0.2.1");
	an_aaaa(QNAME, "2001:db8::1");
	if (!run() || !EXPECT(lfx_route(&F, "192.0.2.1", &a) && lfx_route(&F, "2001:db8::1", &b),
			      "routes missing"))
		return;
	EXPECT(a.acl_id == 1 && b.acl_id == 2, "acl ids %u, %u", a.acl_id, b.acl_id);
	EXPECT(a.flags == 0 && b.flags == 0, "flags %u, %u", a.flags, b.flags);
	EXPECT(a.rule_id == R_EXAMPLE, "route rule %u", a.rule_id);
	EXPECT_EQ(F.delta[CS_R_ACL_EMPTY], 0);
	EXPECT(F.n_ev == 2 && F.ev[0].acl_id == 1 && F.ev[1].acl_id == 2, "event acl ids");
}

/* One IP under two names: two records, one route, one ACL id. */
static void one_route_per_ip(void)
{
	struct cs_route rt = { 0 };

	simple_answer("www.example.test", 300, "192.0.2.1");
	run();
	simple_answer("api.example.test", 300, "192.0.2.1");
	if (!run())
		return;
	EXPECT_EQ(lfx_records(&F), 2);
	EXPECT_EQ(lfx_routes(&F), 1);
	EXPECT(lfx_route(&F, "192.0.2.1", &rt) && rt.acl_id == 1, "acl id %u", rt.acl_id);
}

/* An IP claimed by two rules follows the one with the higher priority,
 * whichever came first; every name keeps its own record. */
static void route_follows_higher_priority(void)
{
	static const struct { const char *qname; __u32 rule; } steps[] = {
		{ "www.low.test", 1 }, { "www.high.test", 2 }, { "api.low.test", 2 },
	};
	struct cs_route rt = { 0 };
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		simple_answer(steps[i].qname, 300, "192.0.2.7");
		if (run() && EXPECT(lfx_route(&F, "192.0.2.7", &rt), "no route"))
			EXPECT(rt.rule_id == steps[i].rule && rt.acl_id == 1,
			       "after %s: route rule %u acl %u, want rule %u acl 1", steps[i].qname,
			       rt.rule_id, rt.acl_id, steps[i].rule);
	}
	EXPECT_EQ(lfx_records(&F), 3);
	EXPECT_EQ(lfx_routes(&F), 1);
}

/* Loaded with acl_ids 0: the route is still made, waiting for an id. */
static void empty_acl_pool_waits(void)
{
	struct cs_route rt = { 0 };

	simple_answer("www.example.test", 300, "192.0.2.7");
	if (!run())
		return;
	EXPECT_REASON(&F, CS_R_LEARNED);
	EXPECT_EQ(F.delta[CS_R_ACL_EMPTY], 1);
	if (EXPECT(lfx_route(&F, "192.0.2.7", &rt), "no route")) {
		EXPECT_EQ(rt.acl_id, 0);
		EXPECT_EQ(rt.flags, CS_ROUTE_WAIT_ACL);
	}
	expect_learned("www.example.test", "192.0.2.7", R_EXAMPLE, P_EXAMPLE, 300);
	EXPECT(F.n_ev == 1 && F.ev[0].acl_id == 0, "event acl id");
}

/* ================= truncated answers ================= */

/* Three A records, the message cut two octets into the last one's rdata. */
static void three_records_last_cut(__u16 flags)
{
	msg_begin("www.example.test", DT_A);
	set_flags(flags);
	an_a(QNAME, "192.0.2.1");
	an_a(QNAME, "192.0.2.2");
	an_a(QNAME, "192.0.2.3");
	M.len -= 2;
}

static void tc_answer_teaches_complete_records(void)
{
	three_records_last_cut(DNS_FLAGS_RESPONSE | 0x0200);
	if (!run())
		return;
	EXPECT_REASON(&F, CS_R_LEARNED);
	expect_learned("www.example.test", "192.0.2.1", R_EXAMPLE, P_EXAMPLE, 300);
	expect_learned("www.example.test", "192.0.2.2", R_EXAMPLE, P_EXAMPLE, 300);
	expect_not_learned("www.example.test", "192.0.2.3");
	EXPECT_EQ(lfx_records(&F), 2);
}

static void cut_answer_without_tc_is_bad(void)
{
	three_records_last_cut(DNS_FLAGS_RESPONSE);
	if (run())
		EXPECT_REASON(&F, CS_R_BAD_RECORD);
	expect_nothing_learned();
}

/* ================= refused before the answer ================= */

struct refuse_case {
	const char *name;
	void (*build)(__u8 *frame, __u32 *len);
	int reason;
};

static void frame_of(__u8 *frame, __u32 *len, const struct frame_opts *o)
{
	*len = frame_build(frame, o, M.b, M.len);
}

static void std_answer(void) { simple_answer("www.example.test", 300, "192.0.2.7"); }

static void b_query(__u8 *fr, __u32 *len) { std_answer(); set_flags(0x0100); frame_of(fr, len, &(struct frame_opts){ 0 }); }
static void b_opcode_status(__u8 *fr, __u32 *len) { std_answer(); set_flags(DNS_FLAGS_RESPONSE | 2 << 11); frame_of(fr, len, &(struct frame_opts){ 0 }); }
static void b_opcode_notify(__u8 *fr, __u32 *len) { std_answer(); set_flags(DNS_FLAGS_RESPONSE | 4 << 11); frame_of(fr, len, &(struct frame_opts){ 0 }); }
static void b_nxdomain(__u8 *fr, __u32 *len) { std_answer(); set_flags(DNS_FLAGS_RESPONSE | 3); frame_of(fr, len, &(struct frame_opts){ 0 }); }
static void b_servfail(__u8 *fr, __u32 *len) { std_answer(); set_flags(DNS_FLAGS_RESPONSE | 2); frame_of(fr, len, &(struct frame_opts){ 0 }); }
static void b_qd0(__u8 *fr, __u32 *len) { std_answer(); dns_set16(&M, DNS_QD, 0); frame_of(fr, len, &(struct frame_opts){ 0 }); }
static void b_qd2(__u8 *fr, __u32 *len) { std_answer(); dns_set16(&M, DNS_QD, 2); frame_of(fr, len, &(struct frame_opts){ 0 }); }
static void b_an0(__u8 *fr, __u32 *len) { std_answer(); dns_set16(&M, DNS_AN, 0); frame_of(fr, len, &(struct frame_opts){ 0 }); }
static void b_header_only(__u8 *fr, __u32 *len) { std_answer(); M.len = 11; frame_of(fr, len, &(struct frame_opts){ 0 }); }
static void b_port_5353(__u8 *fr, __u32 *len) { std_answer(); frame_of(fr, len, &(struct frame_opts){ .sport = 5353 }); }
static void b_to_port_53(__u8 *fr, __u32 *len) { std_answer(); frame_of(fr, len, &(struct frame_opts){ .sport = 40000, .dport = 53 }); }
static void b_tcp_443(__u8 *fr, __u32 *len) { *len = frame_tcp_data(fr, 200); }
static void b_tcp6_5353(__u8 *fr, __u32 *len) { std_answer(); frame_of(fr, len, &(struct frame_opts){ .ipv6 = true, .tcp = true, .sport = 5353 }); }

static void b_arp(__u8 *fr, __u32 *len)
{
	memset(fr, 0, 42);
	memset(fr, 0xff, 6);
	fr[12] = 0x08;
	fr[13] = 0x06;
	*len = 42;
}

static void b_vlan_arp(__u8 *fr, __u32 *len)
{
	std_answer();
	frame_of(fr, len, &(struct frame_opts){ .vlans = 2 });
	fr[12 + 8] = 0x08;	/* inner ethertype after two tags: ARP */
	fr[12 + 9] = 0x06;
}

static void b_icmp(__u8 *fr, __u32 *len) { std_answer(); frame_of(fr, len, &(struct frame_opts){ 0 }); fr[14 + 9] = 1; }

static void b_v4_more_fragments(__u8 *fr, __u32 *len) { std_answer(); frame_of(fr, len, &(struct frame_opts){ 0 }); fr[14 + 6] = 0x20; }
static void b_v4_fragment_offset(__u8 *fr, __u32 *len) { std_answer(); frame_of(fr, len, &(struct frame_opts){ 0 }); fr[14 + 7] = 0x10; }

static void b_v6_fragment(__u8 *fr, __u32 *len)
{
	std_answer();
	frame_of(fr, len, &(struct frame_opts){ .ipv6 = true });
	*len = v6_insert_ext(fr, *len, 44);
}

/* A bare ACK of a DNS-over-TCP connection: no payload at all. */
static void b_tcp_bare_ack(__u8 *fr, __u32 *len)
{
	std_answer();
	frame_of(fr, len, &(struct frame_opts){ .tcp = true });
	*len = TCP4_PREFIX_OFF;
	fr[14 + 2] = 0;
	fr[14 + 3] = 40;
}

static void b_v4_header_options_cut(__u8 *fr, __u32 *len)
{
	std_answer();
	frame_of(fr, len, &(struct frame_opts){ 0 });
	fr[14] = 0x4f;		/* IHL 15: 60 octets of header, more than the frame holds */
	*len = 14 + 40;
}

static const struct refuse_case refuse_cases[] = {
	{ "query (QR=0)", b_query, CS_R_NOT_RESPONSE },
	{ "opcode STATUS", b_opcode_status, CS_R_BAD_OPCODE },
	{ "opcode NOTIFY", b_opcode_notify, CS_R_BAD_OPCODE },
	{ "NXDOMAIN with an answer record", b_nxdomain, CS_R_RCODE },
	{ "SERVFAIL with an answer record", b_servfail, CS_R_RCODE },
	{ "qdcount 0", b_qd0, CS_R_QDCOUNT },
	{ "qdcount 2", b_qd2, CS_R_QDCOUNT },
	{ "ancount 0", b_an0, CS_R_NO_ANSWER },
	{ "message shorter than a header", b_header_only, CS_R_TRUNCATED },
	{ "UDP from port 5353", b_port_5353, CS_R_NOT_DNS },
	{ "UDP to port 53 (a query's direction)", b_to_port_53, CS_R_NOT_DNS },
	{ "TCP from port 443", b_tcp_443, CS_R_NOT_DNS },
	{ "TCP6 from port 5353", b_tcp6_5353, CS_R_NOT_DNS },
	{ "TCP bare ACK from port 53", b_tcp_bare_ack, CS_R_NOT_DNS },
	{ "ICMP", b_icmp, CS_R_NOT_DNS },
	{ "ARP", b_arp, CS_R_NOT_IP },
	{ "ARP behind two VLAN tags", b_vlan_arp, CS_R_NOT_IP },
	{ "IPv4 first fragment (MF)", b_v4_more_fragments, CS_R_FRAGMENT },
	{ "IPv4 later fragment (offset)", b_v4_fragment_offset, CS_R_FRAGMENT },
	{ "IPv6 fragment header", b_v6_fragment, CS_R_FRAGMENT },
	{ "IPv4 header longer than the frame", b_v4_header_options_cut, CS_R_TRUNCATED },
};

static void refuse_title(size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "%s -> %s", refuse_cases[i].name, cs_reason_name(refuse_cases[i].reason));
}

/* Each frame is refused for its reason and teaches nothing; the rows share
 * one load, so nothing may have been learned before either. */
static void refuse_row(size_t i)
{
	__u32 len = 0;

	memset(F.frame, 0, sizeof(F.frame));
	refuse_cases[i].build(F.frame, &len);
	if (lfx_run(&F, F.frame, len))
		EXPECT_REASON(&F, refuse_cases[i].reason);
	expect_nothing_learned();
}

/* Until userspace has written the rules, nothing is learned. */
static void not_ready_until_rules_written(void)
{
	struct cs_config cfg = { 0 };
	__u32 zero = 0;

	if (!EXPECT(!bpf_map_update_elem(bpf_map__fd(F.skel->maps.cs_config), &zero, &cfg, BPF_ANY),
		    "clearing cs_config"))
		return;
	std_answer();
	if (run())
		EXPECT_REASON(&F, CS_R_NOT_READY);
	expect_nothing_learned();
}

/* ================= the list ================= */

#define CASE(fn) { #fn, fn, CONF_MAIN, 16 }
#define CASE_WITH(fn, conf, acl) { #fn, fn, conf, acl }
#define ROWS(a) (sizeof(a) / sizeof((a)[0]))

static const struct lfx_case cases[] = {
	CASE(learns_past_ipv6_extension_header),
	CASE(tcp_prefix_mismatch_is_partial),
	CASE(tcp_one_byte_segment_is_partial),
	CASE(learns_a_and_aaaa),
	CASE(learns_40_a_records),
	CASE_WITH(resolvers_only_listed_servers_teach, CONF_RESOLVERS, 16),
	CASE_WITH(max_records_caps_the_walk, CONF_CAP8, 16),
	CASE_WITH(max_records_exactly_reached_is_not_capped, CONF_CAP8, 16),
	CASE_WITH(max_records_256_learns_every_address, CONF_CAP256, 256),
	CASE_WITH(default_learns_74_a_records, CONF_DEFAULT_CAP, 128),
	CASE_WITH(default_learns_a_full_message_of_a_records, CONF_DEFAULT_CAP, 256),
	CASE_WITH(default_learns_270_a_records_owned_by_the_root, CONF_DEFAULT_CAP, 512),
	CASE_WITH(answers_cut_at_the_cap_are_counted, CONF_CAP64, 128),
	CASE(message_of_msg_max_octets),
	CASE(authority_and_additional_never_learned),
	CASE(additional_only_is_no_answer),
	CASE(aaaa_v4_mapped_refused),
	CASE(aaaa_v4_mapped_beside_good_records),
	CASE(learns_at_end_of_chain_of_10),
	CASE(chain_longer_than_max),
	CASE(off_chain_owner_not_learned),
	CASE(target_of_unrelated_cname_not_learned),
	CASE(record_before_its_cname_not_learned),
	CASE(uncompressed_owner_in_other_case_is_on_chain),
	CASE(dname_learned_via_synthesized_cname),
	CASE(mixed_case_question),
	CASE(learns_127_label_name),
	CASE(learns_253_character_chain),
	CASE(name_of_256_octets_refused),
	CASE(name_of_128_labels_refused),
	CASE(name_over_255_through_pointer_refused),
	CASE(second_answer_refreshes),
	CASE(refresh_never_shortens_expiry),
	CASE(refresh_under_another_rule_takes_it),
	CASE(answer_makes_a_heard_record_local),
	CASE(refresh_reported_once_past_the_step),
	CASE(heard_record_extended_here_is_reported),
	CASE(no_extended_events_outside_a_cluster),
	CASE(routes_take_acl_ids_from_pool),
	CASE(one_route_per_ip),
	CASE_WITH(route_follows_higher_priority, CONF_PRIORITY, 16),
	CASE_WITH(empty_acl_pool_waits, CONF_MAIN, 0),
	CASE(tc_answer_teaches_complete_records),
	CASE(cut_answer_without_tc_is_bad),
	CASE(not_ready_until_rules_written),
};

static const struct lfx_table tables[] = {
	{ "transport", CONF_MAIN, 16, ROWS(transports), transport_title, transport_row },
	{ "rule", CONF_MAIN, 16, ROWS(match_cases), match_title, match_row },
	{ "ttl", CONF_MAIN, 16, ROWS(ttl_cases), ttl_title, ttl_row },
	{ "refused", CONF_MAIN, 16, ROWS(refuse_cases), refuse_title, refuse_row },
};

int main(void)
{
	size_t i;

	for (i = 0; i < ROWS(tables); i++)
		lfx_run_table(&F, &tables[i]);
	for (i = 0; i < ROWS(cases); i++)
		lfx_run_case(&F, &cases[i]);
	T_EXIT();
}
