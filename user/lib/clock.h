/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* clock.h - time as the maps keep it (CLOCK_BOOTTIME nanoseconds), the
 * daemons' own intervals (CLOCK_MONOTONIC milliseconds), and the wall clock
 * that hosts share (CLOCK_REALTIME). */
#ifndef CS_CLOCK_H
#define CS_CLOCK_H

#include <linux/types.h>

/* Now on CLOCK_BOOTTIME, the clock of bpf_ktime_get_boot_ns(). */
__u64 cs_now_ns(void);
/* Now on CLOCK_MONOTONIC in milliseconds: for intervals and timeouts. */
__u64 cs_monotonic_ms(void);
/* Now on CLOCK_REALTIME (the wall clock) in nanoseconds, and in
 * milliseconds: for what crosses hosts, such as the cluster's values. */
__s64 cs_wall_ns(void);
__s64 cs_wall_ms(void);
/* to - from in whole seconds, rounded down: negative exactly when to < from. */
__s64 cs_secs_between(__u64 from_ns, __u64 to_ns);

#endif
