// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* refdns.c - the reference learner (refdns.h). Written for plainness, not
 * speed: names are read into arrays of labels and compared label by label. */
#include <stdlib.h>
#include <string.h>

#include "refdns.h"
#include "lib/rules.h"
#include "namehash.h"

#define DT_A 1
#define DT_CNAME 5
#define DT_AAAA 28
#define DC_IN 1
#define F_QR 0x8000
#define F_OPCODE 0x7800
#define F_TC 0x0200
#define F_RCODE 0x000F
#define HDR_LEN 12
#define REF_STOP (-1)	/* a walk that ends quietly: a TC=1 answer cut short */

struct ref_name {
	int labels;
	__u8 len[CS_LABELS_MAX];
	__u8 lab[CS_LABELS_MAX][CS_LABEL_MAX];	/* lower case */
	__u32 end;		/* first octet after the name where it was read */
};

struct ref_match {
	__u32 score, rule, pattern;
};

/* An A/AAAA record owned by a chain name, waiting for the rule. */
struct ref_addr {
	__u32 rdata, ttl, type;
	int chain;
};

/* The walk of one message. */
struct refdns_walk {
	const __u8 *m;
	__u32 len, pos;
	bool tc;
	int nchain;
	struct ref_name chain[CS_CHAIN_MAX];
	__u32 chain_off[CS_CHAIN_MAX];
	struct ref_match best;
	struct ref_addr addr[CS_ADDRS_MAX];
	int naddrs;
	bool capped;			/* the walk stopped at max_records */
	struct ref_name scratch;	/* an owner or a CNAME target being read */
};

static __u16 rd16(const __u8 *p) { return (__u16)(p[0] << 8 | p[1]); }
static __u32 rd32(const __u8 *p) { return (__u32)rd16(p) << 16 | rd16(p + 2); }

/* ================= below DNS: Ethernet to the message ================= */

#define ETH_LEN 14
#define VLAN_LEN 4

/* The ethertype after up to CS_VLAN_MAX tags and where the IP header
 * starts, or 0 when the headers are cut. */
static __u16 ref_ethertype(const __u8 *f, __u32 len, __u32 *at)
{
	__u16 type;
	int tags;

	if (len < ETH_LEN)
		return 0;
	type = rd16(f + 12);
	*at = ETH_LEN;
	for (tags = 0; tags < CS_VLAN_MAX && (type == 0x8100 || type == 0x88A8); tags++) {
		if (*at + VLAN_LEN > len)
			return 0;
		type = rd16(f + *at + 2);
		*at += VLAN_LEN;
	}
	return type;
}

/* IPv4: the protocol, *at past the header (options included), *l4_len what
 * the total length leaves for the transport; or -reason. */
static int ref_ipv4(const __u8 *f, __u32 len, __u32 *at, __u32 *l4_len, struct cs_addr *src)
{
	const __u8 *ip = f + *at;
	__u32 hlen, total;

	if (*at + 20 > len)
		return -CS_R_TRUNCATED;
	hlen = (ip[0] & 0x0F) * 4u;
	total = rd16(ip + 2);
	if (hlen < 20 || total < hlen || *at + hlen > len)
		return -CS_R_TRUNCATED;
	if (rd16(ip + 6) & 0x3FFF)	/* MF, or a fragment offset */
		return -CS_R_FRAGMENT;
	memset(src, 0, sizeof(*src));
	src->b[10] = src->b[11] = 0xff;
	memcpy(src->b + 12, ip + 12, 4);
	*at += hlen;
	*l4_len = total - hlen;
	return ip[9];
}

/* IPv6 and up to CS_IPV6_EXT_MAX hop-by-hop, routing or destination
 * options headers; a fragment header means a fragment. */
static int ref_ipv6(const __u8 *f, __u32 len, __u32 *at, __u32 *l4_len, struct cs_addr *src)
{
	__u32 payload, ext_len;
	__u8 next;
	int i;

	if (*at + 40 > len)
		return -CS_R_TRUNCATED;
	payload = rd16(f + *at + 4);
	next = f[*at + 6];
	memcpy(src->b, f + *at + 8, 16);
	*at += 40;
	for (i = 0; i < CS_IPV6_EXT_MAX; i++) {
		if (next == 44)
			return -CS_R_FRAGMENT;
		if (next != 0 && next != 43 && next != 60)
			break;
		if (*at + 2 > len)
			return -CS_R_TRUNCATED;
		ext_len = (f[*at + 1] + 1u) * 8;
		if (ext_len > payload || *at + ext_len > len)
			return -CS_R_TRUNCATED;
		payload -= ext_len;
		next = f[*at];
		*at += ext_len;
	}
	*l4_len = payload;
	return next;
}

