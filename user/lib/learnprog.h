/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * learnprog.h - open, size, load and configure the learn program.
 * Shared by replay (fresh, private maps) and the daemon.
 */
#ifndef CS_LEARNPROG_H
#define CS_LEARNPROG_H

#include <stdbool.h>
#include <linux/types.h>

#include "config.h"
#include "rules.h"

struct learn_bpf;

struct cs_learn_opts {
	bool report_refresh;	/* events for refreshed records too (replay) */
	bool lazy_tables;	/* allocate table entries on demand (replay) */
	bool walk_repeats;	/* never reuse the outcome of a repeated answer
				 * (benchmarks of the full walk) */
	__u32 acl_ids;		/* ids 1..acl_ids pushed into the pool */
};

/* Load the program with the rules of conf compiled under a fresh random key.
 * Returns NULL with a plain-words reason in err. */
struct learn_bpf *cs_learn_load(const struct cs_conf *conf, const struct cs_learn_opts *opts,
				struct cs_ruleset *rs, char *err, size_t errlen);

/* Sum a per-CPU u64 counter array map into out[0..n). */
int cs_sum_percpu(int map_fd, __u64 *out, __u32 n);

/* Name and help text of a reason code, or NULL for the group marker. */
const char *cs_reason_name(__u32 reason);
const char *cs_reason_help(__u32 reason);

#endif
