// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bpffs.h"
#include "ids.h"
#include "maps.h"
#include "pinned.h"
#include "pins.h"

/* ---- opening ---- */

/* What each map must look like; order and index follow enum cs_pinned_map. */
struct map_spec {
	const char *name;
	enum bpf_map_type type;
	__u32 key_size;
	__u32 value_size;
	__u32 min_entries;	/* lookups by index go up to this */
	bool optional;		/* may be missing: older state, or no steer */
};

static const struct map_spec specs[CS_M_COUNT] = {
	[CS_M_RECORDS] = { "cs_records", BPF_MAP_TYPE_HASH, sizeof(struct cs_record_key),
			   sizeof(struct cs_record), 1 },
	[CS_M_ROUTES] = { "cs_routes", BPF_MAP_TYPE_HASH, sizeof(struct cs_addr), sizeof(struct cs_route), 1 },
	[CS_M_NAMES] = { "cs_names", BPF_MAP_TYPE_HASH, sizeof(__u64), sizeof(struct cs_name), 1 },
	[CS_M_PATTERNS] = { "cs_patterns", BPF_MAP_TYPE_HASH, sizeof(__u32), sizeof(struct cs_pattern_info), 1 },
	[CS_M_RULES] = { "cs_rules", BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(struct cs_rule), 1 },
	[CS_M_RULE_STATS] = { "cs_rule_stats", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
			      sizeof(struct cs_rule_stat), 1 },
	[CS_M_LEARN_STATS] = { "cs_learn_stats", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32), sizeof(__u64),
			       CS_R_MAX },
	[CS_M_ACL_POOL] = { "cs_acl_pool", BPF_MAP_TYPE_QUEUE, 0, sizeof(__u32), 1 },
	[CS_M_FLOWS] = { "cs_flows", BPF_MAP_TYPE_HASH, sizeof(struct cs_flow_key), sizeof(struct cs_flow), 1,
			 true },
	[CS_M_ACL_STATS] = { "cs_acl_stats", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
			     sizeof(struct cs_acl_stat), 1, true },
	[CS_M_CHAINS] = { "cs_chains", BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(struct cs_chain), CS_CHAINS_MAX,
			  true },
	[CS_M_INSTANCES] = { "cs_instances", BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(struct cs_instance),
			     CS_INSTANCES_MAX, true },
	[CS_M_SERVICE_MAP] = { "cs_service_map", BPF_MAP_TYPE_ARRAY_OF_MAPS, sizeof(__u32), sizeof(__u32),
			       CS_CHAINS_MAX, true },
	[CS_M_INST_STATS] = { "cs_inst_stats", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
			      sizeof(struct cs_inst_stat), CS_INSTANCES_MAX, true },
	[CS_M_CONFIG] = { "cs_config", BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(struct cs_config), 1 },
	[CS_M_STREAMS] = { "cs_streams", BPF_MAP_TYPE_HASH, sizeof(struct cs_flow_key), sizeof(struct cs_stream),
			   1, true },
	[CS_M_INST_REASONS] = { "cs_inst_reasons", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32), sizeof(__u64),
				CS_I_MAX, true },
	[CS_M_SYNC_STATS] = { "cs_sync_stats", BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(struct cs_sync_stat), 1,
			      true },
	[CS_M_RULE_TRAFFIC] = { "cs_rule_traffic", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32),
				sizeof(struct cs_acl_stat), 1, true },
	[CS_M_NEVER] = { "cs_never", BPF_MAP_TYPE_LPM_TRIE, sizeof(struct cs_never_key), sizeof(__u32), 1, true },
	[CS_M_RULE_QUOTA] = { "cs_rule_quota", BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(struct cs_rule_quota),
			      1, true },
	[CS_M_CHAIN_IDS] = { "cs_chain_ids", BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(struct cs_id_holder),
			     CS_CHAINS_MAX, true },
	[CS_M_INSTANCE_IDS] = { "cs_instance_ids", BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(struct cs_id_holder),
				CS_INSTANCES_MAX, true },
	[CS_M_PEER_IDS] = { "cs_peer_ids", BPF_MAP_TYPE_ARRAY, sizeof(__u32), sizeof(struct cs_id_holder),
			    CS_INSTANCES_MAX, true },
	[CS_M_FLOWS_NEW] = { "cs_flows_new", BPF_MAP_TYPE_LRU_HASH, sizeof(struct cs_flow_key),
			     sizeof(struct cs_flow), 1, true },
	[CS_M_STEER_STATS] = { "cs_steer_stats", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32), sizeof(__u64),
			       CS_S_MAX, true },
	[CS_M_STREAMS_NEW] = { "cs_streams_new", BPF_MAP_TYPE_LRU_HASH, sizeof(struct cs_flow_key),
			       sizeof(struct cs_stream), 1, true },
	[CS_M_STAGE_MAP] = { "cs_stage_map", BPF_MAP_TYPE_ARRAY_OF_MAPS, sizeof(__u32), sizeof(__u32),
			     CS_CHAINS_MAX * CS_CHAIN_STAGES_MAX, true },
	[CS_M_NSH_REASONS] = { "cs_nsh_reasons", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(__u32), sizeof(__u64),
			       CS_NSH_MAX, true },
};

