// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * instance - TC ingress on a service instance of a chain (`cloudsteer
 * instance`): keep per-stream state for the steered traffic that arrives
 * here, enforce it, and report every change to the daemon, which syncs it to
 * the bucket's other instance so that one can continue the stream after a
 * failover.
 *
 * What a stream is depends on the chain's mode:
 * - route: the packet itself (steer rewrote the next hop only); its affinity
 *   code is computed here with the steering hosts' key.
 * - encap: the frame inside VXLAN to this node with the chain's VNI; the
 *   code is what steer put in the outer UDP source port. The packet is
 *   passed on whole: a stock vxlan device takes the wrapping off afterwards.
 * Traffic to or from this node's own addresses (probes, sync) is never
 * tracked; nor, in encap mode, is anything that is not VXLAN to this node.
 *
 * TCP state follows the flags seen (lib/flowstate.h; one direction is
 * enough: SYN then ACK makes ESTABLISHED), and gives the stream its
 * lifetime, which the daemon's sweep enforces. A TCP segment without state
 * that is not a SYN is dropped in strict mode, picked up in loose mode. A
 * stream installed by a peer's sync (CS_STREAM_SYNCED) is taken over by its
 * first packet here: it moves to a newer epoch, so nothing its old holder
 * still sends outranks it.
 *
 * Every stream begins in cs_streams_new (LRU) and moves to cs_streams,
 * which the kernel never evicts from, once a packet proves it (the rule of
 * lib/flowstate.h), marked CS_STREAM_PROVEN: a SYN flood churns
 * cs_streams_new alone and cannot push an established stream out.
 *
 * Counting (cs_inst_reasons, per CPU):
 * - every packet counts exactly one packet outcome: TRACKED (admitted, the
 *   stream has state), STRICT_DROP, LOCAL, NOT_IP, OTHER_VNI, NOT_STEERED,
 *   MALFORMED or NOT_READY;
 * - streams count besides: NEW when one is made here (SYN, first datagram,
 *   or a loose pickup, which also counts PICKED_UP), TAKEN_OVER when a
 *   synced one gets its first packet; EVENT_LOST when the ring buffer had
 *   no room for a change; PROMOTED when one is proven and moved to
 *   cs_streams, STREAMS_FULL (once a stream) when cs_streams had no room.
 * So the packet outcomes sum to the packets seen, and NEW is the streams
 * begun here.
 *
 * Headers are read with the packet cursor (lib/packet.h) over the linear
 * part. The headers of an encapsulated frame may sit beyond it in a real skb
 * (drivers pull only the outer headers): a read that runs out there pulls
 * the headers in (lib/pull.h, up to CS_INST_HEADERS_MAX octets) and reads
 * the frame again.
 */
#include "lib/common.h"
#include "lib/packet.h"
#include "lib/pull.h"
#include "lib/flowstate.h"
#include "lib/vxlan.h"
#include "lib/nsh.h"
#include "lib/nexthop.h"
#include "lib/instance_maps.h"
#include "affinity.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define CS_ENCAP_CODE_MASK ((1u << CS_ENCAP_CODE_BITS) - 1)

/* Not a reason: parsing goes on. */
#define CS_GO_ON (-1)

/* The tunnel header read after UDP: VXLAN-GPE and NSH (nsh), the longer
 * of it and VXLAN with the inner Ethernet header (encap). */
#define CS_TUNNEL_HDR_MAX (sizeof(struct cs_gpe) + sizeof(struct cs_nsh))
_Static_assert(CS_TUNNEL_HDR_MAX >= sizeof(struct cs_vxlan), "the longer tunnel header");

/* The deepest header read: Ethernet with its VLAN tags, IPv4 with options,
 * UDP and the tunnel header, the inner IPv4 with options, TCP. What the
 * linear part must hold for a read that runs out. */
#define CS_INST_HEADERS_MAX                                                                \
	(sizeof(struct ethhdr) + CS_VLAN_MAX * sizeof(struct vlan_hdr) + CS_IPV4_HDR_MAX + \
	 sizeof(struct udphdr) + CS_TUNNEL_HDR_MAX + CS_IPV4_HDR_MAX + sizeof(struct tcphdr))

static __always_inline void cs_count(__u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&cs_inst_reasons, &reason);

	if (n)
		*n += 1;
}

static __always_inline void cs_count_nsh(__u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&cs_nsh_reasons, &reason);

	if (n)
		*n += 1;
}

static __always_inline bool cs_is_local(const struct cs_addr *a)
{
	return bpf_map_lookup_elem(&cs_local_addrs, a) != NULL;
}

/* Addresses no steered stream has: unspecified, link-local, multicast and
 * broadcast (neighbour discovery, MLD, DHCP and the like). */
static __always_inline bool cs_is_link_scope(const struct cs_addr *a)
{
	__u64 w[2];

	if (cs_addr_is_v4mapped(a))
		return a->b[12] >= 224 || !(a->b[12] | a->b[13] | a->b[14] | a->b[15]);
	__builtin_memcpy(w, a->b, sizeof(w));
	return a->b[0] == 0xff || (a->b[0] == 0xfe && (a->b[1] & 0xc0) == 0x80) || !(w[0] | w[1]);
}

/* Traffic of this node itself, or of its links: never a steered stream. */
static __always_inline bool cs_not_a_stream(const struct cs_packet *p)
{
	return cs_is_local(&p->src) || cs_is_local(&p->dst) || cs_is_link_scope(&p->src) ||
	       cs_is_link_scope(&p->dst);
}

/* A reader's reason as a packet outcome: headers cut short are malformed. */
static __always_inline int cs_outcome_of(int pkt_reason)
{
	return pkt_reason == CS_PKT_NOT_IP ? CS_I_NOT_IP : CS_I_MALFORMED;
}

/* The IP packet (and its ports) at the cursor, of Ethernet type ethertype. */
static __always_inline int cs_read_ip_ports(struct cs_cursor *c, __u16 ethertype, struct cs_packet *p)
{
	int r = cs_read_ip(c, ethertype, p);

	if (!r)
		r = cs_read_ports(c, p);
	if (r)
		return cs_outcome_of(r);
	return cs_version_ok(p) ? CS_GO_ON : CS_I_MALFORMED;
}

/* The frame as it arrived: Ethernet (VLAN tags too), IP, ports. */
static __always_inline int cs_read_frame(struct cs_cursor *c, struct cs_packet *p)
{
	__u16 ethertype = 0;
	int r = cs_read_eth(c, &ethertype);

	return r ? cs_outcome_of(r) : cs_read_ip_ports(c, ethertype, p);
}

/*
 * Encap mode: replace the outer packet by the frame it carries, and take
 * the affinity code from its UDP source port. Only VXLAN to this node with
 * the chain's VNI carries a stream; a VXLAN header without the I flag names
 * no VNI, so no chain either. The cursor is at the outer UDP header.
 */
static __always_inline int cs_unwrap(struct cs_cursor *c, const struct cs_inst_cfg *cfg, struct cs_packet *p,
				     __u32 *code)
{
	bool to_us = cs_is_local(&p->dst);
	struct cs_vxlan *vx;

	if (p->proto != IPPROTO_UDP || p->dport != CS_VXLAN_PORT || !to_us)
		return to_us || cs_is_local(&p->src) ? CS_I_LOCAL : CS_I_NOT_STEERED;
	if (!cs_pull(c, sizeof(struct udphdr)))
		return CS_I_MALFORMED;
	vx = cs_pull(c, sizeof(*vx));
	if (!vx)
		return CS_I_MALFORMED;
	if (!cs_vxlan_has_vni(vx, cfg->vni))
		return CS_I_OTHER_VNI;
	*code = p->sport & CS_ENCAP_CODE_MASK;
	__builtin_memset(p, 0, sizeof(*p));
	return cs_read_ip_ports(c, bpf_ntohs(vx->inner.h_proto), p);
}

/* What the outer headers of a wrapped packet said: the code, and in nsh
 * mode the chain header, where the outer packet begins and how long its
 * headers are, or why the header was refused. */
struct cs_carried {
	__u32 code;
	__u32 nsh_reason;	/* CS_NSH_OK, or why the chain header was refused */
	__u16 outer_l3_off;
	__u16 outer_len;	/* outer IP, UDP, VXLAN-GPE, NSH */
	bool outer_v6;
	struct cs_nsh_md md;
};

/* Is the chain header for this instance: an SPI of its chain, an SI that
 * names a hop of its path (one coming back only if the chain is symmetric),
 * and that hop's stage its own? */
static __always_inline int cs_nsh_place_check(const struct cs_nsh_md *md, const struct cs_inst_cfg *cfg)
{
	__u32 stage;
	bool back;

	if (md->spi != cfg->vni)
		return CS_NSH_CHAIN;
	if (cs_nsh_stage(md, cfg->n_stages, &stage, &back) || (back && !(cfg->flags & CS_ICFG_SYMMETRIC)))
		return CS_NSH_SI_RANGE;
	return stage == cfg->stage ? CS_NSH_OK : CS_NSH_STAGE;
}

/*
 * nsh mode: the chain header after the outer UDP header at the cursor, then
 * the IP packet it carries into *p. Only VXLAN-GPE to this node carries a
 * stream. A header that does not check, or names another chain or stage,
 * is NSH_REFUSED with its reason in k->nsh_reason; one cut short is
 * MALFORMED with CS_NSH_SHORT there, so that the caller pulls the headers
 * in and reads again before it refuses it.
 */
static __always_inline int cs_nsh_arrive(struct cs_cursor *c, const struct cs_inst_cfg *cfg, struct cs_packet *p,
					 struct cs_carried *k)
{
	bool to_us = cs_is_local(&p->dst);
	int r;

	if (p->proto != IPPROTO_UDP || p->dport != CS_GPE_PORT || !to_us)
		return to_us || cs_is_local(&p->src) ? CS_I_LOCAL : CS_I_NOT_STEERED;
	k->outer_l3_off = p->l3_off;
	k->outer_v6 = !cs_addr_is_v4mapped(&p->dst);
	r = cs_nsh_read(c, &k->md);
	if (r == CS_NSH_OK)
		r = cs_nsh_place_check(&k->md, cfg);
	k->nsh_reason = (__u32)r;
	if (r)
		return r == CS_NSH_SHORT ? CS_I_MALFORMED : CS_I_NSH_REFUSED;
	k->code = k->md.code;	/* all 32 bits: never computed again past the gateway */
	k->outer_len = (__u16)(cs_cursor_off(c) - p->l3_off);
	__builtin_memset(p, 0, sizeof(*p));
	r = cs_read_ip_ports(c, k->md.next_proto == CS_NSH_NP_IPV4 ? ETH_P_IP : ETH_P_IPV6, p);
	if (r == CS_I_MALFORMED)
		k->nsh_reason = CS_NSH_SHORT;
	return r;
}

/* The packet, or the packet a wrapped one carries (encap, nsh), from the
 * linear part: CS_GO_ON with *p and *k filled, or the packet's outcome. */
static __always_inline int cs_read_stream(struct __sk_buff *skb, const struct cs_inst_cfg *cfg, struct cs_packet *p,
					  struct cs_carried *k)
{
	struct cs_cursor c;
	int r;

	cs_cursor_init(&c, (void *)(long)skb->data, (void *)(long)skb->data_end);
	r = cs_read_frame(&c, p);
	if (r != CS_GO_ON || cfg->mode == CS_MODE_ROUTE)
		return r;
	if (cfg->mode == CS_MODE_NSH)
		return cs_nsh_arrive(&c, cfg, p, k);
	return cs_unwrap(&c, cfg, p, &k->code);
}

static __always_inline void cs_emit(const struct cs_flow_key *key, const struct cs_stream *st)
{
	struct cs_stream_event *e = bpf_ringbuf_reserve(&cs_stream_evts, sizeof(*e), 0);

	if (!e) {
		/* never wait for the daemon: the next resync carries it */
		cs_count(CS_I_EVENT_LOST);
		return;
	}
	e->key = *key;
	e->st = *st;
	bpf_ringbuf_submit(e, 0);
}

/* A packet without state: the stream it begins, or false when strict mode
 * drops it. A TCP segment without its header (a later fragment) cannot be
 * judged, so it begins a stream like any other protocol. */
static __always_inline bool cs_stream_begin(const struct cs_packet *p, const struct cs_inst_cfg *cfg, __u32 code,
					    bool from_lo, __u64 now, __u32 len, struct cs_stream *st)
{
	bool tcp = cs_has_tcp_header(p);

	st->flags = cs_life_first_flags(p, tcp, from_lo);
	if (!tcp) {
		st->state = CS_ST_ACTIVE;
	} else if (cs_tcp_is_syn(p->tcp_flags)) {
		st->state = CS_ST_SYN_SENT;
	} else if (cfg->flags & CS_ICFG_STRICT) {
		return false;
	} else {
		st->state = cs_tcp_first_state(p->tcp_flags, from_lo, &st->flags);
		st->flags |= CS_STREAM_PICKED_UP;
	}
	st->first_ns = st->last_ns = now;
	st->packets = 1;
	st->bytes = len;
	st->epoch = cfg->map_version;
	st->seq = 1;
	st->code = code;
	return true;
}

/* A packet of a stream with state. True when the stream changed in a way
 * its peer must learn: a takeover or a new state (one event, one seq). */
static __always_inline bool cs_stream_advance(struct cs_stream *st, const struct cs_packet *p,
					      const struct cs_inst_cfg *cfg, bool from_lo, __u64 now, __u32 len)
{
	bool changed = false;
	__u8 next;

	if (st->flags & CS_STREAM_SYNCED) {
		/* failover: this node holds it now, in a newer epoch */
		st->flags &= ~CS_STREAM_SYNCED;
		st->peer = 0;
		st->epoch = cfg->map_version > st->epoch + 1 ? cfg->map_version : st->epoch + 1;
		cs_count(CS_I_TAKEN_OVER);
		changed = true;
	}
	if (cs_has_tcp_header(p)) {
		next = cs_tcp_next_state(st->state, p->tcp_flags, from_lo, &st->flags);
		if ((st->state == CS_ST_CLOSED || st->state == CS_ST_CLOSING) && next == CS_ST_SYN_SENT) {
			/* the 5-tuple reused: a new incarnation, begun here */
			st->first_ns = now;
			st->packets = st->bytes = 0;
			st->flags &= ~CS_STREAM_PICKED_UP;
		}
		if (next != st->state) {
			/* (the FIN bits change only with the state, or once
			 * it is CLOSED: the peer gets them with the state) */
			st->state = next;
			changed = true;
		}
	}
	st->last_ns = now;
	st->packets++;
	st->bytes += len;
	if (changed)
		st->seq++;
	return changed;
}

/* A stream's first packet makes its entry in cs_streams_new (counted and
 * reported), unless strict mode drops the packet: NULL and its outcome in
 * *outcome. When another CPU made the entry meanwhile, that one: the caller
 * goes on with it. */
static __always_inline struct cs_stream *cs_stream_new(struct __sk_buff *skb, const struct cs_inst_cfg *cfg,
						       const struct cs_packet *p, const struct cs_flow_key *key,
						       __u32 code, bool from_lo, __u64 now, int *outcome)
{
	struct cs_stream fresh = {};

	*outcome = CS_I_TRACKED;
	if (!cs_stream_begin(p, cfg, code, from_lo, now, skb->len, &fresh)) {
		*outcome = CS_I_STRICT_DROP;
		return NULL;
	}
	if (!bpf_map_update_elem(&cs_streams_new, key, &fresh, BPF_NOEXIST)) {
		cs_count(CS_I_NEW);
		if (fresh.flags & CS_STREAM_PICKED_UP)
			cs_count(CS_I_PICKED_UP);
		cs_emit(key, &fresh);
		return NULL;
	}
	/* (An LRU insert fails otherwise only when it cannot evict either;
	 * the packet is admitted all the same.) */
	return bpf_map_lookup_elem(&cs_streams_new, key);
}

/* Move a proven stream to cs_streams, marked CS_STREAM_PROVEN. That is news
 * for the peer, which keeps the stream where this node does: a new version,
 * reported (with the packet's own change, if it made one). When cs_streams
 * is full the stream stays in cs_streams_new, where a flood may evict it,
 * and tries again with its next packet; streams_full counts it once. */
static __always_inline void cs_stream_promote(const struct cs_flow_key *key, struct cs_stream *st, bool changed)
{
	struct cs_stream proven = *st;
	long e;

	proven.flags = (proven.flags & ~CS_LIFE_FULL_SEEN) | CS_STREAM_PROVEN;
	if (!changed)
		proven.seq++;
	e = bpf_map_update_elem(&cs_streams, key, &proven, BPF_NOEXIST);
	if (e && e != -EEXIST) {
		if (!(st->flags & CS_LIFE_FULL_SEEN)) {
			st->flags |= CS_LIFE_FULL_SEEN;
			cs_count(CS_I_STREAMS_FULL);
		}
		if (changed)
			cs_emit(key, st);
		return;
	}
	/* EEXIST: another CPU moved it first, and reported it */
	bpf_map_delete_elem(&cs_streams_new, key);
	if (e)
		return;
	cs_count(CS_I_PROMOTED);
	cs_emit(key, &proven);
}

/* Track the packet's stream; returns its packet outcome. A stream with
 * state costs one lookup once proven: cs_streams first, cs_streams_new
 * only when it misses. */
static __always_inline int cs_track(struct __sk_buff *skb, const struct cs_inst_cfg *cfg, const struct cs_packet *p,
				    const struct cs_flow_key *key, __u32 code, bool from_lo)
{
	__u64 now = bpf_ktime_get_boot_ns();
	struct cs_stream *st = bpf_map_lookup_elem(&cs_streams, key);
	int outcome = CS_I_TRACKED;
	bool changed;

	if (st) {
		if (cs_stream_advance(st, p, cfg, from_lo, now, skb->len))
			cs_emit(key, st);
		return CS_I_TRACKED;
	}
	st = bpf_map_lookup_elem(&cs_streams_new, key);
	if (!st)
		st = cs_stream_new(skb, cfg, p, key, code, from_lo, now, &outcome);
	if (!st)
		return outcome;
	changed = cs_stream_advance(st, p, cfg, from_lo, now, skb->len);
	if (cs_life_proven(st->flags, st->packets, p, cs_has_tcp_header(p), from_lo))
		cs_stream_promote(key, st, changed);
	else if (changed)
		cs_emit(key, st);
	return CS_I_TRACKED;
}

/* nsh: the chain header off an admitted packet, which goes on to the
 * stack (the service) as the IP packet the client sent. NSH_UNWRAPPED
 * counts it; a header the kernel would not take off is refused. */
static __always_inline int cs_nsh_take_off(struct __sk_buff *skb, struct cs_carried *k)
{
	if (k->outer_l3_off != sizeof(struct ethhdr) ||
	    cs_nsh_unwrap(skb, k->outer_len, k->outer_v6, k->md.next_proto)) {
		k->nsh_reason = CS_NSH_UNWRAP;
		return CS_I_NSH_REFUSED;
	}
	cs_count(CS_I_NSH_UNWRAPPED);
	return CS_I_TRACKED;
}

/* One packet: its outcome. */
static __always_inline int cs_instance(struct __sk_buff *skb, const struct cs_inst_cfg *cfg)
{
	struct cs_carried k = {};
	struct cs_flow_key key;
	struct cs_packet p = {};
	int r = CS_I_MALFORMED, tries;
	bool from_lo;

	/* a second read only after headers were pulled in; one copy of the
	 * reader in the program, not two */
#pragma clang loop unroll(disable)
	for (tries = 0; tries < 2; tries++) {
		r = cs_read_stream(skb, cfg, &p, &k);
		if (r != CS_I_MALFORMED || tries || !cs_pull_headers(skb, CS_INST_HEADERS_MAX))
			break;
		__builtin_memset(&p, 0, sizeof(p));
		__builtin_memset(&k, 0, sizeof(k));
		cs_keep_tries(tries);
	}
	if (r == CS_I_MALFORMED && k.nsh_reason == CS_NSH_SHORT)
		r = CS_I_NSH_REFUSED;	/* never passed on with its chain header */
	if (r == CS_I_NSH_REFUSED)
		cs_count_nsh(k.nsh_reason);
	if (r != CS_GO_ON)
		return r;
	if (cfg->mode == CS_MODE_ROUTE) {
		if (cs_not_a_stream(&p))
			return CS_I_LOCAL;
		from_lo = cs_flow_key_make(&key, &p.src, p.sport, &p.dst, p.dport, p.proto);
		k.code = cs_affinity_code_by(&key, cfg->affinity_key, cfg->flags & CS_ICFG_AFFINITY_HOSTS);
	} else {
		from_lo = cs_flow_key_make(&key, &p.src, p.sport, &p.dst, p.dport, p.proto);
	}
	r = cs_track(skb, cfg, &p, &key, k.code, from_lo);
	if (r == CS_I_TRACKED && cfg->mode == CS_MODE_NSH) {
		r = cs_nsh_take_off(skb, &k);
		if (r == CS_I_NSH_REFUSED)
			cs_count_nsh(k.nsh_reason);
	}
	if (r == CS_I_TRACKED && (cfg->flags & CS_ICFG_MARK_CODE))
		skb->mark = k.code;	/* for the service: docs/chains.md, how a service reads the code */
	return r;
}

SEC("tc")
int instance(struct __sk_buff *skb)
{
	struct cs_inst_cfg *cfg;
	__u32 zero = 0;
	int reason;

	cfg = bpf_map_lookup_elem(&cs_inst_cfg, &zero);
	if (!cfg || !(cfg->flags & CS_ICFG_READY))
		reason = CS_I_NOT_READY;
	else
		reason = cs_instance(skb, cfg);
	cs_count((__u32)reason);
	/* everything not refused passes, malformed or not ours included */
	return reason == CS_I_STRICT_DROP || reason == CS_I_NSH_REFUSED ? TC_ACT_SHOT : TC_ACT_OK;
}

/* ---- nsh, on the way out: from the service to a neighbour stage ---- */

/* A stream's state, proven or not. */
static __always_inline struct cs_stream *cs_stream_of(const struct cs_flow_key *key)
{
	struct cs_stream *st = bpf_map_lookup_elem(&cs_streams, key);

	return st ? st : bpf_map_lookup_elem(&cs_streams_new, key);
}

/* The instance of a neighbour stage (its table in cs_next_table's slot,
 * n_buckets buckets) for a code (cs_bucket_choice); NULL when none may
 * take it. */
static __always_inline struct cs_instance *cs_neighbour_instance(__u32 slot, __u32 n_buckets, __u32 code)
{
	struct cs_bucket *b = cs_bucket_in(&cs_next_table, slot, n_buckets, code);
	__u32 id;

	return b ? cs_bucket_choice(&cs_next_instances, b, &id) : NULL;
}

/* The chain header toward the neighbour stage: the header of this stage's
 * hop, out or back (cs_nsh_md_at, with the code kept in the stream's
 * state), one hop on (cs_nsh_next_hop). */
static __always_inline int cs_nsh_onward(const struct cs_inst_cfg *cfg, const struct cs_stream *st, bool back,
					 struct cs_nsh_md *md)
{
	*md = cs_nsh_md_at(cfg->vni, st->code, cs_nsh_si_of(cfg->stage, cfg->n_stages, back),
			   cfg->flags & CS_ICFG_SYMMETRIC, back);
	return cs_nsh_next_hop(md);
}

/* Wrap a packet of stream st toward the neighbour stage's instance for its
 * code (the next stage going out, the previous one coming back) and send
 * it there; a packet that cannot go on is dropped under its reason, never
 * sent around the rest of the chain. */
static __always_inline int cs_send_on(struct __sk_buff *skb, const struct cs_inst_cfg *cfg,
				      const struct cs_stream *st, bool back)
{
	struct cs_instance *in = back ? cs_neighbour_instance(CS_PREV_SLOT, cfg->prev_buckets, st->code)
				      : cs_neighbour_instance(CS_NEXT_SLOT, cfg->next_buckets, st->code);
	struct cs_nsh_md md;
	__u32 ifindex;
	int r;

	r = cs_nsh_onward(cfg, st, back, &md);
	if (!r && !in)
		r = CS_NSH_NO_NEXT;
	ifindex = in ? cs_egress(skb, in) : 0;
	if (!r && (!ifindex || !cs_fits_tunnel(skb, sizeof(struct ethhdr), in) || cs_nsh_wrap(skb, in, &md)))
		r = CS_NSH_NO_NEXT;
	if (r || !in) {
		cs_count_nsh((__u32)r);
		return TC_ACT_SHOT;
	}
	cs_count(CS_I_NSH_SENT_ON);
	return cs_redirect_wrapped(ifindex);
}

/* Does a packet of this direction go on to a neighbour stage: going out,
 * every stage but the last; coming back (symmetric chains), every stage
 * but the first. */
static __always_inline bool cs_goes_on(const struct cs_inst_cfg *cfg, bool back)
{
	if (back)
		return (cfg->flags & CS_ICFG_SYMMETRIC) && cfg->stage > 0;
	return cfg->stage + 1 < cfg->n_stages;
}

/*
 * A packet the service sends out, of a stream that came in through the
 * chain header, leaves wrapped toward a neighbour stage: going the way the
 * stream's first packet went, toward the next; the other way, in a
 * symmetric chain, toward the previous. Everything else (what the last
 * stage sends out, what the first sends back, this node's own traffic,
 * packets of streams this node never saw) leaves as routed: delivered.
 */
static __always_inline int cs_instance_out(struct __sk_buff *skb, const struct cs_inst_cfg *cfg)
{
	struct cs_flow_key key;
	struct cs_packet p = {};
	struct cs_stream *st;
	struct cs_cursor c;
	bool from_lo, back;

	cs_cursor_init(&c, (void *)(long)skb->data, (void *)(long)skb->data_end);
	if (cs_read_frame(&c, &p) != CS_GO_ON || p.l3_off != sizeof(struct ethhdr) || cs_not_a_stream(&p))
		return TC_ACT_OK;
	from_lo = cs_flow_key_make(&key, &p.src, p.sport, &p.dst, p.dport, p.proto);
	st = cs_stream_of(&key);
	if (!st)
		return TC_ACT_OK;
	back = from_lo != !!(st->flags & CS_LIFE_FIRST_LO);
	return cs_goes_on(cfg, back) ? cs_send_on(skb, cfg, st, back) : TC_ACT_OK;
}

SEC("tc")
int instance_out(struct __sk_buff *skb)
{
	struct cs_inst_cfg *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&cs_inst_cfg, &zero);
	if (!cfg || !(cfg->flags & CS_ICFG_READY) || cfg->mode != CS_MODE_NSH)
		return TC_ACT_OK;
	return cs_instance_out(skb, cfg);
}
