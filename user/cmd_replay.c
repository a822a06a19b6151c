// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cloudsteer replay - run captured frames through the learn program.
 *
 * Every frame of every capture goes through the very object the daemon
 * attaches, with BPF_PROG_TEST_RUN on fresh private maps. Each record the
 * program creates or refreshes comes back on the ring buffer and is printed.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cloudsteer.h"
#include "commands.h"
#include "lib/addr.h"
#include "lib/cli.h"
#include "lib/config.h"
#include "lib/json.h"
#include "lib/learnprog.h"
#include "lib/log.h"
#include "lib/maps.h"
#include "lib/names.h"
#include "lib/pcapread.h"
#include "lib/rules.h"
#include "learn.skel.h"

struct replay {
	const struct cs_conf *conf;
	bool json;
	const char *pcap;
	unsigned long frame;
	unsigned long records, news;
	unsigned long frames, skipped;
	bool header_done;
};

#define HUMAN_ROW "%-6s %-32s %-32s %-39s %7s  %-24s %s\n"

static int on_event(void *ctx, void *data, size_t size)
{
	struct replay *rp = ctx;
	const struct cs_learn_event *e = data;
	char ip[CS_ADDR_TEXT_MAX];
	bool is_new = e->type == CS_EV_RECORD_NEW;

	if (size < sizeof(*e))
		return 0;
	cs_addr_format(&e->addr, ip, sizeof(ip));
	rp->records++;
	rp->news += is_new;
	if (rp->json) {
		struct cs_json j;

		cs_json_begin(&j, stdout);
		cs_json_str(&j, "pcap", rp->pcap);
		cs_json_u64(&j, "frame", rp->frame);
		cs_json_str(&j, "qname", e->qname.text);
		cs_json_str(&j, "name", e->name.text);
		cs_json_str(&j, "rule", cs_pattern_text(rp->conf, e->pattern_id));
		cs_json_str(&j, "ip", ip);
		cs_json_u64(&j, "ttl", e->ttl);
		cs_json_bool(&j, "new", is_new);
		cs_json_end(&j);
	} else {
		char frame[24], ttl[16];

		if (!rp->header_done) {
			printf(HUMAN_ROW, "frame", "question", "owner", "IP", "TTL", "rule", "");
			rp->header_done = true;
		}
		snprintf(frame, sizeof(frame), "%lu", rp->frame);
		snprintf(ttl, sizeof(ttl), "%u", e->ttl);
		printf(HUMAN_ROW, frame, e->qname.text, e->name.text, ip, ttl,
		       cs_pattern_text(rp->conf, e->pattern_id), is_new ? "new" : "refresh");
	}
	return 0;
}

struct replay_run {
	struct replay *rp;
	struct ring_buffer *rb;
	int prog_fd;
};

static int replay_frame(void *ctx, unsigned long frame, const __u8 *eth, __u32 len)
{
	struct replay_run *run = ctx;
	struct replay *rp = run->rp;
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = eth, .data_size_in = len, .repeat = 1);

	rp->frame = frame;
	rp->frames++;
	if (len < 14) {
		cs_debug("%s: frame %lu: no Ethernet frame to run, skipped", rp->pcap, frame);
		rp->skipped++;
		return 0;
	}
	if (bpf_prog_test_run_opts(run->prog_fd, &opts)) {
		cs_warn("%s: frame %lu (%u bytes) could not be run: %s", rp->pcap, frame, len,
			strerror(errno));
		rp->skipped++;
		return 0;
	}
	ring_buffer__consume(run->rb);
	return 0;
}

/* The counts, and learn's counters by reason (read from its cs_learn_stats). */
static void print_summary(const struct replay *rp, struct learn_bpf *skel)
{
	__u64 counts[CS_R_MAX];
	__u32 i;

	printf("\n%lu frames (%lu skipped), %lu records learned, %lu refreshed\n", rp->frames,
	       rp->skipped, rp->news, rp->records - rp->news);
	if (cs_percpu_sum(bpf_map__fd(skel->maps.cs_learn_stats), 0, CS_R_MAX, counts, 1))
		return;
	for (i = 0; i < CS_R_MAX; i++)
		if (counts[i] && cs_reason_name(i))
			printf("  %-16s %10llu  %s\n", cs_reason_name(i), (unsigned long long)counts[i],
			       cs_reason_help(i));
}

static const char replay_usage[] =
	"usage: cloudsteer replay --config FILE [--json] [-v] PCAP...\n"
	"\n"
	"Run every frame of the captures through the learn program (the object the\n"
	"daemon attaches) on fresh maps, and print each record it learns or refreshes.\n"
	"Captures may be pcap or pcapng, Ethernet, raw IP or Linux cooked.\n"
	"\n"
	"  -c, --config FILE  the YAML config; only learn.ttl, learn.max_records\n"
	"                     and rules are used\n"
	"  -j, --json         one JSON object per record:\n"
	"                     {\"pcap\",\"frame\",\"qname\",\"name\",\"rule\",\"ip\",\"ttl\",\"new\"}\n"
	"  -v, --verbose      more detail on stderr (twice: libbpf and verifier)\n"
	"  -h, --help         this text\n";

int cmd_replay(int argc, char **argv)
{
	struct cs_cli cli = { .cmd = "replay", .usage = replay_usage,
			      .flags = CS_FLAG_CONFIG | CS_FLAG_JSON | CS_FLAG_VERBOSE };
	struct cs_learn_opts learn_opts = { .report_refresh = true, .lazy_tables = true, .acl_ids = 65535 };
	struct replay rp = { 0 };
	struct cs_conf conf;
	struct cs_ruleset rs;
	struct learn_bpf *skel;
	struct ring_buffer *rb;
	char err[1024];
	int i, rc = cs_cli_parse(&cli, argc, argv);

	if (rc != CS_CLI_GO_ON)
		return rc;
	rc = 0;
	if (!cli.config)
		return cs_usage_error(&cli, true, "--config FILE is required");
	if (optind >= argc)
		return cs_usage_error(&cli, true, "name at least one capture");
	rp.json = cli.json;
	if (cs_config_load(cli.config, &conf, err, sizeof(err))) {
		cs_err("%s", err);
		return 2;
	}
	rp.conf = &conf;
	/* a capture may hold the answers without their queries */
	conf.match_queries = false;
	skel = cs_learn_load(&conf, &learn_opts, &rs, err, sizeof(err));
	if (!skel) {
		cs_err("%s", err);
		cs_config_free(&conf);
		return 1;
	}
	rb = ring_buffer__new(bpf_map__fd(skel->maps.cs_learn_events), on_event, &rp, NULL);
	if (!rb) {
		cs_err("cannot open the event ring buffer: %s", strerror(errno));
		rc = 1;
		goto out;
	}
	for (i = optind; i < argc; i++) {
		struct replay_run run = { &rp, rb, bpf_program__fd(skel->progs.learn) };

		rp.pcap = argv[i];
		if (cs_pcap_each(argv[i], replay_frame, &run, err, sizeof(err))) {
			cs_err("%s", err);
			rc = 1;
		}
	}
	if (!rp.json)
		print_summary(&rp, skel);
	ring_buffer__free(rb);
out:
	learn_bpf__destroy(skel);
	cs_rules_free(&rs);
	cs_config_free(&conf);
	return rc;
}
