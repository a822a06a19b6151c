// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * learn - XDP: learn the IPs of configured domains from the DNS answers that
 * pass, into the cloud IP table (cs_records) and the policy routes (cs_routes).
 *
 * It never drops or changes a packet: every path ends in XDP_PASS, and every
 * packet is counted under exactly one packet reason (cloudsteer.h).
 *
 * One response is handled in three steps:
 *   1. locate the DNS message (dns.h, over packet.h) and copy it into
 *      per-CPU scratch;
 *   2. walk the answer section once, growing the validated chain (question
 *      name, then CNAME targets whose owner is already on the chain) and
 *      collecting A/AAAA records owned by chain names; every chain name is
 *      matched against the rules and the most specific match wins;
 *   3. if a rule matched, upsert a record and a route for each address.
 *
 * With query matching on (CS_CFG_QUERIES), an answer teaches only in place
 * of a query that the query program (TC egress, below) saw leave: same
 * client address and port, server, DNS id and protocol, within the window,
 * and the same question. The answer consumes the query.
 */
#include "lib/common.h"
#include "lib/packet.h"
#include "lib/shared_maps.h"
#include "lib/learn_maps.h"
#include "lib/dns.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by replay before load: also report refreshed records as events (and
 * so never reuse the outcome of a repeated answer). */
const volatile bool report_refresh = false;

/* Reuse the outcome of an answer repeated within a second (cs_repeats).
 * Cleared only to measure the full walk. */
const volatile bool reuse_repeats = true;

/* Set by the daemon before load when it is a gateway of a cluster: report a
 * refresh that moves a record's expiry past what the cluster knows of it
 * (CS_EV_RECORD_EXTENDED), so the daemon publishes it (cloudsteer.h,
 * CS_SHARE_STEP_MIN_S), and wake the daemon for every batch of events
 * (cs_emit). Off, the verifier drops the code. */
const volatile bool report_extended = false;

/* Count a packet or record outcome (enum cs_reason), per CPU. */
static __always_inline void cs_count_n(__u32 reason, __u64 howmany)
{
	__u64 *n = bpf_map_lookup_elem(&cs_learn_stats, &reason);

	if (n)
		*n += howmany;
}

static __always_inline void cs_count(__u32 reason)
{
	cs_count_n(reason, 1);
}

static __always_inline int cs_chain_find_id(const struct cs_scratch *s, __u32 nchain, __u64 id)
{
	int i;

#pragma unroll
	for (i = 0; i < CS_CHAIN_MAX; i++)
		if (i < nchain && s->chain[i].id == id)
			return i;
	return -1;
}

static __always_inline int cs_chain_find_off(const struct cs_scratch *s, __u32 nchain, __u32 off)
{
	int i;

#pragma unroll
	for (i = 0; i < CS_CHAIN_MAX; i++)
		if (i < nchain && s->chain[i].wire_off == off)
			return i;
	return -1;
}

static __always_inline void cs_chain_add(struct cs_scratch *s, struct cs_walk_state *w, __u32 off)
{
	__u32 i = w->nchain;

	if (i >= CS_CHAIN_MAX)
		return;
	s->chain[i].id = s->name.id;
	s->chain[i].wire_off = off;
	w->nchain = i + 1;
	/* strictly greater: on a tie the name nearer the question keeps it */
	if (s->name.score > w->best_score) {
		w->best_score = s->name.score;
		w->best = s->name.match;
	}
}

/* Which chain name owns the record at w->pos; -1 if none. Most owners are a
 * bare pointer to a name already on the chain, found without hashing. */
static __always_inline int cs_owner(struct cs_scratch *s, struct cs_walk_state *w, int *err)
{
	__u8 c = cs_msg8(s, w->pos);
	int idx, r;

	if ((c & 0xC0) == 0xC0 && w->pos + 1 < s->msg_len) {
		__u32 target = ((__u32)(c & 0x3F) << 8) | cs_msg8(s, w->pos + 1);

		idx = cs_chain_find_off(s, w->nchain, target);
		if (idx >= 0) {
			w->pos += 2;
			return idx;
		}
	}
	r = cs_name_walk(s, w->pos, 0);
	if (r) {
		*err = r;
		return -1;
	}
	w->pos = s->name.end;
	return cs_chain_find_id(s, w->nchain, s->name.id);
}

/* cs_walk_record: stop walking without error (a TC answer cut short). */
#define CS_WALK_STOP (CS_R_MAX + 1)

