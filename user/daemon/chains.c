// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * chains.c - chains, instances and their tables in the dataplane.
 *
 * Chain ids are positions in the config + 1, instance ids positions in the
 * flattened list of every chain's instances + 1. Each chain's table is built
 * by rendezvous hashing (servicemap.c) over its instances that are not down,
 * written into a new inner map, and swapped in with one update of the
 * chain's slot in cs_service_map: the dataplane sees the old table or the
 * new one, never a mix. Liveness itself is read per stream from
 * cs_instances, so failover does not wait for a rebuild; the rebuild then
 * gives the dead instance's buckets a new live secondary.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "lib/servicemap.h"
#include "health.h"
#include "steer.skel.h"

/* The config's instance at global id (1-based), and its chain index. */
const struct cs_instance_conf *cs_instance_by_id(const struct cs_conf *conf, __u32 id, size_t *chain)
{
	size_t c, n = 0;

	for (c = 0; c < conf->n_chains; c++) {
		if (id - 1 < n + conf->chains[c].n_instances) {
			if (chain)
				*chain = c;
			return &conf->chains[c].instances[id - 1 - n];
		}
		n += conf->chains[c].n_instances;
	}
	return NULL;
}

static __u32 first_id_of_chain(const struct cs_conf *conf, size_t chain)
{
	__u32 id = 1;
	size_t c;

	for (c = 0; c < chain; c++)
		id += (__u32)conf->chains[c].n_instances;
	return id;
}

__u32 cs_instance_count(const struct cs_conf *conf)
{
	__u32 n = 0;
	size_t c;

	for (c = 0; c < conf->n_chains; c++)
		n += (__u32)conf->chains[c].n_instances;
	return n;
}

/* The inner destination MAC of an encap chain's instance: as configured, or
 * 02:c5:00 and the VNI (the chain id). */
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
static void encap_path(const struct cs_instance_conf *ic, struct cs_instance *in)
{
	__u32 over = cs_addr_is_v4(&in->addr) ? CS_ENCAP_OVERHEAD4 : CS_ENCAP_OVERHEAD6, mtu = 0;
	int e = cs_addr_path(&in->addr, &in->local, &mtu);

	if (e) {
		memset(&in->local, 0, sizeof(in->local));
		in->inner_mtu = 0;
		cs_warn("instance %s: no way to %s (%s): its encap packets go to on_failure", ic->name,
			ic->address, strerror(-e));
		return;
	}
	/* 68: the least an IPv4 link must carry */
	in->inner_mtu = mtu > over + 68 ? (__u16)(mtu - over > 0xffff ? 0xffff : mtu - over) : 0;
}

/*
 * Write chains and instances. An instance already in the map at the same id
 * and address keeps its state (a restart does not flap it, a drain stays);
 * a new one counts as up until the health checks say otherwise.
 */
static bool is_encap(const struct cs_chain_conf *cc)
{
	return cc->mode && !strcmp(cc->mode, "encap");
}

int cs_chains_write(struct cs_daemon *d)
{
	int chains_fd = bpf_map__fd(d->steer->maps.cs_chains);
	int inst_fd = bpf_map__fd(d->steer->maps.cs_instances);
	const struct cs_conf *conf = &d->conf;
	__u32 id, n = cs_instance_count(conf);
	size_t c;

	for (c = 0; c < conf->n_chains; c++) {
		const struct cs_chain_conf *cc = &conf->chains[c];
		struct cs_chain ch = {
			.mode = is_encap(cc) ? CS_MODE_ENCAP : CS_MODE_ROUTE,
			.on_failure = cc->on_failure && !strcmp(cc->on_failure, "drop") ? CS_FAIL_DROP
										  : CS_FAIL_BYPASS,
			.n_buckets = CS_BUCKETS_DEFAULT,
			.flags = cc->symmetric ? CS_CHAIN_SYMMETRIC : 0,
		};
		__u32 chain_id = (__u32)c + 1;

		if (bpf_map_update_elem(chains_fd, &chain_id, &ch, BPF_ANY))
			return -errno;
	}
	for (id = 1; id <= n; id++) {
		size_t chain = 0;
		const struct cs_instance_conf *ic = cs_instance_by_id(conf, id, &chain);
		struct cs_instance in = { .chain_id = (__u32)chain + 1 }, old;

		cs_addr_parse(ic->address, &in.addr);
		if (!bpf_map_lookup_elem(inst_fd, &id, &old) && !memcmp(&old.addr, &in.addr, sizeof(in.addr)) &&
		    old.chain_id == in.chain_id)
			in.state = old.state;
		else
			in.state = CS_INST_UP;
		if (is_encap(&conf->chains[chain])) {
			encap_mac(ic, in.chain_id, in.mac);
			encap_path(ic, &in);
		}
		if (bpf_map_update_elem(inst_fd, &id, &in, BPF_ANY))
			return -errno;
	}
	return 0;
}

/* Build chain c's table over its instances that are up (a draining one keeps
 * only the streams pinned to it), and swap it in. */
