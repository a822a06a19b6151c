/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * clifx.h - what the CLI tests share: may this test run here, and where is
 * the cloudsteer binary it runs (build/cloudsteer, found from the test's
 * own path build/tests/prog/NAME). Header-only, like testing.h.
 */
#ifndef CS_TEST_CLIFX_H
#define CS_TEST_CLIFX_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define BPF_FS_MAGIC_NUMBER 0xcafe4a11	/* linux/magic.h */

static inline bool clifx_exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

/* NULL, or why the test is skipped. */
static inline const char *clifx_why_not_runnable(void)
{
	struct statfs fs;

	if (geteuid())
		return "needs root to load BPF and pin under /sys/fs/bpf";
	if (statfs("/sys/fs/bpf", &fs) || fs.f_type != BPF_FS_MAGIC_NUMBER)
		return "no bpffs on /sys/fs/bpf";
	return NULL;
}

/* build/cloudsteer, three levels up from build/tests/prog/NAME. */
static inline bool clifx_find_cli(char *cli, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int up;

	if (n <= 0)
		return false;
	self[n] = 0;
	for (up = 0; up < 3; up++)
		*strrchr(self, '/') = 0;
	snprintf(cli, len, "%.*s/cloudsteer", (int)(len - 16), self);
	return access(cli, X_OK) == 0;
}

#endif
