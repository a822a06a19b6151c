// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* stagetable.c - one stage's bucket table from the config (stagetable.h). */
#include <errno.h>
#include <stdbool.h>

#include "stagetable.h"
#include "servicemap.h"
#include "maps.h"

int cs_stage_table_swap(int outer_fd, __u32 slot, const struct cs_chain_conf *cc, size_t stage)
{
	const char *names[CS_SERVICEMAP_INSTANCES_MAX];
	__u32 ids[CS_SERVICEMAP_INSTANCES_MAX];
	struct cs_bucket b[CS_BUCKETS_DEFAULT];
	size_t i, first, n = cs_stage_span(cc, stage, &first);

	if (!n || n > CS_SERVICEMAP_INSTANCES_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		names[i] = cc->instances[first + i].name;
		ids[i] = cc->instances[first + i].id;
	}
	if (cs_servicemap_build(names, NULL, n, CS_BUCKETS_DEFAULT, b))
		return -EINVAL;
	return cs_bucket_table_swap(outer_fd, slot, b, CS_BUCKETS_DEFAULT, ids);
}
