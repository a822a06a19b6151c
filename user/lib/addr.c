// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"

static const __u8 v4_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int cs_addr_parse(const char *text, struct cs_addr *out)
{
	struct in_addr v4;

	if (inet_pton(AF_INET, text, &v4) == 1) {
		memcpy(out->b, v4_prefix, sizeof(v4_prefix));
		memcpy(&out->b[12], &v4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, text, out->b) == 1 ? 0 : -1;
}

bool cs_addr_is_v4(const struct cs_addr *a)
{
	return !memcmp(a->b, v4_prefix, sizeof(v4_prefix));
}

const char *cs_addr_format(const struct cs_addr *a, char *buf, size_t len)
{
	if (cs_addr_is_v4(a))
		inet_ntop(AF_INET, &a->b[12], buf, len);
	else
		inet_ntop(AF_INET6, a->b, buf, len);
	return buf;
}

/* A connected UDP socket sends nothing, yet the kernel has routed it: its
 * name is the source, IP_MTU / IPV6_MTU the path MTU. */
int cs_addr_path(const struct cs_addr *dst, struct cs_addr *local, __u32 *mtu)
{
	bool v4 = cs_addr_is_v4(dst);
	struct sockaddr_storage ss = { 0 };
	socklen_t sl = sizeof(ss);
	int fd, e = 0, m = 0;
	socklen_t ml = sizeof(m);

	if (v4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(CS_VXLAN_PORT);
		memcpy(&sin->sin_addr, &dst->b[12], 4);
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(CS_VXLAN_PORT);
		memcpy(&sin6->sin6_addr, dst->b, 16);
		sl = sizeof(*sin6);
	}
	fd = socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, sl) ||
	    getsockopt(fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_MTU : IPV6_MTU, &m, &ml)) {
		e = -errno;
		goto out;
	}
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl)) {
		e = -errno;
		goto out;
	}
	memset(local, 0, sizeof(*local));
	if (v4) {
		local->b[10] = local->b[11] = 0xff;
		memcpy(&local->b[12], &((struct sockaddr_in *)&ss)->sin_addr, 4);
	} else {
		memcpy(local->b, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
	}
	*mtu = (__u32)m;
out:
	close(fd);
	return e;
}
