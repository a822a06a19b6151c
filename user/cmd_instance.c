// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cloudsteer instance - the daemon of a service instance node (user/instance/
 * has the parts). It refuses a bad config before touching anything, loads
 * the instance program over its pinned maps (streams survive a restart),
 * attaches it to TC ingress of instance.interfaces, and loops: dataplane
 * events and peers' datagrams as they come, the table rebuilt when a peer
 * comes or goes (then every held stream is synced again), and once a tick
 * the idle sweep, the keep-alive of active streams and the counters.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "commands.h"
#include "instance/instance.h"
#include "lib/addr.h"
#include "lib/clock.h"
#include "lib/cluster.h"
#include "lib/healthz.h"
#include "lib/mapparts.h"
#include "lib/lifecycle.h"
#include "lib/log.h"
#include "lib/pins.h"
#include "lib/signals.h"
#include "lib/tc.h"
#include "instance.skel.h"

static const struct cs_tc_filter instance_filter = { "instance", CS_INSTANCE_HANDLE, CS_INSTANCE_PRIO, false };
/* nsh: on the way out, what the service sends on goes to the next stage */
static const struct cs_tc_filter instance_out_filter = { "instance_out", CS_INSTANCE_HANDLE, CS_INSTANCE_PRIO,
							 true };

static bool chain_is_nsh(const struct cs_chain_conf *cc)
{
	return cc->mode && !strcmp(cc->mode, "nsh");
}

/* Attach the programs to one interface: ingress, and in nsh mode egress. */
static int attach_iface(struct cs_instance_daemon *d, const char *ifname, char *err, size_t errlen)
{
	if (cs_tc_attach(d->pin_dir, ifname, bpf_program__fd(d->skel->progs.instance), &instance_filter, err, errlen))
		return -1;
	if (!chain_is_nsh(cs_role_chain(d)))
		return 0;
	return cs_tc_attach(d->pin_dir, ifname, bpf_program__fd(d->skel->progs.instance_out), &instance_out_filter,
			    err, errlen);
}

/* The interfaces take a restart (the program is attached there): the
 * running ones stay. Swapped, so each config frees its own. */
static void keep_interfaces(struct cs_instance_role *next, struct cs_instance_role *running)
{
	bool same = next->n_ifaces == running->n_ifaces;
	char **ifaces = next->ifaces;
	size_t i, n = next->n_ifaces;

	for (i = 0; same && i < n; i++)
		same = !strcmp(next->ifaces[i], running->ifaces[i]);
	if (!same)
		cs_warn("reload: instance.interfaces changes take a restart; kept the attached ones");
	next->ifaces = running->ifaces;
	next->n_ifaces = running->n_ifaces;
	running->ifaces = ifaces;
	running->n_ifaces = n;
}

/* The keys and the sync switch are read at start (a new key takes a
 * restart of the chain's instances together), and so is the metrics
 * endpoint: the running values stay, and a change is said. */
static void keep_restart_values(struct cs_conf *next, const struct cs_conf *running)
{
	if (next->has_affinity_key != running->has_affinity_key || next->has_sync_key != running->has_sync_key ||
	    memcmp(next->affinity_key, running->affinity_key, sizeof(next->affinity_key)) ||
	    memcmp(next->sync_key, running->sync_key, sizeof(next->sync_key)) ||
	    next->instance.sync != running->instance.sync)
		cs_warn("reload: mesh keys and instance.sync take a restart (of every instance of the chain "
			"together, for a key); kept the running ones");
	next->has_affinity_key = running->has_affinity_key;
	memcpy(next->affinity_key, running->affinity_key, sizeof(next->affinity_key));
	next->has_sync_key = running->has_sync_key;
	memcpy(next->sync_key, running->sync_key, sizeof(next->sync_key));
	next->instance.sync = running->instance.sync;
	if (memcmp(&next->instance.metrics, &running->instance.metrics, sizeof(next->instance.metrics)) ||
	    memcmp(&next->metrics, &running->metrics, sizeof(next->metrics)))
		cs_warn("reload: metrics changes take a restart; kept the running endpoint");
	next->instance.metrics = running->instance.metrics;
	next->metrics = running->metrics;
}

