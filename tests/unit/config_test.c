// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The config loader and the rule compiler: what is accepted, and that every
 * refusal names the file, the line and the reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "testing.h"
#include "lib/addr.h"
#include "lib/confdigest.h"
#include "lib/config.h"
#include "lib/rules.h"

T_SUITE("config");

static char dir[] = "/tmp/cs-config-test.XXXXXX";

static const char *write_file(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
	return path;
}

/* Load text as a config; returns 0 or -1 with the message in err. */
static int load(const char *text, struct cs_conf *c, char *err, size_t len)
{
	return cs_config_load(write_file("c.yaml", text), c, err, len);
}

static const char design_example[] =
	"learn:\n"
	"  interfaces: [eth0]\n"
	"  resolvers: [192.0.2.53, 2001:db8::53]\n"
	"  ttl: {min: 60, max: 86400, grace: 30}\n"
	"steer:\n"
	"  interfaces: [lan0]\n"
	"rules:\n"
	"  - match: [salesforce.com, \"*.force.com\", \"=login.example.com\"]\n"
	"    file: saas.txt\n"
	"    chain: casb\n"
	"    priority: 10\n"
	"    ttl: {min: 300}\n"
	"  - match: observe.example\n"
	"chains:\n"
	"  - name: casb\n"
	"    mode: route\n"
	"    instances:\n"
	"      - {name: casb-a, address: 10.30.0.2}\n"
	"      - {name: casb-b, address: 10.30.0.3}\n"
	"    health: {probe: tcp, port: 3128, interval: 100ms, timeout: 50ms, fall: 3, rise: 2}\n";

static void accepts_the_design_example(void)
{
	struct cs_conf c;
	char err[512] = "";

	write_file("saas.txt", "# SaaS list\nbox.com\n\n  *.slack.com  # chat\n");
	if (!EXPECT(load(design_example, &c, err, sizeof(err)) == 0, "%s", err))
		return;
	EXPECT_EQ(c.n_rules, 2);
	EXPECT_EQ(c.n_patterns, 6);
	EXPECT(!strcmp(c.patterns[1].text, "*.force.com"), "%s", c.patterns[1].text);
	EXPECT_EQ(c.patterns[1].kind, CS_MATCH_WILD);
	EXPECT(!strcmp(c.patterns[2].name, "login.example.com"), "%s", c.patterns[2].name);
	EXPECT_EQ(c.patterns[2].kind, CS_MATCH_EXACT);
	EXPECT(strstr(c.patterns[4].file, "saas.txt") && c.patterns[4].line == 4, "%s:%d",
	       c.patterns[4].file, c.patterns[4].line);
	EXPECT_EQ(c.rules[0].ttl.min, 300);	/* the rule's own */
	EXPECT_EQ(c.rules[0].ttl.max, 86400);	/* the learn default */
	EXPECT_EQ(c.rules[0].ttl.grace, 30);
	EXPECT_EQ(c.rules[0].priority, 10);
	EXPECT(c.rules[1].chain == NULL, "observe-only rule");
	EXPECT_EQ(c.n_resolvers, 2);
	EXPECT_EQ(c.chains[0].health.interval_ms, 100);
	EXPECT_EQ(c.chains[0].health.timeout_ms, 50);
	EXPECT_EQ(c.max_records, CS_RECORDS_DEFAULT);
	cs_config_free(&c);
}

static void defaults(void)
{
	struct cs_conf c;
	char err[512] = "";

	if (!EXPECT(load("rules:\n  - match: [a.example]\n", &c, err, sizeof(err)) == 0, "%s", err))
		return;
	EXPECT_EQ(c.rules[0].ttl.min, CS_TTL_MIN_DEFAULT);
	EXPECT_EQ(c.rules[0].ttl.max, CS_TTL_MAX_DEFAULT);
	EXPECT_EQ(c.rules[0].ttl.grace, CS_TTL_GRACE_DEFAULT);
	cs_config_free(&c);
}

/* Query matching on, a 10 s window, private ranges never steered, 65536
 * records a rule; each can be set, and never_steer: [] empties the list. */
static void trust_settings(void)
{
	struct cs_conf c;
	char err[512] = "", text[CS_PREFIX_TEXT_MAX];

	if (!EXPECT(load("rules:\n  - match: [a.example]\n", &c, err, sizeof(err)) == 0, "%s", err))
		return;
	EXPECT(c.match_queries, "query matching is on by default");
	EXPECT_EQ(c.query_window_ms, CS_QUERY_WINDOW_DEFAULT_MS);
	EXPECT_EQ(c.quota, CS_QUOTA_DEFAULT);
	EXPECT_EQ(c.rules[0].quota, 0);
	if (EXPECT_EQ(c.n_never, 5)) {
		EXPECT(!strcmp(cs_prefix_format(&c.never[0], text, sizeof(text)), "10.0.0.0/8"), "%s", text);
		EXPECT(!strcmp(cs_prefix_format(&c.never[4], text, sizeof(text)), "fc00::/7"), "%s", text);
	}
	cs_config_free(&c);
	if (!EXPECT(load("learn:\n  match_queries: false\n  query_window: 3s\n  quota: 100\n"
			 "  never_steer: [198.18.0.0/15, \"2001:db8::/32\", 203.0.113.9]\n"
			 "rules:\n  - match: [a.example]\n    quota: 5\n", &c, err, sizeof(err)) == 0, "%s", err))
		return;
	EXPECT(!c.match_queries, "match_queries: false");
	EXPECT_EQ(c.query_window_ms, 3000);
	EXPECT_EQ(c.quota, 100);
	EXPECT_EQ(c.rules[0].quota, 5);
	if (EXPECT_EQ(c.n_never, 3)) {
		EXPECT(!strcmp(cs_prefix_format(&c.never[0], text, sizeof(text)), "198.18.0.0/15"), "%s", text);
		EXPECT(!strcmp(cs_prefix_format(&c.never[1], text, sizeof(text)), "2001:db8::/32"), "%s", text);
		EXPECT(!strcmp(cs_prefix_format(&c.never[2], text, sizeof(text)), "203.0.113.9/32"), "%s", text);
	}
	cs_config_free(&c);
	if (!EXPECT(load("learn:\n  never_steer: []\nrules:\n  - match: [a.example]\n", &c, err, sizeof(err)) == 0,
		    "%s", err))
		return;
	EXPECT_EQ(c.n_never, 0);
	cs_config_free(&c);
}

/* The learn defaults apply to rules written before the learn section too. */
static void defaults_apply_in_any_order(void)
{
	struct cs_conf c;
	char err[512] = "";

	if (!EXPECT(load("rules:\n  - match: [a.example]\nlearn:\n  ttl: {min: 5}\n", &c, err,
			 sizeof(err)) == 0, "%s", err))
		return;
	EXPECT_EQ(c.rules[0].ttl.min, 5);
	cs_config_free(&c);
}

