/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* addr.h - struct cs_addr (IPv4 kept IPv4-mapped) to and from text. */
#ifndef CS_ADDR_H
#define CS_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "cloudsteer.h"

#define CS_ADDR_TEXT_MAX 46	/* INET6_ADDRSTRLEN */

int cs_addr_parse(const char *text, struct cs_addr *out);
bool cs_addr_is_v4(const struct cs_addr *a);
/* "192.0.2.1:9477" or "[2001:db8::1]:9477" (a port 1..65535): NULL, or
 * what is wrong with it. */
const char *cs_addr_port_parse(const char *text, struct cs_addr *out, __u16 *port);
/* Writes "192.0.2.7" or "2001:db8::7"; returns buf. */
const char *cs_addr_format(const struct cs_addr *a, char *buf, size_t len);

/* A prefix of the 128-bit form: an IPv4 /N is ::ffff:a.b.c.d/(96 + N). */
struct cs_prefix {
	struct cs_addr addr;
	__u32 len;		/* 0..128 */
};

/* "10.0.0.0/8", "fc00::/7" or a bare address (/32, /128): NULL, or what
 * is wrong with it (host bits set are refused, as ip route does). */
const char *cs_prefix_parse(const char *text, struct cs_prefix *out);
/* Writes "10.0.0.0/8" or "fc00::/7"; returns buf (CS_PREFIX_TEXT_MAX). */
#define CS_PREFIX_TEXT_MAX (CS_ADDR_TEXT_MAX + 4)
const char *cs_prefix_format(const struct cs_prefix *p, char *buf, size_t len);
/* Does p hold a? */
bool cs_prefix_has(const struct cs_prefix *p, const struct cs_addr *a);

struct sockaddr_storage;

/* addr and port (host order) as a socket address; returns its length. */
unsigned int cs_addr_to_sockaddr(const struct cs_addr *a, __u16 port, struct sockaddr_storage *ss);
/* The address of an AF_INET or AF_INET6 socket address; -1 for another family. */
int cs_addr_from_sockaddr(const struct sockaddr_storage *ss, struct cs_addr *out);

/*
 * The way this host sends to dst, as the kernel would route a UDP socket:
 * the source address it picks and the path MTU it knows. 0, or -errno
 * (no route).
 */
int cs_addr_path(const struct cs_addr *dst, struct cs_addr *local, __u32 *mtu);

/* The way to a tunnel's far end dst (an instance): this host's address
 * toward it (the outer source) and the largest inner packet its path takes
 * once `overhead` octets of outer headers are added, 0 when it takes less
 * than the 68 octets an IPv4 link must carry. 0, or -errno (no route) with
 * both zeroed. */
int cs_addr_tunnel_path(const struct cs_addr *dst, __u32 overhead, struct cs_addr *local, __u16 *inner_mtu);

/* This host's addresses (every interface, in this network namespace) into
 * out[0..max); returns how many, or -errno. */
int cs_local_addrs(struct cs_addr *out, size_t max);
/* Is a one of set[0..n)? */
bool cs_addr_in(const struct cs_addr *a, const struct cs_addr *set, size_t n);

#endif
