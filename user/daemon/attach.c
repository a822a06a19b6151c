// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * attach.c - learn on the learn interfaces, through libxdp (what users'
 * hosts use; where the kernel lacks the multi-program dispatcher libxdp
 * attaches the program alone); and query on their TC egress, where the
 * queries whose answers learn takes leave.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "daemon.h"
#include "lib/log.h"
#include "lib/pins.h"
#include "lib/tc.h"
#include "learn.skel.h"

static const struct cs_tc_filter query_filter = { "query", CS_QUERY_HANDLE, CS_QUERY_PRIO, true };

static int check_list(const struct cs_conf *conf, char *const *names, size_t n, const char *what,
		      char *err, size_t errlen)
{
	size_t i;

	if (n > CS_IFACES_MAX) {
		snprintf(err, errlen, "%s: more than %d %s interfaces", conf->files[0], CS_IFACES_MAX, what);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (!if_nametoindex(names[i])) {
			snprintf(err, errlen, "%s: %s interface \"%s\" does not exist", conf->files[0], what,
				 names[i]);
			return -1;
		}
	}
	return 0;
}

int cs_ifaces_check(const struct cs_conf *conf, char *err, size_t errlen)
{
	return check_list(conf, conf->learn_ifaces, conf->n_learn_ifaces, "learn", err, errlen) ||
	       check_list(conf, conf->steer_ifaces, conf->n_steer_ifaces, "steer", err, errlen) ? -1 : 0;
}

/* The name and id of the XDP program on ifindex, if any. */
bool cs_xdp_attached_prog(int ifindex, char name[BPF_OBJ_NAME_LEN], __u32 *id)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	struct xdp_program *main;
	bool found = false;

	if (!mp || libxdp_get_error(mp))
		return false;
	main = xdp_multiprog__main_prog(mp);
	if (main) {
		snprintf(name, BPF_OBJ_NAME_LEN, "%s", xdp_program__name(main));
		*id = xdp_program__id(main);
		found = true;
	}
	xdp_multiprog__close(mp);
	return found;
}

/* Whatever XDP program libxdp finds on ifindex, off. */
int cs_xdp_detach_ifindex(int ifindex)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(ifindex);
	int e;

	if (!mp || libxdp_get_error(mp))
		return -ENOENT;
	e = xdp_multiprog__detach(mp);
	xdp_multiprog__close(mp);
	return e;
}

/* Does this process hold CAP_SYS_ADMIN? libxdp 1.3's attach needs it: it
 * tries its dispatcher first, and without the capability that load fails in
 * a way libxdp then crashes on (a NULL program), instead of falling back. */
bool cs_xdp_attach_allowed(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d))
		return false;
	return d[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective & CAP_TO_MASK(CAP_SYS_ADMIN);
}

/* Native first (the driver runs it before an skb exists), generic where the
 * driver has no XDP. */
static int attach_one(int prog_fd, struct cs_attachment *a, char *err, size_t errlen)
{
	struct xdp_program *p;
	char why[128];
	int e;

	if (!cs_xdp_attach_allowed()) {
		snprintf(err, errlen, "cannot attach learn to %s: attaching XDP through libxdp takes CAP_SYS_ADMIN, "
			 "which this process lacks", a->ifname);
		return -1;
	}
	p = xdp_program__from_fd(prog_fd);
	if (!p || libxdp_get_error(p)) {
		snprintf(err, errlen, "%s: cannot wrap the learn program for libxdp", a->ifname);
		return -1;
	}
	e = xdp_program__attach(p, a->ifindex, XDP_MODE_NATIVE, 0);
	a->mode = "native";
	if (e) {
		e = xdp_program__attach(p, a->ifindex, XDP_MODE_SKB, 0);
		a->mode = "generic";
	}
	xdp_program__close(p);
	if (e) {
		libxdp_strerror(e, why, sizeof(why));
		snprintf(err, errlen, "cannot attach learn to %s: %s", a->ifname, why);
		return -1;
	}
	a->ours = true;
	return 0;
}

/* Always attached, matching on or off: a reload may turn it on, and off it
 * returns at once. */
static int attach_query(struct cs_daemon *d, char *err, size_t errlen)
{
	int fd = bpf_program__fd(d->skel->progs.query);
	size_t i;

	for (i = 0; i < d->conf.n_learn_ifaces; i++)
		if (cs_tc_attach(d->pin_dir, d->conf.learn_ifaces[i], fd, &query_filter, err, errlen))
			return -1;
	return 0;
}

int cs_attach_learn(struct cs_daemon *d, char *err, size_t errlen)
{
	int prog_fd = bpf_program__fd(d->skel->progs.learn);
	size_t i;

	/* queries first: an answer learn sees must find its query recorded */
	if (attach_query(d, err, errlen))
		return -1;
	for (i = 0; i < d->conf.n_learn_ifaces; i++) {
		struct cs_attachment *a = &d->att[d->n_att];
		char name[BPF_OBJ_NAME_LEN] = "";
		__u32 id = 0;

		snprintf(a->ifname, sizeof(a->ifname), "%s", d->conf.learn_ifaces[i]);
		a->ifindex = (int)if_nametoindex(a->ifname);
		a->ours = false;
		if (cs_xdp_attached_prog(a->ifindex, name, &id)) {
			if (strcmp(name, "learn")) {
				snprintf(err, errlen, "%s already runs the XDP program \"%s\" (id %u); "
					 "sharing an interface needs libxdp's dispatcher, which this kernel "
					 "cannot load", a->ifname, name, id);
				return -1;
			}
			if (cs_prog_same(prog_fd, id)) {
				/* the same code on the same pinned maps: keep it, no gap */
				a->mode = "adopted";
				d->n_att++;
				cs_info("learn: %s: kept the attached program (id %u): same code, same maps",
					a->ifname, id);
				continue;
			}
			cs_info("learn: %s: replacing program id %u with a newer one", a->ifname, id);
			cs_xdp_detach_ifindex(a->ifindex);
		}
		if (attach_one(prog_fd, a, err, errlen))
			return -1;
		d->n_att++;
		cs_info("learn: attached to %s (%s mode)", a->ifname, a->mode);
	}
	return 0;
}

void cs_detach_learn(const struct cs_conf *conf)
{
	size_t i;

	for (i = 0; i < conf->n_learn_ifaces; i++)
		cs_tc_detach(conf->learn_ifaces[i], &query_filter);
	for (i = 0; i < conf->n_learn_ifaces; i++) {
		int ifindex = (int)if_nametoindex(conf->learn_ifaces[i]);
		char name[BPF_OBJ_NAME_LEN] = "";
		__u32 id;

		if (!ifindex || !cs_xdp_attached_prog(ifindex, name, &id) || strcmp(name, "learn"))
			continue;
		if (cs_xdp_detach_ifindex(ifindex))
			cs_warn("learn: %s: could not detach program id %u", conf->learn_ifaces[i], id);
		else
			cs_info("learn: detached from %s", conf->learn_ifaces[i]);
	}
}
