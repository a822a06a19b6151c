// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * learn_fuzz: 20,000 seeded random mutations of real-looking answers, run
 * through the learn program and through a plain C reference learner written
 * from DESIGN.md and cloudsteer.h. For every run the verdict is XDP_PASS, and
 * the events (type, question, owner, address, TTL, rule, pattern, ACL id)
 * are exactly the reference's; every learned address is in the message. At
 * the end every reason counter and the size of the record table agree.
 *
 * The reference reads names the way the contract says: labels of at most 63
 * octets, 255 octets in all, at most CS_POINTERS_MAX pointers, each pointing
 * before the run of labels that holds it. Where the contract leaves a choice
 * open it follows the program: an owner that is a bare pointer to a chain
 * name's offset is that name, and in a TC=1 answer only a record that runs
 * off the end stops the walk quietly (a malformed one still refuses it).
 */
#define _GNU_SOURCE	/* memmem */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "learnfx.h"
#include "namehash.h"

T_SUITE("learn_fuzz");

/* CS_FUZZ_ITERATIONS and CS_FUZZ_SEED in the environment run it longer or
 * elsewhere; the default is what `make test` runs. */
#define ITERATIONS 20000
#define SEED 0xc10d5ee7u
#define ACL_IDS 1000

static const char CONF[] =
	"learn:\n"
	"  ttl: {min: 60, max: 3600, grace: 0}\n"
	"  max_records: 32\n"
	"rules:\n"
	"  - match: [example.test, cdn.test]\n"
	"  - match: [\"=www.example.test\"]\n"
	"    ttl: {min: 10, max: 100}\n"
	"  - match: [\"*.wild.test\"]\n";

/* The same rules, as the reference reads them. */
static const struct ref_pattern {
	const char *name;
	int kind;
	__u32 rule, pattern;
} patterns[] = {
	{ "example.test", CS_MATCH_SUBTREE, 1, 1 },
	{ "cdn.test", CS_MATCH_SUBTREE, 1, 2 },
	{ "www.example.test", CS_MATCH_EXACT, 2, 3 },
	{ "wild.test", CS_MATCH_WILD, 3, 4 },
};
static const struct { __u32 min, max; } rule_ttl[] = { { 0, 0 }, { 60, 3600 }, { 10, 100 }, { 60, 3600 } };
#define MAX_RECORDS 32

#define DT_A 1
#define DT_CNAME 5
#define DT_AAAA 28
#define DT_OPT 41
#define F_TC 0x0200

static struct lfx F;

/* ================= the reference learner ================= */

struct ref_name {
	int labels;
	__u8 len[CS_LABELS_MAX];
	__u8 lab[CS_LABELS_MAX][CS_LABEL_MAX];	/* lower case */
	__u32 end;		/* first octet after the name where it was read */
};

struct ref_event {
	__u32 type, rule, pattern, ttl, acl;
	struct cs_addr addr;
	char name[CS_NAME_TEXT_MAX];
};

/* What the tables hold, so the reference knows new from refreshed. */
struct ref_record {
	__u64 id;
	struct cs_addr addr;
	__u32 rule, pattern, used;
};

#define REF_SLOTS (1u << 18)

static struct {
	struct ref_record rec[REF_SLOTS];
	struct { struct cs_addr addr; __u32 acl, used; } route[REF_SLOTS];
	__u32 n_records, next_acl;
	__u64 counts[CS_R_MAX];
	/* the run */
	struct ref_event ev[CS_ADDRS_MAX];
	int n_ev;
	char qname[CS_NAME_TEXT_MAX];
} ref;

static int ref_read_name(const __u8 *m, __u32 len, __u32 off, struct ref_name *n)
{
	__u32 pos = off, run = off, wire = 1, pointers = 0;

	n->labels = 0;
	n->end = 0;
	for (;;) {
		__u8 b;

		if (pos >= len)
			return CS_R_BAD_RECORD;
		b = m[pos];
		if ((b & 0xC0) == 0xC0) {
			__u32 target;

			if (pos + 1 >= len)
				return CS_R_BAD_RECORD;
			target = (__u32)(b & 0x3F) << 8 | m[pos + 1];
			if (!n->end)
				n->end = pos + 2;
			if (target >= run || ++pointers > CS_POINTERS_MAX)
				return CS_R_POINTER_LOOP;
			pos = run = target;
			continue;
		}
		if (b & 0xC0)
			return CS_R_BAD_NAME;
		if (!b) {
			if (!n->end)
				n->end = pos + 1;
			return 0;
		}
		wire += b + 1u;
		if (pos + 1 + b > len)
			return CS_R_BAD_RECORD;
		if (n->labels >= CS_LABELS_MAX || wire > CS_NAME_WIRE_MAX)
			return CS_R_BAD_NAME;
		n->len[n->labels] = b;
		for (__u32 k = 0; k < b; k++)
			n->lab[n->labels][k] = cs_lower(m[pos + 1 + k]);
		n->labels++;
		pos += 1 + b;
	}
}

