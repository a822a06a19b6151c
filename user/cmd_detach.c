// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cloudsteer detach - take the dataplane off and remove its pinned state. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "daemon/daemon.h"
#include "lib/bpffs.h"
#include "lib/cli.h"
#include "lib/log.h"
#include "lib/pins.h"

static const char detach_usage[] =
	"usage: cloudsteer detach [-c FILE] [--pin-dir DIR]\n"
	"\n"
	"Detach learn and steer from the interfaces the config names (only where the\n"
	"attached program is cloudsteer's; clsact hooks only where cloudsteer made\n"
	"them) and remove every pinned map: records, routes, flows and counters are\n"
	"gone. Stop the daemon first, or run it with --detach-on-exit. It never\n"
	"mounts bpffs: with none on /sys/fs/bpf there is no pinned state to remove.\n"
	"\n"
	"  -c, --config FILE  the YAML config (default " CS_DEFAULT_CONFIG ")\n"
	"  -p, --pin-dir DIR  the pins (default $" CS_PIN_DIR_ENV " or " CS_PIN_DIR ")\n"
	"  -v, --verbose      more detail (twice: libbpf too)\n"
	"  -h, --help         this text\n";

int cmd_detach(int argc, char **argv)
{
	struct cs_cli cli = { .cmd = "detach", .usage = detach_usage,
			      .flags = CS_FLAG_CONFIG | CS_FLAG_PIN_DIR | CS_FLAG_VERBOSE,
			      .config = CS_DEFAULT_CONFIG, .pin_dir = cs_pin_dir() };
	const char *pin_dir;
	struct cs_conf conf;
	char err[1024];
	int e = cs_cli_parse(&cli, argc, argv);

	if (e != CS_CLI_GO_ON)
		return e;
	pin_dir = cli.pin_dir;
	if (cs_config_load(cli.config, &conf, err, sizeof(err))) {
		cs_err("%s", err);
		return 2;
	}
	cs_detach_learn(&conf);
	cs_detach_steer(&conf, pin_dir);
	cs_config_free(&conf);
	if (!cs_bpffs_present(pin_dir, err, sizeof(err))) {
		cs_info("%s; no pinned state to remove", err);	/* and nothing is mounted to look */
		return 0;
	}
	e = cs_pins_remove(pin_dir);
	if (e) {
		cs_err("could not remove the pins in %s: %s", pin_dir, strerror(-e));
		return 1;
	}
	cs_info("removed the pinned state in %s", pin_dir);
	return 0;
}