/* One answer record: 0 to go on, CS_WALK_STOP, or a reason. */
static __always_inline int cs_walk_record(struct cs_scratch *s, struct cs_walk_state *w)
{
	__u32 rdata, rdlen, next, type, klass;
	int owner, err = 0;

	owner = cs_owner(s, w, &err);
	if (err)
		return (err == CS_R_BAD_RECORD && w->truncated_ok) ? CS_WALK_STOP : err;
	if (w->pos + 10 > s->msg_len)
		return w->truncated_ok ? CS_WALK_STOP : CS_R_BAD_RECORD;
	type = cs_msg16(s, w->pos);
	klass = cs_msg16(s, w->pos + 2);
	rdlen = cs_msg16(s, w->pos + 8);
	rdata = w->pos + 10;
	next = rdata + rdlen;
	if (next > s->msg_len)
		return w->truncated_ok ? CS_WALK_STOP : CS_R_BAD_RECORD;

	if (klass == DNS_C_IN && (type == DNS_T_A || type == DNS_T_AAAA || type == DNS_T_CNAME)) {
		if (owner < 0) {
			cs_count(CS_R_REC_OFF_CHAIN);
		} else if (type == DNS_T_CNAME) {
			if (w->nchain >= CS_CHAIN_MAX) {
				cs_count(CS_R_REC_CHAIN_LONG);
			} else {
				err = cs_name_walk(s, rdata, 1);
				if (err)
					return err == CS_R_BAD_RECORD && w->truncated_ok ? CS_WALK_STOP : err;
				if (s->name.end != next)
					return CS_R_BAD_RECORD;
				cs_chain_add(s, w, rdata);
			}
		} else {
			if (rdlen != (type == DNS_T_A ? 4 : 16))
				return CS_R_BAD_RECORD;
			if (w->naddrs < CS_ADDRS_MAX) {
				struct cs_addr_rec *a = &s->addrs[CS_MASK(w->naddrs, CS_ADDRS_MAX)];

				a->rdata_off = rdata;
				a->ttl = cs_msg32(s, w->pos + 4);
				a->type = type;
				a->chain_idx = owner;
				w->naddrs++;
			} else {
				cs_count(CS_R_REC_CAPPED);
			}
		}
	}
	w->pos = next;
	return 0;
}

static __always_inline void cs_read_addr(const struct cs_scratch *s, const struct cs_addr_rec *a,
					 struct cs_addr *out)
{
	const __u8 *rdata = &s->msg[CS_MASK(a->rdata_off, CS_MSG_MAX)];	/* msg has slack */

	if (a->type == DNS_T_A) {
		__builtin_memset(out->b, 0, 10);
		out->b[10] = 0xff;
		out->b[11] = 0xff;
		__builtin_memcpy(&out->b[12], rdata, 4);
	} else {
		__builtin_memcpy(out->b, rdata, 16);
	}
}

/* RFC 2181 section 8: a TTL with the top bit set counts as 0. */
static __always_inline __u32 cs_clamp_ttl(__u32 raw, const struct cs_rule *rule)
{
	__u32 ttl = raw & 0x80000000u ? 0 : raw;

	if (ttl < rule->ttl_min)
		ttl = rule->ttl_min;
	if (ttl > rule->ttl_max)
		ttl = rule->ttl_max;
	return ttl;
}

/* Wake the reader only once this much is waiting: a wakeup is an interrupt
 * (a VM exit under virtualisation), microseconds per event. The daemon polls
 * with a timeout, so a lone event waits at most that long. In a cluster
 * (report_extended) the other gateways wait for this node's new records, so
 * the reader is woken when it has caught up (the ring's own rule: the event
 * is the first after what it consumed): once per batch it reads, never
 * once per event while it is busy. */
#define CS_EVENT_WAKEUP_BYTES (16 * sizeof(struct cs_learn_event))

/* The owner's text is in s->text[CS_TEXT_OWNER]; the question's is made here,
 * once per response, only when an event needs it. */
static __always_inline void cs_emit(struct cs_scratch *s, __u32 type, const struct cs_record *rec,
				    const struct cs_addr *addr, __u32 acl_id)
{
	struct cs_learn_event *e;
	__u64 wake;

	if (!s->walk.qname_text) {
		cs_name_text(s, DNS_HDR_LEN, CS_TEXT_QNAME);
		s->walk.qname_text = 1;
	}
	e = bpf_ringbuf_reserve(&cs_learn_events, sizeof(*e), 0);
	if (!e) {
		cs_count(CS_R_EVENT_LOST);
		return;
	}
	e->ts_ns = rec->last_ns;
	e->type = type;
	e->rule_id = rec->rule_id;
	e->pattern_id = rec->pattern_id;
	e->ttl = rec->ttl;
	e->acl_id = acl_id;
	e->_pad = 0;
	e->addr = *addr;
	__builtin_memcpy(&e->qname, &s->text[CS_TEXT_QNAME], sizeof(e->qname));
	__builtin_memcpy(&e->name, &s->text[CS_TEXT_OWNER], sizeof(e->name));
	if (report_extended)
		wake = 0;
	else
		wake = bpf_ringbuf_query(&cs_learn_events, BPF_RB_AVAIL_DATA) >= CS_EVENT_WAKEUP_BYTES ?
			       BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	bpf_ringbuf_submit(e, wake);
}

/* Is addr under a never-steer prefix? Counts the kind's reason. DNS may
 * name any address (rebinding); these never become routes. */
