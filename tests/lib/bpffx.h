/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* bpffx.h - what tests that read BPF maps share. */
#ifndef CS_TESTS_BPFFX_H
#define CS_TESTS_BPFFX_H

#include <string.h>

#include <bpf/bpf.h>

/* Entries in a hash map (keys up to 64 octets). */
static inline int bpffx_map_len(int fd)
{
	__u8 key[64], next[64];
	void *prev = NULL;
	int n = 0;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, sizeof(key));
		prev = key;
		n++;
	}
	return n;
}

#endif