static bool ref_same_name(const struct ref_name *a, const struct ref_name *b)
{
	int i;

	if (a->labels != b->labels)
		return false;
	for (i = 0; i < a->labels; i++)
		if (a->len[i] != b->len[i] || memcmp(a->lab[i], b->lab[i], a->len[i]))
			return false;
	return true;
}

static void ref_text(const struct ref_name *n, char *out)
{
	int i, o = 0;

	for (i = 0; i < n->labels; i++) {
		if (o)
			out[o++] = '.';
		memcpy(out + o, n->lab[i], n->len[i]);
		o += n->len[i];
	}
	out[o] = 0;
}

static __u64 ref_id(const struct ref_name *n)
{
	__u64 s = cs_suffix_seed(F.rs.key);
	int i;

	for (i = n->labels - 1; i >= 0; i--)
		s = cs_suffix_fold(s, cs_text_label_hash(F.rs.key, (const char *)n->lab[i], n->len[i]));
	return s;
}

/* Does the suffix of `depth` labels of n spell `pattern`, label by label?
 * (Not by text: a label may hold a dot or a NUL.) */
static bool ref_suffix_is(const struct ref_name *n, int depth, const char *pattern)
{
	int i;

	for (i = n->labels - depth; i < n->labels; i++) {
		const char *dot = strchr(pattern, '.');
		size_t len = dot ? (size_t)(dot - pattern) : strlen(pattern);

		if (len != n->len[i] || memcmp(pattern, n->lab[i], len))
			return false;
		pattern += len + (dot ? 1 : 0);
	}
	return !*pattern;
}

static int text_depth(const char *name)
{
	int d = 1;

	while ((name = strchr(name, '.')))
		d++, name++;
	return d;
}

struct ref_match {
	__u32 score, rule, pattern;
};

/* The most specific pattern for n: deeper first, then exact, wild, subtree. */
static struct ref_match ref_best_pattern(const struct ref_name *n)
{
	struct ref_match best = { 0, 0, 0 };
	size_t p;

	for (p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++) {
		const struct ref_pattern *pt = &patterns[p];
		int d = text_depth(pt->name);
		__u32 score = CS_MATCH_SCORE(d, pt->kind);

		if (d > n->labels || !ref_suffix_is(n, d, pt->name) ||
		    (pt->kind == CS_MATCH_EXACT && d != n->labels) ||
		    (pt->kind == CS_MATCH_WILD && d == n->labels))
			continue;
		if (score > best.score)
			best = (struct ref_match){ score, pt->rule, pt->pattern };
	}
	return best;
}

static __u32 slot_of(__u64 h) { return (__u32)(cs_mix64(h) & (REF_SLOTS - 1)); }

static __u64 addr_hash(const struct cs_addr *a)
{
	__u64 x, y;

	memcpy(&x, a->b, 8);
	memcpy(&y, a->b + 8, 8);
	return x ^ (y * 0x9e3779b97f4a7c15ULL);
}

static struct ref_record *ref_record_find(__u64 id, const struct cs_addr *a, bool *found)
{
	__u32 i = slot_of(id ^ addr_hash(a));

	for (;; i = (i + 1) & (REF_SLOTS - 1)) {
		struct ref_record *r = &ref.rec[i];

		if (!r->used || (r->id == id && !memcmp(&r->addr, a, sizeof(*a)))) {
			*found = r->used;
			return r;
		}
	}
}

/* The never-steer kind of an address: the built-in ranges and the default
 * learn.never_steer (private ranges), written out from cloudsteer.h. */
