// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
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

const char *cs_addr_port_parse(const char *text, struct cs_addr *out, __u16 *port)
{
	char host[CS_ADDR_TEXT_MAX + 2], *end;
	const char *colon = strrchr(text, ':');
	bool bracketed = text[0] == '[';
	size_t n;
	long p;

	if (!colon || colon == text)
		return "must be ADDRESS:PORT, e.g. 127.0.0.1:9477 or [::1]:9477";
	n = (size_t)(colon - text);
	if (bracketed) {
		if (text[n - 1] != ']' || n < 3)
			return "an IPv6 address goes in brackets: [::1]:9477";
		text++;
		n -= 2;
	}
	if (n >= sizeof(host))
		return "the address is too long";
	memcpy(host, text, n);
	host[n] = '\0';
	if (cs_addr_parse(host, out))
		return "the address is not an IPv4 or IPv6 address";
	if (!cs_addr_is_v4(out) && !bracketed)
		return "an IPv6 address goes in brackets: [::1]:9477";
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || p < 1 || p > 65535)
		return "the port must be a number from 1 to 65535";
	*port = (__u16)p;
	return NULL;
}

/* Are the bits of a past the first len zero? */
static bool host_bits_clear(const struct cs_addr *a, __u32 len)
{
	__u32 i;

	for (i = len; i < 128; i++)
		if (a->b[i / 8] & (0x80 >> (i % 8)))
			return false;
	return true;
}

const char *cs_prefix_parse(const char *text, struct cs_prefix *out)
{
	char host[CS_ADDR_TEXT_MAX + 1], *end;
	const char *slash = strchr(text, '/');
	size_t n = slash ? (size_t)(slash - text) : strlen(text);
	long len;

	if (!n || n >= sizeof(host))
		return "must be an address or ADDRESS/LENGTH, e.g. 10.0.0.0/8 or fc00::/7";
	memcpy(host, text, n);
	host[n] = '\0';
	if (cs_addr_parse(host, &out->addr))
		return "the address is not an IPv4 or IPv6 address";
	len = cs_addr_is_v4(&out->addr) ? 32 : 128;
	if (slash) {
		errno = 0;
		len = strtol(slash + 1, &end, 10);
		if (!slash[1] || *end || errno || len < 0 || len > (cs_addr_is_v4(&out->addr) ? 32 : 128))
			return cs_addr_is_v4(&out->addr) ? "the length of an IPv4 prefix is 0 to 32"
							 : "the length of an IPv6 prefix is 0 to 128";
	}
	out->len = (__u32)len + (cs_addr_is_v4(&out->addr) ? 96 : 0);
	if (!host_bits_clear(&out->addr, out->len))
		return "the address has bits set past the prefix length (write the network, e.g. 10.0.0.0/8)";
	return NULL;
}

const char *cs_prefix_format(const struct cs_prefix *p, char *buf, size_t len)
{
	char a[CS_ADDR_TEXT_MAX];
	bool v4 = cs_addr_is_v4(&p->addr) && p->len >= 96;

	snprintf(buf, len, "%s/%u", cs_addr_format(&p->addr, a, sizeof(a)), v4 ? p->len - 96 : p->len);
	return buf;
}

bool cs_prefix_has(const struct cs_prefix *p, const struct cs_addr *a)
{
	__u32 i;

	for (i = 0; i < p->len && i < 128; i++)
		if ((a->b[i / 8] ^ p->addr.b[i / 8]) & (0x80 >> (i % 8)))
			return false;
	return true;
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

unsigned int cs_addr_to_sockaddr(const struct cs_addr *a, __u16 port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (cs_addr_is_v4(a)) {
		struct sockaddr_in *s = (struct sockaddr_in *)ss;

		s->sin_family = AF_INET;
		s->sin_port = htons(port);
		memcpy(&s->sin_addr, &a->b[12], 4);
		return sizeof(*s);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;

		s->sin6_family = AF_INET6;
		s->sin6_port = htons(port);
		memcpy(&s->sin6_addr, a->b, 16);
		return sizeof(*s);
	}
}

int cs_addr_from_sockaddr(const struct sockaddr_storage *ss, struct cs_addr *out)
{
	memset(out, 0, sizeof(*out));
	if (ss->ss_family == AF_INET) {
		out->b[10] = out->b[11] = 0xff;
		memcpy(&out->b[12], &((const struct sockaddr_in *)ss)->sin_addr, 4);
		return 0;
	}
	if (ss->ss_family == AF_INET6) {
		memcpy(out->b, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
		return 0;
	}
	return -1;
}

/* A connected UDP socket sends nothing, yet the kernel has routed it: its
 * name is the source, IP_MTU / IPV6_MTU the path MTU. */
int cs_addr_path(const struct cs_addr *dst, struct cs_addr *local, __u32 *mtu)
{
	bool v4 = cs_addr_is_v4(dst);
	struct sockaddr_storage ss;
	socklen_t sl = cs_addr_to_sockaddr(dst, CS_VXLAN_PORT, &ss), ml = sizeof(int);
	int fd, e = 0, m = 0;

	fd = socket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&ss, sl) ||
	    getsockopt(fd, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_MTU : IPV6_MTU, &m, &ml)) {
		e = -errno;
		goto out;
	}
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) || cs_addr_from_sockaddr(&ss, local)) {
		e = errno ? -errno : -EAFNOSUPPORT;
		goto out;
	}
	*mtu = (__u32)m;
out:
	close(fd);
	return e;
}

int cs_addr_tunnel_path(const struct cs_addr *dst, __u32 overhead, struct cs_addr *local, __u16 *inner_mtu)
{
	__u32 mtu = 0;
	int e = cs_addr_path(dst, local, &mtu);

	if (e) {
		memset(local, 0, sizeof(*local));
		*inner_mtu = 0;
		return e;
	}
	/* 68: the least an IPv4 link must carry */
	*inner_mtu = mtu > overhead + 68 ? (__u16)(mtu - overhead > 0xffff ? 0xffff : mtu - overhead) : 0;
	return 0;
}

int cs_local_addrs(struct cs_addr *out, size_t max)
{
	struct ifaddrs *list, *ifa;
	size_t n = 0;

	if (getifaddrs(&list))
		return -errno;
	for (ifa = list; ifa && n < max; ifa = ifa->ifa_next) {
		if (!ifa->ifa_addr || (ifa->ifa_addr->sa_family != AF_INET && ifa->ifa_addr->sa_family != AF_INET6))
			continue;
		if (!cs_addr_from_sockaddr((const struct sockaddr_storage *)ifa->ifa_addr, &out[n]))
			n++;
	}
	freeifaddrs(list);
	return (int)n;
}

bool cs_addr_in(const struct cs_addr *a, const struct cs_addr *set, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!memcmp(a, &set[i], sizeof(*a)))
			return true;
	return false;
}
