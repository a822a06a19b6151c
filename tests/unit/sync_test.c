// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The sync datagram and its rules (user/lib/sync.h): what is built is what is
 * parsed, octet for octet as the header draws it; a malformed datagram is
 * refused whole; ages saturate; the newer version wins; the map version is a
 * Lamport clock. */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "testing.h"
#include "lib/sync.h"

T_SUITE("sync");

#define MS 1000000ULL

static void addr4(struct cs_addr *a, const char *ip)
{
	memset(a, 0, sizeof(*a));
	a->b[10] = a->b[11] = 0xff;
	inet_pton(AF_INET, ip, &a->b[12]);
}

static void addr6(struct cs_addr *a, const char *ip)
{
	memset(a, 0, sizeof(*a));
	inet_pton(AF_INET6, ip, a->b);
}

/* Entry i of a test batch: IPv4-mapped keys for even i, IPv6 for odd, and
 * every field different from entry to entry. */
static void entry_n(int i, struct cs_sync_entry *e)
{
	char ip[64];

	memset(e, 0, sizeof(*e));
	if (i % 2 == 0) {
		snprintf(ip, sizeof(ip), "10.1.0.%d", i + 1);
		addr4(&e->key.lo, ip);
		addr4(&e->key.hi, "192.0.2.7");
		e->key.proto = IPPROTO_TCP;
	} else {
		snprintf(ip, sizeof(ip), "2001:db8:1::%x", i + 1);
		addr6(&e->key.lo, ip);
		addr6(&e->key.hi, "2001:db8::7");
		e->key.proto = IPPROTO_UDP;
	}
	e->key.lo_port = (__u16)(40000 + i);
	e->key.hi_port = 443;
	e->code = 0x9e3779b9u * (__u32)(i + 1);
	e->seq = (__u32)(i * 3 + 1);
	e->epoch = 0x100000000ULL + (__u64)i;
	e->packets = 1000ULL * (__u64)(i + 1);
	e->bytes = 0xffffffff00ULL + (__u64)i;
	e->age_ms = (__u32)(60000 + i);
	e->idle_ms = (__u32)i;
	e->state = (__u8)(i % CS_ST_MAX);
	e->flags = (__u8)(i & 3);
}

static bool same_entry(const struct cs_sync_entry *a, const struct cs_sync_entry *b)
{
	return !memcmp(&a->key, &b->key, sizeof(a->key)) && a->code == b->code && a->seq == b->seq &&
	       a->epoch == b->epoch && a->packets == b->packets && a->bytes == b->bytes &&
	       a->age_ms == b->age_ms && a->idle_ms == b->idle_ms && a->state == b->state && a->flags == b->flags;
}

static void round_trip_full_batch(void)
{
	static struct cs_sync_batch b;
	struct cs_sync_entry e, got;
	struct cs_sync_hdr h;
	int i;

	cs_sync_begin(&b, 7, 3, 0x0102030405060708ULL);
	EXPECT_EQ(cs_sync_len(&b), CS_SYNC_HDR_LEN);
	for (i = 0; i < CS_SYNC_BATCH; i++) {
		entry_n(i, &e);
		if (!EXPECT(cs_sync_add(&b, &e), "entry %d refused", i))
			return;
	}
	EXPECT_EQ(cs_sync_len(&b), 1304);
	EXPECT_EQ(cs_sync_len(&b), CS_SYNC_MAX_LEN);
	memset(&h, 0xa5, sizeof(h));
	if (!EXPECT_EQ(cs_sync_parse(b.buf, cs_sync_len(&b), &h), 0))
		return;
	EXPECT_EQ(h.chain_id, 7);
	EXPECT_EQ(h.sender, 3);
	EXPECT(h.map_version == 0x0102030405060708ULL, "map_version %#llx", (unsigned long long)h.map_version);
	EXPECT_EQ(h.count, CS_SYNC_BATCH);
	for (i = 0; i < h.count; i++) {
		entry_n(i, &e);
		memset(&got, 0xa5, sizeof(got));
		cs_sync_entry_at(b.buf, (__u16)i, &got);
		EXPECT(same_entry(&e, &got), "entry %d differs after the round trip", i);
		EXPECT(!got.key._pad[0] && !got.key._pad[1] && !got.key._pad[2], "entry %d: key padding not 0", i);
	}
}

