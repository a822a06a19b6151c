/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * refdns.h - a plain C reference learner: what the learn program should make
 * of a frame, written from docs/concepts.md ("What learn does"),
 * docs/design.md and cloudsteer.h, and sharing no code with bpf/. The randomized campaign
 * (tests/prog/learn_fuzz_test.c) and the libFuzzer target (tests/fuzz/)
 * both hold the program to it.
 *
 * It reads names the way the contract says: labels of at most 63 octets, 255
 * octets in all, at most CS_POINTERS_MAX pointers, each pointing before the
 * run of labels that holds it. Where the contract leaves a choice open it
 * follows the program:
 *   - an owner that is a bare pointer to a chain name's offset is that name;
 *   - in a TC=1 answer only a record that runs off the end stops the walk
 *     quietly (a malformed one still refuses the answer);
 *   - below DNS, the IPv4 version nibble and checksums are not checked, an
 *     IPv4 total length or IPv6 payload length is trusted as far as the UDP
 *     length or TCP header must fit in it, and the message must lie in the
 *     frame; an Ethernet frame cut inside its headers is "not_ip";
 *   - after CS_IPV6_EXT_MAX extension headers the next header is taken as
 *     the transport protocol, whatever it is.
 */
#ifndef CS_TEST_REFDNS_H
#define CS_TEST_REFDNS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "cloudsteer.h"

/* One pattern of the rules, as the reference reads it: the name in lower
 * case without the "=" or "*." of its kind. */
struct refdns_pattern {
	const char *name;
	enum cs_match_kind kind;
	__u32 rule, pattern;
};

/* A rule's TTL clamps and grace, in seconds. */
struct refdns_ttl {
	__u32 min, max, grace;
};

struct refdns_rules {
	const struct refdns_pattern *patterns;
	size_t n_patterns;
	const struct refdns_ttl *ttl;	/* by rule id; [0] unused */
	size_t n_rules;			/* including [0] */
	__u32 max_records;		/* learn.max_records */
	__u32 acl_ids;			/* ids 1..acl_ids in the pool, a FIFO queue */
	__u32 records_max;		/* learn.limits.records; 0: no limit */
	__u32 routes_max;		/* learn.limits.routes; 0: no limit */
	const struct cs_addr *resolvers;	/* learn.resolvers; none: any server */
	size_t n_resolvers;
};

/* Where a frame's DNS message is, and who sent it. */
struct refdns_loc {
	__u32 off, len;
	struct cs_addr src;
};

/* A record learned (CS_EV_RECORD_NEW) or refreshed (CS_EV_RECORD_REFRESH),
 * as replay's events carry it. */
struct refdns_event {
	__u32 type, rule, pattern, ttl, acl;
	struct cs_addr addr;
	char name[CS_NAME_TEXT_MAX];
};

struct refdns_record {
	__u64 id;		/* the owner's name id (namehash.h under the key) */
	struct cs_addr addr;
	__u64 expires_ns;
	__u32 rule, pattern, ttl, hits;
	__u32 used;
};

struct refdns_route {
	struct cs_addr addr;
	__u32 acl;		/* 0: made while the pool was empty */
	__u32 used;
};

struct refdns_walk;

/* The last answer walked whose outcome may be reused, when reuse is on. */
struct refdns_repeat {
	__u8 msg[CS_MSG_MAX];
	__u32 len;
	__u64 until_ns;
	int reason;
	__u32 refreshed;
	bool capped;		/* cut at max_records */
	bool valid;
};

struct refdns {
	const struct refdns_rules *rules;
	__u64 key[2];		/* the name hash key the program's rules use */
	__u64 now_ns;		/* the clock for expiries and reuse; the caller sets it */
	/* Reuse the outcome of a repeated answer ("Repeated answers" in
	 * docs/concepts.md), as the daemon's program does; replay's never does. Only the
	 * last answer walked is remembered: the program keeps more, so this
	 * holds it to the rule only where the answers between repeats are not
	 * other ones (a fuzz input holds one answer). */
	bool reuse_repeats;
	__u64 counts[CS_R_MAX];	/* every reason since the last reset */
	__u32 n_records, n_routes;
	/* what the last frame or message did */
	int reason;
	bool reused;		/* the outcome of a repeat, reused */
	__u32 refreshed;	/* records it refreshed */
	struct refdns_event ev[CS_ADDRS_MAX];
	int n_ev;
	char qname[CS_NAME_TEXT_MAX];
	char chain[CS_CHAIN_MAX][CS_NAME_TEXT_MAX];	/* question, then CNAME targets */
	int n_chain;
	/* the tables, open addressing */
	struct refdns_record *rec;
	struct refdns_route *route;
	__u32 rec_cap, route_cap;
	__u32 *pool;		/* free ACL ids, FIFO: a ring of CS_ACL_POOL_ENTRIES */
	__u32 pool_head, pool_len;
	struct refdns_walk *walk;
	struct refdns_repeat repeat;
};

/* false when out of memory. r->rules may change between resets, with
 * acl_ids at most CS_ACL_POOL_ENTRIES. */
bool refdns_init(struct refdns *r, const struct refdns_rules *rules, const __u64 key[2]);
void refdns_free(struct refdns *r);
/* Forget every record, route and count; a fresh pool. */
void refdns_reset(struct refdns *r);

/* Where the DNS message of an Ethernet frame is: 0 and *loc, or the packet
 * reason why there is none. */
int refdns_locate(const __u8 *frame, __u32 len, struct refdns_loc *loc);

/* Learn from one DNS message or one frame: returns the packet reason, counts
 * it and every record reason, fills ev/qname/chain. */
int refdns_learn(struct refdns *r, const __u8 *msg, __u32 len);
int refdns_learn_frame(struct refdns *r, const __u8 *frame, __u32 len);

/* The record of (name id, address), or NULL. */
const struct refdns_record *refdns_record(const struct refdns *r, __u64 id, const struct cs_addr *a);
/* The route of an address, or NULL. */
const struct refdns_route *refdns_route(const struct refdns *r, const struct cs_addr *a);

/* Is the address IPv4-mapped (::ffff:a.b.c.d)? */
bool refdns_v4_mapped(const struct cs_addr *a);

#endif
