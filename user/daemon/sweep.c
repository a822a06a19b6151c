// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sweep.c - the daemon's housekeeping, in bounded steps so that a million
 * records never stall it:
 *   - each tick looks at up to sweep_per_tick records (bpf_map_lookup_batch),
 *     removes the ones expired for CS_EXPIRY_MARGIN_NS and, after a reload,
 *     those whose pattern is gone, and notes which IPs and names still have
 *     records;
 *   - at the end of a pass, a route no record needs goes (unless learn made
 *     or touched it since the pass began), its ACL id returns to the pool,
 *     routes waiting for an ACL id get one, and names without records go
 *     (but never one of a record made during the pass: events.c, and in a
 *     cluster the installs of the cluster thread: cluster.c);
 *   - anything removed starts a new cs_config generation, so learn reuses
 *     no outcome that counted on a record that is gone;
 *   - a pass that finds the record table CS_FULL_PERCENT full makes the next
 *     one evict the least recently used records down to CS_EVICT_TO_PERCENT
 *     (the dataplane counts table_full meanwhile).
 * Live flows keep routes alive: a flow lives by its TCP state's lifetime
 * (steer.flow_timeouts; steer.flow_idle for other protocols), and the pass
 * removes the flows past theirs, in both of steer's tables (pass_flows).
 *
 * learn writes records and routes while a pass runs, and a read followed by
 * a delete by key cannot see a write that lands in between. So the sweep
 * removes with lookup-and-delete, which learn's replacing updates (a
 * revival, a change of rule, a route's stamp or claim) serialize with under
 * the hash bucket's lock, and judges the value it removed: a record alive
 * after all, or a route stamped since the pass began, goes back. learn's
 * in-place refreshes need no lock: see CS_EXPIRY_MARGIN_NS.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "affinity.h"
#include "daemon.h"
#include "lib/addr.h"
#include "lib/clock.h"
#include "lib/flowlife.h"
#include "lib/learnprog.h"
#include "lib/log.h"
#include "lib/maps.h"
#include "lib/names.h"
#include "lib/never.h"
#include "lib/quota.h"
#include "learn.skel.h"
#include "steer.skel.h"

#define BATCH 4096

/* ---- small open-addressing sets, grown by doubling ---- */

struct cs_addr_set {
	size_t cap, n;
	struct addr_slot { bool used; struct cs_addr a; __u32 rule_id, priority; } *s;
};

struct cs_u64_set {
	size_t cap, n;
	__u64 *s;	/* 0 marks a free slot; 0 itself is kept in has_zero */
	bool has_zero;
};

static size_t hash_bytes(const void *p, size_t n)
{
	const __u8 *b = p;
	__u64 h = 1469598103934665603ULL;

	while (n--)
		h = (h ^ *b++) * 1099511628211ULL;
	return (size_t)h;
}

static struct addr_slot *addr_find(struct cs_addr_set *set, const struct cs_addr *a)
{
	size_t i = hash_bytes(a, sizeof(*a)) & (set->cap - 1);

	while (set->s[i].used && memcmp(&set->s[i].a, a, sizeof(*a)))
		i = (i + 1) & (set->cap - 1);
	return &set->s[i];
}

static bool addr_set_grow(struct cs_addr_set *set)
{
	struct cs_addr_set bigger = { .cap = set->cap ? set->cap * 2 : 1024 };
	size_t i;

	bigger.s = calloc(bigger.cap, sizeof(*bigger.s));
	if (!bigger.s)
		return false;
	for (i = 0; i < set->cap; i++)
		if (set->s[i].used)
			*addr_find(&bigger, &set->s[i].a) = set->s[i];
	bigger.n = set->n;
	free(set->s);
	*set = bigger;
	return true;
}

/* Note that a has a record of rule_id; the highest priority rule wins. */
static bool addr_note(struct cs_addr_set *set, const struct cs_addr *a, __u32 rule_id, __u32 priority)
{
	struct addr_slot *slot;

	if ((set->n + 1) * 2 > set->cap && !addr_set_grow(set))
		return false;
	slot = addr_find(set, a);
	if (!slot->used) {
		slot->used = true;
		slot->a = *a;
		slot->rule_id = rule_id;
		slot->priority = priority;
		set->n++;
	} else if (priority > slot->priority) {
		slot->rule_id = rule_id;
		slot->priority = priority;
	}
	return true;
}

