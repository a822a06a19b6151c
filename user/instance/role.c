// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * role.c - which instance this node is, who its peers are, and the bucket
 * table they all share.
 *
 * This node is the instance that instance.name (or --name) names, else the
 * one instance of the config whose address is an address of this host. Its
 * peers are the other instances of its chain. The table is built exactly as
 * the steering hosts build theirs (lib/servicemap over the chain's instance
 * names, CS_BUCKETS_DEFAULT buckets), over this node and the peers its
 * health checks find alive: every node that sees the same instances alive
 * builds the same table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "instance.h"
#include "lib/addr.h"
#include "lib/health.h"
#include "lib/log.h"
#include "instance.skel.h"

/* The instance id of this node: named, or found among the local addresses. */
static __u32 find_self(struct cs_instance_daemon *d, char *err, size_t errlen)
{
	const char *name = d->name ? d->name : d->conf.instance.name;
	struct cs_addr local[CS_LOCAL_ADDRS_MAX], a;
	__u32 id, n = cs_instance_count(&d->conf), found = 0;
	int nl;

	if (name) {
		id = cs_instance_id_of(&d->conf, name);
		if (!id)
			snprintf(err, errlen, "%s: no instance is named \"%s\"", d->config_path, name);
		return id;
	}
	nl = cs_local_addrs(local, CS_LOCAL_ADDRS_MAX);
	if (nl < 0) {
		snprintf(err, errlen, "cannot list this host's addresses: %s", strerror(-nl));
		return 0;
	}
	for (id = 1; id <= n; id++) {
		const struct cs_instance_conf *ic = cs_instance_by_id(&d->conf, id, NULL);

		if (cs_addr_parse(ic->address, &a) || !cs_addr_in(&a, local, (size_t)nl))
			continue;
		if (found) {
			snprintf(err, errlen, "%s: instances %s and %s both have an address of this host: "
				 "say which this is with instance.name or --name", d->config_path,
				 cs_instance_by_id(&d->conf, found, NULL)->name, ic->name);
			return 0;
		}
		found = id;
	}
	if (!found)
		snprintf(err, errlen, "%s: no instance's address is an address of this host: "
			 "say which instance this is with instance.name or --name", d->config_path);
	return found;
}

const struct cs_chain_conf *cs_role_chain(const struct cs_instance_daemon *d)
{
	return &d->conf.chains[d->chain];
}

static bool chain_is_encap(const struct cs_chain_conf *cc)
{
	return cc->mode && !strcmp(cc->mode, "encap");
}

int cs_role_resolve(struct cs_instance_daemon *d, char *err, size_t errlen)
{
	__u32 self = find_self(d, err, errlen);
	const struct cs_chain_conf *cc;
	size_t i;

	if (!self)
		return -1;
	cs_instance_by_id(&d->conf, self, &d->chain);
	cc = cs_role_chain(d);
	if (!d->conf.instance.n_ifaces) {
		snprintf(err, errlen, "%s: instance.interfaces is missing: where does steered traffic arrive?",
			 d->config_path);
		return -1;
	}
	if (!chain_is_encap(cc) && !d->conf.has_affinity_key) {
		snprintf(err, errlen, "%s:%d: chain \"%s\" is in route mode: its instances recompute each "
			 "stream's affinity code, so the config needs mesh.affinity_key, the key its steering "
			 "hosts use", d->config_path, cc->line, cc->name);
		return -1;
	}
	d->n_members = cc->n_instances;
	for (i = 0; i < cc->n_instances; i++) {
		struct cs_member *m = &d->members[i];

		m->name = cc->instances[i].name;
		m->id = cs_instance_id_of(&d->conf, m->name);
		cs_addr_parse(cc->instances[i].address, &m->addr);
		m->salen = cs_addr_to_sockaddr(&m->addr, (__u16)d->conf.sync_port, &m->sa);
		m->self = m->id == self;
		m->up = true;	/* until its health checks say otherwise */
		if (m->self)
			d->self = i;
	}
	d->table = calloc(CS_BUCKETS_DEFAULT, sizeof(*d->table));
	if (!d->table) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

struct cs_member *cs_role_member_at(struct cs_instance_daemon *d, __u16 pos)
{
	return pos && pos <= d->n_members ? &d->members[pos - 1] : NULL;
}

int cs_role_local_addrs(struct cs_instance_daemon *d)
{
	int fd = bpf_map__fd(d->skel->maps.cs_local_addrs), n, i;
	struct cs_addr local[CS_LOCAL_ADDRS_MAX], key, next, *prev = NULL;
	__u32 one = 1;

	n = cs_local_addrs(local, CS_LOCAL_ADDRS_MAX);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++)
		if (bpf_map_update_elem(fd, &local[i], &one, BPF_ANY))
			return -errno;
	/* addresses this host no longer has are tracked again */
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (!cs_addr_in(&key, local, (size_t)n) && !bpf_map_delete_elem(fd, &key))
			prev = NULL;	/* start over: the walk's position is gone */
	}
	return 0;
}

