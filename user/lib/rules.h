/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * rules.h - compile the configured patterns into what the learn program
 * reads: the rule_names map (suffix hash -> patterns by kind), the rules map
 * (TTL clamps, priority) and the depth mask in cs_config.
 */
#ifndef CS_RULES_H
#define CS_RULES_H

#include <stddef.h>
#include <linux/types.h>

#include "cloudsteer.h"
#include "config.h"

struct cs_rule_name_entry {
	__u64 hash;
	struct cs_rule_name value;
};

struct cs_ruleset {
	__u64 key[2];
	struct cs_rule_name_entry *names;
	size_t n_names;
	struct cs_rule *rules;		/* index: rule id; [0] unused */
	size_t n_rules;			/* including [0] */
	__u64 depth_mask[2];
};

/* Hash of a name in text form ("www.example.com", no trailing dot), the way
 * the learn program hashes it off the wire. *labels gets its label count. */
__u64 cs_text_name_hash(const __u64 key[2], const char *name, __u32 *labels);
/* The hash of one label (len octets, any case), before the suffix fold. */
__u64 cs_text_label_hash(const __u64 key[2], const char *label, size_t len);

/* Ids as the maps hold them. */
static inline __u32 cs_rule_id(size_t rule_index) { return (__u32)rule_index + 1; }


/* Returns 0, or -1 with "FILE:LINE: reason" in err (ties between rules). */
int cs_rules_compile(const struct cs_conf *conf, const __u64 key[2], struct cs_ruleset *rs,
		     char *err, size_t errlen);
void cs_rules_free(struct cs_ruleset *rs);

/* Fill the maps of a loaded learn program; returns 0 or -errno. The config
 * entry goes last: its READY flag turns learning on. */
int cs_rules_write(const struct cs_ruleset *rs, const struct cs_conf *conf, int rule_names_fd,
		   int rules_fd, int config_fd);

#endif
