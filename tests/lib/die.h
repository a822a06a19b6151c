/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * die.h - how a test tool gives up: "NAME: what went wrong" on stderr, then
 * exit. Header-only, so that the tools built without tests/lib's objects
 * (the fuzz target, livegen) take it as it is.
 *
 * Before including it, a tool defines DIE_NAME, the word its messages start
 * with ("bench"), and DIE_STATUS when it exits with another status than 1
 * (the fuzz target exits 2).
 */
#ifndef CS_TEST_DIE_H
#define CS_TEST_DIE_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef DIE_NAME
#error "define DIE_NAME, the tool's name for its messages, before including die.h"
#endif
#ifndef DIE_STATUS
#define DIE_STATUS 1
#endif

__attribute__((noreturn, format(printf, 1, 2), unused))
static inline void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, DIE_NAME ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(DIE_STATUS);
}

/* "NAME: WHAT: the error's text"; err may be an errno or its negative. */
__attribute__((noreturn, unused))
static inline void die_errno(const char *what, int err)
{
	die("%s: %s", what, strerror(err < 0 ? -err : err));
}

#endif
