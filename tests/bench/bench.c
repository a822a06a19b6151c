// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench - per-packet cost of the learn program, against a trivial XDP_PASS
 * program (noop.bpf.c) measured in the same run. `make bench` runs it and
 * it writes build/bench.json (one object per case) and build/bench-env.json
 * (kernel, CPU, date), and prints a table.
 *
 * Cases (one rule, "example.com", unless said; tables preallocated as in
 * production, no lazy_tables; IPv4 UDP frames from port 53):
 *   xdp_noop                 the baseline, ratio 1 by definition
 *   learn_non_dns            a TCP data segment from port 443 (frame_tcp_data)
 *   learn_dns_nomatch        4 A records for www.nomatch.org: parsed, no rule
 *   learn_dns_refresh_1a/4a  www.example.com, 1 or 4 A records already known
 *   learn_dns_new_1a         a record made on every packet (method below)
 *   ..._walked               the same three with the repeat cache off: every
 *                            packet walked, as a first-time answer is (the
 *                            shipped program reuses the outcome of an answer
 *                            repeated within a second, so the repeats of
 *                            BPF_PROG_TEST_RUN measure that path)
 *   learn_dns_refresh_4a_1m  refresh_4a_walked with 1,000,000 other records in
 *                            cs_records (filled with bpf_map_update_batch)
 *   learn_dns_refresh_4a_100k_rules  refresh_4a under 100,000 more patterns
 *                            (a rule list file, 2 to 4 labels: rule_lookups
 *                            says how many rule map lookups the name costs)
 * The last two are measured interleaved with refresh_4a_walked on the small table
 * too, and vs_refresh_4a is the median of the per-run ratios.
 *
 * Method, steady-state cases (all but learn_dns_new_1a):
 *   BPF_PROG_TEST_RUN with a large `repeat`, calibrated so one measurement
 *   takes about -t milliseconds (200 by default) of kernel time; the figure is
 *   opts.duration, the kernel's own ns per run averaged over the repeats
 *   (integer ns, so 1 ns resolution). Each case is measured -r times (7),
 *   interleaved with the baseline in ABBA order (noop, case | case, noop | ...)
 *   so drift cancels. ns_per_pkt is the median of the case's runs; ratio is
 *   the median of the per-run case/noop ratios. The same input runs every
 *   repeat, so everything it touches stays in cache: these are warm-cache
 *   figures.
 *
 * Method, learn_dns_new_1a (a record the table does not hold yet):
 *   the kernel repeats one fixed input, so only the first repeat could
 *   insert. Instead the program runs with repeat=1 in a loop. Each iteration
 *   first removes the record and its route (and gives the route's ACL id back
 *   to the pool) and drains the ring buffer, outside any timing, as the
 *   daemon would; then runs noop, learn (inserts: record, route, ACL id,
 *   event) and learn again (refreshes the record just made), each with
 *   repeat=1, keeping the kernel's duration of each. A repeat=1 duration
 *   holds the timer's own cost (~50 ns here) and a cold start after the
 *   syscall: subtracting noop's repeat=1 duration removes the first but not
 *   the second, which costs learn some 150 ns more than noop. The insert and
 *   the refresh pay it alike, so the reported figure is
 *       ns_per_pkt = warm refresh (repeat calibrated, as the other cases)
 *                    + tmean(insert) - tmean(refresh)
 *   per run (tmean: mean without the top and bottom 10%), median over runs.
 *   The plain subtraction, tmean(insert) - tmean(noop) + warm noop, is kept
 *   as noop_subtracted_ns, with the same formula applied to the refresh as
 *   refresh_noop_subtracted_ns: its distance from refresh_warm_ns is that
 *   figure's cold-start bias.
 *
 * Steer cases (TC program, IPv4 UDP 10.1.0.5:40000 -> 192.0.2.7:443 unless
 * said; one chain, route mode, 256 buckets {1, 2}, instances on ifindex 1 so
 * no FIB lookup; in a test run bpf_redirect_neigh returns TC_ACT_REDIRECT
 * without sending):
 *   tc_noop                  the TC baseline: a sched_cls program returning
 *                            TC_ACT_OK. A TC test run builds an skb, which an
 *                            XDP test run does not, so the steer ratios are
 *                            against tc_noop, never against xdp_noop
 *   steer_miss               destination and source not a route: two lookups
 *   steer_hit_pinned         a pinned stream, every repeat: flow lookup, counts,
 *                            redirect (TC_ACT_REDIRECT)
 *   steer_hit_new_flow       a stream steer has no flow for: the flow is
 *                            deleted between repeat=1 runs (method below)
 * steer_miss and steer_hit_pinned are measured as the warm learn cases, ABBA
 * with tc_noop. steer_hit_new_flow as learn_dns_new_1a: each iteration deletes
 * the flow untimed, then runs tc_noop, steer (new flow: affinity code, insert,
 * bucket pick) and steer (the pinned repeat), each repeat=1; ns = warm
 * steer_hit_pinned (same run) + tmean(new) - tmean(pinned). Paths: miss must
 * leave cs_flows empty; every pinned repeat must count on the flow and on
 * instance 1; every new run must pin one stream to instance 1.
 *
 * Paths are checked: before measuring, one run must count the expected
 * packet reason (cs_learn_stats), and afterwards every measured packet must
 * have counted it; otherwise the bench fails.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/utsname.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <bpf/libbpf_version.h>

#include "cloudsteer.h"
#include "lib/config.h"
#include "lib/learnprog.h"
#include "lib/rules.h"
#include "lib/json.h"
#include "pkt.h"
#include "learn.skel.h"
#include "noop.skel.h"
#include "steer.skel.h"
#include "tc_noop.skel.h"

#define MAX_RUNS 31
#define RULES_100K 100000
#define FILL_1M 1000000
#define NEW_ITERS 3000		/* repeat=1 iterations per run of learn_dns_new_1a */

static int g_runs = 7;
static double g_target_ns = 200e6;
static const char *g_dir = "build/bench";
static const char *g_out = "build/bench.json";
static const char *g_env = "build/bench-env.json";
static int g_cpu = -1;
static char g_prog_tag[2 * BPF_TAG_SIZE + 1] = "?";	/* of the learn program measured */
static __u32 g_prog_jited, g_prog_xlated;

static const char METHOD_WARM[] =
	"BPF_PROG_TEST_RUN, repeat calibrated to ~target_ms, opts.duration (kernel ns/run, 1 ns "
	"resolution); median of runs interleaved ABBA with xdp_noop; ratio = median of per-run "
	"case/noop; same input every repeat, so warm cache";