_Static_assert(CS_M_COUNT < 32, "every map has a bit of an unsigned (CS_PINNED_BIT)");

/* A directory that holds at least one entry: the daemon left state there. */
static bool dir_has_pins(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	bool any = false;

	if (!d)
		return false;
	while (!any && (de = readdir(d)))
		any = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return any;
}

static void say_no_state(const char *dir, const char *map, char *err, size_t errlen)
{
	int n;

	if (!cs_bpffs_present(dir, err, errlen))
		return;	/* no bpffs: no daemon has pinned anything here */
	n = snprintf(err, errlen, "no cloudsteer state in %s (is the daemon running, or was it detached?)", dir);

	/* Some pins but not this one: another version, or a detach cut short. */
	if (dir_has_pins(dir) && n > 0 && (size_t)n < errlen)
		snprintf(err + n, errlen - (size_t)n, "; %s is not pinned there", map);
}

static const char *layout_problem(const struct bpf_map_info *info, const struct map_spec *s)
{
	if (info->type != (__u32)s->type)
		return "its type differs";
	if (info->key_size != s->key_size || info->value_size != s->value_size)
		return "its key or value size differs";
	if (info->max_entries < s->min_entries)
		return "it has fewer entries than this version counts";
	return NULL;
}

/* may_miss: a map that is not pinned is left at fd -1, not an error. */
static int open_map(struct cs_pinned *pins, enum cs_pinned_map m, bool may_miss, char *err, size_t errlen)
{
	const struct map_spec *s = &specs[m];
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	const char *why;
	int fd = cs_pin_open(pins->dir, s->name);

	if (fd == -ENOENT && may_miss)
		return 0;
	if (fd == -ENOENT) {
		say_no_state(pins->dir, s->name, err, errlen);
		return fd;
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s/%s: %s%s", pins->dir, s->name, strerror(-fd),
			 fd == -EPERM || fd == -EACCES ? " (run as root, or with CAP_BPF)" : "");
		return fd;
	}
	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		int e = -errno;

		snprintf(err, errlen, "cannot read what %s/%s is: %s", pins->dir, s->name, strerror(-e));
		close(fd);
		return e;
	}
	why = layout_problem(&info, s);
	if (why) {
		/* reading it with our structs would misread it, or overrun them */
		snprintf(err, errlen, "%s/%s was made by another version of cloudsteer (%s): not read",
			 pins->dir, s->name, why);
		close(fd);
		return -EPROTO;
	}
	pins->fd[m] = fd;
	pins->max_entries[m] = info.max_entries;
	return 0;
}

/* Open the maps in want; those in may_miss may be absent. */
static int open_maps(struct cs_pinned *pins, const char *dir, unsigned want, unsigned may_miss, char *err,
		     size_t errlen)
{
	int m, e;

	memset(pins, 0, sizeof(*pins));
	pins->dir = dir;
	for (m = 0; m < CS_M_COUNT; m++)
		pins->fd[m] = -1;
	for (m = 0; m < CS_M_COUNT; m++) {
		if (!(want & CS_PINNED_BIT(m)))
			continue;
		e = open_map(pins, m, may_miss & CS_PINNED_BIT(m), err, errlen);
		if (e) {
			cs_pinned_close(pins);
			return e;
		}
	}
	return 0;
}

int cs_pinned_open(struct cs_pinned *pins, const char *dir, char *err, size_t errlen)
{
	unsigned optional = 0;
	int m;

	for (m = 0; m < CS_M_COUNT; m++)
		if (specs[m].optional)
			optional |= CS_PINNED_BIT(m);
	return open_maps(pins, dir, CS_PINNED_BIT(CS_M_COUNT) - 1, optional, err, errlen);
}

int cs_pinned_open_only(struct cs_pinned *pins, const char *dir, unsigned need, char *err, size_t errlen)
{
	return open_maps(pins, dir, need, 0, err, errlen);
}

int cs_pinned_open_with(struct cs_pinned *pins, const char *dir, unsigned need, unsigned optional, char *err,
			size_t errlen)
{
	return open_maps(pins, dir, need | optional, optional, err, errlen);
}

int cs_pinned_open_any(struct cs_pinned *pins, const char *dir, unsigned want, char *err, size_t errlen)
{
	return open_maps(pins, dir, want, want, err, errlen);
}

void cs_pinned_close(struct cs_pinned *pins)
{
	int m;

	for (m = 0; m < CS_M_COUNT; m++) {
		if (pins->fd[m] >= 0)
			close(pins->fd[m]);
		pins->fd[m] = -1;
	}
}

/* ---- one entry ---- */

/* The entry at key of map m into out (size octets), zero when m is an
 * optional map that is not there. */
