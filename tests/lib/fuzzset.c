// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzzset.h"
#include "lib/pcapread.h"

#define DT_A 1
#define DT_CNAME 5
#define DT_AAAA 28
#define DT_OPT 41
#define F_TC 0x0200

/* The rules of both configs: pattern and rule ids are positions + 1. */
#define RULES                                                                   \
	"rules:\n"                                                              \
	"  - match: [example.test, cdn.test]\n"                                 \
	"  - match: [\"=www.example.test\"]\n"                                  \
	"    ttl: {min: 10, max: 100}\n"                                        \
	"  - match: [\"*.wild.test\"]\n"                                        \
	"  - match: [cloudapp.test, \"=login.cloudapp.test\"]\n"                \
	"    priority: 20\n"                                                    \
	"    ttl: {min: 0, max: 2147483647, grace: 30}\n"                       \
	"  - match: [big.test]\n"                                               \
	"    ttl: {min: 0, max: 100}\n"                                         \
	"  - match: [\"=foo.wild.test\"]\n"                                     \
	"    ttl: {min: 1000, max: 1000}\n"

const char FUZZSET_CONF[] =
	"learn:\n"
	"  ttl: {min: 60, max: 3600, grace: 0}\n"
	"  max_records: 32\n"
	RULES;

const char FUZZSET_CONF_TIGHT[] =
	"learn:\n"
	"  ttl: {min: 60, max: 3600, grace: 0}\n"
	"  max_records: 64\n"
	"  resolvers: [192.0.2.53, \"2001:db8::53\"]\n"
	"  limits: {records: 24, routes: 16}\n"
	RULES;

/* The same rules, as the reference reads them. */
static const struct refdns_pattern patterns[] = {
	{ "example.test", CS_MATCH_SUBTREE, 1, 1 },
	{ "cdn.test", CS_MATCH_SUBTREE, 1, 2 },
	{ "www.example.test", CS_MATCH_EXACT, 2, 3 },
	{ "wild.test", CS_MATCH_WILD, 3, 4 },
	{ "cloudapp.test", CS_MATCH_SUBTREE, 4, 5 },
	{ "login.cloudapp.test", CS_MATCH_EXACT, 4, 6 },
	{ "big.test", CS_MATCH_SUBTREE, 5, 7 },
	{ "foo.wild.test", CS_MATCH_EXACT, 6, 8 },
};

static const struct refdns_ttl ttls[] = {
	{ 0, 0, 0 },
	{ 60, 3600, 0 },
	{ 10, 100, 0 },
	{ 60, 3600, 0 },
	{ 0, 2147483647, 30 },
	{ 0, 100, 0 },
	{ 1000, 1000, 0 },
};

const struct refdns_rules fuzzset_rules = {
	.patterns = patterns,
	.n_patterns = sizeof(patterns) / sizeof(patterns[0]),
	.ttl = ttls,
	.n_rules = sizeof(ttls) / sizeof(ttls[0]),
	.max_records = 32,
	.acl_ids = 1000,
};

/* pkt.h's default sources */
static const struct cs_addr resolvers[] = {
	{ { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 53 } },
	{ { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53 } },
};

const struct refdns_rules fuzzset_rules_tight = {
	.patterns = patterns,
	.n_patterns = sizeof(patterns) / sizeof(patterns[0]),
	.ttl = ttls,
	.n_rules = sizeof(ttls) / sizeof(ttls[0]),
	.max_records = 64,
	.acl_ids = 1000,
	.records_max = 24,
	.routes_max = 16,
	.resolvers = resolvers,
	.n_resolvers = sizeof(resolvers) / sizeof(resolvers[0]),
};

/* ================= the built answers ================= */

static void base_cname_answer(struct dnsmsg *m)
{
	__u32 t;

	dns_header(m, 0x7a7a, DNS_FLAGS_RESPONSE, 1, 4, 0, 1);
	dns_question(m, "www.example.test", DT_A);
	dns_ptr(m, 12);
	t = dns_rr_cname(m, 300, "edge.cdn.test");
	dns_ptr(m, (__u16)t);
	dns_rr_a(m, 30, "192.0.2.1");
	dns_ptr(m, (__u16)t);
	dns_rr_aaaa(m, 7200, "2001:db8::1");
	dns_ptr(m, (__u16)t);
	dns_rr_a(m, 0x80000000u, "192.0.2.2");
	dns_name(m, "");	/* OPT in the additional section */
	dns_rr_raw(m, DT_OPT, 1232, 0, "", 0);
}

/* Mixed case, a chain of four with compressed targets, addresses at
 * several hops, and an off-chain record. */
static void base_chain_answer(struct dnsmsg *m)
{
	__u32 t1, t2, t3;

	dns_header(m, 0x7a7b, DNS_FLAGS_RESPONSE, 1, 7, 0, 0);
	dns_question(m, "Api.Example.TEST", DT_A);
	dns_ptr(m, 12);
	t1 = dns_rr_cname(m, 60, "x.wild.test");
	dns_ptr(m, (__u16)t1);
	dns_rr_a(m, 60, "198.51.100.1");
	dns_ptr(m, (__u16)t1);
	t2 = m->len + 10;
	dns_put16(m, DT_CNAME);
	dns_put16(m, 1);
	dns_put32(m, 60);
	dns_put16(m, 4);
	dns_name_ptr(m, "e", (__u16)(t1 + 2));	/* e.wild.test */
	dns_ptr(m, (__u16)t2);
	t3 = dns_rr_cname(m, 60, "www.example.test");
	dns_ptr(m, (__u16)t3);
	dns_rr_a(m, 5, "203.0.113.9");
	dns_name(m, "other.cdn.test");
	dns_rr_a(m, 60, "203.0.113.66");
	dns_ptr(m, (__u16)t2);
	dns_rr_aaaa(m, 60, "2001:db8:beef::9");
}

