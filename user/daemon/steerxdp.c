// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * steerxdp.c - steer's fast path (steer_xdp, bpf/steer.bpf.c) on the steer
 * interfaces: attached natively where the interface only steers; where it
 * learns too, learn hands its packets on (cs_xdp_after_learn), since one
 * XDP program runs on an interface where libxdp's dispatcher cannot load.
 * And the interfaces XDP may send out of (cs_xdp_ports): those whose
 * driver says it takes redirected frames (a veth only once its peer has
 * NAPI: GRO on, or an XDP program).
 *
 * The fast path only speeds up what TC does: where it cannot run (no
 * native XDP, another XDP program, a kernel that does not say what
 * drivers can do, a veth unless steer.xdp is on, steer.xdp: off) TC steers
 * alone, and the log says why.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>

#include "daemon.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/pins.h"
#include "lib/xdpfeat.h"
#include "learn.skel.h"
#include "steer.skel.h"

#define XDP_PORTS_EVERY_MS 2000	/* interfaces come and go; peers turn GRO on */

static bool learns_on(const struct cs_conf *conf, const char *ifname)
{
	size_t i;

	for (i = 0; i < conf->n_learn_ifaces; i++)
		if (!strcmp(conf->learn_ifaces[i], ifname))
			return true;
	return false;
}

/* Where learn runs too: learn's tail call, slot ifindex. */
static void after_learn(struct cs_daemon *d, const char *ifname, __u32 ifindex, int prog_fd)
{
	int fd = bpf_map__fd(d->skel->maps.cs_xdp_after_learn);

	if (ifindex >= CS_XDP_IFINDEX_SLOTS) {
		cs_info("steer: %s: ifindex %u is past learn's %u slots: TC steers alone there", ifname, ifindex,
			CS_XDP_IFINDEX_SLOTS);
		return;
	}
	if (bpf_map_update_elem(fd, &ifindex, &prog_fd, BPF_ANY)) {
		cs_warn("steer: %s: cannot hand learn's packets on to the fast path: %s; TC steers alone there",
			ifname, strerror(errno));
		return;
	}
	d->xdp_steering = true;
	cs_info("steer: %s: XDP fast path after learn", ifname);
}

/* Where it only steers: steer_xdp natively, replacing an older one of
 * ours, never another program. */
static void attach_native(struct cs_daemon *d, const char *ifname, int ifindex, int prog_fd)
{
	char name[BPF_OBJ_NAME_LEN] = "", why[128];
	struct xdp_program *p;
	__u32 id = 0;
	int e;

	if (cs_xdp_attached_prog(ifindex, name, &id)) {
		if (strcmp(name, "steer_xdp")) {
			cs_info("steer: %s runs the XDP program \"%s\" (id %u): TC steers alone there", ifname, name,
				id);
			return;
		}
		if (cs_prog_same(prog_fd, id)) {
			d->xdp_steering = true;
			cs_info("steer: %s: kept the XDP fast path (id %u): same code, same maps", ifname, id);
			return;
		}
		cs_xdp_detach_ifindex(ifindex);	/* TC steers every packet meanwhile */
	}
	if (!cs_xdp_attach_allowed()) {
		cs_info("steer: %s: attaching XDP through libxdp takes CAP_SYS_ADMIN: TC steers alone there", ifname);
		return;
	}
	p = xdp_program__from_fd(prog_fd);
	if (!p || libxdp_get_error(p)) {
		cs_warn("steer: %s: cannot wrap steer_xdp for libxdp: TC steers alone there", ifname);
		return;
	}
	e = xdp_program__attach(p, ifindex, XDP_MODE_NATIVE, 0);
	xdp_program__close(p);
	if (e) {
		/* generic XDP would run after the skb is built: no faster than TC */
		libxdp_strerror(e, why, sizeof(why));
		cs_info("steer: %s: no native XDP (%s): TC steers alone there", ifname, why);
		return;
	}
	d->xdp_steering = true;
	cs_info("steer: %s: XDP fast path attached (native)", ifname);
}

/* An interface where TC steers alone now: a fast path an earlier run left
 * there goes (its program, learn's slot for it). */
