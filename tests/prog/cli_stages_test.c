// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cli_stages: `cloudsteer explain` and `show chains|instances|map` for a
 * chain of two stages (mode nsh), against pins made the way the gateway
 * makes them: learn loaded and an answer for the chain's rule run through
 * it, then steer loaded over learn's pins, and the chain, its four
 * instances, their names, stage 0's table (cs_service_map) and stage 1's
 * (cs_stage_map) written, and a stream pinned to stage 0's secondary.
 * Then both programs are closed: only the pins hold the maps. Stage 1's
 * instance is the bucket's primary while it may take streams, else its
 * secondary: the checks mark them down in cs_instances and ask again. The
 * checks run in a child; the parent removes the pins whatever happens.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "learnfx.h"
#include "affinity.h"
#include "lib/maps.h"
#include "lib/pins.h"
#include "lib/stagetable.h"
#include "clifx.h"
#include "clirows.h"
#include "steer.skel.h"

T_SUITE("cli-stages");

#define CHAIN_YAML                                                                            \
	"chains:\n"                                                                           \
	"  - name: inspect\n"                                                                 \
	"    mode: nsh\n"                                                                     \
	"    symmetric: true\n"                                                               \
	"    stages:\n"                                                                       \
	"      - name: fw\n"                                                                  \
	"        instances: [{name: fw-a, address: 10.31.0.2}, {name: fw-b, address: 10.31.0.3}]\n" \
	"      - name: dlp\n"                                                                 \
	"        instances: [{name: dlp-a, address: 10.32.0.2}, {name: dlp-b, address: 10.32.0.3}]\n"

static const char CONF[] =
	"rules:\n"
	"  - match: [svc.test]\n"
	"    chain: inspect\n" CHAIN_YAML;

#define CHAIN 1
#define STREAM "tcp", "10.10.0.2", "40001", "192.0.2.7", "443"	/* pinned to fw-b */
#define NEW_STREAM "tcp", "10.10.0.2", "40999", "192.0.2.7", "443"	/* not seen yet */

/* Ids as a fresh gateway gives them: in config order, stage by stage. */
static const struct {
	const char *name, *address;
} insts[] = {
	{ NULL, NULL }, { "fw-a", "10.31.0.2" }, { "fw-b", "10.31.0.3" },
	{ "dlp-a", "10.32.0.2" }, { "dlp-b", "10.32.0.3" },
};
#define N_INSTS 4

static struct lfx F;
static struct dnsmsg M;
static char pin_dir[128], conf_path[64];
static __u32 bucket;	/* of the pinned stream, in every table (all have 256) */

#define CLI(...) cli_run(pin_dir, (const char *const[]){ __VA_ARGS__, NULL })

/* ---- making the state ---- */

/* 192.0.2.7 learned for svc.test: a route under rule 1, whose chain is
 * inspect. */
static bool teach(void)
{
	static const char *const ip[] = { "192.0.2.7" };

	dns_simple_answer(&M, "svc.test", ip, 1, 300);
	return lfx_run_dns(&F, &M, NULL) && EXPECT_REASON(&F, CS_R_LEARNED);
}

static bool update(struct steer_bpf *skel, const struct bpf_map *map, __u32 key, const void *val, const char *what)
{
	return EXPECT(!bpf_map_update_elem(bpf_map__fd(map), &key, val, BPF_ANY), "%s %u: %s", what, key,
		      strerror(errno));
}

/* The chain as the daemon writes it (daemon/chains.c chain_entry), and
 * the names it keeps for the ids. */
static bool write_chain(struct steer_bpf *skel)
{
	struct cs_chain ch = { .mode = CS_MODE_NSH, .on_failure = CS_FAIL_BYPASS, .n_buckets = CS_BUCKETS_DEFAULT,
			       .flags = CS_CHAIN_SYMMETRIC, .n_stages = 2, .last_buckets = CS_BUCKETS_DEFAULT };
	struct cs_id_holder h = { .state = CS_ID_HELD };

	snprintf(h.chain, sizeof(h.chain), "inspect");
	return update(skel, skel->maps.cs_chains, CHAIN, &ch, "chain") &&
	       update(skel, skel->maps.cs_chain_ids, CHAIN, &h, "chain name");
}

