// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cli_chains: `cloudsteer show chains|instances|map` and `cloudsteer drain`
 * (and the config errors of `cloudsteer instance`)
 * against steer's maps pinned as the daemon pins them, with no daemon and no
 * learn maps. The steer program is loaded, its maps pinned under a fresh
 * directory, two chains, four instances (one that left the config), their
 * names and one table written, and the
 * program closed: only the pins hold the maps. The checks run in a child;
 * the parent removes the pins whatever happens to it.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "testing.h"
#include "cloudsteer.h"
#include "lib/addr.h"
#include "lib/pins.h"
#include "clifx.h"
#include "clirows.h"
#include "steer.skel.h"

T_SUITE("cli-chains");

#define N_BUCKETS 8

static char pin_dir[128], missing_dir[160];

#define CLI(...) cli_run(pin_dir, (const char *const[]){ __VA_ARGS__, NULL })
static int ncpu;

/* ---- making the state ---- */

static bool put_instance(int fd, __u32 id, const char *ip, __u32 chain, __u32 state)
{
	struct cs_instance in = { .chain_id = chain, .state = state };

	return EXPECT(!cs_addr_parse(ip, &in.addr), "bad ip %s", ip) &&
	       EXPECT(!bpf_map_update_elem(fd, &id, &in, BPF_ANY), "instance %u: %s", id, strerror(errno));
}

/* The names the daemon keeps for the ids (cs_chain_ids, cs_instance_ids). */
static bool put_holder(int fd, __u32 id, const char *chain, const char *instance, __u32 state)
{
	struct cs_id_holder h = { .state = state };

	snprintf(h.chain, sizeof(h.chain), "%s", chain);
	snprintf(h.instance, sizeof(h.instance), "%s", instance);
	return EXPECT(!bpf_map_update_elem(fd, &id, &h, BPF_ANY), "holder %u: %s", id, strerror(errno));
}

/* Chains one (route) and two (encap); instances casb-a 1 and casb-b 2 of
 * one, casb-c 3 of two, and old 4, which left chain one and drains. */
static bool fill_names(struct steer_bpf *skel)
{
	int chains = bpf_map__fd(skel->maps.cs_chain_ids), insts = bpf_map__fd(skel->maps.cs_instance_ids);

	return put_holder(chains, 1, "one", "", CS_ID_HELD) && put_holder(chains, 2, "two", "", CS_ID_HELD) &&
	       put_holder(insts, 1, "one", "casb-a", CS_ID_HELD) && put_holder(insts, 2, "one", "casb-b", CS_ID_HELD) &&
	       put_holder(insts, 3, "two", "casb-c", CS_ID_HELD) && put_holder(insts, 4, "one", "old", CS_ID_LEFT) &&
	       put_instance(bpf_map__fd(skel->maps.cs_instances), 4, "10.0.0.4", 1, CS_INST_DRAINING);
}

