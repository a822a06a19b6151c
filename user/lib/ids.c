// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * ids.c - chain and instance ids given by name and kept, and the wire ids
 * derived from the config alone (ids.h says which is which, and why).
 *
 * Chains and instances are numbered by the same steps over their own table
 * of holders: a `kind` below is one of the two.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "ids.h"
#include "config.h"
#include "namehash.h"
#include "pinned.h"

#define FNV_OFFSET 0xcbf29ce484222325ULL

static __u64 fnv1a(__u64 h, const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++)
		h = (h ^ *p) * CS_FNV_PRIME;
	return h;
}

__u64 cs_ids_digest(const char *chain, const char *instance)
{
	__u64 h = fnv1a(FNV_OFFSET, chain);

	if (instance)
		h = fnv1a(h * CS_FNV_PRIME, instance);	/* the 0x00 octet: h ^ 0 is h */
	return cs_mix64(h);
}

__u32 cs_wire_id(const char *chain, const char *instance)
{
	return (__u32)(cs_ids_digest(chain, instance) % 0xffffffffULL) + 1;
}

__u32 cs_vni_of_name(const char *chain)
{
	return (__u32)(cs_ids_digest(chain, NULL) % CS_VNI_MAX) + 1;
}

/* ---- giving ids ---- */

/* One chain or instance of the config that wants an id. */
struct wanted {
	const char *chain, *instance;	/* instance NULL: a chain */
	__u32 given;			/* `id:`; 0: none */
	int line;
	__u32 *out;			/* where its id goes */
	__u32 got;
};

/* Chains or instances: their holders and who wants an id among them. */
struct kind {
	const char *what;		/* "chain" or "instance" */
	struct cs_id_holder *holders;	/* [n]; [0] unused */
	__u32 n;
	struct wanted *want;
	size_t n_want;
	const char *file;
};

static bool holds_name(const struct cs_id_holder *h, const struct wanted *w)
{
	return !strncmp(h->chain, w->chain, CS_ID_NAME_MAX) &&
	       !strncmp(h->instance, w->instance ? w->instance : "", CS_ID_NAME_MAX);
}

static const char *holder_text(const struct kind *k, const struct cs_id_holder *h, char *buf, size_t len)
{
	if (!h->chain[0] && !h->instance[0])
		snprintf(buf, len, "a %s of an older state (no name kept)", k->what);
	else if (h->instance[0])
		snprintf(buf, len, "instance \"%s\" of chain \"%s\"", h->instance, h->chain);
	else
		snprintf(buf, len, "chain \"%s\"", h->chain);
	return buf;
}

static const char *wanted_name(const struct wanted *w)
{
	return w->instance ? w->instance : w->chain;
}

/* Ids the config gives: each must be FREE or already this name's. */
static int take_given(struct kind *k, bool *used, char *err, size_t errlen)
{
	char who[2 * CS_ID_NAME_MAX + 48];
	size_t i;

	for (i = 0; i < k->n_want; i++) {
		struct wanted *w = &k->want[i];
		const struct cs_id_holder *h;

		if (!w->given)
			continue;
		h = &k->holders[w->given];
		if (used[w->given] || (h->state != CS_ID_FREE && !holds_name(h, w))) {
			snprintf(err, errlen,
				 "%s:%d: %s \"%s\" asks for id %u, which this node gave %s%s; an id is never "
				 "given to another name while streams may use it: choose another id "
				 "(cloudsteer show %ss lists those in use)",
				 k->file, w->line, k->what, wanted_name(w), w->given, holder_text(k, h, who, sizeof(who)),
				 h->state == CS_ID_LEFT ? ", which left the config but may still have streams (its id "
				 "is free once they end)" : "", k->what);
			return -1;
		}
		w->got = w->given;
		used[w->got] = true;
	}
	return 0;
}

/* The id a name holds, HELD first, then LEFT (a name that came back); 0. */
static __u32 id_of_name(const struct kind *k, const struct wanted *w, const bool *used)
{
	__u32 id, left = 0;

	for (id = 1; id < k->n; id++) {
		if (used[id] || !holds_name(&k->holders[id], w))
			continue;
		if (k->holders[id].state == CS_ID_HELD)
			return id;
		if (k->holders[id].state == CS_ID_LEFT && !left)
			left = id;
	}
	return left;
}

static void take_kept(struct kind *k, bool *used)
{
	size_t i;

	for (i = 0; i < k->n_want; i++) {
		struct wanted *w = &k->want[i];

		if (w->got)
			continue;
		w->got = id_of_name(k, w, used);
		if (w->got)
			used[w->got] = true;
	}
}

