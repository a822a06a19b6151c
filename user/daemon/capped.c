// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * capped.c - answers cut at learn.max_records, said loudly but not often.
 *
 * learn walks at most learn.max_records records of an answer: the addresses
 * past them are not learned, and a client that picks one of them connects
 * around the chain. The default walks more records than any message learn
 * reads can hold, so only a config that lowers it cuts answers. learn counts
 * every cut answer (rec_capped, in `show stats` and the metrics); the daemon
 * warns in its log, at once the first time, then at most once every
 * CS_CAPPED_WARN_MS with how many were cut since: a server that sends big
 * answers all day writes a line a minute, not a line an answer.
 */
#include <bpf/libbpf.h>

#include "daemon.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/maps.h"
#include "learn.skel.h"

/* Answers learn cut since it was loaded, over every CPU; false if unread. */
static bool capped_count(struct cs_daemon *d, __u64 *n)
{
	return !cs_percpu_sum(bpf_map__fd(d->skel->maps.cs_learn_stats), CS_R_REC_CAPPED, 1, n, 1);
}

void cs_capped_begin(struct cs_daemon *d)
{
	/* what an earlier daemon's learn cut was that daemon's to say */
	if (!capped_count(d, &d->capped_seen))
		d->capped_seen = 0;
	d->capped_warned_ms = 0;
}

void cs_capped_tick(struct cs_daemon *d)
{
	__u64 now = cs_monotonic_ms(), n;

	if (d->capped_warned_ms && now - d->capped_warned_ms < CS_CAPPED_WARN_MS)
		return;
	if (!capped_count(d, &n) || n <= d->capped_seen)
		return;
	cs_warn("learn: %llu answer%s held more records than learn.max_records (%u) %s: the addresses "
		"past it were not learned, and connections to them are not steered; raise "
		"learn.max_records (at most %u)",
		(unsigned long long)(n - d->capped_seen), n - d->capped_seen == 1 ? "" : "s",
		d->conf.max_records, d->capped_warned_ms ? "since the last warning" : "since the daemon started",
		CS_RECORDS_MAX);
	d->capped_seen = n;
	d->capped_warned_ms = now;
}
