/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * flowlife.h - how long a quiet stream lives, by its state: the rule both
 * daemons enforce on the dataplane's stream tables (steer's cs_flows and
 * cs_flows_new, swept by `cloudsteer run`; the instance's cs_streams and
 * cs_streams_new, swept by `cloudsteer instance`), and the removal that
 * never loses a stream the dataplane touched while it was being judged.
 *
 * A TCP stream lives by its state (bpf/lib/flowstate.h keeps it), like
 * Linux's conntrack: a handshake that does not complete goes soon, an
 * established connection may stay quiet for days, a closing one goes after
 * its last packets. Other protocols have no state to tell: they live for an
 * idle time (steer.flow_idle, instance.stream_idle).
 */
#ifndef CS_FLOWLIFE_H
#define CS_FLOWLIFE_H

#include <stdbool.h>
#include <linux/types.h>

#include "config.h"

struct cs_lifetimes {
	struct cs_flow_timeouts tcp;	/* by TCP state */
	__u32 other_ms;			/* ACTIVE: UDP and other protocols */
};

/* The lifetimes a daemon enforces: TCP's from steer.flow_timeouts (the
 * instance role keeps its streams by steer's rule, so both ends of a chain
 * agree), other protocols' idle time as given. */
struct cs_lifetimes cs_lifetimes_of(const struct cs_conf *conf, __u32 other_ms);

/* How long a quiet stream in `state` (enum cs_stream_state) lives, in ms. */
__u64 cs_lifetime_ms(const struct cs_lifetimes *l, __u8 state);

/* Is a stream in `state` whose last packet came at last_ns still alive at
 * now_ns (CLOCK_BOOTTIME)? Alive up to its lifetime, that instant
 * included; a last packet after now_ns (the dataplane's clock read later
 * than the sweep's) is alive. */
bool cs_stream_alive(const struct cs_lifetimes *l, __u8 state, __u64 last_ns, __u64 now_ns);

enum cs_take {
	CS_TAKE_KEPT,		/* alive as removed: put back */
	CS_TAKE_REMOVED,	/* over: removed; *value is what was removed */
	CS_TAKE_GONE,		/* not there any more (or not removable): nothing done */
};

/*
 * Remove the entry at key from table fd if it is over, judged on the value
 * that the removal itself returns (bpf_map_lookup_and_delete_elem), so a
 * packet the dataplane counted after the caller read the entry is never
 * lost: an entry that turns out alive goes back, into fd (BPF_NOEXIST; when
 * the dataplane made a new entry for it meanwhile, the old one goes back
 * over it, BPF_ANY, so its pin is kept). spill_fd is the table of unproven
 * streams when fd is the proven one (else -1): a copy the dataplane made
 * there meanwhile is removed, and an entry that finds fd full goes there.
 * value, of fd's value size, receives the entry.
 */
enum cs_take cs_take_if_over(int fd, int spill_fd, const void *key, void *value,
			     bool (*alive)(const void *value, void *ctx), void *ctx);

#endif