static __always_inline bool cs_never_steer(struct cs_scratch *s, const struct cs_addr *addr)
{
	struct cs_never_key *key = &s->never_key;	/* in scratch: 6.1 counts every stack octet */
	__u32 *kind;

	key->prefixlen = 128;
	key->addr = *addr;
	kind = bpf_map_lookup_elem(&cs_never, key);
	if (!kind || *kind < CS_NEVER_LOOPBACK || *kind >= CS_NEVER_KINDS)
		return false;
	cs_count(CS_R_NEVER_LOOPBACK + *kind - CS_NEVER_LOOPBACK);
	return true;
}

/* A route for addr, which has none: with an ACL id from the pool, or
 * waiting for one; none for an address that is never steered. r is room
 * for the new value. Returns the route's ACL id (0: none or waiting). */
static __always_inline __u32 cs_make_route(struct cs_scratch *s, const struct cs_addr *addr,
					   const struct cs_record *rec, struct cs_route *r)
{
	struct cs_route *rt;

	if (cs_never_steer(s, addr))
		return 0;
	__builtin_memset(r, 0, sizeof(*r));
	r->created_ns = rec->last_ns;
	r->learned_ns = rec->last_ns;
	r->rule_id = rec->rule_id;
	if (bpf_map_pop_elem(&cs_acl_pool, &r->acl_id)) {
		r->acl_id = 0;
		r->flags = CS_ROUTE_WAIT_ACL;
		cs_count(CS_R_ACL_EMPTY);
	}
	if (bpf_map_update_elem(&cs_routes, addr, r, BPF_NOEXIST)) {
		/* Lost a race with another CPU (the route exists) or the table is
		 * full. Give the id back so none leaks. */
		if (r->acl_id)
			bpf_map_push_elem(&cs_acl_pool, &r->acl_id, 0);
		rt = bpf_map_lookup_elem(&cs_routes, addr);
		if (rt)
			return rt->acl_id;
		cs_count(CS_R_ROUTE_FULL);
		return 0;
	}
	return r->acl_id;
}

/* Does a rule claim an IP that rule held_by holds? A higher priority does;
 * so does any rule against one that is gone. */
static __always_inline bool cs_rule_claims(const struct cs_rule *rule, __u32 held_by)
{
	struct cs_rule *old = bpf_map_lookup_elem(&cs_rules, &held_by);

	return !old || rule->priority > old->priority;
}

/* A new record's IP (or a record that changed rule): the route hears of it,
 * its learned_ns stamp and the priority claim of the record's rule, or is
 * made. The change replaces the element rather than writing through the
 * pointer, so it serializes with the sweep's removal (lookup and delete)
 * under the hash bucket's lock: either the sweep removes the stamped route,
 * sees the stamp and puts it back, or the update finds the route gone and a
 * new one is made. New records are rare: this is not the hot path. */
static __always_inline __u32 cs_upsert_route(struct cs_scratch *s, const struct cs_addr *addr,
					     const struct cs_record *rec, const struct cs_rule *rule)
{
	struct cs_route *rt = bpf_map_lookup_elem(&cs_routes, addr);
	struct cs_route r;

	if (rt) {
		r = *rt;
		r.learned_ns = rec->last_ns;
		if (r.rule_id != rec->rule_id && cs_rule_claims(rule, r.rule_id))
			r.rule_id = rec->rule_id;
		if (!bpf_map_update_elem(&cs_routes, addr, &r, BPF_EXIST))
			return r.acl_id;
		/* the sweep removed it meanwhile: a new route, as for a new IP */
	}
	return cs_make_route(s, addr, rec, &r);
}

/* SKIPPED: the address is not one to learn; FAILED: a table was full. */
enum cs_learn_result {
	CS_STORE_FAILED = 0,
	CS_STORE_NEW = 1,
	CS_STORE_REFRESHED = 2,
	CS_STORE_SKIPPED = 3,
};

/* A record moved from one rule to another: so does its count. */
static __always_inline void cs_quota_move(__u32 from, __u32 to)
{
	struct cs_rule_quota *q = bpf_map_lookup_elem(&cs_rule_quota, &from);

	if (q)
		__sync_fetch_and_add(&q->records, -1);
	q = bpf_map_lookup_elem(&cs_rule_quota, &to);
	if (q)
		__sync_fetch_and_add(&q->records, 1);
}

/* A count taken below zero (learn moved a record the daemon had already
 * taken off) wraps: read as zero, never as full. */
static __always_inline bool cs_quota_full(const struct cs_rule_quota *q)
{
	return q && q->limit && q->records >= q->limit && !(q->records >> 63);
}

/* The expiry the cluster will know once this record is published: seconds
 * of CLOCK_BOOTTIME, rounded up (cs_record.shared_s). */
static __always_inline __u32 cs_shared_s(__u64 expires_ns)
{
	return (__u32)((expires_ns + 999999999ULL) / 1000000000ULL);
}

/* Does rec's expiry now run past what the cluster knows of it by the step
 * (the rule's grace, at least CS_SHARE_STEP_MIN_S)? Then it is reported, and
 * shared_s moves: a busy name is published once a step, not per answer. */
