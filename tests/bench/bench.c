// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * bench - the per_packet part of `make bench` (tests/bench/run.sh): the cost
 * of every learn and steer case under BPF_PROG_TEST_RUN, at every table
 * size and rule count of the matrix below, and of an instance's chain
 * header cases, against a trivial program measured in the same run. It
 * writes -o (a JSON array, one object per case, the contract of run.sh) and
 * -e (kernel, CPU, date), and prints a table.
 *
 * The matrix: every case at table sizes 1k, 100k, 1m and rule counts 10,
 * 10k, 100k, the full 3x3 grid, so a report can plot cost against table
 * size at each rule count and against rule count at each table size. A row
 * is named BASE@SIZE_TABLE,RULES_rules
 * ("learn_dns_refresh_4a_walked@1m_records,10k_rules",
 * "steer_hit_pinned@100k_routes,10_rules") and carries "base", "table",
 * "table_records", "rules" and "rule_entries" to group by.
 *
 * What the sizes mean:
 *   records (learn)   entries in cs_records: the 72 records the refresh cases
 *                     refresh and filler records (other names, distinct IPs,
 *                     written with bpf_map_update_batch), exactly the size;
 *                     cs_records is sized as shipped (learn.limits.records,
 *                     1,048,576, preallocated: no lazy_tables). The learn
 *                     programs' cs_routes holds the cases' routes only: a
 *                     refresh does not read it, and the new case's insert
 *                     is the one learn case that touches it
 *   routes (steer)    entries in cs_routes: the route the hit cases hit and
 *                     filler routes, exactly the size. Up to 100k the map
 *                     has its default size (262,144); 1m needs
 *                     learn.limits.routes: 1048576, and gets it, as a user
 *                     would set it
 *   flows (steer)     other streams in cs_flows, proven and established: one
 *                     for every two routes, at most 131,072 (half of
 *                     cs_flows). The daemon removes flows by their state's
 *                     lifetime, so cs_flows holds the connections alive
 *                     now: most learned IPs are idle at any moment (a CDN
 *                     name answers with several, clients use one).
 *                     cs_flows_new (unproven flows) is empty but for the
 *                     new-flow case's own
 *   rules             what a user calls rules: patterns (a line of a block
 *                     list, an entry of match:). A config holds at most
 *                     CS_RULES_MAX - 1 = 4095 rule entries, so the patterns
 *                     go one a rule up to that and are then spread evenly
 *                     over 4095 rules (10 -> 10 rules; 10k -> 4095 rules of
 *                     2 or 3; 100k -> 4095 rules of 24 or 25), inline match:
 *                     lists ("file:" lists compile to the same patterns).
 *                     "rule_entries" and "patterns" say what was loaded.
 *                     The first pattern is example.com, what the refresh
 *                     cases match; the others a block-list mix: 60% two
 *                     labels, 30% three, 10% four, every 7th a wildcard,
 *                     every 11th exact. Every rule count has patterns of 2
 *                     and 3 labels, so the 3-label names of the cases cost
 *                     2 rule map lookups at every point (rule_lookups):
 *                     the sweep measures size, not a change of depths.
 *                     steer reads no patterns: only its route's rule entry
 *                     (cs_rules, an array), so a steer point writes the
 *                     rule entries of its rule count (chain 1) and its hit
 *                     route names the last of them
 *
 * Learn cases (XDP, against xdp_noop; IPv4 UDP frames from port 53):
 *   learn_non_dns             a TCP data segment from port 443
 *   learn_dns_nomatch         4 A records for www.nomatch.org: parsed, no rule
 *   learn_dns_refresh_1a/4a   www.example.com, 1 or 4 A records already known
 *   learn_dns_refresh_72a     www.example.com, 72 A records already known: a
 *                             big RRset as Knot and BIND send it over UDP
 *                             (72 and 74 A records in 1,232 octets)
 *   ..._walked                the same three with the repeat cache off: every
 *                             packet walked, as a first-time answer is (the
 *                             shipped program reuses the outcome of an answer
 *                             repeated within a second, so the repeats of
 *                             BPF_PROG_TEST_RUN measure that path)
 *   learn_dns_new_1a          a record made on every packet (method below)
 * Steer cases (TC, against tc_noop; IPv4 UDP 10.1.0.5:40000 -> 192.0.2.7:443
 * unless said; one chain, route mode, 256 buckets {1, 2}, instances on
 * csb0 (below) so TC asks no FIB; in a test run bpf_redirect_neigh returns
 * TC_ACT_REDIRECT without sending):
 *   steer_miss                destination and source not a route: two lookups
 *   steer_hit_pinned          a pinned, proven stream (in cs_flows), every
 *                             repeat: one flow lookup, counts, redirect
 *                             (TC_ACT_REDIRECT)
 *   steer_hit_pinned_encap    the pinned stream of a chain in encap mode:
 *                             steer_hit_pinned's path and the wrap in VXLAN
 *                             (method below)
 *   steer_hit_pinned_nsh      the same in nsh mode: VXLAN-GPE and NSH toward
 *                             the first stage
 *   steer_hit_new_flow        a stream steer has no flow for: the flow is
 *                             deleted between repeat=1 runs (method below);
 *                             it begins in cs_flows_new
 * Chain header cases (TC, against tc_noop; off the matrix: no routes, no
 * rules): the instance program of stage 0 of a chain of two in nsh mode,
 * the next stage's two instances up on ifindex 1 (bpf_redirect_neigh
 * returns TC_ACT_REDIRECT without sending), every bucket of their table
 * theirs; steer's hit stream, proven in cs_streams by its first two
 * arrivals under the code of C1:
 *   instance_nsh_arrive       the stream's packet behind VXLAN-GPE and NSH
 *                             to this node: read, checked, tracked, the
 *                             header taken off (TC_ACT_OK)
 *   instance_out_nsh_send_on  the service's packet of the stream going out:
 *                             looked up, wrapped toward the next stage's
 *                             instance for the code (TC_ACT_REDIRECT)
 * Controls (XDP, rows of their own, references of targets): the noop
 * programs cost so little that a ratio to them mostly measures the test
 * run's own overhead, so two programs that do the least the job needs:
 *   xdp_parse                 Ethernet, up to two VLAN tags, IPv4 (IHL) or
 *                             IPv6 (fixed header), TCP/UDP ports; XDP_PASS
 *   xdp_fwd_min               that parse, one hash lookup of the 5-tuple, whose
 *                             value caches a FIB result (ifindex, MACs), the
 *                             MACs rewritten, bpf_redirect: XDP_REDIRECT
 * Both run on learn_non_dns's frame, interleaved with it and xdp_noop (ABBA
 * over the four) at every point; their rows gather those runs. Before that,
 * xdp_fwd_min must forward frames of IPv4 and IPv6, TCP and UDP, under 0, 1
 * and 2 VLAN tags with their flows in its map, and pass them without.
 * steer's XDP fast path (steer_xdp, against xdp_noop, at every steer point
 * after the TC cases; in a network namespace of the bench's own, where a
 * veth csb0 carries the instances, the FIB finds them and csb0 is in
 * cs_xdp_ports; in a test run an XDP redirect returns XDP_REDIRECT):
 *   xdp_steer_miss            no route: ABBA with xdp_noop, xdp_parse (its
 *                             target: <= 1.2 x) and two frames that split it
 *                             (a first fragment: steer_xdp's parse alone; a
 *                             stream of the hit route without a flow)
 *   xdp_steer_hit_pinned      the pinned stream, redirected: ABBA with
 *                             xdp_noop and xdp_fwd_min (target <= 1.5 x),
 *                             which has the stream in its map
 *   xdp_steer_hit_pinned_encap/_nsh  wrapped in XDP: measure_changing against
 *                             xdp_steer_hit_pinned's path (the frame grows and
 *                             an XDP test run never resets it either)
 *   xdp_steer_pinned_streams  off the matrix: the pinned stream with cs_flows
 *                             sized 1,048,576 holding 1, 10k, 1m UDP streams
 *                             (warm: a longer bucket, no cache miss)
 *   xdp_steer_pinned_cycled   the same table, each packet another stream
 *                             picked at random (measure_changing against the
 *                             measured stream's frame): cache and TLB misses
 * Every XDP packet must count on the flow and xdp_steered, none on
 * xdp_to_tc; a miss makes no flow and counts nothing.
 * A TC test run builds an skb, which an XDP test run does not, so the steer
 * and instance ratios are against tc_noop (a sched_cls program returning TC_ACT_OK),
 * never against xdp_noop. xdp_noop and tc_noop have rows of their own: the
 * median of every baseline measurement of the run.
 *
 * How the points are reached: per rule count, the learn program is loaded
 * with that config, and a twin without the repeat cache over the very same
 * maps (the walked cases); their table grows through the sizes (filled to
 * 1k, measured, filled to 100k, ...): a load with 100k patterns takes
 * seconds, so it happens once, not once per table size. Per table size, one
 * steer program is loaded and filled, and its rule entries are rewritten for
 * each rule count.
 *
 * Method, steady-state cases (all but the two new ones):
 *   BPF_PROG_TEST_RUN with a large `repeat`, calibrated so one measurement
 *   takes about -t milliseconds (50 by default) of kernel time; the figure
 *   is opts.duration, the kernel's own ns per run averaged over the repeats
 *   (integer ns, so 1 ns resolution). Each case is measured -r times (5),
 *   interleaved with its baseline in ABBA order (noop, case | case, noop |
 *   ...) so drift cancels. ns_per_pkt is the median of the case's runs;
 *   ratio is the median of the per-run case/noop ratios. The same input runs
 *   every repeat, so everything it touches stays in cache: these are
 *   warm-cache figures, and a bigger table costs them only what a longer
 *   hash bucket or a colder neighbour costs.
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
 *   figure's cold-start bias. 1,000 iterations a run: their trimmed means
 *   agree within a few ns from run to run, and 9 points of 3,000 would cost
 *   the matrix more time than its steady-state cases.
 *
 * Method, steer_hit_new_flow: as learn_dns_new_1a: each iteration deletes the
 * flow untimed, then runs tc_noop, steer (new flow: two flow lookups,
 * affinity code, insert into cs_flows_new, bucket pick), steer (its second
 * packet, which proves it: the move to cs_flows) and steer (the pinned
 * repeat), each repeat=1; ns = warm steer_hit_pinned (same run) +
 * tmean(new) - tmean(pinned). What the move costs on top of a pinned
 * packet is kept as promotion_minus_pinned_ns.
 *
 * Method, the wrapped and unwrapped cases (steer_hit_pinned_encap and
 * _nsh, instance_nsh_arrive, instance_out_nsh_send_on): the kernel runs
 * every repeat of a TC test run on one skb and never resets it in between
 * (a program that grows it by 8 octets sees it 8 octets longer at every
 * repeat), so a second repeat would wrap the wrapped packet, or find no
 * header to take off. Each case runs repeat=1 in a loop, each run followed
 * by a run of a reference: the same program on a path that leaves the
 * packet as it is, whose warm figure is measured ABBA with tc_noop as the
 * other cases' are; ns = warm reference + tmean(case) - tmean(reference),
 * median over runs (measure_changing). The references: steer_hit_pinned's
 * own packet, chain 1 switched back to route mode (untimed) before it;
 * the same NSH header naming the next stage, refused (nsh_stage) without
 * touching the stream; the stream's answer, which instance_out looks up
 * and leaves as routed. With a reference equal to its case the method
 * gives the case's warm figure back.
 *
 * Paths are checked, per case and point: learn: before measuring, one run
 * must count the expected packet reason (cs_learn_stats), and afterwards
 * every packet run (calibration included) must have counted it; the table
 * must hold exactly its size before and after the point. steer: a miss must
 * make no flow; every pinned packet must count on the flow and on the rule
 * entry its route names, and pin no new stream; every new-flow run must pin
 * one stream to instance 1; a wrapped case's packet must come out wrapped
 * by its mode's octets, to its mode's port, and every packet count on the
 * flow with none left unwrapped; the instance must count every arrival
 * tracked and unwrapped (and every reference refused under nsh_stage), and
 * every packet out sent on. Otherwise the bench fails.
 *
 * Targets: learn_non_dns ratio <= 1.2 and <= 1.1 x xdp_parse (its second
 * target, "targets" in its row), learn_dns_refresh_4a ratio <= 6 at every
 * point; learn_dns_refresh_4a_walked at the largest table <= 1.15 x
 * the same at the smallest, at each rule count (vs_1k_records: the ratio of
 * the two points' ratios to xdp_noop, each drift-corrected by its own ABBA
 * noop). learn_non_dns and xdp_noop are some 30 ns, where the 1 ns
 * resolution moves the ratio in steps of 0.035: on a busy machine one of
 * its nine rows can tip over 1.2.
 *
 * BENCH_QUICK=1 in the environment: a smoke test (-r 1, -t 2, 100
 * iterations for the new cases, the two smaller table sizes and rule
 * counts): every case at four points, valid JSON in some seconds, figures
 * that mean nothing. -r and -t still override.
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
#include <fcntl.h>
#include <net/if.h>
#include <sys/utsname.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <bpf/libbpf_version.h>

#include "cloudsteer.h"
#include "controls.h"	/* tests/bench: the flow key and value of xdp_fwd_min */
#include "version.h"	/* build/version.h: CS_VERSION */
#include "lib/config.h"
#include "lib/learnprog.h"
#include "lib/maps.h"
#include "lib/names.h"
#include "lib/rules.h"
#include "lib/json.h"
#define DIE_NAME "bench"
#include "die.h"
#include "bpffx.h"
#include "pkt.h"
#include "instance.skel.h"
#include "learn.skel.h"
#include "noop.skel.h"
#include "steer.skel.h"
#include "tc_noop.skel.h"
#include "xdp_fwd_min.skel.h"
#include "xdp_parse.skel.h"

#define MAX_RUNS 31
#define NEW_ITERS 1000		/* repeat=1 iterations per run of the new cases */
#define MAX_RESULTS 256	/* 182: 19 cases at 9 points, 2 baselines, 2 controls, 2 of the
			 * chain header, 5 of the stream counts */
#define BASELINE_KEEP 4096	/* baseline measurements kept for the noop rows */
#define RULE_ENTRIES_MAX (CS_RULES_MAX - 1)	/* rule ids 1..4095 */

/* The matrix. Sizes ascend: a learn program grows through them. */
static const long TABLE_SIZES[] = { 1000, 100000, 1000000 };
static const long RULE_COUNTS[] = { 10, 10000, 100000 };
#define N_SIZES (int)(sizeof(TABLE_SIZES) / sizeof(TABLE_SIZES[0]))
_Static_assert(sizeof(TABLE_SIZES) == sizeof(RULE_COUNTS), "a square matrix");

static int g_runs = 5;
static double g_target_ns = 50e6;
static int g_new_iters = NEW_ITERS;
static int g_n_tables = N_SIZES, g_n_rules = N_SIZES;	/* the first n of each axis */
static const char *g_dir = "build/bench";
static const char *g_out = "build/bench/parts/per_packet.json";
static const char *g_env = "build/bench-env.json";
static int g_cpu = -1;
static char g_prog_tag[2 * BPF_TAG_SIZE + 1] = "?";	/* of the learn program measured */
static __u32 g_prog_jited, g_prog_xlated;

static const char METHOD_WARM[] =
	"BPF_PROG_TEST_RUN, repeat calibrated to ~target_ms, opts.duration (kernel ns/run, 1 ns "
	"resolution); median of runs interleaved ABBA with xdp_noop; ratio = median of per-run "
	"case/noop; same input every repeat, so warm cache";
static const char METHOD_CONTROL[] =
	"a control, measured with learn_non_dns at every point on its frame (IPv4 TCP data from "
	"port 443, the flow in xdp_fwd_min's map), interleaved ABBA with xdp_noop, the other control "
	"and learn; ns = median of every such run; ratio = median of per-run control/xdp_noop";
static const char METHOD_NEW[] =
	"repeat=1 loop: each iteration deletes the record and route (ACL id back to the pool) and "
	"drains the ring buffer untimed, then runs noop, learn (insert), learn (refresh of the record "
	"just made), each repeat=1; ns = warm refresh_1a ns (same run) + trimmed mean(insert) - "
	"trimmed mean(refresh); median over runs. noop_subtracted_ns = trimmed mean(insert) - "
	"trimmed mean(noop) + warm noop; refresh_noop_subtracted_ns, the same for the refresh, "
	"shows that figure's cold-cache bias against refresh_warm_ns";
static const char METHOD_STEER_WARM[] =
	"BPF_PROG_TEST_RUN (TC), repeat calibrated to ~target_ms, opts.duration; median of runs "
	"interleaved ABBA with tc_noop; ratio = median of per-run case/tc_noop (not xdp_noop: a TC "
	"test run builds an skb); same input every repeat, so warm cache; steer reads no patterns, "
	"only the rule entry (cs_rules, an array) its route names";
static const char METHOD_STEER_WRAP[] =
	"the wrap changes the packet and a TC test run never resets its skb between repeats, so: "
	"repeat=1 loop, each iteration switches chain 1 to the mode (untimed) and runs steer, then "
	"switches it back to route mode and runs steer on the same packet (steer_hit_pinned's path); ns = "
	"warm steer_hit_pinned ns (same run, ABBA with tc_noop) + trimmed mean(wrapped) - trimmed "
	"mean(route); ratio = ns / warm tc_noop ns; median over runs";
static const char METHOD_INSTANCE[] =
	"the instance program of stage 0 of a chain of two (nsh mode; cs_streams holds the one stream, "
	"made by its first two arrivals); the (un)wrap changes the packet and a TC test run never resets "
	"its skb between repeats, so: repeat=1 loop, each iteration runs the case, then the same program "
	"on its reference path, which leaves the packet as it is; ns = warm reference ns (same run, ABBA "
	"with tc_noop) + trimmed mean(case) - trimmed mean(reference); ratio = ns / warm tc_noop ns; "
	"median over runs";
static const char METHOD_XDP_STEER[] =
	"BPF_PROG_TEST_RUN (XDP, steer_xdp), repeat calibrated to ~target_ms, opts.duration; median of runs "
	"interleaved ABBA with xdp_noop and the control of its target (xdp_parse for a miss, xdp_fwd_min for a "
	"pinned stream) on the same frame; ratio = median of per-run case/xdp_noop, the target's ratio per run "
	"against its control; in a network namespace of the bench's own, whose veth cs0 reaches the instances "
	"(bpf_fib_lookup finds them, cs_xdp_ports holds cs0; an XDP redirect in a test run returns XDP_REDIRECT "
	"without sending); same input every repeat, so warm cache";
static const char METHOD_XDP_WRAP[] =
	"the wrap grows the frame and an XDP test run never resets its buffer between repeats, so: repeat=1 "
	"loop, each iteration switches chain 1 to the mode (untimed) and runs steer_xdp, then switches it back to "
	"route mode and runs steer_xdp on the same frame (xdp_steer_hit_pinned's path); ns = warm "
	"xdp_steer_hit_pinned ns (same run, ABBA with xdp_noop) + trimmed mean(wrapped) - trimmed mean(route); "
	"ratio = ns / warm xdp_noop ns; median over runs";
static const char METHOD_XDP_STREAMS[] =
	"xdp_steer_hit_pinned's method with cs_flows sized 1,048,576 (steer.limits.flows) and holding this many "
	"proven UDP streams to the same route and instance, the measured one among them; the same frame every "
	"repeat, so its bucket and entry stay in cache: this is the cost of a longer hash bucket, not of a cache "
	"miss";
static const char METHOD_XDP_CYCLED[] =
	"repeat=1 loop: each iteration runs steer_xdp on a frame of another stream of the table (picked at random "
	"among all of them, frame built untimed), then on the measured stream's own frame (the reference); ns = "
	"warm xdp_steer_pinned_streams ns at the same count (same run) + trimmed mean(other) - trimmed "
	"mean(reference): the cost of finding a stream whose bucket and entry are not in cache, beyond a syscall's "
	"own disturbance of the cache; ratio = ns / warm xdp_noop ns; median over runs";
static const char METHOD_STEER_NEW[] =
	"repeat=1 loop: each iteration deletes the flow untimed, then runs tc_noop, steer (new flow: "
	"affinity code, insert into cs_flows_new, bucket pick), steer (second packet: the move to "
	"cs_flows), steer (pinned), each repeat=1; ns = warm steer_hit_pinned ns (same run) + trimmed "
	"mean(new) - trimmed mean(pinned); ratio = ns / warm tc_noop ns; median over runs";

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
	double *s;
	double m;

	if (n <= 0)
		return 0;
	s = malloc(n * sizeof(*v));
	if (!s)
		die("out of memory");
	memcpy(s, v, n * sizeof(*v));
	qsort(s, n, sizeof(*s), cmp_double);
	m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
	free(s);
	return m;
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

/* ---- the points of the matrix ---- */

struct point {
	long table;		/* cs_records (learn) or cs_routes (steer) entries */
	long rules;		/* patterns: what a user calls rules */
	long rule_entries;	/* the config's rule entries they are spread over */
};

static long rule_entries_for(long patterns)
{
	return patterns < RULE_ENTRIES_MAX ? patterns : RULE_ENTRIES_MAX;
}

static struct point point_at(int table_idx, int rules_idx)
{
	struct point pt = { TABLE_SIZES[table_idx], RULE_COUNTS[rules_idx], 0 };

	pt.rule_entries = rule_entries_for(pt.rules);
	return pt;
}

/* 1000 -> "1k", 1000000 -> "1m", 10 -> "10": the names of rows. */
static void short_count(char *out, size_t n, long v)
{
	if (v >= 1000000 && v % 1000000 == 0)
		snprintf(out, n, "%ldm", v / 1000000);
	else if (v >= 1000 && v % 1000 == 0)
		snprintf(out, n, "%ldk", v / 1000);
	else
		snprintf(out, n, "%ld", v);
}

/* A TC program's case (steer, instance): against tc_noop, never xdp_noop. */
static bool is_tc(const char *base)
{
	return !strncmp(base, "steer_", 6) || !strncmp(base, "instance", 8) || !strcmp(base, "tc_noop");
}

/* steer's XDP fast path: on steer's grid (routes), against xdp_noop. */
static bool is_xdp_steer(const char *base)
{
	return !strncmp(base, "xdp_steer_", 10);
}

/* BASE@SIZE_TABLE,RULES_rules; the baselines are just BASE. */
static void case_name(char *out, size_t n, const char *base, const struct point *pt)
{
	char size[24], rules[24];

	if (!pt) {
		snprintf(out, n, "%s", base);
		return;
	}
	short_count(size, sizeof(size), pt->table);
	short_count(rules, sizeof(rules), pt->rules);
	snprintf(out, n, "%s@%s_%s,%s_rules", base, size, is_tc(base) || is_xdp_steer(base) ? "routes" : "records",
		 rules);
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

/* The IPv4 address base + i, v4-mapped: filler addresses. */
static void v4mapped_n(struct cs_addr *a, __u32 base, __u32 i)
{
	__u32 ip = htonl(base + i);

	memset(a, 0, sizeof(*a));
	a->b[10] = 0xff;
	a->b[11] = 0xff;
	memcpy(&a->b[12], &ip, 4);
}

static struct frame f_tcp, f_nomatch, f_1a, f_4a, f_72a, f_new;
static struct frame f_miss, f_hit;	/* steer's: no route; the pinned stream */
static const char *const IPS4[] = { "198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4" };

/* A big RRset: 198.51.100.1 to .72, the first four those of IPS4. */
#define BIG_RRSET 72
static char ips72_text[BIG_RRSET][16];
static const char *ips72[BIG_RRSET];

static void make_ips72(void)
{
	int i;

	for (i = 0; i < BIG_RRSET; i++) {
		snprintf(ips72_text[i], sizeof(ips72_text[i]), "198.51.100.%d", i + 1);
		ips72[i] = ips72_text[i];
	}
}

/* ---- programs ---- */

static __u32 run_prog(int prog_fd, const struct frame *f, __u32 repeat, __u32 rv)
{
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = f->len, .repeat = repeat);

	if (bpf_prog_test_run_opts(prog_fd, &o))
		die("BPF_PROG_TEST_RUN failed: %s", strerror(errno));
	if (o.retval != rv)
		die("the program returned %u, not %u", o.retval, rv);
	return o.duration;
}

struct inst {
	const char *label;
	struct cs_conf conf;
	struct cs_ruleset rs;
	struct learn_bpf *skel;
	int prog_fd, stats_fd, records_fd, routes_fd, pool_fd, events_fd;
	__u32 filled;		/* filler records made so far */
	bool twin;		/* over another's maps, config and rules: not its to free */
};

static void inst_fds(struct inst *in)
{
	in->prog_fd = bpf_program__fd(in->skel->progs.learn);
	in->stats_fd = bpf_map__fd(in->skel->maps.cs_learn_stats);
	in->records_fd = bpf_map__fd(in->skel->maps.cs_records);
	in->routes_fd = bpf_map__fd(in->skel->maps.cs_routes);
	in->pool_fd = bpf_map__fd(in->skel->maps.cs_acl_pool);
	in->events_fd = bpf_map__fd(in->skel->maps.cs_learn_events);
}

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
	inst_fds(in);
}

