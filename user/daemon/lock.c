// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "daemon.h"

/* bpffs holds no regular files, so the lock lives in /run, named after the
 * pin directory and the role (`run`: /run/NAME.lock, `instance`:
 * /run/NAME.instance.lock): two daemons of one role on one state cannot both
 * hold it. The lock goes with the process, also when it is killed. */
int cs_lock_take(const char *pin_dir, const char *role, char *err, size_t errlen)
{
	char path[256], name[128];
	const char *base = strrchr(pin_dir, '/');
	int fd;

	snprintf(name, sizeof(name), "%s", base ? base + 1 : pin_dir);
	snprintf(path, sizeof(path), "/run/%s%s%s.lock", name, role ? "." : "", role ? role : "");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open the lock %s: %s", path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		char pid[32] = "";
		ssize_t n = pread(fd, pid, sizeof(pid) - 1, 0);

		pid[n > 0 ? n : 0] = 0;
		pid[strcspn(pid, "\n")] = 0;
		if (*pid)
			snprintf(err, errlen, "another cloudsteer daemon (pid %s) holds %s: one daemon per %s",
				 pid, path, pin_dir);
		else
			snprintf(err, errlen, "another cloudsteer daemon holds %s: one daemon per %s", path,
				 pin_dir);
		close(fd);
		return -1;
	}
	if (ftruncate(fd, 0) == 0)
		dprintf(fd, "%d\n", getpid());
	return fd;
}