static void leave_to_tc(struct cs_daemon *d, const char *ifname, int ifindex)
{
	int slots = bpf_map__fd(d->skel->maps.cs_xdp_after_learn);
	char name[BPF_OBJ_NAME_LEN] = "";
	__u32 id, slot = (__u32)ifindex;

	bpf_map_delete_elem(slots, &slot);
	if (cs_xdp_attached_prog(ifindex, name, &id) && !strcmp(name, "steer_xdp") && !cs_xdp_detach_ifindex(ifindex))
		cs_info("steer: %s: the XDP fast path an earlier run attached (id %u) detached", ifname, id);
}

void cs_steer_xdp_attach(struct cs_daemon *d)
{
	int prog_fd = bpf_program__fd(d->steer->progs.steer_xdp);
	bool none = false;
	__u64 features;
	size_t i;

	if (d->conf.steer_xdp == CS_STEER_XDP_OFF && d->conf.n_steer_ifaces) {
		cs_info("steer: steer.xdp is off: TC steers alone");
		none = true;
	} else if (cs_xdp_features(1, &features) == -ENOENT) {	/* lo: is there anyone to ask? */
		cs_info("steer: this kernel does not say which drivers take XDP frames (Linux 6.3 does): "
			"TC steers alone");
		none = true;
	}
	for (i = 0; i < d->conf.n_steer_ifaces; i++) {
		const char *ifname = d->conf.steer_ifaces[i];
		int ifindex = (int)if_nametoindex(ifname);

		if (!ifindex)
			continue;	/* checked at start; gone since */
		if (none) {
			leave_to_tc(d, ifname, ifindex);
			continue;
		}
		if (d->conf.steer_xdp == CS_STEER_XDP_AUTO && cs_if_is_veth(ifname)) {
			cs_info("steer: %s is a veth, whose sender leaves TCP and UDP checksums to offload, which "
				"XDP cannot finish: TC steers alone there (steer.xdp: on, with checksums sent whole)",
				ifname);
			leave_to_tc(d, ifname, ifindex);
			continue;
		}
		if (learns_on(&d->conf, ifname))
			after_learn(d, ifname, (__u32)ifindex, prog_fd);
		else
			attach_native(d, ifname, ifindex, prog_fd);
	}
	d->xdp_ports_next_ms = 0;
	cs_steer_xdp_ports_tick(d);
}

/* Is ifindex a way XDP may send out of? */
static bool takes_xdp_frames(int ifindex)
{
	__u64 features = 0;

	return !cs_xdp_features(ifindex, &features) && (features & CS_XDP_ACT_NDO_XMIT);
}

void cs_steer_xdp_ports_tick(struct cs_daemon *d)
{
	int fd = bpf_map__fd(d->steer->maps.cs_xdp_ports);
	struct if_nameindex *ifs, *it;
	__u64 now = cs_monotonic_ms();

	if (!d->xdp_steering || now < d->xdp_ports_next_ms)
		return;
	d->xdp_ports_next_ms = now + XDP_PORTS_EVERY_MS;
	ifs = if_nameindex();
	if (!ifs)
		return;
	/* an interface that goes away leaves the map by itself */
	for (it = ifs; it->if_index; it++) {
		__u32 ifindex = it->if_index;

		if (takes_xdp_frames((int)ifindex))
			bpf_map_update_elem(fd, &ifindex, &ifindex, BPF_ANY);
		else
			bpf_map_delete_elem(fd, &ifindex);
	}
	if_freenameindex(ifs);
}

void cs_steer_xdp_detach(const struct cs_conf *conf, const char *pin_dir)
{
	int slots = cs_pin_open(pin_dir, "cs_xdp_after_learn");
	size_t i;

	for (i = 0; i < conf->n_steer_ifaces; i++) {
		int ifindex = (int)if_nametoindex(conf->steer_ifaces[i]);
		char name[BPF_OBJ_NAME_LEN] = "";
		__u32 id, slot = (__u32)ifindex;

		if (!ifindex)
			continue;
		if (slots >= 0)
			bpf_map_delete_elem(slots, &slot);
		if (!cs_xdp_attached_prog(ifindex, name, &id) || strcmp(name, "steer_xdp"))
			continue;
		if (cs_xdp_detach_ifindex(ifindex))
			cs_warn("steer: %s: could not detach the XDP fast path (id %u)", conf->steer_ifaces[i], id);
		else
			cs_info("steer: XDP fast path detached from %s", conf->steer_ifaces[i]);
	}
	if (slots >= 0)
		close(slots);
}
