// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * steer: the TC program run for real with BPF_PROG_TEST_RUN. Each case gets
 * a fresh (unpinned) load with one chain (id 1, route mode, 256 buckets,
 * every bucket {primary 1, secondary 2}), instances 1 and 2 on the test's
 * own veth cs0 (set as their interface, so TC asks no FIB), rule 1 ->
 * chain 1, rule 2 -> observe, and routes 192.0.2.7 and 2001:db8::7 (rule 1,
 * ACL 5) and 192.0.2.8 (rule 2, ACL 6). In test-run bpf_redirect_neigh
 * returns TC_ACT_REDIRECT without sending.
 *
 * Every case runs twice: on TC alone (suite "steer"), then on both paths
 * as the kernel runs them (suite "steer-xdp"): each frame through
 * steer_xdp first, and through TC when XDP passes it on. The test lives in
 * a network namespace of its own, where cs0's neighbours are permanent
 * entries, so steer_xdp's FIB lookups find them; the "xdp_" cases check
 * what only the fast path does.
 */
#define _GNU_SOURCE	/* unshare */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cloudsteer.h"
#include "affinity.h"
#include "bpffx.h"
#include "fragskb.h"
#include "lib/addr.h"
#include "lib/learnprog.h"
#include "lib/maps.h"
#include "pkt.h"
#include "steer.skel.h"
#include "testing.h"

T_SUITE("steer");

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7
#define XDP_PASS 2
#define XDP_REDIRECT 4

#define ROUTE4 "192.0.2.7"
#define ROUTE4_OBS "192.0.2.8"
#define ROUTE6 "2001:db8::7"
#define CLIENT4 "10.1.0.5"
#define CLIENT6 "2001:db8:1::5"
#define ACL 5
#define ACL_OBS 6

static const __u64 AFF_KEY[2] = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL };

struct fx {
	struct steer_bpf *skel;
	int prog, xdp_prog, xdp_ports, flows, flows_new, steer_stats, chains, instances, inst_stats, acl_stats, rules, routes, config,
		smap;
	int table;
};

static struct fx F;

/* The test's namespace: cs0, the way to every instance, its MAC, and the
 * neighbours' MACs, 02:aa: and then the last four octets of their address. */
#define NETNS_SETUP                                                                              \
	"ip link add cs0 address 02:00:00:00:c5:00 type veth peer name cs0p && "                \
	"ip link set cs0 up && ip link set cs0p up && ip link set lo up && "                    \
	"sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 && "                  \
	"ip addr add 10.30.0.1/24 dev cs0 && ip addr add 10.31.0.1/24 dev cs0 && "             \
	"ip addr add 10.32.0.1/24 dev cs0 && ip addr add 2001:db8:30::1/64 dev cs0 nodad && "  \
	"ip neigh replace 10.30.0.2 lladdr 02:aa:0a:1e:00:02 dev cs0 nud permanent && "         \
	"ip neigh replace 10.31.0.2 lladdr 02:aa:0a:1f:00:02 dev cs0 nud permanent && "         \
	"ip neigh replace 10.32.0.2 lladdr 02:aa:0a:20:00:02 dev cs0 nud permanent && "         \
	"ip neigh replace 10.32.0.3 lladdr 02:aa:0a:20:00:03 dev cs0 nud permanent && "         \
	"ip neigh replace 2001:db8:30::2 lladdr 02:aa:00:00:00:02 dev cs0 nud permanent"
static const __u8 CS0_MAC[6] = { 0x02, 0x00, 0x00, 0x00, 0xc5, 0x00 };
static int g_cs0;		/* its ifindex */
static bool g_xdp;		/* each frame through steer_xdp first */

static bool set_state(__u32 id, __u32 state)
{
	struct cs_instance in;

	if (bpf_map_lookup_elem(F.instances, &id, &in))
		return false;
	in.state = state;
	return bpf_map_update_elem(F.instances, &id, &in, BPF_ANY) == 0;
}

static bool set_on_failure(__u32 on_failure)
{
	__u32 id = 1;
	struct cs_chain ch;

	if (bpf_map_lookup_elem(F.chains, &id, &ch))
		return false;
	ch.on_failure = on_failure;
	return bpf_map_update_elem(F.chains, &id, &ch, BPF_ANY) == 0;
}

/* Chain 1's mode and flags. */
static bool set_chain(__u32 mode, __u32 flags)
{
	__u32 id = 1;
	struct cs_chain ch;

	if (bpf_map_lookup_elem(F.chains, &id, &ch))
		return false;
	ch.mode = mode;
	ch.flags = flags;
	return bpf_map_update_elem(F.chains, &id, &ch, BPF_ANY) == 0;
}

static const __u8 VTEP_MAC[6] = { 0x02, 0xc5, 0x00, 0x00, 0x00, 0x01 };
/* The chain's VNI, its wire id: never the chain's id on this node (1) */
#define VNI 0xbe7f4b

/* Instance id reached at addr from local, for encap: the path takes inner
 * packets up to inner_mtu. */
static bool set_encap(__u32 id, const char *addr, const char *local, __u16 inner_mtu)
{
	struct cs_instance in;

	if (bpf_map_lookup_elem(F.instances, &id, &in))
		return false;
	cs_addr_parse(addr, &in.addr);
	cs_addr_parse(local, &in.local);
	in.inner_mtu = inner_mtu;
	in.vni = VNI;
	memcpy(in.mac, VTEP_MAC, 6);
	return bpf_map_update_elem(F.instances, &id, &in, BPF_ANY) == 0;
}

static bool add_route(const char *ip, __u32 rule_id, __u32 acl_id)
{
	struct cs_route rt = { .rule_id = rule_id, .acl_id = acl_id };
	struct cs_addr a;

	cs_addr_parse(ip, &a);
	return bpf_map_update_elem(F.routes, &a, &rt, BPF_ANY) == 0;
}

static void fx_free(void)
{
	if (F.table >= 0)
		close(F.table);
	steer_bpf__destroy(F.skel);
	memset(&F, 0, sizeof(F));
}

/* A fresh load, cs_flows and cs_flows_new sized to flows_max and
 * new_max (0: as built). */
static bool fx_setup_sized(__u32 flows_max, __u32 new_max);

static bool fx_setup(void)
{
	return fx_setup_sized(0, 0);
}

static bool fx_setup_sized(__u32 flows_max, __u32 new_max)
{
	static struct cs_bucket buckets[CS_BUCKETS_MAX];
	static __u32 keys[CS_BUCKETS_MAX];
	struct cs_config cfg = { .affinity_key = { AFF_KEY[0], AFF_KEY[1] } };
	struct cs_chain ch = { .mode = CS_MODE_ROUTE, .on_failure = CS_FAIL_BYPASS, .n_buckets = 256 };
	struct cs_rule r1 = { .chain_id = 1 }, r2 = { .chain_id = 0 };
	__u32 zero = 0, id, n = CS_BUCKETS_MAX, i;
	LIBBPF_OPTS(bpf_map_batch_opts, bo);

	memset(&F, 0, sizeof(F));
	F.table = -1;
	F.skel = steer_bpf__open();
	if (F.skel && flows_max)
		bpf_map__set_max_entries(F.skel->maps.cs_flows, flows_max);
	if (F.skel && new_max)
		bpf_map__set_max_entries(F.skel->maps.cs_flows_new, new_max);
	if (!F.skel || steer_bpf__load(F.skel)) {
		/* as root a refusal is the verifier's: a failure, not a skip */
		if (geteuid())
			T_SKIP("cannot load steer: %s (run as root)", strerror(errno));
		else
			EXPECT(false, "the kernel refused steer: %s", strerror(errno));
		return false;
	}
	F.prog = bpf_program__fd(F.skel->progs.steer);
	F.xdp_prog = bpf_program__fd(F.skel->progs.steer_xdp);
	F.xdp_ports = bpf_map__fd(F.skel->maps.cs_xdp_ports);
	F.flows = bpf_map__fd(F.skel->maps.cs_flows);
	F.flows_new = bpf_map__fd(F.skel->maps.cs_flows_new);
	F.steer_stats = bpf_map__fd(F.skel->maps.cs_steer_stats);
	F.chains = bpf_map__fd(F.skel->maps.cs_chains);
	F.instances = bpf_map__fd(F.skel->maps.cs_instances);
	F.inst_stats = bpf_map__fd(F.skel->maps.cs_inst_stats);
	F.acl_stats = bpf_map__fd(F.skel->maps.cs_acl_stats);
	F.rules = bpf_map__fd(F.skel->maps.cs_rules);
	F.routes = bpf_map__fd(F.skel->maps.cs_routes);
	F.config = bpf_map__fd(F.skel->maps.cs_config);
	F.smap = bpf_map__fd(F.skel->maps.cs_service_map);

	if (!EXPECT(bpf_map_update_elem(F.config, &zero, &cfg, BPF_ANY) == 0, "config: %s", strerror(errno)))
		return false;
	id = 1;
	if (!EXPECT(bpf_map_update_elem(F.rules, &id, &r1, BPF_ANY) == 0, "rule 1") ||
	    !EXPECT(bpf_map_update_elem(F.chains, &id, &ch, BPF_ANY) == 0, "chain 1"))
		return false;
	id = 2;
	if (!EXPECT(bpf_map_update_elem(F.rules, &id, &r2, BPF_ANY) == 0, "rule 2"))
		return false;
	for (id = 1; id <= 2; id++) {
		struct cs_instance in = { .chain_id = 1, .state = CS_INST_UP, .ifindex = (__u32)g_cs0 };

		cs_addr_parse(id == 1 ? "10.30.0.2" : "10.31.0.2", &in.addr);
		if (!EXPECT(bpf_map_update_elem(F.instances, &id, &in, BPF_ANY) == 0, "instance %u", id))
			return false;
	}
	if (!EXPECT(bpf_map_update_elem(F.xdp_ports, &g_cs0, &g_cs0, BPF_ANY) == 0, "cs_xdp_ports: %s",
		    strerror(errno)))
		return false;
	F.table = bpf_map_create(BPF_MAP_TYPE_ARRAY, "cs_table", sizeof(__u32), sizeof(struct cs_bucket),
				 CS_BUCKETS_MAX, NULL);
	if (!EXPECT(F.table >= 0, "table: %s", strerror(errno)))
		return false;
	for (i = 0; i < CS_BUCKETS_MAX; i++) {
		keys[i] = i;
		buckets[i] = (struct cs_bucket){ .primary = 1, .secondary = 2 };
	}
	if (!EXPECT(bpf_map_update_batch(F.table, keys, buckets, &n, &bo) == 0 && n == CS_BUCKETS_MAX,
		    "fill table: %s (%u)", strerror(errno), n))
		return false;
	id = 1;
	if (!EXPECT(bpf_map_update_elem(F.smap, &id, &F.table, BPF_ANY) == 0, "service map: %s",
		    strerror(errno)))
		return false;
	return EXPECT(add_route(ROUTE4, 1, ACL) && add_route(ROUTE6, 1, ACL) &&
			      add_route(ROUTE4_OBS, 2, ACL_OBS),
		      "routes: %s", strerror(errno));
}

