// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * chains.c - chains, instances and their tables in the dataplane.
 *
 * Chain and instance ids are this node's, given by name and kept (lib/ids.h,
 * daemon/ids.c): neither a change of the lists nor a restart moves them, so
 * a flow pinned to an instance stays with it. Each chain's table is built
 * by rendezvous hashing (servicemap.c) over its instances that are not down,
 * written into a new inner map, and swapped in with one update of the
 * chain's slot in cs_service_map: the dataplane sees the old table or the
 * new one, never a mix. Liveness itself is read per stream from
 * cs_instances, so failover does not wait for a rebuild; the rebuild then
 * gives the dead instance's buckets a new live secondary.
 *
 * In a cluster, once the chain's agreed map is heard (lib/mapparts.h), the
 * table is built from it instead of from this node's states, so every
 * gateway builds the same one; this node's probes still move streams off a
 * dead instance at once through cs_instances, and drains follow the map.
 *
 * A chain of several stages (mode nsh) has every stage's instances in
 * cs_instances, each probed with its stage's health checks; its table is
 * its first stage's, the only one steer sends to. The instances of each
 * stage are to build the table of the next (cs_next_table, on instance
 * nodes).
 *
 * An instance that comes back from DOWN is WARMING for health.warmup: it
 * starts empty, and its peers sync it the state of the streams in the
 * buckets it shares with them. Meanwhile its tables name it secondary only
 * (where another can be primary); it takes failover like UP. When the
 * warmup is over it becomes UP and the tables make it primary where
 * rendezvous hashing puts it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon.h"
#include "lib/addr.h"
#include "lib/clock.h"
#include "lib/health.h"
#include "lib/cluster.h"
#include "lib/log.h"
#include "lib/mapparts.h"
#include "lib/maps.h"
#include "lib/names.h"
#include "lib/servicemap.h"
#include "lib/stagetable.h"
#include "steer.skel.h"

/* The health checks of an instance: its stage's (the chain's, unless the
 * stage has its own). */
static const struct cs_health_conf *health_of(const struct cs_chain_conf *cc, const struct cs_instance_conf *ic)
{
	return cs_stage_health(cc, ic->stage);
}

static __u32 warmup_ms_of(const struct cs_conf *conf, size_t chain, const struct cs_instance_conf *ic)
{
	return chain < conf->n_chains ? health_of(&conf->chains[chain], ic)->warmup_ms : 0;
}

/* The inner destination MAC of an encap chain's instance: as configured, or
 * 02:c5:00 and the VNI (the chain's wire id). */
static void encap_mac(const struct cs_instance_conf *ic, __u32 vni, __u8 mac[6])
{
	const __u8 dflt[6] = { CS_ENCAP_MAC_OUI0, CS_ENCAP_MAC_OUI1, CS_ENCAP_MAC_OUI2,
			       (__u8)(vni >> 16), (__u8)(vni >> 8), (__u8)vni };

	memcpy(mac, ic->has_mac ? ic->mac : dflt, 6);
}

/*
 * Encap: the outer source and the largest inner packet, from the way the
 * kernel routes to the instance now. Without a route both stay 0 and steer
 * leaves its packets to on_failure; the next time the instance comes up,
 * the way is looked up again.
 */
static void encap_path(const struct cs_instance_conf *ic, bool nsh, struct cs_instance *in)
{
	bool v4 = cs_addr_is_v4(&in->addr);
	__u32 over = nsh ? (v4 ? CS_NSH_OVERHEAD4 : CS_NSH_OVERHEAD6) : (v4 ? CS_ENCAP_OVERHEAD4 : CS_ENCAP_OVERHEAD6);
	int e = cs_addr_tunnel_path(&in->addr, over, &in->local, &in->inner_mtu);

	if (e)
		cs_warn("instance %s: no way to %s (%s): its encap packets go to on_failure", ic->name,
			ic->address, strerror(-e));
}

static bool is_encap(const struct cs_chain_conf *cc)
{
	return cc->mode && !strcmp(cc->mode, "encap");
}

static bool is_nsh(const struct cs_chain_conf *cc)
{
	return cc->mode && !strcmp(cc->mode, "nsh");
}

static __u32 mode_of(const struct cs_chain_conf *cc)
{
	return is_nsh(cc) ? CS_MODE_NSH : is_encap(cc) ? CS_MODE_ENCAP : CS_MODE_ROUTE;
}

