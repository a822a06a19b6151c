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
 * TCP state follows the flags seen (one direction is enough: SYN then ACK
 * makes ESTABLISHED). A TCP segment without state that is not a SYN is
 * dropped in strict mode, picked up in loose mode. A stream installed by a
 * peer's sync (CS_STREAM_SYNCED) is taken over by its first packet here: it
 * moves to a newer epoch, so nothing its old holder still sends outranks it.
 *
 * Counting (cs_inst_reasons, per CPU):
 * - every packet counts exactly one packet outcome: TRACKED (admitted, the
 *   stream has state), STRICT_DROP, LOCAL, NOT_IP, OTHER_VNI, NOT_STEERED,
 *   MALFORMED or NOT_READY;
 * - streams count besides: NEW when one is made here (SYN, first datagram,
 *   or a loose pickup, which also counts PICKED_UP), TAKEN_OVER when a
 *   synced one gets its first packet; EVENT_LOST when the ring buffer had
 *   no room for a change.
 * So the packet outcomes sum to the packets seen, and NEW is the streams
 * begun here.
 *
 * Headers are read with bpf_skb_load_bytes, not through data/data_end: the
 * headers of an encapsulated frame often sit beyond the linear part of a
 * real skb (drivers pull only the outer headers), and the fixed-size loads
 * at variable offsets keep every verifier happy. Only Ethernet and its VLAN
 * tags, always linear, go through the packet cursor.
 */
#include "lib/common.h"
#include "lib/parse.h"
#include "lib/vxlan.h"
#include "lib/instance_maps.h"
#include "affinity.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define CS_ENCAP_CODE_MASK ((1u << CS_ENCAP_CODE_BITS) - 1)

/* Not a reason: parsing goes on. */
#define CS_GO_ON (-1)

/* What a packet (or the frame inside VXLAN) says about its stream. */
struct cs_pkt {
	struct cs_addr src, dst;
	__u32 l4_off;		/* from the start of the frame */
	__u16 sport, dport;	/* host order; 0 when the packet has none */
	__u8 proto;
	__u8 tcp_flags;
	bool tcp;		/* a TCP header was read (first fragment) */
};

static __always_inline void cs_count(__u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&cs_inst_reasons, &reason);

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
static __always_inline bool cs_not_a_stream(const struct cs_pkt *p)
{
	return cs_is_local(&p->src) || cs_is_local(&p->dst) || cs_is_link_scope(&p->src) ||
	       cs_is_link_scope(&p->dst);
}

/* Ports (and TCP flags) of a first fragment at p->l4_off. */
static __always_inline int cs_read_ports(struct __sk_buff *skb, struct cs_pkt *p)
{
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr th;

		if (bpf_skb_load_bytes(skb, p->l4_off, &th, sizeof(th)))
			return CS_I_MALFORMED;
		p->sport = bpf_ntohs(th.source);
		p->dport = bpf_ntohs(th.dest);
		p->tcp_flags = ((__u8 *)&th)[13];
		p->tcp = true;
	} else if (p->proto == IPPROTO_UDP) {
		struct udphdr uh;

		if (bpf_skb_load_bytes(skb, p->l4_off, &uh, sizeof(uh)))
			return CS_I_MALFORMED;
		p->sport = bpf_ntohs(uh.source);
		p->dport = bpf_ntohs(uh.dest);
	}
	return CS_GO_ON;
}

/* IPv4 (with options) at off. */
static __always_inline int cs_read_ipv4(struct __sk_buff *skb, __u32 off, struct cs_pkt *p)
{
	struct iphdr ip;
	__u32 hlen;

	if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)) || ip.version != 4 || ip.ihl < 5)
		return CS_I_MALFORMED;
	hlen = ip.ihl * 4;
	if (off + hlen > skb->len)
		return CS_I_MALFORMED;	/* options cut short */
	cs_addr_from_v4(&p->src, ip.saddr);
	cs_addr_from_v4(&p->dst, ip.daddr);
	p->proto = ip.protocol;
	p->l4_off = off + hlen;
	if (ip.frag_off & bpf_htons(IP_OFFSET))
		return CS_GO_ON;	/* a later fragment: no ports */
	return cs_read_ports(skb, p);
}