static __u64 *u64_find(struct cs_u64_set *set, __u64 v)
{
	size_t i = hash_bytes(&v, sizeof(v)) & (set->cap - 1);

	while (set->s[i] && set->s[i] != v)
		i = (i + 1) & (set->cap - 1);
	return &set->s[i];
}

static bool u64_has(struct cs_u64_set *set, __u64 v)
{
	if (!v)
		return set->has_zero;
	return set->cap && *u64_find(set, v) == v;
}

static bool u64_add(struct cs_u64_set *set, __u64 v)
{
	if (!v)
		return set->has_zero = true;
	if ((set->n + 1) * 2 > set->cap) {
		struct cs_u64_set bigger = { .cap = set->cap ? set->cap * 2 : 1024, .has_zero = set->has_zero };
		size_t i;

		bigger.s = calloc(bigger.cap, sizeof(__u64));
		if (!bigger.s)
			return false;
		for (i = 0; i < set->cap; i++)
			if (set->s[i])
				*u64_find(&bigger, set->s[i]) = set->s[i];
		bigger.n = set->n;
		free(set->s);
		*set = bigger;
	}
	if (!*u64_find(set, v)) {
		*u64_find(set, v) = v;
		set->n++;
	}
	return true;
}

void cs_sweep_free(struct cs_sweep *sw)
{
	if (sw->live)
		free(sw->live->s);
	free(sw->live);
	if (sw->flows)
		free(sw->flows->s);
	free(sw->flows);
	if (sw->names)
		free(sw->names->s);
	free(sw->names);
	free(sw->ages);
	memset(sw, 0, sizeof(*sw));
}

/* ---- the pass ---- */

/* Reads the text of name id from cs_names, for log lines; "?" when the
 * names map has none. */
static const char *name_text(struct cs_daemon *d, __u64 name_id, char *buf, size_t len)
{
	struct cs_name n;

	if (bpf_map_lookup_elem(bpf_map__fd(d->skel->maps.cs_names), &name_id, &n))
		return "?";
	snprintf(buf, len, "%s", n.text);
	return buf;
}

/* A line per removed record at debug level (the summary counts them at
 * info, daemon/summary.c), up to CS_LOG_REMOVED_PER_PASS in a pass: a
 * million records expiring at once would otherwise write 100 MB of log and
 * spend most of the pass on it. The pass's end says how many went unlogged. */
static void log_removed(struct cs_daemon *d, const struct cs_record_key *k, const struct cs_record *r,
			const char *why)
{
	char name[CS_NAME_TEXT_MAX], ip[CS_ADDR_TEXT_MAX];

	if (cs_log_level < CS_LOG_DEBUG || d->sweep.logged++ >= CS_LOG_REMOVED_PER_PASS)
		return;
	cs_debug("%s %s %s (rule %s)", why, name_text(d, k->name_id, name, sizeof(name)),
		cs_addr_format(&k->addr, ip, sizeof(ip)), cs_pattern_text(&d->conf, r->pattern_id));
}

/* What a record's value says: it stays, or why it goes. */
enum record_fate { RECORD_LIVE, RECORD_DROPPED, RECORD_EXPIRED, RECORD_EVICTED };

/* Expired for at least CS_EXPIRY_MARGIN_NS at the sweep's clock `now`, read
 * before the removal. learn refreshes in place only a record that has not
 * expired at its own clock, and revives an expired one by replacing it; so a
 * store of learn's lands after such a removal only if learn took longer than
 * the margin between reading its clock and its store, which an XDP program
 * (it runs in softirq, and cannot sleep or be preempted) cannot. */
static bool expired_past_margin(const struct cs_record *r, __u64 now)
{
	return r->expires_ns < now && now - r->expires_ns >= CS_EXPIRY_MARGIN_NS;
}

static enum record_fate judge_record(const struct cs_daemon *d, const struct cs_record *r, __u64 now)
{
	if (!cs_pattern_by_id(&d->conf, r->pattern_id))
		return RECORD_DROPPED;	/* its pattern left the config */
	if (expired_past_margin(r, now))
		return RECORD_EXPIRED;
	if (r->last_ns < d->evict_before)
		return RECORD_EVICTED;
	return RECORD_LIVE;
}

/* A live record: its IP and name stay this pass, its age counts for the
 * eviction plan, and it follows its pattern to another rule after a reload. */