static const char METHOD_NEW[] =
	"repeat=1 loop: each iteration deletes the record and route (ACL id back to the pool) and "
	"drains the ring buffer untimed, then runs noop, learn (insert), learn (refresh of the record "
	"just made), each repeat=1; ns = warm refresh_1a ns (same run) + trimmed mean(insert) - "
	"trimmed mean(refresh); median over runs. noop_subtracted_ns = trimmed mean(insert) - "
	"trimmed mean(noop) + warm noop; refresh_noop_subtracted_ns, the same for the refresh, "
	"shows that figure's cold-cache bias against refresh_warm_ns";

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(const double *v, int n)
{
	double s[n > 0 ? n : 1];

	if (n <= 0)
		return 0;
	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

/* Mean without the lowest and highest 10%: interrupts land in the top tail. */
static double trimmed_mean(double *v, int n)
{
	int cut = n / 10, i;
	double sum = 0;

	qsort(v, n, sizeof(*v), cmp_double);
	for (i = cut; i < n - cut; i++)
		sum += v[i];
	return sum / (n - 2 * cut);
}

static double vmin(const double *v, int n)
{
	double m = v[0];

	while (--n > 0)
		if (v[n] < m)
			m = v[n];
	return m;
}

static double vmax(const double *v, int n)
{
	double m = v[0];

	while (--n > 0)
		if (v[n] > m)
			m = v[n];
	return m;
}

/* ---- frames ---- */

struct frame {
	__u8 b[FRAME_CAP];
	__u32 len;
};

static void dns_frame(struct frame *f, const char *name, const char *const *ips, int n)
{
	static struct dnsmsg m;
	struct frame_opts o = { 0 };

	dns_simple_answer(&m, name, ips, n, 300);
	f->len = frame_build(f->b, &o, m.b, m.len);
}

static void v4mapped(struct cs_addr *a, const char *ip)
{
	memset(a, 0, sizeof(*a));
	a->b[10] = 0xff;
	a->b[11] = 0xff;
	if (inet_pton(AF_INET, ip, &a->b[12]) != 1)
		die("bad address %s", ip);
}

/* ---- programs ---- */

static __u32 run_prog_rv(int prog_fd, const struct frame *f, __u32 repeat, __u32 rv)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = f->len, .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &o))
		die("BPF_PROG_TEST_RUN failed: %s", strerror(errno));
	if (o.retval != rv)
		die("the program returned %u, not %u", o.retval, rv);
	return o.duration;
}

static __u32 run_prog(int prog_fd, const struct frame *f, __u32 repeat)
{
	return run_prog_rv(prog_fd, f, repeat, XDP_PASS);
}

struct inst {
	const char *label;
	struct cs_conf conf;
	struct cs_ruleset rs;
	struct learn_bpf *skel;
	int prog_fd, stats_fd, records_fd, routes_fd, pool_fd, events_fd;
};

/* walk: never reuse a repeated answer's outcome, so every packet takes the
 * full path a first-time answer takes */
static void inst_load(struct inst *in, const char *label, const char *yaml, bool walk)
{
	struct cs_learn_opts opts = { .acl_ids = 1024, .walk_repeats = walk };	/* preallocated */
	char err[512];

	memset(in, 0, sizeof(*in));
	in->label = label;
	if (cs_config_load(yaml, &in->conf, err, sizeof(err)))
		die("%s", err);
	in->conf.match_queries = false;	/* the answers come without queries */
	in->skel = cs_learn_load(&in->conf, &opts, &in->rs, err, sizeof(err));
	if (!in->skel)
		die("%s: %s", label, err);
	in->prog_fd = bpf_program__fd(in->skel->progs.learn);
	in->stats_fd = bpf_map__fd(in->skel->maps.cs_learn_stats);
	in->records_fd = bpf_map__fd(in->skel->maps.cs_records);
	in->routes_fd = bpf_map__fd(in->skel->maps.cs_routes);
	in->pool_fd = bpf_map__fd(in->skel->maps.cs_acl_pool);
	in->events_fd = bpf_map__fd(in->skel->maps.cs_learn_events);
}

/* Which learn program this is: its tag identifies the code, whatever the tree says. */
static void prog_identify(int prog_fd)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info), i;

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return;
	for (i = 0; i < BPF_TAG_SIZE; i++)
		snprintf(&g_prog_tag[2 * i], 3, "%02x", info.tag[i]);
	g_prog_jited = info.jited_prog_len;
	g_prog_xlated = info.xlated_prog_len;
}

static void inst_free(struct inst *in)
{
	learn_bpf__destroy(in->skel);
	cs_rules_free(&in->rs);
	cs_config_free(&in->conf);
	in->skel = NULL;
}

static void stats_read(const struct inst *in, __u64 *out)
{
	if (cs_sum_percpu(in->stats_fd, out, CS_R_MAX))
		die("cannot read cs_learn_stats: %s", strerror(errno));
}

/* Packets counted under any packet reason, and under `reason`, since `before`. */
static void stats_delta(const struct inst *in, const __u64 *before, __u32 reason, __u64 *all, __u64 *hit)
{
	__u64 after[CS_R_MAX];
	__u32 r;

	stats_read(in, after);
	*all = 0;
	for (r = 1; r < CS_R_PACKET_END; r++)
		*all += after[r] - before[r];
	*hit = after[reason] - before[reason];
}

/* One run of `f` must count `reason` and nothing else. */
static void expect_path(const struct inst *in, const struct frame *f, __u32 reason, const char *what)
{
	__u64 before[CS_R_MAX], all, hit;
	__u32 r;

	stats_read(in, before);
	run_prog(in->prog_fd, f, 1);
	stats_delta(in, before, reason, &all, &hit);
	if (all == 1 && hit == 1)
		return;
	{
		__u64 after[CS_R_MAX];

		stats_read(in, after);
		for (r = 1; r < CS_R_PACKET_END; r++)
			if (after[r] != before[r])
				fprintf(stderr, "bench: %s: counted %s\n", what, cs_reason_name(r));
	}
	die("%s: expected packet reason %s", what, cs_reason_name(reason));
}

/* Rule map lookups for a name of `labels` labels: one per depth some pattern has. */
static int rule_lookups(const struct inst *in, __u32 labels)
{
	int n = 0;
	__u32 d;

	for (d = 1; d <= labels && d < 128; d++)
		n += (in->rs.depth_mask[d >> 6] >> (d & 63)) & 1;
	return n;
}

static long map_count(int fd, __u32 key_size, __u32 value_size)
{
	const __u32 chunk = 65536;
	char *keys = malloc((size_t)chunk * key_size), *vals = malloc((size_t)chunk * value_size);
	__u64 in_batch[8], out_batch[8];
	bool first = true;
	long total = 0;

	if (!keys || !vals)
		die("out of memory");
	for (;;) {
		LIBBPF_OPTS(bpf_map_batch_opts, o);
		__u32 count = chunk;
		int e = bpf_map_lookup_batch(fd, first ? NULL : in_batch, out_batch, keys, vals, &count, &o);

		total += count;
		if (e) {
			if (errno == ENOENT)
				break;
			die("cannot count map entries: %s", strerror(errno));
		}
		memcpy(in_batch, out_batch, sizeof(in_batch));
		first = false;
	}
	free(keys);
	free(vals);
	return total;
}

