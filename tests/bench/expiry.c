// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * expiry - the measuring half of tests/bench/expiry.sh: a running
 * `cloudsteer run` sweeps a million records that expire at one moment, and
 * the dataplane is timed meanwhile. The script owns the namespace and the
 * daemon; this tool, started in the daemon's network namespace with its pid:
 *
 *  1. teaches the keepers through the daemon's own learn program: one answer
 *     (www.cloud.test, 4 A records, TTL 300) whose records outlive the run,
 *     the frame every learn measurement sends; and pins the steer flow to
 *     one of their routes;
 *  2. stops the daemon (SIGSTOP) and writes what learning N other answers
 *     would have left: N records (N/4 names of 4 addresses each over N/4
 *     addresses, so every address is shared by 4 names, as CDNs do), a
 *     route per address with an ACL id from the pool (WAIT_ACL once it is
 *     empty, as learn does), the names' text and the rule's record count.
 *     All expire at T, a few seconds ahead. The daemon is stopped because a
 *     pass that saw half a fill would remove the names of the records it has
 *     not read;
 *  3. until T, measures the dataplane with the daemon stopped (idle, full
 *     table); at T resumes it (SIGCONT), so that the first pass to begin
 *     after the expiry begins at it: what is timed is one sweep of N expired
 *     records, not the wait for the pass in progress to come round;
 *  4. measures until the fill's records, routes and names are all gone
 *     (polled every POLL_MS) or the budget (-b) is spent, then for a few
 *     seconds more; a progress line every REPORT_S from the daemon's
 *     metrics endpoint;
 *  5. writes the JSON array of tests/bench/run.sh's contract. The sweep case
 *     also says when each table emptied and the daemon's CPU by then, the
 *     longest time its loop went without waiting (a stall: no events read,
 *     no signal handled), the passes a read error cut short (its log) and
 *     whether any of the keepers' routes went (a route removed under a live
 *     record is a sweep that judged from a partial pass).
 *
 * Dataplane, in windows of about WINDOW_NS of kernel time each
 * (BPF_PROG_TEST_RUN, the same repeat for every window of an arm), the arms
 * in turn, ABBA:
 *   learn           the daemon's learn code loaded again over its pinned maps
 *                   with the repeat cache off, so every packet walks the
 *                   answer and refreshes its 4 records in the table being
 *                   swept (the attached program would reuse the outcome of
 *                   the same answer repeated, and touch the table once a
 *                   second);
 *   learn_repeated  the attached program itself, as shipped;
 *   steer           the attached steer program: a packet of a pinned flow
 *                   to a kept route (observe rule: TC_ACT_OK).
 * Each window is classed by what the daemon's main thread (its loop, which
 * sweeps) did during it, from its state and its count of arrivals on a CPU
 * (/proc/PID/task/PID/stat, schedstat), read before and after: "sweeping"
 * when it was runnable all along, "idle" when it slept all along, neither
 * when it did both. The baseline of the during-sweep figures is the idle
 * windows of the same period (between ticks: interleaved, same table
 * state); the windows before the expiry (daemon stopped, full table) and
 * after are reported as extras.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cloudsteer.h"
#include "daemon/daemon.h"
#include "lib/clock.h"
#include "lib/json.h"
#include "lib/learnprog.h"
#include "lib/maps.h"
#include "lib/pins.h"
#include "lib/quota.h"
#include "lib/rules.h"
#define DIE_NAME "expiry"
#include "die.h"
#include "pkt.h"
#include "learn.skel.h"

#define PATTERN "cloud.test"
#define KEEPER_NAME "www.cloud.test"
#define KEEPERS 4		/* records (and routes) of the keepers' answer */
#define NAME_IPS 4		/* addresses per filled name */
#define WINDOW_NS 3000000.0	/* kernel time per measured window */
#define POLL_MS 100		/* how often the tables are checked during the sweep */
#define REPORT_S 2.0		/* how often progress is printed */
#define MAX_WINDOWS 200000
#define MIN_IDLE 20		/* idle windows in the sweep period to be the baseline */
#define TC_OK 0u

enum arm_id { ARM_LEARN, ARM_REPEATED, ARM_STEER, ARMS };
enum phase { PH_BEFORE, PH_SWEEP, PH_AFTER };
/* What the daemon's main thread did during a window: slept all along,
 * stayed runnable all along (the sweep working), or some of both. */
enum activity { ACT_ANY = -1, ACT_IDLE, ACT_BUSY, ACT_MIXED };

static const char *const IPS_KEEP[KEEPERS] = { "198.51.100.1", "198.51.100.2", "198.51.100.3",
					       "198.51.100.4" };

