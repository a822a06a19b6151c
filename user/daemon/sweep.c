// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sweep.c - the daemon's housekeeping, in bounded steps so that a million
 * records never stall it:
 *   - each tick looks at up to sweep_per_tick records (bpf_map_lookup_batch),
 *     removes the expired ones and, after a reload, those whose pattern is
 *     gone, and notes which IPs and names still have records;
 *   - at the end of a pass, a route no record needs goes (unless learn made
 *     or touched it since the pass began), its ACL id returns to the pool,
 *     routes waiting for an ACL id get one, and names without records go
 *     (but never one of a record made during the pass: events.c);
 *   - anything removed starts a new cs_config generation, so learn reuses
 *     no outcome that counted on a record that is gone;
 *   - a pass that finds the record table CS_FULL_PERCENT full makes the next
 *     one evict the least recently used records down to CS_EVICT_TO_PERCENT
 *     (the dataplane counts table_full meanwhile).
 * Live flows keep routes alive: a flow lives by its TCP state's lifetime
 * (steer.flow_timeouts; steer.flow_idle for other protocols), and the pass
 * removes the flows past theirs, in both of steer's tables (pass_flows).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

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

/* A line per removed record, up to CS_LOG_REMOVED_PER_PASS in a pass: a
 * million records expiring at once would otherwise write 100 MB of log and
 * spend most of the pass on it. The pass's end says how many went unlogged. */
static void log_removed(struct cs_daemon *d, const struct cs_record_key *k, const struct cs_record *r,
			const char *why)
{
	char name[CS_NAME_TEXT_MAX], ip[CS_ADDR_TEXT_MAX];

	if (d->sweep.logged++ >= CS_LOG_REMOVED_PER_PASS)
		return;
	cs_info("%s %s %s (rule %s)", why, name_text(d, k->name_id, name, sizeof(name)),
		cs_addr_format(&k->addr, ip, sizeof(ip)), cs_pattern_text(&d->conf, r->pattern_id));
}

/* One record: keep it (noting its IP and name) or say it must go. */
static bool keep_record(struct cs_daemon *d, const struct cs_record_key *k, struct cs_record *r,
			__u64 now, int records_fd)
{
	const struct cs_pattern *p = cs_pattern_by_id(&d->conf, r->pattern_id);
	struct cs_sweep *sw = &d->sweep;
	__u32 rule_id;

	if (!p) {
		log_removed(d, k, r, "dropped");	/* its pattern left the config */
		return false;
	}
	if (r->expires_ns < now) {
		__u64 lag_ms = (now - r->expires_ns) / 1000000;

		log_removed(d, k, r, "expired");
		sw->expired++;
		if (lag_ms > sw->lag_max_ms)
			sw->lag_max_ms = lag_ms;
		cs_stat_add(&d->stats.expiry_lag_ms_sum, lag_ms);
		cs_stat_add(&d->stats.expired, 1);
		return false;
	}
	if (r->last_ns < d->evict_before) {
		log_removed(d, k, r, "evicted (table full)");
		sw->evicted++;
		cs_stat_add(&d->stats.evicted, 1);
		return false;
	}
	if (sw->n_ages == sw->cap_ages) {
		size_t cap = sw->cap_ages ? sw->cap_ages * 2 : 4096;
		__u64 *p = realloc(sw->ages, cap * sizeof(*p));

		if (p) {
			sw->ages = p;
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
	return true;
}

/* Events learn could not write (the ring buffer was full), since it loaded. */
static __u64 events_lost(struct cs_daemon *d)
{
	__u64 counts[CS_R_MAX];

	if (cs_percpu_sum(bpf_map__fd(d->skel->maps.cs_learn_stats), 0, CS_R_MAX, counts, 1))
		return 0;
	return counts[CS_R_EVENT_LOST];
}

static void pass_begin(struct cs_daemon *d)
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
 * read would go). */
static enum step pass_step(struct cs_daemon *d, __u32 budget)
{
	static struct cs_record_key keys[BATCH], gone[BATCH];
	static struct cs_record vals[BATCH];
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
			if (keep_record(d, &keys[i], &vals[i], now, fd))
				continue;
			/* taken off first: a daemon killed in between leaves
			 * the count low (lenient), never a rule stuck full */
			cs_quota_take(d->quota, vals[i].rule_id, 1);
			gone[n_gone++] = keys[i];
		}
		if (n_gone) {
			LIBBPF_OPTS(bpf_map_batch_opts, dopts);

			if (bpf_map_delete_batch(fd, gone, &n_gone, &dopts) && errno != ENOENT)
				cs_warn("sweep: removing records: %s", strerror(errno));
			sw->removed_any = true;
		}
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
	struct flow_walk w = { .d = d, .life = cs_lifetimes_of(&d->conf, d->conf.flow_idle_ms), .now = cs_now_ns() };
	int proven = bpf_map__fd(d->steer->maps.cs_flows), unproven = bpf_map__fd(d->steer->maps.cs_flows_new);
	__u64 n_proven = 0, n_unproven = 0;

	if (!sweep_flow_table(&w, unproven, -1, &n_unproven) || !sweep_flow_table(&w, proven, unproven, &n_proven))
		cs_map_walk(bpf_map__fd(d->skel->maps.cs_routes), sizeof(struct cs_addr), note_route_used, d);
	cs_stat_set(&d->stats.flows, n_proven);
	cs_stat_set(&d->stats.flows_new, n_unproven);
	cs_stat_add(&d->stats.flows_expired, w.expired);
	if (w.expired)
		cs_debug("sweep: %llu flows over by their state's lifetime", (unsigned long long)w.expired);
}