/* ---- packets ---- */

struct pkt {
	const char *src, *dst;
	__u16 sport, dport;
	bool tcp;
};

static __u8 g_frame[FRAME_CAP], g_out[FRAME_CAP + 128];
static __u32 g_len, g_out_len;

/*
 * A frame steer_xdp sent on: toward a neighbour of cs0 (02:aa:...), from
 * cs0. Its Ethernet addresses are set back to the frame's, as TC leaves
 * them to bpf_redirect_neigh, so that every case checks the rest alike.
 */
static int xdp_sent(const __u8 *frame)
{
	EXPECT(!memcmp(g_out + 6, CS0_MAC, 6), "source MAC %s is not cs0's", pkt_hex(g_out + 6, 6));
	EXPECT(g_out[0] == 0x02 && g_out[1] == 0xaa, "destination MAC %s is no neighbour's", pkt_hex(g_out, 6));
	memcpy(g_out, frame, 12);
	return TC_ACT_REDIRECT;
}

/* Run one frame, through steer_xdp first when g_xdp, then through TC
 * unless XDP sent it; what steer made of it is in g_out, the TC verdict
 * returned (TC_ACT_REDIRECT for what XDP sent). */
static int run_frame(const __u8 *frame, __u32 len)
{
	int verdict = 0, err;

	if (g_xdp) {
		err = bpffx_run(F.xdp_prog, frame, len, g_out, sizeof(g_out), &g_out_len, &verdict);
		if (!EXPECT(!err, "XDP test run: %s", strerror(-err)))
			return -1;
		if (verdict == XDP_REDIRECT)
			return xdp_sent(frame);
		if (!EXPECT(verdict == XDP_PASS, "steer_xdp returned %d", verdict) ||
		    !EXPECT(g_out_len == len && !memcmp(g_out, frame, len), "steer_xdp changed a frame it passed"))
			return -1;
	}
	err = bpffx_run(F.prog, frame, len, g_out, sizeof(g_out), &g_out_len, &verdict);
	return EXPECT(!err, "test run: %s", strerror(-err)) ? verdict : -1;
}

static struct frame_opts opts_of(const struct pkt *p)
{
	return (struct frame_opts){ .ipv6 = strchr(p->src, ':') != NULL, .tcp = p->tcp, .sport = p->sport,
				    .dport = p->dport, .src = p->src, .dst = p->dst };
}

static int run(const struct pkt *p)
{
	static const char payload[64] = "steer test payload";
	struct frame_opts o = opts_of(p);

	g_len = frame_build(g_frame, &o, payload, sizeof(payload));
	return run_frame(g_frame, g_len);
}

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_ACK 0x10

/* A TCP segment of p with these flags (and 20 octets of data unless a SYN
 * or a RST). */
static int run_tcp(const struct pkt *p, __u8 flags)
{
	struct frame_opts o = opts_of(p);

	g_len = frame_tcp(g_frame, &o, flags, (flags & (TCP_SYN | TCP_RST)) ? 0 : 20);
	return run_frame(g_frame, g_len);
}

static struct pkt reverse(const struct pkt *p)
{
	return (struct pkt){ .src = p->dst, .dst = p->src, .sport = p->dport, .dport = p->sport, .tcp = p->tcp };
}

/* The flow key as steer builds it: lower (address, port) first. */
static void key_of(const struct pkt *p, struct cs_flow_key *k)
{
	struct cs_addr s, d;
	int c;
	bool src_lo;

	cs_addr_parse(p->src, &s);
	cs_addr_parse(p->dst, &d);
	c = memcmp(s.b, d.b, 16);
	src_lo = c < 0 || (c == 0 && p->sport <= p->dport);
	memset(k, 0, sizeof(*k));
	k->lo = src_lo ? s : d;
	k->hi = src_lo ? d : s;
	k->lo_port = src_lo ? p->sport : p->dport;
	k->hi_port = src_lo ? p->dport : p->sport;
	k->proto = p->tcp ? IPPROTO_TCP : IPPROTO_UDP;
}

/* The flow of p, proven (cs_flows) or not (cs_flows_new). */
static bool flow_of(const struct pkt *p, struct cs_flow *fl)
{
	struct cs_flow_key k;

	key_of(p, &k);
	return bpf_map_lookup_elem(F.flows, &k, fl) == 0 || bpf_map_lookup_elem(F.flows_new, &k, fl) == 0;
}

/* Is the flow of p proven (in cs_flows)? */
static bool proven(const struct pkt *p)
{
	struct cs_flow_key k;
	struct cs_flow fl;

	key_of(p, &k);
	return bpf_map_lookup_elem(F.flows, &k, &fl) == 0;
}

static int flows_count(void)
{
	return bpffx_map_len(F.flows) + bpffx_map_len(F.flows_new);
}

static __u64 steer_counter(__u32 c)
{
	__u64 n = 0;

	cs_percpu_sum(F.steer_stats, c, 1, &n, 1);
	return n;
}

static struct cs_inst_stat inst_stat(__u32 id)
{
	struct cs_inst_stat s;

	cs_percpu_sum(F.inst_stats, id, 1, (__u64 *)&s, sizeof(s) / sizeof(__u64));
	return s;
}

static struct cs_acl_stat acl_stat(__u32 id)
{
	struct cs_acl_stat s;

	cs_percpu_sum(F.acl_stats, id, 1, (__u64 *)&s, 2);
	return s;
}

static const struct pkt P1 = { .src = CLIENT4, .dst = ROUTE4, .sport = 40000, .dport = 443 };
static const struct pkt P2 = { .src = CLIENT4, .dst = ROUTE4, .sport = 40001, .dport = 443 };

/* The flow of p: instance, chain, packets. */
static bool expect_flow(const struct pkt *p, __u16 instance, __u16 chain, __u64 packets)
{
	struct cs_flow fl;

	if (!EXPECT(flow_of(p, &fl), "no flow for %s:%u -> %s:%u", p->src, p->sport, p->dst, p->dport))
		return false;
	EXPECT_EQ(fl.instance, instance);
	EXPECT_EQ(fl.chain, chain);
	EXPECT_EQ(fl.packets, packets);
	return true;
}

/* ================= cases ================= */

static void miss(void)
{
	struct pkt p = { .src = CLIENT4, .dst = "198.51.100.9", .sport = 40000, .dport = 443 };

	if (!fx_setup())
		goto out;
	EXPECT_EQ(run(&p), TC_ACT_OK);
	EXPECT_EQ(flows_count(), 0);
	EXPECT_EQ(acl_stat(ACL).packets, 0);
	EXPECT_EQ(inst_stat(1).packets + inst_stat(2).packets, 0);
	/* TCP too */
	p.tcp = true;
	EXPECT_EQ(run(&p), TC_ACT_OK);
	EXPECT_EQ(flows_count(), 0);
out:
	fx_free();
}

static void hit_new_flow(void)
{
	struct cs_inst_stat s;
	struct cs_acl_stat a;
	struct cs_flow fl;

	if (!fx_setup())
		goto out;
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	if (!expect_flow(&P1, 1, 1, 1))
		goto out;
	flow_of(&P1, &fl);
	EXPECT_EQ(fl.acl_id, ACL);
	EXPECT_EQ(fl.ifindex, g_cs0);
	EXPECT_EQ(fl.bytes, g_len);
	{
		struct cs_addr r;

		cs_addr_parse(ROUTE4, &r);
		EXPECT(!memcmp(&r, &fl.route, sizeof(r)), "flow route is not " ROUTE4);
	}
	s = inst_stat(1);
	EXPECT_EQ(s.bytes, 1 * g_len);
	EXPECT_EQ(s.flows, 1);
	EXPECT_EQ(inst_stat(2).bytes, 0 * g_len);
	a = acl_stat(ACL);
	EXPECT_EQ(a.packets, 1);
	EXPECT_EQ(a.bytes, g_len);
	EXPECT_EQ(flows_count(), 1);
out:
	fx_free();
}

static void pinned_flow(void)
{
	struct cs_inst_stat s;

	if (!fx_setup())
		goto out;
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	expect_flow(&P1, 1, 1, 2);
	s = inst_stat(1);
	EXPECT_EQ(s.bytes, 2 * g_len);
	EXPECT_EQ(s.flows, 1);
	EXPECT_EQ(acl_stat(ACL).packets, 2);
	EXPECT_EQ(flows_count(), 1);
out:
	fx_free();
}

static void return_direction(void)
{
	struct pkt r = reverse(&P1);
	struct cs_flow_key k1, k2;

	if (!fx_setup())
		goto out;
	key_of(&P1, &k1);
	key_of(&r, &k2);
	EXPECT(!memcmp(&k1, &k2, sizeof(k1)), "the two directions have two keys");
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	EXPECT_EQ(run(&r), TC_ACT_OK);
	expect_flow(&P1, 1, 1, 2);
	EXPECT_EQ(flows_count(), 1);
	EXPECT_EQ(inst_stat(1).bytes, 2 * g_len);
	EXPECT_EQ(inst_stat(1).flows, 1);
	EXPECT_EQ(acl_stat(ACL).packets, 2);
out:
	fx_free();
}

/* A stream seen first in the return direction: counted, pinned, not redirected. */
static void return_first(void)
{
	struct pkt r = reverse(&P1);

	if (!fx_setup())
		goto out;
	EXPECT_EQ(run(&r), TC_ACT_OK);
	expect_flow(&P1, 1, 1, 1);
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	expect_flow(&P1, 1, 1, 2);
out:
	fx_free();
}

static void affinity_code(void)
{
	struct pkt r = reverse(&P1), r2 = reverse(&P2);
	struct cs_flow_key k;
	struct cs_flow fl;

	if (!fx_setup())
		goto out;
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	EXPECT_EQ(run(&r2), TC_ACT_OK);	/* P2's flow made by its return packet */
	key_of(&P1, &k);
	if (EXPECT(flow_of(&P1, &fl), "no flow"))
		EXPECT(fl.code == cs_affinity_code(&k, AFF_KEY), "code %#x, userspace %#x", fl.code,
		       cs_affinity_code(&k, AFF_KEY));
	key_of(&r, &k);
	EXPECT(fl.code == cs_affinity_code(&k, AFF_KEY), "reverse key gives another code");
	key_of(&P2, &k);
	if (EXPECT(flow_of(&P2, &fl), "no flow for P2"))
		EXPECT(fl.code == cs_affinity_code(&k, AFF_KEY), "P2 code %#x, userspace %#x", fl.code,
		       cs_affinity_code(&k, AFF_KEY));
out:
	fx_free();
}

