// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Chain and instance ids (lib/ids.h): the wire ids' known answers, and the
 * local ids through what a node lives: an instance inserted, removed or
 * moved, the lists reordered, a restart from the pinned maps, ids the
 * config gives, and what the config refuses (colliding ids, VNIs, wire ids).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "testing.h"
#include "lib/config.h"
#include "lib/ids.h"

T_SUITE("ids");

static char dir[] = "/tmp/cs-ids-test.XXXXXX";
static char path[256];

/* Load text as a config; 0 or -1 with the message in err. */
static int load(const char *text, struct cs_conf *c, char *err, size_t len)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	fputs(text, f);
	fclose(f);
	return cs_config_load(path, c, err, len);
}

/* A config of one chain "casb" whose instances are the lines given, each
 * "{name: ..., address: ...}" (more chains may follow in tail). */
static const char *chain_of(const char *instances, const char *tail)
{
	static char text[4096];

	snprintf(text, sizeof(text), "chains:\n  - name: casb\n    instances:\n%s%s", instances, tail ? tail : "");
	return text;
}

#define A "      - {name: casb-a, address: 10.30.0.2}\n"
#define B "      - {name: casb-b, address: 10.31.0.2}\n"
#define N "      - {name: casb-n, address: 10.32.0.2}\n"
#define C "      - {name: casb-c, address: 10.33.0.2}\n"

static __u32 id_of(const struct cs_conf *c, const char *name)
{
	const struct cs_instance_conf *ic = cs_instance_named(c, name, NULL);

	return ic ? ic->id : 0;
}

/* Load text and give it ids against ids; false (said) on any error. */
static bool assign(struct cs_ids *ids, const char *text, struct cs_conf *c)
{
	char err[1024] = "";

	if (!EXPECT(load(text, c, err, sizeof(err)) == 0, "load: %s", err))
		return false;
	if (EXPECT(cs_ids_assign(ids, c, 1000, err, sizeof(err)) == 0, "assign: %s", err))
		return true;
	cs_config_free(c);
	return false;
}

/* ---- the wire ids ---- */

/* Known answers, computed apart from this code by tests/lib/syncforge.py
 * (`wire CHAIN [INSTANCE]`, and its ids_digest): every node must put the
 * same numbers on the wire, whatever build it runs. */
static void known_answers(void)
{
	EXPECT(cs_ids_digest("casb", NULL) == 0x781c1283f4ab833aULL, "%#llx",
	       (unsigned long long)cs_ids_digest("casb", NULL));
	EXPECT(cs_ids_digest("casb", "casb-a") == 0x37a8c042fa996faeULL, "%#llx",
	       (unsigned long long)cs_ids_digest("casb", "casb-a"));
	EXPECT(cs_ids_digest("", NULL) == 0xefd01f60ba992926ULL, "the empty name");
	/* an instance named "" is not the chain: the 0x00 octet tells them apart */
	EXPECT(cs_ids_digest("a", "") == 0x86fc2d0407502de5ULL, "\"a\" and \"\"");
	EXPECT_EQ(cs_vni_of_name("casb"), 12484427);
	EXPECT_EQ(cs_vni_of_name("dlp"), 10144545);
	EXPECT_EQ(cs_wire_id("casb", "casb-a"), 843198450);
	EXPECT_EQ(cs_wire_id("casb", "casb-b"), 2500037865u);
	EXPECT_EQ(cs_wire_id("dlp", "dlp-a"), 3292867460u);
}

/* The loader fills what crosses the wire: VNIs (given or derived) and wire
 * ids, which depend on the names alone, not on the order. */
static void loader_fills_wire_ids(void)
{
	struct cs_conf c;
	char err[512] = "";

	if (!EXPECT(load(chain_of(B A, "  - name: dlp\n    vni: 77\n    instances: [{name: dlp-a, address: 10.9.0.1}]\n"),
			 &c, err, sizeof(err)) == 0, "%s", err))
		return;
	EXPECT_EQ(c.chains[0].vni, 12484427);
	EXPECT(!c.chains[0].vni_given, "casb has no vni:");
	EXPECT_EQ(c.chains[1].vni, 77);
	EXPECT_EQ(cs_instance_named(&c, "casb-a", NULL)->wire_id, 843198450);
	EXPECT_EQ(cs_instance_named(&c, "casb-b", NULL)->wire_id, 2500037865u);
	cs_config_free(&c);
}

/* ---- local ids ---- */

