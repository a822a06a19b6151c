/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * xdpfeat.h - what an interface's driver can do with XDP, as the kernel
 * says through the "netdev" generic netlink family (Linux 6.3 and later;
 * libbpf 1.1 cannot ask it yet).
 */
#ifndef CS_XDPFEAT_H
#define CS_XDPFEAT_H

#include <stdbool.h>
#include <linux/types.h>

/* The bits of the answer (enum netdev_xdp_act, linux/netdev.h, which
 * Debian 12's headers predate) that cloudsteer reads. */
#define CS_XDP_ACT_BASIC    0x1	/* XDP_PASS, XDP_DROP, XDP_TX */
#define CS_XDP_ACT_REDIRECT 0x2	/* XDP_REDIRECT from its own XDP program */
#define CS_XDP_ACT_NDO_XMIT 0x4	/* takes frames other interfaces' XDP redirects */

/* The XDP features of ifindex into *features. 0, or -errno: -ENOENT when
 * the kernel has no netdev family (before 6.3), -ENODEV when no such
 * interface. */
int cs_xdp_features(int ifindex, __u64 *features);

/* Is ifname a veth? Its driver, as ethtool names it. */
bool cs_if_is_veth(const char *ifname);

#endif /* CS_XDPFEAT_H */
