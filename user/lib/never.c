// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <bpf/bpf.h>

#include "never.h"

/* Never routes, not even if a config asks: these are never a cloud service. */
static const struct {
	const char *prefix;
	__u32 kind;
} builtin[] = {
	{ "127.0.0.0/8", CS_NEVER_LOOPBACK },	  { "::1/128", CS_NEVER_LOOPBACK },
	{ "169.254.0.0/16", CS_NEVER_LINK_LOCAL }, { "fe80::/10", CS_NEVER_LINK_LOCAL },
	{ "224.0.0.0/4", CS_NEVER_MULTICAST },	  { "255.255.255.255/32", CS_NEVER_MULTICAST },
	{ "ff00::/8", CS_NEVER_MULTICAST },	  { "0.0.0.0/8", CS_NEVER_UNSPECIFIED },
	{ "::/128", CS_NEVER_UNSPECIFIED },
};
#define N_BUILTIN (sizeof(builtin) / sizeof(builtin[0]))

static struct cs_never_key key_of(const struct cs_prefix *p)
{
	struct cs_never_key k = { .prefixlen = p->len, .addr = p->addr };

	return k;
}

static int put(const struct cs_prefix *p, __u32 kind, void *ctx)
{
	struct cs_never_key k = key_of(p);

	return bpf_map_update_elem(*(int *)ctx, &k, &kind, BPF_ANY) ? -errno : 0;
}

static bool same_key(const struct cs_never_key *a, const struct cs_never_key *b)
{
	return a->prefixlen == b->prefixlen && !memcmp(&a->addr, &b->addr, sizeof(a->addr));
}

static int is_key(const struct cs_prefix *p, __u32 kind, void *ctx)
{
	struct cs_never_key k = key_of(p);

	(void)kind;
	return same_key(&k, ctx);
}

/* Is k one of the prefixes cs_never_write puts there? */
static bool wanted(const struct cs_never_key *k, const struct cs_conf *conf)
{
	return cs_never_each(conf, is_key, (void *)k) != 0;
}

/* Remove every entry for which keep() is false; the walk restarts after a
 * removal, whose key is no anchor. */
static int prune(int fd, bool (*keep)(const struct cs_never_key *k, __u32 kind, const void *ctx),
		 const void *ctx, int *removed)
{
	struct cs_never_key key, next, *prev = NULL;
	__u32 kind;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &kind) || keep(&key, kind, ctx))
			continue;
		if (bpf_map_delete_elem(fd, &key) && errno != ENOENT)
			return -errno;
		(*removed)++;
		prev = NULL;
	}
	return 0;
}

static bool keep_configured(const struct cs_never_key *k, __u32 kind, const void *ctx)
{
	return kind == CS_NEVER_LOCAL || wanted(k, ctx);
}

int cs_never_each(const struct cs_conf *conf, int (*fn)(const struct cs_prefix *p, __u32 kind, void *ctx),
		  void *ctx)
{
	struct cs_prefix p;
	int e = 0;
	size_t i;

	for (i = 0; !e && i < conf->n_never; i++)
		e = fn(&conf->never[i], CS_NEVER_CONFIGURED, ctx);
	/* last, so that a configured copy of a built-in prefix keeps its kind */
	for (i = 0; !e && i < N_BUILTIN; i++) {
		cs_prefix_parse(builtin[i].prefix, &p);
		e = fn(&p, builtin[i].kind, ctx);
	}
	return e;
}

int cs_never_write(int fd, const struct cs_conf *conf)
{
	int removed = 0, e = cs_never_each(conf, put, &fd);

	return e ? e : prune(fd, keep_configured, conf, &removed);
}

/* The built-in kind of a, or 0: those need no entry of the host's own. */
static __u32 builtin_kind(const struct cs_addr *a)
{
	struct cs_prefix p;
	size_t i;

	for (i = 0; i < N_BUILTIN; i++) {
		cs_prefix_parse(builtin[i].prefix, &p);
		if (cs_prefix_has(&p, a))
			return builtin[i].kind;
	}
	return 0;
}

struct local_set {
	const struct cs_addr *addrs;
	size_t n;
};

static bool keep_local(const struct cs_never_key *k, __u32 kind, const void *ctx)
{
	const struct local_set *set = ctx;
	size_t i;

	if (kind != CS_NEVER_LOCAL)
		return true;
	for (i = 0; i < set->n; i++)
		if (k->prefixlen == 128 && !memcmp(&k->addr, &set->addrs[i], sizeof(k->addr)))
			return !builtin_kind(&set->addrs[i]);
	return false;
}

int cs_never_sync_local(int fd, const struct cs_addr *addrs, size_t n)
{
	struct local_set set = { addrs, n };
	int changed = 0, e;
	size_t i;

	/* an exact /128 each, even inside a configured range: that range may
	 * go in a reload, the host's address stays protected. Not for
	 * loopback or link-local addresses: their built-in kind says more. */
	for (i = 0; i < n; i++) {
		struct cs_never_key k = { .prefixlen = 128, .addr = addrs[i] };
		__u32 local = CS_NEVER_LOCAL;

		if (builtin_kind(&addrs[i]))
			continue;
		changed += cs_never_kind_of(fd, &addrs[i]) != CS_NEVER_LOCAL;
		if (bpf_map_update_elem(fd, &k, &local, BPF_ANY))
			return -errno;
	}
	e = prune(fd, keep_local, &set, &changed);
	return e ? e : changed;
}

__u32 cs_never_kind_of(int fd, const struct cs_addr *a)
{
	struct cs_never_key k = { .prefixlen = 128, .addr = *a };
	__u32 kind;

	return bpf_map_lookup_elem(fd, &k, &kind) ? 0 : kind;
}
