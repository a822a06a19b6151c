// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * xdpfeat.c - an interface's XDP features from the kernel's "netdev"
 * generic netlink family: the family's id from the controller, then
 * NETDEV_CMD_DEV_GET for the interface. Raw netlink, one request and one
 * answer each, on a socket of its own.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/ethtool.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include "xdpfeat.h"

/* linux/netdev.h (6.3): the family, its command and attributes */
#define NETDEV_FAMILY_NAME        "netdev"
#define NETDEV_CMD_DEV_GET        1
#define NETDEV_A_DEV_IFINDEX      1
#define NETDEV_A_DEV_XDP_FEATURES 3

struct gnl_msg {
	struct nlmsghdr nh;
	struct genlmsghdr g;
	char attrs[4096];	/* the controller's answer names ops and groups too */
};

static void put_attr(struct gnl_msg *m, __u16 type, const void *data, __u16 len)
{
	struct nlattr *a = (struct nlattr *)((char *)m + NLMSG_ALIGN(m->nh.nlmsg_len));

	a->nla_type = type;
	a->nla_len = (__u16)(NLA_HDRLEN + len);
	memcpy((char *)a + NLA_HDRLEN, data, len);
	m->nh.nlmsg_len = NLMSG_ALIGN(m->nh.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

/* Send m, read the answer into m. 0, or -errno (the kernel's, from an
 * error message). */
static int transact(int fd, struct gnl_msg *m)
{
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	ssize_t n;

	if (sendto(fd, m, m->nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	n = recv(fd, m, sizeof(*m), 0);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(struct nlmsghdr) || !NLMSG_OK(&m->nh, (__u32)n))
		return -EBADMSG;
	if (m->nh.nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(&m->nh);

		return e->error ? e->error : -EBADMSG;
	}
	return 0;
}

/* The attribute `type` of an answer, NULL when absent. */
static const struct nlattr *find_attr(const struct gnl_msg *m, __u16 type)
{
	const char *p = (const char *)m + NLMSG_HDRLEN + GENL_HDRLEN;
	const char *end = (const char *)m + m->nh.nlmsg_len;

	while (p + NLA_HDRLEN <= end) {
		const struct nlattr *a = (const struct nlattr *)p;

		if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end)
			return NULL;
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			return a;
		p += NLA_ALIGN(a->nla_len);
	}
	return NULL;
}

static void request(struct gnl_msg *m, __u16 family, __u8 cmd)
{
	memset(m, 0, sizeof(*m));
	m->nh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	m->nh.nlmsg_type = family;
	m->nh.nlmsg_flags = NLM_F_REQUEST;
	m->g.cmd = cmd;
	m->g.version = 1;
}

static int family_id(int fd, __u16 *id)
{
	struct gnl_msg m;
	const struct nlattr *a;
	int e;

	request(&m, GENL_ID_CTRL, CTRL_CMD_GETFAMILY);
	put_attr(&m, CTRL_ATTR_FAMILY_NAME, NETDEV_FAMILY_NAME, sizeof(NETDEV_FAMILY_NAME));
	e = transact(fd, &m);
	if (e)
		return e;
	a = find_attr(&m, CTRL_ATTR_FAMILY_ID);
	if (!a || a->nla_len < NLA_HDRLEN + sizeof(__u16))
		return -EBADMSG;
	memcpy(id, (const char *)a + NLA_HDRLEN, sizeof(*id));
	return 0;
}

int cs_xdp_features(int ifindex, __u64 *features)
{
	struct timeval tv = { .tv_sec = 1 };
	const struct nlattr *a;
	struct gnl_msg m;
	__u32 idx = (__u32)ifindex;
	__u16 family;
	int fd, e;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0)
		return -errno;
	/* the kernel answers at once; a second bounds what a stuck one costs */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	e = family_id(fd, &family);
	if (e) {
		close(fd);
		return e;
	}
	request(&m, family, NETDEV_CMD_DEV_GET);
	put_attr(&m, NETDEV_A_DEV_IFINDEX, &idx, sizeof(idx));
	e = transact(fd, &m);
	close(fd);
	if (e)
		return e;
	a = find_attr(&m, NETDEV_A_DEV_XDP_FEATURES);
	if (!a || a->nla_len < NLA_HDRLEN + sizeof(__u64))
		return -EBADMSG;
	memcpy(features, (const char *)a + NLA_HDRLEN, sizeof(*features));
	return 0;
}

bool cs_if_is_veth(const char *ifname)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr;
	bool veth;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return false;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (char *)&info;
	veth = !ioctl(fd, SIOCETHTOOL, &ifr) && !strcmp(info.driver, "veth");
	close(fd);
	return veth;
}
