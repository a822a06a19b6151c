/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * view.h - what show and explain read from the pinned maps (lib/pinned.h),
 * held in memory and sorted, so that they look things up without a syscall
 * each: records, routes, names, patterns and flows, and steer's chains,
 * instances and their bucket tables. Also the streams of an instance node,
 * and the facts that show and explain both write, for people and for
 * programs. Nothing here writes a map.
 */
#ifndef CS_VIEW_H
#define CS_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "cloudsteer.h"
#include "ids.h"
#include "json.h"
#include "pinned.h"

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
#define CS_READ_INSTANCES 32u	/* steer's: every instance, and how many each chain has */
#define CS_READ_CHAINS   64u	/* steer's: every chain; needs CS_READ_INSTANCES */
#define CS_READ_INST_STATS 128u	/* steer's: the counters of the instances of a chain */
#define CS_READ_TABLES   256u	/* steer's: each chain's bucket tables, every stage's, and
				 * so the stage each instance serves; needs CS_READ_CHAINS */
#define CS_READ_ALL      511u

struct cs_flow_row {
	struct cs_flow_key key;
	struct cs_flow flow;
	bool proven;		/* in cs_flows; else in cs_flows_new */
};

/*
 * steer's chains and instances, by id (0 is no chain and no instance). Where
 * steer never ran its maps are not there: has_instances, has_chains are
 * false and what they would hold stays zero.
 */
struct cs_steer_view {
	bool has_instances, has_chains;
	struct cs_ids ids;			/* who holds each id: the names
						 * (every id FREE where the daemon
						 * kept none, an older state) */
	struct cs_instance inst[CS_INSTANCES_MAX];
	__u32 n_inst_of[CS_CHAINS_MAX];		/* instances that name the chain */
	struct cs_chain chain[CS_CHAINS_MAX];
	bool chain_used[CS_CHAINS_MAX];		/* see cs_view_read */
	struct cs_inst_stat stat[CS_INSTANCES_MAX];	/* of the instances of a chain */
	struct cs_bucket *table[CS_CHAINS_MAX];	/* the current table of a used chain:
						 * chain[c].n_buckets buckets (at most
						 * CS_BUCKETS_MAX); NULL: none yet */
	__u32 table_len[CS_CHAINS_MAX];		/* buckets in table[c] */
	/* A chain of several stages (nsh): the tables of its stages k >= 1,
	 * from cs_stage_map (stage 0's is table[c]); NULL: none yet. */
	struct cs_bucket *stage_table[CS_CHAINS_MAX][CS_CHAIN_STAGES_MAX];
	__u32 stage_table_len[CS_CHAINS_MAX][CS_CHAIN_STAGES_MAX];
	__u8 inst_stage[CS_INSTANCES_MAX];	/* the later stage whose table names
						 * the instance; 0: none does. The pins
						 * keep no stage per instance, but a
						 * later stage's table holds each of its
						 * instances */
	bool stages_read[CS_CHAINS_MAX];	/* every later stage's table was read:
						 * an instance none names is stage 0's */
	char stage_name[CS_CHAINS_MAX][CS_CHAIN_STAGES_MAX][CS_ID_NAME_MAX];	/* from the
						 * config (cs_view_name_stages);
						 * "": not known */
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
	struct cs_steer_view *steer;	/* with any of steer's CS_READ_ bits */
};

/* Read the maps named by `what` (CS_READ_*). 0, or -errno with the map
 * named in err. A chain is used when the daemon wrote it (it always gives
 * a configured chain its buckets) or an instance names it. */
int cs_view_read(const struct cs_pinned *pins, unsigned what, struct cs_view *v, char *err, size_t errlen);
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
/* How many flows (live by their state's lifetime) use the route a. */
size_t cs_view_flows_of(const struct cs_view *v, const struct cs_addr *a);
/* counts[rule_id] = records held under that rule, for rule ids < n. */
void cs_view_count_by_rule(const struct cs_view *v, __u64 *counts, size_t n);
/* The patterns of a rule: how many, the first in *first. */
size_t cs_view_rule_patterns(const struct cs_view *v, __u32 rule_id, const struct cs_pattern_row **first);

/* A chain as steer's cs_chains has it, or NULL where steer never ran or
 * the id is out of range. */
const struct cs_chain *cs_view_chain(const struct cs_view *v, __u32 chain_id);
/* An instance as cs_instances has it, or NULL for id 0, an id out of
 * range, or where steer never ran. */
const struct cs_instance *cs_view_instance(const struct cs_view *v, __u32 id);
/* The name an instance id or a chain id was given ("-" where the daemon
 * kept none), and whether its holder left the config. */
const char *cs_view_instance_name(const struct cs_view *v, __u32 id);
const char *cs_view_chain_name(const struct cs_view *v, __u32 chain_id);
bool cs_view_instance_left(const struct cs_view *v, __u32 id);
/* The bucket of an affinity code in the current table of a chain, its
 * index in *idx; NULL when the chain has no table (yet). */
const struct cs_bucket *cs_view_bucket(const struct cs_view *v, __u32 chain_id, __u32 code, __u32 *idx);

/* ---- the stages of a chain (mode nsh) ---- */

/* How many stages a chain has: 1 for a chain of one, and where steer
 * never ran or an older version wrote the chain. */
