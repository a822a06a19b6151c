/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * agreedmap.h - one service map for a whole cluster (docs/cluster.md, "One
 * service map"): what its keys hold, how a chain's leader decides its
 * inputs, and how every node builds, and names by a digest, the same table
 * from them. Pure: no etcd, no maps (lib/mapparts.h does the keys).
 *
 *   obs/<chain>/<instance>/<observer>  {"state":"down","since":1764000000123,
 *                                       "why":"tcp 10.30.0.11:3128: ...","self":false}
 *   leader/<chain>                     {"node":"gw-1","since":1764000000123}
 *   map/<chain>                        {"chain":"casb","buckets":256,"leader":"gw-1",
 *                                       "fence":57,"chains":"<16 hex>","decided":...,
 *                                       "instances":[{"name":"casb-a","state":"up",
 *                                       "since":...,"member":false}, ...]}
 *   drain/<chain>/<instance>           {"by":"gw-1","at":1764000000123}
 *
 * Names, never ids: ids are each node's own. Times are wall clock
 * milliseconds. A value that does not parse is refused (-EINVAL): the
 * caller logs it and counts a skip.
 */
#ifndef CS_AGREEDMAP_H
#define CS_AGREEDMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "cloudsteer.h"
#include "clustervalues.h"

#define CS_AGREED_INSTANCES_MAX 64	/* instances of one chain in an agreed map */
#define CS_OBS_WHY_MAX 128

/* One observer's view of one instance. self: the instance itself says it
 * lives (its own daemon, on its own lease): when that key goes, the
 * instance's lease is gone. */
struct cs_obs_value {
	bool down;
	__s64 since_ms;
	char why[CS_OBS_WHY_MAX];
	bool self;
};

char *cs_obs_value_encode(const struct cs_obs_value *v);
int cs_obs_value_decode(const char *json, size_t len, struct cs_obs_value *v);

struct cs_leader_value {
	char node[CS_NODE_WORD_MAX];
	__s64 since_ms;
};

char *cs_leader_value_encode(const struct cs_leader_value *v);
int cs_leader_value_decode(const char *json, size_t len, struct cs_leader_value *v);

struct cs_agreed_instance {
	char name[CS_NODE_WORD_MAX];
	__u32 state;			/* CS_INST_UP, _WARMING, _DOWN, _DRAINING */
	__s64 since_ms;			/* when it took that state */
	bool member;			/* it was seen registered itself: its
					 * lease gone means down */
};

struct cs_map_value {
	char chain[CS_NODE_WORD_MAX];
	__u32 n_buckets;
	char leader[CS_NODE_WORD_MAX];	/* who wrote it */
	__s64 fence;			/* its leader key's create revision */
	__u64 chains_digest;		/* the writer's config digest of chains */
	__s64 decided_ms;
	struct cs_agreed_instance inst[CS_AGREED_INSTANCES_MAX];
	size_t n;
};

char *cs_map_value_encode(const struct cs_map_value *v);
/* -EINVAL also for a state it does not know, a bucket count that is not
 * a power of two up to CS_BUCKETS_MAX, or duplicate names. */
int cs_map_value_decode(const char *json, size_t len, struct cs_map_value *v);

/* drain/<chain>/<instance>: who asked, when (its existence is what counts). */
char *cs_drain_value_encode(const char *by, __s64 at_ms);

/* ---- the leader's decision ---- */

/* What the live observers say of one instance: those whose obs/ keys exist
 * (their leases live), not counting the instance's own. */
struct cs_agreed_view {
	unsigned int observers;		/* live observers with a verdict on it */
	unsigned int down;		/* ... that say down */
	bool self_seen;			/* its own key is there */
	bool drain;			/* a drain/ intent names it */
};

/*
 * The next agreed state of one instance, from its last (prev; NULL for a
 * new one) and the view, at now_ms:
 *   - drained while a drain intent names it;
 *   - down when a majority of the live observers say down, or it was a
 *     member and its own key is gone (its lease expired);
 *   - back from down: warming for warmup_ms (when not 0), then up;
 *   - else as it was (a new one is up).
 * True when it changed.
 */
bool cs_agreed_decide(const struct cs_agreed_instance *prev, const struct cs_agreed_view *view, __s64 now_ms,
		      __u32 warmup_ms, struct cs_agreed_instance *next);

/* The same instances in the same states (since and member aside)? The
 * leader writes a new map only when they are not. */
bool cs_map_same_states(const struct cs_map_value *a, const struct cs_map_value *b);

/* ---- the table ---- */

/* Build v's table into out (v->n_buckets buckets, positions in v->inst as
 * cs_servicemap_build fills them): over the up and warming instances, a
 * warming one secondary where another can be primary. 0 or -EINVAL. */
int cs_map_build(const struct cs_map_value *v, struct cs_bucket *out);

/* A digest of a table in names (each bucket's primary and secondary), so
 * that nodes with different ids compare: equal tables, equal digests.
 * names[p - 1] is position p's name. */
__u64 cs_table_digest(const struct cs_bucket *b, __u32 n_buckets, const char *const *names);

/* The state's name in a value ("up", "warming", "down", "drained") and back
 * (-EINVAL). */
const char *cs_agreed_state_name(__u32 state);
int cs_agreed_state_parse(const char *s, __u32 *state);

#endif
