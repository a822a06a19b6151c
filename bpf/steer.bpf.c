// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * steer - TC: find the packets whose destination (or, for the return
 * direction, source) is a policy route, keep one flow entry per stream and
 * count per route (ACL id). A stream of a rule with a chain is pinned to an
 * instance of that chain: its stream affinity code (a keyed hash of the
 * 5-tuple, the same both ways) picks a bucket of the chain's table; a new
 * stream takes the bucket's primary, or its secondary when the primary is
 * down; a pinned stream stays, and moves to the secondary only when its
 * instance goes down. Forward packets go to the instance by next-hop
 * rewrite (bpf_redirect_neigh, "route" mode), wrapped in VXLAN ("encap"
 * mode, lib/encap.h) or behind the chain header, VXLAN-GPE and NSH with the
 * whole code, toward the chain's first stage ("nsh" mode, lib/nsh.h); return
 * packets are counted, and go to the instance too when the chain is
 * symmetric (in a chain of stages, to its last stage, whence they come
 * back through the others). The stages after the first are otherwise the
 * instances' to reach.
 * The flows also keep a route alive after its records expire, so TTL expiry
 * never cuts a connection, and hold an ACL id until the last stream is gone.
 *
 * A flow lives by its TCP state (lib/flowstate.h), which the daemon's sweep
 * turns into a lifetime. Every flow begins in cs_flows_new (LRU) and moves
 * to cs_flows (never evicted by the kernel) once proven, by a packet a
 * flood of first packets does not send (cs_life_proven), so a flood churns
 * cs_flows_new alone. A pinned stream's packet costs one flow lookup:
 * cs_flows first, cs_flows_new only when that misses.
 *
 * Headers past the skb's linear part are pulled in (lib/pull.h) before the
 * packet is judged: a packet of a steered stream never goes around the
 * chain, or to another instance, because of where its headers lie.
 */
#include "lib/common.h"
#include "lib/packet.h"
#include "lib/pull.h"
#include "lib/flowstate.h"
#include "lib/shared_maps.h"
#include "lib/steer_maps.h"
#include "lib/encap.h"
#include "lib/nsh.h"
#include "lib/nexthop.h"
#include "affinity.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The deepest header steer reads: Ethernet with its VLAN tags, IPv4 with
 * options (the IPv6 header is shorter), TCP. What the linear part must
 * hold; the MSS clamp reads the options with bpf_skb_load_bytes. */
#define CS_STEER_HEADERS_MAX                                                                 \
	(sizeof(struct ethhdr) + CS_VLAN_MAX * sizeof(struct vlan_hdr) + CS_IPV4_HDR_MAX + \
	 sizeof(struct tcphdr))

static __always_inline void cs_count_steer(__u32 counter)
{
	__u64 *n = bpf_map_lookup_elem(&cs_steer_stats, &counter);

	if (n)
		*n += 1;
}

static __always_inline void cs_count_traffic(void *stats, __u32 id, __u64 bytes)
{
	struct cs_acl_stat *st = bpf_map_lookup_elem(stats, &id);

	if (st) {
		st->packets++;
		st->bytes += bytes;
	}
}

/* A packet of a route: its ACL id's and its rule's counters. */
static __always_inline void cs_count_route(__u32 acl_id, __u32 rule_id, __u64 bytes)
{
	if (acl_id)
		cs_count_traffic(&cs_acl_stats, acl_id, bytes);
	cs_count_traffic(&cs_rule_traffic, rule_id, bytes);
}

/* The word of cs_route_bits that holds a's bit, and the bit. */
static __always_inline __u64 *cs_route_word(const struct cs_addr *a, __u64 *bit)
{
	__u32 i = cs_route_bit(a);

	*bit = 1ULL << (i & 63);
	i >>= 6;
	return bpf_map_lookup_elem(&cs_route_bits, &i);
}

/* May a be the route of a live flow? False: surely not. */
static __always_inline bool cs_route_maybe(const struct cs_addr *a)
{
	__u64 bit, *w = cs_route_word(a, &bit);

	return w && (*w & bit);
}

/* A proven flow's route: its bit set, for the fast path to look further. */
static __always_inline void cs_route_mark(const struct cs_addr *a)
{
	__u64 bit, *w = cs_route_word(a, &bit);

	if (w && !(*w & bit))
		__sync_fetch_and_or(w, bit);
}

