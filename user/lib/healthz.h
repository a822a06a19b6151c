/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * healthz.h - what GET /healthz on a daemon's metrics listener answers, for
 * a container's HEALTHCHECK and Kubernetes' probes (`cloudsteer health`
 * asks it).
 *
 * The daemon says when it is ready (its dataplane attached, its config in
 * force) and when it stops being so; the listener's thread adds what it can
 * see itself: whether the pins are still there (`cloudsteer detach` from
 * elsewhere removes them). One daemon a process, so the state is the
 * process's.
 */
#ifndef CS_HEALTHZ_H
#define CS_HEALTHZ_H

#include <stdbool.h>
#include <stddef.h>

/* NULL: healthy. Else why not, one line ("starting: ..."). Until the first
 * call: "starting: the dataplane is not attached yet". */
void cs_healthz_set(const char *reason);

/* The answer: true and "ok", or false and one line of why; the pinned map
 * pin (e.g. "cs_records") must exist in pin_dir. */
bool cs_healthz_check(const char *pin_dir, const char *pin, char *line, size_t len);

#endif
