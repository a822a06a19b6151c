/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fragskb.h - run a TC program on a frame whose headers lie past the skb's
 * linear part, as a real driver may leave them. BPF_PROG_TEST_RUN builds a
 * linear skb only, so the frame goes through a tap device instead: opened
 * with IFF_NAPI_FRAGS, the kernel builds the skb as a driver that receives
 * into pages does, with the first iovec in the linear part and the rest in
 * fragments. The tap lives in a network namespace of a child process, and
 * goes with it.
 */
#ifndef CS_TESTS_FRAGSKB_H
#define CS_TESTS_FRAGSKB_H

#include <stddef.h>

/* Give frame (len octets, Ethernet first), with only its first `linear`
 * octets in the linear part, to prog_fd on the TC ingress of a tap. 0, or
 * -1 with why (the kernel lacks something: a test skips). */
int fragskb_ingress(int prog_fd, const void *frame, size_t len, size_t linear, char *why, size_t whylen);

#endif
