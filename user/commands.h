/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* commands.h - one entry point per command, each in user/cmd_<name>.c.
 * Their common flags and usage errors: lib/cli.h. */
#ifndef CS_COMMANDS_H
#define CS_COMMANDS_H

#include <stdbool.h>

int cmd_check(int argc, char **argv);
int cmd_detach(int argc, char **argv);
int cmd_drain(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_health(int argc, char **argv);
int cmd_instance(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_status(int argc, char **argv);

/* show cluster, in a file of its own (cmd_show_cluster.c): it reads etcd,
 * not the pins. 0 shown, 1 not. */
int cmd_show_cluster(const char *config_path, bool json);

/* show map, in a file of its own (cmd_show_map.c): every stage's table of
 * each chain, from the view cmd_show read. 0 shown, 1 not. */
struct cs_view;
int cmd_show_map(const struct cs_view *v, bool json);

#endif
