/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* base64.h - RFC 4648 base64 with padding, as etcd's JSON gateway writes
 * keys and values (protobuf's bytes in JSON). */
#ifndef CS_BASE64_H
#define CS_BASE64_H

#include <stddef.h>

/* How long the text of n bytes is, its NUL not counted. */
#define CS_BASE64_LEN(n) (((n) + 2) / 3 * 4)

/* Writes the text of in[0..n) and a NUL to out, which holds
 * CS_BASE64_LEN(n) + 1; returns the text's length. */
size_t cs_base64_encode(const void *in, size_t n, char *out);

/* Decodes text[0..len) into out, which holds len / 4 * 3 + 1 bytes (a NUL
 * is written after the bytes, so text comes back as a string); the length
 * in *n. -1 for anything that is not padded base64. */
int cs_base64_decode(const char *text, size_t len, unsigned char *out, size_t *n);

#endif
