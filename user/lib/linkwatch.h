/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * linkwatch.h - this host's links and its routes to given addresses, as the
 * kernel tells them over NETLINK_ROUTE, for the health prober: a socket
 * subscribed to link events (RTMGRP_LINK) for the caller's poll loop, and a
 * second, blocking one for queries (the kernel answers those at once, so
 * they never wait on the network).
 */
#ifndef CS_LINKWATCH_H
#define CS_LINKWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <net/if.h>
#include <linux/types.h>

#include "cloudsteer.h"

struct cs_link {
	int ifindex;
	char name[IF_NAMESIZE];
	bool running;			/* IFF_UP and IFF_RUNNING */
	bool gone;			/* deleted */
	bool seen;			/* in the last dump */
};

struct cs_linkwatch {
	int event_fd;			/* RTMGRP_LINK events, or -1 */
	int query_fd;			/* queries, or -1 */
	__u32 seq;
	char *buf;
	bool changed;			/* a link changed: the caller clears it */
	bool lost_events;		/* the kernel dropped events: dump again */
	struct cs_link *links;
	size_t n_links, cap_links;
};

/* Open both sockets. 0, or -1 with errno and nothing left open (both fds
 * -1): the caller goes on without links. */
int cs_linkwatch_open(struct cs_linkwatch *w);
void cs_linkwatch_close(struct cs_linkwatch *w);
/* Whether the sockets are open. */
bool cs_linkwatch_on(const struct cs_linkwatch *w);

/* List every link again (RTM_GETLINK); a link the list lacks is gone. */
void cs_linkwatch_dump(struct cs_linkwatch *w);
/* Read the link events waiting on event_fd, without blocking. */
void cs_linkwatch_read_events(struct cs_linkwatch *w);
/* The link with that ifindex, or NULL when none was seen. */
struct cs_link *cs_linkwatch_find(struct cs_linkwatch *w, int ifindex);
/* The interface the kernel would send to dst through (RTM_GETROUTE), or a
 * negative errno. */
int cs_linkwatch_route_oif(struct cs_linkwatch *w, const struct cs_addr *dst);

#endif
