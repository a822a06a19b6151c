// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * cli: `cloudsteer show` and `cloudsteer explain` against real pinned state
 * with no daemon running.
 *
 * The state is made the way the daemon makes it: the learn program is
 * loaded, its maps pinned under a fresh directory in /sys/fs/bpf, and DNS
 * answers run through it with BPF_PROG_TEST_RUN. Then the program is
 * closed, so only the pins hold the maps, and build/cloudsteer is run
 * against them. The checks run in a child process; the parent removes the
 * pins whatever happens to the child, and checks that nothing is left.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "learnfx.h"
#include "lib/pins.h"
#include "clifx.h"

T_SUITE("cli");


/* Rule 1 is example.test (pattern 1) and *.cdn.test (pattern 2); rule 2 is
 * =api.other.test (pattern 3), with the higher priority. */
static const char CONF[] =
	"learn:\n"
	"  ttl: {min: 60, max: 86400, grace: 30}\n"
	"rules:\n"
	"  - match: [example.test, \"*.cdn.test\"]\n"
	"    priority: 5\n"
	"    ttl: {min: 300}\n"
	"  - match: [\"=api.other.test\"]\n"
	"    priority: 10\n";

#define ACL_IDS 2	/* the third route waits for an id */
#define ORPHAN_NAME_ID 0x1234ULL	/* a record whose name text is missing */

static struct lfx F;
static struct dnsmsg M;
static char pin_dir[128], partial_dir[160], missing_dir[160];

#define CLI(...) cli_run(pin_dir, (const char *const[]){ __VA_ARGS__, NULL })


/* ---- reading its output ---- */

/* The n-th line (from 0) into buf; false when there are fewer. */
static bool nth_line(const char *s, size_t n, char *buf, size_t len)
{
	const char *end;

	while (n-- && (s = strchr(s, '\n')))
		s++;
	if (!s || !*s)
		return false;
	end = strchr(s, '\n');
	snprintf(buf, len, "%.*s", (int)(end ? end - s : (long)strlen(s)), s);
	return true;
}

/* The first line holding both a and b (b may be NULL). */
static const char *line_with(const char *s, const char *a, const char *b)
{
	static char buf[4096];
	size_t i;

	for (i = 0; nth_line(s, i, buf, sizeof(buf)); i++)
		if (strstr(buf, a) && (!b || strstr(buf, b)))
			return buf;
	return NULL;
}

/* The first line that starts with prefix. */
static const char *line_starting(const char *s, const char *prefix)
{
	static char buf[4096];
	size_t i;

	for (i = 0; nth_line(s, i, buf, sizeof(buf)); i++)
		if (!strncmp(buf, prefix, strlen(prefix)))
			return buf;
	return NULL;
}

static bool has(const char *line, const char *what)
{
	return line && strstr(line, what);
}

/* The number after "key": in a JSON line; LLONG_MIN when absent. */
static long long json_num(const char *line, const char *key)
{
	char pat[64];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = line ? strstr(line, pat) : NULL;
	return p && p[strlen(pat)] != 'n' ? strtoll(p + strlen(pat), NULL, 10) : LLONG_MIN;
}

#define EXPECT_HAS(line, what) EXPECT(has((line), (what)), "no %s in: %s", (what), (line) ? (line) : "(no line)")
#define EXPECT_NUM(line, key, want)                                                     \
	EXPECT(json_num((line), (key)) == (want), "\"%s\" is %lld, want %lld in: %s", (key), \
	       json_num((line), (key)), (long long)(want), (line) ? (line) : "(no line)")
#define EXPECT_EXIT(want) EXPECT(R.status == (want), "exit status %d, want %d", R.status, (want))

/* ---- making the state ---- */

static bool run_answer(void)
{
	return lfx_run_dns(&F, &M, NULL);
}

static void answer_a(const char *qname, __u32 ttl, const char *const *ips, int n)
{
	dns_simple_answer(&M, qname, ips, n, ttl);
}

