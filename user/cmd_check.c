// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cloudsteer check - validate a config without touching the dataplane. */
#include <getopt.h>
#include <stdio.h>
#include <sys/random.h>

#include "commands.h"
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
	"  -h, --help         this text\n";

int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *config = CS_DEFAULT_CONFIG;
	__u64 key[2] = { 0 };
	struct cs_ruleset rs;
	struct cs_conf conf;
	char err[1024];
	int c;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'h': fputs(check_usage, stdout); return 0;
		default: fputs(check_usage, stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cloudsteer check: unexpected argument \"%s\"\n\n%s", argv[optind], check_usage);
		return 2;
	}
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
