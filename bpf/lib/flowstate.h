/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * flowstate.h - the life of a stream, as steer keeps it in its flows and
 * the instance in its streams: one TCP state machine (enum
 * cs_stream_state) and the rule that proves a stream. Both keep what it
 * needs in a flags octet (CS_LIFE_*).
 *
 * States. Each has a lifetime since the stream's last packet, which the
 * daemons' sweeps enforce (user/lib/flowlife.h), as Linux's conntrack does:
 * how long a quiet stream in that state may still be alive. The machine
 * works from one direction alone, because steer often sees only the
 * client's side: a SYN, then a segment with ACK and without SYN, is
 * ESTABLISHED; a FIN is CLOSING; FINs from both sides, or a RST, CLOSED. A
 * SYN-ACK, seen when both directions are, is SYN_RECV on the way.
 *
 * Proof. Every stream begins in an LRU table and moves to one the kernel
 * never evicts from once a packet proves it: a packet that a flood of first
 * packets (SYNs, or a datagram each, from forged sources) does not send.
 */
#ifndef CS_BPF_FLOWSTATE_H
#define CS_BPF_FLOWSTATE_H

#include "common.h"
#include "packet.h"

/* A TCP header was read: TCP, and not a later fragment. */
static __always_inline bool cs_has_tcp_header(const struct cs_packet *p)
{
	return p->proto == IPPROTO_TCP && !cs_is_later_fragment(p);
}

/* A SYN without ACK: a connection begins. */
static __always_inline bool cs_tcp_is_syn(__u8 tcp_flags)
{
	return (tcp_flags & (CS_TCP_SYN | CS_TCP_ACK)) == CS_TCP_SYN;
}

/* The FIN bit of a side of the flow key. */
static __always_inline __u8 cs_fin_bit(bool from_lo)
{
	return from_lo ? CS_LIFE_FIN_LO : CS_LIFE_FIN_HI;
}

/* A FIN from one side: CLOSED once the other side's FIN was seen too. */
static __always_inline __u8 cs_tcp_fin(__u8 state, bool from_lo, __u8 *flags)
{
	*flags |= cs_fin_bit(from_lo);
	if (state == CS_ST_CLOSED || (*flags & cs_fin_bit(!from_lo)))
		return CS_ST_CLOSED;
	return CS_ST_CLOSING;
}

/* The state of a TCP stream whose first segment seen has these flags: a
 * SYN begins one; anything else was picked up mid-way (it began before its
 * route, or its entry was lost), judged by its flags. */
static __always_inline __u8 cs_tcp_first_state(__u8 tcp_flags, bool from_lo, __u8 *flags)
{
	if (tcp_flags & CS_TCP_RST)
		return CS_ST_CLOSED;
	if (tcp_flags & CS_TCP_FIN)
		return cs_tcp_fin(CS_ST_ESTABLISHED, from_lo, flags);
	if (cs_tcp_is_syn(tcp_flags))
		return CS_ST_SYN_SENT;
	if (tcp_flags & CS_TCP_SYN)
		return CS_ST_SYN_RECV;
	return CS_ST_ESTABLISHED;
}

/*
 * Where a TCP segment moves a stream in `state`. A SYN on a stream that was
 * closing or closed begins a new incarnation of the 5-tuple (the FIN bits
 * are cleared; the caller resets what else it keeps): with steer seeing one
 * direction only, CLOSING is all it may see of a connection that ended. A
 * stream with no TCP state yet (ACTIVE: its first packet was a later
 * fragment) takes the segment as its first.
 */
static __always_inline __u8 cs_tcp_next_state(__u8 state, __u8 tcp_flags, bool from_lo, __u8 *flags)
{
	if (state == CS_ST_NONE || state == CS_ST_ACTIVE)
		return cs_tcp_first_state(tcp_flags, from_lo, flags);
	if (tcp_flags & CS_TCP_RST)
		return CS_ST_CLOSED;
	if (cs_tcp_is_syn(tcp_flags)) {
		if (state != CS_ST_CLOSED && state != CS_ST_CLOSING)
			return state;	/* a retransmitted SYN, or a stray one */
		*flags &= ~(CS_LIFE_FIN_LO | CS_LIFE_FIN_HI);
		return CS_ST_SYN_SENT;
	}
	if (tcp_flags & CS_TCP_FIN)
		return cs_tcp_fin(state, from_lo, flags);
	if (tcp_flags & CS_TCP_SYN)	/* a SYN-ACK */
		return state == CS_ST_SYN_SENT ? CS_ST_SYN_RECV : state;
	if ((tcp_flags & CS_TCP_ACK) && (state == CS_ST_SYN_SENT || state == CS_ST_SYN_RECV))
		return CS_ST_ESTABLISHED;
	return state;
}

/* What a stream's first packet says of how it began (CS_LIFE_FIRST_LO,
 * CS_LIFE_BEGAN_SYN): what will prove it depends on that. */
static __always_inline __u8 cs_life_first_flags(const struct cs_packet *p, bool tcp_read, bool from_lo)
{
	return (from_lo ? CS_LIFE_FIRST_LO : 0) |
	       (tcp_read && cs_tcp_is_syn(p->tcp_flags) ? CS_LIFE_BEGAN_SYN : 0);
}

/*
 * Does this packet (already counted in `packets`) prove an unproven stream?
 * A TCP stream begun with a SYN: a segment without SYN from the same side
 * (the handshake's last ACK) or any packet the other way (the answer); any
 * other stream: its second packet. tcp_read: the packet's TCP header was
 * read whole.
 */
static __always_inline bool cs_life_proven(__u8 flags, __u64 packets, const struct cs_packet *p, bool tcp_read,
					   bool from_lo)
{
	if (!(flags & CS_LIFE_BEGAN_SYN))
		return packets >= 2;
	if (from_lo != !!(flags & CS_LIFE_FIRST_LO))
		return true;
	return tcp_read && !(p->tcp_flags & CS_TCP_SYN);
}

#endif /* CS_BPF_FLOWSTATE_H */