static void answer_aaaa(const char *qname, __u32 ttl, const char *ip)
{
	dns_header(&M, 0x1234, DNS_FLAGS_RESPONSE, 1, 1, 0, 0);
	dns_question(&M, qname, 28);
	dns_ptr(&M, 12);
	dns_rr_aaaa(&M, ttl, ip);
}

/* login.example.test CNAME edge.cdn.test, edge.cdn.test A ip */
static void answer_cname(const char *ip)
{
	__u32 target;

	dns_header(&M, 0x1234, DNS_FLAGS_RESPONSE, 1, 2, 0, 0);
	dns_question(&M, "login.example.test", 1);
	dns_ptr(&M, 12);
	target = dns_rr_cname(&M, 300, "edge.cdn.test");
	dns_ptr(&M, (__u16)target);
	dns_rr_a(&M, 300, ip);
}

static bool teach(void)
{
	static const char *const www[] = { "192.0.2.7", "192.0.2.8" }, *api4[] = { "192.0.2.8" },
				 *nomatch[] = { "203.0.113.50" };
	bool ok = true;

	answer_a("www.example.test", 600, www, 2);	/* 2 records, ACL ids 1 and 2 */
	ok = ok && run_answer() && EXPECT_REASON(&F, CS_R_LEARNED);
	answer_a("www.example.test", 500, www, 2);	/* refresh: other bytes, so walked */
	ok = ok && run_answer() && EXPECT_REASON(&F, CS_R_REFRESHED);
	answer_aaaa("api.other.test", 30, "2001:db8::10");	/* TTL 30 -> 60; no ACL id left */
	ok = ok && run_answer() && EXPECT_REASON(&F, CS_R_LEARNED);
	answer_a("api.other.test", 120, api4, 1);	/* rule 2 claims 192.0.2.8 */
	ok = ok && run_answer() && EXPECT_REASON(&F, CS_R_LEARNED);
	answer_cname("198.51.100.1");	/* *.cdn.test beats example.test */
	ok = ok && run_answer() && EXPECT_REASON(&F, CS_R_LEARNED);
	answer_a("nomatch.test", 300, nomatch, 1);
	ok = ok && run_answer() && EXPECT_REASON(&F, CS_R_NO_RULE);
	return ok;
}

static __u64 boot_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + (__u64)ts.tv_nsec;
}

/* What the daemon's sweep has not reached yet, and a record whose name text
 * is gone: states the CLI must show plainly. */
static bool tamper(void)
{
	int fd = bpf_map__fd(F.skel->maps.cs_records);
	struct cs_record_key k = lfx_record_key(&F, "edge.cdn.test", "198.51.100.1");
	struct cs_record r;
	__u64 now = boot_ns();

	if (!EXPECT(lfx_record(&F, "edge.cdn.test", "198.51.100.1", &r), "edge.cdn.test was not learned"))
		return false;
	r.expires_ns = now - 10 * 1000000000ULL;
	if (!EXPECT(!bpf_map_update_elem(fd, &k, &r, BPF_EXIST), "cannot expire a record"))
		return false;
	memset(&k, 0, sizeof(k));
	k.name_id = ORPHAN_NAME_ID;
	k.addr = lfx_addr("203.0.113.9");
	r = (struct cs_record){ .expires_ns = now + 100 * 1000000000ULL, .first_ns = now, .last_ns = now,
				.rule_id = 1, .pattern_id = 1, .ttl = 300, .hits = 1 };
	return EXPECT(!bpf_map_update_elem(fd, &k, &r, BPF_NOEXIST), "cannot add a record");
}

/* A directory with one pin only, as a detach cut short would leave. */
static bool pin_partial(void)
{
	char path[PATH_MAX + 16];

	if (!EXPECT(!mkdir(partial_dir, 0700), "mkdir %s: %s", partial_dir, strerror(errno)))
		return false;
	snprintf(path, sizeof(path), "%s/cs_records", partial_dir);
	return EXPECT(!bpf_obj_pin(bpf_map__fd(F.skel->maps.cs_records), path), "pin %s: %s", path,
		      strerror(errno));
}

