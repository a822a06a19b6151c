// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * neighbours.c - the instances of the neighbour stages (nsh): the next
 * stage's, where what the service sends out goes on, and in a symmetric
 * chain the previous stage's, where what comes back goes on.
 *
 * Each is written into cs_next_instances and each neighbour stage's table
 * into cs_next_table, from the config, as that stage's own nodes build
 * theirs. The prober that checks the peers checks the neighbours too, each
 * with its stage's health settings, so this node probes what the gateway
 * probes of the stages it sends to. A verdict changes the instance's state
 * in cs_next_instances at once: the dataplane reads it per packet, so a
 * dead primary's streams go on to the bucket's secondary with the next
 * packet; the table itself never changes with liveness.
 *
 * Until its first verdict a neighbour counts as up. A reload keeps the
 * verdict of a neighbour that keeps its name and address, as the members
 * keep theirs.
 *
 * A neighbour that comes back from down is WARMING for its stage's
 * health.warmup, as the gateway keeps a returning instance of the first
 * stage: the dataplane sends it a bucket's streams only while the bucket's
 * other instance is not up (cs_bucket_choice), so streams stay where their
 * state is while the returning one's peers sync it theirs. Then it is UP.
 *
 * Who writes cs_next_instances: the main thread (cs_neighbours_write) only
 * while the prober is stopped, at start and on a reload; the prober thread
 * (cs_neighbours_verdict) and the main thread's tick, which ends warmups,
 * under neighbours_lock, so neither writes over the other's change.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "instance.h"
#include "lib/addr.h"
#include "lib/clock.h"
#include "lib/health.h"
#include "lib/log.h"
#include "lib/names.h"
#include "lib/stagetable.h"
#include "instance.skel.h"

/* Between the prober's verdicts and the tick that ends warmups: one reads
 * a neighbour's entry and writes it back changed. */
static pthread_mutex_t neighbours_lock = PTHREAD_MUTEX_INITIALIZER;

/* A neighbour stage: which of the chain's, and its slot of cs_next_table. */
struct side {
	__u32 stage, slot;
};

/* The neighbour stages of this node's: the next (every stage but the
 * last), and in a symmetric chain the previous (every stage but the
 * first). A chain of one stage has none. Returns how many. */
static size_t sides_of(const struct cs_instance_daemon *d, struct side out[2])
{
	const struct cs_chain_conf *cc = cs_role_chain(d);
	__u32 stage = cs_role_stage(d);
	size_t n = 0;

	if (stage + 1 < cc->n_stages)
		out[n++] = (struct side){ stage + 1, CS_NEXT_SLOT };
	if (cc->symmetric && stage > 0 && stage < cc->n_stages)
		out[n++] = (struct side){ stage - 1, CS_PREV_SLOT };
	return n;
}

/* The verdict an old neighbour of the same name and address had: up when
 * there was none. */
static bool kept_verdict(const struct cs_neighbour *old, size_t n_old, const char *name,
			 const struct cs_addr *addr)
{
	size_t i;

	for (i = 0; i < n_old; i++)
		if (!strcmp(old[i].name, name) && !memcmp(&old[i].addr, addr, sizeof(*addr)))
			return __atomic_load_n(&old[i].up, __ATOMIC_ACQUIRE);
	return true;
}

void cs_neighbours_take(struct cs_instance_daemon *d)
{
	const struct cs_chain_conf *cc = cs_role_chain(d);
	struct cs_neighbour *old = malloc(sizeof(d->neighbours));
	size_t n_old = old ? d->n_neighbours : 0, n = 0, s, i, first, span;
	struct side sides[2];
	size_t n_sides = sides_of(d, sides);

	if (old)
		memcpy(old, d->neighbours, n_old * sizeof(*old));
	for (s = 0; s < n_sides; s++) {
		span = cs_stage_span(cc, sides[s].stage, &first);
		for (i = 0; i < span && n < CS_INSTANCES_MAX; i++, n++) {
			const struct cs_instance_conf *ic = &cc->instances[first + i];
			struct cs_neighbour *nb = &d->neighbours[n];

			memset(nb, 0, sizeof(*nb));
			nb->name = ic->name;
			nb->id = ic->id;
			nb->stage = sides[s].stage;
			nb->next = sides[s].slot == CS_NEXT_SLOT;
			cs_addr_parse(ic->address, &nb->addr);
			nb->up = kept_verdict(old, n_old, nb->name, &nb->addr);
		}
	}
	d->n_neighbours = n;
	free(old);
}

/* The way to a neighbour: this host's address toward it (the outer
 * source) and the largest inner packet its path takes once wrapped. Both 0
 * while there is no way: its packets are dropped, counted under
 * nsh_no_next. */
static void find_way(const struct cs_neighbour *nb, struct cs_instance *in)
{
	__u32 over = cs_addr_is_v4(&nb->addr) ? CS_NSH_OVERHEAD4 : CS_NSH_OVERHEAD6;
	char a[CS_ADDR_TEXT_MAX];

	if (cs_addr_tunnel_path(&nb->addr, over, &in->local, &in->inner_mtu))
		cs_warn("neighbour stage: no way to instance %s (%s)", nb->name,
			cs_addr_format(&nb->addr, a, sizeof(a)));
}

static __u32 state_of(const struct cs_neighbour *nb)
{
	return __atomic_load_n(&nb->up, __ATOMIC_ACQUIRE) ? CS_INST_UP : CS_INST_DOWN;
}

/* One neighbour into cs_next_instances: where it is, the way there, the
 * chain's SPI, and its state as its probes last said. */
