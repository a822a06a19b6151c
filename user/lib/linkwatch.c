// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * linkwatch.c - links and routes over NETLINK_ROUTE (linkwatch.h). The
 * health prober is its one user, so its messages say "health:".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "addr.h"
#include "linkwatch.h"
#include "log.h"

#define NL_BUF_SIZE 32768

struct cs_link *cs_linkwatch_find(struct cs_linkwatch *w, int ifindex)
{
	size_t i;

	for (i = 0; i < w->n_links; i++)
		if (w->links[i].ifindex == ifindex)
			return &w->links[i];
	return NULL;
}

/* The link of ifindex, made (named "ifN" until its name is known) if it
 * is new; NULL when there is no memory for it. */
static struct cs_link *link_get(struct cs_linkwatch *w, int ifindex)
{
	struct cs_link *l = cs_linkwatch_find(w, ifindex);

	if (l)
		return l;
	if (w->n_links == w->cap_links) {
		size_t cap = w->cap_links ? w->cap_links * 2 : 16;
		struct cs_link *bigger = realloc(w->links, cap * sizeof(*bigger));

		if (!bigger)
			return NULL;
		w->links = bigger;
		w->cap_links = cap;
	}
	l = &w->links[w->n_links++];
	memset(l, 0, sizeof(*l));
	l->ifindex = ifindex;
	snprintf(l->name, sizeof(l->name), "if%d", ifindex);
	return l;
}

static void link_update(struct cs_linkwatch *w, const struct nlmsghdr *nh)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifi));
	const struct rtattr *rta;
	struct cs_link *l;

	if (len < 0)
		return;
	l = link_get(w, ifi->ifi_index);
	if (!l)
		return;
	for (rta = IFLA_RTA(ifi); RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == IFLA_IFNAME)
			snprintf(l->name, sizeof(l->name), "%.*s", (int)RTA_PAYLOAD(rta),
				 (const char *)RTA_DATA(rta));
	l->seen = true;
	l->gone = nh->nlmsg_type == RTM_DELLINK;
	l->running = !l->gone && (ifi->ifi_flags & IFF_UP) && (ifi->ifi_flags & IFF_RUNNING);
	w->changed = true;
}

/*
 * Send one request on the query socket and hand every answer to `each`
 * until the end of a dump, or the one answer to a plain request. Returns 0,
 * or a negative errno (also the kernel's NLMSG_ERROR).
 */
static int nl_query(struct cs_linkwatch *w, struct nlmsghdr *req,
		    void (*each)(struct cs_linkwatch *, const struct nlmsghdr *, void *), void *arg)
{
	bool dump = req->nlmsg_flags & NLM_F_DUMP;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	if (w->query_fd < 0)
		return -ENOTSUP;
	req->nlmsg_seq = ++w->seq;
	if (sendto(w->query_fd, req, req->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(w->query_fd, w->buf, NL_BUF_SIZE, 0);
		struct nlmsghdr *nh;
		int len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		len = (int)n;
		for (nh = (struct nlmsghdr *)w->buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len)) {
			if (nh->nlmsg_seq != w->seq)
				continue;	/* the answer to an earlier request that timed out */
			if (nh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);

				if (e->error || !dump)
					return e->error;
				continue;
			}
			each(w, nh, arg);
			if (!dump)
				return 0;
		}
	}
}

static void on_dump_link(struct cs_linkwatch *w, const struct nlmsghdr *nh, void *arg)
{
	(void)arg;
	if (nh->nlmsg_type == RTM_NEWLINK)
		link_update(w, nh);
}

void cs_linkwatch_dump(struct cs_linkwatch *w)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = { .nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
			.nlmsg_type = RTM_GETLINK,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.ifi = { .ifi_family = AF_UNSPEC },
	};
	size_t i;
	int err;

	for (i = 0; i < w->n_links; i++)
		w->links[i].seen = false;
	err = nl_query(w, &req.nh, on_dump_link, NULL);
	if (err) {
		cs_warn("health: cannot list links: %s", strerror(-err));
		return;
	}
	for (i = 0; i < w->n_links; i++)
		if (!w->links[i].seen && !w->links[i].gone) {
			w->links[i].gone = true;
			w->links[i].running = false;
			w->changed = true;
		}
}

static void on_route(struct cs_linkwatch *w, const struct nlmsghdr *nh, void *arg)
{
	const struct rtmsg *rt = NLMSG_DATA(nh);
	int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*rt));
	const struct rtattr *rta;
	int *oif = arg;

	(void)w;
	if (nh->nlmsg_type != RTM_NEWROUTE || len < 0)
		return;
	for (rta = RTM_RTA(rt); RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == RTA_OIF && RTA_PAYLOAD(rta) >= sizeof(int))
			memcpy(oif, RTA_DATA(rta), sizeof(int));
}

int cs_linkwatch_route_oif(struct cs_linkwatch *w, const struct cs_addr *dst)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		struct rtattr rta;
		__u8 addr[16];
	} req;
	bool v4 = cs_addr_is_v4(dst);
	size_t alen = v4 ? 4 : 16;
	int oif = 0, err;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct rtmsg)) + RTA_LENGTH(alen);
	req.nh.nlmsg_type = RTM_GETROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.rt.rtm_family = v4 ? AF_INET : AF_INET6;
	req.rt.rtm_dst_len = (unsigned char)(alen * 8);
	req.rta.rta_type = RTA_DST;
	req.rta.rta_len = RTA_LENGTH(alen);
	memcpy(req.addr, v4 ? &dst->b[12] : dst->b, alen);
	err = nl_query(w, &req.nh, on_route, &oif);
	if (err)
		return err;
	return oif > 0 ? oif : -ENOENT;
}

void cs_linkwatch_read_events(struct cs_linkwatch *w)
{
	int round;

	for (round = 0; round < 64; round++) {
		ssize_t n = recv(w->event_fd, w->buf, NL_BUF_SIZE, MSG_DONTWAIT);
		struct nlmsghdr *nh;
		int len;

		if (n < 0) {
			if (errno == ENOBUFS) {	/* events were lost: list the links again */
				w->lost_events = true;
				continue;
			}
			return;
		}
		len = (int)n;
		for (nh = (struct nlmsghdr *)w->buf; NLMSG_OK(nh, len); nh = NLMSG_NEXT(nh, len))
			if (nh->nlmsg_type == RTM_NEWLINK || nh->nlmsg_type == RTM_DELLINK)
				link_update(w, nh);
	}
}

static int open_sockets(struct cs_linkwatch *w)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	struct timeval tv = { .tv_sec = 1 };

	w->event_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (w->event_fd < 0 || bind(w->event_fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	w->query_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (w->query_fd < 0)
		return -1;
	setsockopt(w->query_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	w->buf = malloc(NL_BUF_SIZE);
	return w->buf ? 0 : -1;
}

int cs_linkwatch_open(struct cs_linkwatch *w)
{
	int err;

	memset(w, 0, sizeof(*w));
	w->event_fd = w->query_fd = -1;
	if (!open_sockets(w))
		return 0;
	err = errno;
	cs_linkwatch_close(w);
	errno = err;
	return -1;
}

void cs_linkwatch_close(struct cs_linkwatch *w)
{
	if (w->event_fd >= 0)
		close(w->event_fd);
	if (w->query_fd >= 0)
		close(w->query_fd);
	free(w->buf);
	free(w->links);
	memset(w, 0, sizeof(*w));
	w->event_fd = w->query_fd = -1;
}

bool cs_linkwatch_on(const struct cs_linkwatch *w)
{
	return w->query_fd >= 0;
}
