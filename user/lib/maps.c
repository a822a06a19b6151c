// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>

#include "mapwalk.h"

int cs_map_walk(int fd, size_t key_size, bool (*each)(const void *key, void *ctx), void *ctx)
{
	__u8 key[64], next[64];
	bool more;

	if (key_size > sizeof(key))
		return -EINVAL;
	more = !bpf_map_get_next_key(fd, NULL, key);
	while (more) {
		more = !bpf_map_get_next_key(fd, key, next);
		if (!each(key, ctx))
			break;
		memcpy(key, next, key_size);
	}
	return 0;
}

int cs_cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}
