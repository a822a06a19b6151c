// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "json.h"

void cs_json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* The comma before every value of a level but its first, then the key. */
static void start_value(struct cs_json *j, const char *key)
{
	if (j->more[j->depth])
		fputc(',', j->f);
	j->more[j->depth] = true;
	if (key) {
		cs_json_string(j->f, key);
		fputc(':', j->f);
	}
}

static void open_level(struct cs_json *j, const char *key, char opener, char closer)
{
	start_value(j, key);
	if (j->depth + 1 >= CS_JSON_DEPTH_MAX) {
		fputs("null", j->f);
		j->too_deep++;
		return;
	}
	fputc(opener, j->f);
	j->depth++;
	j->closer[j->depth] = closer;
	j->more[j->depth] = false;
}

void cs_json_begin(struct cs_json *j, FILE *f)
{
	j->f = f;
	j->depth = 0;
	j->closer[0] = '}';
	j->more[0] = false;
	j->too_deep = 0;
	fputc('{', f);
}

void cs_json_close(struct cs_json *j)
{
	if (j->too_deep) {
		j->too_deep--;
		return;
	}
	if (j->depth < 0)
		return;
	fputc(j->closer[j->depth], j->f);
	j->depth--;
}

void cs_json_end(struct cs_json *j)
{
	while (j->depth >= 0)
		cs_json_close(j);
	fputc('\n', j->f);
}

void cs_json_object(struct cs_json *j, const char *key)
{
	open_level(j, key, '{', '}');
}

void cs_json_array(struct cs_json *j, const char *key)
{
	open_level(j, key, '[', ']');
}

void cs_json_str(struct cs_json *j, const char *key, const char *v)
{
	start_value(j, key);
	cs_json_string(j->f, v);
}

void cs_json_u64(struct cs_json *j, const char *key, __u64 v)
{
	start_value(j, key);
	fprintf(j->f, "%llu", (unsigned long long)v);
}

void cs_json_s64(struct cs_json *j, const char *key, __s64 v)
{
	start_value(j, key);
	fprintf(j->f, "%lld", (long long)v);
}

void cs_json_bool(struct cs_json *j, const char *key, bool v)
{
	start_value(j, key);
	fputs(v ? "true" : "false", j->f);
}

void cs_json_null(struct cs_json *j, const char *key)
{
	start_value(j, key);
	fputs("null", j->f);
}
