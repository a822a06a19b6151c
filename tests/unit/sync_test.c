// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The sync datagram and its rules (user/lib/sync.h): what is built is what is
 * parsed, octet for octet as the header draws it; a malformed datagram is
 * refused whole, and so is one whose tag does not verify (SipHash-2-4-128,
 * user/lib/siphash.h, against its reference vectors); ages saturate; the
 * newer version wins, so a replay is stale; the map version is a Lamport
 * clock. */
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "testing.h"
#include "lib/ids.h"
#include "lib/config.h"
#include "lib/flowlife.h"
#include "lib/sync.h"

T_SUITE("sync");

#define MS 1000000ULL

/* The reference implementation's key, 00 01 .. 0f; and another. */
static const struct cs_sync_key KEY = { { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 } };
static const struct cs_sync_key OTHER_KEY = { { 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87,
						0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f } };

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

	size_t len;

	cs_sync_begin(&b, 7, 3, 4, 0x0102030405060708ULL);
	EXPECT_EQ(cs_sync_len(&b), CS_SYNC_HDR_LEN);
	for (i = 0; i < CS_SYNC_BATCH; i++) {
		entry_n(i, &e);
		if (!EXPECT(cs_sync_add(&b, &e), "entry %d refused", i))
			return;
	}
	EXPECT_EQ(cs_sync_len(&b), 1308);
	len = cs_sync_seal(&b, &KEY);
	EXPECT_EQ(len, 1324);
	EXPECT_EQ(len, CS_SYNC_MAX_LEN);
	memset(&h, 0xa5, sizeof(h));
	if (!EXPECT_EQ(cs_sync_parse(b.buf, len, &KEY, &h), 0))
		return;
	EXPECT_EQ(h.chain_id, 7);
	EXPECT_EQ(h.sender, 3);
	EXPECT_EQ(h.receiver, 4);
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

/* One header, one entry and the tag, every octet written out from sync.h's
 * drawing. The tag was computed apart from this code, by
 * tests/lib/syncforge.py (`tag 000102...0f` of the 108 octets before it). */
