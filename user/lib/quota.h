/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * quota.h - records per rule (cs_rule_quota), so that one rule cannot fill
 * the cloud IP table. learn adds to a rule's count atomically when it makes
 * a record; userspace takes off, through an mmap of the same array, the
 * records it removes, and writes each rule's limit.
 */
#ifndef CS_QUOTA_H
#define CS_QUOTA_H

#include <linux/types.h>

#include "cloudsteer.h"
#include "config.h"

/* The array behind the cs_rule_quota map fd, mapped; NULL with errno. */
struct cs_rule_quota *cs_quota_map(int fd);
void cs_quota_unmap(struct cs_rule_quota *q);

/* Each rule's limit: its quota, else learn.quota; 0 (none) past the rules. */
void cs_quota_write_limits(struct cs_rule_quota *q, const struct cs_conf *conf);

/* n records of rule_id went (or moved away). Never below zero. */
void cs_quota_take(struct cs_rule_quota *q, __u32 rule_id, __u64 n);
/* n records came to rule_id (moved from another rule). */
void cs_quota_give(struct cs_rule_quota *q, __u32 rule_id, __u64 n);

#endif
