/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* common.h - what every cloudsteer BPF program includes first. */
#ifndef CS_BPF_COMMON_H
#define CS_BPF_COMMON_H

/* tests/fuzz builds the programs as userspace C with CS_BPF_SHIM: its shim
 * gives the same names (types, SEC, helpers) over plain memory. */
#ifdef CS_BPF_SHIM
#include "bpf_shim.h"
#else
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#endif

#include "cloudsteer.h"
#include "namehash.h"

#define ETH_P_IP      0x0800
#define ETH_P_IPV6    0x86DD
#define ETH_P_8021Q   0x8100
#define ETH_P_8021AD  0x88A8

/* TC verdicts (linux/pkt_cls.h, which vmlinux.h does not carry): steer,
 * instance and query return one of these */
#define TC_ACT_OK     0
#define TC_ACT_SHOT   2

#define IP_MF         0x2000
#define IP_OFFSET     0x1FFF

#ifndef IPPROTO_HOPOPTS
#define IPPROTO_HOPOPTS  0
#endif
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_DSTOPTS_ 60

/* errno values the programs compare helper results with */
#define E2BIG 7
#define EEXIST 17
#define EALREADY 114

/* Map value access with a bounds check the verifier can follow. */
#define CS_MASK(x, size) ((x) & ((size) - 1))

#endif /* CS_BPF_COMMON_H */
