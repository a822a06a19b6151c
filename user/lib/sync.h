/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * sync.h - the state sync between the instances of a chain: the datagram
 * format, its authentication, and the rule that decides which version of a
 * stream wins.
 *
 * One UDP datagram carries up to CS_SYNC_BATCH stream versions of one chain
 * from one instance to another. Every field is big-endian; nothing depends
 * on either host's clock: times travel as ages in milliseconds.
 *
 *   header, 28 octets
 *     0  magic     "CSY1"
 *     4  version   3
 *     5  type      1 (streams)
 *     6  count     entries that follow, 1..CS_SYNC_BATCH
 *     8  chain     the wire id of the chain both instances serve: its VNI
 *    12  sender    the sender's wire id (cs_wire_id of its chain and name)
 *    16  receiver  the wire id of the instance it is sent to
 *    20  map_version  the sender's service map version (Lamport clock)
 *   entry, 80 octets
 *     0  lo[16] hi[16] lo_port hi_port proto state flags 0   (the flow key)
 *    40  code seq
 *    48  epoch
 *    56  packets
 *    64  bytes
 *    72  age_ms    since the stream's first packet, at sending
 *    76  idle_ms   since its last packet, at sending
 *   state is enum cs_stream_state and flags are CS_STREAM_* and CS_LIFE_*
 *   (headers/cloudsteer.h): with idle_ms, all a receiver needs to keep its
 *   copy by the rule its holder keeps the stream (lib/flowlife.h: a quiet
 *   established connection for days), in the table its holder keeps it in
 *   (CS_STREAM_PROVEN: where no flood evicts it)
 *   tag, 16 octets, after the last entry
 *     SipHash-2-4-128 (lib/siphash.h) under the sync key, of every octet
 *     before it
 *
 * The chain, sender and receiver are wire ids (lib/ids.h), which come from
 * the config alone, so every node that reads the same config names them
 * the same way; never a node's own ids, which depend on what it has seen.
 *
 * A datagram is taken whole or refused whole: wrong magic, another version
 * (version 1 had no tag and no receiver; version 2 named the chain and the
 * instances by their positions in the config), wrong type, a count of 0 or over
 * CS_SYNC_BATCH, or a length other than header + count * entry + tag is
 * malformed; then a tag that does not verify refuses it before any field
 * past the header's shape is read. The receiver names the destination, so a
 * datagram captured on its way to one instance is refused by another.
 */
#ifndef CS_SYNC_H
#define CS_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "cloudsteer.h"
#include "siphash.h"

#define CS_SYNC_MAGIC     0x43535931u	/* "CSY1" */
#define CS_SYNC_VERSION   3
#define CS_SYNC_VERSION_AT 4	/* the version's octet, in every version */
#define CS_SYNC_T_STREAMS 1
#define CS_SYNC_HDR_LEN   28
#define CS_SYNC_ENTRY_LEN 80
#define CS_SYNC_TAG_LEN   CS_SIPHASH_TAG_LEN
#define CS_SYNC_BATCH     16	/* 28 + 16 * 80 + 16 = 1324 octets: fits any path of 1400 */
#define CS_SYNC_MAX_LEN   (CS_SYNC_HDR_LEN + CS_SYNC_BATCH * CS_SYNC_ENTRY_LEN + CS_SYNC_TAG_LEN)

/* The key of the tag: 16 octets, in the order its 32 hex digits are written. */
struct cs_sync_key {
	__u8 b[CS_SIPHASH_KEY_LEN];
};

struct cs_sync_hdr {
	__u32 chain_id;		/* the chain's wire id, its VNI */
	__u32 sender;		/* wire ids */
	__u32 receiver;
	__u64 map_version;
	__u16 count;
};

/* One stream version as it travels; ages instead of times. */
struct cs_sync_entry {
	struct cs_flow_key key;
	__u32 code;
	__u32 seq;
	__u64 epoch;
	__u64 packets;
	__u64 bytes;
	__u32 age_ms;
	__u32 idle_ms;
	__u8 state;
	__u8 flags;
};

/* A datagram being filled for one peer. */
struct cs_sync_batch {
	__u8 buf[CS_SYNC_MAX_LEN];
	__u16 count;
};

/* The key as the config holds it (mesh.sync_key, mesh.affinity_key): two
 * 64-bit words, the first 16 hex digits in the first. */
void cs_sync_key_from_words(const __u64 words[2], struct cs_sync_key *k);
/* The sync key that mesh.affinity_key stands for when mesh.sync_key is
 * absent: SipHash-2-4-128 under the affinity key of the ASCII text
 * CS_SYNC_KEY_LABEL. A PRF output, so neither key tells the other, and the
 * label keeps it apart from any other use of the affinity key. */
#define CS_SYNC_KEY_LABEL "cloudsteer sync key v1"
void cs_sync_key_derive(const struct cs_sync_key *affinity, struct cs_sync_key *out);

/* Start an empty datagram with this header (count is kept by the batch);
 * the chain, sender and receiver are wire ids. */
void cs_sync_begin(struct cs_sync_batch *b, __u32 chain_id, __u32 sender, __u32 receiver, __u64 map_version);
/* Add one entry; false when the batch is already full (send it first). */
bool cs_sync_add(struct cs_sync_batch *b, const struct cs_sync_entry *e);
/* The datagram's length so far (header + entries, no tag yet). */
size_t cs_sync_len(const struct cs_sync_batch *b);
/* Write the tag after the entries; returns the length to send. Adding an
 * entry afterwards overwrites the tag: seal again. */
size_t cs_sync_seal(struct cs_sync_batch *b, const struct cs_sync_key *key);

/* Check a datagram and read its header. 0; -EPROTONOSUPPORT: another
 * version (an older or newer peer); -EINVAL: malformed (see above);
 * -EBADMSG: its tag does not verify under key (forged, or the sender has
 * another key). h is written only when it returns 0. */
int cs_sync_parse(const void *buf, size_t len, const struct cs_sync_key *key, struct cs_sync_hdr *h);
/* Entry i (< h->count) of a datagram cs_sync_parse accepted. */
void cs_sync_entry_at(const void *buf, __u16 i, struct cs_sync_entry *e);

/* A stream version as it travels, from the map's value at time now_ns
 * (CLOCK_BOOTTIME); ages saturate at 2^32 - 1 ms. */
void cs_sync_entry_from(struct cs_sync_entry *e, const struct cs_flow_key *key, const struct cs_stream *stream,
			__u64 now_ns);
/* The map value a received version becomes here at now_ns, marked
 * CS_STREAM_SYNCED from `peer`, the sender's instance id on this node. */
void cs_sync_entry_to(const struct cs_sync_entry *e, __u16 peer, __u64 now_ns, struct cs_stream *stream);

/* Does version (epoch, seq) replace what is held, (held_epoch, held_seq)?
 * Only when strictly newer: the higher epoch wins, then the higher seq; an
 * equal pair is a repeat (idempotent), and an older one loses. */
bool cs_sync_newer(__u64 epoch, __u32 seq, __u64 held_epoch, __u32 held_seq);

/* The Lamport rule for the service map version: seeing a peer's version
 * moves ours up to it; a table rebuild goes one past the highest seen. */
__u64 cs_sync_version_seen(__u64 mine, __u64 theirs);
__u64 cs_sync_version_rebuilt(__u64 mine);

#endif
