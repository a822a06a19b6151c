/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * dns.h - DNS message parsing for the learn program.
 *
 * The message is copied once into a per-CPU scratch buffer, so every read is
 * a masked index into map memory: no per-byte data_end checks, and the same
 * code works wherever the message sits in the frame. Logical bounds (the
 * message length) are checked separately and turn into reasons.
 *
 * Names are walked one label or pointer per bpf_loop step (the callback is
 * verified once), with a short bounded loop over a label's octets. A
 * compression pointer must point
 * before the start of the run of labels that holds it; that is true of every
 * name a real compressor writes, and it makes loops impossible.
 */
#ifndef CS_BPF_DNS_H
#define CS_BPF_DNS_H

#include "common.h"
#include "packet.h"
#include "learn_structs.h"
#include "learn_maps.h"

#define DNS_HDR_LEN    12
#define DNS_T_A        1
#define DNS_T_CNAME    5
#define DNS_T_AAAA     28
#define DNS_C_IN       1
#define DNS_F_QR       0x8000
#define DNS_F_OPCODE   0x7800
#define DNS_F_TC       0x0200
#define DNS_F_RCODE    0x000F

/* ---- where the message is in the frame ---- */

/* Which side of port 53 a message is looked for on: answers come from it
 * (learn), queries go to it (query). */
enum cs_dns_dir { CS_DNS_ANSWER = 0, CS_DNS_QUERY = 1 };

/* Where the DNS message sits in the frame, and the packet that carries it. */
struct cs_dns_loc {
	struct cs_packet pkt;
	__u32 off;		/* from the start of the frame */
	__u32 len;
	__u16 client_port;	/* host order: the port that is not 53 */
};

/* The IP layer as learn judges it: a fragment is never whole, and IPv6
 * extension headers are skipped to find the transport. 0 or a reason. */
static __always_inline int cs_dns_ip(struct cs_cursor *c, __u16 ethertype, struct cs_packet *p)
{
	int r = cs_read_ip(c, ethertype, p);

	if (r == CS_PKT_NOT_IP)
		return CS_R_NOT_IP;
	if (r || p->l4_len < 0)
		return CS_R_TRUNCATED;
	if (cs_is_fragment(p))
		return CS_R_FRAGMENT;
	if (!p->v6)
		return 0;
	r = cs_skip_ipv6_ext(c, p);
	if (r == CS_PKT_FRAGMENT)
		return CS_R_FRAGMENT;
	return r ? CS_R_TRUNCATED : 0;
}

/* UDP: the message is the datagram's payload. The cursor is at the header. */
static __always_inline int cs_dns_udp(struct cs_cursor *c, const struct cs_packet *p, __u32 *msg_len)
{
	struct udphdr *udp = cs_pull(c, sizeof(*udp));
	__u32 ulen;

	if (!udp)
		return CS_R_TRUNCATED;
	ulen = bpf_ntohs(udp->len);
	if (ulen < sizeof(*udp) || ulen > (__u32)p->l4_len)
		return CS_R_TRUNCATED;
	*msg_len = ulen - sizeof(*udp);
	return 0;
}

/* TCP: only a segment that holds one whole length-prefixed message is
 * parsed; the rest of a stream is left to the resolver's client. The cursor
 * is at the header. */
static __always_inline int cs_dns_tcp(struct cs_cursor *c, const struct cs_packet *p, __u32 *msg_len)
{
	struct tcphdr *tcp = c->pos;
	__u32 hlen, payload;
	__u8 *pfx;

	if ((void *)(tcp + 1) > c->end)
		return CS_R_TRUNCATED;
	hlen = tcp->doff * 4;
	if (hlen < sizeof(*tcp) || hlen > (__u32)p->l4_len)
		return CS_R_TRUNCATED;
	if (c->pos + hlen > c->end)
		return CS_R_TRUNCATED;
	c->pos += hlen;
	payload = p->l4_len - hlen;
	if (payload == 0)
		return CS_R_NOT_DNS;	/* a bare ACK or FIN of a DNS connection */
	pfx = cs_pull(c, 2);
	if (!pfx || payload < 2)
		return CS_R_TCP_PARTIAL;
	*msg_len = ((__u32)pfx[0] << 8) | pfx[1];
	if (*msg_len + 2 != payload)
		return CS_R_TCP_PARTIAL;
	return 0;
}

