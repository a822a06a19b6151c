// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cloudsteer status - the first thing to ask, as `cilium-dbg status` and
 * `xdp-loader status` answer it: is a daemon running (its pid, from its
 * lock), this binary's version, which of our programs are attached where
 * (hook, mode, program id, tag, when loaded), how full the tables are,
 * the chains' instances and their states, and the cluster the config
 * names. It reads the pins, the interfaces and /proc/locks, so it works
 * while the daemons are down, and says plainly what is missing.
 */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "commands.h"
#include "instance/instance.h"
#include "lib/bpffs.h"
#include "lib/cli.h"
#include "lib/clock.h"
#include "lib/config.h"
#include "lib/json.h"
#include "lib/lock.h"
#include "lib/log.h"
#include "lib/names.h"
#include "lib/pinned.h"
#include "lib/pins.h"
#include "lib/table.h"
#include "lib/view.h"
#include "version.h"

static const char status_usage[] =
	"usage: cloudsteer status [--json] [-c FILE] [--pin-dir DIR]\n"
	"\n"
	"Say whether the daemons run and what they left in place: the pid of\n"
	"`cloudsteer run` and of `cloudsteer instance` on the pin directory (from\n"
	"their locks), this binary's version, every program of ours attached to an\n"
	"interface of this network namespace (hook, XDP mode, program id, tag, when\n"
	"it was loaded), how full the records, routes, flows and streams tables are,\n"
	"each instance's state, and the cluster the config names. It reads the pins\n"
	"and changes nothing, so it works while the daemons are down, and names\n"
	"what is missing.\n"
	"\n"
	"  -c, --config FILE  the config, for the interfaces it names and its cluster\n"
	"                     (default " CS_DEFAULT_CONFIG "; none is fine)\n"
	"  -j, --json         one JSON object on one line\n"
	"  -p, --pin-dir DIR  the pins (default $" CS_PIN_DIR_ENV " or " CS_PIN_DIR ")\n"
	"  -v, --verbose      more detail (twice: libbpf too)\n"
	"  -h, --help         this text\n"
	"\n"
	"Exit status: 0 when a daemon runs on the pin directory and a program of\n"
	"ours is attached, 1 when no daemon runs or nothing is attached, 2 for a\n"
	"usage error.\n";

#define PROGS_MAX 64
#define PIN_IDS_MAX 128

/* One program of ours on one hook of one interface. */
struct attached {
	char ifname[IF_NAMESIZE];
	const char *hook;		/* "xdp", "tc ingress", "tc egress" */
	const char *mode;		/* XDP: "native", "generic", "offload"; tc: NULL */
	__u32 id;
	char name[BPF_OBJ_NAME_LEN];
	char tag[2 * BPF_TAG_SIZE + 1];
	__s64 loaded_s;			/* wall clock, seconds */
};

/* A table and how full it is; present: pinned here. */
struct fill {
	const char *name;
	enum cs_pinned_map map;
	bool present;
	__u64 entries;
	__u32 max;
};

struct status {
	const char *pin_dir;
	bool have_pins;			/* the pin directory exists */
	char pins_err[512];		/* why the maps could not be read; "": they were */
	int run_pid, instance_pid;	/* cs_lock_holder: > 0 held, 0 free, < 0 -errno */
	__u32 pin_ids[PIN_IDS_MAX];	/* ids of the maps pinned here: a program
					 * that uses one is ours */
	size_t n_pin_ids;
	struct attached att[PROGS_MAX];
	size_t n_att;
	struct fill fill[5];
	struct cs_pinned pins;
	bool pins_open;
	struct cs_view v;
	bool have_view;
	struct cs_conf conf;
	bool have_conf;
	char conf_err[1024];		/* why the config was not read; "": it was */
	char missing[4][256];		/* interfaces the config names that lack a program */
	size_t n_missing;
};