/*
 * A second learn program over every map of `base` (its own read-only
 * globals aside): the walked twin of the shipped one, which then sees the
 * same rules and the same table, as the daemon's programs share maps
 * through their pins. It spares a second load of the config (seconds with
 * 100k patterns) and a second fill of cs_records.
 */
static void inst_load_twin(struct inst *in, const struct inst *base, const char *label, bool walk)
{
	struct bpf_map *m, *src;
	int e;

	*in = *base;	/* config and rules: the same, borrowed */
	in->label = label;
	in->twin = true;
	in->skel = learn_bpf__open();
	if (!in->skel)
		die("%s: cannot open the learn program: %s", label, strerror(errno));
	in->skel->rodata->reuse_repeats = !walk;
	bpf_object__for_each_map(m, in->skel->obj) {
		if (bpf_map__is_internal(m))
			continue;
		src = bpf_object__find_map_by_name(base->skel->obj, bpf_map__name(m));
		if (!src || bpf_map__reuse_fd(m, bpf_map__fd(src)))
			die("%s: cannot share map %s: %s", label, bpf_map__name(m), strerror(errno));
	}
	e = learn_bpf__load(in->skel);
	if (e)
		die("%s: the kernel refused the learn program: %s", label, strerror(-e));
	inst_fds(in);
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
	in->skel = NULL;
	if (in->twin)
		return;
	cs_rules_free(&in->rs);
	cs_config_free(&in->conf);
}

static void stats_read(const struct inst *in, __u64 *out)
{
	if (cs_percpu_sum(in->stats_fd, 0, CS_R_MAX, out, 1))
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
	__u64 before[CS_R_MAX], after[CS_R_MAX], all, hit;
	__u32 r;

	stats_read(in, before);
	run_prog(in->prog_fd, f, 1, XDP_PASS);
	stats_delta(in, before, reason, &all, &hit);
	if (all == 1 && hit == 1)
		return;
	stats_read(in, after);
	for (r = 1; r < CS_R_PACKET_END; r++)
		if (after[r] != before[r])
			fprintf(stderr, "bench: %s: counted %s\n", what, cs_reason_name(r));
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
	int prog_fd;
	const struct frame *f;
	__u32 rv;		/* the verdict every run must return */
	__u32 repeat;
	__u64 pkts;		/* packets run, calibration included */
	double ns[MAX_RUNS];
};

/* Every warm measurement of a baseline, for its row. */
struct baseline_log {
	double ns[BASELINE_KEEP];
	int n;
	__u32 repeat;
};

static struct baseline_log g_xdp_log, g_tc_log;

static void baseline_keep(struct baseline_log *log, const double *ns, int n, __u32 repeat)
{
	int r;

	for (r = 0; r < n && log->n < BASELINE_KEEP; r++)
		log->ns[log->n++] = ns[r];
	log->repeat = repeat;
}

/* Every warm measurement of a control, and its ratio to the baseline
 * measured in the same run, for its row. */
struct control_log {
	double ns[BASELINE_KEEP], ratio[BASELINE_KEEP];
	int n;
	__u32 repeat;
};

static struct control_log g_parse_log, g_fwd_log;

/* The controls: loaded once, measured with learn_non_dns at every point. */
static struct {
	struct xdp_parse_bpf *parse;
	struct xdp_fwd_min_bpf *fwd;
	int parse_fd, fwd_fd;
} g_ctl;

static void control_keep(struct control_log *log, const struct arm *a, const struct arm *noop)
{
	int r;

	for (r = 0; r < g_runs && log->n < BASELINE_KEEP; r++) {
		log->ns[log->n] = a->ns[r];
		log->ratio[log->n++] = a->ns[r] / noop->ns[r];
	}
	log->repeat = a->repeat;
}

#define CAL_WARM 2000
#define CAL_REPEAT 20000

/* The repeat that makes one measurement last about -t ms of kernel time. */
static __u32 calibrate(int prog_fd, const struct frame *f, __u32 rv, __u64 *pkts)
{
	__u32 d, repeat;

	run_prog(prog_fd, f, CAL_WARM, rv);
	d = run_prog(prog_fd, f, CAL_REPEAT, rv);
	*pkts += CAL_WARM + CAL_REPEAT;
	if (d < 1)
		d = 1;
	repeat = (__u32)(g_target_ns / d);
	repeat = repeat / 1000 * 1000;
	if (repeat < 10000)
		repeat = 10000;
	if (repeat > 100000000)
		repeat = 100000000;
	return repeat;
}

static void calibrate_arms(struct arm *arms, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		arms[i].pkts = 0;
		arms[i].repeat = calibrate(arms[i].prog_fd, arms[i].f, arms[i].rv, &arms[i].pkts);
	}
}

/* Run r of the arms: forward when r is even, backward when it is odd. */
static void run_arms(struct arm *arms, int n, int r)
{
	int i;

	for (i = 0; i < n; i++) {
		struct arm *a = &arms[r % 2 ? n - 1 - i : i];

		a->ns[r] = run_prog(a->prog_fd, a->f, a->repeat, a->rv);
		a->pkts += a->repeat;
	}
}

/* arms[0] is the baseline; each run goes forward or backward through the arms. */
static void measure(struct arm *arms, int n)
{
	int r;

	calibrate_arms(arms, n);
	for (r = 0; r < g_runs; r++)
		run_arms(arms, n, r);
}

/* A case whose program changes the packet (a wrap, an unwrap), measured a
 * packet at a time against a reference path of the same program that
 * leaves it as it is (the method of the wrapped cases, above). */
struct changing {
	struct arm arms[2];	/* the baseline and the reference, warm */
	struct arm cas;		/* the case: repeat=1 runs alone */
	/* untimed, before each run of the case (true) and of the reference
	 * (false, its warm runs too); NULL: nothing to switch */
	void (*set)(const void *ctx, bool for_case);
	const void *ctx;
	double ns[MAX_RUNS], ratio[MAX_RUNS], extra_ns[MAX_RUNS];	/* per run */
};

static void changing_set(const struct changing *c, bool for_case)
{
	if (c->set)
		c->set(c->ctx, for_case);
}

