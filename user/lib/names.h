/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * names.h - the words for the contract's enums and reason codes
 * (headers/cloudsteer.h), in one place, so that show, explain, replay, the
 * metrics and the logs all say the same.
 */
#ifndef CS_NAMES_H
#define CS_NAMES_H

#include <stddef.h>
#include <linux/types.h>

/* Name and help text of a learn reason code (CS_R_*), or NULL for the
 * group marker and past CS_R_MAX. */
const char *cs_reason_name(__u32 reason);
const char *cs_reason_help(__u32 reason);

/* The name and meaning of an instance program reason (CS_I_*); NULL past CS_I_MAX. */
const char *cs_inst_reason_name(__u32 reason);
const char *cs_inst_reason_help(__u32 reason);

/* The name and meaning of why the instance program refused a chain header
 * (CS_NSH_*, CS_NSH_OK the one that is no refusal); NULL past CS_NSH_MAX. */
const char *cs_nsh_reason_name(__u32 reason);
const char *cs_nsh_reason_help(__u32 reason);

/* The name and meaning of a steer flow counter (CS_S_*); NULL past CS_S_MAX. */
const char *cs_steer_counter_name(__u32 counter);
const char *cs_steer_counter_help(__u32 counter);

/* The words the CLI uses for steer's enums: "route"/"encap", "bypass"/"drop",
 * "flow"/"hosts" (a chain's affinity, from its flags),
 * "down"/"up"/"draining"/"warming"; "?" for a value this build does not know. */
const char *cs_chain_mode_name(__u32 mode);
const char *cs_on_failure_name(__u32 on_failure);
const char *cs_chain_affinity_name(__u32 chain_flags);
const char *cs_inst_state_name(__u32 state);

/* A stream's TCP (or active) state, on an instance node or in a steer flow:
 * "established", ...; "?" */
const char *cs_stream_state_name(__u32 state);

/* "exact", "wildcard", "subtree" or "?" */
const char *cs_match_kind_name(__u32 kind);

/* "loopback", "link_local", ... for a never-steer kind; "?" for others. */
const char *cs_never_kind_name(__u32 kind);
/* What a never-steer kind means, for a reason in a sentence: "a loopback
 * address", ...; "a never-steer range" for others. */
const char *cs_never_kind_help(__u32 kind);

/* "tcp", "udp", "icmp", "icmpv6", else the number (in buf). */
const char *cs_proto_name(__u32 proto, char *buf, size_t len);

#endif
