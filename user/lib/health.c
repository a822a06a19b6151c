// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * health.c - the health prober (health.h says what it promises).
 *
 * One thread, one poll() loop. Each target has a "next due" time; a probe in
 * flight has a deadline. tcp and udp probes own a fresh non-blocking socket
 * for the probe's lifetime; icmp probes share one socket per family and are
 * matched by identifier, sequence number, source address and payload. The
 * link watcher's event socket (linkwatch.c: links and routes over netlink)
 * sits in the same loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "clock.h"
#include "health.h"
#include "linkwatch.h"
#include "log.h"

#ifndef ICMP_FILTER
#define ICMP_FILTER 1		/* linux/icmp.h: raw IPv4 ICMP type filter */
#endif

#define ROUTE_REFRESH_MS 30000
#define ICMP_MAGIC	 "cloudsteer-hc"	/* 13 bytes, then the target index */
#define ICMP_LEN	 (8 + 16 + 4)
#define VERDICT_UNKNOWN	 (-1)

enum probe_kind { PROBE_NONE, PROBE_TCP, PROBE_ICMP, PROBE_UDP };

static const char *const kind_names[] = { "link", "tcp", "icmp", "udp" };

struct target {
	char *name;
	struct cs_addr addr;
	bool v4;
	enum probe_kind kind;
	__u16 port;
	__u32 interval_ms, timeout_ms, fall, rise;
	char desc[80];			/* "tcp 10.0.0.2:3128", for messages */

	int verdict;			/* VERDICT_UNKNOWN or enum cs_health_verdict; atomic */
	__u32 good, bad;		/* probes in a row */

	bool inflight;
	int fd;				/* tcp, udp: the probe's socket, or -1 */
	__u16 seq;			/* icmp: the echo's sequence number */
	__u64 started, deadline, next_due;
	__u64 started_ns;		/* for the latency, finer than started */
	bool timed_out;			/* the probe in flight ends without an answer */
	struct cs_probe_stats *stats;	/* NULL: not counted */

	int ifindex;			/* egress interface, 0: not known */
	bool link_down;			/* probes paused until the link is back */
};

struct cs_health {
	struct target *t;
	size_t n;
	cs_health_cb cb;
	void *ctx;

	pthread_t thread;
	int wake_fd;			/* eventfd: stop */

	struct cs_linkwatch links;	/* fds -1 when links cannot be watched */
	__u64 next_refresh;

	int icmp4, icmp6;		/* -1 when no target needs them */
	bool icmp4_raw, icmp6_raw;
	__u16 echo_id;			/* raw sockets: our echo identifier */
	__u16 next_seq;

	struct pollfd *pfd;
	ssize_t *pidx;			/* target of each pollfd, or -1 */
};

/* ---- verdicts ---- */

static void set_verdict(struct cs_health *h, struct target *t, enum cs_health_verdict verdict, const char *why)
{
	if (__atomic_load_n(&t->verdict, __ATOMIC_RELAXED) == (int)verdict) {
		cs_debug("health: instance %s stays %s: %s", t->name, verdict == CS_HEALTH_UP ? "up" : "down",
			 why);
		return;
	}
	__atomic_store_n(&t->verdict, (int)verdict, __ATOMIC_RELEASE);
	if (verdict == CS_HEALTH_UP)
		cs_info("health: instance %s is up: %s", t->name, why);
	else
		cs_warn("health: instance %s is down: %s", t->name, why);
	h->cb(h->ctx, (__u32)(t - h->t), verdict, why);
}

static void abort_probe(struct target *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	t->inflight = false;
}

/* For the metrics: each probe by result, and how long the good ones took. */
static void count_probe(struct target *t, bool ok)
{
	struct cs_probe_stats *s = t->stats;

	if (!s)
		return;
	if (ok) {
		__atomic_fetch_add(&s->ok, 1, __ATOMIC_RELAXED);
		cs_histogram_observe(&s->latency, (cs_now_ns() - t->started_ns) / 1000);
	} else {
		__atomic_fetch_add(t->timed_out ? &s->timeout : &s->failed, 1, __ATOMIC_RELAXED);
	}
	t->timed_out = false;
}

