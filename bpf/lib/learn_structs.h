/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * learn_structs.h - the learn object's own structures, which userspace never
 * sees (what it does see is in headers/cloudsteer.h): the per-CPU scratch
 * that one DNS message is copied into and walked in (cs_scratch, the value of
 * the map of the same name), and the walk's state inside it.
 */
#ifndef CS_BPF_LEARN_STRUCTS_H
#define CS_BPF_LEARN_STRUCTS_H

#include "common.h"

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
	__u32 capped;		/* the walk stopped at cap with records left */
};

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
	__u64 now_ns;		/* CLOCK_BOOTTIME of the answer, 0 until read */
	struct cs_query_key query_key;	/* the query this answer must answer ... */
	__u64 query_qname;	/* ... and its question's name id */
	struct cs_never_key never_key;	/* an address about to get a route */
	struct cs_record_key rec_key;	/* the record being made or refreshed */
	__u32 query_pending;	/* 1: the answer was matched to a query, which
				 * it consumes once its question agrees */
	__u32 msg_len;
};

#endif /* CS_BPF_LEARN_STRUCTS_H */