static bool fill(struct steer_bpf *skel)
{
	struct cs_chain c1 = { .mode = CS_MODE_ROUTE, .on_failure = CS_FAIL_BYPASS, .n_buckets = N_BUCKETS };
	struct cs_chain c2 = { .mode = CS_MODE_ENCAP, .on_failure = CS_FAIL_DROP, .n_buckets = 4,
			       .flags = CS_CHAIN_SYMMETRIC | CS_CHAIN_AFFINITY_HOSTS };
	int chains = bpf_map__fd(skel->maps.cs_chains), inst = bpf_map__fd(skel->maps.cs_instances);
	int stats = bpf_map__fd(skel->maps.cs_inst_stats), svc = bpf_map__fd(skel->maps.cs_service_map);
	struct cs_inst_stat *per_cpu = calloc((size_t)ncpu, sizeof(*per_cpu));
	__u32 k, b;
	int table, c;
	bool ok;

	if (!EXPECT(per_cpu, "calloc"))
		return false;
	k = 1;
	ok = EXPECT(!bpf_map_update_elem(chains, &k, &c1, BPF_ANY), "chain 1: %s", strerror(errno));
	k = 2;
	ok = ok && EXPECT(!bpf_map_update_elem(chains, &k, &c2, BPF_ANY), "chain 2: %s", strerror(errno));
	ok = ok && put_instance(inst, 1, "10.0.0.1", 1, CS_INST_UP) && put_instance(inst, 2, "10.0.0.2", 1, CS_INST_UP) &&
	     put_instance(inst, 3, "2001:db8::3", 2, CS_INST_DOWN);
	{
		/* instance 3 is in an encap chain: the way the daemon found */
		struct cs_instance in3;

		k = 3;
		ok = ok && !bpf_map_lookup_elem(inst, &k, &in3);
		cs_addr_parse("2001:db8::1", &in3.local);
		in3.inner_mtu = 1430;
		in3.vni = 10144545;
		memcpy(in3.mac, (__u8[6]){ 0x02, 0xc5, 0, 0x9a, 0xcb, 0x21 }, 6);
		ok = ok && EXPECT(!bpf_map_update_elem(inst, &k, &in3, BPF_ANY), "instance 3: %s", strerror(errno));
	}
	for (c = 0; c < ncpu; c++)
		per_cpu[c] = (struct cs_inst_stat){ .packets = 3, .bytes = 100, .flows = 1 };
	k = 1;
	ok = ok && EXPECT(!bpf_map_update_elem(stats, &k, per_cpu, BPF_ANY), "stats: %s", strerror(errno));
	free(per_cpu);
	if (!ok)
		return false;
	/* chain 1's table: even buckets 1 then 2, odd 2 then 1, the last none then 1;
	 * chain 2 has no table yet */
	table = bpf_map_create(BPF_MAP_TYPE_ARRAY, "cs_t1", sizeof(__u32), sizeof(struct cs_bucket), CS_BUCKETS_MAX,
			       NULL);
	if (!EXPECT(table >= 0, "bpf_map_create: %s", strerror(errno)))
		return false;
	for (b = 0; ok && b < N_BUCKETS; b++) {
		struct cs_bucket bk = { .primary = b % 2 ? 2 : 1, .secondary = b % 2 ? 1 : 2 };

		if (b == N_BUCKETS - 1)
			bk = (struct cs_bucket){ .primary = 0, .secondary = 1 };
		ok = EXPECT(!bpf_map_update_elem(table, &b, &bk, BPF_ANY), "bucket %u: %s", b, strerror(errno));
	}
	k = 1;
	ok = ok && EXPECT(!bpf_map_update_elem(svc, &k, &table, BPF_ANY), "service map: %s", strerror(errno));
	close(table);
	return ok && fill_names(skel);
}

static bool setup_ok;

static void setup(void)
{
	struct steer_bpf *skel = steer_bpf__open_and_load();
	char err[512];

	if (!EXPECT(skel, "steer_bpf__open_and_load: %s", strerror(errno)))
		return;
	if (EXPECT(!cs_pins_pin(skel->obj, pin_dir, err, sizeof(err)), "pin: %s", err))
		setup_ok = fill(skel);
	/* from here on only the pins hold the maps */
	steer_bpf__destroy(skel);
}

/* ---- checks ---- */

static void chains(void)
{
	if (CLI("show", "chains") && EXPECT_EXIT(0)) {
		EXPECT(words_are(line_with(R.out, "CHAIN", NULL),
				 "CHAIN NAME MODE ON FAILURE SYMMETRIC AFFINITY BUCKETS INSTANCES VNI"), "header: %s",
		       R.out);
		EXPECT_ROW(R.out, "route", "1 one route bypass no flow 8 3 -");
		EXPECT_ROW(R.out, "encap", "2 two encap drop yes hosts 4 1 10144545");
		EXPECT_EQ(count_lines(R.out), 3);
	}
	if (CLI("show", "chains", "--json") && EXPECT_EXIT(0)) {
		EXPECT_HAS(R.out, "{\"chain_id\":1,\"name\":\"one\",\"mode\":\"route\",\"on_failure\":\"bypass\","
				  "\"symmetric\":false,\"affinity\":\"flow\",\"buckets\":8,\"instances\":3}\n");
		EXPECT_HAS(R.out, "{\"chain_id\":2,\"name\":\"two\",\"mode\":\"encap\",\"on_failure\":\"drop\","
				  "\"symmetric\":true,\"affinity\":\"hosts\",\"buckets\":4,\"instances\":1,"
				  "\"vni\":10144545}\n");
		EXPECT_EQ(count_lines(R.out), 2);
	}
}