/* A probe ended: ok, or failed for `err`. */
static void probe_done(struct cs_health *h, struct target *t, bool ok, const char *err, __u64 now)
{
	char why[192];
	int verdict = __atomic_load_n(&t->verdict, __ATOMIC_RELAXED);

	abort_probe(t);
	count_probe(t, ok);
	t->next_due = t->started + t->interval_ms;
	if (t->next_due < now)
		t->next_due = now;
	if (ok) {
		t->bad = 0;
		if (t->good < UINT32_MAX)
			t->good++;
		cs_log(CS_LOG_TRACE, "health: %s (%s): good probe, %u in a row", t->name, t->desc,
		       t->good);
		if (verdict != CS_HEALTH_UP && t->good >= t->rise) {
			snprintf(why, sizeof(why), "%s: %u good probe%s in a row", t->desc, t->good,
				 t->good == 1 ? "" : "s");
			set_verdict(h, t, CS_HEALTH_UP, why);
		}
	} else {
		t->good = 0;
		if (t->bad < UINT32_MAX)
			t->bad++;
		cs_log(CS_LOG_TRACE, "health: %s (%s): bad probe (%s), %u in a row", t->name, t->desc,
		       err, t->bad);
		if (verdict != CS_HEALTH_DOWN && t->bad >= t->fall) {
			snprintf(why, sizeof(why), "%s: %s, %u failure%s in a row", t->desc, err, t->bad,
				 t->bad == 1 ? "" : "s");
			set_verdict(h, t, CS_HEALTH_DOWN, why);
		}
	}
}

static void probe_fail_errno(struct cs_health *h, struct target *t, const char *what, int err,
			     __u64 now)
{
	char buf[96];

	if (err == ECONNREFUSED)
		snprintf(buf, sizeof(buf), "%s",
			 t->kind == PROBE_UDP ? "port unreachable" : "connection refused");
	else
		snprintf(buf, sizeof(buf), "%s%s%s", what ? what : "", what ? ": " : "", strerror(err));
	probe_done(h, t, false, buf, now);
}

/* ---- starting probes ---- */

