// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The periodic summary of what learn and the sweep did. A line per record
 * is debug level (-v): a busy resolver teaches thousands a second, more
 * than journald's rate limit lets through. At info, once an interval when
 * anything happened: "learned 120 new records, refreshed 3400, expired 15,
 * removed 12 routes in the last 60 s". learn's own counters (cs_learn_stats)
 * count the records, so a lost event is still counted; the sweep's (the
 * metrics' stats) the expiries and removals.
 */
#include <stdio.h>
#include <stdlib.h>

#include <bpf/libbpf.h>

#include "daemon.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/maps.h"
#include "lib/notify.h"
#include "learn.skel.h"

#define SUMMARY_EVERY_MS 60000
/* For tests only: the interval in milliseconds, so a test need not wait a
 * minute. Not a setting: operators have no reason to change it. */
#define SUMMARY_ENV "CLOUDSTEER_TEST_SUMMARY_MS"

static __u64 load(const __u64 *stat)
{
	return __atomic_load_n(stat, __ATOMIC_RELAXED);
}

/* The counters now, as totals since start (learn's: since the pins were made). */
static void take(struct cs_daemon *d, struct cs_summary_counts *c)
{
	__u64 rec[2] = { 0, 0 };	/* CS_R_REC_LEARNED, CS_R_REC_REFRESHED: adjacent */

	_Static_assert(CS_R_REC_REFRESHED == CS_R_REC_LEARNED + 1, "learned and refreshed are read together");
	cs_percpu_sum(bpf_map__fd(d->skel->maps.cs_learn_stats), CS_R_REC_LEARNED, 2, rec, 1);
	c->learned = rec[0];
	c->refreshed = rec[1];
	c->expired = load(&d->stats.expired);
	c->evicted = load(&d->stats.evicted);
	c->routes_removed = load(&d->stats.routes_removed);
}

void cs_summary_begin(struct cs_daemon *d)
{
	const char *env = getenv(SUMMARY_ENV);
	long ms = env ? atol(env) : 0;

	d->summary.every_ms = ms > 0 ? (__u64)ms : SUMMARY_EVERY_MS;
	d->summary.since_ms = cs_monotonic_ms();
	take(d, &d->summary.last);
}

static void say(const struct cs_summary_counts *n, __u64 ms)
{
	char evicted[48] = "";

	if (n->evicted)
		snprintf(evicted, sizeof(evicted), ", evicted %llu", (unsigned long long)n->evicted);
	cs_info("learned %llu new records, refreshed %llu, expired %llu%s, removed %llu routes in the last %llu s",
		(unsigned long long)n->learned, (unsigned long long)n->refreshed, (unsigned long long)n->expired,
		evicted, (unsigned long long)n->routes_removed, (unsigned long long)(ms + 500) / 1000);
}

void cs_summary_tick(struct cs_daemon *d, void (*status)(void *daemon, char *buf, size_t len))
{
	struct cs_summary_counts now, *last = &d->summary.last, n;
	__u64 t = cs_monotonic_ms();
	char line[256];

	if (t - d->summary.since_ms < d->summary.every_ms)
		return;
	take(d, &now);
	n.learned = now.learned - last->learned;
	n.refreshed = now.refreshed - last->refreshed;
	n.expired = now.expired - last->expired;
	n.evicted = now.evicted - last->evicted;
	n.routes_removed = now.routes_removed - last->routes_removed;
	if (n.learned || n.refreshed || n.expired || n.evicted || n.routes_removed) {
		say(&n, t - d->summary.since_ms);
		status(d, line, sizeof(line));	/* the routes changed: systemctl status follows */
		cs_notify_status(line);
	}
	*last = now;
	d->summary.since_ms = t;
}
