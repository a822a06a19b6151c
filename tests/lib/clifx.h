/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * clifx.h - what the CLI tests share: may this test run here, and where is
 * the cloudsteer binary it runs (build/cloudsteer, found from the test's
 * own path build/tests/prog/NAME), and running it with its output
 * captured. Header-only, like testing.h; it uses testing.h's EXPECT, and
 * each test defines CLI(...) over cli_run with its own pin directory.
 */
#ifndef CS_TEST_CLIFX_H
#define CS_TEST_CLIFX_H

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cloudsteer.h"
#include "lib/bpffs.h"
#include "lib/pins.h"
#include "testing.h"

static char cli[PATH_MAX];	/* build/cloudsteer, once clifx_find_cli found it */
static bool clifx_mounted_bpffs;	/* clifx_bpffs_begin mounted it: clifx_bpffs_end unmounts */

static inline bool clifx_exists(const char *path)
{
	struct stat st;

	return !stat(path, &st);
}

/* NULL, or why the test is skipped. */
static inline const char *clifx_why_not_runnable(void)
{
	return geteuid() ? "needs root to load BPF and pin under /sys/fs/bpf" : NULL;
}

/* bpffs on /sys/fs/bpf for the test's pins: mounted the way the daemon
 * mounts it when nothing is there (a fresh machine), and unmounted again by
 * clifx_bpffs_end. false, with a FAIL line, when it cannot be had. */
static inline bool clifx_bpffs_begin(const char *suite)
{
	char err[1024];
	int rc = cs_bpffs_ensure(CS_BPFFS_ROOT "/cloudsteer", err, sizeof(err));

	if (rc < 0)
		printf("FAIL: %s: setup: %s\n", suite, err);
	clifx_mounted_bpffs = rc > 0;
	return rc >= 0;
}

static inline void clifx_bpffs_end(void)
{
	if (clifx_mounted_bpffs)
		umount(CS_BPFFS_ROOT);
}

/* build/cloudsteer, three levels up from build/tests/prog/NAME. */
static inline bool clifx_find_cli(char *path, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int up;

	if (n <= 0)
		return false;
	self[n] = 0;
	for (up = 0; up < 3; up++)
		*strrchr(self, '/') = 0;
	snprintf(path, len, "%.*s/cloudsteer", (int)(len - 16), self);
	return access(path, X_OK) == 0;
}

#define OUT_MAX 65536

struct cli_run {
	int status;		/* exit status, or -1 if it did not exit */
	char out[OUT_MAX];
	char err[OUT_MAX];
};

static struct cli_run R;

/* Run checks() in a child process and wait for it, whatever signal comes:
 * the parent lives to clean up the pins, even when the child is killed.
 * Returns 1 when the checks failed or the child died (and says so). */
static inline int clifx_fork_checks(int (*checks)(void))
{
	int status = 0;
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid == 0)
		exit(checks());
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (pid > 0 && !WIFEXITED(status))
		printf("FAIL: %s: checks: the check process died (signal %d)\n", t_state.suite, WTERMSIG(status));
	return pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status);
}

/* The start of a CLI test's main: may it run here, is the binary built,
 * is bpffs there (mounted if not). False with *status set when the test
 * ends here: 0 when it is skipped, 1 when it cannot be set up. */
static inline bool clifx_setup(int *status)
{
	const char *why = clifx_why_not_runnable();

	*status = 0;
	if (why) {
		t_state.name = "all";
		T_SKIP("%s", why);
		return false;
	}
	*status = 1;
	if (!clifx_find_cli(cli, sizeof(cli))) {
		printf("FAIL: %s: setup: %s is missing: build it first (make)\n", t_state.suite, cli);
		return false;
	}
	return clifx_bpffs_begin(t_state.suite);
}

/* The rest of a CLI test's main: checks() in a child, then, whatever became
 * of them, every pin directory in made (NULL-ended) removed and checked
 * gone, and none of never (NULL-ended) made; bpffs unmounted if the test
 * mounted it. The test's exit status. */
static inline int clifx_run_and_clean(int (*checks)(void), const char *const *made, const char *const *never)
{
	int failed = clifx_fork_checks(checks);

	t_state.name = "nothing left pinned under /sys/fs/bpf";
	t_state.failed = 0;
	for (; *made; made++) {
		cs_pins_remove(*made);
		EXPECT(!clifx_exists(*made), "%s is still there", *made);
	}
	for (; *never; never++)
		EXPECT(!clifx_exists(*never), "%s appeared", *never);
	if (!t_state.failed)
		printf("PASS: %s: %s\n", t_state.suite, t_state.name);
	clifx_bpffs_end();
	return failed | t_state.failed;
}

static inline void slurp(FILE *f, char *buf, size_t len)
{
	size_t n;

	rewind(f);
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
}

/* Run build/cloudsteer with argv (NULL-terminated, without argv[0]) and
 * CLOUDSTEER_PIN_DIR=env_dir (unset when NULL); output and status in R.
 * The output goes to the test log, for when a check fails. */
static inline bool cli_run(const char *env_dir, const char *const *args)
{
	const char *argv[16] = { cli };
	FILE *out = tmpfile(), *err = tmpfile();
	int i, st;
	pid_t pid;

	for (i = 0; args[i] && i < 14; i++)
		argv[i + 1] = args[i];
	if (!EXPECT(out && err, "tmpfile failed"))
		return false;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		if (env_dir)
			setenv(CS_PIN_DIR_ENV, env_dir, 1);
		else
			unsetenv(CS_PIN_DIR_ENV);
		dup2(fileno(out), 1);
		dup2(fileno(err), 2);
		execv(cli, (char *const *)argv);
		_exit(127);
	}
	if (!EXPECT(pid > 0 && waitpid(pid, &st, 0) == pid, "cannot run %s", cli))
		return false;
	R.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	slurp(out, R.out, sizeof(R.out));
	slurp(err, R.err, sizeof(R.err));
	printf("    $ cloudsteer");
	for (i = 0; args[i]; i++)
		printf(" %s", args[i]);
	printf("   (exit %d)\n%s%s", R.status, R.out, R.err);
	return true;
}


static inline size_t count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}


#endif