static void start_stream_probe(struct cs_health *h, struct target *t, __u64 now)
{
	static const char payload[] = "cloudsteer health probe\n";
	struct sockaddr_storage ss;
	socklen_t len = cs_addr_to_sockaddr(&t->addr, t->port, &ss);
	int type = t->kind == PROBE_TCP ? SOCK_STREAM : SOCK_DGRAM;

	t->fd = socket(t->v4 ? AF_INET : AF_INET6, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (t->fd < 0) {
		probe_fail_errno(h, t, "socket", errno, now);
		return;
	}
	if (t->kind == PROBE_TCP) {
		/* Close with a reset: no TIME_WAIT piles up at one probe per interval. */
		struct linger lg = { .l_onoff = 1, .l_linger = 0 };

		setsockopt(t->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	if (connect(t->fd, (struct sockaddr *)&ss, len)) {
		if (t->kind == PROBE_TCP && errno == EINPROGRESS)
			return;
		probe_fail_errno(h, t, NULL, errno, now);
		return;
	}
	if (t->kind == PROBE_TCP) {
		probe_done(h, t, true, NULL, now);
		return;
	}
	if (send(t->fd, payload, sizeof(payload) - 1, 0) < 0)
		probe_fail_errno(h, t, "send", errno, now);
}

static __u16 inet_csum(const void *data, size_t len)
{
	const __u8 *p = data;
	__u32 sum = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (__u32)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (__u32)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons((__u16)~sum);
}

static void start_icmp_probe(struct cs_health *h, struct target *t, __u64 now)
{
	__u8 pkt[ICMP_LEN] = { 0 };
	__u32 idx = (__u32)(t - h->t);
	struct sockaddr_storage ss;
	socklen_t len = cs_addr_to_sockaddr(&t->addr, 0, &ss);
	int fd = t->v4 ? h->icmp4 : h->icmp6;
	__u16 id = htons(h->echo_id), seq;

	t->seq = h->next_seq++;
	seq = htons(t->seq);
	pkt[0] = t->v4 ? ICMP_ECHO : ICMP6_ECHO_REQUEST;
	memcpy(&pkt[4], &id, 2);	/* a ping socket puts its own identifier here */
	memcpy(&pkt[6], &seq, 2);
	memcpy(&pkt[8], ICMP_MAGIC, sizeof(ICMP_MAGIC) - 1);
	memcpy(&pkt[24], &idx, 4);
	if (t->v4) {
		__u16 c = inet_csum(pkt, sizeof(pkt));

		memcpy(&pkt[2], &c, 2);	/* ICMPv6: the kernel computes it */
	}
	if (sendto(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&ss, len) < 0)
		probe_fail_errno(h, t, "send", errno, now);
}

static void start_probe(struct cs_health *h, struct target *t, __u64 now)
{
	t->inflight = true;
	t->fd = -1;
	t->started = now;
	t->started_ns = cs_now_ns();
	t->deadline = now + t->timeout_ms;
	if (t->kind == PROBE_ICMP)
		start_icmp_probe(h, t, now);
	else
		start_stream_probe(h, t, now);
}

/* ---- probe answers ---- */

static void on_stream_event(struct cs_health *h, struct target *t, short revents, __u64 now)
{
	int err = 0;
	socklen_t len = sizeof(err);
	char buf[512];

	if (t->kind == PROBE_TCP) {
		if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &len))
			err = errno;
		if (err)
			probe_fail_errno(h, t, NULL, err, now);
		else if (revents & POLLOUT)
			probe_done(h, t, true, NULL, now);
		else
			probe_done(h, t, false, "connection closed", now);
		return;
	}
	if (recv(t->fd, buf, sizeof(buf), MSG_DONTWAIT) >= 0)
		probe_done(h, t, true, NULL, now);
	else if (errno != EAGAIN && errno != EINTR)
		probe_fail_errno(h, t, "recv", errno, now);
}

static void on_icmp_readable(struct cs_health *h, int fd, bool v4, bool raw, __u64 now)
{
	__u8 buf[1024];
	int round;

	for (round = 0; round < 256; round++) {
		struct sockaddr_storage ss;
		socklen_t slen = sizeof(ss);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&ss, &slen);
		const __u8 *p = buf;
		struct target *t;
		struct cs_addr from;
		__u16 id, seq;
		__u32 idx;

		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			continue;	/* an ICMP error for some echo: the timeout judges */
		}
		if (v4 && raw) {	/* raw IPv4 sockets see the IP header */
			size_t ihl;

			if (n < 20)
				continue;
			ihl = (size_t)(buf[0] & 0x0f) * 4;
			if (ihl < 20 || (size_t)n < ihl)
				continue;
			p += ihl;
			n -= (ssize_t)ihl;
		}
		if (n < ICMP_LEN || p[0] != (v4 ? ICMP_ECHOREPLY : ICMP6_ECHO_REPLY) || p[1])
			continue;
		memcpy(&id, &p[4], 2);
		memcpy(&seq, &p[6], 2);
		memcpy(&idx, &p[24], 4);
		if (raw && ntohs(id) != h->echo_id)
			continue;
		if (memcmp(&p[8], ICMP_MAGIC, sizeof(ICMP_MAGIC) - 1) || idx >= h->n)
			continue;
		t = &h->t[idx];
		if (t->kind != PROBE_ICMP || t->v4 != v4 || !t->inflight || t->seq != ntohs(seq))
			continue;
		if (cs_addr_from_sockaddr(&ss, &from) || memcmp(&from, &t->addr, sizeof(from)))
			continue;
		probe_done(h, t, true, NULL, now);
	}
}

/* ---- links ---- */

static void link_fail(struct cs_health *h, struct target *t, const struct cs_link *l)
{
	char why[96];

	abort_probe(t);
	t->link_down = true;
	t->good = t->bad = 0;
	snprintf(why, sizeof(why), "link %s down%s", l->name, l->gone ? " (deleted)" : "");
	set_verdict(h, t, CS_HEALTH_DOWN, why);
}

static void link_back(struct cs_health *h, struct target *t, const struct cs_link *l, __u64 now)
{
	char why[96];

	t->link_down = false;
	t->good = t->bad = 0;
	t->next_due = now;
	if (t->kind == PROBE_NONE) {
		snprintf(why, sizeof(why), "link %s up", l->name);
		set_verdict(h, t, CS_HEALTH_UP, why);
	} else {
		cs_info("health: instance %s: link %s up, probing again (%u good probes needed)",
			t->name, l->name, t->rise);
	}
}