static __u32 ref_never(const struct cs_addr *a)
{
	static const __u8 v4map[12] = { [10] = 0xff, [11] = 0xff }, zero[16];
	const __u8 *b = a->b;

	if (!memcmp(b, v4map, 12)) {
		__u8 x = b[12], y = b[13];

		if (x == 127)
			return CS_NEVER_LOOPBACK;
		if (x == 169 && y == 254)
			return CS_NEVER_LINK_LOCAL;
		if ((x & 0xf0) == 224 || (x == 255 && y == 255 && b[14] == 255 && b[15] == 255))
			return CS_NEVER_MULTICAST;
		if (x == 0)
			return CS_NEVER_UNSPECIFIED;
		if (x == 10 || (x == 172 && (y & 0xf0) == 16) || (x == 192 && y == 168) ||
		    (x == 100 && (y & 0xc0) == 64))
			return CS_NEVER_CONFIGURED;
		return 0;
	}
	if (!memcmp(b, zero, 15))
		return b[15] == 1 ? CS_NEVER_LOOPBACK : b[15] == 0 ? CS_NEVER_UNSPECIFIED : 0;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return CS_NEVER_LINK_LOCAL;
	if (b[0] == 0xff)
		return CS_NEVER_MULTICAST;
	return (b[0] & 0xfe) == 0xfc ? CS_NEVER_CONFIGURED : 0;
}

/* The route's ACL id; a new route takes the next id of the FIFO pool. An
 * address that is never steered gets no route (and id 0), counted when the
 * program would try to make one (claim: a new record, or a record that
 * changed rule or pattern). */
static __u32 ref_route(const struct cs_addr *a, bool claim)
{
	__u32 i = slot_of(addr_hash(a)), never;

	for (;; i = (i + 1) & (REF_SLOTS - 1)) {
		if (!ref.route[i].used) {
			never = ref_never(a);
			if (never) {
				if (claim)
					ref.counts[CS_R_NEVER_LOOPBACK + never - CS_NEVER_LOOPBACK]++;
				return 0;
			}
			ref.route[i].used = 1;
			ref.route[i].addr = *a;
			ref.route[i].acl = ref.next_acl <= ACL_IDS ? ref.next_acl++ : 0;
			if (!ref.route[i].acl)
				ref.counts[CS_R_ACL_EMPTY]++;
			return ref.route[i].acl;
		}
		if (!memcmp(&ref.route[i].addr, a, sizeof(*a)))
			return ref.route[i].acl;
	}
}

struct ref_addr {
	__u32 rdata, ttl, type;
	int chain;
};

/* The walk of one message, as the contract reads it. */
struct ref_walk {
	const __u8 *m;
	__u32 len, pos;
	bool tc;
	int nchain;
	struct ref_name chain[CS_CHAIN_MAX];
	__u32 chain_off[CS_CHAIN_MAX];
	struct ref_match best;
	struct ref_addr addr[CS_ADDRS_MAX];
	int naddrs;
};

#define REF_STOP (-1)

static void ref_chain_add(struct ref_walk *w, const struct ref_name *n, __u32 off)
{
	struct ref_match m = ref_best_pattern(n);

	w->chain[w->nchain] = *n;
	w->chain_off[w->nchain++] = off;
	if (m.score > w->best.score)
		w->best = m;
}

static __u16 rd16(const __u8 *p) { return (__u16)(p[0] << 8 | p[1]); }
static __u32 rd32(const __u8 *p) { return (__u32)rd16(p) << 16 | rd16(p + 2); }

/* Which chain name owns the record at w->pos: an index, -2 for none, or a
 * reason. A bare pointer to a chain name's offset is that name. */
static int ref_owner(struct ref_walk *w, int *err)
{
	static struct ref_name n;
	int i;

	*err = 0;
	if ((w->m[w->pos] & 0xC0) == 0xC0 && w->pos + 1 < w->len) {
		__u32 target = (__u32)(w->m[w->pos] & 0x3F) << 8 | w->m[w->pos + 1];

		for (i = 0; i < w->nchain; i++)
			if (w->chain_off[i] == target) {
				w->pos += 2;
				return i;
			}
	}
	*err = ref_read_name(w->m, w->len, w->pos, &n);
	if (*err)
		return -2;
	w->pos = n.end;
	for (i = 0; i < w->nchain; i++)
		if (ref_same_name(&w->chain[i], &n))
			return i;
	return -2;
}

static int ref_cut(const struct ref_walk *w, int err)
{
	return err == CS_R_BAD_RECORD && w->tc ? REF_STOP : err;
}

