// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cloudsteer drain ID [--undo] - take an instance out of service gently:
 * its state in the pinned cs_instances becomes draining, so steer sends it
 * no new stream while the streams pinned to it finish; the daemon keeps it
 * drained (health checks skip it) and builds tables over up instances only.
 * --undo makes it up again.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#include <bpf/bpf.h>

#include "cloudsteer.h"
#include "commands.h"
#include "lib/addr.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/names.h"
#include "lib/pinned.h"
#include "lib/pins.h"

static const char drain_usage[] =
	"usage: cloudsteer drain NAME|ID [-c FILE] [--undo] [--pin-dir DIR]\n"
	"\n"
	"Drain an instance, named as in the config (read from -c FILE) or by its id\n"
	"(as `cloudsteer show instances` lists it): steer gives it no new stream at\n"
	"once, and the streams pinned to it finish there. The daemon keeps it drained\n"
	"until `cloudsteer drain NAME --undo` makes it up again.\n"
	"\n"
	"  -c, --config FILE  the config that names the instances (default\n"
	"                     " CS_DEFAULT_CONFIG "); only read for a NAME\n"
	"      --undo         make it up again\n"
	"      --pin-dir DIR  where the maps are pinned (default $" CS_PIN_DIR_ENV ",\n"
	"                     else " CS_PIN_DIR ")\n"
	"  -h, --help         this text\n"
	"\n"
	"Exit status: 0 done (or already so); 1 no state in DIR, or the map could not\n"
	"be read or written; 2 usage, or an unknown or unused ID.\n";

/* The id the daemon gave the instance NAME of the config; 0 after an error. */
static __u32 name_to_id(const char *config, const char *name)
{
	struct cs_conf conf;
	char err[1024];
	__u32 id;

	if (cs_config_load(config, &conf, err, sizeof(err))) {
		cs_err("%s", err);
		return 0;
	}
	id = cs_instance_id_of(&conf, name);
	if (!id)
		cs_err("%s names no instance \"%s\"", config, name);
	cs_config_free(&conf);
	return id;
}

static int usage_error(const char *what, const char *arg)
{
	return cs_usage_error("drain", drain_usage, what, arg);
}

int cmd_drain(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "undo", no_argument, NULL, 'u' },
		{ "config", required_argument, NULL, 'c' },
		{ "pin-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *dir = cs_pin_dir(), *config = CS_DEFAULT_CONFIG;
	struct cs_instance in;
	struct cs_pinned pins;
	char err[1024], ip[CS_ADDR_TEXT_MAX], *end;
	bool undo = false;
	unsigned long v;
	__u32 id, want, was;
	int c, fd, e;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'u': undo = true; break;
		case 'd': dir = optarg; break;
		case 'h': fputs(drain_usage, stdout); return 0;
		default: fputs(drain_usage, stderr); return 2;
		}
	}
	if (optind >= argc)
		return usage_error("say which instance (a name or an id)", NULL);
	if (optind + 1 < argc)
		return usage_error("unexpected argument", argv[optind + 1]);
	errno = 0;
	v = strtoul(argv[optind], &end, 10);
	if (errno || end == argv[optind] || *end || argv[optind][0] == '-' || argv[optind][0] == '+') {
		v = name_to_id(config, argv[optind]);
		if (!v)
			return 2;
	}
	if (v == 0 || v >= CS_INSTANCES_MAX) {
		cs_err("no instance %s: ids go from 1 to %u (cloudsteer show instances lists them)", argv[optind],
		       CS_INSTANCES_MAX - 1);
		return 2;
	}
	id = (__u32)v;
	if (cs_pinned_open_only(&pins, dir, CS_PINNED_BIT(CS_M_INSTANCES), err, sizeof(err))) {
		cs_err("%s", err);
		return 1;
	}
	fd = pins.fd[CS_M_INSTANCES];
	e = cs_pinned_instance(&pins, id, &in);
	if (e) {
		cs_err("cannot read instance %u from %s/cs_instances: %s", id, dir, strerror(-e));
		cs_pinned_close(&pins);
		return 1;
	}
	if (!in.chain_id) {
		cs_err("no instance %u: that id is not used by any chain (cloudsteer show instances lists them)",
		       id);
		cs_pinned_close(&pins);
		return 2;
	}
	cs_addr_format(&in.addr, ip, sizeof(ip));
	want = undo ? CS_INST_UP : CS_INST_DRAINING;
	was = in.state;
	if (was == want) {
		printf("instance %u (%s, chain %u) is already %s\n", id, ip, in.chain_id, cs_inst_state_name(want));
		cs_pinned_close(&pins);
		return 0;
	}
	in.state = want;
	if (bpf_map_update_elem(fd, &id, &in, BPF_EXIST)) {
		cs_err("cannot write instance %u to %s/cs_instances: %s", id, dir, strerror(errno));
		cs_pinned_close(&pins);
		return 1;
	}
	cs_pinned_close(&pins);
	if (undo)
		printf("instance %u (%s, chain %u): %s -> up: it takes new streams again once the daemon "
		       "rebuilds the chain's table\n", id, ip, in.chain_id, cs_inst_state_name(was));
	else
		printf("instance %u (%s, chain %u): %s -> draining: no new streams; pinned streams finish\n", id,
		       ip, in.chain_id, cs_inst_state_name(was));
	return 0;
}
