// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "table.h"

const char *cs_fmt_duration(__s64 secs, char *buf, size_t len)
{
	const char *sign = secs < 0 ? "-" : "";
	long long s = secs < 0 ? -(long long)secs : (long long)secs;

	if (s < 60)
		snprintf(buf, len, "%s%llds", sign, s);
	else if (s < 3600)
		snprintf(buf, len, "%s%lldm%02llds", sign, s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%s%lldh%02lldm", sign, s / 3600, s % 3600 / 60);
	else
		snprintf(buf, len, "%s%lldd%02lldh", sign, s / 86400, s % 86400 / 3600);
	return buf;
}

const char *cs_fmt_ttl_left(__u64 now_ns, __u64 expires_ns, char *buf, size_t len)
{
	__s64 left = cs_secs_between(now_ns, expires_ns);

	if (left < 0)
		snprintf(buf, len, "expired");
	else
		cs_fmt_duration(left, buf, len);
	return buf;
}

/* ---- tables ---- */

/* A name straight off the wire may hold escape sequences: never send them
 * to a terminal. */
static void put_cell(FILE *f, const char *s, size_t width, bool right, bool last)
{
	size_t len = strlen(s), pad = width > len ? width - len : 0;

	if (right)
		fprintf(f, "%*s", (int)pad, "");
	for (; *s; s++)
		fputc((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s, f);
	if (!right && !last)
		fprintf(f, "%*s", (int)pad, "");
}

static void put_row(FILE *f, const struct cs_column *cols, size_t ncols, const size_t *width,
		    const char *const *text)
{
	size_t c;

	for (c = 0; c < ncols; c++) {
		if (c)
			fputs("  ", f);
		put_cell(f, text[c], width[c], cols[c].right, c + 1 == ncols);
	}
	fputc('\n', f);
}

void cs_table_print(FILE *f, const struct cs_column *cols, size_t ncols, size_t nrows, cs_row_fn fill,
		    void *ctx)
{
	char (*cell)[CS_CELL_MAX] = calloc(CS_COLS_MAX, CS_CELL_MAX);
	const char *text[CS_COLS_MAX] = { 0 };
	size_t width[CS_COLS_MAX] = { 0 }, r, c;

	if (!cell || ncols > CS_COLS_MAX) {
		free(cell);
		return;
	}
	for (c = 0; c < ncols; c++) {
		width[c] = strlen(cols[c].head);
		text[c] = cols[c].head;
	}
	for (r = 0; r < nrows; r++) {
		fill(ctx, r, cell);
		for (c = 0; c < ncols; c++)
			if (strlen(cell[c]) > width[c])
				width[c] = strlen(cell[c]);
	}
	put_row(f, cols, ncols, width, text);
	for (c = 0; c < ncols; c++)
		text[c] = cell[c];
	for (r = 0; r < nrows; r++) {
		memset(cell, 0, CS_COLS_MAX * CS_CELL_MAX);
		fill(ctx, r, cell);
		put_row(f, cols, ncols, width, text);
	}
	free(cell);
}

/* The columns kept, and the row as fill writes it, every column. */
struct hiding {
	cs_row_fn fill;
	void *ctx;
	size_t keep[CS_COLS_MAX];	/* column of the table -> column of fill */
	size_t nkeep;
	char (*all)[CS_CELL_MAX];
};

static void fill_kept(void *ctx, size_t i, char cell[][CS_CELL_MAX])
{
	struct hiding *h = ctx;
	size_t c;

	memset(h->all, 0, CS_COLS_MAX * CS_CELL_MAX);
	h->fill(h->ctx, i, h->all);
	for (c = 0; c < h->nkeep; c++)
		memcpy(cell[c], h->all[h->keep[c]], CS_CELL_MAX);
}

void cs_table_print_hiding(FILE *f, const struct cs_column *cols, size_t ncols, unsigned hide, size_t nrows,
			   cs_row_fn fill, void *ctx)
{
	struct hiding h = { .fill = fill, .ctx = ctx, .all = calloc(CS_COLS_MAX, CS_CELL_MAX) };
	struct cs_column kept[CS_COLS_MAX];
	size_t c;

	if (!h.all || ncols > CS_COLS_MAX) {
		free(h.all);
		return;
	}
	for (c = 0; c < ncols; c++) {
		if (hide & (1u << c))
			continue;
		kept[h.nkeep] = cols[c];
		h.keep[h.nkeep++] = c;
	}
	cs_table_print(f, kept, h.nkeep, nrows, fill_kept, &h);
	free(h.all);
}
