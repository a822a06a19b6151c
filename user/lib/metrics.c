// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * metrics.c - the Prometheus endpoint of `cloudsteer run` and `cloudsteer
 * instance`: a minimal HTTP/1.0 server on its own thread (one connection at
 * a time, each bounded by socket timeouts) and the exposition text, read
 * from the pinned maps at every scrape.
 *
 * Families follow Prometheus naming: cloudsteer_ prefix, _total on
 * counters, base units (seconds, bytes). A counter kept by the dataplane
 * (per CPU, in a pinned map) survives daemon restarts; one kept by the
 * daemon (expired, evicted, sweep passes) starts again at 0 with it, which
 * Prometheus reads as a counter reset.
 */
#define _GNU_SOURCE	/* accept4 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>


#include "confdigest.h"
#include "healthz.h"
#include "metrics.h"
#include "addr.h"
#include "log.h"
#include "names.h"
#include "pinned.h"
#include "rules.h"
#include "view.h"
#include "version.h"	/* build/version.h */

#define CS_LABEL_TEXT 160
#define CS_REQUEST_MAX 4096
#define CS_CLIENT_TIMEOUT_MS 2000	/* a scraper that stalls longer is dropped */

/* The names labels carry, copied from a config. */
struct labels {
	size_t n_rules, n_chains, n_instances;
	char (*rule)[CS_LABEL_TEXT];	/* by rule id - 1: its first patterns */
	char (*rule_chain)[CS_LABEL_TEXT];	/* by rule id - 1: its chain, "" to observe */
	char (*chain)[CS_LABEL_TEXT];	/* by chain id - 1 */
	char (*instance)[CS_LABEL_TEXT];	/* by instance id - 1 */
	char (*stage)[CS_LABEL_TEXT];		/* by instance id - 1: its stage's name */
	char (*inst_chain)[CS_LABEL_TEXT];	/* by instance id - 1: its chain's name */
};

struct cs_metrics {
	enum cs_metrics_role role;
	const char *pin_dir;
	const struct cs_daemon_stats *stats;
	int fd;
	bool stopping;
	pthread_t thread;
	pthread_mutex_t lock;	/* labels: the reload swaps them under it */
	double start_time_s;	/* the process's, since the epoch (0: unknown) */
	struct labels labels;
};

/* ---- labels ---- */

static void labels_free(struct labels *l)
{
	free(l->rule);
	free(l->rule_chain);
	free(l->chain);
	free(l->instance);
	free(l->stage);
	free(l->inst_chain);
	memset(l, 0, sizeof(*l));
}

/* "a.test,*.b.test,+12 more": a rule's first patterns, as `show` names it. */
static void rule_label(const struct cs_conf *conf, size_t rule, char *out, size_t len)
{
	size_t i, shown = 0, more = 0, at = 0;

	out[0] = '\0';
	for (i = 0; i < conf->n_patterns; i++) {
		if (conf->patterns[i].rule != rule)
			continue;
		if (shown == CS_PATTERNS_SHOWN) {
			more++;
			continue;
		}
		at += (size_t)snprintf(out + at, at < len ? len - at : 0, "%s%s", shown ? "," : "",
				       conf->patterns[i].text);
		shown++;
	}
	if (more && at < len)
		snprintf(out + at, len - at, ",+%zu more", more);
}

/* Chains and instances by their ids (the config's, as the daemon gave
 * them): a series keeps its labels however the lists change. */
static int labels_from(const struct cs_conf *conf, struct labels *l)
{
	size_t c, i;

	memset(l, 0, sizeof(*l));
	l->n_rules = conf->n_rules;
	l->n_chains = CS_CHAINS_MAX - 1;
	l->n_instances = CS_INSTANCES_MAX - 1;
	l->rule = calloc(l->n_rules + 1, sizeof(*l->rule));
	l->rule_chain = calloc(l->n_rules + 1, sizeof(*l->rule_chain));
	l->chain = calloc(l->n_chains, sizeof(*l->chain));
	l->instance = calloc(l->n_instances, sizeof(*l->instance));
	l->stage = calloc(l->n_instances, sizeof(*l->stage));
	l->inst_chain = calloc(l->n_instances, sizeof(*l->inst_chain));
	if (!l->rule || !l->rule_chain || !l->chain || !l->instance || !l->stage || !l->inst_chain) {
		labels_free(l);
		return -ENOMEM;
	}
	for (i = 0; i < conf->n_rules; i++) {
		rule_label(conf, i, l->rule[i], CS_LABEL_TEXT);
		snprintf(l->rule_chain[i], CS_LABEL_TEXT, "%s", conf->rules[i].chain ? conf->rules[i].chain : "");
	}
	for (c = 0; c < conf->n_chains; c++) {
		const struct cs_chain_conf *cc = &conf->chains[c];

		if (cc->id)
			snprintf(l->chain[cc->id - 1], CS_LABEL_TEXT, "%s", cc->name);
		for (i = 0; i < cc->n_instances; i++) {
			const struct cs_instance_conf *ic = &cc->instances[i];

			if (!ic->id)
				continue;
			snprintf(l->instance[ic->id - 1], CS_LABEL_TEXT, "%s", ic->name);
			snprintf(l->inst_chain[ic->id - 1], CS_LABEL_TEXT, "%s", cc->name);
			snprintf(l->stage[ic->id - 1], CS_LABEL_TEXT, "%s",
				 ic->stage < cc->n_stages ? cc->stages[ic->stage].name : cc->name);
		}
	}
	return 0;
}

void cs_metrics_set_conf(struct cs_metrics *m, const struct cs_conf *conf)
{
	struct labels fresh, old;

	if (!m || labels_from(conf, &fresh))
		return;	/* out of memory: the old names stay */
	pthread_mutex_lock(&m->lock);
	old = m->labels;
	m->labels = fresh;
	pthread_mutex_unlock(&m->lock);
	labels_free(&old);
}

static const char *label_of(char (*names)[CS_LABEL_TEXT], size_t n, __u32 id)
{
	return id && id <= n ? names[id - 1] : "";
}

/* ---- the text format ---- */

/* A label value as the format wants it: \, " and newline escaped. */
static void put_label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fputc('\\', f);
		if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{k1="v1",k2="v2",key="value"}: labels is a NULL-terminated key,
 * value list (or NULL), key one more label (or NULL). */
static void series(FILE *f, const char *name, const char *const *labels, const char *key, const char *value)
{
	const char *sep = "{";

	fputs(name, f);
	for (; labels && labels[0]; labels += 2, sep = ",") {
		fprintf(f, "%s%s=\"", sep, labels[0]);
		put_label_value(f, labels[1]);
		fputc('"', f);
	}
	if (key) {
		fprintf(f, "%s%s=\"", sep, key);
		put_label_value(f, value);
		fputc('"', f);
		sep = ",";
	}
	if (*sep == ',')
		fputc('}', f);
}

/* name{k1="v1",k2="v2"} value; labels is a NULL-terminated key, value list. */
static void sample(FILE *f, const char *name, const char *const *labels, __u64 v)
{
	series(f, name, labels, NULL, NULL);
	fprintf(f, " %llu\n", (unsigned long long)v);
}

/* Seconds, from a count of milliseconds or microseconds. */
static void sample_seconds(FILE *f, const char *name, __u64 v, double per_second)
{
	fprintf(f, "%s %.6f\n", name, (double)v / per_second);
}

static void one(FILE *f, const char *name, const char *type, const char *help, __u64 v)
{
	family(f, name, type, help);
	sample(f, name, NULL, v);
}

static __u64 get(const __u64 *stat)
{
	return __atomic_load_n(stat, __ATOMIC_RELAXED);
}

/* ---- histograms ---- */

/* Upper bounds in microseconds: a probe or a datagram on a LAN takes well
 * under a millisecond, a timeout seconds. */
static const __u64 hist_bounds_us[CS_HIST_BUCKETS] = {
	100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000,
};

void cs_histogram_observe(struct cs_histogram *h, __u64 us)
{
	size_t i = 0;

	while (i < CS_HIST_BUCKETS && us > hist_bounds_us[i])
		i++;
	__atomic_fetch_add(&h->bucket[i], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->sum_us, us, __ATOMIC_RELAXED);
}

/* The _bucket (cumulative, le in seconds), _sum and _count samples of one
 * histogram. Read without a lock: a scrape may see an observation in a
 * bucket before its sum, which Prometheus tolerates. */
static void histogram(FILE *f, const char *name, const char *const *labels, const struct cs_histogram *h)
{
	char bucket[96], le[32];
	__u64 total = 0;
	size_t i;

	snprintf(bucket, sizeof(bucket), "%s_bucket", name);
	for (i = 0; i <= CS_HIST_BUCKETS; i++) {
		total += get(&h->bucket[i]);
		if (i < CS_HIST_BUCKETS)
			snprintf(le, sizeof(le), "%g", (double)hist_bounds_us[i] / 1e6);
		series(f, bucket, labels, "le", i < CS_HIST_BUCKETS ? le : "+Inf");
		fprintf(f, " %llu\n", (unsigned long long)total);
	}
	snprintf(bucket, sizeof(bucket), "%s_sum", name);
	series(f, bucket, labels, NULL, NULL);
	fprintf(f, " %.6f\n", (double)get(&h->sum_us) / 1e6);
	snprintf(bucket, sizeof(bucket), "%s_count", name);
	sample(f, bucket, labels, total);
}

/* A counter family with one sample per counter of an X-macro list from
 * `first` on, labelled label="its name". */
static void counters_by_name(FILE *f, const char *name, const char *help, const char *label,
			     const char *(*name_of)(__u32), const __u64 *count, __u32 first, __u32 n)
{
	__u32 i;

	family(f, name, "counter", help);
	for (i = first; i < n; i++) {
		const char *labels[] = { label, name_of(i), NULL };

		sample(f, name, labels, count[i]);
	}
}

/* ---- the steering host ---- */

/*
 * learn's counters (cs_learn_stats, one per reason) in families whose
 * samples add up to something: DNS packets by outcome (one each), records
 * by outcome, and apart, what counts neither (frames that are not DNS,
 * answers cut short, records without a route, ring losses, repeats,
 * queries). The label keeps the reason's name as `show stats` prints it.
 */
enum learn_family {
	LF_FRAMES_NOT_DNS,
	LF_DNS_PACKETS,
	LF_RECORDS,
	LF_RESPONSES_CAPPED,
	LF_RECORDS_UNROUTED,
	LF_ROUTES_WITHOUT_ACL,
	LF_NAMES_NOT_KEPT,
	LF_EVENTS_LOST,
	LF_REPEATS,
	LF_QUERIES,
	LF_OTHER,	/* a reason newer than this list: still exported */
	LF_COUNT,
};

static const struct { const char *name, *label, *help; } learn_families[LF_COUNT] = {
	[LF_FRAMES_NOT_DNS] = { "cloudsteer_learn_frames_not_dns_total", "reason",
				"Frames learn saw that carry no DNS: not IP, or not UDP or TCP from port 53." },
	[LF_DNS_PACKETS] = { "cloudsteer_dns_packets_total", "reason",
			     "DNS packets (UDP or TCP from port 53) learn read, by outcome (exactly one each)." },
	[LF_RECORDS] = { "cloudsteer_dns_records_total", "reason",
			 "A, AAAA and CNAME records of matched answers, by what became of each." },
	[LF_RESPONSES_CAPPED] = { "cloudsteer_dns_responses_capped_total", NULL,
				  "Answers cut at learn.max_records: their later records not read." },
	[LF_RECORDS_UNROUTED] = { "cloudsteer_dns_records_unrouted_total", "reason",
				  "Records learned that got no route: the route table full, or an address never steered." },
	[LF_ROUTES_WITHOUT_ACL] = { "cloudsteer_routes_without_acl_total", NULL,
				    "Routes made without an ACL id: the pool was empty." },
	[LF_NAMES_NOT_KEPT] = { "cloudsteer_names_not_kept_total", NULL,
				"Names whose text was not kept: the name table was full." },
	[LF_EVENTS_LOST] = { "cloudsteer_learn_events_lost_total", NULL,
			     "Events learn dropped because the ring buffer to the daemon was full." },
	[LF_REPEATS] = { "cloudsteer_dns_repeats_total", NULL,
			 "Answers identical to one within the last second: its outcome reused." },
	[LF_QUERIES] = { "cloudsteer_dns_queries_total", NULL,
			 "DNS queries seen leaving the host (for query matching)." },
	[LF_OTHER] = { "cloudsteer_learn_other_total", "reason", "learn's counters of newer reasons." },
};

static enum learn_family learn_family_of(__u32 r)
{
	if (r == CS_R_NOT_IP || r == CS_R_NOT_DNS)
		return LF_FRAMES_NOT_DNS;
	if (r < CS_R_PACKET_END)
		return LF_DNS_PACKETS;
	if (r >= CS_R_NEVER_LOOPBACK && r <= CS_R_NEVER_CONFIGURED)
		return LF_RECORDS_UNROUTED;
	switch (r) {
	case CS_R_REC_LEARNED: case CS_R_REC_REFRESHED: case CS_R_REC_OFF_CHAIN: case CS_R_REC_BAD_ADDR:
	case CS_R_REC_CHAIN_LONG: case CS_R_TABLE_FULL: case CS_R_RULE_QUOTA:
		return LF_RECORDS;
	case CS_R_ROUTE_FULL:
		return LF_RECORDS_UNROUTED;
	case CS_R_REC_CAPPED:
		return LF_RESPONSES_CAPPED;
	case CS_R_ACL_EMPTY:
		return LF_ROUTES_WITHOUT_ACL;
	case CS_R_NAMES_FULL:
		return LF_NAMES_NOT_KEPT;
	case CS_R_EVENT_LOST:
		return LF_EVENTS_LOST;
	case CS_R_REPEATS:
		return LF_REPEATS;
	case CS_R_QUERIES_SEEN:
		return LF_QUERIES;
	default:
		return LF_OTHER;
	}
}

static void learn_reasons(FILE *f, const struct cs_pinned *pins)
{
	__u64 count[CS_R_MAX] = { 0 };
	enum learn_family lf;
	bool any;
	__u32 r;

	if (cs_pinned_learn_reasons(pins, count))
		return;
	for (lf = 0; lf < LF_COUNT; lf++) {
		for (r = CS_R_OK + 1, any = false; r < CS_R_MAX && !any; r++)
			any = r != CS_R_PACKET_END && learn_family_of(r) == lf && cs_reason_name(r);
		if (!any)
			continue;
		family(f, learn_families[lf].name, "counter", learn_families[lf].help);
		for (r = CS_R_OK + 1; r < CS_R_MAX; r++) {
			const char *labels[] = { learn_families[lf].label, cs_reason_name(r), NULL };

			if (r == CS_R_PACKET_END || learn_family_of(r) != lf || !labels[1])
				continue;
			sample(f, learn_families[lf].name, labels[0] ? labels : NULL, count[r]);
		}
	}
}

/* steer's flow tables: what the sweep found and removed, and what steer
 * counted (new, promoted, refused by a full cs_flows). */
static void flow_tables(FILE *f, const struct cs_pinned *pins, const struct cs_daemon_stats *s)
{
	__u64 count[CS_S_MAX];

	family(f, "cloudsteer_flows", "gauge",
	       "Flows by table: proven (cs_flows) and new (cs_flows_new), as the last sweep pass found them.");
	sample(f, "cloudsteer_flows", (const char *const[]){ "table", "flows", NULL }, get(&s->flows));
	sample(f, "cloudsteer_flows", (const char *const[]){ "table", "flows_new", NULL }, get(&s->flows_new));
	one(f, "cloudsteer_flows_expired_total", "counter",
	    "Flows removed by the sweep once quiet for their state's lifetime.", get(&s->flows_expired));
	if (!cs_pinned_steer_stats(pins, count))
		counters_by_name(f, "cloudsteer_flow_events_total",
				 "What steer did with its flow tables, by event (show stats lists them).", "event",
				 cs_steer_counter_name, count, 0, CS_S_MAX);
}

static void table_gauges(FILE *f, const struct cs_daemon_stats *s)
{
	one(f, "cloudsteer_records", "gauge", "Records in the cloud IP table (last sweep pass).",
	    get(&s->records));
	one(f, "cloudsteer_routes", "gauge", "Policy routes (last sweep pass).", get(&s->routes));
	one(f, "cloudsteer_routes_kept_by_flows", "gauge",
	    "Routes whose records expired, kept while a live flow uses them.", get(&s->routes_kept));
	one(f, "cloudsteer_routes_waiting_acl", "gauge", "Routes made while the ACL id pool was empty.",
	    get(&s->routes_waiting_acl));
	one(f, "cloudsteer_names", "gauge", "Names with records (last sweep pass).", get(&s->names));
	one(f, "cloudsteer_records_expired_total", "counter", "Records removed at expiry by this daemon.",
	    get(&s->expired));
	one(f, "cloudsteer_records_evicted_total", "counter",
	    "Records evicted least recently used first because the table was full.", get(&s->evicted));
	one(f, "cloudsteer_routes_removed_total", "counter", "Routes removed: no record or live flow needed them.",
	    get(&s->routes_removed));
	one(f, "cloudsteer_sweep_passes_total", "counter", "Full passes of the expiry sweep.",
	    get(&s->sweep_passes));
	family(f, "cloudsteer_expiry_lag_seconds", "summary",
	       "How long after its expiry each expired record was removed.");
	sample_seconds(f, "cloudsteer_expiry_lag_seconds_sum", get(&s->expiry_lag_ms_sum), 1e3);
	sample(f, "cloudsteer_expiry_lag_seconds_count", NULL, get(&s->expired));
	family(f, "cloudsteer_expiry_lag_max_seconds", "gauge",
	       "The largest expiry lag of the last sweep pass that expired records.");
	sample_seconds(f, "cloudsteer_expiry_lag_max_seconds", get(&s->expiry_lag_ms_max), 1e3);
}

static void rules(FILE *f, const struct cs_pinned *pins, const struct labels *l)
{
	static const struct { const char *name, *help; } fam[] = {
		{ "cloudsteer_rule_answers_total", "DNS answers the rule won." },
		{ "cloudsteer_rule_records_learned_total", "Records the rule made." },
		{ "cloudsteer_rule_records_refreshed_total", "Records the rule refreshed." },
		{ "cloudsteer_rule_packets_total", "Packets steer counted on the rule's routes." },
		{ "cloudsteer_rule_bytes_total", "Bytes steer counted on the rule's routes." },
	};
	size_t k;
	__u32 id;

	/* the patterns as an info series of their own: the counters' series
	 * stay the same when a rule's patterns change */
	family(f, "cloudsteer_rule_info", "gauge",
	       "1 for each rule: its first patterns (as show rules names them) and its chain.");
	for (id = 1; id <= l->n_rules; id++) {
		char rule[16];
		const char *labels[] = { "rule", rule, "match", label_of(l->rule, l->n_rules, id), "chain",
					 label_of(l->rule_chain, l->n_rules, id), NULL };

		snprintf(rule, sizeof(rule), "%u", id);
		sample(f, "cloudsteer_rule_info", labels, 1);
	}
	for (k = 0; k < sizeof(fam) / sizeof(fam[0]); k++) {
		family(f, fam[k].name, "counter", fam[k].help);
		for (id = 1; id <= l->n_rules; id++) {
			struct cs_rule_stat rs;
			struct cs_acl_stat tr;
			char rule[16];
			const char *labels[] = { "rule", rule, NULL };
			__u64 v[5];

			snprintf(rule, sizeof(rule), "%u", id);
			if (cs_pinned_rule_stat(pins, id, &rs))
				memset(&rs, 0, sizeof(rs));
			if (cs_pinned_rule_traffic(pins, id, &tr))
				memset(&tr, 0, sizeof(tr));
			v[0] = rs.answers, v[1] = rs.learned, v[2] = rs.refreshed;
			v[3] = tr.packets, v[4] = tr.bytes;
			sample(f, fam[k].name, labels, v[k]);
		}
	}
}

/* Records each rule holds and its quota: a rule near its quota stops
 * learning (rule_quota). */
static void rule_quotas(FILE *f, const struct cs_pinned *pins, const struct labels *l)
{
	static const struct { const char *name, *help; } fam[] = {
		{ "cloudsteer_rule_records", "Records the rule holds, as counted against its quota." },
		{ "cloudsteer_rule_quota", "Records the rule may hold (learn.quota, or the rule's quota)." },
	};
	size_t k;
	__u32 id;

	if (pins->fd[CS_M_RULE_QUOTA] < 0)
		return;
	for (k = 0; k < sizeof(fam) / sizeof(fam[0]); k++) {
		family(f, fam[k].name, "gauge", fam[k].help);
		for (id = 1; id <= l->n_rules; id++) {
			struct cs_rule_quota q;
			char rule[16];
			const char *labels[] = { "rule", rule, NULL };

			if (cs_pinned_rule_quota(pins, id, &q))
				continue;
			snprintf(rule, sizeof(rule), "%u", id);
			/* a count learn took below zero reads as zero (learn.bpf.c) */
			sample(f, fam[k].name, labels, k ? q.limit : q.records >> 63 ? 0 : q.records);
		}
	}
}

static void instances(FILE *f, const struct cs_pinned *pins, const struct labels *l)
{
	static const __u32 states[] = { CS_INST_UP, CS_INST_WARMING, CS_INST_DRAINING, CS_INST_DOWN };
	static const struct { const char *name, *type, *help; } fam[] = {
		{ "cloudsteer_instance_packets_total", "counter", "Packets steer sent to the instance." },
		{ "cloudsteer_instance_bytes_total", "counter", "Bytes steer sent to the instance." },
		{ "cloudsteer_instance_streams_total", "counter", "Streams pinned to the instance (new or moved)." },
		{ "cloudsteer_instance_up", "gauge", "1 while the instance takes streams (up or warming)." },
		{ "cloudsteer_instance_state", "gauge", "The instance's state: 1 for the current one." },
	};
	size_t k, s;
	__u32 id;

	if (pins->fd[CS_M_INSTANCES] < 0)
		return;
	for (k = 0; k < sizeof(fam) / sizeof(fam[0]); k++) {
		family(f, fam[k].name, fam[k].type, fam[k].help);
		for (id = 1; id <= l->n_instances; id++) {
			struct cs_instance in;
			struct cs_inst_stat is;
			const char *labels[] = { "service_instance", label_of(l->instance, l->n_instances, id), "chain", "",
						 "stage", label_of(l->stage, l->n_instances, id), "state", NULL, NULL };
			__u64 v[4];

			if (!*labels[1] || cs_pinned_instance(pins, id, &in))
				continue;	/* not an instance of the config */
			labels[3] = label_of(l->chain, l->n_chains, in.chain_id);
			if (cs_pinned_inst_stat(pins, id, &is))
				memset(&is, 0, sizeof(is));
			v[0] = is.packets, v[1] = is.bytes, v[2] = is.flows;
			v[3] = in.state == CS_INST_UP || in.state == CS_INST_WARMING;
			if (k < 4) {
				labels[6] = NULL;
				sample(f, fam[k].name, labels, v[k]);
				continue;
			}
			for (s = 0; s < sizeof(states) / sizeof(states[0]); s++) {
				labels[7] = cs_inst_state_name(states[s]);
				sample(f, fam[k].name, labels, in.state == states[s]);
			}
		}
	}
}

/* What the health probes of each instance of the config found. */
static void probes(FILE *f, const struct cs_daemon_stats *s, const struct labels *l)
{
	static const char *const results[] = { "ok", "failed", "timeout" };
	__u32 id;
	size_t r;

	family(f, "cloudsteer_probe_total", "counter",
	       "Health probes of the instance by result: ok, failed (refused, unreachable, ...), timeout.");
	for (id = 1; id <= l->n_instances; id++) {
		const struct cs_probe_stats *p = &s->probes[id];
		const __u64 *count[] = { &p->ok, &p->failed, &p->timeout };
		const char *labels[] = { "service_instance", l->instance[id - 1], "chain", l->inst_chain[id - 1],
					 "stage", l->stage[id - 1], "result", NULL, NULL };

		for (r = 0; l->instance[id - 1][0] && r < sizeof(results) / sizeof(results[0]); r++) {
			labels[7] = results[r];
			sample(f, "cloudsteer_probe_total", labels, get(count[r]));
		}
	}
	family(f, "cloudsteer_probe_duration_seconds", "histogram",
	       "How long the instance's good health probes took, from start to answer.");
	for (id = 1; id <= l->n_instances; id++) {
		const char *labels[] = { "service_instance", l->instance[id - 1], "chain", l->inst_chain[id - 1],
					 "stage", l->stage[id - 1], NULL };

		if (l->instance[id - 1][0])
			histogram(f, "cloudsteer_probe_duration_seconds", labels, &s->probes[id].latency);
	}
}

/* How full each pinned table is: entries as the last sweep counted them,
 * and the map's max_entries. A hash map past its capacity refuses new
 * entries (learn's table_full, steer's flow_table_full). */
struct map_fill {
	enum cs_pinned_map map;
	const char *name;
	const __u64 *entries;
};

static void map_fill(FILE *f, const struct cs_pinned *pins, const struct map_fill *m, size_t n)
{
	size_t i;

	family(f, "cloudsteer_map_entries", "gauge", "Entries in the pinned map, as the last sweep pass counted them.");
	for (i = 0; i < n; i++)
		if (pins->fd[m[i].map] >= 0)
			sample(f, "cloudsteer_map_entries", (const char *const[]){ "map", m[i].name, NULL },
			       get(m[i].entries));
	family(f, "cloudsteer_map_capacity", "gauge", "The pinned map's max_entries: the entries it can hold.");
	for (i = 0; i < n; i++)
		if (pins->fd[m[i].map] >= 0)
			sample(f, "cloudsteer_map_capacity", (const char *const[]){ "map", m[i].name, NULL },
			       pins->max_entries[m[i].map]);
}

static void run_map_fill(FILE *f, const struct cs_pinned *pins, const struct cs_daemon_stats *s)
{
	const struct map_fill m[] = {
		{ CS_M_RECORDS, "cs_records", &s->records },
		{ CS_M_ROUTES, "cs_routes", &s->routes },
		{ CS_M_FLOWS, "cs_flows", &s->flows },
		{ CS_M_FLOWS_NEW, "cs_flows_new", &s->flows_new },
	};

	map_fill(f, pins, m, sizeof(m) / sizeof(m[0]));
}

static void instance_map_fill(FILE *f, const struct cs_pinned *pins, const struct cs_daemon_stats *s)
{
	/* cloudsteer_streams counts both tables: the proven ones are the rest */
	__u64 all = get(&s->streams), fresh = get(&s->streams_new), proven = all > fresh ? all - fresh : 0;
	const struct map_fill m[] = {
		{ CS_M_STREAMS, "cs_streams", &proven },
		{ CS_M_STREAMS_NEW, "cs_streams_new", &s->streams_new },
	};

	map_fill(f, pins, m, sizeof(m) / sizeof(m[0]));
}

/* ---- an instance node ---- */

static void instance_reasons(FILE *f, const struct cs_pinned *pins)
{
	__u64 count[CS_I_MAX];

	if (!cs_pinned_inst_reasons(pins, count))
		counters_by_name(f, "cloudsteer_stream_packets_total",
				 "Packets seen by the instance program, by outcome (exactly one per packet).", "reason",
				 cs_inst_reason_name, count, 0, CS_I_MAX);
}

/* Where the map is pinned: every reason but CS_NSH_OK, which counts nothing. */
static void nsh_refusals(FILE *f, const struct cs_pinned *pins)
{
	__u64 count[CS_NSH_MAX];

	if (!cs_pinned_nsh_reasons(pins, count))
		counters_by_name(f, "cloudsteer_nsh_refused_total",
				 "Packets whose chain header (VXLAN-GPE and NSH) the instance program refused on the "
				 "way in, or did not send on to the next stage, by reason: dropped.", "reason",
				 cs_nsh_reason_name, count, CS_NSH_OK + 1, CS_NSH_MAX);
}

static void sync_stats(FILE *f, const struct cs_pinned *pins, const struct cs_daemon_stats *ds)
{
#define SYNC(field, name, type, help) { offsetof(struct cs_sync_stat, field), "cloudsteer_sync_" name, type, help }
	static const struct { size_t off; const char *name, *type, *help; } fam[] = {
		SYNC(msgs_sent, "datagrams_sent_total", "counter", "Sync datagrams sent to peers."),
		SYNC(streams_sent, "streams_sent_total", "counter", "Stream versions sent to peers."),
		SYNC(msgs_received, "datagrams_received_total", "counter", "Sync datagrams accepted from peers."),
		SYNC(streams_received, "streams_received_total", "counter", "Stream versions received from peers."),
		SYNC(installed, "installed_total", "counter", "Received versions newer than the local one: written."),
		SYNC(stale, "stale_total", "counter", "Received versions not newer than the local one: ignored."),
		SYNC(refused, "refused_total", "counter",
		     "Datagrams not from a peer, or naming another chain, sender or receiver: refused."),
		SYNC(malformed, "malformed_total", "counter", "Datagrams from peers that did not parse."),
		SYNC(unauthenticated, "unauthenticated_total", "counter",
		     "Datagrams from peer addresses whose tag did not verify: refused."),
		SYNC(send_errors, "send_errors_total", "counter", "Datagrams the kernel would not send."),
		SYNC(resyncs, "resyncs_total", "counter", "Whole-table resyncs (the service map changed)."),
		SYNC(refreshes, "refreshes_total", "counter", "Streams re-sent to keep peers' copies alive."),
		SYNC(map_version, "map_version", "gauge", "The service map version (a Lamport clock)."),
		SYNC(authenticated, "authenticated", "gauge", "1 when sync datagrams carry a keyed tag, 0 without a key."),
	};
#undef SYNC
	struct cs_sync_stat s;
	size_t k;

	if (cs_pinned_sync_stat(pins, &s))
		return;
	for (k = 0; k < sizeof(fam) / sizeof(fam[0]); k++)
		one(f, fam[k].name, fam[k].type, fam[k].help, *(const __u64 *)((const char *)&s + fam[k].off));
	family(f, "cloudsteer_sync_lag_seconds", "histogram",
	       "From a dataplane event to the sync datagram that carries it sent, since the daemon started.");
	histogram(f, "cloudsteer_sync_lag_seconds", NULL, &ds->sync_lag);
}

/* ---- a scrape ---- */

#define RUN_MAPS                                                                                  \
	(CS_PINNED_BIT(CS_M_LEARN_STATS) | CS_PINNED_BIT(CS_M_RULE_STATS) | CS_PINNED_BIT(CS_M_RULE_TRAFFIC) | \
	 CS_PINNED_BIT(CS_M_INSTANCES) | CS_PINNED_BIT(CS_M_INST_STATS) | CS_PINNED_BIT(CS_M_STEER_STATS) |   \
	 CS_PINNED_BIT(CS_M_RECORDS) | CS_PINNED_BIT(CS_M_ROUTES) | CS_PINNED_BIT(CS_M_FLOWS) |                \
	 CS_PINNED_BIT(CS_M_FLOWS_NEW) | CS_PINNED_BIT(CS_M_RULE_QUOTA))
#define INSTANCE_MAPS                                                                                \
	(CS_PINNED_BIT(CS_M_INST_REASONS) | CS_PINNED_BIT(CS_M_SYNC_STATS) | CS_PINNED_BIT(CS_M_NSH_REASONS) | \
	 CS_PINNED_BIT(CS_M_STREAMS) | CS_PINNED_BIT(CS_M_STREAMS_NEW))

/* ---- the cluster (lib/cluster.h), when there is one ---- */

static void cluster_stats(FILE *f, const struct cs_daemon_stats *s, enum cs_metrics_role role)
{
#define CLUSTER(field, name, type, run_only, help)                                                      \
	{ offsetof(struct cs_daemon_stats, cluster_##field), "cloudsteer_cluster_" name, type, run_only, help }
	static const struct { size_t off; const char *name, *type; bool run_only; const char *help; } fam[] = {
		CLUSTER(connected, "connected", "gauge", false, "1 while etcd answers this node's cluster thread."),
		CLUSTER(lease_ttl_s, "lease_ttl_seconds", "gauge", false,
			"The TTL of the node's lease at its last renewal: how long its keys outlive it."),
		CLUSTER(etcd_errors, "etcd_errors_total", "counter", false, "Calls to etcd that failed."),
		CLUSTER(leases_lost, "leases_lost_total", "counter", false,
			"Node leases etcd forgot (a partition longer than their TTL): the node registered again."),
		CLUSTER(relists, "relists_total", "counter", false,
			"Lists of a part's keys after the first (a watch past a compaction, lost events)."),
		CLUSTER(published, "records_published_total", "counter", true,
			"Records this gateway wrote to etcd (new, extended, or published again)."),
		CLUSTER(installed, "records_installed_total", "counter", true,
			"Records of other gateways installed here."),
		CLUSTER(skipped, "records_skipped_total", "counter", true,
			"Records of other gateways not installed: a pattern this node lacks, or a full table or quota."),
		CLUSTER(removed, "records_removed_total", "counter", true,
			"Installed records removed before their expiry because etcd said their key was gone."),
		CLUSTER(map_skipped, "map_values_skipped_total", "counter", false,
			"Values under obs/, leader/, map/ or drain/ that did not parse, and agreed maps that "
			"named other instances than this node's config: skipped."),
		CLUSTER(maps_written, "maps_written_total", "counter", true,
			"Agreed maps this gateway wrote as a chain's leader."),
	};
#undef CLUSTER
	size_t k;

	if (!get(&s->cluster_on))
		return;
	for (k = 0; k < sizeof(fam) / sizeof(fam[0]); k++)
		if (!fam[k].run_only || role == CS_METRICS_RUN)
			one(f, fam[k].name, fam[k].type, fam[k].help, get((const __u64 *)((const char *)s + fam[k].off)));
	if (role != CS_METRICS_RUN)
		return;
	family(f, "cloudsteer_cluster_propagation_lag_seconds", "gauge",
	       "The last install: from the answer on the publishing gateway to the record here (wall clocks).");
	sample_seconds(f, "cloudsteer_cluster_propagation_lag_seconds", get(&s->cluster_lag_ms), 1e3);
}

/* Per chain: the agreed map heard, the one the table was built from (the
 * two equal: this node steers by the agreed map), and leadership. */
static void cluster_chains(FILE *f, const struct cs_daemon_stats *s, const struct labels *l, bool gateway)
{
	static const struct { size_t off; const char *name, *help; bool gateway_only; } fam[] = {
		{ offsetof(struct cs_daemon_stats, cluster_map_revision), "cloudsteer_cluster_map_revision",
		  "The revision of the chain's agreed map this node heard last (0: none yet).", false },
		{ offsetof(struct cs_daemon_stats, cluster_table_revision), "cloudsteer_cluster_table_revision",
		  "The revision of the agreed map the chain's installed table was built from (0: from this "
		  "node's own view). Equal to cloudsteer_cluster_map_revision when it steers by the agreed map.",
		  true },
		{ offsetof(struct cs_daemon_stats, cluster_leading), "cloudsteer_cluster_leader",
		  "1 while this node leads the chain: it decides and writes the chain's agreed map.", true },
	};
	char digest[CS_DIGEST_TEXT];
	size_t k, id;

	if (!get(&s->cluster_on))
		return;
	if (gateway) {
		/* the digest as a label: Prometheus compares the nodes'
		 * (count by (chain) (count by (chain, digest) (...)) > 1) */
		family(f, "cloudsteer_cluster_table_info", "gauge",
		       "The chain's installed table: its digest in names (equal tables, equal digests on every node).");
		for (id = 1; id <= l->n_chains && id < CS_CHAINS_MAX; id++) {
			const char *labels[] = { "chain", l->chain[id - 1], "digest",
						 cs_digest_text(get(&s->cluster_table_digest[id]), digest, sizeof(digest)),
						 NULL };

			if (l->chain[id - 1][0])
				sample(f, "cloudsteer_cluster_table_info", labels, 1);
		}
	}
	for (k = 0; k < sizeof(fam) / sizeof(fam[0]); k++) {
		if (fam[k].gateway_only && !gateway)
			continue;
		family(f, fam[k].name, "gauge", fam[k].help);
		for (id = 1; id <= l->n_chains && id < CS_CHAINS_MAX; id++) {
			const char *labels[] = { "chain", l->chain[id - 1], NULL };

			if (l->chain[id - 1][0])
				sample(f, fam[k].name, labels, get((const __u64 *)((const char *)s + fam[k].off) + id));
		}
	}
}

/* ---- the process, as Prometheus' client libraries name it ---- */

/* Seconds since the epoch when this process started: its start in clock
 * ticks after boot (/proc/self/stat, field 22) plus the boot time
 * (/proc/stat btime). 0 when either cannot be read. */
static double process_start_time(void)
{
	unsigned long long start_ticks = 0, btime = 0;
	char buf[1024], *p;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f;
	size_t n;
	int field;

	f = fopen("/proc/self/stat", "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strrchr(buf, ')');	/* the command name may hold spaces */
	for (field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", &start_ticks) != 1 || hz <= 0)
		return 0;
	f = fopen("/proc/stat", "re");
	if (!f)
		return 0;
	while (fgets(buf, sizeof(buf), f))
		if (sscanf(buf, "btime %llu", &btime) == 1)
			break;
	fclose(f);
	return btime ? (double)btime + (double)start_ticks / (double)hz : 0;
}

static size_t open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n ? n - 1 : 0;	/* not the one opendir holds */
}

static void gauge_double(FILE *f, const char *name, const char *type, const char *help, double v)
{
	family(f, name, type, help);
	fprintf(f, "%s %.6f\n", name, v);
}

static void process_stats(FILE *f, double start_time_s)
{
	unsigned long long vsize = 0, rss = 0;
	struct rusage ru;
	struct rlimit rl;
	FILE *statm;

	if (start_time_s > 0)
		gauge_double(f, "process_start_time_seconds", "gauge",
			     "Start time of the process since unix epoch in seconds.", start_time_s);
	if (!getrusage(RUSAGE_SELF, &ru))
		gauge_double(f, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
			     (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
				     (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	statm = fopen("/proc/self/statm", "re");
	if (statm && fscanf(statm, "%llu %llu", &vsize, &rss) == 2) {
		long page = sysconf(_SC_PAGESIZE);

		one(f, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", vsize * (__u64)page);
		one(f, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", rss * (__u64)page);
	}
	if (statm)
		fclose(statm);
	one(f, "process_open_fds", "gauge", "Number of open file descriptors.", open_fds());
	if (!getrlimit(RLIMIT_NOFILE, &rl))
		one(f, "process_max_fds", "gauge", "Maximum number of open file descriptors.", rl.rlim_cur);
}

int cs_metrics_render(struct cs_metrics *m, FILE *f)
{
	const char *build[] = { "version", CS_VERSION, "role", m->role == CS_METRICS_RUN ? "run" : "instance",
				NULL };
	struct cs_pinned pins;
	char err[512];
	int e;

	e = cs_pinned_open_any(&pins, m->pin_dir, m->role == CS_METRICS_RUN ? RUN_MAPS : INSTANCE_MAPS, err,
			      sizeof(err));
	if (e) {
		cs_warn("metrics: %s", err);
		return e;
	}
	family(f, "cloudsteer_build_info", "gauge", "The version and role of the daemon serving these metrics.");
	sample(f, "cloudsteer_build_info", build, 1);
	if (m->role == CS_METRICS_RUN) {
		table_gauges(f, m->stats);
		flow_tables(f, &pins, m->stats);
		run_map_fill(f, &pins, m->stats);
		learn_reasons(f, &pins);
		pthread_mutex_lock(&m->lock);
		rules(f, &pins, &m->labels);
		rule_quotas(f, &pins, &m->labels);
		instances(f, &pins, &m->labels);
		probes(f, m->stats, &m->labels);
		pthread_mutex_unlock(&m->lock);
	} else {
		one(f, "cloudsteer_streams", "gauge", "Streams held, proven or new (last sweep).",
		    get(&m->stats->streams));
		one(f, "cloudsteer_streams_new", "gauge", "Of those, streams not proven yet (in cs_streams_new).",
		    get(&m->stats->streams_new));
		one(f, "cloudsteer_streams_forgotten_total", "counter",
		    "Streams forgotten once quiet for their state's lifetime.", get(&m->stats->streams_forgotten));
		instance_map_fill(f, &pins, m->stats);
		instance_reasons(f, &pins);
		nsh_refusals(f, &pins);
		sync_stats(f, &pins, m->stats);
	}
	cluster_stats(f, m->stats, m->role);
	pthread_mutex_lock(&m->lock);
	cluster_chains(f, m->stats, &m->labels, m->role == CS_METRICS_RUN);
	pthread_mutex_unlock(&m->lock);
	cs_pinned_close(&pins);
	process_stats(f, m->start_time_s);
	return 0;
}

/* ---- HTTP ---- */

static void reply(int c, const char *status, const char *type, const char *body, size_t len, bool head)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.0 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
			 status, type, len, !strncmp(status, "405", 3) ? "Allow: GET, HEAD\r\n" : "");

	if (send(c, hdr, (size_t)n, MSG_NOSIGNAL) != n || head)
		return;
	while (len) {
		ssize_t w = send(c, body, len, MSG_NOSIGNAL);

		if (w <= 0)
			return;	/* the scraper left or stalled: drop it */
		body += w;
		len -= (size_t)w;
	}
}

static void reply_text(int c, const char *status, const char *text, bool head)
{
	reply(c, status, "text/plain; charset=utf-8", text, strlen(text), head);
}

/* Read the request head: up to the blank line, CS_REQUEST_MAX at most. */
static bool read_head(int c, char *buf, size_t size)
{
	size_t n = 0;

	while (n + 1 < size) {
		ssize_t r = recv(c, buf + n, size - 1 - n, 0);

		if (r <= 0)
			return false;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return true;
	}
	return false;
}

/* GET /healthz: 200 "ok", or 503 and why (healthz.h) */
static void serve_healthz(struct cs_metrics *m, int c, bool head)
{
	char line[512];
	bool ok = cs_healthz_check(m->pin_dir, m->role == CS_METRICS_RUN ? "cs_records" : "cs_streams", line,
				   sizeof(line) - 1);

	strcat(line, "\n");
	reply_text(c, ok ? "200 OK" : "503 Service Unavailable", line, head);
}

static void serve(struct cs_metrics *m, int c)
{
	char req[CS_REQUEST_MAX], method[8], path[256];
	char *body = NULL;
	size_t len = 0;
	bool head;
	FILE *f;

	if (!read_head(c, req, sizeof(req)) || sscanf(req, "%7s %255s", method, path) != 2) {
		reply_text(c, "400 Bad Request", "bad request\n", false);
		return;
	}
	head = !strcmp(method, "HEAD");
	if (strcmp(method, "GET") && !head) {
		reply_text(c, "405 Method Not Allowed", "only GET and HEAD\n", false);
		return;
	}
	path[strcspn(path, "?")] = '\0';
	if (!strcmp(path, "/")) {
		reply_text(c, "200 OK", "cloudsteer: metrics at /metrics\n", head);
		return;
	}
	if (!strcmp(path, "/healthz")) {
		serve_healthz(m, c, head);
		return;
	}
	if (strcmp(path, "/metrics")) {
		reply_text(c, "404 Not Found", "not found; metrics are at /metrics\n", head);
		return;
	}
	f = open_memstream(&body, &len);
	if (!f) {
		reply_text(c, "500 Internal Server Error", "out of memory\n", head);
		return;
	}
	if (cs_metrics_render(m, f)) {
		fclose(f);
		reply_text(c, "503 Service Unavailable", "the pinned state cannot be read; see the daemon's log\n",
			   head);
	} else {
		fclose(f);
		reply(c, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body, len, head);
	}
	free(body);
}

static void *server_main(void *arg)
{
	struct cs_metrics *m = arg;
	struct timeval tv = { .tv_sec = CS_CLIENT_TIMEOUT_MS / 1000,
			      .tv_usec = CS_CLIENT_TIMEOUT_MS % 1000 * 1000 };

	while (!__atomic_load_n(&m->stopping, __ATOMIC_ACQUIRE)) {
		int c = accept4(m->fd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0) {
			if (errno != EINTR && errno != ECONNABORTED && !m->stopping)
				usleep(100000);	/* out of fds, say: do not spin */
			continue;
		}
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		serve(m, c);
		close(c);
	}
	return NULL;
}

/* "127.0.0.1:9477" or "[::1]:9477" */
static const char *listen_text(const struct cs_listen *at, char *buf, size_t len)
{
	char addr[CS_ADDR_TEXT_MAX];
	bool v4 = cs_addr_is_v4(&at->addr);

	snprintf(buf, len, "%s%s%s:%u", v4 ? "" : "[", cs_addr_format(&at->addr, addr, sizeof(addr)), v4 ? "" : "]",
		 at->port);
	return buf;
}

static int listen_on(const struct cs_listen *at, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len = cs_addr_to_sockaddr(&at->addr, at->port, &ss);
	char text[CS_ADDR_TEXT_MAX + 8];
	int one = 1, fd, e;

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 16))
		goto fail;
	return fd;
fail:
	e = errno;
	snprintf(err, errlen, "metrics: cannot listen on %s: %s%s", listen_text(at, text, sizeof(text)),
		 strerror(e), e == EADDRINUSE ? " (another daemon there? give an instance on the same host "
						"its own instance.metrics)" : "");
	if (fd >= 0)
		close(fd);
	return -e;
}

struct cs_metrics *cs_metrics_start(const struct cs_listen *at, enum cs_metrics_role role, const char *pin_dir,
				    const struct cs_conf *conf, const struct cs_daemon_stats *stats, char *err,
				    size_t errlen)
{
	struct cs_metrics *m = calloc(1, sizeof(*m));
	char text[CS_ADDR_TEXT_MAX + 8];
	sigset_t all, old;
	int e;

	if (!m || labels_from(conf, &m->labels)) {
		snprintf(err, errlen, "metrics: out of memory");
		free(m);
		return NULL;
	}
	m->role = role;
	m->pin_dir = pin_dir;
	m->stats = stats;
	m->start_time_s = process_start_time();
	pthread_mutex_init(&m->lock, NULL);
	m->fd = listen_on(at, err, errlen);
	if (m->fd < 0)
		goto fail;
	/* The thread takes no signals: they stay with the daemon's loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&m->thread, NULL, server_main, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		snprintf(err, errlen, "metrics: cannot start its thread: %s", strerror(e));
		close(m->fd);
		goto fail;
	}
	cs_info("metrics on http://%s/metrics", listen_text(at, text, sizeof(text)));
	return m;
fail:
	labels_free(&m->labels);
	free(m);
	return NULL;
}

void cs_metrics_stop(struct cs_metrics *m)
{
	if (!m)
		return;
	__atomic_store_n(&m->stopping, true, __ATOMIC_RELEASE);
	shutdown(m->fd, SHUT_RDWR);	/* wakes accept() */
	pthread_join(m->thread, NULL);
	close(m->fd);
	labels_free(&m->labels);
	free(m);
}