/* A fresh node numbers in config order, chain by chain, from 1. */
static void fresh_in_config_order(void)
{
	struct cs_ids *ids = calloc(1, sizeof(*ids));
	struct cs_conf c;

	if (!EXPECT(ids, "calloc") || !assign(ids, chain_of(A B, "  - name: dlp\n    instances: "
							   "[{name: dlp-a, address: 10.9.0.1}]\n"), &c))
		goto out;
	EXPECT_EQ(c.chains[0].id, 1);
	EXPECT_EQ(c.chains[1].id, 2);
	EXPECT_EQ(id_of(&c, "casb-a"), 1);
	EXPECT_EQ(id_of(&c, "casb-b"), 2);
	EXPECT_EQ(id_of(&c, "dlp-a"), 3);
	EXPECT(ids->inst[3].state == CS_ID_HELD && !strcmp(ids->inst[3].chain, "dlp") &&
	       !strcmp(ids->inst[3].instance, "dlp-a"), "holder of 3: %s/%s", ids->inst[3].chain,
	       ids->inst[3].instance);
	EXPECT(ids->chain[2].state == CS_ID_HELD && !strcmp(ids->chain[2].chain, "dlp") && !ids->chain[2].instance[0],
	       "holder of chain 2");
	EXPECT_EQ(ids->inst[4].state, CS_ID_FREE);
	cs_config_free(&c);
	/* and the loader alone numbers the same way */
	if (assign(ids, chain_of(A B, NULL), &c)) {
		EXPECT_EQ(id_of(&c, "casb-b"), 2);
		cs_config_free(&c);
	}
out:
	free(ids);
}

/* An instance inserted before others moves nobody; a reorder neither. */
static void insert_and_reorder(void)
{
	struct cs_ids *ids = calloc(1, sizeof(*ids));
	struct cs_conf c;

	if (!EXPECT(ids, "calloc") || !assign(ids, chain_of(A B, NULL), &c))
		goto out;
	cs_config_free(&c);
	if (assign(ids, chain_of(A N B, NULL), &c)) {
		EXPECT_EQ(id_of(&c, "casb-a"), 1);
		EXPECT_EQ(id_of(&c, "casb-b"), 2);
		EXPECT_EQ(id_of(&c, "casb-n"), 3);
		cs_config_free(&c);
	}
	if (assign(ids, chain_of(B N A, NULL), &c)) {
		EXPECT_EQ(id_of(&c, "casb-a"), 1);
		EXPECT_EQ(id_of(&c, "casb-b"), 2);
		EXPECT_EQ(id_of(&c, "casb-n"), 3);
		cs_config_free(&c);
	}
	/* a chain inserted before casb keeps casb's id (and its VNI) */
	if (assign(ids, "chains:\n  - name: dlp\n    instances: [{name: dlp-a, address: 10.9.0.1}]\n"
			"  - name: casb\n    instances:\n" A B, &c)) {
		EXPECT_EQ(c.chains[1].id, 1);
		EXPECT_EQ(c.chains[0].id, 2);
		EXPECT_EQ(c.chains[1].vni, 12484427);
		EXPECT_EQ(id_of(&c, "dlp-a"), 4);	/* casb-n's 3 is LEFT: not free */
		cs_config_free(&c);
	}
out:
	free(ids);
}

/* A removed instance's id is LEFT: no new name takes it while something
 * names it; freed, the lowest free id is the next new name's. A name that
 * comes back before takes its id back. */