static int ref_udp(const __u8 *f, __u32 len, __u32 *at, __u32 l4_len, __u32 *msg_len)
{
	__u32 ulen;

	if (*at + 8 > len)
		return CS_R_TRUNCATED;
	if (rd16(f + *at) != CS_DNS_PORT)
		return CS_R_NOT_DNS;
	ulen = rd16(f + *at + 4);
	if (ulen < 8 || ulen > l4_len)
		return CS_R_TRUNCATED;
	*at += 8;
	*msg_len = ulen - 8;
	return 0;
}

/* One whole length-prefixed message in the segment, or it is left alone. */
static int ref_tcp(const __u8 *f, __u32 len, __u32 *at, __u32 l4_len, __u32 *msg_len)
{
	__u32 hlen, payload;

	if (*at + 20 > len)
		return CS_R_TRUNCATED;
	if (rd16(f + *at) != CS_DNS_PORT)
		return CS_R_NOT_DNS;
	hlen = (f[*at + 12] >> 4) * 4u;
	if (hlen < 20 || hlen > l4_len || *at + hlen > len)
		return CS_R_TRUNCATED;
	*at += hlen;
	payload = l4_len - hlen;
	if (!payload)
		return CS_R_NOT_DNS;	/* an ACK or FIN */
	if (payload < 2 || *at + 2 > len)
		return CS_R_TCP_PARTIAL;
	*msg_len = rd16(f + *at);
	*at += 2;
	if (*msg_len + 2 != payload)
		return CS_R_TCP_PARTIAL;
	return 0;
}

int refdns_locate(const __u8 *f, __u32 len, struct refdns_loc *loc)
{
	__u32 at = 0, l4_len = 0;
	__u16 type = ref_ethertype(f, len, &at);
	int proto, r;

	memset(loc, 0, sizeof(*loc));
	if (type == 0x0800)
		proto = ref_ipv4(f, len, &at, &l4_len, &loc->src);
	else if (type == 0x86DD)
		proto = ref_ipv6(f, len, &at, &l4_len, &loc->src);
	else
		return CS_R_NOT_IP;
	if (proto < 0)
		return -proto;
	if (proto == 17)
		r = ref_udp(f, len, &at, l4_len, &loc->len);
	else if (proto == 6)
		r = ref_tcp(f, len, &at, l4_len, &loc->len);
	else
		return CS_R_NOT_DNS;
	if (r)
		return r;
	if (at + loc->len > len)
		return CS_R_TRUNCATED;
	loc->off = at;
	return 0;
}

/* ================= names ================= */

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

