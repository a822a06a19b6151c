// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The agreed service map without etcd (lib/agreedmap.h): the leader's
 * decision of each instance's state, the values of obs/, leader/ and map/
 * there and back (and refused when malformed), the table every node builds
 * from a map and its digest in names. The parts against real etcd are
 * tests/e2e/cluster_map.sh. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testing.h"
#include "lib/agreedmap.h"
#include "lib/clustervalues.h"
#include "lib/servicemap.h"

T_SUITE("agreedmap");

static struct cs_agreed_instance inst(__u32 state, __s64 since, bool member)
{
	struct cs_agreed_instance in = { .state = state, .since_ms = since, .member = member };

	strcpy(in.name, "casb-a");
	return in;
}

/* Down only by a strict majority of the live observers: one of two is not
 * enough (a node's own probe fails over there alone, at once). */
static void down_by_a_majority_of_observers(void)
{
	struct cs_agreed_instance prev = inst(CS_INST_UP, 1, false), next;
	struct cs_agreed_view half = { .observers = 2, .down = 1 }, most = { .observers = 3, .down = 2 },
			      all = { .observers = 2, .down = 2 }, none = { 0 };

	EXPECT(!cs_agreed_decide(&prev, &half, 100, 0, &next) && next.state == CS_INST_UP, "1 of 2 made it %u",
	       next.state);
	EXPECT(cs_agreed_decide(&prev, &most, 100, 0, &next) && next.state == CS_INST_DOWN && next.since_ms == 100,
	       "2 of 3: %u since %lld", next.state, (long long)next.since_ms);
	EXPECT(cs_agreed_decide(&prev, &all, 100, 0, &next) && next.state == CS_INST_DOWN, "2 of 2: %u", next.state);
	EXPECT(!cs_agreed_decide(&prev, &none, 100, 0, &next) && next.state == CS_INST_UP,
	       "no observer: %u (nobody says it is down)", next.state);
	EXPECT(cs_agreed_decide(NULL, &none, 100, 0, &next) && next.state == CS_INST_UP && next.since_ms == 100,
	       "a new one: %u", next.state);
}

/* A member (it registered itself) whose own key went is down: its lease
 * expired, whatever the probes say; seen again, it comes back. */
static void down_when_its_own_lease_goes(void)
{
	struct cs_agreed_instance prev = inst(CS_INST_UP, 1, false), next;
	struct cs_agreed_view self = { .observers = 2, .self_seen = true }, gone = { .observers = 2 };

	EXPECT(cs_agreed_decide(&prev, &self, 10, 0, &next) && next.member && next.state == CS_INST_UP,
	       "seen registered: member %d state %u", next.member, next.state);
	prev = next;
	EXPECT(cs_agreed_decide(&prev, &gone, 20, 0, &next) && next.state == CS_INST_DOWN, "its lease went: %u",
	       next.state);
	prev = next;
	EXPECT(cs_agreed_decide(&prev, &self, 30, 0, &next) && next.state == CS_INST_UP, "back: %u", next.state);
	prev = inst(CS_INST_UP, 1, false);
	EXPECT(!cs_agreed_decide(&prev, &gone, 20, 0, &next) && next.state == CS_INST_UP,
	       "never a member: no key is no news (%u)", next.state);
}

/* Back from down: warming for the warmup, then up; drained while a drain
 * intent names it, whatever else; up at once when it goes. */
static void warming_and_drained(void)
{
	struct cs_agreed_instance prev = inst(CS_INST_DOWN, 1, false), next;
	struct cs_agreed_view up = { .observers = 2 }, drain = { .observers = 2, .down = 2, .drain = true };

	EXPECT(cs_agreed_decide(&prev, &up, 1000, 500, &next) && next.state == CS_INST_WARMING &&
		       next.since_ms == 1000, "back: %u", next.state);
	prev = next;
	EXPECT(!cs_agreed_decide(&prev, &up, 1499, 500, &next) && next.state == CS_INST_WARMING,
	       "within the warmup: %u", next.state);
	EXPECT(cs_agreed_decide(&prev, &up, 1500, 500, &next) && next.state == CS_INST_UP, "after it: %u",
	       next.state);
	prev = inst(CS_INST_DOWN, 1, false);
	EXPECT(cs_agreed_decide(&prev, &up, 1000, 0, &next) && next.state == CS_INST_UP, "no warmup: %u",
	       next.state);
	EXPECT(cs_agreed_decide(&prev, &drain, 1000, 0, &next) && next.state == CS_INST_DRAINING, "drained: %u",
	       next.state);
	prev = next;
	EXPECT(cs_agreed_decide(&prev, &up, 2000, 500, &next) && next.state == CS_INST_UP, "undrained: %u",
	       next.state);
}

static struct cs_map_value a_map(void)
{
	struct cs_map_value m;

	memset(&m, 0, sizeof(m));	/* compared whole */
	strcpy(m.chain, "casb");
	strcpy(m.leader, "gw-1");
	m.n_buckets = 256;
	m.fence = 57;
	m.chains_digest = 0x0123456789abcdefULL;
	m.decided_ms = 1764000000123;
	m.n = 3;
	m.inst[0] = inst(CS_INST_UP, 5, false);
	m.inst[1] = inst(CS_INST_DOWN, 6, true);
	strcpy(m.inst[1].name, "casb-b");
	m.inst[2] = inst(CS_INST_WARMING, 7, false);
	strcpy(m.inst[2].name, "casb-c");
	return m;
}