static void removal_and_release(void)
{
	struct cs_ids *ids = calloc(1, sizeof(*ids));
	struct cs_ids_named named = { 0 };
	bool freed[CS_INSTANCES_MAX] = { false };
	struct cs_conf c;

	if (!EXPECT(ids, "calloc") || !assign(ids, chain_of(A B N, NULL), &c))
		goto out;
	cs_config_free(&c);
	if (!assign(ids, chain_of(A N C, NULL), &c))	/* casb-b (2) leaves, casb-c comes */
		goto out;
	EXPECT_EQ(ids->inst[2].state, CS_ID_LEFT);
	EXPECT(!strcmp(ids->inst[2].instance, "casb-b"), "the left id keeps its name");
	EXPECT_EQ(ids->inst[2].since_ns, 1000);
	EXPECT_EQ(id_of(&c, "casb-c"), 4);
	cs_config_free(&c);
	EXPECT(cs_ids_any_left(ids), "2 is left");
	named.inst[2] = true;	/* a flow still pinned to it */
	EXPECT_EQ(cs_ids_release(ids, &named, NULL, freed), 0);
	EXPECT_EQ(ids->inst[2].state, CS_ID_LEFT);
	/* casb-b comes back while its flows live: its own id again */
	if (assign(ids, chain_of(A N C B, NULL), &c)) {
		EXPECT_EQ(id_of(&c, "casb-b"), 2);
		EXPECT_EQ(ids->inst[2].state, CS_ID_HELD);
		cs_config_free(&c);
	}
	if (!assign(ids, chain_of(A N C, NULL), &c))
		goto out;
	cs_config_free(&c);
	named.inst[2] = false;	/* its last flow is gone */
	EXPECT_EQ(cs_ids_release(ids, &named, NULL, freed), 1);
	EXPECT(freed[2], "2 was freed");
	EXPECT_EQ(ids->inst[2].state, CS_ID_FREE);
	EXPECT(!cs_ids_any_left(ids), "none left");
	if (assign(ids, chain_of(A N C "      - {name: casb-d, address: 10.34.0.2}\n", NULL), &c)) {
		EXPECT_EQ(id_of(&c, "casb-d"), 2);
		cs_config_free(&c);
	}
out:
	free(ids);
}

/* An instance that moves to another chain is another instance: a new id,
 * and its old one LEFT (flows pinned to it are the old chain's). */
static void move_to_another_chain(void)
{
	struct cs_ids *ids = calloc(1, sizeof(*ids));
	struct cs_conf c;

	if (!EXPECT(ids, "calloc") || !assign(ids, chain_of(A B, "  - name: dlp\n    instances: "
							   "[{name: dlp-a, address: 10.9.0.1}]\n"), &c))
		goto out;
	cs_config_free(&c);
	if (assign(ids, chain_of(A, "  - name: dlp\n    instances:\n      - {name: dlp-a, address: 10.9.0.1}\n"
					"      - {name: casb-b, address: 10.31.0.2}\n"), &c)) {
		EXPECT_EQ(id_of(&c, "casb-b"), 4);
		EXPECT_EQ(ids->inst[2].state, CS_ID_LEFT);
		EXPECT(!strcmp(ids->inst[4].chain, "dlp"), "the new id is dlp's");
		cs_config_free(&c);
	}
out:
	free(ids);
}

/* A restart finds every id where it was: the holders written to a pinned
 * array map, read back by a node that loads the config afresh. */
static void restart_from_the_pins(void)
{
	struct cs_ids *ids = calloc(1, sizeof(*ids)), *again = calloc(1, sizeof(*again));
	int chain_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "cs_chain_ids", 4, sizeof(struct cs_id_holder),
				      CS_CHAINS_MAX, NULL);
	int inst_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "cs_instance_ids", 4, sizeof(struct cs_id_holder),
				     CS_INSTANCES_MAX, NULL);
	struct cs_conf c;

	if (!EXPECT(ids && again, "calloc"))
		goto out;
	if (chain_fd < 0 || inst_fd < 0) {
		T_SKIP("no BPF maps here (%s): not root?", strerror(errno));
		goto out;
	}
	if (!assign(ids, chain_of(A B, NULL), &c))
		goto out;
	cs_config_free(&c);
	if (!assign(ids, chain_of(N B C, NULL), &c))	/* n 3, c 4; a left */
		goto out;
	cs_config_free(&c);
	if (!EXPECT_EQ(cs_ids_write(ids, chain_fd, inst_fd), 0))
		goto out;
	/* the restart: a fresh load (the loader numbers 1, 2, 3), then the pins */
	if (!EXPECT_EQ(cs_ids_read(again, chain_fd, inst_fd), 0))
		goto out;
	EXPECT(!memcmp(ids, again, sizeof(*ids)), "the pins hold what was written");
	if (assign(again, chain_of(N B C, NULL), &c)) {
		EXPECT_EQ(id_of(&c, "casb-n"), 3);
		EXPECT_EQ(id_of(&c, "casb-b"), 2);
		EXPECT_EQ(id_of(&c, "casb-c"), 4);
		EXPECT_EQ(again->inst[1].state, CS_ID_LEFT);
		cs_config_free(&c);
	}
out:
	if (chain_fd >= 0)
		close(chain_fd);
	if (inst_fd >= 0)
		close(inst_fd);
	free(ids);
	free(again);
}

/* `id:` fixes an id; others take the lowest free around it. Removing `id:`
 * keeps the id; changing it moves the name, and the old id is LEFT. */
