// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "bpffs.h"
#include "log.h"

#define BPF_FS_MAGIC 0xcafe4a11	/* linux/magic.h */

/* What the advice says to run when cloudsteer cannot mount it itself. */
#define MOUNT_HINT "mount it first (mount -t bpf bpf " CS_BPFFS_ROOT "), or in a container pass the host's " \
	"(-v " CS_BPFFS_ROOT ":" CS_BPFFS_ROOT ")"

static bool on_bpffs(const char *path)
{
	struct statfs fs;

	return !statfs(path, &fs) && fs.f_type == BPF_FS_MAGIC;
}

static bool under_root(const char *pin_dir)
{
	size_t n = strlen(CS_BPFFS_ROOT);

	return !strncmp(pin_dir, CS_BPFFS_ROOT, n) && pin_dir[n] == '/';
}

/* The directory whose file system decides: /sys/fs/bpf for pins under
 * it (deeper directories may not exist yet), else pin_dir's parent. */
static void home_of(const char *pin_dir, char *home, size_t len)
{
	const char *slash = strrchr(pin_dir, '/');

	if (under_root(pin_dir))
		snprintf(home, len, "%s", CS_BPFFS_ROOT);
	else if (!slash)
		snprintf(home, len, ".");
	else if (slash == pin_dir)
		snprintf(home, len, "/");
	else
		snprintf(home, len, "%.*s", (int)(slash - pin_dir), pin_dir);
}

/* The type of the topmost file system mounted on exactly path in this
 * mount namespace, or "" when nothing is (mountinfo, proc(5)). */
static void mounted_type(const char *path, char *type, size_t len)
{
	char line[4096], point[PATH_MAX], fstype[64];
	FILE *f = fopen("/proc/self/mountinfo", "re");
	const char *sep;

	*type = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		sep = strstr(line, " - ");
		if (sep && sscanf(line, "%*s %*s %*s %*s %4095s", point) == 1 && !strcmp(point, path) &&
		    sscanf(sep + 3, "%63s", fstype) == 1)
			snprintf(type, len, "%s", fstype);	/* later lines lie on top */
	}
	fclose(f);
}

static int say_mount_failed(int e, char *err, size_t errlen)
{
	const char *why;

	switch (e) {
	case EPERM:
	case EACCES:
		why = "mounting takes CAP_SYS_ADMIN";
		break;
	case EROFS:
		why = "the file system there is read-only";
		break;
	case ENODEV:
		why = "this kernel has no bpffs (it needs CONFIG_BPF_SYSCALL)";
		break;
	default:
		why = "the kernel refused";
		break;
	}
	snprintf(err, errlen, "nothing is mounted on %s and bpffs cannot be mounted there: %s (%s); %s",
		 CS_BPFFS_ROOT, strerror(e), why, MOUNT_HINT);
	return -e;
}

/* Mount bpffs on /sys/fs/bpf unless something is mounted there. The lock
 * is on the directory underneath: a daemon that waited for it finds bpffs
 * on top when it gets it, so two daemons never stack two mounts. */
static int mount_root(char *err, size_t errlen)
{
	char type[64];
	int fd, rc = 1;

	fd = open(CS_BPFFS_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "there is no %s (%s): is sysfs mounted on /sys?", CS_BPFFS_ROOT,
			 strerror(errno));
		return rc;
	}
	if (flock(fd, LOCK_EX)) {
		rc = -errno;
		snprintf(err, errlen, "cannot lock %s to mount bpffs there: %s", CS_BPFFS_ROOT, strerror(errno));
		goto out;
	}
	if (on_bpffs(CS_BPFFS_ROOT)) {
		rc = 0;
		goto out;
	}
	mounted_type(CS_BPFFS_ROOT, type, sizeof(type));
	if (!strcmp(type, "sysfs")) {
		/* what `-v /sys/fs/bpf:/sys/fs/bpf` passes from a host without
		 * bpffs: a mount of its own here would die with the container */
		snprintf(err, errlen, "%s is a bind mount of a directory with no bpffs on it (in a container: the "
			 "host's %s, where nothing is mounted): mount bpffs there on the host (mount -t bpf bpf "
			 "%s) and start again", CS_BPFFS_ROOT, CS_BPFFS_ROOT, CS_BPFFS_ROOT);
		rc = -ENOTDIR;
		goto out;
	}
	if (*type) {
		snprintf(err, errlen, "%s holds a %s file system, not bpffs, so the maps cannot be pinned "
			 "there: unmount it (umount %s) and cloudsteer mounts bpffs itself, or pin elsewhere "
			 "on bpffs (--pin-dir)", CS_BPFFS_ROOT, type, CS_BPFFS_ROOT);
		rc = -ENOTDIR;
		goto out;
	}
	if (mount("bpf", CS_BPFFS_ROOT, "bpf", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME, "mode=0700"))
		rc = say_mount_failed(errno, err, errlen);
out:
	close(fd);	/* and the lock with it */
	return rc;
}

int cs_bpffs_ensure(const char *pin_dir, char *err, size_t errlen)
{
	char home[PATH_MAX];

	home_of(pin_dir, home, sizeof(home));
	if (on_bpffs(home))
		return 0;
	if (!under_root(pin_dir)) {
		snprintf(err, errlen, "%s is not on bpffs, so %s cannot hold pinned maps: mount bpffs there "
			 "(mount -t bpf bpf %s), or pin under %s, which cloudsteer mounts itself", home, pin_dir,
			 home, CS_BPFFS_ROOT);
		return -ENOTDIR;
	}
	return mount_root(err, errlen);
}

int cs_bpffs_ready(const char *pin_dir)
{
	char err[1024];
	int rc = cs_bpffs_ensure(pin_dir, err, sizeof(err));

	if (rc < 0)
		cs_err("%s", err);
	else if (rc > 0)
		cs_info("bpffs: nothing was mounted on %s, so mounted bpffs there for the pins (it lasts as "
			"long as this mount namespace)", CS_BPFFS_ROOT);
	return rc < 0 ? -1 : 0;
}

bool cs_bpffs_present(const char *pin_dir, char *err, size_t errlen)
{
	char home[PATH_MAX], type[64];

	home_of(pin_dir, home, sizeof(home));
	if (on_bpffs(home))
		return true;
	mounted_type(home, type, sizeof(type));
	if (!under_root(pin_dir))
		snprintf(err, errlen, "no cloudsteer state in %s: %s is not on bpffs, so nothing can be "
			 "pinned there", pin_dir, home);
	else if (*type)
		snprintf(err, errlen, "no cloudsteer state in %s: %s holds a %s file system, not bpffs, so no "
			 "daemon can have pinned anything there", pin_dir, home, type);
	else
		snprintf(err, errlen, "no cloudsteer daemon has run here: nothing is mounted on %s, where it "
			 "would have pinned its maps (cloudsteer run mounts bpffs there when it starts)", home);
	return false;
}