/* Look up t's egress interface again; a change of interface is followed. */
static void refresh_route(struct cs_health *h, struct target *t)
{
	int oif = cs_linkwatch_route_oif(&h->links, &t->addr);
	char a[CS_ADDR_TEXT_MAX];

	if (oif < 0) {
		cs_debug("health: no route to %s (%s): %s", t->name,
			 cs_addr_format(&t->addr, a, sizeof(a)), strerror(-oif));
		return;		/* keep the last known interface */
	}
	if (oif != t->ifindex) {
		const struct cs_link *l = cs_linkwatch_find(&h->links, oif);

		cs_debug("health: instance %s is reached through %s", t->name, l ? l->name : "?");
		t->ifindex = oif;
	}
}

/*
 * Bring every target in line with the links: fail those whose link is down,
 * resume those whose link is back, and follow route changes (not for targets
 * whose link is down: their routes went with the link).
 */
static void apply_links(struct cs_health *h, __u64 now)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		struct target *t = &h->t[i];
		struct cs_link *l;

		if (!t->link_down) {
			/* The link first: once it is down its routes are gone, and a
			 * lookup would find the default route instead. */
			l = t->ifindex ? cs_linkwatch_find(&h->links, t->ifindex) : NULL;
			if (l && !l->running) {
				link_fail(h, t, l);
				continue;
			}
			refresh_route(h, t);
			l = t->ifindex ? cs_linkwatch_find(&h->links, t->ifindex) : NULL;
			if (l && !l->running)
				link_fail(h, t, l);
			continue;
		}
		l = cs_linkwatch_find(&h->links, t->ifindex);
		if (l && l->running) {
			link_back(h, t, l, now);
		} else if (!l || l->gone) {
			/* The interface is gone: is there another way to the instance? */
			int oif = cs_linkwatch_route_oif(&h->links, &t->addr);
			struct cs_link *nl = oif > 0 ? cs_linkwatch_find(&h->links, oif) : NULL;

			if (nl && nl->running) {
				t->ifindex = oif;
				link_back(h, t, nl, now);
			}
		}
	}
}

/* ---- the loop ---- */

static void *health_main(void *arg)
{
	struct cs_health *h = arg;
	size_t i;

	h->links.changed = false;
	if (cs_linkwatch_on(&h->links))
		cs_linkwatch_dump(&h->links);
	apply_links(h, cs_monotonic_ms());
	h->links.changed = false;
	h->next_refresh = cs_monotonic_ms() + ROUTE_REFRESH_MS;

	for (;;) {
		__u64 now = cs_monotonic_ms(), wake = now + 60000;
		nfds_t nfds = 0;
		int timeout, rc;

		for (i = 0; i < h->n; i++) {
			struct target *t = &h->t[i];

			if (t->kind == PROBE_NONE || t->link_down)
				continue;
			if (!t->inflight && now >= t->next_due)
				start_probe(h, t, now);
			if (t->inflight && t->deadline < wake)
				wake = t->deadline;
			else if (!t->inflight && t->next_due < wake)
				wake = t->next_due;
		}
		if (cs_linkwatch_on(&h->links) && h->next_refresh < wake)
			wake = h->next_refresh;

		h->pfd[nfds] = (struct pollfd){ .fd = h->wake_fd, .events = POLLIN };
		h->pidx[nfds++] = -1;
		if (h->links.event_fd >= 0) {
			h->pfd[nfds] = (struct pollfd){ .fd = h->links.event_fd, .events = POLLIN };
			h->pidx[nfds++] = -1;
		}
		if (h->icmp4 >= 0) {
			h->pfd[nfds] = (struct pollfd){ .fd = h->icmp4, .events = POLLIN };
			h->pidx[nfds++] = -1;
		}
		if (h->icmp6 >= 0) {
			h->pfd[nfds] = (struct pollfd){ .fd = h->icmp6, .events = POLLIN };
			h->pidx[nfds++] = -1;
		}
		for (i = 0; i < h->n; i++) {
			struct target *t = &h->t[i];

			if (!t->inflight || t->fd < 0)
				continue;
			h->pfd[nfds] = (struct pollfd){
				.fd = t->fd, .events = t->kind == PROBE_TCP ? POLLOUT : POLLIN
			};
			h->pidx[nfds++] = (ssize_t)i;
		}

		now = cs_monotonic_ms();
		timeout = wake > now ? (int)(wake - now) : 0;
		rc = poll(h->pfd, nfds, timeout);
		if (rc < 0 && errno != EINTR) {
			cs_err("health: poll: %s", strerror(errno));
			break;
		}
		now = cs_monotonic_ms();
		if (rc > 0) {
			for (i = 0; i < nfds; i++) {
				struct pollfd *p = &h->pfd[i];

				if (!p->revents)
					continue;
				if (p->fd == h->wake_fd)
					return NULL;
				if (h->pidx[i] >= 0) {
					struct target *t = &h->t[h->pidx[i]];

					if (t->inflight && t->fd == p->fd)
						on_stream_event(h, t, p->revents, now);
				} else if (p->fd == h->links.event_fd) {
					cs_linkwatch_read_events(&h->links);
				} else {
					if (p->revents & POLLERR) {	/* clear a pending error */
						int err;
						socklen_t len = sizeof(err);

						getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len);
					}
					if (p->fd == h->icmp4)
						on_icmp_readable(h, p->fd, true, h->icmp4_raw, now);
					else
						on_icmp_readable(h, p->fd, false, h->icmp6_raw, now);
				}
			}
		}
		if (h->links.lost_events) {
			h->links.lost_events = false;
			cs_linkwatch_dump(&h->links);
		}
		if (h->links.changed || (cs_linkwatch_on(&h->links) && now >= h->next_refresh)) {
			h->links.changed = false;
			h->next_refresh = now + ROUTE_REFRESH_MS;
			apply_links(h, now);
		}
		for (i = 0; i < h->n; i++) {
			struct target *t = &h->t[i];
			char err[64];

			if (!t->inflight || now < t->deadline)
				continue;
			snprintf(err, sizeof(err), "no answer within %u ms", t->timeout_ms);
			t->timed_out = true;
			probe_done(h, t, false, err, now);
		}
	}
	return NULL;
}

