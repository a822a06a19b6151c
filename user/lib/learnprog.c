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
#include "maps.h"
#include "never.h"
#include "pins.h"
#include "quota.h"
#include "learn.skel.h"

struct prune {
	int fd;
	bool (*keep)(const void *key, const void *ctx);
	const void *ctx;
	int err;
};

static bool prune_one(const void *key, void *ctx)
{
	struct prune *p = ctx;

	if (!p->keep(key, p->ctx) && bpf_map_delete_elem(p->fd, key) && errno != ENOENT) {
		p->err = -errno;
		return false;
	}
	return true;
}

/* Remove every key of map fd for which keep(key) is false. */
static int prune_map(int fd, size_t key_size, bool (*keep)(const void *key, const void *ctx),
		     const void *ctx)
{
	struct prune p = { fd, keep, ctx, 0 };
	int e = cs_map_walk(fd, key_size, prune_one, &p);

	return e ? e : p.err;
}

/* The ids a prune keeps, sorted: prune_map asks once per entry, and a
 * 100,000-pattern list asked linearly took seconds at every start and reload. */
struct keep_set {
	__u64 *v;
	size_t n;
};

static bool keep_set_has(const struct keep_set *ks, __u64 v)
{
	return ks->n && bsearch(&v, ks->v, ks->n, sizeof(v), cs_cmp_u64);
}

static int keep_set_sort(struct keep_set *ks)
{
	if (ks->n && !ks->v)
		return -ENOMEM;
	qsort(ks->v, ks->n, sizeof(*ks->v), cs_cmp_u64);
	return 0;
}

static bool resolver_listed(const void *key, const void *ctx)
{
	const struct cs_conf *conf = ctx;
	size_t i;

	for (i = 0; i < conf->n_resolvers; i++)
		if (!memcmp(&conf->resolvers[i], key, sizeof(struct cs_addr)))
			return true;
	return false;
}

static bool pattern_listed(const void *key, const void *ctx)
{
	__u32 id;

	memcpy(&id, key, sizeof(id));
	return keep_set_has(ctx, id);
}

static bool rule_name_listed(const void *key, const void *ctx)
{
	__u64 h;

	memcpy(&h, key, sizeof(h));
	return keep_set_has(ctx, h);
}

/* Stale patterns and rule names go after the new ones are in, so no answer
 * finds neither. */
static int prune_rules(struct learn_bpf *skel, const struct cs_conf *conf, const struct cs_ruleset *rs)
{
	struct keep_set ids = { calloc(conf->n_patterns, sizeof(__u64)), conf->n_patterns };
	struct keep_set names = { calloc(rs->n_names, sizeof(__u64)), rs->n_names };
	size_t i;
	int e;

	for (i = 0; ids.v && i < conf->n_patterns; i++)
		ids.v[i] = conf->patterns[i].id;
	for (i = 0; names.v && i < rs->n_names; i++)
		names.v[i] = rs->names[i].hash;
	e = keep_set_sort(&ids);
	if (!e)
		e = keep_set_sort(&names);
	if (!e)
		e = prune_map(bpf_map__fd(skel->maps.cs_rule_names), sizeof(__u64), rule_name_listed, &names);
	if (!e)
		e = prune_map(bpf_map__fd(skel->maps.cs_patterns), sizeof(__u32), pattern_listed, &ids);
	free(ids.v);
	free(names.v);
	return e;
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

static int write_patterns(int fd, const struct cs_conf *conf)
{
	size_t i;

	for (i = 0; i < conf->n_patterns; i++) {
		struct cs_pattern_info pi = { .rule_id = cs_rule_id(conf->patterns[i].rule),
					      .kind = conf->patterns[i].kind };
		__u32 id = conf->patterns[i].id;

		snprintf(pi.text, sizeof(pi.text), "%s", conf->patterns[i].text);
		if (bpf_map_update_elem(fd, &id, &pi, BPF_ANY))
			return -errno;
	}
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

int cs_keep_pattern_ids(int patterns_fd, struct cs_conf *conf)
{
	struct cs_pattern_info pi;
	__u32 key, *prev = NULL, max_id = 0;
	size_t i;

	for (i = 0; i < conf->n_patterns; i++)
		conf->patterns[i].id = 0;
	while (!bpf_map_get_next_key(patterns_fd, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(patterns_fd, &key, &pi))
			continue;
		max_id = key > max_id ? key : max_id;
		for (i = 0; i < conf->n_patterns; i++)
			if (!conf->patterns[i].id && !strncmp(conf->patterns[i].text, pi.text, sizeof(pi.text)))
				conf->patterns[i].id = key;
	}
	for (i = 0; i < conf->n_patterns; i++)
		if (!conf->patterns[i].id)
			conf->patterns[i].id = ++max_id;
	return 0;
}

static int write_quota_limits(int fd, const struct cs_conf *conf)
{
	struct cs_rule_quota *q = cs_quota_map(fd);

	if (!q)
		return -errno;
	cs_quota_write_limits(q, conf);
	cs_quota_unmap(q);
	return 0;
}

int cs_learn_configure(struct learn_bpf *skel, const struct cs_conf *conf, const struct cs_ruleset *rs)
{
	int e = write_resolvers(bpf_map__fd(skel->maps.cs_resolvers), conf);

	if (!e)
		e = cs_never_write(bpf_map__fd(skel->maps.cs_never), conf);
	if (!e)
		e = write_quota_limits(bpf_map__fd(skel->maps.cs_rule_quota), conf);
	if (!e)
		e = prune_map(bpf_map__fd(skel->maps.cs_resolvers), sizeof(struct cs_addr), resolver_listed, conf);
	if (!e)
		e = write_patterns(bpf_map__fd(skel->maps.cs_patterns), conf);
	if (!e)
		e = cs_rules_write(rs, conf, bpf_map__fd(skel->maps.cs_rule_names),
				   bpf_map__fd(skel->maps.cs_rules), bpf_map__fd(skel->maps.cs_config));
	if (!e)
		e = prune_rules(skel, conf, rs);
	return e;
}

/* The name hash key of a pinned config, if it has one: records are keyed by
 * name hashes, so a daemon that adopts them must hash names the same way. */
static bool pinned_key(struct learn_bpf *skel, __u64 key[2])
{
	struct cs_config cfg;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.cs_config), &zero, &cfg) ||
	    !(cfg.flags & CS_CFG_READY))
		return false;
	key[0] = cfg.name_key[0];
	key[1] = cfg.name_key[1];
	return true;
}