static struct cs_chain chain_entry(const struct cs_chain_conf *cc)
{
	__u32 n_stages = cc->n_stages ? (__u32)cc->n_stages : 1;

	return (struct cs_chain){
		.mode = mode_of(cc),
		.on_failure = cc->on_failure && !strcmp(cc->on_failure, "drop") ? CS_FAIL_DROP : CS_FAIL_BYPASS,
		.n_buckets = CS_BUCKETS_DEFAULT,
		.flags = (cc->symmetric ? CS_CHAIN_SYMMETRIC : 0) | (cc->affinity_hosts ? CS_CHAIN_AFFINITY_HOSTS : 0),
		.n_stages = n_stages,
		.last_buckets = is_nsh(cc) && n_stages > 1 ? CS_BUCKETS_DEFAULT : 0,
	};
}

/* The tables of a chain's stages after the first, into cs_stage_map: from
 * the config alone, as the instances of the stage before build theirs, so
 * return packets, `explain` and bpftool see what the stages choose. */
static int write_stage_tables(struct cs_daemon *d, const struct cs_chain_conf *cc)
{
	int fd = bpf_map__fd(d->steer->maps.cs_stage_map), e = 0;
	size_t k, n = is_nsh(cc) ? cc->n_stages : 0;
	__u32 slot;

	for (k = 1; !e && k < n; k++)
		e = cs_stage_table_swap(fd, cs_stage_slot(cc->id, k), cc, k);
	for (k = n > 1 ? n : 1; k < CS_CHAIN_STAGES_MAX; k++) {
		slot = cs_stage_slot(cc->id, k);	/* stages the chain no longer has */
		bpf_map_delete_elem(fd, &slot);
	}
	return e;
}

/*
 * One instance of the config into cs_instances (fd), under states_lock. An
 * instance already in the map at the same id and address keeps its state
 * (a restart does not flap it, a drain stays); a new one counts as up until
 * the health checks say otherwise. One found WARMING with no warmup running
 * (the daemon restarted) starts its warmup again: nothing says how far the
 * last one got.
 */
static int write_instance(struct cs_daemon *d, int fd, const struct cs_chain_conf *cc,
			  const struct cs_instance_conf *ic)
{
	struct cs_instance in = { .chain_id = cc->id }, old;
	__u32 id = ic->id, warmup = health_of(cc, ic)->warmup_ms;
	bool restarted = false;

	cs_addr_parse(ic->address, &in.addr);
	if (!bpf_map_lookup_elem(fd, &id, &old) && !memcmp(&old.addr, &in.addr, sizeof(in.addr)) &&
	    old.chain_id == in.chain_id)
		in.state = old.state;
	else
		in.state = CS_INST_UP;
	if (in.state == CS_INST_WARMING && !warmup)
		in.state = CS_INST_UP;
	if (in.state != CS_INST_WARMING) {
		d->warm_until[id] = 0;
	} else if (!d->warm_until[id]) {
		d->warm_until[id] = cs_now_ns() + (__u64)warmup * 1000000ULL;
		restarted = true;
	}
	if (is_encap(cc) || is_nsh(cc)) {
		in.vni = cc->vni;	/* nsh: the SPI */
		if (is_encap(cc))
			encap_mac(ic, cc->vni, in.mac);
		encap_path(ic, is_nsh(cc), &in);
	}
	if (bpf_map_update_elem(fd, &id, &in, BPF_ANY))
		return -errno;
	if (restarted)
		cs_info("instance %s is warming: found warming at start (primary in %ums)", ic->name, warmup);
	return 0;
}

/*
 * An instance whose name left the config keeps its id while flows are
 * pinned to it (daemon/ids.c frees it after): it drains, as `cloudsteer
 * drain` would make it, so those flows finish where they are and no new
 * one is sent there. It is in no table any more, and not probed.
 */
static void drain_left(struct cs_daemon *d, int fd, __u32 id)
{
	struct cs_instance in;

	d->warm_until[id] = 0;
	if (bpf_map_lookup_elem(fd, &id, &in) || !in.chain_id || in.state == CS_INST_DRAINING)
		return;
	in.state = CS_INST_DRAINING;
	bpf_map_update_elem(fd, &id, &in, BPF_EXIST);
}