static const struct fill fill_tables[] = {
	{ .name = "records", .map = CS_M_RECORDS }, { .name = "routes", .map = CS_M_ROUTES },
	{ .name = "flows", .map = CS_M_FLOWS },	    { .name = "flows_new", .map = CS_M_FLOWS_NEW },
	{ .name = "streams", .map = CS_M_STREAMS },
};

/* ---- which maps are ours: those pinned in the pin directory ---- */

static void read_pin_ids(struct status *st)
{
	struct bpf_map_info info;
	char path[512];
	struct dirent *e;
	DIR *d = opendir(st->pin_dir);

	if (!d)
		return;
	st->have_pins = true;
	while ((e = readdir(d)) && st->n_pin_ids < PIN_IDS_MAX) {
		__u32 len = sizeof(info);
		int fd;

		snprintf(path, sizeof(path), "%s/%s", st->pin_dir, e->d_name);
		fd = e->d_name[0] == '.' ? -1 : bpf_obj_get(path);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		if (!bpf_obj_get_info_by_fd(fd, &info, &len))
			st->pin_ids[st->n_pin_ids++] = info.id;
		close(fd);
	}
	closedir(d);
}

static bool uses_our_map(const struct status *st, const __u32 *map_ids, __u32 n)
{
	__u32 i;
	size_t j;

	for (i = 0; i < n; i++)
		for (j = 0; j < st->n_pin_ids; j++)
			if (map_ids[i] == st->pin_ids[j])
				return true;
	return false;
}

/* ---- what is attached: every interface's XDP and TC hooks ---- */

/* The wall clock time of a load_time (CLOCK_BOOTTIME ns). */
static __s64 wall_of_boot_ns(__u64 boot_ns)
{
	return (cs_wall_ns() - (__s64)(cs_now_ns() - boot_ns)) / 1000000000;
}

/* Note program id on a hook of ifname when it is ours. */
static void note_prog(struct status *st, const char *ifname, const char *hook, const char *mode, __u32 id)
{
	struct attached *a = &st->att[st->n_att];
	struct bpf_prog_info info;
	__u32 map_ids[64], len = sizeof(info), i;
	int fd = id ? bpf_prog_get_fd_by_id(id) : -1;

	if (fd < 0 || st->n_att >= PROGS_MAX)
		goto out;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = 64;
	info.map_ids = (__u64)(unsigned long)map_ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &len) || !uses_our_map(st, map_ids, info.nr_map_ids < 64 ?
										 info.nr_map_ids : 64))
		goto out;
	snprintf(a->ifname, sizeof(a->ifname), "%s", ifname);
	a->hook = hook;
	a->mode = mode;
	a->id = id;
	snprintf(a->name, sizeof(a->name), "%s", info.name);
	for (i = 0; i < BPF_TAG_SIZE; i++)
		snprintf(a->tag + 2 * i, 3, "%02x", info.tag[i]);
	a->loaded_s = wall_of_boot_ns(info.load_time);
	st->n_att++;
out:
	if (fd >= 0)
		close(fd);
}

static const char *xdp_mode_text(enum xdp_attach_mode m)
{
	return m == XDP_MODE_NATIVE ? "native" : m == XDP_MODE_SKB ? "generic" : m == XDP_MODE_HW ? "offload" : "?";
}

/* The XDP programs of an interface: the one program, or each of a
 * libxdp dispatcher's. */
static void find_xdp(struct status *st, const char *ifname, int ifindex)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *p;
	const char *mode;

	if (!mp || libxdp_get_error(mp))
		return;
	mode = xdp_mode_text(xdp_multiprog__attach_mode(mp));
	if (xdp_multiprog__is_legacy(mp)) {
		p = xdp_multiprog__main_prog(mp);
		if (p)
			note_prog(st, ifname, "xdp", mode, xdp_program__id(p));
	} else {
		for (p = xdp_multiprog__next_prog(NULL, mp); p; p = xdp_multiprog__next_prog(p, mp))
			note_prog(st, ifname, "xdp", mode, xdp_program__id(p));
	}
	xdp_multiprog__close(mp);
}

