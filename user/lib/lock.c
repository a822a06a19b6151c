// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
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

/* What a role's lock file ends with: ".lock", ".instance.lock". */
static void lock_suffix(const char *role, char *suffix, size_t len)
{
	snprintf(suffix, len, "%s%s.lock", role ? "." : "", role ? role : "");
}

/* The lock of a daemon's state. `run` holds the pin directory (above) and
 * notes its pid in /run/cloudsteer/NAME.lock; `instance` holds
 * /run/cloudsteer/NAME.instance.lock, so one host can be a steering host
 * and an instance on one pin directory (lib/rundir.h). The lock goes with
 * the process, also when it is killed. */
const char *cs_lock_path(const char *pin_dir, const char *role, char *path, size_t len)
{
	char suffix[64];

	lock_suffix(role, suffix, sizeof(suffix));
	cs_run_file(pin_dir, suffix, path, len);
	return path;
}

int cs_lock_take(const char *pin_dir, const char *role, char *err, size_t errlen)
{
	char path[256], suffix[64];
	int fd;

	lock_suffix(role, suffix, sizeof(suffix));
	if (cs_run_dir_make(err, errlen))
		return -1;
	if (legacy_lock_free(pin_dir, suffix, err, errlen))
		return -1;
	cs_lock_path(pin_dir, role, path, sizeof(path));
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

/* The pid of the process holding a flock on the file (dev, ino), from
 * /proc/locks: 0 when none holds one. Looking takes no lock, so a daemon
 * starting meanwhile is never refused because someone asked. */
static int flock_holder(dev_t dev, ino_t ino)
{
	char line[256], kind[16];
	unsigned maj, min;
	unsigned long long i;
	int pid, found = 0;
	FILE *f = fopen("/proc/locks", "re");

	if (!f)
		return -errno;
	while (!found && fgets(line, sizeof(line), f)) {
		if (strstr(line, "->"))		/* a waiter, not the holder */
			continue;
		if (sscanf(line, "%*d: %15s %*s %*s %d %x:%x:%llu", kind, &pid, &maj, &min, &i) == 5 &&
		    !strcmp(kind, "FLOCK") && maj == major(dev) && min == minor(dev) && i == ino)
			found = pid > 0 ? pid : 1;
	}
	fclose(f);
	return found;
}

int cs_lock_holder(const char *pin_dir, const char *role)
{
	char path[256];
	struct stat st;

	/* `run` locks the pin directory itself, `instance` its lock file */
	if (stat(role ? cs_lock_path(pin_dir, role, path, sizeof(path)) : pin_dir, &st))
		return errno == ENOENT ? 0 : -errno;
	return flock_holder(st.st_dev, st.st_ino);
}