static __u32 lowest_free(const struct kind *k, const bool *used, __u32 *n_left)
{
	__u32 id;

	*n_left = 0;
	for (id = 1; id < k->n; id++) {
		if (k->holders[id].state == CS_ID_FREE && !used[id])
			return id;
		*n_left += k->holders[id].state == CS_ID_LEFT;
	}
	return 0;
}

static int take_new(struct kind *k, bool *used, char *err, size_t errlen)
{
	__u32 n_left;
	size_t i;

	for (i = 0; i < k->n_want; i++) {
		struct wanted *w = &k->want[i];

		if (w->got)
			continue;
		w->got = lowest_free(k, used, &n_left);
		if (!w->got) {
			snprintf(err, errlen,
				 "%s:%d: %s \"%s\" gets no id: all %u are in use on this node, %u of them kept for "
				 "%ss that left the config and may still have streams (those are free once the "
				 "streams end)", k->file, w->line, k->what, wanted_name(w), k->n - 1, n_left, k->what);
			return -1;
		}
		used[w->got] = true;
	}
	return 0;
}

static void copy_name(char *dst, const char *src)
{
	snprintf(dst, CS_ID_NAME_MAX, "%s", src ? src : "");
}

/* The holders as the assignment leaves them: the wanted HELD, and every
 * other id that was HELD now LEFT. */
static void record(struct kind *k, const bool *used, __u64 now_ns)
{
	size_t i;
	__u32 id;

	for (id = 1; id < k->n; id++) {
		struct cs_id_holder *h = &k->holders[id];

		if (!used[id] && h->state == CS_ID_HELD) {
			h->state = CS_ID_LEFT;
			h->since_ns = now_ns;
		}
	}
	for (i = 0; i < k->n_want; i++) {
		struct wanted *w = &k->want[i];
		struct cs_id_holder *h = &k->holders[w->got];

		if (h->state != CS_ID_HELD || !holds_name(h, w)) {
			memset(h, 0, sizeof(*h));
			copy_name(h->chain, w->chain);
			copy_name(h->instance, w->instance);
			h->state = CS_ID_HELD;
			h->since_ns = now_ns;
		}
		h->flags = w->given ? CS_ID_EXPLICIT : 0;
	}
}

static int assign_kind(struct kind *k, __u64 now_ns, char *err, size_t errlen)
{
	bool used[CS_INSTANCES_MAX > CS_CHAINS_MAX ? CS_INSTANCES_MAX : CS_CHAINS_MAX] = { false };

	if (take_given(k, used, err, errlen))
		return -1;
	take_kept(k, used);
	if (take_new(k, used, err, errlen))
		return -1;
	record(k, used, now_ns);
	return 0;
}

/* Everything of conf that wants an id: its chains in want[0..n_chains),
 * then its instances. NULL when out of memory. */
static struct wanted *wanted_of(struct cs_conf *conf, size_t *n_inst)
{
	size_t c, i, n = conf->n_chains, at;
	struct wanted *w;

	*n_inst = 0;
	for (c = 0; c < conf->n_chains; c++)
		*n_inst += conf->chains[c].n_instances;
	w = calloc(n + *n_inst + 1, sizeof(*w));
	if (!w)
		return NULL;
	at = n;
	for (c = 0; c < conf->n_chains; c++) {
		struct cs_chain_conf *cc = &conf->chains[c];

		w[c] = (struct wanted){ cc->name, NULL, cc->id_given ? cc->id : 0, cc->line, &cc->id, 0 };
		for (i = 0; i < cc->n_instances; i++) {
			struct cs_instance_conf *ic = &cc->instances[i];

			w[at++] = (struct wanted){ cc->name, ic->name, ic->id_given ? ic->id : 0, ic->line, &ic->id, 0 };
		}
	}
	return w;
}

int cs_ids_assign(struct cs_ids *ids, struct cs_conf *conf, __u64 now_ns, char *err, size_t errlen)
{
	struct cs_ids *next = malloc(sizeof(*next));
	size_t n_inst, i;
	struct wanted *want = wanted_of(conf, &n_inst);
	const char *file = conf->n_files ? conf->files[0] : "the config";
	struct kind chains, insts;
	int rc = -1;

	if (!next || !want) {
		snprintf(err, errlen, "%s: out of memory", file);
		goto out;
	}
	/* on a copy, and the ids go to conf only once both kinds have theirs:
	 * a refusal leaves everything as it was */
	*next = *ids;
	chains = (struct kind){ "chain", next->chain, CS_CHAINS_MAX, want, conf->n_chains, file };
	insts = (struct kind){ "instance", next->inst, CS_INSTANCES_MAX, want + conf->n_chains, n_inst, file };
	if (assign_kind(&chains, now_ns, err, errlen) || assign_kind(&insts, now_ns, err, errlen))
		goto out;
	for (i = 0; i < conf->n_chains + n_inst; i++)
		*want[i].out = want[i].got;
	*ids = *next;
	rc = 0;
out:
	free(want);
	free(next);
	return rc;
}

