// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>

#include <bpf/bpf.h>

#include "flowlife.h"

struct cs_lifetimes cs_lifetimes_of(const struct cs_conf *conf, __u32 other_ms)
{
	return (struct cs_lifetimes){ .tcp = conf->flow_timeouts, .other_ms = other_ms };
}

__u64 cs_lifetime_ms(const struct cs_lifetimes *l, __u8 state)
{
	switch (state) {
	case CS_ST_SYN_SENT:
	case CS_ST_SYN_RECV:
		return l->tcp.syn_ms;
	case CS_ST_ESTABLISHED:
		return l->tcp.established_ms;
	case CS_ST_CLOSING:
		return l->tcp.fin_ms;
	case CS_ST_CLOSED:
		return l->tcp.linger_ms;
	default:		/* ACTIVE, and NONE, which no stream keeps */
		return l->other_ms;
	}
}

bool cs_stream_alive(const struct cs_lifetimes *l, __u8 state, __u64 last_ns, __u64 now_ns)
{
	return now_ns <= last_ns || now_ns - last_ns <= cs_lifetime_ms(l, state) * 1000000ULL;
}

/* Put back an entry that turned out alive: see cs_take_if_over. */
static void put_back(int fd, int spill_fd, const void *key, const void *value)
{
	if (!bpf_map_update_elem(fd, key, value, BPF_NOEXIST)) {
		if (spill_fd >= 0)
			bpf_map_delete_elem(spill_fd, key);	/* a copy made meanwhile: ours wins */
		return;
	}
	if (errno == EEXIST)
		bpf_map_update_elem(fd, key, value, BPF_ANY);
	else if (errno == E2BIG && spill_fd >= 0)
		bpf_map_update_elem(spill_fd, key, value, BPF_ANY);
}

enum cs_take cs_take_if_over(int fd, int spill_fd, const void *key, void *value,
			     bool (*alive)(const void *value, void *ctx), void *ctx)
{
	if (bpf_map_lookup_and_delete_elem(fd, key, value))
		return CS_TAKE_GONE;
	if (!alive(value, ctx))
		return CS_TAKE_REMOVED;
	put_back(fd, spill_fd, key, value);
	return CS_TAKE_KEPT;
}