static __always_inline bool cs_share_extension(struct cs_record *rec, const struct cs_rule *rule)
{
	__u64 step = rule->ttl_grace > CS_SHARE_STEP_MIN_S ? rule->ttl_grace : CS_SHARE_STEP_MIN_S;

	if (!report_extended || rec->expires_ns < ((__u64)rec->shared_s + step) * 1000000000ULL)
		return false;
	rec->shared_s = cs_shared_s(rec->expires_ns);
	return true;
}

/* The hot path: a record of this node's own that has not expired, answered
 * under the rule and pattern it has, is refreshed where it lies. Only such a
 * record: the sweep removes one only after it has been expired for
 * CS_EXPIRY_MARGIN_NS, so no removal falls between this check, made against
 * the clock read for this answer, and the stores below (cloudsteer.h says
 * why); and the daemon removes one heard from the cluster whenever etcd says
 * it is gone, so such a record is replaced, which serializes with that
 * removal. False: the record must be replaced instead. */
static __always_inline bool cs_refresh_in_place(struct cs_record *rec, const struct cs_pattern_ref *match,
						__u32 ttl, __u64 expires, __u64 now)
{
	if (rec->expires_ns < now || rec->rule_id != match->rule_id || rec->pattern_id != match->pattern_id ||
	    rec->origin != CS_ORIGIN_LOCAL)
		return false;
	/* never shorten: a client may still hold the longer answer */
	if (expires > rec->expires_ns)
		rec->expires_ns = expires;
	rec->last_ns = now;
	rec->ttl = ttl;
	__sync_fetch_and_add(&rec->hits, 1);
	return true;
}

/* Revive an expired record, move it to the answer's rule and pattern
 * (whose TTL was clamped under that rule), or make one heard from the
 * cluster this node's own: a new element with the answer applied replaces
 * it, so the change serializes with the daemon's removals under the hash
 * bucket's lock; they judge what they removed and put back a record that is
 * alive after all. next gets the new value, and *extended whether the
 * cluster must hear of it. False if the record went meanwhile: the caller
 * makes it anew. */
static __always_inline bool cs_refresh_replacing(const struct cs_record_key *key, const struct cs_record *rec,
						 struct cs_record *next, const struct cs_pattern_ref *match,
						 const struct cs_rule *rule, __u32 ttl, __u64 expires, __u64 now,
						 bool *extended)
{
	*next = *rec;
	if (expires > next->expires_ns)
		next->expires_ns = expires;
	next->last_ns = now;
	next->ttl = ttl;
	next->hits++;
	next->rule_id = match->rule_id;
	next->pattern_id = match->pattern_id;
	next->origin = CS_ORIGIN_LOCAL;
	*extended = cs_share_extension(next, rule);
	return !bpf_map_update_elem(&cs_records, key, next, BPF_EXIST);
}

/* The daemon's event for a refresh the cluster must hear of (report_extended). */
static __always_inline void cs_report_extended(struct cs_scratch *s, const struct cs_addr_rec *a,
					       const struct cs_record *rec, const struct cs_addr *addr)
{
	cs_name_text(s, s->chain[CS_MASK(a->chain_idx, CS_CHAIN_MAX)].wire_off, CS_TEXT_OWNER);
	cs_emit(s, CS_EV_RECORD_EXTENDED, rec, addr, 0);
}

/* replay's event for a refreshed record; acl_id is the route's when the
 * caller has just read or written it (route_known), else it is read here. */
static __always_inline void cs_report_refresh(struct cs_scratch *s, const struct cs_addr_rec *a,
					      const struct cs_record *rec, const struct cs_addr *addr,
					      __u32 acl_id, bool route_known)
{
	struct cs_route *rt;

	if (!report_refresh)
		return;
	if (!route_known) {
		rt = bpf_map_lookup_elem(&cs_routes, addr);
		acl_id = rt ? rt->acl_id : 0;
	}
	cs_name_text(s, s->chain[CS_MASK(a->chain_idx, CS_CHAIN_MAX)].wire_off, CS_TEXT_OWNER);
	cs_emit(s, CS_EV_RECORD_REFRESH, rec, addr, acl_id);
}

static __always_inline int cs_learn_addr(struct cs_scratch *s, const struct cs_addr_rec *a,
					 const struct cs_pattern_ref *match, const struct cs_rule *rule,
					 struct cs_rule_quota *quota, __u64 now)
{
	struct cs_record_key *key = &s->rec_key;	/* in scratch: 6.1 counts every stack octet */
	struct cs_record *rec, fresh = {};
	__u32 ttl, acl_id = 0, old_rule, old_pattern;
	bool extended = false;
	__u64 expires;

	cs_read_addr(s, a, &key->addr);
	if (a->type == DNS_T_AAAA && cs_addr_is_v4mapped(&key->addr)) {
		cs_count(CS_R_REC_BAD_ADDR);
		return CS_STORE_SKIPPED;
	}
	key->name_id = s->chain[CS_MASK(a->chain_idx, CS_CHAIN_MAX)].id;
	ttl = cs_clamp_ttl(a->ttl, rule);
	expires = now + ((__u64)ttl + rule->ttl_grace) * 1000000000ULL;

