// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <arpa/inet.h>
#include <string.h>

#include "addr.h"

static const __u8 v4_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

int cs_addr_parse(const char *text, struct cs_addr *out)
{
	struct in_addr v4;

	if (inet_pton(AF_INET, text, &v4) == 1) {
		memcpy(out->b, v4_prefix, sizeof(v4_prefix));
		memcpy(&out->b[12], &v4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, text, out->b) == 1 ? 0 : -1;
}

bool cs_addr_is_v4(const struct cs_addr *a)
{
	return !memcmp(a->b, v4_prefix, sizeof(v4_prefix));
}

const char *cs_addr_format(const struct cs_addr *a, char *buf, size_t len)
{
	if (cs_addr_is_v4(a))
		inet_ntop(AF_INET, &a->b[12], buf, len);
	else
		inet_ntop(AF_INET6, a->b, buf, len);
	return buf;
}