static void primary_down_moves(void)
{
	if (!fx_setup())
		goto out;
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	expect_flow(&P1, 1, 1, 1);
	if (!EXPECT(set_state(1, CS_INST_DOWN), "set state"))
		goto out;
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	expect_flow(&P1, 2, 1, 2);
	EXPECT_EQ(inst_stat(2).flows, 1);
	EXPECT_EQ(inst_stat(2).bytes, 1 * g_len);
	EXPECT_EQ(inst_stat(1).bytes, 1 * g_len);
	/* stays on 2 when 1 comes back */
	set_state(1, CS_INST_UP);
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	expect_flow(&P1, 2, 1, 3);
	EXPECT_EQ(inst_stat(2).flows, 1);
out:
	fx_free();
}

static void primary_down_new_flow(void)
{
	if (!fx_setup())
		goto out;
	set_state(1, CS_INST_DOWN);
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	expect_flow(&P1, 2, 1, 1);
	EXPECT_EQ(inst_stat(1).flows, 0);
	EXPECT_EQ(inst_stat(2).flows, 1);
out:
	fx_free();
}

static void both_down(__u32 on_failure, int verdict)
{
	if (!fx_setup())
		goto out;
	set_on_failure(on_failure);
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);	/* pinned to 1 first */
	set_state(1, CS_INST_DOWN);
	set_state(2, CS_INST_DOWN);
	EXPECT_EQ(run(&P1), verdict);
	expect_flow(&P1, 1, 1, 2);	/* counted; the pin is not changed */
	EXPECT_EQ(run(&P2), verdict);	/* a new stream: none to take it */
	expect_flow(&P2, 0, 1, 1);
	EXPECT_EQ(acl_stat(ACL).packets, 3);
	EXPECT_EQ(inst_stat(1).bytes, 1 * g_len);
	EXPECT_EQ(inst_stat(2).packets + inst_stat(2).flows, 0);
	/* an instance back: the stream is steered again */
	set_state(2, CS_INST_UP);
	EXPECT_EQ(run(&P2), TC_ACT_REDIRECT);
	expect_flow(&P2, 2, 1, 2);
out:
	fx_free();
}

static void both_down_bypass(void) { both_down(CS_FAIL_BYPASS, TC_ACT_OK); }
static void both_down_drop(void) { both_down(CS_FAIL_DROP, TC_ACT_SHOT); }

static void draining(void)
{
	if (!fx_setup())
		goto out;
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	set_state(1, CS_INST_DRAINING);
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	expect_flow(&P1, 1, 1, 2);
	EXPECT_EQ(run(&P2), TC_ACT_REDIRECT);
	expect_flow(&P2, 2, 1, 1);
	EXPECT_EQ(inst_stat(1).flows, 1);
	EXPECT_EQ(inst_stat(1).bytes, 2 * g_len);
	EXPECT_EQ(inst_stat(2).flows, 1);
out:
	fx_free();
}

/* A warming instance takes streams like an up one: which buckets it is
 * primary of is the table's business (the daemon keeps it secondary), so
 * with bucket {1, 2} a new stream goes to 1. */
static void warming_takes_new_streams(void)
{
	if (!fx_setup())
		goto out;
	if (!EXPECT(set_state(1, CS_INST_WARMING), "set state"))
		goto out;
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	expect_flow(&P1, 1, 1, 1);
	EXPECT_EQ(inst_stat(1).flows, 1);
	EXPECT_EQ(inst_stat(2).flows, 0);
out:
	fx_free();
}

/* A stream pinned to 2 fails over to 1 while 1 is still warming. */
static void warming_takes_failover(void)
{
	if (!fx_setup())
		goto out;
	set_state(1, CS_INST_DOWN);
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	if (!expect_flow(&P1, 2, 1, 1))
		goto out;
	set_state(1, CS_INST_WARMING);
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	expect_flow(&P1, 2, 1, 2);	/* 2 is up: the stream stays */
	set_state(2, CS_INST_DOWN);
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	expect_flow(&P1, 1, 1, 3);
	EXPECT_EQ(inst_stat(1).flows, 1);
	EXPECT_EQ(inst_stat(1).bytes, 1 * g_len);
	EXPECT_EQ(inst_stat(2).bytes, 2 * g_len);
out:
	fx_free();
}

static void observe_rule(void)
{
	struct pkt p = { .src = CLIENT4, .dst = ROUTE4_OBS, .sport = 40000, .dport = 443 };
	struct pkt r = reverse(&p);

	if (!fx_setup())
		goto out;
	EXPECT_EQ(run(&p), TC_ACT_OK);
	EXPECT_EQ(run(&r), TC_ACT_OK);
	expect_flow(&p, 0, 0, 2);
	EXPECT_EQ(acl_stat(ACL_OBS).packets, 2);
	EXPECT_EQ(inst_stat(0).packets + inst_stat(1).packets + inst_stat(2).packets, 0);
out:
	fx_free();
}

static void ipv6_hit(void)
{
	struct pkt p = { .src = CLIENT6, .dst = ROUTE6, .sport = 40000, .dport = 443, .tcp = true };
	struct pkt r = reverse(&p);
	struct cs_flow_key k;
	struct cs_flow fl;

	if (!fx_setup())
		goto out;
	EXPECT_EQ(run(&p), TC_ACT_REDIRECT);
	EXPECT_EQ(run(&r), TC_ACT_OK);
	if (expect_flow(&p, 1, 1, 2)) {
		key_of(&p, &k);
		flow_of(&p, &fl);
		EXPECT(fl.code == cs_affinity_code(&k, AFF_KEY), "v6 code differs");
	}
	EXPECT_EQ(acl_stat(ACL).packets, 2);
	EXPECT_EQ(inst_stat(1).bytes, 2 * g_len);
out:
	fx_free();
}

/* cs_inst_stats.packets counts packets: one per packet steered to the
 * instance. (The other cases check bytes, which the pinning does not touch.) */
static void inst_packets_once(void)
{
	if (!fx_setup())
		goto out;
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	EXPECT_EQ(inst_stat(1).packets, 1);
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	EXPECT_EQ(inst_stat(1).packets, 2);
	set_state(1, CS_INST_DOWN);
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);	/* moves to 2 */
	EXPECT_EQ(inst_stat(2).packets, 1);
	EXPECT_EQ(inst_stat(2).flows, 1);
	EXPECT_EQ(acl_stat(ACL).packets, 3);
out:
	fx_free();
}

/* ---- a chain's affinity: flow or hosts ---- */

/* Chain 1's table split between the instances by the code's low bit: even
 * buckets {1, 2}, odd {2, 1}. */
static bool split_table(void)
{
	static const struct cs_bucket even = { .primary = 1, .secondary = 2 }, odd = { .primary = 2, .secondary = 1 };
	__u32 i;

	for (i = 0; i < 256; i++)
		if (bpf_map_update_elem(F.table, &i, i & 1 ? &odd : &even, BPF_ANY))
			return false;
	return true;
}

/* A TCP stream between P1's two hosts, on other ports than P1 (a UDP
 * stream), whose 5-tuple's code has the other low bit than P1's: in the
 * split table the two take two instances when coded by their 5-tuples. */
static struct pkt p1_other_half(void)
{
	struct pkt p = { .src = CLIENT4, .dst = ROUTE4, .sport = 41000, .dport = 5060, .tcp = true };
	struct cs_flow_key k1, k;

	key_of(&P1, &k1);
	for (; p.sport < 42000; p.sport++) {
		key_of(&p, &k);
		if ((cs_affinity_code(&k, AFF_KEY) ^ cs_affinity_code(&k1, AFF_KEY)) & 1)
			break;
	}
	return p;
}

/* affinity: flow (the default): each stream the code of its 5-tuple, so
 * two streams between the same hosts may take two instances. */
static void affinity_flow_apart(void)
{
	struct pkt p2 = p1_other_half();
	struct cs_flow f1, f2;

	if (!fx_setup() || !EXPECT(split_table(), "split the table: %s", strerror(errno)))
		goto out;
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	EXPECT_EQ(run_tcp(&p2, TCP_SYN), TC_ACT_REDIRECT);
	if (!EXPECT(flow_of(&P1, &f1) && flow_of(&p2, &f2), "no flows"))
		goto out;
	EXPECT(f1.code != f2.code, "one code %#x for two 5-tuples", f1.code);
	EXPECT(f1.instance == 1 + (f1.code & 1) && f2.instance == 1 + (f2.code & 1),
	       "instances %u and %u for codes %#x and %#x", f1.instance, f2.instance, f1.code, f2.code);
	EXPECT(f1.instance != f2.instance, "both on %u", f1.instance);
out:
	fx_free();
}

/* affinity: hosts: the same two streams, and a third that the server
 * begins, have one code, the pair of hosts', and one instance; each is
 * still a flow of its own. */
static void affinity_hosts_together(void)
{
	struct pkt p2 = p1_other_half(), p3 = { .src = ROUTE4, .dst = CLIENT4, .sport = 53, .dport = 45000 };
	struct cs_flow f1, f2, f3;
	struct cs_flow_key k;
	__u32 want;

	if (!fx_setup() || !EXPECT(split_table(), "split the table: %s", strerror(errno)) ||
	    !EXPECT(set_chain(CS_MODE_ROUTE, CS_CHAIN_AFFINITY_HOSTS), "hosts chain"))
		goto out;
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	EXPECT_EQ(run_tcp(&p2, TCP_SYN), TC_ACT_REDIRECT);
	EXPECT_EQ(run(&p3), TC_ACT_OK);	/* the return direction: counted and pinned */
	if (!EXPECT(flow_of(&P1, &f1) && flow_of(&p2, &f2) && flow_of(&p3, &f3), "no flows"))
		goto out;
	key_of(&p2, &k);
	want = cs_affinity_code_by(&k, AFF_KEY, 1);
	EXPECT(f1.code == want && f2.code == want && f3.code == want, "codes %#x, %#x, %#x; the pair's %#x",
	       f1.code, f2.code, f3.code, want);
	EXPECT(want != cs_affinity_code(&k, AFF_KEY), "the pair's code is the 5-tuple's");
	EXPECT(f1.instance == 1 + (want & 1) && f2.instance == f1.instance && f3.instance == f1.instance,
	       "instances %u, %u, %u", f1.instance, f2.instance, f3.instance);
	EXPECT_EQ(flows_count(), 3);
	EXPECT_EQ(inst_stat(f1.instance).flows, 3);
out:
	fx_free();
}

/* ---- encap mode, MSS clamping, symmetric chains ---- */


/*
 * g_out is in (g_frame, in_len) wrapped in VXLAN with the VNI toward `addr`
 * from `local` with the code of p's flow: every octet of the headers, and
 * the frame itself after them.
 */