static void keep_record(struct cs_daemon *d, const struct cs_record_key *k, struct cs_record *r, int records_fd)
{
	const struct cs_pattern *p = cs_pattern_by_id(&d->conf, r->pattern_id);
	struct cs_sweep *sw = &d->sweep;
	__u32 rule_id;

	if (sw->n_ages == sw->cap_ages) {
		size_t cap = sw->cap_ages ? sw->cap_ages * 2 : 4096;
		__u64 *ages = realloc(sw->ages, cap * sizeof(*ages));

		if (ages) {
			sw->ages = ages;
			sw->cap_ages = cap;
		}
	}
	if (sw->n_ages < sw->cap_ages)
		sw->ages[sw->n_ages++] = r->last_ns;
	rule_id = cs_rule_id(p->rule);
	if (r->rule_id != rule_id) {
		/* the pattern moved to another rule in a reload: its count too */
		cs_quota_take(d->quota, r->rule_id, 1);
		cs_quota_give(d->quota, rule_id, 1);
		r->rule_id = rule_id;
		bpf_map_update_elem(records_fd, k, r, BPF_EXIST);
		sw->remapped++;
	}
	addr_note(sw->live, &k->addr, rule_id, d->conf.rules[p->rule].priority);
	u64_add(sw->names, k->name_id);
}

/* A record removed for good: its log line and counts. */
static void note_removed(struct cs_daemon *d, const struct cs_record_key *k, const struct cs_record *r,
			 enum record_fate fate, __u64 now)
{
	struct cs_sweep *sw = &d->sweep;
	__u64 lag_ms;

	sw->removed_any = true;
	if (fate == RECORD_DROPPED) {
		log_removed(d, k, r, "dropped");
	} else if (fate == RECORD_EVICTED) {
		log_removed(d, k, r, "evicted (table full)");
		sw->evicted++;
		cs_stat_add(&d->stats.evicted, 1);
	} else {
		lag_ms = (now - r->expires_ns) / 1000000;
		log_removed(d, k, r, "expired");
		sw->expired++;
		if (lag_ms > sw->lag_max_ms)
			sw->lag_max_ms = lag_ms;
		cs_stat_add(&d->stats.expiry_lag_ms_sum, lag_ms);
		cs_stat_add(&d->stats.expired, 1);
	}
}

bool cs_sweep_take_record(struct cs_daemon *d, const struct cs_record_key *k, const struct cs_record *read,
			  struct cs_record *gone)
{
	/* taken off first: a daemon killed before the removal leaves the
	 * count low (lenient), never a rule stuck full */
	cs_quota_take(d->quota, read->rule_id, 1);
	if (bpf_map_lookup_and_delete_elem(bpf_map__fd(d->skel->maps.cs_records), k, gone)) {
		if (errno != ENOENT)
			cs_warn("sweep: removing a record: %s", strerror(errno));
		cs_quota_give(d->quota, read->rule_id, 1);
		return false;
	}
	if (gone->rule_id != read->rule_id) {
		/* learn moved it to another rule since the pass read it, and
		 * its count with it */
		cs_quota_give(d->quota, read->rule_id, 1);
		cs_quota_take(d->quota, gone->rule_id, 1);
	}
	return true;
}

/* A record alive after all goes back, unless learn made a new one after
 * the removal: that one stands (it counted itself in its rule's quota, and
 * its event keeps its name), and the removed one is gone. True if put back. */
static bool put_back_record(struct cs_daemon *d, const struct cs_record_key *k, const struct cs_record *gone)
{
	int fd = bpf_map__fd(d->skel->maps.cs_records);
	struct cs_record r = *gone;

	if (bpf_map_update_elem(fd, k, &r, BPF_NOEXIST)) {
		if (errno != EEXIST)
			cs_warn("sweep: a record refreshed during its removal could not go back: %s",
				strerror(errno));
		return false;
	}
	cs_quota_give(d->quota, r.rule_id, 1);
	keep_record(d, k, &r, fd);	/* read live by this pass after all */
	d->sweep.put_back++;
	return true;
}

bool cs_sweep_settle_taken_record(struct cs_daemon *d, const struct cs_record_key *k, const struct cs_record *gone,
				  __u64 now)
{
	enum record_fate fate = judge_record(d, gone, now);

	if (fate == RECORD_LIVE) {
		put_back_record(d, k, gone);
		return false;
	}
	note_removed(d, k, gone, fate, now);
	return true;
}

