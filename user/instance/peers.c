// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * peers.c - the state sync between the instances of a chain (lib/sync.h
 * has the datagram format and the rule of which version wins).
 *
 * Sending. Every stream this node holds goes to the other instance(s) of
 * its bucket: when it begins, changes state or is taken over (the
 * dataplane's ring buffer), when the table changes (all of them), and
 * every quarter of stream_idle while it carries packets (so the copies stay
 * alive). Versions are batched per peer, up to CS_SYNC_BATCH a datagram,
 * and a batch goes when it is full or when the loop has drained its
 * inputs: under load datagrams fill, at rest each change goes at once.
 * Nothing here touches the dataplane's path: the program only writes a ring
 * buffer record, and a full ring buffer is counted there, not waited on.
 *
 * Every datagram carries a tag under the sync key (lib/sync.h): mesh.sync_key,
 * else a key derived from mesh.affinity_key, else none (all zeros, and a
 * warning at start): without a secret key the tag only catches corruption.
 *
 * Receiving. A datagram must come from the address of another instance of
 * this chain, carry a tag that verifies, and name this chain, the instance
 * at its address as sender and this node as receiver; anything else is
 * refused and counted, by what was wrong. Each version is installed when it
 * is newer than what this node has (cs_sync_newer), marked synced: the
 * dataplane admits the stream's packets and takes it over on the first one.
 * A genuine datagram replayed is no more than a late one: what it carries
 * is not newer than what it brought the first time, so it is stale.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "instance.h"
#include "lib/addr.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "instance.skel.h"

/* The sync key: mesh.sync_key, else derived from mesh.affinity_key, else
 * none (all zeros), which the log says with what to set. */
static void choose_key(struct cs_instance_daemon *d)
{
	const struct cs_conf *c = &d->conf;
	struct cs_sync_key affinity;

	memset(&d->sync_key, 0, sizeof(d->sync_key));
	d->stats.authenticated = 1;
	if (c->has_sync_key) {
		cs_sync_key_from_words(c->sync_key, &d->sync_key);
		cs_info("sync: datagrams authenticated with mesh.sync_key");
		return;
	}
	if (c->has_affinity_key) {
		cs_sync_key_from_words(c->affinity_key, &affinity);
		cs_sync_key_derive(&affinity, &d->sync_key);
		cs_info("sync: datagrams authenticated with a key derived from mesh.affinity_key "
			"(mesh.sync_key gives the sync a key of its own)");
		return;
	}
	d->stats.authenticated = 0;
	cs_warn("sync is not authenticated: there is no mesh.sync_key (nor a mesh.affinity_key to derive one "
		"from), so whoever can send from a peer's address can install streams here; set mesh.sync_key "
		"(32 hex digits, the same on every instance)");
}

int cs_sync_socket(const struct cs_member *self, __u32 port, char *err, size_t errlen)
{
	char a[CS_ADDR_TEXT_MAX];
	int one = 1, fd = socket(self->sa.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (const struct sockaddr *)&self->sa, self->salen)) {
		snprintf(err, errlen, "sync: cannot listen on %s port %u: %s",
			 cs_addr_format(&self->addr, a, sizeof(a)), port, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int cs_sync_open(struct cs_instance_daemon *d, char *err, size_t errlen)
{
	d->sock = -1;
	if (!d->conf.instance.sync) {
		cs_warn("sync is off (instance.sync: false): no peer will have this node's streams");
		return 0;
	}
	choose_key(d);
	d->sock = cs_sync_socket(&d->members[d->self], d->conf.sync_port, err, errlen);
	return d->sock < 0 ? -1 : 0;
}

void cs_sync_drop_batches(struct cs_instance_daemon *d)
{
	size_t i;

	for (i = 0; i < d->n_members; i++) {
		free(d->members[i].out);
		d->members[i].out = NULL;
	}
}

void cs_sync_close(struct cs_instance_daemon *d)
{
	if (d->sock >= 0)
		close(d->sock);
	d->sock = -1;
	cs_sync_drop_batches(d);
}

static void send_batch(struct cs_instance_daemon *d, struct cs_member *m)
{
	struct cs_sync_batch *b = m->out;
	size_t len;

	if (!b || !b->count)
		return;
	len = cs_sync_seal(b, &d->sync_key);
	if (sendto(d->sock, b->buf, len, MSG_DONTWAIT, (struct sockaddr *)&m->sa, m->salen) < 0) {
		d->stats.send_errors++;
	} else {
		d->stats.msgs_sent++;
		d->stats.streams_sent += b->count;
		if (m->oldest_event_ns) {
			__u64 lag_us = (cs_now_ns() - m->oldest_event_ns) / 1000;

			d->stats.lag_last_us = lag_us;
			cs_histogram_observe(&d->daemon_stats.sync_lag, lag_us);
			if (lag_us > d->stats.lag_max_us)
				d->stats.lag_max_us = lag_us;
		}
	}
	b->count = 0;
	m->oldest_event_ns = 0;
}

/* One stream version into m's datagram; event_ns: when the dataplane
 * reported it (0: not an event). */
static void queue_for(struct cs_instance_daemon *d, struct cs_member *m, const struct cs_sync_entry *e,
		      __u64 event_ns)
{
	if (!m->out) {
		m->out = calloc(1, sizeof(*m->out));
		if (!m->out)
			return;
	}
	if (m->out->count == CS_SYNC_BATCH)
		send_batch(d, m);
	if (!m->out->count)
		cs_sync_begin(m->out, cs_role_chain(d)->vni, d->members[d->self].wire, m->wire, d->map_version);
	cs_sync_add(m->out, e);
	if (event_ns && (!m->oldest_event_ns || event_ns < m->oldest_event_ns))
		m->oldest_event_ns = event_ns;
}

/* The stream goes to the instances of its bucket that are not this node
 * and are up: the secondary while this node is the primary, the primary
 * when this node holds it after a failover, both when the table moved the
 * bucket away from this node. */
static void queue_stream(struct cs_instance_daemon *d, const struct cs_flow_key *k, const struct cs_stream *stream,
			 __u64 event_ns)
{
	const struct cs_bucket *b = &d->table[stream->code & (CS_BUCKETS_DEFAULT - 1)];
	__u16 pos[2] = { b->primary, b->secondary };
	struct cs_sync_entry e;
	int i;

	if (d->sock < 0)
		return;
	cs_sync_entry_from(&e, k, stream, cs_now_ns());
	for (i = 0; i < 2; i++) {
		struct cs_member *m = cs_role_member_at(d, pos[i]);

		if (m && !m->self && __atomic_load_n(&m->up, __ATOMIC_ACQUIRE))
			queue_for(d, m, &e, event_ns);
	}
}

int cs_sync_on_event(void *ctx, void *data, size_t size)
{
	const struct cs_stream_event *ev = data;

	if (size < sizeof(*ev))
		return 0;
	queue_stream(ctx, &ev->key, &ev->st, ev->st.last_ns);
	return 0;
}

struct held_walk {
	__u64 since_ns;
	__u64 n;
};

static void queue_if_held(struct cs_instance_daemon *d, const struct cs_flow_key *k, const struct cs_stream *stream,
			  void *arg)
{
	struct held_walk *w = arg;

	if ((stream->flags & CS_STREAM_SYNCED) || stream->last_ns < w->since_ns)
		return;
	queue_stream(d, k, stream, 0);
	w->n++;
}

__u64 cs_sync_queue_held(struct cs_instance_daemon *d, __u64 since_ns)
{
	struct held_walk w = { .since_ns = since_ns };

	if (d->sock < 0)
		return 0;
	cs_streams_each(d, queue_if_held, &w);
	return w.n;
}

/* The partners of bucket b: the members other than this node it names. */
static void partners_of(struct cs_instance_daemon *d, __u32 b, struct cs_partners *out)
{
	__u16 pos[2] = { d->table[b].primary, d->table[b].secondary };
	int i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < 2; i++) {
		const struct cs_member *m = cs_role_member_at(d, pos[i]);

		if (m && !m->self) {
			out->wire[i] = m->wire;
			out->addr[i] = m->addr;
		}
	}
}

void cs_sync_partners(struct cs_instance_daemon *d, struct cs_partners *out)
{
	__u32 b;

	for (b = 0; b < CS_BUCKETS_DEFAULT; b++)
		partners_of(d, b, &out[b]);
}

struct moved_walk {
	const struct cs_partners *before;
	__u64 n;
};

static void queue_if_moved(struct cs_instance_daemon *d, const struct cs_flow_key *k,
			   const struct cs_stream *stream, void *arg)
{
	struct moved_walk *w = arg;
	__u32 b = stream->code & (CS_BUCKETS_DEFAULT - 1);
	struct cs_partners now;

	if (stream->flags & CS_STREAM_SYNCED)
		return;
	partners_of(d, b, &now);
	if (!memcmp(&now, &w->before[b], sizeof(now)))
		return;
	queue_stream(d, k, stream, 0);
	w->n++;
}

__u64 cs_sync_queue_moved(struct cs_instance_daemon *d, const struct cs_partners *before)
{
	struct moved_walk w = { .before = before };

	if (d->sock < 0)
		return 0;
	cs_streams_each(d, queue_if_moved, &w);
	return w.n;
}

void cs_sync_flush(struct cs_instance_daemon *d)
{
	size_t i;

	if (d->sock < 0)
		return;
	for (i = 0; i < d->n_members; i++)
		send_batch(d, &d->members[i]);
}

/* The peer a datagram came from, or NULL: not an instance of this chain. */
static struct cs_member *peer_at(struct cs_instance_daemon *d, const struct sockaddr_storage *from)
{
	struct cs_addr a;
	size_t i;

	if (cs_addr_from_sockaddr(from, &a))
		return NULL;
	for (i = 0; i < d->n_members; i++)
		if (!d->members[i].self && !memcmp(&d->members[i].addr, &a, sizeof(a)))
			return &d->members[i];
	return NULL;
}

/* What was wrong with a refused datagram; each kind is logged on its own,
 * so a flood of one cannot hide another. */
enum refusal {
	R_STRANGER,	/* not from a peer's address */
	R_MISNAMED,	/* another chain, sender or receiver */
	R_VERSION,	/* another version of the format */
	R_TAG,		/* the tag does not verify */
	R_KINDS,
};

/* Refusals are logged once, then at most once a minute per kind, with how
 * many of that kind followed. */
static void log_refused(enum refusal kind, const struct sockaddr_storage *from, const char *why)
{
	static __u64 last_ns[R_KINDS], quiet[R_KINDS];
	__u64 now = cs_now_ns();
	char a[CS_ADDR_TEXT_MAX] = "?";
	struct cs_addr addr;

	if (last_ns[kind] && now - last_ns[kind] < 60000000000ULL) {
		quiet[kind]++;
		return;
	}
	if (!cs_addr_from_sockaddr(from, &addr))
		cs_addr_format(&addr, a, sizeof(a));
	cs_warn("sync: refused a datagram from %s: %s (%llu more such since the last report)", a, why,
		(unsigned long long)quiet[kind]);
	last_ns[kind] = now;
	quiet[kind] = 0;
}

/* Count, and say, why cs_sync_parse refused a peer's datagram (e). */
static void refuse_unparsed(struct cs_instance_daemon *d, const __u8 *buf, const struct sockaddr_storage *from,
			    int e)
{
	char why[160];

	if (e == -EBADMSG) {
		d->stats.unauthenticated++;
		log_refused(R_TAG, from, "its tag does not verify: forged, or the peer has another sync key "
			    "(mesh.sync_key, or mesh.affinity_key without it)");
		return;
	}
	d->stats.malformed++;
	if (e == -EPROTONOSUPPORT) {
		snprintf(why, sizeof(why), "sync format version %u, this node speaks %u: is the peer running "
			 "another version of cloudsteer?", buf[CS_SYNC_VERSION_AT], CS_SYNC_VERSION);
		log_refused(R_VERSION, from, why);
	}
}

static bool names_us(const struct cs_instance_daemon *d, const struct cs_member *m, const struct cs_sync_hdr *h)
{
	return h->chain_id == cs_role_chain(d)->vni && h->sender == m->wire && h->receiver == d->members[d->self].wire;
}

/* The version of a stream this node holds, in either table; false: none. */
static bool held_version(struct cs_instance_daemon *d, const struct cs_flow_key *key, struct cs_stream *held)
{
	return !bpf_map_lookup_elem(bpf_map__fd(d->skel->maps.cs_streams), key, held) ||
	       !bpf_map_lookup_elem(bpf_map__fd(d->skel->maps.cs_streams_new), key, held);
}

/* Writes a received version into the table its holder keeps it in: proven
 * streams where no flood can evict them (cs_streams, unless full), the
 * others in cs_streams_new; an older copy in the other table goes. */
static int write_version(struct cs_instance_daemon *d, const struct cs_flow_key *key, const struct cs_stream *st)
{
	int proven = bpf_map__fd(d->skel->maps.cs_streams), unproven = bpf_map__fd(d->skel->maps.cs_streams_new);

	if ((st->flags & CS_STREAM_PROVEN) && !bpf_map_update_elem(proven, key, st, BPF_ANY)) {
		bpf_map_delete_elem(unproven, key);
		return 0;
	}
	if (bpf_map_update_elem(unproven, key, st, BPF_ANY))
		return -errno;
	bpf_map_delete_elem(proven, key);
	return 0;
}

/* Installs a received version when it is newer than what this node holds
 * (cs_sync_newer). */
static void install(struct cs_instance_daemon *d, const struct cs_member *m, const struct cs_sync_entry *e, __u64 now)
{
	struct cs_stream held, received;

	d->stats.streams_received++;
	if (held_version(d, &e->key, &held) && !cs_sync_newer(e->epoch, e->seq, held.epoch, held.seq)) {
		d->stats.stale++;
		return;
	}
	cs_sync_entry_to(e, (__u16)m->id, now, &received);
	if (write_version(d, &e->key, &received))
		return;
	d->stats.installed++;
}

static void take_datagram(struct cs_instance_daemon *d, const __u8 *buf, size_t len,
			  const struct sockaddr_storage *from)
{
	struct cs_member *m = peer_at(d, from);
	struct cs_sync_hdr h;
	struct cs_sync_entry e;
	__u64 now = cs_now_ns(), v;
	__u16 i;
	int err;

	if (!m) {
		d->stats.refused++;
		log_refused(R_STRANGER, from, "not an instance of this chain");
		return;
	}
	err = cs_sync_parse(buf, len, &d->sync_key, &h);
	if (err) {
		refuse_unparsed(d, buf, from, err);
		return;
	}
	if (!names_us(d, m, &h)) {
		d->stats.refused++;
		log_refused(R_MISNAMED, from, "it names another chain, sender or receiver than its address and "
			    "this node");
		return;
	}
	d->stats.msgs_received++;
	v = cs_sync_version_seen(d->map_version, h.map_version);
	if (v != d->map_version) {
		d->map_version = v;
		cs_role_write_cfg(d);
	}
	for (i = 0; i < h.count; i++) {
		cs_sync_entry_at(buf, i, &e);
		install(d, m, &e, now);
	}
}

void cs_sync_receive(struct cs_instance_daemon *d)
{
	__u8 buf[CS_SYNC_MAX_LEN + 1];	/* one more: a longer datagram shows */
	struct sockaddr_storage from;
	int n;

	if (d->sock < 0)
		return;
	for (n = 0; n < CS_RECV_PER_ROUND; n++) {
		socklen_t fl = sizeof(from);
		ssize_t len = recvfrom(d->sock, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);

		if (len < 0)
			return;
		take_datagram(d, buf, (size_t)len, &from);
	}
}

void cs_sync_publish(struct cs_instance_daemon *d)
{
	__u32 zero = 0;

	bpf_map_update_elem(bpf_map__fd(d->skel->maps.cs_sync_stats), &zero, &d->stats, BPF_ANY);
}
