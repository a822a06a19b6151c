// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* cloudsteer detach - take the dataplane off and remove its pinned state. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "daemon/daemon.h"
#include "lib/bpffs.h"
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
	"      --pin-dir DIR  the pins (default $" CS_PIN_DIR_ENV " or " CS_PIN_DIR ")\n"
	"  -h, --help         this text\n";

int cmd_detach(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "pin-dir", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *config = CS_DEFAULT_CONFIG, *pin_dir = cs_pin_dir();
	struct cs_conf conf;
	char err[1024];
	int c, e;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'P': pin_dir = optarg; break;
		case 'h': fputs(detach_usage, stdout); return 0;
		default: fputs(detach_usage, stderr); return 2;
		}
	}
	if (cs_config_load(config, &conf, err, sizeof(err))) {
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