/* CLOCK_BOOTTIME, the records' clock, in seconds */
static double now_s(void)
{
	return (double)cs_now_ns() / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of v, sorted in place; 0 when empty. */
static double quantile(double *v, int n, double q)
{
	if (n <= 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return v[(int)(q * (n - 1) + 0.5)];
}

/* ---- the daemon, seen from /proc ---- */

struct daemon {
	pid_t pid;
	int sched_fd;		/* its main thread's schedstat: the loop that sweeps */
	int stat_fd;		/* and its stat, for the state */
};

/* The main thread at one moment. Its runtime is only brought up to date at
 * scheduler ticks (4 ms here), too coarse for a window of 3; its state and
 * the count of times it was put on a CPU change at once. */
struct sample {
	__u64 run_ns, arrivals;
	char state;		/* R: running or runnable; S: asleep (its loop waits) */
};

static struct sample sample_now(const struct daemon *d)
{
	struct sample s = { 0 };
	char buf[512], *p;
	ssize_t n = pread(d->sched_fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		die("cannot read the daemon's schedstat: %s", n ? strerror(errno) : "empty");
	buf[n] = 0;
	if (sscanf(buf, "%llu %*s %llu", (unsigned long long *)&s.run_ns, (unsigned long long *)&s.arrivals) != 2)
		die("cannot parse the daemon's schedstat");
	n = pread(d->stat_fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = 0;
	p = strrchr(buf, ')');
	s.state = p && p[1] ? p[2] : '?';
	return s;
}

static enum activity classify(const struct sample *a, const struct sample *b)
{
	if (a->arrivals != b->arrivals)
		return ACT_MIXED;	/* it went off a CPU and came back meanwhile */
	if (a->state == 'S' && b->state == 'S')
		return ACT_IDLE;
	if (a->state == 'R' && b->state == 'R')
		return ACT_BUSY;
	return ACT_MIXED;
}

/* utime and stime of the whole process (every thread), in seconds. */
static void proc_cpu(const struct daemon *d, double *user, double *sys)
{
	char path[64], buf[1024], *p;
	unsigned long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", d->pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		die("cannot read %s: %s", path, strerror(errno));
	fclose(f);
	/* fields after the command name, which may hold spaces: (state) is 3rd,
	 * utime 14th and stime 15th */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		die("cannot parse %s", path);
	*user = (double)ut / sysconf(_SC_CLK_TCK);
	*sys = (double)st / sysconf(_SC_CLK_TCK);
}

static char proc_state(const struct daemon *d)
{
	char path[64], buf[512], *p;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", d->pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	return p && p[1] ? p[2] : 0;
}

/* A line "Key:   N kB" of /proc/PID/status, in MB; -1 if absent. */
static double proc_status_mb(const struct daemon *d, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	double mb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", d->pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':')
			mb = strtod(line + klen + 1, NULL) / 1024.0;
	fclose(f);
	return mb;
}

static void daemon_open(struct daemon *d, pid_t pid)
{
	char path[64];

	d->pid = pid;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", pid, pid);
	d->sched_fd = open(path, O_RDONLY);
	if (d->sched_fd < 0)
		die("cannot open %s: %s", path, strerror(errno));
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, pid);
	d->stat_fd = open(path, O_RDONLY);
	if (d->stat_fd < 0)
		die("cannot open %s: %s", path, strerror(errno));
}

/* SIGSTOP or SIGCONT, and wait until the kernel says it took effect. */
static void daemon_signal(const struct daemon *d, int sig)
{
	int i;

	if (kill(d->pid, sig))
		die("cannot send signal %d to the daemon (pid %d): %s", sig, d->pid, strerror(errno));
	for (i = 0; i < 2000; i++) {
		char s = proc_state(d);

		if (!s)
			die("the daemon (pid %d) is gone", d->pid);
		if ((sig == SIGSTOP) == (s == 'T'))
			return;
		usleep(500);
	}
	die("the daemon did not %s", sig == SIGSTOP ? "stop" : "continue");
}

/* ---- the daemon's metrics endpoint (the loop's own counters) ---- */

struct metrics {
	double passes, expired, routes_removed, lag_sum_s, lag_max_s;
	bool ok;
};

static double metric(const char *text, const char *name)
{
	size_t n = strlen(name);
	const char *p = text;

	while ((p = strstr(p, name))) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return -1;
}

/* One GET /metrics from 127.0.0.1:port (this namespace's); ok false if none. */
static struct metrics metrics_read(int port)
{
	static char buf[1 << 20];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((__u16)port) };
	struct timeval tv = { .tv_sec = 2 };
	static const char req[] = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
	struct metrics m = { 0 };
	size_t len = 0;
	ssize_t n;
	int s;

	if (port <= 0)
		return m;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0)
		return m;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(s, (struct sockaddr *)&a, sizeof(a)) || write(s, req, sizeof(req) - 1) < 0) {
		close(s);
		return m;
	}
	while (len < sizeof(buf) - 1 && (n = read(s, buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(s);
	buf[len] = 0;
	m.passes = metric(buf, "cloudsteer_sweep_passes_total");
	m.expired = metric(buf, "cloudsteer_records_expired_total");
	m.routes_removed = metric(buf, "cloudsteer_routes_removed_total");
	m.lag_sum_s = metric(buf, "cloudsteer_expiry_lag_seconds_sum");
	m.lag_max_s = metric(buf, "cloudsteer_expiry_lag_max_seconds");
	m.ok = m.passes >= 0;
	return m;
}

/* ---- the daemon's maps and programs ---- */

struct pins {
	const char *dir;
	int records, routes, names, pool, config, patterns, quota, stats, flows;
	__u32 records_id, routes_id;
	__u64 name_key[2];
	__u32 rule_id, pattern_id;
};

static int pin(const char *dir, const char *name)
{
	int fd = cs_pin_open(dir, name);

	if (fd < 0)
		die("%s/%s: %s (is the daemon running with this pin dir?)", dir, name, strerror(-fd));
	return fd;
}

static struct bpf_map_info map_info(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		die("cannot read a map's info: %s", strerror(errno));
	return info;
}

/* The rule and pattern ids the daemon gave PATTERN (cs_patterns). */
static void find_pattern(struct pins *p)
{
	__u32 key, next, *prev = NULL;
	struct cs_pattern_info info;

	while (!bpf_map_get_next_key(p->patterns, prev, &next)) {
		key = next;
		prev = &key;
		if (!bpf_map_lookup_elem(p->patterns, &key, &info) && !strcmp(info.text, PATTERN)) {
			p->pattern_id = key;
			p->rule_id = info.rule_id;
			return;
		}
	}
	die("no pattern \"%s\" in %s/cs_patterns: the config must have it", PATTERN, p->dir);
}

static void pins_open(struct pins *p, const char *dir)
{
	struct cs_config cfg;
	__u32 zero = 0;

	memset(p, 0, sizeof(*p));
	p->dir = dir;
	p->records = pin(dir, "cs_records");
	p->routes = pin(dir, "cs_routes");
	p->names = pin(dir, "cs_names");
	p->pool = pin(dir, "cs_acl_pool");
	p->config = pin(dir, "cs_config");
	p->patterns = pin(dir, "cs_patterns");
	p->quota = pin(dir, "cs_rule_quota");
	p->stats = pin(dir, "cs_learn_stats");
	p->flows = pin(dir, "cs_flows");
	p->records_id = map_info(p->records).id;
	p->routes_id = map_info(p->routes).id;
	if (bpf_map_lookup_elem(p->config, &zero, &cfg) || !(cfg.flags & CS_CFG_READY))
		die("%s/cs_config is not ready: is the daemon running?", dir);
	p->name_key[0] = cfg.name_key[0];
	p->name_key[1] = cfg.name_key[1];
	if (cfg.flags & CS_CFG_QUERIES)
		die("query matching is on: the config must say learn.match_queries: false");
	find_pattern(p);
}

/* Does program fd use the map with id want? */
static bool prog_uses(int fd, __u32 want, char *name, size_t name_len)
{
	__u32 ids[64], len, i;
	struct bpf_prog_info info;

	memset(&info, 0, sizeof(info));
	info.nr_map_ids = 64;
	info.map_ids = (__u64)(unsigned long)ids;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return false;
	snprintf(name, name_len, "%s", info.name);
	for (i = 0; i < info.nr_map_ids && i < 64; i++)
		if (ids[i] == want)
			return true;
	return false;
}

/*
 * The daemon's program called `name`: the one that uses the pinned map
 * map_id (other daemons on this host run programs of the same name on
 * their own maps). An fd, or dies.
 */
static int find_prog(const char *name, __u32 want_map)
{
	__u32 id = 0;

	while (!bpf_prog_get_next_id(id, &id)) {
		char pname[BPF_OBJ_NAME_LEN];
		int fd = bpf_prog_get_fd_by_id(id);

		if (fd < 0)
			continue;	/* gone meanwhile */
		if (prog_uses(fd, want_map, pname, sizeof(pname)) && !strcmp(pname, name))
			return fd;
		close(fd);
	}
	die("no program \"%s\" on map id %u: is the daemon running?", name, want_map);
}

/* learn again over the pinned maps, with the repeat cache off; rules and
 * config stay the daemon's (nothing is written). */
static struct learn_bpf *learn_walked(const struct pins *p)
{
	struct learn_bpf *skel = learn_bpf__open();
	char err[512];
	int e;

	if (!skel)
		die("cannot open the learn object: %s", strerror(errno));
	skel->rodata->reuse_repeats = false;
	bpf_map__set_max_entries(skel->maps.cs_records, map_info(p->records).max_entries);
	bpf_map__set_max_entries(skel->maps.cs_names, map_info(p->names).max_entries);
	bpf_map__set_max_entries(skel->maps.cs_routes, map_info(p->routes).max_entries);
	if (cs_pins_reuse(skel->obj, p->dir, err, sizeof(err)) < 0)
		die("%s", err);
	e = learn_bpf__load(skel);
	if (e)
		die("cannot load learn over the pins: %s", strerror(-e));
	return skel;
}

/* ---- frames and runs ---- */

struct frame {
	__u8 b[FRAME_CAP];
	__u32 len;
};

static void keeper_frame(struct frame *f)
{
	static struct dnsmsg m;
	struct frame_opts o = { 0 };

	dns_simple_answer(&m, KEEPER_NAME, IPS_KEEP, KEEPERS, 300);
	f->len = frame_build(f->b, &o, m.b, m.len);
}

static void steer_frame(struct frame *f)
{
	static const char payload[64] = "expiry bench";
	struct frame_opts o = { .sport = 40000, .dport = 443, .src = "10.1.0.5", .dst = IPS_KEEP[0] };

	f->len = frame_build(f->b, &o, payload, sizeof(payload));
}

static __u64 g_xdp_runs;	/* learn packets run, to check their path */

/* Kernel ns per run, averaged over `repeat`; dies on an error or another verdict. */
static double run(int fd, const struct frame *f, __u32 repeat, __u32 verdict)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = f->len, .repeat = repeat);

	if (verdict == XDP_PASS)
		g_xdp_runs += repeat;
	if (bpf_prog_test_run_opts(fd, &o))
		die("BPF_PROG_TEST_RUN failed: %s", strerror(errno));
	if (o.retval != verdict)
		die("a program returned %u, not %u", o.retval, verdict);
	return o.duration;
}

static __u64 learn_count(const struct pins *p, __u32 reason)
{
	__u64 v[CS_R_MAX];

	if (cs_percpu_sum(p->stats, 0, CS_R_MAX, v, 1))
		die("cannot read cs_learn_stats: %s", strerror(errno));
	return v[reason];
}

/* ---- the fill ---- */

struct fill {
	__u32 n, names, ips;		/* records, names, addresses */
	__u32 with_acl, waiting;	/* routes given an ACL id, and waiting for one */
	double seconds;
};

static void v4(struct cs_addr *a, __u32 host_order)
{
	__u32 be = htonl(host_order);

	memset(a, 0, sizeof(*a));
	a->b[10] = 0xff;
	a->b[11] = 0xff;
	memcpy(&a->b[12], &be, 4);
}

/* 20.0.0.0 + i: public, so no never-steer range refuses it */
static void fill_addr(struct cs_addr *a, __u32 i)
{
	v4(a, 0x14000000u + i);
}

static void name_text(char *out, size_t len, __u32 i)
{
	snprintf(out, len, "n%07u.%s", i, PATTERN);
}

/* `n` entries of keys/values in batches (update_batch stops at the first error). */
static void put_batch(int fd, const void *keys, size_t ksz, const void *vals, size_t vsz, __u32 n, const char *what)
{
	const __u32 chunk = 65536;
	__u32 done = 0;

	while (done < n) {
		LIBBPF_OPTS(bpf_map_batch_opts, o);
		__u32 count = n - done < chunk ? n - done : chunk;

		if (bpf_map_update_batch(fd, (const char *)keys + (size_t)done * ksz,
					 (const char *)vals + (size_t)done * vsz, &count, &o))
			die("cannot fill %s (%u of %u done): %s", what, done, n, strerror(errno));
		done += count;
	}
}

static void fill_names(const struct pins *p, struct fill *fl, __u64 *ids)
{
	struct cs_name *text = calloc(fl->names, sizeof(*text));
	__u32 i;

	if (!text)
		die("out of memory");
	for (i = 0; i < fl->names; i++) {
		name_text(text[i].text, sizeof(text[i].text), i);
		ids[i] = cs_text_name_hash(p->name_key, text[i].text, NULL);
	}
	put_batch(p->names, ids, sizeof(*ids), text, sizeof(*text), fl->names, "cs_names");
	free(text);
}

/* A route per address, each taking an ACL id from the pool as learn does. */
static void fill_routes(const struct pins *p, struct fill *fl, __u64 now)
{
	struct cs_addr *keys = calloc(fl->ips, sizeof(*keys));
	struct cs_route *vals = calloc(fl->ips, sizeof(*vals));
	__u32 i;

	if (!keys || !vals)
		die("out of memory");
	for (i = 0; i < fl->ips; i++) {
		struct cs_route *rt = &vals[i];

		fill_addr(&keys[i], i);
		rt->created_ns = now;
		rt->learned_ns = now;
		rt->rule_id = p->rule_id;
		if (!fl->waiting && !bpf_map_lookup_and_delete_elem(p->pool, NULL, &rt->acl_id)) {
			fl->with_acl++;
			continue;
		}
		rt->acl_id = 0;	/* the pool ran dry: learn flags the route, the sweep gives it one later */
		rt->flags = CS_ROUTE_WAIT_ACL;
		fl->waiting++;
	}
	put_batch(p->routes, keys, sizeof(*keys), vals, sizeof(*vals), fl->ips, "cs_routes");
	free(keys);
	free(vals);
}

/* Record j: name j / NAME_IPS, address (name + k * ips / NAME_IPS) % ips for
 * its k-th address, so each name has NAME_IPS addresses and each address
 * NAME_IPS names. */
static void fill_records(const struct pins *p, struct fill *fl, const __u64 *ids, __u64 now, __u64 expires)
{
	struct cs_record_key *keys = calloc(fl->n, sizeof(*keys));
	struct cs_record *vals = calloc(fl->n, sizeof(*vals));
	__u32 stride = fl->ips / NAME_IPS, j;

	if (!keys || !vals)
		die("out of memory");
	for (j = 0; j < fl->n; j++) {
		__u32 name = j / NAME_IPS, k = j % NAME_IPS;

		keys[j].name_id = ids[name];
		fill_addr(&keys[j].addr, (name + k * stride) % fl->ips);
		vals[j] = (struct cs_record){ .expires_ns = expires, .first_ns = now, .last_ns = now,
					      .rule_id = p->rule_id, .pattern_id = p->pattern_id,
					      .ttl = 300, .hits = 1 };
	}
	put_batch(p->records, keys, sizeof(*keys), vals, sizeof(*vals), fl->n, "cs_records");
	free(keys);
	free(vals);
}

/* The rule's record count, as learn keeps it (the sweep takes off what it removes). */
static void fill_quota(const struct pins *p, const struct fill *fl)
{
	struct cs_rule_quota *q = cs_quota_map(p->quota);

	if (!q)
		die("cannot map cs_rule_quota: %s", strerror(errno));
	cs_quota_give(q, p->rule_id, fl->n);
	cs_quota_unmap(q);
}

static void fill(const struct pins *p, struct fill *fl, double expires_s)
{
	__u64 *ids = calloc(fl->names, sizeof(*ids)), now = cs_now_ns();
	double t0 = now_s();

	if (!ids)
		die("out of memory");
	fill_names(p, fl, ids);
	fill_routes(p, fl, now);
	fill_records(p, fl, ids, now, (__u64)(expires_s * 1e9));
	fill_quota(p, fl);
	free(ids);
	fl->seconds = now_s() - t0;
}

/* ---- what is left ---- */

/* Entries of a map, counted up to `cap` (then cap + 1). The walk goes on from
 * each key found, so a sparse table costs one pass over its buckets. */
static long count_upto(int fd, void *key, void *next, size_t ksz, long cap)
{
	void *prev = NULL;
	long n = 0;

	while (n <= cap && !bpf_map_get_next_key(fd, prev, next)) {
		memcpy(key, next, ksz);
		prev = key;
		n++;
	}
	return n;
}

struct left {
	long records, routes, names;	/* each counted up to what the keepers hold + 1 */
};

static struct left left_now(const struct pins *p)
{
	struct cs_record_key rk, rn;
	struct cs_addr ak, an;
	__u64 nk, nn;

	return (struct left){ count_upto(p->records, &rk, &rn, sizeof(rk), KEEPERS),
			      count_upto(p->routes, &ak, &an, sizeof(ak), KEEPERS),
			      count_upto(p->names, &nk, &nn, sizeof(nk), 1) };
}

static long count_all(int fd, size_t ksz)
{
	char key[64], next[64];

	if (ksz > sizeof(key))
		die("key too large");
	return count_upto(fd, key, next, ksz, 1L << 40);
}

/* ---- measuring ---- */

struct arm {
	int fd;
	const struct frame *f;
	__u32 verdict, repeat;
};

struct window {
	float ns;		/* kernel ns per run */
	float busy;		/* share of the window the daemon's main thread ran (tick-coarse) */
	__u8 arm, phase, act;
};

static struct window g_win[MAX_WINDOWS];
static int g_nwin;

static __u32 calibrate(const struct arm *a)
{
	double ns;

	run(a->fd, a->f, 1000, a->verdict);	/* warm up */
	ns = run(a->fd, a->f, 20000, a->verdict);
	return (__u32)(WINDOW_NS / (ns > 1 ? ns : 1)) / 1000 * 1000 + 1000;
}

/* One window of arm a, classed by the daemon's activity meanwhile. */
static void window(const struct daemon *d, const struct arm *arms, int a, enum phase ph)
{
	struct sample s0 = sample_now(d), s1;
	double t0 = now_s(), ns, t1;

	ns = run(arms[a].fd, arms[a].f, arms[a].repeat, arms[a].verdict);
	t1 = now_s();
	s1 = sample_now(d);
	if (g_nwin == MAX_WINDOWS)
		return;
	g_win[g_nwin++] = (struct window){ .ns = (float)ns,
					   .busy = (float)((double)(s1.run_ns - s0.run_ns) / 1e9 / (t1 - t0)),
					   .arm = (__u8)a, .phase = (__u8)ph, .act = (__u8)classify(&s0, &s1) };
}

/* One round: every arm forward, then backward (ABBA), so drift cancels. */
static void round_abba(const struct daemon *d, const struct arm *arms, enum phase ph)
{
	int a;

	for (a = 0; a < ARMS; a++)
		window(d, arms, a, ph);
	for (a = ARMS - 1; a >= 0; a--)
		window(d, arms, a, ph);
}

static void measure_until(const struct daemon *d, const struct arm *arms, enum phase ph, double until)
{
	while (now_s() < until)
		round_abba(d, arms, ph);
}

/* ---- the sweep ---- */

struct sweep {
	double t_exp, t_resume;		/* when the records expired; when the daemon went on */
	double records_s, routes_s, names_s, done_s;	/* after t_exp; -1: not seen */
	double cpu_user, cpu_sys, main_cpu;	/* the daemon's, from t_exp to done */
	double cpu_at_records, cpu_at_routes, cpu_at_names;	/* main thread s by then */
	double longest_stall_s;		/* the longest time its loop did not wait */
	bool complete;
	struct metrics m0, m1;
	int port;			/* the daemon's metrics endpoint */
};

/* What one look at the daemon and the tables sees. */
struct poll {
	double t, main_s;		/* since t_exp; main thread CPU since then */
	struct left l;
};

/* Times the loop went to sleep: it waits (ring buffer poll) between ticks,
 * and only there, so a count that stands still is a loop that cannot wait. */
static unsigned long main_waits(const struct daemon *d)
{
	char path[80], line[128];
	unsigned long n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", d->pid, d->pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "voluntary_ctxt_switches:", 24))
			n = strtoul(line + 24, NULL, 10);
	fclose(f);
	return n;
}

/*
 * Progress lines every REPORT_S, from a thread of their own: the metrics
 * thread of a busy daemon may take seconds to answer, and the measuring
 * loop must not wait for it.
 */
struct progress {
	const struct daemon *d;
	const struct sweep *sw;
	__u64 r0;			/* main thread runtime at the expiry */
	volatile bool stop;
	pthread_t thread;
};

static void *progress_main(void *arg)
{
	struct progress *pr = arg;

	while (!pr->stop) {
		struct metrics m = metrics_read(pr->sw->port);
		double main_s = (double)(sample_now(pr->d).run_ns - pr->r0) / 1e9;

		if (m.ok && !pr->stop)
			printf("  %5.1f s: %.0f expired, %.0f routes removed, %.0f passes; main thread %.2f s "
			       "on CPU\n", now_s() - pr->sw->t_exp, m.expired - pr->sw->m0.expired,
			       m.routes_removed - pr->sw->m0.routes_removed, m.passes - pr->sw->m0.passes, main_s);
		usleep((useconds_t)(REPORT_S * 1e6));
	}
	return NULL;
}

/* Note when each table first holds no more than the keepers. True when all do. */
static bool note_progress(struct sweep *sw, const struct poll *pl)
{
	if (sw->records_s < 0 && pl->l.records <= KEEPERS) {
		sw->records_s = pl->t;
		sw->cpu_at_records = pl->main_s;
	}
	if (sw->routes_s < 0 && pl->l.routes <= KEEPERS) {
		sw->routes_s = pl->t;
		sw->cpu_at_routes = pl->main_s;
	}
	if (sw->names_s < 0 && pl->l.names <= 1) {
		sw->names_s = pl->t;
		sw->cpu_at_names = pl->main_s;
	}
	return sw->records_s >= 0 && sw->routes_s >= 0 && sw->names_s >= 0;
}

/*
 * Measure windows, and every POLL_MS look at what is left, until the fill's
 * records, routes and names are gone or the deadline passes.
 */
static void follow_sweep(const struct daemon *d, const struct pins *p, const struct arm *arms, struct sweep *sw,
			 double deadline)
{
	double u0, s0, u1, s1, next_poll = 0, waited_at = now_s();
	__u64 r0 = sample_now(d).run_ns;
	unsigned long waits = main_waits(d);
	struct poll pl = { 0 };

	struct progress pr = { .d = d, .sw = sw, .r0 = r0 };

	proc_cpu(d, &u0, &s0);
	sw->records_s = sw->routes_s = sw->names_s = -1;
	if (sw->port > 0 && pthread_create(&pr.thread, NULL, progress_main, &pr))
		die("cannot start the progress thread: %s", strerror(errno));
	while (now_s() < deadline && !sw->complete) {
		round_abba(d, arms, PH_SWEEP);
		if (now_s() < next_poll)
			continue;
		pl = (struct poll){ .t = now_s() - sw->t_exp, .main_s = (double)(sample_now(d).run_ns - r0) / 1e9,
				    .l = left_now(p) };
		if (main_waits(d) != waits) {
			waits = main_waits(d);
			waited_at = now_s();
		}
		if (now_s() - waited_at > sw->longest_stall_s)
			sw->longest_stall_s = now_s() - waited_at;
		sw->complete = note_progress(sw, &pl);
		next_poll = now_s() + POLL_MS / 1000.0;
	}
	if (sw->port > 0) {
		pr.stop = true;
		pthread_join(pr.thread, NULL);
	}
	sw->done_s = sw->complete ? pl.t : now_s() - sw->t_exp;
	sw->main_cpu = sw->complete ? pl.main_s : (double)(sample_now(d).run_ns - r0) / 1e9;
	proc_cpu(d, &u1, &s1);
	sw->cpu_user = u1 - u0;
	sw->cpu_sys = s1 - s0;
}

/* Is the keepers' name text still there? Like their routes, it must stay. */
static bool keeper_name(const struct pins *p)
{
	__u64 id = cs_text_name_hash(p->name_key, KEEPER_NAME, NULL);
	struct cs_name n;

	return !bpf_map_lookup_elem(p->names, &id, &n);
}

/* Routes of the keepers' records still there: a pass removes a route only
 * when no record needs it, and theirs live on. */
static int keeper_routes(const struct pins *p)
{
	struct cs_route rt;
	struct cs_addr a;
	int i, n = 0;

	for (i = 0; i < KEEPERS; i++) {
		v4(&a, ntohl(inet_addr(IPS_KEEP[i])));
		n += !bpf_map_lookup_elem(p->routes, &a, &rt);
	}
	return n;
}

/* ---- results ---- */

struct stat_of {
	double median, p10, p90, busy;
	int n;
};

/* The windows of arm a in phase ph whose daemon activity was act (ACT_ANY: any). */
static struct stat_of stat_windows(int a, int ph, enum activity act)
{
	static double v[MAX_WINDOWS];
	struct stat_of s = { 0 };
	double busy = 0;
	int i;

	for (i = 0; i < g_nwin; i++) {
		const struct window *w = &g_win[i];

		if (w->arm != a || w->phase != ph || (act != ACT_ANY && w->act != act))
			continue;
		v[s.n++] = w->ns;
		busy += w->busy;
	}
	s.busy = s.n ? busy / s.n : 0;
	s.p10 = quantile(v, s.n, 0.1);
	s.p90 = quantile(v, s.n, 0.9);
	s.median = quantile(v, s.n, 0.5);
	return s;
}

struct ctx {
	const struct fill *fl;
	const struct sweep *sw;
	const struct arm *arms;
	bool quick;
	int cpu, daemon_cpu;
	double rss_before, rss_after, hwm, budget_s;
	long log_lines, cut_short;	/* "expired" lines; passes a read error ended */
	int keeper_routes;		/* of KEEPERS, still there at the end */
	bool keeper_name;		/* and their name's text */
	const char *tags[ARMS];
};

static const char *const ARM_CASE[ARMS] = { "expiry_learn", "expiry_learn_repeated", "expiry_steer" };
static const char *const ARM_LABEL[ARMS] = {
	"learn, refresh of 4 A records (walked)",
	"learn as attached, the same answer repeated",
	"steer, a pinned flow to a kept route",
};
static const char *const ARM_PATH[ARMS] = {
	"refreshed: every packet walks the answer and looks its 4 records up in the swept table "
	"(the daemon's learn code loaded again over its pins, repeat cache off)",
	"refreshed, outcome reused (the daemon's attached program: the same answer within a second "
	"reuses its outcome; walked again once a second and after the sweep starts a new generation)",
	"pinned flow to 198.51.100.1, a route no sweep should remove (observe rule: TC_ACT_OK); "
	"keeper_routes_removed in expiry_sweep_1m says whether one did",
};

static void json_str(FILE *f, const char *key, const char *v)
{
	fprintf(f, ", \"%s\": ", key);
	cs_json_string(f, v);
}

static void case_head(FILE *f, const char *name, const char *label, const char *unit, double v,
		      const char *better)
{
	fprintf(f, "  {\"case\": ");
	cs_json_string(f, name);
	fprintf(f, ", \"part\": \"expiry\"");
	json_str(f, "label", label);
	json_str(f, "unit", unit);
	if (v < 0)
		fprintf(f, ", \"%s\": null", unit);	/* not measured (no window of its class) */
	else
		fprintf(f, ", \"%s\": %.6g", unit, v);
	json_str(f, "better", better);
}

/* A time in seconds, or null when it was not seen. */
static void json_secs(FILE *f, const char *key, double v)
{
	if (v < 0)
		fprintf(f, ", \"%s\": null", key);
	else
		fprintf(f, ", \"%s\": %.3f", key, v);
}

static const char METHOD_SWEEP[] =
	"the daemon (cloudsteer run, default tick and sweep_per_tick) in a namespace of its own, stopped "
	"(SIGSTOP) while its pinned maps are filled with what learning the records would have made "
	"(records; a route per address with an ACL id from the pool, WAIT_ACL once it is empty; names; the "
	"rule's count), all expiring at T; resumed at T, so the first pass after the expiry begins at it. "
	"s: from T until the filled records, routes and names are all gone (polled every 100 ms), or the "
	"budget (complete false: a lower bound); cpu_s: the daemon's utime+stime meanwhile (/proc/PID/stat); "
	"main_thread_cpu_s: its loop's (schedstat); longest_loop_stall_s: the longest time the loop did not "
	"go back to waiting (its voluntary context switches stood still); passes, expired_counted: its "
	"metrics endpoint; keeper_routes_removed, keeper_name_removed: the routes and name of 4 live records "
	"(TTL 300) that are gone";

static void write_sweep_case(FILE *f, const struct ctx *c)
{
	const struct fill *fl = c->fl;
	const struct sweep *sw = c->sw;
	double expired = sw->m0.ok && sw->m1.ok ? sw->m1.expired - sw->m0.expired : -1;
	char label[128];

	snprintf(label, sizeof(label), "daemon sweeps %u expired records%s", fl->n,
		 sw->complete ? "" : " (did not finish: lower bound)");
	case_head(f, "expiry_sweep_1m", label, "s", sw->done_s, "lower");
	fprintf(f, ", \"complete\": %s, \"records\": %u, \"names\": %u, \"routes\": %u, "
		   "\"routes_with_acl\": %u, \"routes_waiting_acl\": %u",
		sw->complete ? "true" : "false", fl->n, fl->names, fl->ips, fl->with_acl, fl->waiting);
	/* records removed per second of the whole sweep, routes and names included */
	fprintf(f, ", \"rate\": %.0f, \"rate_unit\": \"records/s\"",
		sw->done_s > 0 ? (sw->complete ? fl->n : (expired > 0 ? expired : 0)) / sw->done_s : 0);
	fprintf(f, ", \"cpu_s\": %.2f, \"user_s\": %.2f, \"sys_s\": %.2f, \"main_thread_cpu_s\": %.3f",
		sw->cpu_user + sw->cpu_sys, sw->cpu_user, sw->cpu_sys, sw->main_cpu);
	json_secs(f, "records_gone_s", sw->records_s);
	json_secs(f, "routes_gone_s", sw->routes_s);
	json_secs(f, "names_gone_s", sw->names_s);
	json_secs(f, "main_cpu_at_records_gone_s", sw->records_s < 0 ? -1 : sw->cpu_at_records);
	json_secs(f, "main_cpu_at_routes_gone_s", sw->routes_s < 0 ? -1 : sw->cpu_at_routes);
	json_secs(f, "main_cpu_at_names_gone_s", sw->names_s < 0 ? -1 : sw->cpu_at_names);
	fprintf(f, ", \"longest_loop_stall_s\": %.2f, \"resume_after_expiry_ms\": %.0f", sw->longest_stall_s,
		(sw->t_resume - sw->t_exp) * 1e3);
	if (expired >= 0)
		fprintf(f, ", \"passes\": %.0f, \"expired_counted\": %.0f, \"routes_removed_counted\": %.0f, "
			   "\"expiry_lag_mean_s\": %.3f",
			sw->m1.passes - sw->m0.passes, expired, sw->m1.routes_removed - sw->m0.routes_removed,
			expired > 0 ? (sw->m1.lag_sum_s - sw->m0.lag_sum_s) / expired : 0);
	fprintf(f, ", \"passes_cut_short\": %ld, \"keeper_routes_removed\": %d, \"keeper_name_removed\": %s",
		c->cut_short, KEEPERS - c->keeper_routes, c->keeper_name ? "false" : "true");
	fprintf(f, ", \"tick_ms\": %d, \"sweep_per_tick\": %d, \"ticks_per_pass\": %u", CS_TICK_MS,
		CS_SWEEP_PER_TICK, (fl->n + KEEPERS + CS_SWEEP_PER_TICK - 1) / CS_SWEEP_PER_TICK);
	fprintf(f, ", \"rss_before_mb\": %.1f, \"rss_after_mb\": %.1f, \"peak_rss_mb\": %.1f", c->rss_before,
		c->rss_after, c->hwm);
	fprintf(f, ", \"expired_log_lines\": %ld, \"fill_s\": %.2f, \"budget_s\": %.0f, \"daemon_cpu\": %d, "
		   "\"quick\": %s",
		c->log_lines, fl->seconds, c->budget_s, c->daemon_cpu, c->quick ? "true" : "false");
	json_str(f, "method", METHOD_SWEEP);
	fprintf(f, "}");
}

/* A median of windows, or -1 (null) when there were none. */
static double figure(const struct stat_of *s)
{
	return s->n ? s->median : -1;
}

static double ratio_of(const struct stat_of *num, const struct stat_of *den)
{
	return num->n && den->n && den->median > 0 ? num->median / den->median : -1;
}

/* A number with `prec` decimals, or null when negative (not measured). */
static void json_num(FILE *f, const char *key, double v, int prec)
{
	if (v < 0)
		fprintf(f, ", \"%s\": null", key);
	else
		fprintf(f, ", \"%s\": %.*f", key, prec, v);
}

static const char METHOD_ARM[] =
	"BPF_PROG_TEST_RUN windows of ~3 ms kernel time (the same repeat for every window of an arm), the "
	"three arms in ABBA rounds, on one CPU while the daemon runs on the other (taskset); each window "
	"classed by what the daemon's main thread did during it (its state and arrivals on a CPU before and "
	"after: /proc stat, schedstat): sweeping = runnable all along, idle = asleep all along. "
	"Figure: median ns/pkt (opts.duration) of the class's windows from the expiry until the fill is "
	"gone (or the budget), so idle and sweeping windows interleave at the same table state (idle_source "
	"says when too few idle windows made the daemon-stopped windows before the expiry the baseline); "
	"idle_before: daemon stopped, full table; idle_after: once the sweep is over";

/* An arm's windows by class. */
struct arm_stats {
	struct stat_of idle, busy, before, after;
	const char *idle_src;	/* where the idle baseline comes from */
};

static struct arm_stats arm_stats(int a)
{
	struct arm_stats st = { stat_windows(a, PH_SWEEP, ACT_IDLE), stat_windows(a, PH_SWEEP, ACT_BUSY),
				stat_windows(a, PH_BEFORE, ACT_ANY), stat_windows(a, PH_AFTER, ACT_IDLE),
				"between sweep ticks" };

	/* a sweep that never leaves the CPU has no idle windows of its own */
	if (st.idle.n < MIN_IDLE) {
		st.idle = st.before;
		st.idle_src = "before the expiry, daemon stopped";
	}
	return st;
}

static void write_arm_case(FILE *f, const struct ctx *c, int a, bool during)
{
	struct arm_stats st = arm_stats(a);
	const struct stat_of *idle = &st.idle, *busy = &st.busy, *before = &st.before, *after = &st.after;
	const struct stat_of *s = during ? busy : idle;
	char name[64], label[160];

	snprintf(name, sizeof(name), "%s_%s", ARM_CASE[a], during ? "during_sweep" : "idle");
	snprintf(label, sizeof(label), "%s, %s", ARM_LABEL[a], during ? "while the daemon sweeps" : "daemon idle");
	case_head(f, name, label, "ns_per_pkt", figure(s), "lower");
	if (during) {
		snprintf(name, sizeof(name), "%s_idle", ARM_CASE[a]);
		json_num(f, "ratio", ratio_of(busy, idle), 3);
		json_str(f, "baseline", name);
		json_num(f, "vs_idle_before", ratio_of(busy, before), 3);
	}
	fprintf(f, ", \"windows\": %d, \"repeat\": %u", s->n, c->arms[a].repeat);
	json_num(f, "p10_ns", s->n ? s->p10 : -1, 1);
	json_num(f, "p90_ns", s->n ? s->p90 : -1, 1);
	fprintf(f, ", \"daemon_on_cpu_share\": %.2f", s->busy);	/* tick-coarse: 4 ms steps */
	json_num(f, "idle_before_ns", figure(before), 1);
	fprintf(f, ", \"idle_before_windows\": %d", before->n);
	json_num(f, "idle_after_ns", figure(after), 1);
	fprintf(f, ", \"idle_after_windows\": %d, \"table_records\": %u, \"measurer_cpu\": %d, "
		   "\"daemon_cpu\": %d",
		after->n, c->fl->n + KEEPERS, c->cpu, c->daemon_cpu);
	json_str(f, "idle_source", st.idle_src);
	json_str(f, "program_tag", c->tags[a]);
	json_str(f, "path", ARM_PATH[a]);
	json_str(f, "method", METHOD_ARM);
	fprintf(f, "}");
}

static void write_json(const char *path, const struct ctx *c)
{
	char tmp[4096];
	FILE *f;
	int a;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		die("cannot write %s: %s", tmp, strerror(errno));
	fprintf(f, "[\n");
	write_sweep_case(f, c);
	for (a = 0; a < ARMS; a++) {
		fprintf(f, ",\n");
		write_arm_case(f, c, a, false);
		fprintf(f, ",\n");
		write_arm_case(f, c, a, true);
	}
	fprintf(f, "\n]\n");
	if (fclose(f) || rename(tmp, path))
		die("cannot write %s: %s", path, strerror(errno));
}

static void print_summary(const struct ctx *c)
{
	const struct sweep *sw = c->sw;
	int a;

	printf("sweep: %s %.2f s after the expiry (records gone at %.2f, routes %.2f, names %.2f s; -1: not "
	       "seen); daemon cpu %.2f s (user %.2f, sys %.2f); loop stalled up to %.2f s; %ld passes cut "
	       "short; %d of %d live routes removed%s\n",
	       sw->complete ? "done" : "NOT done by the budget,", sw->done_s, sw->records_s, sw->routes_s,
	       sw->names_s, sw->cpu_user + sw->cpu_sys, sw->cpu_user, sw->cpu_sys, sw->longest_stall_s,
	       c->cut_short, KEEPERS - c->keeper_routes, KEEPERS, c->keeper_name ? "" : ", and their name");
	for (a = 0; a < ARMS; a++) {
		struct arm_stats st = arm_stats(a);

		printf("%-22s idle %6.1f ns (%d windows, %s)  sweeping %6.1f ns (%d)  ratio %.3f\n", ARM_CASE[a],
		       st.idle.median, st.idle.n, st.idle_src, st.busy.median, st.busy.n,
		       ratio_of(&st.busy, &st.idle));
	}
}

/* ---- main ---- */

static void prog_tag(int fd, const char **out)
{
	static char tags[ARMS][2 * BPF_TAG_SIZE + 1];
	static int next;
	struct bpf_prog_info info;
	__u32 len = sizeof(info), i;
	char *t = tags[next++ % ARMS];

	memset(&info, 0, sizeof(info));
	snprintf(t, 2, "?");
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		for (i = 0; i < BPF_TAG_SIZE; i++)
			snprintf(&t[2 * i], 3, "%02x", info.tag[i]);
	*out = t;
}

static long count_lines(const char *path, const char *needle)
{
	char line[1024];
	long n = 0;
	FILE *f;

	if (!path || !(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, needle) != NULL;
	fclose(f);
	return n;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: expiry -p PIN_DIR -d DAEMON_PID -o OUT.json [-n RECORDS] [-l LEAD_S] [-a AFTER_S]\n"
		"              [-b BUDGET_S] [-m METRICS_PORT] [-L DAEMON_LOG] [-c DAEMON_CPU] [-q]\n"
		"  run in the daemon's network namespace (its metrics endpoint is on 127.0.0.1)\n");
	exit(2);
}

struct opts {
	const char *pin_dir, *out, *log;
	pid_t pid;
	__u32 records;
	double lead_s, after_s, budget_s;
	int port, daemon_cpu;
	bool quick;
};

static void parse(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts){ .records = 1000000, .lead_s = 5, .after_s = 2, .budget_s = 60, .daemon_cpu = -1 };
	while ((c = getopt(argc, argv, "p:d:o:n:l:a:b:m:L:c:q")) != -1) {
		switch (c) {
		case 'p': o->pin_dir = optarg; break;
		case 'd': o->pid = (pid_t)atoi(optarg); break;
		case 'o': o->out = optarg; break;
		case 'n': o->records = (__u32)strtoul(optarg, NULL, 10); break;
		case 'l': o->lead_s = atof(optarg); break;
		case 'a': o->after_s = atof(optarg); break;
		case 'b': o->budget_s = atof(optarg); break;
		case 'm': o->port = atoi(optarg); break;
		case 'L': o->log = optarg; break;
		case 'c': o->daemon_cpu = atoi(optarg); break;
		case 'q': o->quick = true; break;
		default: usage();
		}
	}
	if (!o->pin_dir || o->pid <= 0 || !o->out || o->records < 4 * NAME_IPS)
		usage();
}

