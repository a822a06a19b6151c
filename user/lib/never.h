/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * never.h - the addresses that never become routes, whatever DNS says (DNS
 * rebinding): built-in ranges (loopback, link-local, multicast and
 * broadcast, unspecified), learn.never_steer (private ranges by default)
 * and this host's own addresses, in the cs_never LPM trie that learn reads
 * before it makes a route.
 */
#ifndef CS_NEVER_H
#define CS_NEVER_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "addr.h"
#include "config.h"

/* Call put(prefix, kind, ctx) for every configured, then every built-in
 * prefix (the order cs_never_write writes them in); stops at the first
 * non-zero return and returns it. */
int cs_never_each(const struct cs_conf *conf, int (*put)(const struct cs_prefix *p, __u32 kind, void *ctx),
		  void *ctx);

/* Write the built-in and configured prefixes into cs_never (fd) and remove
 * other prefixes, except the host's own addresses (cs_never_sync_local's).
 * 0 or -errno. */
int cs_never_write(int fd, const struct cs_conf *conf);

/* Make the host's own addresses in cs_never exactly addrs[0..n). Returns
 * how many entries changed, or -errno. */
int cs_never_sync_local(int fd, const struct cs_addr *addrs, size_t n);

/* The kind of never-steer prefix that holds a in cs_never (fd), or 0 if none. */
__u32 cs_never_kind_of(int fd, const struct cs_addr *a);

#endif
