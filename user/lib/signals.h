/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * signals.h - the daemons' signals: SIGTERM and SIGINT ask them to stop,
 * SIGHUP to re-read the config. Handlers only set these flags; the loops
 * read them. No SA_RESTART, so a waiting poll or epoll_wait wakes up.
 */
#ifndef CS_SIGNALS_H
#define CS_SIGNALS_H

#include <signal.h>

extern volatile sig_atomic_t cs_stop_signal;	/* the signal that asked to stop; 0: none */
extern volatile sig_atomic_t cs_reload_wanted;	/* SIGHUP came */

void cs_catch_signals(void);

#endif