static const struct {
	const char *yaml;
	int line;
	const char *why;
} bad[] = {
	{ "rules:\n  - match: [a..example]\n", 2, "empty label" },
	{ "rules:\n  - match: [\"a.*.example\"]\n", 2, "'*' may only" },
	{ "rules:\n  - match: [\"exa mple.com\"]\n", 2, "character" },
	{ "rules:\n  - match: [\"=\"]\n", 2, "names no domain" },
	{ "rules:\n  - match: [aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.com]\n", 2,
	  "longer than 63" },
	{ "rules:\n  - chain: casb\n", 2, "no patterns" },
	{ "rules:\n  - match: [a.example]\n    chian: casb\n", 3, "unknown key \"chian\"" },
	{ "rules:\n  - match: [a.example]\n    chain: nope\n", 2, "not defined" },
	{ "rules:\n  - match: [a.example]\n    priority: high\n", 3, "whole number" },
	{ "rules:\n  - match: [a.example]\n    file: missing.txt\n", 3, "cannot read rule list" },
	{ "learn:\n  ttl: {min: 100, max: 10}\n", 2, "greater than ttl.max" },
	{ "learn:\n  ttl: {min: -1}\n", 2, "duration" },
	{ "learn:\n  ttl: {grace: 1.5}\n", 2, "duration" },
	{ "learn:\n  ttl: {min: 1500ms}\n", 2, "whole seconds" },
	{ "learn:\n  max_records: 1000\n", 2, "from 1 to 512" },
	{ "learn:\n  resolvers: [dns.google]\n", 2, "not an IPv4 or IPv6" },
	{ "learn:\n  interfaces: [averyveryverylongname0]\n", 2, "longer than 15" },
	{ "learn:\n  intrefaces: [eth0]\n", 2, "unknown key \"intrefaces\"" },
	/* trust */
	{ "learn:\n  never_steer: [10.0.0.1/8]\n", 2, "\"10.0.0.1/8\": the address has bits set past the prefix" },
	{ "learn:\n  never_steer: [10.0.0.0/33]\n", 2, "the length of an IPv4 prefix is 0 to 32" },
	{ "learn:\n  never_steer: [\"fc00::/129\"]\n", 2, "the length of an IPv6 prefix is 0 to 128" },
	{ "learn:\n  never_steer: [intranet]\n", 2, "not an IPv4 or IPv6 address" },
	{ "learn:\n  match_queries: yes\n", 2, "learn.match_queries must be true or false" },
	{ "learn:\n  query_window: 0\n", 2, "learn.query_window must be more than zero" },
	{ "learn:\n  query_window: 8825400613783079d\n", 2,
	  "learn.query_window must be a duration such as 30, 250ms, 5s, 2m, 1h30m, 2d" },
	{ "learn:\n  query_window: 2h\n", 2, "learn.query_window is too long: at most 1h (got \"2h\")" },
	{ "learn:\n  quota: 0\n", 2, "learn.quota must be a whole number from 1" },
	{ "rules:\n  - match: [a.example]\n    quota: lots\n", 3, "rule quota must be a whole number" },
	{ "lern:\n  interfaces: [eth0]\n", 1, "unknown top-level key" },
	{ "rules: [\n", 2, "YAML syntax" },
	{ "rules:\n  - match: [a.example]\nrules:\n  - match: [b.example]\n", 3, "given twice" },
	{ "chains:\n  - name: c\n    mode: tunnel\n    instances: [{name: a, address: 10.0.0.1}]\n", 3,
	  "route, encap or nsh" },
	{ "chains:\n  - name: c\n    instances: [{name: a, address: nowhere}]\n", 3, "not an IPv4" },
	{ "chains:\n  - name: c\n    instances: []\n", 2, "no instances" },
	{ "chains:\n  - name: c\n    instances: [{name: a, address: 10.0.0.1}]\n"
	  "  - name: c\n    instances: [{name: b, address: 10.0.0.2}]\n", 4, "defined twice" },
	{ "chains:\n  - name: c\n    instances: [{name: a, address: 10.0.0.1}]\n"
	  "    health: {probe: http}\n", 4, "tcp, icmp or udp" },
	{ "chains:\n  - name: c\n    instances: [{name: a, address: 10.0.0.1}]\n"
	  "    health: {interval: 0}\n", 4, "more than zero" },
	{ "chains:\n  - name: c\n    instances: [{name: a, address: 10.0.0.1}]\n"
	  "    health: {probe: tcp}\n", 2, "needs a port" },
	{ "chains:\n  - name: c\n    instances: [{name: a, address: 10.0.0.1}]\n"
	  "  - name: d\n    instances: [{name: a, address: 10.0.0.2}]\n", 5, "defined twice" },
	{ "chains:\n  - name: c\n    symmetric: yes\n    instances: [{name: a, address: 10.0.0.1}]\n", 3,
	  "true or false" },
	{ "chains:\n  - name: c\n    instances: [{name: a, address: 10.0.0.1}]\n    affinity: ports\n", 4,
	  "chain affinity must be flow or hosts, not \"ports\"" },
	{ "chains:\n  - name: c\n    affinity: Hosts\n    instances: [{name: a, address: 10.0.0.1}]\n", 3,
	  "chain affinity must be flow or hosts, not \"Hosts\"" },
	{ "chains:\n  - name: c\n    affinity: [hosts]\n    instances: [{name: a, address: 10.0.0.1}]\n", 3,
	  "chain affinity must be a single value" },
	{ "chains:\n  - name: c\n    affinty: hosts\n    instances: [{name: a, address: 10.0.0.1}]\n", 3,
	  "unknown key \"affinty\" in a chain (known: name, id, vni, mode, on_failure, symmetric, affinity, "
	  "instances, stages, health)" },
	{ "chains:\n  - name: c\n    mode: encap\n    instances:\n      - {name: a, address: 10.0.0.1, mac: 02:c5:00:00:01}\n",
	  5, "six hex octets" },
	{ "chains:\n  - name: c\n    mode: encap\n    instances:\n      - {name: a, address: 10.0.0.1, mac: 03:c5:00:00:00:01}\n",
	  5, "multicast" },
	{ "chains:\n  - name: c\n    instances:\n      - {name: a, address: 10.0.0.1, vni: 7}\n", 4,
	  "known: name, id, address, mac" },
	/* stages */
	{ "chains:\n  - name: c\n    mode: nsh\n    instances: [{name: a, address: 10.0.0.1}]\n"
	  "    stages:\n      - {name: s, instances: [{name: b, address: 10.0.0.2}]}\n", 5, "instances: or stages:, not both" },
	{ "chains:\n  - name: c\n    mode: nsh\n    stages:\n      - {name: s, instances: [{name: b, address: 10.0.0.2}]}\n"
	  "    instances: [{name: a, address: 10.0.0.1}]\n", 6, "instances: or stages:, not both" },
	{ "chains:\n  - name: c\n    mode: nsh\n    stages: []\n", 2, "chain \"c\" has no stages" },
	{ "chains:\n  - name: c\n    mode: nsh\n    stages:\n      - {name: s, instances: []}\n", 5,
	  "stage \"s\" has no instances" },
	{ "chains:\n  - name: c\n    mode: nsh\n    stages:\n      - {instances: [{name: a, address: 10.0.0.1}]}\n", 5,
	  "a stage needs a name" },
	{ "chains:\n  - name: c\n    mode: nsh\n    stages:\n      - {name: s, instances: [{name: a, address: 10.0.0.1}]}\n"
	  "      - {name: s, instances: [{name: b, address: 10.0.0.2}]}\n", 6,
	  "stage \"s\" is defined twice in the chain (first on line 5)" },
	{ "chains:\n  - name: c\n    mode: nsh\n    stages:\n      - {name: s, instances: [{name: a, address: 10.0.0.1}]}\n"
	  "      - {name: t, instances: [{name: a, address: 10.0.0.2}]}\n", 6, "instance \"a\" is defined twice" },
	{ "chains:\n  - name: c\n    mode: encap\n    stages:\n      - {name: s, instances: [{name: a, address: 10.0.0.1}]}\n"
	  "      - {name: t, instances: [{name: b, address: 10.0.0.2}]}\n", 2, "has 2 stages: its packets must carry the "
	  "chain header (mode: nsh)" },
	{ "chains:\n  - name: c\n    mode: nsh\n    stages:\n      - {name: s, instances: [{name: a, address: 10.0.0.1}],"
	  " health: {probe: udp}}\n", 5, "stage \"s\": a udp health probe needs a port" },
	{ "chains:\n  - name: c\n    mode: nsh\n    stages:\n      - {name: s, instances: [{name: a, address: 10.0.0.1}],"
	  " vni: 3}\n", 5, "unknown key \"vni\" in a stage (known: name, instances, health)" },
	{ "chains:\n  - name: c\n    mode: nsh\n    stages:\n"
	  "      - {name: s0, instances: [{name: a0, address: 10.0.0.1}]}\n"
	  "      - {name: s1, instances: [{name: a1, address: 10.0.0.2}]}\n"
	  "      - {name: s2, instances: [{name: a2, address: 10.0.0.3}]}\n"
	  "      - {name: s3, instances: [{name: a3, address: 10.0.0.4}]}\n"
	  "      - {name: s4, instances: [{name: a4, address: 10.0.0.5}]}\n"
	  "      - {name: s5, instances: [{name: a5, address: 10.0.0.6}]}\n"
	  "      - {name: s6, instances: [{name: a6, address: 10.0.0.7}]}\n"
	  "      - {name: s7, instances: [{name: a7, address: 10.0.0.8}]}\n"
	  "      - {name: s8, instances: [{name: a8, address: 10.0.0.9}]}\n"
	  "      - {name: s9, instances: [{name: a9, address: 10.0.0.10}]}\n"
	  "      - {name: sa, instances: [{name: aa, address: 10.0.0.11}]}\n"
	  "      - {name: sb, instances: [{name: ab, address: 10.0.0.12}]}\n"
	  "      - {name: sc, instances: [{name: ac, address: 10.0.0.13}]}\n"
	  "      - {name: sd, instances: [{name: ad, address: 10.0.0.14}]}\n"
	  "      - {name: se, instances: [{name: ae, address: 10.0.0.15}]}\n"
	  "      - {name: sf, instances: [{name: af, address: 10.0.0.16}]}\n"
	  "      - {name: sg, instances: [{name: ag, address: 10.0.0.17}]}\n", 21, "more than 16 stages in a chain" },
	/* health.warmup */
	{ "chains:\n  - name: c\n    instances: [{name: a, address: 10.0.0.1}]\n"
	  "    health: {warmup: soon}\n", 4, "health.warmup must be a duration" },
	{ "chains:\n  - name: c\n    instances: [{name: a, address: 10.0.0.1}]\n"
	  "    health: {warmup: 2h}\n", 4, "health.warmup is too long: at most 1h" },
	{ "chains:\n  - name: c\n    instances: [{name: a, address: 10.0.0.1}]\n"
	  "    health: {warmpu: 1s}\n", 4, "unknown key \"warmpu\" in health" },
	/* mesh */
	{ "mesh:\n  affinity_key: 0123456789abcdef\n", 2, "mesh.affinity_key must be 32 hex digits (128 bits), not 16" },
	{ "mesh:\n  affinity_key: 0123456789abcdef0123456789abcdef0\n", 2, "not 33 characters" },
	{ "mesh:\n  affinity_key: 0123456789abcdeg0123456789abcdef\n", 2, "\"g\" is not one" },
	{ "mesh:\n  affinity_key: \"0123456789abcdef 123456789abcdef\"\n", 2, "\" \" is not one" },
	{ "mesh:\n  affinity_key: [1, 2]\n", 2, "mesh.affinity_key must be a single value" },
	{ "mesh:\n  sync_port: 0\n", 2, "mesh.sync_port must be a whole number from 1 to 65535" },
	{ "mesh:\n  sync_port: 65536\n", 2, "from 1 to 65535" },
	{ "mesh:\n  sync_key: 0123456789abcdef\n", 2, "mesh.sync_key must be 32 hex digits (128 bits), not 16" },
	{ "mesh:\n  sync_key: 0123456789abcdef0123456789abcdeX\n", 2,
	  "mesh.sync_key must be 32 hex digits; \"X\" is not one" },
	{ "mesh:\n  sync_key: {a: 1}\n", 2, "mesh.sync_key must be a single value" },
	{ "mesh:\n  affinity_key: 00112233445566778899aabbccddeeff\n  sync_key: \"00000000000000000000000000000000\"\n",
	  3, "mesh.sync_key must not be all zeros" },
	{ "mesh:\n  port: 4788\n", 2,
	  "unknown key \"port\" in mesh (known: affinity_key, affinity_key_file, sync_key, sync_key_file, sync_port)" },
	{ "mesh: 4788\n", 1, "mesh must be a mapping" },
	/* steer.flow_timeouts and the table limits */
	{ "steer:\n  flow_timeouts: {syn: 0}\n", 2, "steer.flow_timeouts.syn must be more than zero" },
	{ "steer:\n  flow_timeouts:\n    established: 31d\n", 3,
	  "steer.flow_timeouts.established is too long: at most 30d (got \"31d\")" },
	{ "steer:\n  flow_timeouts:\n    fin: 2m\n    linger: soon\n", 4,
	  "steer.flow_timeouts.linger must be a duration such as 30" },
	{ "steer:\n  flow_timeouts: {syn: 1m, idle: 2m}\n", 2,
	  "unknown key \"idle\" in steer.flow_timeouts (known: syn, established, fin, linger)" },
	{ "steer:\n  flow_timeouts: 5d\n", 2, "steer.flow_timeouts must be a mapping" },
	{ "steer:\n  flow_timeouts: {established: 99999999999999999999d}\n", 2,
	  "steer.flow_timeouts.established must be a duration" },
	{ "steer:\n  flow_idle: 2h\n", 2, "steer.flow_idle is too long: at most 1h" },
	{ "steer:\n  limits: {flows: 8}\n", 2, "steer.limits.flows must be a whole number from 16 to 4194304" },
	{ "steer:\n  limits: {flows_new: 4194305}\n", 2, "steer.limits.flows_new must be a whole number" },
	{ "steer:\n  limits: {routes: 16}\n", 2, "unknown key \"routes\" in steer.limits (known: flows, flows_new)" },
	{ "steer:\n  idle: 2s\n", 2, "unknown key \"idle\" in steer (known: interfaces, xdp, flow_idle, flow_timeouts, limits)" },
	{ "instance:\n  limits: {streams: 15}\n", 2, "instance.limits.streams must be a whole number from 16" },
	{ "instance:\n  limits: {flows: 16}\n", 2,
	  "unknown key \"flows\" in instance.limits (known: streams, streams_new)" },
	/* instance */
	{ "instance:\n  policy: lax\n", 2, "instance.policy must be strict or loose, not \"lax\"" },
	{ "instance:\n  mark: dscp\n", 2, "instance.mark must be code or none, not \"dscp\"" },
	{ "instance:\n  sync: yes\n", 2, "instance.sync must be true or false" },
	{ "instance:\n  stream_idle: 0\n", 2, "instance.stream_idle must be more than zero" },
	{ "instance:\n  interfaces: [averyveryverylongname0]\n", 2, "longer than 15" },
	{ "instance:\n  mode: route\n", 2, "unknown key \"mode\" in instance" },
	{ "chains:\n  - name: c\n    instances: [{name: a, address: 10.0.0.1}]\n"
	  "instance:\n  name: z\n", 4, "instance.name \"z\" is not an instance of any chain" },
	{ "rules:\n  - match: [a.example]\n\ninstance:\n  interfaces: [eth1]\n  name: a\n", 4,
	  "instance.name \"a\" is not an instance" },
	{ "metrics: 9477\n", 1, "must be ADDRESS:PORT" },
	{ "metrics: 127.0.0.1:0\n", 1, "from 1 to 65535" },
	{ "metrics: 127.0.0.1:http\n", 1, "from 1 to 65535" },
	{ "metrics: localhost:9477\n", 1, "not an IPv4 or IPv6" },
	{ "metrics: ::1:9477\n", 1, "in brackets" },
	{ "metrics: \"[::1:9477\"\n", 1, "in brackets" },
	{ "instance:\n  metrics: 10.0.0.1\n", 2, "instance.metrics" },
	/* cluster */
	{ "cluster:\n  endpoints: [http://127.0.0.1:2379]\n", 1, "cluster needs a name" },
	{ "cluster:\n  name: c1\n", 1, "cluster.endpoints must list at least one etcd URL" },
	{ "cluster:\n  name: c1\n  endpoints: []\n", 1, "at least one" },
	{ "cluster:\n  name: c/1\n", 2, "cluster.name \"c/1\" may hold only letters, digits" },
	{ "cluster:\n  name: \"..\"\n", 2, "may not be \".\" or \"..\"" },
	{ "cluster:\n  name: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 2,
	  "cluster.name \"aaaa" },
	{ "cluster:\n  name: c1\n  node: \"gw 1\"\n", 3, "cluster.node \"gw 1\" may hold only" },
	{ "cluster:\n  name: c1\n  endpoints: [127.0.0.1:2379]\n", 3,
	  "cluster.endpoints: \"127.0.0.1:2379\" must start with http:// or https://" },
	{ "cluster:\n  name: c1\n  endpoints: [\"http://\"]\n", 3, "names no host" },
	{ "cluster:\n  name: c1\n  endpoints: [\"http://127.0.0.1:0\"]\n", 3, "port that is not a number from 1 to 65535" },
	{ "cluster:\n  name: c1\n  endpoints: [\"http://127.0.0.1:x\"]\n", 3, "port that is not a number" },
	{ "cluster:\n  name: c1\n  endpoints: [\"http://127.0.0.1:2379/v3\"]\n", 3, "no user, path or query" },
	{ "cluster:\n  name: c1\n  endpoints: [\"http://u@127.0.0.1:2379\"]\n", 3, "no user, path or query" },
	{ "cluster:\n  name: c1\n  endpoints: [\"https://[::1:2379\"]\n", 3, "closing ']'" },
	{ "cluster:\n  name: c1\n  endpoints: {a: 1}\n", 3, "cluster.endpoints must be a list" },
	{ "cluster:\n  name: c1\n  endpoints: [http://a:2379]\n  lease_ttl: 1s\n", 4,
	  "cluster.lease_ttl must be whole seconds, at least 2s" },
	{ "cluster:\n  name: c1\n  endpoints: [http://a:2379]\n  lease_ttl: 2500ms\n", 4, "whole seconds" },
	{ "cluster:\n  name: c1\n  endpoints: [http://a:2379]\n  lease_ttl: 2h\n", 4,
	  "cluster.lease_ttl is too long: at most 1h" },
	{ "cluster:\n  name: c1\n  endpoints: [http://a:2379]\n  dial_timeout: 0\n", 4,
	  "cluster.dial_timeout must be more than zero" },
	{ "cluster:\n  name: c1\n  endpoints: [http://a:2379]\n  request_timeout: soon\n", 4,
	  "cluster.request_timeout must be a duration" },
	{ "cluster:\n  name: c1\n  endpoints: [http://a:2379]\n  dial_timeout: 3s\n  request_timeout: 1s\n", 1,
	  "cluster.dial_timeout (3000ms) is longer than cluster.request_timeout (1000ms)" },
	{ "cluster:\n  name: c1\n  endpoints: [http://a:2379]\n  leader: yes\n", 4,
	  "unknown key \"leader\" in cluster (known: name, node, endpoints, tls, credentials, lease_ttl, "
	  "dial_timeout, request_timeout)" },
	{ "cluster:\n  name: c1\n  endpoints: [https://a:2379]\n  tls: {ca: /nonexistent/ca.pem}\n", 4,
	  "cluster.tls.ca /nonexistent/ca.pem cannot be read: No such file" },
	{ "cluster:\n  name: c1\n  endpoints: [https://a:2379]\n  tls: {crl: x}\n", 4,
	  "unknown key \"crl\" in cluster.tls (known: ca, cert, key)" },
	{ "cluster:\n  name: c1\n  endpoints: [https://a:2379]\n  tls: /etc\n", 4,
	  "cluster.tls must be a mapping" },
	{ "cluster:\n  name: c1\n  endpoints: [https://a:2379]\n  credentials: /nonexistent/pw\n", 4,
	  "cluster.credentials /nonexistent/pw cannot be read" },
	{ "cluster:\n  name: c1\n  endpoints: [https://a:2379]\n  credentials: /tmp\n", 4,
	  "cluster.credentials /tmp is not a regular file" },
	{ "cluster: [a]\n", 1, "cluster must be a mapping" },
};