/*
 * A packet of flow fl. Its counts, written on every packet, stay in the
 * cache line of the CPU that RSS gives the stream; last_ns is read from
 * the clock and written once a tick (CS_FLOW_TICK_SHIFT of the kernel's
 * jiffies, which bpf_jiffies64 reads with a load, where even the coarse
 * clock does a helper's work), not on every packet: the sweep judges
 * lifetimes of seconds.
 */
static __always_inline void cs_flow_count(struct cs_flow *fl, __u64 bytes, __u64 jiffies)
{
	__u32 tick = (__u32)(jiffies >> CS_FLOW_TICK_SHIFT);

	fl->packets++;
	fl->bytes += bytes;
	if (fl->tick != tick) {
		fl->tick = tick;
		fl->last_ns = bpf_ktime_get_boot_ns();
	}
}

/* Instance id, when it may take this stream (cs_instance_takes). */
static __always_inline struct cs_instance *cs_usable(__u32 id, bool pinned_here)
{
	return cs_instance_usable(&cs_instances, id, pinned_here);
}

/* The bucket of a stream in its chain's table: its first stage's. */
static __always_inline struct cs_bucket *cs_bucket_of(__u32 chain_id, __u32 code)
{
	struct cs_chain *ch = bpf_map_lookup_elem(&cs_chains, &chain_id);

	return ch ? cs_bucket_in(&cs_service_map, chain_id, ch->n_buckets, code) : NULL;
}

/* Pin (or re-pin) a stream: a new one takes the primary, else the secondary;
 * one whose instance went down takes the other of the two. 0: none is up. */
static __always_inline __u16 cs_pick(const struct cs_bucket *b, __u16 current)
{
	if (b->primary != current && cs_usable(b->primary, false))
		return b->primary;
	if (b->secondary != current && cs_usable(b->secondary, false))
		return b->secondary;
	return 0;
}

static __always_inline struct cs_inst_stat *cs_inst_stat_of(__u32 id)
{
	return bpf_map_lookup_elem(&cs_inst_stats, &id);
}

/* A packet the instance carries, or (bytes 0) a stream pinned to it. */
static __always_inline void cs_count_inst(__u32 id, __u64 bytes, __u64 new_flows)
{
	struct cs_inst_stat *st = cs_inst_stat_of(id);

	if (st) {
		st->packets += bytes ? 1 : 0;
		st->bytes += bytes;
		st->flows += new_flows;
	}
}

/*
 * Choose the instance of a stream: keep the pinned one while it may take
 * the stream, else pick from the bucket. Returns the instance, NULL when
 * the stream is not steered (observe, or no instance is up: *fail says).
 */
static __always_inline struct cs_instance *cs_steer_stream(struct __sk_buff *skb, struct cs_flow *fl,
							   bool *fail)
{
	struct cs_instance *in = cs_usable(fl->instance, true);
	struct cs_bucket *b;
	__u32 egress;
	__u16 id;

	*fail = false;
	if (!fl->chain)
		return NULL;
	if (in && fl->ifindex)
		return in;
	if (in) {
		/* pinned, but the way to it was not known (an older build) */
		fl->ifindex = cs_egress(skb, in);
		*fail = !fl->ifindex;
		return fl->ifindex ? in : NULL;
	}
	b = cs_bucket_of(fl->chain, fl->code);
	id = b ? cs_pick(b, fl->instance) : 0;
	in = cs_usable(id, false);
	egress = in ? cs_egress(skb, in) : 0;
	if (!egress) {
		/* nobody to take it, or no way to them: on_failure decides, and
		 * the stream stays unpinned so the next packet tries again */
		*fail = true;
		return NULL;
	}
	fl->instance = id;
	fl->ifindex = egress;
	cs_count_inst(id, 0, 1);
	return in;
}

/* A stream of the chain that cannot be steered: bypass (normal routing) or drop. */
static __always_inline int cs_failure_verdict(const struct cs_chain *ch)
{
	return ch && ch->on_failure == CS_FAIL_DROP ? TC_ACT_SHOT : TC_ACT_OK;
}

static __always_inline int cs_on_failure(__u32 chain_id)
{
	return cs_failure_verdict(bpf_map_lookup_elem(&cs_chains, &chain_id));
}

/*
 * The chain header toward the first hop of the chain's path (nsh mode,
 * docs/chains.md): going out, stage 0 (SI 255); coming back, a return
 * packet of a symmetric chain, its last stage, the first hop back.
 */
