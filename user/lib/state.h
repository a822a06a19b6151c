/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * state.h - read-only views of the state the daemon pins: records, routes,
 * names, patterns, rules and counters, read straight from the maps, so
 * `show` and `explain` work while the daemon is down. Nothing here writes
 * a map. Also the small pieces those commands share: time as the maps keep
 * it, aligned tables for people and JSON objects for programs.
 */
#ifndef CS_STATE_H
#define CS_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#include "cloudsteer.h"
#include "json.h"

/* ---- the pinned maps ---- */

enum cs_state_map {
	CS_M_RECORDS,
	CS_M_ROUTES,
	CS_M_NAMES,
	CS_M_PATTERNS,
	CS_M_RULES,
	CS_M_RULE_STATS,
	CS_M_LEARN_STATS,
	CS_M_ACL_POOL,
	CS_M_FLOWS,		/* steer's; optional: fd -1 where steer never ran */
	CS_M_ACL_STATS,		/* steer's; optional */
	CS_M_CHAINS,		/* steer's; optional */
	CS_M_INSTANCES,		/* steer's; optional */
	CS_M_SERVICE_MAP,	/* steer's; optional: values are inner map ids */
	CS_M_INST_STATS,	/* steer's; optional */
	CS_M_CONFIG,		/* keys and caps (explain: the affinity key) */
	CS_M_STREAMS,		/* instance's; optional */
	CS_M_INST_REASONS,	/* instance's; optional */
	CS_M_SYNC_STATS,	/* the instance daemon's; optional */
	CS_M_RULE_TRAFFIC,	/* steer's; optional */
	CS_M_NEVER,		/* optional: older state has none */
	CS_M_RULE_QUOTA,	/* optional: older state has none */
	CS_M_COUNT,
};

struct cs_state {
	const char *dir;
	int fd[CS_M_COUNT];
	__u32 max_entries[CS_M_COUNT];
};

/* Open every map the CLI reads from its pin in dir, checking that each has
 * the layout of headers/cloudsteer.h (a map of another version would be
 * misread). 0, or -errno with the whole message for people in err; -ENOENT
 * means there is no state: the dir or one of its pins is missing. */
int cs_state_open(struct cs_state *st, const char *dir, char *err, size_t errlen);
void cs_state_close(struct cs_state *st);

/* Open only the maps whose bit (1u << enum cs_state_map) is set in need, all
 * of them required, checked as cs_state_open checks them: for the commands
 * that read steer's maps alone. */
#define CS_STATE_BIT(m) (1u << (m))
int cs_state_open_only(struct cs_state *st, const char *dir, unsigned need, char *err, size_t errlen);

/* Open the maps whose bit is set in want that are pinned in dir; the
 * others get fd -1. A pinned map of another layout is still refused. For
 * readers of whatever a daemon left (metrics). 0, or -errno with err. */
int cs_state_open_any(struct cs_state *st, const char *dir, unsigned want, char *err, size_t errlen);

/* Every entry of cs_streams (instance), in *rows (free() it), sorted by
 * key. 0, or -errno. */
struct cs_stream_row {
	struct cs_flow_key key;
	struct cs_stream st;
};
int cs_state_streams(const struct cs_state *st, struct cs_stream_row **rows, size_t *n);
/* cs_inst_reasons summed over CPUs, CS_I_MAX counters. 0, or -errno. */
int cs_state_inst_reasons(const struct cs_state *st, __u64 *out);

/* cs_inst_stats[id] summed over CPUs; 0, or -ENOENT without steer. */
int cs_state_inst_stat(const struct cs_state *st, __u32 id, struct cs_inst_stat *out);

/* The pin name of a map ("cs_records"). */
const char *cs_state_map_name(enum cs_state_map m);

/* cs_acl_stats[acl_id] summed over CPUs; 0, or -ENOENT without steer. */
int cs_state_acl_stat(const struct cs_state *st, __u32 acl_id, struct cs_acl_stat *out);

/* cs_rule_traffic[rule_id] summed over CPUs; 0, or -ENOENT without steer. */
int cs_state_rule_traffic(const struct cs_state *st, __u32 rule_id, struct cs_acl_stat *out);

/* cs_rules[rule_id]; 0 or -errno. */
int cs_state_rule(const struct cs_state *st, __u32 rule_id, struct cs_rule *out);
/* cs_rule_stats[rule_id] summed over CPUs; 0 or -errno. */
int cs_state_rule_stat(const struct cs_state *st, __u32 rule_id, struct cs_rule_stat *out);

/* ---- a snapshot of the hash maps, in memory ---- */

struct cs_record_row {
	struct cs_record_key key;
	struct cs_record rec;
};

struct cs_route_row {
	struct cs_addr addr;
	struct cs_route route;
};

struct cs_name_row {
	__u64 id;
	const char *text;
};

struct cs_pattern_row {
	__u32 id;
	struct cs_pattern_info info;	/* text always NUL-terminated */
};

