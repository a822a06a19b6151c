// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <sys/mman.h>

#include "quota.h"
#include "rules.h"

#define QUOTA_BYTES (sizeof(struct cs_rule_quota) * CS_RULES_MAX)

struct cs_rule_quota *cs_quota_map(int fd)
{
	void *p = mmap(NULL, QUOTA_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

void cs_quota_unmap(struct cs_rule_quota *q)
{
	if (q)
		munmap(q, QUOTA_BYTES);
}

void cs_quota_write_limits(struct cs_rule_quota *q, const struct cs_conf *conf)
{
	__u32 id;

	for (id = 0; id < CS_RULES_MAX; id++) {
		__u64 limit = 0;

		if (id && id <= conf->n_rules) {
			const struct cs_rule_conf *r = &conf->rules[id - 1];

			limit = r->quota ? r->quota : conf->quota;
		}
		__atomic_store_n(&q[id].limit, limit, __ATOMIC_RELAXED);
	}
}

void cs_quota_take(struct cs_rule_quota *q, __u32 rule_id, __u64 n)
{
	__u64 cur;

	if (!q || rule_id >= CS_RULES_MAX)
		return;
	/* a count that drifted low (a daemon killed between its update and
	 * the removal) must not wrap to a full-looking huge number */
	cur = __atomic_load_n(&q[rule_id].records, __ATOMIC_RELAXED);
	do {
		if (!cur)
			return;
	} while (!__atomic_compare_exchange_n(&q[rule_id].records, &cur, cur > n ? cur - n : 0, false,
					      __ATOMIC_RELAXED, __ATOMIC_RELAXED));
}

void cs_quota_give(struct cs_rule_quota *q, __u32 rule_id, __u64 n)
{
	if (q && rule_id < CS_RULES_MAX)
		__atomic_add_fetch(&q[rule_id].records, n, __ATOMIC_RELAXED);
}