static bool setup_ok;

static void setup(void)
{
	char err[512];

	if (!lfx_open(&F, CONF, ACL_IDS))
		return;
	if (EXPECT(!cs_pins_pin(F.skel->obj, pin_dir, err, sizeof(err)), "pin: %s", err))
		setup_ok = teach() && tamper() && pin_partial();
	/* From here on only the pins hold the maps: no program, no daemon. */
	lfx_close(&F);
}

/* ---- show table ---- */

static void table_json(void)
{
	/* by name, then IP; "?" (a name whose text is missing) sorts first */
	static const char *const order[] = {
		"{\"name\":\"?\",\"ip\":\"203.0.113.9\"",
		"{\"name\":\"api.other.test\",\"ip\":\"192.0.2.8\"",
		"{\"name\":\"api.other.test\",\"ip\":\"2001:db8::10\"",
		"{\"name\":\"edge.cdn.test\",\"ip\":\"198.51.100.1\"",
		"{\"name\":\"www.example.test\",\"ip\":\"192.0.2.7\"",
		"{\"name\":\"www.example.test\",\"ip\":\"192.0.2.8\"",
	};
	char row[1024];
	const char *l;
	size_t i;

	if (!CLI("show", "table", "--json") || !EXPECT_EXIT(0))
		return;
	EXPECT_EQ(count_lines(R.out), 6);
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		EXPECT(nth_line(R.out, i, row, sizeof(row)) && !strncmp(row, order[i], strlen(order[i])),
		       "row %zu is not %s", i, order[i]);
	l = line_with(R.out, "\"name\":\"www.example.test\"", "\"ip\":\"192.0.2.7\"");
	EXPECT_HAS(l, "\"pattern\":\"example.test\"");
	EXPECT_NUM(l, "rule_id", 1);
	EXPECT_NUM(l, "ttl", 500);	/* the refresh's TTL... */
	EXPECT(json_num(l, "ttl_left") >= 615 && json_num(l, "ttl_left") <= 630,	/* ...the first expiry */
	       "ttl_left %lld, want 600 + 30 grace, less the seconds since", json_num(l, "ttl_left"));
	EXPECT_HAS(l, "\"expired\":false");
	EXPECT_NUM(l, "acl_id", 1);
	EXPECT_NUM(l, "hits", 2);
	EXPECT_HAS(l, "\"origin\":\"here\"");
	EXPECT(json_num(l, "age") >= 0 && json_num(l, "age") < 15, "age %lld", json_num(l, "age"));
	l = line_with(R.out, "\"name\":\"api.other.test\"", "\"ip\":\"2001:db8::10\"");
	EXPECT_NUM(l, "ttl", 60);
	EXPECT_HAS(l, "\"acl_id\":null,\"waiting_acl\":true");
	EXPECT_HAS(l, "\"pattern\":\"=api.other.test\"");
	l = line_with(R.out, "\"name\":\"edge.cdn.test\"", NULL);
	EXPECT_HAS(l, "\"pattern\":\"*.cdn.test\"");
	EXPECT_HAS(l, "\"expired\":true");
	EXPECT(json_num(l, "ttl_left") < 0, "ttl_left %lld of an expired record", json_num(l, "ttl_left"));
	l = line_with(R.out, "\"ip\":\"203.0.113.9\"", NULL);
	EXPECT_HAS(l, "\"acl_id\":null,\"waiting_acl\":false");	/* no route at all */
}

/* Every row starts each column where the header does. */
static bool aligned(const char *out, const char *head, const char *col)
{
	char header[1024], row[1024];
	const char *at;
	size_t i, off;

	if (!nth_line(out, 0, header, sizeof(header)) || !(at = strstr(header, head)))
		return false;
	off = (size_t)(at - header);
	for (i = 1; nth_line(out, i, row, sizeof(row)); i++)
		if (strlen(row) <= off || row[off - 1] != ' ' || !strstr(row + off, col ? col : ""))
			return false;
	return true;
}