static long records_count(const struct inst *in)
{
	return map_count(in->records_fd, sizeof(struct cs_record_key), sizeof(struct cs_record));
}

/* ---- measuring ---- */

struct arm {
	const char *label;
	int prog_fd;
	const struct frame *f;
	__u32 repeat;
	double ns[MAX_RUNS];
	const __u32 *rv;	/* expected verdict; NULL: XDP_PASS */
};

static double g_noop_ns[MAX_RUNS * 16];	/* every warm noop measurement, for the xdp_noop row */
static int g_noop_n;
static __u32 g_noop_repeat;

static __u32 calibrate_rv(int prog_fd, const struct frame *f, __u32 rv)
{
	__u32 d, repeat;

	run_prog_rv(prog_fd, f, 10000, rv);	/* warm up */
	d = run_prog_rv(prog_fd, f, 100000, rv);
	if (d < 1)
		d = 1;
	repeat = (__u32)(g_target_ns / d);
	repeat = repeat / 10000 * 10000;
	if (repeat < 100000)
		repeat = 100000;
	if (repeat > 100000000)
		repeat = 100000000;
	return repeat;
}

static __u32 calibrate(int prog_fd, const struct frame *f)
{
	return calibrate_rv(prog_fd, f, XDP_PASS);
}

/* arms[0] is the baseline; each run goes forward or backward through the arms. */
static void measure(struct arm *arms, int n)
{
	int r, i;

	for (i = 0; i < n; i++)
		arms[i].repeat = calibrate_rv(arms[i].prog_fd, arms[i].f, arms[i].rv ? *arms[i].rv : XDP_PASS);
	for (r = 0; r < g_runs; r++)
		for (i = 0; i < n; i++) {
			struct arm *a = &arms[r % 2 ? n - 1 - i : i];

			a->ns[r] = run_prog_rv(a->prog_fd, a->f, a->repeat, a->rv ? *a->rv : XDP_PASS);
		}
	if (arms[0].rv)
		return;	/* the TC baseline: the steer cases keep their own */
	for (r = 0; r < g_runs && g_noop_n < (int)(sizeof(g_noop_ns) / sizeof(g_noop_ns[0])); r++)
		g_noop_ns[g_noop_n++] = arms[0].ns[r];
	g_noop_repeat = arms[0].repeat;
}

static double ratio_median(const struct arm *num, const struct arm *den)
{
	double q[MAX_RUNS];
	int r;

	for (r = 0; r < g_runs; r++)
		q[r] = num->ns[r] / den->ns[r];
	return median(q, g_runs);
}

/* ---- results ---- */

struct result {
	const char *name;
	double ns, ratio, noop_ns, lo, hi;
	double samples[MAX_RUNS];
	int runs;
	__u32 repeat;
	const char *path;
	long table_records;	/* -1: not applicable */
	long rules;
	int lookups;
	const char *method;
	const char *target;	/* NULL: none */
	bool meets;
	double vs;		/* bench_vs: median per-run ratio to refresh_4a on the small table */
	char extra[1024];	/* more JSON members, each starting with ',' */
};

static struct result g_res[24];
static int g_nres;

static struct result *result_new(const char *name)
{
	struct result *res = &g_res[g_nres++];

	memset(res, 0, sizeof(*res));
	res->name = name;
	res->table_records = -1;
	res->rules = -1;
	res->lookups = -1;
	res->method = METHOD_WARM;
	return res;
}

/* The n measurements of a case: the first MAX_RUNS kept as samples; the
 * median, min and max over all n. */
static void result_samples(struct result *res, const double *ns, int n)
{
	res->runs = n < MAX_RUNS ? n : MAX_RUNS;
	memcpy(res->samples, ns, sizeof(double) * (size_t)res->runs);
	res->ns = median(ns, n);
	res->lo = vmin(ns, n);
	res->hi = vmax(ns, n);
}

static void result_arm(struct result *res, const struct arm *a, const struct arm *noop)
{
	result_samples(res, a->ns, g_runs);
	res->repeat = a->repeat;
	res->noop_ns = median(noop->ns, g_runs);
	res->ratio = ratio_median(a, noop);
}

static void extra(struct result *res, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void extra(struct result *res, const char *fmt, ...)
{
	size_t used = strlen(res->extra);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->extra + used, sizeof(res->extra) - used, fmt, ap);
	va_end(ap);
}

static void write_json(const char *path)
{
	char tmp[4096];
	FILE *f;
	int i, r;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		die("cannot write %s: %s", tmp, strerror(errno));
	fprintf(f, "[\n");
	for (i = 0; i < g_nres; i++) {
		const struct result *res = &g_res[i];

		fprintf(f, "  {\"case\": ");
		cs_json_string(f, res->name);
		fprintf(f, ", \"ns_per_pkt\": %.2f, \"ratio\": %.3f", res->ns, res->ratio);
		if (res->target) {
			fprintf(f, ", \"target\": ");
			cs_json_string(f, res->target);
			fprintf(f, ", \"meets\": %s", res->meets ? "true" : "false");
		}
		fprintf(f, ", \"noop_ns\": %.2f, \"runs\": %d, \"repeat\": %u", res->noop_ns, res->runs,
			res->repeat);
		fprintf(f, ", \"min_ns\": %.2f, \"max_ns\": %.2f, \"samples_ns\": [", res->lo, res->hi);
		for (r = 0; r < res->runs; r++)
			fprintf(f, "%s%.2f", r ? ", " : "", res->samples[r]);
		fprintf(f, "]");
		if (res->path) {
			fprintf(f, ", \"path\": ");
			cs_json_string(f, res->path);
		}
		if (res->table_records >= 0)
			fprintf(f, ", \"table_records\": %ld", res->table_records);
		if (res->rules >= 0)
			fprintf(f, ", \"rules\": %ld", res->rules);
		if (res->lookups >= 0)
			fprintf(f, ", \"rule_lookups\": %d", res->lookups);
		fputs(res->extra, f);
		fprintf(f, ", \"method\": ");
		cs_json_string(f, res->method);
		fprintf(f, "}%s\n", i + 1 < g_nres ? "," : "");
	}
	fprintf(f, "]\n");
	if (fclose(f) || rename(tmp, path))
		die("cannot write %s: %s", path, strerror(errno));
}

static void print_table(void)
{
	int i;

	printf("\n%-33s %9s %7s %17s  %-34s %s\n", "case", "ns/pkt", "ratio", "min..max ns", "target",
	       "meets");
	for (i = 0; i < g_nres; i++) {
		const struct result *res = &g_res[i];
		char range[40];

		snprintf(range, sizeof(range), "%.1f..%.1f", res->lo, res->hi);
		printf("%-33s %9.1f %7.2f %17s  %-34s %s\n", res->name, res->ns, res->ratio, range,
		       res->target ? res->target : "", res->target ? (res->meets ? "yes" : "NO") : "");
	}
}

/* ---- environment ---- */