/* The sync socket for this node as the new config has it: the running one
 * when its address and port stay, else a new one (-1 after an error, said
 * in err). *fresh says which. */
static int socket_for(struct cs_instance_daemon *d, const struct cs_conf *next, size_t chain, size_t inst,
		      bool *fresh, char *err, size_t errlen)
{
	const struct cs_instance_conf *ic = &next->chains[chain].instances[inst];
	struct cs_member me = { 0 };

	*fresh = false;
	cs_addr_parse(ic->address, &me.addr);
	if (d->sock < 0 || (!memcmp(&me.addr, &d->members[d->self].addr, sizeof(me.addr)) &&
			    next->sync_port == d->conf.sync_port))
		return d->sock;
	*fresh = true;
	me.salen = cs_addr_to_sockaddr(&me.addr, (__u16)next->sync_port, &me.sa);
	return cs_sync_socket(&me, next->sync_port, err, errlen);
}

/* Listen on fd instead of the running socket. */
static void switch_socket(struct cs_instance_daemon *d, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	epoll_ctl(d->epoll_fd, EPOLL_CTL_DEL, d->sock, NULL);
	close(d->sock);
	d->sock = fd;
	if (epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev))
		cs_warn("reload: the new sync socket is not watched (%s): datagrams wait for the next round",
			strerror(errno));
}

static void refuse(const char *why)
{
	cs_err("reload refused, the running config stays: %s", why);
}

/* The new config in force: members, table, health checks, ids, socket. The
 * streams held stay; those whose partner changed are synced again. */
static void take_config(struct cs_instance_daemon *d, struct cs_conf *next, struct cs_ids *ids, size_t chain,
			size_t inst, int sock)
{
	struct cs_partners *before = calloc(CS_BUCKETS_DEFAULT, sizeof(*before));
	struct cs_conf old = d->conf;
	size_t peers_before = d->n_members - 1;
	__u64 moved = 0;
	int e;

	cs_role_health_end(d);	/* its targets are the old members */
	cs_sync_flush(d);
	cs_sync_drop_batches(d);
	if (before)
		cs_sync_partners(d, before);
	keep_interfaces(&next->instance, &old.instance);
	cs_cluster_reload(d->cluster, &old, next);
	if (cs_mapparts_set_conf(d->mapparts, next))
		cs_err("reload: the cluster still agrees on the old chains: out of memory");
	d->conf = *next;
	cs_role_take(d, chain, inst);
	cs_config_free(&old);	/* the old members named its strings: after cs_role_take */
	d->ids = *ids;
	e = cs_role_ids_write(d);
	if (e)
		cs_warn("reload: the ids could not be written to the pins: %s", strerror(-e));
	if (sock != d->sock)
		switch_socket(d, sock);
	d->refresh_every_ns = d->conf.instance.stream_idle_ms * 1000000ULL / 4;
	if (cs_role_rebuild(d))
		cs_err("reload: the table could not be rebuilt; the old one stays");
	cs_neighbours_write(d);	/* before the prober: its verdicts write there too */
	if (cs_role_health_begin(d))
		cs_err("reload: the health checks of the peers and neighbour stages could not start again: %s",
		       strerror(errno));
	if (before)
		moved = cs_sync_queue_moved(d, before);
	else
		moved = cs_sync_queue_held(d, 0);	/* out of memory: all of them, to be sure */
	free(before);
	d->stats.resyncs++;
	cs_metrics_set_conf(d->metrics, &d->conf);
	cs_info("reload: instance %s of chain %s, %zu peer(s) (were %zu), service map version %llu, policy %s, "
		"stream_idle %ums; %llu held stream(s) synced again (their partner changed)",
		d->members[d->self].name, cs_role_chain(d)->name, d->n_members - 1, peers_before,
		(unsigned long long)d->map_version, d->conf.instance.strict ? "strict" : "loose",
		d->conf.instance.stream_idle_ms, (unsigned long long)moved);
}