size_t cs_sweep_remove_records(struct cs_daemon *d, const struct cs_record_key *keys, const struct cs_record *read,
			       size_t n, __u64 now)
{
	struct cs_record gone;
	size_t i, removed = 0;

	for (i = 0; i < n; i++)
		if (cs_sweep_take_record(d, &keys[i], &read[i], &gone))
			removed += cs_sweep_settle_taken_record(d, &keys[i], &gone, now);
	return removed;
}

/* Events learn could not write (the ring buffer was full), since it loaded. */
static __u64 events_lost(struct cs_daemon *d)
{
	__u64 counts[CS_R_MAX];

	if (cs_percpu_sum(bpf_map__fd(d->skel->maps.cs_learn_stats), 0, CS_R_MAX, counts, 1))
		return 0;
	return counts[CS_R_EVENT_LOST];
}

void cs_sweep_begin(struct cs_daemon *d)
{
	struct cs_sweep *sw = &d->sweep;

	cs_sweep_free(sw);
	sw->live = calloc(1, sizeof(*sw->live));
	sw->flows = calloc(1, sizeof(*sw->flows));
	sw->names = calloc(1, sizeof(*sw->names));
	if (!sw->live || !sw->flows || !sw->names || !addr_set_grow(sw->live) || !addr_set_grow(sw->flows)) {
		cs_err("sweep: out of memory");
		cs_sweep_free(sw);
		return;
	}
	sw->active = true;
	sw->token = 0;
	sw->pass_start_ns = cs_now_ns();
	sw->events_lost = events_lost(d);
	sw->check_never = d->never_changed;
	d->never_changed = false;
}

enum step { STEP_MORE, STEP_DONE, STEP_FAILED };

/* Look at `budget` records or a little more: a batch always asks for BATCH,
 * because a smaller one fails (ENOSPC) when the next hash bucket holds more
 * records than it asked for. STEP_FAILED: the pass has not seen every record,
 * so nothing may be judged from it (a route or name whose records it did not
 * read would go). A record read as one to go is removed by key, and judged
 * again by the value removed (cs_sweep_remove_records). */
static enum step pass_step(struct cs_daemon *d, __u32 budget)
{
	static struct cs_record_key keys[BATCH], gone[BATCH];
	static struct cs_record vals[BATCH], gone_read[BATCH];
	int fd = bpf_map__fd(d->skel->maps.cs_records);
	struct cs_sweep *sw = &d->sweep;
	__u64 now = cs_now_ns();
	bool more = true;

	while (budget && more) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 count = BATCH, out = 0, n_gone = 0, i;
		int e = bpf_map_lookup_batch(fd, sw->token ? &sw->token : NULL, &out, keys, vals, &count, &opts);

		if (e && errno != ENOENT) {
			cs_warn("sweep: reading the records: %s; the pass starts again", strerror(errno));
			return STEP_FAILED;
		}
		more = !e;
		sw->token = out;
		for (i = 0; i < count; i++) {
			if (judge_record(d, &vals[i], now) == RECORD_LIVE) {
				keep_record(d, &keys[i], &vals[i], fd);
				continue;
			}
			gone[n_gone] = keys[i];
			gone_read[n_gone++] = vals[i];
		}
		cs_sweep_remove_records(d, gone, gone_read, n_gone, now);
		budget -= count < budget ? count : budget;
		if (!count)
			more = false;
	}
	return more ? STEP_MORE : STEP_DONE;
}

static void acl_return(struct cs_daemon *d, __u32 acl_id)
{
	if (acl_id && bpf_map_update_elem(bpf_map__fd(d->skel->maps.cs_acl_pool), NULL, &acl_id, BPF_ANY))
		cs_err("acl: id %u could not go back to the pool: %s", acl_id, strerror(errno));
}

/* The flows of a pass: by the lifetimes of their states (lib/flowlife.h). */
struct flow_walk {
	struct cs_daemon *d;
	struct cs_lifetimes life;
	__u64 now;
	__u64 kept, expired;
	__u64 *route_bits;		/* cs_route_bits as the live flows make it;
					 * NULL: not rebuilt this pass */
};

static bool flow_alive(const void *value, void *ctx)
{
	const struct cs_flow *fl = value;
	const struct flow_walk *w = ctx;

	return cs_stream_alive(&w->life, fl->state, fl->last_ns, w->now);
}

/* One flow as the table read gave it: a flow past its state's lifetime goes
 * (judged again on what its removal returns, so a packet steer counted
 * meanwhile keeps it); a live one keeps its route (noted in sw->flows). */
