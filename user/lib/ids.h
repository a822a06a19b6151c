/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ids.h - the numbers chains and instances go by.
 *
 * Local ids. Each node gives every chain (1..63) and every instance
 * (1..255) a small id, the index of the dataplane's arrays. An id is given
 * by name (an instance's name is its chain's name and its own) and kept in
 * the pinned cs_chain_ids and cs_instance_ids (an instance node: cs_peer_ids),
 * so neither a change of the
 * lists nor a restart moves it: steer's flows hold the id of their instance,
 * and follow it. The config may fix one with `id:`; otherwise a name keeps
 * the id it had, and a new name takes the lowest free one. An id whose
 * holder left the config is LEFT: no new name takes it while something
 * still names it (steer's flows; an instance node's synced streams); then
 * the daemon frees it. A fresh node numbers in config order.
 *
 * Wire ids. Nothing local crosses the wire: what does comes from the config
 * alone, so a node that starts fresh agrees with nodes that have run for
 * months. A chain's is its VNI (`vni:`, else cs_vni_of_name), carried by
 * encap's VXLAN header and named by the sync; an instance's is
 * cs_wire_id(chain, instance), which the sync names senders and receivers
 * by. The config refuses two chains with one VNI and two instances with one
 * wire id, with the file and line.
 */
#ifndef CS_IDS_H
#define CS_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "cloudsteer.h"

struct cs_conf;

#define CS_VNI_MAX 0xffffffu	/* VXLAN's 24 bits */

/* Who holds every id of this node, as the pinned maps keep them. */
struct cs_ids {
	struct cs_id_holder chain[CS_CHAINS_MAX];	/* by chain id; [0] unused */
	struct cs_id_holder inst[CS_INSTANCES_MAX];	/* by instance id; [0] unused */
};

/* Which ids something still names (steer's flows, an instance node's
 * streams): a LEFT id stays LEFT while it is named here. */
struct cs_ids_named {
	bool chain[CS_CHAINS_MAX];
	bool inst[CS_INSTANCES_MAX];
};

/*
 * The 64-bit digest both wire ids come from, all arithmetic modulo 2^64:
 * FNV-1a-64 (offset 0xcbf29ce484222325, prime 0x100000001b3) over the
 * octets of the chain's name, then, for an instance, one 0x00 octet and
 * the octets of the instance's name; then cs_mix64 (headers/namehash.h,
 * murmur3's finaliser). Known answers are pinned in tests/unit/ids_test.c:
 * changing it changes what every node puts on the wire.
 */
__u64 cs_ids_digest(const char *chain, const char *instance);
/* An instance's wire id: digest mod (2^32 - 1), + 1 (never 0). */
__u32 cs_wire_id(const char *chain, const char *instance);
/* The VNI of a chain without `vni:`: digest mod (2^24 - 1), + 1 (1..2^24-1). */
__u32 cs_vni_of_name(const char *chain);

/*
 * Give every chain and instance of conf its id (cs_chain_conf.id,
 * cs_instance_conf.id), against what ids holds: first the ids the config
 * gives (`id:`), then every name the id it holds (HELD, else LEFT: a name
 * that comes back takes its id back), then each new name the lowest FREE id.
 * Ids whose holder is not in conf become LEFT, at now_ns. An id the config
 * gives that another name holds or held (HELD or LEFT) is refused: its
 * flows would go to the wrong instance. Returns 0 with ids and conf
 * updated, or -1 with "FILE:LINE: reason" in err and both untouched.
 */
int cs_ids_assign(struct cs_ids *ids, struct cs_conf *conf, __u64 now_ns, char *err, size_t errlen);

/* Is any id LEFT (so it is worth finding what still names it)? */
bool cs_ids_any_left(const struct cs_ids *ids);

/* How often a daemon looks for what still names its LEFT ids: a walk of a
 * table that may be large, for ids that wait for flows to end anyway. */
#define CS_IDS_LOOK_NS (5 * 1000000000ULL)
/* Is it time to look (some id is LEFT, and the last look, *last_ns, is
 * CS_IDS_LOOK_NS old)? Then *last_ns becomes now_ns. */
bool cs_ids_time_to_look(const struct cs_ids *ids, __u64 *last_ns, __u64 now_ns);

/* Free every LEFT id that named does not name; freed_* (may be NULL) get
 * true for each id freed here. Returns how many were freed. */
size_t cs_ids_release(struct cs_ids *ids, const struct cs_ids_named *named, bool *freed_chain,
		      bool *freed_inst);

/* The instance id NAME holds (HELD) on this node, and its chain's name
 * in *chain (may be NULL); 0 if none. */
__u32 cs_ids_instance_named(const struct cs_ids *ids, const char *name, const char **chain);

/* The pinned maps: read them (fd < 0: not there, every id FREE) and write
 * them whole (fd < 0: that kind is not kept). 0 or -errno. */
int cs_ids_read(struct cs_ids *ids, int chain_fd, int inst_fd);
int cs_ids_write(const struct cs_ids *ids, int chain_fd, int inst_fd);

/* Whose pins: a steering host keeps chain and instance ids (cs_chain_ids,
 * cs_instance_ids), an instance node its instance ids alone (cs_peer_ids).
 * Apart, because the two daemons may share a pin directory, and each frees
 * a left id by what its own state names. */
enum cs_ids_keeper { CS_IDS_STEER, CS_IDS_PEERS };

/* At start, before anything is loaded: the ids pinned in dir by keeper, if
 * there are (a fresh start has none: every id FREE). 0, or -errno with err. */
int cs_ids_read_pinned(struct cs_ids *ids, const char *dir, enum cs_ids_keeper keeper, char *err, size_t errlen);

#endif