static int ref_record_walk(struct ref_walk *w)
{
	static struct ref_name target;
	__u32 type, klass, rdlen, rdata, next;
	int owner, err;

	if (w->pos >= w->len)	/* the program reads a stale octet here; same outcome */
		return ref_cut(w, CS_R_BAD_RECORD);
	owner = ref_owner(w, &err);
	if (err)
		return ref_cut(w, err);
	if (w->pos + 10 > w->len)
		return ref_cut(w, CS_R_BAD_RECORD);
	type = rd16(w->m + w->pos);
	klass = rd16(w->m + w->pos + 2);
	rdlen = rd16(w->m + w->pos + 8);
	rdata = w->pos + 10;
	next = rdata + rdlen;
	if (next > w->len)
		return ref_cut(w, CS_R_BAD_RECORD);
	if (klass == 1 && (type == DT_A || type == DT_AAAA || type == DT_CNAME)) {
		if (owner < 0) {
			ref.counts[CS_R_REC_OFF_CHAIN]++;
		} else if (type == DT_CNAME) {
			if (w->nchain >= CS_CHAIN_MAX) {
				ref.counts[CS_R_REC_CHAIN_LONG]++;
			} else {
				err = ref_read_name(w->m, w->len, rdata, &target);
				if (err)
					return ref_cut(w, err);
				if (target.end != next)
					return CS_R_BAD_RECORD;
				ref_chain_add(w, &target, rdata);
			}
		} else {
			if (rdlen != (type == DT_A ? 4u : 16u))
				return CS_R_BAD_RECORD;
			if (w->naddrs < CS_ADDRS_MAX)
				w->addr[w->naddrs++] = (struct ref_addr){ rdata, rd32(w->m + w->pos + 4),
									  type, owner };
			else
				ref.counts[CS_R_REC_CAPPED]++;
		}
	}
	w->pos = next;
	return 0;
}

static void ref_addr_of(const struct ref_walk *w, const struct ref_addr *a, struct cs_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (a->type == DT_A) {
		out->b[10] = out->b[11] = 0xff;
		memcpy(out->b + 12, w->m + a->rdata, 4);
	} else {
		memcpy(out->b, w->m + a->rdata, 16);
	}
}

static bool v4_mapped(const struct cs_addr *a)
{
	static const __u8 pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a->b, pfx, 12);
}

/* Step 3: records for every address, under the best rule. */
static int ref_store(struct ref_walk *w)
{
	int i, learned = 0, refreshed = 0;

	for (i = 0; i < w->naddrs; i++) {
		const struct ref_addr *a = &w->addr[i];
		struct ref_event *e = &ref.ev[ref.n_ev];
		struct ref_record *r;
		__u32 raw = a->ttl & 0x80000000u ? 0 : a->ttl;
		__u64 id = ref_id(&w->chain[a->chain]);
		bool found, claim;

		memset(e, 0, sizeof(*e));
		ref_addr_of(w, a, &e->addr);
		if (a->type == DT_AAAA && v4_mapped(&e->addr)) {
			ref.counts[CS_R_REC_BAD_ADDR]++;
			continue;
		}
		e->ttl = raw < rule_ttl[w->best.rule].min ? rule_ttl[w->best.rule].min : raw;
		e->ttl = e->ttl > rule_ttl[w->best.rule].max ? rule_ttl[w->best.rule].max : e->ttl;
		ref_text(&w->chain[a->chain], e->name);
		/* a known record takes this answer's rule, as a new one does */
		r = ref_record_find(id, &e->addr, &found);
		claim = !found || r->rule != w->best.rule || r->pattern != w->best.pattern;
		if (!found)
			ref.n_records++;
		*r = (struct ref_record){ id, e->addr, w->best.rule, w->best.pattern, 1 };
		e->type = found ? CS_EV_RECORD_REFRESH : CS_EV_RECORD_NEW;
		ref.counts[found ? CS_R_REC_REFRESHED : CS_R_REC_LEARNED]++;
		refreshed += found;
		learned += !found;
		e->acl = ref_route(&e->addr, claim);
		e->rule = r->rule;
		e->pattern = r->pattern;
		ref.n_ev++;
	}
	return learned ? CS_R_LEARNED : refreshed ? CS_R_REFRESHED : CS_R_NO_ADDRESS;
}

