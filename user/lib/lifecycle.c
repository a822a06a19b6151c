// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdio.h>

#include "bpffs.h"
#include "cli.h"
#include "lifecycle.h"
#include "lock.h"
#include "log.h"
#include "notify.h"
#include "signals.h"

#define MORE_MAX 4	/* own flags of a daemon besides --detach-on-exit */
#define STATUS_MAX 256

static const struct cs_lifecycle *living;	/* for cs_reload_if_wanted */

/* The daemon's command line into args. CS_CLI_GO_ON, or the exit status. */
static int parse_args(const struct cs_lifecycle *life, const struct cs_daemon_args *args, int argc,
		      char **argv)
{
	struct cs_own_flag own[MORE_MAX + 2] = { { "detach-on-exit", 0, NULL, args->detach_on_exit } };
	struct cs_cli cli = { .cmd = life->cmd, .usage = life->usage, .own = own, .no_operands = true,
			      .flags = CS_FLAG_CONFIG | CS_FLAG_PIN_DIR | CS_FLAG_VERBOSE,
			      .config = *args->config_path, .pin_dir = *args->pin_dir };
	size_t i;
	int rc;

	for (i = 0; args->more && args->more[i].name && i < MORE_MAX; i++)
		own[i + 1] = args->more[i];
	rc = cs_cli_parse(&cli, argc, argv);
	*args->config_path = cli.config;
	*args->pin_dir = cli.pin_dir;
	return rc;
}

/* From start to finish. */
static int live(const struct cs_lifecycle *life, void *daemon)
{
	char status[STATUS_MAX];
	int rc;

	setvbuf(stderr, NULL, _IOLBF, 0);
	cs_catch_signals();
	living = life;
	rc = life->start(daemon);
	if (!rc) {
		life->status(daemon, status, sizeof(status));
		cs_notify_ready(status);	/* attached, the config in force */
		life->loop(daemon);
		snprintf(status, sizeof(status), "stopping on signal %d", (int)cs_stop_signal);
		cs_notify_stopping(status);
	} else {
		cs_notify_stopping(rc == 2 ? "refused the config" : "the dataplane could not be set up");
	}
	life->finish(daemon);
	if (!rc && cs_stop_signal)
		cs_info("stopped by signal %d", (int)cs_stop_signal);
	return rc;
}

int cs_lifecycle_main(const struct cs_lifecycle *life, const struct cs_daemon_args *args, void *daemon,
		      int argc, char **argv)
{
	int rc = parse_args(life, args, argc, argv);

	return rc == CS_CLI_GO_ON ? live(life, daemon) : rc;
}

void cs_reload_if_wanted(void *daemon)
{
	char status[STATUS_MAX], line[STATUS_MAX + 64];
	bool taken;

	if (!cs_reload_wanted)
		return;
	cs_reload_wanted = 0;
	cs_notify_reloading();
	taken = living->reload(daemon);
	living->status(daemon, status, sizeof(status));
	snprintf(line, sizeof(line), "%s; %s", taken ? "reloaded" : "reload refused, the running config stays",
		 status);
	cs_notify_ready(line);
}

int cs_claim_pin_dir(const char *pin_dir, const char *role)
{
	char err[1024];
	int fd;

	if (cs_bpffs_ready(pin_dir))
		return -1;
	fd = cs_lock_take(pin_dir, role, err, sizeof(err));
	if (fd < 0)
		cs_err("%s", err);
	return fd;
}

int cs_reread_config(const char *path, struct cs_conf *conf)
{
	char err[1024];

	cs_info("reload: reading %s", path);
	if (cs_config_load(path, conf, err, sizeof(err))) {
		cs_err("reload refused, the running config stays: %s", err);
		return -1;
	}
	return 0;
}