/* One header and one entry, every octet written out from sync.h's drawing. */
static void known_encoding(void)
{
	static const __u8 want[CS_SYNC_HDR_LEN + CS_SYNC_ENTRY_LEN] = {
		/* header */
		'C', 'S', 'Y', '1',			/* magic */
		0x01,					/* version */
		0x01,					/* type: streams */
		0x00, 0x01,				/* count */
		0x00, 0x00, 0x00, 0x07,			/* chain_id */
		0x00, 0x00, 0x01, 0x02,			/* sender */
		0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,	/* map_version */
		/* entry: lo = ::ffff:10.1.0.5 */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 1, 0, 5,
		/* hi = 2001:db8::7 */
		0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7,
		0x9c, 0x40,				/* lo_port 40000 */
		0x01, 0xbb,				/* hi_port 443 */
		0x06,					/* proto TCP */
		0x03,					/* state ESTABLISHED */
		0x02,					/* flags PICKED_UP */
		0x00,					/* zero */
		0xde, 0xad, 0xbe, 0xef,			/* code */
		0x11, 0x22, 0x33, 0x44,			/* seq */
		0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11,	/* epoch */
		0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x02,	/* packets */
		0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03,	/* bytes */
		0x00, 0x01, 0x23, 0x45,			/* age_ms */
		0xff, 0xff, 0xff, 0xfe,			/* idle_ms */
	};
	static struct cs_sync_batch b;
	struct cs_sync_entry e = {
		.code = 0xdeadbeef,
		.seq = 0x11223344,
		.epoch = 0x0a0b0c0d0e0f1011ULL,
		.packets = 0x1000000002ULL,
		.bytes = 0x20000000000003ULL,
		.age_ms = 0x12345,
		.idle_ms = 0xfffffffe,
		.state = CS_ST_ESTABLISHED,
		.flags = CS_STREAM_PICKED_UP,
	}, got;
	struct cs_sync_hdr h;
	size_t i;

	addr4(&e.key.lo, "10.1.0.5");
	addr6(&e.key.hi, "2001:db8::7");
	e.key.lo_port = 40000;
	e.key.hi_port = 443;
	e.key.proto = IPPROTO_TCP;
	cs_sync_begin(&b, 7, 0x102, 0x0102030405060708ULL);
	if (!EXPECT(cs_sync_add(&b, &e), "refused") || !EXPECT_EQ(cs_sync_len(&b), sizeof(want)))
		return;
	for (i = 0; i < sizeof(want); i++)
		if (!EXPECT(b.buf[i] == want[i], "octet %zu: %#04x, want %#04x", i, b.buf[i], want[i]))
			return;
	/* and the parser reads the same octets back */
	if (!EXPECT_EQ(cs_sync_parse(want, sizeof(want), &h), 0))
		return;
	EXPECT_EQ(h.chain_id, 7);
	EXPECT_EQ(h.sender, 0x102);
	EXPECT_EQ(h.count, 1);
	cs_sync_entry_at(want, 0, &got);
	EXPECT(same_entry(&e, &got), "the known entry parses differently");
}

/* A good datagram of n entries in buf; returns its length. */
static size_t good(__u8 *buf, int n)
{
	static struct cs_sync_batch b;
	struct cs_sync_entry e;
	int i;

	cs_sync_begin(&b, 1, 2, 3);
	for (i = 0; i < n; i++) {
		entry_n(i, &e);
		cs_sync_add(&b, &e);
	}
	memcpy(buf, b.buf, cs_sync_len(&b));
	return cs_sync_len(&b);
}