static bool write_instances(struct steer_bpf *skel)
{
	__u32 id;

	for (id = 1; id <= N_INSTS; id++) {
		struct cs_instance in = { .chain_id = CHAIN, .state = CS_INST_UP, .vni = 12484427 };
		struct cs_id_holder h = { .state = CS_ID_HELD };

		snprintf(h.chain, sizeof(h.chain), "inspect");
		snprintf(h.instance, sizeof(h.instance), "%s", insts[id].name);
		cs_addr_parse(insts[id].address, &in.addr);
		if (!update(skel, skel->maps.cs_instances, id, &in, "instance") ||
		    !update(skel, skel->maps.cs_instance_ids, id, &h, "instance name"))
			return false;
	}
	return true;
}

/* A table whose every bucket names primary then secondary: whatever a
 * stream's code, the stage's instance is the primary while it is up. */
static bool write_table(int outer_fd, __u32 slot, __u32 primary, __u32 secondary)
{
	struct cs_bucket b[CS_BUCKETS_DEFAULT];
	__u32 ids[2] = { primary, secondary }, i;

	for (i = 0; i < CS_BUCKETS_DEFAULT; i++)
		b[i] = (struct cs_bucket){ .primary = 1, .secondary = 2 };	/* positions in ids */
	return EXPECT(!cs_bucket_table_swap(outer_fd, slot, b, CS_BUCKETS_DEFAULT, ids), "table %u: %s", slot,
		      strerror(errno));
}

/* The stream steer pinned to fw-b, stage 0's secondary, under the code
 * steer gives it (the affinity key learn pinned). */