	rec = bpf_map_lookup_elem(&cs_records, key);
	if (rec && cs_refresh_in_place(rec, match, ttl, expires, now)) {
		if (cs_share_extension(rec, rule))
			cs_report_extended(s, a, rec, &key->addr);
		cs_report_refresh(s, a, rec, &key->addr, 0, false);
		return CS_STORE_REFRESHED;
	}
	if (rec) {
		old_rule = rec->rule_id;
		old_pattern = rec->pattern_id;
		if (cs_refresh_replacing(key, rec, &fresh, match, rule, ttl, expires, now, &extended)) {
			if (extended)
				cs_report_extended(s, a, &fresh, &key->addr);
			/* Another rule's answer: the record's count moves with it,
			 * and the route hears of the claim as for a new record.
			 * The route is left alone otherwise. */
			if (old_rule != match->rule_id)
				cs_quota_move(old_rule, match->rule_id);
			if (old_rule != match->rule_id || old_pattern != match->pattern_id) {
				acl_id = cs_upsert_route(s, &key->addr, &fresh, rule);
				cs_report_refresh(s, a, &fresh, &key->addr, acl_id, true);
			} else {
				cs_report_refresh(s, a, &fresh, &key->addr, 0, false);
			}
			return CS_STORE_REFRESHED;
		}
		/* the sweep removed it meanwhile: made anew, as any new record */
	}

	if (cs_quota_full(quota)) {
		cs_count(CS_R_RULE_QUOTA);
		return CS_STORE_FAILED;
	}
	fresh.expires_ns = expires;
	fresh.first_ns = now;
	fresh.last_ns = now;
	fresh.rule_id = match->rule_id;
	fresh.pattern_id = match->pattern_id;
	fresh.ttl = ttl;
	fresh.hits = 1;
	fresh.shared_s = cs_shared_s(expires);	/* its NEW event publishes it */
	if (bpf_map_update_elem(&cs_records, key, &fresh, BPF_NOEXIST)) {
		if (bpf_map_lookup_elem(&cs_records, key))
			return CS_STORE_REFRESHED;	/* another CPU made it first */
		cs_count(CS_R_TABLE_FULL);
		return CS_STORE_FAILED;
	}
	if (quota)
		__sync_fetch_and_add(&quota->records, 1);
	cs_count(CS_R_REC_LEARNED);
	cs_name_text(s, s->chain[CS_MASK(a->chain_idx, CS_CHAIN_MAX)].wire_off, CS_TEXT_OWNER);
	if (!bpf_map_lookup_elem(&cs_names, &key->name_id) &&
	    bpf_map_update_elem(&cs_names, &key->name_id, &s->text[CS_TEXT_OWNER], BPF_NOEXIST) == -E2BIG)
		cs_count(CS_R_NAMES_FULL);
	acl_id = cs_upsert_route(s, &key->addr, &fresh, rule);
	cs_emit(s, CS_EV_RECORD_NEW, &fresh, &key->addr, acl_id);
	return CS_STORE_NEW;
}

static __always_inline void cs_count_rule(__u32 rule_id, __u32 learned, __u32 refreshed)
{
	struct cs_rule_stat *st = bpf_map_lookup_elem(&cs_rule_stats, &rule_id);

	if (st) {
		st->answers++;
		st->learned += learned;
		st->refreshed += refreshed;
	}
}

/* CLOCK_BOOTTIME of this answer, read once: the query's window and the
 * records' stamps take the same instant. A clock read costs tens of ns (a
 * paravirtual clock under virtualisation), the second of them was a tenth
 * of query matching's price per answer (docs/benchmarks.md, DNS path). */
static __always_inline __u64 cs_answer_now(struct cs_scratch *s)
{
	if (!s->now_ns)
		s->now_ns = bpf_ktime_get_boot_ns();
	return s->now_ns;
}

/* bpf_loop context: what cannot live in scratch (pointers). */
struct cs_learn_loop {
	struct cs_scratch *s;
	const struct cs_rule *rule;
	struct cs_rule_quota *quota;	/* NULL: no quota map entry */
	__u64 now;
};

/*
 * The loops over records and over addresses run their first CS_INLINE_STEPS
 * steps inline and hand the rest to bpf_loop: most answers are short, and a
 * bpf_loop step is a call (costly where returns are mitigated). The loop state
 * lives in scratch (cs_reload), so the verifier checks each inline step once.
 */
#define CS_INLINE_STEPS 4

static __always_inline long cs_learn_at(struct cs_learn_loop *l, __u32 i)
{
	struct cs_scratch *s = l->s;
	int r;

	if (!s || i >= s->walk.naddrs)
		return 1;
	r = cs_learn_addr(s, &s->addrs[CS_MASK(i, CS_ADDRS_MAX)], &s->walk.best, l->rule, l->quota, l->now);
	s->walk.learned += r == CS_STORE_NEW;
	s->walk.refreshed += r == CS_STORE_REFRESHED;
	s->walk.failed += r == CS_STORE_FAILED;
	return 0;
}

