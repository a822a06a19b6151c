/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* lock.h - one daemon of each role per pin directory. */
#ifndef CS_LOCK_H
#define CS_LOCK_H

#include <stddef.h>

/* Take the lock of a daemon's state in pin_dir; role NULL: `run`, else
 * `instance` ("instance"). An fd to keep open while the daemon runs, or -1
 * with the reason in err (another daemon holds it, or it cannot be made). */
int cs_lock_take(const char *pin_dir, const char *role, char *err, size_t errlen);

/* The file in which the daemon of role (NULL: `run`) notes its pid, into
 * path; path. Every reader of the note asks here, so the place is named once. */
const char *cs_lock_path(const char *pin_dir, const char *role, char *path, size_t len);

/* Who holds the lock of the daemon of role (NULL: `run`) on pin_dir, seen
 * in /proc/locks without taking it: its pid as this pid namespace numbers
 * it (1 if none is shown), 0 when no daemon holds it, or -errno. */
int cs_lock_holder(const char *pin_dir, const char *role);

#endif