static void malformed(void)
{
	static __u8 buf[CS_SYNC_HDR_LEN + 17 * CS_SYNC_ENTRY_LEN];
	struct cs_sync_hdr h;
	size_t len;

	len = good(buf, 2);
	if (!EXPECT_EQ(cs_sync_parse(buf, len, &h), 0))
		return;
	/* short: no header, half a header, a header and part of an entry */
	EXPECT_EQ(cs_sync_parse(buf, 0, &h), -EINVAL);
	EXPECT_EQ(cs_sync_parse(buf, CS_SYNC_HDR_LEN - 1, &h), -EINVAL);
	EXPECT_EQ(cs_sync_parse(buf, len - 1, &h), -EINVAL);
	EXPECT_EQ(cs_sync_parse(NULL, len, &h), -EINVAL);
	/* long: one trailing octet, one entry more than the count */
	EXPECT_EQ(cs_sync_parse(buf, len + 1, &h), -EINVAL);
	len = good(buf, 3);
	buf[7] = 2;	/* count 2, three entries' worth of octets */
	EXPECT_EQ(cs_sync_parse(buf, len, &h), -EINVAL);
	buf[7] = 4;	/* count 4, three entries */
	EXPECT_EQ(cs_sync_parse(buf, len, &h), -EINVAL);
	/* bad magic, version, type */
	len = good(buf, 1);
	buf[3] = '2';
	EXPECT_EQ(cs_sync_parse(buf, len, &h), -EINVAL);
	len = good(buf, 1);
	buf[4] = 2;
	EXPECT_EQ(cs_sync_parse(buf, len, &h), -EINVAL);
	buf[4] = 0;
	EXPECT_EQ(cs_sync_parse(buf, len, &h), -EINVAL);
	len = good(buf, 1);
	buf[5] = 2;
	EXPECT_EQ(cs_sync_parse(buf, len, &h), -EINVAL);
	buf[5] = 0;
	EXPECT_EQ(cs_sync_parse(buf, len, &h), -EINVAL);
	/* count 0 (a bare header), count 17 with the length of 17 entries */
	len = good(buf, 1);
	buf[7] = 0;
	EXPECT_EQ(cs_sync_parse(buf, CS_SYNC_HDR_LEN, &h), -EINVAL);
	len = good(buf, 16);
	memcpy(buf + len, buf + len - CS_SYNC_ENTRY_LEN, CS_SYNC_ENTRY_LEN);
	buf[7] = 17;
	EXPECT_EQ(cs_sync_parse(buf, len + CS_SYNC_ENTRY_LEN, &h), -EINVAL);
	/* a count's high octet counts */
	len = good(buf, 1);
	buf[6] = 1;
	EXPECT_EQ(cs_sync_parse(buf, len, &h), -EINVAL);
	/* and the limit itself is fine */
	len = good(buf, 16);
	EXPECT_EQ(cs_sync_parse(buf, len, &h), 0);
}

static void add_refuses_the_17th(void)
{
	static struct cs_sync_batch b;
	static __u8 before[CS_SYNC_MAX_LEN];
	struct cs_sync_entry e;
	int i;

	cs_sync_begin(&b, 1, 2, 3);
	for (i = 0; i < CS_SYNC_BATCH; i++) {
		entry_n(i, &e);
		if (!EXPECT(cs_sync_add(&b, &e), "entry %d refused", i))
			return;
	}
	memcpy(before, b.buf, sizeof(before));
	entry_n(16, &e);
	EXPECT(!cs_sync_add(&b, &e), "a 17th entry was taken");
	EXPECT_EQ(b.count, CS_SYNC_BATCH);
	EXPECT_EQ(cs_sync_len(&b), CS_SYNC_MAX_LEN);
	EXPECT(!memcmp(before, b.buf, sizeof(before)), "a refused entry changed the datagram");
	/* begin empties it again */
	cs_sync_begin(&b, 1, 2, 3);
	EXPECT_EQ(cs_sync_len(&b), CS_SYNC_HDR_LEN);
	EXPECT(cs_sync_add(&b, &e), "refused after begin");
}