static void expect_vxlan(const struct pkt *p, const __u8 *in, __u32 in_len, const char *local, const char *addr)
{
	bool v6 = strchr(addr, ':') != NULL;
	__u32 ip_len = v6 ? 40 : 20, over = (v6 ? CS_ENCAP_OVERHEAD6 : CS_ENCAP_OVERHEAD4), u;
	const __u8 *ip = g_out + 14, *udp = ip + ip_len, *vx = udp + 8, *inner = vx + 8;
	struct cs_addr a, l;
	struct cs_flow fl;

	if (!EXPECT_EQ(g_out_len, in_len + over) || !EXPECT(flow_of(p, &fl), "no flow"))
		return;
	cs_addr_parse(addr, &a);
	cs_addr_parse(local, &l);
	EXPECT(!memcmp(g_out, in, 12), "outer Ethernet addresses changed before the redirect");
	EXPECT_EQ(pkt_get16(g_out + 12), v6 ? 0x86dd : 0x0800);
	if (v6) {
		EXPECT_EQ(ip[0] >> 4, 6);
		EXPECT_EQ(pkt_get16(ip + 4), g_out_len - 14 - 40);
		EXPECT_EQ(ip[6], IPPROTO_UDP);
		EXPECT_EQ(ip[7], 64);
		EXPECT(!memcmp(ip + 8, l.b, 16) && !memcmp(ip + 24, a.b, 16), "outer IPv6 addresses");
	} else {
		EXPECT_EQ(ip[0], 0x45);
		EXPECT_EQ(pkt_get16(ip + 2), g_out_len - 14);
		EXPECT_EQ(pkt_get16(ip + 6), 0);	/* may fragment, as a stock vxlan device sends */
		EXPECT_EQ(ip[8], 64);
		EXPECT_EQ(ip[9], IPPROTO_UDP);
		EXPECT(frame_ip4_csum_ok(ip), "outer IPv4 checksum");
		EXPECT(!memcmp(ip + 12, &l.b[12], 4) && !memcmp(ip + 16, &a.b[12], 4), "outer IPv4 addresses");
	}
	u = pkt_get16(udp);
	EXPECT(u == (0xc000 | (fl.code & 0x3fff)), "UDP source port %#x, code %#x", u, fl.code);
	EXPECT_EQ(pkt_get16(udp + 2), 4789);
	EXPECT_EQ(pkt_get16(udp + 4), g_out_len - 14 - ip_len);
	EXPECT_EQ(pkt_get16(udp + 6), 0);
	EXPECT(vx[0] == 0x08 && !vx[1] && !vx[2] && !vx[3], "VXLAN flags");
	EXPECT(vx[4] == (VNI >> 16) && vx[5] == ((VNI >> 8) & 0xff) && vx[6] == (VNI & 0xff) && !vx[7],
	       "VNI %02x%02x%02x is not the instance's", vx[4], vx[5], vx[6]);
	EXPECT(!memcmp(inner, VTEP_MAC, 6), "inner destination MAC");
	EXPECT(!memcmp(inner + 6, in + 6, 6), "inner source MAC");
	EXPECT(!memcmp(inner + 12, in + 12, in_len - 12), "the frame is not carried as it was");
}

static void encap_v4(void)
{
	struct cs_inst_stat s;

	if (!fx_setup() || !EXPECT(set_chain(CS_MODE_ENCAP, 0) && set_encap(1, "10.30.0.2", "10.30.0.1", 1450),
				   "encap chain"))
		goto out;
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	expect_vxlan(&P1, g_frame, g_len, "10.30.0.1", "10.30.0.2");
	expect_flow(&P1, 1, 1, 1);
	s = inst_stat(1);
	EXPECT_EQ(s.packets, 1);
	EXPECT_EQ(s.bytes, g_len);	/* what the client sent, not the wrapping */
	EXPECT_EQ(s.encap_failed, 0);
	/* not steered: untouched */
	EXPECT_EQ(run(&(struct pkt){ .src = CLIENT4, .dst = "198.51.100.9", .sport = 1, .dport = 2 }), TC_ACT_OK);
	EXPECT(g_out_len == g_len && !memcmp(g_out, g_frame, g_len), "a miss was changed");
out:
	fx_free();
}

/* IPv6 inside IPv4, and IPv4 inside IPv6. */
static void encap_v6(void)
{
	struct pkt p6 = { .src = CLIENT6, .dst = ROUTE6, .sport = 40000, .dport = 443, .tcp = true };

	if (!fx_setup() || !EXPECT(set_chain(CS_MODE_ENCAP, 0) && set_encap(1, "10.30.0.2", "10.30.0.1", 1450),
				   "encap chain"))
		goto out;
	EXPECT_EQ(run(&p6), TC_ACT_REDIRECT);
	expect_vxlan(&p6, g_frame, g_len, "10.30.0.1", "10.30.0.2");
	EXPECT_EQ(pkt_get16(g_out + 14 + 20 + 16 + 12), 0x86dd);
	set_encap(1, "2001:db8:30::2", "2001:db8:30::1", 1430);
	EXPECT_EQ(run(&P2), TC_ACT_REDIRECT);
	expect_vxlan(&P2, g_frame, g_len, "2001:db8:30::1", "2001:db8:30::2");
out:
	fx_free();
}

/* A packet bigger than the path takes once wrapped: on_failure decides,
 * and the packet is not changed. */
static void encap_too_big(void)
{
	if (!fx_setup() || !EXPECT(set_chain(CS_MODE_ENCAP, 0) && set_encap(1, "10.30.0.2", "10.30.0.1", 80),
				   "encap chain"))
		goto out;
	EXPECT_EQ(run(&P1), TC_ACT_OK);
	EXPECT(g_out_len == g_len && !memcmp(g_out, g_frame, g_len), "bypassed but changed");
	EXPECT_EQ(inst_stat(1).encap_failed, 1);
	set_on_failure(CS_FAIL_DROP);
	EXPECT_EQ(run(&P1), TC_ACT_SHOT);
	EXPECT_EQ(inst_stat(1).encap_failed, 2);
	/* exactly the limit fits: 20 + 8 + 64 octets of IPv4 */
	set_encap(1, "10.30.0.2", "10.30.0.1", 92);
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	set_encap(1, "10.30.0.2", "10.30.0.1", 91);
	EXPECT_EQ(run(&P1), TC_ACT_SHOT);
out:
	fx_free();
}

/* A VLAN-tagged frame is not wrapped (the tag would land inside). */
static void encap_vlan_refused(void)
{
	static const char payload[64] = "tagged";
	struct frame_opts o = opts_of(&P1);

	if (!fx_setup() || !EXPECT(set_chain(CS_MODE_ENCAP, 0) && set_encap(1, "10.30.0.2", "10.30.0.1", 1450),
				   "encap chain"))
		goto out;
	o.vlans = 1;
	g_len = frame_build(g_frame, &o, payload, sizeof(payload));
	EXPECT_EQ(run_frame(g_frame, g_len), TC_ACT_OK);
	EXPECT_EQ(inst_stat(1).encap_failed, 1);
out:
	fx_free();
}

/* The MSS option of the SYN in g_out at l4 (untagged frame + `shift`). */
static __u16 mss_in(const __u8 *f, __u32 l4)
{
	return pkt_get16(f + l4 + 20 + 8);	/* after NOP, wscale, SACK-permitted, kind and length */
}

static void mss_clamp(void)
{
	static const struct pkt syn = { .src = CLIENT4, .dst = ROUTE4, .sport = 40002, .dport = 443, .tcp = true };
	struct pkt synack = reverse(&syn);
	struct frame_opts o = opts_of(&syn), r = opts_of(&synack);
	__u8 wrapped[FRAME_CAP];

	if (!fx_setup() || !EXPECT(set_chain(CS_MODE_ENCAP, 0) && set_encap(1, "10.30.0.2", "10.30.0.1", 1450),
				   "encap chain"))
		goto out;
	/* the client's SYN: clamped to 1450 - 40, then wrapped */
	g_len = frame_tcp_syn(g_frame, &o, 0x02, 1460);
	EXPECT(frame_l4_csum_ok(g_frame, g_len), "the test's SYN has a bad checksum");
	EXPECT_EQ(run_frame(g_frame, g_len), TC_ACT_REDIRECT);
	EXPECT_EQ(g_out_len, g_len + CS_ENCAP_OVERHEAD4);
	EXPECT_EQ(mss_in(g_out, 14 + CS_ENCAP_OVERHEAD4 + 20), 1410);
	memcpy(wrapped, g_out + CS_ENCAP_OVERHEAD4, g_len);	/* the inner frame */
	EXPECT(frame_l4_csum_ok(wrapped, g_len), "the clamped SYN's checksum is wrong");
	EXPECT_EQ(inst_stat(1).clamped, 1);
	/* the server's SYN-ACK, not steered back (the chain is not symmetric),
	 * is clamped all the same: it says what the client may send */
	g_len = frame_tcp_syn(g_frame, &r, 0x12, 1460);
	EXPECT_EQ(run_frame(g_frame, g_len), TC_ACT_OK);
	EXPECT_EQ(g_out_len, g_len);
	EXPECT_EQ(mss_in(g_out, 14 + 20), 1410);
	EXPECT(frame_l4_csum_ok(g_out, g_out_len), "the clamped SYN-ACK's checksum is wrong");
	EXPECT_EQ(inst_stat(1).clamped, 2);
	/* an MSS already small enough is left alone */
	g_len = frame_tcp_syn(g_frame, &o, 0x02, 1200);
	EXPECT_EQ(run_frame(g_frame, g_len), TC_ACT_REDIRECT);
	EXPECT_EQ(mss_in(g_out, 14 + CS_ENCAP_OVERHEAD4 + 20), 1200);
	EXPECT_EQ(inst_stat(1).clamped, 2);
	/* IPv6 inner: 1450 - 60 */
	o.ipv6 = true;
	o.src = CLIENT6;
	o.dst = ROUTE6;
	g_len = frame_tcp_syn(g_frame, &o, 0x02, 1440);
	EXPECT_EQ(run_frame(g_frame, g_len), TC_ACT_REDIRECT);
	EXPECT_EQ(mss_in(g_out, 14 + CS_ENCAP_OVERHEAD4 + 40), 1390);
	memcpy(wrapped, g_out + CS_ENCAP_OVERHEAD4, g_len);
	EXPECT(frame_l4_csum_ok(wrapped, g_len), "the clamped IPv6 SYN's checksum is wrong");
	/* route mode: nothing to clamp for */
	set_chain(CS_MODE_ROUTE, 0);
	o = opts_of(&syn);
	o.sport = 40003;
	g_len = frame_tcp_syn(g_frame, &o, 0x02, 1460);
	EXPECT_EQ(run_frame(g_frame, g_len), TC_ACT_REDIRECT);
	EXPECT(g_out_len == g_len && !memcmp(g_out, g_frame, g_len), "route mode changed a SYN");
out:
	fx_free();
}

