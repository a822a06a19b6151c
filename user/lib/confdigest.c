// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "confdigest.h"
#include "siphash.h"

const char *const cs_digest_part_names[CS_DIGEST_PARTS] = {
	[CS_DIGEST_RULES] = "rules",
	[CS_DIGEST_CHAINS] = "chains",
	[CS_DIGEST_AFFINITY_KEY] = "mesh.affinity_key",
	[CS_DIGEST_SYNC_KEY] = "mesh.sync_key",
};

/* Public on purpose: a digest names a config, it hides nothing but keys,
 * and those are 128 random bits. */
static const __u8 digest_key[CS_SIPHASH_KEY_LEN] = "cloudsteer-conf";

static __u64 digest_bytes(const void *p, size_t len)
{
	__u8 tag[CS_SIPHASH_TAG_LEN];
	__u64 d;

	cs_siphash128(digest_key, p, len, tag);
	memcpy(&d, tag, sizeof(d));
	return d;
}

/* The canonical text of a part is written to a memory stream and digested
 * whole: one line a fact, each fact a word and its values, so no two
 * configs make the same text. */
struct text {
	FILE *f;
	char *buf;
	size_t len;
};

static int text_open(struct text *t)
{
	t->buf = NULL;
	t->len = 0;
	t->f = open_memstream(&t->buf, &t->len);
	return t->f ? 0 : -ENOMEM;
}

static __u64 text_digest(struct text *t)
{
	__u64 d;

	fclose(t->f);
	d = digest_bytes(t->buf, t->len);
	free(t->buf);
	return d;
}

static const char *or_default(const char *s, const char *dflt)
{
	return s && *s ? s : dflt;
}

/* Every rule's text in one pass over the patterns (a list of 100,000
 * patterns is read once, not once a rule). */
static int rule_texts(const struct cs_conf *conf, struct text *t)
{
	size_t i;

	for (i = 0; i < conf->n_rules; i++)
		if (text_open(&t[i])) {
			while (i--)
				text_digest(&t[i]);
			return -ENOMEM;
		}
	for (i = 0; i < conf->n_patterns; i++)
		fprintf(t[conf->patterns[i].rule].f, "pattern %s\n", conf->patterns[i].text);
	for (i = 0; i < conf->n_rules; i++) {
		const struct cs_rule_conf *r = &conf->rules[i];

		fprintf(t[i].f, "chain %s\npriority %u\nttl %u %u %u\n", or_default(r->chain, "-"), r->priority,
			r->ttl.min, r->ttl.max, r->ttl.grace);
	}
	return 0;
}

/* An address as this build prints it, so "10.0.0.01"-like spellings of one
 * address agree. */
static const char *address_text(const char *given, char *buf, size_t len)
{
	struct cs_addr a;

	return cs_addr_parse(given, &a) ? given : cs_addr_format(&a, buf, len);
}

/* A chain written with stages: each stage's name, instances and health. A
 * chain written the old way adds nothing, so its digest stays what it was. */
static void write_stages(FILE *f, const struct cs_chain_conf *c)
{
	size_t k;

	for (k = 0; c->stages_given && k < c->n_stages; k++) {
		const struct cs_stage_conf *s = &c->stages[k];
		const struct cs_health_conf *h = &s->health;

		fprintf(f, "stage %s %zu %zu health %s %u %u %u %u %u %u\n", s->name, s->first, s->n,
			or_default(h->probe, "-"), h->port, h->interval_ms, h->timeout_ms, h->fall, h->rise,
			h->warmup_ms);
	}
}

static void write_chain(FILE *f, const struct cs_chain_conf *c)
{
	const struct cs_health_conf *h = &c->health;
	char addr[CS_ADDR_TEXT_MAX];
	size_t i;

	fprintf(f, "chain %s\nvni %u\nmode %s\non_failure %s\nsymmetric %d\n", c->name, c->vni,
		or_default(c->mode, "route"), or_default(c->on_failure, "bypass"), c->symmetric);
	/* written only when not the default, so a chain's digest stays what
	 * nodes of a release without the key compute */
	if (c->affinity_hosts)
		fputs("affinity hosts\n", f);
	fprintf(f, "health %s %u %u %u %u %u %u\n", or_default(h->probe, "-"), h->port, h->interval_ms,
		h->timeout_ms, h->fall, h->rise, h->warmup_ms);
	for (i = 0; i < c->n_instances; i++) {
		const struct cs_instance_conf *in = &c->instances[i];

		fprintf(f, "instance %s %s", in->name, address_text(in->address, addr, sizeof(addr)));
		if (in->has_mac)
			fprintf(f, " %02x:%02x:%02x:%02x:%02x:%02x", in->mac[0], in->mac[1], in->mac[2], in->mac[3],
				in->mac[4], in->mac[5]);
		fputc('\n', f);
	}
	write_stages(f, c);
}

/* A key's digest; 0 stands for none given. */
static __u64 key_digest(bool given, const __u64 key[2])
{
	return given ? digest_bytes(key, 2 * sizeof(key[0])) | 1 : 0;
}

int cs_rule_digests(const struct cs_conf *conf, __u64 *out)
{
	struct text *t = calloc(conf->n_rules ? conf->n_rules : 1, sizeof(*t));
	size_t i;

	if (!t || rule_texts(conf, t)) {
		free(t);
		return -ENOMEM;
	}
	for (i = 0; i < conf->n_rules; i++)
		out[i] = text_digest(&t[i]);
	free(t);
	return 0;
}

int cs_conf_digest(const struct cs_conf *conf, struct cs_conf_digest *d)
{
	__u64 *rules = calloc(conf->n_rules ? conf->n_rules : 1, sizeof(*rules));
	struct text chains;
	size_t i;

	memset(d, 0, sizeof(*d));
	if (!rules || cs_rule_digests(conf, rules) || text_open(&chains)) {
		free(rules);
		return -ENOMEM;
	}
	for (i = 0; i < conf->n_chains; i++)
		write_chain(chains.f, &conf->chains[i]);
	d->part[CS_DIGEST_RULES] = digest_bytes(rules, conf->n_rules * sizeof(*rules));
	d->part[CS_DIGEST_CHAINS] = text_digest(&chains);
	d->part[CS_DIGEST_AFFINITY_KEY] = key_digest(conf->has_affinity_key, conf->affinity_key);
	d->part[CS_DIGEST_SYNC_KEY] = key_digest(conf->has_sync_key, conf->sync_key);
	d->random_affinity_key = !conf->has_affinity_key;
	d->all = digest_bytes(d->part, sizeof(d->part));
	free(rules);
	return 0;
}

const char *cs_digest_text(__u64 d, char *buf, size_t len)
{
	snprintf(buf, len, "%016llx", (unsigned long long)d);
	return buf;
}
