// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * streams.c - the walk over cs_streams, in batches, and the idle sweep: a
 * stream quiet for instance.stream_idle is forgotten (a closed one after
 * CS_CLOSED_IDLE_MS). A synced copy's last packet is its holder's, as of
 * the last version received; the holder re-sends active streams every
 * quarter of stream_idle, so a copy outlives its stream by less than that.
 */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "instance.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "instance.skel.h"

#define WALK_BATCH 1024

void cs_streams_each(struct cs_instance_daemon *d, cs_stream_fn fn, void *arg)
{
	int fd = bpf_map__fd(d->skel->maps.cs_streams);
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

struct sweep {
	__u64 now;
	__u64 seen, removed;
};

static void forget_if_idle(struct cs_instance_daemon *d, const struct cs_flow_key *k, const struct cs_stream *stream,
			   void *arg)
{
	struct sweep *sw = arg;
	__u64 idle_ms = stream->state == CS_ST_CLOSED ? CS_CLOSED_IDLE_MS : d->conf.instance.stream_idle_ms;

	sw->seen++;
	if (sw->now > stream->last_ns && sw->now - stream->last_ns > idle_ms * 1000000ULL &&
	    !bpf_map_delete_elem(bpf_map__fd(d->skel->maps.cs_streams), k))
		sw->removed++;
}

void cs_streams_sweep(struct cs_instance_daemon *d)
{
	struct sweep sw = { .now = cs_now_ns() };

	cs_streams_each(d, forget_if_idle, &sw);
	cs_stat_set(&d->daemon_stats.streams, sw.seen - sw.removed);
	cs_stat_add(&d->daemon_stats.streams_forgotten, sw.removed);
	if (sw.removed)
		cs_debug("streams: forgot %llu idle stream(s)", (unsigned long long)sw.removed);
}
