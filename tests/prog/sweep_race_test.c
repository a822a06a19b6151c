// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * sweep_race: the sweep's removals against learn's writes, each interleaving
 * forced. The test runs the pieces of a pass (user/daemon/sweep.c) itself
 * and sends learn an answer (BPF_PROG_TEST_RUN) between them, so the order
 * is the order of the calls: no sleeps, no threads.
 *   (a) the pass reads a route as unneeded; learn makes a record for its IP;
 *       the sweep removes the route with its stale judgement;
 *   (b) the pass reads a record as expired; an answer refreshes (revives)
 *       it; the sweep removes it with its stale read;
 * each also in the other order, and with learn making a new record or
 * route between the sweep's removal and its judgement of what it removed.
 * Every case ends with each ACL id on a route or in the pool, once
 * (cs_acl_reconcile finds nothing to recover or drop).
 */
#include <stdio.h>
#include <string.h>

#include "learnfx.h"
#include "daemon/daemon.h"
#include "lib/clock.h"
#include "lib/log.h"
#include "lib/quota.h"
#include "steer.skel.h"

T_SUITE("sweep_race");

static const char CONF[] =
	"learn:\n"
	"  ttl: {min: 60, max: 86400, grace: 0}\n"
	"rules:\n"
	"  - match: [example.test]\n";

#define ACL_IDS 4
#define IP "192.0.2.7"
#define RULE 1
#define SEC 1000000000ULL
#define TTL 300

static struct lfx F;
static struct dnsmsg M;
static struct cs_daemon D;

/* learn as the daemon loads it, and the daemon that the sweep's pieces act
 * on: learn's maps, steer's ACL counters, the quota mapped. */
static bool daemon_open(void)
{
	const struct cs_learn_opts opts = { .lazy_tables = true, .acl_ids = ACL_IDS };

	memset(&D, 0, sizeof(D));
	if (!lfx_open_opts(&F, CONF, &opts))
		return false;
	D.conf = F.conf;
	D.skel = F.skel;
	D.steer = steer_bpf__open_and_load();
	D.quota = cs_quota_map(bpf_map__fd(F.skel->maps.cs_rule_quota));
	return EXPECT(D.steer, "steer: %s", strerror(errno)) && EXPECT(D.quota, "quota: %s", strerror(errno));
}

static void daemon_close(void)
{
	cs_sweep_free(&D.sweep);
	cs_quota_unmap(D.quota);
	if (D.steer)
		steer_bpf__destroy(D.steer);
	memset(&D, 0, sizeof(D));
	lfx_close(&F);
}

/* An answer for name with IP; each TTL makes other bytes, so no answer
 * reuses the outcome of one before. */
static bool answer(const char *name, __u32 ttl, int reason)
{
	const char *ip[] = { IP };

	dns_simple_answer(&M, name, ip, 1, ttl);
	return lfx_run_dns(&F, &M, NULL) && EXPECT_REASON(&F, reason);
}

static bool record_of(const char *name, struct cs_record *r)
{
	return lfx_record(&F, name, IP, r);
}

/* Time passes for one record: it expired `ago` ns before now. */
static bool expire(const char *name, __u64 ago)
{
	struct cs_record_key k = lfx_record_key(&F, name, IP);
	struct cs_record r;

	if (!EXPECT(record_of(name, &r), "no record for %s", name))
		return false;
	r.expires_ns = cs_now_ns() - ago;
	return EXPECT(!bpf_map_update_elem(bpf_map__fd(F.skel->maps.cs_records), &k, &r, BPF_EXIST), "%s",
		      strerror(errno));
}

static __u64 quota(void)
{
	return D.quota[RULE].records;
}

static __u64 acl_packets(__u32 id)
{
	return bpffx_acl_packets(bpf_map__fd(D.steer->maps.cs_acl_stats), id);
}

/* Every ACL id on a route or in the pool, never both, never neither. */
static bool acl_ids_accounted(void)
{
	struct cs_acl_check c;
	int e = cs_acl_reconcile(bpf_map__fd(F.skel->maps.cs_acl_pool), bpf_map__fd(F.skel->maps.cs_routes), -1,
				 ACL_IDS, &c);

	if (!EXPECT_EQ(e, 0))
		return false;
	return EXPECT(!c.recovered && !c.dropped && !c.shared && c.on_routes + c.free == ACL_IDS,
		      "ACL ids: %u on routes, %u free, %u lost, %u in the pool twice or on a route too, "
		      "%u shared", c.on_routes, c.free, c.recovered, c.dropped, c.shared);
}

/* ---- (b) a record read expired, refreshed before its removal ---- */

/* A record of www.example.test read by the pass (a new one begun) expired
 * for 5 s; the key in *k, the value read in *read, the pass's clock in *now. */
