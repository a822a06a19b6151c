// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * agreedmap.c - the leader's decision and the table every node builds from
 * an agreed map (agreedmap.h). The values' JSON is in clustervalues.c,
 * beside the other keys'.
 */
#include <errno.h>
#include <string.h>

#include "agreedmap.h"
#include "servicemap.h"

static const struct {
	__u32 state;
	const char *name;
} state_names[] = {
	{ CS_INST_UP, "up" }, { CS_INST_WARMING, "warming" }, { CS_INST_DOWN, "down" }, { CS_INST_DRAINING, "drained" },
};

const char *cs_agreed_state_name(__u32 state)
{
	size_t i;

	for (i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (state_names[i].state == state)
			return state_names[i].name;
	return "?";
}

int cs_agreed_state_parse(const char *s, __u32 *state)
{
	size_t i;

	for (i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (!strcmp(state_names[i].name, s)) {
			*state = state_names[i].state;
			return 0;
		}
	return -EINVAL;
}

/* Down by its observers (a strict majority of those that live), or by its
 * own lease: a member whose own key went. */
static bool judged_down(const struct cs_agreed_view *view, bool member)
{
	return (view->observers && view->down * 2 > view->observers) || (member && !view->self_seen);
}

bool cs_agreed_decide(const struct cs_agreed_instance *prev, const struct cs_agreed_view *view, __s64 now_ms,
		      __u32 warmup_ms, struct cs_agreed_instance *next)
{
	__u32 was = prev ? prev->state : CS_INST_UP, state;
	bool member = (prev && prev->member) || view->self_seen;

	if (view->drain)
		state = CS_INST_DRAINING;
	else if (judged_down(view, member))
		state = CS_INST_DOWN;
	else if (was == CS_INST_DOWN)
		state = warmup_ms ? CS_INST_WARMING : CS_INST_UP;	/* its peers sync it first */
	else if (was == CS_INST_WARMING && prev->since_ms + (__s64)warmup_ms <= now_ms)
		state = CS_INST_UP;
	else if (was == CS_INST_DRAINING)
		state = CS_INST_UP;	/* the intent went: `drain --undo` makes it up at once, as on one node */
	else
		state = was;
	if (prev)
		*next = *prev;
	else
		memset(next, 0, sizeof(*next));
	next->member = member;
	if (prev && state == was && member == prev->member)
		return false;
	if (!prev || state != was)
		next->since_ms = now_ms;
	next->state = state;
	return true;
}

bool cs_map_same_states(const struct cs_map_value *a, const struct cs_map_value *b)
{
	size_t i;

	if (a->n != b->n || a->n_buckets != b->n_buckets)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->inst[i].name, b->inst[i].name) || a->inst[i].state != b->inst[i].state)
			return false;
	return true;
}

int cs_map_build(const struct cs_map_value *v, struct cs_bucket *out)
{
	const char *names[CS_AGREED_INSTANCES_MAX];
	bool eligible[CS_AGREED_INSTANCES_MAX], warming[CS_AGREED_INSTANCES_MAX];
	size_t i;

	for (i = 0; i < v->n; i++) {
		names[i] = v->inst[i].name;
		eligible[i] = v->inst[i].state == CS_INST_UP || v->inst[i].state == CS_INST_WARMING;
		warming[i] = v->inst[i].state == CS_INST_WARMING;
	}
	if (cs_servicemap_build(names, eligible, v->n, v->n_buckets, out))
		return -EINVAL;
	cs_servicemap_defer_warming(out, v->n_buckets, warming);
	return 0;
}

/* FNV-1a: a digest to compare tables, not a defence against anyone. */
static __u64 fnv(__u64 h, const void *p, size_t n)
{
	const unsigned char *c = p;

	while (n--)
		h = (h ^ *c++) * 1099511628211ULL;
	return h;
}

__u64 cs_table_digest(const struct cs_bucket *b, __u32 n_buckets, const char *const *names)
{
	__u64 h = fnv(1469598103934665603ULL, &n_buckets, sizeof(n_buckets));
	__u32 i;

	for (i = 0; i < n_buckets; i++) {
		const char *p = b[i].primary ? names[b[i].primary - 1] : "";
		const char *s = b[i].secondary ? names[b[i].secondary - 1] : "";

		/* each name with its NUL, so "ab","c" differs from "a","bc" */
		h = fnv(h, p, strlen(p) + 1);
		h = fnv(h, s, strlen(s) + 1);
	}
	return h;
}
