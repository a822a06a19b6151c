// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>

#include "clusterkeys.h"

/* Appends s and then sep (when not 0) at *at; false when it does not fit. */
static int append(char *buf, size_t len, size_t *at, const char *s, char sep)
{
	int n = snprintf(buf + *at, len - *at, sep ? "%s%c" : "%s", s, sep);

	if (n < 0 || (size_t)n >= len - *at)
		return -ENAMETOOLONG;
	*at += (size_t)n;
	return 0;
}

int cs_ckey(char *buf, size_t len, const char *cluster, const char *kind, const char *const *parts, size_t n)
{
	size_t at = 0, i;

	if (!len)
		return -ENAMETOOLONG;
	buf[0] = 0;
	if (append(buf, len, &at, CS_CKEY_ROOT, 0) || append(buf, len, &at, cluster, '/') ||
	    append(buf, len, &at, kind, '/'))
		return -ENAMETOOLONG;
	for (i = 0; i < n; i++)
		if (append(buf, len, &at, parts[i], i + 1 < n ? '/' : 0))
			return -ENAMETOOLONG;
	return (int)at;
}
