/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * json.h - the JSON the CLI writes, through one writer: one object per line
 * (JSON Lines), its members written in the order given, objects and arrays
 * nested in it. Nothing is held back: each call writes at once.
 *
 * A value's key is NULL for an element of an array.
 */
#ifndef CS_JSON_H
#define CS_JSON_H

#include <stdbool.h>
#include <stdio.h>
#include <linux/types.h>

/* How deep objects and arrays nest, the line's object included. The CLI's
 * go three deep; a deeper one is written as null. */
#define CS_JSON_DEPTH_MAX 8

struct cs_json {
	FILE *f;
	int depth;			/* the innermost open level; -1: none */
	char closer[CS_JSON_DEPTH_MAX];	/* '}' or ']' of each open level */
	bool more[CS_JSON_DEPTH_MAX];	/* it has a value: the next takes a comma */
	int too_deep;			/* levels written as null: their close is none */
};

/* "{": the object of one line. */
void cs_json_begin(struct cs_json *j, FILE *f);
/* Close whatever is still open, then the line's object and the line: "}\n". */
void cs_json_end(struct cs_json *j);

/* "key":{ and "key":[, then their members; cs_json_close() ends the innermost. */
void cs_json_object(struct cs_json *j, const char *key);
void cs_json_array(struct cs_json *j, const char *key);
void cs_json_close(struct cs_json *j);

void cs_json_str(struct cs_json *j, const char *key, const char *v);
void cs_json_u64(struct cs_json *j, const char *key, __u64 v);
void cs_json_s64(struct cs_json *j, const char *key, __s64 v);
void cs_json_bool(struct cs_json *j, const char *key, bool v);
void cs_json_null(struct cs_json *j, const char *key);

/* s as a JSON string: quotes, backslashes and octets outside printable
 * ASCII escaped (DNS labels may hold any octet). */
void cs_json_string(FILE *f, const char *s);

#endif