static void read_line(const char *path, char *out, size_t n)
{
	FILE *f = fopen(path, "r");

	snprintf(out, n, "?");
	if (!f)
		return;
	if (fgets(out, (int)n, f))
		out[strcspn(out, "\n")] = 0;
	fclose(f);
}

static void cpu_model(char *out, size_t n)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "r");

	snprintf(out, n, "?");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (!strncmp(line, "model name", 10) && colon) {
			colon++;
			while (*colon == ' ' || *colon == '\t')
				colon++;
			colon[strcspn(colon, "\n")] = 0;
			snprintf(out, n, "%s", colon);
			break;
		}
	}
	fclose(f);
}

static void write_env(const char *path, double elapsed)
{
	char cpu[256], jit[32], stats[32], date[64], tmp[4096];
	struct utsname u;
	time_t t = time(NULL);
	FILE *f;

	uname(&u);
	cpu_model(cpu, sizeof(cpu));
	read_line("/proc/sys/net/core/bpf_jit_enable", jit, sizeof(jit));
	read_line("/proc/sys/kernel/bpf_stats_enabled", stats, sizeof(stats));
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	if (!path) {
		printf("kernel %s, cpu %s x%ld, pinned to cpu %d, jit %s, bpf_stats %s, libbpf %d.%d, %s\n",
		       u.release, cpu, sysconf(_SC_NPROCESSORS_ONLN), g_cpu, jit, stats,
		       LIBBPF_MAJOR_VERSION, LIBBPF_MINOR_VERSION, date);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		die("cannot write %s: %s", tmp, strerror(errno));
	fprintf(f, "{\"kernel\": ");
	cs_json_string(f, u.release);
	fprintf(f, ", \"machine\": ");
	cs_json_string(f, u.machine);
	fprintf(f, ", \"cpu\": ");
	cs_json_string(f, cpu);
	fprintf(f, ", \"cpus\": %ld, \"pinned_cpu\": %d, \"date\": \"%s\"", sysconf(_SC_NPROCESSORS_ONLN),
		g_cpu, date);
	fprintf(f, ", \"bpf_jit_enable\": ");
	cs_json_string(f, jit);
	fprintf(f, ", \"bpf_stats_enabled\": ");
	cs_json_string(f, stats);
	fprintf(f, ", \"libbpf\": \"%d.%d\", \"version\": ", LIBBPF_MAJOR_VERSION, LIBBPF_MINOR_VERSION);
	cs_json_string(f, CS_VERSION);
	fprintf(f, ", \"learn_prog_tag\": \"%s\", \"learn_jited_bytes\": %u, \"learn_xlated_bytes\": %u",
		g_prog_tag, g_prog_jited, g_prog_xlated);
	fprintf(f, ", \"runs\": %d, \"target_ms\": %.0f, \"elapsed_s\": %.1f}\n", g_runs, g_target_ns / 1e6,
		elapsed);
	if (fclose(f) || rename(tmp, path))
		die("cannot write %s: %s", path, strerror(errno));
}

/* ---- configs ---- */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f))
		die("cannot write %s: %s", path, strerror(errno));
}

/* The small config: one rule, what the packets of most cases match. */
static void config_small(char *path, size_t n)
{
	snprintf(path, n, "%s/small.yaml", g_dir);
	write_file(path, "# written by tests/bench/bench.c\n"
			 "rules:\n"
			 "  - match:\n"
			 "      - example.com\n");
}

/*
 * 100,000 distinct patterns in a rule list, plus example.com in a rule of its
 * own. A mix like a real block list: 60% two labels, 30% three, 10% four;
 * every 7th a wildcard, every 11th exact.
 */
static void config_100k(char *path, size_t n)
{
	char list[4096];
	FILE *f;
	int i;

	snprintf(list, sizeof(list), "%s/rules-100k.txt", g_dir);
	f = fopen(list, "w");
	if (!f)
		die("cannot write %s: %s", list, strerror(errno));
	fprintf(f, "# written by tests/bench/bench.c: %d patterns\n", RULES_100K);
	for (i = 0; i < RULES_100K; i++) {
		const char *pfx = i % 7 == 0 ? "*." : i % 11 == 0 ? "=" : "";

		if (i % 10 < 6)
			fprintf(f, "%ssite%d.com\n", pfx, i);
		else if (i % 10 < 9)
			fprintf(f, "%sapi%d.svc%d.net\n", pfx, i, i / 10);
		else
			fprintf(f, "%sa%d.b.edge%d.org\n", pfx, i, i % 97);
	}
	if (fclose(f))
		die("cannot write %s: %s", list, strerror(errno));
	snprintf(path, n, "%s/rules-100k.yaml", g_dir);
	write_file(path, "# written by tests/bench/bench.c\n"
			 "rules:\n"
			 "  - match:\n"
			 "      - example.com\n"
			 "  - file: rules-100k.txt\n");
}

/* ---- the 1M-record table ---- */

