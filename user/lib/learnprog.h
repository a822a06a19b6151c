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
	bool report_extended;	/* events for refreshes the cluster must hear
				 * of (a gateway of a cluster) */
	__u32 acl_ids;		/* ids 1..acl_ids pushed into a fresh pool */
	const char *pin_dir;	/* reuse and pin the maps there (the daemon);
				 * NULL: fresh private maps */
};

/* What cs_learn_load found pinned, for the daemon. */
struct cs_learn_adopted {
	int reused_maps;	/* 0: a fresh start */
	bool had_config;	/* the pinned config held a key: kept */
};

/* Load the program with the rules of conf compiled under a fresh random key
 * (or, over pins, the key they were made with). Returns NULL with a
 * plain-words reason in err. */
struct learn_bpf *cs_learn_load(struct cs_conf *conf, const struct cs_learn_opts *opts,
				struct cs_ruleset *rs, char *err, size_t errlen);

/* The same, telling what was adopted from the pins (adopted may be NULL). */
struct learn_bpf *cs_learn_load_adopting(struct cs_conf *conf, const struct cs_learn_opts *opts,
				      struct cs_ruleset *rs, struct cs_learn_adopted *adopted,
				      char *err, size_t errlen);

/* Give every pattern of conf the id its text had in the pinned cs_patterns
 * (fd), and new texts ids above every id in use, so records keep meaning
 * the same pattern across restarts and reloads. */
int cs_keep_pattern_ids(int patterns_fd, struct cs_conf *conf);

/* Write resolvers, never-steer prefixes, quota limits, patterns, rules and
 * the config entry (last: it turns learning on and starts a new generation). Patterns and rule names that
 * the new rules no longer have are removed. 0 or -errno. */
int cs_learn_configure(struct learn_bpf *skel, const struct cs_conf *conf,
		       const struct cs_ruleset *rs);

#endif