static void values_there_and_back(void)
{
	struct cs_map_value m = a_map(), back;
	struct cs_obs_value o = { .down = true, .since_ms = 42, .why = "link svc down" }, ob;
	struct cs_leader_value l = { .node = "gw-2", .since_ms = 9 }, lb;
	char *json = cs_map_value_encode(&m);

	if (EXPECT(json, "map not encoded")) {
		EXPECT(strstr(json, "{\"name\":\"casb-b\",\"state\":\"down\",\"since\":6,\"member\":true}") &&
			       strstr(json, "\"fence\":57"), "%s", json);
		EXPECT(!cs_map_value_decode(json, strlen(json), &back) && !memcmp(&back, &m, sizeof(m)),
		       "another map came back from %s", json);
		free(json);
	}
	json = cs_obs_value_encode(&o);
	if (EXPECT(json, "obs not encoded")) {
		EXPECT(!cs_obs_value_decode(json, strlen(json), &ob) && !memcmp(&ob, &o, sizeof(o)), "%s", json);
		free(json);
	}
	json = cs_leader_value_encode(&l);
	if (EXPECT(json, "leader not encoded")) {
		EXPECT(!cs_leader_value_decode(json, strlen(json), &lb) && !memcmp(&lb, &l, sizeof(l)), "%s", json);
		free(json);
	}
}

/* What etcd may hold that no node wrote is refused, never acted on. */
static void malformed_values_refused(void)
{
	static const char *const maps[] = {
		"", "[]", "not json", "{\"chain\":\"casb\",\"buckets\":256,\"fence\":1}",
		"{\"chain\":\"casb\",\"buckets\":255,\"fence\":1,\"instances\":[]}",
		"{\"chain\":\"casb\",\"buckets\":256,\"fence\":1,\"instances\":[{\"name\":\"a\",\"state\":\"sleepy\"}]}",
		"{\"chain\":\"casb\",\"buckets\":256,\"fence\":1,\"instances\":[{\"name\":\"a\",\"state\":\"up\"},"
		"{\"name\":\"a\",\"state\":\"up\"}]}",
		"{\"chain\":\"casb\",\"buckets\":256,\"fence\":1,\"instances\":[{\"state\":\"up\"}]}",
		"{\"chain\":\"casb\",\"buckets\":131072,\"fence\":1,\"instances\":[]}",
	};
	static const char *const obs[] = { "", "{}", "{\"state\":\"maybe\"}", "{\"state\":1}" };
	struct cs_map_value m;
	struct cs_obs_value o;
	struct cs_leader_value l;
	size_t i;

	for (i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		EXPECT(cs_map_value_decode(maps[i], strlen(maps[i]), &m) == -EINVAL, "map accepted: %s", maps[i]);
	for (i = 0; i < sizeof(obs) / sizeof(obs[0]); i++)
		EXPECT(cs_obs_value_decode(obs[i], strlen(obs[i]), &o) == -EINVAL, "obs accepted: %s", obs[i]);
	EXPECT(cs_leader_value_decode("{\"node\":\"\"}", 11, &l) == -EINVAL, "a leader without a node");
}

/* Every node builds the same table from one map, whatever the order of its
 * list: the digest in names says so; the down instance is in no bucket, the
 * warming one never primary where another can be. */
static void same_map_same_table(void)
{
	struct cs_map_value m = a_map(), r = a_map();
	struct cs_bucket *a = calloc(256, sizeof(*a)), *b = calloc(256, sizeof(*b));
	const char *na[3], *nb[3];
	size_t i;

	if (!EXPECT(a && b, "out of memory"))
		goto out;
	r.inst[0] = m.inst[2];
	r.inst[2] = m.inst[0];
	for (i = 0; i < 3; i++) {
		na[i] = m.inst[i].name;
		nb[i] = r.inst[i].name;
	}
	if (!EXPECT(!cs_map_build(&m, a) && !cs_map_build(&r, b), "not built"))
		goto out;
	EXPECT(cs_table_digest(a, 256, na) == cs_table_digest(b, 256, nb), "two orders, two tables");
	for (i = 0; i < 256; i++) {
		EXPECT(a[i].primary != 2 && a[i].secondary != 2, "bucket %zu names the down instance", i);
		EXPECT(a[i].primary == 1 && a[i].secondary == 3, "bucket %zu: %u %u (the warming one secondary)", i,
		       a[i].primary, a[i].secondary);
	}
	m.inst[1].state = CS_INST_UP;
	cs_map_build(&m, b);
	EXPECT(cs_table_digest(a, 256, na) != cs_table_digest(b, 256, na), "another state, the same digest");
out:
	free(a);
	free(b);
}

int main(void)
{
	RUN(down_by_a_majority_of_observers);
	RUN(down_when_its_own_lease_goes);
	RUN(warming_and_drained);
	RUN(values_there_and_back);
	RUN(malformed_values_refused);
	RUN(same_map_same_table);
	T_EXIT();
}