static __u64 splitmix64(__u64 *s)
{
	__u64 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* `n` distinct records, as if learned for n other names and IPs. */
static void fill_records(const struct inst *in, __u32 n)
{
	const __u32 chunk = 131072;
	struct cs_record_key *keys = calloc(chunk, sizeof(*keys));
	struct cs_record *vals = calloc(chunk, sizeof(*vals));
	__u64 seed = 0x5eed;
	__u32 done = 0, i;

	if (!keys || !vals)
		die("out of memory");
	while (done < n) {
		LIBBPF_OPTS(bpf_map_batch_opts, o);	/* elem_flags: only BPF_F_LOCK is allowed */
		__u32 count = n - done < chunk ? n - done : chunk;

		for (i = 0; i < count; i++) {
			__u32 ip = 0x0a000000u + done + i;	/* 10.0.0.0 + i: distinct */

			keys[i].name_id = splitmix64(&seed);
			memset(&keys[i].addr, 0, sizeof(keys[i].addr));
			keys[i].addr.b[10] = 0xff;
			keys[i].addr.b[11] = 0xff;
			ip = htonl(ip);
			memcpy(&keys[i].addr.b[12], &ip, 4);
			vals[i] = (struct cs_record){ .expires_ns = ~0ULL >> 1, .rule_id = 1,
						      .pattern_id = 1, .ttl = 300, .hits = 1 };
		}
		if (bpf_map_update_batch(in->records_fd, keys, vals, &count, &o))
			die("cannot fill cs_records (%u done): %s", done, strerror(errno));
		done += count;
	}
	free(keys);
	free(vals);
}

/* ---- cases ---- */

static struct frame f_tcp, f_nomatch, f_1a, f_4a, f_new;
static const char *const IPS4[] = { "198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4" };

/* One warm case against the baseline; checks every measured packet's path. */
static struct result *bench_warm(const char *name, const struct inst *in, int noop_fd,
				 const struct frame *f, __u32 reason)
{
	struct arm arms[2] = { { "noop", noop_fd, f, 0, { 0 }, NULL }, { name, in->prog_fd, f, 0, { 0 }, NULL } };
	__u64 before[CS_R_MAX], all, hit;
	struct result *res;

	expect_path(in, f, reason, name);
	stats_read(in, before);
	measure(arms, 2);
	stats_delta(in, before, reason, &all, &hit);
	if (all != hit)
		die("%s: %llu of %llu packets left the %s path", name, (unsigned long long)(all - hit),
		    (unsigned long long)all, cs_reason_name(reason));
	res = result_new(name);
	result_arm(res, &arms[1], &arms[0]);
	res->path = cs_reason_name(reason);
	res->table_records = records_count(in);
	res->rules = (long)in->conf.n_patterns;
	return res;
}

/* A refresh on `big` against the same on the small instance, both against noop. */
static struct result *bench_vs(const char *name, const struct inst *small, const struct inst *big,
			       int noop_fd, const struct frame *f)
{
	struct arm arms[3] = { { "noop", noop_fd, f, 0, { 0 }, NULL },
			       { "refresh_4a", small->prog_fd, f, 0, { 0 }, NULL },
			       { name, big->prog_fd, f, 0, { 0 }, NULL } };
	__u64 before[CS_R_MAX], all, hit;
	struct result *res;

	expect_path(big, f, CS_R_REFRESHED, name);
	expect_path(small, f, CS_R_REFRESHED, name);
	stats_read(big, before);
	measure(arms, 3);
	stats_delta(big, before, CS_R_REFRESHED, &all, &hit);
	if (all != hit)
		die("%s: packets left the refreshed path", name);
	res = result_new(name);
	result_arm(res, &arms[2], &arms[0]);
	res->path = cs_reason_name(CS_R_REFRESHED);
	res->table_records = records_count(big);
	res->rules = (long)big->conf.n_patterns;
	res->vs = ratio_median(&arms[2], &arms[1]);
	extra(res, ", \"vs_refresh_4a\": %.3f, \"refresh_4a_ns\": %.2f", res->vs, median(arms[1].ns, g_runs));
	return res;
}

static int on_event(void *ctx, void *data, size_t size)
{
	(*(unsigned long *)ctx)++;
	return 0;
}

/* Remove what learning the record made, so the next run makes it again. */
static void forget(const struct inst *in, const struct cs_record_key *key)
{
	struct cs_route rt;

	if (bpf_map_lookup_elem(in->routes_fd, &key->addr, &rt) == 0) {
		if (bpf_map_delete_elem(in->routes_fd, &key->addr))
			die("cannot delete the route: %s", strerror(errno));
		if (rt.acl_id && bpf_map_update_elem(in->pool_fd, NULL, &rt.acl_id, BPF_ANY))
			die("cannot give the ACL id back: %s", strerror(errno));
	}
	if (bpf_map_delete_elem(in->records_fd, key))
		die("cannot delete the record: %s", strerror(errno));
}

static struct result *bench_new(const struct inst *in, int noop_fd)
{
	static double d_noop[NEW_ITERS], d_new[NEW_ITERS], d_ref[NEW_ITERS];
	double ns[MAX_RUNS], ratio[MAX_RUNS], sub[MAX_RUNS], ctl[MAX_RUNS], extra_ns[MAX_RUNS];
	double w_noop[MAX_RUNS], w_ref[MAX_RUNS], l_noop[MAX_RUNS], l_new[MAX_RUNS], l_ref[MAX_RUNS];
	const char *ip[] = { "203.0.113.7" };
	struct cs_record_key key;
	struct cs_record rec;
	struct ring_buffer *rb;
	unsigned long events = 0;
	__u64 before[CS_R_MAX], after[CS_R_MAX], learned, refreshed, all = 0, warm_pkts = 0;
	__u32 noop_repeat, ref_repeat, k;
	struct result *res;
	int r, i;

	dns_frame(&f_new, "new.example.com", ip, 1);
	memset(&key, 0, sizeof(key));
	key.name_id = cs_text_name_hash(in->rs.key, "new.example.com", NULL);
	v4mapped(&key.addr, ip[0]);
	rb = ring_buffer__new(in->events_fd, on_event, &events, NULL);
	if (!rb)
		die("cannot open the ring buffer: %s", strerror(errno));

	expect_path(in, &f_1a, CS_R_REFRESHED, "learn_dns_new_1a (warm refresh)");
	expect_path(in, &f_new, CS_R_LEARNED, "learn_dns_new_1a");
	if (bpf_map_lookup_elem(in->records_fd, &key, &rec))
		die("learn_dns_new_1a: the record is not where the bench looks for it");
	noop_repeat = calibrate(noop_fd, &f_1a);
	ref_repeat = calibrate(in->prog_fd, &f_1a);
	ring_buffer__consume(rb);
	events = 0;
	stats_read(in, before);
	for (r = 0; r < g_runs; r++) {
		/* the warm figures of this run, ABBA like the other cases */
		if (r % 2) {
			w_ref[r] = run_prog(in->prog_fd, &f_1a, ref_repeat);
			w_noop[r] = run_prog(noop_fd, &f_1a, noop_repeat);
		} else {
			w_noop[r] = run_prog(noop_fd, &f_1a, noop_repeat);
			w_ref[r] = run_prog(in->prog_fd, &f_1a, ref_repeat);
		}
		warm_pkts += ref_repeat;
		for (i = 0; i < NEW_ITERS; i++) {
			forget(in, &key);
			ring_buffer__consume(rb);
			d_noop[i] = run_prog(noop_fd, &f_new, 1);
			d_new[i] = run_prog(in->prog_fd, &f_new, 1);
			d_ref[i] = run_prog(in->prog_fd, &f_new, 1);
		}
		l_noop[r] = trimmed_mean(d_noop, NEW_ITERS);
		l_new[r] = trimmed_mean(d_new, NEW_ITERS);
		l_ref[r] = trimmed_mean(d_ref, NEW_ITERS);
		extra_ns[r] = l_new[r] - l_ref[r];
		ns[r] = w_ref[r] + extra_ns[r];
		ratio[r] = ns[r] / w_noop[r];
		sub[r] = l_new[r] - l_noop[r] + w_noop[r];
		ctl[r] = l_ref[r] - l_noop[r] + w_noop[r];
	}
	ring_buffer__consume(rb);
	stats_read(in, after);
	for (k = 1; k < CS_R_PACKET_END; k++)
		all += after[k] - before[k];
	learned = after[CS_R_LEARNED] - before[CS_R_LEARNED];
	refreshed = after[CS_R_REFRESHED] - before[CS_R_REFRESHED];
	if (learned != (__u64)g_runs * NEW_ITERS || refreshed != learned + warm_pkts ||
	    all != learned + refreshed)
		die("learn_dns_new_1a: %llu learned, %llu refreshed of %llu packets: not the paths measured",
		    (unsigned long long)learned, (unsigned long long)refreshed, (unsigned long long)all);
	if (events != learned)
		die("learn_dns_new_1a: %lu events for %llu new records", events, (unsigned long long)learned);
	ring_buffer__free(rb);
	for (r = 0; r < g_runs && g_noop_n < (int)(sizeof(g_noop_ns) / sizeof(g_noop_ns[0])); r++)
		g_noop_ns[g_noop_n++] = w_noop[r];

	res = result_new("learn_dns_new_1a");
	result_samples(res, ns, g_runs);
	res->repeat = 1;
	res->noop_ns = median(w_noop, g_runs);
	res->ratio = median(ratio, g_runs);
	res->path = cs_reason_name(CS_R_LEARNED);
	res->table_records = records_count(in);
	res->rules = (long)in->conf.n_patterns;
	res->method = METHOD_NEW;
	extra(res, ", \"iterations\": %d, \"insert_minus_refresh_ns\": %.2f, \"refresh_warm_ns\": %.2f, "
		   "\"noop_subtracted_ns\": %.2f, \"refresh_noop_subtracted_ns\": %.2f, "
		   "\"loop_noop_ns\": %.2f, \"loop_new_ns\": %.2f, \"loop_refresh_ns\": %.2f",
	      NEW_ITERS, median(extra_ns, g_runs), median(w_ref, g_runs), median(sub, g_runs),
	      median(ctl, g_runs), median(l_noop, g_runs), median(l_new, g_runs), median(l_ref, g_runs));
	return res;
}

/* ---- steer ---- */

#define TC_OK 0u
#define TC_REDIRECT 7u

static const __u32 RV_TC_OK = TC_OK, RV_TC_REDIRECT = TC_REDIRECT;
static const char METHOD_STEER_WARM[] =
	"BPF_PROG_TEST_RUN (TC), repeat calibrated to ~target_ms, opts.duration; median of runs "
	"interleaved ABBA with tc_noop; ratio = median of per-run case/tc_noop (not xdp_noop: a TC "
	"test run builds an skb); same input every repeat, so warm cache";
static const char METHOD_STEER_NEW[] =
	"repeat=1 loop: each iteration deletes the flow untimed, then runs tc_noop, steer (new flow: "
	"affinity code, insert, bucket pick), steer (pinned), each repeat=1; ns = warm "
	"steer_hit_pinned ns (same run) + trimmed mean(new) - trimmed mean(pinned); ratio = ns / warm "
	"tc_noop ns; median over runs";

struct steer_inst {
	struct steer_bpf *skel;
	int prog_fd, flows_fd, inst_stats_fd, table_fd;
};

static double g_tc_noop_ns[MAX_RUNS * 4];
static int g_tc_noop_n;
static __u32 g_tc_noop_repeat;

static void tc_noop_keep(const double *v, int n, __u32 repeat)
{
	int r;

	for (r = 0; r < n && g_tc_noop_n < (int)(sizeof(g_tc_noop_ns) / sizeof(g_tc_noop_ns[0])); r++)
		g_tc_noop_ns[g_tc_noop_n++] = v[r];
	g_tc_noop_repeat = repeat;
}

static void steer_load(struct steer_inst *si)
{
	static struct cs_bucket buckets[CS_BUCKETS_MAX];
	static __u32 keys[CS_BUCKETS_MAX];
	struct cs_config cfg = { .affinity_key = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL } };
	struct cs_chain ch = { .mode = CS_MODE_ROUTE, .on_failure = CS_FAIL_BYPASS, .n_buckets = 256 };
	struct cs_rule rule = { .chain_id = 1 };
	struct cs_route rt = { .rule_id = 1, .acl_id = 5 };
	struct cs_addr a;
	__u32 zero = 0, one = 1, id, n = CS_BUCKETS_MAX, i;
	LIBBPF_OPTS(bpf_map_batch_opts, bo);

	si->skel = steer_bpf__open_and_load();
	if (!si->skel)
		die("cannot load steer: %s", strerror(errno));
	si->prog_fd = bpf_program__fd(si->skel->progs.steer);
	si->flows_fd = bpf_map__fd(si->skel->maps.cs_flows);
	si->inst_stats_fd = bpf_map__fd(si->skel->maps.cs_inst_stats);
	if (bpf_map_update_elem(bpf_map__fd(si->skel->maps.cs_config), &zero, &cfg, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(si->skel->maps.cs_rules), &one, &rule, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(si->skel->maps.cs_chains), &one, &ch, BPF_ANY))
		die("steer: cannot write config/rules/chains: %s", strerror(errno));
	for (id = 1; id <= 2; id++) {
		struct cs_instance in = { .chain_id = 1, .state = CS_INST_UP, .ifindex = 1 };

		v4mapped(&in.addr, id == 1 ? "10.30.0.2" : "10.31.0.2");
		if (bpf_map_update_elem(bpf_map__fd(si->skel->maps.cs_instances), &id, &in, BPF_ANY))
			die("steer: cannot write instance %u: %s", id, strerror(errno));
	}
	si->table_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "cs_table", sizeof(__u32),
				      sizeof(struct cs_bucket), CS_BUCKETS_MAX, NULL);
	if (si->table_fd < 0)
		die("steer: cannot make the table: %s", strerror(errno));
	for (i = 0; i < CS_BUCKETS_MAX; i++) {
		keys[i] = i;
		buckets[i] = (struct cs_bucket){ .primary = 1, .secondary = 2 };
	}
	if (bpf_map_update_batch(si->table_fd, keys, buckets, &n, &bo) ||
	    bpf_map_update_elem(bpf_map__fd(si->skel->maps.cs_service_map), &one, &si->table_fd, BPF_ANY))
		die("steer: cannot fill the table: %s", strerror(errno));
	v4mapped(&a, "192.0.2.7");
	if (bpf_map_update_elem(bpf_map__fd(si->skel->maps.cs_routes), &a, &rt, BPF_ANY))
		die("steer: cannot write the route: %s", strerror(errno));
}

