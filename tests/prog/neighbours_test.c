// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * neighbours: what the instance daemon writes of the instances of its
 * neighbour stages (user/instance/neighbours.c) into a real, unpinned load
 * of the instance program: every one up until its first verdict, each
 * stage's table in its slot, a verdict that changes the state alone, a
 * reload that keeps the verdict of an instance that keeps its name and
 * address, and the probes' targets with their stage's health settings.
 * The probes themselves are tests/e2e/nsh_probes.sh's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cloudsteer.h"
#include "instance/instance.h"
#include "lib/addr.h"
#include "instance.skel.h"
#include "testing.h"

T_SUITE("neighbours");

/* A fresh node numbers the instances in config order. */
#define ID_A 1
#define ID_B 2
#define ID_C 3
#define ID_D 4

static struct cs_instance_daemon D;	/* large: not on the stack */

/* The chain: stage one (a, b) and stage two (c at c_addr, d), the second
 * probed by icmp, its own health settings. */
static bool load_config(struct cs_conf *conf, bool symmetric, const char *c_addr)
{
	char path[] = "/tmp/cs-neighbours-test-XXXXXX", err[512];
	int fd = mkstemp(path), rc;
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!EXPECT(f, "config file: %s", strerror(errno)))
		return false;
	fprintf(f, "chains:\n"
		   "  - name: probes\n"
		   "    mode: nsh\n"
		   "    symmetric: %s\n"
		   "    health: {probe: tcp, port: 9100}\n"
		   "    stages:\n"
		   "      - name: one\n"
		   "        instances: [{name: one-a, address: 10.30.0.2}, {name: one-b, address: 10.31.0.2}]\n"
		   "      - name: two\n"
		   "        instances: [{name: two-c, address: %s}, {name: two-d, address: 10.33.0.2}]\n"
		   "        health: {probe: icmp}\n"
		   "instance:\n"
		   "  interfaces: [eth0]\n",
		symmetric ? "true" : "false", c_addr);
	fclose(f);
	rc = cs_config_load(path, conf, err, sizeof(err));
	unlink(path);
	return EXPECT(rc == 0, "config: %s", err);
}

/* This node is instance `name` of the chain, its program loaded, the
 * neighbours written as at start. */
static bool fx_start(const char *name, bool symmetric)
{
	char err[512];

	memset(&D, 0, sizeof(D));
	D.config_path = "test";
	D.name = name;
	if (!load_config(&D.conf, symmetric, "10.32.0.2") || !EXPECT(!cs_role_resolve(&D, err, sizeof(err)), "%s", err))
		return false;
	D.skel = instance_bpf__open_and_load();
	if (!D.skel) {
		if (geteuid())
			T_SKIP("cannot load instance: %s (run as root)", strerror(errno));
		else
			EXPECT(false, "the kernel refused instance: %s", strerror(errno));
		return false;
	}
	cs_neighbours_write(&D);
	return true;
}

static void fx_free(void)
{
	instance_bpf__destroy(D.skel);
	cs_config_free(&D.conf);
	free(D.table);
	memset(&D, 0, sizeof(D));
}

/* A reload, as take_config makes it: the new config in, the members and
 * neighbours taken from it, the neighbours written. */
static bool fx_reload(bool symmetric, const char *c_addr)
{
	struct cs_conf next, old;
	size_t chain, inst;
	char err[512];

	if (!load_config(&next, symmetric, c_addr))
		return false;
	if (!EXPECT(!cs_role_find_again(&D, &next, &chain, &inst, err, sizeof(err)), "%s", err)) {
		cs_config_free(&next);
		return false;
	}
	old = D.conf;
	D.conf = next;
	cs_role_take(&D, chain, inst);
	cs_config_free(&old);
	cs_neighbours_write(&D);
	return true;
}

static struct cs_instance entry(__u32 id)
{
	struct cs_instance in = { .state = 0xff };

	bpf_map_lookup_elem(bpf_map__fd(D.skel->maps.cs_next_instances), &id, &in);
	return in;
}

/* The neighbour of that name: its place in D.neighbours, or -1. */
static int neighbour(const char *name)
{
	size_t i;

	for (i = 0; i < D.n_neighbours; i++)
		if (!strcmp(D.neighbours[i].name, name))
			return (int)i;
	return -1;
}

static bool has_table(__u32 slot)
{
	__u32 inner = 0;

	return !bpf_map_lookup_elem(bpf_map__fd(D.skel->maps.cs_next_table), &slot, &inner) && inner;
}

/* The first stage sends on to the second: both its instances written up,
 * at their address, with the chain's SPI; its table in the next slot; no
 * previous stage. They are probed with that stage's own settings. */