static void ages(void)
{
	struct cs_flow_key k = { .lo_port = 1, .hi_port = 2, .proto = IPPROTO_UDP };
	struct cs_stream st = { .first_ns = 1000 * MS, .last_ns = 4500 * MS + 999999, .packets = 9, .bytes = 900,
				.epoch = 5, .code = 77, .seq = 3, .peer = 4, .state = CS_ST_ACTIVE,
				.flags = CS_STREAM_PICKED_UP };
	struct cs_sync_entry e;
	struct cs_stream back;
	__u64 now = 5000 * MS;

	addr4(&k.lo, "10.0.0.1");
	addr4(&k.hi, "10.0.0.2");
	cs_sync_entry_from(&e, &k, &st, now);
	EXPECT_EQ(e.age_ms, 4000);
	EXPECT_EQ(e.idle_ms, 499);	/* whole ms, rounded down */
	EXPECT(!memcmp(&e.key, &k, sizeof(k)), "key");
	EXPECT(e.code == 77 && e.seq == 3 && e.epoch == 5 && e.packets == 9 && e.bytes == 900 &&
		       e.state == CS_ST_ACTIVE && e.flags == CS_STREAM_PICKED_UP,
	       "fields not carried");

	/* on a node whose clock reads 10 s: the same ages back */
	cs_sync_entry_to(&e, 6, 10000 * MS, &back);
	EXPECT_EQ(back.first_ns, 6000 * MS);
	EXPECT_EQ(back.last_ns, 9501 * MS);
	EXPECT_EQ(back.peer, 6);
	EXPECT_EQ(back.flags, CS_STREAM_PICKED_UP | CS_STREAM_SYNCED);
	EXPECT(back.code == 77 && back.seq == 3 && back.epoch == 5 && back.packets == 9 && back.bytes == 900 &&
		       back.state == CS_ST_ACTIVE && back._pad == 0,
	       "fields not carried back");
	/* SYNCED is set once, whether or not it came along */
	e.flags = CS_STREAM_SYNCED;
	cs_sync_entry_to(&e, 6, 10000 * MS, &back);
	EXPECT_EQ(back.flags, CS_STREAM_SYNCED);

	/* saturation: an age over 2^32 - 1 ms */
	st.first_ns = 0;
	st.last_ns = 0;
	cs_sync_entry_from(&e, &k, &st, 0x100000000ULL * MS + 5 * MS);
	EXPECT(e.age_ms == 0xffffffffu && e.idle_ms == 0xffffffffu, "%u %u", e.age_ms, e.idle_ms);
	cs_sync_entry_from(&e, &k, &st, 0xffffffffULL * MS);
	EXPECT(e.age_ms == 0xffffffffu, "exactly the limit: %u", e.age_ms);
	cs_sync_entry_from(&e, &k, &st, ~0ULL);
	EXPECT(e.age_ms == 0xffffffffu, "now at 2^64 - 1: %u", e.age_ms);
	/* times after now (should not happen) count as age 0 */
	st.first_ns = st.last_ns = 7000 * MS;
	cs_sync_entry_from(&e, &k, &st, now);
	EXPECT(e.age_ms == 0 && e.idle_ms == 0, "%u %u", e.age_ms, e.idle_ms);
	/* received: ages older than this node's clock clamp the times at 0 */
	e.age_ms = 0xffffffffu;
	e.idle_ms = 2000;
	cs_sync_entry_to(&e, 1, 1500 * MS, &back);
	EXPECT_EQ(back.first_ns, 0);
	EXPECT_EQ(back.last_ns, 0);
	e.idle_ms = 1500;
	cs_sync_entry_to(&e, 1, 1500 * MS, &back);
	EXPECT_EQ(back.last_ns, 0);
	cs_sync_entry_to(&e, 1, 1500 * MS + 1, &back);
	EXPECT_EQ(back.last_ns, 1);
}

static void newer(void)
{
	static const struct {
		__u64 epoch;
		__u32 seq;
		__u64 held_epoch;
		__u32 held_seq;
		bool want;
	} v[] = {
		{ 2, 1, 1, 9, true },		/* higher epoch wins with a lower seq */
		{ 2, 0, 1, 0xffffffffu, true },
		{ 1, 5, 1, 4, true },		/* same epoch: higher seq */
		{ 1, 4, 1, 4, false },		/* equal: a repeat */
		{ 0, 0, 0, 0, false },
		{ 1, 3, 1, 4, false },		/* older seq */
		{ 1, 9, 2, 1, false },		/* older epoch, higher seq */
		{ 0, 0xffffffffu, 1, 0, false },
		{ ~0ULL, 0, ~0ULL - 1, ~0u, true },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		EXPECT(cs_sync_newer(v[i].epoch, v[i].seq, v[i].held_epoch, v[i].held_seq) == v[i].want,
		       "(%llu, %u) over (%llu, %u): want %s", (unsigned long long)v[i].epoch, v[i].seq,
		       (unsigned long long)v[i].held_epoch, v[i].held_seq, v[i].want ? "newer" : "not newer");
}

static void lamport(void)
{
	__u64 v = 0;

	v = cs_sync_version_seen(v, 5);
	EXPECT_EQ(v, 5);	/* up */
	v = cs_sync_version_seen(v, 3);
	EXPECT_EQ(v, 5);	/* never down */
	v = cs_sync_version_seen(v, 5);
	EXPECT_EQ(v, 5);
	v = cs_sync_version_rebuilt(v);
	EXPECT_EQ(v, 6);	/* one past the highest seen */
	v = cs_sync_version_seen(v, 40);
	v = cs_sync_version_rebuilt(v);
	EXPECT_EQ(v, 41);
	EXPECT_EQ(cs_sync_version_rebuilt(0), 1);
	EXPECT(cs_sync_version_seen(1, ~0ULL) == ~0ULL, "the top");
	EXPECT(cs_sync_version_rebuilt(~0ULL) == ~0ULL, "wrapped to %llu",
	       (unsigned long long)cs_sync_version_rebuilt(~0ULL));
}

int main(void)
{
	RUN(round_trip_full_batch);
	RUN(known_encoding);
	RUN(malformed);
	RUN(add_refuses_the_17th);
	RUN(ages);
	RUN(newer);
	RUN(lamport);
	T_EXIT();
}