/* The last CPU for the measurer (the script puts the daemon on another). */
static int pin_self(void)
{
	int cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	cpu_set_t set;

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) == 1) {
		for (cpu = 0; !CPU_ISSET(cpu, &set); cpu++)
			;
		return cpu;	/* taskset chose already */
	}
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) ? -1 : cpu;
}

/* The keepers: learned through the daemon's program; the steer flow pinned
 * and proven (its second packet moves it to cs_flows), so the steer arm
 * measures a pinned stream's packet. */
static void prime(const struct pins *p, struct arm *arms)
{
	__u64 before = learn_count(p, CS_R_LEARNED) + learn_count(p, CS_R_REFRESHED);

	run(arms[ARM_REPEATED].fd, arms[ARM_REPEATED].f, 1, XDP_PASS);
	if (learn_count(p, CS_R_LEARNED) + learn_count(p, CS_R_REFRESHED) != before + 1)
		die("the keepers' answer was neither learned nor refreshed (is %s a rule?)", PATTERN);
	run(arms[ARM_STEER].fd, arms[ARM_STEER].f, 1, TC_OK);
	run(arms[ARM_STEER].fd, arms[ARM_STEER].f, 1, TC_OK);
	if (count_all(p->flows, sizeof(struct cs_flow_key)) < 1)
		die("steer pinned and proved no flow for the keepers' route");
}