static void steer_free(struct steer_inst *si)
{
	close(si->table_fd);
	steer_bpf__destroy(si->skel);
}

static void steer_frame(struct frame *f, const char *dst)
{
	static const char payload[64] = "steer bench";
	struct frame_opts o = { .sport = 40000, .dport = 443, .src = "10.1.0.5", .dst = dst };

	f->len = frame_build(f->b, &o, payload, sizeof(payload));
}

/* The flow of the hit frame; false when there is none. */
static bool steer_flow(const struct steer_inst *si, struct cs_flow *fl)
{
	struct cs_flow_key k;

	memset(&k, 0, sizeof(k));
	v4mapped(&k.lo, "10.1.0.5");
	v4mapped(&k.hi, "192.0.2.7");
	k.lo_port = 40000;
	k.hi_port = 443;
	k.proto = 17;	/* UDP */
	return bpf_map_lookup_elem(si->flows_fd, &k, fl) == 0;
}

static void steer_flow_delete(const struct steer_inst *si)
{
	struct cs_flow_key k;

	memset(&k, 0, sizeof(k));
	v4mapped(&k.lo, "10.1.0.5");
	v4mapped(&k.hi, "192.0.2.7");
	k.lo_port = 40000;
	k.hi_port = 443;
	k.proto = 17;
	if (bpf_map_delete_elem(si->flows_fd, &k))
		die("steer: cannot delete the flow: %s", strerror(errno));
}

