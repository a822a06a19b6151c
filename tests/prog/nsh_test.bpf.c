// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * nsh_test.bpf.c - bpf/lib/nsh.h under BPF_PROG_TEST_RUN, for
 * tests/prog/nsh_test.c: TC programs that wrap a frame, read and unwrap
 * one, and find the next stage, with what they saw in globals. Not a
 * program cloudsteer attaches: steer and instance call the same helpers.
 */
#include "lib/common.h"
#include "lib/packet.h"
#include "lib/nsh.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the test before a run. */
struct cs_instance inst;	/* nsh_wrap: toward whom */
struct cs_nsh_md md_in;		/* nsh_wrap: what the header says */
__u32 n_stages;			/* nsh_next: the chain's length */

/* Written by a run. */
struct cs_nsh_md md_seen;	/* what the header said (nsh_next: toward the next stage) */
__u32 reason;			/* enum cs_nsh_reason, or NOT_GPE */
__u32 stage;			/* nsh_next: the stage the header named */
bool back;			/* nsh_next: on the path's way back */
__s32 helper_err;		/* wrap or unwrap left the frame as it was */

/* Not VXLAN-GPE at all: not the header's to judge. */
#define NOT_GPE 0xffffffffu

SEC("tc")
int nsh_wrap(struct __sk_buff *skb)
{
	helper_err = cs_nsh_wrap(skb, &inst, &md_in);
	return helper_err ? TC_ACT_SHOT : TC_ACT_OK;
}

/* The outer headers of a frame to UDP CS_GPE_PORT, then the NSH behind
 * them; the cursor is left at the inner packet. */
static __always_inline int read_outer(struct __sk_buff *skb, struct cs_cursor *c, struct cs_packet *p)
{
	cs_cursor_init(c, (void *)(long)skb->data, (void *)(long)skb->data_end);
	if (cs_read_packet(c, p) || p->proto != IPPROTO_UDP || p->dport != CS_GPE_PORT)
		return NOT_GPE;
	return cs_nsh_read(c, &md_seen);
}

SEC("tc")
int nsh_unwrap(struct __sk_buff *skb)
{
	struct cs_packet p = {};
	struct cs_cursor c;

	helper_err = 0;
	reason = read_outer(skb, &c, &p);
	if (reason == NOT_GPE)
		return TC_ACT_OK;
	if (reason)
		return TC_ACT_SHOT;
	if (p.l3_off != sizeof(struct ethhdr)) {
		helper_err = -1;
		return TC_ACT_SHOT;
	}
	helper_err = cs_nsh_unwrap(skb, cs_cursor_off(&c) - p.l3_off, p.v6, md_seen.next_proto);
	return helper_err ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("tc")
int nsh_next(struct __sk_buff *skb)
{
	struct cs_packet p = {};
	struct cs_cursor c;

	reason = read_outer(skb, &c, &p);
	if (reason == NOT_GPE)
		return TC_ACT_OK;
	if (!reason)
		reason = cs_nsh_stage(&md_seen, n_stages, &stage, &back);
	if (!reason)
		reason = cs_nsh_next_hop(&md_seen);
	return reason ? TC_ACT_SHOT : TC_ACT_OK;
}
