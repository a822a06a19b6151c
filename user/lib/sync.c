// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The sync datagram (sync.h): built and read octet by octet, big-endian,
 * through the put/get helpers below. No struct is laid over the wire, so
 * neither the compiler's padding nor the host's byte order can leak into it.
 * The tag is checked in cs_sync_parse itself, so no caller can read a
 * datagram's fields without having it checked first.
 */
#include <errno.h>
#include <string.h>

#include "sync.h"

#define NS_PER_MS 1000000ULL

/* Offsets in the header and in an entry (sync.h draws them). */
enum {
	H_MAGIC = 0,
	H_VERSION = CS_SYNC_VERSION_AT,
	H_TYPE = 5,
	H_COUNT = 6,
	H_CHAIN = 8,
	H_SENDER = 12,
	H_RECEIVER = 16,
	H_MAP_VERSION = 20,

	E_LO = 0,
	E_HI = 16,
	E_LO_PORT = 32,
	E_HI_PORT = 34,
	E_PROTO = 36,
	E_STATE = 37,
	E_FLAGS = 38,
	E_ZERO = 39,
	E_CODE = 40,
	E_SEQ = 44,
	E_EPOCH = 48,
	E_PACKETS = 56,
	E_BYTES = 64,
	E_AGE = 72,
	E_IDLE = 76,
};

_Static_assert(H_MAP_VERSION + 8 == CS_SYNC_HDR_LEN, "sync header layout");
_Static_assert(E_IDLE + 4 == CS_SYNC_ENTRY_LEN, "sync entry layout");

static void put16(__u8 *p, __u16 v)
{
	p[0] = (__u8)(v >> 8);
	p[1] = (__u8)v;
}

static void put32(__u8 *p, __u32 v)
{
	put16(p, (__u16)(v >> 16));
	put16(p + 2, (__u16)v);
}

static void put64(__u8 *p, __u64 v)
{
	put32(p, (__u32)(v >> 32));
	put32(p + 4, (__u32)v);
}

static __u16 get16(const __u8 *p)
{
	return (__u16)(p[0] << 8 | p[1]);
}

static __u32 get32(const __u8 *p)
{
	return (__u32)get16(p) << 16 | get16(p + 2);
}

static __u64 get64(const __u8 *p)
{
	return (__u64)get32(p) << 32 | get32(p + 4);
}

void cs_sync_key_from_words(const __u64 words[2], struct cs_sync_key *k)
{
	put64(k->b, words[0]);
	put64(k->b + 8, words[1]);
}

void cs_sync_key_derive(const struct cs_sync_key *affinity, struct cs_sync_key *out)
{
	static const char label[] = CS_SYNC_KEY_LABEL;

	_Static_assert(sizeof(out->b) == CS_SIPHASH_TAG_LEN, "a tag is a whole key");
	cs_siphash128(affinity->b, label, sizeof(label) - 1, out->b);
}

void cs_sync_begin(struct cs_sync_batch *b, __u32 chain_id, __u32 sender, __u32 receiver, __u64 map_version)
{
	memset(b->buf, 0, CS_SYNC_HDR_LEN);
	put32(b->buf + H_MAGIC, CS_SYNC_MAGIC);
	b->buf[H_VERSION] = CS_SYNC_VERSION;
	b->buf[H_TYPE] = CS_SYNC_T_STREAMS;
	put16(b->buf + H_COUNT, 0);
	put32(b->buf + H_CHAIN, chain_id);
	put32(b->buf + H_SENDER, sender);
	put32(b->buf + H_RECEIVER, receiver);
	put64(b->buf + H_MAP_VERSION, map_version);
	b->count = 0;
}

bool cs_sync_add(struct cs_sync_batch *b, const struct cs_sync_entry *e)
{
	__u8 *p;

	if (b->count >= CS_SYNC_BATCH)
		return false;
	p = b->buf + CS_SYNC_HDR_LEN + (size_t)b->count * CS_SYNC_ENTRY_LEN;
	memcpy(p + E_LO, e->key.lo.b, 16);
	memcpy(p + E_HI, e->key.hi.b, 16);
	put16(p + E_LO_PORT, e->key.lo_port);
	put16(p + E_HI_PORT, e->key.hi_port);
	p[E_PROTO] = e->key.proto;
	p[E_STATE] = e->state;
	p[E_FLAGS] = e->flags;
	p[E_ZERO] = 0;
	put32(p + E_CODE, e->code);
	put32(p + E_SEQ, e->seq);
	put64(p + E_EPOCH, e->epoch);
	put64(p + E_PACKETS, e->packets);
	put64(p + E_BYTES, e->bytes);
	put32(p + E_AGE, e->age_ms);
	put32(p + E_IDLE, e->idle_ms);
	b->count++;
	put16(b->buf + H_COUNT, b->count);
	return true;
}

size_t cs_sync_len(const struct cs_sync_batch *b)
{
	return CS_SYNC_HDR_LEN + (size_t)b->count * CS_SYNC_ENTRY_LEN;
}

size_t cs_sync_seal(struct cs_sync_batch *b, const struct cs_sync_key *key)
{
	size_t len = cs_sync_len(b);

	cs_siphash128(key->b, b->buf, len, b->buf + len);
	return len + CS_SYNC_TAG_LEN;
}

/* The length a datagram of count entries has, tag included. */
static size_t sealed_len(__u16 count)
{
	return CS_SYNC_HDR_LEN + (size_t)count * CS_SYNC_ENTRY_LEN + CS_SYNC_TAG_LEN;
}