static __u64 steer_inst_flows(const struct steer_inst *si, __u32 id)
{
	int ncpu = libbpf_num_possible_cpus(), c;
	struct cs_inst_stat *v = calloc(ncpu > 0 ? ncpu : 1, sizeof(*v));
	__u64 sum = 0;

	if (!v || ncpu <= 0 || bpf_map_lookup_elem(si->inst_stats_fd, &id, v))
		die("steer: cannot read cs_inst_stats");
	for (c = 0; c < ncpu; c++)
		sum += v[c].flows;
	free(v);
	return sum;
}

static long steer_flows_count(const struct steer_inst *si)
{
	return map_count(si->flows_fd, sizeof(struct cs_flow_key), sizeof(struct cs_flow));
}

static struct result *steer_result(const char *name, const struct arm *a, const struct arm *noop)
{
	struct result *res = result_new(name);

	result_arm(res, a, noop);
	res->method = METHOD_STEER_WARM;
	tc_noop_keep(noop->ns, g_runs, noop->repeat);
	extra(res, ", \"baseline\": \"tc_noop\"");
	return res;
}

static void bench_steer(int tc_noop_fd)
{
	static double d_noop[NEW_ITERS], d_new[NEW_ITERS], d_pin[NEW_ITERS];
	double ns[MAX_RUNS], ratio[MAX_RUNS], w_noop[MAX_RUNS], w_pin[MAX_RUNS], extra_ns[MAX_RUNS];
	static struct frame f_miss, f_hit;
	struct steer_inst si;
	struct cs_flow fl;
	struct result *res;
	__u64 pk0, flows0, flows1;
	__u32 noop_repeat, pin_repeat;
	long nflows;
	int r, i;

	steer_load(&si);
	steer_frame(&f_miss, "198.51.100.9");
	steer_frame(&f_hit, "192.0.2.7");

	/* miss */
	{
		struct arm arms[2] = { { "tc_noop", tc_noop_fd, &f_miss, 0, { 0 }, &RV_TC_OK },
				       { "steer_miss", si.prog_fd, &f_miss, 0, { 0 }, &RV_TC_OK } };

		measure(arms, 2);
		if ((nflows = steer_flows_count(&si)) != 0)
			die("steer_miss: %ld flows made", nflows);
		res = steer_result("steer_miss", &arms[1], &arms[0]);
		res->path = "miss";
	}

	/* pinned */
	run_prog_rv(si.prog_fd, &f_hit, 1, TC_REDIRECT);
	if (!steer_flow(&si, &fl) || fl.instance != 1)
		die("steer_hit_pinned: the stream is not pinned to instance 1");
	pk0 = fl.packets;
	{
		struct arm arms[2] = { { "tc_noop", tc_noop_fd, &f_hit, 0, { 0 }, &RV_TC_OK },
				       { "steer_hit_pinned", si.prog_fd, &f_hit, 0, { 0 }, &RV_TC_REDIRECT } };
		__u64 expect;

		measure(arms, 2);
		expect = 10000ULL + 100000ULL + (__u64)arms[1].repeat * g_runs;
		if (!steer_flow(&si, &fl) || fl.instance != 1 || fl.packets - pk0 != expect ||
		    steer_inst_flows(&si, 1) != 1)
			die("steer_hit_pinned: %llu packets on the flow, %llu expected",
			    (unsigned long long)(fl.packets - pk0), (unsigned long long)expect);
		res = steer_result("steer_hit_pinned", &arms[1], &arms[0]);
		res->path = "pinned";
		res->table_records = steer_flows_count(&si);
	}

	/* new flow */
	noop_repeat = calibrate_rv(tc_noop_fd, &f_hit, TC_OK);
	pin_repeat = calibrate_rv(si.prog_fd, &f_hit, TC_REDIRECT);
	flows0 = steer_inst_flows(&si, 1);
	for (r = 0; r < g_runs; r++) {
		if (r % 2) {
			w_pin[r] = run_prog_rv(si.prog_fd, &f_hit, pin_repeat, TC_REDIRECT);
			w_noop[r] = run_prog_rv(tc_noop_fd, &f_hit, noop_repeat, TC_OK);
		} else {
			w_noop[r] = run_prog_rv(tc_noop_fd, &f_hit, noop_repeat, TC_OK);
			w_pin[r] = run_prog_rv(si.prog_fd, &f_hit, pin_repeat, TC_REDIRECT);
		}
		for (i = 0; i < NEW_ITERS; i++) {
			steer_flow_delete(&si);
			d_noop[i] = run_prog_rv(tc_noop_fd, &f_hit, 1, TC_OK);
			d_new[i] = run_prog_rv(si.prog_fd, &f_hit, 1, TC_REDIRECT);
			d_pin[i] = run_prog_rv(si.prog_fd, &f_hit, 1, TC_REDIRECT);
		}
		trimmed_mean(d_noop, NEW_ITERS);
		extra_ns[r] = trimmed_mean(d_new, NEW_ITERS) - trimmed_mean(d_pin, NEW_ITERS);
		ns[r] = w_pin[r] + extra_ns[r];
		ratio[r] = ns[r] / w_noop[r];
	}
	flows1 = steer_inst_flows(&si, 1);
	if (flows1 - flows0 != (__u64)g_runs * NEW_ITERS || !steer_flow(&si, &fl) || fl.packets != 2)
		die("steer_hit_new_flow: %llu streams pinned, %llu expected",
		    (unsigned long long)(flows1 - flows0), (unsigned long long)g_runs * NEW_ITERS);
	tc_noop_keep(w_noop, g_runs, noop_repeat);
	res = result_new("steer_hit_new_flow");
	result_samples(res, ns, g_runs);
	res->repeat = 1;
	res->noop_ns = median(w_noop, g_runs);
	res->ratio = median(ratio, g_runs);
	res->path = "new_flow";
	res->method = METHOD_STEER_NEW;
	extra(res, ", \"baseline\": \"tc_noop\", \"iterations\": %d, \"new_minus_pinned_ns\": %.2f, "
		   "\"pinned_warm_ns\": %.2f",
	      NEW_ITERS, median(extra_ns, g_runs), median(w_pin, g_runs));
	steer_free(&si);
}

static void target(struct result *res, const char *text, bool meets)
{
	res->target = text;
	res->meets = meets;
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-o bench.json] [-e bench-env.json] [-d workdir] [-r runs] [-t ms]\n"
		"  -r  measurements per case, median reported (default 7, at most %d)\n"
		"  -t  kernel time per measurement in ms (default 200)\n",
		prog, MAX_RUNS);
	exit(2);
}