static void settle_flow(struct flow_walk *w, int fd, int spill_fd, const struct cs_flow_key *key,
			const struct cs_flow *read)
{
	struct cs_flow fl = *read;

	if (!flow_alive(&fl, w)) {
		switch (cs_take_if_over(fd, spill_fd, key, &fl, flow_alive, w)) {
		case CS_TAKE_REMOVED:
			w->expired++;
			return;
		case CS_TAKE_GONE:
			return;
		case CS_TAKE_KEPT:
			break;
		}
	}
	w->kept++;
	addr_note(w->d->sweep.flows, &fl.route, 0, 0);
	if (w->route_bits) {
		__u32 bit = cs_route_bit(&fl.route);

		w->route_bits[bit >> 6] |= 1ULL << (bit & 63);
	}
}

/*
 * cs_route_bits anew from the live flows of the pass: the bits of routes
 * whose flows are gone go. A flow steer proves while the pass writes may
 * lose its bit here; it is then TC's alone until the next pass sets it.
 */
static void write_route_bits(struct cs_daemon *d, const __u64 *bits)
{
	static __u32 keys[CS_ROUTE_BIT_WORDS];
	__u32 i, n = CS_ROUTE_BIT_WORDS;
	LIBBPF_OPTS(bpf_map_batch_opts, opts);

	for (i = 0; i < CS_ROUTE_BIT_WORDS; i++)
		keys[i] = i;
	if (bpf_map_update_batch(bpf_map__fd(d->steer->maps.cs_route_bits), keys, bits, &n, &opts))
		cs_warn("sweep: writing cs_route_bits: %s", strerror(errno));
}

/* Every flow of one table, read in batches. False when it could not be read. */
static bool sweep_flow_table(struct flow_walk *w, int fd, int spill_fd, __u64 *kept)
{
	struct cs_map_dump dump;
	__u64 before = w->kept;
	size_t i;
	int e = cs_map_dump(fd, sizeof(struct cs_flow_key), sizeof(struct cs_flow), &dump);

	if (e) {
		cs_warn("sweep: reading the flows: %s", strerror(-e));
		return false;
	}
	for (i = 0; i < dump.n; i++)
		settle_flow(w, fd, spill_fd, (const void *)(dump.keys + i * dump.key_size),
			    (const void *)(dump.vals + i * dump.value_size));
	cs_map_dump_free(&dump);
	*kept = w->kept - before;
	return true;
}

/* When the flows could not be read, every route counts as used by one this
 * pass: a route must never go under a live connection. */
static bool note_route_used(const void *key, void *ctx)
{
	struct cs_daemon *d = ctx;

	addr_note(d->sweep.flows, key, 0, 0);
	return true;
}

/* Both flow tables: new flows (cs_flows_new), then proven ones (cs_flows),
 * in that order because steer moves flows from the first to the second: a
 * flow it moves while the pass runs is read in the second if not in the
 * first, so its route is seen used. */
static void pass_flows(struct cs_daemon *d)
{
	struct flow_walk w = { .d = d, .life = cs_lifetimes_of(&d->conf, d->conf.flow_idle_ms), .now = cs_now_ns(),
			       .route_bits = calloc(CS_ROUTE_BIT_WORDS, sizeof(__u64)) };
	int proven = bpf_map__fd(d->steer->maps.cs_flows), unproven = bpf_map__fd(d->steer->maps.cs_flows_new);
	__u64 n_proven = 0, n_unproven = 0;

	if (!sweep_flow_table(&w, unproven, -1, &n_unproven) || !sweep_flow_table(&w, proven, unproven, &n_proven))
		cs_map_walk(bpf_map__fd(d->skel->maps.cs_routes), sizeof(struct cs_addr), note_route_used, d);
	else if (w.route_bits)
		write_route_bits(d, w.route_bits);
	free(w.route_bits);
	cs_stat_set(&d->stats.flows, n_proven);
	cs_stat_set(&d->stats.flows_new, n_unproven);
	cs_stat_add(&d->stats.flows_expired, w.expired);
	if (w.expired)
		cs_debug("sweep: %llu flows over by their state's lifetime", (unsigned long long)w.expired);
}

/* A removed route's ACL id, counters zeroed first (counts never move to
 * another route), back to the pool. */
