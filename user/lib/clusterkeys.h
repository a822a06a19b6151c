/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * clusterkeys.h - where a cluster keeps what in etcd (docs/cluster.md):
 *
 *   /cloudsteer/v1/<cluster>/nodes/<node>                    a member, on its lease
 *   /cloudsteer/v1/<cluster>/ip/<ip>/<name>                  a learned record
 *   /cloudsteer/v1/<cluster>/obs/<chain>/<instance>/<observer>   a health observation
 *   /cloudsteer/v1/<cluster>/leader/<chain>                  the chain's leader
 *   /cloudsteer/v1/<cluster>/map/<chain>                     the service map's inputs
 *   /cloudsteer/v1/<cluster>/drain/<chain>/<instance>        a drain asked for (persistent)
 *
 * "v1" is the layout's version: a layout that changes gets v2 beside it, so
 * nodes of two versions never read each other's keys.
 */
#ifndef CS_CLUSTERKEYS_H
#define CS_CLUSTERKEYS_H

#include <stddef.h>

#define CS_CKEY_ROOT "/cloudsteer/v1/"
#define CS_CKEY_MAX 512		/* the longest key: a record's IP and 253-octet name */

/* The kinds of keys, each a level under the cluster. */
#define CS_CKEY_NODES  "nodes"
#define CS_CKEY_IP     "ip"
#define CS_CKEY_OBS    "obs"
#define CS_CKEY_LEADER "leader"
#define CS_CKEY_MAP    "map"
#define CS_CKEY_DRAIN  "drain"

/*
 * "/cloudsteer/v1/<cluster>/<kind>/" and then each of parts[0..n), joined
 * by '/'; with n 0 the kind's prefix, its trailing '/' kept, so a prefix
 * get of nodes/ never finds nodesX/. Returns the length, or -ENAMETOOLONG
 * when it does not fit in len (a NUL included).
 */
int cs_ckey(char *buf, size_t len, const char *cluster, const char *kind, const char *const *parts, size_t n);

#endif