/* The TC filters our daemons attach, by handle and priority: steer's and
 * the instance's on ingress, query's and the instance's (nsh) on egress. */
static const struct {
	bool egress;
	__u32 handle, prio;
} tc_filters[] = {
	{ false, CS_STEER_HANDLE, CS_STEER_PRIO },
	{ false, CS_INSTANCE_HANDLE, CS_INSTANCE_PRIO },
	{ true, CS_QUERY_HANDLE, CS_QUERY_PRIO },
};

static void find_tc(struct status *st, const char *ifname, int ifindex)
{
	size_t i;

	for (i = 0; i < sizeof(tc_filters) / sizeof(tc_filters[0]); i++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex,
				    .attach_point = tc_filters[i].egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, q, .handle = tc_filters[i].handle, .priority = tc_filters[i].prio);

		if (!bpf_tc_query(&hook, &q))
			note_prog(st, ifname, tc_filters[i].egress ? "tc egress" : "tc ingress", NULL, q.prog_id);
	}
}

static void find_attached(struct status *st)
{
	struct if_nameindex *ifs = if_nameindex(), *i;

	if (!ifs)
		return;
	for (i = ifs; i->if_index; i++) {
		find_xdp(st, i->if_name, (int)i->if_index);
		find_tc(st, i->if_name, (int)i->if_index);
	}
	if_freenameindex(ifs);
}

/* ---- the pins: how full, which instances ---- */

static __u64 count_entries(int fd)
{
	__u8 key[1024], next[1024];
	void *prev = NULL;
	__u64 n = 0;

	while (!bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, sizeof(key));
		prev = key;
		n++;
	}
	return n;
}

static void read_pins(struct status *st)
{
	unsigned want = CS_PINNED_IDS | CS_PINNED_BIT(CS_M_CHAINS) | CS_PINNED_BIT(CS_M_INSTANCES);
	size_t i;

	for (i = 0; i < sizeof(fill_tables) / sizeof(fill_tables[0]); i++)
		want |= CS_PINNED_BIT(fill_tables[i].map);
	if (cs_pinned_open_any(&st->pins, st->pin_dir, want, st->pins_err, sizeof(st->pins_err)))
		return;
	st->pins_open = true;
	for (i = 0; i < sizeof(fill_tables) / sizeof(fill_tables[0]); i++) {
		struct fill *f = &st->fill[i];
		int fd = st->pins.fd[fill_tables[i].map];

		*f = fill_tables[i];
		f->present = fd >= 0;
		f->entries = fd >= 0 ? count_entries(fd) : 0;
		f->max = fd >= 0 ? st->pins.max_entries[f->map] : 0;
	}
	st->have_view = !cs_view_read(&st->pins, CS_READ_INSTANCES | CS_READ_CHAINS, &st->v, st->pins_err,
				      sizeof(st->pins_err));
}

/* ---- the config: the interfaces it names, its cluster ---- */

static bool has_prog(const struct status *st, const char *ifname, const char *hook)
{
	size_t i;

	for (i = 0; i < st->n_att; i++)
		if (!strcmp(st->att[i].ifname, ifname) && !strcmp(st->att[i].hook, hook))
			return true;
	return false;
}

static void note_missing(struct status *st, char *const *ifaces, size_t n, const char *what, const char *hook)
{
	size_t i;

	for (i = 0; i < n && st->n_missing < sizeof(st->missing) / sizeof(st->missing[0]); i++)
		if (!has_prog(st, ifaces[i], hook))
			snprintf(st->missing[st->n_missing++], sizeof(st->missing[0]), "%s: nothing on %s's %s",
				 what, ifaces[i], hook);
}