static void next_stage_written(void)
{
	struct cs_health_target t[CS_INSTANCES_MAX];
	struct cs_instance in;
	struct cs_addr c;

	if (!fx_start("one-a", true))
		goto out;
	EXPECT_EQ(D.n_neighbours, 2);
	EXPECT(neighbour("two-c") >= 0 && D.neighbours[neighbour("two-c")].next, "two-c: not a next one");
	cs_addr_parse("10.32.0.2", &c);
	in = entry(ID_C);
	EXPECT_EQ(in.state, CS_INST_UP);
	EXPECT(!memcmp(&in.addr, &c, sizeof(c)), "two-c: not at its address");
	EXPECT_EQ(in.vni, D.conf.chains[0].vni);
	EXPECT_EQ(entry(ID_D).state, CS_INST_UP);
	EXPECT(has_table(CS_NEXT_SLOT), "no table of the next stage");
	EXPECT(!has_table(CS_PREV_SLOT), "a table of a previous stage");
	EXPECT_EQ(cs_neighbours_targets(&D, t), 2);
	EXPECT(!strcmp(t[0].name, "two-c") && !strcmp(t[1].name, "two-d"), "targets %s, %s", t[0].name, t[1].name);
	EXPECT(!strcmp(t[0].hc->probe, "icmp"), "probed as %s", t[0].hc->probe);
out:
	fx_free();
}

/* A verdict changes the instance's state alone, at once; one back from
 * down is warming until its warmup has passed. */
static void verdict_marks(void)
{
	struct cs_instance before, after;
	int c;

	if (!fx_start("one-a", false) || !EXPECT((c = neighbour("two-c")) >= 0, "two-c"))
		goto out;
	before = entry(ID_C);
	cs_neighbours_verdict(&D, (size_t)c, CS_HEALTH_DOWN, "test: 3 failures in a row");
	after = entry(ID_C);
	EXPECT_EQ(after.state, CS_INST_DOWN);
	before.state = CS_INST_DOWN;
	EXPECT(!memcmp(&after, &before, sizeof(before)), "the rest of the entry changed");
	EXPECT_EQ(entry(ID_D).state, CS_INST_UP);
	cs_neighbours_verdict(&D, (size_t)c, CS_HEALTH_UP, "test: 2 good probes in a row");
	EXPECT_EQ(entry(ID_C).state, CS_INST_WARMING);
	cs_neighbours_tick(&D);	/* its warmup has not passed */
	EXPECT_EQ(entry(ID_C).state, CS_INST_WARMING);
	D.neighbours[c].warm_until_ns = 1;	/* now it has */
	cs_neighbours_tick(&D);
	EXPECT_EQ(entry(ID_C).state, CS_INST_UP);
	EXPECT_EQ(D.neighbours[c].warm_until_ns, 0);
out:
	fx_free();
}

/* A reload keeps the verdict of a neighbour that keeps its name and
 * address; one that moves counts as up until its first verdict there. */
static void reload_keeps_verdict(void)
{
	if (!fx_start("one-a", false))
		goto out;
	cs_neighbours_verdict(&D, (size_t)neighbour("two-c"), CS_HEALTH_DOWN, "test");
	cs_neighbours_verdict(&D, (size_t)neighbour("two-d"), CS_HEALTH_DOWN, "test");
	if (!fx_reload(false, "10.32.0.2"))
		goto out;
	EXPECT_EQ(entry(ID_C).state, CS_INST_DOWN);
	EXPECT_EQ(entry(ID_D).state, CS_INST_DOWN);
	if (!fx_reload(false, "10.32.0.9"))
		goto out;
	EXPECT_EQ(entry(ID_C).state, CS_INST_UP);
	EXPECT_EQ(entry(ID_D).state, CS_INST_DOWN);
out:
	fx_free();
}

/* The last stage of a symmetric chain sends back to the first: its
 * instances in the previous slot, probed with their stage's settings (the
 * chain's); without symmetric it has no neighbour. */
static void previous_stage(void)
{
	struct cs_health_target t[CS_INSTANCES_MAX];

	if (!fx_start("two-c", true))
		goto out;
	EXPECT_EQ(D.n_neighbours, 2);
	EXPECT(neighbour("one-a") >= 0 && !D.neighbours[neighbour("one-a")].next, "one-a: not a previous one");
	EXPECT_EQ(entry(ID_A).state, CS_INST_UP);
	EXPECT_EQ(entry(ID_B).state, CS_INST_UP);
	EXPECT(has_table(CS_PREV_SLOT) && !has_table(CS_NEXT_SLOT), "the tables' slots");
	EXPECT_EQ(cs_neighbours_targets(&D, t), 2);
	EXPECT(!strcmp(t[0].hc->probe, "tcp") && t[0].hc->port == 9100, "probed as %s", t[0].hc->probe);
	fx_free();
	if (!fx_start("two-c", false))
		goto out;
	EXPECT_EQ(D.n_neighbours, 0);
out:
	fx_free();
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(NULL);
	RUN(next_stage_written);
	RUN(verdict_marks);
	RUN(reload_keeps_verdict);
	RUN(previous_stage);
	T_EXIT();
}
