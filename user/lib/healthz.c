// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* healthz.c - the state GET /healthz reports (healthz.h says what it promises). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "healthz.h"

#define CS_HEALTHZ_REASON_MAX 200

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char why_not[CS_HEALTHZ_REASON_MAX] = "starting: the dataplane is not attached yet";

void cs_healthz_set(const char *reason)
{
	pthread_mutex_lock(&lock);
	snprintf(why_not, sizeof(why_not), "%s", reason ? reason : "");
	pthread_mutex_unlock(&lock);
}

bool cs_healthz_check(const char *pin_dir, const char *pin, char *line, size_t len)
{
	char path[4096];

	pthread_mutex_lock(&lock);
	snprintf(line, len, "%s", why_not);
	pthread_mutex_unlock(&lock);
	if (line[0])
		return false;
	snprintf(path, sizeof(path), "%s/%s", pin_dir, pin);
	if (access(path, F_OK)) {
		snprintf(line, len, "the pinned state is gone: %s: %s (detached?)", path, strerror(errno));
		return false;
	}
	snprintf(line, len, "ok");
	return true;
}