/* Write chains and instances; those that left the config drain. */
int cs_chains_write(struct cs_daemon *d)
{
	int chains_fd = bpf_map__fd(d->steer->maps.cs_chains);
	int inst_fd = bpf_map__fd(d->steer->maps.cs_instances);
	const struct cs_conf *conf = &d->conf;
	size_t c, i;
	__u32 id;
	int e = 0;

	for (c = 0; c < conf->n_chains; c++) {
		struct cs_chain ch = chain_entry(&conf->chains[c]);

		if (bpf_map_update_elem(chains_fd, &conf->chains[c].id, &ch, BPF_ANY))
			return -errno;
		e = write_stage_tables(d, &conf->chains[c]);
		if (e)
			return e;
	}
	pthread_mutex_lock(&d->states_lock);
	for (c = 0; !e && c < conf->n_chains; c++)
		for (i = 0; !e && i < conf->chains[c].n_instances; i++)
			e = write_instance(d, inst_fd, &conf->chains[c], &conf->chains[c].instances[i]);
	for (id = 1; id < CS_INSTANCES_MAX; id++)
		if (d->ids.inst[id].state != CS_ID_HELD)
			drain_left(d, inst_fd, id);
	pthread_mutex_unlock(&d->states_lock);
	return e;
}

/* A state that no instance has: its entry could not be read. */
#define STATE_UNREADABLE 0xff

/* Every instance's state, by id, read at one moment: a build and the digest
 * of what it was built for come from the same view. Ids the config does not
 * use read as STATE_UNREADABLE. */
static void states_snapshot(struct cs_daemon *d, __u32 states[CS_INSTANCES_MAX])
{
	int fd = bpf_map__fd(d->steer->maps.cs_instances);
	struct cs_instance in;
	__u32 id;

	for (id = 0; id < CS_INSTANCES_MAX; id++)
		states[id] = d->ids.inst[id].state != CS_ID_HELD || bpf_map_lookup_elem(fd, &id, &in)
				     ? STATE_UNREADABLE : in.state;
}

/* A digest of every instance's state: the tables were built for one view. */
static __u64 states_digest(const __u32 states[CS_INSTANCES_MAX])
{
	__u64 h = 1469598103934665603ULL;
	__u32 id;

	for (id = 1; id < CS_INSTANCES_MAX; id++)
		h = (h ^ states[id]) * 1099511628211ULL;
	return h;
}

/* Chain c's table from this node's own view: over the instances of its
 * first stage (steer sends to no other) that are up or warming (a draining
 * one keeps only the streams pinned to it), a warming one secondary where
 * another can be primary. names[i] and ids[i] are position i + 1's. */
static int own_table(const struct cs_chain_conf *cc, const __u32 states[CS_INSTANCES_MAX], struct cs_bucket *b,
		     const char **names, __u32 *ids)
{
	bool eligible[CS_INSTANCES_MAX], warming[CS_INSTANCES_MAX];
	size_t i, first, n = cs_stage_span(cc, 0, &first);

	for (i = 0; i < n; i++) {
		const struct cs_instance_conf *ic = &cc->instances[first + i];
		__u32 state = states[ic->id];

		names[i] = ic->name;
		ids[i] = ic->id;
		eligible[i] = state == CS_INST_UP || state == CS_INST_WARMING;
		warming[i] = state == CS_INST_WARMING;
	}
	if (cs_servicemap_build(names, eligible, n, CS_BUCKETS_DEFAULT, b))
		return -EINVAL;
	cs_servicemap_defer_warming(b, CS_BUCKETS_DEFAULT, warming);
	return 0;
}

/* Chain c's table from the cluster's agreed map, which names the same
 * instances: every node that holds that map builds this very table. 0, or
 * -ENOENT when there is no agreed map (no cluster, none yet) or it cannot
 * serve here (said): the node's own view serves meanwhile. */