static __always_inline struct cs_nsh_md cs_nsh_first(const struct cs_flow *fl, const struct cs_chain *ch,
						    const struct cs_instance *in, bool forward)
{
	__u32 n = ch->n_stages ? ch->n_stages : 1;
	__u8 si = forward ? CS_NSH_SI_FIRST : cs_nsh_si_of(n - 1, n, true);

	return cs_nsh_md_at(in->vni, fl->code, si, ch->flags & CS_CHAIN_SYMMETRIC, !forward);
}

/* Wrap the frame toward its instance as the chain's mode says: VXLAN
 * (encap) or VXLAN-GPE and NSH (nsh). 0, or <0 when it was left as it was. */
static __always_inline int cs_wrap(struct __sk_buff *skb, const struct cs_flow *fl, const struct cs_chain *ch,
				   const struct cs_instance *in, bool forward)
{
	struct cs_nsh_md md;

	if (ch->mode != CS_MODE_NSH)
		return cs_vxlan_wrap(skb, in, fl->code);
	md = cs_nsh_first(fl, ch, in, forward);
	return cs_nsh_wrap(skb, in, &md);
}

/*
 * Encap and nsh modes: clamp the MSS of SYNs either way (the SYN-ACK limits
 * what the client sends into the tunnel, the SYN what comes back), then wrap
 * the frame, or leave the decision to on_failure when it cannot be wrapped.
 * st: the counters of the instance it goes to. Returns the verdict, or -1 to
 * go on to the redirect.
 */
static __always_inline int cs_encap(struct __sk_buff *skb, const struct cs_packet *p, const struct cs_flow *fl,
				    const struct cs_chain *ch, const struct cs_instance *in, struct cs_inst_stat *st,
				    bool send, bool forward)
{
	__u16 iph = cs_addr_is_v4mapped(&p->src) ? sizeof(struct iphdr) : sizeof(struct ipv6hdr);

	if ((p->tcp_flags & CS_TCP_SYN) && p->l4_off && in->inner_mtu > iph + sizeof(struct tcphdr) &&
	    cs_clamp_mss(skb, p->l4_off, in->inner_mtu - iph - sizeof(struct tcphdr)) && st)
		st->clamped++;
	if (!send)
		return TC_ACT_OK;
	if (p->l3_off == sizeof(struct ethhdr) && cs_fits_tunnel(skb, p->l3_off, in) &&
	    !cs_wrap(skb, fl, ch, in, forward))
		return -1;
	if (st)
		st->encap_failed++;
	return cs_failure_verdict(ch);
}

/*
 * nsh: a return packet of a symmetric chain of several stages goes back
 * through them last stage first: to the last stage's instance for its code
 * (cs_bucket_choice: no pin, every stage after the first is chosen by table
 * and liveness, as each instance chooses the stage beside its own). Its id
 * in *id; NULL when none may take it.
 */
static __always_inline struct cs_instance *cs_last_stage(const struct cs_chain *ch, __u32 chain_id, __u32 code,
							 __u32 *id)
{
	__u32 slot = chain_id * CS_CHAIN_STAGES_MAX + ch->n_stages - 1;
	struct cs_bucket *b = cs_bucket_in(&cs_stage_map, slot, ch->last_buckets, code);

	return b ? cs_bucket_choice(&cs_instances, b, id) : NULL;
}

static __always_inline bool cs_goes_back_through_stages(const struct cs_chain *ch, bool forward)
{
	return !forward && ch->mode == CS_MODE_NSH && ch->n_stages > 1 && (ch->flags & CS_CHAIN_SYMMETRIC);
}

/* The steered packet goes to its instance, counted there: wrapped (encap,
 * nsh) or not (route). Return packets only when the chain is symmetric;
 * those of a chain of stages go to its last. */
static __always_inline int cs_deliver(struct __sk_buff *skb, const struct cs_packet *p, const struct cs_flow *fl,
				      struct cs_instance *in, bool forward)
{
	__u32 chain_id = fl->chain, id = fl->instance, ifindex = fl->ifindex;
	struct cs_chain *ch = bpf_map_lookup_elem(&cs_chains, &chain_id);
	bool send;
	int v;