/* What to read into a view. */
#define CS_READ_RECORDS  1u
#define CS_READ_ROUTES   2u
#define CS_READ_NAMES    4u
#define CS_READ_PATTERNS 8u
#define CS_READ_FLOWS    16u
#define CS_READ_ALL      31u

struct cs_flow_row {
	struct cs_flow_key key;
	struct cs_flow flow;
};

struct cs_view {
	__u64 now_ns;			/* when it was read (CLOCK_BOOTTIME) */
	struct cs_record_row *records;	/* by IP, then name id */
	size_t n_records;
	struct cs_route_row *routes;	/* by IP */
	size_t n_routes;
	struct cs_name_row *names;	/* by id */
	size_t n_names;
	char *name_text;		/* the texts the rows point into */
	struct cs_flow_row *flows;	/* by route */
	size_t n_flows;
	struct cs_pattern_row *patterns;	/* by rule id, then pattern id */
	size_t n_patterns;
	const struct cs_pattern_row **pattern_by_id;
};

/* Read the maps named by `what` (CS_READ_*). 0, or -errno with the map
 * named in err. */
int cs_view_read(const struct cs_state *st, unsigned what, struct cs_view *v, char *err, size_t errlen);
void cs_view_free(struct cs_view *v);

/* The text of a name id, or "?" when the names map has none (full, or
 * removed by the daemon in between). */
const char *cs_view_name(const struct cs_view *v, __u64 name_id);
/* A pattern by id, or NULL. */
const struct cs_pattern_info *cs_view_pattern(const struct cs_view *v, __u32 pattern_id);
/* Its text, or "?". */
const char *cs_view_pattern_text(const struct cs_view *v, __u32 pattern_id);
/* The route of an IP, or NULL. */
const struct cs_route *cs_view_route(const struct cs_view *v, const struct cs_addr *a);
/* The records of an IP: how many, the first in *first. */
size_t cs_view_records_of(const struct cs_view *v, const struct cs_addr *a, const struct cs_record_row **first);
/* How many flows (streams seen within steer.flow_idle) use the route a. */
size_t cs_view_flows_of(const struct cs_view *v, const struct cs_addr *a);
/* counts[rule_id] = records held under that rule, for rule ids < n. */
void cs_view_count_by_rule(const struct cs_view *v, __u64 *counts, size_t n);
/* The patterns of a rule: how many, the first in *first. */
size_t cs_view_rule_patterns(const struct cs_view *v, __u32 rule_id, const struct cs_pattern_row **first);

/* A rule's patterns are listed up to this many; the rest are counted. A
 * rule fed from a list file may have thousands. */
#define CS_PATTERNS_SHOWN 3

/* "a.test,*.b.test,+12 more": short enough for a table cell. */
const char *cs_view_rule_patterns_text(const struct cs_view *v, __u32 rule_id, char *buf, size_t len);

/* ---- time ---- */

/* Now on CLOCK_BOOTTIME, the clock of bpf_ktime_get_boot_ns(). */
__u64 cs_now_ns(void);
/* to - from in whole seconds, rounded down: negative exactly when to < from. */
__s64 cs_secs_between(__u64 from_ns, __u64 to_ns);
/* "45s", "3m05s", "2h03m", "4d02h"; a leading "-" when negative. */
const char *cs_fmt_duration(__s64 secs, char *buf, size_t len);
/* The time until expiry, or "expired" once it passed (the daemon has not
 * swept the record yet). */
const char *cs_fmt_ttl_left(__u64 now_ns, __u64 expires_ns, char *buf, size_t len);

/* ---- tables for people ---- */

#define CS_CELL_MAX (CS_NAME_TEXT_MAX + 64)
#define CS_COLS_MAX 12

struct cs_column {
	const char *head;
	bool right;		/* numbers: right-aligned */
};

/* Fill the cells of row i. */
typedef void (*cs_row_fn)(void *ctx, size_t i, char cell[][CS_CELL_MAX]);

/* A header line and nrows rows, each column as wide as its widest cell.
 * Rows are filled twice (measure, print) so nothing is held per row.
 * Control characters are printed as '?': names come off the wire. */
void cs_table_print(FILE *f, const struct cs_column *cols, size_t ncols, size_t nrows, cs_row_fn fill,
		    void *ctx);

/* The ACL id of a route as a cell: the id, `waiting` while the pool was
 * empty, "none" without a route. */
const char *cs_acl_text(const struct cs_route *rt, const char *waiting, char *buf, size_t len);

/* ---- the same, for programs ---- */

/* "ttl_left": seconds (negative once expired), "expired": bool */
void cs_json_ttl_left(struct cs_json *j, __u64 now_ns, __u64 expires_ns);
/* "acl_id": id or null, "waiting_acl": bool */
void cs_json_acl(struct cs_json *j, const struct cs_route *rt);
/* "patterns": [the first CS_PATTERNS_SHOWN], "patterns_more": the rest */
void cs_json_rule_patterns(struct cs_json *j, const struct cs_view *v, __u32 rule_id);

#endif