/*
 * SIGHUP: the chain as the new config has it, in place: peers added or
 * removed, their addresses, the health settings, this node's own address
 * and the sync port, policy and stream_idle. This node must still be the
 * same instance of the same chain; a config that says otherwise, or that
 * does not load, is refused and the node goes on as it was. Interfaces,
 * keys, sync on or off and metrics take a restart.
 */
static bool reload(void *daemon)
{
	struct cs_instance_daemon *d = daemon;
	struct cs_ids *ids = malloc(sizeof(*ids));
	struct cs_conf next;
	size_t chain, inst;
	char err[1024];
	bool fresh;
	int sock;

	if (!ids) {
		refuse("out of memory");
		return false;
	}
	if (cs_reread_config(d->config_path, &next)) {
		free(ids);
		return false;
	}
	*ids = d->ids;
	keep_restart_values(&next, &d->conf);
	sock = -1;
	fresh = false;
	if (cs_ids_assign(ids, &next, cs_now_ns(), err, sizeof(err)) ||
	    cs_role_find_again(d, &next, &chain, &inst, err, sizeof(err)) ||
	    ((sock = socket_for(d, &next, chain, inst, &fresh, err, sizeof(err))) < 0 && fresh)) {
		refuse(err);
		cs_config_free(&next);
		free(ids);
		return false;
	}
	take_config(d, &next, ids, chain, inst, sock);
	free(ids);
	return true;
}

/* For systemd's STATUS=: which instance, its peers, the streams it holds
 * (as the last sweep counted them). */
static void status(void *daemon, char *buf, size_t len)
{
	const struct cs_instance_daemon *d = daemon;

	snprintf(buf, len, "instance %s of chain %s; %zu peer(s); %llu streams", d->members[d->self].name,
		 cs_role_chain(d)->name, d->n_members - 1,
		 (unsigned long long)__atomic_load_n(&d->daemon_stats.streams, __ATOMIC_RELAXED));
}

/* Once a tick: this host's addresses, idle streams, keep-alives, counters. */
static void tick(struct cs_instance_daemon *d)
{
	__u64 now = cs_now_ns();

	cs_role_local_addrs(d);
	cs_streams_sweep(d);
	cs_role_ids_tick(d);
	if (now - d->last_refresh_ns >= d->refresh_every_ns) {
		d->stats.refreshes += cs_sync_queue_held(d, d->last_refresh_ns);
		d->last_refresh_ns = now;
	}
	cs_sync_publish(d);
}

static void rebuild(struct cs_instance_daemon *d)
{
	__u64 n;

	if (cs_role_rebuild(d)) {
		cs_err("service map: the table could not be rebuilt; the old one stays");
		return;
	}
	n = cs_sync_queue_held(d, 0);
	d->stats.resyncs++;
	d->resync_again_ns = cs_now_ns() + CS_RESYNC_AGAIN_MS * 1000000ULL;
	cs_info("service map version %llu: table rebuilt, %llu held stream(s) synced again",
		(unsigned long long)d->map_version, (unsigned long long)n);
}

/* A peer that comes back answers its health probes before its daemon
 * listens for the sync, so what the rebuild's pass sent it may have been
 * refused: the held streams go once more, a moment later, well within the
 * steering hosts' warmup. Every round of the loop. */
static void resync_again(struct cs_instance_daemon *d, __u64 now)
{
	__u64 n;

	if (!d->resync_again_ns || now < d->resync_again_ns)
		return;
	d->resync_again_ns = 0;
	n = cs_sync_queue_held(d, 0);
	cs_debug("sync: %llu held stream(s) sent again after the table's rebuild", (unsigned long long)n);
}