static bool write_flow(struct steer_bpf *skel)
{
	struct cs_addr cli_ip, srv;
	struct cs_flow_key k;
	struct cs_flow fl = { .instance = 2, .chain = CHAIN, .acl_id = 1, .state = CS_ST_ESTABLISHED };
	struct cs_config cfg;
	struct timespec ts;
	__u32 zero = 0;

	if (!EXPECT(!bpf_map_lookup_elem(bpf_map__fd(skel->maps.cs_config), &zero, &cfg), "cs_config: %s",
		    strerror(errno)))
		return false;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	fl.first_ns = fl.last_ns = (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
	cs_addr_parse("10.10.0.2", &cli_ip);
	cs_addr_parse("192.0.2.7", &srv);
	fl.route = srv;
	cs_flow_key_make(&k, &cli_ip, 40001, &srv, 443, 6);
	fl.code = cs_affinity_code(&k, cfg.affinity_key);
	bucket = fl.code & (CS_BUCKETS_DEFAULT - 1);
	return EXPECT(!bpf_map_update_elem(bpf_map__fd(skel->maps.cs_flows), &k, &fl, BPF_ANY), "flow: %s",
		      strerror(errno));
}

static bool fill_steer(struct steer_bpf *skel)
{
	return write_chain(skel) && write_instances(skel) &&
	       write_table(bpf_map__fd(skel->maps.cs_service_map), CHAIN, 1, 2) &&
	       write_table(bpf_map__fd(skel->maps.cs_stage_map), cs_stage_slot(CHAIN, 1), 3, 4) && write_flow(skel);
}

/* steer over learn's pins, as the daemon loads it. */
static bool load_steer(void)
{
	struct steer_bpf *skel = steer_bpf__open();
	char err[512];
	bool ok;

	if (!EXPECT(skel, "steer_bpf__open: %s", strerror(errno)))
		return false;
	ok = EXPECT(cs_pins_reuse(skel->obj, pin_dir, err, sizeof(err)) >= 0, "reuse: %s", err) &&
	     EXPECT(!steer_bpf__load(skel), "steer_bpf__load: %s", strerror(errno)) &&
	     EXPECT(!cs_pins_pin(skel->obj, pin_dir, err, sizeof(err)), "pin: %s", err) && fill_steer(skel);
	steer_bpf__destroy(skel);
	return ok;
}

/* The config the CLI names the stages by (-c). */
static bool write_conf(void)
{
	int fd = mkstemp(conf_path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!EXPECT(f, "mkstemp: %s", strerror(errno)))
		return false;
	fputs(CONF, f);
	fclose(f);
	return true;
}

static bool setup_ok;

static void setup(void)
{
	const struct cs_learn_opts opts = { .acl_ids = 4, .pin_dir = pin_dir };	/* the daemon's */

	if (!lfx_open_opts(&F, CONF, &opts))
		return;
	setup_ok = teach();
	lfx_close(&F);
	/* from here on only the pins hold the maps */
	setup_ok = setup_ok && load_steer() && write_conf();
}

/* cs_instances[id].state = state, as the daemon's probes or drain write it. */
static bool set_state(__u32 id, __u32 state)
{
	int fd = cs_pin_open(pin_dir, "cs_instances");
	struct cs_instance in;
	bool ok = EXPECT(fd >= 0, "cs_instances: %s", strerror(-fd)) &&
		  EXPECT(!bpf_map_lookup_elem(fd, &id, &in), "instance %u: %s", id, strerror(errno));

	in.state = state;
	ok = ok && EXPECT(!bpf_map_update_elem(fd, &id, &in, BPF_EXIST), "instance %u: %s", id, strerror(errno));
	if (fd >= 0)
		close(fd);
	return ok;
}

/* ---- explain ---- */

/* One element of "stages" for the pinned stream, named as the config names
 * its stage: stage 0 "fw", stage 1 "dlp". */
static const char *hop_json(__u32 stage, const char *inst, __u32 id, const char *role, const char *state)
{
	static char buf[4][256];
	static int next;
	char *b = buf[next++ % 4];

	snprintf(b, sizeof(buf[0]),
		 "{\"stage\":%u,\"stage_name\":\"%s\",\"bucket\":%u,\"instance\":%s%s%s,\"id\":%u,\"role\":\"%s\","
		 "\"state\":\"%s\"}", stage, stage ? "dlp" : "fw", bucket, inst ? "\"" : "", inst ? inst : "null",
		 inst ? "\"" : "", id, role, state);
	return b;
}

/* "LEAD[STAGE0,STAGE1]}": the stages of the pinned stream after lead. */
static const char *stages_json(const char *lead, const char *stage1)
{
	static char buf[1024];

	snprintf(buf, sizeof(buf), "%s\"stages\":[%s,%s]}", lead, hop_json(0, "fw-b", 2, "pinned", "up"), stage1);
	return buf;
}

/* Stage 1's instance is its table's primary, dlp-a; stage 0's the one the
 * stream is pinned to, fw-b, though fw-a is the bucket's primary. */
static void explain_primary(void)
{
	if (CLI("explain", "--json", "-c", conf_path, STREAM) && EXPECT_EXIT(0)) {
		const char *dlp_a = hop_json(1, "dlp-a", 3, "primary", "up");

		/* the stream asked about, and the route's live stream: the same one */
		EXPECT_HAS(R.out, stages_json("\"pinned\":true,\"instance\":2,", dlp_a));
		EXPECT_HAS(R.out, stages_json("\"proven\":true,", dlp_a));
		EXPECT_EQ(count_lines(R.out), 1);
	}
	if (CLI("explain", "-c", conf_path, STREAM) && EXPECT_EXIT(0)) {
		EXPECT_HAS(R.out, "\n  asked     10.10.0.2:40001 -> 192.0.2.7:443 tcp: code ");
		EXPECT(words_are(line_with(R.out, "stage 0", NULL), "stage 0 fw: fw-b (2), pinned, up"), "stage 0:\n%s",
		       R.out);
		EXPECT(words_are(line_with(R.out, "stage 1", NULL), "stage 1 dlp: dlp-a (3), primary, up"),
		       "stage 1:\n%s", R.out);
	}
}

/* A stream not seen yet takes stage 0's primary too. */
static void explain_new_stream(void)
{
	if (CLI("explain", "--json", "-c", conf_path, NEW_STREAM) && EXPECT_EXIT(0)) {
		EXPECT_HAS(R.out, "\"stage\":0,\"stage_name\":\"fw\",");
		EXPECT_HAS(R.out, "\"instance\":\"fw-a\",\"id\":1,\"role\":\"primary\",\"state\":\"up\"}");
		EXPECT_HAS(R.out, "\"instance\":\"dlp-a\",\"id\":3,\"role\":\"primary\",\"state\":\"up\"}]}");
	}
}

/* With dlp-a down, stage 1's instance is the secondary, dlp-b; with both
 * down, none: the stage before drops the packet. */
static void explain_secondary(void)
{
	if (!set_state(3, CS_INST_DOWN))
		return;
	if (CLI("explain", "--json", "-c", conf_path, STREAM) && EXPECT_EXIT(0))
		EXPECT_HAS(R.out, stages_json("\"instance\":2,", hop_json(1, "dlp-b", 4, "secondary", "up")));
	if (CLI("explain", "-c", conf_path, STREAM) && EXPECT_EXIT(0))
		EXPECT(words_are(line_with(R.out, "stage 1", NULL), "stage 1 dlp: dlp-b (4), secondary, up"),
		       "stage 1:\n%s", R.out);
	if (!set_state(4, CS_INST_DRAINING))
		return;
	if (CLI("explain", "--json", "-c", conf_path, STREAM) && EXPECT_EXIT(0))
		EXPECT_HAS(R.out, stages_json("\"instance\":2,", hop_json(1, NULL, 0, "none", "none")));
	if (CLI("explain", "-c", conf_path, STREAM) && EXPECT_EXIT(0))
		EXPECT(words_are(line_with(R.out, "stage 1", NULL),
				 "stage 1 dlp: none: primary dlp-a (3) down, secondary dlp-b (4) draining; the stage "
				 "before drops it (nsh_no_next)"), "stage 1:\n%s", R.out);
	set_state(3, CS_INST_UP);
	set_state(4, CS_INST_UP);
}

/* Without the config the stages go by number; the pins keep no names. */
static void explain_without_config(void)
{
	if (CLI("explain", "--json", "-c", "/nonexistent/cs.yaml", STREAM) && EXPECT_EXIT(0)) {
		char want[128];

		snprintf(want, sizeof(want), "{\"stage\":1,\"bucket\":%u,\"instance\":\"dlp-a\",\"id\":3,", bucket);
		EXPECT_HAS(R.out, want);
		EXPECT(!strstr(R.out, "stage_name"), "no stage has a name");
		EXPECT_HAS(R.err, "/nonexistent/cs.yaml");
	}
	if (CLI("explain", "-c", "/nonexistent/cs.yaml", STREAM) && EXPECT_EXIT(0))
		EXPECT(words_are(line_with(R.out, "stage 1", NULL), "stage 1 dlp-a (3), primary, up"), "stage 1:\n%s",
		       R.out);
}

/* ---- show ---- */

static void show_chains(void)
{
	if (CLI("show", "chains", "-c", conf_path) && EXPECT_EXIT(0)) {
		EXPECT(words_are(line_with(R.out, "CHAIN", NULL),
				 "CHAIN NAME MODE ON FAILURE SYMMETRIC AFFINITY BUCKETS INSTANCES VNI STAGES"), "header: %s", R.out);
		EXPECT_ROW(R.out, "inspect", "1 inspect nsh bypass yes flow 256 4 12484427 2");
	}
	if (CLI("show", "chains", "--json") && EXPECT_EXIT(0))
		EXPECT_HAS(R.out, "\"instances\":4,\"vni\":12484427,\"stages\":2}\n");
}

static void show_instances(void)
{
	if (CLI("show", "instances", "-c", conf_path) && EXPECT_EXIT(0)) {
		EXPECT(words_are(line_with(R.out, "INSTANCE", NULL),
				 "INSTANCE NAME CHAIN STAGE ADDRESS STATE PACKETS BYTES STREAMS VIA INNER MTU MAC "
				 "CLAMPED UNWRAPPED"), "header: %s", R.out);
		EXPECT_ROW(R.out, "fw-b", "2 fw-b 1 0 fw 10.31.0.3 up 0 0 0 - - - - -");
		EXPECT_ROW(R.out, "dlp-a", "3 dlp-a 1 1 dlp 10.32.0.2 up 0 0 0 - - - - -");
	}
	if (CLI("show", "instances", "--json", "-c", conf_path) && EXPECT_EXIT(0)) {
		EXPECT_HAS(R.out, "{\"id\":1,\"name\":\"fw-a\",\"chain_id\":1,\"stage\":0,\"stage_name\":\"fw\","
				  "\"address\":\"10.31.0.2\"");
		EXPECT_HAS(R.out, "{\"id\":4,\"name\":\"dlp-b\",\"chain_id\":1,\"stage\":1,\"stage_name\":\"dlp\","
				  "\"address\":\"10.32.0.3\"");
	}
}

static void show_map(void)
{
	if (CLI("show", "map", "-c", conf_path) && EXPECT_EXIT(0)) {
		EXPECT(words_are(line_with(R.out, "CHAIN", NULL), "CHAIN STAGE INSTANCE PRIMARY SECONDARY"),
		       "header: %s", R.out);
		EXPECT_EQ(count_lines(R.out), 5);
		EXPECT(words_are(nth_line(R.out, 1), "1 0 fw 1 256 0"), "fw-a:\n%s", R.out);
		EXPECT(words_are(nth_line(R.out, 2), "1 0 fw 2 0 256"), "fw-b:\n%s", R.out);
		EXPECT(words_are(nth_line(R.out, 3), "1 1 dlp 3 256 0"), "dlp-a:\n%s", R.out);
		EXPECT(words_are(nth_line(R.out, 4), "1 1 dlp 4 0 256"), "dlp-b:\n%s", R.out);
	}
	if (CLI("show", "map", "--json", "-c", conf_path) && EXPECT_EXIT(0)) {
		EXPECT_EQ(count_lines(R.out), 2 * CS_BUCKETS_DEFAULT);
		EXPECT_HAS(R.out, "{\"chain\":1,\"stage\":0,\"stage_name\":\"fw\",\"bucket\":0,\"primary\":1,"
				  "\"secondary\":2}\n");
		EXPECT_HAS(R.out, "{\"chain\":1,\"stage\":1,\"stage_name\":\"dlp\",\"bucket\":255,\"primary\":3,"
				  "\"secondary\":4}\n");
	}
}

/* State pinned before cs_stage_map existed: everything else still reads,
 * and the later stages have no table. Run last: it removes the pin. */
static void without_stage_map(void)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/cs_stage_map", pin_dir);
	if (!EXPECT(!unlink(path), "unlink %s: %s", path, strerror(errno)))
		return;
	if (CLI("show", "map", "-c", conf_path) && EXPECT_EXIT(0)) {
		EXPECT_EQ(count_lines(R.out), 3);
		EXPECT(words_are(nth_line(R.out, 2), "1 0 fw 2 0 256"), "fw-b:\n%s", R.out);
	}
	/* which stage an instance serves is in the tables only */
	if (CLI("show", "instances", "-c", conf_path) && EXPECT_EXIT(0)) {
		EXPECT_ROW(R.out, "dlp-a", "3 dlp-a 1 ? 10.32.0.2 up 0 0 0 - - - - -");
		EXPECT_ROW(R.out, "fw-a", "1 fw-a 1 ? 10.31.0.2 up 0 0 0 - - - - -");
	}
	if (CLI("explain", "-c", conf_path, STREAM) && EXPECT_EXIT(0)) {
		EXPECT(words_are(line_with(R.out, "stage 0", NULL), "stage 0 fw: fw-b (2), pinned, up"), "stage 0:\n%s",
		       R.out);
		EXPECT(words_are(line_with(R.out, "stage 1", NULL), "stage 1 dlp: no table yet"), "stage 1:\n%s",
		       R.out);
	}
}

static int run_checks(void)
{
	RUN(setup);
	if (!setup_ok)
		T_EXIT();
	RUN(explain_primary);
	RUN(explain_new_stream);
	RUN(explain_secondary);
	RUN(explain_without_config);
	RUN(show_chains);
	RUN(show_instances);
	RUN(show_map);
	RUN(without_stage_map);
	unlink(conf_path);
	T_EXIT();
}

/* ---- the two processes ---- */

int main(void)
{
	int status, rc;

	if (!clifx_setup(&status))
		return status;
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/cs-cli-stages-%d", (int)getpid());
	snprintf(conf_path, sizeof(conf_path), "/tmp/cs-cli-stages-XXXXXX");
	rc = clifx_run_and_clean(run_checks, (const char *const[]){ pin_dir, NULL }, (const char *const[]){ NULL });
	return rc;
}