/* TC=1, forty A records: more than max_records. */
static void base_many_answer(struct dnsmsg *m)
{
	char ip[32];
	int i;

	dns_header(m, 0x7a7c, DNS_FLAGS_RESPONSE | F_TC, 1, 40, 0, 0);
	dns_question(m, "many.cdn.test", DT_A);
	for (i = 0; i < 40; i++) {
		snprintf(ip, sizeof(ip), "198.19.0.%d", i + 1);
		dns_ptr(m, 12);
		dns_rr_a(m, 300, ip);
	}
}

/* AAAA first, one of them IPv4-mapped; then a chain of CS_CHAIN_MAX + 1
 * CNAMEs with an address at its last two hops. */
static void base_long_chain_answer(struct dnsmsg *m)
{
	char name[32];
	__u32 prev = 12, t = 12;
	int i;

	dns_header(m, 0x7a7d, DNS_FLAGS_RESPONSE, 1, 3 + CS_CHAIN_MAX + 1 + 1, 0, 0);
	dns_question(m, "c.example.test", DT_AAAA);
	dns_ptr(m, 12);
	dns_rr_aaaa(m, 300, "::ffff:192.0.2.1");
	dns_ptr(m, 12);
	dns_rr_aaaa(m, 300, "2001:db8::c");
	dns_ptr(m, 12);
	dns_rr_a(m, 300, "192.0.2.12");
	for (i = 1; i <= CS_CHAIN_MAX + 1; i++) {
		snprintf(name, sizeof(name), "h%d", i);
		dns_ptr(m, (__u16)t);
		prev = t;
		t = m->len + 10;
		dns_put16(m, DT_CNAME);
		dns_put16(m, 1);
		dns_put32(m, 300);
		dns_put16(m, (__u16)(strlen(name) + 3));
		dns_name_ptr(m, name, 12 + 2);	/* hN.example.test */
	}
	dns_ptr(m, (__u16)prev);
	dns_rr_a(m, 300, "192.0.2.16");
}

/* An exact match of the priority rule whose chain goes through another
 * exact match at the same depth (the question's wins the tie), with the
 * TTLs that rule keeps as they are: 0, the top bit, the largest. */
static void base_tie_answer(struct dnsmsg *m)
{
	__u32 t;

	dns_header(m, 0x7a7e, DNS_FLAGS_RESPONSE, 1, 5, 0, 0);
	dns_question(m, "Login.CloudApp.test", DT_A);
	dns_ptr(m, 12);
	t = dns_rr_cname(m, 300, "www.example.test");
	dns_ptr(m, (__u16)t);
	dns_rr_a(m, 0, "192.0.2.40");
	dns_ptr(m, (__u16)t);
	dns_rr_a(m, 0x80000001u, "192.0.2.41");
	dns_ptr(m, 12);
	dns_rr_aaaa(m, 0x7fffffffu, "2001:db8::40");
	dns_name(m, "big.test");
	dns_rr_a(m, 60, "192.0.2.42");
}

void fuzzset_base(size_t i, struct dnsmsg *m)
{
	static void (*const bases[FUZZSET_N_BASES])(struct dnsmsg *) = {
		base_cname_answer, base_chain_answer, base_many_answer, base_long_chain_answer,
		base_tie_answer,
	};

	memset(m, 0, sizeof(*m));
	bases[i % FUZZSET_N_BASES](m);
}

/* ================= a real capture ================= */

const char *fuzzset_capture(void)
{
	static char path[4096];
	const char *dir = getenv("CS_SHARED_CORPUS");

	snprintf(path, sizeof(path), "%s/knot_auth.pcap", dir && *dir ? dir : "../shared/dns-corpus");
	return path;
}

struct answers {
	struct dnsmsg *m;
	int n, cap;
};

static int take_answer(void *ctx, unsigned long frame, const __u8 *eth, __u32 len)
{
	struct answers *a = ctx;
	struct refdns_loc loc;

	(void)frame;
	if (!len || refdns_locate(eth, len, &loc) || loc.len > DNS_MAX)
		return 0;
	if (a->n == a->cap) {
		int cap = a->cap ? 2 * a->cap : 64;
		struct dnsmsg *p = realloc(a->m, (size_t)cap * sizeof(*p));

		if (!p)
			return -1;
		a->m = p;
		a->cap = cap;
	}
	memcpy(a->m[a->n].b, eth + loc.off, loc.len);
	a->m[a->n].len = loc.len;
	a->n++;
	return 0;
}

int fuzzset_capture_answers(const char *path, struct dnsmsg **out, char *err, size_t errlen)
{
	struct answers a = { 0 };

	if (cs_pcap_each(path, take_answer, &a, err, errlen)) {
		free(a.m);
		return -1;
	}
	*out = a.m;
	return a.n;
}
