// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cloudsteer run - the daemon. It refuses a bad config before touching the
 * dataplane, then loads learn over the pinned maps (adopting every record,
 * route, ACL id and counter a previous daemon left), attaches it, and loops:
 * new records to the log, a sweep every second, SIGHUP re-reads the config,
 * SIGTERM leaves the dataplane running on its pins. With a cluster: section
 * it joins the cluster once the dataplane is up (daemon/cluster.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "commands.h"
#include "daemon/daemon.h"
#include "lib/clock.h"
#include "lib/healthz.h"
#include "lib/learnprog.h"
#include "lib/lifecycle.h"
#include "lib/log.h"
#include "lib/pins.h"
#include "lib/quota.h"
#include "lib/signals.h"
#include "learn.skel.h"
#include "steer.skel.h"

/* The new config's chains and instances given their ids against what this
 * daemon holds, into *ids (a copy: nothing is committed yet). 0, or -1
 * said: the reload is refused. */
static int give_ids(struct cs_daemon *d, struct cs_conf *conf, struct cs_ids **ids)
{
	char err[1024];

	*ids = malloc(sizeof(**ids));
	if (!*ids) {
		cs_err("reload refused, the running config stays: out of memory");
		return -1;
	}
	**ids = d->ids;
	if (!cs_ids_assign(*ids, conf, cs_now_ns(), err, sizeof(err)))
		return 0;
	cs_err("reload refused, the running config stays: %s", err);
	free(*ids);
	*ids = NULL;
	return -1;
}

/* SIGHUP: a new config, all or nothing. Rules whose patterns stay keep their
 * records (pattern ids follow the text); the sweep drops the records of
 * patterns that left and moves records whose pattern changed rule. Chains
 * and instances keep their ids (lib/ids.h); one that left drains. */
static bool reload(void *daemon)
{
	struct cs_daemon *d = daemon;
	struct cs_ids *ids = NULL;
	struct cs_ruleset rs;
	struct cs_conf conf;
	char err[1024];
	int e;

	if (cs_reread_config(d->config_path, &conf))
		return false;
	if (give_ids(d, &conf, &ids)) {
		cs_config_free(&conf);
		return false;
	}
	if (conf.n_learn_ifaces != d->conf.n_learn_ifaces)
		cs_warn("reload: learn.interfaces changes take a restart; kept the attached ones");
	if (memcmp(&conf.metrics, &d->conf.metrics, sizeof(conf.metrics)))
		cs_warn("reload: metrics changes take a restart; kept the running endpoint");
	if (conf.limit_records != d->conf.limit_records || conf.limit_routes != d->conf.limit_routes ||
	    conf.acl_ids != d->conf.acl_ids || conf.limit_flows != d->conf.limit_flows ||
	    conf.limit_flows_new != d->conf.limit_flows_new)
		cs_warn("reload: learn.limits, learn.acl_ids and steer.limits take effect only on a fresh start "
			"(cloudsteer detach, then run); kept the running ones");
	cs_keep_pattern_ids(bpf_map__fd(d->skel->maps.cs_patterns), &conf);
	if (cs_rules_compile(&conf, d->rs.key, &rs, err, sizeof(err))) {
		cs_err("reload refused, the running config stays: %s", err);
		cs_config_free(&conf);
		free(ids);
		return false;
	}
	e = cs_learn_configure(d->skel, &conf, &rs);
	d->never_changed = true;	/* learn.never_steer may differ */
	if (e) {
		cs_err("reload: writing the new rules failed (%s); the maps may hold a mix: "
		       "send SIGHUP again", strerror(-e));
		cs_healthz_set("reload: writing the new rules failed; the maps may hold a mix: send SIGHUP again");
		cs_rules_free(&rs);
		cs_config_free(&conf);
		free(ids);
		return false;
	}
	cs_health_end(d);	/* its targets are the old config's */
	cs_daemon_cluster_reload(d, &conf);
	cs_rules_free(&d->rs);
	cs_config_free(&d->conf);
	d->rs = rs;
	d->conf = conf;
	d->ids = *ids;
	free(ids);
	cs_sweep_free(&d->sweep);	/* the next pass judges records by the new rules */
	cs_metrics_set_conf(d->metrics, &d->conf);
	if (cs_daemon_ids_write(d) || cs_chains_write(d) || cs_tables_build(d))
		cs_err("reload: the chains could not all be written; steering may use the old ones");
	if (cs_health_begin(d))
		cs_err("reload: the health checks could not start again: %s", strerror(errno));
	cs_healthz_set(NULL);	/* a reload that failed half-way is mended */
	cs_info("reload: %zu rules, %zu patterns in force", conf.n_rules, conf.n_patterns);
	return true;
}

/* For systemd's STATUS=: where it learns, what it holds. The routes are
 * those the last sweep pass counted (none before the first). */
static void status(void *daemon, char *buf, size_t len)
{
	const struct cs_daemon *d = daemon;
	size_t n = (size_t)snprintf(buf, len, "learning on");
	int i;

	for (i = 0; i < d->n_att && n < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? "," : " ", d->att[i].ifname);
	if (n < len)
		n += (size_t)snprintf(buf + n, len - n, "; %zu rules; %zu chains", d->conf.n_rules, d->conf.n_chains);
	if (n < len && __atomic_load_n(&d->stats.sweep_passes, __ATOMIC_RELAXED))
		snprintf(buf + n, len - n, "; %llu routes",
			 (unsigned long long)__atomic_load_n(&d->stats.routes, __ATOMIC_RELAXED));
}

static void loop(void *daemon)
{
	struct cs_daemon *d = daemon;
	__u64 next_tick = 0;

	while (!cs_stop_signal) {
		__u64 t;

		/* learn wakes us only once events pile up (cs_emit): wait at most
		 * 200 ms, then read whatever is there; in a cluster learn wakes us
		 * for every batch, as the other gateways wait for this node's new
		 * records, and 50 ms is the other work's pace */
		if (ring_buffer__poll(d->rb, d->cluster ? 50 : 200) < 0 && errno != EINTR)
			cs_warn("events: %s", strerror(errno));
		ring_buffer__consume(d->rb);
		cs_daemon_cluster_notes(d);
		cs_reload_if_wanted(d);
		if (__atomic_exchange_n(&d->rebuild_tables, 0, __ATOMIC_ACQ_REL))
			cs_tables_build(d);
		/* every pass, not every tick: a warmup of 1 s ends on time */
		cs_warmups_tick(d);
		t = cs_monotonic_ms();
		if (t >= next_tick) {
			cs_capped_tick(d);
			cs_tables_follow_states(d);
			cs_sweep_tick(d);
			cs_ids_tick(d);
			cs_steer_xdp_ports_tick(d);
			cs_summary_tick(d, status);
			next_tick = t + CS_TICK_MS;
		}
	}
	ring_buffer__consume(d->rb);
}

/* A start over adopted pins counts the ACL ids (daemon/acl.c): an id that a
 * daemon killed mid-recycle left nowhere goes back to the pool. */
static void acl_check(struct cs_daemon *d)
{
	struct cs_acl_check c;
	char ids[CS_ACL_SHOWN * 7 + 8] = "";
	size_t len = 0;
	__u32 i;
	int e = cs_acl_reconcile(bpf_map__fd(d->skel->maps.cs_acl_pool), bpf_map__fd(d->skel->maps.cs_routes),
				 bpf_map__fd(d->steer->maps.cs_acl_stats), d->conf.acl_ids, &c);

	if (e)
		cs_warn("acl: counting the ids: %s", strerror(-e));
	for (i = 0; i < c.recovered && i < CS_ACL_SHOWN; i++)
		len += (size_t)snprintf(ids + len, sizeof(ids) - len, "%s%u", i ? " " : "", c.shown[i]);
	if (c.recovered)
		cs_warn("acl: recovered %u ids that neither a route nor the pool held (%s%s): an earlier "
			"daemon died while recycling them", c.recovered, ids, c.recovered > CS_ACL_SHOWN ? " ..." : "");
	if (c.dropped)
		cs_warn("acl: took %u entries out of the pool: second copies, or ids that a route holds",
			c.dropped);
	if (c.shared)
		cs_warn("acl: %u routes hold an id that another route holds too", c.shared);
	cs_debug("acl: %u ids on routes, %u free", c.on_routes, c.free);
}

static int start(void *daemon)
{
	struct cs_daemon *d = daemon;
	struct cs_learn_opts opts = { .pin_dir = d->pin_dir };
	struct cs_learn_adopted adopted;
	char err[1024];
	int rc;

	if (cs_config_load(d->config_path, &d->conf, err, sizeof(err)) ||
	    cs_ifaces_check(&d->conf, err, sizeof(err))) {
		cs_err("%s", err);
		return 2;
	}
	opts.acl_ids = d->conf.acl_ids;
	opts.report_extended = d->conf.cluster.line != 0;	/* the cluster hears of refreshes */
	d->lock_fd = cs_claim_pin_dir(d->pin_dir, NULL);
	if (d->lock_fd < 0)
		return 1;
	/* the rules name their chains by id: ids first, from the pins alone */
	rc = cs_daemon_ids_begin(d, err, sizeof(err));
	if (rc) {
		cs_err("%s", err);
		return rc;
	}
	/* before the dataplane is touched: a taken port changes nothing */
	if (d->conf.metrics.on) {
		d->metrics = cs_metrics_start(&d->conf.metrics, CS_METRICS_RUN, d->pin_dir, &d->conf, &d->stats,
					      err, sizeof(err));
		if (!d->metrics) {
			cs_err("%s", err);
			return 1;
		}
	}
	d->skel = cs_learn_load_adopting(&d->conf, &opts, &d->rs, &adopted, err, sizeof(err));
	if (!d->skel) {
		cs_err("%s", err);
		return 1;
	}
	if (adopted.reused_maps > 0)
		cs_info("adopted %d pinned maps in %s: records, routes, ACL ids and counters kept",
			adopted.reused_maps, d->pin_dir);
	else
		cs_info("fresh start: maps pinned in %s, %u ACL ids in the pool", d->pin_dir,
			d->conf.acl_ids);
	d->quota = cs_quota_map(bpf_map__fd(d->skel->maps.cs_rule_quota));
	if (!d->quota) {
		cs_err("cannot map the per-rule record counts: %s", strerror(errno));
		return 1;
	}
	cs_capped_begin(d);
	cs_locals_sync(d);	/* before learning: the host's own addresses never route */
	d->never_changed = true;	/* adopted routes meet this config's ranges */
	if (cs_steer_load(d, err, sizeof(err))) {
		cs_err("%s", err);
		return 1;
	}
	if (adopted.reused_maps > 0)
		acl_check(d);
	if (cs_daemon_ids_write(d) || cs_chains_write(d) || cs_tables_build(d)) {
		cs_err("cannot write the chains and their tables");
		return 1;
	}
	if (cs_attach_learn(d, err, sizeof(err)) || cs_attach_steer(d, err, sizeof(err))) {
		cs_err("%s", err);
		return 1;
	}
	cs_steer_xdp_attach(d);	/* after TC: what XDP passes on, TC steers */
	if (cs_health_begin(d)) {
		cs_err("cannot start the health checks: %s", strerror(errno));
		return 1;
	}
	d->rb = ring_buffer__new(bpf_map__fd(d->skel->maps.cs_learn_events), cs_on_learn_event, d, NULL);
	if (!d->rb) {
		cs_err("cannot read the event ring buffer: %s", strerror(errno));
		return 1;
	}
	cs_summary_begin(d);
	/* last: the dataplane steers on its own before the cluster is heard */
	if (cs_daemon_cluster_start(d))
		return 1;
	cs_healthz_set(NULL);	/* GET /healthz: 200 from now */
	cs_info("running: %zu rules, %zu patterns, learning on %d interface(s), steering on %zu",
		d->conf.n_rules, d->conf.n_patterns, d->n_att, d->conf.n_steer_ifaces);
	return 0;
}

static void finish(void *daemon)
{
	struct cs_daemon *d = daemon;

	cs_health_end(d);	/* first: its callbacks use the maps and the cluster's parts */
	cs_daemon_cluster_stop(d);	/* then: its thread writes the maps */
	cs_metrics_stop(d->metrics);
	if (d->detach_on_exit && d->skel) {
		cs_detach_learn(&d->conf);
		cs_detach_steer(&d->conf, d->pin_dir);
		if (cs_pins_remove(d->pin_dir))
			cs_warn("could not remove every pin in %s", d->pin_dir);
		else
			cs_info("detached; pins in %s removed", d->pin_dir);
	} else if (d->skel) {
		cs_info("exiting: the dataplane keeps running on the pins in %s", d->pin_dir);
	}
	ring_buffer__free(d->rb);
	cs_sweep_free(&d->sweep);
	cs_quota_unmap(d->quota);
	if (d->steer)
		steer_bpf__destroy(d->steer);	/* pinned maps and attached programs stay */
	if (d->skel)
		learn_bpf__destroy(d->skel);
	cs_rules_free(&d->rs);
	cs_config_free(&d->conf);
	if (d->lock_fd >= 0) {
		if (!d->skel)
			rmdir(d->pin_dir);	/* the lock made it; nothing was pinned */
		close(d->lock_fd);
	}
}

static const char run_usage[] =
	"usage: cloudsteer run [-c FILE] [--detach-on-exit] [--pin-dir DIR] [-v]\n"
	"\n"
	"Load and attach the dataplane, pin its maps, and keep it: log new and expired\n"
	"records, expire records and routes, keep the ACL id pool. Runs in the\n"
	"foreground (for systemd). SIGHUP re-reads the config; SIGTERM leaves the\n"
	"dataplane running on its pins, and a later run adopts them. When nothing is\n"
	"mounted on /sys/fs/bpf, it mounts bpffs there first (that takes CAP_SYS_ADMIN).\n"
	"\n"
	"  -c, --config FILE    the YAML config (default " CS_DEFAULT_CONFIG ")\n"
	"      --detach-on-exit detach and remove the pins on SIGTERM/SIGINT\n"
	"  -p, --pin-dir DIR    where the maps are pinned (default $" CS_PIN_DIR_ENV " or\n"
	"                       " CS_PIN_DIR ")\n"
	"  -v, --verbose        more detail (twice: libbpf too)\n"
	"  -h, --help           this text\n"
	"\n"
	"Exit status: 0 after a signal, 1 if the dataplane could not be set up,\n"
	"2 for a bad config or usage.\n";

static const struct cs_lifecycle run_life = { "run", run_usage, start, loop, finish, reload, status };

int cmd_run(int argc, char **argv)
{
	struct cs_daemon d = { .config_path = CS_DEFAULT_CONFIG, .pin_dir = cs_pin_dir(),
			       .sweep_per_tick = CS_SWEEP_PER_TICK,
			       .states_lock = PTHREAD_MUTEX_INITIALIZER,
			       .lock_fd = -1 };
	const struct cs_daemon_args args = { &d.config_path, &d.pin_dir, &d.detach_on_exit, NULL };

	return cs_lifecycle_main(&run_life, &args, &d, argc, argv);
}
