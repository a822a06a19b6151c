/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * pinned.h - the maps the daemons pinned (lib/pins.c pins them), opened for
 * reading: each is checked against the layout of headers/cloudsteer.h
 * first, so a map of another version is refused, not misread. The readers
 * (show, explain, drain, the metrics) work while the daemons are down.
 * Nothing here writes a map.
 */
#ifndef CS_PINNED_H
#define CS_PINNED_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "cloudsteer.h"

enum cs_pinned_map {
	CS_M_RECORDS,
	CS_M_ROUTES,
	CS_M_NAMES,
	CS_M_PATTERNS,
	CS_M_RULES,
	CS_M_RULE_STATS,
	CS_M_LEARN_STATS,
	CS_M_ACL_POOL,
	CS_M_FLOWS,		/* steer's proven flows; optional: fd -1 where steer never ran */
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
	CS_M_CHAIN_IDS,		/* optional: older state has none */
	CS_M_INSTANCE_IDS,	/* optional: older state has none */
	CS_M_PEER_IDS,		/* the instance's; optional */
	CS_M_FLOWS_NEW,		/* steer's unproven flows; optional */
	CS_M_STEER_STATS,	/* steer's; optional */
	CS_M_STREAMS_NEW,	/* instance's unproven streams; optional */
	CS_M_STAGE_MAP,		/* steer's tables of later stages; optional (older state
				 * has none): values are inner map ids */
	CS_M_NSH_REASONS,	/* instance's chain header refusals; optional: older state has none */
	CS_M_COUNT,
};

/* The maps of one pin directory, opened: fd -1 for those not opened. */
struct cs_pinned {
	const char *dir;
	int fd[CS_M_COUNT];
	__u32 max_entries[CS_M_COUNT];
};

/* Open every map the CLI reads from its pin in dir, checking that each has
 * the layout of headers/cloudsteer.h (a map of another version would be
 * misread). 0, or -errno with the whole message for people in err; -ENOENT
 * means there is no state: the dir or one of its pins is missing. */
int cs_pinned_open(struct cs_pinned *pins, const char *dir, char *err, size_t errlen);
void cs_pinned_close(struct cs_pinned *pins);

/* Open only the maps whose bit (1u << enum cs_pinned_map) is set in need,
 * all of them required, checked as cs_pinned_open checks them: for the
 * commands that read steer's maps alone. */
#define CS_PINNED_BIT(m) (1u << (m))
int cs_pinned_open_only(struct cs_pinned *pins, const char *dir, unsigned need, char *err, size_t errlen);

/* Open the maps in need, all required, and those in optional that are
 * pinned (the others get fd -1), checked as cs_pinned_open checks them. */
#define CS_PINNED_IDS (CS_PINNED_BIT(CS_M_CHAIN_IDS) | CS_PINNED_BIT(CS_M_INSTANCE_IDS))
int cs_pinned_open_with(struct cs_pinned *pins, const char *dir, unsigned need, unsigned optional, char *err,
			size_t errlen);

/* Open the maps whose bit is set in want that are pinned in dir; the
 * others get fd -1. A pinned map of another layout is still refused. For
 * readers of whatever a daemon left (metrics). 0, or -errno with err. */
int cs_pinned_open_any(struct cs_pinned *pins, const char *dir, unsigned want, char *err, size_t errlen);

/*
 * One entry each, read from the opened maps. 0, or -errno: -ENOENT when an
 * optional map is not there (out is then zero). The per-CPU ones are summed
 * over the CPUs.
 */

/* Reads cs_rules[rule_id]: the rule's priority, TTL policy and chain. */
int cs_pinned_rule(const struct cs_pinned *pins, __u32 rule_id, struct cs_rule *out);
/* Reads cs_rule_stats[rule_id]: answers the rule won, records it made and refreshed. */
int cs_pinned_rule_stat(const struct cs_pinned *pins, __u32 rule_id, struct cs_rule_stat *out);
/* Reads cs_rule_quota[rule_id]: the records the rule holds and its limit. */
int cs_pinned_rule_quota(const struct cs_pinned *pins, __u32 rule_id, struct cs_rule_quota *out);
/* Reads cs_rule_traffic[rule_id]: what steer counted on the rule's routes. */
int cs_pinned_rule_traffic(const struct cs_pinned *pins, __u32 rule_id, struct cs_acl_stat *out);
/* Reads cs_acl_stats[acl_id]: what steer counted on one route. */
int cs_pinned_acl_stat(const struct cs_pinned *pins, __u32 acl_id, struct cs_acl_stat *out);
/* Reads cs_inst_stats[id]: what steer sent to one instance. */
int cs_pinned_inst_stat(const struct cs_pinned *pins, __u32 id, struct cs_inst_stat *out);
/* Reads cs_instances[id]: an instance's chain, address and state. */
int cs_pinned_instance(const struct cs_pinned *pins, __u32 id, struct cs_instance *out);
/* Reads cs_config[0]: learn's keys and switches (explain: the affinity key). */
int cs_pinned_config(const struct cs_pinned *pins, struct cs_config *out);
/* Reads the flow steer pinned for a stream, if it has one: in cs_flows,
 * else in cs_flows_new (where it is not proven yet: *proven false). */
int cs_pinned_flow(const struct cs_pinned *pins, const struct cs_flow_key *key, struct cs_flow *out, bool *proven);
/* Reads cs_steer_stats: steer's CS_S_MAX flow counters, into out. */
int cs_pinned_steer_stats(const struct cs_pinned *pins, __u64 *out);
/* Reads cs_learn_stats: learn's CS_R_MAX counters by reason, into out. */
int cs_pinned_learn_reasons(const struct cs_pinned *pins, __u64 *out);
/* Reads cs_inst_reasons: the instance program's CS_I_MAX counters by reason. */
int cs_pinned_inst_reasons(const struct cs_pinned *pins, __u64 *out);
/* Reads cs_nsh_reasons: the CS_NSH_MAX counters of chain headers the
 * instance program refused, by reason (CS_NSH_OK counts nothing). */
int cs_pinned_nsh_reasons(const struct cs_pinned *pins, __u64 *out);
/* Reads cs_sync_stats[0]: the instance daemon's sync counters. */
int cs_pinned_sync_stat(const struct cs_pinned *pins, struct cs_sync_stat *out);
/* Reads steer's cs_chain_ids and cs_instance_ids whole: who holds each id
 * (every id FREE where they are not pinned; -ENOENT then). */
struct cs_ids;
int cs_pinned_ids(const struct cs_pinned *pins, struct cs_ids *out);
/* Reads an instance node's cs_peer_ids into out's instance ids (its chain
 * ids all FREE: an instance node keeps none); -ENOENT where not pinned. */
int cs_pinned_peer_ids(const struct cs_pinned *pins, struct cs_ids *out);

#endif