static void explicit_ids(void)
{
	struct cs_ids *ids = calloc(1, sizeof(*ids));
	struct cs_conf c;

	if (!EXPECT(ids, "calloc") ||
	    !assign(ids, "chains:\n  - name: casb\n    id: 5\n    instances:\n"
			 "      - {name: casb-a, address: 10.30.0.2, id: 1}\n"
			 "      - {name: casb-b, address: 10.31.0.2}\n"
			 "      - {name: casb-n, address: 10.32.0.2, id: 2}\n", &c))
		goto out;
	EXPECT_EQ(c.chains[0].id, 5);
	EXPECT_EQ(id_of(&c, "casb-a"), 1);
	EXPECT_EQ(id_of(&c, "casb-n"), 2);
	EXPECT_EQ(id_of(&c, "casb-b"), 3);
	EXPECT(ids->inst[2].flags & CS_ID_EXPLICIT, "2 was given");
	EXPECT(!(ids->inst[3].flags & CS_ID_EXPLICIT), "3 was not");
	cs_config_free(&c);
	if (assign(ids, chain_of(A B N, NULL), &c)) {	/* no id: any more */
		EXPECT_EQ(c.chains[0].id, 5);
		EXPECT_EQ(id_of(&c, "casb-n"), 2);
		EXPECT_EQ(id_of(&c, "casb-b"), 3);
		cs_config_free(&c);
	}
	if (assign(ids, chain_of(A B "      - {name: casb-n, address: 10.32.0.2, id: 9}\n", NULL), &c)) {
		EXPECT_EQ(id_of(&c, "casb-n"), 9);
		EXPECT_EQ(ids->inst[2].state, CS_ID_LEFT);
		cs_config_free(&c);
	}
out:
	free(ids);
}

/* An id that another name holds, or held and may still have flows, is
 * refused with the file and line; nothing changes. */
static void explicit_id_taken_is_refused(void)
{
	struct cs_ids *ids = calloc(1, sizeof(*ids)), before;
	struct cs_conf c;
	char err[1024] = "";

	if (!EXPECT(ids, "calloc") || !assign(ids, chain_of(A B, NULL), &c))
		goto out;
	cs_config_free(&c);
	before = *ids;
	if (!EXPECT(load(chain_of(A "      - {name: casb-c, address: 10.33.0.2, id: 2}\n" B, NULL), &c, err,
			 sizeof(err)) == 0, "%s", err))
		goto out;
	EXPECT_EQ(cs_ids_assign(ids, &c, 2000, err, sizeof(err)), -1);
	EXPECT(strstr(err, ":5: instance \"casb-c\" asks for id 2, which this node gave instance \"casb-b\" of "
			   "chain \"casb\""), "%s", err);
	EXPECT_EQ(id_of(&c, "casb-b"), 3);	/* the loader's fresh numbering, untouched */
	EXPECT(!memcmp(ids, &before, sizeof(before)), "the holders changed");
	cs_config_free(&c);
	/* casb-b leaves: its id is LEFT, still refused */
	if (!assign(ids, chain_of(A, NULL), &c))
		goto out;
	cs_config_free(&c);
	if (EXPECT(load(chain_of(A "      - {name: casb-c, address: 10.33.0.2, id: 2}\n", NULL), &c, err,
			sizeof(err)) == 0, "%s", err)) {
		EXPECT_EQ(cs_ids_assign(ids, &c, 3000, err, sizeof(err)), -1);
		EXPECT(strstr(err, "which left the config but may still have streams"), "%s", err);
		cs_config_free(&c);
	}
out:
	free(ids);
}

/* When every id is held or kept for streams, a new name gets none. */
static void no_free_id(void)
{
	struct cs_ids *ids = calloc(1, sizeof(*ids));
	struct cs_conf c;
	char err[1024] = "";
	__u32 id;

	if (!EXPECT(ids, "calloc"))
		return;
	for (id = 1; id < CS_INSTANCES_MAX; id++) {
		ids->inst[id].state = CS_ID_LEFT;
		snprintf(ids->inst[id].instance, CS_ID_NAME_MAX, "old-%u", id);
		snprintf(ids->inst[id].chain, CS_ID_NAME_MAX, "casb");
	}
	if (EXPECT(load(chain_of(A, NULL), &c, err, sizeof(err)) == 0, "%s", err)) {
		EXPECT_EQ(cs_ids_assign(ids, &c, 1, err, sizeof(err)), -1);
		EXPECT(strstr(err, ":4: instance \"casb-a\" gets no id: all 255 are in use on this node, 255 of them "
				   "kept"), "%s", err);
		cs_config_free(&c);
	}
	free(ids);
}