static void loop(void *daemon)
{
	struct cs_instance_daemon *d = daemon;
	__u64 next_tick = 0;

	while (!cs_stop_signal) {
		struct epoll_event ev[4];
		__u64 t;

		epoll_wait(d->epoll_fd, ev, 4, 100);
		ring_buffer__consume(d->rb);
		cs_sync_receive(d);
		cs_reload_if_wanted(d);
		if (__atomic_exchange_n(&d->table_dirty, 0, __ATOMIC_ACQ_REL))
			rebuild(d);
		t = cs_now_ns();
		resync_again(d, t);
		cs_neighbours_tick(d);	/* warmups end on time, not a tick late */
		if (t >= next_tick) {
			tick(d);
			next_tick = t + CS_INST_TICK_MS * 1000000ULL;
		}
		cs_sync_flush(d);
	}
	ring_buffer__consume(d->rb);
	cs_sync_flush(d);
	cs_sync_publish(d);
}

static int load(struct cs_instance_daemon *d, char *err, size_t errlen)
{
	int reused, e;

	d->skel = instance_bpf__open();
	if (!d->skel) {
		snprintf(err, errlen, "cannot open the instance program: %s", strerror(errno));
		return -1;
	}
	/* instance.limits: the stream tables, fixed at a fresh start */
	bpf_map__set_max_entries(d->skel->maps.cs_streams, d->conf.instance.limit_streams);
	bpf_map__set_max_entries(d->skel->maps.cs_streams_new, d->conf.instance.limit_streams_new);
	reused = cs_pins_reuse(d->skel->obj, d->pin_dir, err, errlen);
	if (reused < 0)
		return -1;
	e = instance_bpf__load(d->skel);
	if (e) {
		snprintf(err, errlen, "the kernel refused the instance program (%s)", strerror(-e));
		return -1;
	}
	if (cs_pins_pin(d->skel->obj, d->pin_dir, err, errlen))
		return -1;
	if (reused > 0)
		cs_info("adopted %d pinned maps in %s: streams kept", reused, d->pin_dir);
	else
		cs_info("fresh start: maps pinned in %s", d->pin_dir);
	return 0;
}

