// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cloudsteer drain ID [--undo] - take an instance out of service gently:
 * its state in the pinned cs_instances becomes draining, so steer sends it
 * no new stream while the streams pinned to it finish; the daemon keeps it
 * drained (health checks skip it) and builds tables over up instances only.
 * --undo makes it up again. In a cluster the drain is also written to etcd
 * (drain/<chain>/<instance>), so every gateway drains it (lib/mapparts.h).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/types.h>

#include <bpf/bpf.h>

#include "cloudsteer.h"
#include "commands.h"
#include "lib/addr.h"
#include "lib/agreedmap.h"
#include "lib/clock.h"
#include "lib/clusterkeys.h"
#include "lib/etcd.h"
#include "lib/cli.h"
#include "lib/config.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/names.h"
#include "lib/pinned.h"
#include "lib/pins.h"

static const char drain_usage[] =
	"usage: cloudsteer drain NAME|ID [-c FILE] [--undo] [--pin-dir DIR]\n"
	"\n"
	"Drain an instance, by its name or by its id (as `cloudsteer show instances`\n"
	"lists them): steer gives it no new stream at once, and the streams pinned to\n"
	"it finish there. The daemon keeps it drained until `cloudsteer drain NAME\n"
	"--undo` makes it up again. When the config has a cluster: section, the\n"
	"drain is the cluster's: etcd holds it (drain/CHAIN/INSTANCE) until --undo,\n"
	"and every gateway drains the instance once the chain's leader agrees; on a\n"
	"host with no state (no daemon), a NAME is drained in the cluster alone.\n"
	"\n"
	"  -c, --config FILE  the config (default " CS_DEFAULT_CONFIG "):\n"
	"                     its cluster: section, if any; and for a NAME in state\n"
	"                     that an older version left, whose pins keep no names,\n"
	"                     the numbering\n"
	"      --undo         make it up again\n"
	"  -p, --pin-dir DIR  where the maps are pinned (default $" CS_PIN_DIR_ENV ",\n"
	"                     else " CS_PIN_DIR ")\n"
	"  -v, --verbose      more detail (twice: libbpf too)\n"
	"  -h, --help         this text\n"
	"\n"
	"Exit status: 0 done (or already so); 1 no state in DIR, the map could not\n"
	"be read or written, or the cluster could not be told; 2 usage, or an\n"
	"unknown or unused ID.\n";

/* The id an older version gave the instance NAME: the config's order, as
 * cs_config_load numbers a fresh node; 0 after an error, said. */
static __u32 id_in_config(const char *config, const char *name)
{
	const struct cs_instance_conf *ic;
	struct cs_conf conf;
	char err[1024];
	__u32 id = 0;

	if (cs_config_load(config, &conf, err, sizeof(err))) {
		cs_err("%s", err);
		return 0;
	}
	ic = cs_instance_named(&conf, name, NULL);
	if (ic)
		id = ic->id;
	else
		cs_err("%s names no instance \"%s\"", config, name);
	cs_config_free(&conf);
	return id;
}

/* The id the daemon gave the instance NAME, from the names its pins keep
 * (cs_instance_ids); without them, from the config. 0 after an error, said. */
static __u32 name_to_id(const struct cs_pinned *pins, const char *config, const char *name)
{
	struct cs_ids *ids = calloc(1, sizeof(*ids));
	__u32 id = 0;
	int e = ids ? cs_pinned_ids(pins, ids) : -ENOMEM;

	if (e == -ENOENT)
		id = id_in_config(config, name);
	else if (e)
		cs_err("cannot read the instance names in %s: %s", pins->dir, strerror(-e));
	else if (!(id = cs_ids_instance_named(ids, name, NULL)))
		cs_err("no instance is named \"%s\" here (cloudsteer show instances lists them)", name);
	free(ids);
	return id;
}

