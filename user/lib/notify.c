// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sd_notify's datagram protocol spoken by hand, not libsystemd's sd_notify():
 * the protocol is a documented stable interface (sd_notify(3), "Notes"; the
 * systemd project offers it for reimplementation), it is one sendmsg of a
 * few lines to a Unix datagram socket, and linking libsystemd would add a
 * build dependency and a second copy of what this file does in 60 lines.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify.h"

/* $NOTIFY_SOCKET as a sockaddr: a path, or an abstract name written with a
 * leading '@' (its first byte becomes NUL). Its length, or 0 if unusable. */
static socklen_t notify_address(const char *name, struct sockaddr_un *sa)
{
	size_t len = strlen(name);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if ((name[0] != '/' && name[0] != '@') || len < 2 || len >= sizeof(sa->sun_path))
		return 0;
	memcpy(sa->sun_path, name, len);
	if (name[0] == '@')
		sa->sun_path[0] = 0;	/* abstract: the length counts, no NUL at the end */
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
}

static int send_message(const char *name, const char *msg)
{
	struct sockaddr_un sa;
	socklen_t salen = notify_address(name, &sa);
	int fd, e = 0;

	if (!salen)
		return -EINVAL;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa, salen) < 0)
		e = -errno;
	close(fd);
	return e;
}

int cs_notify(const char *fmt, ...)
{
	static int warned;
	const char *name = getenv("NOTIFY_SOCKET");
	char msg[1024];
	va_list ap;
	int e;

	if (!name || !*name)
		return 0;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e = send_message(name, msg);
	if (e && !warned++)
		cs_warn("systemd: cannot notify %s: %s (systemctl may wait for a READY=1 that does not come)", name,
			strerror(-e));
	return e;
}

void cs_notify_ready(const char *status)
{
	cs_notify("READY=1\nSTATUS=%s", status);
}

void cs_notify_reloading(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	cs_notify("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading the config",
		  (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
}

void cs_notify_stopping(const char *status)
{
	cs_notify("STOPPING=1\nSTATUS=%s", status);
}

void cs_notify_status(const char *status)
{
	cs_notify("STATUS=%s", status);
}