/* The three arms: the daemon's programs, the walked copy, their frames. */
static struct learn_bpf *arms_setup(const struct pins *p, struct arm *arms, struct ctx *c)
{
	static struct frame f_dns, f_steer;
	struct learn_bpf *walked;
	int a;

	keeper_frame(&f_dns);
	steer_frame(&f_steer);
	walked = learn_walked(p);
	arms[ARM_LEARN] = (struct arm){ bpf_program__fd(walked->progs.learn), &f_dns, XDP_PASS, 0 };
	arms[ARM_REPEATED] = (struct arm){ find_prog("learn", p->records_id), &f_dns, XDP_PASS, 0 };
	arms[ARM_STEER] = (struct arm){ find_prog("steer", p->routes_id), &f_steer, TC_OK, 0 };
	for (a = 0; a < ARMS; a++)
		prog_tag(arms[a].fd, &c->tags[a]);
	return walked;
}

/* Stop the daemon, fill its maps, measure until T with it stopped, and
 * resume it once the records have expired. */
static void fill_and_expire(const struct daemon *d, const struct pins *p, const struct opts *o, struct arm *arms,
			    struct fill *fl, struct sweep *sw)
{
	int a;

	fl->names = o->records / NAME_IPS;
	fl->ips = fl->names;
	fl->n = fl->names * NAME_IPS;
	sw->port = o->port;
	sw->m0 = metrics_read(o->port);	/* before the stop: a stopped daemon does not answer */
	daemon_signal(d, SIGSTOP);
	sw->t_exp = now_s() + o->lead_s;
	fill(p, fl, sw->t_exp);
	printf("filled %u records, %u names, %u routes (%u with an ACL id, %u waiting) in %.2f s; "
	       "they expire in %.1f s\n",
	       fl->n, fl->names, fl->ips, fl->with_acl, fl->waiting, fl->seconds, sw->t_exp - now_s());
	if (now_s() > sw->t_exp - 1)
		die("the fill took %.1f s, too long for a lead of %.1f s", fl->seconds, o->lead_s);
	for (a = 0; a < ARMS; a++)
		arms[a].repeat = calibrate(&arms[a]);
	measure_until(d, arms, PH_BEFORE, sw->t_exp + 0.05);
	daemon_signal(d, SIGCONT);
	sw->t_resume = now_s();
	printf("expired; the daemon resumed %.0f ms later\n", (sw->t_resume - sw->t_exp) * 1e3);
}

