// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "rundir.h"

static const char *pin_dir_name(const char *pin_dir)
{
	const char *base = strrchr(pin_dir, '/');

	return base ? base + 1 : pin_dir;
}

void cs_run_file(const char *pin_dir, const char *suffix, char *buf, size_t len)
{
	snprintf(buf, len, CS_RUN_DIR "/%s%s", pin_dir_name(pin_dir), suffix);
}

void cs_run_file_legacy(const char *pin_dir, const char *suffix, char *buf, size_t len)
{
	snprintf(buf, len, "/run/%s%s", pin_dir_name(pin_dir), suffix);
}

int cs_run_dir_make(char *err, size_t errlen)
{
	/* 0700: the notes name interfaces and pids, for root's tools alone;
	 * an existing directory (systemd's, mode from RuntimeDirectoryMode=)
	 * is left as it is */
	if (mkdir(CS_RUN_DIR, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "cannot make %s: %s", CS_RUN_DIR, strerror(errno));
		return -1;
	}
	return 0;
}
