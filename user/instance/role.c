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
 *
 * In a cluster the table is built from the chain's agreed map instead
 * (lib/mapparts.h), the one every gateway builds too, and the map's
 * revision is the sync's epoch: primary, secondary and every gateway agree
 * on roles after a partition heals, whatever each one's probes said.
 *
 * A reload (cs_role_take) finds this node again in the new config: it must
 * still be the same instance of the same chain, or the reload is refused
 * and the node goes on as it was. Peers come and go, change address or
 * health settings; the table is rebuilt, and every held stream whose
 * partner changed is synced again.
 *
 * In a chain of stages (nsh), the instances of the neighbour stages are
 * neighbours.c's; the prober here checks them after the peers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "instance.h"
#include "lib/addr.h"
#include "lib/clock.h"
#include "lib/health.h"
#include "lib/cluster.h"
#include "lib/log.h"
#include "lib/mapparts.h"
#include "lib/maps.h"
#include "lib/servicemap.h"
#include "instance.skel.h"

/* Where an instance is in a config: its chain's index and its own. */
struct place {
	size_t chain, inst;
};

static const struct cs_instance_conf *at(const struct cs_conf *conf, struct place p)
{
	return &conf->chains[p.chain].instances[p.inst];
}

static int by_name(const struct cs_conf *conf, const char *path, const char *name, struct place *p, char *err,
		   size_t errlen)
{
	const struct cs_instance_conf *ic = cs_instance_named(conf, name, &p->chain);

	if (!ic) {
		snprintf(err, errlen, "%s: no instance is named \"%s\"", path, name);
		return -1;
	}
	p->inst = (size_t)(ic - conf->chains[p->chain].instances);
	return 0;
}

/* The one instance whose address this host has. */
static int by_address(const struct cs_conf *conf, const char *path, struct place *p, char *err, size_t errlen)
{
	struct cs_addr local[CS_LOCAL_ADDRS_MAX], a;
	int nl = cs_local_addrs(local, CS_LOCAL_ADDRS_MAX);
	bool found = false;
	size_t c, i;

	if (nl < 0) {
		snprintf(err, errlen, "cannot list this host's addresses: %s", strerror(-nl));
		return -1;
	}
	for (c = 0; c < conf->n_chains; c++)
		for (i = 0; i < conf->chains[c].n_instances; i++) {
			const struct cs_instance_conf *ic = &conf->chains[c].instances[i];

			if (cs_addr_parse(ic->address, &a) || !cs_addr_in(&a, local, (size_t)nl))
				continue;
			if (found) {
				snprintf(err, errlen, "%s: instances %s and %s both have an address of this host: "
					 "say which this is with instance.name or --name", path, at(conf, *p)->name,
					 ic->name);
				return -1;
			}
			*p = (struct place){ c, i };
			found = true;
		}
	if (!found)
		snprintf(err, errlen, "%s: no instance's address is an address of this host: "
			 "say which instance this is with instance.name or --name", path);
	return found ? 0 : -1;
}

/* This node in conf: named (--name, else instance.name), or found by address. */
static int find_self(const struct cs_instance_daemon *d, const struct cs_conf *conf, struct place *p, char *err,
		     size_t errlen)
{
	const char *name = d->name ? d->name : conf->instance.name;

	return name ? by_name(conf, d->config_path, name, p, err, errlen)
		    : by_address(conf, d->config_path, p, err, errlen);
}

static bool chain_is_encap(const struct cs_chain_conf *cc)
{
	return cc->mode && !strcmp(cc->mode, "encap");
}

static bool chain_is_nsh(const struct cs_chain_conf *cc)
{
	return cc->mode && !strcmp(cc->mode, "nsh");
}

static __u32 mode_of(const struct cs_chain_conf *cc)
{
	return chain_is_nsh(cc) ? CS_MODE_NSH : chain_is_encap(cc) ? CS_MODE_ENCAP : CS_MODE_ROUTE;
}