/* From the frame [data, data_end) to the DNS message going in direction
 * dir: 0 and *loc filled, or a reason. The caller checks that the message
 * lies within the whole frame (cs_dns_in_frame), which may be longer than
 * its linear part. */
static __always_inline int cs_locate_dns(void *data, void *data_end, enum cs_dns_dir dir, struct cs_dns_loc *loc)
{
	struct cs_packet *p = &loc->pkt;
	__u16 ethertype = 0, server_port;
	__u32 msg_len = 0;
	struct cs_cursor c;
	int r;

	cs_cursor_init(&c, data, data_end);
	if (cs_read_eth(&c, &ethertype))
		return CS_R_NOT_IP;
	r = cs_dns_ip(&c, ethertype, p);
	if (r)
		return r;
	if (cs_read_ports(&c, p))
		return CS_R_TRUNCATED;
	if (p->proto != IPPROTO_UDP && p->proto != IPPROTO_TCP)
		return CS_R_NOT_DNS;
	server_port = dir == CS_DNS_ANSWER ? p->sport : p->dport;
	loc->client_port = dir == CS_DNS_ANSWER ? p->dport : p->sport;
	if (server_port != CS_DNS_PORT)
		return CS_R_NOT_DNS;
	if (p->proto == IPPROTO_UDP)
		r = cs_dns_udp(&c, p, &msg_len);
	else
		r = cs_dns_tcp(&c, p, &msg_len);
	if (r)
		return r;
	loc->off = cs_cursor_off(&c);
	loc->len = msg_len;
	return 0;
}

/* Against the whole frame, not its linear part: BPF_PROG_TEST_RUN (replay)
 * puts what passes a page into fragments, and the message is read with
 * bpf_xdp_load_bytes (bpf_skb_load_bytes), which reads them too. The
 * headers always sit in the linear part. */
static __always_inline int cs_dns_in_frame(const struct cs_dns_loc *loc, __u32 frame_len)
{
	return loc->off + loc->len > frame_len ? CS_R_TRUNCATED : 0;
}

/* ---- the message, copied into scratch ---- */

static __always_inline __u8 cs_msg8(const struct cs_scratch *s, __u32 off)
{
	return s->msg[CS_MASK(off, CS_MSG_MAX)];
}

static __always_inline __u16 cs_msg16(const struct cs_scratch *s, __u32 off)
{
	return ((__u16)cs_msg8(s, off) << 8) | cs_msg8(s, off + 1);
}

static __always_inline __u32 cs_msg32(const struct cs_scratch *s, __u32 off)
{
	return ((__u32)cs_msg16(s, off) << 16) | cs_msg16(s, off + 2);
}

static __always_inline int cs_depth_has_patterns(const struct cs_config *cfg, __u32 depth)
{
	return (cfg->depth_mask[CS_MASK(depth >> 6, 2)] >> (depth & 63)) & 1;
}

/* Keep the more specific of the current best and the patterns found for the
 * suffix of `depth` labels of a name of `labels` labels. */
static __always_inline void cs_consider(struct cs_name_result *res, const struct cs_rule_name *rn,
					__u32 depth, __u32 labels)
{
	int k;

#pragma unroll
	for (k = 0; k < CS_MATCH_KINDS; k++) {
		__u32 score;

		if (!rn->kind[k].pattern_id)
			continue;
		if (k == CS_MATCH_EXACT && depth != labels)
			continue;
		if (k == CS_MATCH_WILD && depth == labels)
			continue;
		score = CS_MATCH_SCORE(depth, k);
		if (score > res->score) {
			res->score = score;
			res->match = rn->kind[k];
		}
	}
}

