// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cloudsteer show map - the bucket tables that steer and the stages read:
 * for people, how many buckets of each table each instance is primary and
 * secondary of; with --json every bucket. A chain of several stages (mode
 * nsh) has a table per stage: its first stage's in cs_service_map, which
 * steer pins streams by, and each later stage's in cs_stage_map, the one
 * the stage before sends on by. cmd_show.c parses the command line and
 * reads the view.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/types.h>

#include "cloudsteer.h"
#include "commands.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/table.h"
#include "lib/view.h"

/* One row of the summary: an instance of one stage's table of a chain. */
struct map_row {
	__u32 chain, stage, instance;
	__u32 primary, secondary;	/* buckets */
};

struct map_summary {
	const struct cs_view *v;
	struct map_row *rows;
	size_t n, cap;
};

static void map_fill(void *ctx, size_t r, char cell[][CS_CELL_MAX])
{
	const struct map_summary *m = ctx;
	const struct map_row *row = &m->rows[r];

	snprintf(cell[0], CS_CELL_MAX, "%u", row->chain);
	cs_stage_text(m->v, row->chain, row->stage, cell[1], CS_CELL_MAX);
	if (row->instance)
		snprintf(cell[2], CS_CELL_MAX, "%u", row->instance);
	else
		snprintf(cell[2], CS_CELL_MAX, "none");
	snprintf(cell[3], CS_CELL_MAX, "%u", row->primary);
	snprintf(cell[4], CS_CELL_MAX, "%u", row->secondary);
}

/* One line of `show map --json`: a bucket. */
static void bucket_json(const struct cs_view *v, __u32 chain_id, __u32 stage, __u32 bucket,
			const struct cs_bucket *bk)
{
	struct cs_json j;

	cs_json_begin(&j, stdout);
	cs_json_u64(&j, "chain", chain_id);
	cs_view_stage_json(&j, v, chain_id, stage);
	cs_json_u64(&j, "bucket", bucket);
	cs_json_u64(&j, "primary", bk->primary);
	cs_json_u64(&j, "secondary", bk->secondary);
	cs_json_end(&j);
}

/* Room for the rows of one more table: at most one per instance id. */
static bool room_for_a_table(struct map_summary *m)
{
	struct map_row *rows;

	if (m->cap - m->n >= CS_INSTANCES_MAX)
		return true;
	rows = realloc(m->rows, (m->cap + CS_INSTANCES_MAX) * sizeof(*rows));
	if (!rows)
		return false;
	m->rows = rows;
	m->cap += CS_INSTANCES_MAX;
	return true;
}

/* The rows of one stage's table of chain c: how many buckets each
 * instance is primary and secondary of, "none" (0) last. */
static void summarize_table(struct map_summary *m, __u32 c, __u32 stage)
{
	__u32 prim[CS_INSTANCES_MAX] = { 0 }, sec[CS_INSTANCES_MAX] = { 0 }, len, b, i;
	const struct cs_bucket *t = cs_view_table(m->v, c, stage, &len);

	for (b = 0; t && b < len; b++) {
		prim[t[b].primary % CS_INSTANCES_MAX]++;
		sec[t[b].secondary % CS_INSTANCES_MAX]++;
	}
	for (i = 1; i <= CS_INSTANCES_MAX; i++) {
		__u32 id = i % CS_INSTANCES_MAX;	/* "none" (0) last */

		if (!prim[id] && !sec[id])
			continue;
		m->rows[m->n++] = (struct map_row){ c, stage, id, prim[id], sec[id] };
	}
}

static void every_bucket_json(const struct cs_view *v)
{
	const struct cs_bucket *t;
	__u32 c, k, b, len;

	for (c = 1; c < CS_CHAINS_MAX; c++)
		for (k = 0; k < cs_view_stages(v, c); k++)
			for (t = cs_view_table(v, c, k, &len), b = 0; t && b < len; b++)
				bucket_json(v, c, k, b, &t[b]);
}

int cmd_show_map(const struct cs_view *v, bool json)
{
	static const struct cs_column cols[] = {
		{ "CHAIN", true }, { "STAGE", false }, { "INSTANCE", true }, { "PRIMARY", true },
		{ "SECONDARY", true },
	};
	struct map_summary m = { .v = v };
	__u32 c, k;

	if (json) {
		every_bucket_json(v);
		return 0;
	}
	for (c = 1; c < CS_CHAINS_MAX; c++) {
		for (k = 0; k < cs_view_stages(v, c); k++) {
			if (!room_for_a_table(&m)) {
				free(m.rows);
				cs_err("out of memory");
				return 1;
			}
			summarize_table(&m, c, k);
		}
	}
	/* STAGE only where a chain has several */
	cs_table_print_hiding(stdout, cols, sizeof(cols) / sizeof(cols[0]), cs_view_any_stages(v) ? 0 : 1u << 1,
			      m.n, map_fill, &m);
	free(m.rows);
	return 0;
}