bool cs_ids_any_left(const struct cs_ids *ids)
{
	__u32 id;

	for (id = 1; id < CS_CHAINS_MAX; id++)
		if (ids->chain[id].state == CS_ID_LEFT)
			return true;
	for (id = 1; id < CS_INSTANCES_MAX; id++)
		if (ids->inst[id].state == CS_ID_LEFT)
			return true;
	return false;
}

bool cs_ids_time_to_look(const struct cs_ids *ids, __u64 *last_ns, __u64 now_ns)
{
	if (now_ns - *last_ns < CS_IDS_LOOK_NS || !cs_ids_any_left(ids))
		return false;
	*last_ns = now_ns;
	return true;
}

static size_t release_kind(struct cs_id_holder *h, __u32 n, const bool *named, bool *freed)
{
	size_t count = 0;
	__u32 id;

	for (id = 1; id < n; id++) {
		if (h[id].state != CS_ID_LEFT || named[id])
			continue;
		memset(&h[id], 0, sizeof(h[id]));
		if (freed)
			freed[id] = true;
		count++;
	}
	return count;
}

size_t cs_ids_release(struct cs_ids *ids, const struct cs_ids_named *named, bool *freed_chain, bool *freed_inst)
{
	return release_kind(ids->chain, CS_CHAINS_MAX, named->chain, freed_chain) +
	       release_kind(ids->inst, CS_INSTANCES_MAX, named->inst, freed_inst);
}

__u32 cs_ids_instance_named(const struct cs_ids *ids, const char *name, const char **chain)
{
	__u32 id;

	for (id = 1; id < CS_INSTANCES_MAX; id++)
		if (ids->inst[id].state == CS_ID_HELD && !strncmp(ids->inst[id].instance, name, CS_ID_NAME_MAX)) {
			if (chain)
				*chain = ids->inst[id].chain;
			return id;
		}
	return 0;
}

/* ---- the pinned maps ---- */

static int read_all(int fd, struct cs_id_holder *h, __u32 n)
{
	__u32 id;

	memset(h, 0, n * sizeof(*h));
	for (id = 1; fd >= 0 && id < n; id++)
		if (bpf_map_lookup_elem(fd, &id, &h[id]))
			return -errno;
	return 0;
}

static int write_all(int fd, const struct cs_id_holder *h, __u32 n)
{
	__u32 id;

	for (id = 1; fd >= 0 && id < n; id++)
		if (bpf_map_update_elem(fd, &id, &h[id], BPF_ANY))
			return -errno;
	return 0;
}

int cs_ids_read(struct cs_ids *ids, int chain_fd, int inst_fd)
{
	int e = read_all(chain_fd, ids->chain, CS_CHAINS_MAX);

	return e ? e : read_all(inst_fd, ids->inst, CS_INSTANCES_MAX);
}

int cs_ids_write(const struct cs_ids *ids, int chain_fd, int inst_fd)
{
	int e = write_all(chain_fd, ids->chain, CS_CHAINS_MAX);

	return e ? e : write_all(inst_fd, ids->inst, CS_INSTANCES_MAX);
}

int cs_ids_read_pinned(struct cs_ids *ids, const char *dir, enum cs_ids_keeper keeper, char *err, size_t errlen)
{
	struct cs_pinned pins;
	int e = cs_pinned_open_any(&pins, dir, keeper == CS_IDS_PEERS ? CS_PINNED_BIT(CS_M_PEER_IDS) : CS_PINNED_IDS,
				   err, errlen);

	if (e)
		return e;
	e = keeper == CS_IDS_PEERS ? cs_pinned_peer_ids(&pins, ids) : cs_pinned_ids(&pins, ids);
	cs_pinned_close(&pins);
	if (e == -ENOENT)	/* a fresh start, or state from before ids were kept */
		return 0;
	if (e)
		snprintf(err, errlen, "cannot read the pinned ids in %s: %s", dir, strerror(-e));
	return e;
}