__u32 cs_view_stages(const struct cs_view *v, __u32 chain_id);
/* Does any chain in use have several stages? show and explain speak of
 * stages only then, so what they print for chains of one is as before. */
bool cs_view_any_stages(const struct cs_view *v);
/* The table of one stage of a chain (0: cs_service_map's, the first
 * stage's; later ones: cs_stage_map's), its buckets in *len; NULL when
 * there is none (yet). */
const struct cs_bucket *cs_view_table(const struct cs_view *v, __u32 chain_id, __u32 stage, __u32 *len);
/* cs_view_bucket in the table of one stage. */
const struct cs_bucket *cs_view_stage_bucket(const struct cs_view *v, __u32 chain_id, __u32 stage, __u32 code,
					     __u32 *idx);
/* May the instance take a new stream, as steer and the stages judge it
 * (bpf/lib/bucket_table.h cs_instance_takes): up, or warming (its tables
 * keep it secondary; failover may still pick it). */
bool cs_view_instance_takes(const struct cs_view *v, __u32 id);

/* Where a stream's packets go at one stage of its chain. */
struct cs_hop {
	__u32 stage;
	bool have_table;	/* the stage has a table: bucket and b say what it holds */
	__u32 bucket;
	struct cs_bucket b;
	__u32 id;		/* the instance; 0: none may take them */
	const char *role;	/* "pinned", "primary", "secondary" or "none" */
};

/* The hop of a code at one stage of a chain: the bucket's primary while it
 * may take streams, else its secondary. steer picks so for a new stream
 * (stage 0), each stage so for the next (bpf/instance.bpf.c
 * cs_neighbour_instance), and steer so for the return packets of a
 * symmetric chain, which go to its last (bpf/steer.bpf.c cs_last_stage).
 * pinned: the instance steer pinned the stream to, which stage 0's hop
 * is whatever the table says now; 0 for a stream not seen yet. */
struct cs_hop cs_view_hop(const struct cs_view *v, __u32 chain_id, __u32 stage, __u32 code, __u32 pinned);

/* The stage an instance serves into *stage (0 for an instance of a chain
 * of one); false when it cannot be told: a later stage of its chain has
 * no table (yet). */
bool cs_view_instance_stage(const struct cs_view *v, __u32 id, __u32 *stage);
/* The name of a stage, or NULL: the pins keep none, so it comes from the
 * config (cs_view_name_stages). */
const char *cs_view_stage_name(const struct cs_view *v, __u32 chain_id, __u32 stage);
/* Name the stages of every chain of several stages after the config at
 * path: the config's chain of the same name, when it has as many stages.
 * A file that is not there names none (and says so when it was given:
 * -c); one that does not load names none and says why: the stages are
 * shown by number. */
void cs_view_name_stages(struct cs_view *v, const char *path, bool given);

/* A rule's patterns are listed up to this many; the rest are counted. A
 * rule fed from a list file may have thousands. */
#define CS_PATTERNS_SHOWN 3

/* "a.test,*.b.test,+12 more": short enough for a table cell. */
const char *cs_view_rule_patterns_text(const struct cs_view *v, __u32 rule_id, char *buf, size_t len);

/* ---- the streams of an instance node ---- */

struct cs_stream_row {
	struct cs_flow_key key;
	struct cs_stream stream;
};

/* Reads every entry of cs_streams and cs_streams_new (instance) into *rows
 * (free() it), sorted by key. 0, or -errno (-ENOENT: no cs_streams here). */
int cs_view_streams(const struct cs_pinned *pins, struct cs_stream_row **rows, size_t *n);

/* ---- facts show and explain both write: for people ---- */

/* The ACL id of a route as a cell: the id, `waiting` while the pool was
 * empty, "none" without a route. */
const char *cs_acl_text(const struct cs_route *rt, const char *waiting, char *buf, size_t len);
/* A stage as a cell: "1 dlp", or "1" when it has no name; "-" for a chain
 * of one stage. */
const char *cs_stage_text(const struct cs_view *v, __u32 chain_id, __u32 stage, char *buf, size_t len);
/* The stage an instance serves as a cell: cs_stage_text, or "?" when it
 * cannot be told. */
const char *cs_instance_stage_text(const struct cs_view *v, __u32 id, char *buf, size_t len);

/* ---- and for programs ---- */

/* "ttl_left": seconds (negative once expired), "expired": bool */
void cs_ttl_left_json(struct cs_json *j, __u64 now_ns, __u64 expires_ns);
/* "acl_id": id or null, "waiting_acl": bool */
void cs_acl_json(struct cs_json *j, const struct cs_route *rt);
/* "patterns": [the first CS_PATTERNS_SHOWN], "patterns_more": the rest */
void cs_view_rule_patterns_json(struct cs_json *j, const struct cs_view *v, __u32 rule_id);
/* "stage": its number, "stage_name": its name, when it has one; nothing
 * for a chain of one stage */
void cs_view_stage_json(struct cs_json *j, const struct cs_view *v, __u32 chain_id, __u32 stage);
/* The same for the stage an instance serves; "stage": null when it cannot
 * be told. */
void cs_instance_stage_json(struct cs_json *j, const struct cs_view *v, __u32 id);

#endif