static long cs_learn_tail(__u32 i, void *ctx)
{
	return cs_learn_at(ctx, i + CS_INLINE_STEPS);
}

/* Step 3: store every collected address under the winning rule. */
static __always_inline int cs_learn_all(struct cs_scratch *s)
{
	__u32 rule_id = s->walk.best.rule_id;
	struct cs_learn_loop l = { .s = s };
	__u32 i;

	l.rule = bpf_map_lookup_elem(&cs_rules, &rule_id);
	if (!l.rule)
		return CS_R_INTERNAL;
	l.quota = bpf_map_lookup_elem(&cs_rule_quota, &rule_id);
	l.now = cs_answer_now(s);
	s->walk.learned = 0;
	s->walk.refreshed = 0;
	s->walk.failed = 0;
	for (i = 0; i < CS_INLINE_STEPS; i++) {
		cs_reload();
		if (cs_learn_at(&l, i))
			break;
	}
	if (i == CS_INLINE_STEPS)
		bpf_loop(CS_ADDRS_MAX - CS_INLINE_STEPS, cs_learn_tail, &l, 0);
	if (s->walk.refreshed)
		cs_count_n(CS_R_REC_REFRESHED, s->walk.refreshed);
	cs_count_rule(rule_id, s->walk.learned, s->walk.refreshed);
	if (s->walk.learned)
		return CS_R_LEARNED;
	if (s->walk.refreshed)
		return CS_R_REFRESHED;
	/* not_stored says "a table or the quota was full"; when every address
	 * was skipped (AAAA holding an IPv4-mapped address) there was nothing
	 * to store */
	return s->walk.failed ? CS_R_NOT_STORED : CS_R_NO_ADDRESS;
}

static __always_inline long cs_walk_at(struct cs_scratch *s, __u32 i)
{
	int r;

	if (!s || i >= s->walk.ancount)
		return 1;
	if (i >= s->walk.cap) {
		cs_count(CS_R_REC_CAPPED);
		s->walk.capped = 1;
		return 1;
	}
	r = cs_walk_record(s, &s->walk);
	if (r && r != CS_WALK_STOP)
		s->walk.err = r;
	return r ? 1 : 0;
}

static long cs_walk_tail(__u32 i, void *ctx)
{
	return cs_walk_at(cs_loop_scratch(ctx), i + CS_INLINE_STEPS);
}

/* A keyed digest of the message from octet 2 on, into s->digest: everything
 * but the ID, so the same answer to two clients is the same, and a TTL that
 * counts down is not. Words of 8 octets; msg has slack for the last one. A
 * global function: its 512-step loop is verified once, not from every state
 * that reaches it. */
__noinline int cs_msg_digest(struct cs_scratch *s)
{
	__u32 i;
	__u64 w;

	if (!s)
		return CS_R_INTERNAL;
	s->digest = s->cfg.name_key[0] ^ s->msg_len;
	for (i = 2; i < CS_MSG_MAX; i += 8) {
		cs_reload();	/* the length as an unknown, not narrowed step by step */
		if (i >= s->msg_len)
			break;
		__builtin_memcpy(&w, &s->msg[CS_MASK(i, CS_MSG_MAX)], 8);
		s->digest = cs_label_word(s->digest, cs_word_head(w, s->msg_len - i));
	}
	s->digest = cs_mix64(s->digest);
	return 0;
}

/* Outcomes that created nothing can be reused: a repeat of them would find
 * the same rules and refresh the same records, which are at most a second
 * fresher than the first answer made them. */
static __always_inline bool cs_outcome_repeatable(int reason)
{
	return reason == CS_R_REFRESHED || reason == CS_R_NO_RULE || reason == CS_R_NO_ADDRESS;
}

/* ---- query matching ---- */

/* Find the query the answer at loc answers: 0 with it noted in scratch, or
 * no_query. A query past the window is removed. */
static __always_inline int cs_expect_query(struct cs_scratch *s, const struct cs_dns_loc *loc)
{
	struct cs_query_key *key = &s->query_key;	/* in scratch: 6.1 counts every stack octet */
	struct cs_query *q;

	__builtin_memset(key, 0, sizeof(*key));
	key->client = loc->pkt.dst;
	key->server = loc->pkt.src;
	key->client_port = loc->client_port;
	key->dns_id = cs_msg16(s, 0);
	key->proto = loc->pkt.proto;
	q = bpf_map_lookup_elem(&cs_queries, key);
	if (!q)
		return CS_R_NO_QUERY;
	if (cs_answer_now(s) > q->sent_ns + (__u64)s->cfg.query_window_ms * 1000000ULL) {
		bpf_map_delete_elem(&cs_queries, key);
		return CS_R_NO_QUERY;
	}
	s->query_qname = q->qname_id;
	s->query_pending = 1;
	return 0;
}

/* The answer's question against its query's: a match consumes the query,
 * so one query teaches once; a forgery with the wrong question leaves it
 * for the real answer. 0 or query_mismatch. */
