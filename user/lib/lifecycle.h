/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * lifecycle.h - what the two daemons (`run`, `instance`) do the same way:
 * take their command line, run in the foreground from start to finish,
 * claim their pin directory, and re-read their config on SIGHUP. Each
 * daemon brings its own start, loop and finish (user/cmd_run.c,
 * user/cmd_instance.c).
 */
#ifndef CS_LIFECYCLE_H
#define CS_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "config.h"

struct cs_lifecycle {
	const char *cmd;		/* "run" */
	const char *usage;		/* its --help text */
	/* 0, or the exit status (1: the dataplane could not be set up, 2: a
	 * bad config); said in the log */
	int (*start)(void *daemon);
	/* until cs_stop_signal (lib/signals.h); it calls cs_reload_if_wanted */
	void (*loop)(void *daemon);
	/* undo what start did, also after it failed halfway */
	void (*finish)(void *daemon);
	/* SIGHUP: read the config again; true if the new one is in force,
	 * false if it was refused (the running one stays) */
	bool (*reload)(void *daemon);
	/* a short line of what runs, for systemd's STATUS= ("learning on
	 * eth0; 3 chains; 12 routes") */
	void (*status)(void *daemon, char *buf, size_t len);
};

/* Where a daemon keeps what its command line says. */
struct cs_daemon_args {
	const char **config_path;	/* -c, --config FILE */
	const char **pin_dir;		/* -p, --pin-dir DIR */
	bool *detach_on_exit;		/* --detach-on-exit */
	const struct cs_own_flag *more;	/* the daemon's own flags, or NULL */
};

/* A daemon's command: its command line (-c, -p, -v, --detach-on-exit and
 * its own flags; no operands) into args, then its life: stderr line by
 * line (for journald), the signals caught, start; the loop when start
 * succeeded; finish in any case. systemd hears of it (lib/notify.h):
 * READY=1 once start succeeded, STOPPING=1 when the loop ends. Returns the exit status: start's, 0 after
 * a stop signal (which the log names), or that of --help or a usage error. */
int cs_lifecycle_main(const struct cs_lifecycle *life, const struct cs_daemon_args *args, void *daemon,
		      int argc, char **argv);

/* At start, before anything is pinned: bpffs where pin_dir is (mounted if
 * need be, lib/bpffs.h), then the daemon's lock (role NULL: `run`; lib/lock.h).
 * The lock's fd, or -1, said in the log. */
int cs_claim_pin_dir(const char *pin_dir, const char *role);

/* In the loop, each round: when SIGHUP came, the daemon's reload between
 * RELOADING=1 and READY=1, with a STATUS= that says whether the new config
 * was taken or refused. One daemon a process: the one cs_lifecycle_main
 * runs. */
void cs_reload_if_wanted(void *daemon);

/* SIGHUP: read the config at path into conf, logging that and, when it is
 * refused, why ("the running config stays"). 0, or -1 (conf untouched). */
int cs_reread_config(const char *path, struct cs_conf *conf);

#endif
