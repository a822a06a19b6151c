/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * fuzzset.h - what both fuzzers of the learn program feed it: one rule set
 * (as YAML for the loader and as the reference reads it), the answers the
 * campaign builds, and the answers of a real capture.
 */
#ifndef CS_TEST_FUZZSET_H
#define CS_TEST_FUZZSET_H

#include <stddef.h>

#include "pkt.h"
#include "refdns.h"

/* Every kind of pattern, several TTL clamps, grace and priority; names of
 * the shared capture's zones. Pattern and rule ids are their positions + 1. */
extern const char FUZZSET_CONF[];
extern const struct refdns_rules fuzzset_rules;

/* The same rules, learning only from pkt.h's default sources, into small
 * tables (24 records, 16 routes) from up to 64 records an answer: every
 * table and the pool can run full. */
extern const char FUZZSET_CONF_TIGHT[];
extern const struct refdns_rules fuzzset_rules_tight;

/* Real-looking answers that teach under FUZZSET_CONF: a CNAME chain, mixed
 * case and compressed targets, a TC=1 answer over max_records, a chain over
 * CS_CHAIN_MAX with an IPv4-mapped AAAA, a tie between exact matches. */
#define FUZZSET_N_BASES 5
void fuzzset_base(size_t i, struct dnsmsg *m);

/* $CS_SHARED_CORPUS/knot_auth.pcap, or ../shared/dns-corpus/knot_auth.pcap
 * (beside the checkout, as CI lays it out). */
const char *fuzzset_capture(void);

/* The DNS messages of a capture's frames that carry one (refdns_locate):
 * a malloc'd array in *out; returns how many, or -1 with the reason in err. */
int fuzzset_capture_answers(const char *path, struct dnsmsg **out, char *err, size_t errlen);

#endif