int cs_role_write_cfg(struct cs_instance_daemon *d)
{
	const struct cs_chain_conf *cc = cs_role_chain(d);
	struct cs_inst_cfg cfg = {
		.affinity_key = { d->conf.affinity_key[0], d->conf.affinity_key[1] },
		.map_version = d->map_version,
		.chain_id = (__u32)d->chain + 1,
		.self_id = d->members[d->self].id,
		.mode = chain_is_encap(cc) ? CS_MODE_ENCAP : CS_MODE_ROUTE,
		.flags = CS_ICFG_READY | (d->conf.instance.strict ? CS_ICFG_STRICT : 0),
	};
	__u32 zero = 0;

	d->stats.map_version = d->map_version;
	return bpf_map_update_elem(bpf_map__fd(d->skel->maps.cs_inst_cfg), &zero, &cfg, BPF_ANY) ? -errno : 0;
}

int cs_role_rebuild(struct cs_instance_daemon *d)
{
	const char *names[CS_SERVICEMAP_INSTANCES_MAX];
	bool eligible[CS_SERVICEMAP_INSTANCES_MAX];
	size_t i;

	for (i = 0; i < d->n_members; i++) {
		names[i] = d->members[i].name;
		eligible[i] = d->members[i].self || __atomic_load_n(&d->members[i].up, __ATOMIC_ACQUIRE);
	}
	if (cs_servicemap_build(names, eligible, d->n_members, CS_BUCKETS_DEFAULT, d->table))
		return -EINVAL;
	d->map_version = cs_sync_version_rebuilt(d->map_version);
	return cs_role_write_cfg(d);
}

/* From the prober thread: a peer came or went. The loop rebuilds. */
static void on_peer_health(void *ctx, __u32 pos, enum cs_health_verdict verdict, const char *why)
{
	struct cs_instance_daemon *d = ctx;
	struct cs_member *m = &d->members[pos < d->self ? pos : pos + 1];

	__atomic_store_n(&m->up, verdict == CS_HEALTH_UP, __ATOMIC_RELEASE);
	cs_info("peer %s is %s: %s", m->name, verdict == CS_HEALTH_UP ? "up" : "down", why);
	__atomic_store_n(&d->table_dirty, 1, __ATOMIC_RELEASE);
}

/* Probe every peer (not this node) with the chain's health settings. */
int cs_role_health_begin(struct cs_instance_daemon *d)
{
	struct cs_health_target t[CS_SERVICEMAP_INSTANCES_MAX];
	size_t i, n = 0;

	for (i = 0; i < d->n_members; i++) {
		if (d->members[i].self)
			continue;
		t[n].name = d->members[i].name;
		t[n].addr = d->members[i].addr;
		t[n].hc = &cs_role_chain(d)->health;
		n++;
	}
	if (!n)
		return 0;
	d->health = cs_health_start(t, n, on_peer_health, d);
	return d->health ? 0 : -errno;
}

void cs_role_health_end(struct cs_instance_daemon *d)
{
	if (d->health)
		cs_health_stop(d->health);
	d->health = NULL;
}