static void instances(void)
{
	char want[256];

	if (CLI("show", "instances") && EXPECT_EXIT(0)) {
		EXPECT(words_are(line_with(R.out, "INSTANCE", NULL),
				 "INSTANCE NAME CHAIN ADDRESS STATE PACKETS BYTES STREAMS VIA INNER MTU MAC CLAMPED "
				 "UNWRAPPED"), "header: %s", R.out);
		snprintf(want, sizeof(want), "1 casb-a 1 10.0.0.1 up %d %d %d - - - - -", 3 * ncpu, 100 * ncpu, ncpu);
		EXPECT_ROW(R.out, "10.0.0.1", want);
		EXPECT_ROW(R.out, "10.0.0.2", "2 casb-b 1 10.0.0.2 up 0 0 0 - - - - -");
		EXPECT_ROW(R.out, "2001:db8::3",
			   "3 casb-c 2 2001:db8::3 down 0 0 0 2001:db8::1 1430 02:c5:00:9a:cb:21 0 0");
		/* it left the config: it drains until its streams end */
		EXPECT_ROW(R.out, "10.0.0.4", "4 old 1 10.0.0.4 left 0 0 0 - - - - -");
		EXPECT_EQ(count_lines(R.out), 5);
	}
	if (CLI("show", "instances", "--json") && EXPECT_EXIT(0)) {
		snprintf(want, sizeof(want),
			 "{\"id\":1,\"name\":\"casb-a\",\"chain_id\":1,\"address\":\"10.0.0.1\",\"state\":\"up\","
			 "\"packets\":%d,\"bytes\":%d,\"streams\":%d}\n", 3 * ncpu, 100 * ncpu, ncpu);
		EXPECT_HAS(R.out, want);
		EXPECT_HAS(R.out, "{\"id\":3,\"name\":\"casb-c\",\"chain_id\":2,\"address\":\"2001:db8::3\","
				  "\"state\":\"down\",\"packets\":0,\"bytes\":0,\"streams\":0,\"via\":\"2001:db8::1\","
				  "\"inner_mtu\":1430,\"mac\":\"02:c5:00:9a:cb:21\",\"clamped\":0,\"unwrapped\":0}\n");
		EXPECT_HAS(R.out, "{\"id\":4,\"name\":\"old\",\"chain_id\":1,\"address\":\"10.0.0.4\",\"state\":\"left\"");
		EXPECT_EQ(count_lines(R.out), 4);
	}
}

static void map(void)
{
	if (CLI("show", "map") && EXPECT_EXIT(0)) {
		EXPECT(words_are(line_with(R.out, "CHAIN", NULL), "CHAIN INSTANCE PRIMARY SECONDARY"), "header: %s",
		       R.out);
		/* 8 buckets: 1/2 at 0,2,4,6; 2/1 at 1,3,5; none/1 at 7: by chain, then id, "none" last */
		EXPECT_EQ(count_lines(R.out), 4);
		EXPECT(words_are(nth_line(R.out, 1), "1 1 4 4"), "instance 1:\n%s", R.out);
		EXPECT(words_are(nth_line(R.out, 2), "1 2 3 4"), "instance 2:\n%s", R.out);
		EXPECT(words_are(nth_line(R.out, 3), "1 none 1 0"), "none:\n%s", R.out);
	}
	if (CLI("show", "map", "--json") && EXPECT_EXIT(0)) {
		EXPECT_EQ(count_lines(R.out), N_BUCKETS);
		EXPECT_HAS(R.out, "{\"chain\":1,\"bucket\":0,\"primary\":1,\"secondary\":2}\n");
		EXPECT_HAS(R.out, "{\"chain\":1,\"bucket\":3,\"primary\":2,\"secondary\":1}\n");
		EXPECT_HAS(R.out, "{\"chain\":1,\"bucket\":7,\"primary\":0,\"secondary\":1}\n");
		EXPECT(!strstr(R.out, "\"chain\":2"), "chain 2 has no table");
	}
}

static void drain(void)
{
	if (CLI("drain", "2") && EXPECT_EXIT(0))
		EXPECT_HAS(R.out, "instance 2 (10.0.0.2, chain 1): up -> draining");
	if (CLI("show", "instances", "--json") && EXPECT_EXIT(0))
		EXPECT_HAS(R.out, "{\"id\":2,\"name\":\"casb-b\",\"chain_id\":1,\"address\":\"10.0.0.2\","
				  "\"state\":\"draining\"");
	if (CLI("show", "instances") && EXPECT_EXIT(0))
		EXPECT_ROW(R.out, "10.0.0.2", "2 casb-b 1 10.0.0.2 draining 0 0 0 - - - - -");
	if (CLI("drain", "2") && EXPECT_EXIT(0))
		EXPECT_HAS(R.out, "already draining");
	if (CLI("drain", "2", "--undo") && EXPECT_EXIT(0))
		EXPECT_HAS(R.out, "instance 2 (10.0.0.2, chain 1): draining -> up");
	if (CLI("show", "instances") && EXPECT_EXIT(0))
		EXPECT_ROW(R.out, "10.0.0.2", "2 casb-b 1 10.0.0.2 up 0 0 0 - - - - -");
	/* the rest of the value is written back as it was */
	if (CLI("show", "instances", "--json") && EXPECT_EXIT(0))
		EXPECT_HAS(R.out, "{\"id\":2,\"name\":\"casb-b\",\"chain_id\":1,\"address\":\"10.0.0.2\","
				  "\"state\":\"up\"");
	if (cli_run(missing_dir, (const char *const[]){ "drain", "--pin-dir", pin_dir, "3", NULL }) &&
	    EXPECT_EXIT(0))
		EXPECT_HAS(R.out, "instance 3 (2001:db8::3, chain 2): down -> draining");
	/* one that left the config drains until its streams end: no --undo */
	if (CLI("drain", "4", "--undo") && EXPECT_EXIT(2))
		EXPECT_HAS(R.err, "instance 4 left the config: it drains until the streams pinned to it end");
}