static __u64 ref_id(const struct refdns *r, const struct ref_name *n)
{
	__u64 s = cs_suffix_seed(r->key);
	int i;

	for (i = n->labels - 1; i >= 0; i--)
		s = cs_suffix_fold(s, cs_text_label_hash(r->key, (const char *)n->lab[i], n->len[i]));
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

/* The most specific pattern for n: deeper first, then exact, wild, subtree. */
static struct ref_match ref_best_pattern(const struct refdns *r, const struct ref_name *n)
{
	struct ref_match best = { 0, 0, 0 };
	size_t p;

	for (p = 0; p < r->rules->n_patterns; p++) {
		const struct refdns_pattern *pt = &r->rules->patterns[p];
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

/* ================= the tables ================= */

#define TABLE_MIN 64

static __u64 addr_hash(const struct cs_addr *a)
{
	__u64 x, y;

	memcpy(&x, a->b, 8);
	memcpy(&y, a->b + 8, 8);
	return cs_mix64(x ^ (y * 0x9e3779b97f4a7c15ULL));
}

static struct refdns_record *rec_slot(struct refdns_record *t, __u32 cap, __u64 id, const struct cs_addr *a)
{
	__u32 i = (__u32)(cs_mix64(id) ^ addr_hash(a)) & (cap - 1);

	for (;; i = (i + 1) & (cap - 1))
		if (!t[i].used || (t[i].id == id && !memcmp(&t[i].addr, a, sizeof(*a))))
			return &t[i];
}

static struct refdns_route *route_slot(struct refdns_route *t, __u32 cap, const struct cs_addr *a)
{
	__u32 i = (__u32)addr_hash(a) & (cap - 1);

	for (;; i = (i + 1) & (cap - 1))
		if (!t[i].used || !memcmp(&t[i].addr, a, sizeof(*a)))
			return &t[i];
}

/* Keep both tables at most half full, so a probe always ends. */
static bool grow_records(struct refdns *r)
{
	__u32 cap = r->rec_cap * 2, i;
	struct refdns_record *t = calloc(cap, sizeof(*t));

	if (!t)
		return false;
	for (i = 0; i < r->rec_cap; i++)
		if (r->rec[i].used)
			*rec_slot(t, cap, r->rec[i].id, &r->rec[i].addr) = r->rec[i];
	free(r->rec);
	r->rec = t;
	r->rec_cap = cap;
	return true;
}

static bool grow_routes(struct refdns *r)
{
	__u32 cap = r->route_cap * 2, i;
	struct refdns_route *t = calloc(cap, sizeof(*t));

	if (!t)
		return false;
	for (i = 0; i < r->route_cap; i++)
		if (r->route[i].used)
			*route_slot(t, cap, &r->route[i].addr) = r->route[i];
	free(r->route);
	r->route = t;
	r->route_cap = cap;
	return true;
}

const struct refdns_record *refdns_record(const struct refdns *r, __u64 id, const struct cs_addr *a)
{
	const struct refdns_record *s = rec_slot(r->rec, r->rec_cap, id, a);

	return s->used ? s : NULL;
}

const struct refdns_route *refdns_route(const struct refdns *r, const struct cs_addr *a)
{
	const struct refdns_route *s = route_slot(r->route, r->route_cap, a);

	return s->used ? s : NULL;
}

/* The pool of free ACL ids: a FIFO queue, as cs_acl_pool is. */
static void pool_fill(struct refdns *r)
{
	__u32 i;

	r->pool_head = 0;
	r->pool_len = r->rules->acl_ids;
	for (i = 0; i < r->pool_len; i++)
		r->pool[i] = i + 1;
}

static __u32 pool_pop(struct refdns *r)
{
	__u32 id;

	if (!r->pool_len)
		return 0;
	id = r->pool[r->pool_head];
	r->pool_head = (r->pool_head + 1) % CS_ACL_POOL_ENTRIES;
	r->pool_len--;
	return id;
}

static void pool_push(struct refdns *r, __u32 id)
{
	r->pool[(r->pool_head + r->pool_len++) % CS_ACL_POOL_ENTRIES] = id;
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

/* The route's ACL id. A new route takes the next free id, or none (counted)
 * when the pool is empty; when the route table is full the id goes back
 * to the pool and no route is made (counted). An address that is never
 * steered gets no route (and id 0), counted by its kind. */
static __u32 ref_make_route(struct refdns *r, const struct cs_addr *a)
{
	struct refdns_route *s;
	__u32 acl, never;

	if (2 * (r->n_routes + 1) > r->route_cap && !grow_routes(r))
		abort();
	s = route_slot(r->route, r->route_cap, a);
	if (s->used)
		return s->acl;
	never = ref_never(a);
	if (never) {
		r->counts[CS_R_NEVER_LOOPBACK + never - CS_NEVER_LOOPBACK]++;
		return 0;
	}
	acl = pool_pop(r);
	if (!acl)
		r->counts[CS_R_ACL_EMPTY]++;
	if (r->rules->routes_max && r->n_routes >= r->rules->routes_max) {
		if (acl)
			pool_push(r, acl);
		r->counts[CS_R_ROUTE_FULL]++;
		return 0;
	}
	s->used = 1;
	s->addr = *a;
	s->acl = acl;
	r->n_routes++;
	return acl;
}

bool refdns_init(struct refdns *r, const struct refdns_rules *rules, const __u64 key[2])
{
	memset(r, 0, sizeof(*r));
	r->rules = rules;
	r->key[0] = key[0];
	r->key[1] = key[1];
	r->rec_cap = r->route_cap = TABLE_MIN;
	r->rec = calloc(r->rec_cap, sizeof(*r->rec));
	r->route = calloc(r->route_cap, sizeof(*r->route));
	r->walk = calloc(1, sizeof(*r->walk));
	r->pool = calloc(CS_ACL_POOL_ENTRIES, sizeof(*r->pool));
	if (!r->rec || !r->route || !r->walk || !r->pool) {
		refdns_free(r);
		return false;
	}
	pool_fill(r);
	return true;
}

void refdns_free(struct refdns *r)
{
	free(r->rec);
	free(r->route);
	free(r->walk);
	free(r->pool);
	r->rec = NULL;
	r->route = NULL;
	r->walk = NULL;
	r->pool = NULL;
}

void refdns_reset(struct refdns *r)
{
	memset(r->rec, 0, r->rec_cap * sizeof(*r->rec));
	memset(r->route, 0, r->route_cap * sizeof(*r->route));
	memset(r->counts, 0, sizeof(r->counts));
	r->n_records = r->n_routes = 0;
	pool_fill(r);
	r->n_ev = 0;
	r->n_chain = 0;
	r->qname[0] = 0;
	r->repeat.valid = false;
}

/* ================= the answer walk ================= */

static void ref_chain_add(struct refdns *r, const struct ref_name *n, __u32 off)
{
	struct refdns_walk *w = r->walk;
	struct ref_match m = ref_best_pattern(r, n);

	w->chain[w->nchain] = *n;
	w->chain_off[w->nchain++] = off;
	ref_text(n, r->chain[r->n_chain++]);
	/* strictly greater: on a tie the name nearer the question keeps it */
	if (m.score > w->best.score)
		w->best = m;
}

/* Which chain name owns the record at w->pos: an index, -2 for none, or a
 * reason in *err. A bare pointer to a chain name's offset is that name. */
static int ref_owner(struct refdns_walk *w, int *err)
{
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
	*err = ref_read_name(w->m, w->len, w->pos, &w->scratch);
	if (*err)
		return -2;
	w->pos = w->scratch.end;
	for (i = 0; i < w->nchain; i++)
		if (ref_same_name(&w->chain[i], &w->scratch))
			return i;
	return -2;
}

static int ref_cut(const struct refdns_walk *w, int err)
{
	return err == CS_R_BAD_RECORD && w->tc ? REF_STOP : err;
}

static int ref_cname(struct refdns *r, __u32 rdata, __u32 next)
{
	struct refdns_walk *w = r->walk;
	int err;

	if (w->nchain >= CS_CHAIN_MAX) {
		r->counts[CS_R_REC_CHAIN_LONG]++;
		return 0;
	}
	err = ref_read_name(w->m, w->len, rdata, &w->scratch);
	if (err)
		return ref_cut(w, err);
	if (w->scratch.end != next)
		return CS_R_BAD_RECORD;
	ref_chain_add(r, &w->scratch, rdata);
	return 0;
}

static int ref_record_walk(struct refdns *r)
{
	struct refdns_walk *w = r->walk;
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
	if (klass == DC_IN && (type == DT_A || type == DT_AAAA || type == DT_CNAME)) {
		if (owner < 0) {
			r->counts[CS_R_REC_OFF_CHAIN]++;
		} else if (type == DT_CNAME) {
			err = ref_cname(r, rdata, next);
			if (err)
				return err;
		} else {
			if (rdlen != (type == DT_A ? 4u : 16u))
				return CS_R_BAD_RECORD;
			if (w->naddrs < CS_ADDRS_MAX)
				w->addr[w->naddrs++] = (struct ref_addr){ rdata, rd32(w->m + w->pos + 4),
									  type, owner };
			else
				r->counts[CS_R_REC_CAPPED]++;
		}
	}
	w->pos = next;
	return 0;
}

static void ref_addr_of(const struct refdns_walk *w, const struct ref_addr *a, struct cs_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (a->type == DT_A) {
		out->b[10] = out->b[11] = 0xff;
		memcpy(out->b + 12, w->m + a->rdata, 4);
	} else {
		memcpy(out->b, w->m + a->rdata, 16);
	}
}

bool refdns_v4_mapped(const struct cs_addr *a)
{
	static const __u8 pfx[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return !memcmp(a->b, pfx, 12);
}

/* TTL with the top bit set counts as 0 (RFC 2181 section 8), then clamps. */
static __u32 ref_ttl(const struct refdns_ttl *t, __u32 wire)
{
	__u32 ttl = wire & 0x80000000u ? 0 : wire;

	ttl = ttl < t->min ? t->min : ttl;
	return ttl > t->max ? t->max : ttl;
}

/* The ACL id of the route for a record's address. A new record makes the
 * route; a known one makes it only when the answer's rule is another than
 * the record's (the route hears of the new claim), and otherwise only reads
 * it: a route the full table kept out stays out. */
static __u32 ref_route_of(struct refdns *r, const struct refdns_record *rec, bool found,
			  const struct cs_addr *a)
{
	const struct refdns_route *rt;

	if (!found || rec->rule != r->walk->best.rule || rec->pattern != r->walk->best.pattern)
		return ref_make_route(r, a);
	rt = refdns_route(r, a);
	return rt ? rt->acl : 0;
}

struct ref_tally {
	int learned, refreshed, failed;
};

/* Create or refresh the record for one address; its event in r->ev. A new
 * record that the full table keeps out has neither route nor event. */
static void ref_store_one(struct refdns *r, const struct ref_addr *a, struct ref_tally *t)
{
	struct refdns_walk *w = r->walk;
	const struct refdns_ttl *ttl = &r->rules->ttl[w->best.rule];
	struct refdns_event *e = &r->ev[r->n_ev];
	__u64 id = ref_id(r, &w->chain[a->chain]), expires;
	struct refdns_record *rec;
	bool found;

	memset(e, 0, sizeof(*e));
	ref_addr_of(w, a, &e->addr);
	if (a->type == DT_AAAA && refdns_v4_mapped(&e->addr)) {
		r->counts[CS_R_REC_BAD_ADDR]++;
		return;
	}
	e->ttl = ref_ttl(ttl, a->ttl);
	expires = r->now_ns + ((__u64)e->ttl + ttl->grace) * 1000000000ULL;
	ref_text(&w->chain[a->chain], e->name);
	if (2 * (r->n_records + 1) > r->rec_cap && !grow_records(r))
		abort();
	rec = rec_slot(r->rec, r->rec_cap, id, &e->addr);
	found = rec->used;
	if (!found && r->rules->records_max && r->n_records >= r->rules->records_max) {
		r->counts[CS_R_TABLE_FULL]++;
		t->failed++;
		return;
	}
	if (!found) {
		*rec = (struct refdns_record){ .id = id, .addr = e->addr, .used = 1 };
		r->n_records++;
	}
	e->type = found ? CS_EV_RECORD_REFRESH : CS_EV_RECORD_NEW;
	r->counts[found ? CS_R_REC_REFRESHED : CS_R_REC_LEARNED]++;
	t->refreshed += found;
	t->learned += !found;
	e->acl = ref_route_of(r, rec, found, &e->addr);
	/* a known record takes this answer's rule and TTL, as a new one does;
	 * its expiry is never shortened. An expired one is revived the same
	 * way (the program replaces the element rather than writing in place,
	 * which no single run can tell apart): it keeps its first sighting and
	 * its hits */
	rec->rule = w->best.rule;
	rec->pattern = w->best.pattern;
	rec->ttl = e->ttl;
	rec->hits++;
	if (expires > rec->expires_ns)
		rec->expires_ns = expires;
	e->rule = rec->rule;
	e->pattern = rec->pattern;
	r->n_ev++;
}

/* Step 3: records for every address, under the best rule. */
static int ref_store(struct refdns *r)
{
	struct ref_tally t = { 0 };
	int i;

	for (i = 0; i < r->walk->naddrs; i++)
		ref_store_one(r, &r->walk->addr[i], &t);
	r->refreshed = (__u32)t.refreshed;
	if (t.learned)
		return CS_R_LEARNED;
	if (t.refreshed)
		return CS_R_REFRESHED;
	return t.failed ? CS_R_NOT_STORED : CS_R_NO_ADDRESS;
}

/* ================= repeated answers ================= */

/* The same octets but the ID, within a second of an answer that created
 * nothing: its outcome is counted again and no record is touched. An
 * answer cut at max_records counts as cut again (rec_capped counts every
 * cut answer). */
static bool ref_reuse(struct refdns *r, const __u8 *m, __u32 len)
{
	const struct refdns_repeat *p = &r->repeat;

	if (!r->reuse_repeats || !p->valid || p->len != len || r->now_ns >= p->until_ns ||
	    memcmp(p->msg + 2, m + 2, len - 2))
		return false;
	r->reused = true;
	r->counts[CS_R_REPEATS]++;
	r->counts[CS_R_REC_REFRESHED] += p->refreshed;
	r->counts[CS_R_REC_CAPPED] += p->capped;
	return true;
}

static bool ref_reusable(int reason)
{
	return reason == CS_R_REFRESHED || reason == CS_R_NO_RULE || reason == CS_R_NO_ADDRESS;
}

static void ref_remember(struct refdns *r, const __u8 *m, __u32 len)
{
	struct refdns_repeat *p = &r->repeat;

	if (!r->reuse_repeats || r->reused || !ref_reusable(r->reason))
		return;
	memcpy(p->msg, m, len);
	p->len = len;
	p->until_ns = r->now_ns + 1000000000ULL;
	p->reason = r->reason;
	p->refreshed = r->refreshed;
	p->capped = r->walk->capped;
	p->valid = true;
}

/* ================= a message ================= */

/* The header checks, then the walk; the packet reason. */
static int ref_learn_message(struct refdns *r, const __u8 *m, __u32 len)
{
	struct refdns_walk *w = r->walk;
	__u32 flags, ancount, i;
	int err;

	if (len > CS_MSG_MAX)
		return CS_R_TOO_BIG;
	if (len < HDR_LEN)
		return CS_R_TRUNCATED;
	flags = rd16(m + 2);
	if (!(flags & F_QR))
		return CS_R_NOT_RESPONSE;
	if (flags & F_OPCODE)
		return CS_R_BAD_OPCODE;
	if (flags & F_RCODE)
		return CS_R_RCODE;
	if (rd16(m + 4) != 1)
		return CS_R_QDCOUNT;
	ancount = rd16(m + 6);
	if (!ancount)
		return CS_R_NO_ANSWER;
	if (ref_reuse(r, m, len))
		return r->repeat.reason;
	memset(w, 0, sizeof(*w));
	w->m = m;
	w->len = len;
	w->tc = flags & F_TC;
	err = ref_read_name(m, len, HDR_LEN, &w->scratch);
	if (err)
		return err;
	w->pos = w->scratch.end + 4;	/* QTYPE, QCLASS */
	if (w->pos > len)
		return CS_R_BAD_RECORD;
	ref_text(&w->scratch, r->qname);
	ref_chain_add(r, &w->scratch, HDR_LEN);
	for (i = 0; i < ancount && i < CS_RECORDS_MAX; i++) {
		if (i >= r->rules->max_records) {
			r->counts[CS_R_REC_CAPPED]++;
			w->capped = true;
			break;
		}
		err = ref_record_walk(r);
		if (err == REF_STOP)
			break;
		if (err)
			return err;
	}
	if (!w->best.pattern)
		return CS_R_NO_RULE;
	if (!w->naddrs)
		return CS_R_NO_ADDRESS;
	return ref_store(r);
}

static void ref_begin(struct refdns *r)
{
	r->reused = false;
	r->refreshed = 0;
	r->n_ev = 0;
	r->n_chain = 0;
	r->qname[0] = 0;
}

int refdns_learn(struct refdns *r, const __u8 *msg, __u32 len)
{
	ref_begin(r);
	r->reason = ref_learn_message(r, msg, len);
	r->counts[r->reason]++;
	ref_remember(r, msg, len);
	return r->reason;
}

static bool ref_from_resolver(const struct refdns *r, const struct cs_addr *src)
{
	size_t i;

	for (i = 0; i < r->rules->n_resolvers; i++)
		if (!memcmp(&r->rules->resolvers[i], src, sizeof(*src)))
			return true;
	return !r->rules->n_resolvers;
}

int refdns_learn_frame(struct refdns *r, const __u8 *frame, __u32 len)
{
	struct refdns_loc loc;
	int reason = refdns_locate(frame, len, &loc);

	if (!reason && !ref_from_resolver(r, &loc.src))
		reason = CS_R_NOT_RESOLVER;
	if (!reason)
		return refdns_learn(r, frame + loc.off, loc.len);
	ref_begin(r);
	r->reason = reason;
	r->counts[reason]++;
	return reason;
}