/* IPv6 at off; the next header is the protocol (no extension walk). */
static __always_inline int cs_read_ipv6(struct __sk_buff *skb, __u32 off, struct cs_pkt *p)
{
	struct ipv6hdr ip6;

	if (bpf_skb_load_bytes(skb, off, &ip6, sizeof(ip6)) || ip6.version != 6)
		return CS_I_MALFORMED;
	__builtin_memcpy(p->src.b, &ip6.saddr, 16);
	__builtin_memcpy(p->dst.b, &ip6.daddr, 16);
	p->proto = ip6.nexthdr;
	p->l4_off = off + sizeof(ip6);
	return cs_read_ports(skb, p);
}

/* The IP packet of ethertype `proto` at off. */
static __always_inline int cs_read_ip(struct __sk_buff *skb, __u32 off, __u16 proto, struct cs_pkt *p)
{
	if (proto == ETH_P_IP)
		return cs_read_ipv4(skb, off, p);
	if (proto == ETH_P_IPV6)
		return cs_read_ipv6(skb, off, p);
	return CS_I_NOT_IP;
}

/* The frame as it arrived: Ethernet (VLAN tags too), IP, ports. */
static __always_inline int cs_read_frame(struct __sk_buff *skb, struct cs_pkt *p)
{
	void *data = (void *)(long)skb->data;
	struct cs_cursor c = { .pos = data, .end = (void *)(long)skb->data_end };
	__u16 proto = cs_parse_eth(&c);

	if (!proto)	/* shorter than Ethernet, or a VLAN tag cut short */
		return c.pos == data ? CS_I_NOT_IP : CS_I_MALFORMED;
	return cs_read_ip(skb, (__u32)(c.pos - data), proto, p);
}

/*
 * Encap mode: replace the outer packet by the frame it carries, and take
 * the affinity code from its UDP source port. Only VXLAN to this node with
 * the chain's VNI carries a stream; a VXLAN header without the I flag names
 * no VNI, so no chain either.
 */