int main(int argc, char **argv)
{
	struct result *noop_res, *non_dns, *refresh_4a, *r1m;
	struct inst a, w, b, c;
	struct noop_bpf *noop;
	char small[4096], big[4096];
	double t0 = now_s(), t;
	cpu_set_t set;
	int opt, noop_fd;
	long filled;

	while ((opt = getopt(argc, argv, "o:e:d:r:t:h")) != -1) {
		switch (opt) {
		case 'o': g_out = optarg; break;
		case 'e': g_env = optarg; break;
		case 'd': g_dir = optarg; break;
		case 'r': g_runs = atoi(optarg); break;
		case 't': g_target_ns = atof(optarg) * 1e6; break;
		default: usage(argv[0]);
		}
	}
	if (g_runs < 1 || g_runs > MAX_RUNS || g_target_ns < 1e6)
		usage(argv[0]);
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* One CPU for every run: the scratch map is per CPU, and no migrations. */
	g_cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	CPU_ZERO(&set);
	CPU_SET(g_cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		g_cpu = -1;
	write_env(NULL, 0);

	noop = noop_bpf__open_and_load();
	if (!noop)
		die("cannot load the noop program: %s (run as root)", strerror(errno));
	noop_fd = bpf_program__fd(noop->progs.noop);

	f_tcp.len = frame_tcp_data(f_tcp.b, 512);
	dns_frame(&f_nomatch, "www.nomatch.org", IPS4, 4);
	dns_frame(&f_1a, "www.example.com", IPS4, 1);
	dns_frame(&f_4a, "www.example.com", IPS4, 4);

	config_small(small, sizeof(small));
	t = now_s();
	inst_load(&a, "small", small, false);
	inst_load(&w, "small-walked", small, true);
	prog_identify(a.prog_fd);
	printf("loaded learn (tag %s, %u bytes jited) with %zu pattern(s) in %.2f s\n", g_prog_tag,
	       g_prog_jited, a.conf.n_patterns, now_s() - t);

	noop_res = result_new("xdp_noop");
	non_dns = bench_warm("learn_non_dns", &a, noop_fd, &f_tcp, CS_R_NOT_DNS);
	target(non_dns, "ratio <= 1.2", non_dns->ratio <= 1.2);
	/* as shipped: an answer repeated within a second reuses its outcome */
	bench_warm("learn_dns_nomatch", &a, noop_fd, &f_nomatch, CS_R_NO_RULE)->lookups =
		rule_lookups(&a, 3);
	expect_path(&a, &f_1a, CS_R_LEARNED, "learn_dns_refresh_1a (prime)");
	bench_warm("learn_dns_refresh_1a", &a, noop_fd, &f_1a, CS_R_REFRESHED)->lookups =
		rule_lookups(&a, 3);
	expect_path(&a, &f_4a, CS_R_LEARNED, "learn_dns_refresh_4a (prime)");
	refresh_4a = bench_warm("learn_dns_refresh_4a", &a, noop_fd, &f_4a, CS_R_REFRESHED);
	refresh_4a->lookups = rule_lookups(&a, 3);
	target(refresh_4a, "ratio <= 6", refresh_4a->ratio <= 6);
	/* every packet walked, as a first-time answer is */
	bench_warm("learn_dns_nomatch_walked", &w, noop_fd, &f_nomatch, CS_R_NO_RULE)->lookups =
		rule_lookups(&w, 3);
	expect_path(&w, &f_1a, CS_R_LEARNED, "learn_dns_refresh_1a_walked (prime)");
	bench_warm("learn_dns_refresh_1a_walked", &w, noop_fd, &f_1a, CS_R_REFRESHED)->lookups =
		rule_lookups(&w, 3);
	expect_path(&w, &f_4a, CS_R_LEARNED, "learn_dns_refresh_4a_walked (prime)");
	bench_warm("learn_dns_refresh_4a_walked", &w, noop_fd, &f_4a, CS_R_REFRESHED)->lookups =
		rule_lookups(&w, 3);
	bench_new(&w, noop_fd)->lookups = rule_lookups(&w, 3);
	printf("small cases done at %.1f s\n", now_s() - t0);

	/* 1M records, preallocated like production (no lazy_tables) */
	t = now_s();
	inst_load(&b, "1m", small, true);
	fill_records(&b, FILL_1M);
	expect_path(&b, &f_4a, CS_R_LEARNED, "learn_dns_refresh_4a_1m (prime)");
	filled = records_count(&b);
	if (filled != FILL_1M + 4)
		die("cs_records holds %ld records, expected %d", filled, FILL_1M + 4);
	printf("filled cs_records with %ld records in %.2f s\n", filled, now_s() - t);
	r1m = bench_vs("learn_dns_refresh_4a_1m", &w, &b, noop_fd, &f_4a);
	r1m->lookups = rule_lookups(&b, 3);
	target(r1m, "<= 1.15 x learn_dns_refresh_4a_walked", r1m->vs <= 1.15);
	inst_free(&b);

	/* 100k rule patterns */
	t = now_s();
	config_100k(big, sizeof(big));
	inst_load(&c, "100k", big, true);
	printf("loaded learn with %zu patterns in %.2f s\n", c.conf.n_patterns, now_s() - t);
	expect_path(&c, &f_4a, CS_R_LEARNED, "learn_dns_refresh_4a_100k_rules (prime)");
	bench_vs("learn_dns_refresh_4a_100k_rules", &w, &c, noop_fd, &f_4a)->lookups = rule_lookups(&c, 3);
	inst_free(&c);

	/* steer, against the TC baseline */
	{
		struct tc_noop_bpf *tcn = tc_noop_bpf__open_and_load();
		struct result *tr = result_new("tc_noop");

		if (!tcn)
			die("cannot load the tc_noop program: %s", strerror(errno));
		t = now_s();
		bench_steer(bpf_program__fd(tcn->progs.tc_noop));
		tc_noop_bpf__destroy(tcn);
		result_samples(tr, g_tc_noop_ns, g_tc_noop_n);
		tr->noop_ns = tr->ns;
		tr->ratio = 1.0;
		tr->repeat = g_tc_noop_repeat;
		tr->method = "the TC baseline: a sched_cls program returning TC_ACT_OK; every warm "
			     "tc_noop measurement of the steer cases; ratio 1 by definition";
		extra(tr, ", \"measurements\": %d", g_tc_noop_n);
		printf("steer cases done in %.1f s\n", now_s() - t);
	}
	inst_free(&w);
	inst_free(&a);
	noop_bpf__destroy(noop);

	/* the baseline row: every warm noop measurement of the run */
	result_samples(noop_res, g_noop_ns, g_noop_n);
	noop_res->noop_ns = noop_res->ns;
	noop_res->ratio = 1.0;
	noop_res->repeat = g_noop_repeat;
	extra(noop_res, ", \"measurements\": %d", g_noop_n);

	write_json(g_out);
	write_env(g_env, now_s() - t0);
	print_table();
	printf("\nwrote %s and %s in %.1f s\n", g_out, g_env, now_s() - t0);
	return 0;
}