/* A symmetric chain steers the return direction too, in either mode. */
static void symmetric(void)
{
	struct pkt r = reverse(&P1);

	if (!fx_setup() || !EXPECT(set_chain(CS_MODE_ROUTE, CS_CHAIN_SYMMETRIC), "symmetric chain"))
		goto out;
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	EXPECT_EQ(run(&r), TC_ACT_REDIRECT);
	EXPECT(g_out_len == g_len && !memcmp(g_out, g_frame, g_len), "route mode changed the packet");
	expect_flow(&P1, 1, 1, 2);
	EXPECT_EQ(inst_stat(1).packets, 2);
	set_chain(CS_MODE_ENCAP, CS_CHAIN_SYMMETRIC);
	set_encap(1, "10.30.0.2", "10.30.0.1", 1450);
	EXPECT_EQ(run(&r), TC_ACT_REDIRECT);
	expect_vxlan(&r, g_frame, g_len, "10.30.0.1", "10.30.0.2");
	/* the default: counted, not steered */
	set_chain(CS_MODE_ENCAP, 0);
	EXPECT_EQ(run(&r), TC_ACT_OK);
	EXPECT(g_out_len == g_len, "an asymmetric return packet was wrapped");
	EXPECT_EQ(inst_stat(1).packets, 4);
out:
	fx_free();
}

/* ---- nsh mode: the chain header toward the first stage ---- */



/*
 * g_out is the IP packet of (in, in_len) behind outer IPv4 from `local` to
 * `addr`, UDP to 4790, VXLAN-GPE and NSH, as docs/chains.md lays them out:
 * the 40 octets of UDP, VXLAN-GPE and NSH against arrays written by hand,
 * with the code of p's flow, SI si (the TTL 63 less the hops before it) and
 * the flags C3 must carry.
 */
static void expect_nsh_si(const struct pkt *p, const __u8 *in, __u32 in_len, const char *local, const char *addr,
			  __u32 c3, __u8 si)
{
	const __u8 *ip = g_out + 14, *udp = ip + 20;
	bool inner_v6 = pkt_get16(in + 12) == 0x86dd;
	__u8 ttl = (__u8)(63 - (255 - si));
	__u8 want[24] = {
		0, 0, 0x12, 0xb6, 0, 0, 0, 0,				/* UDP: port, 4790, length, checksum 0 */
		0x0c, 0, 0, 0x04, VNI >> 16, (VNI >> 8) & 0xff, VNI & 0xff, 0,	/* GPE: I P, NSH, the VNI */
		(__u8)(ttl >> 2), (__u8)(ttl << 6 | 6), 0x01, inner_v6 ? 0x02 : 0x01,	/* NSH: TTL, 6 words, MD type 1 */
		VNI >> 16, (VNI >> 8) & 0xff, VNI & 0xff, si,		/* SPI, SI */
	};
	struct cs_addr a, l;
	struct cs_flow fl;
	__u8 ctx[16] = { 0 };

	if (!EXPECT_EQ(g_out_len, in_len + CS_NSH_OVERHEAD4) || !EXPECT(flow_of(p, &fl), "no flow"))
		return;
	cs_addr_parse(addr, &a);
	cs_addr_parse(local, &l);
	EXPECT(!memcmp(g_out, in, 12), "outer Ethernet addresses changed before the redirect");
	EXPECT_EQ(pkt_get16(g_out + 12), 0x0800);
	EXPECT_EQ(ip[0], 0x45);
	EXPECT_EQ(pkt_get16(ip + 2), g_out_len - 14);
	EXPECT_EQ(ip[8], 64);
	EXPECT_EQ(ip[9], IPPROTO_UDP);
	EXPECT(frame_ip4_csum_ok(ip), "outer IPv4 checksum");
	EXPECT(!memcmp(ip + 12, &l.b[12], 4) && !memcmp(ip + 16, &a.b[12], 4), "outer IPv4 addresses");
	want[0] = (__u8)(0xc0 | ((fl.code >> 8) & 0x3f));
	want[1] = (__u8)fl.code;
	want[4] = (__u8)((g_out_len - 34) >> 8);
	want[5] = (__u8)(g_out_len - 34);
	EXPECT(!memcmp(udp, want, sizeof(want)), "UDP, VXLAN-GPE, NSH base and path: %s",
	       pkt_hex(udp, sizeof(want)));
	pkt_put32(ctx, fl.code);	/* C1: the whole code */
	pkt_put32(ctx + 4, VNI);	/* C2: the chain */
	pkt_put32(ctx + 8, c3);	/* C3: flags; C4 0 */
	EXPECT(!memcmp(udp + 24, ctx, sizeof(ctx)), "context words: %s", pkt_hex(udp + 24, sizeof(ctx)));
	EXPECT(!memcmp(udp + 40, in + 14, in_len - 14), "the IP packet is not carried as it was");
}

/* The same toward a chain of one stage: its path is SI 255 going out, SI
 * 254 coming back. */
static void expect_nsh(const struct pkt *p, const __u8 *in, __u32 in_len, const char *local, const char *addr,
		       __u32 c3)
{
	expect_nsh_si(p, in, in_len, local, addr, c3, c3 & CS_NSH_F_RETURN ? 254 : 255);
}

/* A chain in nsh mode: its first packet goes to stage 0's instance behind
 * the chain header, IPv4 or IPv6 inside; the Ethernet header is not
 * carried. */
static void nsh_wrap(void)
{
	struct pkt p6 = { .src = CLIENT6, .dst = ROUTE6, .sport = 40000, .dport = 443, .tcp = true };

	if (!fx_setup() || !EXPECT(set_chain(CS_MODE_NSH, 0) && set_encap(1, "10.30.0.2", "10.30.0.1", 1440),
				   "nsh chain"))
		goto out;
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	expect_nsh(&P1, g_frame, g_len, "10.30.0.1", "10.30.0.2", 0);
	expect_flow(&P1, 1, 1, 1);
	EXPECT_EQ(inst_stat(1).encap_failed, 0);
	EXPECT_EQ(run(&p6), TC_ACT_REDIRECT);
	expect_nsh(&p6, g_frame, g_len, "10.30.0.1", "10.30.0.2", 0);
	/* too big for the path once wrapped: on_failure, left as it was */
	set_encap(1, "10.30.0.2", "10.30.0.1", 80);
	EXPECT_EQ(run(&P1), TC_ACT_OK);
	EXPECT(g_out_len == g_len && !memcmp(g_out, g_frame, g_len), "a packet too big was changed");
	EXPECT_EQ(inst_stat(1).encap_failed, 1);
out:
	fx_free();
}

/* A symmetric nsh chain: a return packet says so in C3. */
static void nsh_return(void)
{
	struct pkt r = reverse(&P1);

	if (!fx_setup() || !EXPECT(set_chain(CS_MODE_NSH, CS_CHAIN_SYMMETRIC) &&
					   set_encap(1, "10.30.0.2", "10.30.0.1", 1440), "nsh chain"))
		goto out;
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	expect_nsh(&P1, g_frame, g_len, "10.30.0.1", "10.30.0.2", CS_NSH_F_SYMMETRIC);
	EXPECT_EQ(run(&r), TC_ACT_REDIRECT);
	expect_nsh(&r, g_frame, g_len, "10.30.0.1", "10.30.0.2", CS_NSH_F_RETURN | CS_NSH_F_SYMMETRIC);
out:
	fx_free();
}

/* Chain 1 as a symmetric chain of two stages: instances 3 and 4 are the
 * second's, the primary and secondary of every bucket of its table. */
static bool set_two_stages(void)
{
	struct cs_bucket b = { .primary = 3, .secondary = 4 };
	__u32 id = 1, slot = CS_CHAIN_STAGES_MAX + 1, i;
	struct cs_chain ch;
	bool ok = true;
	int table;

	if (bpf_map_lookup_elem(F.chains, &id, &ch))
		return false;
	ch.mode = CS_MODE_NSH;
	ch.flags = CS_CHAIN_SYMMETRIC;
	ch.n_stages = 2;
	ch.last_buckets = 256;
	for (id = 3; ok && id <= 4; id++) {
		struct cs_instance in = { .chain_id = 1, .state = CS_INST_UP, .ifindex = (__u32)g_cs0 };

		ok = bpf_map_update_elem(F.instances, &id, &in, BPF_ANY) == 0 &&
		     set_encap(id, id == 3 ? "10.32.0.2" : "10.32.0.3", "10.32.0.1", 1440);
	}
	table = bpf_map_create(BPF_MAP_TYPE_ARRAY, "cs_table", sizeof(__u32), sizeof(struct cs_bucket),
			       CS_BUCKETS_MAX, NULL);
	for (i = 0; ok && table >= 0 && i < 256; i++)
		ok = bpf_map_update_elem(table, &i, &b, BPF_ANY) == 0;
	ok = ok && table >= 0 &&
	     bpf_map_update_elem(bpf_map__fd(F.skel->maps.cs_stage_map), &slot, &table, BPF_ANY) == 0;
	if (table >= 0)
		close(table);
	id = 1;
	return ok && bpf_map_update_elem(F.chains, &id, &ch, BPF_ANY) == 0;
}

/* A symmetric chain of two stages: what the client sends goes to stage 0
 * (SI 255); the answers come back through the stages, last first: to the
 * second stage's instance for the code (SI 253, the path's first hop back),
 * the primary, or the secondary when it is down or warming (and the
 * secondary up), and on_failure when neither may take it. */
static void nsh_back_through_stages(void)
{
	struct pkt r = reverse(&P1);

	if (!fx_setup() || !EXPECT(set_encap(1, "10.30.0.2", "10.30.0.1", 1440) && set_two_stages(), "two stages"))
		goto out;
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	expect_nsh_si(&P1, g_frame, g_len, "10.30.0.1", "10.30.0.2", CS_NSH_F_SYMMETRIC, 255);
	EXPECT_EQ(run(&r), TC_ACT_REDIRECT);
	expect_nsh_si(&r, g_frame, g_len, "10.32.0.1", "10.32.0.2", CS_NSH_F_RETURN | CS_NSH_F_SYMMETRIC, 253);
	EXPECT_EQ(inst_stat(3).packets, 1);	/* counted where it went */
	EXPECT(set_state(3, CS_INST_DOWN), "instance 3 down");
	EXPECT_EQ(run(&r), TC_ACT_REDIRECT);
	expect_nsh_si(&r, g_frame, g_len, "10.32.0.1", "10.32.0.3", CS_NSH_F_RETURN | CS_NSH_F_SYMMETRIC, 253);
	EXPECT(set_state(3, CS_INST_WARMING), "instance 3 back, warming");
	EXPECT_EQ(run(&r), TC_ACT_REDIRECT);	/* the secondary is up: it keeps the stream */
	expect_nsh_si(&r, g_frame, g_len, "10.32.0.1", "10.32.0.3", CS_NSH_F_RETURN | CS_NSH_F_SYMMETRIC, 253);
	EXPECT(set_state(4, CS_INST_DOWN), "instance 4 down");
	EXPECT_EQ(run(&r), TC_ACT_REDIRECT);	/* only the warming one is left */
	expect_nsh_si(&r, g_frame, g_len, "10.32.0.1", "10.32.0.2", CS_NSH_F_RETURN | CS_NSH_F_SYMMETRIC, 253);
	EXPECT(set_state(3, CS_INST_DOWN), "instance 3 down");
	EXPECT_EQ(run(&r), TC_ACT_OK);	/* on_failure: bypass */
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);	/* going out, stage 0 still takes it */
out:
	fx_free();
}