/* One run: the warm pair, ABBA like the other cases, then the repeat=1 loop. */
static void changing_run(struct changing *c, int r)
{
	static double d_case[NEW_ITERS], d_ref[NEW_ITERS];
	const struct arm *ref = &c->arms[1];
	int i;

	changing_set(c, false);
	run_arms(c->arms, 2, r);
	for (i = 0; i < g_new_iters; i++) {
		changing_set(c, true);
		d_case[i] = run_prog(c->cas.prog_fd, c->cas.f, 1, c->cas.rv);
		changing_set(c, false);
		d_ref[i] = run_prog(ref->prog_fd, ref->f, 1, ref->rv);
	}
	c->cas.pkts += (__u64)g_new_iters;
	c->arms[1].pkts += (__u64)g_new_iters;
	c->extra_ns[r] = trimmed_mean(d_case, g_new_iters) - trimmed_mean(d_ref, g_new_iters);
	c->ns[r] = ref->ns[r] + c->extra_ns[r];
	c->ratio[r] = c->ns[r] / c->arms[0].ns[r];
}

static void measure_changing(struct changing *c)
{
	int r;

	c->cas.pkts = 0;
	changing_set(c, false);
	calibrate_arms(c->arms, 2);
	for (r = 0; r < g_runs; r++)
		changing_run(c, r);
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

struct family {
	const char *base, *label;
};

static const struct family FAMILIES[] = {
	{ "xdp_noop", "trivial XDP program (XDP_PASS)" },
	{ "xdp_parse", "control: Ethernet, VLANs, IPv4/IPv6, ports parsed (XDP_PASS)" },
	{ "xdp_fwd_min", "control: the parse, a flow lookup, MACs rewritten, redirect" },
	{ "xdp_steer_miss", "steer in XDP, neither address a route" },
	{ "xdp_steer_hit_pinned", "steer in XDP, a pinned stream, redirected" },
	{ "xdp_steer_hit_pinned_encap", "steer in XDP, a pinned stream, wrapped in VXLAN, redirected" },
	{ "xdp_steer_hit_pinned_nsh", "steer in XDP, a pinned stream, wrapped in VXLAN-GPE and NSH, redirected" },
	{ "xdp_steer_pinned_streams", "steer in XDP, a pinned stream among this many in cs_flows (warm)" },
	{ "xdp_steer_pinned_cycled", "steer in XDP, each packet another stream of this many (cache misses)" },
	{ "learn_non_dns", "TCP data, not DNS" },
	{ "learn_dns_nomatch", "DNS answer, no rule (repeat reused)" },
	{ "learn_dns_refresh_1a", "1 known A record (repeat reused)" },
	{ "learn_dns_refresh_4a", "4 known A records (repeat reused)" },
	{ "learn_dns_refresh_72a", "72 known A records (repeat reused)" },
	{ "learn_dns_nomatch_walked", "DNS answer, no rule, walked" },
	{ "learn_dns_refresh_1a_walked", "1 known A record, walked" },
	{ "learn_dns_refresh_4a_walked", "4 known A records, walked" },
	{ "learn_dns_refresh_72a_walked", "72 known A records, walked" },
	{ "learn_dns_new_1a", "a new record, route and ACL id" },
	{ "tc_noop", "trivial TC program (TC_ACT_OK)" },
	{ "steer_miss", "neither address a route" },
	{ "steer_hit_pinned", "a pinned stream, redirected" },
	{ "steer_hit_pinned_encap", "a pinned stream, wrapped in VXLAN, redirected" },
	{ "steer_hit_pinned_nsh", "a pinned stream, wrapped in VXLAN-GPE and NSH, redirected" },
	{ "steer_hit_new_flow", "a new stream: code, bucket, pick" },
	{ "instance_nsh_arrive", "NSH in, a tracked stream: read, check, track, unwrap" },
	{ "instance_out_nsh_send_on", "out, a tracked stream: wrapped toward the next stage, redirected" },
};

static const char *family_label(const char *base)
{
	size_t i;

	for (i = 0; i < sizeof(FAMILIES) / sizeof(FAMILIES[0]); i++)
		if (!strcmp(FAMILIES[i].base, base))
			return FAMILIES[i].label;
	die("no label for case %s", base);
}

struct result {
	char name[96];
	const char *base;	/* the case family */
	const char *label;
	const char *baseline;	/* "xdp_noop" or "tc_noop" */
	const char *table;	/* "cs_records" or "cs_routes"; NULL: a baseline row */
	long table_records, rules, rule_entries, patterns;	/* -1: not applicable */
	double ns, ratio, noop_ns, lo, hi;
	double samples[MAX_RUNS];
	int runs;
	__u32 repeat;
	const char *path;
	int lookups;		/* rule map lookups of the name; -1: none */
	const char *method;
	const char *target;	/* NULL: none */
	bool meets;
	/* a second target, against another program than the row's baseline */
	const char *also_target, *also_baseline;
	double also_ratio;
	bool also_meets;
	const char *not_measured;	/* why the case has no figure; NULL: it has one */
	char extra[1024];	/* more JSON members, each starting with ',' */
};

static struct result g_res[MAX_RESULTS];
static int g_nres;

/* A row of family `base` at point pt (NULL: a baseline row). */
static struct result *result_new(const char *base, const struct point *pt)
{
	struct result *res;

	if (g_nres == MAX_RESULTS)
		die("more than %d cases", MAX_RESULTS);
	res = &g_res[g_nres++];
	memset(res, 0, sizeof(*res));
	case_name(res->name, sizeof(res->name), base, pt);
	res->base = base;
	res->label = family_label(base);
	res->baseline = is_tc(base) ? "tc_noop" : "xdp_noop";
	res->table_records = res->rules = res->rule_entries = res->patterns = -1;
	res->lookups = -1;
	res->method = is_tc(base) ? METHOD_STEER_WARM : is_xdp_steer(base) ? METHOD_XDP_STEER : METHOD_WARM;
	if (pt) {
		res->table = is_tc(base) || is_xdp_steer(base) ? "cs_routes" : "cs_records";
		res->table_records = pt->table;
		res->rules = pt->rules;
		res->rule_entries = pt->rule_entries;
	}
	return res;
}

static struct result *result_find(const char *base, const struct point *pt)
{
	char name[96];
	int i;

	case_name(name, sizeof(name), base, pt);
	for (i = 0; i < g_nres; i++)
		if (!strcmp(g_res[i].name, name))
			return &g_res[i];
	die("no result %s", name);
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

/* A TC case measured by measure_changing, against its reference `ref_path`. */
static void result_changing(struct result *res, const struct changing *c, const char *ref_path, const char *method)
{
	if (is_tc(res->base))
		baseline_keep(&g_tc_log, c->arms[0].ns, g_runs, c->arms[0].repeat);
	res->method = method;
	result_samples(res, c->ns, g_runs);
	res->repeat = 1;
	res->noop_ns = median(c->arms[0].ns, g_runs);
	res->ratio = median(c->ratio, g_runs);
	extra(res, ", \"iterations\": %d, \"reference\": \"%s\", \"reference_warm_ns\": %.2f, "
		   "\"minus_reference_ns\": %.2f", g_new_iters, ref_path, median(c->arms[1].ns, g_runs),
	      median(c->extra_ns, g_runs));
}

static void target(struct result *res, const char *text, bool meets)
{
	res->target = text;
	res->meets = meets;
}

static void also_target(struct result *res, const char *text, const char *baseline, double ratio, bool meets)
{
	res->also_target = text;
	res->also_baseline = baseline;
	res->also_ratio = ratio;
	res->also_meets = meets;
}

static void json_member_str(FILE *f, const char *key, const char *value)
{
	fprintf(f, ", \"%s\": ", key);
	cs_json_string(f, value);
}

static void json_member_long(FILE *f, const char *key, long value)
{
	if (value >= 0)
		fprintf(f, ", \"%s\": %ld", key, value);
}

/* A case the issue sets a target for and nothing here can run yet: no
 * figure (null), no verdict, and why. */
static void write_row_unmeasured(FILE *f, const struct result *res)
{
	fprintf(f, "  {\"case\": ");
	cs_json_string(f, res->name);
	json_member_str(f, "part", "per_packet");
	json_member_str(f, "label", res->label);
	json_member_str(f, "unit", "ns_per_pkt");
	fprintf(f, ", \"ns_per_pkt\": null");
	json_member_str(f, "better", "lower");
	json_member_str(f, "baseline", res->baseline);
	json_member_str(f, "target", res->target);
	fprintf(f, ", \"meets\": null");
	json_member_str(f, "base", res->base);
	json_member_str(f, "not_measured", res->not_measured);
	json_member_str(f, "method", res->method);
	fprintf(f, "}");
}

/* The second target, as the report reads more than one: a list. */
static void write_also_target(FILE *f, const struct result *res)
{
	fprintf(f, ", \"targets\": [{\"target\": ");
	cs_json_string(f, res->also_target);
	fprintf(f, ", \"meets\": %s, \"ratio\": %.3f, \"baseline\": ", res->also_meets ? "true" : "false",
		res->also_ratio);
	cs_json_string(f, res->also_baseline);
	fprintf(f, "}]");
}

/* One object of the array: the members run.sh asks of every part first. */
static void write_row(FILE *f, const struct result *res)
{
	int r;

	if (res->not_measured) {
		write_row_unmeasured(f, res);
		return;
	}
	fprintf(f, "  {\"case\": ");
	cs_json_string(f, res->name);
	json_member_str(f, "part", "per_packet");
	json_member_str(f, "label", res->label);
	json_member_str(f, "unit", "ns_per_pkt");
	fprintf(f, ", \"ns_per_pkt\": %.2f", res->ns);
	json_member_str(f, "better", "lower");
	fprintf(f, ", \"ratio\": %.3f", res->ratio);
	json_member_str(f, "baseline", res->baseline);
	if (res->target) {
		json_member_str(f, "target", res->target);
		fprintf(f, ", \"meets\": %s", res->meets ? "true" : "false");
	}
	if (res->also_target)
		write_also_target(f, res);
	json_member_str(f, "base", res->base);
	if (res->table)
		json_member_str(f, "table", res->table);
	json_member_long(f, "table_records", res->table_records);
	json_member_long(f, "rules", res->rules);
	json_member_long(f, "rule_entries", res->rule_entries);
	json_member_long(f, "patterns", res->patterns);
	fprintf(f, ", \"noop_ns\": %.2f, \"runs\": %d, \"repeat\": %u", res->noop_ns, res->runs, res->repeat);
	fprintf(f, ", \"min_ns\": %.2f, \"max_ns\": %.2f, \"samples_ns\": [", res->lo, res->hi);
	for (r = 0; r < res->runs; r++)
		fprintf(f, "%s%.2f", r ? ", " : "", res->samples[r]);
	fprintf(f, "]");
	if (res->path)
		json_member_str(f, "path", res->path);
	if (res->lookups >= 0)
		fprintf(f, ", \"rule_lookups\": %d", res->lookups);
	fputs(res->extra, f);
	json_member_str(f, "method", res->method);
	fprintf(f, "}");
}

static void write_json(const char *path)
{
	char tmp[4096];
	FILE *f;
	int i;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		die("cannot write %s: %s", tmp, strerror(errno));
	fprintf(f, "[\n");
	for (i = 0; i < g_nres; i++) {
		write_row(f, &g_res[i]);
		fprintf(f, "%s\n", i + 1 < g_nres ? "," : "");
	}
	fprintf(f, "]\n");
	if (fclose(f) || rename(tmp, path))
		die("cannot write %s: %s", path, strerror(errno));
}

static void print_table(void)
{
	int i;

	printf("\n%-50s %8s %7s %15s  %-32s %s\n", "case", "ns/pkt", "ratio", "min..max ns", "target",
	       "meets");
	for (i = 0; i < g_nres; i++) {
		const struct result *res = &g_res[i];
		char range[40];

		if (res->not_measured) {
			printf("%-50s %8s %7s %15s  %-32s %s\n", res->name, "-", "-", "", res->target,
			       res->not_measured);
			continue;
		}
		snprintf(range, sizeof(range), "%.1f..%.1f", res->lo, res->hi);
		printf("%-50s %8.1f %7.2f %15s  %-32s %s\n", res->name, res->ns, res->ratio, range,
		       res->target ? res->target : "", res->target ? (res->meets ? "yes" : "NO") : "");
		if (res->also_target)
			printf("%-50s %8s %7.2f %15s  %-32s %s\n", "", "", res->also_ratio, "", res->also_target,
			       res->also_meets ? "yes" : "NO");
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

/* Pattern i of the filler: a block-list mix, 60% two labels, 30% three, 10%
 * four; every 7th a wildcard, every 11th exact. Quoted: YAML reads a bare
 * '*' as an alias. */
static void filler_pattern(FILE *f, long i)
{
	const char *pfx = i % 7 == 0 ? "*." : i % 11 == 0 ? "=" : "";

	if (i % 10 < 6)
		fprintf(f, "\"%ssite%ld.com\"", pfx, i);
	else if (i % 10 < 9)
		fprintf(f, "\"%sapi%ld.svc%ld.net\"", pfx, i, i / 10);
	else
		fprintf(f, "\"%sa%ld.b.edge%ld.org\"", pfx, i, i % 97);
}

/* Pattern k of a config: example.com, what the cases match, then the filler. */
static void config_pattern(FILE *f, long k)
{
	if (k == 0)
		fprintf(f, "example.com");
	else
		filler_pattern(f, k - 1);
}

/*
 * `patterns` patterns spread over the point's rule entries: pattern k goes
 * to rule k mod entries, so example.com is rule 1's first. Returns the
 * config's path in `path`.
 */
static void config_rules(char *path, size_t n, const struct point *pt)
{
	long r, k;
	FILE *f;

	snprintf(path, n, "%s/rules-%ld.yaml", g_dir, pt->rules);
	f = fopen(path, "w");
	if (!f)
		die("cannot write %s: %s", path, strerror(errno));
	fprintf(f, "# written by tests/bench/bench.c: %ld patterns in %ld rules\nrules:\n", pt->rules,
		pt->rule_entries);
	for (r = 0; r < pt->rule_entries; r++) {
		fprintf(f, "  - match:\n");
		for (k = r; k < pt->rules; k += pt->rule_entries) {
			fprintf(f, "      - ");
			config_pattern(f, k);
			fputc('\n', f);
		}
	}
	if (fclose(f))
		die("cannot write %s: %s", path, strerror(errno));
}

/* ---- filling the tables ---- */

#define FILL_CHUNK 131072
#define FILLER_RECORD_BASE 0x0a000000u	/* 10.0.0.0: none of the cases' addresses */
#define FILLER_ROUTE_BASE 0x64400000u	/* 100.64.0.0/10: room for 4M routes, and
					 * not 10.1.0.5, the hit frame's source */
#define FILLER_CLIENT_BASE 0x0a800000u	/* 10.128.0.0/9: the other flows' clients */

static __u64 splitmix64(__u64 *s)
{
	__u64 z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Writes entries 0..n-1 into map fd, FILL_CHUNK at a time with
 * bpf_map_update_batch; make(k, key, value, ctx) builds entry k into zeroed
 * space. `what` names the map in an error. */
static void fill_map(int fd, const char *what, __u32 n, size_t key_size, size_t value_size,
		     void (*make)(__u32 k, void *key, void *value, const void *ctx), const void *ctx)
{
	char *keys = malloc(FILL_CHUNK * key_size), *vals = malloc(FILL_CHUNK * value_size);
	__u32 done = 0, i;

	if (!keys || !vals)
		die("out of memory");
	while (done < n) {
		LIBBPF_OPTS(bpf_map_batch_opts, o);	/* elem_flags: only BPF_F_LOCK is allowed */
		__u32 count = n - done < FILL_CHUNK ? n - done : FILL_CHUNK;

		memset(keys, 0, count * key_size);
		memset(vals, 0, count * value_size);
		for (i = 0; i < count; i++)
			make(done + i, keys + i * key_size, vals + i * value_size, ctx);
		if (bpf_map_update_batch(fd, keys, vals, &count, &o))
			die("cannot fill %s (%u done): %s", what, done, strerror(errno));
		done += count;
	}
	free(keys);
	free(vals);
}

/* Filler record first + k, as if learned for another name: each its own IP,
 * so no two collide with each other or with the cases' records. */
static void make_record(__u32 k, void *key, void *value, const void *ctx)
{
	struct cs_record_key *rk = key;
	__u64 seed = *(const __u32 *)ctx + k;

	rk->name_id = splitmix64(&seed);
	v4mapped_n(&rk->addr, FILLER_RECORD_BASE, *(const __u32 *)ctx + k);
	*(struct cs_record *)value = (struct cs_record){ .expires_ns = ~0ULL >> 1, .rule_id = 1,
							 .pattern_id = 1, .ttl = 300, .hits = 1 };
}

/* Filler records first..first+n-1. */
static void fill_records(const struct inst *in, __u32 first, __u32 n)
{
	fill_map(in->records_fd, "cs_records", n, sizeof(struct cs_record_key), sizeof(struct cs_record),
		 make_record, &first);
}

/* Grow cs_records to exactly `size` records, the cases' own included. */
static void fill_records_to(struct inst *in, long size)
{
	long have = records_count(in);

	if (have > size)
		die("%s: cs_records holds %ld records, more than %ld", in->label, have, size);
	fill_records(in, in->filled, (__u32)(size - have));
	in->filled += (__u32)(size - have);
	if ((have = records_count(in)) != size)
		die("%s: cs_records holds %ld records, not %ld", in->label, have, size);
}

/* ---- the controls ---- */

static const __u8 CTL_SMAC[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const __u8 CTL_DMAC[6] = { 0x02, 0, 0, 0, 0, 0x02 };

/* The key xdp_fwd_min makes of a frame built with o (addresses and ports
 * given, not defaulted). */
static void ctl_flow_of(const struct frame_opts *o, struct ctl_flow *k)
{
	int af = o->ipv6 ? AF_INET6 : AF_INET;

	memset(k, 0, sizeof(*k));
	if (inet_pton(af, o->src, k->src) != 1 || inet_pton(af, o->dst, k->dst) != 1)
		die("bad address %s or %s", o->src, o->dst);
	k->sport = htons(o->sport);
	k->dport = htons(o->dport);
	k->proto = o->tcp ? IPPROTO_TCP : IPPROTO_UDP;
}

static void ctl_flow_put(const struct ctl_flow *k)
{
	struct ctl_fwd v = { .ifindex = 1 };	/* lo: a test run does not send */

	memcpy(v.smac, CTL_SMAC, sizeof(v.smac));
	memcpy(v.dmac, CTL_DMAC, sizeof(v.dmac));
	if (bpf_map_update_elem(bpf_map__fd(g_ctl.fwd->maps.ctl_flows), k, &v, BPF_ANY))
		die("xdp_fwd_min: cannot write the flow: %s", strerror(errno));
}

/* Does xdp_fwd_min send f on with the flow's MACs? */
static bool ctl_forwards(const struct frame *f)
{
	__u8 out[FRAME_CAP];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f->b, .data_size_in = f->len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);

	if (bpf_prog_test_run_opts(g_ctl.fwd_fd, &o))
		die("BPF_PROG_TEST_RUN failed: %s", strerror(errno));
	if (o.retval == XDP_PASS)
		return false;
	if (o.retval != XDP_REDIRECT || memcmp(out, CTL_DMAC, 6) || memcmp(out + 6, CTL_SMAC, 6))
		die("xdp_fwd_min: verdict %u, or the MACs not rewritten", o.retval);
	return true;
}

/* The parse finds the flow under every header it must read: a frame is
 * forwarded with its flow in the map, and passed once it is gone. */
static void ctl_check(void)
{
	static const struct { bool ipv6, tcp; int vlans; } cases[] = {
		{ false, false, 2 }, { false, true, 1 }, { true, false, 1 }, { true, true, 2 }, { true, false, 0 },
	};
	static const char payload[32] = "controls";
	struct ctl_flow k;
	struct frame f;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct frame_opts o = { .ipv6 = cases[i].ipv6, .tcp = cases[i].tcp, .vlans = cases[i].vlans,
					.sport = 40000, .dport = 443,
					.src = cases[i].ipv6 ? "2001:db8::5" : "10.1.0.5",
					.dst = cases[i].ipv6 ? "2001:db8::7" : "192.0.2.7" };

		f.len = frame_build(f.b, &o, payload, sizeof(payload));
		ctl_flow_of(&o, &k);
		ctl_flow_put(&k);
		run_prog(g_ctl.parse_fd, &f, 1, XDP_PASS);
		if (!ctl_forwards(&f))
			die("xdp_fwd_min: case %zu (%s, %s, %d VLANs) not found", i, o.ipv6 ? "IPv6" : "IPv4",
			    o.tcp ? "TCP" : "UDP", o.vlans);
		if (bpf_map_delete_elem(bpf_map__fd(g_ctl.fwd->maps.ctl_flows), &k) || ctl_forwards(&f))
			die("xdp_fwd_min: case %zu forwarded without its flow", i);
	}
}

/* Both controls, checked, with f_tcp's flow (frame_tcp_data's) in the map. */
static void controls_load(void)
{
	struct frame_opts o = { .tcp = true, .sport = 443, .dport = 40000, .src = "192.0.2.53",
				.dst = "192.0.2.1" };
	struct ctl_flow k;

	g_ctl.parse = xdp_parse_bpf__open_and_load();
	g_ctl.fwd = xdp_fwd_min_bpf__open_and_load();
	if (!g_ctl.parse || !g_ctl.fwd)
		die("cannot load the controls: %s", strerror(errno));
	g_ctl.parse_fd = bpf_program__fd(g_ctl.parse->progs.xdp_parse);
	g_ctl.fwd_fd = bpf_program__fd(g_ctl.fwd->progs.xdp_fwd_min);
	ctl_check();
	ctl_flow_of(&o, &k);
	ctl_flow_put(&k);
	if (!ctl_forwards(&f_tcp))
		die("xdp_fwd_min: the bench's TCP frame is not the flow in the map");
	/* and steer's pinned stream, its control in the XDP steer cases */
	ctl_flow_of(&(struct frame_opts){ .sport = 40000, .dport = 443, .src = "10.1.0.5", .dst = "192.0.2.7" }, &k);
	ctl_flow_put(&k);
	if (!ctl_forwards(&f_hit))
		die("xdp_fwd_min: steer's hit frame is not the flow in the map");
}

static void controls_free(void)
{
	xdp_fwd_min_bpf__destroy(g_ctl.fwd);
	xdp_parse_bpf__destroy(g_ctl.parse);
}

/* ---- learn cases ---- */

/* One warm case, arms[n - 1], against the baseline, arms[0], and whatever
 * runs between them; checks every packet's path. */
static struct result *bench_warm_arms(const char *base, const struct point *pt, const struct inst *in,
				      struct arm *arms, int n, __u32 reason)
{
	struct arm *cas = &arms[n - 1];
	__u64 before[CS_R_MAX], all, hit;
	struct result *res = result_new(base, pt);

	expect_path(in, cas->f, reason, res->name);
	stats_read(in, before);
	measure(arms, n);
	stats_delta(in, before, reason, &all, &hit);
	if (all != hit || hit != cas->pkts)
		die("%s: %llu of %llu packets took the %s path", res->name, (unsigned long long)hit,
		    (unsigned long long)cas->pkts, cs_reason_name(reason));
	result_arm(res, cas, &arms[0]);
	baseline_keep(&g_xdp_log, arms[0].ns, g_runs, arms[0].repeat);
	res->path = cs_reason_name(reason);
	res->patterns = (long)in->conf.n_patterns;
	if (reason != CS_R_NOT_DNS)
		res->lookups = rule_lookups(in, 3);	/* every DNS case's name has 3 labels */
	return res;
}

/* One warm case against the baseline alone. */
static struct result *bench_warm(const char *base, const struct point *pt, const struct inst *in,
				 int noop_fd, const struct frame *f, __u32 reason)
{
	struct arm arms[2] = { { .prog_fd = noop_fd, .f = f, .rv = XDP_PASS },
			       { .prog_fd = in->prog_fd, .f = f, .rv = XDP_PASS } };

	return bench_warm_arms(base, pt, in, arms, 2, reason);
}

/*
 * learn_non_dns between the baseline and both controls, ABBA over the four
 * (noop, parse, fwd_min, learn | learn, fwd_min, parse, noop | ...): its
 * ratio to xdp_parse is per run like its ratio to xdp_noop, and the
 * controls' rows gather these runs at every point.
 */
static void bench_non_dns(const struct point *pt, const struct inst *in, int noop_fd)
{
	struct arm arms[4] = { { .prog_fd = noop_fd, .f = &f_tcp, .rv = XDP_PASS },
			       { .prog_fd = g_ctl.parse_fd, .f = &f_tcp, .rv = XDP_PASS },
			       { .prog_fd = g_ctl.fwd_fd, .f = &f_tcp, .rv = XDP_REDIRECT },
			       { .prog_fd = in->prog_fd, .f = &f_tcp, .rv = XDP_PASS } };
	struct result *res = bench_warm_arms("learn_non_dns", pt, in, arms, 4, CS_R_NOT_DNS);
	double vs_parse = ratio_median(&arms[3], &arms[1]);

	control_keep(&g_parse_log, &arms[1], &arms[0]);
	control_keep(&g_fwd_log, &arms[2], &arms[0]);
	target(res, "ratio <= 1.2", res->ratio <= 1.2);
	also_target(res, "ratio to xdp_parse <= 1.1", "xdp_parse", vs_parse, vs_parse <= 1.1);
	extra(res, ", \"vs_xdp_parse\": %.3f, \"vs_xdp_fwd_min\": %.3f, \"xdp_parse_ns\": %.2f, "
		   "\"xdp_fwd_min_ns\": %.2f", vs_parse, ratio_median(&arms[3], &arms[2]),
	      median(arms[1].ns, g_runs), median(arms[2].ns, g_runs));
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

/* The per-run figures of learn_dns_new_1a. */
struct new_runs {
	double ns[MAX_RUNS], ratio[MAX_RUNS], sub[MAX_RUNS], ctl[MAX_RUNS], extra_ns[MAX_RUNS];
	double w_noop[MAX_RUNS], w_ref[MAX_RUNS], l_noop[MAX_RUNS], l_new[MAX_RUNS], l_ref[MAX_RUNS];
	__u64 warm_pkts;
};

/* One run: the warm pair, ABBA like the other cases, then the repeat=1 loop. */
static void new_run(const struct inst *in, int noop_fd, const struct cs_record_key *key,
		    struct ring_buffer *rb, const __u32 *repeat, struct new_runs *nr, int r)
{
	static double d_noop[NEW_ITERS], d_new[NEW_ITERS], d_ref[NEW_ITERS];
	int i;

	if (r % 2) {
		nr->w_ref[r] = run_prog(in->prog_fd, &f_1a, repeat[1], XDP_PASS);
		nr->w_noop[r] = run_prog(noop_fd, &f_1a, repeat[0], XDP_PASS);
	} else {
		nr->w_noop[r] = run_prog(noop_fd, &f_1a, repeat[0], XDP_PASS);
		nr->w_ref[r] = run_prog(in->prog_fd, &f_1a, repeat[1], XDP_PASS);
	}
	nr->warm_pkts += repeat[1];
	for (i = 0; i < g_new_iters; i++) {
		forget(in, key);
		ring_buffer__consume(rb);
		d_noop[i] = run_prog(noop_fd, &f_new, 1, XDP_PASS);
		d_new[i] = run_prog(in->prog_fd, &f_new, 1, XDP_PASS);
		d_ref[i] = run_prog(in->prog_fd, &f_new, 1, XDP_PASS);
	}
	nr->l_noop[r] = trimmed_mean(d_noop, g_new_iters);
	nr->l_new[r] = trimmed_mean(d_new, g_new_iters);
	nr->l_ref[r] = trimmed_mean(d_ref, g_new_iters);
	nr->extra_ns[r] = nr->l_new[r] - nr->l_ref[r];
	nr->ns[r] = nr->w_ref[r] + nr->extra_ns[r];
	nr->ratio[r] = nr->ns[r] / nr->w_noop[r];
	nr->sub[r] = nr->l_new[r] - nr->l_noop[r] + nr->w_noop[r];
	nr->ctl[r] = nr->l_ref[r] - nr->l_noop[r] + nr->w_noop[r];
}

/* Every loop made one record and refreshed it; the warm runs refreshed. */
static void new_check(const char *name, const struct inst *in, const __u64 *before, __u64 warm_pkts,
		      unsigned long events)
{
	__u64 after[CS_R_MAX], learned, refreshed, all = 0, loops = (__u64)g_runs * g_new_iters;
	__u32 k;

	stats_read(in, after);
	for (k = 1; k < CS_R_PACKET_END; k++)
		all += after[k] - before[k];
	learned = after[CS_R_LEARNED] - before[CS_R_LEARNED];
	refreshed = after[CS_R_REFRESHED] - before[CS_R_REFRESHED];
	if (learned != loops || refreshed != learned + warm_pkts || all != learned + refreshed)
		die("%s: %llu learned, %llu refreshed of %llu packets: not the paths measured", name,
		    (unsigned long long)learned, (unsigned long long)refreshed, (unsigned long long)all);
	if (events != learned)
		die("%s: %lu events for %llu new records", name, events, (unsigned long long)learned);
}

static struct result *bench_new(const struct point *pt, const struct inst *in, int noop_fd)
{
	static struct new_runs nr;
	const char *ip[] = { "203.0.113.7" };
	struct result *res = result_new("learn_dns_new_1a", pt);
	struct cs_record_key key;
	struct cs_record rec;
	struct ring_buffer *rb;
	unsigned long events = 0;
	__u64 before[CS_R_MAX], cal = 0;
	__u32 repeat[2];
	int r;

	dns_frame(&f_new, "new.example.com", ip, 1);
	memset(&key, 0, sizeof(key));
	key.name_id = cs_text_name_hash(in->rs.key, "new.example.com", NULL);
	v4mapped(&key.addr, ip[0]);
	rb = ring_buffer__new(in->events_fd, on_event, &events, NULL);
	if (!rb)
		die("cannot open the ring buffer: %s", strerror(errno));

	expect_path(in, &f_1a, CS_R_REFRESHED, res->name);
	expect_path(in, &f_new, CS_R_LEARNED, res->name);
	if (bpf_map_lookup_elem(in->records_fd, &key, &rec))
		die("%s: the record is not where the bench looks for it", res->name);
	repeat[0] = calibrate(noop_fd, &f_1a, XDP_PASS, &cal);
	repeat[1] = calibrate(in->prog_fd, &f_1a, XDP_PASS, &cal);
	ring_buffer__consume(rb);
	events = 0;
	memset(&nr, 0, sizeof(nr));
	stats_read(in, before);
	for (r = 0; r < g_runs; r++)
		new_run(in, noop_fd, &key, rb, repeat, &nr, r);
	ring_buffer__consume(rb);
	new_check(res->name, in, before, nr.warm_pkts, events);
	forget(in, &key);	/* the table is back at its size */
	ring_buffer__free(rb);
	baseline_keep(&g_xdp_log, nr.w_noop, g_runs, repeat[0]);

	result_samples(res, nr.ns, g_runs);
	res->repeat = 1;
	res->noop_ns = median(nr.w_noop, g_runs);
	res->ratio = median(nr.ratio, g_runs);
	res->path = cs_reason_name(CS_R_LEARNED);
	res->patterns = (long)in->conf.n_patterns;
	res->lookups = rule_lookups(in, 3);
	res->method = METHOD_NEW;
	extra(res, ", \"iterations\": %d, \"insert_minus_refresh_ns\": %.2f, \"refresh_warm_ns\": %.2f, "
		   "\"noop_subtracted_ns\": %.2f, \"refresh_noop_subtracted_ns\": %.2f, "
		   "\"loop_noop_ns\": %.2f, \"loop_new_ns\": %.2f, \"loop_refresh_ns\": %.2f",
	      g_new_iters, median(nr.extra_ns, g_runs), median(nr.w_ref, g_runs), median(nr.sub, g_runs),
	      median(nr.ctl, g_runs), median(nr.l_noop, g_runs), median(nr.l_new, g_runs),
	      median(nr.l_ref, g_runs));
	return res;
}

/* The two learn programs of one rule count: with and without the repeat cache. */
struct learn_pair {
	struct inst cached, walked;
};

/* The records the refresh cases refresh, made before any filler. */
static void learn_prime(const struct inst *in)
{
	expect_path(in, &f_1a, CS_R_LEARNED, "learn: priming www.example.com (1 A)");
	expect_path(in, &f_4a, CS_R_LEARNED, "learn: priming www.example.com (4 A)");
	expect_path(in, &f_72a, CS_R_LEARNED, "learn: priming www.example.com (72 A)");
}

static void learn_pair_load(struct learn_pair *lp, const struct point *pt)
{
	char yaml[4096];
	double t = now_s();

	config_rules(yaml, sizeof(yaml), pt);
	inst_load(&lp->cached, "learn", yaml, false);
	inst_load_twin(&lp->walked, &lp->cached, "learn (walked)", true);
	if ((long)lp->cached.conf.n_patterns != pt->rules ||
	    (long)lp->cached.conf.n_rules != pt->rule_entries)
		die("%s: %zu patterns in %zu rules, not %ld in %ld", yaml, lp->cached.conf.n_patterns,
		    lp->cached.conf.n_rules, pt->rules, pt->rule_entries);
	prog_identify(lp->cached.prog_fd);
	learn_prime(&lp->cached);	/* for both: the twin shares cs_records */
	printf("loaded learn and its walked twin (tag %s, %u bytes jited) with %ld patterns in %ld rules in %.2f s\n",
	       g_prog_tag, g_prog_jited, pt->rules, pt->rule_entries, now_s() - t);
}

static void learn_pair_free(struct learn_pair *lp)
{
	inst_free(&lp->walked);
	inst_free(&lp->cached);
}

/* Every learn case at one point. */
static void learn_point(struct learn_pair *lp, const struct point *pt, int noop_fd)
{
	struct inst *a = &lp->cached, *w = &lp->walked;
	struct result *res;

	bench_non_dns(pt, a, noop_fd);
	/* as shipped: an answer repeated within a second reuses its outcome */
	bench_warm("learn_dns_nomatch", pt, a, noop_fd, &f_nomatch, CS_R_NO_RULE);
	bench_warm("learn_dns_refresh_1a", pt, a, noop_fd, &f_1a, CS_R_REFRESHED);
	res = bench_warm("learn_dns_refresh_4a", pt, a, noop_fd, &f_4a, CS_R_REFRESHED);
	target(res, "ratio <= 6", res->ratio <= 6);
	bench_warm("learn_dns_refresh_72a", pt, a, noop_fd, &f_72a, CS_R_REFRESHED);
	/* every packet walked, as a first-time answer is */
	bench_warm("learn_dns_nomatch_walked", pt, w, noop_fd, &f_nomatch, CS_R_NO_RULE);
	bench_warm("learn_dns_refresh_1a_walked", pt, w, noop_fd, &f_1a, CS_R_REFRESHED);
	bench_warm("learn_dns_refresh_4a_walked", pt, w, noop_fd, &f_4a, CS_R_REFRESHED);
	bench_warm("learn_dns_refresh_72a_walked", pt, w, noop_fd, &f_72a, CS_R_REFRESHED);
	bench_new(pt, w, noop_fd);
}

/* A big table must cost a refresh at most 15% more than a small one. */
static void learn_size_target(const struct point *small, const struct point *big)
{
	struct result *s = result_find("learn_dns_refresh_4a_walked", small);
	struct result *b = result_find("learn_dns_refresh_4a_walked", big);
	char size[24], text[64];
	double vs = b->ratio / s->ratio;

	short_count(size, sizeof(size), small->table);
	snprintf(text, sizeof(text), "<= 1.15 x the same at %s records", size);
	target(b, strdup(text), vs <= 1.15);
	extra(b, ", \"vs_%s_records\": %.3f, \"ns_at_%s_records\": %.2f", size, vs, size, s->ns);
}

/* Every learn case at every table size of one rule count. */
static void learn_rules(int rules_idx, int noop_fd)
{
	struct point small = point_at(0, rules_idx), big = point_at(g_n_tables - 1, rules_idx);
	struct learn_pair lp;
	int t;

	learn_pair_load(&lp, &small);
	for (t = 0; t < g_n_tables; t++) {
		struct point pt = point_at(t, rules_idx);
		double t0 = now_s();

		fill_records_to(&lp.cached, pt.table);	/* the twin's too */
		printf("  %ld records: filled in %.2f s, ", pt.table, now_s() - t0);
		t0 = now_s();
		learn_point(&lp, &pt, noop_fd);
		if (records_count(&lp.cached) != pt.table)
			die("learn: cs_records left its size %ld", pt.table);
		printf("measured in %.1f s\n", now_s() - t0);
	}
	if (g_n_tables > 1)
		learn_size_target(&small, &big);
	learn_pair_free(&lp);
}
/* ---- steer ---- */

#define TC_OK 0u
#define TC_SHOT 2u
#define TC_REDIRECT 7u
#define STEER_FILLER_RULES 10	/* filler routes name rules 1..10: every point has them */
#define WIRE_ID 12484427	/* chain 1's wire id: the VNI of encap, the SPI of nsh */

struct steer_inst {
	struct steer_bpf *skel;
	int xdp_fd, xdp_ports_fd, steer_stats_fd;	/* steer_xdp, its devmap, cs_steer_stats */
	int prog_fd, flows_fd, flows_new_fd, inst_stats_fd, table_fd, routes_fd, rules_fd, rule_traffic_fd, chains_fd;
	__u32 routes_limit;	/* cs_routes max_entries: learn.limits.routes */
	long other_flows;	/* filler streams in cs_flows */
};

/*
 * The bench's own network namespace (steer_xdp asks the FIB the way to an
 * instance): a veth csb0 with the instances' subnets and their neighbours
 * as permanent entries, forwarding on. The instances are set on csb0 (TC
 * then asks no FIB either), and csb0 is in cs_xdp_ports. The namespace
 * goes with the process.
 */
#define XDP_NETNS_SETUP                                                                         \
	"ip link add csb0 address 02:00:00:00:c5:00 type veth peer name csb0p && "             \
	"ip link set csb0 up && ip link set csb0p up && ip link set lo up && "                 \
	"sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 && "                 \
	"ip addr add 10.30.0.1/24 dev csb0 && ip addr add 10.31.0.1/24 dev csb0 && "          \
	"ip neigh replace 10.30.0.2 lladdr 02:aa:0a:1e:00:02 dev csb0 nud permanent && "       \
	"ip neigh replace 10.31.0.2 lladdr 02:aa:0a:1f:00:02 dev csb0 nud permanent"
static __u32 g_csb0 = 1;	/* csb0's ifindex, once the namespace is made */

static void bench_netns(void)
{
	if (unshare(CLONE_NEWNET))
		die("cannot make a network namespace: %s (run as root)", strerror(errno));
	if (system(XDP_NETNS_SETUP " >/dev/null 2>&1"))
		die("cannot set up the bench's network namespace (ip link, ip neigh, sysctl)");
	g_csb0 = if_nametoindex("csb0");
	if (!g_csb0)
		die("no csb0 in the bench's network namespace: %s", strerror(errno));
}

/* What learn.limits.routes a user with `routes` routes sets: the default
 * while it fits, else the next power of two. */
static __u32 routes_limit_for(long routes)
{
	__u32 limit = CS_ROUTES_ENTRIES;

	while (limit < routes)
		limit *= 2;
	return limit;
}

/* flows_limit: cs_flows max_entries (steer.limits.flows); 0: as built */
static void steer_open(struct steer_inst *si, __u32 routes_limit, __u32 flows_limit)
{
	int e;

	memset(si, 0, sizeof(*si));
	si->skel = steer_bpf__open();
	if (!si->skel)
		die("cannot open steer: %s", strerror(errno));
	/* as the daemon does: steer's cs_routes is the size learn gave it */
	bpf_map__set_max_entries(si->skel->maps.cs_routes, routes_limit);
	if (flows_limit)
		bpf_map__set_max_entries(si->skel->maps.cs_flows, flows_limit);
	e = steer_bpf__load(si->skel);
	if (e)
		die("cannot load steer: %s", strerror(-e));
	si->routes_limit = routes_limit;
	si->prog_fd = bpf_program__fd(si->skel->progs.steer);
	si->flows_fd = bpf_map__fd(si->skel->maps.cs_flows);
	si->flows_new_fd = bpf_map__fd(si->skel->maps.cs_flows_new);
	si->inst_stats_fd = bpf_map__fd(si->skel->maps.cs_inst_stats);
	si->routes_fd = bpf_map__fd(si->skel->maps.cs_routes);
	si->rules_fd = bpf_map__fd(si->skel->maps.cs_rules);
	si->rule_traffic_fd = bpf_map__fd(si->skel->maps.cs_rule_traffic);
	si->chains_fd = bpf_map__fd(si->skel->maps.cs_chains);
	si->xdp_fd = bpf_program__fd(si->skel->progs.steer_xdp);
	si->xdp_ports_fd = bpf_map__fd(si->skel->maps.cs_xdp_ports);
	si->steer_stats_fd = bpf_map__fd(si->skel->maps.cs_steer_stats);
	/* as the daemon does for an interface whose driver takes XDP frames */
	if (bpf_map_update_elem(si->xdp_ports_fd, &g_csb0, &g_csb0, BPF_ANY))
		die("steer: cannot write cs_xdp_ports: %s", strerror(errno));
}

/* A bucket table (an inner map of cs_service_map or cs_next_table) whose
 * every bucket is {primary, secondary}. */
static int bucket_table(__u16 primary, __u16 secondary)
{
	static struct cs_bucket buckets[CS_BUCKETS_MAX];
	static __u32 keys[CS_BUCKETS_MAX];
	__u32 n = CS_BUCKETS_MAX, i;
	LIBBPF_OPTS(bpf_map_batch_opts, bo);
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "cs_table", sizeof(__u32), sizeof(struct cs_bucket),
				CS_BUCKETS_MAX, NULL);

	if (fd < 0)
		die("cannot make a bucket table: %s", strerror(errno));
	for (i = 0; i < CS_BUCKETS_MAX; i++) {
		keys[i] = i;
		buckets[i] = (struct cs_bucket){ .primary = primary, .secondary = secondary };
	}
	if (bpf_map_update_batch(fd, keys, buckets, &n, &bo))
		die("cannot fill a bucket table: %s", strerror(errno));
	return fd;
}

/* Chain 1 in `mode`: what the wrapped cases switch between packets. */
static void steer_chain_mode(const struct steer_inst *si, __u32 mode)
{
	struct cs_chain ch = { .mode = mode, .on_failure = CS_FAIL_BYPASS, .n_buckets = 256 };
	__u32 one = 1;

	if (bpf_map_update_elem(si->chains_fd, &one, &ch, BPF_ANY))
		die("steer: cannot write chain 1: %s", strerror(errno));
}

/* Chain 1 in route mode, its two instances on ifindex 1, every bucket {1, 2}.
 * The instances have what encap and nsh modes wrap with too (this host's
 * address toward them, the wire id, the path's MTU), which route mode does
 * not read. */
static void steer_chain(struct steer_inst *si)
{
	struct cs_config cfg = { .affinity_key = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL } };
	__u32 zero = 0, one = 1, id;

	if (bpf_map_update_elem(bpf_map__fd(si->skel->maps.cs_config), &zero, &cfg, BPF_ANY))
		die("steer: cannot write the config: %s", strerror(errno));
	steer_chain_mode(si, CS_MODE_ROUTE);
	for (id = 1; id <= 2; id++) {
		struct cs_instance in = { .chain_id = 1, .state = CS_INST_UP, .ifindex = g_csb0, .vni = WIRE_ID,
					  .inner_mtu = 1450 };

		v4mapped(&in.addr, id == 1 ? "10.30.0.2" : "10.31.0.2");
		v4mapped(&in.local, id == 1 ? "10.30.0.1" : "10.31.0.1");
		if (bpf_map_update_elem(bpf_map__fd(si->skel->maps.cs_instances), &id, &in, BPF_ANY))
			die("steer: cannot write instance %u: %s", id, strerror(errno));
	}
	si->table_fd = bucket_table(1, 2);
	if (bpf_map_update_elem(bpf_map__fd(si->skel->maps.cs_service_map), &one, &si->table_fd, BPF_ANY))
		die("steer: cannot swap the table in: %s", strerror(errno));
}

/* Rules 1..entries lead to chain 1; the ids above them are unused. */
static void steer_rules_write(const struct steer_inst *si, long entries)
{
	static struct cs_rule rules[CS_RULES_MAX];
	static __u32 keys[CS_RULES_MAX];
	__u32 n = CS_RULES_MAX, i;
	LIBBPF_OPTS(bpf_map_batch_opts, bo);

	for (i = 0; i < CS_RULES_MAX; i++) {
		keys[i] = i;
		rules[i] = (struct cs_rule){ .chain_id = i >= 1 && i <= entries ? 1 : 0 };
	}
	if (bpf_map_update_batch(si->rules_fd, keys, rules, &n, &bo))
		die("steer: cannot write the rules: %s", strerror(errno));
}

static void hit_route_addr(struct cs_addr *a)
{
	v4mapped(a, "192.0.2.7");
}

/* The route the hit cases hit, named by rule `rule_id`. */
static void steer_hit_route(const struct steer_inst *si, __u32 rule_id)
{
	struct cs_route rt = { .rule_id = rule_id, .acl_id = 5 };
	struct cs_addr a;

	hit_route_addr(&a);
	if (bpf_map_update_elem(si->routes_fd, &a, &rt, BPF_ANY))
		die("steer: cannot write the route: %s", strerror(errno));
}

/* Filler route k: one per learned IP, ACL ids as the pool hands them out. */
static void make_route(__u32 k, void *key, void *value, const void *ctx)
{
	(void)ctx;
	v4mapped_n(key, FILLER_ROUTE_BASE, k);
	*(struct cs_route *)value = (struct cs_route){ .rule_id = k % STEER_FILLER_RULES + 1,
						       .acl_id = k % (CS_ACL_POOL_ENTRIES - 1) + 1 };
}

static void steer_fill_routes(const struct steer_inst *si, __u32 n)
{
	fill_map(si->routes_fd, "cs_routes", n, sizeof(struct cs_addr), sizeof(struct cs_route),
		 make_route, NULL);
}

/* Other stream k, from its own client to one of the `routes` (ctx) filler
 * routes, pinned to instance 1 like the measured one. */
static void make_flow(__u32 k, void *key, void *value, const void *ctx)
{
	__u32 routes = *(const __u32 *)ctx;
	struct cs_flow_key *fk = key;
	struct cs_flow *fl = value;

	v4mapped_n(&fk->lo, FILLER_CLIENT_BASE, k);	/* 10.128/9 < 100.64/10 */
	v4mapped_n(&fk->hi, FILLER_ROUTE_BASE, k % routes);
	fk->lo_port = 32768 + k % 28000;
	fk->hi_port = 443;
	fk->proto = 6;	/* TCP */
	*fl = (struct cs_flow){ .first_ns = 1, .last_ns = 1, .packets = 3, .bytes = 180, .route = fk->hi,
				.code = k, .instance = 1, .chain = 1, .ifindex = g_csb0, .state = CS_ST_ESTABLISHED,
				.flags = CS_LIFE_FIRST_LO | CS_LIFE_BEGAN_SYN };
	fl->acl_id = k % routes % (CS_ACL_POOL_ENTRIES - 1) + 1;	/* its route's */
}

/* `n` other streams over the `routes` filler routes. */
static void steer_fill_flows(const struct steer_inst *si, __u32 n, __u32 routes)
{
	fill_map(si->flows_fd, "cs_flows", n, sizeof(struct cs_flow_key), sizeof(struct cs_flow),
		 make_flow, &routes);
}

static long steer_routes_count(const struct steer_inst *si)
{
	return map_count(si->routes_fd, sizeof(struct cs_addr), sizeof(struct cs_route));
}

/* Flows in both tables. */
static long steer_flows_count(const struct steer_inst *si)
{
	return map_count(si->flows_fd, sizeof(struct cs_flow_key), sizeof(struct cs_flow)) +
	       map_count(si->flows_new_fd, sizeof(struct cs_flow_key), sizeof(struct cs_flow));
}

/* A steer program with `routes` routes (the hit route among them) and its
 * share of other streams. */
static void steer_load(struct steer_inst *si, long routes)
{
	long n;

	steer_open(si, routes_limit_for(routes), 0);
	steer_chain(si);
	steer_rules_write(si, STEER_FILLER_RULES);
	steer_hit_route(si, 1);
	steer_fill_routes(si, (__u32)routes - 1);
	si->other_flows = routes / 2 < CS_FLOWS_ENTRIES / 2 ? routes / 2 : CS_FLOWS_ENTRIES / 2;
	steer_fill_flows(si, (__u32)si->other_flows, (__u32)routes - 1);
	if ((n = steer_routes_count(si)) != routes)
		die("steer: cs_routes holds %ld routes, not %ld", n, routes);
	if ((n = steer_flows_count(si)) != si->other_flows)
		die("steer: cs_flows holds %ld flows, not %ld", n, si->other_flows);
}

static void steer_free(struct steer_inst *si)
{
	close(si->table_fd);
	steer_bpf__destroy(si->skel);
}

static void udp_frame(struct frame *f, const char *src, __u16 sport, const char *dst, __u16 dport)
{
	static const char payload[64] = "steer bench";
	struct frame_opts o = { .sport = sport, .dport = dport, .src = src, .dst = dst };

	f->len = frame_build(f->b, &o, payload, sizeof(payload));
}

static void steer_frame(struct frame *f, const char *dst)
{
	udp_frame(f, "10.1.0.5", 40000, dst, 443);
}

static void hit_flow_key(struct cs_flow_key *k)
{
	memset(k, 0, sizeof(*k));
	v4mapped(&k->lo, "10.1.0.5");
	hit_route_addr(&k->hi);
	k->lo_port = 40000;
	k->hi_port = 443;
	k->proto = 17;	/* UDP */
}

/* The proven flow of the hit frame (in cs_flows); false when there is none. */
static bool steer_flow(const struct steer_inst *si, struct cs_flow *fl)
{
	struct cs_flow_key k;

	hit_flow_key(&k);
	return bpf_map_lookup_elem(si->flows_fd, &k, fl) == 0;
}

/* The hit frame's flow goes, from whichever table holds it. */
static void steer_flow_delete(const struct steer_inst *si)
{
	struct cs_flow_key k;

	hit_flow_key(&k);
	if (bpf_map_delete_elem(si->flows_fd, &k) && bpf_map_delete_elem(si->flows_new_fd, &k))
		die("steer: cannot delete the flow: %s", strerror(errno));
}

/* What steer counted for instance `id`, over every CPU. */
static struct cs_inst_stat steer_inst_stat(const struct steer_inst *si, __u32 id)
{
	struct cs_inst_stat st;

	if (cs_percpu_sum(si->inst_stats_fd, id, 1, (__u64 *)&st, sizeof(st) / sizeof(__u64)))
		die("steer: cannot read cs_inst_stats: %s", strerror(errno));
	return st;
}

/* Packets steer counted under rule `rule_id` (cs_rule_traffic). */
static __u64 steer_rule_packets(const struct steer_inst *si, __u32 rule_id)
{
	__u64 v[2];

	if (cs_percpu_sum(si->rule_traffic_fd, rule_id, 1, v, 2))
		die("steer: cannot read cs_rule_traffic");
	return v[0];
}

static struct result *steer_result(const char *base, const struct point *pt, const struct steer_inst *si)
{
	struct result *res = result_new(base, pt);

	extra(res, ", \"other_flows\": %ld, \"routes_limit\": %u", si->other_flows, si->routes_limit);
	return res;
}

static void steer_miss(const struct steer_inst *si, const struct point *pt, int tc_noop_fd)
{
	struct arm arms[2] = { { .prog_fd = tc_noop_fd, .f = &f_miss, .rv = TC_OK },
			       { .prog_fd = si->prog_fd, .f = &f_miss, .rv = TC_OK } };
	struct result *res = steer_result("steer_miss", pt, si);
	long flows0 = steer_flows_count(si), flows1;

	measure(arms, 2);
	if ((flows1 = steer_flows_count(si)) != flows0)
		die("%s: %ld flows made", res->name, flows1 - flows0);
	result_arm(res, &arms[1], &arms[0]);
	baseline_keep(&g_tc_log, arms[0].ns, g_runs, arms[0].repeat);
	res->path = "miss";
}

static void steer_pinned(const struct steer_inst *si, const struct point *pt, int tc_noop_fd)
{
	struct arm arms[2] = { { .prog_fd = tc_noop_fd, .f = &f_hit, .rv = TC_OK },
			       { .prog_fd = si->prog_fd, .f = &f_hit, .rv = TC_REDIRECT } };
	struct result *res = steer_result("steer_hit_pinned", pt, si);
	__u32 rule_id = (__u32)pt->rule_entries;
	__u64 pk0, rule0, pinned0;
	struct cs_flow fl;

	/* pins the stream if it is not; its second packet proves it */
	run_prog(si->prog_fd, &f_hit, 1, TC_REDIRECT);
	run_prog(si->prog_fd, &f_hit, 1, TC_REDIRECT);
	if (!steer_flow(si, &fl) || fl.instance != 1)
		die("%s: the stream is not pinned to instance 1 in cs_flows", res->name);
	pk0 = fl.packets;
	rule0 = steer_rule_packets(si, rule_id);
	pinned0 = steer_inst_stat(si, 1).flows;
	measure(arms, 2);
	if (!steer_flow(si, &fl) || fl.instance != 1 || fl.packets - pk0 != arms[1].pkts ||
	    steer_rule_packets(si, rule_id) - rule0 != arms[1].pkts || steer_inst_stat(si, 1).flows != pinned0)
		die("%s: %llu packets on the flow, %llu expected, or a stream pinned anew", res->name,
		    (unsigned long long)(fl.packets - pk0), (unsigned long long)arms[1].pkts);
	result_arm(res, &arms[1], &arms[0]);
	baseline_keep(&g_tc_log, arms[0].ns, g_runs, arms[0].repeat);
	res->path = "pinned";
}

/* The outer UDP destination port of a frame wrapped over IPv4. */
static __u16 outer_dport(const __u8 *frame)
{
	return (__u16)(frame[14 + 20 + 2] << 8 | frame[14 + 20 + 3]);
}

/* One run of `f`: wrapped over IPv4 as `mode` wraps (VXLAN, or VXLAN-GPE and
 * NSH) and redirected; otherwise the bench fails. */
static void expect_wrapped(int prog_fd, const struct frame *f, __u32 mode, int rv, const char *name)
{
	static __u8 out[FRAME_CAP + 128];
	__u32 over = mode == CS_MODE_NSH ? CS_NSH_OVERHEAD4 : CS_ENCAP_OVERHEAD4, len = 0;
	__u16 port = mode == CS_MODE_NSH ? CS_GPE_PORT : CS_VXLAN_PORT;
	int verdict = -1;

	if (bpffx_run(prog_fd, f->b, f->len, out, sizeof(out), &len, &verdict) || verdict != rv ||
	    len != f->len + over || outer_dport(out) != port)
		die("%s: not wrapped as %s mode wraps (verdict %d, %u octets out of %u)", name,
		    cs_chain_mode_name(mode), verdict, len, f->len);
}

/* What the wrapped cases switch chain 1 between: `mode` for the case, route
 * mode for its reference. */
struct steer_wrap {
	const struct steer_inst *si;
	__u32 mode;
};

static void steer_wrap_set(const void *ctx, bool for_case)
{
	const struct steer_wrap *w = ctx;

	steer_chain_mode(w->si, for_case ? w->mode : CS_MODE_ROUTE);
}

/* The pinned stream of a chain in encap or nsh `mode`: steer_hit_pinned's
 * path and the wrap toward the instance. The wrap changes the packet, so
 * measure_changing runs it against steer_hit_pinned's own packet, the
 * chain switched back to route mode in between. */
static void steer_pinned_wrapped(const struct steer_inst *si, const struct point *pt, int tc_noop_fd, __u32 mode)
{
	struct steer_wrap w = { si, mode };
	static struct changing c;
	struct result *res = steer_result(mode == CS_MODE_NSH ? "steer_hit_pinned_nsh" : "steer_hit_pinned_encap", pt,
					  si);
	struct cs_flow fl;
	__u64 pk0, failed0;

	c = (struct changing){ .arms = { { .prog_fd = tc_noop_fd, .f = &f_hit, .rv = TC_OK },
					 { .prog_fd = si->prog_fd, .f = &f_hit, .rv = TC_REDIRECT } },
			       .cas = { .prog_fd = si->prog_fd, .f = &f_hit, .rv = TC_REDIRECT },
			       .set = steer_wrap_set, .ctx = &w };
	steer_chain_mode(si, mode);
	expect_wrapped(si->prog_fd, &f_hit, mode, (int)TC_REDIRECT, res->name);
	if (!steer_flow(si, &fl) || fl.instance != 1)
		die("%s: the stream is not pinned to instance 1 in cs_flows", res->name);
	pk0 = fl.packets;
	failed0 = steer_inst_stat(si, 1).encap_failed;
	measure_changing(&c);
	steer_chain_mode(si, CS_MODE_ROUTE);
	if (!steer_flow(si, &fl) || fl.packets - pk0 != c.cas.pkts + c.arms[1].pkts ||
	    steer_inst_stat(si, 1).encap_failed != failed0)
		die("%s: %llu packets on the flow, %llu expected, or some not wrapped", res->name,
		    (unsigned long long)(fl.packets - pk0), (unsigned long long)(c.cas.pkts + c.arms[1].pkts));
	result_changing(res, &c, "steer_hit_pinned", METHOD_STEER_WRAP);
	res->path = mode == CS_MODE_NSH ? "pinned_nsh" : "pinned_encap";
}

/* The per-run figures of steer_hit_new_flow. */
struct flow_runs {
	double ns[MAX_RUNS], ratio[MAX_RUNS], w_noop[MAX_RUNS], w_pin[MAX_RUNS], extra_ns[MAX_RUNS];
	double promote_ns[MAX_RUNS];	/* the second packet, less a pinned one */
};

static void new_flow_run(const struct steer_inst *si, int tc_noop_fd, const __u32 *repeat,
			 struct flow_runs *fr, int r)
{
	static double d_noop[NEW_ITERS], d_new[NEW_ITERS], d_prom[NEW_ITERS], d_pin[NEW_ITERS];
	int i;

	if (r % 2) {
		fr->w_pin[r] = run_prog(si->prog_fd, &f_hit, repeat[1], TC_REDIRECT);
		fr->w_noop[r] = run_prog(tc_noop_fd, &f_hit, repeat[0], TC_OK);
	} else {
		fr->w_noop[r] = run_prog(tc_noop_fd, &f_hit, repeat[0], TC_OK);
		fr->w_pin[r] = run_prog(si->prog_fd, &f_hit, repeat[1], TC_REDIRECT);
	}
	for (i = 0; i < g_new_iters; i++) {
		steer_flow_delete(si);
		d_noop[i] = run_prog(tc_noop_fd, &f_hit, 1, TC_OK);
		d_new[i] = run_prog(si->prog_fd, &f_hit, 1, TC_REDIRECT);
		d_prom[i] = run_prog(si->prog_fd, &f_hit, 1, TC_REDIRECT);
		d_pin[i] = run_prog(si->prog_fd, &f_hit, 1, TC_REDIRECT);
	}
	trimmed_mean(d_noop, g_new_iters);
	fr->extra_ns[r] = trimmed_mean(d_new, g_new_iters) - trimmed_mean(d_pin, g_new_iters);
	fr->promote_ns[r] = trimmed_mean(d_prom, g_new_iters) - trimmed_mean(d_pin, g_new_iters);
	fr->ns[r] = fr->w_pin[r] + fr->extra_ns[r];
	fr->ratio[r] = fr->ns[r] / fr->w_noop[r];
}

static void steer_new_flow(const struct steer_inst *si, const struct point *pt, int tc_noop_fd)
{
	static struct flow_runs fr;
	struct result *res = steer_result("steer_hit_new_flow", pt, si);
	__u64 flows0, flows1, cal = 0, loops = (__u64)g_runs * g_new_iters;
	struct cs_flow fl;
	__u32 repeat[2];
	int r;

	repeat[0] = calibrate(tc_noop_fd, &f_hit, TC_OK, &cal);
	repeat[1] = calibrate(si->prog_fd, &f_hit, TC_REDIRECT, &cal);
	flows0 = steer_inst_stat(si, 1).flows;
	for (r = 0; r < g_runs; r++)
		new_flow_run(si, tc_noop_fd, repeat, &fr, r);
	flows1 = steer_inst_stat(si, 1).flows;
	if (flows1 - flows0 != loops || !steer_flow(si, &fl) || fl.packets != 3)
		die("%s: %llu streams pinned, %llu expected", res->name,
		    (unsigned long long)(flows1 - flows0), (unsigned long long)loops);
	baseline_keep(&g_tc_log, fr.w_noop, g_runs, repeat[0]);
	result_samples(res, fr.ns, g_runs);
	res->repeat = 1;
	res->noop_ns = median(fr.w_noop, g_runs);
	res->ratio = median(fr.ratio, g_runs);
	res->path = "new_flow";
	res->method = METHOD_STEER_NEW;
	extra(res, ", \"iterations\": %d, \"new_minus_pinned_ns\": %.2f, \"promotion_minus_pinned_ns\": %.2f, "
	      "\"pinned_warm_ns\": %.2f", g_new_iters, median(fr.extra_ns, g_runs), median(fr.promote_ns, g_runs),
	      median(fr.w_pin, g_runs));
}

/* ---- steer's XDP fast path (steer_xdp) ---- */

static int g_noop_fd = -1;	/* xdp_noop, for the XDP steer cases */

/* A flow counter of steer's (cs_steer_stats), over every CPU. */
static __u64 steer_counter(const struct steer_inst *si, __u32 c)
{
	__u64 n = 0;

	if (cs_percpu_sum(si->steer_stats_fd, c, 1, &n, 1))
		die("steer: cannot read cs_steer_stats: %s", strerror(errno));
	return n;
}

/* A neither-nor frame: XDP passes it untouched, counts nothing, makes no
 * flow. Two more frames split its cost, measured in the same runs: the
 * first fragment of it (steer_xdp's parse and checks, then XDP_PASS before
 * any lookup) and a stream to the hit route that has no flow (the parse,
 * a route found, the flow lookup missing). */
static void xdp_steer_miss(const struct steer_inst *si, const struct point *pt)
{
	static struct frame frag, noflow;
	struct arm arms[5] = { { .prog_fd = g_noop_fd, .f = &f_miss, .rv = XDP_PASS },
			       { .prog_fd = g_ctl.parse_fd, .f = &f_miss, .rv = XDP_PASS },
			       { .prog_fd = si->xdp_fd, .f = &frag, .rv = XDP_PASS },
			       { .prog_fd = si->xdp_fd, .f = &noflow, .rv = XDP_PASS },
			       { .prog_fd = si->xdp_fd, .f = &f_miss, .rv = XDP_PASS } };
	struct result *res = steer_result("xdp_steer_miss", pt, si);
	long flows0 = steer_flows_count(si), flows1;
	__u64 sent0 = steer_counter(si, CS_S_XDP_STEERED), totc0 = steer_counter(si, CS_S_XDP_TO_TC);
	double vs, parse_ns, frag_ns, noflow_ns;

	frag = f_miss;
	frag.b[14 + 6] |= 0x20;	/* IPv4 MF: a first fragment */
	udp_frame(&noflow, "10.1.0.5", 40999, "192.0.2.7", 443);
	measure(arms, 5);
	if ((flows1 = steer_flows_count(si)) != flows0 || steer_counter(si, CS_S_XDP_STEERED) != sent0 ||
	    steer_counter(si, CS_S_XDP_TO_TC) != totc0)
		die("%s: %ld flows made, or the miss counted as steered or left to TC", res->name, flows1 - flows0);
	result_arm(res, &arms[4], &arms[0]);
	vs = ratio_median(&arms[4], &arms[1]);
	also_target(res, "ratio to xdp_parse <= 1.2", "xdp_parse", vs, vs <= 1.2);
	parse_ns = median(arms[1].ns, g_runs);
	frag_ns = median(arms[2].ns, g_runs);
	noflow_ns = median(arms[3].ns, g_runs);
	extra(res, ", \"vs_xdp_parse\": %.3f, \"xdp_parse_ns\": %.2f, \"split\": {\"steer_parse_ns\": %.2f, "
		   "\"route_lookups_ns\": %.2f, \"no_flow_ns\": %.2f}", vs, parse_ns, frag_ns, res->ns - frag_ns,
	      noflow_ns);
	res->path = "miss";
}

/* The hit frame's stream proven (its second packet, through TC as a
 * stream's first packets go) and taken by steer_xdp: redirected to csb0. */
static void xdp_prove(const struct steer_inst *si, const char *name)
{
	__u8 out[FRAME_CAP];
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = f_hit.b, .data_size_in = f_hit.len, .data_out = out,
		    .data_size_out = sizeof(out), .repeat = 1);
	struct cs_flow fl;

	if (!steer_flow(si, &fl)) {
		run_prog(si->prog_fd, &f_hit, 1, TC_REDIRECT);
		run_prog(si->prog_fd, &f_hit, 1, TC_REDIRECT);
	}
	if (!steer_flow(si, &fl) || fl.instance != 1 || fl.state != CS_ST_ACTIVE || fl.ifindex != g_csb0)
		die("%s: the stream is not proven, ACTIVE and pinned to instance 1 on csb0", name);
	if (bpf_prog_test_run_opts(si->xdp_fd, &o) || o.retval != XDP_REDIRECT || memcmp(out, "\x02\xaa", 2) ||
	    memcmp(out + 6, "\x02\x00\x00\x00\xc5\x00", 6))
		die("%s: steer_xdp did not send the stream to its instance's MAC (verdict %u)", name, o.retval);
}

/* What the XDP path counted, to check a case against. */
struct xdp_counts {
	__u64 flow, steered, to_tc, rule;
};

static struct xdp_counts xdp_counts(const struct steer_inst *si, __u32 rule_id)
{
	struct xdp_counts c = { 0 };
	struct cs_flow fl;

	if (steer_flow(si, &fl))
		c.flow = fl.packets;
	c.steered = steer_counter(si, CS_S_XDP_STEERED);
	c.to_tc = steer_counter(si, CS_S_XDP_TO_TC);
	c.rule = rule_id ? steer_rule_packets(si, rule_id) : 0;
	return c;
}

/* Every one of `pkts` packets steered by XDP: on the flow, on xdp_steered,
 * on its rule, none left to TC, no stream pinned anew. */
static void xdp_expect(const struct steer_inst *si, const char *name, const struct xdp_counts *before,
		       __u32 rule_id, __u64 pinned0, __u64 pkts)
{
	struct xdp_counts now = xdp_counts(si, rule_id);

	if (now.flow - before->flow != pkts || now.steered - before->steered != pkts || now.to_tc != before->to_tc ||
	    (rule_id && now.rule - before->rule != pkts) || steer_inst_stat(si, 1).flows != pinned0)
		die("%s: of %llu packets, %llu on the flow, %llu xdp_steered, %llu left to TC, or a stream pinned anew",
		    name, (unsigned long long)pkts, (unsigned long long)(now.flow - before->flow),
		    (unsigned long long)(now.steered - before->steered),
		    (unsigned long long)(now.to_tc - before->to_tc));
}

/* The pinned stream in XDP, warm, against xdp_noop and xdp_fwd_min (which
 * has the same stream in its map); arms[2] is steer_xdp. */
static void xdp_pinned_measure(const struct steer_inst *si, struct result *res, struct arm *arms, __u32 rule_id)
{
	struct xdp_counts before;
	__u64 pinned0;
	double vs;

	xdp_prove(si, res->name);
	before = xdp_counts(si, rule_id);
	pinned0 = steer_inst_stat(si, 1).flows;
	measure(arms, 3);
	xdp_expect(si, res->name, &before, rule_id, pinned0, arms[2].pkts);
	result_arm(res, &arms[2], &arms[0]);
	vs = ratio_median(&arms[2], &arms[1]);
	also_target(res, "ratio to xdp_fwd_min <= 1.5", "xdp_fwd_min", vs, vs <= 1.5);
	extra(res, ", \"vs_xdp_fwd_min\": %.3f, \"xdp_fwd_min_ns\": %.2f", vs, median(arms[1].ns, g_runs));
	res->path = "xdp_pinned";
}

static void xdp_steer_pinned(const struct steer_inst *si, const struct point *pt)
{
	struct arm arms[3] = { { .prog_fd = g_noop_fd, .f = &f_hit, .rv = XDP_PASS },
			       { .prog_fd = g_ctl.fwd_fd, .f = &f_hit, .rv = XDP_REDIRECT },
			       { .prog_fd = si->xdp_fd, .f = &f_hit, .rv = XDP_REDIRECT } };

	xdp_pinned_measure(si, steer_result("xdp_steer_hit_pinned", pt, si), arms, (__u32)pt->rule_entries);
}

/* The pinned stream of a chain in encap or nsh `mode`, wrapped in XDP: as
 * steer_pinned_wrapped, against xdp_steer_hit_pinned's path. */
static void xdp_steer_wrapped(const struct steer_inst *si, const struct point *pt, __u32 mode)
{
	struct steer_wrap w = { si, mode };
	static struct changing c;
	struct result *res = steer_result(mode == CS_MODE_NSH ? "xdp_steer_hit_pinned_nsh" : "xdp_steer_hit_pinned_encap",
					  pt, si);
	struct xdp_counts before;
	__u64 pinned0, failed0;

	c = (struct changing){ .arms = { { .prog_fd = g_noop_fd, .f = &f_hit, .rv = XDP_PASS },
					 { .prog_fd = si->xdp_fd, .f = &f_hit, .rv = XDP_REDIRECT } },
			       .cas = { .prog_fd = si->xdp_fd, .f = &f_hit, .rv = XDP_REDIRECT },
			       .set = steer_wrap_set, .ctx = &w };
	xdp_prove(si, res->name);
	steer_chain_mode(si, mode);
	expect_wrapped(si->xdp_fd, &f_hit, mode, XDP_REDIRECT, res->name);
	before = xdp_counts(si, 0);
	pinned0 = steer_inst_stat(si, 1).flows;
	failed0 = steer_inst_stat(si, 1).encap_failed;
	measure_changing(&c);
	steer_chain_mode(si, CS_MODE_ROUTE);
	xdp_expect(si, res->name, &before, 0, pinned0, c.cas.pkts + c.arms[1].pkts);
	if (steer_inst_stat(si, 1).encap_failed != failed0)
		die("%s: some packets not wrapped", res->name);
	result_changing(res, &c, "xdp_steer_hit_pinned", METHOD_XDP_WRAP);
	res->path = mode == CS_MODE_NSH ? "xdp_pinned_nsh" : "xdp_pinned_encap";
}

/* Every XDP steer case at one point, after the TC cases. */
static void xdp_steer_point(const struct steer_inst *si, const struct point *pt)
{
	xdp_steer_miss(si, pt);
	xdp_steer_pinned(si, pt);
	xdp_steer_wrapped(si, pt, CS_MODE_ENCAP);
	xdp_steer_wrapped(si, pt, CS_MODE_NSH);
}

/* ---- steer_xdp with 1, 10,000 and 1,000,000 streams in cs_flows ---- */

#define STREAMS_FLOWS_LIMIT 1048576	/* steer.limits.flows for a million streams */
#define STREAM_CLIENT_PORT 40000
static const long STREAM_COUNTS[] = { 1, 10000, 1000000 };
static int g_n_streams = 3;

/* Stream k (ctx: the first k to make) of the other streams: a client of
 * its own to the hit route, UDP, ACTIVE, pinned to instance 1 on csb0,
 * as the measured stream is. */
static void make_stream(__u32 k, void *key, void *value, const void *ctx)
{
	struct cs_flow_key *fk = key;
	struct cs_flow *fl = value;

	k += *(const __u32 *)ctx;
	v4mapped_n(&fk->lo, FILLER_CLIENT_BASE, k);	/* 10.128/9 < 192.0.2.7 */
	hit_route_addr(&fk->hi);
	fk->lo_port = STREAM_CLIENT_PORT;
	fk->hi_port = 443;
	fk->proto = 17;	/* UDP */
	*fl = (struct cs_flow){ .first_ns = 1, .last_ns = 1, .packets = 2, .bytes = 212, .route = fk->hi,
				.acl_id = 5, .rule_id = 1 /* the hit route's: steer_hit_route(&si, 1) */,
				.code = k, .instance = 1, .chain = 1, .ifindex = g_csb0,
				.state = CS_ST_ACTIVE, .flags = CS_LIFE_FIRST_LO };
}

/* The frame of other stream k. */
static void stream_frame(struct frame *f, __u32 k)
{
	struct in_addr a = { .s_addr = htonl(FILLER_CLIENT_BASE + k) };
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a, ip, sizeof(ip));
	udp_frame(f, ip, STREAM_CLIENT_PORT, "192.0.2.7", 443);
}

/* What the cycled case switches between runs: another stream's frame. */
struct stream_cycle {
	struct frame f;
	__u32 others;	/* other streams in the table */
	__u64 seed;
};

static void stream_cycle_set(const void *ctx, bool for_case)
{
	struct stream_cycle *sc = (struct stream_cycle *)ctx;

	if (for_case)
		stream_frame(&sc->f, (__u32)(splitmix64(&sc->seed) % sc->others));
}

static struct result *streams_result(const char *base, long streams)
{
	struct result *res = result_new(base, NULL);
	char n[24];

	short_count(n, sizeof(n), streams);
	snprintf(res->name, sizeof(res->name), "%s@%s_stream%s", base, n, streams == 1 ? "" : "s");
	res->table = "cs_flows";
	res->table_records = streams;
	extra(res, ", \"flows_limit\": %u", STREAMS_FLOWS_LIMIT);
	return res;
}

/* Each packet another stream: their buckets and entries out of cache as
 * far as the table is bigger than the cache. Every stream is seen once
 * first, as a busy host's streams are. */
static void xdp_streams_cycled(const struct steer_inst *si, long streams, double warm_ns)
{
	static struct stream_cycle sc;
	static struct changing c;
	struct result *res = streams_result("xdp_steer_pinned_cycled", streams);
	struct xdp_counts before;
	__u32 k;

	sc = (struct stream_cycle){ .others = (__u32)streams - 1, .seed = 21 };
	c = (struct changing){ .arms = { { .prog_fd = g_noop_fd, .f = &f_hit, .rv = XDP_PASS },
					 { .prog_fd = si->xdp_fd, .f = &f_hit, .rv = XDP_REDIRECT } },
			       .cas = { .prog_fd = si->xdp_fd, .f = &sc.f, .rv = XDP_REDIRECT },
			       .set = stream_cycle_set, .ctx = &sc };
	for (k = 0; k < sc.others; k++) {
		stream_frame(&sc.f, k);
		run_prog(si->xdp_fd, &sc.f, 1, XDP_REDIRECT);
	}
	before = xdp_counts(si, 0);
	measure_changing(&c);
	if (steer_counter(si, CS_S_XDP_STEERED) - before.steered != c.cas.pkts + c.arms[1].pkts ||
	    steer_counter(si, CS_S_XDP_TO_TC) != before.to_tc)
		die("%s: not every packet steered in XDP", res->name);
	result_changing(res, &c, "xdp_steer_pinned_streams", METHOD_XDP_CYCLED);
	res->path = "xdp_pinned";
	extra(res, ", \"vs_warm\": %.3f", res->ns / warm_ns);
}

/* One load with cs_flows sized for a million, filled up through the counts:
 * at each, the measured stream warm, then every packet another stream. */
static void bench_xdp_streams(void)
{
	struct arm arms[3] = { { .prog_fd = g_noop_fd, .f = &f_hit, .rv = XDP_PASS },
			       { .prog_fd = g_ctl.fwd_fd, .f = &f_hit, .rv = XDP_REDIRECT },
			       { 0 } };
	struct steer_inst si;
	__u32 filled = 0;
	double one_ns = 0, t;
	long n;
	int i;

	steer_open(&si, CS_ROUTES_ENTRIES, STREAMS_FLOWS_LIMIT);
	steer_chain(&si);
	steer_rules_write(&si, 1);
	steer_hit_route(&si, 1);
	arms[2] = (struct arm){ .prog_fd = si.xdp_fd, .f = &f_hit, .rv = XDP_REDIRECT };
	for (i = 0; i < g_n_streams; i++) {
		long streams = STREAM_COUNTS[i];
		__u32 others = (__u32)streams - 1;
		struct result *res = streams_result("xdp_steer_pinned_streams", streams);

		t = now_s();
		fill_map(si.flows_fd, "cs_flows", others - filled, sizeof(struct cs_flow_key), sizeof(struct cs_flow),
			 make_stream, &filled);
		filled = others;
		xdp_pinned_measure(&si, res, arms, 1);
		res->method = METHOD_XDP_STREAMS;
		if ((n = steer_flows_count(&si)) != streams)
			die("%s: cs_flows holds %ld streams, not %ld", res->name, n, streams);
		if (i == 0)
			one_ns = res->ns;
		extra(res, ", \"vs_1_stream\": %.3f", res->ns / one_ns);
		if (streams > 1)
			xdp_streams_cycled(&si, streams, res->ns);
		printf("steer_xdp with %ld streams measured in %.1f s\n", streams, now_s() - t);
	}
	steer_free(&si);
}

/* Every steer case at one point: the hit route names the last rule entry. */
static void steer_point(struct steer_inst *si, const struct point *pt, int tc_noop_fd)
{
	steer_rules_write(si, pt->rule_entries);
	steer_hit_route(si, (__u32)pt->rule_entries);
	steer_miss(si, pt, tc_noop_fd);
	steer_pinned(si, pt, tc_noop_fd);
	steer_pinned_wrapped(si, pt, tc_noop_fd, CS_MODE_ENCAP);
	steer_pinned_wrapped(si, pt, tc_noop_fd, CS_MODE_NSH);
	steer_new_flow(si, pt, tc_noop_fd);
	xdp_steer_point(si, pt);
}

/* Every steer case at every rule count of one table size. */
static void steer_table(int table_idx, int tc_noop_fd)
{
	struct steer_inst si;
	double t = now_s();
	int r;

	steer_load(&si, TABLE_SIZES[table_idx]);
	printf("steer with %ld routes (cs_routes of %u) and %ld other flows, loaded in %.2f s\n",
	       TABLE_SIZES[table_idx], si.routes_limit, si.other_flows, now_s() - t);
	for (r = 0; r < g_n_rules; r++) {
		struct point pt = point_at(table_idx, r);

		t = now_s();
		steer_point(&si, &pt, tc_noop_fd);
		printf("  %ld rules (%ld entries): measured in %.1f s\n", pt.rules, pt.rule_entries,
		       now_s() - t);
	}
	steer_free(&si);
}

/* ---- the chain header: an instance of stage 0 of a chain of two ---- */

#define NSH_CODE 0xdeadbeefu	/* the stream's code, all 32 bits in C1 */
#define NSH_HERE "10.30.0.2"	/* this node: instance 1 of stage 0 */
#define NSH_BUCKETS 256		/* of the next stage's table */

struct inst_node {
	struct instance_bpf *skel;
	int in_fd, out_fd, streams_fd, reasons_fd, nsh_reasons_fd;
};

/* The steer cases' stream arriving from the gateway behind the chain header
 * (SI 255: stage 0), the same with the next stage's SI (254: not this
 * node's, refused), and its answer from the server. The service sends on
 * f_hit itself: the client's packet as it arrived. */
static struct frame f_nsh_in, f_nsh_other_stage, f_answer;

static void nsh_frame(struct frame *f, __u8 si)
{
	struct frame_opts o = { .src = "10.9.0.1", .dst = NSH_HERE, .sport = CS_ENCAP_SPORT(NSH_CODE) };
	struct nsh_fields h = { .spi = WIRE_ID, .code = NSH_CODE, .si = si, .md_type = 1, .gpe_flags = 0x0c,
				.len_words = 6 };

	h.ttl = (__u8)(CS_NSH_TTL_DEFAULT - (CS_NSH_SI_FIRST - si));	/* as the header comes the chain's way */
	f->len = frame_nsh(f->b, &o, &h, f_hit.b + 14, f_hit.len - 14);
}

/* Stage 0 of 2, ready in nsh mode; the next stage's instances 2 and 3 up on
 * ifindex 1 (no FIB lookup), every bucket of their table {2, 3}. Fields by
 * name: what the daemon fills and the cases do not read stays 0. */
static void inst_node_config(const struct inst_node *n)
{
	struct cs_inst_cfg cfg = { .map_version = 1, .vni = WIRE_ID, .self_id = 1, .mode = CS_MODE_NSH,
				   .flags = CS_ICFG_READY, .stage = 0, .n_stages = 2, .next_buckets = NSH_BUCKETS };
	__u32 zero = 0, id;
	struct cs_addr here;
	int table;

	v4mapped(&here, NSH_HERE);
	if (bpf_map_update_elem(bpf_map__fd(n->skel->maps.cs_inst_cfg), &zero, &cfg, BPF_ANY) ||
	    bpf_map_update_elem(bpf_map__fd(n->skel->maps.cs_local_addrs), &here, &zero, BPF_ANY))
		die("instance: cannot write the config: %s", strerror(errno));
	for (id = 2; id <= 3; id++) {
		struct cs_instance in = { .chain_id = 1, .state = CS_INST_UP, .ifindex = g_csb0, .vni = WIRE_ID,
					  .inner_mtu = 1440, .local = here };

		v4mapped(&in.addr, id == 2 ? "10.40.0.2" : "10.40.0.3");
		if (bpf_map_update_elem(bpf_map__fd(n->skel->maps.cs_next_instances), &id, &in, BPF_ANY))
			die("instance: cannot write next instance %u: %s", id, strerror(errno));
	}
	table = bucket_table(2, 3);
	if (bpf_map_update_elem(bpf_map__fd(n->skel->maps.cs_next_table), &zero, &table, BPF_ANY))
		die("instance: cannot swap the next stage's table in: %s", strerror(errno));
	close(table);
}

/* The stream, made as its first packets make it: the first arrival begins
 * it, the second proves it (cs_streams). */
static void inst_node_stream(const struct inst_node *n)
{
	struct cs_flow_key k;
	struct cs_stream st;

	run_prog(n->in_fd, &f_nsh_in, 1, TC_OK);
	run_prog(n->in_fd, &f_nsh_in, 1, TC_OK);
	hit_flow_key(&k);
	if (bpf_map_lookup_elem(n->streams_fd, &k, &st) || st.code != NSH_CODE || st.state != CS_ST_ACTIVE)
		die("instance: the stream is not in cs_streams under the code of C1");
}

static void inst_node_load(struct inst_node *n)
{
	n->skel = instance_bpf__open_and_load();
	if (!n->skel)
		die("cannot load instance: %s", strerror(errno));
	n->in_fd = bpf_program__fd(n->skel->progs.instance);
	n->out_fd = bpf_program__fd(n->skel->progs.instance_out);
	n->streams_fd = bpf_map__fd(n->skel->maps.cs_streams);
	n->reasons_fd = bpf_map__fd(n->skel->maps.cs_inst_reasons);
	n->nsh_reasons_fd = bpf_map__fd(n->skel->maps.cs_nsh_reasons);
	inst_node_config(n);
	inst_node_stream(n);
}

/* The instance's counters, by reason. */
static void inst_reasons_read(const struct inst_node *n, __u64 *inst, __u64 *nsh)
{
	if (cs_percpu_sum(n->reasons_fd, 0, CS_I_MAX, inst, 1) ||
	    cs_percpu_sum(n->nsh_reasons_fd, 0, CS_NSH_MAX, nsh, 1))
		die("instance: cannot read its counters: %s", strerror(errno));
}

/* measure_changing, and what the instance counted meanwhile, by reason. */
static void inst_measure(const struct inst_node *n, struct changing *c, __u64 *inst, __u64 *nsh)
{
	__u64 inst0[CS_I_MAX], nsh0[CS_NSH_MAX];
	int k;

	inst_reasons_read(n, inst0, nsh0);
	measure_changing(c);
	inst_reasons_read(n, inst, nsh);
	for (k = 0; k < CS_I_MAX; k++)
		inst[k] -= inst0[k];
	for (k = 0; k < CS_NSH_MAX; k++)
		nsh[k] -= nsh0[k];
}

/* One arrival: the client's packet comes out, the header taken off. */
static void expect_unwrapped(const struct inst_node *n, const char *name)
{
	static __u8 out[FRAME_CAP];
	__u32 len = 0;
	int verdict = -1;

	if (bpffx_run(n->in_fd, f_nsh_in.b, f_nsh_in.len, out, sizeof(out), &len, &verdict) || verdict != (int)TC_OK ||
	    len != f_hit.len || memcmp(out + 12, f_hit.b + 12, len - 12))
		die("%s: not the client's packet once unwrapped (verdict %d, %u octets)", name, verdict, len);
}

/* An NSH packet of the stream in: read, checked, tracked, unwrapped. Its
 * reference: the same header naming the next stage, read, checked and
 * refused (nsh_stage) without touching the stream. */
static void inst_arrive(const struct inst_node *n, int tc_noop_fd)
{
	static struct changing c;
	struct result *res = result_new("instance_nsh_arrive", NULL);
	__u64 inst[CS_I_MAX], nsh[CS_NSH_MAX];

	c = (struct changing){ .arms = { { .prog_fd = tc_noop_fd, .f = &f_nsh_in, .rv = TC_OK },
					 { .prog_fd = n->in_fd, .f = &f_nsh_other_stage, .rv = TC_SHOT } },
			       .cas = { .prog_fd = n->in_fd, .f = &f_nsh_in, .rv = TC_OK } };
	expect_unwrapped(n, res->name);
	inst_measure(n, &c, inst, nsh);
	if (inst[CS_I_NSH_UNWRAPPED] != c.cas.pkts || inst[CS_I_TRACKED] != c.cas.pkts || inst[CS_I_NEW] ||
	    nsh[CS_NSH_STAGE] != c.arms[1].pkts)
		die("%s: %llu of %llu packets tracked and unwrapped, or a stream made anew", res->name,
		    (unsigned long long)inst[CS_I_NSH_UNWRAPPED], (unsigned long long)c.cas.pkts);
	result_changing(res, &c, "the same header for the next stage: refused", METHOD_INSTANCE);
	res->path = "nsh_unwrapped";
}

/* The service's packet of the stream out: looked up, wrapped toward the
 * next stage's primary for its code, redirected. Its reference: the
 * stream's answer, looked up and left as routed. */
static void inst_send_on(const struct inst_node *n, int tc_noop_fd)
{
	static struct changing c;
	struct result *res = result_new("instance_out_nsh_send_on", NULL);
	__u64 inst[CS_I_MAX], nsh[CS_NSH_MAX];

	c = (struct changing){ .arms = { { .prog_fd = tc_noop_fd, .f = &f_hit, .rv = TC_OK },
					 { .prog_fd = n->out_fd, .f = &f_answer, .rv = TC_OK } },
			       .cas = { .prog_fd = n->out_fd, .f = &f_hit, .rv = TC_REDIRECT } };
	expect_wrapped(n->out_fd, &f_hit, CS_MODE_NSH, (int)TC_REDIRECT, res->name);
	inst_measure(n, &c, inst, nsh);
	if (inst[CS_I_NSH_SENT_ON] != c.cas.pkts || nsh[CS_NSH_NO_NEXT])
		die("%s: %llu of %llu packets sent on", res->name, (unsigned long long)inst[CS_I_NSH_SENT_ON],
		    (unsigned long long)c.cas.pkts);
	result_changing(res, &c, "the stream's answer: left as routed", METHOD_INSTANCE);
	res->path = "nsh_sent_on";
}

static void bench_chain_header(int tc_noop_fd)
{
	struct inst_node n;

	nsh_frame(&f_nsh_in, CS_NSH_SI_FIRST);
	nsh_frame(&f_nsh_other_stage, CS_NSH_SI_FIRST - 1);
	udp_frame(&f_answer, "192.0.2.7", 443, "10.1.0.5", 40000);
	inst_node_load(&n);
	inst_arrive(&n, tc_noop_fd);
	inst_send_on(&n, tc_noop_fd);
	instance_bpf__destroy(n.skel);
}

/* ---- main ---- */

/* A baseline's row (made before its cases, so it heads them): every warm
 * measurement of it in the run. */
static void baseline_row(struct result *res, const struct baseline_log *log, const char *method)
{
	const char *base = res->base;

	if (!log->n)
		die("no %s measurements", base);
	result_samples(res, log->ns, log->n);
	res->noop_ns = res->ns;
	res->ratio = 1.0;
	res->repeat = log->repeat;
	res->method = method;
	extra(res, ", \"measurements\": %d", log->n);
}

/* A control's row: every run it had, its ratio to xdp_noop per run. */
static void control_row(struct result *res, const struct control_log *log)
{
	if (!log->n)
		die("no %s measurements", res->base);
	result_samples(res, log->ns, log->n);
	res->ratio = median(log->ratio, log->n);
	res->noop_ns = res->ns / res->ratio;
	res->repeat = log->repeat;
	res->method = METHOD_CONTROL;
	extra(res, ", \"measurements\": %d", log->n);
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-o per_packet.json] [-e bench-env.json] [-d workdir] [-r runs] [-t ms]\n"
		"  -r  measurements per case, median reported (default 5, at most %d)\n"
		"  -t  kernel time per measurement in ms (default 50)\n"
		"  BENCH_QUICK=1: a smoke test, every case at 4 points, figures meaningless\n",
		prog, MAX_RUNS);
	exit(2);
}

