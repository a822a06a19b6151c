/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * confdigest.h - digests of the parts of the config every node of a cluster
 * must share, published in its nodes/ key (docs/cluster.md) so that `show
 * cluster` can name the part where two nodes disagree.
 *
 * Only what must agree goes in: the rules (patterns, chain, priority, TTL
 * clamps: they decide which records exist and where their traffic goes),
 * the chains (instances, modes, health checks: every node builds the same
 * bucket tables from them) and the mesh keys, as digests of their own:
 * never the keys. What is a node's own is left out: interfaces, resolvers,
 * limits, quotas, never_steer, metrics, the cluster section, and every
 * chain and instance id (ids are local; lib/ids.h).
 *
 * A digest is the first 64 bits of SipHash-2-4-128 under a fixed, public key
 * over a canonical text of the part; it is an identity, not a secret, and a
 * key's digest does not reveal the key (it is a PRF of 128 secret bits).
 */
#ifndef CS_CONFDIGEST_H
#define CS_CONFDIGEST_H

#include <stddef.h>
#include <linux/types.h>

#include "config.h"

enum cs_digest_part {
	CS_DIGEST_RULES,	/* rules, with learn.ttl folded into each */
	CS_DIGEST_CHAINS,
	CS_DIGEST_AFFINITY_KEY,	/* mesh.affinity_key */
	CS_DIGEST_SYNC_KEY,	/* mesh.sync_key */
	CS_DIGEST_PARTS,
};

#define CS_DIGEST_TEXT 17	/* 16 hex digits and a NUL */

/* What each part is called in the node's key and in show cluster. */
extern const char *const cs_digest_part_names[CS_DIGEST_PARTS];

struct cs_conf_digest {
	__u64 part[CS_DIGEST_PARTS];
	__u64 all;		/* over every part: equal exactly when all are */
	bool random_affinity_key;	/* no mesh.affinity_key: this node made its own */
};

/* The digests of conf. 0, or -ENOMEM. */
int cs_conf_digest(const struct cs_conf *conf, struct cs_conf_digest *d);

/* Each rule's identity on every node, into out[0..n_rules): a digest of
 * its patterns, chain, priority and TTL clamps (not of its id, which is a
 * position). 0, or -ENOMEM. */
int cs_rule_digests(const struct cs_conf *conf, __u64 *out);

/* 16 hex digits. */
const char *cs_digest_text(__u64 d, char *buf, size_t len);

#endif
