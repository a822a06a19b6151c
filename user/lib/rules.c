// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/random.h>

#include <bpf/bpf.h>

#include "rules.h"
#include "namehash.h"

__u64 cs_text_label_hash(const __u64 key[2], const char *label, size_t len)
{
	__u64 h = cs_label_begin(key, (__u32)len);
	size_t i, j;

	for (i = 0; i < len; i += 8) {
		__u64 w = 0;

		for (j = 0; j < 8 && i + j < len; j++)
			w |= (__u64)(__u8)label[i + j] << (8 * j);	/* little-endian, as BPF loads */
		h = cs_label_word(h, cs_lower8(w));
	}
	return cs_label_end(h);
}

__u64 cs_text_name_hash(const __u64 key[2], const char *name, __u32 *labels)
{
	__u64 hashes[CS_LABELS_MAX + 1], suffix = cs_suffix_seed(key);
	const char *p = name;
	__u32 n = 0;

	while (*p && n <= CS_LABELS_MAX) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		hashes[n++] = cs_text_label_hash(key, p, len);
		p += len + (dot ? 1 : 0);
	}
	if (labels)
		*labels = n;
	while (n > 0)
		suffix = cs_suffix_fold(suffix, hashes[--n]);
	return suffix;
}

/* Patterns are added in hash order, so a name's entry, if any, is the last. */
static struct cs_rule_name_entry *entry_for(struct cs_ruleset *rs, __u64 hash, size_t *cap)
{
	if (rs->n_names && rs->names[rs->n_names - 1].hash == hash)
		return &rs->names[rs->n_names - 1];
	if (rs->n_names == *cap) {
		size_t ncap = *cap ? *cap * 2 : 64;
		void *p = realloc(rs->names, ncap * sizeof(*rs->names));

		if (!p)
			return NULL;
		rs->names = p;
		*cap = ncap;
	}
	memset(&rs->names[rs->n_names], 0, sizeof(rs->names[0]));
	rs->names[rs->n_names].hash = hash;
	return &rs->names[rs->n_names++];
}

struct pattern_slot {
	__u64 hash;
	size_t pattern;
};

static int cmp_slot(const void *a, const void *b)
{
	const struct pattern_slot *x = a, *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->pattern < y->pattern ? -1 : x->pattern > y->pattern;
}

static void say_tie(const struct cs_pattern *p, const struct cs_pattern *q, const char *why, char *err,
		    size_t errlen)
{
	snprintf(err, errlen, "%s:%d: pattern \"%s\" %s \"%s\" of the rule at %s:%d; "
		 "a name must have one most specific rule",
		 q->file, q->line, q->text, why, p->text, p->file, p->line);
}

/* Two patterns of one name: fine within a rule, a tie between rules unless
 * one is exact (exact beats the others for the name itself). */
static int check_pair(const struct cs_pattern *p, const struct cs_pattern *q, char *err, size_t errlen)
{
	if (strcmp(p->name, q->name)) {
		snprintf(err, errlen, "%s:%d: patterns \"%s\" and \"%s\" (%s:%d) hash alike; "
			 "run again (the hash key is random)", q->file, q->line, q->text, p->text,
			 p->file, p->line);
		return -1;
	}
	if (p->rule == q->rule)
		return 0;
	if (p->kind == q->kind) {
		say_tie(p, q, "repeats", err, errlen);
		return -1;
	}
	if (p->kind != CS_MATCH_EXACT && q->kind != CS_MATCH_EXACT) {
		say_tie(p, q, "matches the same names as", err, errlen);
		return -1;
	}
	return 0;
}