/* An encap chain with a symmetric flag and a MAC of its own. */
static void encap_chain(void)
{
	struct cs_conf c;
	char err[512] = "";
	static const __u8 mac[6] = { 0x02, 0xab, 0, 0, 0, 0x10 };

	if (!EXPECT(load("chains:\n  - name: c\n    mode: encap\n    symmetric: true\n    instances:\n"
			 "      - {name: a, address: 10.0.0.1, mac: 02:AB:00:00:00:10}\n"
			 "      - {name: b, address: 10.0.0.2}\n",
			 &c, err, sizeof(err)) == 0, "%s", err))
		return;
	EXPECT(c.chains[0].symmetric, "symmetric");
	EXPECT(c.chains[0].instances[0].has_mac && !memcmp(c.chains[0].instances[0].mac, mac, 6), "mac");
	EXPECT(!c.chains[0].instances[1].has_mac, "b has no mac of its own");
	cs_config_free(&c);
}

/* affinity: hosts, flow, and its default, flow. */
static void chain_affinity(void)
{
	static const struct { const char *line; bool hosts; } cases[] = {
		{ "    affinity: hosts\n", true }, { "    affinity: flow\n", false }, { "", false },
	};
	char yaml[256], err[512];
	struct cs_conf c;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(yaml, sizeof(yaml), "chains:\n  - name: c\n%s    instances: [{name: a, address: 10.0.0.1}]\n",
			 cases[i].line);
		if (!EXPECT(load(yaml, &c, err, sizeof(err)) == 0, "%s: %s", yaml, err))
			continue;
		EXPECT(c.chains[0].affinity_hosts == cases[i].hosts, "\"%s\": hosts %d", cases[i].line,
		       c.chains[0].affinity_hosts);
		cs_config_free(&c);
	}
}

