/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * cli.h - the command line all commands share: the common flags, from one
 * table, taken the same way by every command that takes them, and one way
 * to say a usage error.
 *
 *   -c, --config FILE   the YAML config        check run detach replay drain instance
 *                                              show explain
 *   -p, --pin-dir DIR   where the maps are     run detach show explain drain instance
 *                       pinned
 *   -j, --json          JSON for programs      show explain replay status
 *   -v, --verbose       more detail; again:    every command
 *                       libbpf's too
 *   -h, --help          the command's help     every command
 *
 * Each command's --help text (user/cmd_<name>.c) stays the source of its
 * synopsis and of what its flags mean there.
 */
#ifndef CS_CLI_H
#define CS_CLI_H

#include <stdbool.h>

/* The common flags a command takes (-h, --help: every command). */
#define CS_FLAG_CONFIG  (1u << 0)	/* -c, --config FILE */
#define CS_FLAG_PIN_DIR (1u << 1)	/* -p, --pin-dir DIR */
#define CS_FLAG_JSON    (1u << 2)	/* -j, --json */
#define CS_FLAG_VERBOSE (1u << 3)	/* -v, --verbose */

/* A flag of one command alone. The list ends with a NULL name. */
struct cs_own_flag {
	const char *name;	/* long: "detach-on-exit" */
	char letter;		/* short, or 0 */
	const char **arg;	/* it takes an argument, stored here; or NULL and */
	bool *set;		/* it is a switch, set here */
};

struct cs_cli {
	const char *cmd;			/* "show" */
	const char *usage;			/* its --help text */
	unsigned flags;				/* CS_FLAG_* it takes */
	const struct cs_own_flag *own;		/* its own flags, or NULL */
	bool no_operands;			/* an operand is a usage error */
	/* what the common flags say: the command's defaults until then */
	const char *config;
	const char *pin_dir;
	bool json;
};

/* cs_cli_parse() found nothing that ends the command: it goes on. */
#define CS_CLI_GO_ON (-1)

/* Take the flags of argv (argv[0] is the command); the operands are
 * argv[optind..argc). CS_CLI_GO_ON, else the exit status: 0 after --help
 * (printed on stdout), 2 after an unknown flag or a missing argument
 * (getopt's message and the usage on stderr), or an operand where the
 * command takes none. -v raises cs_log_level. */
int cs_cli_parse(struct cs_cli *cli, int argc, char **argv);

/* A usage error: "cloudsteer CMD: " and the message on stderr, then, when
 * with_usage, a blank line and the command's usage; fmt NULL prints the
 * usage alone. Returns 2, the exit status of a usage error. */
int cs_usage_error(const struct cs_cli *cli, bool with_usage, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
