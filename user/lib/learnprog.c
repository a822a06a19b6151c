// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "learnprog.h"
#include "log.h"
#include "learn.skel.h"

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

int cs_sum_percpu(int map_fd, __u64 *out, __u32 n)
{
	int ncpu = libbpf_num_possible_cpus();
	__u64 *vals;
	__u32 i;
	int c;

	if (ncpu < 0)
		return ncpu;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		out[i] = 0;
		if (bpf_map_lookup_elem(map_fd, &i, vals)) {
			free(vals);
			return -errno;
		}
		for (c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	free(vals);
	return 0;
}

static int write_resolvers(int fd, const struct cs_conf *conf)
{
	__u32 one = 1;
	size_t i;

	for (i = 0; i < conf->n_resolvers; i++)
		if (bpf_map_update_elem(fd, &conf->resolvers[i], &one, BPF_ANY))
			return -errno;
	return 0;
}

static int stock_acl_pool(int fd, __u32 n)
{
	__u32 id;

	for (id = 1; id <= n; id++)
		if (bpf_map_update_elem(fd, NULL, &id, BPF_ANY))
			return -errno;
	return 0;
}

struct learn_bpf *cs_learn_load(const struct cs_conf *conf, const struct cs_learn_opts *opts,
				struct cs_ruleset *rs, char *err, size_t errlen)
{
	struct learn_bpf *skel;
	__u64 key[2];
	int e;

	if (getrandom(key, sizeof(key), 0) != sizeof(key)) {
		snprintf(err, errlen, "cannot get random bytes for the name hash key: %s", strerror(errno));
		return NULL;
	}
	if (cs_rules_compile(conf, key, rs, err, errlen))
		return NULL;
	skel = learn_bpf__open();
	if (!skel) {
		snprintf(err, errlen, "cannot open the learn program: %s", strerror(errno));
		goto fail_rules;
	}
	skel->rodata->report_refresh = opts->report_refresh;
	skel->rodata->reuse_repeats = !opts->walk_repeats;
	if (opts->lazy_tables) {
		bpf_map__set_map_flags(skel->maps.cs_records, BPF_F_NO_PREALLOC);
		bpf_map__set_map_flags(skel->maps.cs_routes, BPF_F_NO_PREALLOC);
	}
	e = learn_bpf__load(skel);
	if (e) {
		snprintf(err, errlen, "the kernel refused the learn program (%s)%s", strerror(-e),
			 e == -EPERM ? ": run as root" : "; run with -v -v for the verifier's log");
		goto fail_skel;
	}
	e = write_resolvers(bpf_map__fd(skel->maps.cs_resolvers), conf);
	if (!e)
		e = cs_rules_write(rs, conf, bpf_map__fd(skel->maps.cs_rule_names),
				   bpf_map__fd(skel->maps.cs_rules), bpf_map__fd(skel->maps.cs_config));
	if (!e)
		e = stock_acl_pool(bpf_map__fd(skel->maps.cs_acl_pool), opts->acl_ids);
	if (e) {
		snprintf(err, errlen, "cannot fill the learn maps: %s", strerror(-e));
		goto fail_skel;
	}
	return skel;
fail_skel:
	learn_bpf__destroy(skel);
fail_rules:
	cs_rules_free(rs);
	return NULL;
}
