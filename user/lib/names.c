// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdio.h>

#include "names.h"
#include "cloudsteer.h"

#define CS_REASON_NAME(sym, name, help) [CS_R_##sym] = name,
#define CS_REASON_HELP(sym, name, help) [CS_R_##sym] = help,
static const char *const reason_names[CS_R_MAX] = {
	CS_PACKET_REASONS(CS_REASON_NAME) CS_RECORD_REASONS(CS_REASON_NAME)
};
static const char *const reason_help[CS_R_MAX] = {
	CS_PACKET_REASONS(CS_REASON_HELP) CS_RECORD_REASONS(CS_REASON_HELP)
};

const char *cs_reason_name(__u32 reason)
{
	return reason < CS_R_MAX ? reason_names[reason] : NULL;
}

const char *cs_reason_help(__u32 reason)
{
	return reason < CS_R_MAX ? reason_help[reason] : NULL;
}

/* A name and what it means, for the X-macro lists of counters. */
struct named {
	const char *name, *help;
};

static const struct named inst_reasons[CS_I_MAX] = {
#define CS_INSTANCE_REASON_ROW(sym, name, help) [CS_I_##sym] = { name, help },
	CS_INSTANCE_REASONS(CS_INSTANCE_REASON_ROW)
#undef CS_INSTANCE_REASON_ROW
};

static const struct named nsh_reasons[CS_NSH_MAX] = {
#define CS_NSH_REASON_ROW(sym, name, help) [CS_NSH_##sym] = { name, help },
	CS_NSH_REASONS(CS_NSH_REASON_ROW)
#undef CS_NSH_REASON_ROW
};

static const struct named steer_counters[CS_S_MAX] = {
#define CS_STEER_COUNTER_ROW(sym, name, help) [CS_S_##sym] = { name, help },
	CS_STEER_COUNTERS(CS_STEER_COUNTER_ROW)
#undef CS_STEER_COUNTER_ROW
};

const char *cs_inst_reason_name(__u32 reason)
{
	return reason < CS_I_MAX ? inst_reasons[reason].name : NULL;
}

const char *cs_inst_reason_help(__u32 reason)
{
	return reason < CS_I_MAX ? inst_reasons[reason].help : NULL;
}

const char *cs_nsh_reason_name(__u32 reason)
{
	return reason < CS_NSH_MAX ? nsh_reasons[reason].name : NULL;
}

const char *cs_nsh_reason_help(__u32 reason)
{
	return reason < CS_NSH_MAX ? nsh_reasons[reason].help : NULL;
}

const char *cs_steer_counter_name(__u32 counter)
{
	return counter < CS_S_MAX ? steer_counters[counter].name : NULL;
}

const char *cs_steer_counter_help(__u32 counter)
{
	return counter < CS_S_MAX ? steer_counters[counter].help : NULL;
}

const char *cs_chain_mode_name(__u32 mode)
{
	return mode == CS_MODE_ROUTE ? "route" : mode == CS_MODE_ENCAP ? "encap" : mode == CS_MODE_NSH ? "nsh" : "?";
}

const char *cs_on_failure_name(__u32 on_failure)
{
	return on_failure == CS_FAIL_BYPASS ? "bypass" : on_failure == CS_FAIL_DROP ? "drop" : "?";
}

const char *cs_chain_affinity_name(__u32 chain_flags)
{
	return chain_flags & CS_CHAIN_AFFINITY_HOSTS ? "hosts" : "flow";
}

const char *cs_inst_state_name(__u32 state)
{
	switch (state) {
	case CS_INST_DOWN: return "down";
	case CS_INST_UP: return "up";
	case CS_INST_DRAINING: return "draining";
	case CS_INST_WARMING: return "warming";
	default: return "?";
	}
}

const char *cs_stream_state_name(__u32 state)
{
	static const char *const names[CS_ST_MAX] = {
		[CS_ST_NONE] = "none",		 [CS_ST_SYN_SENT] = "syn_sent", [CS_ST_SYN_RECV] = "syn_recv",
		[CS_ST_ESTABLISHED] = "established", [CS_ST_CLOSING] = "closing",	 [CS_ST_CLOSED] = "closed",
		[CS_ST_ACTIVE] = "active",
	};

	return state < CS_ST_MAX ? names[state] : "?";
}

const char *cs_match_kind_name(__u32 kind)
{
	switch (kind) {
	case CS_MATCH_EXACT: return "exact";
	case CS_MATCH_WILD: return "wildcard";
	case CS_MATCH_SUBTREE: return "subtree";
	default: return "?";
	}
}

const char *cs_never_kind_name(__u32 kind)
{
	static const char *const names[CS_NEVER_KINDS] = {
		[CS_NEVER_LOOPBACK] = "loopback",   [CS_NEVER_LINK_LOCAL] = "link_local",
		[CS_NEVER_MULTICAST] = "multicast", [CS_NEVER_UNSPECIFIED] = "unspecified",
		[CS_NEVER_LOCAL] = "local",	    [CS_NEVER_CONFIGURED] = "configured",
	};

	return kind < CS_NEVER_KINDS && names[kind] ? names[kind] : "?";
}

const char *cs_never_kind_help(__u32 kind)
{
	switch (kind) {
	case CS_NEVER_LOOPBACK: return "a loopback address";
	case CS_NEVER_LINK_LOCAL: return "a link-local address";
	case CS_NEVER_MULTICAST: return "a multicast or broadcast address";
	case CS_NEVER_UNSPECIFIED: return "an unspecified address";
	case CS_NEVER_LOCAL: return "one of this host's own addresses";
	case CS_NEVER_CONFIGURED: return "in learn.never_steer";
	default: return "a never-steer range";
	}
}

const char *cs_proto_name(__u32 proto, char *buf, size_t len)
{
	if (proto == 6)
		return "tcp";
	if (proto == 17)
		return "udp";
	if (proto == 1)
		return "icmp";
	if (proto == 58)
		return "icmpv6";
	snprintf(buf, len, "%u", proto);
	return buf;
}
