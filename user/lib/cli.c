// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>

#include "cli.h"
#include "log.h"

/* The common flags: the one table every command's parsing comes from. */
static const struct {
	unsigned flag;		/* CS_FLAG_*; 0: every command */
	const char *name;
	char letter;
	int has_arg;
} common[] = {
	{ CS_FLAG_CONFIG, "config", 'c', required_argument },
	{ CS_FLAG_PIN_DIR, "pin-dir", 'p', required_argument },
	{ CS_FLAG_JSON, "json", 'j', no_argument },
	{ CS_FLAG_VERBOSE, "verbose", 'v', no_argument },
	{ 0, "help", 'h', no_argument },
};
#define N_COMMON (sizeof(common) / sizeof(common[0]))
#define OWN_MAX 8		/* flags of one command alone */
#define OWN_VAL 256		/* getopt's value of own flag i without a letter: OWN_VAL + i */

struct table {
	struct option longs[N_COMMON + OWN_MAX + 1];
	char shorts[2 * (N_COMMON + OWN_MAX) + 1];
	size_t n_longs, n_shorts;
};

static void add(struct table *t, const char *name, char letter, int has_arg, int val)
{
	t->longs[t->n_longs++] = (struct option){ name, has_arg, NULL, val };
	if (!letter)
		return;
	t->shorts[t->n_shorts++] = letter;
	if (has_arg == required_argument)
		t->shorts[t->n_shorts++] = ':';
}

/* getopt_long's tables for the flags this command takes. */
static void make_table(const struct cs_cli *cli, struct table *t)
{
	size_t i;

	for (i = 0; i < N_COMMON; i++)
		if (!common[i].flag || (cli->flags & common[i].flag))
			add(t, common[i].name, common[i].letter, common[i].has_arg, common[i].letter);
	for (i = 0; cli->own && cli->own[i].name && i < OWN_MAX; i++)
		add(t, cli->own[i].name, cli->own[i].letter, cli->own[i].arg ? required_argument : no_argument,
		    cli->own[i].letter ? cli->own[i].letter : OWN_VAL + (int)i);
}

/* The own flag that getopt answered with val, or NULL. */
static const struct cs_own_flag *own_flag(const struct cs_cli *cli, int val)
{
	size_t i;

	for (i = 0; cli->own && cli->own[i].name && i < OWN_MAX; i++)
		if (val == (cli->own[i].letter ? cli->own[i].letter : OWN_VAL + (int)i))
			return &cli->own[i];
	return NULL;
}

static bool take_own(const struct cs_cli *cli, int val)
{
	const struct cs_own_flag *f = own_flag(cli, val);

	if (!f)
		return false;
	if (f->arg)
		*f->arg = optarg;
	else
		*f->set = true;
	return true;
}

int cs_cli_parse(struct cs_cli *cli, int argc, char **argv)
{
	struct table t = { 0 };
	int c;

	make_table(cli, &t);
	while ((c = getopt_long(argc, argv, t.shorts, t.longs, NULL)) != -1) {
		switch (c) {
		case 'c': cli->config = optarg; break;
		case 'p': cli->pin_dir = optarg; break;
		case 'j': cli->json = true; break;
		case 'v': cs_log_level++; break;
		case 'h': fputs(cli->usage, stdout); return 0;
		default:
			if (!take_own(cli, c))
				return cs_usage_error(cli, true, NULL);	/* getopt said why */
		}
	}
	if (cli->no_operands && optind < argc)
		return cs_usage_error(cli, true, "unexpected argument \"%s\"", argv[optind]);
	return CS_CLI_GO_ON;
}

int cs_usage_error(const struct cs_cli *cli, bool with_usage, const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		fprintf(stderr, "cloudsteer %s: ", cli->cmd);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputs(with_usage ? "\n\n" : "\n", stderr);
	}
	if (with_usage)
		fputs(cli->usage, stderr);
	return 2;
}