static __always_inline int cs_answer_query(struct cs_scratch *s, __u64 qname_id)
{
	if (!s->query_pending)
		return 0;
	if (qname_id != s->query_qname)
		return CS_R_QUERY_MISMATCH;
	bpf_map_delete_elem(&cs_queries, &s->query_key);
	s->query_pending = 0;
	return 0;
}

/* Step 2 and 3 over an answer that passed the header checks. */
static __always_inline int cs_learn_answer(struct cs_scratch *s, __u32 flags)
{
	struct cs_walk_state *w = &s->walk;
	__u32 i;
	int err;

	__builtin_memset(w, 0, sizeof(*w));
	w->ancount = cs_msg16(s, 6);
	w->truncated_ok = !!(flags & DNS_F_TC);
	w->cap = s->cfg.max_records;

	err = cs_name_walk(s, DNS_HDR_LEN, 1);
	if (!err)
		err = cs_answer_query(s, s->name.id);
	if (err)
		return err;
	w->pos = s->name.end + 4;	/* QTYPE, QCLASS */
	if (w->pos > s->msg_len)
		return CS_R_BAD_RECORD;
	cs_chain_add(s, w, DNS_HDR_LEN);

	for (i = 0; i < CS_INLINE_STEPS; i++) {
		cs_reload();
		if (cs_walk_at(s, i))
			break;
	}
	if (i == CS_INLINE_STEPS)
		bpf_loop(CS_RECORDS_MAX - CS_INLINE_STEPS, cs_walk_tail, &s, 0);
	if (w->err)
		return w->err;
	if (!w->best.pattern_id)
		return CS_R_NO_RULE;
	if (!w->naddrs)
		return CS_R_NO_ADDRESS;
	return cs_learn_all(s);
}

/* Is the answer's sender one of learn.resolvers? The key is a copy: were
 * the packet's own address handed to the helper, the whole packet struct
 * would have to live in memory from the first header on, and the packets
 * that are not DNS would pay for it. */
static __always_inline bool cs_from_resolver(const struct cs_packet *p)
{
	struct cs_addr server = p->src;

	return bpf_map_lookup_elem(&cs_resolvers, &server) != NULL;
}

/* Steps 1 to 3 for a located message; returns the packet reason. */
static __always_inline int cs_learn_message(struct xdp_md *ctx, const struct cs_dns_loc *loc)
{
	struct cs_repeat_slot *slot;
	struct cs_scratch *s;
	struct cs_config *cfg;
	__u32 zero = 0, flags, slot_idx;
	__u64 digest, now;
	int reason;

	s = bpf_map_lookup_elem(&cs_scratch, &zero);
	cfg = bpf_map_lookup_elem(&cs_config, &zero);
	if (!s || !cfg)
		return CS_R_INTERNAL;
	if (!(cfg->flags & CS_CFG_READY))
		return CS_R_NOT_READY;
	if ((cfg->flags & CS_CFG_RESOLVERS) && !cs_from_resolver(&loc->pkt))
		return CS_R_NOT_RESOLVER;
	/* Checked next to the copy, so the verifier still knows the bound. The
	 * located length may sit in a stack slot, reloaded for each use, and
	 * 6.1's verifier does not carry a bound checked on one reload to the
	 * next: the barrier makes len a value of its own, whole 64 bits, that
	 * ends at the copy (msg_len takes the located one), so it stays in the
	 * register that is checked. */
	__u64 len = loc->len;

	asm volatile("" : "+r"(len));
	if (len > CS_MSG_MAX)
		return CS_R_TOO_BIG;
	if (len < DNS_HDR_LEN)
		return CS_R_TRUNCATED;
	if (bpf_xdp_load_bytes(ctx, loc->off, s->msg, len))
		return CS_R_TRUNCATED;
	s->msg_len = loc->len;
	s->cfg = *cfg;
	s->now_ns = 0;

	flags = cs_msg16(s, 2);
	if (!(flags & DNS_F_QR))
		return CS_R_NOT_RESPONSE;
	if (flags & DNS_F_OPCODE)
		return CS_R_BAD_OPCODE;
	if (flags & DNS_F_RCODE)
		return CS_R_RCODE;
	if (cs_msg16(s, 4) != 1)
		return CS_R_QDCOUNT;
	if (!cs_msg16(s, 6))
		return CS_R_NO_ANSWER;
	s->query_pending = 0;
	if (s->cfg.flags & CS_CFG_QUERIES) {
		reason = cs_expect_query(s, loc);
		if (reason)
			return reason;
	}

	/* replay reports every refresh, so it never reuses an outcome */
	if (report_refresh || !reuse_repeats)
		return cs_learn_answer(s, flags);
	if (cs_msg_digest(s))
		return CS_R_INTERNAL;
	digest = s->digest;
	slot_idx = CS_MASK(digest, CS_REPEAT_SLOTS);
	now = bpf_ktime_get_coarse_ns();
	slot = bpf_map_lookup_elem(&cs_repeats, &slot_idx);
	if (slot && slot->digest == digest && slot->generation == s->cfg.generation &&
	    now < slot->until_ns) {
		if (cs_answer_query(s, slot->qname_id))
			return CS_R_QUERY_MISMATCH;
		cs_count(CS_R_REPEATS);
		if (slot->capped)	/* every cut answer counts, for the daemon's warning */
			cs_count(CS_R_REC_CAPPED);
		if (slot->refreshed)
			cs_count_n(CS_R_REC_REFRESHED, slot->refreshed);
		if (slot->rule_id)
			cs_count_rule(slot->rule_id, 0, slot->refreshed);
		return slot->reason;
	}
	reason = cs_learn_answer(s, flags);
	if (!cs_outcome_repeatable(reason))
		return reason;
	/* looked up again rather than kept live across the walk, which would
	 * double the states the verifier explores there */
	slot = bpf_map_lookup_elem(&cs_repeats, &slot_idx);
	if (slot) {
		slot->digest = digest;
		slot->until_ns = now + CS_REPEAT_NS;
		slot->generation = s->cfg.generation;
		slot->reason = reason;
		slot->refreshed = s->walk.refreshed;
		slot->rule_id = reason == CS_R_REFRESHED ? s->walk.best.rule_id : 0;
		slot->qname_id = s->chain[0].id;
		slot->capped = s->walk.capped;
	}
	return reason;
}