static int agreed_table(struct cs_daemon *d, const struct cs_chain_conf *cc, struct cs_map_value *m,
			int64_t *revision, struct cs_bucket *b, const char **names, __u32 *ids)
{
	size_t i, j, found = 0;

	/* the agreed map names a chain's instances: one stage's alone */
	if (cc->n_stages > 1 || cs_mapparts_agreed(d->mapparts, cc->name, m, revision))
		return -ENOENT;
	for (i = 0; i < m->n; i++) {
		for (j = 0; j < cc->n_instances && strcmp(cc->instances[j].name, m->inst[i].name); j++)
			;
		if (j == cc->n_instances)
			break;
		names[i] = m->inst[i].name;
		ids[i] = cc->instances[j].id;
		found++;
	}
	if (found != cc->n_instances || i != m->n || m->n_buckets != CS_BUCKETS_DEFAULT || cs_map_build(m, b)) {
		cs_warn("chain %s: the agreed map (revision %lld) names other instances or buckets than this "
			"node's config: the table is built from this node's own view", cc->name, (long long)*revision);
		cs_stat_add(&d->stats.cluster_map_skipped, 1);
		return -ENOENT;
	}
	return 0;
}

/* Write the table (positions in names/ids) into a new inner map and swap
 * it into the chain's slot. */
static int swap_in_table(struct cs_daemon *d, __u32 chain_id, struct cs_bucket *buckets, const __u32 *ids)
{
	return cs_bucket_table_swap(bpf_map__fd(d->steer->maps.cs_service_map), chain_id, buckets,
				    CS_BUCKETS_DEFAULT, ids);
}

/* Build chain c's table, from the agreed map when the cluster has one,
 * else from this node's view, and swap it in; what was installed in *nt
 * (its digest in names, the map revision it came from). */
static int build_one(struct cs_daemon *d, size_t c, const __u32 states[CS_INSTANCES_MAX], struct cs_node_table *nt)
{
	const struct cs_chain_conf *cc = &d->conf.chains[c];
	const char *names[CS_INSTANCES_MAX];
	__u32 ids[CS_INSTANCES_MAX];
	struct cs_bucket *buckets = calloc(CS_BUCKETS_DEFAULT, sizeof(*buckets));
	struct cs_map_value *m = malloc(sizeof(*m));
	int64_t revision = 0;
	int e = -ENOMEM;

	memset(nt, 0, sizeof(*nt));
	if (buckets && m) {
		if (agreed_table(d, cc, m, &revision, buckets, names, ids)) {
			revision = 0;
			e = own_table(cc, states, buckets, names, ids);
		} else {
			e = 0;
		}
	}
	if (!e) {
		snprintf(nt->chain, sizeof(nt->chain), "%s", cc->name);
		nt->digest = cs_table_digest(buckets, CS_BUCKETS_DEFAULT, names);
		nt->map_revision = revision;
		e = swap_in_table(d, cc->id, buckets, ids);
	}
	if (!e && cc->id < CS_CHAINS_MAX) {
		cs_stat_set(&d->stats.cluster_table_revision[cc->id], (__u64)revision);
		cs_stat_set(&d->stats.cluster_table_digest[cc->id], nt->digest);
	}
	free(m);
	free(buckets);
	return e;
}

/* The state an instance drained by the agreed map goes back to when the
 * map no longer says so: what this node's probes say of it. */
static __u32 probed_state(struct cs_daemon *d, __u32 id)
{
	__u32 pos;

	for (pos = 0; d->health && pos < CS_INSTANCES_MAX; pos++)
		if (d->health_ids[pos] == id)
			return cs_health_verdict(d->health, pos) == CS_HEALTH_UP ? CS_INST_UP : CS_INST_DOWN;
	return CS_INST_UP;
}

/* One instance as the agreed map says of draining: drained there, it
 * drains here (steer gives it no new stream); no longer, and drained by the
 * map, it takes its probed state again. Under states_lock. */
static void follow_agreed_drain(struct cs_daemon *d, int fd, const struct cs_instance_conf *ic, bool drained)
{
	struct cs_instance in;
	__u32 id = ic->id;

	if (bpf_map_lookup_elem(fd, &id, &in))
		return;
	if (in.state != CS_INST_DRAINING)
		d->drained_by_map[id] = false;	/* undone here meanwhile (drain --undo) */
	else if (drained)
		d->drained_by_map[id] = true;	/* drained here first (`drain` on this node):
						 * the cluster's drain now, undone with it */
	if (drained && in.state != CS_INST_DRAINING) {
		in.state = CS_INST_DRAINING;
		d->warm_until[id] = 0;
		d->drained_by_map[id] = true;
		cs_info("instance %s is draining: the cluster's agreed map says so", ic->name);
	} else if (!drained && in.state == CS_INST_DRAINING && d->drained_by_map[id]) {
		in.state = probed_state(d, id);
		d->drained_by_map[id] = false;
		cs_info("instance %s is %s: the cluster's agreed map no longer drains it", ic->name,
			cs_inst_state_name(in.state));
	} else {
		return;
	}
	bpf_map_update_elem(fd, &id, &in, BPF_EXIST);
}