static void table_human(void)
{
	const char *l;

	if (!CLI("show", "table") || !EXPECT_EXIT(0))
		return;
	EXPECT_EQ(count_lines(R.out), 7);
	l = line_with(R.out, "NAME", "TTL LEFT");
	EXPECT_HAS(l, "PATTERN");
	EXPECT(aligned(R.out, "IP", NULL) && aligned(R.out, "PATTERN", NULL), "columns not aligned");
	l = line_with(R.out, "www.example.test", "192.0.2.7 ");
	EXPECT_HAS(l, " example.test ");
	EXPECT_HAS(l, " 500 ");
	EXPECT_HAS(line_with(R.out, "edge.cdn.test", NULL), " expired ");
	EXPECT_HAS(line_with(R.out, "2001:db8::10", NULL), " - ");	/* waiting for an ACL id */
	EXPECT_HAS(line_with(R.out, "203.0.113.9", NULL), " none ");	/* no route */
	EXPECT_HAS(line_with(R.out, "NAME", NULL), " FROM");
	EXPECT_HAS(line_with(R.out, "www.example.test", "192.0.2.7 "), " here");	/* learned here */
	EXPECT_EQ(strlen(R.err), 0);
}

/* show cluster reads etcd as the config's cluster: section says; without
 * one there is nothing to read, and it says so. */
static void show_cluster_needs_a_cluster_section(void)
{
	char path[] = "/tmp/cs-cli-test-conf-XXXXXX";
	int fd = mkstemp(path);

	if (!EXPECT(fd >= 0, "mkstemp") || !EXPECT(write(fd, CONF, strlen(CONF)) == (ssize_t)strlen(CONF), "write"))
		goto out;
	if (CLI("show", "cluster", "-c", path) && EXPECT_EXIT(1)) {
		EXPECT_HAS(R.err, "has no cluster: section: this node is on its own");
		EXPECT_EQ(strlen(R.out), 0);
	}
out:
	if (fd >= 0) {
		close(fd);
		unlink(path);
	}
}

/* ---- show routes ---- */

static void routes_json(void)
{
	const char *l;

	if (!CLI("show", "routes", "--json") || !EXPECT_EXIT(0))
		return;
	EXPECT_EQ(count_lines(R.out), 4);
	l = line_with(R.out, "\"ip\":\"192.0.2.8\"", NULL);
	EXPECT_NUM(l, "acl_id", 2);
	EXPECT_NUM(l, "rule_id", 2);	/* the higher priority claimed it */
	EXPECT_HAS(l, "\"patterns\":[\"=api.other.test\"],\"patterns_more\":0");
	EXPECT_NUM(l, "records", 2);
	EXPECT_HAS(l, "\"flows\":null,\"packets\":null,\"bytes\":null");
	l = line_with(R.out, "\"ip\":\"192.0.2.7\"", NULL);
	EXPECT_HAS(l, "\"patterns\":[\"example.test\",\"*.cdn.test\"]");
	EXPECT_NUM(l, "records", 1);
	EXPECT_HAS(line_with(R.out, "\"ip\":\"2001:db8::10\"", NULL), "\"waiting_acl\":true");
	EXPECT(!line_with(R.out, "203.0.113.9", NULL), "a route for a record that has none");
}

static void routes_human(void)
{
	const char *l;

	if (!CLI("show", "routes") || !EXPECT_EXIT(0))
		return;
	EXPECT_EQ(count_lines(R.out), 5);
	EXPECT_HAS(line_with(R.out, "IP", "PATTERNS"), "FLOWS");
	l = line_with(R.out, "192.0.2.7 ", NULL);
	EXPECT_HAS(l, "example.test,*.cdn.test");
	EXPECT_HAS(l, " - ");
	EXPECT_HAS(line_with(R.out, "2001:db8::10", NULL), " waiting ");
	EXPECT(aligned(R.out, "PATTERNS", NULL), "columns not aligned");
}