/*
 * One step of a name: follow a pointer, end at the root label, or take one
 * label. Returns 0 for the next step or 1 when done (err says how). Shared by
 * the hash walk and the text writer through `label_fn`.
 */
static __always_inline int cs_name_step(struct cs_scratch *s, bool *is_label, __u32 *len)
{
	struct cs_name_cursor *c = &s->cur;
	__u8 b;

	*is_label = false;
	if (c->pos >= s->msg_len) {
		c->err = CS_R_BAD_RECORD;
		return 1;
	}
	b = cs_msg8(s, c->pos);
	if ((b & 0xC0) == 0xC0) {
		__u32 target;

		if (c->pos + 1 >= s->msg_len) {
			c->err = CS_R_BAD_RECORD;
			return 1;
		}
		target = ((__u32)(b & 0x3F) << 8) | cs_msg8(s, c->pos + 1);
		if (!c->end)
			c->end = c->pos + 2;
		if (target >= c->run_start || ++c->pointers > CS_POINTERS_MAX) {
			c->err = CS_R_POINTER_LOOP;
			return 1;
		}
		c->pos = c->run_start = target;
		return 0;
	}
	if (b & 0xC0) {
		c->err = CS_R_BAD_NAME;	/* 0x40 and 0x80 label types are obsolete */
		return 1;
	}
	if (b == 0) {
		if (!c->end)
			c->end = c->pos + 1;
		c->err = 0;
		return 1;
	}
	c->wire_len += b + 1;
	if (c->labels >= CS_LABELS_MAX || c->wire_len > CS_NAME_WIRE_MAX ||
	    c->pos + 1 + b > s->msg_len) {
		c->err = c->pos + 1 + b > s->msg_len ? CS_R_BAD_RECORD : CS_R_BAD_NAME;
		return 1;
	}
	*is_label = true;
	*len = b;
	return 0;
}

/* bpf_loop callbacks get a pointer to the caller's scratch pointer. */
static __always_inline struct cs_scratch *cs_loop_scratch(void *ctx)
{
	return *(struct cs_scratch **)ctx;
}

/* Make the compiler reload every value from memory: the loop state lives in
 * scratch so that the verifier sees unknown values there, not constants it
 * would have to follow one by one. */
#define cs_reload() asm volatile("" ::: "memory")

static __always_inline int cs_hash_step(struct cs_scratch *s)
{
	struct cs_name_cursor *c = &s->cur;
	__u32 len = 0, start, k;
	bool is_label;
	__u64 h;

	if (cs_name_step(s, &is_label, &len))
		return 1;
	if (!is_label)
		return 0;
	start = c->pos + 1;
	h = cs_label_begin(s->cfg.name_key, len);
	/* 8 octets a step; msg has slack, and cs_word_head drops what lies
	 * past the label. Little-endian loads, as the userspace side does. */
	for (k = 0; k < CS_LABEL_MAX; k += 8) {
		__u64 w;

		if (k >= len)
			break;
		__builtin_memcpy(&w, &s->msg[CS_MASK(start + k, CS_MSG_MAX)], 8);
		h = cs_label_word(h, cs_lower8(cs_word_head(w, len - k)));
	}
	s->label_hash[CS_MASK(c->labels, CS_LABELS_MAX + 1)] = cs_label_end(h);
	c->labels++;
	c->pos = start + len;
	return 0;
}

#define CS_NAME_STEPS (CS_LABELS_MAX + CS_POINTERS_MAX + 1)

static __always_inline void cs_cursor_start(struct cs_scratch *s, __u32 off, int err)
{
	struct cs_name_cursor *c = &s->cur;

	c->pos = off;
	c->run_start = off;
	c->end = 0;
	c->labels = 0;
	c->wire_len = 1;
	c->pointers = 0;
	c->out = 0;
	c->err = err;
}

