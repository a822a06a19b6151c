// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * steer.c - the steer program on the steer interfaces' TC ingress. Polite,
 * like libbpf-bootstrap's tc example: the clsact hook is made only where it
 * is missing (and remembered in /run, so detach removes only hooks we
 * made), our filter has its own handle and priority, and a restart replaces
 * it atomically (BPF_TC_F_REPLACE) or keeps it when the code is the same.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon.h"
#include "lib/log.h"
#include "lib/pins.h"
#include "steer.skel.h"

/* /run/<pin dir name>.clsact lists the interfaces whose hook we made. */
static void hooks_file(const char *pin_dir, char *buf, size_t len)
{
	const char *base = strrchr(pin_dir, '/');

	snprintf(buf, len, "/run/%s.clsact", base ? base + 1 : pin_dir);
}

static void remember_hook(const char *pin_dir, const char *ifname)
{
	char path[256];
	FILE *f;

	hooks_file(pin_dir, path, sizeof(path));
	f = fopen(path, "a");
	if (f) {
		fprintf(f, "%s\n", ifname);
		fclose(f);
	}
}

int cs_steer_load(struct cs_daemon *d, char *err, size_t errlen)
{
	struct steer_bpf *skel = steer_bpf__open();
	int e;

	if (!skel) {
		snprintf(err, errlen, "cannot open the steer program: %s", strerror(errno));
		return -1;
	}
	/* learn pinned cs_routes first: steer reads that very map */
	if (cs_pins_reuse(skel->obj, d->pin_dir, err, errlen) < 0)
		goto fail;
	e = steer_bpf__load(skel);
	if (e) {
		snprintf(err, errlen, "the kernel refused the steer program (%s)", strerror(-e));
		goto fail;
	}
	if (cs_pins_pin(skel->obj, d->pin_dir, err, errlen))
		goto fail;
	d->steer = skel;
	return 0;
fail:
	steer_bpf__destroy(skel);
	return -1;
}

static void prog_tag_of_id(__u32 id, __u8 tag[BPF_TAG_SIZE])
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	int fd = bpf_prog_get_fd_by_id(id);

	memset(tag, 0, BPF_TAG_SIZE);
	if (fd < 0)
		return;
	memset(&info, 0, sizeof(info));
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		memcpy(tag, info.tag, BPF_TAG_SIZE);
	close(fd);
}

static int attach_one(struct cs_daemon *d, const char *ifname, char *err, size_t errlen)
{
	int fd = bpf_program__fd(d->steer->progs.steer), ifindex = (int)if_nametoindex(ifname), e;
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, q, .handle = CS_STEER_HANDLE, .priority = CS_STEER_PRIO);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = CS_STEER_HANDLE, .priority = CS_STEER_PRIO,
			    .prog_fd = fd, .flags = BPF_TC_F_REPLACE);
	__u8 ours[BPF_TAG_SIZE], theirs[BPF_TAG_SIZE];
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	e = bpf_tc_hook_create(&hook);
	if (!e) {
		remember_hook(d->pin_dir, ifname);
	} else if (e != -EEXIST) {
		snprintf(err, errlen, "cannot make the clsact hook on %s: %s", ifname, strerror(-e));
		return -1;
	}
	memset(&info, 0, sizeof(info));
	bpf_obj_get_info_by_fd(fd, &info, &len);
	memcpy(ours, info.tag, sizeof(ours));
	if (!bpf_tc_query(&hook, &q)) {
		prog_tag_of_id(q.prog_id, theirs);
		if (!memcmp(ours, theirs, sizeof(ours))) {
			cs_info("steer: %s: kept the attached program (id %u): same code, same maps", ifname,
				q.prog_id);
			return 0;
		}
	}
	e = bpf_tc_attach(&hook, &opts);
	if (e) {
		snprintf(err, errlen, "cannot attach steer to %s ingress: %s", ifname, strerror(-e));
		return -1;
	}
	cs_info("steer: attached to %s ingress (tc filter handle %#x priority %#x)", ifname,
		CS_STEER_HANDLE, CS_STEER_PRIO);
	return 0;
}

int cs_attach_steer(struct cs_daemon *d, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < d->conf.n_steer_ifaces; i++)
		if (attach_one(d, d->conf.steer_ifaces[i], err, errlen))
			return -1;
	return 0;
}

/* Our filter off every steer interface; the hooks we made, too. */
void cs_detach_steer(const struct cs_conf *conf, const char *pin_dir)
{
	char path[256], line[64];
	size_t i;
	FILE *f;

	for (i = 0; i < conf->n_steer_ifaces; i++) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)if_nametoindex(conf->steer_ifaces[i]),
				    .attach_point = BPF_TC_INGRESS);
		DECLARE_LIBBPF_OPTS(bpf_tc_opts, opts, .handle = CS_STEER_HANDLE, .priority = CS_STEER_PRIO);

		if (hook.ifindex && !bpf_tc_detach(&hook, &opts))
			cs_info("steer: detached from %s", conf->steer_ifaces[i]);
	}
	hooks_file(pin_dir, path, sizeof(path));
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS);

		line[strcspn(line, "\n")] = 0;
		hook.ifindex = (int)if_nametoindex(line);
		if (hook.ifindex && !bpf_tc_hook_destroy(&hook))
			cs_info("steer: removed the clsact hook it made on %s", line);
	}
	fclose(f);
	unlink(path);
}
