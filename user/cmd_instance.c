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
#include "lib/lifecycle.h"
#include "lib/log.h"
#include "lib/pins.h"
#include "lib/signals.h"
#include "lib/tc.h"
#include "instance.skel.h"

static const struct cs_tc_filter instance_filter = { "instance", CS_INSTANCE_HANDLE, CS_INSTANCE_PRIO, false };

/* SIGHUP: policy and stream_idle change in place; the rest takes a restart. */
static void reload(struct cs_instance_daemon *d)
{
	struct cs_conf conf;

	if (cs_reread_config(d->config_path, &conf))
		return;
	d->conf.instance.strict = conf.instance.strict;
	d->conf.instance.stream_idle_ms = conf.instance.stream_idle_ms;
	cs_config_free(&conf);
	cs_role_write_cfg(d);
	cs_info("reload: policy %s, stream_idle %ums; chains, mesh, interfaces and sync take a restart",
		d->conf.instance.strict ? "strict" : "loose", d->conf.instance.stream_idle_ms);
}

/* Once a tick: this host's addresses, idle streams, keep-alives, counters. */
static void tick(struct cs_instance_daemon *d)
{
	__u64 now = cs_now_ns();

	cs_role_local_addrs(d);
	cs_streams_sweep(d);
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
	cs_info("service map version %llu: table rebuilt, %llu held stream(s) synced again",
		(unsigned long long)d->map_version, (unsigned long long)n);
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
		if (cs_reload_wanted) {
			cs_reload_wanted = 0;
			reload(d);
		}
		if (__atomic_exchange_n(&d->table_dirty, 0, __ATOMIC_ACQ_REL))
			rebuild(d);
		t = cs_now_ns();
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
	if (start_metrics(d))	/* before the dataplane is touched */
		return 1;
	if (load(d, err, sizeof(err))) {
		cs_err("%s", err);
		return 1;
	}
	if (cs_role_local_addrs(d) || cs_role_rebuild(d)) {
		cs_err("cannot configure the instance program: %s", strerror(errno));
		return 1;
	}
	if (cs_sync_open(d, err, sizeof(err))) {
		cs_err("%s", err);
		return 1;
	}
	for (i = 0; i < d->conf.instance.n_ifaces; i++)
		if (cs_tc_attach(d->pin_dir, d->conf.instance.ifaces[i], bpf_program__fd(d->skel->progs.instance),
				 &instance_filter, err, sizeof(err))) {
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
		cs_err("cannot start the health checks of the peers: %s", strerror(errno));
		return 1;
	}
	d->refresh_every_ns = d->conf.instance.stream_idle_ms * 1000000ULL / 4;
	d->last_refresh_ns = cs_now_ns();
	cs_info("running: instance %s (id %u) of chain %s, %s mode, %s; %zu peer(s); sync %s%s port %u",
		d->members[d->self].name, d->members[d->self].id, cc->name,
		cc->mode && !strcmp(cc->mode, "encap") ? "encap" : "route",
		d->conf.instance.strict ? "strict" : "loose", d->n_members - 1, d->sock >= 0 ? "on " : "off",
		d->sock >= 0 ? cs_addr_format(&d->members[d->self].addr, a, sizeof(a)) : "", d->conf.sync_port);
	return 0;
}

static void finish(void *daemon)
{
	struct cs_instance_daemon *d = daemon;
	size_t i;

	cs_metrics_stop(d->metrics);
	cs_role_health_end(d);
	if (d->detach_on_exit && d->skel) {
		for (i = 0; i < d->conf.instance.n_ifaces; i++)
			cs_tc_detach(d->conf.instance.ifaces[i], &instance_filter);
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
	"instance.policy and instance.stream_idle; SIGTERM leaves the dataplane\n"
	"running on its pins. When nothing is mounted on /sys/fs/bpf, it mounts bpffs\n"
	"there first (that takes CAP_SYS_ADMIN).\n"
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

static const struct cs_lifecycle instance_life = { "instance", instance_usage, start, loop, finish };

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
