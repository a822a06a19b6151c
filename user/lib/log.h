/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* log.h - one logging sink: plain lines on stderr, fit for journald; when
 * stderr is journald's stream ($JOURNAL_STREAM), each line starts with its
 * syslog priority (<3> error, <4> warning, <6> info, <7> debug). */
#ifndef CS_LOG_H
#define CS_LOG_H

enum cs_log_level { CS_LOG_ERROR = 0, CS_LOG_WARN, CS_LOG_INFO, CS_LOG_DEBUG, CS_LOG_TRACE };

/* Messages above this level are dropped. -v raises it by one. */
extern enum cs_log_level cs_log_level;

void cs_log(enum cs_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Route libbpf's and libxdp's messages into our sink, one level quieter
 * than ours: their warnings show with -v. */
void cs_log_attach_libbpf(void);

#define cs_err(...)   cs_log(CS_LOG_ERROR, __VA_ARGS__)
#define cs_warn(...)  cs_log(CS_LOG_WARN, __VA_ARGS__)
#define cs_info(...)  cs_log(CS_LOG_INFO, __VA_ARGS__)
#define cs_debug(...) cs_log(CS_LOG_DEBUG, __VA_ARGS__)

#endif
