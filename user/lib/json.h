/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* json.h - the little JSON output the CLI writes: one object per line. */
#ifndef CS_JSON_H
#define CS_JSON_H

#include <stdio.h>

/* s as a JSON string: quotes, backslashes and octets outside printable
 * ASCII escaped (DNS labels may hold any octet). */
void cs_json_string(FILE *f, const char *s);

#endif