/* Is it shaped as a datagram of this version? 0, or what cs_sync_parse says. */
static int check_shape(const __u8 *p, size_t len)
{
	__u16 count;

	if (!p || len < CS_SYNC_HDR_LEN || get32(p + H_MAGIC) != CS_SYNC_MAGIC)
		return -EINVAL;
	/* before the length: another version's datagrams have other lengths,
	 * and an old peer is worth naming as such */
	if (p[H_VERSION] != CS_SYNC_VERSION)
		return -EPROTONOSUPPORT;
	count = get16(p + H_COUNT);
	if (p[H_TYPE] != CS_SYNC_T_STREAMS || count == 0 || count > CS_SYNC_BATCH || len != sealed_len(count))
		return -EINVAL;
	return 0;
}

static bool tag_verifies(const __u8 *p, size_t len, const struct cs_sync_key *key)
{
	__u8 want[CS_SYNC_TAG_LEN];
	size_t signed_len = len - CS_SYNC_TAG_LEN;

	cs_siphash128(key->b, p, signed_len, want);
	return cs_equal_ct(want, p + signed_len, CS_SYNC_TAG_LEN);
}

int cs_sync_parse(const void *buf, size_t len, const struct cs_sync_key *key, struct cs_sync_hdr *h)
{
	const __u8 *p = buf;
	int e = check_shape(p, len);

	if (e)
		return e;
	if (!tag_verifies(p, len, key))
		return -EBADMSG;
	h->chain_id = get32(p + H_CHAIN);
	h->sender = get32(p + H_SENDER);
	h->receiver = get32(p + H_RECEIVER);
	h->map_version = get64(p + H_MAP_VERSION);
	h->count = get16(p + H_COUNT);
	return 0;
}

void cs_sync_entry_at(const void *buf, __u16 i, struct cs_sync_entry *e)
{
	const __u8 *p = (const __u8 *)buf + CS_SYNC_HDR_LEN + (size_t)i * CS_SYNC_ENTRY_LEN;

	memset(e, 0, sizeof(*e));	/* the key's padding too: it is a map key */
	memcpy(e->key.lo.b, p + E_LO, 16);
	memcpy(e->key.hi.b, p + E_HI, 16);
	e->key.lo_port = get16(p + E_LO_PORT);
	e->key.hi_port = get16(p + E_HI_PORT);
	e->key.proto = p[E_PROTO];
	e->state = p[E_STATE];
	e->flags = p[E_FLAGS];
	e->code = get32(p + E_CODE);
	e->seq = get32(p + E_SEQ);
	e->epoch = get64(p + E_EPOCH);
	e->packets = get64(p + E_PACKETS);
	e->bytes = get64(p + E_BYTES);
	e->age_ms = get32(p + E_AGE);
	e->idle_ms = get32(p + E_IDLE);
}

/* now - t in ms, 0 when t is in the future, at most 2^32 - 1. */
static __u32 age_ms(__u64 now_ns, __u64 t_ns)
{
	__u64 ms;

	if (t_ns >= now_ns)
		return 0;
	ms = (now_ns - t_ns) / NS_PER_MS;
	return ms > 0xffffffffULL ? 0xffffffffu : (__u32)ms;
}

/* now - ms, never below 0. */
static __u64 time_of(__u64 now_ns, __u32 ms)
{
	__u64 d = (__u64)ms * NS_PER_MS;

	return d >= now_ns ? 0 : now_ns - d;
}

void cs_sync_entry_from(struct cs_sync_entry *e, const struct cs_flow_key *key, const struct cs_stream *stream,
			__u64 now_ns)
{
	memset(e, 0, sizeof(*e));
	e->key = *key;
	memset(e->key._pad, 0, sizeof(e->key._pad));
	e->code = stream->code;
	e->seq = stream->seq;
	e->epoch = stream->epoch;
	e->packets = stream->packets;
	e->bytes = stream->bytes;
	e->age_ms = age_ms(now_ns, stream->first_ns);
	e->idle_ms = age_ms(now_ns, stream->last_ns);
	e->state = stream->state;
	e->flags = stream->flags;
}

void cs_sync_entry_to(const struct cs_sync_entry *e, __u16 peer, __u64 now_ns, struct cs_stream *stream)
{
	memset(stream, 0, sizeof(*stream));
	stream->first_ns = time_of(now_ns, e->age_ms);
	stream->last_ns = time_of(now_ns, e->idle_ms);
	stream->packets = e->packets;
	stream->bytes = e->bytes;
	stream->epoch = e->epoch;
	stream->code = e->code;
	stream->seq = e->seq;
	stream->peer = peer;
	stream->state = e->state;
	stream->flags = (__u8)((e->flags & ~CS_STREAM_SYNCED) | CS_STREAM_SYNCED);
}

bool cs_sync_newer(__u64 epoch, __u32 seq, __u64 held_epoch, __u32 held_seq)
{
	if (epoch != held_epoch)
		return epoch > held_epoch;
	return seq > held_seq;
}

__u64 cs_sync_version_seen(__u64 mine, __u64 theirs)
{
	return theirs > mine ? theirs : mine;
}

__u64 cs_sync_version_rebuilt(__u64 mine)
{
	/* 2^64 rebuilds do not happen; if they did, stay put rather than wrap
	 * to 0 and lose to every peer */
	return mine == ~0ULL ? mine : mine + 1;
}