/* Drains are agreed cluster-wide: each instance's state follows the agreed
 * map of its chain (down and up stay this node's probes': they fail a
 * stream over at once, before any agreement). */
static void follow_agreed_drains(struct cs_daemon *d)
{
	int fd = bpf_map__fd(d->steer->maps.cs_instances);
	struct cs_map_value *m;
	int64_t revision;
	size_t c, i, j;

	if (!d->mapparts || !(m = malloc(sizeof(*m))))
		return;
	for (c = 0; c < d->conf.n_chains; c++) {
		const struct cs_chain_conf *cc = &d->conf.chains[c];

		if (cs_mapparts_agreed(d->mapparts, cc->name, m, &revision))
			continue;
		pthread_mutex_lock(&d->states_lock);
		for (i = 0; i < cc->n_instances; i++)
			for (j = 0; j < m->n; j++)
				if (!strcmp(m->inst[j].name, cc->instances[i].name))
					follow_agreed_drain(d, fd, &cc->instances[i],
							    m->inst[j].state == CS_INST_DRAINING);
		pthread_mutex_unlock(&d->states_lock);
	}
	free(m);
}

/*
 * Once a tick: rebuild when a state changed behind the daemon's back
 * (`cloudsteer drain`). The daemon's own changes do not count: health
 * verdicts ask for a rebuild (rebuild_tables) under the same lock as they
 * change the state, so a change seen here with no rebuild pending came from
 * outside; a warmup that ends rebuilds at once.
 */
void cs_tables_follow_states(struct cs_daemon *d)
{
	__u32 states[CS_INSTANCES_MAX];
	bool pending;

	pthread_mutex_lock(&d->states_lock);
	states_snapshot(d, states);
	pending = __atomic_load_n(&d->rebuild_tables, __ATOMIC_ACQUIRE);
	pthread_mutex_unlock(&d->states_lock);
	if (pending || states_digest(states) == d->tables_digest)
		return;
	cs_info("service map: instance states changed outside the daemon (drain?): tables rebuilt");
	cs_tables_build(d);
}

int cs_tables_build(struct cs_daemon *d)
{
	struct cs_node_table tables[CS_NODE_TABLES_MAX];
	__u32 states[CS_INSTANCES_MAX];
	size_t c, n_tables = 0;
	int e;

	follow_agreed_drains(d);
	pthread_mutex_lock(&d->states_lock);
	states_snapshot(d, states);
	pthread_mutex_unlock(&d->states_lock);
	d->tables_digest = states_digest(states);

	for (c = 0; c < d->conf.n_chains; c++) {
		struct cs_node_table nt;

		e = build_one(d, c, states, &nt);
		if (e) {
			cs_err("chain %s: the new table could not be made (%s); the old one stays",
			       d->conf.chains[c].name, strerror(-e));
			return e;
		}
		if (n_tables < CS_NODE_TABLES_MAX)
			tables[n_tables++] = nt;
	}
	cs_cluster_set_tables(d->cluster, tables, n_tables);	/* the node's key says what it installed */
	if (d->conf.n_chains)
		cs_debug("service map: %zu chain table(s) swapped in", d->conf.n_chains);
	return 0;
}

/*
 * Health verdicts, from the prober thread: the instance's state in the map
 * changes at once (steer reads it per stream, so failover is immediate), a
 * drained instance stays drained, and the main loop is asked to rebuild the
 * tables so the dead instance's buckets get a live secondary again. UP for
 * an instance that was DOWN makes it WARMING (health.warmup 0: UP at once);
 * UP for one already warming leaves its warmup running; DOWN ends a warmup.
 */