static __always_inline int cs_unwrap(struct __sk_buff *skb, const struct cs_inst_cfg *cfg, struct cs_pkt *p,
				     __u32 *code)
{
	__u32 off = p->l4_off + sizeof(struct udphdr);
	bool to_us = cs_is_local(&p->dst);
	struct cs_vxlan vx;

	if (p->proto != IPPROTO_UDP || p->dport != CS_VXLAN_PORT || !to_us)
		return to_us || cs_is_local(&p->src) ? CS_I_LOCAL : CS_I_NOT_STEERED;
	if (bpf_skb_load_bytes(skb, off, &vx, sizeof(vx)))
		return CS_I_MALFORMED;
	if (!cs_vxlan_has_vni(&vx, cfg->chain_id))
		return CS_I_OTHER_VNI;
	*code = p->sport & CS_ENCAP_CODE_MASK;
	__builtin_memset(p, 0, sizeof(*p));
	return cs_read_ip(skb, off + sizeof(vx), bpf_ntohs(vx.inner.h_proto), p);
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

/* The state of a TCP stream first seen mid-way (loose pickup). */
static __always_inline __u8 cs_tcp_pickup_state(__u8 flags)
{
	if (flags & CS_TCP_RST)
		return CS_ST_CLOSED;
	if (flags & CS_TCP_FIN)
		return CS_ST_CLOSING;
	if (flags & CS_TCP_SYN)
		return CS_ST_SYN_RECV;	/* SYN-ACK: a SYN alone is not a pickup */
	return CS_ST_ESTABLISHED;
}

/* Where a TCP segment moves a tracked stream. A SYN on a closed stream
 * begins a new incarnation; the caller resets the stream for it. */
static __always_inline __u8 cs_tcp_next_state(__u8 state, __u8 flags)
{
	__u8 syn_ack = flags & (CS_TCP_SYN | CS_TCP_ACK);

	if (flags & CS_TCP_RST)
		return CS_ST_CLOSED;
	if (flags & CS_TCP_FIN)
		return state == CS_ST_CLOSED ? CS_ST_CLOSED : CS_ST_CLOSING;
	if (syn_ack == CS_TCP_SYN)
		return state == CS_ST_CLOSED ? CS_ST_SYN_SENT : state;
	if (syn_ack == (CS_TCP_SYN | CS_TCP_ACK))
		return state == CS_ST_SYN_SENT || state == CS_ST_NONE ? CS_ST_SYN_RECV : state;
	if (syn_ack == CS_TCP_ACK)
		/* the instance may see one direction only: SYN, then ACK */
		return state == CS_ST_SYN_SENT || state == CS_ST_SYN_RECV ? CS_ST_ESTABLISHED : state;
	return state;
}

/* A packet without state: the stream it begins, or false when strict mode
 * drops it. A TCP segment without its header (a later fragment) cannot be
 * judged, so it begins a stream like any other protocol. */
static __always_inline bool cs_stream_begin(const struct cs_pkt *p, const struct cs_inst_cfg *cfg, __u32 code,
					    __u64 now, __u32 len, struct cs_stream *st)
{
	bool syn = (p->tcp_flags & (CS_TCP_SYN | CS_TCP_ACK)) == CS_TCP_SYN;

	if (!p->tcp)
		st->state = CS_ST_ACTIVE;
	else if (syn)
		st->state = CS_ST_SYN_SENT;
	else if (cfg->flags & CS_ICFG_STRICT)
		return false;
	else {
		st->state = cs_tcp_pickup_state(p->tcp_flags);
		st->flags = CS_STREAM_PICKED_UP;
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
static __always_inline bool cs_stream_advance(struct cs_stream *st, const struct cs_pkt *p,
					      const struct cs_inst_cfg *cfg, __u64 now, __u32 len)
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
	if (p->tcp) {
		next = cs_tcp_next_state(st->state, p->tcp_flags);
		if (st->state == CS_ST_CLOSED && next == CS_ST_SYN_SENT) {
			/* the 5-tuple reused: a new incarnation, begun here */
			st->first_ns = now;
			st->packets = st->bytes = 0;
			st->flags &= ~CS_STREAM_PICKED_UP;
		}
		if (next != st->state) {
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

/* Track the packet's stream; returns its packet outcome. */
static __always_inline int cs_track(struct __sk_buff *skb, const struct cs_inst_cfg *cfg, const struct cs_pkt *p,
				    const struct cs_flow_key *key, __u32 code)
{
	__u64 now = bpf_ktime_get_boot_ns();
	struct cs_stream *st = bpf_map_lookup_elem(&cs_streams, key);

	if (!st) {
		struct cs_stream fresh = {};

		if (!cs_stream_begin(p, cfg, code, now, skb->len, &fresh))
			return CS_I_STRICT_DROP;
		if (!bpf_map_update_elem(&cs_streams, key, &fresh, BPF_NOEXIST)) {
			cs_count(CS_I_NEW);
			if (fresh.flags & CS_STREAM_PICKED_UP)
				cs_count(CS_I_PICKED_UP);
			cs_emit(key, &fresh);
			return CS_I_TRACKED;
		}
		/* another CPU made it meanwhile: go on with that one. (An
		 * LRU insert fails otherwise only when it cannot evict
		 * either; the packet is admitted all the same.) */
		st = bpf_map_lookup_elem(&cs_streams, key);
		if (!st)
			return CS_I_TRACKED;
	}
	if (cs_stream_advance(st, p, cfg, now, skb->len))
		cs_emit(key, st);
	return CS_I_TRACKED;
}

/* One packet: its outcome. */
static __always_inline int cs_instance(struct __sk_buff *skb, const struct cs_inst_cfg *cfg)
{
	struct cs_flow_key key;
	struct cs_pkt p = {};
	__u32 code = 0;
	int r;

	r = cs_read_frame(skb, &p);
	if (r != CS_GO_ON)
		return r;
	if (cfg->mode == CS_MODE_ENCAP) {
		r = cs_unwrap(skb, cfg, &p, &code);
		if (r != CS_GO_ON)
			return r;
		cs_flow_key_make(&key, &p.src, p.sport, &p.dst, p.dport, p.proto);
	} else {
		if (cs_not_a_stream(&p))
			return CS_I_LOCAL;
		cs_flow_key_make(&key, &p.src, p.sport, &p.dst, p.dport, p.proto);
		code = cs_affinity_code(&key, cfg->affinity_key);
	}
	return cs_track(skb, cfg, &p, &key, code);
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
	return reason == CS_I_STRICT_DROP ? TC_ACT_SHOT : TC_ACT_OK;
}