/* The route goes; its ACL id, counters zeroed, back to the pool. False if
 * it could not be deleted. */
static bool remove_route(struct cs_daemon *d, int fd, const struct cs_addr *key, const struct cs_route *rt)
{
	if (bpf_map_delete_elem(fd, key))
		return false;
	cs_acl_zero(bpf_map__fd(d->steer->maps.cs_acl_stats), rt->acl_id);
	acl_return(d, rt->acl_id);
	return true;
}

/*
 * One route at the end of a pass. It goes when no record and no live flow
 * needs it and learn has not touched it since the pass began (its ACL id,
 * counters zeroed, back to the pool). Otherwise it follows its records'
 * best rule, is flagged while only flows hold it, and gets an ACL id if it
 * waits for one. Returns true if it was removed.
 * (A daemon killed between a route's delete and its id's return, or between
 * the pop of an id and its write into a waiting route, leaves the id
 * nowhere: the next start finds it, acl.c.)
 */
static bool settle_route(struct cs_daemon *d, int fd, const struct cs_addr *key, struct cs_route *rt,
			 unsigned long *assigned)
{
	struct cs_sweep *sw = &d->sweep;
	struct addr_slot *live = addr_find(sw->live, key);
	bool flows = addr_find(sw->flows, key)->used, changed = false, given = false;
	/* learn makes no route under cs_never: only a change of it can leave one */
	__u32 never = sw->check_never ? cs_never_kind_of(bpf_map__fd(d->skel->maps.cs_never), key) : 0;
	char ip[CS_ADDR_TEXT_MAX];

	cs_addr_format(key, ip, sizeof(ip));
	if (never) {
		/* made before its range was never-steered (a reload, a new
		 * address of this host): it goes, flows or not */
		if (!remove_route(d, fd, key, rt))
			return false;
		cs_warn("route %s removed: never steered (%s)", ip, cs_never_kind_name(never));
		return true;
	}
	if (!live->used && !flows && rt->learned_ns < sw->pass_start_ns) {
		if (!remove_route(d, fd, key, rt))
			return false;
		cs_info("route %s removed: no record or flow needs it (acl %u)", ip, rt->acl_id);
		return true;
	}
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
	if (settle_route(w->d, w->fd, key, &rt, &w->assigned)) {
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
		cs_info("sweep: %lu routes removed, %lu given an ACL id", w.removed, w.assigned);
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
static void new_generation(struct cs_daemon *d)
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
		pass_begin(d);
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
		new_generation(d);
	if (sw->logged > CS_LOG_REMOVED_PER_PASS)
		cs_info("sweep: %llu more records removed than logged",
			(unsigned long long)(sw->logged - CS_LOG_REMOVED_PER_PASS));
	if (sw->expired || sw->remapped)
		cs_debug("sweep: pass done: %llu expired, %llu moved to another rule, %zu IPs live",
			 (unsigned long long)sw->expired, (unsigned long long)sw->remapped, sw->live->n);
	cs_sweep_free(sw);
}