static bool pass_reads_expired(struct cs_record_key *k, struct cs_record *read, __u64 *now)
{
	if (!answer("www.example.test", TTL, CS_R_LEARNED) || !expire("www.example.test", 5 * SEC))
		return false;
	cs_sweep_begin(&D);
	*now = cs_now_ns();
	*k = lfx_record_key(&F, "www.example.test", IP);
	return EXPECT(record_of("www.example.test", read), "the record went");
}

static void refreshed_between_read_and_removal(void)
{
	size_t removed;
	struct cs_record_key k;
	struct cs_record read, r;
	struct cs_route rt;
	unsigned long assigned = 0;
	__u64 now;

	if (!daemon_open() || !pass_reads_expired(&k, &read, &now))
		goto out;
	if (!answer("www.example.test", TTL + 1, CS_R_REFRESHED))	/* revived */
		goto out;
	removed = cs_sweep_remove_records(&D, &k, &read, 1, now);
	EXPECT_EQ(removed, 0);
	if (!EXPECT(record_of("www.example.test", &r), "the refreshed record was removed"))
		goto out;
	EXPECT(r.expires_ns >= now + (TTL + 1 - 1) * SEC, "expires in %lld s, not the answer's %u",
	       (long long)(r.expires_ns - now) / (long long)SEC, TTL + 1);
	EXPECT_EQ(r.hits, 2);
	EXPECT_EQ(quota(), 1);
	EXPECT_EQ(D.sweep.put_back, 1);
	/* put back, it counts as read live by the pass: its route stays */
	if (!EXPECT(lfx_route(&F, IP, &rt), "no route"))
		goto out;
	EXPECT(!cs_sweep_settle_route(&D, &k.addr, &rt, &assigned), "the route of a live record went");
	EXPECT(lfx_route(&F, IP, NULL), "the route of a live record went");
	acl_ids_accounted();
out:
	daemon_close();
}

/* The other order: removed for good, then the answer makes it anew. */
static void removed_then_refreshed(void)
{
	size_t removed;
	struct cs_record_key k;
	struct cs_record read, r;
	__u64 now;

	if (!daemon_open() || !pass_reads_expired(&k, &read, &now))
		goto out;
	removed = cs_sweep_remove_records(&D, &k, &read, 1, now);
	EXPECT_EQ(removed, 1);
	EXPECT(!record_of("www.example.test", NULL), "an expired record stayed");
	EXPECT_EQ(quota(), 0);
	if (!answer("www.example.test", TTL + 1, CS_R_LEARNED))
		goto out;
	EXPECT(F.n_ev == 1 && F.ev[0].type == CS_EV_RECORD_NEW, "%d events, not one new record", F.n_ev);
	if (EXPECT(record_of("www.example.test", &r), "no record"))
		EXPECT(r.expires_ns >= now + TTL * SEC && r.hits == 1, "expires in %lld s, %u hits",
		       (long long)(r.expires_ns - now) / (long long)SEC, r.hits);
	EXPECT_EQ(quota(), 1);
	acl_ids_accounted();
out:
	daemon_close();
}

/* Revived, removed alive, then an answer finds no record and makes one:
 * learn's stands, the one removed is not put back over it. */
static void made_anew_during_removal(void)
{
	struct cs_record_key k;
	struct cs_record read, gone, r;
	__u64 now;

	if (!daemon_open() || !pass_reads_expired(&k, &read, &now))
		goto out;
	if (!answer("www.example.test", TTL + 1, CS_R_REFRESHED))
		goto out;
	if (!EXPECT(cs_sweep_take_record(&D, &k, &read, &gone), "nothing to take"))
		goto out;
	if (!answer("www.example.test", TTL + 2, CS_R_LEARNED))
		goto out;
	EXPECT(F.n_ev == 1 && F.ev[0].type == CS_EV_RECORD_NEW, "%d events, not one new record", F.n_ev);
	EXPECT(!cs_sweep_settle_taken_record(&D, &k, &gone, now), "counted as removed for good");
	if (EXPECT(record_of("www.example.test", &r), "no record"))
		EXPECT(r.hits == 1 && r.expires_ns >= now + (TTL + 2 - 1) * SEC,
		       "%u hits, expires in %lld s: not learn's new record", r.hits,
		       (long long)(r.expires_ns - now) / (long long)SEC);
	EXPECT_EQ(quota(), 1);
	acl_ids_accounted();
out:
	daemon_close();
}

/* Expired for less than CS_EXPIRY_MARGIN_NS: an in-place refresh may be on
 * its way, so the record is not removed. */