static int write_neighbour(int fd, const struct cs_chain_conf *cc, const struct cs_neighbour *nb)
{
	struct cs_instance in = { .addr = nb->addr, .state = state_of(nb), .vni = cc->vni };

	find_way(nb, &in);
	return bpf_map_update_elem(fd, &nb->id, &in, BPF_ANY) ? -errno : 0;
}

void cs_neighbours_write(struct cs_instance_daemon *d)
{
	const struct cs_chain_conf *cc = cs_role_chain(d);
	int fd = bpf_map__fd(d->skel->maps.cs_next_instances), e = 0;
	struct side sides[2];
	size_t i, n_sides = sides_of(d, sides);

	for (i = 0; !e && i < d->n_neighbours; i++)
		e = write_neighbour(fd, cc, &d->neighbours[i]);
	for (i = 0; !e && i < n_sides; i++)
		e = cs_stage_table_swap(bpf_map__fd(d->skel->maps.cs_next_table), sides[i].slot, cc, sides[i].stage);
	if (e)
		cs_warn("neighbour stages: a table could not be made (%s): packets for it are dropped",
			strerror(-e));
}

size_t cs_neighbours_targets(const struct cs_instance_daemon *d, struct cs_health_target *t)
{
	size_t i;

	for (i = 0; i < d->n_neighbours; i++) {
		t[i].name = d->neighbours[i].name;
		t[i].addr = d->neighbours[i].addr;
		t[i].hc = cs_stage_health(cs_role_chain(d), d->neighbours[i].stage);
		t[i].stats = NULL;
	}
	return d->n_neighbours;
}

static const char *side_name(const struct cs_neighbour *nb)
{
	return nb->next ? "next" : "previous";
}

/* The state a verdict gives: DOWN, UP, or WARMING for one back from down
 * (its stage's warmup, until *warm_until_ns). */
static __u32 state_after(const struct cs_instance_daemon *d, const struct cs_neighbour *nb, bool was_up, bool up,
			 __u64 *warm_until_ns)
{
	__u32 warmup_ms = cs_stage_health(cs_role_chain(d), nb->stage)->warmup_ms;

	*warm_until_ns = 0;
	if (!up)
		return CS_INST_DOWN;
	if (was_up || !warmup_ms)
		return CS_INST_UP;
	*warm_until_ns = cs_now_ns() + (__u64)warmup_ms * 1000000ULL;
	return CS_INST_WARMING;
}

void cs_neighbours_verdict(struct cs_instance_daemon *d, size_t i, enum cs_health_verdict verdict, const char *why)
{
	struct cs_neighbour *nb = &d->neighbours[i];
	int fd = bpf_map__fd(d->skel->maps.cs_next_instances);
	bool up = verdict == CS_HEALTH_UP, was_up = __atomic_load_n(&nb->up, __ATOMIC_ACQUIRE);
	struct cs_instance in;
	__u64 warm_until_ns;

	__atomic_store_n(&nb->up, up, __ATOMIC_RELEASE);
	pthread_mutex_lock(&neighbours_lock);
	if (bpf_map_lookup_elem(fd, &nb->id, &in)) {
		pthread_mutex_unlock(&neighbours_lock);
		cs_warn("neighbour stage: instance %s has no entry to mark (%s)", nb->name, strerror(errno));
		return;
	}
	in.state = state_after(d, nb, was_up, up, &warm_until_ns);
	__atomic_store_n(&nb->warm_until_ns, warm_until_ns, __ATOMIC_RELEASE);
	if (up)
		find_way(nb, &in);	/* the way may have changed while it was down */
	if (bpf_map_update_elem(fd, &nb->id, &in, BPF_EXIST))
		cs_warn("neighbour stage: instance %s could not be marked %s (%s)", nb->name,
			cs_inst_state_name(in.state), strerror(errno));
	pthread_mutex_unlock(&neighbours_lock);
	cs_info("%s stage: instance %s is %s: %s", side_name(nb), nb->name,
		in.state == CS_INST_WARMING ? "up: warming" : up ? "up" : "down", why);
}

/* Neighbour nb's warmup, which was to end at `until`, has passed: up,
 * unless a verdict came meanwhile (a new warmup, or down). */
static void end_warmup(int fd, struct cs_neighbour *nb, __u64 until)
{
	struct cs_instance in;
	bool done = false;

	pthread_mutex_lock(&neighbours_lock);
	if (__atomic_load_n(&nb->warm_until_ns, __ATOMIC_ACQUIRE) == until) {
		__atomic_store_n(&nb->warm_until_ns, 0, __ATOMIC_RELEASE);
		if (!bpf_map_lookup_elem(fd, &nb->id, &in) && in.state == CS_INST_WARMING) {
			in.state = CS_INST_UP;
			done = !bpf_map_update_elem(fd, &nb->id, &in, BPF_EXIST);
		}
	}
	pthread_mutex_unlock(&neighbours_lock);
	if (done)
		cs_info("%s stage: instance %s is up: warmed up", side_name(nb), nb->name);
}

void cs_neighbours_tick(struct cs_instance_daemon *d)
{
	int fd = bpf_map__fd(d->skel->maps.cs_next_instances);
	__u64 now = cs_now_ns(), until;
	size_t i;

	for (i = 0; i < d->n_neighbours; i++) {
		until = __atomic_load_n(&d->neighbours[i].warm_until_ns, __ATOMIC_ACQUIRE);
		if (until && now >= until)
			end_warmup(fd, &d->neighbours[i], until);
	}
}
