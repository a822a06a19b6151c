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
#include "maps.h"

#define DNS_HDR_LEN    12
#define DNS_T_A        1
#define DNS_T_CNAME    5
#define DNS_T_AAAA     28
#define DNS_C_IN       1
#define DNS_F_QR       0x8000
#define DNS_F_OPCODE   0x7800
#define DNS_F_TC       0x0200
#define DNS_F_RCODE    0x000F

/* A name on the validated chain: the question or a CNAME target. */
struct cs_chain_name {
	__u64 id;		/* full-name hash */
	__u32 wire_off;		/* where its labels start in the message */
	__u32 _pad;
};

/* An A/AAAA record whose owner is on the chain, waiting for the rule verdict. */
struct cs_addr_rec {
	__u32 rdata_off;
	__u32 ttl;		/* raw wire value */
	__u16 type;
	__u16 chain_idx;
};

/* Result of the last cs_name_walk(). */
struct cs_name_result {
	__u64 id;
	__u32 end;		/* first octet after the name where it was read */
	__u32 score;		/* CS_MATCH_SCORE of the best pattern, 0 if none */
	struct cs_pattern_ref match;
};

/* Where a walk over a name's labels stands. It lives in scratch, not on the
 * stack, so the verifier sees unknown values and checks each bpf_loop
 * callback in a round or two instead of once per possible count. */
struct cs_name_cursor {
	__u32 pos;		/* next length octet or pointer */
	__u32 run_start;	/* start of the run of labels being read */
	__u32 end;		/* first octet after the name where it was read */
	__u32 labels;
	__u32 wire_len;
	__u32 pointers;
	__u32 out;		/* cs_name_text: octets written */
	__u32 slot;		/* cs_name_text: which text slot */
	int err;
};

struct cs_fold {
	__u64 suffix;
	__u32 labels;
	__u32 match_rules;
};

/* The answer walk of one response (learn.bpf.c), in scratch for the same
 * reason as the cursor. */
struct cs_walk_state {
	__u32 pos;
	__u32 nchain;
	__u32 naddrs;
	__u32 best_score;
	struct cs_pattern_ref best;
	__u32 ancount;
	__u32 cap;		/* records walked at most */
	__u32 truncated_ok;	/* TC=1: a record cut by the end is not an error */
	__u32 err;
	__u32 learned;
	__u32 refreshed;
	__u32 failed;		/* addresses a full table kept out */
	__u32 qname_text;	/* s->text[CS_TEXT_QNAME] is made */
};

/* Direct-mapped per-CPU cache of recent outcomes (struct cs_repeat_slot);
 * written and read by learn only (the tests look at it). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CS_REPEAT_SLOTS);
	__type(key, __u32);
	__type(value, struct cs_repeat_slot);
} cs_repeats SEC(".maps");

enum cs_text_slot { CS_TEXT_QNAME = 0, CS_TEXT_OWNER = 1, CS_TEXT_SLOTS = 2 };

struct cs_scratch {
	__u8 msg[CS_MSG_MAX + 16];	/* slack: a masked offset may copy 16 octets */
	__u64 label_hash[CS_LABELS_MAX + 1];
	struct cs_chain_name chain[CS_CHAIN_MAX];
	struct cs_addr_rec addrs[CS_ADDRS_MAX];
	struct cs_name text[CS_TEXT_SLOTS];
	struct cs_name_result name;
	struct cs_name_cursor cur;
	struct cs_fold fold;
	struct cs_walk_state walk;
	struct cs_config cfg;	/* copied once per response */
	__u64 digest;		/* of the message, for cs_repeats */
	struct cs_query_key query_key;	/* the query this answer must answer ... */
	__u64 query_qname;	/* ... and its question's name id */
	struct cs_never_key never_key;	/* an address about to get a route */
	struct cs_record_key rec_key;	/* the record being made or refreshed */
	__u32 query_pending;	/* 1: the answer was matched to a query, which
				 * it consumes once its question agrees */
	__u32 msg_len;
};

/* Per-packet working memory, one slot per CPU, of learn (XDP) and query
 * (TC egress). They never interleave on one CPU: both run with bottom
 * halves off, and neither runs inside the other. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct cs_scratch);
} cs_scratch SEC(".maps");

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
