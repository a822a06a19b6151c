// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* What a cluster writes in etcd, without etcd: the values of nodes/ and ip/
 * keys there and back, the record key's fixed text, the lease buckets of
 * records, and the config digests that name where two nodes disagree. The
 * cluster thread against real etcd is tests/cluster/cluster.sh. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testing.h"
#include "lib/addr.h"
#include "lib/clusterkeys.h"
#include "lib/clustervalues.h"
#include "lib/confdigest.h"
#include "lib/config.h"

T_SUITE("cluster");

/* ---- values ---- */

static const struct cs_record_value a_record = {
	.pattern = "*.cloudapp.test", .rule = 0x0123456789abcdefULL, .chain = "casb", .ttl = 300,
	.expires_s = 1764000330, .learned_ms = 1764000000123, .by = "gw-1",
};

static void record_value_there_and_back(void)
{
	struct cs_record_value back;
	char *json = cs_record_value_encode(&a_record);

	if (!EXPECT(json, "not encoded"))
		return;
	EXPECT(!strcmp(json, "{\"pattern\":\"*.cloudapp.test\",\"rule\":\"0123456789abcdef\",\"chain\":\"casb\","
			     "\"ttl\":300,\"expires\":1764000330,\"learned\":1764000000123,\"by\":\"gw-1\"}"),
	       "%s", json);
	if (EXPECT(!cs_record_value_decode(json, strlen(json), &back), "%s refused", json))
		EXPECT(!memcmp(&back, &a_record, sizeof(back)), "another record came back");
	free(json);
}

/* A later version's members are ignored; a value without what a record
 * needs is refused. */
static void record_value_refusals(void)
{
	static const char *const bad[] = {
		"", "[]", "{\"pattern\":\"a.test\",\"ttl\":3,\"expires\":9}",
		"{\"pattern\":\"\",\"ttl\":3,\"expires\":9,\"by\":\"g\"}",
		"{\"pattern\":\"a.test\",\"ttl\":-1,\"expires\":9,\"by\":\"g\"}",
		"{\"pattern\":\"a.test\",\"ttl\":3,\"expires\":\"9\",\"by\":\"g\"}",
		"{\"pattern\":\"a.test\",\"ttl\":3,\"expires\":9,\"by\":\"g\"", "not json",
	};
	const char *later = "{\"pattern\":\"a.test\",\"ttl\":3,\"expires\":9,\"by\":\"g\",\"new\":{\"x\":1}}";
	struct cs_record_value v;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT(cs_record_value_decode(bad[i], strlen(bad[i]), &v) == -EINVAL, "accepted: %s", bad[i]);
	if (EXPECT(!cs_record_value_decode(later, strlen(later), &v), "a later version's value refused"))
		EXPECT(!strcmp(v.pattern, "a.test") && v.ttl == 3 && v.expires_s == 9 && !v.learned_ms && !v.rule,
		       "read as %s %u %lld", v.pattern, v.ttl, (long long)v.expires_s);
}

static void node_value_there_and_back(void)
{
	struct cs_node_value v, back;
	char *json;

	memset(&v, 0, sizeof(v));	/* compared whole, padding too */
	strcpy(v.role, "gateway");
	strcpy(v.version, "v1.2-3-gabc");
	v.n_addrs = 2;
	v.lease_ttl_s = 10;
	v.started_s = 1764000000;
	v.n_synced = 1;
	cs_addr_parse("10.40.0.11", &v.addrs[0]);
	cs_addr_parse("2001:db8::11", &v.addrs[1]);
	v.digest.part[CS_DIGEST_RULES] = 1;
	v.digest.part[CS_DIGEST_CHAINS] = 2;
	v.digest.part[CS_DIGEST_AFFINITY_KEY] = 0xffffffffffffffffULL;
	v.digest.all = 0xabcdef;
	v.digest.random_affinity_key = true;
	strcpy(v.synced[0], "ip");
	v.n_tables = 1;
	strcpy(v.tables[0].chain, "casb");
	v.tables[0].digest = 0xfedcba9876543210ULL;
	v.tables[0].map_revision = 57;
	json = cs_node_value_encode(&v);
	if (!EXPECT(json, "not encoded"))
		return;
	EXPECT(strstr(json, "\"addresses\":[\"10.40.0.11\",\"2001:db8::11\"]") &&
	       strstr(json, "\"config\":\"0000000000abcdef\"") && strstr(json, "\"rules\":\"0000000000000001\"") &&
	       strstr(json, "\"mesh.affinity_key\":\"ffffffffffffffff\"") && strstr(json, "\"synced\":[\"ip\"]") &&
	       strstr(json, "\"tables\":{\"casb\":{\"digest\":\"fedcba9876543210\",\"map\":57}}"),
	       "%s", json);
	if (EXPECT(!cs_node_value_decode(json, strlen(json), &back), "%s refused", json))
		EXPECT(!memcmp(&back, &v, sizeof(v)), "another node came back from %s", json);
	free(json);
	EXPECT(cs_node_value_decode("{\"role\":\"gateway\"}", 18, &back) == -EINVAL, "a node without a config");
}