static void release_acl(struct cs_daemon *d, __u32 acl_id)
{
	cs_acl_zero(bpf_map__fd(d->steer->maps.cs_acl_stats), acl_id);
	acl_return(d, acl_id);
}

bool cs_sweep_take_route(struct cs_daemon *d, const struct cs_addr *key, struct cs_route *gone)
{
	if (!bpf_map_lookup_and_delete_elem(bpf_map__fd(d->skel->maps.cs_routes), key, gone))
		return true;
	if (errno != ENOENT)
		cs_warn("sweep: removing a route: %s", strerror(errno));
	return false;
}

enum cs_route_fate cs_sweep_settle_taken_route(struct cs_daemon *d, const struct cs_addr *key,
					       const struct cs_route *gone)
{
	struct cs_route rt = *gone;

	if (gone->learned_ns < d->sweep.pass_start_ns) {
		release_acl(d, gone->acl_id);
		return CS_ROUTE_REMOVED;
	}
	/* learn made a record for its IP after the pass read the records */
	if (!bpf_map_update_elem(bpf_map__fd(d->skel->maps.cs_routes), key, &rt, BPF_NOEXIST))
		return CS_ROUTE_PUT_BACK;
	/* learn found no route for its new record and made one, with an id of
	 * its own: that one stands */
	if (errno != EEXIST)
		cs_warn("sweep: a route learn stamped during its removal could not go back: %s", strerror(errno));
	release_acl(d, gone->acl_id);
	return CS_ROUTE_REPLACED;
}

/* A route the pass found unneeded (no record read for its IP, no live flow,
 * not stamped since the pass began) is removed by key, and judged again by
 * the value removed: learn may have made a record for its IP since the
 * route was read. True if it stays removed. */
static bool remove_unneeded_route(struct cs_daemon *d, const struct cs_addr *key, const char *ip)
{
	struct cs_route gone;

	if (!cs_sweep_take_route(d, key, &gone))
		return false;
	switch (cs_sweep_settle_taken_route(d, key, &gone)) {
	case CS_ROUTE_REMOVED:
		cs_debug("route %s removed: no record or flow needs it (acl %u)", ip, gone.acl_id);
		return true;
	case CS_ROUTE_PUT_BACK:
		cs_debug("route %s kept: learn made a record for it during its removal", ip);
		break;
	case CS_ROUTE_REPLACED:
		cs_debug("route %s made anew by learn during its removal; acl %u back to the pool", ip, gone.acl_id);
		break;
	}
	return false;
}

/*
 * One route at the end of a pass, as read: rt. It goes when no record and no
 * live flow needs it and learn has not touched it since the pass began (its
 * ACL id, counters zeroed, back to the pool). Otherwise it follows its
 * records' best rule, is flagged while only flows hold it, and gets an ACL id
 * if it waits for one. Returns true if it was removed.
 * (A daemon killed between a route's removal and its id's return, or between
 * the pop of an id and its write into a waiting route, leaves the id
 * nowhere: the next start finds it, acl.c.)
 */
bool cs_sweep_settle_route(struct cs_daemon *d, const struct cs_addr *key, struct cs_route *rt,
			   unsigned long *assigned)
{
	struct cs_sweep *sw = &d->sweep;
	struct addr_slot *live = addr_find(sw->live, key);
	bool flows = addr_find(sw->flows, key)->used, changed = false, given = false;
	int fd = bpf_map__fd(d->skel->maps.cs_routes);
	/* learn makes no route under cs_never: only a change of it can leave one */
	__u32 never = sw->check_never ? cs_never_kind_of(bpf_map__fd(d->skel->maps.cs_never), key) : 0;
	char ip[CS_ADDR_TEXT_MAX];
	struct cs_route gone;

	cs_addr_format(key, ip, sizeof(ip));
	if (never) {
		/* made before its range was never-steered (a reload, a new
		 * address of this host): it goes, flows or not */
		if (!cs_sweep_take_route(d, key, &gone))
			return false;
		release_acl(d, gone.acl_id);
		cs_warn("route %s removed: never steered (%s)", ip, cs_never_kind_name(never));
		return true;
	}
	if (!live->used && !flows && rt->learned_ns < sw->pass_start_ns)
		return remove_unneeded_route(d, key, ip);
	if (!live->used && flows && !(rt->flags & CS_ROUTE_KEPT_BY_FLOWS)) {
		rt->flags |= CS_ROUTE_KEPT_BY_FLOWS;
		cs_info("route %s kept: its records expired, a flow still uses it", ip);
		changed = true;
	}
	if (live->used && (rt->flags & CS_ROUTE_KEPT_BY_FLOWS)) {
		rt->flags &= ~CS_ROUTE_KEPT_BY_FLOWS;
		changed = true;
	}
	if (live->used && live->rule_id != rt->rule_id) {
		rt->rule_id = live->rule_id;
		changed = true;
	}
	if ((rt->flags & CS_ROUTE_WAIT_ACL) &&
	    !bpf_map_lookup_and_delete_elem(bpf_map__fd(d->skel->maps.cs_acl_pool), NULL, &rt->acl_id)) {
		rt->flags &= ~CS_ROUTE_WAIT_ACL;
		given = changed = true;
		(*assigned)++;
	}
	if (changed && bpf_map_update_elem(fd, key, rt, BPF_EXIST) && given)
		acl_return(d, rt->acl_id);	/* the route went meanwhile: keep the id */
	return false;
}

