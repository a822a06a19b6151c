// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "log.h"

enum cs_log_level cs_log_level = CS_LOG_INFO;

static const char *const level_names[] = { "error", "warning", "info", "debug", "trace" };

static void cs_vlog(enum cs_log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	size_t n;

	if (level > cs_log_level)
		return;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = 0;
	if (level <= CS_LOG_WARN)
		fprintf(stderr, "cloudsteer: %s: %s\n", level_names[level], line);
	else
		fprintf(stderr, "cloudsteer: %s\n", line);
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