/* ---- the record's key ---- */

static void record_key_text_and_back(void)
{
	static const struct { const char *ip, *name, *key; } cases[] = {
		{ "192.0.2.7", "www.example.test", "/cloudsteer/v1/emea/ip/192.0.2.7/www.example.test" },
		{ "2001:0db8:0:0::0007", "a.test", "/cloudsteer/v1/emea/ip/2001:db8::7/a.test" },
		{ "::ffff:198.18.0.1", "x-1_y.test", "/cloudsteer/v1/emea/ip/198.18.0.1/x-1_y.test" },
	};
	const size_t prefix_len = strlen("/cloudsteer/v1/emea/ip/");
	char key[CS_CKEY_MAX], name[CS_NAME_TEXT_MAX];
	struct cs_addr a, back;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cs_addr_parse(cases[i].ip, &a);
		EXPECT(cs_record_key(key, sizeof(key), "emea", &a, cases[i].name) == (int)strlen(cases[i].key) &&
		       !strcmp(key, cases[i].key), "%s", key);
		if (EXPECT(!cs_record_key_parse(key, strlen(key), prefix_len, &back, name, sizeof(name)), "%s", key))
			EXPECT(!memcmp(&a, &back, sizeof(a)) && !strcmp(name, cases[i].name), "%s back", key);
	}
}

static void record_key_refusals(void)
{
	static const char *const bad[] = {
		"/c/ip/", "/c/ip/192.0.2.7", "/c/ip/192.0.2.7/", "/c/ip//a.test", "/c/ip/192.0.2/a.test",
		"/c/ip/192.0.2.7/A.test", "/c/ip/192.0.2.7/a..test", "/c/ip/192.0.2.7/.a.test",
		"/c/ip/192.0.2.7/a.test.", "/c/ip/192.0.2.7/a/b", "/c/ip/192.0.2.7/a b",
	};
	char name[CS_NAME_TEXT_MAX];
	struct cs_addr a;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		EXPECT(cs_record_key_parse(bad[i], strlen(bad[i]), strlen("/c/ip/"), &a, name, sizeof(name)) == -EINVAL,
		       "accepted %s", bad[i]);
}

/* ---- leases ---- */

static void lease_buckets(void)
{
	static const __s64 cases[][2] = { { 100, 100 }, { 101, 105 }, { 104, 105 }, { 105, 105 }, { 106, 110 },
					  { 0, 0 }, { -1, 0 }, { -5, -5 }, { -6, -5 } };
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		EXPECT(cs_lease_bucket(cases[i][0]) == cases[i][1], "bucket of %lld: %lld, not %lld",
		       (long long)cases[i][0], (long long)cs_lease_bucket(cases[i][0]), (long long)cases[i][1]);
	EXPECT_EQ(cs_lease_ttl(105, 100), 7);
	EXPECT_EQ(cs_lease_ttl(100, 100), CS_LEASE_SLACK_S);
	EXPECT_EQ(cs_lease_ttl(90, 100), CS_LEASE_TTL_MIN_S);
}

/* Whenever it is granted, a bucket's lease outlives every record in it, and
 * not by more than a bucket and the slack; records of one bucket share it. */
static void lease_outlives_its_records_by_little(void)
{
	__s64 now, e, end;
	int bad = 0;

	for (now = 1000; now < 1012; now++)
		for (e = now; e < now + 40; e++) {
			end = now + cs_lease_ttl(cs_lease_bucket(e), now);
			if (end < e || end > e + CS_LEASE_BUCKET_S + CS_LEASE_SLACK_S || end - e < CS_LEASE_SLACK_S)
				bad += !!printf("  expiry %lld granted at %lld: the key goes at %lld\n", (long long)e,
						(long long)now, (long long)end);
		}
	EXPECT_EQ(bad, 0);
	EXPECT(cs_lease_bucket(1001) == cs_lease_bucket(1005) && cs_lease_bucket(1005) != cs_lease_bucket(1006),
	       "1001..1005 share a lease, 1006 does not");
}

/* ---- config digests ---- */

static char dir[] = "/tmp/cs-cluster-test.XXXXXX";

static bool digest_of(const char *yaml, struct cs_conf_digest *d)
{
	char path[256], err[512];
	struct cs_conf c;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/c.yaml", dir);
	f = fopen(path, "w");
	if (!EXPECT(f, "cannot write %s", path))
		return false;
	fputs(yaml, f);
	fclose(f);
	rc = cs_config_load(path, &c, err, sizeof(err));
	if (!EXPECT(!rc, "%s", err))
		return false;
	rc = cs_conf_digest(&c, d);
	cs_config_free(&c);
	return EXPECT(!rc, "digest: %d", rc);
}

