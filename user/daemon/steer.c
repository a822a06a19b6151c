// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * steer.c - the steer program, over the pinned maps, on the steer
 * interfaces' TC ingress (lib/tc.c: politely).
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
#include "lib/tc.h"
#include "steer.skel.h"

int cs_steer_load(struct cs_daemon *d, char *err, size_t errlen)
{
	struct steer_bpf *skel = steer_bpf__open();
	int e;

	if (!skel) {
		snprintf(err, errlen, "cannot open the steer program: %s", strerror(errno));
		return -1;
	}
	/* learn pinned cs_routes first: steer reads that very map, so it must
	 * declare the size learn gave it (learn.limits.routes), or reusing the
	 * pin is refused as another layout */
	bpf_map__set_max_entries(skel->maps.cs_routes, d->conf.limit_routes);
	/* steer.limits: the flow tables, fixed at a fresh start like learn's */
	bpf_map__set_max_entries(skel->maps.cs_flows, d->conf.limit_flows);
	bpf_map__set_max_entries(skel->maps.cs_flows_new, d->conf.limit_flows_new);
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

static const struct cs_tc_filter steer_filter = { "steer", CS_STEER_HANDLE, CS_STEER_PRIO, false };

int cs_attach_steer(struct cs_daemon *d, char *err, size_t errlen)
{
	int fd = bpf_program__fd(d->steer->progs.steer);
	size_t i;

	for (i = 0; i < d->conf.n_steer_ifaces; i++)
		if (cs_tc_attach(d->pin_dir, d->conf.steer_ifaces[i], fd, &steer_filter, err, errlen))
			return -1;
	return 0;
}

/* Our filter off every steer interface; the hooks we made, too. */
void cs_detach_steer(const struct cs_conf *conf, const char *pin_dir)
{
	size_t i;

	cs_steer_xdp_detach(conf, pin_dir);	/* first: TC steers what it would have */
	for (i = 0; i < conf->n_steer_ifaces; i++)
		cs_tc_detach(conf->steer_ifaces[i], &steer_filter);
	cs_tc_remove_hooks(pin_dir);
}