/* A chain of stages: one list of instances, stage by stage; a stage's own
 * health or the chain's; a chain written the old way is one stage. */
static void chain_stages(void)
{
	struct cs_conf c;
	char err[512] = "";
	const struct cs_chain_conf *ch;

	if (!EXPECT(load("chains:\n  - name: c\n    mode: nsh\n    health: {probe: tcp, port: 80}\n    stages:\n"
			 "      - name: fw\n        instances:\n"
			 "          - {name: fw-a, address: 10.0.0.1}\n          - {name: fw-b, address: 10.0.0.2}\n"
			 "      - name: casb\n        health: {probe: icmp, interval: 200ms}\n        instances:\n"
			 "          - {name: casb-a, address: 10.0.1.1}\n"
			 "  - name: old\n    instances: [{name: o, address: 10.0.2.1}]\n",
			 &c, err, sizeof(err)) == 0, "%s", err))
		return;
	ch = &c.chains[0];
	EXPECT_EQ(ch->n_stages, 2);
	EXPECT_EQ(ch->n_instances, 3);
	EXPECT(!strcmp(ch->stages[0].name, "fw") && !strcmp(ch->stages[1].name, "casb"), "stage names");
	EXPECT(ch->stages[0].first == 0 && ch->stages[0].n == 2, "fw: instances 0 and 1");
	EXPECT(ch->stages[1].first == 2 && ch->stages[1].n == 1, "casb: instance 2");
	EXPECT(ch->instances[1].stage == 0 && ch->instances[2].stage == 1, "each instance knows its stage");
	EXPECT_EQ(ch->stages[0].health.port, 80);	/* the chain's */
	EXPECT(!strcmp(ch->stages[1].health.probe, "icmp"), "casb's own probe");
	EXPECT_EQ(ch->stages[1].health.interval_ms, 200);
	ch = &c.chains[1];
	EXPECT(ch->n_stages == 1 && !strcmp(ch->stages[0].name, "old"), "the old way: one stage named as the chain");
	EXPECT(ch->stages[0].first == 0 && ch->stages[0].n == 1 && ch->instances[0].stage == 0, "of all its instances");
	cs_config_free(&c);
}