/* ---- start, stop, verdicts ---- */

static int open_icmp(int family, bool *raw)
{
	int proto = family == AF_INET ? IPPROTO_ICMP : IPPROTO_ICMPV6;
	int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);

	*raw = false;
	if (fd >= 0)
		return fd;
	fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	if (fd < 0)
		return -1;
	*raw = true;
	if (family == AF_INET) {
		__u32 mask = ~(1U << ICMP_ECHOREPLY);	/* set bits are dropped */

		setsockopt(fd, SOL_RAW, ICMP_FILTER, &mask, sizeof(mask));
	} else {
		struct icmp6_filter f;

		ICMP6_FILTER_SETBLOCKALL(&f);
		ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
		setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f));
	}
	return fd;
}

static void health_free(struct cs_health *h)
{
	size_t i;

	if (!h)
		return;
	for (i = 0; i < h->n; i++) {
		if (h->t[i].fd >= 0)
			close(h->t[i].fd);
		free(h->t[i].name);
	}
	if (h->wake_fd >= 0)
		close(h->wake_fd);
	cs_linkwatch_close(&h->links);
	if (h->icmp4 >= 0)
		close(h->icmp4);
	if (h->icmp6 >= 0)
		close(h->icmp6);
	free(h->pfd);
	free(h->pidx);
	free(h->t);
	free(h);
}

static int copy_target(struct target *t, const struct cs_health_target *in)
{
	const struct cs_health_conf *hc = in->hc;
	const char *name = in->name ? in->name : "?";
	char a[CS_ADDR_TEXT_MAX];

	t->fd = -1;
	t->verdict = VERDICT_UNKNOWN;
	t->addr = in->addr;
	t->stats = in->stats;
	t->v4 = cs_addr_is_v4(&in->addr);
	t->name = strdup(name);
	if (!t->name)
		return -1;
	if (!hc || !hc->probe)
		t->kind = PROBE_NONE;
	else if (!strcmp(hc->probe, "tcp"))
		t->kind = PROBE_TCP;
	else if (!strcmp(hc->probe, "icmp"))
		t->kind = PROBE_ICMP;
	else if (!strcmp(hc->probe, "udp"))
		t->kind = PROBE_UDP;
	else {
		cs_err("health: instance %s: unknown probe \"%s\" (tcp, icmp or udp)", name, hc->probe);
		errno = EINVAL;
		return -1;
	}
	if ((t->kind == PROBE_TCP || t->kind == PROBE_UDP) && (!hc->port || hc->port > 65535)) {
		cs_err("health: instance %s: a %s probe needs a port (1-65535)", name, hc->probe);
		errno = EINVAL;
		return -1;
	}
	if (hc) {
		t->port = (__u16)hc->port;
		t->interval_ms = hc->interval_ms ? hc->interval_ms : 1;
		t->timeout_ms = hc->timeout_ms ? hc->timeout_ms : 1;
		t->fall = hc->fall ? hc->fall : 1;
		t->rise = hc->rise ? hc->rise : 1;
	}
	cs_addr_format(&t->addr, a, sizeof(a));
	if (t->kind == PROBE_TCP || t->kind == PROBE_UDP)
		snprintf(t->desc, sizeof(t->desc), t->v4 ? "%s %s:%u" : "%s [%s]:%u",
			 kind_names[t->kind], a, t->port);
	else
		snprintf(t->desc, sizeof(t->desc), "%s %s", kind_names[t->kind], a);
	return 0;
}