/* ---- show rules ---- */

static void rules_json(void)
{
	const char *l;

	if (!CLI("show", "rules", "--json") || !EXPECT_EXIT(0))
		return;
	EXPECT_EQ(count_lines(R.out), 3);
	l = line_with(R.out, "\"pattern\":\"example.test\"", NULL);
	EXPECT_HAS(l, "\"kind\":\"subtree\"");
	EXPECT_NUM(l, "rule_id", 1);
	EXPECT_NUM(l, "priority", 5);
	EXPECT_NUM(l, "ttl_min", 300);
	EXPECT_NUM(l, "ttl_max", 86400);
	EXPECT_NUM(l, "ttl_grace", 30);
	EXPECT_NUM(l, "answers", 3);
	EXPECT_NUM(l, "learned", 3);
	EXPECT_NUM(l, "refreshed", 2);
	EXPECT_NUM(l, "records", 4);
	EXPECT_HAS(line_with(R.out, "\"pattern\":\"*.cdn.test\"", NULL), "\"kind\":\"wildcard\"");
	l = line_with(R.out, "\"pattern\":\"=api.other.test\"", NULL);
	EXPECT_HAS(l, "\"kind\":\"exact\"");
	EXPECT_NUM(l, "rule_id", 2);
	EXPECT_NUM(l, "priority", 10);
	EXPECT_NUM(l, "ttl_min", 60);
	EXPECT_NUM(l, "answers", 2);
	EXPECT_NUM(l, "learned", 2);
	EXPECT_NUM(l, "refreshed", 0);
	EXPECT_NUM(l, "records", 2);
}

static void rules_human(void)
{
	if (!CLI("show", "rules") || !EXPECT_EXIT(0))
		return;
	EXPECT_EQ(count_lines(R.out), 4);
	EXPECT_HAS(line_with(R.out, "PATTERN", "KIND"), "REFRESHED");
	EXPECT_HAS(line_with(R.out, "=api.other.test", NULL), " exact ");
	EXPECT_HAS(line_with(R.out, "*.cdn.test", NULL), "300/86400/30");
	EXPECT(aligned(R.out, "KIND", NULL), "columns not aligned");
}

/* ---- show stats ---- */

static const char *reason_line(const char *name)
{
	char want[64];

	snprintf(want, sizeof(want), "{\"reason\":\"%s\",", name);
	return line_with(R.out, want, NULL);
}

static void stats_json(void)
{
	const char *l;
	size_t named = 0;
	__u32 i;

	if (!CLI("show", "stats", "--json") || !EXPECT_EXIT(0))
		return;
	for (i = 0; i < CS_R_MAX; i++)
		if (cs_reason_name(i)) {
			named++;
			EXPECT(reason_line(cs_reason_name(i)), "reason %s missing", cs_reason_name(i));
		}
	EXPECT_EQ(count_lines(R.out), named + 4);
	EXPECT_NUM(reason_line("learned"), "count", 4);
	EXPECT_HAS(reason_line("learned"), "\"kind\":\"packet\"");
	EXPECT_NUM(reason_line("refreshed"), "count", 1);
	EXPECT_NUM(reason_line("no_rule"), "count", 1);
	EXPECT_NUM(reason_line("not_ip"), "count", 0);
	EXPECT_NUM(reason_line("rec_learned"), "count", 5);
	EXPECT_HAS(reason_line("rec_learned"), "\"kind\":\"record\"");
	EXPECT_NUM(reason_line("rec_refreshed"), "count", 2);
	EXPECT_NUM(reason_line("acl_empty"), "count", 2);
	l = line_with(R.out, "\"table\":\"records\"", NULL);
	EXPECT_NUM(l, "entries", 6);
	EXPECT_NUM(l, "max_entries", CS_RECORDS_ENTRIES);
	EXPECT_NUM(line_with(R.out, "\"table\":\"routes\"", NULL), "entries", 4);
	EXPECT_NUM(line_with(R.out, "\"table\":\"names\"", NULL), "entries", 3);
	l = line_with(R.out, "\"table\":\"acl_pool\"", NULL);
	EXPECT_HAS(l, "\"entries\":null");
	EXPECT_NUM(l, "max_entries", CS_ACL_POOL_ENTRIES);
}

