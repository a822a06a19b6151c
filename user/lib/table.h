/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * table.h - text for people: aligned tables, and the durations in their
 * cells. (lib/json.h is the same for programs.)
 */
#ifndef CS_TABLE_H
#define CS_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

#include "cloudsteer.h"

#define CS_CELL_MAX (CS_NAME_TEXT_MAX + 64)
#define CS_COLS_MAX 16

struct cs_column {
	const char *head;
	bool right;		/* numbers: right-aligned */
};

/* Fill the cells of row i. */
typedef void (*cs_row_fn)(void *ctx, size_t i, char cell[][CS_CELL_MAX]);

/* A header line and nrows rows, each column as wide as its widest cell.
 * Rows are filled twice (measure, print) so nothing is held per row.
 * Control characters are printed as '?': names come off the wire. */
void cs_table_print(FILE *f, const struct cs_column *cols, size_t ncols, size_t nrows, cs_row_fn fill,
		    void *ctx);

/* cs_table_print with the columns whose bit (1u << column) is set in hide
 * left out: for a column only some states have (the stage of a chain of
 * several), so that the others print as they did. fill fills every
 * column, as for cs_table_print. */
void cs_table_print_hiding(FILE *f, const struct cs_column *cols, size_t ncols, unsigned hide, size_t nrows,
			   cs_row_fn fill, void *ctx);

/* "45s", "3m05s", "2h03m", "4d02h"; a leading "-" when negative. */
const char *cs_fmt_duration(__s64 secs, char *buf, size_t len);
/* The time until expiry, or "expired" once it passed (the daemon has not
 * swept the record yet). */
const char *cs_fmt_ttl_left(__u64 now_ns, __u64 expires_ns, char *buf, size_t len);

#endif