struct route_walk {
	struct cs_daemon *d;
	int fd;
	unsigned long removed, assigned;
	__u64 n, kept, waiting;		/* what stays, for the metrics */
};

/* Reads the route at key from cs_routes and settles it. */
static bool route_walk_one(const void *key, void *ctx)
{
	struct route_walk *w = ctx;
	struct cs_route rt;

	if (bpf_map_lookup_elem(w->fd, key, &rt))
		return true;
	if (cs_sweep_settle_route(w->d, key, &rt, &w->assigned)) {
		w->removed++;
	} else {
		w->n++;
		w->kept += !!(rt.flags & CS_ROUTE_KEPT_BY_FLOWS);
		w->waiting += !!(rt.flags & CS_ROUTE_WAIT_ACL);
	}
	return true;
}

/* Every route settled; what stays counted for the metrics: how many, how
 * many only flows keep, how many wait for an ACL id. */
static void pass_routes(struct cs_daemon *d)
{
	struct route_walk w = { .d = d, .fd = bpf_map__fd(d->skel->maps.cs_routes) };

	cs_map_walk(w.fd, sizeof(struct cs_addr), route_walk_one, &w);
	if (w.removed || w.assigned)
		cs_debug("sweep: %lu routes removed, %lu given an ACL id", w.removed, w.assigned);
	d->sweep.removed_any |= w.removed > 0;
	cs_stat_add(&d->stats.routes_removed, w.removed);
	cs_stat_set(&d->stats.routes, w.n);
	cs_stat_set(&d->stats.routes_kept, w.kept);
	cs_stat_set(&d->stats.routes_waiting_acl, w.waiting);
}

/* What the pass found, for the metrics. */
static void publish_pass(struct cs_daemon *d)
{
	struct cs_sweep *sw = &d->sweep;

	cs_stat_set(&d->stats.records, sw->n_ages);
	cs_stat_set(&d->stats.names, sw->names->n + sw->names->has_zero);
	if (sw->expired)	/* else the last figure stands: 0 says nothing */
		cs_stat_set(&d->stats.expiry_lag_ms_max, sw->lag_max_ms);
	cs_stat_add(&d->stats.sweep_passes, 1);
}

void cs_sweep_keep_name(struct cs_sweep *sw, __u64 name_id)
{
	if (sw->active && sw->names)
		u64_add(sw->names, name_id);
}

/* Names that no record read by this pass has, gathered before any goes. */
struct name_walk {
	struct cs_u64_set *keep;
	__u64 *ids;
	size_t n, cap;
};

static bool note_unused_name(const void *key, void *ctx)
{
	struct name_walk *w = ctx;
	__u64 id, *bigger;

	memcpy(&id, key, sizeof(id));
	if (u64_has(w->keep, id))
		return true;
	if (w->n == w->cap) {
		size_t cap = w->cap ? 2 * w->cap : 1024;

		bigger = realloc(w->ids, cap * sizeof(*bigger));
		if (!bigger)
			return false;	/* fewer go this pass */
		w->ids = bigger;
		w->cap = cap;
	}
	w->ids[w->n++] = id;
	return true;
}

/* Names that no record read by this pass has go. A record learn made after
 * the pass read its place is not among those: its event keeps its name
 * (cs_sweep_keep_name), or puts it back after (events.c). So the events
 * written so far are read between gathering and removing, and when learn lost
 * any since the pass began, no name goes this pass: a record the pass did not
 * read may need it, and nothing would put it back. The next pass reads every
 * record anew. */