static void stats_human(void)
{
	if (!CLI("show", "stats") || !EXPECT_EXIT(0))
		return;
	EXPECT(line_with(R.out, "PACKET REASON", "MEANING"), "no packet header");
	EXPECT(line_with(R.out, "RECORD REASON", "MEANING"), "no record header");
	EXPECT_HAS(line_with(R.out, "learned ", "taught at least one"), " 4 ");
	EXPECT_HAS(line_with(R.out, "acl_empty", NULL), " 2 ");
	EXPECT_HAS(line_with(R.out, "records ", "1048576"), " 6 ");
	EXPECT(line_with(R.out, "acl_pool holds up to 65536", NULL), "no acl_pool line");
	EXPECT(strstr(R.out, "not_ip") < strstr(R.out, "rec_learned"), "packet reasons first");
}

/* ---- explain ---- */

static void explain_claimed_ip(void)
{
	if (!CLI("explain", "192.0.2.8") || !EXPECT_EXIT(0))
		return;
	EXPECT(line_with(R.out, "192.0.2.8: steered", NULL), "not said steered");
	EXPECT(line_with(R.out, "acl id", " 2"), "no ACL id 2");
	EXPECT(line_with(R.out, "rule ", "2: =api.other.test (priority 10)"), "no rule line");
	EXPECT(line_with(R.out, "chain", "observe only (the rule has no chain)"), "no chain line");
	EXPECT(line_with(R.out, "records", "2"), "no record count");
	EXPECT_HAS(line_with(R.out, "api.other.test ", NULL), "=api.other.test");
	EXPECT_HAS(line_with(R.out, "www.example.test ", NULL), " example.test ");
	EXPECT(line_with(R.out, "2 rules claim 192.0.2.8; the route follows rule 2", NULL),
	       "the two claims are not explained");
}

static void explain_json(void)
{
	const char *l;

	if (!CLI("explain", "--json", "192.0.2.8") || !EXPECT_EXIT(0))
		return;
	EXPECT_EQ(count_lines(R.out), 1);
	l = R.out;
	EXPECT_HAS(l, "{\"ip\":\"192.0.2.8\",\"steered\":true,\"acl_id\":2,\"waiting_acl\":false,\"rule_id\":2");
	EXPECT_HAS(l, "\"patterns\":[\"=api.other.test\"]");
	EXPECT_HAS(l, "\"priority\":10,\"chain_id\":0,\"observe_only\":true");
	EXPECT_HAS(l, "\"records\":[{\"name\":\"api.other.test\",\"pattern\":\"=api.other.test\","
		      "\"rule_id\":2,\"priority\":10,\"ttl\":120");
	EXPECT_HAS(l, "{\"name\":\"www.example.test\",\"pattern\":\"example.test\",\"rule_id\":1,"
		      "\"priority\":5,\"ttl\":500");
	EXPECT_HAS(l, "\"hits\":2");
	EXPECT_HAS(l, "\"last_hit\":");
}

static void explain_ipv6_waiting(void)
{
	/* any spelling of the address */
	if (!CLI("explain", "2001:DB8:0::10") || !EXPECT_EXIT(0))
		return;
	EXPECT(line_with(R.out, "2001:db8::10: steered", NULL), "not said steered");
	EXPECT(line_with(R.out, "acl id", "waiting"), "not said waiting");
	EXPECT_HAS(line_starting(R.out, "api.other.test "), " 60 ");
}

static void explain_expired(void)
{
	if (!CLI("explain", "198.51.100.1") || !EXPECT_EXIT(0))
		return;
	EXPECT_HAS(line_with(R.out, "edge.cdn.test", NULL), " expired ");
	EXPECT(line_with(R.out, "rule ", "1: example.test,*.cdn.test (priority 5)"), "no rule line");
}