/* What the role needs of the config beyond what the loader checks. */
static int check_role(const struct cs_instance_daemon *d, const struct cs_conf *conf, size_t chain, char *err,
		      size_t errlen)
{
	const struct cs_chain_conf *cc = &conf->chains[chain];

	if (!conf->instance.n_ifaces) {
		snprintf(err, errlen, "%s: instance.interfaces is missing: where does steered traffic arrive?",
			 d->config_path);
		return -1;
	}
	if (mode_of(cc) == CS_MODE_ROUTE && !conf->has_affinity_key) {
		snprintf(err, errlen, "%s:%d: chain \"%s\" is in route mode: its instances recompute each "
			 "stream's affinity code, so the config needs mesh.affinity_key, the key its steering "
			 "hosts use", d->config_path, cc->line, cc->name);
		return -1;
	}
	return 0;
}

/* The members as conf's chain has them: the instances of self's stage
 * (of a chain of one stage, all of them), which share its table and its
 * streams' state; self at *self. Each keeps the health verdict an old
 * member of the same name and address had (old may be NULL: all up until
 * the health checks say otherwise). */
static size_t members_of(const struct cs_conf *conf, struct place self, __u16 sync_port, const struct cs_member *old,
			 size_t n_old, struct cs_member *out, size_t *self_at)
{
	const struct cs_chain_conf *cc = &conf->chains[self.chain];
	size_t i, j, first, n = cs_stage_span(cc, cc->instances[self.inst].stage, &first);

	for (i = 0; i < n; i++) {
		const struct cs_instance_conf *ic = &cc->instances[first + i];
		struct cs_member *m = &out[i];

		memset(m, 0, sizeof(*m));
		m->name = ic->name;
		m->id = ic->id;
		m->wire = ic->wire_id;
		cs_addr_parse(ic->address, &m->addr);
		m->salen = cs_addr_to_sockaddr(&m->addr, sync_port, &m->sa);
		m->self = first + i == self.inst;
		m->up = true;
		for (j = 0; j < n_old; j++)
			if (!strcmp(old[j].name, m->name) && !memcmp(&old[j].addr, &m->addr, sizeof(m->addr)))
				m->up = __atomic_load_n(&old[j].up, __ATOMIC_ACQUIRE);
	}
	*self_at = self.inst - first;
	return n;
}