/* ---- flows live by their TCP state, proven or new ---- */

static const struct pkt T1 = { .src = CLIENT4, .dst = ROUTE4, .sport = 40100, .dport = 443, .tcp = true };

/* p's flow: state, table (proven or not), the flags that say how it began
 * and which FINs were seen. */
static bool expect_life(const struct pkt *p, __u8 state, bool in_flows, __u8 flags)
{
	struct cs_flow fl;

	if (!EXPECT(flow_of(p, &fl), "no flow for %s:%u", p->src, p->sport))
		return false;
	EXPECT(fl.state == state, "state %u, want %u", fl.state, state);
	EXPECT(proven(p) == in_flows, "%s, want %s", proven(p) ? "proven" : "new", in_flows ? "proven" : "new");
	EXPECT(fl.flags == flags, "flags %#x, want %#x", fl.flags, flags);
	return true;
}

#define BEGAN (CS_LIFE_FIRST_LO | CS_LIFE_BEGAN_SYN)	/* the client is the key's lo side */

/* steer sees the client's side only (the usual steer.interfaces): SYN, then
 * its ACK without SYN makes the flow established, and proves it; the
 * client's FIN makes it fin; a RST closes it; a SYN after that is a new
 * connection on the same 5-tuple, which keeps its instance. */
static void tcp_one_direction(void)
{
	if (!fx_setup())
		goto out;
	EXPECT_EQ(run_tcp(&T1, TCP_SYN), TC_ACT_REDIRECT);
	expect_life(&T1, CS_ST_SYN_SENT, false, BEGAN);
	EXPECT_EQ(run_tcp(&T1, TCP_SYN), TC_ACT_REDIRECT);	/* retransmitted: proves nothing */
	expect_life(&T1, CS_ST_SYN_SENT, false, BEGAN);
	EXPECT_EQ(run_tcp(&T1, TCP_ACK), TC_ACT_REDIRECT);	/* the handshake's last ACK */
	expect_life(&T1, CS_ST_ESTABLISHED, true, BEGAN);
	EXPECT_EQ(run_tcp(&T1, TCP_ACK), TC_ACT_REDIRECT);
	expect_life(&T1, CS_ST_ESTABLISHED, true, BEGAN);
	EXPECT_EQ(run_tcp(&T1, TCP_FIN | TCP_ACK), TC_ACT_REDIRECT);
	expect_life(&T1, CS_ST_CLOSING, true, BEGAN | CS_LIFE_FIN_LO);
	EXPECT_EQ(run_tcp(&T1, TCP_ACK), TC_ACT_REDIRECT);	/* acks the server's FIN, unseen */
	expect_life(&T1, CS_ST_CLOSING, true, BEGAN | CS_LIFE_FIN_LO);
	EXPECT_EQ(run_tcp(&T1, TCP_SYN), TC_ACT_REDIRECT);	/* the port used again */
	expect_life(&T1, CS_ST_SYN_SENT, true, BEGAN);
	EXPECT_EQ(run_tcp(&T1, TCP_ACK), TC_ACT_REDIRECT);
	EXPECT_EQ(run_tcp(&T1, TCP_RST | TCP_ACK), TC_ACT_REDIRECT);
	expect_life(&T1, CS_ST_CLOSED, true, BEGAN);
	expect_flow(&T1, 1, 1, 9);
	EXPECT_EQ(inst_stat(1).flows, 1);	/* pinned once, for all of it */
	EXPECT_EQ(flows_count(), 1);
	EXPECT_EQ(steer_counter(CS_S_FLOWS_NEW), 1);
	EXPECT_EQ(steer_counter(CS_S_FLOWS_PROMOTED), 1);
	EXPECT_EQ(steer_counter(CS_S_FLOW_TABLE_FULL), 0);
out:
	fx_free();
}

/* Both directions seen (a symmetric chain, or steer on both sides): the
 * answer proves the flow; FINs both ways close it. */
static void tcp_both_directions(void)
{
	struct pkt r = reverse(&T1);

	if (!fx_setup() || !EXPECT(set_chain(CS_MODE_ROUTE, CS_CHAIN_SYMMETRIC), "symmetric chain"))
		goto out;
	EXPECT_EQ(run_tcp(&T1, TCP_SYN), TC_ACT_REDIRECT);
	expect_life(&T1, CS_ST_SYN_SENT, false, BEGAN);
	EXPECT_EQ(run_tcp(&r, TCP_SYN | TCP_ACK), TC_ACT_REDIRECT);
	expect_life(&T1, CS_ST_SYN_RECV, true, BEGAN);
	EXPECT_EQ(run_tcp(&T1, TCP_ACK), TC_ACT_REDIRECT);
	expect_life(&T1, CS_ST_ESTABLISHED, true, BEGAN);
	EXPECT_EQ(run_tcp(&r, TCP_FIN | TCP_ACK), TC_ACT_REDIRECT);	/* the server closes first */
	expect_life(&T1, CS_ST_CLOSING, true, BEGAN | CS_LIFE_FIN_HI);
	EXPECT_EQ(run_tcp(&r, TCP_FIN | TCP_ACK), TC_ACT_REDIRECT);	/* retransmitted */
	expect_life(&T1, CS_ST_CLOSING, true, BEGAN | CS_LIFE_FIN_HI);
	EXPECT_EQ(run_tcp(&T1, TCP_FIN | TCP_ACK), TC_ACT_REDIRECT);
	expect_life(&T1, CS_ST_CLOSED, true, BEGAN | CS_LIFE_FIN_HI | CS_LIFE_FIN_LO);
	EXPECT_EQ(steer_counter(CS_S_FLOWS_PROMOTED), 1);
	/* a RST from the server closes a connection at once */
	fx_free();
	if (!fx_setup())
		goto out;
	run_tcp(&T1, TCP_SYN);
	run_tcp(&T1, TCP_ACK);
	EXPECT_EQ(run_tcp(&r, TCP_RST), TC_ACT_OK);	/* counted, not steered back: not symmetric */
	expect_life(&T1, CS_ST_CLOSED, true, BEGAN);
out:
	fx_free();
}

/* A connection steer first sees mid-way (it began before its route, or its
 * flow was lost): picked up by its flags, proven by its second packet. */
static void tcp_mid_stream(void)
{
	static const struct {
		__u8 flags, state, life;
	} first[] = {
		{ TCP_ACK, CS_ST_ESTABLISHED, 0 },
		{ TCP_FIN | TCP_ACK, CS_ST_CLOSING, CS_LIFE_FIN_LO },
		{ TCP_RST, CS_ST_CLOSED, 0 },
		{ TCP_SYN | TCP_ACK, CS_ST_SYN_RECV, 0 },
	};
	struct pkt p = T1;
	size_t i;

	if (!fx_setup())
		goto out;
	for (i = 0; i < sizeof(first) / sizeof(first[0]); i++) {
		p.sport = (__u16)(41000 + i);
		EXPECT_EQ(run_tcp(&p, first[i].flags), TC_ACT_REDIRECT);
		expect_life(&p, first[i].state, false, CS_LIFE_FIRST_LO | first[i].life);
	}
	p.sport = 41000;
	EXPECT_EQ(run_tcp(&p, TCP_ACK), TC_ACT_REDIRECT);
	expect_life(&p, CS_ST_ESTABLISHED, true, CS_LIFE_FIRST_LO);
	EXPECT_EQ(steer_counter(CS_S_FLOWS_NEW), 4);
	EXPECT_EQ(steer_counter(CS_S_FLOWS_PROMOTED), 1);
out:
	fx_free();
}

/* UDP (any protocol without a handshake) is proven by its second packet,
 * either way; it has no TCP state (its lifetime is steer.flow_idle). */
static void udp_second_packet(void)
{
	struct pkt r = reverse(&P2);

	if (!fx_setup())
		goto out;
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	expect_life(&P1, CS_ST_ACTIVE, false, CS_LIFE_FIRST_LO);
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	expect_life(&P1, CS_ST_ACTIVE, true, CS_LIFE_FIRST_LO);
	EXPECT_EQ(run(&r), TC_ACT_OK);	/* begun by the answer: its lo side is the client */
	expect_life(&P2, CS_ST_ACTIVE, false, 0);
	EXPECT_EQ(run(&P2), TC_ACT_REDIRECT);
	expect_life(&P2, CS_ST_ACTIVE, true, 0);
	EXPECT_EQ(steer_counter(CS_S_FLOWS_PROMOTED), 2);
out:
	fx_free();
}

/* A flood of SYNs (and of half-open connections: SYNs sent again) to a
 * learned address, from many sources, churns cs_flows_new alone: the
 * established connection in cs_flows stays, pinned where it was. */
static void syn_flood(void)
{
	struct pkt p = T1, conn = T1;
	__u32 i;

	if (!fx_setup_sized(0, 64))
		goto out;
	conn.sport = 40999;
	run_tcp(&conn, TCP_SYN);
	run_tcp(&conn, TCP_ACK);
	set_state(1, CS_INST_DOWN);	/* it fails over to 2 and stays there */
	EXPECT_EQ(run_tcp(&conn, TCP_ACK), TC_ACT_REDIRECT);
	set_state(1, CS_INST_UP);
	expect_flow(&conn, 2, 1, 3);
	for (i = 0; i < 1000; i++) {
		char src[32];

		snprintf(src, sizeof(src), "10.9.%u.%u", i / 250, i % 250 + 1);
		p.src = src;
		p.sport = (__u16)(1024 + i);
		EXPECT_EQ(run_tcp(&p, TCP_SYN), TC_ACT_REDIRECT);
		if (i % 2)
			EXPECT_EQ(run_tcp(&p, TCP_SYN), TC_ACT_REDIRECT);	/* half-open: sent again */
	}
	EXPECT_EQ(bpffx_map_len(F.flows), 1);
	EXPECT(bpffx_map_len(F.flows_new) <= 64, "%d flows in cs_flows_new", bpffx_map_len(F.flows_new));
	EXPECT_EQ(steer_counter(CS_S_FLOWS_NEW), 1001);
	EXPECT_EQ(steer_counter(CS_S_FLOWS_PROMOTED), 1);
	expect_life(&conn, CS_ST_ESTABLISHED, true, BEGAN);
	EXPECT_EQ(run_tcp(&conn, TCP_ACK), TC_ACT_REDIRECT);
	expect_flow(&conn, 2, 1, 4);	/* still on the instance that holds its state */
out:
	fx_free();
}

