// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The name hash that keys the rule map: known answers, and the properties
 * the learn program relies on. That BPF computes the same values off the
 * wire is checked in tests/prog/. */
#include <string.h>

#include "testing.h"
#include "lib/rules.h"
#include "namehash.h"

T_SUITE("namehash");

static const __u64 key[2] = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL };

/* Pinned: a change here changes the hash every deployed rule map uses. */
static void known_answers(void)
{
	static const struct { const char *name; __u64 hash; } v[] = {
		{ "com", 0xd6a042188b2680bfULL },
		{ "example.com", 0x361f454bc1f0ec12ULL },
		{ "www.example.com", 0x3be8bbe5ea100e32ULL },
		{ "a", 0x367a8da581dc67e6ULL },
		{ "xn--bcher-kva.example", 0xd01a614952640d28ULL },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		EXPECT(cs_text_name_hash(key, v[i].name, NULL) == v[i].hash, "%s", v[i].name);
}

static void case_insensitive(void)
{
	EXPECT(cs_text_name_hash(key, "WWW.Example.COM", NULL) ==
	       cs_text_name_hash(key, "www.example.com", NULL), "case must not matter");
}

static void counts_labels(void)
{
	__u32 labels = 0;

	cs_text_name_hash(key, "a.b.c.d", &labels);
	EXPECT_EQ(labels, 4);
	cs_text_name_hash(key, "", &labels);
	EXPECT_EQ(labels, 0);
}

/* Label boundaries are part of the hash: "ab.c" is not "a.bc". */
static void boundaries_matter(void)
{
	EXPECT(cs_text_name_hash(key, "ab.c", NULL) != cs_text_name_hash(key, "a.bc", NULL), "ab.c vs a.bc");
	EXPECT(cs_text_name_hash(key, "a.b", NULL) != cs_text_name_hash(key, "b.a", NULL), "order");
}

/* Labels are hashed 8 octets a word: lengths around the word size, and
 * octets over 0x7f, which must not be folded like letters. */
static void labels_across_words(void)
{
	static const char *const names[] = { "abcdefg", "abcdefgh", "abcdefghi", "abcdefghijklmnop",
					     "abcdefghijklmnopq" };
	char upper[32];
	size_t i, j;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (j = 0; names[i][j]; j++)
			upper[j] = (char)(names[i][j] - 32);
		upper[j] = 0;
		EXPECT(cs_text_label_hash(key, names[i], j) == cs_text_label_hash(key, upper, j), "%s", upper);
		EXPECT(cs_text_label_hash(key, names[i], j) != cs_text_label_hash(key, names[i], j - 1),
		       "%s: the last octet counts", names[i]);
	}
	/* 0xC1 is not 0xE1: only ASCII letters fold */
	EXPECT(cs_text_label_hash(key, "\xc1", 1) != cs_text_label_hash(key, "\xe1", 1), "0xC1");
	EXPECT(cs_lower8(0x5b5a41403f7a617fULL) == 0x5b7a61403f7a617fULL, "SWAR: only A..Z move");
}

static void keyed(void)
{
	const __u64 other[2] = { key[0] ^ 1, key[1] };
	const __u64 other2[2] = { key[0], key[1] ^ 1 };

	EXPECT(cs_text_name_hash(key, "example.com", NULL) != cs_text_name_hash(other, "example.com", NULL),
	       "key[0] must change the hash");
	EXPECT(cs_text_name_hash(key, "example.com", NULL) != cs_text_name_hash(other2, "example.com", NULL),
	       "key[1] must change the hash");
}

/* The suffix fold is what lets one lookup per label boundary find a rule:
 * folding "www" onto the hash of "example.com" gives the hash of the whole. */
static void suffix_fold(void)
{
	EXPECT(cs_suffix_fold(cs_text_name_hash(key, "example.com", NULL),
			      cs_text_label_hash(key, "WWW", 3)) ==
	       cs_text_name_hash(key, "www.example.com", NULL), "fold of a label onto a suffix");
}

/* 200,000 distinct names, no collision among them. */
static void no_collisions_in_a_large_set(void)
{
	enum { N = 200000 };
	static __u64 h[N];
	char name[64];
	int i, dups = 0;

	for (i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "host%d.zone%d.example", i, i % 97);
		h[i] = cs_text_name_hash(key, name, NULL);
	}
	for (i = 0; i < N; i++) {
		/* insertion into a small open-addressing set */
		static __u64 set[1 << 19];
		__u64 v = h[i] ? h[i] : 1;
		size_t j = v & ((1 << 19) - 1);

		while (set[j] && set[j] != v)
			j = (j + 1) & ((1 << 19) - 1);
		dups += set[j] == v;
		set[j] = v;
	}
	EXPECT_EQ(dups, 0);
}

int main(void)
{
	RUN(known_answers);
	RUN(case_insensitive);
	RUN(counts_labels);
	RUN(boundaries_matter);
	RUN(labels_across_words);
	RUN(keyed);
	RUN(suffix_fold);
	RUN(no_collisions_in_a_large_set);
	T_EXIT();
}