	if (!ch)
		return TC_ACT_OK;
	if (cs_goes_back_through_stages(ch, forward)) {
		in = cs_last_stage(ch, chain_id, fl->code, &id);
		ifindex = in ? cs_egress(skb, in) : 0;
		if (!ifindex)
			return cs_failure_verdict(ch);
	}
	cs_count_inst(id, skb->len, 0);
	send = (forward || (ch->flags & CS_CHAIN_SYMMETRIC)) && ifindex;
	if (ch->mode == CS_MODE_ROUTE) {
		if (!send)
			return TC_ACT_OK;
		cs_count_steer(CS_S_TC_STEERED);
		return cs_redirect_neigh(ifindex, in);
	}
	v = cs_encap(skb, p, fl, ch, in, cs_inst_stat_of(id), send, forward);
	if (v >= 0)
		return v;
	cs_count_steer(CS_S_TC_STEERED);
	return cs_redirect_wrapped(ifindex);
}

static __always_inline __u16 cs_chain_of(const struct cs_route *rt)
{
	__u32 rule_id = rt->rule_id;
	struct cs_rule *r = bpf_map_lookup_elem(&cs_rules, &rule_id);

	return r ? (__u16)r->chain_id : 0;
}

/* A header cut short in the linear part (or in the packet itself). */
static __always_inline bool cs_cut_short(int r)
{
	return r == CS_PKT_L2_SHORT || r == CS_PKT_L3_SHORT || r == CS_PKT_L4_SHORT;
}

/* The packet's headers, from the linear part, into *p; when they run past
 * it, pulled in and read once more. The reader's reason. */
static __always_inline int cs_read_headers(struct __sk_buff *skb, struct cs_packet *p)
{
	struct cs_cursor c;
	int r = CS_PKT_NOT_IP, tries;

	/* a second read only after headers were pulled in; one copy of the
	 * reader in the program, not two */
#pragma clang loop unroll(disable)
	for (tries = 0; tries < 2; tries++) {
		__builtin_memset(p, 0, sizeof(*p));
		cs_cursor_init(&c, (void *)(long)skb->data, (void *)(long)skb->data_end);
		r = cs_read_packet(&c, p);
		if (!cs_cut_short(r) || tries || !cs_pull_headers(skb, CS_STEER_HEADERS_MAX))
			break;
		cs_count_steer(CS_S_HEADERS_PULLED);
		cs_keep_tries(tries);
	}
	return r;
}

/* Does chain_id code its streams by their pair of hosts (affinity: hosts)? */
static __always_inline bool cs_chain_by_hosts(__u32 chain_id)
{
	struct cs_chain *ch = bpf_map_lookup_elem(&cs_chains, &chain_id);

	return ch && (ch->flags & CS_CHAIN_AFFINITY_HOSTS);
}

/* A stream's first packet: its flow made in cs_flows_new, pinned to nothing
 * yet, its affinity code computed, how it began noted (what proves it
 * depends on that). The flow, or NULL when it could not be stored. */
static __always_inline struct cs_flow *cs_flow_make(const struct cs_flow_key *key, const struct cs_route *rt,
						    const struct cs_addr *route, __u8 first_flags)
{
	__u64 now = bpf_ktime_get_boot_ns();
	struct cs_flow fresh = { .first_ns = now, .last_ns = now, .route = *route, .acl_id = rt->acl_id,
				 .rule_id = (__u16)rt->rule_id, .chain = cs_chain_of(rt), .flags = first_flags,
				 .tick = (__u32)(bpf_jiffies64() >> CS_FLOW_TICK_SHIFT) };
	struct cs_config *cfg;
	__u32 zero = 0;

	cfg = bpf_map_lookup_elem(&cs_config, &zero);
	if (cfg)
		fresh.code = cs_affinity_code_by(key, cfg->affinity_key, cs_chain_by_hosts(fresh.chain));
	/* NOEXIST: another CPU may have made it meanwhile; then that one is it */
	if (!bpf_map_update_elem(&cs_flows_new, key, &fresh, BPF_NOEXIST))
		cs_count_steer(CS_S_FLOWS_NEW);
	return bpf_map_lookup_elem(&cs_flows_new, key);
}

/* The flow of a stream not proven yet, in cs_flows_new; made there when the
 * stream has none. */
static __always_inline struct cs_flow *cs_flow_unproven(const struct cs_flow_key *key, const struct cs_route *rt,
							const struct cs_addr *route, __u8 first_flags)
{
	struct cs_flow *fl = bpf_map_lookup_elem(&cs_flows_new, key);

	return fl ? fl : cs_flow_make(key, rt, route, first_flags);
}