/* A name: the id the daemon gave it, as its pins keep it (cs_instance_ids),
 * whatever the config's order; one that left the config is not found. */
static void drain_by_name(void)
{
	if (CLI("drain", "casb-b") && EXPECT_EXIT(0))
		EXPECT_HAS(R.out, "instance 2 (10.0.0.2, chain 1): up -> draining");
	if (CLI("drain", "casb-b", "--undo") && EXPECT_EXIT(0))
		EXPECT_HAS(R.out, "instance 2 (10.0.0.2, chain 1): draining -> up");
	if (CLI("drain", "casb-z") && EXPECT_EXIT(2))
		EXPECT_HAS(R.err, "no instance is named \"casb-z\" here");
	if (CLI("drain", "old") && EXPECT_EXIT(2))
		EXPECT_HAS(R.err, "no instance is named \"old\" here");
}

/* State an older version left has no names in its pins: a name is then
 * numbered by the config, as that version did (its position among every
 * chain's instances). Run last: it removes the pinned names. */
static void drain_by_name_without_names(void)
{
	char path[] = "/tmp/cs-drain-name-XXXXXX", pin[PATH_MAX];
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!EXPECT(f, "mkstemp: %s", strerror(errno)))
		return;
	fputs("chains:\n"
	      "  - name: one\n"
	      "    instances: [{name: casb-a, address: 10.0.0.1}, {name: casb-b, address: 10.0.0.2}]\n"
	      "  - name: two\n"
	      "    instances: [{name: casb-c, address: \"2001:db8::3\"}]\n", f);
	fclose(f);
	snprintf(pin, sizeof(pin), "%s/cs_chain_ids", pin_dir);
	unlink(pin);
	snprintf(pin, sizeof(pin), "%s/cs_instance_ids", pin_dir);
	unlink(pin);
	if (CLI("drain", "casb-b", "-c", path) && EXPECT_EXIT(0))
		EXPECT_HAS(R.out, "instance 2 (10.0.0.2, chain 1): up -> draining");
	if (CLI("drain", "casb-b", "-c", path, "--undo") && EXPECT_EXIT(0))
		EXPECT_HAS(R.out, "instance 2 (10.0.0.2, chain 1): draining -> up");
	if (CLI("drain", "casb-z", "-c", path) && EXPECT_EXIT(2))
		EXPECT_HAS(R.err, "names no instance \"casb-z\"");
	if (CLI("drain", "x1", "-c", "/nonexistent/cs.yaml") && EXPECT_EXIT(2))
		EXPECT_HAS(R.err, "/nonexistent/cs.yaml: cannot read the config");
	/* and show names no one */
	if (CLI("show", "instances") && EXPECT_EXIT(0))
		EXPECT_ROW(R.out, "10.0.0.2", "2 - 1 10.0.0.2 up 0 0 0 - - - - -");
	unlink(path);
}

static void drain_errors(void)
{
	if (CLI("drain", "7") && EXPECT_EXIT(2)) {
		EXPECT_HAS(R.err, "no instance 7: that id is not used by any chain");
		EXPECT_EQ(strlen(R.out), 0);
	}
	if (CLI("drain", "256") && EXPECT_EXIT(2))
		EXPECT_HAS(R.err, "no instance 256: ids go from 1 to 255");
	if (CLI("drain", "0") && EXPECT_EXIT(2))
		EXPECT_HAS(R.err, "no instance 0");
	if (CLI("drain") && EXPECT_EXIT(2))
		EXPECT_HAS(R.err, "usage: cloudsteer drain");
	if (CLI("drain", "1", "2") && EXPECT_EXIT(2))
		EXPECT_HAS(R.err, "unexpected argument \"2\"");
	if (CLI("drain", "--help") && EXPECT_EXIT(0))
		EXPECT_HAS(R.out, "usage: cloudsteer drain NAME|ID [-c FILE] [--undo] [--pin-dir DIR]\n");
	if (CLI("show", "--help") && EXPECT_EXIT(0))
		EXPECT_HAS(R.out, "usage: cloudsteer show table|routes|rules|stats|chains|instances|map|streams|sync|cluster [--json]");
}

