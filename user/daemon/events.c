// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdio.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "daemon.h"
#include "iptable.h"
#include "lib/addr.h"
#include "lib/log.h"
#include "learn.skel.h"

/*
 * A sweep pass removes the names that none of the records it read has; a
 * record learn made after the pass read its place is not among them, and
 * learn writes a name only where it is missing. The record's event says it
 * exists: during a pass its name is kept, and after one (or in the next
 * daemon, which reads the events a killed one left) its text is written
 * again where the pass removed it.
 */
static __u64 keep_name(struct cs_daemon *d, const struct cs_learn_event *e)
{
	__u64 id = cs_text_name_hash(d->rs.key, e->name.text, NULL);

	cs_sweep_keep_name(&d->sweep, id);
	bpf_map_update_elem(bpf_map__fd(d->skel->maps.cs_names), &id, &e->name, BPF_NOEXIST);
	return id;
}

int cs_on_learn_event(void *ctx, void *data, size_t size)
{
	const struct cs_learn_event *e = data;
	struct cs_daemon *d = ctx;
	char ip[CS_ADDR_TEXT_MAX], acl[16];

	if (size < sizeof(*e))
		return 0;
	/* in a cluster: a refresh the others must hear of */
	if (e->type == CS_EV_RECORD_EXTENDED)
		cs_iptable_note(d->iptable, cs_text_name_hash(d->rs.key, e->name.text, NULL), &e->addr);
	if (e->type != CS_EV_RECORD_NEW)
		return 0;
	cs_iptable_note(d->iptable, keep_name(d, e), &e->addr);
	snprintf(acl, sizeof(acl), "%u", e->acl_id);
	/* a line a record at debug level only: daemon/summary.c counts them */
	cs_debug("learned %s %s for %s (rule %s, ttl %u, acl %s)", e->name.text,
		cs_addr_format(&e->addr, ip, sizeof(ip)), e->qname.text, cs_pattern_text(&d->conf, e->pattern_id),
		e->ttl, e->acl_id ? acl : "waiting");
	return 0;
}