/* health.warmup: its default, and durations as elsewhere, 0 included. */
static void health_warmup(void)
{
	struct cs_conf c;
	char err[512] = "";

	if (!EXPECT(load("chains:\n  - name: c\n    instances: [{name: a, address: 10.0.0.1}]\n"
			 "  - name: d\n    instances: [{name: b, address: 10.0.0.2}]\n"
			 "    health: {probe: tcp, port: 80, warmup: 250ms}\n"
			 "  - name: e\n    instances: [{name: e1, address: 10.0.0.3}]\n"
			 "    health: {warmup: 3}\n"
			 "  - name: f\n    instances: [{name: f1, address: 10.0.0.4}]\n"
			 "    health: {warmup: 0}\n",
			 &c, err, sizeof(err)) == 0, "%s", err))
		return;
	EXPECT_EQ(c.chains[0].health.warmup_ms, CS_WARMUP_DEFAULT_MS);
	EXPECT_EQ(c.chains[0].health.warmup_ms, 1000);
	EXPECT_EQ(c.chains[1].health.warmup_ms, 250);
	EXPECT_EQ(c.chains[2].health.warmup_ms, 3000);	/* a bare number is seconds */
	EXPECT_EQ(c.chains[3].health.warmup_ms, 0);	/* no warm-up: up at once */
	EXPECT_EQ(c.chains[1].health.port, 80);
	cs_config_free(&c);
}

/* steer.flow_timeouts: the defaults (conntrack's established, 5 days), days
 * and compound durations, keys left out keeping theirs; the table limits. */
static void flow_timeouts_and_limits(void)
{
	struct cs_conf c;
	char err[512] = "";

	if (!EXPECT(load("rules:\n  - match: [a.example]\n", &c, err, sizeof(err)) == 0, "%s", err))
		return;
	EXPECT_EQ(c.flow_timeouts.syn_ms, 60000);
	EXPECT_EQ(c.flow_timeouts.established_ms, 5ULL * 86400000);
	EXPECT_EQ(c.flow_timeouts.fin_ms, 120000);
	EXPECT_EQ(c.flow_timeouts.linger_ms, 10000);
	EXPECT_EQ(c.flow_idle_ms, 120000);
	EXPECT_EQ(c.limit_flows, CS_FLOWS_ENTRIES);
	EXPECT_EQ(c.limit_flows_new, CS_FLOWS_NEW_ENTRIES);
	EXPECT_EQ(c.instance.limit_streams, CS_STREAMS_ENTRIES);
	EXPECT_EQ(c.instance.limit_streams_new, CS_STREAMS_NEW_ENTRIES);
	cs_config_free(&c);

	if (!EXPECT(load("steer:\n  flow_idle: 2s\n"
			 "  flow_timeouts: {syn: 1m30s, established: 2d12h, linger: 250ms}\n"
			 "  limits: {flows: 16, flows_new: 4194304}\n"
			 "instance:\n  limits: {streams: 1000, streams_new: 64}\n",
			 &c, err, sizeof(err)) == 0, "%s", err))
		return;
	EXPECT_EQ(c.flow_idle_ms, 2000);
	EXPECT_EQ(c.flow_timeouts.syn_ms, 90000);
	EXPECT_EQ(c.flow_timeouts.established_ms, 60ULL * 3600000);
	EXPECT_EQ(c.flow_timeouts.fin_ms, 120000);	/* left out: the default */
	EXPECT_EQ(c.flow_timeouts.linger_ms, 250);
	EXPECT_EQ(c.limit_flows, 16);
	EXPECT_EQ(c.limit_flows_new, 4194304);
	EXPECT_EQ(c.instance.limit_streams, 1000);
	EXPECT_EQ(c.instance.limit_streams_new, 64);
	cs_config_free(&c);

	/* the cap: 30 days is taken */
	if (!EXPECT(load("steer:\n  flow_timeouts: {established: 30d}\n", &c, err, sizeof(err)) == 0, "%s", err))
		return;
	EXPECT_EQ(c.flow_timeouts.established_ms, 30ULL * 86400000);
	cs_config_free(&c);
}

/* mesh and instance absent: no key of our own, the default port, and the
 * instance role's defaults. */
static void mesh_and_instance_defaults(void)
{
	struct cs_conf c;
	char err[512] = "";

	if (!EXPECT(load("rules:\n  - match: [a.example]\n", &c, err, sizeof(err)) == 0, "%s", err))
		return;
	EXPECT(!c.has_affinity_key, "an affinity key without mesh.affinity_key");
	EXPECT(!c.has_sync_key, "a sync key without mesh.sync_key");
	EXPECT_EQ(c.sync_port, CS_SYNC_PORT_DEFAULT);
	EXPECT_EQ(c.sync_port, 4788);
	EXPECT(c.instance.strict && c.instance.sync, "strict %d sync %d", c.instance.strict, c.instance.sync);
	EXPECT_EQ(c.instance.stream_idle_ms, CS_STREAM_IDLE_DEFAULT_MS);
	EXPECT_EQ(c.instance.stream_idle_ms, 120000);
	EXPECT(!c.instance.name && !c.instance.n_ifaces, "instance name or interfaces");
	EXPECT_EQ(c.instance.line, 0);
	cs_config_free(&c);

	/* a section that gives only some keys keeps the defaults of the others */
	if (!EXPECT(load("mesh:\n  sync_port: 1\ninstance:\n  interfaces: [eth1, eth2]\n", &c, err,
			 sizeof(err)) == 0, "%s", err))
		return;
	EXPECT_EQ(c.sync_port, 1);
	EXPECT(!c.has_affinity_key, "an affinity key without mesh.affinity_key");
	EXPECT(c.instance.strict && c.instance.sync, "strict %d sync %d", c.instance.strict, c.instance.sync);
	EXPECT_EQ(c.instance.stream_idle_ms, 120000);
	EXPECT_EQ(c.instance.n_ifaces, 2);
	EXPECT_EQ(c.instance.line, 3);
	cs_config_free(&c);
}

static void mesh_and_instance(void)
{
	struct cs_conf c;
	char err[512] = "";

	if (!EXPECT(load("chains:\n"
			 "  - name: casb\n"
			 "    instances:\n"
			 "      - {name: casb-a, address: 10.30.0.2}\n"
			 "      - {name: casb-b, address: 10.30.0.3}\n"
			 "mesh:\n"
			 "  affinity_key: 0123456789abcdefFEDCBA9876543210\n"
			 "  sync_key: 00112233445566778899AABBCCDDEEFF\n"
			 "  sync_port: 65535\n"
			 "instance:\n"
			 "  name: casb-b\n"
			 "  interfaces: [eth1]\n"
			 "  policy: loose\n"
			 "  sync: false\n"
			 "  stream_idle: 30s\n",
			 &c, err, sizeof(err)) == 0, "%s", err))
		return;
	EXPECT(c.has_affinity_key, "no affinity key");
	/* the first 16 hex digits are word 0 */
	EXPECT(c.affinity_key[0] == 0x0123456789abcdefULL, "word 0: %#llx", (unsigned long long)c.affinity_key[0]);
	EXPECT(c.affinity_key[1] == 0xfedcba9876543210ULL, "word 1: %#llx", (unsigned long long)c.affinity_key[1]);
	EXPECT(c.has_sync_key && c.sync_key[0] == 0x0011223344556677ULL && c.sync_key[1] == 0x8899aabbccddeeffULL,
	       "sync key %#llx %#llx", (unsigned long long)c.sync_key[0], (unsigned long long)c.sync_key[1]);
	EXPECT_EQ(c.sync_port, 65535);
	EXPECT(c.instance.name && !strcmp(c.instance.name, "casb-b"), "name %s", c.instance.name);
	EXPECT_EQ(cs_instance_named(&c, c.instance.name, NULL)->id, 2);
	EXPECT(c.instance.n_ifaces == 1 && !strcmp(c.instance.ifaces[0], "eth1"), "interfaces");
	EXPECT(!c.instance.strict, "policy loose is not strict");
	EXPECT(!c.instance.sync, "sync: false");
	EXPECT(!c.instance.mark_code, "no mark by default");
	EXPECT_EQ(c.instance.stream_idle_ms, 30000);
	EXPECT_EQ(c.instance.line, 10);
	cs_config_free(&c);

	/* policy strict said out loud; a key of all zeros is still a key */
	if (!EXPECT(load("mesh:\n  affinity_key: \"00000000000000000000000000000000\"\n"
			 "instance:\n  policy: strict\n  sync: true\n  mark: code\n",
			 &c, err, sizeof(err)) == 0, "%s", err))
		return;
	EXPECT(c.has_affinity_key && !c.affinity_key[0] && !c.affinity_key[1], "zero key");
	EXPECT(c.instance.strict && c.instance.sync, "strict %d sync %d", c.instance.strict, c.instance.sync);
	EXPECT(c.instance.mark_code, "mark: code");
	cs_config_free(&c);
}

