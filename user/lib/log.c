// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "log.h"

enum cs_log_level cs_log_level = CS_LOG_INFO;

static const char *const level_names[] = { "error", "warning", "info", "debug", "trace" };
/* syslog's priorities, as sd-daemon.h's SD_ERR, SD_WARNING, ... prefix them */
static const char *const level_prefix[] = { "<3>", "<4>", "<6>", "<7>", "<7>" };

/*
 * stderr is journald's stream when $JOURNAL_STREAM names its device and
 * inode (systemd.exec(5)): then each line starts with its priority, which
 * journald takes off and keeps (journalctl -p warning). A redirected or
 * inherited stderr no longer matches, and its lines stay plain.
 */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st))
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

static const char *prefix_of(enum cs_log_level level)
{
	static int journal = -1;	/* not known yet */

	if (journal < 0)
		journal = stderr_is_journal();
	return journal ? level_prefix[level] : "";
}

static void cs_vlog(enum cs_log_level level, const char *fmt, va_list ap)
{
	char buf[1024], *line, *next;
	const char *prefix;
	size_t n;

	if (level > cs_log_level)
		return;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	prefix = prefix_of(level);
	/* libbpf's messages may hold several lines: each gets the priority */
	for (line = buf; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = 0;
		if (level <= CS_LOG_WARN)
			fprintf(stderr, "%scloudsteer: %s: %s\n", prefix, level_names[level], line);
		else
			fprintf(stderr, "%scloudsteer: %s\n", prefix, line);
	}
}

void cs_log(enum cs_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cs_vlog(level, fmt, ap);
	va_end(ap);
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	enum cs_log_level ours = level == LIBBPF_WARN ? CS_LOG_DEBUG : CS_LOG_TRACE;

	cs_vlog(ours, fmt, ap);
	return 0;
}

static int libxdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	enum cs_log_level ours = level == LIBXDP_WARN ? CS_LOG_DEBUG : CS_LOG_TRACE;

	cs_vlog(ours, fmt, ap);
	return 0;
}

void cs_log_attach_libbpf(void)
{
	libbpf_set_print(libbpf_print);
	libxdp_set_print(libxdp_print);
}