static int build_one(struct cs_daemon *d, size_t c)
{
	const struct cs_chain_conf *cc = &d->conf.chains[c];
	int inst_fd = bpf_map__fd(d->steer->maps.cs_instances), table_fd, e = 0;
	__u32 first = first_id_of_chain(&d->conf, c), chain_id = (__u32)c + 1, b;
	const char *names[CS_INSTANCES_MAX];
	bool eligible[CS_INSTANCES_MAX];
	struct cs_bucket *buckets;
	size_t i;

	for (i = 0; i < cc->n_instances; i++) {
		__u32 id = first + (__u32)i;
		struct cs_instance in;

		names[i] = cc->instances[i].name;
		eligible[i] = !bpf_map_lookup_elem(inst_fd, &id, &in) && in.state == CS_INST_UP;
	}
	buckets = calloc(CS_BUCKETS_DEFAULT, sizeof(*buckets));
	if (!buckets)
		return -ENOMEM;
	if (cs_sm_build(names, eligible, cc->n_instances, CS_BUCKETS_DEFAULT, buckets)) {
		free(buckets);
		return -EINVAL;
	}
	table_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "cs_bucket_table", sizeof(__u32), sizeof(struct cs_bucket),
				  CS_BUCKETS_MAX, NULL);
	if (table_fd < 0) {
		free(buckets);
		return -errno;
	}
	for (b = 0; !e && b < CS_BUCKETS_DEFAULT; b++) {
		/* positions in this chain's list -> instance ids */
		if (buckets[b].primary)
			buckets[b].primary = (__u16)(first + buckets[b].primary - 1);
		if (buckets[b].secondary)
			buckets[b].secondary = (__u16)(first + buckets[b].secondary - 1);
		if (bpf_map_update_elem(table_fd, &b, &buckets[b], BPF_ANY))
			e = -errno;
	}
	if (!e && bpf_map_update_elem(bpf_map__fd(d->steer->maps.cs_service_map), &chain_id, &table_fd, BPF_ANY))
		e = -errno;
	close(table_fd);	/* the outer map holds it now */
	free(buckets);
	return e;
}

/* A digest of every instance's state: the tables were built for one view. */
static __u64 states_digest(struct cs_daemon *d)
{
	int fd = bpf_map__fd(d->steer->maps.cs_instances);
	__u32 id, n = cs_instance_count(&d->conf);
	__u64 h = 1469598103934665603ULL;
	struct cs_instance in;

	for (id = 1; id <= n; id++)
		h = (h ^ (bpf_map_lookup_elem(fd, &id, &in) ? 0xff : in.state)) * 1099511628211ULL;
	return h;
}

/* Once a tick: rebuild when a state changed behind the daemon's back
 * (`cloudsteer drain`), as a health change does through on_health. */
void cs_tables_follow_states(struct cs_daemon *d)
{
	if (states_digest(d) == d->tables_digest)
		return;
	cs_info("service map: instance states changed outside the daemon (drain?): tables rebuilt");
	cs_tables_build(d);
}

int cs_tables_build(struct cs_daemon *d)
{
	size_t c;
	int e;

	d->tables_digest = states_digest(d);

	for (c = 0; c < d->conf.n_chains; c++) {
		e = build_one(d, c);
		if (e) {
			cs_err("chain %s: the new table could not be made (%s); the old one stays",
			       d->conf.chains[c].name, strerror(-e));
			return e;
		}
	}
	if (d->conf.n_chains)
		cs_debug("service map: %zu chain table(s) swapped in", d->conf.n_chains);
	return 0;
}

/*
 * Health verdicts, from the prober thread: the instance's state in the map
 * changes at once (steer reads it per stream, so failover is immediate), a
 * drained instance stays drained, and the main loop is asked to rebuild the
 * tables so the dead instance's buckets get a live secondary again.
 */
static void on_health(void *ctx, __u32 pos, enum cs_health_state st, const char *why)
{
	struct cs_daemon *d = ctx;
	int fd = bpf_map__fd(d->steer->maps.cs_instances);
	__u32 id = pos + 1;
	struct cs_instance in;
	size_t chain = 0;
	const struct cs_instance_conf *ic = cs_instance_by_id(&d->conf, id, &chain);

	if (bpf_map_lookup_elem(fd, &id, &in))
		return;
	if (in.state == CS_INST_DRAINING)
		return;
	in.state = st == CS_HEALTH_UP ? CS_INST_UP : CS_INST_DOWN;
	if (st == CS_HEALTH_UP && ic && is_encap(&d->conf.chains[chain]))
		encap_path(ic, &in);	/* the way may have changed while it was down */
	if (bpf_map_update_elem(fd, &id, &in, BPF_EXIST))
		return;
	cs_info("instance %s is %s: %s", ic ? ic->name : "?", st == CS_HEALTH_UP ? "up" : "down", why);
	__atomic_store_n(&d->rebuild_tables, 1, __ATOMIC_RELEASE);
}

int cs_health_begin(struct cs_daemon *d)
{
	struct cs_health_target t[CS_INSTANCES_MAX];
	__u32 n = cs_instance_count(&d->conf), id;

	if (!n)
		return 0;
	for (id = 1; id <= n; id++) {
		size_t chain = 0;
		const struct cs_instance_conf *ic = cs_instance_by_id(&d->conf, id, &chain);

		t[id - 1].name = ic->name;
		cs_addr_parse(ic->address, &t[id - 1].addr);
		t[id - 1].hc = &d->conf.chains[chain].health;
	}
	d->health = cs_health_start(t, n, on_health, d);
	return d->health ? 0 : -errno;
}

void cs_health_end(struct cs_daemon *d)
{
	if (d->health)
		cs_health_stop(d->health);
	d->health = NULL;
}