/* No cluster section: no cluster, nothing read. */
static void cluster_absent(void)
{
	struct cs_conf c;
	char err[512] = "";

	if (!EXPECT(load("rules:\n  - match: [a.example]\n", &c, err, sizeof(err)) == 0, "%s", err))
		return;
	EXPECT_EQ(c.cluster.line, 0);
	EXPECT(!c.cluster.name && !c.cluster.n_endpoints, "no cluster");
	cs_config_free(&c);
}

/* The smallest section: the defaults, the host name as the node, a
 * trailing '/' of an endpoint dropped. */
static void cluster_defaults(void)
{
	struct cs_conf c;
	char err[512] = "", host[256] = "";

	if (!EXPECT(load("rules:\n  - match: [a.example]\ncluster:\n  name: lab\n"
			 "  endpoints: http://127.0.0.1:2379/\n", &c, err, sizeof(err)) == 0, "%s", err))
		return;
	gethostname(host, sizeof(host) - 1);
	EXPECT_EQ(c.cluster.line, 3);
	EXPECT(!strcmp(c.cluster.name, "lab"), "%s", c.cluster.name);
	EXPECT(!strcmp(c.cluster.node, host), "%s, not the host name %s", c.cluster.node, host);
	if (EXPECT_EQ(c.cluster.n_endpoints, 1))
		EXPECT(!strcmp(c.cluster.endpoints[0], "http://127.0.0.1:2379"), "%s", c.cluster.endpoints[0]);
	EXPECT_EQ(c.cluster.lease_ttl_s, 10);
	EXPECT_EQ(c.cluster.dial_timeout_ms, 2000);
	EXPECT_EQ(c.cluster.request_timeout_ms, 5000);
	EXPECT(!c.cluster.ca.path && !c.cluster.key.path && !c.cluster.user, "no tls, no credentials");
	cs_config_free(&c);
}

/* Writes a file of the test's directory with a mode; returns its path (a
 * static buffer of its own, so two can be held). */
static const char *write_mode(const char *name, const char *text, mode_t mode)
{
	static char paths[8][256];
	static int next;
	char *path = paths[next++ % 8];

	snprintf(path, sizeof(paths[0]), "%s", write_file(name, text));
	chmod(path, mode);
	return path;
}

static int load_cluster_with(const char *extra, struct cs_conf *c, char *err, size_t len)
{
	char text[8192];

	snprintf(text, sizeof(text), "cluster:\n  name: lab\n  node: gw-1\n"
		 "  endpoints: [\"https://10.0.0.1:2379\", \"https://[2001:db8::1]:2379\", https://etcd-3]\n%s",
		 extra);
	return load(text, c, err, len);
}

/* Every key: the files are read at load, the credentials split. */
static void cluster_every_key(void)
{
	struct cs_conf c;
	char err[512] = "", extra[900];
	const char *ca = write_mode("ca.pem", "CA\n", 0644), *cert = write_mode("gw.pem", "CERT\n", 0644);
	const char *key = write_mode("gw.key", "KEY\n", 0600), *pw = write_mode("pw", "cs:s3cr:et\n", 0400);

	snprintf(extra, sizeof(extra), "  tls: {ca: %s, cert: %s, key: %s}\n  credentials: %s\n"
		 "  lease_ttl: 15\n  dial_timeout: 500ms\n  request_timeout: 3s\n", ca, cert, key, pw);
	if (!EXPECT(load_cluster_with(extra, &c, err, sizeof(err)) == 0, "%s", err))
		return;
	EXPECT(!strcmp(c.cluster.node, "gw-1"), "%s", c.cluster.node);
	if (EXPECT_EQ(c.cluster.n_endpoints, 3))
		EXPECT(!strcmp(c.cluster.endpoints[1], "https://[2001:db8::1]:2379"), "%s", c.cluster.endpoints[1]);
	EXPECT(c.cluster.ca.data && !strcmp(c.cluster.ca.data, "CA\n") && c.cluster.ca.len == 3, "ca read");
	EXPECT(c.cluster.cert.data && !strcmp(c.cluster.cert.data, "CERT\n"), "cert read");
	EXPECT(c.cluster.key.data && !strcmp(c.cluster.key.data, "KEY\n"), "key read");
	EXPECT(c.cluster.user && !strcmp(c.cluster.user, "cs"), "user %s", c.cluster.user);
	EXPECT(c.cluster.password && !strcmp(c.cluster.password, "s3cr:et"), "password %s", c.cluster.password);
	EXPECT_EQ(c.cluster.lease_ttl_s, 15);
	EXPECT_EQ(c.cluster.dial_timeout_ms, 500);
	EXPECT_EQ(c.cluster.request_timeout_ms, 3000);
	cs_config_free(&c);
}

/* The errors that need files: a key or a password others can read, half a
 * TLS pair, TLS with http://, credentials that are not user:password. */
static void cluster_file_errors(void)
{
	const char *open_key = write_mode("open.key", "KEY\n", 0640), *key = write_mode("k.key", "KEY\n", 0600);
	const char *cert = write_mode("c.pem", "CERT\n", 0644), *open_pw = write_mode("open.pw", "a:b\n", 0604);
	const char *no_colon = write_mode("nocolon.pw", "ab\n", 0600), *no_user = write_mode("nouser.pw", ":b\n", 0600);
	const char *two = write_mode("two.pw", "a:b\nc:d\n", 0600);
	struct { char extra[600]; int line; const char *why; } cases[8];
	size_t i, n = 0;

#define CASE(l, w, ...) do { snprintf(cases[n].extra, sizeof(cases[n].extra), __VA_ARGS__); \
	cases[n].line = l; cases[n++].why = w; } while (0)
	CASE(5, "is readable or writable by group or others (mode 0640): chmod 600 it", "  tls: {cert: %s, key: %s}\n", cert,
	     open_key);
	CASE(1, "cluster.tls needs both cert and key, or neither", "  tls: {cert: %s}\n", cert);
	CASE(1, "cluster.tls needs both cert and key, or neither", "  tls: {key: %s}\n", key);
	CASE(5, "open.pw is readable or writable by group or others (mode 0604): chmod 600 it", "  credentials: %s\n", open_pw);
	CASE(5, "must hold user:password, with a user before the ':'", "  credentials: %s\n", no_colon);
	CASE(5, "with a user before the ':'", "  credentials: %s\n", no_user);
	CASE(5, "must hold one line, user:password", "  credentials: %s\n", two);
