/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* addr.h - struct cs_addr (IPv4 kept IPv4-mapped) to and from text. */
#ifndef CS_ADDR_H
#define CS_ADDR_H

#include <stdbool.h>
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

#endif