/* What the config itself refuses: ids given twice, two chains with one VNI
 * (given or derived), two instances with one wire id, ids out of range,
 * names too long for the pins. */
static void config_refusals(void)
{
	static const struct {
		const char *yaml, *want;
	} cases[] = {
		{ "chains:\n  - name: casb\n    instances:\n      - {name: x, address: 10.0.0.1, id: 4}\n"
		  "      - {name: y, address: 10.0.0.2, id: 4}\n",
		  ":5: instance \"y\" asks for id 4, which instance \"x\" (line 4) has" },
		{ "chains:\n  - name: one\n    id: 3\n    instances: [{name: x, address: 10.0.0.1}]\n"
		  "  - name: two\n    id: 3\n    instances: [{name: y, address: 10.0.0.2}]\n",
		  ":5: chain \"two\" asks for id 3, which chain \"one\" (line 2) has" },
		{ "chains:\n  - name: one\n    vni: 100\n    instances: [{name: x, address: 10.0.0.1}]\n"
		  "  - name: two\n    vni: 100\n    instances: [{name: y, address: 10.0.0.2}]\n",
		  ":5: chain \"two\" has VNI 100 (its vni:), which chain \"one\" (line 2) has too" },
		/* found by tests/lib/syncforge.py: "c364" and "c5019" derive VNI 5868765 */
		{ "chains:\n  - name: c364\n    instances: [{name: x, address: 10.0.0.1}]\n"
		  "  - name: c5019\n    instances: [{name: y, address: 10.0.0.2}]\n",
		  ":4: chain \"c5019\" has VNI 5868765 (derived from its name), which chain \"c364\" (line 2) has too: "
		  "give one of them another with vni:" },
		{ "chains:\n  - name: one\n    vni: 12484427\n    instances: [{name: x, address: 10.0.0.1}]\n"
		  "  - name: casb\n    instances: [{name: y, address: 10.0.0.2}]\n",
		  ":5: chain \"casb\" has VNI 12484427 (derived from its name), which chain \"one\" (line 2) has too" },
		/* and "i54698" and "i63147" of chain casb, wire id 2879653099 */
		{ "chains:\n  - name: casb\n    instances:\n      - {name: i54698, address: 10.0.0.1}\n"
		  "      - {name: i63147, address: 10.0.0.2}\n",
		  ":5: instance \"i63147\" has the wire id of instance \"i54698\" (line 4), 0xaba404eb" },
		{ "chains:\n  - name: casb\n    instances: [{name: x, address: 10.0.0.1, id: 256}]\n",
		  ":3: instance id must be a whole number from 1 to 255, not \"256\"" },
		{ "chains:\n  - name: casb\n    id: 64\n    instances: [{name: x, address: 10.0.0.1}]\n",
		  ":3: chain id must be a whole number from 1 to 63, not \"64\"" },
		{ "chains:\n  - name: casb\n    vni: 16777216\n    instances: [{name: x, address: 10.0.0.1}]\n",
		  ":3: chain vni must be a whole number from 1 to 16777215, not \"16777216\"" },
		{ "chains:\n  - name: casb\n    instances: [{name: "
		  "a123456789b123456789c123456789d123456789e123456789f123456789abcd, address: 10.0.0.1}]\n",
		  ":3: instance name \"a123456789b123456789c123456789d123456789e123456789f123456789abcd\" is longer "
		  "than 63 characters" },
	};
	struct cs_conf c;
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = 0;
		if (!EXPECT(load(cases[i].yaml, &c, err, sizeof(err)) == -1, "case %zu loaded", i)) {
			cs_config_free(&c);
			continue;
		}
		EXPECT(strstr(err, path) && strstr(err, cases[i].want), "case %zu: %s", i, err);
	}
}

int main(void)
{
	if (!mkdtemp(dir)) {
		printf("FAIL: ids: setup: mkdtemp\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/c.yaml", dir);
	RUN(known_answers);
	RUN(loader_fills_wire_ids);
	RUN(fresh_in_config_order);
	RUN(insert_and_reorder);
	RUN(removal_and_release);
	RUN(move_to_another_chain);
	RUN(restart_from_the_pins);
	RUN(explicit_ids);
	RUN(explicit_id_taken_is_refused);
	RUN(no_free_id);
	RUN(config_refusals);
	unlink(path);
	rmdir(dir);
	T_EXIT();
}