/* The packet's part in its flow's TCP state; a flow of another protocol
 * (or whose TCP header was never read whole) is ACTIVE. */
static __always_inline void cs_flow_track(struct cs_flow *fl, const struct cs_packet *p, bool tcp_read, bool from_lo)
{
	if (tcp_read)
		fl->state = cs_tcp_next_state(fl->state, p->tcp_flags, from_lo, &fl->flags);
	else if (fl->state == CS_ST_NONE)
		fl->state = CS_ST_ACTIVE;
}

/* Move a proven flow to cs_flows, pin and all. When cs_flows is full it
 * stays in cs_flows_new (still pinned, but evictable) and tries again with
 * its next packet; flow_table_full counts it once. */
static __always_inline void cs_flow_promote(const struct cs_flow_key *key, struct cs_flow *fl)
{
	struct cs_flow proven = *fl;
	long e;

	proven.flags &= ~CS_LIFE_FULL_SEEN;
	e = bpf_map_update_elem(&cs_flows, key, &proven, BPF_NOEXIST);
	if (e && e != -EEXIST) {
		if (!(fl->flags & CS_LIFE_FULL_SEEN)) {
			fl->flags |= CS_LIFE_FULL_SEEN;
			cs_count_steer(CS_S_FLOW_TABLE_FULL);
		}
		return;
	}
	/* EEXIST: another CPU moved it first */
	bpf_map_delete_elem(&cs_flows_new, key);
	cs_route_mark(&proven.route);
	if (!e)
		cs_count_steer(CS_S_FLOWS_PROMOTED);
}

/* Where the packet of a stream with a flow goes: its instance, normal
 * routing, or what on_failure says. */
static __always_inline int cs_flow_verdict(struct __sk_buff *skb, const struct cs_packet *p, struct cs_flow *fl,
					   bool forward)
{
	struct cs_instance *in;
	bool fail;

	in = cs_steer_stream(skb, fl, &fail);
	if (fail)
		return cs_on_failure(fl->chain);
	if (!in)
		return TC_ACT_OK;
	return cs_deliver(skb, p, fl, in, forward);
}

SEC("tc")
int steer(struct __sk_buff *skb)
{
	struct cs_flow_key key;
	struct cs_packet p;
	struct cs_route *rt;
	struct cs_flow *fl;
	struct cs_addr *route;
	bool forward = true, proven = true, tcp_read, from_lo;
	int r, verdict;

	r = cs_read_headers(skb, &p);
	if (r != CS_PKT_OK && r != CS_PKT_L4_SHORT)
		return TC_ACT_OK;	/* not IP, or its IP header cut short */
	/* A transport header cut short in the packet itself is steered by the
	 * ports that were read; IPv6 extension headers are counted, not split
	 * by port. */
	route = &p.dst;
	rt = bpf_map_lookup_elem(&cs_routes, route);
	if (!rt) {
		route = &p.src;	/* the return direction of a steered stream */
		forward = false;
		rt = bpf_map_lookup_elem(&cs_routes, route);
		if (!rt)
			return TC_ACT_OK;
	}
	tcp_read = r == CS_PKT_OK && cs_has_tcp_header(&p);
	from_lo = cs_flow_key_make(&key, &p.src, p.sport, &p.dst, p.dport, p.proto);
	fl = bpf_map_lookup_elem(&cs_flows, &key);
	if (!fl) {
		proven = false;
		fl = cs_flow_unproven(&key, rt, route, cs_life_first_flags(&p, tcp_read, from_lo));
		if (!fl) {
			cs_count_steer(CS_S_FLOW_NOT_STORED);
			return cs_on_failure(cs_chain_of(rt));
		}
	}
	if (fl->acl_id != rt->acl_id || fl->rule_id != rt->rule_id) {
		/* the route got an ACL id (it waited for one), or was made anew
		 * while the flow lived: the flow follows it, pin and all */
		fl->acl_id = rt->acl_id;
		fl->rule_id = (__u16)rt->rule_id;
		fl->route = *route;
	}
	if (proven)
		/* its route's bit, which the daemon's rewrite of cs_route_bits
		 * may have lost while TC proved the flow: set again, the next
		 * packet may go by XDP (a read alone when it is set) */
		cs_route_mark(&fl->route);
	cs_flow_count(fl, skb->len, bpf_jiffies64());
	cs_flow_track(fl, &p, tcp_read, from_lo);
	cs_count_route(rt->acl_id, rt->rule_id, skb->len);

	verdict = cs_flow_verdict(skb, &p, fl, forward);
	if (!proven && cs_life_proven(fl->flags, fl->packets, &p, tcp_read, from_lo))
		cs_flow_promote(&key, fl);
	return verdict;
}

