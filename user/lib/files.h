/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* files.h - small files read whole: certificates, keys, passwords. */
#ifndef CS_FILES_H
#define CS_FILES_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Read the regular file at path whole, at most max bytes, into a
 * NUL-terminated buffer that the caller frees (cs_file_forget() for a
 * secret). With secret set, a file that its group or others may read or
 * write (mode & 077), or that someone but root or this process's user owns,
 * is refused: a key that others can read is no longer a secret, and saying
 * so at start beats finding out after a leak. Returns 0, or -errno with what
 * is wrong in why ("is readable or writable by group or others (mode
 * 0644): chmod 600 it"), without the path: the caller names the file.
 */
int cs_file_read(const char *path, size_t max, bool secret, char **data, size_t *len, char *why,
		 size_t whylen);

/* Wipe and free a buffer that held a secret. */
void cs_file_forget(char *data, size_t len);

#endif
