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
#include "lib/cli.h"
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
	"  -p, --pin-dir DIR  where the maps are pinned (default $" CS_PIN_DIR_ENV ",\n"
	"                     else " CS_PIN_DIR ")\n"
	"  -v, --verbose      more detail (twice: libbpf too)\n"
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

/* The instance id that NAME|ID says; 0 after an error, said. */
static __u32 instance_id(const char *config, const char *arg)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || arg[0] == '+') {
		v = name_to_id(config, arg);
		if (!v)
			return 0;
	}
	if (v == 0 || v >= CS_INSTANCES_MAX) {
		cs_err("no instance %s: ids go from 1 to %u (cloudsteer show instances lists them)", arg,
		       CS_INSTANCES_MAX - 1);
		return 0;
	}
	return (__u32)v;
}

/* Write state `want` (draining, or up for --undo) into cs_instances[id],
 * and say what changed. The exit status. */
static int set_state(const struct cs_pinned *pins, __u32 id, __u32 want)
{
	struct cs_instance in;
	char ip[CS_ADDR_TEXT_MAX];
	__u32 was;
	int e = cs_pinned_instance(pins, id, &in);

	if (e) {
		cs_err("cannot read instance %u from %s/cs_instances: %s", id, pins->dir, strerror(-e));
		return 1;
	}
	if (!in.chain_id) {
		cs_err("no instance %u: that id is not used by any chain (cloudsteer show instances lists them)",
		       id);
		return 2;
	}
	cs_addr_format(&in.addr, ip, sizeof(ip));
	was = in.state;
	if (was == want) {
		printf("instance %u (%s, chain %u) is already %s\n", id, ip, in.chain_id, cs_inst_state_name(want));
		return 0;
	}
	in.state = want;
	if (bpf_map_update_elem(pins->fd[CS_M_INSTANCES], &id, &in, BPF_EXIST)) {
		cs_err("cannot write instance %u to %s/cs_instances: %s", id, pins->dir, strerror(errno));
		return 1;
	}
	if (want == CS_INST_UP)
		printf("instance %u (%s, chain %u): %s -> up: it takes new streams again once the daemon "
		       "rebuilds the chain's table\n", id, ip, in.chain_id, cs_inst_state_name(was));
	else
		printf("instance %u (%s, chain %u): %s -> draining: no new streams; pinned streams finish\n", id,
		       ip, in.chain_id, cs_inst_state_name(was));
	return 0;
}

int cmd_drain(int argc, char **argv)
{
	bool undo = false;
	const struct cs_own_flag own[] = {
		{ "undo", 0, NULL, &undo },
		{ 0 },
	};
	struct cs_cli cli = { .cmd = "drain", .usage = drain_usage, .own = own,
			      .flags = CS_FLAG_CONFIG | CS_FLAG_PIN_DIR | CS_FLAG_VERBOSE,
			      .config = CS_DEFAULT_CONFIG, .pin_dir = cs_pin_dir() };
	struct cs_pinned pins;
	char err[1024];
	__u32 id;
	int rc = cs_cli_parse(&cli, argc, argv);

	if (rc != CS_CLI_GO_ON)
		return rc;
	if (optind >= argc)
		return cs_usage_error(&cli, true, "say which instance (a name or an id)");
	if (optind + 1 < argc)
		return cs_usage_error(&cli, true, "unexpected argument \"%s\"", argv[optind + 1]);
	id = instance_id(cli.config, argv[optind]);
	if (!id)
		return 2;
	if (cs_pinned_open_only(&pins, cli.pin_dir, CS_PINNED_BIT(CS_M_INSTANCES), err, sizeof(err))) {
		cs_err("%s", err);
		return 1;
	}
	rc = set_state(&pins, id, undo ? CS_INST_UP : CS_INST_DRAINING);
	cs_pinned_close(&pins);
	return rc;
}