/* ---- steer_xdp: the fast path, before the kernel builds an skb ---- */

/*
 * May the fast path carry this packet of a proven stream? Only one that
 * changes nothing TC decides: a TCP segment of an established stream
 * without SYN, FIN or RST (so no state moves and no MSS is clamped), or a
 * packet of a stream of another protocol once it is ACTIVE.
 */
static __always_inline bool cs_xdp_may_take(const struct cs_packet *p, const struct cs_flow *fl)
{
	if (p->proto == IPPROTO_TCP)
		return fl->state == CS_ST_ESTABLISHED &&
		       !(p->tcp_flags & (CS_TCP_SYN | CS_TCP_FIN | CS_TCP_RST));
	return fl->state == CS_ST_ACTIVE;
}

/* Does a packet of len octets (with its Ethernet header) fit the way out,
 * wrapped in `overhead` octets, and the instance's tunnel (inner_mtu)? */
static __always_inline bool cs_xdp_fits(__u32 len, __u32 overhead, const struct cs_instance *in,
					const struct cs_xdp_nh *nh)
{
	__u32 ip_len = len - sizeof(struct ethhdr);

	if (overhead && in->inner_mtu && ip_len > in->inner_mtu)
		return false;
	return ip_len + overhead <= nh->mtu;
}

/* What wrapping adds to the IP packet, as the outer IP packet's length
 * counts it, by mode and the outer family: the outer IP and UDP headers
 * and the tunnel's (encap: VXLAN and the inner Ethernet header). */
static __always_inline __u32 cs_xdp_overhead(const struct cs_chain *ch, const struct cs_instance *in)
{
	bool v4 = cs_addr_is_v4mapped(&in->addr);

	if (ch->mode == CS_MODE_ROUTE)
		return 0;
	if (ch->mode == CS_MODE_ENCAP)
		return v4 ? CS_ENCAP_OVERHEAD4 : CS_ENCAP_OVERHEAD6;
	return v4 ? CS_NSH_OVERHEAD4 : CS_NSH_OVERHEAD6;
}

/* The frame toward its instance as the chain's mode says: the Ethernet
 * addresses rewritten (route), or wrapped behind new ones (encap, nsh).
 * 0, or <0 when it was left as it was. */
static __always_inline int cs_xdp_rewrite(struct xdp_md *ctx, const struct cs_flow *fl, const struct cs_chain *ch,
					  const struct cs_instance *in, const struct cs_xdp_nh *nh, bool forward)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct cs_nsh_md md;

	if (ch->mode == CS_MODE_ENCAP)
		return cs_xdp_vxlan_wrap(ctx, in, nh, fl->code);
	if (ch->mode == CS_MODE_NSH) {
		md = cs_nsh_first(fl, ch, in, forward);
		return cs_xdp_nsh_wrap(ctx, in, nh, &md);
	}
	if ((void *)(eth + 1) > end)
		return -1;
	__builtin_memcpy(eth->h_dest, nh->dmac, sizeof(eth->h_dest));
	__builtin_memcpy(eth->h_source, nh->smac, sizeof(eth->h_source));
	return 0;
}

/*
 * Is the flow's route still what the flow says (there, with the flow's
 * ACL id and rule)? Looked up once a tick (CS_FLOW_TICK_SHIFT), when the
 * flow's last_ns is written too, not on every packet: a route that changed
 * is TC's within a tick, where the flow follows it.
 */
static __always_inline bool cs_xdp_route_holds(const struct cs_flow *fl, __u64 jiffies)
{
	struct cs_route *rt;

	if (fl->tick == (__u32)(jiffies >> CS_FLOW_TICK_SHIFT))
		return true;
	rt = bpf_map_lookup_elem(&cs_routes, &fl->route);
	return rt && rt->acl_id == fl->acl_id && rt->rule_id == fl->rule_id;
}

/*
 * A packet of a proven stream: to its instance, counted as TC counts it
 * (flow, ACL id, rule, instance), when nothing in it is TC's to decide.
 * XDP_PASS leaves it to TC, untouched and uncounted; *to_tc says whether
 * TC will steer it (a packet TC only counts and routes is no fast-path
 * miss).
 */