/* The packet reason for the message m[0..len), with ref.ev filled. */
static int ref_learn(const __u8 *m, __u32 len)
{
	static struct ref_walk w;
	static struct ref_name q;
	__u32 flags, ancount, i;
	int err;

	ref.n_ev = 0;
	if (len > CS_MSG_MAX)
		return CS_R_TOO_BIG;
	if (len < 12)
		return CS_R_TRUNCATED;
	flags = rd16(m + 2);
	if (!(flags & 0x8000))
		return CS_R_NOT_RESPONSE;
	if (flags & 0x7800)
		return CS_R_BAD_OPCODE;
	if (flags & 0x000F)
		return CS_R_RCODE;
	if (rd16(m + 4) != 1)
		return CS_R_QDCOUNT;
	ancount = rd16(m + 6);
	if (!ancount)
		return CS_R_NO_ANSWER;
	memset(&w, 0, sizeof(w));
	w.m = m;
	w.len = len;
	w.tc = flags & F_TC;
	err = ref_read_name(m, len, 12, &q);
	if (err)
		return err;
	w.pos = q.end + 4;
	if (w.pos > len)
		return CS_R_BAD_RECORD;
	ref_text(&q, ref.qname);
	ref_chain_add(&w, &q, 12);
	for (i = 0; i < ancount && i < CS_RECORDS_MAX; i++) {
		if (i >= MAX_RECORDS) {
			ref.counts[CS_R_REC_CAPPED]++;
			break;
		}
		err = ref_record_walk(&w);
		if (err == REF_STOP)
			break;
		if (err)
			return err;
	}
	if (!w.best.pattern)
		return CS_R_NO_RULE;
	if (!w.naddrs)
		return CS_R_NO_ADDRESS;
	return ref_store(&w);
}

/* ================= the answers we mutate ================= */

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

static void (*const bases[])(struct dnsmsg *) = {
	base_cname_answer, base_chain_answer, base_many_answer, base_long_chain_answer,
};
#define N_BASES (sizeof(bases) / sizeof(bases[0]))

/* ================= mutations ================= */

static __u32 rng;

static __u32 next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng;
}

static void mutate_once(struct dnsmsg *m)
{
	static const __u8 interesting[] = { 0x00, 0x01, 0x3f, 0x40, 0x7f, 0x80, 0xbf, 0xc0, 0xff, 0x0c, 0x05, 0x1c };
	__u32 at = m->len ? next_rand() % m->len : 0, kind = next_rand() % 16;

	if (kind < 5) {
		m->b[at] = (__u8)next_rand();
	} else if (kind < 9) {
		m->b[at] ^= (__u8)(1u << (next_rand() % 8));
	} else if (kind < 12) {
		m->b[at] = interesting[next_rand() % sizeof(interesting)];
	} else if (kind < 14) {	/* a compression pointer anywhere, to anywhere */
		__u32 to = m->len ? next_rand() % m->len : 0;

		if (at + 1 < m->len) {
			m->b[at] = (__u8)(0xC0 | to >> 8);
			m->b[at + 1] = (__u8)to;
		}
	} else if (kind < 15) {	/* cut */
		m->len = next_rand() % (m->len + 1);
	} else {		/* a count */
		m->b[4 + 2 * (next_rand() % 4) + 1] = (__u8)(next_rand() % 8);
	}
}

/* ================= comparing ================= */

static int reported, ref_reason;
static const struct frame_opts *run_opts;

__attribute__((format(printf, 3, 4)))
static void mismatch(int iter, const struct dnsmsg *m, const char *fmt, ...)
{
	char why[256];
	va_list ap;
	__u32 i;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (reported++ >= 5)
		return;
	/* run it again, counting, to say what the program made of it */
	F.skip_counters = false;
	lfx_run_dns(&F, m, run_opts);
	F.skip_counters = true;
	EXPECT(false, "iteration %d: %s (program again: %s; reference: %s)", iter, why,
	       lfx_reason_name(lfx_reason(&F)), cs_reason_name((__u32)ref_reason));
	printf("    message (%u octets):", m->len);
	for (i = 0; i < m->len; i++)
		printf("%s%02x", i % 32 ? " " : "\n    ", m->b[i]);
	printf("\n");
}

static bool in_message(const struct dnsmsg *m, const struct cs_addr *a)
{
	const __u8 *p = v4_mapped(a) ? a->b + 12 : a->b;
	__u32 n = v4_mapped(a) ? 4 : 16;

	return m->len >= n && memmem(m->b, m->len, p, n) != NULL;
}

/* Names from mutated messages hold any octet: escape them for the log. */
static const char *vis(const char *s, char *buf)
{
	char *o = buf;

	for (; *s && o < buf + 4 * CS_NAME_TEXT_MAX - 5; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c >= 0x7f || c == '\\')
			o += sprintf(o, "\\x%02x", c);
		else
			*o++ = (char)c;
	}
	*o = 0;
	return buf;
}