static void explain_not_steered(void)
{
	if (!CLI("explain", "10.9.9.9") || !EXPECT_EXIT(0))
		return;
	EXPECT_EQ(count_lines(R.out), 1);
	EXPECT(line_with(R.out, "10.9.9.9: not steered: no DNS answer for a configured name has named this IP",
			 NULL), "no plain reason");
	if (!CLI("explain", "10.9.9.9", "--json") || !EXPECT_EXIT(0))
		return;
	EXPECT_HAS(R.out, "{\"ip\":\"10.9.9.9\",\"steered\":false,\"reason\":\"no DNS answer");
	EXPECT_HAS(R.out, "\"records\":[]}");
}

static void explain_records_without_route(void)
{
	if (!CLI("explain", "203.0.113.9") || !EXPECT_EXIT(0))
		return;
	EXPECT(line_with(R.out, "203.0.113.9: not steered: records name this IP, but it has no route", NULL),
	       "no reason");
	EXPECT(line_with(R.out, "? ", " example.test "), "the record is not listed");
}

/* ---- errors and help ---- */

static void explain_bad_ip(void)
{
	if (!CLI("explain", "192.0.2.300") || !EXPECT_EXIT(2))
		return;
	EXPECT_HAS(R.err, "\"192.0.2.300\" is not an IPv4 or IPv6 address");
	EXPECT_EQ(strlen(R.out), 0);
	if (CLI("explain") && EXPECT_EXIT(2))
		EXPECT_HAS(R.err, "usage: cloudsteer explain IP");
	if (CLI("explain", "192.0.2.8", "192.0.2.7") && EXPECT_EXIT(2))
		EXPECT_HAS(R.err, "unexpected argument");
	/* a stream: tcp|udp SRC SPORT DST DPORT */
	if (CLI("explain", "sctp", "10.0.0.1", "1", "192.0.2.8", "2") && EXPECT_EXIT(2))
		EXPECT_HAS(R.err, "a stream is tcp|udp SRC SPORT DST DPORT, not \"sctp\"");
	if (CLI("explain", "tcp", "10.0.0.1", "65536", "192.0.2.8", "2") && EXPECT_EXIT(2))
		EXPECT_HAS(R.err, "a port is a number from 0 to 65535, not \"65536\"");
	if (CLI("explain", "tcp", "10.0.0.1", "1", "2001:db8::8", "2") && EXPECT_EXIT(2))
		EXPECT_HAS(R.err, "are not two addresses of one family");
}

/* A stream with no steer state: its route is explained, the stream is not
 * placed (no chain here). */
static void explain_stream(void)
{
	if (CLI("explain", "udp", "192.0.2.8", "53", "10.0.0.1", "40000") && EXPECT_EXIT(0))
		EXPECT_HAS(R.out, "192.0.2.8: steered");
	if (CLI("explain", "tcp", "10.0.0.1", "40000", "10.9.9.9", "443") && EXPECT_EXIT(0))
		EXPECT_HAS(R.out, "10.9.9.9: not steered");
}

static void show_usage_errors(void)
{
	if (CLI("show") && EXPECT_EXIT(2))
		EXPECT_HAS(R.err, "usage: cloudsteer show");
	if (CLI("show", "bogus") && EXPECT_EXIT(2)) {
		EXPECT_HAS(R.err, "unknown subcommand \"bogus\"");
		EXPECT_HAS(R.err, "usage: cloudsteer show");
		EXPECT_EQ(strlen(R.out), 0);
	}
	if (CLI("show", "table", "--bogus") && EXPECT_EXIT(2))
		EXPECT_HAS(R.err, "usage: cloudsteer show");
	if (CLI("explain", "--bogus", "192.0.2.8") && EXPECT_EXIT(2))
		EXPECT_HAS(R.err, "usage: cloudsteer explain");
}