static __always_inline int cs_xdp_steer_flow(struct xdp_md *ctx, const struct cs_packet *p, struct cs_flow *fl,
					     bool forward, bool *to_tc)
{
	__u32 chain_id = fl->chain, id = fl->instance, len, want;
	struct cs_instance *in;
	struct cs_xdp_nh *nh;
	struct cs_chain *ch;
	__u64 jiffies;

	*to_tc = false;
	if (!chain_id)
		return XDP_PASS;	/* observe: TC counts it */
	ch = bpf_map_lookup_elem(&cs_chains, &chain_id);
	if (!ch || (!forward && !(ch->flags & CS_CHAIN_SYMMETRIC)))
		return XDP_PASS;	/* routed as it is, counted by TC */
	/* TC takes the destination for the route when it is one: an answer
	 * to a route is TC's, whichever way its flow was made */
	if (!forward && bpf_map_lookup_elem(&cs_routes, &p->dst))
		return XDP_PASS;
	*to_tc = true;
	jiffies = bpf_jiffies64();
	if (!cs_xdp_may_take(p, fl) || !fl->ifindex || !cs_xdp_route_holds(fl, jiffies))
		return XDP_PASS;
	in = cs_usable(id, true);
	want = fl->ifindex;
	if (in && cs_goes_back_through_stages(ch, forward)) {
		in = cs_last_stage(ch, chain_id, fl->code, &id);
		want = in ? in->ifindex : 0;
	}
	if (!in)
		return XDP_PASS;	/* failover, or none to take it: TC decides */
	nh = cs_xdp_way(ctx, &cs_xdp_nh, &cs_xdp_ports, id, in, jiffies);
	len = (__u32)(ctx->data_end - ctx->data);
	if (!nh || (want && nh->ifindex != want) || !cs_xdp_fits(len, cs_xdp_overhead(ch, in), in, nh))
		return XDP_PASS;
	if (ch->mode == CS_MODE_ROUTE ? (nh->flags & CS_XDP_NH_VIA_GW) : !cs_addr_known(&in->local))
		return XDP_PASS;	/* route mode needs the instance on the link; a tunnel its source */
	if (cs_xdp_rewrite(ctx, fl, ch, in, nh, forward))
		return XDP_PASS;
	cs_flow_count(fl, len, jiffies);
	cs_count_route(fl->acl_id, fl->rule_id, len);
	cs_count_inst(id, len, 0);
	cs_count_steer(CS_S_XDP_STEERED);
	/* in cs_xdp_ports: the FIB answer was checked against it; gone since
	 * (the interface went away), the frame is dropped as changed */
	return bpf_redirect_map(&cs_xdp_ports, nh->ifindex, 0);
}

/*
 * steer's fast path, on XDP where client traffic enters (or after learn,
 * on an interface that does both): the packets of proven streams that
 * nothing in TC needs to see go to their instance from here, counted as TC
 * would; everything else (new streams, TCP flags, failover, tagged or
 * fragmented frames, no neighbour yet) passes to TC unchanged, which
 * decides as it always has. docs/concepts.md says which path a packet
 * takes. A packet to and from no route with a live flow passes after a
 * look at two bits (cs_route_bits), before any hash lookup.
 */
SEC("xdp")
int steer_xdp(struct xdp_md *ctx)
{
	struct cs_packet p = {};
	struct cs_flow_key key;
	struct cs_cursor c;
	struct cs_flow *fl;
	bool forward, to_tc;
	int v;

	cs_cursor_init(&c, (void *)(long)ctx->data, (void *)(long)ctx->data_end);
	if (cs_read_packet(&c, &p) || cs_is_fragment(&p) || p.l3_off != sizeof(struct ethhdr))
		return XDP_PASS;
	if (!cs_route_maybe(&p.dst) && !cs_route_maybe(&p.src))
		return XDP_PASS;
	cs_flow_key_make(&key, &p.src, p.sport, &p.dst, p.dport, p.proto);
	fl = bpf_map_lookup_elem(&cs_flows, &key);
	if (!fl)
		return XDP_PASS;	/* new, or not proven yet: TC's */
	forward = cs_addr_same(&fl->route, &p.dst);
	v = cs_xdp_steer_flow(ctx, &p, fl, forward, &to_tc);
	if (v == XDP_PASS && to_tc)
		cs_count_steer(CS_S_XDP_TO_TC);
	return v;
}
