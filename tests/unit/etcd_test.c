// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The parts of the etcd client that need no etcd: base64 against RFC 4648's
 * vectors, the end of a prefix's range, the key layout. The client against
 * a real etcd is tests/cluster/. */
#include <errno.h>
#include <string.h>

#include "testing.h"
#include "lib/base64.h"
#include "lib/clusterkeys.h"
#include "lib/etcd.h"

T_SUITE("etcd");

static void base64_rfc4648_vectors(void)
{
	static const char *const vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	unsigned char back[16];
	char text[16];
	size_t i, n;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		EXPECT_EQ(cs_base64_encode(vec[i][0], strlen(vec[i][0]), text), strlen(vec[i][1]));
		EXPECT(!strcmp(text, vec[i][1]), "\"%s\" -> %s, not %s", vec[i][0], text, vec[i][1]);
		if (EXPECT(!cs_base64_decode(vec[i][1], strlen(vec[i][1]), back, &n), "%s refused", vec[i][1]))
			EXPECT(n == strlen(vec[i][0]) && !memcmp(back, vec[i][0], n) && !back[n], "%s back", vec[i][1]);
	}
}

/* Every byte value goes there and back: keys are bytes. */
static void base64_every_byte(void)
{
	unsigned char bytes[256], back[256 + 2];
	char text[CS_BASE64_LEN(256) + 1];
	size_t i, n, len;

	for (i = 0; i < 256; i++)
		bytes[i] = (unsigned char)(255 - i);
	for (len = 0; len <= 256; len += 37) {
		cs_base64_encode(bytes, len, text);
		if (!EXPECT(!cs_base64_decode(text, strlen(text), back, &n), "%zu bytes", len))
			continue;
		EXPECT(n == len && !memcmp(back, bytes, len), "%zu bytes do not come back", len);
	}
}

static void base64_refuses_what_is_not_base64(void)
{
	static const char *const bad[] = { "Zg=", "Zg", "Z===", "=Zg=", "Zm9v!A==", "Zg==Zg==", "Zm=v", "Zm 9v" };
	unsigned char out[16];
	size_t i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT(cs_base64_decode(bad[i], strlen(bad[i]), out, &n) == -1, "\"%s\" accepted", bad[i]);
}

static void prefix_end(void)
{
	unsigned char out[8];

	EXPECT_EQ(cs_etcd_prefix_end("a/", 2, out), 2);
	EXPECT(!memcmp(out, "a0", 2), "a/ -> a0 ('/' + 1 is '0')");
	EXPECT_EQ(cs_etcd_prefix_end("ab\xff", 3, out), 2);
	EXPECT(!memcmp(out, "ac", 2), "ab\\xff -> ac: the 0xff dropped, the byte before it + 1");
	EXPECT_EQ(cs_etcd_prefix_end("a\xfe", 2, out), 2);
	EXPECT(!memcmp(out, "a\xff", 2), "a\\xfe -> a\\xff");
	EXPECT_EQ(cs_etcd_prefix_end("\xff\xff", 2, out), 1);
	EXPECT(out[0] == 0, "all 0xff: to the end of the keyspace, the byte 0");
	EXPECT_EQ(cs_etcd_prefix_end("", 0, out), 1);
	EXPECT(out[0] == 0, "the empty prefix: every key");
}

static void key_layout(void)
{
	const char *const rec[] = { "192.0.2.7", "login.example.com" };
	const char *const node[] = { "gw-1" };
	char key[CS_CKEY_MAX];

	EXPECT_EQ(cs_ckey(key, sizeof(key), "emea", CS_CKEY_NODES, NULL, 0), (int)strlen("/cloudsteer/v1/emea/nodes/"));
	EXPECT(!strcmp(key, "/cloudsteer/v1/emea/nodes/"), "%s", key);
	cs_ckey(key, sizeof(key), "emea", CS_CKEY_NODES, node, 1);
	EXPECT(!strcmp(key, "/cloudsteer/v1/emea/nodes/gw-1"), "%s", key);
	cs_ckey(key, sizeof(key), "emea", CS_CKEY_IP, rec, 2);
	EXPECT(!strcmp(key, "/cloudsteer/v1/emea/ip/192.0.2.7/login.example.com"), "%s", key);
	EXPECT_EQ(cs_ckey(key, 20, "emea", CS_CKEY_IP, rec, 2), -ENAMETOOLONG);
	EXPECT_EQ(cs_ckey(key, 26, "emea", CS_CKEY_NODES, NULL, 0), -ENAMETOOLONG);	/* the NUL too */
	EXPECT_EQ(cs_ckey(key, 27, "emea", CS_CKEY_NODES, NULL, 0), 26);
}

/* A client needs an endpoint; nothing is sent at open without credentials,
 * so one that does not exist opens, and the first call says where it failed. */
static void open_and_close(void)
{
	const char *none[] = { "http://127.0.0.1:1" };
	struct cs_etcd_opts o = { .endpoints = none, .n_endpoints = 0 };
	char err[CS_ETCD_ERR_MAX] = "";
	struct cs_etcd *c;

	EXPECT_EQ(cs_etcd_open(&o, &c, err, sizeof(err)), -EINVAL);
	EXPECT(c == NULL && strstr(err, "no etcd endpoint"), "%s", err);
	o.n_endpoints = 1;
	if (!EXPECT(cs_etcd_open(&o, &c, err, sizeof(err)) == 0, "%s", err))
		return;
	EXPECT(!strcmp(cs_etcd_endpoint(c), "http://127.0.0.1:1"), "%s", cs_etcd_endpoint(c));
	cs_etcd_close(c);
}

int main(void)
{
	RUN(base64_rfc4648_vectors);
	RUN(base64_every_byte);
	RUN(base64_refuses_what_is_not_base64);
	RUN(prefix_end);
	RUN(key_layout);
	RUN(open_and_close);
	T_EXIT();
}