/* What the daemon and its maps say once it is over. */
static void collect(const struct daemon *d, const struct pins *p, const struct opts *o, struct ctx *c,
		    struct sweep *sw)
{
	sw->m1 = metrics_read(o->port);
	c->rss_after = proc_status_mb(d, "VmRSS");
	c->hwm = proc_status_mb(d, "VmHWM");
	c->log_lines = count_lines(o->log, " expired ");
	c->cut_short = count_lines(o->log, "sweep: reading the records");
	c->keeper_routes = keeper_routes(p);
	c->keeper_name = keeper_name(p);
	c->budget_s = o->budget_s;
}

int main(int argc, char **argv)
{
	struct arm arms[ARMS];
	struct fill fl = { 0 };
	struct sweep sw = { 0 };
	struct ctx c = { .fl = &fl, .sw = &sw, .arms = arms };
	struct learn_bpf *walked;
	struct daemon d;
	struct pins p;
	struct opts o;
	__u64 refreshed0;

	parse(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	c.quick = o.quick;
	c.daemon_cpu = o.daemon_cpu;
	c.cpu = pin_self();
	daemon_open(&d, o.pid);
	pins_open(&p, o.pin_dir);
	walked = arms_setup(&p, arms, &c);
	prime(&p, arms);
	c.rss_before = proc_status_mb(&d, "VmRSS");
	refreshed0 = learn_count(&p, CS_R_REFRESHED);
	g_xdp_runs = 0;

	fill_and_expire(&d, &p, &o, arms, &fl, &sw);
	follow_sweep(&d, &p, arms, &sw, sw.t_exp + o.budget_s);
	measure_until(&d, arms, PH_AFTER, now_s() + o.after_s);
	collect(&d, &p, &o, &c, &sw);

	/* every learn packet run since took the refreshed path (nothing else
	 * reaches the daemon's learn interface in its namespace) */
	if (learn_count(&p, CS_R_REFRESHED) - refreshed0 != g_xdp_runs)
		die("%llu learn packets run, %llu counted refreshed: some left the path",
		    (unsigned long long)g_xdp_runs,
		    (unsigned long long)(learn_count(&p, CS_R_REFRESHED) - refreshed0));
	write_json(o.out, &c);
	print_summary(&c);
	learn_bpf__destroy(walked);
	return 0;
}