/* `cloudsteer instance` refuses what it cannot serve before it touches
 * anything: FILE[:LINE]: reason, exit 2. */
static void instance_config_errors(void)
{
	static const struct {
		const char *yaml, *name, *want;
	} cases[] = {
		{ "instance: {name: casb-a}\n", NULL, "instance.interfaces is missing" },
		{ "mesh: {affinity_key: 00112233445566778899aabbccddeeff}\n", "casb-z",
		  "no instance is named \"casb-z\"" },
		{ "mesh: {affinity_key: 00112233445566778899aabbccddeeff}\n", NULL,
		  "no instance's address is an address of this host" },
		{ "instance: {name: casb-a, interfaces: [lo]}\n", NULL,
		  ":2: chain \"casb\" is in route mode: its instances recompute each stream's affinity code, "
		  "so the config needs mesh.affinity_key" },
		{ "instance: {name: casb-a, interfaces: [lo], policy: lax}\n", NULL,
		  ":6: instance.policy must be strict or loose, not \"lax\"" },
	};
	char path[] = "/tmp/cs-cli-instance-XXXXXX";
	size_t i;
	int fd = mkstemp(path);

	if (!EXPECT(fd >= 0, "mkstemp: %s", strerror(errno)))
		return;
	close(fd);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		FILE *f = fopen(path, "w");

		fprintf(f, "chains:\n  - name: casb\n    instances:\n      - {name: casb-a, address: 192.0.2.201}\n"
			   "      - {name: casb-b, address: 192.0.2.202}\n%s", cases[i].yaml);
		fclose(f);
		if ((cases[i].name ? CLI("instance", "-c", path, "--name", cases[i].name) : CLI("instance", "-c", path)) &&
		    EXPECT_EXIT(2)) {
			EXPECT_HAS(R.err, path);
			EXPECT_HAS(R.err, cases[i].want);
		}
	}
	unlink(path);
	if (CLI("instance", "--help") && EXPECT_EXIT(0))
		EXPECT_HAS(R.out, "usage: cloudsteer instance [-c FILE] [--name NAME]");
	if (CLI("instance", "extra") && EXPECT_EXIT(2))
		EXPECT_HAS(R.err, "unexpected argument \"extra\"");
}

static void missing_state(void)
{
	static const char *const cmds[][4] = {
		{ "show", "chains" }, { "show", "instances", "--json" }, { "show", "map" }, { "drain", "1" },
		{ "show", "streams" }, { "show", "sync", "--json" },
	};
	char want[PATH_MAX + 128];
	size_t i;

	snprintf(want, sizeof(want), "no cloudsteer state in %s", missing_dir);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (cli_run(missing_dir, cmds[i]) && EXPECT_EXIT(1)) {
			EXPECT_HAS(R.err, want);
			EXPECT_EQ(strlen(R.out), 0);
		}
	/* learn's views still need learn's maps, which are not pinned here */
	if (CLI("show", "table") && EXPECT_EXIT(1))
		EXPECT_HAS(R.err, "cs_records is not pinned there");
}

static int run_checks(void)
{
	RUN(setup);
	if (!setup_ok)
		T_EXIT();
	RUN(chains);
	RUN(instances);
	RUN(map);
	RUN(drain);
	RUN(drain_by_name);
	RUN(drain_errors);
	RUN(instance_config_errors);
	RUN(missing_state);
	RUN(drain_by_name_without_names);
	T_EXIT();
}

/* ---- the two processes ---- */

int main(void)
{
	int status;

	if (!clifx_setup(&status))
		return status;
	ncpu = libbpf_num_possible_cpus();
	if (ncpu <= 0) {
		printf("FAIL: cli-chains: setup: cannot count CPUs\n");
		clifx_bpffs_end();
		return 1;
	}
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/cs-cli2-%d", (int)getpid());
	snprintf(missing_dir, sizeof(missing_dir), "%s-none", pin_dir);
	return clifx_run_and_clean(run_checks, (const char *const[]){ pin_dir, NULL },
				   (const char *const[]){ missing_dir, NULL });
}
