// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <string.h>

#include "signals.h"

volatile sig_atomic_t cs_stop_signal, cs_reload_wanted;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		cs_reload_wanted = 1;
	else
		cs_stop_signal = sig;
}

void cs_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}