static void help(void)
{
	if (CLI("show", "--help") && EXPECT_EXIT(0))
		EXPECT_HAS(R.out,
			   "usage: cloudsteer show table|routes|rules|stats|chains|instances|map|streams|sync|cluster "
			   "[--json] [-c FILE] [--pin-dir DIR]\n");
	if (CLI("show", "stats", "--help") && EXPECT_EXIT(0))
		EXPECT_HAS(R.out, "usage: cloudsteer show");
	if (CLI("explain", "--help") && EXPECT_EXIT(0))
		EXPECT_HAS(R.out, "usage: cloudsteer explain IP|STREAM [--json] [-c FILE] [--pin-dir DIR]");
	if (CLI("--help") && EXPECT_EXIT(0)) {
		EXPECT_HAS(R.out, "  show ");
		EXPECT_HAS(R.out, "  explain ");
	}
}

#define NO_STATE "no cloudsteer state in %s (is the daemon running, or was it detached?)"

static void missing_state(void)
{
	static const char *const cmds[][4] = {
		{ "show", "table" }, { "show", "routes", "--json" }, { "show", "rules" }, { "show", "stats" },
		{ "explain", "192.0.2.8" },
	};
	char want[PATH_MAX + 128];
	size_t i;

	snprintf(want, sizeof(want), NO_STATE, missing_dir);
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (cli_run(missing_dir, cmds[i]) && EXPECT_EXIT(1)) {
			EXPECT_HAS(R.err, want);
			EXPECT_EQ(strlen(R.out), 0);
		}
}

static void partial_state(void)
{
	char want[PATH_MAX + 128];

	snprintf(want, sizeof(want), NO_STATE "; cs_routes is not pinned there", partial_dir);
	if (cli_run(partial_dir, (const char *const[]){ "show", "table", NULL }) && EXPECT_EXIT(1))
		EXPECT_HAS(R.err, want);
}

/* --pin-dir wins over the environment; the default needs neither. */
static void pin_dir_option(void)
{
	if (cli_run(missing_dir, (const char *const[]){ "show", "routes", "--pin-dir", pin_dir, NULL }) &&
	    EXPECT_EXIT(0))
		EXPECT_EQ(count_lines(R.out), 5);
	if (cli_run(missing_dir, (const char *const[]){ "explain", "--pin-dir", pin_dir, "192.0.2.7", NULL }) &&
	    EXPECT_EXIT(0))
		EXPECT(line_with(R.out, "192.0.2.7: steered", NULL), "not read from --pin-dir");
}

/* ---- the two processes ---- */

static int run_checks(void)
{
	RUN(setup);
	if (!setup_ok)
		T_EXIT();
	RUN(table_json);
	RUN(table_human);
	RUN(routes_json);
	RUN(routes_human);
	RUN(rules_json);
	RUN(rules_human);
	RUN(stats_json);
	RUN(stats_human);
	RUN(explain_claimed_ip);
	RUN(explain_json);
	RUN(explain_ipv6_waiting);
	RUN(explain_expired);
	RUN(explain_not_steered);
	RUN(explain_records_without_route);
	RUN(explain_bad_ip);
	RUN(explain_stream);
	RUN(show_usage_errors);
	RUN(help);
	RUN(show_cluster_needs_a_cluster_section);
	RUN(missing_state);
	RUN(partial_state);
	RUN(pin_dir_option);
	T_EXIT();
}

int main(void)
{
	int status;

	if (!clifx_setup(&status))
		return status;
	snprintf(pin_dir, sizeof(pin_dir), "/sys/fs/bpf/cs-cli-test-%d", (int)getpid());
	snprintf(partial_dir, sizeof(partial_dir), "%s-partial", pin_dir);
	snprintf(missing_dir, sizeof(missing_dir), "%s-none", pin_dir);
	return clifx_run_and_clean(run_checks, (const char *const[]){ pin_dir, partial_dir, NULL },
				   (const char *const[]){ missing_dir, NULL });
}