static int watch(struct cs_instance_daemon *d, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(d->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

/* instance.metrics, else the top-level metrics: the endpoint, if any. */
static int start_metrics(struct cs_instance_daemon *d)
{
	const struct cs_listen *at = d->conf.instance.metrics.on ? &d->conf.instance.metrics : &d->conf.metrics;
	char err[512];

	if (!at->on)
		return 0;
	d->metrics = cs_metrics_start(at, CS_METRICS_INSTANCE, d->pin_dir, &d->conf, &d->daemon_stats, err,
				      sizeof(err));
	if (!d->metrics) {
		cs_err("%s", err);
		return -1;
	}
	return 0;
}

/* The chain's agreed map changed (the cluster thread): the loop rebuilds. */
static void agreed_map_changed(void *ctx)
{
	struct cs_instance_daemon *d = ctx;

	__atomic_store_n(&d->table_dirty, 1, __ATOMIC_RELEASE);
}

/* In a cluster, the node registers (its role, addresses and digests), says
 * that it lives (obs/, on its lease: when it dies the chain's leader marks
 * it down) and what its probes say of its peers, and follows its chain's
 * agreed map. 0, or -1 said. */
static int join_cluster(struct cs_instance_daemon *d)
{
	struct cs_mapparts_opts mo = { .conf = &d->conf, .self_chain = cs_role_chain(d)->name,
				       .self_instance = d->members[d->self].name, .stats = &d->daemon_stats,
				       .changed = agreed_map_changed, .ctx = d };
	struct cs_cluster_part *parts[CS_MAPPARTS_N];
	char err[512];

	if (!d->conf.cluster.line)
		return 0;
	__atomic_store_n(&d->mapparts, cs_mapparts_new(&mo), __ATOMIC_RELEASE);	/* the prober reads it */
	if (!d->mapparts) {
		cs_err("cluster: the agreed service map: out of memory");
		return -1;
	}
	cs_role_observe_peers(d);
	cs_mapparts_parts(d->mapparts, parts);
	d->cluster = cs_cluster_join(&d->conf, "instance", &d->daemon_stats, parts, CS_MAPPARTS_N, err, sizeof(err));
	if (!d->cluster)
		cs_err("%s", err);
	return d->cluster ? 0 : -1;
}

static int start(void *daemon)
{
	struct cs_instance_daemon *d = daemon;
	const struct cs_chain_conf *cc;
	char err[1024], a[CS_ADDR_TEXT_MAX];
	size_t i;

	if (cs_config_load(d->config_path, &d->conf, err, sizeof(err)) || cs_role_resolve(d, err, sizeof(err))) {
		cs_err("%s", err);
		return 2;
	}
	cc = cs_role_chain(d);
	d->lock_fd = cs_claim_pin_dir(d->pin_dir, "instance");
	if (d->lock_fd < 0)
		return 1;
	if (cs_ids_read_pinned(&d->ids, d->pin_dir, CS_IDS_PEERS, err, sizeof(err))) {
		cs_err("%s", err);
		return 1;
	}
	if (cs_ids_assign(&d->ids, &d->conf, cs_now_ns(), err, sizeof(err))) {
		cs_err("%s", err);
		return 2;
	}
	cs_role_take(d, d->chain, cs_role_self_index(d));	/* the members' ids as the pins kept them */
	if (start_metrics(d))	/* before the dataplane is touched */
		return 1;
	if (load(d, err, sizeof(err))) {
		cs_err("%s", err);
		return 1;
	}
	if (cs_role_ids_write(d) || cs_role_local_addrs(d) || cs_role_rebuild(d)) {
		cs_err("cannot configure the instance program: %s", strerror(errno));
		return 1;
	}
	cs_neighbours_write(d);
	if (cs_sync_open(d, err, sizeof(err))) {
		cs_err("%s", err);
		return 1;
	}
	for (i = 0; i < d->conf.instance.n_ifaces; i++)
		if (attach_iface(d, d->conf.instance.ifaces[i], err, sizeof(err))) {
			cs_err("%s", err);
			return 1;
		}
	d->rb = ring_buffer__new(bpf_map__fd(d->skel->maps.cs_stream_evts), cs_sync_on_event, d, NULL);
	d->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	if (!d->rb || d->epoll_fd < 0 || watch(d, ring_buffer__epoll_fd(d->rb)) ||
	    (d->sock >= 0 && watch(d, d->sock))) {
		cs_err("cannot wait for events: %s", strerror(errno));
		return 1;
	}
	if (cs_role_health_begin(d)) {
		cs_err("cannot start the health checks of the peers and neighbour stages: %s", strerror(errno));
		return 1;
	}
	d->refresh_every_ns = d->conf.instance.stream_idle_ms * 1000000ULL / 4;
	d->last_refresh_ns = cs_now_ns();
	if (join_cluster(d))	/* last: the dataplane works before etcd is heard */
		return 1;
	cs_healthz_set(NULL);	/* GET /healthz: 200 from now */
	cs_info("running: instance %s (id %u, wire id %#x) of chain %s (VNI %u), %s mode, %s; %zu peer(s); "
		"sync %s%s port %u", d->members[d->self].name, d->members[d->self].id, d->members[d->self].wire,
		cc->name, cc->vni,
		cc->mode ? cc->mode : "route",
		d->conf.instance.strict ? "strict" : "loose", d->n_members - 1, d->sock >= 0 ? "on " : "off",
		d->sock >= 0 ? cs_addr_format(&d->members[d->self].addr, a, sizeof(a)) : "", d->conf.sync_port);
	return 0;
}

static void finish(void *daemon)
{
	struct cs_instance_daemon *d = daemon;
	size_t i;

	cs_role_health_end(d);	/* first: its callbacks tell the cluster's parts */
	cs_cluster_stop(d->cluster);	/* it runs beside the loop */
	cs_mapparts_free(d->mapparts);
	cs_metrics_stop(d->metrics);
	if (d->detach_on_exit && d->skel) {
		for (i = 0; i < d->conf.instance.n_ifaces; i++) {
			cs_tc_detach(d->conf.instance.ifaces[i], &instance_filter);
			if (chain_is_nsh(cs_role_chain(d)))
				cs_tc_detach(d->conf.instance.ifaces[i], &instance_out_filter);
		}
		cs_tc_remove_hooks(d->pin_dir);
		if (cs_pins_remove(d->pin_dir))
			cs_warn("could not remove every pin in %s", d->pin_dir);
		else
			cs_info("detached; pins in %s removed", d->pin_dir);
	} else if (d->skel) {
		cs_info("exiting: the dataplane keeps running on the pins in %s (no sync until a restart)",
			d->pin_dir);
	}
	cs_sync_close(d);
	ring_buffer__free(d->rb);
	if (d->epoll_fd > 0)
		close(d->epoll_fd);
	if (d->skel)
		instance_bpf__destroy(d->skel);
	free(d->table);
	cs_config_free(&d->conf);
	if (d->lock_fd > 0)
		close(d->lock_fd);
}

static const char instance_usage[] =
	"usage: cloudsteer instance [-c FILE] [--name NAME] [--detach-on-exit] [--pin-dir DIR] [-v]\n"
	"\n"
	"Run this node as one instance of a chain: track every steered stream (TCP\n"
	"state, packets, bytes), enforce it (strict: a TCP packet without state that is\n"
	"not a SYN is dropped), and sync each stream to the other instance of its\n"
	"bucket, so that instance continues it when this one dies. The chain, its\n"
	"instances, the health checks and mesh.affinity_key come from the same config\n"
	"as the steering hosts'. The sync is authenticated with mesh.sync_key, else a\n"
	"key derived from mesh.affinity_key. Runs in the foreground. SIGHUP re-reads\n"
	"the config: peers, their addresses and health checks, this node's address,\n"
	"the sync port, instance.policy and instance.stream_idle change in place, and\n"
	"the streams held stay; a config in which this node is no longer the same\n"
	"instance of the same chain is refused. SIGTERM leaves the dataplane running\n"
	"on its pins. When nothing is mounted on /sys/fs/bpf, it mounts bpffs there\n"
	"first (that takes CAP_SYS_ADMIN).\n"
	"\n"
	"  -c, --config FILE    the YAML config (default " CS_DEFAULT_CONFIG ")\n"
	"  -n, --name NAME      which instance this node is (default: instance.name, else\n"
	"                       the instance whose address this host has)\n"
	"      --detach-on-exit detach and remove the pins on SIGTERM/SIGINT\n"
	"  -p, --pin-dir DIR    where the maps are pinned (default $" CS_PIN_DIR_ENV " or\n"
	"                       " CS_PIN_DIR ")\n"
	"  -v, --verbose        more detail (twice: libbpf too)\n"
	"  -h, --help           this text\n"
	"\n"
	"Exit status: 0 after a signal, 1 if the dataplane could not be set up,\n"
	"2 for a bad config or usage.\n";

static const struct cs_lifecycle instance_life = { "instance", instance_usage, start, loop, finish, reload,
							 status };

int cmd_instance(int argc, char **argv)
{
	struct cs_instance_daemon d = { .config_path = CS_DEFAULT_CONFIG, .pin_dir = cs_pin_dir(), .lock_fd = -1,
					.sock = -1, .epoll_fd = -1 };
	const struct cs_own_flag name[] = {
		{ "name", 'n', &d.name, NULL },
		{ 0 },
	};
	const struct cs_daemon_args args = { &d.config_path, &d.pin_dir, &d.detach_on_exit, name };

	return cs_lifecycle_main(&instance_life, &args, &d, argc, argv);
}
