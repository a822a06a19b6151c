// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * streams.c - the walk over the stream tables (cs_streams, the proven
 * streams, and cs_streams_new), in batches, and the sweep that forgets a
 * stream once it has been quiet for its state's lifetime (lib/flowlife.h):
 * a TCP stream by steer.flow_timeouts, as the steering hosts keep its flow,
 * any other by instance.stream_idle. A synced copy's last packet is its
 * holder's, as of the last version received, so a copy lives by the same
 * rule as the stream itself: a quiet established connection keeps its copy
 * on the peer for as long as its holder keeps it.
 */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "instance.h"
#include "lib/clock.h"
#include "lib/flowlife.h"
#include "lib/log.h"
#include "instance.skel.h"

#define WALK_BATCH 1024

/* Every entry of one table, in batches. */
static void each_in(struct cs_instance_daemon *d, int fd, cs_stream_fn fn, void *arg)
{
	static struct cs_flow_key keys[WALK_BATCH];
	static struct cs_stream vals[WALK_BATCH];
	__u32 token = 0, i;
	bool first = true, more = true;

	while (more) {
		LIBBPF_OPTS(bpf_map_batch_opts, opts);
		__u32 count = WALK_BATCH, out = 0;
		int e = bpf_map_lookup_batch(fd, first ? NULL : &token, &out, keys, vals, &count, &opts);

		if (e && errno != ENOENT) {
			cs_warn("streams: reading the table: %s", strerror(errno));
			return;
		}
		more = !e && count;
		first = false;
		token = out;
		for (i = 0; i < count; i++)
			fn(d, &keys[i], &vals[i], arg);
	}
}

void cs_streams_each(struct cs_instance_daemon *d, cs_stream_fn fn, void *arg)
{
	/* the new ones first: a stream the dataplane proves meanwhile moves
	 * to cs_streams, read second, so the walk does not miss it */
	each_in(d, bpf_map__fd(d->skel->maps.cs_streams_new), fn, arg);
	each_in(d, bpf_map__fd(d->skel->maps.cs_streams), fn, arg);
}

struct sweep {
	struct cs_lifetimes life;
	__u64 now;
	int fd, spill_fd;	/* the table walked; the unproven table when that is cs_streams */
	__u64 seen, removed;
};

static bool stream_alive(const void *value, void *ctx)
{
	const struct cs_stream *st = value;
	const struct sweep *sw = ctx;

	return cs_stream_alive(&sw->life, st->state, st->last_ns, sw->now);
}

/* A stream past its state's lifetime goes, judged again on what its
 * removal returns: a packet the dataplane counted meanwhile keeps it. */
static void forget_if_over(struct cs_instance_daemon *d, const struct cs_flow_key *k, const struct cs_stream *stream,
			   void *arg)
{
	struct sweep *sw = arg;
	struct cs_stream st = *stream;

	(void)d;
	sw->seen++;
	if (!stream_alive(&st, sw) && cs_take_if_over(sw->fd, sw->spill_fd, k, &st, stream_alive, sw) == CS_TAKE_REMOVED)
		sw->removed++;
}

/* One table swept; how many of its streams stay. */
static __u64 sweep_table(struct cs_instance_daemon *d, struct sweep *sw, int fd, int spill_fd)
{
	__u64 seen = sw->seen, removed = sw->removed;

	sw->fd = fd;
	sw->spill_fd = spill_fd;
	each_in(d, fd, forget_if_over, sw);
	return (sw->seen - seen) - (sw->removed - removed);
}

void cs_streams_sweep(struct cs_instance_daemon *d)
{
	struct sweep sw = { .life = cs_lifetimes_of(&d->conf, d->conf.instance.stream_idle_ms), .now = cs_now_ns() };
	int proven = bpf_map__fd(d->skel->maps.cs_streams), unproven = bpf_map__fd(d->skel->maps.cs_streams_new);
	__u64 left_new = sweep_table(d, &sw, unproven, -1), left = sweep_table(d, &sw, proven, unproven);

	cs_stat_set(&d->daemon_stats.streams, left + left_new);
	cs_stat_set(&d->daemon_stats.streams_new, left_new);
	cs_stat_add(&d->daemon_stats.streams_forgotten, sw.removed);
	if (sw.removed)
		cs_debug("streams: forgot %llu stream(s) past their state's lifetime", (unsigned long long)sw.removed);
}