#define BASE_LEARN "learn:\n  interfaces: [eth0]\n  ttl: {grace: 10}\n"
#define BASE_RULES "rules:\n  - match: [a.test, \"*.b.test\"]\n    chain: casb\n"
#define BASE_CHAINS                                                                                       \
	"chains:\n  - name: casb\n    instances:\n      - {name: casb-a, address: 10.30.0.2}\n"              \
	"      - {name: casb-b, address: 10.31.0.2}\n"
#define BASE_MESH "mesh:\n  affinity_key: 00112233445566778899aabbccddeeff\n"

/* Which parts differ from the base config's digest: a bit each. */
static unsigned int differs(const struct cs_conf_digest *a, const struct cs_conf_digest *b)
{
	unsigned int bits = 0, i;

	for (i = 0; i < CS_DIGEST_PARTS; i++)
		bits |= (a->part[i] != b->part[i]) << i;
	return bits;
}

static void digests_name_the_part_that_differs(void)
{
	static const struct { const char *what, *yaml; unsigned int differ; } cases[] = {
		{ "the same, with a node's own keys changed",
		  "learn:\n  interfaces: [eth1]\n  ttl: {grace: 10}\n  quota: 7\nsteer:\n  interfaces: [lan]\n"
		  BASE_RULES BASE_CHAINS BASE_MESH "metrics: 127.0.0.1:9999\n", 0 },
		{ "an address written otherwise",
		  BASE_LEARN BASE_RULES "chains:\n  - name: casb\n    instances:\n"
		  "      - {name: casb-a, address: 10.30.0.2}\n      - {name: casb-b, address: \"::ffff:10.31.0.2\"}\n"
		  BASE_MESH, 0 },
		{ "another rule", BASE_LEARN BASE_RULES "  - match: [c.test]\n" BASE_CHAINS BASE_MESH,
		  1u << CS_DIGEST_RULES },
		{ "another grace", "learn:\n  interfaces: [eth0]\n  ttl: {grace: 11}\n" BASE_RULES BASE_CHAINS BASE_MESH,
		  1u << CS_DIGEST_RULES },
		{ "another instance address",
		  BASE_LEARN BASE_RULES "chains:\n  - name: casb\n    instances:\n"
		  "      - {name: casb-a, address: 10.30.0.2}\n      - {name: casb-b, address: 10.31.0.3}\n" BASE_MESH,
		  1u << CS_DIGEST_CHAINS },
		{ "a chain's affinity of hosts",
		  BASE_LEARN BASE_RULES BASE_CHAINS "    affinity: hosts\n" BASE_MESH, 1u << CS_DIGEST_CHAINS },
		{ "the default affinity written out", BASE_LEARN BASE_RULES BASE_CHAINS "    affinity: flow\n" BASE_MESH,
		  0 },
		{ "another affinity key",
		  BASE_LEARN BASE_RULES BASE_CHAINS "mesh:\n  affinity_key: 00112233445566778899aabbccddeef0\n",
		  1u << CS_DIGEST_AFFINITY_KEY },
		{ "a sync key", BASE_LEARN BASE_RULES BASE_CHAINS BASE_MESH
		  "  sync_key: 8f1e0c2d4b6a79583e2f1d0c9b8a7f6e\n", 1u << CS_DIGEST_SYNC_KEY },
	};
	struct cs_conf_digest base, d;
	size_t i;

	if (!digest_of(BASE_LEARN BASE_RULES BASE_CHAINS BASE_MESH, &base))
		return;
	EXPECT(!base.random_affinity_key && base.part[CS_DIGEST_AFFINITY_KEY] && !base.part[CS_DIGEST_SYNC_KEY],
	       "the keys' digests");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (!digest_of(cases[i].yaml, &d))
			continue;
		EXPECT(differs(&base, &d) == cases[i].differ, "%s: parts %#x differ, not %#x", cases[i].what,
		       differs(&base, &d), cases[i].differ);
		EXPECT((base.all == d.all) == !cases[i].differ, "%s: the whole digest", cases[i].what);
	}
	if (digest_of(BASE_LEARN BASE_RULES BASE_CHAINS, &d))
		EXPECT(d.random_affinity_key && !d.part[CS_DIGEST_AFFINITY_KEY], "without a key: random");
}

int main(void)
{
	if (!mkdtemp(dir)) {
		printf("FAIL: cluster: mkdtemp\n");
		return 1;
	}
	RUN(record_value_there_and_back);
	RUN(record_value_refusals);
	RUN(node_value_there_and_back);
	RUN(record_key_text_and_back);
	RUN(record_key_refusals);
	RUN(lease_buckets);
	RUN(lease_outlives_its_records_by_little);
	RUN(digests_name_the_part_that_differs);
	{
		char path[256];

		snprintf(path, sizeof(path), "%s/c.yaml", dir);
		unlink(path);
		rmdir(dir);
	}
	T_EXIT();
}