static void pass_names(struct cs_daemon *d)
{
	int fd = bpf_map__fd(d->skel->maps.cs_names);
	struct name_walk w = { .keep = d->sweep.names };
	size_t i;

	cs_map_walk(fd, sizeof(__u64), note_unused_name, &w);
	if (d->rb)
		ring_buffer__consume(d->rb);
	cs_daemon_cluster_notes(d);	/* the cluster thread's installs, likewise */
	if (events_lost(d) != d->sweep.events_lost)
		cs_info("sweep: learn lost events during the pass; unused names stay until the next");
	else
		for (i = 0; i < w.n; i++)
			if (!u64_has(d->sweep.names, w.ids[i]))
				bpf_map_delete_elem(fd, &w.ids[i]);
	free(w.ids);
}

/* Reads cs_config and writes it back one generation on: learn reuses no
 * outcome from before (sweep.c's header says why). */
void cs_new_generation(struct cs_daemon *d)
{
	int fd = bpf_map__fd(d->skel->maps.cs_config);
	struct cs_config cfg;
	__u32 zero = 0;

	if (!bpf_map_lookup_elem(fd, &zero, &cfg)) {
		cfg.generation++;
		bpf_map_update_elem(fd, &zero, &cfg, BPF_ANY);
	}
}

/* Under pressure, set the cutoff that the next pass evicts below. */
static void plan_eviction(struct cs_daemon *d)
{
	struct cs_sweep *sw = &d->sweep;
	size_t limit = bpf_map__max_entries(d->skel->maps.cs_records), n = sw->n_ages, target;

	if (sw->evicted)
		cs_info("sweep: evicted %llu least recently used records", (unsigned long long)sw->evicted);
	d->evict_before = 0;
	if (n * 100 < limit * CS_FULL_PERCENT)
		return;
	target = n - limit * CS_EVICT_TO_PERCENT / 100;
	qsort(sw->ages, n, sizeof(*sw->ages), cs_cmp_u64);
	d->evict_before = sw->ages[target];
	cs_warn("the record table is %zu%% full (%zu of %zu): evicting the %zu least recently used",
		n * 100 / limit, n, limit, target);
}

#define CS_LOCALS_MAX 1024

void cs_locals_sync(struct cs_daemon *d)
{
	static struct cs_addr addrs[CS_LOCALS_MAX];
	int n = cs_local_addrs(addrs, CS_LOCALS_MAX), changed;
	__u64 digest;

	if (n < 0) {
		cs_warn("cannot list this host's addresses: %s", strerror(-n));
		return;
	}
	digest = hash_bytes(addrs, (size_t)n * sizeof(addrs[0]));
	if (digest == d->locals_digest)
		return;
	changed = cs_never_sync_local(bpf_map__fd(d->skel->maps.cs_never), addrs, (size_t)n);
	if (changed < 0) {
		cs_warn("cannot write this host's addresses into cs_never: %s", strerror(-changed));
		return;
	}
	d->locals_digest = digest;
	d->never_changed = true;
	cs_info("never steered: this host's %d addresses (%d changed)", n, changed);
}

void cs_sweep_tick(struct cs_daemon *d)
{
	struct cs_sweep *sw = &d->sweep;

	cs_locals_sync(d);
	if (!sw->active)
		cs_sweep_begin(d);
	if (!sw->active)
		return;
	switch (pass_step(d, d->sweep_per_tick)) {
	case STEP_MORE:
		return;
	case STEP_FAILED:
		cs_sweep_free(sw);
		return;
	case STEP_DONE:
		break;
	}
	pass_flows(d);
	pass_routes(d);
	pass_names(d);
	publish_pass(d);
	plan_eviction(d);
	if (sw->removed_any)
		cs_new_generation(d);
	if (sw->logged > CS_LOG_REMOVED_PER_PASS)
		cs_debug("sweep: %llu more records removed than logged",
			(unsigned long long)(sw->logged - CS_LOG_REMOVED_PER_PASS));
	if (sw->expired || sw->remapped || sw->put_back)
		cs_debug("sweep: pass done: %llu expired, %llu moved to another rule, %llu alive after all "
			 "when removed (put back), %zu IPs live",
			 (unsigned long long)sw->expired, (unsigned long long)sw->remapped,
			 (unsigned long long)sw->put_back, sw->live->n);
	cs_sweep_free(sw);
}