struct cs_health *cs_health_start(const struct cs_health_target *t, size_t n, cs_health_cb cb,
				  void *ctx)
{
	struct cs_health *h;
	bool need4 = false, need6 = false;
	sigset_t all, old;
	size_t i;
	int err;

	if (!cb || (n && !t)) {
		errno = EINVAL;
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->wake_fd = h->links.event_fd = h->links.query_fd = h->icmp4 = h->icmp6 = -1;
	h->cb = cb;
	h->ctx = ctx;
	h->t = calloc(n ? n : 1, sizeof(*h->t));
	h->pfd = calloc(n + 4, sizeof(*h->pfd));
	h->pidx = calloc(n + 4, sizeof(*h->pidx));
	if (!h->t || !h->pfd || !h->pidx)
		goto fail;
	for (i = 0; i < n; i++) {
		h->t[i].fd = -1;
		h->n = i + 1;
		if (copy_target(&h->t[i], &t[i]))
			goto fail;
		if (h->t[i].kind == PROBE_ICMP)
			*(h->t[i].v4 ? &need4 : &need6) = true;
	}
	h->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (h->wake_fd < 0)
		goto fail;
	h->echo_id = (__u16)(getpid() ^ (uintptr_t)h ^ ((uintptr_t)h >> 16));
	h->next_seq = (__u16)cs_monotonic_ms();
	if (need4 && (h->icmp4 = open_icmp(AF_INET, &h->icmp4_raw)) < 0) {
		cs_err("health: cannot open an ICMP socket: %s", strerror(errno));
		goto fail;
	}
	if (need6 && (h->icmp6 = open_icmp(AF_INET6, &h->icmp6_raw)) < 0) {
		cs_err("health: cannot open an ICMPv6 socket: %s", strerror(errno));
		goto fail;
	}
	if (need4 || need6)
		cs_debug("health: icmp probes use %s sockets",
			 (need4 ? h->icmp4_raw : h->icmp6_raw) ? "raw" : "ping");
	if (cs_linkwatch_open(&h->links))
		cs_warn("health: cannot watch links (%s); instances fail by probes alone",
			strerror(errno));

	/* The thread takes no signals: they stay with the daemon's own threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	err = pthread_create(&h->thread, NULL, health_main, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		errno = err;
		goto fail;
	}
	return h;
fail:
	err = errno;
	health_free(h);
	errno = err;
	return NULL;
}

void cs_health_stop(struct cs_health *h)
{
	__u64 one = 1;

	if (!h)
		return;
	if (write(h->wake_fd, &one, sizeof(one)) != sizeof(one))
		cs_warn("health: cannot wake the prober: %s", strerror(errno));
	pthread_join(h->thread, NULL);
	health_free(h);
}

enum cs_health_verdict cs_health_verdict(const struct cs_health *h, __u32 inst)
{
	int verdict;

	if (!h || inst >= h->n)
		return CS_HEALTH_DOWN;
	verdict = __atomic_load_n(&h->t[inst].verdict, __ATOMIC_ACQUIRE);
	return verdict == CS_HEALTH_DOWN ? CS_HEALTH_DOWN : CS_HEALTH_UP;
}

bool cs_health_known(const struct cs_health *h, __u32 inst)
{
	return h && inst < h->n && __atomic_load_n(&h->t[inst].verdict, __ATOMIC_ACQUIRE) != VERDICT_UNKNOWN;
}
