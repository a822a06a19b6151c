// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tc.h"
#include "log.h"
#include "pins.h"
#include "rundir.h"

/* /run/cloudsteer/<pin dir name>.clsact lists the interfaces whose hook we
 * made (lib/rundir.h). */
static void remember_hook(const char *pin_dir, const char *ifname)
{
	char path[256], err[256];
	FILE *f;

	if (cs_run_dir_make(err, sizeof(err)))
		cs_warn("%s: detach will not know that cloudsteer made the clsact hook on %s", err, ifname);
	cs_run_file(pin_dir, ".clsact", path, sizeof(path));
	f = fopen(path, "a");
	if (f) {
		fprintf(f, "%s\n", ifname);
		fclose(f);
	}
}

static const char *side(const struct cs_tc_filter *f)
{
	return f->egress ? "egress" : "ingress";
}

int cs_tc_attach(const char *pin_dir, const char *ifname, int prog_fd, const struct cs_tc_filter *f, char *err,
		 size_t errlen)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)if_nametoindex(ifname),
			    .attach_point = f->egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, q, .handle = f->handle, .priority = f->prio);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = f->handle, .priority = f->prio, .prog_fd = prog_fd,
			    .flags = BPF_TC_F_REPLACE);
	int e;

	if (!hook.ifindex) {
		snprintf(err, errlen, "%s: no interface %s", f->what, ifname);
		return -1;
	}
	e = bpf_tc_hook_create(&hook);
	if (!e) {
		remember_hook(pin_dir, ifname);
	} else if (e != -EEXIST) {
		snprintf(err, errlen, "cannot make the clsact hook on %s: %s", ifname, strerror(-e));
		return -1;
	}
	if (!bpf_tc_query(&hook, &q)) {
		if (cs_prog_same(prog_fd, q.prog_id)) {
			cs_info("%s: %s: kept the attached program (id %u): same code, same maps", f->what, ifname,
				q.prog_id);
			return 0;
		}
	}
	e = bpf_tc_attach(&hook, &opts);
	if (e) {
		snprintf(err, errlen, "cannot attach %s to %s %s: %s", f->what, ifname, side(f), strerror(-e));
		return -1;
	}
	cs_info("%s: attached to %s %s (tc filter handle %#x priority %#x)", f->what, ifname, side(f), f->handle,
		f->prio);
	return 0;
}

void cs_tc_detach(const char *ifname, const struct cs_tc_filter *f)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)if_nametoindex(ifname),
			    .attach_point = f->egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = f->handle, .priority = f->prio);

	if (hook.ifindex && !bpf_tc_detach(&hook, &opts))
		cs_info("%s: detached from %s %s", f->what, ifname, side(f));
}

/* The clsact hooks that one note lists, removed, and the note with them. */
static void remove_noted_hooks(const char *path)
{
	char line[64];
	FILE *f;

	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

		line[strcspn(line, "\n")] = 0;
		hook.ifindex = (int)if_nametoindex(line);
		if (hook.ifindex && !bpf_tc_hook_destroy(&hook))
			cs_info("removed the clsact hook cloudsteer made on %s", line);
	}
	fclose(f);
	unlink(path);
}

void cs_tc_remove_hooks(const char *pin_dir)
{
	char path[256];

	cs_run_file(pin_dir, ".clsact", path, sizeof(path));
	remove_noted_hooks(path);
	/* an older release's note, of hooks made before an upgrade */
	cs_run_file_legacy(pin_dir, ".clsact", path, sizeof(path));
	remove_noted_hooks(path);
}