struct learn_bpf *cs_learn_load(struct cs_conf *conf, const struct cs_learn_opts *opts,
				struct cs_ruleset *rs, char *err, size_t errlen)
{
	return cs_learn_load_adopting(conf, opts, rs, NULL, err, errlen);
}

struct learn_bpf *cs_learn_load_adopting(struct cs_conf *conf, const struct cs_learn_opts *opts,
				      struct cs_ruleset *rs, struct cs_learn_adopted *adopted,
				      char *err, size_t errlen)
{
	struct cs_learn_adopted found = { 0 };
	struct learn_bpf *skel;
	__u64 key[2];
	int e;

	memset(rs, 0, sizeof(*rs));
	skel = learn_bpf__open();
	if (!skel) {
		snprintf(err, errlen, "cannot open the learn program: %s", strerror(errno));
		return NULL;
	}
	skel->rodata->report_refresh = opts->report_refresh;
	skel->rodata->reuse_repeats = !opts->walk_repeats;
	skel->rodata->report_extended = opts->report_extended;
	if (opts->lazy_tables) {
		bpf_map__set_map_flags(skel->maps.cs_records, BPF_F_NO_PREALLOC);
		bpf_map__set_map_flags(skel->maps.cs_routes, BPF_F_NO_PREALLOC);
	}
	/* the table limits of the config; a name per record at most */
	bpf_map__set_max_entries(skel->maps.cs_records, conf->limit_records);
	bpf_map__set_max_entries(skel->maps.cs_names, conf->limit_records);
	bpf_map__set_max_entries(skel->maps.cs_routes, conf->limit_routes);
	if (opts->pin_dir) {
		found.reused_maps = cs_pins_reuse(skel->obj, opts->pin_dir, err, errlen);
		if (found.reused_maps < 0)
			goto fail_skel;
	}
	e = learn_bpf__load(skel);
	if (e) {
		snprintf(err, errlen, "the kernel refused the learn program (%s)%s", strerror(-e),
			 e == -EPERM ? ": run as root" : "; run with -v -v for the verifier's log");
		goto fail_skel;
	}
	found.had_config = found.reused_maps > 0 && pinned_key(skel, key);
	if (!found.had_config && getrandom(key, sizeof(key), 0) != sizeof(key)) {
		snprintf(err, errlen, "cannot get random bytes for the name hash key: %s", strerror(errno));
		goto fail_skel;
	}
	if (found.reused_maps > 0)
		cs_keep_pattern_ids(bpf_map__fd(skel->maps.cs_patterns), conf);
	if (cs_rules_compile(conf, key, rs, err, errlen))
		goto fail_skel;
	e = cs_learn_configure(skel, conf, rs);
	/* a fresh pool only: an adopted one holds the ids the routes do not */
	if (!e && found.reused_maps <= 0)
		e = stock_acl_pool(bpf_map__fd(skel->maps.cs_acl_pool), opts->acl_ids);
	if (e) {
		snprintf(err, errlen, "cannot fill the learn maps: %s", strerror(-e));
		goto fail_rules;
	}
	if (opts->pin_dir && cs_pins_pin(skel->obj, opts->pin_dir, err, errlen))
		goto fail_rules;
	if (adopted)
		*adopted = found;
	return skel;
fail_rules:
	cs_rules_free(rs);
fail_skel:
	learn_bpf__destroy(skel);
	return NULL;
}
