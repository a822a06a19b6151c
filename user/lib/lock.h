/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* lock.h - one daemon of each role per pin directory. */
#ifndef CS_LOCK_H
#define CS_LOCK_H

#include <stddef.h>

/* Take the lock of a daemon's state in pin_dir; role NULL: `run`, else
 * `instance` ("instance"). An fd to keep open while the daemon runs, or -1
 * with the reason in err (another daemon holds it, or it cannot be made). */
int cs_lock_take(const char *pin_dir, const char *role, char *err, size_t errlen);

#endif