/* cs_flows full: a proven flow stays in cs_flows_new, pinned and steered,
 * and flow_table_full counts it once; it moves when there is room again. */
static void flows_table_full(void)
{
	struct pkt p = P1;
	struct cs_flow_key k;
	__u16 port;

	if (!fx_setup_sized(2, 0))
		goto out;
	for (port = 40000; port < 40003; port++) {
		p.sport = port;
		EXPECT_EQ(run(&p), TC_ACT_REDIRECT);
		EXPECT_EQ(run(&p), TC_ACT_REDIRECT);
	}
	EXPECT_EQ(bpffx_map_len(F.flows), 2);
	EXPECT(!proven(&p), "a third flow in a table of two");
	EXPECT_EQ(steer_counter(CS_S_FLOW_TABLE_FULL), 1);
	EXPECT_EQ(run(&p), TC_ACT_REDIRECT);	/* still steered, counted once */
	expect_flow(&p, 1, 1, 3);
	EXPECT_EQ(steer_counter(CS_S_FLOW_TABLE_FULL), 1);
	EXPECT_EQ(steer_counter(CS_S_FLOWS_PROMOTED), 2);
	/* a proven flow goes (the daemon's sweep): the next packet moves it */
	p.sport = 40000;
	key_of(&p, &k);
	EXPECT(!bpf_map_delete_elem(F.flows, &k), "delete: %s", strerror(errno));
	p.sport = 40002;
	EXPECT_EQ(run(&p), TC_ACT_REDIRECT);
	EXPECT(proven(&p), "not moved once there was room");
	expect_flow(&p, 1, 1, 4);
	EXPECT_EQ(steer_counter(CS_S_FLOWS_PROMOTED), 3);
	EXPECT_EQ(steer_counter(CS_S_FLOW_TABLE_FULL), 1);
out:
	fx_free();
}

/* A route that gets another ACL id while a flow lives (it waited for one,
 * or was made anew): the flow follows the id and keeps its pin and state. */
static void acl_change_keeps_pin(void)
{
	if (!fx_setup())
		goto out;
	run_tcp(&T1, TCP_SYN);
	run_tcp(&T1, TCP_ACK);
	set_state(1, CS_INST_DOWN);
	EXPECT_EQ(run_tcp(&T1, TCP_ACK), TC_ACT_REDIRECT);
	set_state(1, CS_INST_UP);
	expect_flow(&T1, 2, 1, 3);
	add_route(ROUTE4, 1, 9);
	if (g_xdp)
		usleep(700 * 1000);	/* XDP looks the route up once a tick: 64 jiffies, 640 ms at HZ=100 */
	EXPECT_EQ(run_tcp(&T1, TCP_ACK), TC_ACT_REDIRECT);
	if (expect_flow(&T1, 2, 1, 4)) {
		struct cs_flow fl;

		flow_of(&T1, &fl);
		EXPECT_EQ(fl.acl_id, 9);
		EXPECT_EQ(fl.state, CS_ST_ESTABLISHED);
	}
	EXPECT_EQ(acl_stat(9).packets, 1);
	EXPECT_EQ(inst_stat(2).flows, 1);
out:
	fx_free();
}

/* ---- headers: where they lie ---- */

/* The TCP SYN of T1 with 40 octets of IPv4 options: the longest header. */
static __u32 syn_with_options(__u8 *frame)
{
	struct frame_opts o = opts_of(&T1);
	__u32 n = frame_tcp(frame, &o, TCP_SYN, 0);
	__u8 *ip = frame + 14;

	memmove(ip + 60, ip + 20, n - 34);
	memset(ip + 20, 1, 39);	/* NOPs */
	ip[59] = 0;		/* EOL */
	ip[0] = 0x4f;
	ip[3] += 40;
	return n + 40;
}

/* In the linear part: the longest IPv4 header is read through to the
 * ports; a header cut short in the packet itself pulls nothing (there is
 * nothing to pull) and is steered by the ports it has. */
static void headers_linear(void)
{
	struct cs_flow fl;

	if (!fx_setup())
		goto out;
	g_len = syn_with_options(g_frame);
	EXPECT_EQ(run_frame(g_frame, g_len), TC_ACT_REDIRECT);
	expect_life(&T1, CS_ST_SYN_SENT, false, BEGAN);
	EXPECT_EQ(steer_counter(CS_S_HEADERS_PULLED), 0);
	/* a TCP header of 4 octets: its ports, no flags */
	{
		struct frame_opts o = opts_of(&T1);
		struct pkt q = T1;

		q.sport = 40200;
		o.sport = q.sport;
		g_len = frame_tcp(g_frame, &o, TCP_ACK, 0);
		EXPECT_EQ(run_frame(g_frame, 14 + 20 + 4), TC_ACT_REDIRECT);
		if (EXPECT(flow_of(&q, &fl), "the ports read were not used"))
			EXPECT_EQ(fl.state, CS_ST_ACTIVE);	/* no TCP state without its flags */
	}
	EXPECT_EQ(steer_counter(CS_S_HEADERS_PULLED), 0);
out:
	fx_free();
}

/* Past the linear part (BPF_PROG_TEST_RUN cannot build such an skb; a tap
 * with IFF_NAPI_FRAGS does): IP and TCP headers in the fragments are pulled
 * in, and the packet is steered by its own ports, not around the chain. */
static void headers_in_fragments(void)
{
	static __u8 frame[256];
	struct cs_flow fl;
	char why[128];
	__u32 n;

	if (!fx_setup())
		goto out;
	n = syn_with_options(frame);
	if (fragskb_ingress(F.prog, frame, n, 14, why, sizeof(why))) {
		T_SKIP("%s", why);
		goto out;
	}
	EXPECT_EQ(steer_counter(CS_S_HEADERS_PULLED), 1);
	if (EXPECT(flow_of(&T1, &fl), "no flow under the packet's own ports")) {
		EXPECT_EQ(fl.state, CS_ST_SYN_SENT);
		EXPECT_EQ(fl.instance, 1);
	}
	EXPECT_EQ(flows_count(), 1);
	/* the TCP header alone in the fragments */
	n = frame_tcp(frame, &(struct frame_opts){ .src = CLIENT4, .dst = ROUTE4, .sport = 40300, .dport = 443 },
		      TCP_SYN, 0);
	if (fragskb_ingress(F.prog, frame, n, 14 + 20 + 2, why, sizeof(why))) {
		EXPECT(false, "%s", why);
		goto out;
	}
	EXPECT_EQ(steer_counter(CS_S_HEADERS_PULLED), 2);
	EXPECT(flow_of(&(struct pkt){ .src = CLIENT4, .dst = ROUTE4, .sport = 40300, .dport = 443, .tcp = true },
			&fl) && fl.state == CS_ST_SYN_SENT, "the cut TCP header was not pulled in");
	EXPECT_EQ(flows_count(), 2);
out:
	fx_free();
}

/* ---- what only the fast path does (g_xdp) ---- */

static __u64 xdp_steered(void)
{
	return steer_counter(CS_S_XDP_STEERED);
}

/* An established TCP stream (SYN, then ACK: proven), and a data segment:
 * the first two through TC, the third sent by XDP, counted as TC counts. */
static bool establish(const struct pkt *t)
{
	return EXPECT_EQ(run_tcp(t, TCP_SYN), TC_ACT_REDIRECT) && EXPECT_EQ(run_tcp(t, TCP_ACK), TC_ACT_REDIRECT) &&
	       EXPECT(proven(t), "the stream is not proven");
}

/* The data segments of an established stream go by XDP, which counts
 * them in the flow, the ACL, the rule and the instance as TC would: the
 * path counters say which path took each packet. */
static void xdp_carries_established(void)
{
	struct cs_flow before, after;
	struct cs_acl_stat a;

	if (!fx_setup() || !establish(&T1))
		goto out;
	EXPECT_EQ(steer_counter(CS_S_TC_STEERED), 2);
	EXPECT_EQ(xdp_steered(), 0);
	flow_of(&T1, &before);
	a = acl_stat(ACL);
	EXPECT_EQ(run_tcp(&T1, TCP_ACK), TC_ACT_REDIRECT);
	EXPECT_EQ(run_tcp(&T1, TCP_ACK), TC_ACT_REDIRECT);
	EXPECT_EQ(xdp_steered(), 2);
	EXPECT_EQ(steer_counter(CS_S_TC_STEERED), 2);
	EXPECT(!memcmp(g_out + 12, g_frame + 12, g_len - 12) && g_out_len == g_len, "route mode changed the packet");
	flow_of(&T1, &after);
	EXPECT_EQ(after.packets, before.packets + 2);
	EXPECT_EQ(after.bytes, before.bytes + 2 * g_len);
	EXPECT_EQ(acl_stat(ACL).packets, a.packets + 2);
	EXPECT_EQ(inst_stat(1).packets, 4);
	EXPECT_EQ(inst_stat(1).flows, 1);
	/* a UDP stream: its third packet, once the second proved it */
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	EXPECT_EQ(xdp_steered(), 2);
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	EXPECT_EQ(xdp_steered(), 3);
	expect_flow(&P1, 1, 1, 3);
out:
	fx_free();
}

/* Is ip's bit in cs_route_bits set? With clear, it is cleared after. */
static bool route_bit(const char *ip, bool clear)
{
	int fd = bpf_map__fd(F.skel->maps.cs_route_bits);
	struct cs_addr a;
	__u64 word = 0, mask;
	__u32 i;
	bool set;

	cs_addr_parse(ip, &a);
	i = cs_route_bit(&a);
	mask = 1ULL << (i & 63);
	i >>= 6;
	bpf_map_lookup_elem(fd, &i, &word);
	set = word & mask;
	word &= ~mask;
	if (clear && bpf_map_update_elem(fd, &i, &word, BPF_ANY))
		return false;
	return set;
}

/* A route's bit lost while its flow lives (the daemon's sweep rewrote
 * cs_route_bits as TC proved the flow): the next packet goes by TC, which
 * sets the bit again, and the one after by XDP. */
