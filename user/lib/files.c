// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"

/* What the file is, checked on the descriptor we read from, so the file
 * judged is the file read. */
static int check_kind(int fd, size_t max, bool secret, struct stat *st, char *why, size_t whylen)
{
	if (fstat(fd, st)) {
		snprintf(why, whylen, "cannot be read: %s", strerror(errno));
		return -errno;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(why, whylen, "is not a regular file");
		return -EINVAL;
	}
	if ((size_t)st->st_size > max) {
		snprintf(why, whylen, "is larger than %zu bytes", max);
		return -EFBIG;
	}
	if (secret && (st->st_mode & (S_IRWXG | S_IRWXO))) {
		snprintf(why, whylen, "is readable or writable by group or others (mode %04o): chmod 600 it",
			 (unsigned int)(st->st_mode & 07777));
		return -EPERM;
	}
	/* whoever owns a key file may rewrite it: only root and we may */
	if (secret && st->st_uid != 0 && st->st_uid != geteuid()) {
		snprintf(why, whylen, "is owned by uid %u, neither root nor this process's user (uid %u): chown it",
			 (unsigned int)st->st_uid, (unsigned int)geteuid());
		return -EPERM;
	}
	return 0;
}

static int read_all(int fd, char *buf, size_t max, size_t *len, char *why, size_t whylen)
{
	size_t n = 0;
	ssize_t r;

	/* read until the end, not st_size: a file may change under us */
	while ((r = read(fd, buf + n, max + 1 - n)) > 0)
		n += (size_t)r;
	if (r < 0) {
		snprintf(why, whylen, "cannot be read: %s", strerror(errno));
		return -errno;
	}
	if (n > max) {
		snprintf(why, whylen, "is larger than %zu bytes", max);
		return -EFBIG;
	}
	buf[n] = 0;
	*len = n;
	return 0;
}

int cs_file_read(const char *path, size_t max, bool secret, char **data, size_t *len, char *why,
		 size_t whylen)
{
	struct stat st;
	char *buf = NULL;
	int fd, rc;

	*data = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		rc = -errno;
		snprintf(why, whylen, "cannot be read: %s", strerror(errno));
		return rc;
	}
	rc = check_kind(fd, max, secret, &st, why, whylen);
	if (!rc) {
		buf = malloc(max + 2);
		rc = buf ? read_all(fd, buf, max, len, why, whylen) : -ENOMEM;
		if (!buf)
			snprintf(why, whylen, "cannot be read: out of memory");
	}
	close(fd);
	if (rc) {
		cs_file_forget(buf, max + 2);
		*len = 0;
		return rc;
	}
	*data = buf;
	return 0;
}

void cs_file_forget(char *data, size_t len)
{
	if (!data)
		return;
	explicit_bzero(data, len);
	free(data);
}