int cs_role_resolve(struct cs_instance_daemon *d, char *err, size_t errlen)
{
	struct place self;

	if (find_self(d, &d->conf, &self, err, errlen) || check_role(d, &d->conf, self.chain, err, errlen))
		return -1;
	d->chain = self.chain;
	d->n_members = members_of(&d->conf, self, (__u16)d->conf.sync_port, NULL, 0, d->members, &d->self);
	cs_neighbours_take(d);
	d->table = calloc(CS_BUCKETS_DEFAULT, sizeof(*d->table));
	if (!d->table) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

const struct cs_chain_conf *cs_role_chain(const struct cs_instance_daemon *d)
{
	return &d->conf.chains[d->chain];
}

size_t cs_role_self_index(const struct cs_instance_daemon *d)
{
	const struct cs_chain_conf *cc = cs_role_chain(d);
	const struct cs_instance_conf *ic = cs_instance_named(&d->conf, d->members[d->self].name, NULL);

	return ic ? (size_t)(ic - cc->instances) : d->self;
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

/* The stage this node serves: its own instance's. */
__u32 cs_role_stage(const struct cs_instance_daemon *d)
{
	const struct cs_instance_conf *ic = cs_instance_named(&d->conf, d->members[d->self].name, NULL);

	return ic ? ic->stage : 0;
}

int cs_role_write_cfg(struct cs_instance_daemon *d)
{
	const struct cs_chain_conf *cc = cs_role_chain(d);
	__u32 stage = cs_role_stage(d);
	struct cs_inst_cfg cfg = {
		.affinity_key = { d->conf.affinity_key[0], d->conf.affinity_key[1] },
		.map_version = d->map_version,
		.vni = cc->vni,
		.self_id = d->members[d->self].id,
		.mode = mode_of(cc),
		.flags = CS_ICFG_READY | (d->conf.instance.strict ? CS_ICFG_STRICT : 0) |
			 (cc->symmetric ? CS_ICFG_SYMMETRIC : 0) | (d->conf.instance.mark_code ? CS_ICFG_MARK_CODE : 0) |
			 (cc->affinity_hosts ? CS_ICFG_AFFINITY_HOSTS : 0),
		.stage = (__u16)stage,
		.n_stages = (__u16)(cc->n_stages ? cc->n_stages : 1),
		.next_buckets = stage + 1 < cc->n_stages ? CS_BUCKETS_DEFAULT : 0,
		.prev_buckets = cc->symmetric && stage > 0 ? CS_BUCKETS_DEFAULT : 0,
	};
	__u32 zero = 0;

	d->stats.map_version = d->map_version;
	return bpf_map_update_elem(bpf_map__fd(d->skel->maps.cs_inst_cfg), &zero, &cfg, BPF_ANY) ? -errno : 0;
}

/* The member named name: its position (index + 1), 0 when none is. */
static __u16 member_position(const struct cs_instance_daemon *d, const char *name)
{
	size_t i;

	for (i = 0; i < d->n_members; i++)
		if (!strcmp(d->members[i].name, name))
			return (__u16)(i + 1);
	return 0;
}

/*
 * The table from the chain's agreed map, in positions of members: 0, or
 * -ENOENT when there is none (no cluster, none heard yet) or it names
 * other instances than the config (said): the node's own view serves.
 */
static int agreed_table(struct cs_instance_daemon *d, int64_t *revision)
{
	struct cs_map_value *m = malloc(sizeof(*m));
	__u16 pos[CS_AGREED_INSTANCES_MAX];
	size_t i;
	__u32 b;
	int rc = -ENOENT;

	/* the agreed map names a chain's instances: one stage's alone */
	if (!m || cs_role_chain(d)->n_stages > 1 ||
	    cs_mapparts_agreed(d->mapparts, cs_role_chain(d)->name, m, revision))
		goto out;
	for (i = 0; i < m->n && (pos[i] = member_position(d, m->inst[i].name)); i++)
		;
	if (i != m->n || m->n != d->n_members || m->n_buckets != CS_BUCKETS_DEFAULT || cs_map_build(m, d->table)) {
		cs_warn("service map: the agreed map (revision %lld) names other instances than this node's "
			"config: the table is built from this node's own view", (long long)*revision);
		cs_stat_add(&d->daemon_stats.cluster_map_skipped, 1);
		goto out;
	}
	for (b = 0; b < CS_BUCKETS_DEFAULT; b++) {	/* map order -> member order */
		if (d->table[b].primary)
			d->table[b].primary = pos[d->table[b].primary - 1];
		if (d->table[b].secondary)
			d->table[b].secondary = pos[d->table[b].secondary - 1];
	}
	rc = 0;
out:
	free(m);
	return rc;
}

/* The table from this node's own view: itself and the peers its probes
 * find alive. */
static int own_table(struct cs_instance_daemon *d)
{
	const char *names[CS_SERVICEMAP_INSTANCES_MAX];
	bool eligible[CS_SERVICEMAP_INSTANCES_MAX];
	size_t i;

	for (i = 0; i < d->n_members; i++) {
		names[i] = d->members[i].name;
		eligible[i] = d->members[i].self || __atomic_load_n(&d->members[i].up, __ATOMIC_ACQUIRE);
	}
	return cs_servicemap_build(names, eligible, d->n_members, CS_BUCKETS_DEFAULT, d->table) ? -EINVAL : 0;
}

/* What the node's key says of the table (the gateways' show cluster
 * compares it with theirs). */
static void publish_table(struct cs_instance_daemon *d, int64_t revision)
{
	const char *names[CS_SERVICEMAP_INSTANCES_MAX];
	struct cs_node_table t = { .map_revision = revision };
	size_t i;

	if (!d->cluster)
		return;
	for (i = 0; i < d->n_members; i++)
		names[i] = d->members[i].name;
	snprintf(t.chain, sizeof(t.chain), "%s", cs_role_chain(d)->name);
	t.digest = cs_table_digest(d->table, CS_BUCKETS_DEFAULT, names);
	cs_cluster_set_tables(d->cluster, &t, 1);
}

int cs_role_rebuild(struct cs_instance_daemon *d)
{
	int64_t revision = 0;

	if (!agreed_table(d, &revision)) {
		/* the map's revision is the epoch; never backwards (a Lamport
		 * clock may have run ahead of it before the cluster was heard) */
		d->map_version = (__u64)revision > d->map_version ? (__u64)revision : d->map_version;
	} else if (!own_table(d)) {
		revision = 0;
		d->map_version = cs_sync_version_rebuilt(d->map_version);
	} else {
		return -EINVAL;
	}
	publish_table(d, revision);
	return cs_role_write_cfg(d);
}

/* From the prober thread: a peer came or went. The loop rebuilds; in a
 * cluster the chain's leader hears it too, this node one observer more. */
static void on_peer_health(struct cs_instance_daemon *d, __u32 pos, enum cs_health_verdict verdict, const char *why)
{
	struct cs_member *m = &d->members[pos < d->self ? pos : pos + 1];

	__atomic_store_n(&m->up, verdict == CS_HEALTH_UP, __ATOMIC_RELEASE);
	cs_info("peer %s is %s: %s", m->name, verdict == CS_HEALTH_UP ? "up" : "down", why);
	cs_mapparts_observe(__atomic_load_n(&d->mapparts, __ATOMIC_ACQUIRE), cs_role_chain(d)->name, m->name,
			    verdict != CS_HEALTH_UP, why);
	__atomic_store_n(&d->table_dirty, 1, __ATOMIC_RELEASE);
}

/* From the prober thread: its list is the peers (every member but this
 * node), then the neighbours. */
static void on_health(void *ctx, __u32 pos, enum cs_health_verdict verdict, const char *why)
{
	struct cs_instance_daemon *d = ctx;
	size_t peers = d->n_members - 1;

	if (pos < peers)
		on_peer_health(d, pos, verdict, why);
	else
		cs_neighbours_verdict(d, pos - peers, verdict, why);
}

void cs_role_observe_peers(struct cs_instance_daemon *d)
{
	size_t i, pos = 0;

	for (i = 0; d->health && i < d->n_members; i++) {
		if (d->members[i].self)
			continue;
		if (cs_health_known(d->health, (__u32)pos))
			cs_mapparts_observe(d->mapparts, cs_role_chain(d)->name, d->members[i].name,
					    cs_health_verdict(d->health, (__u32)pos) != CS_HEALTH_UP, "probed");
		pos++;
	}
}

/* Probe every peer (not this node) with its stage's health settings, as
 * the gateway probes them: both see the same peers alive. Then the
 * neighbours, each with its own stage's: one prober, one link watcher. */
int cs_role_health_begin(struct cs_instance_daemon *d)
{
	struct cs_health_target t[CS_INSTANCES_MAX];
	const struct cs_health_conf *hc = cs_stage_health(cs_role_chain(d), cs_role_stage(d));
	size_t i, n = 0;

	for (i = 0; i < d->n_members; i++) {
		if (d->members[i].self)
			continue;
		t[n].name = d->members[i].name;
		t[n].addr = d->members[i].addr;
		t[n].hc = hc;
		t[n].stats = NULL;	/* the gateway's metrics count the probes */
		n++;
	}
	n += cs_neighbours_targets(d, t + n);
	if (!n)
		return 0;
	d->health = cs_health_start(t, n, on_health, d);
	return d->health ? 0 : -errno;
}

void cs_role_health_end(struct cs_instance_daemon *d)
{
	if (d->health)
		cs_health_stop(d->health);
	d->health = NULL;
}

/* ---- a reload ---- */

/* This node in the new config: the same instance of the same chain, and
 * what the role needs. 0 with *self, or -1 with why in err. */
int cs_role_find_again(const struct cs_instance_daemon *d, const struct cs_conf *conf, size_t *chain,
		       size_t *inst, char *err, size_t errlen)
{
	const struct cs_member *me = &d->members[d->self];
	const struct cs_chain_conf *was = cs_role_chain(d);
	struct place p;
	char why[768];

	if (!cs_instance_named(conf, me->name, NULL)) {
		snprintf(err, errlen, "%s: instance %s, which this node is, is not in it any more: a node leaves "
			 "its chain by a stop, not a reload; it goes on as %s of chain %s", d->config_path, me->name,
			 me->name, was->name);
		return -1;
	}
	if (find_self(d, conf, &p, why, sizeof(why))) {
		snprintf(err, errlen, "%s; this node is instance %s of chain %s", why, me->name, was->name);
		return -1;
	}
	if (strcmp(at(conf, p)->name, me->name)) {
		snprintf(err, errlen, "%s: this node would be instance %s, but it is %s: instance %s left the "
			 "config, and a node becomes another instance only by a restart", d->config_path,
			 at(conf, p)->name, me->name, me->name);
		return -1;
	}
	if (strcmp(conf->chains[p.chain].name, was->name)) {
		snprintf(err, errlen, "%s:%d: instance %s moved from chain %s to chain %s: a node changes chains "
			 "only by a restart", d->config_path, at(conf, p)->line, me->name, was->name,
			 conf->chains[p.chain].name);
		return -1;
	}
	if (at(conf, p)->stage != cs_role_stage(d)) {
		snprintf(err, errlen, "%s:%d: instance %s moved to another stage of chain %s: a node changes "
			 "stages only by a restart", d->config_path, at(conf, p)->line, me->name, was->name);
		return -1;
	}
	if (check_role(d, conf, p.chain, err, errlen))
		return -1;
	*chain = p.chain;
	*inst = p.inst;
	return 0;
}

void cs_role_take(struct cs_instance_daemon *d, size_t chain, size_t inst)
{
	struct cs_member *old = malloc(sizeof(d->members));
	size_t n_old = d->n_members;

	if (old)
		memcpy(old, d->members, n_old * sizeof(*old));
	d->chain = chain;
	d->n_members = members_of(&d->conf, (struct place){ chain, inst }, (__u16)d->conf.sync_port, old,
				  old ? n_old : 0, d->members, &d->self);
	free(old);
	cs_neighbours_take(d);
}

/* ---- ids ---- */

int cs_role_ids_write(struct cs_instance_daemon *d)
{
	return cs_ids_write(&d->ids, -1, bpf_map__fd(d->skel->maps.cs_peer_ids));
}

static void note_peer(struct cs_instance_daemon *d, const struct cs_flow_key *k, const struct cs_stream *stream,
		      void *arg)
{
	struct cs_ids_named *named = arg;

	(void)d;
	(void)k;
	named->inst[stream->peer % CS_INSTANCES_MAX] = true;
}

/* On an instance node an id is named by the synced copies it sent (their
 * peer); nothing here names a chain id, so a LEFT one is freed at once. */
void cs_role_ids_tick(struct cs_instance_daemon *d)
{
	struct cs_ids_named named = { 0 };
	int e;

	if (!cs_ids_time_to_look(&d->ids, &d->ids_checked_ns, cs_now_ns()))
		return;
	cs_streams_each(d, note_peer, &named);
	if (!cs_ids_release(&d->ids, &named, NULL, NULL))
		return;
	e = cs_role_ids_write(d);
	if (e)
		cs_warn("ids: the freed ids could not be written to the pins: %s", strerror(-e));
}