/* The smoke test: every case, the smaller half of the matrix, few repeats. */
static void quick_defaults(void)
{
	const char *q = getenv("BENCH_QUICK");

	if (!q || !*q || !strcmp(q, "0"))
		return;
	g_runs = 1;
	g_target_ns = 2e6;
	g_new_iters = 100;
	g_n_tables = 2;
	g_n_rules = 2;
	g_n_streams = 2;
}

static void options(int argc, char **argv)
{
	int opt;

	quick_defaults();
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
}

/* One CPU for every run: the scratch map is per CPU, and no migrations. */
static void pin_cpu(void)
{
	cpu_set_t set;

	g_cpu = (int)sysconf(_SC_NPROCESSORS_ONLN) - 1;
	CPU_ZERO(&set);
	CPU_SET(g_cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		g_cpu = -1;
}

static void make_frames(void)
{
	f_tcp.len = frame_tcp_data(f_tcp.b, 512);
	dns_frame(&f_nomatch, "www.nomatch.org", IPS4, 4);
	dns_frame(&f_1a, "www.example.com", IPS4, 1);
	dns_frame(&f_4a, "www.example.com", IPS4, 4);
	make_ips72();
	dns_frame(&f_72a, "www.example.com", ips72, BIG_RRSET);
	steer_frame(&f_miss, "198.51.100.9");
	steer_frame(&f_hit, "192.0.2.7");
}

static void bench_learn(void)
{
	struct result *row = result_new("xdp_noop", NULL);
	struct result *parse_row = result_new("xdp_parse", NULL), *fwd_row = result_new("xdp_fwd_min", NULL);
	double t;
	int r;

	for (r = 0; r < g_n_rules; r++) {
		t = now_s();
		learn_rules(r, g_noop_fd);
		printf("learn at %ld rules done in %.1f s\n", RULE_COUNTS[r], now_s() - t);
	}
	baseline_row(row, &g_xdp_log, "the XDP baseline: an XDP program returning XDP_PASS; every warm "
				      "noop measurement of the learn cases; ratio 1 by definition");
	control_row(parse_row, &g_parse_log);
	control_row(fwd_row, &g_fwd_log);
}

static void bench_steer(void)
{
	struct tc_noop_bpf *tcn = tc_noop_bpf__open_and_load();
	struct result *row = result_new("tc_noop", NULL);
	int t;

	if (!tcn)
		die("cannot load the tc_noop program: %s", strerror(errno));
	for (t = 0; t < g_n_tables; t++)
		steer_table(t, bpf_program__fd(tcn->progs.tc_noop));
	bench_chain_header(bpf_program__fd(tcn->progs.tc_noop));
	bench_xdp_streams();
	tc_noop_bpf__destroy(tcn);
	baseline_row(row, &g_tc_log, "the TC baseline: a sched_cls program returning TC_ACT_OK; every warm "
				     "tc_noop measurement of the steer cases; ratio 1 by definition");
}

int main(int argc, char **argv)
{
	struct noop_bpf *noop;
	double t0 = now_s();

	options(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	pin_cpu();
	write_env(NULL, 0);
	printf("%d x %d points, %d runs of ~%.0f ms, %d iterations for the new cases\n", g_n_tables,
	       g_n_rules, g_runs, g_target_ns / 1e6, g_new_iters);
	make_frames();
	noop = noop_bpf__open_and_load();
	if (!noop)
		die("cannot load the noop program: %s (run as root)", strerror(errno));
	g_noop_fd = bpf_program__fd(noop->progs.noop);
	controls_load();
	bench_learn();
	printf("learn done at %.1f s\n", now_s() - t0);
	bench_netns();
	bench_steer();
	printf("steer done at %.1f s\n", now_s() - t0);
	controls_free();
	noop_bpf__destroy(noop);

	write_json(g_out);
	write_env(g_env, now_s() - t0);
	print_table();
	printf("\nwrote %s and %s in %.1f s\n", g_out, g_env, now_s() - t0);
	return 0;
}