static void expired_within_the_margin_stays(void)
{
	size_t removed;
	struct cs_record_key k = { 0 };
	struct cs_record read;
	__u64 now;

	if (!daemon_open() || !answer("www.example.test", TTL, CS_R_LEARNED) ||
	    !expire("www.example.test", CS_EXPIRY_MARGIN_NS / 2))
		goto out;
	cs_sweep_begin(&D);
	now = cs_now_ns();
	k = lfx_record_key(&F, "www.example.test", IP);
	if (!EXPECT(record_of("www.example.test", &read), "no record"))
		goto out;
	removed = cs_sweep_remove_records(&D, &k, &read, 1, now);
	EXPECT_EQ(removed, 0);
	EXPECT(record_of("www.example.test", NULL), "removed within the margin");
	EXPECT_EQ(quota(), 1);
out:
	daemon_close();
}

/* ---- (a) a route read as unneeded, stamped before its removal ---- */

/* The route of IP, made with ACL id 1 (42 packets counted on it), whose
 * record an earlier pass removed; then a new pass begins, reads no record
 * for it, and reads the route (*rt). */
static bool pass_reads_unneeded_route(struct cs_addr *key, struct cs_route *rt)
{
	struct cs_record_key k;
	struct cs_record read;
	__u64 now;

	if (!pass_reads_expired(&k, &read, &now) ||
	    !EXPECT(cs_sweep_remove_records(&D, &k, &read, 1, now) == 1, "the expired record stayed"))
		return false;
	bpffx_acl_set_packets(bpf_map__fd(D.steer->maps.cs_acl_stats), 1, 42);
	cs_sweep_free(&D.sweep);
	cs_sweep_begin(&D);
	*key = k.addr;
	return EXPECT(lfx_route(&F, IP, rt), "no route") && EXPECT_EQ(rt->acl_id, 1) &&
	       EXPECT(rt->learned_ns < D.sweep.pass_start_ns, "stamped after the pass began");
}

static void stamped_between_read_and_removal(void)
{
	struct cs_route read, rt;
	struct cs_addr key;
	unsigned long assigned = 0;

	if (!daemon_open() || !pass_reads_unneeded_route(&key, &read))
		goto out;
	if (!answer("api.example.test", TTL, CS_R_LEARNED))	/* a record for its IP */
		goto out;
	EXPECT(!cs_sweep_settle_route(&D, &key, &read, &assigned), "counted as removed");
	if (!EXPECT(lfx_route(&F, IP, &rt), "a record for %s and no route", IP))
		goto out;
	EXPECT_EQ(rt.acl_id, 1);
	EXPECT(rt.learned_ns >= D.sweep.pass_start_ns, "the stamp is lost");
	EXPECT_EQ(acl_packets(1), 42);	/* the same route: its counts stay */
	acl_ids_accounted();
out:
	daemon_close();
}

/* The other order: removed, its id back in the pool with its counts zeroed;
 * learn's record then makes a new route, with the next id of the pool. */
static void removed_then_record_made(void)
{
	struct cs_route read, rt;
	struct cs_addr key;
	unsigned long assigned = 0;

	if (!daemon_open() || !pass_reads_unneeded_route(&key, &read))
		goto out;
	EXPECT(cs_sweep_settle_route(&D, &key, &read, &assigned), "an unneeded route stayed");
	EXPECT(!lfx_route(&F, IP, NULL), "an unneeded route stayed");
	EXPECT_EQ(acl_packets(1), 0);
	if (!answer("api.example.test", TTL, CS_R_LEARNED))
		goto out;
	if (EXPECT(lfx_route(&F, IP, &rt), "a record for %s and no route", IP))
		EXPECT_EQ(rt.acl_id, 2);
	acl_ids_accounted();
out:
	daemon_close();
}

/* Stamped, removed, then another record finds no route and learn makes
 * one: learn's stands; the removed route's id goes back to the pool. */
static void route_made_anew_during_removal(void)
{
	struct cs_route read, gone, rt;
	enum cs_route_fate fate;
	struct cs_addr key;

	if (!daemon_open() || !pass_reads_unneeded_route(&key, &read))
		goto out;
	if (!answer("api.example.test", TTL, CS_R_LEARNED))
		goto out;
	if (!EXPECT(cs_sweep_take_route(&D, &key, &gone), "nothing to take"))
		goto out;
	if (!answer("cdn.example.test", TTL, CS_R_LEARNED))
		goto out;
	fate = cs_sweep_settle_taken_route(&D, &key, &gone);
	EXPECT_EQ(fate, CS_ROUTE_REPLACED);
	if (EXPECT(lfx_route(&F, IP, &rt), "a record for %s and no route", IP))
		EXPECT_EQ(rt.acl_id, 2);
	EXPECT_EQ(acl_packets(1), 0);
	acl_ids_accounted();
out:
	daemon_close();
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	cs_log_level = CS_LOG_WARN;	/* the removals' info lines are not the test's */
	RUN(refreshed_between_read_and_removal);
	RUN(removed_then_refreshed);
	RUN(made_anew_during_removal);
	RUN(expired_within_the_margin_stays);
	RUN(stamped_between_read_and_removal);
	RUN(removed_then_record_made);
	RUN(route_made_anew_during_removal);
	T_EXIT();
}