static void xdp_route_bit_healed(void)
{
	if (!fx_setup() || !establish(&T1))
		goto out;
	EXPECT(route_bit(ROUTE4, true), "the proven flow's route has no bit");
	EXPECT_EQ(run_tcp(&T1, TCP_ACK), TC_ACT_REDIRECT);
	EXPECT_EQ(xdp_steered(), 0);
	EXPECT_EQ(steer_counter(CS_S_TC_STEERED), 3);
	EXPECT(route_bit(ROUTE4, false), "TC did not set the lost bit again");
	EXPECT_EQ(run_tcp(&T1, TCP_ACK), TC_ACT_REDIRECT);
	EXPECT_EQ(xdp_steered(), 1);
out:
	fx_free();
}

/* What moves a stream's state, or its instance, is TC's: FIN, RST, SYN,
 * a pinned instance gone down (failover), an asymmetric chain's answers. */
static void xdp_leaves_flags_to_tc(void)
{
	struct pkt r = reverse(&T1);

	if (!fx_setup() || !establish(&T1))
		goto out;
	EXPECT_EQ(run_tcp(&r, TCP_ACK), TC_ACT_OK);	/* not symmetric: routed as it is */
	EXPECT_EQ(steer_counter(CS_S_XDP_TO_TC), 0);
	EXPECT(set_state(1, CS_INST_DOWN), "instance 1 down");
	EXPECT_EQ(run_tcp(&T1, TCP_ACK), TC_ACT_REDIRECT);	/* TC moves it to 2 */
	expect_flow(&T1, 2, 1, 4);
	EXPECT_EQ(run_tcp(&T1, TCP_ACK), TC_ACT_REDIRECT);	/* and XDP follows */
	EXPECT_EQ(xdp_steered(), 1);
	EXPECT_EQ(run_tcp(&T1, TCP_FIN | TCP_ACK), TC_ACT_REDIRECT);
	expect_life(&T1, CS_ST_CLOSING, true, BEGAN | CS_LIFE_FIN_LO);
	EXPECT_EQ(run_tcp(&T1, TCP_ACK), TC_ACT_REDIRECT);	/* closing: TC's */
	EXPECT_EQ(xdp_steered(), 1);
	EXPECT_EQ(steer_counter(CS_S_XDP_TO_TC), 3);
	EXPECT_EQ(inst_stat(2).packets, 4);
out:
	fx_free();
}

/* Encap and nsh: XDP wraps as TC does, octet for octet. */
static void xdp_wraps(void)
{
	struct pkt p6 = { .src = CLIENT6, .dst = ROUTE6, .sport = 40000, .dport = 443 };

	if (!fx_setup() || !EXPECT(set_chain(CS_MODE_ENCAP, 0) && set_encap(1, "10.30.0.2", "10.30.0.1", 1450),
				   "encap chain"))
		goto out;
	run(&P1);
	run(&P1);
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	EXPECT_EQ(xdp_steered(), 1);
	expect_vxlan(&P1, g_frame, g_len, "10.30.0.1", "10.30.0.2");
	EXPECT_EQ(inst_stat(1).bytes, 3 * g_len);	/* what the client sent, not the wrapping */
	set_encap(1, "2001:db8:30::2", "2001:db8:30::1", 1430);
	run(&p6);
	run(&p6);
	EXPECT_EQ(run(&p6), TC_ACT_REDIRECT);
	EXPECT_EQ(xdp_steered(), 2);
	expect_vxlan(&p6, g_frame, g_len, "2001:db8:30::1", "2001:db8:30::2");
	set_chain(CS_MODE_NSH, CS_CHAIN_SYMMETRIC);
	set_encap(1, "10.30.0.2", "10.30.0.1", 1440);
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	EXPECT_EQ(xdp_steered(), 3);
	expect_nsh(&P1, g_frame, g_len, "10.30.0.1", "10.30.0.2", CS_NSH_F_SYMMETRIC);
	EXPECT_EQ(run(&(struct pkt){ .src = ROUTE4, .dst = CLIENT4, .sport = 443, .dport = 40000 }),
		  TC_ACT_REDIRECT);
	EXPECT_EQ(xdp_steered(), 4);
	expect_nsh(&(struct pkt){ .src = ROUTE4, .dst = CLIENT4, .sport = 443, .dport = 40000 }, g_frame, g_len,
		   "10.30.0.1", "10.30.0.2", CS_NSH_F_RETURN | CS_NSH_F_SYMMETRIC);
out:
	fx_free();
}

/* What XDP cannot send goes to TC untouched: too big for the tunnel
 * (TC counts encap_failed and on_failure decides), no neighbour yet, an
 * interface not in cs_xdp_ports. */
static void xdp_leaves_what_it_cannot_send(void)
{
	if (!fx_setup() || !EXPECT(set_chain(CS_MODE_ENCAP, 0) && set_encap(1, "10.30.0.2", "10.30.0.1", 80),
				   "encap chain"))
		goto out;
	run(&P1);
	run(&P1);
	EXPECT_EQ(run(&P1), TC_ACT_OK);
	EXPECT_EQ(inst_stat(1).encap_failed, 3);
	EXPECT_EQ(xdp_steered(), 0);
	set_chain(CS_MODE_ROUTE, 0);
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	EXPECT_EQ(xdp_steered(), 1);
	/* too big for the route's MTU once wrapped: 92 octets of IP and 50 of
	 * VXLAN, over a route of 140 (its 36 octets of outer headers alone
	 * would fit); locked, as forwarding takes a route's MTU only then */
	fx_free();
	if (!fx_setup() || !EXPECT(set_chain(CS_MODE_ENCAP, 0) && set_encap(1, "10.30.0.2", "10.30.0.1", 1450),
				   "encap chain") ||
	    !EXPECT(!system("ip route replace 10.30.0.0/24 dev cs0 mtu lock 140"), "route MTU"))
		goto out;
	run(&P1);
	run(&P1);
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);	/* TC wraps it; the kernel would fragment it */
	EXPECT_EQ(g_len - 14 + CS_ENCAP_OVERHEAD4, 142);
	EXPECT_EQ(xdp_steered(), 0);
	EXPECT_EQ(steer_counter(CS_S_XDP_TO_TC), 1);
	system("ip route replace 10.30.0.0/24 dev cs0 proto kernel scope link src 10.30.0.1");
	/* the port taken off the list: the cached answer says so within a
	 * tick; a fresh load starts with none */
	fx_free();
	if (!fx_setup() || !EXPECT(bpf_map_delete_elem(F.xdp_ports, &g_cs0) == 0, "cs_xdp_ports"))
		goto out;
	run(&P1);
	run(&P1);
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	EXPECT_EQ(xdp_steered(), 0);
	EXPECT_EQ(steer_counter(CS_S_XDP_TO_TC), 1);
	/* no neighbour for 10.31.0.2 */
	fx_free();
	if (!fx_setup() || !EXPECT(!system("ip neigh del 10.31.0.2 dev cs0"), "neighbour removed"))
		goto out;
	set_state(1, CS_INST_DOWN);
	run(&P1);
	run(&P1);
	EXPECT_EQ(run(&P1), TC_ACT_REDIRECT);
	expect_flow(&P1, 2, 1, 3);
	EXPECT_EQ(xdp_steered(), 0);
	system("ip neigh replace 10.31.0.2 lladdr 02:aa:0a:1f:00:02 dev cs0 nud permanent");
out:
	fx_free();
}

/* The answers of a symmetric chain of stages go to its last stage's
 * instance for the code, by XDP too, once their stream is proven. */
static void xdp_back_through_stages(void)
{
	struct pkt r = reverse(&P1);

	if (!fx_setup() || !EXPECT(set_encap(1, "10.30.0.2", "10.30.0.1", 1440) && set_two_stages(), "two stages"))
		goto out;
	run(&P1);
	run(&r);
	EXPECT_EQ(xdp_steered(), 0);
	EXPECT_EQ(run(&r), TC_ACT_REDIRECT);
	EXPECT_EQ(xdp_steered(), 1);
	expect_nsh_si(&r, g_frame, g_len, "10.32.0.1", "10.32.0.2", CS_NSH_F_RETURN | CS_NSH_F_SYMMETRIC, 253);
	EXPECT(set_state(3, CS_INST_DOWN), "instance 3 down");
	EXPECT_EQ(run(&r), TC_ACT_REDIRECT);
	EXPECT_EQ(xdp_steered(), 2);
	expect_nsh_si(&r, g_frame, g_len, "10.32.0.1", "10.32.0.3", CS_NSH_F_RETURN | CS_NSH_F_SYMMETRIC, 253);
	EXPECT_EQ(inst_stat(4).packets, 1);
out:
	fx_free();
}

/* Every case, on the path g_xdp says. */
static void run_all(void)
{
	RUN(miss);
	RUN(hit_new_flow);
	RUN(pinned_flow);
	RUN(return_direction);
	RUN(return_first);
	RUN(affinity_code);
	RUN(primary_down_moves);
	RUN(primary_down_new_flow);
	RUN(both_down_bypass);
	RUN(both_down_drop);
	RUN(draining);
	RUN(warming_takes_new_streams);
	RUN(warming_takes_failover);
	RUN(observe_rule);
	RUN(ipv6_hit);
	RUN(inst_packets_once);
	RUN(affinity_flow_apart);
	RUN(affinity_hosts_together);
	RUN(encap_v4);
	RUN(encap_v6);
	RUN(encap_too_big);
	RUN(encap_vlan_refused);
	RUN(mss_clamp);
	RUN(symmetric);
	RUN(nsh_wrap);
	RUN(nsh_return);
	RUN(nsh_back_through_stages);
	RUN(tcp_one_direction);
	RUN(tcp_both_directions);
	RUN(tcp_mid_stream);
	RUN(udp_second_packet);
	RUN(syn_flood);
	RUN(flows_table_full);
	RUN(acl_change_keeps_pin);
	RUN(headers_linear);
	RUN(headers_in_fragments);
}

/* A namespace of the test's own, with cs0 and its neighbours. */
static bool netns_setup(void)
{
	if (unshare(CLONE_NEWNET) || system(NETNS_SETUP " >/dev/null 2>&1"))
		return false;
	g_cs0 = (int)if_nametoindex("cs0");
	return g_cs0 > 0;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(NULL);
	if (!netns_setup()) {
		printf("SKIP: steer: all: no network namespace with a veth of its own (%s; run as root)\n",
		       strerror(errno));
		return 0;
	}
	run_all();
	t_state.suite = "steer-xdp";
	g_xdp = true;
	run_all();
	RUN(xdp_carries_established);
	RUN(xdp_leaves_flags_to_tc);
	RUN(xdp_route_bit_healed);
	RUN(xdp_wraps);
	RUN(xdp_leaves_what_it_cannot_send);
	RUN(xdp_back_through_stages);
	T_EXIT();
}
