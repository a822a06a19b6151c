// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cloudsteer - command dispatch. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "lib/log.h"
#include "version.h"	/* build/version.h: CS_VERSION, from git describe */

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "check", cmd_check, "validate a config and its rule lists without running anything" },
	{ "run", cmd_run, "the daemon: load, attach, pin, expire, log (foreground)" },
	{ "detach", cmd_detach, "take the dataplane off and remove its pinned state" },
	{ "replay", cmd_replay, "run captures through the learn program and print what it learns" },
	{ "show", cmd_show, "print the pinned state: tables, routes, chains, streams, counters" },
	{ "status", cmd_status, "is the daemon running, what is attached where, how full, which instances are up" },
	{ "explain", cmd_explain, "say why an IP is steered, or why not" },
	{ "drain", cmd_drain, "stop new streams to an instance; pinned ones finish (--undo)" },
	{ "instance", cmd_instance, "run this node as an instance of a chain: stream state, sync" },
	{ "health", cmd_health, "ask a running daemon's /healthz (a container's HEALTHCHECK)" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: cloudsteer COMMAND [OPTIONS]\n\n"
		   "Steer the traffic of chosen cloud services, learned from DNS answers, with eBPF.\n\n"
		   "Commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\n'cloudsteer COMMAND --help' tells more about each.\n");
}

int main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("cloudsteer %s\n", CS_VERSION);
		return 0;
	}
	cs_log_attach_libbpf();
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "cloudsteer: unknown command \"%s\"\n\n", argv[1]);
	usage(stderr);
	return 2;
}