/* Fold one more label into the suffix hash, right to left, and look the
 * suffix up in the rules where some pattern has that many labels. */
static __always_inline int cs_fold_step(struct cs_scratch *s, __u32 k)
{
	struct cs_fold *f = &s->fold;
	__u32 depth = k + 1;

	if (k >= f->labels)
		return 1;
	f->suffix = cs_suffix_fold(f->suffix, s->label_hash[CS_MASK(f->labels - depth, CS_LABELS_MAX + 1)]);
	if (f->match_rules && cs_depth_has_patterns(&s->cfg, depth)) {
		/* a stack copy: in a global function s is plain memory, which
		 * 6.1's verifier does not take as a map key */
		__u64 key = f->suffix;
		struct cs_rule_name *rn = bpf_map_lookup_elem(&cs_rule_names, &key);

		if (rn)
			cs_consider(&s->name, rn, depth, f->labels);
	}
	return 0;
}

/*
 * Hash the name at `off` into s->name: its id and, with match_rules, the most
 * specific rule pattern for it. Returns 0 or a reason. A global function, so
 * the verifier checks it once however many places call it.
 */
__noinline int cs_name_walk(struct cs_scratch *s, __u32 off, __u32 match_rules)
{
	__u32 i;

	if (!s)
		return CS_R_INTERNAL;
	cs_cursor_start(s, off, CS_R_BAD_NAME);
	for (i = 0; i < CS_NAME_STEPS; i++) {
		cs_reload();
		if (cs_hash_step(s))
			break;
	}
	if (s->cur.err)
		return s->cur.err;

	s->name.end = s->cur.end;
	s->name.score = 0;
	s->name.match.pattern_id = 0;
	s->name.match.rule_id = 0;
	s->fold.labels = s->cur.labels;
	s->fold.match_rules = match_rules;
	s->fold.suffix = cs_suffix_seed(s->cfg.name_key);
	for (i = 0; i < CS_LABELS_MAX; i++) {
		cs_reload();
		if (cs_fold_step(s, i))
			break;
	}
	s->name.id = s->fold.suffix;
	return 0;
}

static long cs_text_step(__u32 i, void *ctx)
{
	struct cs_scratch *s = cs_loop_scratch(ctx);
	struct cs_name_cursor *c;
	__u32 len = 0, start, k;
	bool is_label;
	char *t;

	if (!s)
		return 1;
	c = &s->cur;
	t = s->text[CS_MASK(c->slot, CS_TEXT_SLOTS)].text;
	if (cs_name_step(s, &is_label, &len))
		return 1;
	if (!is_label)
		return 0;
	if (c->out)
		t[CS_MASK(c->out++, CS_NAME_TEXT_MAX)] = '.';
	start = c->pos + 1;
	for (k = 0; k < CS_LABEL_MAX; k++) {
		if (k >= len)
			break;
		t[CS_MASK(c->out + k, CS_NAME_TEXT_MAX)] = cs_lower(cs_msg8(s, start + k));
	}
	c->out += len;
	c->pos = start + len;
	return 0;
}

/* Write the name at `off` as lower-case text, no trailing dot, into
 * s->text[slot]. Names reach here only after cs_name_walk accepted them, so
 * the text always fits: 255 wire octets make at most 253 characters. */
__noinline int cs_name_text(struct cs_scratch *s, __u32 off, __u32 slot)
{
	if (!s)
		return CS_R_INTERNAL;
	cs_cursor_start(s, off, 0);
	s->cur.slot = slot;
	bpf_loop(CS_NAME_STEPS, cs_text_step, &s, 0);
	s->text[CS_MASK(slot, CS_TEXT_SLOTS)].text[CS_MASK(s->cur.out, CS_NAME_TEXT_MAX)] = 0;
	return s->cur.err;
}

#endif /* CS_BPF_DNS_H */