static int lookup(const struct cs_pinned *pins, enum cs_pinned_map m, const void *key, void *out, size_t size)
{
	memset(out, 0, size);
	if (pins->fd[m] < 0)
		return -ENOENT;
	return bpf_map_lookup_elem(pins->fd[m], key, out) ? -errno : 0;
}

/* The counters of the per-CPU map m at key, summed (every field is a __u64). */
static int sum_stat(const struct cs_pinned *pins, enum cs_pinned_map m, __u32 key, void *out, size_t size)
{
	memset(out, 0, size);
	if (pins->fd[m] < 0)
		return -ENOENT;	/* an optional map that is not there */
	return cs_percpu_sum(pins->fd[m], key, 1, out, size / sizeof(__u64));
}

/* n single counters of the per-CPU array m, keys 0..n-1, summed. */
static int sum_counters(const struct cs_pinned *pins, enum cs_pinned_map m, __u64 *out, __u32 n)
{
	memset(out, 0, n * sizeof(*out));
	if (pins->fd[m] < 0)
		return -ENOENT;
	return cs_percpu_sum(pins->fd[m], 0, n, out, 1);
}

int cs_pinned_rule(const struct cs_pinned *pins, __u32 rule_id, struct cs_rule *out)
{
	return bpf_map_lookup_elem(pins->fd[CS_M_RULES], &rule_id, out) ? -errno : 0;
}

int cs_pinned_rule_stat(const struct cs_pinned *pins, __u32 rule_id, struct cs_rule_stat *out)
{
	return sum_stat(pins, CS_M_RULE_STATS, rule_id, out, sizeof(*out));
}

int cs_pinned_rule_quota(const struct cs_pinned *pins, __u32 rule_id, struct cs_rule_quota *out)
{
	return lookup(pins, CS_M_RULE_QUOTA, &rule_id, out, sizeof(*out));
}

int cs_pinned_rule_traffic(const struct cs_pinned *pins, __u32 rule_id, struct cs_acl_stat *out)
{
	return sum_stat(pins, CS_M_RULE_TRAFFIC, rule_id, out, sizeof(*out));
}

int cs_pinned_acl_stat(const struct cs_pinned *pins, __u32 acl_id, struct cs_acl_stat *out)
{
	return sum_stat(pins, CS_M_ACL_STATS, acl_id, out, sizeof(*out));
}

int cs_pinned_inst_stat(const struct cs_pinned *pins, __u32 id, struct cs_inst_stat *out)
{
	return sum_stat(pins, CS_M_INST_STATS, id, out, sizeof(*out));
}

int cs_pinned_instance(const struct cs_pinned *pins, __u32 id, struct cs_instance *out)
{
	return lookup(pins, CS_M_INSTANCES, &id, out, sizeof(*out));
}

int cs_pinned_config(const struct cs_pinned *pins, struct cs_config *out)
{
	__u32 zero = 0;

	return lookup(pins, CS_M_CONFIG, &zero, out, sizeof(*out));
}

int cs_pinned_flow(const struct cs_pinned *pins, const struct cs_flow_key *key, struct cs_flow *out, bool *proven)
{
	int e = lookup(pins, CS_M_FLOWS, key, out, sizeof(*out));

	*proven = !e;
	if (e)
		e = lookup(pins, CS_M_FLOWS_NEW, key, out, sizeof(*out));
	return e;
}

int cs_pinned_steer_stats(const struct cs_pinned *pins, __u64 *out)
{
	return sum_counters(pins, CS_M_STEER_STATS, out, CS_S_MAX);
}

int cs_pinned_learn_reasons(const struct cs_pinned *pins, __u64 *out)
{
	return sum_counters(pins, CS_M_LEARN_STATS, out, CS_R_MAX);
}

int cs_pinned_inst_reasons(const struct cs_pinned *pins, __u64 *out)
{
	return sum_counters(pins, CS_M_INST_REASONS, out, CS_I_MAX);
}

int cs_pinned_nsh_reasons(const struct cs_pinned *pins, __u64 *out)
{
	return sum_counters(pins, CS_M_NSH_REASONS, out, CS_NSH_MAX);
}

int cs_pinned_sync_stat(const struct cs_pinned *pins, struct cs_sync_stat *out)
{
	__u32 zero = 0;

	return lookup(pins, CS_M_SYNC_STATS, &zero, out, sizeof(*out));
}

int cs_pinned_ids(const struct cs_pinned *pins, struct cs_ids *out)
{
	int e = cs_ids_read(out, pins->fd[CS_M_CHAIN_IDS], pins->fd[CS_M_INSTANCE_IDS]);

	if (!e && (pins->fd[CS_M_CHAIN_IDS] < 0 || pins->fd[CS_M_INSTANCE_IDS] < 0))
		return -ENOENT;
	return e;
}

int cs_pinned_peer_ids(const struct cs_pinned *pins, struct cs_ids *out)
{
	int e = cs_ids_read(out, -1, pins->fd[CS_M_PEER_IDS]);

	return !e && pins->fd[CS_M_PEER_IDS] < 0 ? -ENOENT : e;
}
