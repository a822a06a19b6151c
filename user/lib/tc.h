/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * tc.h - our programs on TC ingress or egress, politely, like libbpf-bootstrap's tc
 * example: the clsact hook is made only where it is missing (and remembered
 * in /run, so detach removes only hooks we made), each program has its own
 * filter handle and priority, and a restart replaces the filter atomically
 * (BPF_TC_F_REPLACE) or keeps it when the code is the same.
 */
#ifndef CS_TC_H
#define CS_TC_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct cs_tc_filter {
	const char *what;		/* the program's name, for logs: "steer" */
	__u32 handle, prio;
	bool egress;			/* else ingress */
};

/* Attach prog_fd to ifname's ingress (egress) as filter f. 0, or -1 with err. */
int cs_tc_attach(const char *pin_dir, const char *ifname, int prog_fd, const struct cs_tc_filter *f, char *err,
		 size_t errlen);
/* Remove filter f from ifname's ingress (egress), where it is. Logs it. */
void cs_tc_detach(const char *ifname, const struct cs_tc_filter *f);
/* Remove the clsact hooks cs_tc_attach made for this pin directory. */
void cs_tc_remove_hooks(const char *pin_dir);

#endif