static void on_health(void *ctx, __u32 pos, enum cs_health_verdict verdict, const char *why)
{
	struct cs_daemon *d = ctx;
	int fd = bpf_map__fd(d->steer->maps.cs_instances);
	__u32 id = pos < CS_INSTANCES_MAX ? d->health_ids[pos] : 0, warmup;
	struct cs_instance in;
	size_t chain = 0;
	const struct cs_instance_conf *ic = cs_instance_by_id(&d->conf, id, &chain);
	__u64 now = cs_now_ns(), until = 0;

	if (!ic)
		return;
	/* the cluster hears of it whatever this node does with it */
	cs_mapparts_observe(d->mapparts, d->conf.chains[chain].name, ic->name, verdict != CS_HEALTH_UP, why);
	warmup = warmup_ms_of(&d->conf, chain, ic);
	pthread_mutex_lock(&d->states_lock);
	if (bpf_map_lookup_elem(fd, &id, &in) || in.state == CS_INST_DRAINING) {
		pthread_mutex_unlock(&d->states_lock);
		return;
	}
	if (verdict != CS_HEALTH_UP) {
		in.state = CS_INST_DOWN;
	} else if (in.state == CS_INST_WARMING && d->warm_until[id]) {
		until = d->warm_until[id];
	} else if ((in.state == CS_INST_DOWN || in.state == CS_INST_WARMING) && warmup) {
		in.state = CS_INST_WARMING;
		until = now + (__u64)warmup * 1000000ULL;
	} else {
		in.state = CS_INST_UP;
	}
	if (verdict == CS_HEALTH_UP && (is_encap(&d->conf.chains[chain]) || is_nsh(&d->conf.chains[chain])))
		encap_path(ic, is_nsh(&d->conf.chains[chain]), &in);	/* the way may have changed while it was down */
	if (bpf_map_update_elem(fd, &id, &in, BPF_EXIST)) {
		pthread_mutex_unlock(&d->states_lock);
		return;
	}
	d->warm_until[id] = until;
	__atomic_store_n(&d->rebuild_tables, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&d->states_lock);
	if (in.state == CS_INST_WARMING)
		cs_info("instance %s is warming: %s (primary in %llums)", ic->name, why,
			(unsigned long long)(until > now ? (until - now) / 1000000ULL : 0));
	else
		cs_info("instance %s is %s: %s", ic->name, in.state == CS_INST_UP ? "up" : "down", why);
}

void cs_warmups_tick(struct cs_daemon *d)
{
	int fd = bpf_map__fd(d->steer->maps.cs_instances);
	__u32 id, up[CS_INSTANCES_MAX], n_up = 0, i;
	__u64 now = cs_now_ns();

	pthread_mutex_lock(&d->states_lock);
	for (id = 1; id < CS_INSTANCES_MAX; id++) {
		struct cs_instance in;

		if (!d->warm_until[id] || d->warm_until[id] > now)
			continue;
		if (bpf_map_lookup_elem(fd, &id, &in) || in.state != CS_INST_WARMING) {
			d->warm_until[id] = 0;	/* drained (or gone) meanwhile */
			continue;
		}
		in.state = CS_INST_UP;
		if (bpf_map_update_elem(fd, &id, &in, BPF_EXIST))
			continue;	/* still warming: tried again next pass */
		d->warm_until[id] = 0;
		up[n_up++] = id;
	}
	pthread_mutex_unlock(&d->states_lock);
	if (!n_up)
		return;
	for (i = 0; i < n_up; i++) {
		const struct cs_instance_conf *ic = cs_instance_by_id(&d->conf, up[i], NULL);

		cs_info("instance %s is up: warmed up", ic ? ic->name : "?");
	}
	cs_tables_build(d);
}

/* Probe every instance of the config; the prober names them by their
 * place in its list, and health_ids turns that into their ids. */
int cs_health_begin(struct cs_daemon *d)
{
	struct cs_health_target t[CS_INSTANCES_MAX];
	__u32 n = 0;
	size_t c, i;

	for (c = 0; c < d->conf.n_chains; c++)
		for (i = 0; i < d->conf.chains[c].n_instances && n < CS_INSTANCES_MAX; i++, n++) {
			const struct cs_instance_conf *ic = &d->conf.chains[c].instances[i];

			t[n].name = ic->name;
			cs_addr_parse(ic->address, &t[n].addr);
			t[n].hc = health_of(&d->conf.chains[c], ic);
			t[n].stats = ic->id < CS_INSTANCES_MAX ? &d->stats.probes[ic->id] : NULL;
			d->health_ids[n] = ic->id;
		}
	if (!n)
		return 0;
	d->health = cs_health_start(t, n, on_health, d);
	return d->health ? 0 : -errno;
}

void cs_health_end(struct cs_daemon *d)
{
	if (d->health)
		cs_health_stop(d->health);
	d->health = NULL;
}
