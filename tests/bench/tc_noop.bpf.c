// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tc_noop - the baseline of the TC cases of `make bench` (steer, instance):
 * a TC (sched_cls) program that returns TC_ACT_OK. BPF_PROG_TEST_RUN of a TC
 * program builds an skb, which an XDP test run does not, so the TC cases are
 * divided by this, not by the XDP noop.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tc")
int tc_noop(struct __sk_buff *skb)
{
	return 0;	/* TC_ACT_OK */
}