static void compare_events(int iter, const struct dnsmsg *m)
{
	static char v[4][4 * CS_NAME_TEXT_MAX];

	int i;

	if (F.n_ev != ref.n_ev) {
		mismatch(iter, m, "%d events, reference %d", F.n_ev, ref.n_ev);
		return;
	}
	for (i = 0; i < F.n_ev; i++) {
		const struct cs_learn_event *e = &F.ev[i];
		const struct ref_event *r = &ref.ev[i];

		if (!in_message(m, &e->addr))
			mismatch(iter, m, "event %d: learned an address not in the message", i);
		if (e->type != r->type || memcmp(&e->addr, &r->addr, sizeof(r->addr)) ||
		    strcmp(e->name.text, r->name) || strcmp(e->qname.text, ref.qname) ||
		    e->ttl != r->ttl || e->rule_id != r->rule || e->pattern_id != r->pattern ||
		    e->acl_id != r->acl)
			mismatch(iter, m,
				 "event %d: type %u name \"%s\" q \"%s\" ttl %u rule %u/%u acl %u; reference "
				 "type %u name \"%s\" q \"%s\" ttl %u rule %u/%u acl %u", i, e->type,
				 vis(e->name.text, v[0]), vis(e->qname.text, v[1]), e->ttl, e->rule_id,
				 e->pattern_id, e->acl_id,
				 r->type, vis(r->name, v[2]), vis(ref.qname, v[3]), r->ttl, r->rule,
				 r->pattern, r->acl);
	}
}

static void compare_counters(void)
{
	__u64 got[CS_R_MAX];
	int i;

	if (!EXPECT(lfx_counters(&F, got), "reading counters"))
		return;
	for (i = 1; i < CS_R_MAX; i++)
		EXPECT(got[i] == ref.counts[i], "%s: %llu, reference %llu",
		       cs_reason_name((__u32)i) ? cs_reason_name((__u32)i) : "?",
		       (unsigned long long)got[i], (unsigned long long)ref.counts[i]);
}

/* ================= the case ================= */

static void mutations_agree_with_reference(void)
{
	static const struct frame_opts udp4 = { 0 }, tcp6 = { .ipv6 = true, .tcp = true };
	static struct dnsmsg base[N_BASES], m;
	int iter, k, n;
	size_t b;

	const char *env_n = getenv("CS_FUZZ_ITERATIONS"), *env_seed = getenv("CS_FUZZ_SEED");
	int iterations = env_n ? atoi(env_n) : ITERATIONS;

	rng = env_seed ? (__u32)strtoul(env_seed, NULL, 0) : SEED;
	if (!rng)
		rng = SEED;
	for (b = 0; b < N_BASES; b++)
		bases[b](&base[b]);
	memset(&ref, 0, sizeof(ref));
	ref.next_acl = 1;
	F.skip_counters = true;
	for (iter = 0; iter < iterations && reported < 5; iter++) {
		m = base[iter % N_BASES];
		n = 1 + (int)(next_rand() % 4);
		for (k = 0; k < n; k++)
			mutate_once(&m);
		ref_reason = ref_learn(m.b, m.len);
		ref.counts[ref_reason]++;
		run_opts = iter % 8 ? &udp4 : &tcp6;
		if (!lfx_run_dns(&F, &m, run_opts)) {
			mismatch(iter, &m, "the run failed");
			continue;
		}
		compare_events(iter, &m);
	}
	if (reported)
		return;
	compare_counters();
	EXPECT(lfx_records(&F) == (int)ref.n_records, "%d records, reference %u", lfx_records(&F),
	       ref.n_records);
}

/* The unmutated answers first: the reference must learn from them, or the
 * fuzz would compare nothing with nothing. */
static void reference_learns_the_bases(void)
{
	static struct dnsmsg m;
	size_t b;

	memset(&ref, 0, sizeof(ref));
	ref.next_acl = 1;
	for (b = 0; b < N_BASES; b++) {
		bases[b](&m);
		ref_reason = ref_learn(m.b, m.len);
		EXPECT(ref_reason == CS_R_LEARNED && ref.n_ev > 0, "base %zu: the reference learns nothing", b);
		if (lfx_run_dns(&F, &m, NULL))
			compare_events(-1 - (int)b, &m);
	}
}

int main(void)
{
	static const struct lfx_case cases[] = {
		{ "reference_learns_the_bases", reference_learns_the_bases, CONF, ACL_IDS },
		{ "mutations_agree_with_reference", mutations_agree_with_reference, CONF, ACL_IDS },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		lfx_run_case(&F, &cases[i]);
	T_EXIT();
}