static void known_encoding(void)
{
	static const __u8 want[CS_SYNC_HDR_LEN + CS_SYNC_ENTRY_LEN + CS_SYNC_TAG_LEN] = {
		/* header */
		'C', 'S', 'Y', '1',			/* magic */
		0x03,					/* version */
		0x01,					/* type: streams */
		0x00, 0x01,				/* count */
		0x00, 0xbe, 0x7f, 0x4b,			/* chain: the VNI of "casb" */
		0x32, 0x42, 0x2f, 0xf2,			/* sender: the wire id of casb-a */
		0x95, 0x03, 0x8c, 0xe9,			/* receiver: casb-b's */
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
		/* tag: SipHash-2-4-128 under 00 01 .. 0f of the 108 octets above */
		0x5a, 0x52, 0x2d, 0x8c, 0x59, 0x93, 0x9b, 0x26, 0xbb, 0x31, 0xd8, 0x3c, 0xf4, 0xbc, 0x05, 0xbc,
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
	cs_sync_begin(&b, cs_vni_of_name("casb"), cs_wire_id("casb", "casb-a"), cs_wire_id("casb", "casb-b"),
		      0x0102030405060708ULL);
	if (!EXPECT(cs_sync_add(&b, &e), "refused") || !EXPECT_EQ(cs_sync_seal(&b, &KEY), sizeof(want)))
		return;
	for (i = 0; i < sizeof(want); i++)
		if (!EXPECT(b.buf[i] == want[i], "octet %zu: %#04x, want %#04x", i, b.buf[i], want[i]))
			return;
	/* and the parser reads the same octets back */
	if (!EXPECT_EQ(cs_sync_parse(want, sizeof(want), &KEY, &h), 0))
		return;
	EXPECT_EQ(h.chain_id, 0xbe7f4b);
	EXPECT_EQ(h.sender, 0x32422ff2);
	EXPECT_EQ(h.receiver, 0x95038ce9);
	EXPECT(h.map_version == 0x0102030405060708ULL, "map_version %#llx", (unsigned long long)h.map_version);
	EXPECT_EQ(h.count, 1);
	cs_sync_entry_at(want, 0, &got);
	EXPECT(same_entry(&e, &got), "the known entry parses differently");
}

/* A good datagram of n entries in buf, sealed under KEY; returns its length. */
static size_t good(__u8 *buf, int n)
{
	static struct cs_sync_batch b;
	struct cs_sync_entry e;
	size_t len;
	int i;

	cs_sync_begin(&b, 1, 2, 3, 4);
	for (i = 0; i < n; i++) {
		entry_n(i, &e);
		cs_sync_add(&b, &e);
	}
	len = cs_sync_seal(&b, &KEY);
	memcpy(buf, b.buf, len);
	return len;
}

/* Parse buf under KEY into a header filled with 0xa5 first. */
static int parse(const __u8 *buf, size_t len, struct cs_sync_hdr *h)
{
	memset(h, 0xa5, sizeof(*h));
	return cs_sync_parse(buf, len, &KEY, h);
}

/* Is h still as parse() left it: not written? */
static bool untouched(const struct cs_sync_hdr *h)
{
	const __u8 *p = (const __u8 *)h;
	size_t i;

	for (i = 0; i < sizeof(*h); i++)
		if (p[i] != 0xa5)
			return false;
	return true;
}

static void malformed(void)
{
	static __u8 buf[CS_SYNC_MAX_LEN + CS_SYNC_ENTRY_LEN];
	struct cs_sync_hdr h;
	size_t len;

	len = good(buf, 2);
	if (!EXPECT_EQ(parse(buf, len, &h), 0))
		return;
	/* short: no header, half a header, a header and part of an entry, the
	 * tag cut or left off */
	EXPECT_EQ(parse(buf, 0, &h), -EINVAL);
	EXPECT_EQ(parse(buf, CS_SYNC_HDR_LEN - 1, &h), -EINVAL);
	EXPECT_EQ(parse(buf, CS_SYNC_HDR_LEN + 10, &h), -EINVAL);
	EXPECT_EQ(parse(buf, len - 1, &h), -EINVAL);
	EXPECT_EQ(parse(buf, len - CS_SYNC_TAG_LEN, &h), -EINVAL);
	EXPECT_EQ(cs_sync_parse(NULL, len, &KEY, &h), -EINVAL);
	/* long: one trailing octet, one entry more than the count */
	EXPECT_EQ(parse(buf, len + 1, &h), -EINVAL);
	len = good(buf, 3);
	buf[7] = 2;	/* count 2, three entries' worth of octets */
	EXPECT_EQ(parse(buf, len, &h), -EINVAL);
	buf[7] = 4;	/* count 4, three entries */
	EXPECT_EQ(parse(buf, len, &h), -EINVAL);
	/* bad magic, type */
	len = good(buf, 1);
	buf[3] = '2';
	EXPECT_EQ(parse(buf, len, &h), -EINVAL);
	len = good(buf, 1);
	buf[5] = 2;
	EXPECT_EQ(parse(buf, len, &h), -EINVAL);
	buf[5] = 0;
	EXPECT_EQ(parse(buf, len, &h), -EINVAL);
	/* count 0 (a bare header and a tag), count 17 with the length of 17 entries */
	len = good(buf, 1);
	buf[7] = 0;
	EXPECT_EQ(parse(buf, CS_SYNC_HDR_LEN + CS_SYNC_TAG_LEN, &h), -EINVAL);
	len = good(buf, 16);
	buf[7] = 17;
	EXPECT_EQ(parse(buf, len + CS_SYNC_ENTRY_LEN, &h), -EINVAL);
	/* a count's high octet counts */
	len = good(buf, 1);
	buf[6] = 1;
	EXPECT_EQ(parse(buf, len, &h), -EINVAL);
	EXPECT(untouched(&h), "a refused datagram wrote the header");
	/* and the limit itself is fine */
	len = good(buf, 16);
	EXPECT_EQ(parse(buf, len, &h), 0);
}

/* Another version is told apart (an older or newer peer), before its length
 * or tag are looked at: a datagram exactly as version 1 made them (a 24
 * octet header without receiver, no tag), and versions 0, 2 (the shape of
 * 3, with ids that were positions in the config), 4 and 255. */
static void other_versions_refused(void)
{
	static __u8 v1[24 + CS_SYNC_ENTRY_LEN] = {
		'C', 'S', 'Y', '1', 0x01, 0x01, 0x00, 0x01,	/* magic, version 1, streams, count 1 */
		0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02,	/* chain 1, sender 2 */
		0, 0, 0, 0, 0, 0, 0, 3,			/* map_version */
	};
	static const __u8 versions[] = { 0, 1, 2, 4, 255 };
	static __u8 buf[CS_SYNC_MAX_LEN];
	struct cs_sync_hdr h;
	size_t len, i;

	EXPECT_EQ(parse(v1, sizeof(v1), &h), -EPROTONOSUPPORT);
	EXPECT(untouched(&h), "a version 1 datagram wrote the header");
	for (i = 0; i < sizeof(versions); i++) {
		len = good(buf, 1);
		buf[CS_SYNC_VERSION_AT] = versions[i];
		EXPECT(parse(buf, len, &h) == -EPROTONOSUPPORT, "version %u", versions[i]);
	}
}

/* vectors_sip128 of the SipHash reference implementation (vectors.h in
 * github.com/veorq/SipHash): under the key 00 01 .. 0f, the tag of the
 * message 00 01 .. (n - 1), for n = 0 .. 63. */
static const char *const sip128_vectors[64] = {
	"a3817f04ba25a8e66df67214c7550293", "da87c1d86b99af44347659119b22fc45",	/* 0, 1 */
	"8177228da4a45dc7fca38bdef60affe4", "9c70b60c5267a94e5f33b6b02985ed51",	/* 2, 3 */
	"f88164c12d9c8faf7d0f6e7c7bcd5579", "1368875980776f8854527a07690e9627",	/* 4, 5 */
	"14eeca338b208613485ea0308fd7a15e", "a1f1ebbed8dbc153c0b84aa61ff08239",	/* 6, 7 */
	"3b62a9ba6258f5610f83e264f31497b4", "264499060ad9baabc47f8b02bb6d71ed",	/* 8, 9 */
	"00110dc378146956c95447d3f3d0fbba", "0151c568386b6677a2b4dc6f81e5dc18",	/* 10, 11 */
	"d626b266905ef35882634df68532c125", "9869e247e9c08b10d029934fc4b952f7",	/* 12, 13 */
	"31fcefac66d7de9c7ec7485fe4494902", "5493e99933b0a8117e08ec0f97cfc3d9",	/* 14, 15 */
	"6ee2a4ca67b054bbfd3315bf85230577", "473d06e8738db89854c066c47ae47740",	/* 16, 17 */
	"a426e5e423bf4885294da481feaef723", "78017731cf65fab074d5208952512eb1",	/* 18, 19 */
	"9e25fc833f2290733e9344a5e83839eb", "568e495abe525a218a2214cd3e071d12",	/* 20, 21 */
	"4a29b54552d16b9a469c10528eff0aae", "c9d184ddd5a9f5e0cf8ce29a9abf691c",	/* 22, 23 */
	"2db479ae78bd50d8882a8a178a6132ad", "8ece5f042d5e447b5051b9eacb8d8f6f",	/* 24, 25 */
	"9c0b53b4b3c307e87eaee08678141f66", "abf248af69a6eae4bfd3eb2f129eeb94",	/* 26, 27 */
	"0664da1668574b88b935f3027358aef4", "aa4b9dc4bf337de90cd4fd3c467c6ab7",	/* 28, 29 */
	"ea5c7f471faf6bde2b1ad7d4686d2287", "2939b0183223fafc1723de4f52c43d35",	/* 30, 31 */
	"7c3956ca5eeafc3e363e9d556546eb68", "77c6077146f01c32b6b69d5f4ea9ffcf",	/* 32, 33 */
	"37a6986cb8847edf0925f0f1309b54de", "a705f0e69da9a8f907241a2e923c8cc8",	/* 34, 35 */
	"3dc47d1f29c448461e9e76ed904f6711", "0d62bf01e6fc0e1a0d3c4751c5d3692b",	/* 36, 37 */
	"8c03468bca7c669ee4fd5e084bbee7b5", "528a5bb93baf2c9c4473cce5d0d22bd9",	/* 38, 39 */
	"df6a301e95c95dad97ae0cc8c6913bd8", "801189902c857f39e73591285e70b6db",	/* 40, 41 */
	"e617346ac9c231bb3650ae34ccca0c5b", "27d93437efb721aa401821dcec5adf89",	/* 42, 43 */
	"89237d9ded9c5e78d8b1c9b166cc7342", "4a6d8091bf5e7d651189fa94a250b14c",	/* 44, 45 */
	"0e33f96055e7ae893ffc0e3dcf492902", "e61c432b720b19d18ec8d84bdc63151b",	/* 46, 47 */
	"f7e5aef549f782cf379055a608269b16", "438d030fd0b7a54fa837f2ad201a6403",	/* 48, 49 */
	"a590d3ee4fbf04e3247e0d27f286423f", "5fe2c1a172fe93c4b15cd37caef9f538",	/* 50, 51 */
	"2c97325cbd06b36eb2133dd08b3a017c", "92c814227a6bca949ff0659f002ad39e",	/* 52, 53 */
	"dce850110bd8328cfbd50841d6911d87", "67f14984c7da791248e32bb5922583da",	/* 54, 55 */
	"1938f2cf72d54ee97e94166fa91d2a36", "74481e9646ed49fe0f6224301604698e",	/* 56, 57 */
	"57fca5de98a9d6d8006438d0583d8a1d", "9fecde1cefdc1cbed4763674d9575359",	/* 58, 59 */
	"e3040c00eb28f15366ca73cbd872e740", "7697009a6a831dfecca91c5993670f7a",	/* 60, 61 */
	"5853542321f567a005d547a4f04759bd", "5150d1772f50834a503e069a973fbd7c",	/* 62, 63 */
};

static void hex_of(const __u8 *b, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
}

static void siphash_known_answers(void)
{
	__u8 msg[64], tag[CS_SIPHASH_TAG_LEN];
	char got[2 * CS_SIPHASH_TAG_LEN + 1];
	size_t n;

	for (n = 0; n < sizeof(msg); n++)
		msg[n] = (__u8)n;
	for (n = 0; n < 64; n++) {
		cs_siphash128(KEY.b, msg, n, tag);
		hex_of(tag, sizeof(tag), got);
		EXPECT(!strcmp(got, sip128_vectors[n]), "length %zu: %s, want %s", n, got, sip128_vectors[n]);
	}
}

static void equal_ct(void)
{
	__u8 a[CS_SYNC_TAG_LEN], b[CS_SYNC_TAG_LEN];
	size_t i;

	memcpy(a, KEY.b, sizeof(a));
	memcpy(b, KEY.b, sizeof(b));
	EXPECT(cs_equal_ct(a, b, sizeof(a)), "equal tags differ");
	EXPECT(cs_equal_ct(a, b, 0), "nothing differs from nothing");
	for (i = 0; i < sizeof(a); i++) {
		b[i] ^= 0x80;
		EXPECT(!cs_equal_ct(a, b, sizeof(a)), "octet %zu differs, unseen", i);
		b[i] ^= 0x80;
	}
}

/* A flipped bit anywhere refuses the datagram whole: past the magic,
 * version, type and count (which its shape already refuses), because its
 * tag no longer verifies, the tag's own bits included. */
static void flipped_bit_refused(void)
{
	static __u8 buf[CS_SYNC_MAX_LEN];
	size_t len = good(buf, 2), i, by_tag = 0;
	struct cs_sync_hdr h;
	int bit, e;

	for (i = 0; i < len; i++)
		for (bit = 0; bit < 8; bit++) {
			buf[i] ^= (__u8)(1 << bit);
			e = parse(buf, len, &h);
			buf[i] ^= (__u8)(1 << bit);
			if (!EXPECT(e != 0 && untouched(&h), "octet %zu, bit %d flipped: accepted (%d)", i, bit, e))
				return;
			by_tag += e == -EBADMSG;
		}
	EXPECT_EQ(by_tag, (len - 8) * 8);
	EXPECT_EQ(parse(buf, len, &h), 0);
}

/* Sealed under one key, refused under any other: another key, one bit off,
 * all zeros (a node without a key), and the reverse. */
static void wrong_key_refused(void)
{
	static const struct cs_sync_key zero;
	static struct cs_sync_batch b;
	static __u8 buf[CS_SYNC_MAX_LEN];
	struct cs_sync_key k;
	struct cs_sync_entry e;
	struct cs_sync_hdr h;
	size_t len = good(buf, 3), i;

	EXPECT_EQ(cs_sync_parse(buf, len, &OTHER_KEY, &h), -EBADMSG);
	EXPECT_EQ(cs_sync_parse(buf, len, &zero, &h), -EBADMSG);
	for (i = 0; i < 8 * sizeof(k.b); i++) {
		k = KEY;
		k.b[i / 8] ^= (__u8)(1 << (i % 8));
		EXPECT(cs_sync_parse(buf, len, &k, &h) == -EBADMSG, "key bit %zu flipped: accepted", i);
	}
	cs_sync_begin(&b, 1, 2, 3, 4);
	entry_n(0, &e);
	cs_sync_add(&b, &e);
	len = cs_sync_seal(&b, &zero);
	EXPECT_EQ(cs_sync_parse(b.buf, len, &KEY, &h), -EBADMSG);
	EXPECT_EQ(cs_sync_parse(b.buf, len, &zero, &h), 0);
}

/* The config's words are the key's octets in the order the hex digits are
 * written; the derived key is neither the affinity key nor anything read
 * off it, differs for every affinity key, and is the value
 * tests/lib/syncforge.py computes apart from this code. */
static void keys(void)
{
	static const __u64 words[2] = { 0x0011223344556677ULL, 0x8899aabbccddeeffULL };
	static const __u8 want_derived[16] = { 0xec, 0xb7, 0x64, 0xab, 0x99, 0x14, 0xfb, 0xe3,
					       0x51, 0x96, 0xf8, 0x46, 0x2a, 0x9b, 0x8b, 0x90 };
	struct cs_sync_key k, d, d2;
	size_t i;

	cs_sync_key_from_words(words, &k);
	for (i = 0; i < 16; i++)
		EXPECT(k.b[i] == (__u8)(i * 0x11), "octet %zu: %#04x", i, k.b[i]);
	cs_sync_key_derive(&k, &d);
	EXPECT(memcmp(d.b, k.b, sizeof(d.b)), "the derived key is the affinity key");
	EXPECT(!memcmp(d.b, want_derived, sizeof(d.b)), "derived from 00112233445566778899aabbccddeeff: "
	       "%02x%02x%02x%02x...", d.b[0], d.b[1], d.b[2], d.b[3]);
	cs_sync_key_derive(&k, &d2);
	EXPECT(!memcmp(d.b, d2.b, sizeof(d.b)), "two derivations differ");
	k.b[15] ^= 1;
	cs_sync_key_derive(&k, &d2);
	EXPECT(memcmp(d.b, d2.b, sizeof(d.b)), "two affinity keys, one sync key");
	cs_sync_key_derive(&d, &d2);
	EXPECT(memcmp(d.b, d2.b, sizeof(d.b)), "a derived key derives itself");
}

/* A replayed datagram is the one that came before, octet for octet: it
 * still verifies (a tag says who sent it, not when), and every version in
 * it is not newer than the one its first arrival installed: stale. */
static void replay_is_stale(void)
{
	static __u8 buf[CS_SYNC_MAX_LEN];
	struct cs_sync_entry held[4], e;
	struct cs_sync_hdr h;
	size_t len = good(buf, 4);
	__u16 i;

	if (!EXPECT_EQ(parse(buf, len, &h), 0))
		return;
	for (i = 0; i < h.count; i++)
		cs_sync_entry_at(buf, i, &held[i]);
	if (!EXPECT_EQ(parse(buf, len, &h), 0))
		return;
	for (i = 0; i < h.count; i++) {
		cs_sync_entry_at(buf, i, &e);
		EXPECT(!cs_sync_newer(e.epoch, e.seq, held[i].epoch, held[i].seq), "entry %u replayed is newer", i);
	}
}

static void add_refuses_the_17th(void)
{
	static struct cs_sync_batch b;
	static __u8 before[CS_SYNC_MAX_LEN];
	struct cs_sync_entry e;
	int i;

	cs_sync_begin(&b, 1, 2, 3, 4);
	for (i = 0; i < CS_SYNC_BATCH; i++) {
		entry_n(i, &e);
		if (!EXPECT(cs_sync_add(&b, &e), "entry %d refused", i))
			return;
	}
	memcpy(before, b.buf, sizeof(before));
	entry_n(16, &e);
	EXPECT(!cs_sync_add(&b, &e), "a 17th entry was taken");
	EXPECT_EQ(b.count, CS_SYNC_BATCH);
	EXPECT_EQ(cs_sync_len(&b), CS_SYNC_MAX_LEN - CS_SYNC_TAG_LEN);	/* the tag's room is left */
	EXPECT(!memcmp(before, b.buf, sizeof(before)), "a refused entry changed the datagram");
	/* begin empties it again */
	cs_sync_begin(&b, 1, 2, 3, 4);
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

/* What a peer needs to keep a synced stream by the rule its holder keeps it
 * (lib/flowlife.h) travels: the state, the flags (proven, which side sent a
 * FIN) and the idle time, which the 32-bit ms field holds up to the longest
 * lifetime there is (30 days). A quiet established connection's copy lives
 * as long as the connection does on its holder. */
static void copy_lives_by_the_holders_rule(void)
{
	struct cs_flow_key k = { .lo_port = 40000, .hi_port = 443, .proto = IPPROTO_TCP };
	__u8 flags = CS_STREAM_PROVEN | CS_LIFE_FIN_LO | CS_LIFE_FIRST_LO | CS_LIFE_BEGAN_SYN;
	struct cs_stream st = { .first_ns = 1000 * MS, .packets = 9, .epoch = 5, .seq = 3, .state = CS_ST_ESTABLISHED,
				.flags = flags };
	__u64 day = 86400000ULL * MS, now = 40 * day;
	struct cs_conf c = { .flow_timeouts = { CS_TIMEOUT_SYN_DEFAULT_MS, CS_TIMEOUT_ESTABLISHED_DEFAULT_MS,
						CS_TIMEOUT_FIN_DEFAULT_MS, CS_TIMEOUT_LINGER_DEFAULT_MS } };
	struct cs_lifetimes life = cs_lifetimes_of(&c, 2000);
	struct cs_sync_batch b;
	struct cs_sync_entry e;
	struct cs_stream back;
	struct cs_sync_hdr h;
	size_t len;

	addr4(&k.lo, "10.10.0.2");
	addr4(&k.hi, "192.0.2.7");
	st.last_ns = now - 3 * day;	/* quiet for 3 days on its holder */
	cs_sync_entry_from(&e, &k, &st, now);
	cs_sync_begin(&b, 1, 2, 3, 4);
	cs_sync_add(&b, &e);
	len = cs_sync_seal(&b, &KEY);
	EXPECT_EQ(b.buf[CS_SYNC_HDR_LEN + 37], CS_ST_ESTABLISHED);
	EXPECT_EQ(b.buf[CS_SYNC_HDR_LEN + 38], flags);
	if (!EXPECT(cs_sync_parse(b.buf, len, &KEY, &h) == 0, "parse"))
		return;
	cs_sync_entry_at(b.buf, 0, &e);
	EXPECT_EQ(e.idle_ms, 3 * 86400000U);
	/* a peer whose clock reads 20 days */
	cs_sync_entry_to(&e, 2, 20 * day, &back);
	EXPECT_EQ(back.flags, flags | CS_STREAM_SYNCED);
	EXPECT_EQ(back.state, CS_ST_ESTABLISHED);
	EXPECT(cs_stream_alive(&life, back.state, back.last_ns, 20 * day), "the copy is over at 3 days");
	EXPECT(cs_stream_alive(&life, back.state, back.last_ns, 22 * day), "the copy is over at 5 days");
	EXPECT(!cs_stream_alive(&life, back.state, back.last_ns, 22 * day + 1000 * MS), "past 5 days");
	/* the idle time of the longest lifetime, 30 days, fits */
	st.last_ns = now - 30 * day;
	cs_sync_entry_from(&e, &k, &st, now);
	EXPECT_EQ(e.idle_ms, 30 * 86400000U);
}

int main(void)
{
	RUN(round_trip_full_batch);
	RUN(known_encoding);
	RUN(malformed);
	RUN(other_versions_refused);
	RUN(siphash_known_answers);
	RUN(equal_ct);
	RUN(flipped_bit_refused);
	RUN(wrong_key_refused);
	RUN(keys);
	RUN(replay_is_stale);
	RUN(add_refuses_the_17th);
	RUN(ages);
	RUN(newer);
	RUN(lamport);
	RUN(copy_lives_by_the_holders_rule);
	T_EXIT();
}
