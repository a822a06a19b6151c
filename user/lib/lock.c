// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lock.h"
#include "rundir.h"

/* The pid a lock file notes, or "" (none, or another /run than ours). */
static const char *read_pid(int fd, char *pid, size_t len)
{
	ssize_t n = pread(fd, pid, len - 1, 0);

	pid[n > 0 ? n : 0] = 0;
	pid[strcspn(pid, "\n")] = 0;
	return pid;
}

static void note_pid(int fd)
{
	if (ftruncate(fd, 0) == 0)
		dprintf(fd, "%d\n", getpid());
}

/* `run` locks the pin directory itself: bpffs is the one thing every
 * container and the host share (each container has its own /run), so two
 * daemons on one state are refused wherever they run. Made if missing. */
static int lock_pin_dir(const char *pin_dir, int pid_fd, char *err, size_t errlen)
{
	char pid[32];
	int fd;

	if (mkdir(pin_dir, 0700) && errno != EEXIST) {
		snprintf(err, errlen, "cannot make %s: %s%s", pin_dir, strerror(errno),
			 errno == ENOENT ? " (the directory above it must exist)" : "");
		return -1;
	}
	fd = open(pin_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", pin_dir, strerror(errno));
		return -1;
	}
	if (!flock(fd, LOCK_EX | LOCK_NB))
		return fd;
	read_pid(pid_fd, pid, sizeof(pid));	/* seen only from the same /run */
	snprintf(err, errlen, "another cloudsteer daemon%s%s%s holds %s (on this host or in a container): one "
		 "daemon per pin directory", *pid ? " (pid " : "", pid, *pid ? ")" : "", pin_dir);
	close(fd);
	return -1;
}

/* An older release's daemons noted /run/NAME.lock and `instance` locked
 * /run/NAME.instance.lock: while an older `instance` runs (an upgrade that
 * did not stop it), this one is refused; a file no one holds is left from
 * it and goes. 0, or -1 said in err. */
static int legacy_lock_free(const char *pin_dir, const char *suffix, char *err, size_t errlen)
{
	char path[256], pid[32];
	int fd;

	cs_run_file_legacy(pin_dir, suffix, path, sizeof(path));
	fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		read_pid(fd, pid, sizeof(pid));
		snprintf(err, errlen, "an older cloudsteer daemon%s%s%s holds %s: stop it first", *pid ? " (pid " : "",
			 pid, *pid ? ")" : "", path);
		close(fd);
		return -1;
	}
	unlink(path);
	close(fd);
	return 0;
}

/* The lock of a daemon's state. `run` holds the pin directory (above) and
 * notes its pid in /run/cloudsteer/NAME.lock; `instance` holds
 * /run/cloudsteer/NAME.instance.lock, so one host can be a steering host
 * and an instance on one pin directory (lib/rundir.h). The lock goes with
 * the process, also when it is killed. */
int cs_lock_take(const char *pin_dir, const char *role, char *err, size_t errlen)
{
	char path[256], suffix[64];
	int fd;

	snprintf(suffix, sizeof(suffix), "%s%s.lock", role ? "." : "", role ? role : "");
	if (cs_run_dir_make(err, errlen))
		return -1;
	if (legacy_lock_free(pin_dir, suffix, err, errlen))
		return -1;
	cs_run_file(pin_dir, suffix, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open the lock %s: %s", path, strerror(errno));
		return -1;
	}
	if (!role) {
		int dir_fd = lock_pin_dir(pin_dir, fd, err, errlen);

		if (dir_fd >= 0)
			note_pid(fd);
		close(fd);
		return dir_fd;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		char pid[32];

		if (*read_pid(fd, pid, sizeof(pid)))
			snprintf(err, errlen, "another cloudsteer daemon (pid %s) holds %s: one daemon per %s",
				 pid, path, pin_dir);
		else
			snprintf(err, errlen, "another cloudsteer daemon holds %s: one daemon per %s", path,
				 pin_dir);
		close(fd);
		return -1;
	}
	note_pid(fd);
	return fd;
}
