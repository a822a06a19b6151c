/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * clirows.h - reading what the CLI printed (clifx.h runs it, into R):
 * a line by what it holds or by number, a row of a table word by word,
 * and the checks on them. Header-only, like clifx.h, which it needs.
 */
#ifndef CS_TEST_CLIROWS_H
#define CS_TEST_CLIROWS_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "clifx.h"

/* The first line holding both a and b (b may be NULL). */
static const char *line_with(const char *s, const char *a, const char *b)
{
	static char buf[4096];
	const char *end;

	while (*s) {
		end = strchr(s, '\n');
		snprintf(buf, sizeof(buf), "%.*s", (int)(end ? end - s : (long)strlen(s)), s);
		if (strstr(buf, a) && (!b || strstr(buf, b)))
			return buf;
		if (!end)
			break;
		s = end + 1;
	}
	return NULL;
}

/* The n-th line (from 0), or NULL. */
static const char *nth_line(const char *s, size_t n)
{
	static char buf[4096];
	const char *end;

	while (n-- && (s = strchr(s, '\n')))
		s++;
	if (!s || !*s)
		return NULL;
	end = strchr(s, '\n');
	snprintf(buf, sizeof(buf), "%.*s", (int)(end ? end - s : (long)strlen(s)), s);
	return buf;
}

/* Is line made of exactly these whitespace-separated words? */
static bool words_are(const char *line, const char *want)
{
	char a[4096], b[4096], *p, *q, *sa, *sb;

	if (!line)
		return false;
	snprintf(a, sizeof(a), "%s", line);
	snprintf(b, sizeof(b), "%s", want);
	p = strtok_r(a, " ", &sa);
	q = strtok_r(b, " ", &sb);
	while (p && q && !strcmp(p, q)) {
		p = strtok_r(NULL, " ", &sa);
		q = strtok_r(NULL, " ", &sb);
	}
	return !p && !q;
}

#define EXPECT_HAS(s, what) EXPECT((s) && strstr((s), (what)), "no %s in: %s", (what), (s) ? (s) : "(none)")
#define EXPECT_EXIT(want) EXPECT(R.status == (want), "exit status %d, want %d", R.status, (want))
#define EXPECT_ROW(out, first, want) \
	EXPECT(words_are(line_with((out), (first), NULL), (want)), "want row \"%s\" in:\n%s", (want), (out))

#endif