static void read_config(struct status *st, const char *path, bool asked)
{
	if (!asked && access(path, F_OK)) {
		snprintf(st->conf_err, sizeof(st->conf_err), "no config at %s", path);
		return;
	}
	if (cs_config_load(path, &st->conf, st->conf_err, sizeof(st->conf_err)))
		return;
	st->have_conf = true;
	note_missing(st, st->conf.learn_ifaces, st->conf.n_learn_ifaces, "learn", "xdp");
	note_missing(st, st->conf.steer_ifaces, st->conf.n_steer_ifaces, "steer", "tc ingress");
}

/* ---- the verdict ---- */

static bool daemon_runs(const struct status *st)
{
	return st->run_pid > 0 || st->instance_pid > 0;
}

static int exit_status(const struct status *st)
{
	return daemon_runs(st) && st->n_att ? 0 : 1;
}

/* ---- for people ---- */

static void print_daemon(const char *what, int pid)
{
	if (pid > 0)
		printf("%-10s running (pid %d)\n", what, pid);
	else if (!pid)
		printf("%-10s not running\n", what);
	else
		printf("%-10s unknown: /proc/locks: %s\n", what, strerror(-pid));
}

static void attached_fill(void *ctx, size_t i, char cell[][CS_CELL_MAX])
{
	const struct attached *a = &((const struct status *)ctx)->att[i];
	time_t t = (time_t)a->loaded_s;
	struct tm tm;

	snprintf(cell[0], CS_CELL_MAX, "%s", a->ifname);
	snprintf(cell[1], CS_CELL_MAX, "%s", a->hook);
	snprintf(cell[2], CS_CELL_MAX, "%s", a->mode ? a->mode : "-");
	snprintf(cell[3], CS_CELL_MAX, "%s", a->name);
	snprintf(cell[4], CS_CELL_MAX, "%u", a->id);
	snprintf(cell[5], CS_CELL_MAX, "%s", a->tag);
	strftime(cell[6], CS_CELL_MAX, "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
}

static void fill_fill(void *ctx, size_t i, char cell[][CS_CELL_MAX])
{
	const struct fill *f = &((const struct status *)ctx)->fill[i];

	snprintf(cell[0], CS_CELL_MAX, "%s", f->name);
	if (!f->present) {
		snprintf(cell[1], CS_CELL_MAX, "-");
		snprintf(cell[2], CS_CELL_MAX, "-");
		snprintf(cell[3], CS_CELL_MAX, "not pinned");
		return;
	}
	snprintf(cell[1], CS_CELL_MAX, "%llu", (unsigned long long)f->entries);
	snprintf(cell[2], CS_CELL_MAX, "%u", f->max);
	snprintf(cell[3], CS_CELL_MAX, "%.1f%%", f->max ? 100.0 * (double)f->entries / f->max : 0.0);
}

/* The instance ids in use, into ids; how many. */
static size_t used_instances(const struct status *st, __u32 *ids)
{
	size_t n = 0;
	__u32 i;

	if (!st->have_view || !st->v.steer || !st->v.steer->has_instances)
		return 0;
	for (i = 1; i < CS_INSTANCES_MAX; i++)
		if (st->v.steer->inst[i].chain_id)
			ids[n++] = i;
	return n;
}

static const char *inst_state(const struct status *st, __u32 id)
{
	return cs_view_instance_left(&st->v, id) ? "left" : cs_inst_state_name(st->v.steer->inst[id].state);
}

static void print_instances(const struct status *st)
{
	__u32 ids[CS_INSTANCES_MAX];
	size_t i, n = used_instances(st, ids);

	if (!n) {
		printf("instances: none pinned%s\n", st->have_view && st->v.steer && st->v.steer->has_instances ?
							     "" : " (steer never ran here)");
		return;
	}
	printf("instances:\n");
	for (i = 0; i < n; i++)
		printf("  %-24s chain %-16s %s\n", cs_view_instance_name(&st->v, ids[i]),
		       cs_view_chain_name(&st->v, st->v.steer->inst[ids[i]].chain_id), inst_state(st, ids[i]));
}

static void print_cluster(const struct status *st)
{
	size_t i;

	if (!st->have_conf || !st->conf.cluster.line) {
		printf("cluster:   %s\n", st->have_conf ? "none configured" : "unknown (no config read)");
		return;
	}
	printf("cluster:   %s, this node %s, etcd", st->conf.cluster.name, st->conf.cluster.node);
	for (i = 0; i < st->conf.cluster.n_endpoints; i++)
		printf(" %s", st->conf.cluster.endpoints[i]);
	printf(" (members: cloudsteer show cluster)\n");
}

static void print_text(const struct status *st)
{
	static const struct cs_column att_cols[] = {
		{ "INTERFACE", false }, { "HOOK", false }, { "MODE", false }, { "PROGRAM", false },
		{ "ID", true },	       { "TAG", false },  { "LOADED", false },
	};
	static const struct cs_column fill_cols[] = {
		{ "TABLE", false }, { "ENTRIES", true }, { "MAX", true }, { "FULL", true },
	};
	size_t i;

	printf("version:   cloudsteer %s\n", CS_VERSION);
	printf("pins:      %s%s\n", st->pin_dir, st->have_pins ? "" : " (missing: no daemon has run here)");
	print_daemon("run:", st->run_pid);
	print_daemon("instance:", st->instance_pid);
	printf("config:    %s\n", st->have_conf ? st->conf.files[0] : st->conf_err);
	if (st->n_att) {
		printf("\n");
		cs_table_print(stdout, att_cols, sizeof(att_cols) / sizeof(att_cols[0]), st->n_att, attached_fill,
			       (void *)st);
	} else {
		printf("attached:  nothing of ours on any interface of this network namespace\n");
	}
	for (i = 0; i < st->n_missing; i++)
		printf("missing:   %s\n", st->missing[i]);
	printf("\n");
	if (st->pins_open)
		cs_table_print(stdout, fill_cols, sizeof(fill_cols) / sizeof(fill_cols[0]),
			       sizeof(fill_tables) / sizeof(fill_tables[0]), fill_fill, (void *)st);
	if (*st->pins_err)
		printf("tables:    not read: %s\n", st->pins_err);
	print_instances(st);
	print_cluster(st);
}

/* ---- for programs ---- */

static void json_daemon(struct cs_json *j, const char *key, int pid)
{
	cs_json_object(j, key);
	cs_json_bool(j, "running", pid > 0);
	if (pid > 0)
		cs_json_u64(j, "pid", (__u64)pid);
	else
		cs_json_null(j, "pid");
	cs_json_close(j);
}

static void json_attached(struct cs_json *j, const struct status *st)
{
	size_t i;

	cs_json_array(j, "attached");
	for (i = 0; i < st->n_att; i++) {
		const struct attached *a = &st->att[i];

		cs_json_object(j, NULL);
		cs_json_str(j, "interface", a->ifname);
		cs_json_str(j, "hook", a->hook);
		if (a->mode)
			cs_json_str(j, "mode", a->mode);
		else
			cs_json_null(j, "mode");
		cs_json_str(j, "program", a->name);
		cs_json_u64(j, "id", a->id);
		cs_json_str(j, "tag", a->tag);
		cs_json_s64(j, "loaded", a->loaded_s);
		cs_json_close(j);
	}
	cs_json_close(j);
	cs_json_array(j, "missing");
	for (i = 0; i < st->n_missing; i++)
		cs_json_str(j, NULL, st->missing[i]);
	cs_json_close(j);
}

static void json_tables(struct cs_json *j, const struct status *st)
{
	size_t i;

	cs_json_object(j, "tables");
	for (i = 0; st->pins_open && i < sizeof(fill_tables) / sizeof(fill_tables[0]); i++) {
		if (!st->fill[i].present) {
			cs_json_null(j, st->fill[i].name);
			continue;
		}
		cs_json_object(j, st->fill[i].name);
		cs_json_u64(j, "entries", st->fill[i].entries);
		cs_json_u64(j, "max_entries", st->fill[i].max);
		cs_json_close(j);
	}
	cs_json_close(j);
	if (*st->pins_err)
		cs_json_str(j, "tables_error", st->pins_err);
	else
		cs_json_null(j, "tables_error");
}

static void json_instances(struct cs_json *j, const struct status *st)
{
	__u32 ids[CS_INSTANCES_MAX];
	size_t i, n = used_instances(st, ids);

	cs_json_array(j, "instances");
	for (i = 0; i < n; i++) {
		cs_json_object(j, NULL);
		cs_json_u64(j, "id", ids[i]);
		cs_json_str(j, "name", cs_view_instance_name(&st->v, ids[i]));
		cs_json_str(j, "chain", cs_view_chain_name(&st->v, st->v.steer->inst[ids[i]].chain_id));
		cs_json_str(j, "state", inst_state(st, ids[i]));
		cs_json_close(j);
	}
	cs_json_close(j);
}

static void json_cluster(struct cs_json *j, const struct status *st)
{
	size_t i;

	if (!st->have_conf || !st->conf.cluster.line) {
		cs_json_null(j, "cluster");
		return;
	}
	cs_json_object(j, "cluster");
	cs_json_str(j, "name", st->conf.cluster.name);
	cs_json_str(j, "node", st->conf.cluster.node);
	cs_json_array(j, "endpoints");
	for (i = 0; i < st->conf.cluster.n_endpoints; i++)
		cs_json_str(j, NULL, st->conf.cluster.endpoints[i]);
	cs_json_close(j);
	cs_json_close(j);
}

static void print_json(const struct status *st)
{
	struct cs_json j;

	cs_json_begin(&j, stdout);
	cs_json_bool(&j, "ok", exit_status(st) == 0);
	cs_json_str(&j, "version", CS_VERSION);
	cs_json_str(&j, "pin_dir", st->pin_dir);
	cs_json_bool(&j, "pins", st->have_pins);
	json_daemon(&j, "run", st->run_pid);
	json_daemon(&j, "instance", st->instance_pid);
	if (st->have_conf)
		cs_json_str(&j, "config", st->conf.files[0]);
	else
		cs_json_null(&j, "config");
	if (st->have_conf)
		cs_json_null(&j, "config_error");
	else
		cs_json_str(&j, "config_error", st->conf_err);
	json_attached(&j, st);
	json_tables(&j, st);
	json_instances(&j, st);
	json_cluster(&j, st);
	cs_json_end(&j);
}

int cmd_status(int argc, char **argv)
{
	struct cs_cli cli = { .cmd = "status", .usage = status_usage, .no_operands = true,
			      .flags = CS_FLAG_CONFIG | CS_FLAG_PIN_DIR | CS_FLAG_JSON | CS_FLAG_VERBOSE,
			      .config = CS_DEFAULT_CONFIG, .pin_dir = cs_pin_dir() };
	struct status *st;
	int rc = cs_cli_parse(&cli, argc, argv);

	if (rc != CS_CLI_GO_ON)
		return rc;
	st = calloc(1, sizeof(*st));
	if (!st) {
		cs_err("out of memory");
		return 1;
	}
	st->pin_dir = cli.pin_dir;
	st->run_pid = cs_lock_holder(cli.pin_dir, NULL);
	st->instance_pid = cs_lock_holder(cli.pin_dir, "instance");
	read_pin_ids(st);
	find_attached(st);
	if (st->have_pins)
		read_pins(st);
	read_config(st, cli.config, strcmp(cli.config, CS_DEFAULT_CONFIG) != 0);
	if (cli.json)
		print_json(st);
	else
		print_text(st);
	rc = exit_status(st);
	if (st->have_view)
		cs_view_free(&st->v);
	if (st->pins_open)
		cs_pinned_close(&st->pins);
	if (st->have_conf)
		cs_config_free(&st->conf);
	free(st);
	return rc;
}
