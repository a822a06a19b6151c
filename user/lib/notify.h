/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * notify.h - tell systemd where a daemon is (Type=notify, sd_notify(3)'s
 * protocol): READY=1 once the dataplane is attached and the config in
 * force, RELOADING=1 while SIGHUP's reload runs, STOPPING=1 on the way out,
 * and a short STATUS= line that `systemctl status` shows. Without
 * $NOTIFY_SOCKET (not started by systemd) every call does nothing.
 */
#ifndef CS_NOTIFY_H
#define CS_NOTIFY_H

/* Send one message of "KEY=VALUE" lines to $NOTIFY_SOCKET. 0; -errno when
 * it could not be sent (said once in the log, never fatal); 0 and nothing
 * sent without $NOTIFY_SOCKET. */
int cs_notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* READY=1 with the status line. */
void cs_notify_ready(const char *status);
/* RELOADING=1 and MONOTONIC_USEC= (systemd 253's reload protocol; older
 * ones take RELOADING=1 alone and ignore the rest). */
void cs_notify_reloading(void);
/* STOPPING=1 with the status line. */
void cs_notify_stopping(const char *status);
/* STATUS= alone: what changed while running. */
void cs_notify_status(const char *status);

#endif