/* The instance id that NAME|ID says; 0 after an error, said. */
static __u32 instance_id(const struct cs_pinned *pins, const char *config, const char *arg)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || arg[0] == '+') {
		v = name_to_id(pins, config, arg);
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

/* An instance that left the config drains until its streams end; the
 * daemon would drain it again at the next reload, so --undo is refused. */
static bool has_left(const struct cs_pinned *pins, __u32 id)
{
	struct cs_ids *ids = calloc(1, sizeof(*ids));
	bool left = ids && !cs_pinned_ids(pins, ids) && ids->inst[id].state == CS_ID_LEFT;

	free(ids);
	return left;
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
	if (want == CS_INST_UP && has_left(pins, id)) {
		cs_err("instance %u left the config: it drains until the streams pinned to it end, then its id "
		       "is free", id);
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

/* The chain and instance names of id, as the pins keep them (else the
 * config's). False when neither knows. */
static bool names_of(const struct cs_pinned *pins, const struct cs_conf *conf, __u32 id, char *chain,
		     char *instance, size_t len)
{
	struct cs_ids *ids = calloc(1, sizeof(*ids));
	const struct cs_instance_conf *ic;
	size_t c;
	bool ok = false;

	if (ids && !cs_pinned_ids(pins, ids) && ids->inst[id].instance[0]) {
		snprintf(chain, len, "%s", ids->inst[id].chain);
		snprintf(instance, len, "%s", ids->inst[id].instance);
		ok = true;
	} else if ((ic = cs_instance_by_id(conf, id, &c))) {
		snprintf(chain, len, "%s", conf->chains[c].name);
		snprintf(instance, len, "%s", ic->name);
		ok = true;
	}
	free(ids);
	return ok;
}

/* Put (or, undo, delete) drain/<chain>/<instance>: the chain's leader
 * drains it in the agreed map, and every node follows. */
static int write_intent(const struct cs_conf *conf, const char *chain, const char *instance, bool undo)
{
	const char *parts[2] = { chain, instance };
	struct cs_etcd *c = NULL;
	struct cs_etcd_opts o;
	char key[CS_CKEY_MAX], err[CS_ETCD_ERR_MAX], *json = NULL;
	int rc;

	if (cs_ckey(key, sizeof(key), conf->cluster.name, CS_CKEY_DRAIN, parts, 2) < 0)
		return -ENAMETOOLONG;
	cs_etcd_opts_from_conf(&conf->cluster, &o);
	rc = cs_etcd_open(&o, &c, err, sizeof(err));
	if (!rc && undo) {
		rc = cs_etcd_delete(c, CS_ETCD_STR(key), false, NULL, NULL, err, sizeof(err));
	} else if (!rc) {
		json = cs_drain_value_encode(conf->cluster.node, cs_wall_ms());
		rc = json ? cs_etcd_put(c, CS_ETCD_STR(key), CS_ETCD_STR(json), 0, NULL, err, sizeof(err)) : -ENOMEM;
	}
	cs_etcd_close(c);
	free(json);
	if (rc)
		cs_err("the cluster %s did not hear of it (%s): this node alone %s it", conf->cluster.name,
		       rc == -ENOMEM ? "out of memory" : err, undo ? "undid" : "drains");
	else
		printf("cluster %s: every node %s it (%s)\n", conf->cluster.name,
		       undo ? "stops draining" : "drains", key);
	return rc;
}

/* The config (-c, or the default file when it exists) when it has a
 * cluster: section: 1 with conf loaded, 0 without one (nothing loaded:
 * one host, as before clusters), -1 after an error, said. */
static int cluster_config(const char *config, bool config_given, struct cs_conf *conf)
{
	char err[1024];

	if (!config_given && access(config, F_OK))
		return 0;
	if (cs_config_load(config, conf, err, sizeof(err))) {
		/* the default file, broken: this host alone, as before clusters */
		if (!config_given) {
			cs_warn("%s: so no cluster is told", err);
			return 0;
		}
		cs_err("%s", err);
		return -1;
	}
	if (conf->cluster.line)
		return 1;
	cs_config_free(conf);
	return 0;
}

/*
 * In a cluster (the config has a cluster: section) a drain is the whole
 * cluster's: say so in etcd. Without the config file, one host as before.
 * The exit status.
 */
static int tell_cluster(const struct cs_pinned *pins, const char *config, bool config_given, __u32 id, bool undo)
{
	char chain[CS_ID_NAME_MAX], instance[CS_ID_NAME_MAX];
	struct cs_conf conf;
	int rc = cluster_config(config, config_given, &conf);

	if (rc <= 0)
		return rc < 0;
	if (!names_of(pins, &conf, id, chain, instance, sizeof(chain))) {
		cs_err("instance %u has no name here: the cluster cannot be told", id);
		rc = 1;
	} else {
		rc = write_intent(&conf, chain, instance, undo) ? 1 : 0;
	}
	cs_config_free(&conf);
	return rc;
}

/* No state here (a host that runs no daemon, a management host): in a
 * cluster, a drain by NAME is still the cluster's. The exit status, or -1
 * when there is no cluster to tell either. */
static int drain_cluster_only(const char *config, bool config_given, const char *name, bool undo)
{
	const struct cs_instance_conf *ic;
	struct cs_conf conf;
	size_t chain;
	int rc = cluster_config(config, config_given, &conf);

	if (rc <= 0)
		return -1;
	ic = cs_instance_named(&conf, name, &chain);
	if (!ic) {
		cs_err("%s names no instance \"%s\"", config, name);
		rc = 2;
	} else {
		printf("no state here: only the cluster is told\n");
		rc = write_intent(&conf, conf.chains[chain].name, ic->name, undo) ? 1 : 0;
	}
	cs_config_free(&conf);
	return rc;
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
	if (cs_pinned_open_with(&pins, cli.pin_dir, CS_PINNED_BIT(CS_M_INSTANCES), CS_PINNED_IDS, err, sizeof(err))) {
		rc = drain_cluster_only(cli.config, strcmp(cli.config, CS_DEFAULT_CONFIG) != 0, argv[optind], undo);
		if (rc < 0)
			cs_err("%s", err);
		return rc < 0 ? 1 : rc;
	}
	id = instance_id(&pins, cli.config, argv[optind]);
	rc = id ? set_state(&pins, id, undo ? CS_INST_UP : CS_INST_DRAINING) : 2;
	if (!rc)
		rc = tell_cluster(&pins, cli.config, strcmp(cli.config, CS_DEFAULT_CONFIG) != 0, id, undo);
	cs_pinned_close(&pins);
	return rc;
}
