/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * health.h - the health prober: one thread that probes every chain instance
 * (tcp connect, icmp echo or udp request/reply) on its own interval, and
 * watches the links towards them, and says when its verdict on an instance
 * changes.
 *
 * Verdicts. Every instance starts "unknown" and nothing is reported until its
 * first verdict: `rise` good probes in a row make it UP, `fall` bad probes in
 * a row make it DOWN. After that, only changes are reported: an UP instance
 * goes DOWN after `fall` failures in a row, a DOWN one comes UP after `rise`
 * successes in a row.
 *
 * Links. The prober learns the egress interface towards each instance from
 * the kernel's routes (RTM_GETROUTE) and listens to link events (RTMGRP_LINK),
 * through lib/linkwatch.
 * When that interface goes down (IFF_UP or IFF_RUNNING cleared) or is
 * deleted, the instance is reported DOWN at once, with why "link X down", and
 * its probes pause; when the link comes back, probing resumes and `rise`
 * good probes bring the instance UP again. Routes are looked up again after
 * every link change and every 30 s.
 *
 * Threads. The callback runs on the prober thread, one call at a time, never
 * from cs_health_start() or cs_health_stop() themselves. It must be quick
 * (it delays the probes), must not call cs_health_stop(), and must do its own
 * locking if it touches state shared with other threads. cs_health_verdict()
 * may be called from any thread at any time.
 */
#ifndef CS_HEALTH_H
#define CS_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "cloudsteer.h"
#include "config.h"
#include "metrics.h"

/* What the probes say of an instance. */
enum cs_health_verdict { CS_HEALTH_DOWN = 0, CS_HEALTH_UP = 1 };

/*
 * Called from the prober thread when an instance's verdict changes (after `rise`
 * good or `fall` bad probes in a row, or at once on link-down). inst is the
 * 0-based position of the instance in the list given to cs_health_start.
 * why ("tcp 10.30.0.2:3128: connection refused, 3 failures in a row",
 * "link eth1 down") is valid during the call only.
 */
typedef void (*cs_health_cb)(void *ctx, __u32 inst, enum cs_health_verdict verdict, const char *why);

struct cs_health_target {
	const char *name;			/* instance name, for logs */
	struct cs_addr addr;			/* IPv4-mapped or IPv6 */
	const struct cs_health_conf *hc;	/* probe kind, port, interval_ms,
						 * timeout_ms, fall, rise */
	struct cs_probe_stats *stats;		/* NULL, or where each probe's result
						 * and latency are counted (it must
						 * outlive the prober) */
};

struct cs_health;

/*
 * Start one thread that probes every target on its own interval. The
 * targets are copied (name, address and health settings), so t and what it
 * points to may be freed afterwards.
 *
 * hc->probe NULL (no probe configured) watches the link alone: the instance
 * is reported DOWN when its link goes down and UP as soon as it comes back.
 * tcp and udp need a port. interval and timeout of 0 count as 1 ms, fall and
 * rise of 0 as 1. Returns NULL with errno set (EINVAL: a bad target, which is
 * also logged; else the error of a socket or of the thread).
 */
struct cs_health *cs_health_start(const struct cs_health_target *t, size_t n, cs_health_cb cb,
				  void *ctx);

/* Stops the thread (at once: a probe in flight is abandoned), joins it, frees. */
void cs_health_stop(struct cs_health *h);

/*
 * The current verdict of an instance: what the callback said last. Before
 * the first verdict an instance counts as UP (see cs_health_known); an inst
 * out of range is DOWN.
 */
enum cs_health_verdict cs_health_verdict(const struct cs_health *h, __u32 inst);

/* Whether the instance has had a verdict yet (false: still unknown). */
bool cs_health_known(const struct cs_health *h, __u32 inst);

#endif