SEC("xdp")
int learn(struct xdp_md *ctx)
{
	struct cs_dns_loc loc = {};
	int reason = cs_locate_dns((void *)(long)ctx->data, (void *)(long)ctx->data_end, CS_DNS_ANSWER, &loc);

	if (!reason)
		reason = cs_dns_in_frame(&loc, bpf_xdp_get_buff_len(ctx));
	if (!reason)
		reason = cs_learn_message(ctx, &loc);
	cs_count(reason);
	/* on an interface that steers too, steer's fast path is next; with
	 * nothing in the slot the call returns and the packet goes on */
	bpf_tail_call(ctx, &cs_xdp_after_learn, ctx->ingress_ifindex);
	return XDP_PASS;
}

/* ---- query: TC egress of the learn interfaces ---- */

/* Octets of a query read: the header and the longest question. */
#define CS_QUERY_COPY (DNS_HDR_LEN + CS_NAME_WIRE_MAX + 4)

/* Copy the first len octets of the query into scratch. A function of its
 * own, so that the length checked is the length passed: inlined, the
 * compiler checked one load of it and passed another, which 6.1's verifier
 * could not bound. */
static __noinline int cs_load_query(struct __sk_buff *skb, struct cs_scratch *s, __u32 off, __u32 len)
{
	asm volatile("" : "+r"(len));	/* nor may it drop the check, seeing the caller's */
	if (!s || len < DNS_HDR_LEN || len > CS_QUERY_COPY)
		return -1;
	return bpf_skb_load_bytes(skb, off, s->msg, len);
}

/* Note a query leaving: who asks whom, its id and its question. */
static __always_inline void cs_record_query(struct __sk_buff *skb, const struct cs_dns_loc *loc,
					    const struct cs_config *cfg)
{
	struct cs_query_key key = {};
	struct cs_query q = {};
	struct cs_scratch *s;
	__u32 zero = 0, len = loc->len;

	s = bpf_map_lookup_elem(&cs_scratch, &zero);
	if (!s || len < DNS_HDR_LEN)
		return;
	if (len > CS_QUERY_COPY)
		len = CS_QUERY_COPY;
	if (cs_load_query(skb, s, loc->off, len))
		return;
	s->msg_len = len;
	s->cfg = *cfg;
	if ((cs_msg16(s, 2) & (DNS_F_QR | DNS_F_OPCODE)) || cs_msg16(s, 4) != 1)
		return;
	if (cs_name_walk(s, DNS_HDR_LEN, 0))
		return;
	key.client = loc->pkt.src;
	key.server = loc->pkt.dst;
	key.client_port = loc->client_port;
	key.dns_id = cs_msg16(s, 0);
	key.proto = loc->pkt.proto;
	q.sent_ns = bpf_ktime_get_boot_ns();
	q.qname_id = s->name.id;
	bpf_map_update_elem(&cs_queries, &key, &q, BPF_ANY);
	cs_count(CS_R_QUERIES_SEEN);
}

/* Queries leave through the learn interfaces after any source NAT, so
 * what is recorded here is what the answer will be addressed to. Never
 * changes or drops a packet. */
SEC("tc")
int query(struct __sk_buff *skb)
{
	struct cs_dns_loc loc = {};
	struct cs_config *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&cs_config, &zero);
	if (!cfg || !(cfg->flags & CS_CFG_QUERIES))
		return TC_ACT_OK;
	if (!cs_locate_dns((void *)(long)skb->data, (void *)(long)skb->data_end, CS_DNS_QUERY, &loc) &&
	    !cs_dns_in_frame(&loc, skb->len))
		cs_record_query(skb, &loc, cfg);
	return TC_ACT_OK;
}
