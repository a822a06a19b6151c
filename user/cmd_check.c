// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cloudsteer check - validate a config without touching the dataplane. */
#include <stdio.h>
#include <sys/random.h>

#include "commands.h"
#include "lib/cli.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/rules.h"

static const char check_usage[] =
	"usage: cloudsteer check [-c FILE]\n"
	"\n"
	"Read the config and its rule lists, compile the rules, and report the first\n"
	"error as FILE:LINE: reason. Nothing is loaded or attached.\n"
	"\n"
	"  -c, --config FILE  the YAML config (default " CS_DEFAULT_CONFIG ")\n"
	"  -v, --verbose      more detail (twice: libbpf too)\n"
	"  -h, --help         this text\n";

int cmd_check(int argc, char **argv)
{
	struct cs_cli cli = { .cmd = "check", .usage = check_usage, .flags = CS_FLAG_CONFIG | CS_FLAG_VERBOSE,
			      .no_operands = true, .config = CS_DEFAULT_CONFIG };
	const char *config;
	__u64 key[2] = { 0 };
	struct cs_ruleset rs;
	struct cs_conf conf;
	char err[1024];
	int rc = cs_cli_parse(&cli, argc, argv);

	if (rc != CS_CLI_GO_ON)
		return rc;
	config = cli.config;
	if (cs_config_load(config, &conf, err, sizeof(err))) {
		cs_err("%s", err);
		return 2;
	}
	/* ties between rules are found by the compiler; the key does not matter */
	if (getrandom(key, sizeof(key), 0) < 0 || cs_rules_compile(&conf, key, &rs, err, sizeof(err))) {
		cs_err("%s", err);
		cs_config_free(&conf);
		return 2;
	}
	printf("%s: ok: %zu rules, %zu patterns, %zu chains\n", config, conf.n_rules, conf.n_patterns,
	       conf.n_chains);
	cs_rules_free(&rs);
	cs_config_free(&conf);
	return 0;
}