int cs_rules_compile(const struct cs_conf *conf, const __u64 key[2], struct cs_ruleset *rs,
		     char *err, size_t errlen)
{
	struct pattern_slot *slots;
	size_t i, cap = 0;

	memset(rs, 0, sizeof(*rs));
	rs->key[0] = key[0];
	rs->key[1] = key[1];
	rs->n_rules = conf->n_rules + 1;
	rs->rules = calloc(rs->n_rules, sizeof(*rs->rules));
	slots = calloc(conf->n_patterns ? conf->n_patterns : 1, sizeof(*slots));
	if (!rs->rules || !slots)
		goto oom;

	for (i = 0; i < conf->n_rules; i++) {
		const struct cs_rule_conf *r = &conf->rules[i];
		struct cs_rule *out = &rs->rules[cs_rule_id(i)];

		out->ttl_min = r->ttl.min;
		out->ttl_max = r->ttl.max;
		out->ttl_grace = r->ttl.grace;
		out->priority = r->priority;
		out->chain_id = cs_chain_id_of(conf, r->chain);
	}

	for (i = 0; i < conf->n_patterns; i++) {
		slots[i].hash = cs_text_name_hash(key, conf->patterns[i].name, NULL);
		slots[i].pattern = i;
	}
	qsort(slots, conf->n_patterns, sizeof(*slots), cmp_slot);

	for (i = 0; i < conf->n_patterns; i++) {
		const struct cs_pattern *p = &conf->patterns[slots[i].pattern];
		struct cs_rule_name_entry *e;
		struct cs_pattern_ref *ref;
		size_t j;

		for (j = i; j-- > 0 && slots[j].hash == slots[i].hash;)
			if (check_pair(&conf->patterns[slots[j].pattern], p, err, errlen))
				goto fail;
		e = entry_for(rs, slots[i].hash, &cap);
		if (!e)
			goto oom;
		ref = &e->value.kind[p->kind];
		if (ref->pattern_id)
			continue;	/* the same pattern twice in one rule: first one stands */
		ref->pattern_id = p->id;
		ref->rule_id = cs_rule_id(p->rule);
		rs->depth_mask[p->depth >> 6] |= 1ULL << (p->depth & 63);
	}
	free(slots);
	return 0;
oom:
	snprintf(err, errlen, "%s: out of memory compiling the rules", conf->files[0]);
fail:
	free(slots);
	cs_rules_free(rs);
	return -1;
}

void cs_rules_free(struct cs_ruleset *rs)
{
	free(rs->names);
	free(rs->rules);
	memset(rs, 0, sizeof(*rs));
}

int cs_rules_write(const struct cs_ruleset *rs, const struct cs_conf *conf, int rule_names_fd,
		   int rules_fd, int config_fd)
{
	struct cs_config cfg = { 0 }, old;
	__u32 zero = 0, i;
	size_t n;

	for (i = 0; i < rs->n_rules; i++)
		if (bpf_map_update_elem(rules_fd, &i, &rs->rules[i], BPF_ANY))
			return -errno;
	for (n = 0; n < rs->n_names; n++)
		if (bpf_map_update_elem(rule_names_fd, &rs->names[n].hash, &rs->names[n].value, BPF_ANY))
			return -errno;
	cfg.name_key[0] = rs->key[0];
	cfg.name_key[1] = rs->key[1];
	cfg.depth_mask[0] = rs->depth_mask[0];
	cfg.depth_mask[1] = rs->depth_mask[1];
	cfg.max_records = conf->max_records;
	cfg.flags = CS_CFG_READY | (conf->n_resolvers ? CS_CFG_RESOLVERS : 0) |
		    (conf->match_queries ? CS_CFG_QUERIES : 0);
	cfg.query_window_ms = conf->query_window_ms;
	if (!bpf_map_lookup_elem(config_fd, &zero, &old))
		cfg.generation = old.generation + 1;
	/* the affinity key decides which instance every stream goes to: the
	 * mesh's when the config gives one (instances recompute codes with
	 * it), else a random one that outlives reloads and restarts */
	if (conf->has_affinity_key) {
		cfg.affinity_key[0] = conf->affinity_key[0];
		cfg.affinity_key[1] = conf->affinity_key[1];
	} else if (!bpf_map_lookup_elem(config_fd, &zero, &old) && (old.affinity_key[0] | old.affinity_key[1])) {
		cfg.affinity_key[0] = old.affinity_key[0];
		cfg.affinity_key[1] = old.affinity_key[1];
	} else if (getrandom(cfg.affinity_key, sizeof(cfg.affinity_key), 0) != sizeof(cfg.affinity_key)) {
		return -errno;
	}
	if (bpf_map_update_elem(config_fd, &zero, &cfg, BPF_ANY))
		return -errno;
	return 0;
}
