// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <time.h>

#include "clock.h"

__u64 cs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

__u64 cs_monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

__s64 cs_wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (__s64)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

__s64 cs_wall_ms(void)
{
	return cs_wall_ns() / 1000000;
}

__s64 cs_secs_between(__u64 from_ns, __u64 to_ns)
{
	__s64 ns = (__s64)(to_ns - from_ns);

	/* round down, not toward zero: half a second past expiry is -1, so a
	 * negative value means "expired" and nothing else does */
	return ns >= 0 ? ns / 1000000000LL : -((-ns + 999999999LL) / 1000000000LL);
}