#undef CASE
	for (i = 0; i < n; i++) {
		struct cs_conf c;
		char err[512] = "", want[64];

		snprintf(want, sizeof(want), "c.yaml:%d: ", cases[i].line);
		if (!EXPECT(load_cluster_with(cases[i].extra, &c, err, sizeof(err)) == -1, "accepted: %s",
			    cases[i].extra)) {
			cs_config_free(&c);
			continue;
		}
		EXPECT(strstr(err, want) && strstr(err, cases[i].why), "case %zu: got \"%s\", want \"%s...%s\"", i,
		       err, want, cases[i].why);
	}
	{
		struct cs_conf c;
		char err[512] = "";

		EXPECT(load("cluster:\n  name: lab\n  endpoints: [http://a:2379, https://b:2379]\n"
			    "  tls: {ca: /etc/hostname}\n", &c, err, sizeof(err)) == -1, "tls with http accepted");
		EXPECT(strstr(err, "c.yaml:1: cluster.tls is given, so every endpoint must be https://"), "%s", err);
	}
}

static void refuses_with_file_line_reason(void)
{
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cs_conf c;
		char err[512] = "", want[64];

		snprintf(want, sizeof(want), "c.yaml:%d: ", bad[i].line);
		if (!EXPECT(load(bad[i].yaml, &c, err, sizeof(err)) == -1, "accepted: %s", bad[i].yaml)) {
			cs_config_free(&c);
			continue;
		}
		EXPECT(strstr(err, want) && strstr(err, bad[i].why), "case %zu: got \"%s\", want \"%s...%s\"",
		       i, err, want, bad[i].why);
	}
}

static void list_file_errors_name_the_list(void)
{
	struct cs_conf c;
	char err[512] = "";

	write_file("bad.txt", "ok.example\n# fine\nnot ok.example\n");
	EXPECT(load("rules:\n  - file: bad.txt\n", &c, err, sizeof(err)) == -1, "accepted");
	EXPECT(strstr(err, "bad.txt:3: ") && strstr(err, "character"), "%s", err);
}

static void missing_file(void)
{
	struct cs_conf c;
	char err[512] = "";

	EXPECT(cs_config_load("/nonexistent/cs.yaml", &c, err, sizeof(err)) == -1, "accepted");
	EXPECT(strstr(err, "/nonexistent/cs.yaml: cannot read the config"), "%s", err);
}

static int compile(const char *yaml, struct cs_ruleset *rs, char *err, size_t len)
{
	static const __u64 key[2] = { 1, 2 };
	struct cs_conf c;
	int r;

	if (load(yaml, &c, err, len))
		return -2;
	r = cs_rules_compile(&c, key, rs, err, len);
	if (!r)
		cs_rules_free(rs);
	cs_config_free(&c);
	return r;
}

static void ties_between_rules_are_refused(void)
{
	struct cs_ruleset rs;
	char err[512] = "";

	EXPECT(compile("rules:\n  - match: [a.example]\n  - match: [A.Example.]\n", &rs, err,
		       sizeof(err)) == -1, "same pattern in two rules accepted");
	EXPECT(strstr(err, "c.yaml:3: ") && strstr(err, "repeats"), "%s", err);
	EXPECT(compile("rules:\n  - match: [a.example]\n  - match: [\"*.a.example\"]\n", &rs, err,
		       sizeof(err)) == -1, "subtree and wildcard of one name in two rules accepted");
	EXPECT(strstr(err, "matches the same names"), "%s", err);
}

static void precedence_that_is_not_a_tie(void)
{
	struct cs_ruleset rs;
	char err[512] = "";

	/* exact beats subtree for the name itself; one rule may repeat itself */
	EXPECT(compile("rules:\n  - match: [a.example]\n  - match: [\"=a.example\"]\n", &rs, err,
		       sizeof(err)) == 0, "%s", err);
	EXPECT(compile("rules:\n  - match: [a.example, \"*.a.example\", a.example]\n", &rs, err,
		       sizeof(err)) == 0, "%s", err);
	/* different depths never tie */
	EXPECT(compile("rules:\n  - match: [example]\n  - match: [a.example]\n", &rs, err,
		       sizeof(err)) == 0, "%s", err);
}

static void ruleset_contents(void)
{
	static const __u64 key[2] = { 1, 2 };
	struct cs_ruleset rs;
	struct cs_conf c;
	char err[512] = "";
	size_t i;
	int found = 0;

	if (!EXPECT(load("rules:\n  - match: [a.example, \"=b.a.example\"]\n    priority: 7\n"
			 "  - match: [\"*.x.y.z\"]\n", &c, err, sizeof(err)) == 0, "%s", err))
		return;
	if (!EXPECT(cs_rules_compile(&c, key, &rs, err, sizeof(err)) == 0, "%s", err))
		goto out;
	EXPECT_EQ(rs.n_names, 3);
	EXPECT_EQ(rs.depth_mask[0], (1ULL << 2) | (1ULL << 3));
	EXPECT_EQ(rs.rules[cs_rule_id(0)].priority, 7);
	for (i = 0; i < rs.n_names; i++) {
		if (rs.names[i].hash != cs_text_name_hash(key, "x.y.z", NULL))
			continue;
		found = 1;
		EXPECT_EQ(rs.names[i].value.kind[CS_MATCH_WILD].pattern_id, c.patterns[2].id);
		EXPECT_EQ(rs.names[i].value.kind[CS_MATCH_WILD].rule_id, cs_rule_id(1));
		EXPECT_EQ(rs.names[i].value.kind[CS_MATCH_SUBTREE].pattern_id, 0);
	}
	EXPECT(found, "x.y.z is in the rule names");
	cs_rules_free(&rs);
out:
	cs_config_free(&c);
}

static void metrics_endpoints(void)
{
	struct cs_conf c;
	char err[512] = "", text[CS_ADDR_TEXT_MAX];

	if (!EXPECT(load("metrics: 127.0.0.1:9477\ninstance:\n  metrics: \"[::1]:9478\"\n", &c, err,
			 sizeof(err)) == 0, "%s", err))
		return;
	EXPECT(c.metrics.on, "metrics on");
	cs_addr_format(&c.metrics.addr, text, sizeof(text));
	EXPECT(!strcmp(text, "127.0.0.1"), "metrics address %s", text);
	EXPECT_EQ(c.metrics.port, 9477);
	EXPECT(c.instance.metrics.on, "instance.metrics on");
	cs_addr_format(&c.instance.metrics.addr, text, sizeof(text));
	EXPECT(!strcmp(text, "::1"), "instance.metrics address %s", text);
	EXPECT_EQ(c.instance.metrics.port, 9478);
	cs_config_free(&c);
	if (!EXPECT(load("rules:\n  - match: [a.example]\n", &c, err, sizeof(err)) == 0, "%s", err))
		return;
	EXPECT(!c.metrics.on && !c.instance.metrics.on, "no endpoint unless asked");
	cs_config_free(&c);
}

static void durations(void)
{
	char buf[32];
	__u64 ms;

	EXPECT(cs_parse_duration_ms("250ms", 1000, &ms) == 0 && ms == 250, "250ms");
	EXPECT(cs_parse_duration_ms("2m", 1000, &ms) == 0 && ms == 120000, "2m");
	EXPECT(cs_parse_duration_ms("30", 1000, &ms) == 0 && ms == 30000, "bare seconds");
	EXPECT(cs_parse_duration_ms("1d", 1000, &ms) == 0 && ms == 86400000, "1d");
	EXPECT(cs_parse_duration_ms("5x", 1000, &ms) == -1, "5x");
	EXPECT(cs_parse_duration_ms("", 1000, &ms) == -1, "empty");
	EXPECT(cs_parse_duration_ms("1h30m", 1000, &ms) == 0 && ms == 5400000, "1h30m");
	EXPECT(cs_parse_duration_ms("2d12h", 1000, &ms) == 0 && ms == 216000000, "2d12h");
	EXPECT(cs_parse_duration_ms("1m30s250ms", 1000, &ms) == 0 && ms == 90250, "1m30s250ms");
	EXPECT(cs_parse_duration_ms("30m1h", 1000, &ms) == -1, "units out of order");
	EXPECT(cs_parse_duration_ms("1h1h", 1000, &ms) == -1, "a unit twice");
	EXPECT(cs_parse_duration_ms("1h30", 1000, &ms) == -1, "a bare number after a unit");
	EXPECT(cs_parse_duration_ms("8825400613783079d", 1000, &ms) == -1, "too many days for 64 bits");
	EXPECT(cs_parse_duration_ms("18446744073709552", 1000, &ms) == -1, "too many bare seconds");
	EXPECT(cs_parse_duration_ms("99999999999999999999", 1000, &ms) == -1, "beyond strtoull");
	EXPECT(cs_parse_duration_ms("1h 30m", 1000, &ms) == -1, "a space");
	EXPECT(!strcmp(cs_duration_text(5400000, buf, sizeof(buf)), "1h30m"), "1h30m back");
	EXPECT(!strcmp(cs_duration_text(3600000, buf, sizeof(buf)), "1h"), "1h back");
	EXPECT(!strcmp(cs_duration_text(250, buf, sizeof(buf)), "250ms"), "250ms back");
	EXPECT(!strcmp(cs_duration_text(0, buf, sizeof(buf)), "0s"), "0s back");
}

/* ---- mesh keys from files ---- */

#define KEY_A "00112233445566778899aabbccddeeff"
#define KEY_B "ffeeddccbbaa99887766554433221100"

/* Load "mesh:" with one line under it. */
static int load_mesh(const char *line, struct cs_conf *c, char *err, size_t len)
{
	char text[8192];

	snprintf(text, sizeof(text), "mesh:\n  %s\n", line);
	return load(text, c, err, len);
}

/* A key from a file is the key inline: the same values, the same digests
 * (so show cluster sees no difference between two nodes that write it
 * differently), and a load after the file changed takes the new key. */
static void key_files_are_the_key_inline(void)
{
	const char *path = write_mode("affinity.key", "  " KEY_A "\n", 0600);
	struct cs_conf inl, fil;
	struct cs_conf_digest di, df;
	char line[512], err[512] = "";

	snprintf(line, sizeof(line), "affinity_key_file: %s\n  sync_key_file: %s", path, path);
	if (!EXPECT(load_mesh(line, &fil, err, sizeof(err)) == 0, "%s", err))
		return;
	if (!EXPECT(load_mesh("affinity_key: " KEY_A "\n  sync_key: " KEY_A, &inl, err, sizeof(err)) == 0, "%s",
		    err)) {
		cs_config_free(&fil);
		return;
	}
	EXPECT(fil.has_affinity_key && fil.has_sync_key, "keys from files not taken");
	EXPECT(!memcmp(fil.affinity_key, inl.affinity_key, sizeof(inl.affinity_key)), "affinity keys differ");
	EXPECT(!memcmp(fil.sync_key, inl.sync_key, sizeof(inl.sync_key)), "sync keys differ");
	EXPECT(!cs_conf_digest(&fil, &df) && !cs_conf_digest(&inl, &di), "digest failed");
	EXPECT_EQ(df.part[CS_DIGEST_AFFINITY_KEY], di.part[CS_DIGEST_AFFINITY_KEY]);
	EXPECT_EQ(df.part[CS_DIGEST_SYNC_KEY], di.part[CS_DIGEST_SYNC_KEY]);
	EXPECT_EQ(df.all, di.all);
	EXPECT(!df.random_affinity_key, "a key from a file counted as none");
	cs_config_free(&fil);
	cs_config_free(&inl);

	/* a reload loads the config again: the file's new key */
	write_mode("affinity.key", KEY_B, 0600);
	if (!EXPECT(load_mesh(line, &fil, err, sizeof(err)) == 0, "%s", err))
		return;
	EXPECT(fil.affinity_key[0] == 0xffeeddccbbaa9988ull && fil.affinity_key[1] == 0x7766554433221100ull,
	       "the changed file's key was not taken: %016llx", (unsigned long long)fil.affinity_key[0]);
	cs_config_free(&fil);
}

/* Each refusal names the config, the key's line and the reason. */
static void key_file_refusals(void)
{
	const char *open_r = write_mode("group-read.key", KEY_A, 0640);
	const char *open_w = write_mode("other-write.key", KEY_A, 0602);
	const char *shortk = write_mode("short.key", "0123456789abcdef\n", 0600);
	const char *badk = write_mode("bad.key", "0123456789abcdeg0123456789abcdef", 0600);
	const char *zeros = write_mode("zeros.key", "00000000000000000000000000000000\n", 0600);
	const char *theirs = write_mode("theirs.key", KEY_A, 0600);
	const char *good = write_mode("good.key", KEY_A, 0600);
	struct { char line[512]; const char *why; } cases[9];
	size_t i, n = 0;

#define CASE(w, ...) do { snprintf(cases[n].line, sizeof(cases[n].line), __VA_ARGS__); cases[n++].why = w; } while (0)
	CASE("c.yaml:2: mesh.affinity_key_file", "affinity_key_file: %s", open_r);
	CASE("is readable or writable by group or others (mode 0640): chmod 600 it", "affinity_key_file: %s", open_r);
	CASE("is readable or writable by group or others (mode 0602)", "sync_key_file: %s", open_w);
	CASE("missing.key cannot be read: No such file or directory", "sync_key_file: %s/missing.key", dir);
	CASE("c.yaml:2: mesh.affinity_key_file: the key in ", "affinity_key_file: %s", shortk);
	CASE("must be 32 hex digits (128 bits), not 16 characters", "affinity_key_file: %s", shortk);
	CASE("\"g\" is not one", "sync_key_file: %s", badk);
	CASE("mesh.sync_key must not be all zeros", "sync_key_file: %s", zeros);
	CASE("c.yaml:3: mesh.affinity_key and mesh.affinity_key_file are both given", "affinity_key: " KEY_A
	     "\n  affinity_key_file: %s", good);
#undef CASE
	if (!EXPECT(chown(theirs, 12345, 12345) == 0, "chown: cannot test the owner check"))
		theirs = NULL;
	for (i = 0; i < n; i++) {
		struct cs_conf c;
		char err[512] = "";

		if (!EXPECT(load_mesh(cases[i].line, &c, err, sizeof(err)) == -1, "accepted: %s", cases[i].line)) {
			cs_config_free(&c);
			continue;
		}
		EXPECT(strstr(err, cases[i].why), "case %zu: got \"%s\", want \"%s\"", i, err, cases[i].why);
	}
	if (theirs) {
		struct cs_conf c;
		char line[512], err[512] = "";

		snprintf(line, sizeof(line), "sync_key_file: %s", theirs);
		if (EXPECT(load_mesh(line, &c, err, sizeof(err)) == -1, "a key file of uid 12345 accepted"))
			EXPECT(strstr(err, "c.yaml:2: mesh.sync_key_file") &&
			       strstr(err, "is owned by uid 12345, neither root nor this process's user"), "%s", err);
		else
			cs_config_free(&c);
	}
}

int main(void)
{
	char cleanup[128];

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(accepts_the_design_example);
	RUN(defaults);
	RUN(trust_settings);
	RUN(encap_chain);
	RUN(chain_affinity);
	RUN(chain_stages);
	RUN(defaults_apply_in_any_order);
	RUN(health_warmup);
	RUN(flow_timeouts_and_limits);
	RUN(mesh_and_instance_defaults);
	RUN(mesh_and_instance);
	RUN(refuses_with_file_line_reason);
	RUN(list_file_errors_name_the_list);
	RUN(missing_file);
	RUN(ties_between_rules_are_refused);
	RUN(precedence_that_is_not_a_tie);
	RUN(ruleset_contents);
	RUN(durations);
	RUN(metrics_endpoints);
	RUN(cluster_absent);
	RUN(cluster_defaults);
	RUN(cluster_every_key);
	RUN(cluster_file_errors);
	RUN(key_files_are_the_key_inline);
	RUN(key_file_refusals);
	snprintf(cleanup, sizeof(cleanup), "rm -rf '%s'", dir);
	if (system(cleanup))
		printf("FAIL: config: cleanup: could not remove %s\n", dir);
	T_EXIT();
}
