// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * instance: the TC program of a chain's instance run for real with
 * BPF_PROG_TEST_RUN. Each case gets a fresh (unpinned) load, a config
 * (ready, route mode, chain 7, map version 4, unless the case says
 * otherwise) and this node's address 10.30.0.2 / 2001:db8:30::2 in
 * cs_local_addrs. After each frame the test reads the verdict, the stream
 * entry, the per-CPU reasons and the ring buffer's events.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

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
#include "instance.skel.h"
#include "testing.h"

T_SUITE("instance");

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_REDIRECT 7

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

#define CLIENT4 "10.1.0.5"
#define SERVER4 "192.0.2.7"
#define CLIENT6 "2001:db8:1::5"
#define SERVER6 "2001:db8::7"
#define LOCAL4 "10.30.0.2"	/* this node */
#define LOCAL6 "2001:db8:30::2"
#define STEERER4 "10.9.0.1"	/* the steering host that wraps */
#define STEERER6 "2001:db8:9::1"
#define CHAIN 7
#define MAPV 4

static const __u64 AFF_KEY[2] = { 0x0123456789abcdefULL, 0xfedcba9876543210ULL };

struct fx {
	struct instance_bpf *skel;
	struct ring_buffer *rb;
	int prog, streams, streams_new, cfg, local, reasons;
};

static struct fx F;

/* the events of the last frame */
#define EV_MAX 16
static struct cs_stream_event g_ev[EV_MAX];
static int g_nev;
static bool g_bad_event;

static int on_event(void *ctx, void *data, size_t size)
{
	if (size != sizeof(struct cs_stream_event))
		g_bad_event = true;
	else if (g_nev < EV_MAX)
		memcpy(&g_ev[g_nev], data, size);
	g_nev++;
	return 0;
}

static bool set_cfg(__u32 mode, __u32 flags, __u64 map_version)
{
	struct cs_inst_cfg c = { .affinity_key = { AFF_KEY[0], AFF_KEY[1] }, .map_version = map_version,
				 .vni = CHAIN, .self_id = 1, .mode = mode, .flags = flags };
	__u32 zero = 0;

	return EXPECT(bpf_map_update_elem(F.cfg, &zero, &c, BPF_ANY) == 0, "config: %s", strerror(errno));
}

static bool add_local(const char *ip)
{
	struct cs_addr a;
	__u32 v = 0;

	cs_addr_parse(ip, &a);
	return EXPECT(bpf_map_update_elem(F.local, &a, &v, BPF_ANY) == 0, "local %s: %s", ip, strerror(errno));
}

static void fx_free(void)
{
	ring_buffer__free(F.rb);
	instance_bpf__destroy(F.skel);
	memset(&F, 0, sizeof(F));
}

/* A fresh load; ready in `mode` with `flags` (CS_ICFG_READY is added);
 * cs_streams and cs_streams_new sized streams_max and new_max (0: as
 * built). */
static bool fx_setup_sized(__u32 mode, __u32 flags, __u32 streams_max, __u32 new_max)
{
	memset(&F, 0, sizeof(F));
	F.skel = instance_bpf__open();
	if (F.skel && streams_max)
		bpf_map__set_max_entries(F.skel->maps.cs_streams, streams_max);
	if (F.skel && new_max)
		bpf_map__set_max_entries(F.skel->maps.cs_streams_new, new_max);
	if (!F.skel || instance_bpf__load(F.skel)) {
		/* as root a refusal is the verifier's: a failure, not a skip */
		if (geteuid())
			T_SKIP("cannot load instance: %s (run as root)", strerror(errno));
		else
			EXPECT(false, "the kernel refused instance: %s", strerror(errno));
		return false;
	}
	F.prog = bpf_program__fd(F.skel->progs.instance);
	F.streams = bpf_map__fd(F.skel->maps.cs_streams);
	F.streams_new = bpf_map__fd(F.skel->maps.cs_streams_new);
	F.cfg = bpf_map__fd(F.skel->maps.cs_inst_cfg);
	F.local = bpf_map__fd(F.skel->maps.cs_local_addrs);
	F.reasons = bpf_map__fd(F.skel->maps.cs_inst_reasons);
	F.rb = ring_buffer__new(bpf_map__fd(F.skel->maps.cs_stream_evts), on_event, NULL, NULL);
	if (!EXPECT(F.rb, "ring buffer: %s", strerror(errno)))
		return false;
	return set_cfg(mode, CS_ICFG_READY | flags, MAPV) && add_local(LOCAL4) && add_local(LOCAL6);
}

static bool fx_setup_mode(__u32 mode, __u32 flags) { return fx_setup_sized(mode, flags, 0, 0); }

static bool fx_setup(void) { return fx_setup_mode(CS_MODE_ROUTE, 0); }

/* ---- frames ---- */

struct pkt {
	const char *src, *dst;
	__u16 sport, dport;
	__u8 proto;		/* IPPROTO_TCP, _UDP or _ICMP */
};

static __u8 g_frame[FRAME_CAP], g_out[FRAME_CAP + 128];
static __u32 g_len, g_out_len;
static bool g_no_consume;	/* leave the events in the ring */

/* Run one frame; its events are in g_ev, what came out in g_out. -1: the
 * kernel refused to run it (errno says why). */
static struct __sk_buff g_skb;	/* the skb as the last run left it */

static int run_frame(const __u8 *frame, __u32 len)
{
	int verdict = 0;

	g_nev = 0;
	if (bpffx_run_skb(F.prog, frame, len, g_out, sizeof(g_out), &g_out_len, &verdict, &g_skb))
		return -1;
	if (!g_no_consume)
		ring_buffer__consume(F.rb);
	return verdict;
}

static struct frame_opts opts_of(const struct pkt *p)
{
	return (struct frame_opts){ .ipv6 = strchr(p->src, ':') != NULL, .sport = p->sport, .dport = p->dport,
				    .src = p->src, .dst = p->dst };
}

/* p as a frame in g_frame: TCP with `tcp_flags` and payload_len octets,
 * UDP with payload_len octets, or an ICMP echo request. */
static __u32 build(__u8 *out, const struct pkt *p, __u8 tcp_flags, __u32 payload_len)
{
	static const __u8 data[1400], echo[16] = { 8, 0, 0, 0, 0, 1, 0, 1 };
	struct frame_opts o = opts_of(p);

	if (p->proto == IPPROTO_TCP)
		return frame_tcp(out, &o, tcp_flags, payload_len);
	if (p->proto == IPPROTO_UDP)
		return frame_build(out, &o, data, payload_len);
	return frame_ip_raw(out, &o, p->proto, echo, sizeof(echo));
}

static int run_tcp(const struct pkt *p, __u8 flags)
{
	g_len = build(g_frame, p, flags, (flags & (TCP_SYN | TCP_RST)) ? 0 : 100);
	return run_frame(g_frame, g_len);
}

static int run(const struct pkt *p)
{
	g_len = build(g_frame, p, TCP_ACK, 64);
	return run_frame(g_frame, g_len);
}

/* p wrapped in VXLAN from the steering host to this node, with `vni` and
 * the code in the source port as steer puts it. */
static void build_vxlan(const struct pkt *p, __u8 tcp_flags, bool outer6, __u32 vni, __u32 code)
{
	static __u8 inner[FRAME_CAP];
	struct frame_opts o = { .ipv6 = outer6, .src = outer6 ? STEERER6 : STEERER4,
				.dst = outer6 ? LOCAL6 : LOCAL4, .sport = CS_ENCAP_SPORT(code) };
	__u32 n = build(inner, p, tcp_flags, 0);

	g_len = frame_vxlan(g_frame, &o, vni, inner, n);
}

static int run_vxlan(const struct pkt *p, __u8 tcp_flags, bool outer6, __u32 vni, __u32 code)
{
	build_vxlan(p, tcp_flags, outer6, vni, code);
	return run_frame(g_frame, g_len);
}

static struct pkt reverse(const struct pkt *p)
{
	return (struct pkt){ .src = p->dst, .dst = p->src, .sport = p->dport, .dport = p->sport, .proto = p->proto };
}

static void key_of(const struct pkt *p, struct cs_flow_key *k)
{
	struct cs_addr s, d;

	cs_addr_parse(p->src, &s);
	cs_addr_parse(p->dst, &d);
	cs_flow_key_make(k, &s, p->sport, &d, p->dport, p->proto);
}

/* The stream of p, proven (cs_streams) or not (cs_streams_new). */
static bool stream_of(const struct pkt *p, struct cs_stream *st)
{
	struct cs_flow_key k;

	key_of(p, &k);
	return bpf_map_lookup_elem(F.streams, &k, st) == 0 || bpf_map_lookup_elem(F.streams_new, &k, st) == 0;
}

/* Is the stream of p in cs_streams, marked proven? */
static bool proven(const struct pkt *p)
{
	struct cs_flow_key k;
	struct cs_stream st;

	key_of(p, &k);
	return bpf_map_lookup_elem(F.streams, &k, &st) == 0 && (st.flags & CS_STREAM_PROVEN);
}

static int streams_count(void)
{
	return bpffx_map_len(F.streams) + bpffx_map_len(F.streams_new);
}

static __u64 reason(__u32 r)
{
	__u64 sum = 0;

	cs_percpu_sum(F.reasons, r, 1, &sum, 1);
	return sum;
}

/* Every reason at once, for "nothing else was counted". */
static void reasons_all(__u64 out[CS_I_MAX])
{
	cs_percpu_sum(F.reasons, 0, CS_I_MAX, out, 1);
}

/* The counters are exactly these (pairs of reason, count; the rest 0). */
#define EXPECT_REASONS(...) expect_reasons(__LINE__, (const __u64[]){ __VA_ARGS__ }, \
					   sizeof((const __u64[]){ __VA_ARGS__ }) / sizeof(__u64) / 2)

static bool expect_reasons(int line, const __u64 *pairs, size_t n)
{
	static const char *const names[] = {
#define CS_NAME(sym, name, help) name,
		CS_INSTANCE_REASONS(CS_NAME)
#undef CS_NAME
	};
	__u64 want[CS_I_MAX] = { 0 }, got[CS_I_MAX];
	bool ok = true;
	size_t i;

	for (i = 0; i < n; i++)
		want[pairs[2 * i]] = pairs[2 * i + 1];
	reasons_all(got);
	for (i = 0; i < CS_I_MAX; i++)
		ok &= EXPECT(got[i] == want[i], "line %d: reason %s is %llu, want %llu", line, names[i],
			     (unsigned long long)got[i], (unsigned long long)want[i]);
	return ok;
}

/* The one event of the last frame is p's stream as the map holds it. */
static bool expect_event_of(const struct pkt *p)
{
	struct cs_flow_key k;
	struct cs_stream st;

	if (!EXPECT_EQ(g_nev, 1) || !EXPECT(!g_bad_event, "an event of the wrong size"))
		return false;
	key_of(p, &k);
	if (!EXPECT(stream_of(p, &st), "no stream"))
		return false;
	return EXPECT(!memcmp(&g_ev[0].key, &k, sizeof(k)), "event key is not the stream's") &&
	       EXPECT(!memcmp(&g_ev[0].st, &st, sizeof(st)), "event is not the stream as stored");
}

/* p's stream: state, seq, packets; false when there is none. */
static bool expect_stream(const struct pkt *p, __u8 state, __u32 seq, __u64 packets)
{
	struct cs_stream st;

	if (!EXPECT(stream_of(p, &st), "no stream for %s:%u -> %s:%u", p->src, p->sport, p->dst, p->dport))
		return false;
	EXPECT_EQ(st.state, state);
	EXPECT_EQ(st.seq, seq);
	EXPECT_EQ(st.packets, packets);
	return true;
}

static const struct pkt T1 = { .src = CLIENT4, .dst = SERVER4, .sport = 40000, .dport = 443, .proto = IPPROTO_TCP };

/* ================= cases ================= */

static void not_ready(void)
{
	__u32 zero = 0;
	struct cs_inst_cfg c = { .map_version = MAPV, .flags = CS_ICFG_STRICT };

	if (!fx_setup())
		goto out;
	/* the array's entry is there but not filled: strict without READY */
	bpf_map_update_elem(F.cfg, &zero, &c, BPF_ANY);
	EXPECT_EQ(run_tcp(&T1, TCP_SYN), TC_ACT_OK);
	EXPECT_EQ(run_tcp(&T1, TCP_ACK), TC_ACT_OK);	/* not dropped: nothing is enforced yet */
	EXPECT_EQ(streams_count(), 0);
	EXPECT_EQ(g_nev, 0);
	EXPECT_REASONS(CS_I_NOT_READY, 2);
out:
	fx_free();
}

static void tcp_life(void)
{
	struct pkt r = reverse(&T1);
	struct cs_flow_key k;
	struct cs_stream st;
	__u64 bytes, first;

	if (!fx_setup())
		goto out;
	/* SYN */
	EXPECT_EQ(run_tcp(&T1, TCP_SYN), TC_ACT_OK);
	if (!expect_stream(&T1, CS_ST_SYN_SENT, 1, 1))
		goto out;
	stream_of(&T1, &st);
	key_of(&T1, &k);
	EXPECT_EQ(st.epoch, MAPV);
	EXPECT(st.code == cs_affinity_code(&k, AFF_KEY), "code %#x, userspace %#x", st.code,
	       cs_affinity_code(&k, AFF_KEY));
	EXPECT_EQ(st.bytes, g_len);
	EXPECT_EQ(st.flags, CS_LIFE_FIRST_LO | CS_LIFE_BEGAN_SYN);
	EXPECT(!proven(&T1), "a SYN proves nothing");
	EXPECT_EQ(st.peer, 0);
	EXPECT(st.first_ns && st.first_ns == st.last_ns, "first_ns %llu last_ns %llu",
	       (unsigned long long)st.first_ns, (unsigned long long)st.last_ns);
	expect_event_of(&T1);
	bytes = g_len;
	first = st.first_ns;
	/* SYN-ACK, the other direction: the same entry, proven by the answer;
	 * its one event is the stream as cs_streams holds it now */
	EXPECT_EQ(run_tcp(&r, TCP_SYN | TCP_ACK), TC_ACT_OK);
	expect_stream(&T1, CS_ST_SYN_RECV, 2, 2);
	expect_event_of(&r);
	EXPECT(proven(&T1), "the answer did not prove it");
	EXPECT_EQ(streams_count(), 1);
	bytes += g_len;
	/* ACK */
	EXPECT_EQ(run_tcp(&T1, TCP_ACK), TC_ACT_OK);
	expect_stream(&T1, CS_ST_ESTABLISHED, 3, 3);
	expect_event_of(&T1);
	bytes += g_len;
	/* data both ways: no change, no event */
	EXPECT_EQ(run_tcp(&T1, TCP_PSH | TCP_ACK), TC_ACT_OK);
	EXPECT_EQ(g_nev, 0);
	bytes += g_len;
	EXPECT_EQ(run_tcp(&r, TCP_ACK), TC_ACT_OK);
	EXPECT_EQ(g_nev, 0);
	bytes += g_len;
	expect_stream(&T1, CS_ST_ESTABLISHED, 3, 5);
	stream_of(&T1, &st);
	EXPECT_EQ(st.bytes, bytes);
	EXPECT(st.last_ns >= st.first_ns && st.first_ns == first, "times");
	/* FIN, then RST */
	EXPECT_EQ(run_tcp(&r, TCP_FIN | TCP_ACK), TC_ACT_OK);
	expect_stream(&T1, CS_ST_CLOSING, 4, 6);
	expect_event_of(&T1);
	EXPECT_EQ(run_tcp(&T1, TCP_RST), TC_ACT_OK);
	expect_stream(&T1, CS_ST_CLOSED, 5, 7);
	expect_event_of(&T1);
	/* a SYN on the closed stream: a new incarnation */
	EXPECT_EQ(run_tcp(&T1, TCP_SYN), TC_ACT_OK);
	expect_stream(&T1, CS_ST_SYN_SENT, 6, 1);
	stream_of(&T1, &st);
	EXPECT_EQ(st.bytes, g_len);
	EXPECT(st.first_ns > first && st.first_ns == st.last_ns, "the new incarnation keeps the old times");
	EXPECT_EQ(st.epoch, MAPV);
	expect_event_of(&T1);
	EXPECT_EQ(streams_count(), 1);
	EXPECT_REASONS(CS_I_TRACKED, 8, CS_I_NEW, 1, CS_I_PROMOTED, 1);
out:
	fx_free();
}

/* Transitions that must not happen. */
static void tcp_no_regress(void)
{
	struct pkt r = reverse(&T1);

	if (!fx_setup())
		goto out;
	run_tcp(&T1, TCP_SYN);
	run_tcp(&T1, TCP_SYN);	/* a retransmitted SYN */
	expect_stream(&T1, CS_ST_SYN_SENT, 1, 2);
	EXPECT_EQ(g_nev, 0);
	run_tcp(&T1, TCP_ACK);
	run_tcp(&r, TCP_SYN | TCP_ACK);	/* a late SYN-ACK does not go back */
	expect_stream(&T1, CS_ST_ESTABLISHED, 2, 4);
	run_tcp(&T1, TCP_RST);
	run_tcp(&T1, TCP_FIN | TCP_ACK);	/* FIN after RST: still closed */
	run_tcp(&T1, TCP_ACK);
	expect_stream(&T1, CS_ST_CLOSED, 3, 7);
	EXPECT_EQ(g_nev, 0);
out:
	fx_free();
}

static void strict_drop(void)
{
	struct pkt p = T1;

	if (!fx_setup_mode(CS_MODE_ROUTE, CS_ICFG_STRICT))
		goto out;
	EXPECT_EQ(run_tcp(&T1, TCP_ACK), TC_ACT_SHOT);
	EXPECT_EQ(g_nev, 0);
	EXPECT_EQ(streams_count(), 0);
	EXPECT_REASONS(CS_I_STRICT_DROP, 1);
	/* a SYN-ACK, FIN or RST without state is not a SYN either */
	EXPECT_EQ(run_tcp(&T1, TCP_SYN | TCP_ACK), TC_ACT_SHOT);
	EXPECT_EQ(run_tcp(&T1, TCP_FIN | TCP_ACK), TC_ACT_SHOT);
	EXPECT_EQ(run_tcp(&T1, TCP_RST), TC_ACT_SHOT);
	EXPECT_EQ(streams_count(), 0);
	/* a SYN begins a stream, whose packets then pass */
	p.sport = 40001;
	EXPECT_EQ(run_tcp(&p, TCP_SYN), TC_ACT_OK);
	EXPECT_EQ(run_tcp(&p, TCP_ACK), TC_ACT_OK);
	expect_stream(&p, CS_ST_ESTABLISHED, 2, 2);
	/* UDP needs no handshake */
	p.proto = IPPROTO_UDP;
	EXPECT_EQ(run(&p), TC_ACT_OK);
	EXPECT_REASONS(CS_I_STRICT_DROP, 4, CS_I_TRACKED, 3, CS_I_NEW, 2, CS_I_PROMOTED, 1);
out:
	fx_free();
}

static void loose_pickup(void)
{
	static const struct {
		__u8 flags;
		__u8 state;
	} cases[] = {
		{ TCP_ACK, CS_ST_ESTABLISHED },
		{ TCP_PSH | TCP_ACK, CS_ST_ESTABLISHED },
		{ TCP_SYN | TCP_ACK, CS_ST_SYN_RECV },
		{ TCP_FIN | TCP_ACK, CS_ST_CLOSING },
		{ TCP_RST | TCP_ACK, CS_ST_CLOSED },
	};
	struct cs_stream st;
	struct pkt p = T1;
	size_t i;

	if (!fx_setup())
		goto out;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p.sport = (__u16)(41000 + i);
		EXPECT_EQ(run_tcp(&p, cases[i].flags), TC_ACT_OK);
		if (!expect_stream(&p, cases[i].state, 1, 1))
			continue;
		stream_of(&p, &st);
		EXPECT_EQ(st.flags & ~CS_LIFE_FIN_LO, CS_STREAM_PICKED_UP | CS_LIFE_FIRST_LO);
		EXPECT_EQ(!!(st.flags & CS_LIFE_FIN_LO), !!(cases[i].flags & TCP_FIN));
		EXPECT(!proven(&p), "a first packet proves nothing");
		EXPECT_EQ(st.epoch, MAPV);
		expect_event_of(&p);
	}
	EXPECT_REASONS(CS_I_TRACKED, 5, CS_I_NEW, 5, CS_I_PICKED_UP, 5);
	/* a picked-up stream goes on like any other, proven by its second
	 * packet */
	p.sport = 41000;
	EXPECT_EQ(run_tcp(&p, TCP_FIN | TCP_ACK), TC_ACT_OK);
	expect_stream(&p, CS_ST_CLOSING, 2, 2);
	stream_of(&p, &st);
	EXPECT_EQ(st.flags, CS_STREAM_PICKED_UP | CS_LIFE_FIRST_LO | CS_LIFE_FIN_LO | CS_STREAM_PROVEN);
	EXPECT(proven(&p), "its second packet did not prove it");
	expect_event_of(&p);
out:
	fx_free();
}

static void udp_icmp(void)
{
	struct pkt u = { .src = CLIENT4, .dst = SERVER4, .sport = 5353, .dport = 53, .proto = IPPROTO_UDP };
	struct pkt i = { .src = CLIENT4, .dst = SERVER4, .proto = IPPROTO_ICMP };
	struct pkt ur = reverse(&u), ir = reverse(&i);
	struct cs_stream st;

	if (!fx_setup())
		goto out;
	EXPECT_EQ(run(&u), TC_ACT_OK);
	expect_stream(&u, CS_ST_ACTIVE, 1, 1);
	expect_event_of(&u);
	/* the second datagram proves it: a new version, for the peer to keep
	 * it where this node does */
	EXPECT_EQ(run(&ur), TC_ACT_OK);
	expect_stream(&u, CS_ST_ACTIVE, 2, 2);
	expect_event_of(&u);
	EXPECT(proven(&u), "the second datagram did not prove it");
	EXPECT_EQ(run(&u), TC_ACT_OK);
	expect_stream(&u, CS_ST_ACTIVE, 2, 3);
	EXPECT_EQ(g_nev, 0);
	EXPECT_EQ(run(&i), TC_ACT_OK);
	expect_stream(&i, CS_ST_ACTIVE, 1, 1);	/* keyed with ports 0 */
	expect_event_of(&i);
	EXPECT_EQ(run(&ir), TC_ACT_OK);
	expect_stream(&i, CS_ST_ACTIVE, 2, 2);
	if (stream_of(&i, &st)) {
		struct cs_flow_key k;

		key_of(&i, &k);
		EXPECT(st.code == cs_affinity_code(&k, AFF_KEY), "ICMP code");
	}
	EXPECT_EQ(streams_count(), 2);
	EXPECT_REASONS(CS_I_TRACKED, 5, CS_I_NEW, 2, CS_I_PROMOTED, 2);
out:
	fx_free();
}

/* Route mode, CS_ICFG_AFFINITY_HOSTS: every stream between two hosts gets
 * the code of the pair, as steer gives it for a chain of affinity: hosts,
 * whatever its ports, protocol and direction; each is still a stream of
 * its own. */
static void route_affinity_hosts(void)
{
	struct pkt u = { .src = CLIENT4, .dst = SERVER4, .sport = 41000, .dport = 5060, .proto = IPPROTO_UDP };
	struct pkt r = { .src = SERVER4, .dst = CLIENT4, .sport = 53, .dport = 45000, .proto = IPPROTO_UDP };
	const struct pkt *each[] = { &T1, &u, &r };
	struct cs_flow_key k;
	struct cs_stream st;
	__u32 want;
	size_t i;

	if (!fx_setup_mode(CS_MODE_ROUTE, CS_ICFG_AFFINITY_HOSTS))
		goto out;
	EXPECT_EQ(run_tcp(&T1, TCP_SYN), TC_ACT_OK);
	EXPECT_EQ(run(&u), TC_ACT_OK);
	EXPECT_EQ(run(&r), TC_ACT_OK);
	key_of(&T1, &k);
	want = cs_affinity_code_by(&k, AFF_KEY, 1);
	EXPECT(want != cs_affinity_code(&k, AFF_KEY), "the pair's code is the 5-tuple's");
	for (i = 0; i < sizeof(each) / sizeof(each[0]); i++)
		if (EXPECT(stream_of(each[i], &st), "no stream %zu", i))
			EXPECT(st.code == want, "stream %zu: code %#x, the pair's %#x", i, st.code, want);
	EXPECT_EQ(streams_count(), 3);
out:
	fx_free();
}

/* A stream as a peer's sync leaves it. */
static bool install_synced(const struct pkt *p)
{
	struct cs_stream st = { .first_ns = 1, .last_ns = 2, .packets = 10, .bytes = 1000, .epoch = 5,
				.code = 0x1234, .seq = 7, .peer = 2, .state = CS_ST_ESTABLISHED,
				.flags = CS_STREAM_SYNCED };
	struct cs_flow_key k;

	key_of(p, &k);
	return EXPECT(bpf_map_update_elem(F.streams, &k, &st, BPF_ANY) == 0, "install: %s", strerror(errno));
}

static void takeover_at(__u64 map_version, __u64 epoch)
{
	struct cs_stream st;

	if (!fx_setup() || !set_cfg(CS_MODE_ROUTE, CS_ICFG_READY, map_version) || !install_synced(&T1))
		goto out;
	EXPECT_EQ(run_tcp(&T1, TCP_PSH | TCP_ACK), TC_ACT_OK);
	if (!expect_stream(&T1, CS_ST_ESTABLISHED, 8, 11))
		goto out;
	stream_of(&T1, &st);
	EXPECT_EQ(st.epoch, epoch);
	EXPECT_EQ(st.flags, 0);
	EXPECT_EQ(st.peer, 0);
	EXPECT_EQ(st.code, 0x1234);	/* the synced code stays */
	EXPECT_EQ(st.first_ns, 1);
	EXPECT_EQ(st.bytes, 1000 + g_len);
	EXPECT(st.last_ns > 2, "last_ns not moved");
	expect_event_of(&T1);
	EXPECT_REASONS(CS_I_TRACKED, 1, CS_I_TAKEN_OVER, 1);
	/* taken once */
	EXPECT_EQ(run_tcp(&T1, TCP_ACK), TC_ACT_OK);
	expect_stream(&T1, CS_ST_ESTABLISHED, 8, 12);
	EXPECT_EQ(g_nev, 0);
	EXPECT_REASONS(CS_I_TRACKED, 2, CS_I_TAKEN_OVER, 1);
	/* a takeover that also changes the state: one version, one event */
	if (!install_synced(&T1))
		goto out;
	EXPECT_EQ(run_tcp(&T1, TCP_FIN | TCP_ACK), TC_ACT_OK);
	expect_stream(&T1, CS_ST_CLOSING, 8, 11);
	expect_event_of(&T1);
out:
	fx_free();
}

static void takeover_old_map(void) { takeover_at(3, 6); }
static void takeover_new_map(void) { takeover_at(10, 10); }

/* Strict mode admits what a peer synced: that is the point of syncing. */
static void takeover_strict(void)
{
	if (!fx_setup_mode(CS_MODE_ROUTE, CS_ICFG_STRICT) || !install_synced(&T1))
		goto out;
	EXPECT_EQ(run_tcp(&T1, TCP_ACK), TC_ACT_OK);
	expect_stream(&T1, CS_ST_ESTABLISHED, 8, 11);
	expect_event_of(&T1);
	EXPECT_REASONS(CS_I_TRACKED, 1, CS_I_TAKEN_OVER, 1);
out:
	fx_free();
}

static void local(void)
{
	struct pkt to = { .src = "10.30.0.3", .dst = LOCAL4, .sport = 4788, .dport = 4788, .proto = IPPROTO_UDP };
	struct pkt from = reverse(&to);
	struct pkt probe = { .src = "10.9.0.1", .dst = LOCAL4, .sport = 50000, .dport = 3128, .proto = IPPROTO_TCP };
	struct pkt to6 = { .src = "2001:db8:30::3", .dst = LOCAL6, .sport = 4788, .dport = 4788,
			   .proto = IPPROTO_UDP };

	if (!fx_setup_mode(CS_MODE_ROUTE, CS_ICFG_STRICT))
		goto out;
	EXPECT_EQ(run(&to), TC_ACT_OK);
	EXPECT_REASONS(CS_I_LOCAL, 1);
	EXPECT_EQ(run(&from), TC_ACT_OK);
	EXPECT_REASONS(CS_I_LOCAL, 2);
	EXPECT_EQ(run_tcp(&probe, TCP_ACK), TC_ACT_OK);	/* strict does not apply */
	EXPECT_EQ(run(&to6), TC_ACT_OK);
	EXPECT_EQ(streams_count(), 0);
	EXPECT_EQ(g_nev, 0);
	EXPECT_REASONS(CS_I_LOCAL, 4);
out:
	fx_free();
}

static void ipv6_route(void)
{
	struct pkt p = { .src = CLIENT6, .dst = SERVER6, .sport = 40000, .dport = 443, .proto = IPPROTO_TCP };
	struct pkt r = reverse(&p);
	struct cs_flow_key k;
	struct cs_stream st;

	if (!fx_setup())
		goto out;
	EXPECT_EQ(run_tcp(&p, TCP_SYN), TC_ACT_OK);
	expect_stream(&p, CS_ST_SYN_SENT, 1, 1);
	expect_event_of(&p);
	EXPECT_EQ(run_tcp(&r, TCP_SYN | TCP_ACK), TC_ACT_OK);
	expect_stream(&p, CS_ST_SYN_RECV, 2, 2);
	EXPECT_EQ(run_tcp(&p, TCP_ACK), TC_ACT_OK);
	expect_stream(&p, CS_ST_ESTABLISHED, 3, 3);
	key_of(&p, &k);
	if (stream_of(&p, &st))
		EXPECT(st.code == cs_affinity_code(&k, AFF_KEY), "v6 code");
	EXPECT_EQ(streams_count(), 1);
	EXPECT_REASONS(CS_I_TRACKED, 3, CS_I_NEW, 1, CS_I_PROMOTED, 1);
out:
	fx_free();
}

/* VLAN tags before IP, and IPv4 options between IP and TCP. */
static void vlan_and_options(void)
{
	struct frame_opts o = opts_of(&T1);
	struct pkt p = T1;
	__u8 *ip;
	__u32 n;

	if (!fx_setup())
		goto out;
	o.vlans = 2;
	g_len = frame_tcp(g_frame, &o, TCP_SYN, 0);
	EXPECT_EQ(run_frame(g_frame, g_len), TC_ACT_OK);
	expect_stream(&T1, CS_ST_SYN_SENT, 1, 1);
	/* 8 octets of options (NOPs and an EOL): ports further on */
	p.sport = 40001;
	o = opts_of(&p);
	n = frame_tcp(g_frame, &o, TCP_SYN, 0);
	memmove(g_frame + 14 + 28, g_frame + 14 + 20, n - 34);
	ip = g_frame + 14;
	memset(ip + 20, 1, 7);
	ip[27] = 0;
	ip[0] = 0x47;
	ip[3] += 8;
	g_len = n + 8;
	EXPECT_EQ(run_frame(g_frame, g_len), TC_ACT_OK);
	expect_stream(&p, CS_ST_SYN_SENT, 1, 1);
	/* options claimed but not there: malformed */
	ip[0] = 0x4f;
	EXPECT_EQ(run_frame(g_frame, 14 + 40), TC_ACT_OK);
	EXPECT_EQ(streams_count(), 2);
	EXPECT_REASONS(CS_I_TRACKED, 2, CS_I_NEW, 2, CS_I_MALFORMED, 1);
out:
	fx_free();
}

/* A later fragment has no TCP header: tracked like any protocol under
 * ports 0, never taken for a TCP segment without state. */
static void later_fragment(void)
{
	struct pkt p = T1;
	struct frame_opts o = opts_of(&T1);
	__u8 *ip = g_frame + 14;

	if (!fx_setup_mode(CS_MODE_ROUTE, CS_ICFG_STRICT))
		goto out;
	g_len = frame_tcp(g_frame, &o, TCP_ACK, 100);
	ip[6] = 0x00;
	ip[7] = 0x10;	/* offset 128 octets */
	EXPECT_EQ(run_frame(g_frame, g_len), TC_ACT_OK);
	p.sport = p.dport = 0;
	expect_stream(&p, CS_ST_ACTIVE, 1, 1);
	EXPECT_REASONS(CS_I_TRACKED, 1, CS_I_NEW, 1);
out:
	fx_free();
}

/* ---- encap mode ---- */

#define CODE 0x2abc

static void encap_v4(void)
{
	struct pkt r = reverse(&T1);
	struct cs_stream st;

	if (!fx_setup_mode(CS_MODE_ENCAP, 0))
		goto out;
	EXPECT_EQ(run_vxlan(&T1, TCP_SYN, false, CHAIN, CODE), TC_ACT_OK);
	EXPECT(g_out_len == g_len && !memcmp(g_out, g_frame, g_len), "the wrapped packet was changed");
	if (!expect_stream(&T1, CS_ST_SYN_SENT, 1, 1))
		goto out;
	stream_of(&T1, &st);
	EXPECT_EQ(st.code, CODE);
	EXPECT_EQ(st.bytes, g_len);
	EXPECT_EQ(st.epoch, MAPV);
	expect_event_of(&T1);
	/* the code is the port's low 14 bits whatever the rest says */
	EXPECT_EQ(run_vxlan(&r, TCP_SYN | TCP_ACK, false, CHAIN, CODE), TC_ACT_OK);
	expect_stream(&T1, CS_ST_SYN_RECV, 2, 2);
	EXPECT_EQ(streams_count(), 1);
	EXPECT_REASONS(CS_I_TRACKED, 2, CS_I_NEW, 1, CS_I_PROMOTED, 1);
out:
	fx_free();
}

static void encap_code_bits(void)
{
	struct frame_opts o = { .src = STEERER4, .dst = LOCAL4, .sport = 0xffff };
	__u8 inner[128];
	struct cs_stream st;
	__u32 n;

	if (!fx_setup_mode(CS_MODE_ENCAP, 0))
		goto out;
	n = build(inner, &T1, TCP_SYN, 0);
	g_len = frame_vxlan(g_frame, &o, CHAIN, inner, n);
	EXPECT_EQ(run_frame(g_frame, g_len), TC_ACT_OK);
	if (stream_of(&T1, &st))
		EXPECT_EQ(st.code, 0x3fff);
	else
		EXPECT(false, "no stream");
out:
	fx_free();
}

static void encap_other_vni(void)
{
	if (!fx_setup_mode(CS_MODE_ENCAP, CS_ICFG_STRICT))
		goto out;
	EXPECT_EQ(run_vxlan(&T1, TCP_ACK, false, CHAIN + 1, CODE), TC_ACT_OK);	/* not ours to drop */
	EXPECT_EQ(run_vxlan(&T1, TCP_SYN, false, CHAIN << 8, CODE), TC_ACT_OK);
	/* the right VNI without the I flag names no VNI */
	build_vxlan(&T1, TCP_SYN, false, CHAIN, CODE);
	g_frame[14 + 20 + 8] = 0;
	EXPECT_EQ(run_frame(g_frame, g_len), TC_ACT_OK);
	EXPECT_EQ(streams_count(), 0);
	EXPECT_EQ(g_nev, 0);
	EXPECT_REASONS(CS_I_OTHER_VNI, 3);
out:
	fx_free();
}

static void encap_strict(void)
{
	if (!fx_setup_mode(CS_MODE_ENCAP, CS_ICFG_STRICT))
		goto out;
	EXPECT_EQ(run_vxlan(&T1, TCP_ACK, false, CHAIN, CODE), TC_ACT_SHOT);
	EXPECT_EQ(streams_count(), 0);
	EXPECT_EQ(g_nev, 0);
	EXPECT_REASONS(CS_I_STRICT_DROP, 1);
	EXPECT_EQ(run_vxlan(&T1, TCP_SYN, false, CHAIN, CODE), TC_ACT_OK);
	EXPECT_EQ(run_vxlan(&T1, TCP_ACK, false, CHAIN, CODE), TC_ACT_OK);
	expect_stream(&T1, CS_ST_ESTABLISHED, 2, 2);
out:
	fx_free();
}

/* IPv4 inside IPv6, IPv6 inside IPv4, IPv6 inside IPv6. */
static void encap_mixed(void)
{
	struct pkt p6 = { .src = CLIENT6, .dst = SERVER6, .sport = 40000, .dport = 443, .proto = IPPROTO_TCP };
	struct pkt u6 = { .src = CLIENT6, .dst = SERVER6, .sport = 5000, .dport = 53, .proto = IPPROTO_UDP };
	struct cs_stream st;

	if (!fx_setup_mode(CS_MODE_ENCAP, 0))
		goto out;
	EXPECT_EQ(run_vxlan(&T1, TCP_SYN, true, CHAIN, CODE), TC_ACT_OK);
	expect_stream(&T1, CS_ST_SYN_SENT, 1, 1);
	expect_event_of(&T1);
	EXPECT_EQ(run_vxlan(&p6, TCP_SYN, false, CHAIN, CODE + 1), TC_ACT_OK);
	expect_stream(&p6, CS_ST_SYN_SENT, 1, 1);
	if (stream_of(&p6, &st))
		EXPECT_EQ(st.code, CODE + 1);
	EXPECT_EQ(run_vxlan(&u6, 0, true, CHAIN, CODE + 2), TC_ACT_OK);
	expect_stream(&u6, CS_ST_ACTIVE, 1, 1);
	EXPECT_EQ(streams_count(), 3);
	EXPECT_REASONS(CS_I_TRACKED, 3, CS_I_NEW, 3);
out:
	fx_free();
}

static void encap_not_steered(void)
{
	struct pkt sync = { .src = "10.30.0.3", .dst = LOCAL4, .sport = 4788, .dport = 4788, .proto = IPPROTO_UDP };
	struct pkt out_vx = { .src = LOCAL4, .dst = STEERER4, .sport = 0xc001, .dport = 4789, .proto = IPPROTO_UDP };
	struct pkt transit_vx = { .src = STEERER4, .dst = "10.30.0.9", .sport = 0xc001, .dport = 4789,
				  .proto = IPPROTO_UDP };

	if (!fx_setup_mode(CS_MODE_ENCAP, CS_ICFG_STRICT))
		goto out;
	EXPECT_EQ(run_tcp(&T1, TCP_ACK), TC_ACT_OK);	/* transit, not wrapped: not ours */
	EXPECT_REASONS(CS_I_NOT_STEERED, 1);
	EXPECT_EQ(run(&transit_vx), TC_ACT_OK);	/* VXLAN, but to another node */
	EXPECT_REASONS(CS_I_NOT_STEERED, 2);
	EXPECT_EQ(run(&sync), TC_ACT_OK);
	EXPECT_EQ(run(&out_vx), TC_ACT_OK);	/* from this node */
	EXPECT_REASONS(CS_I_NOT_STEERED, 2, CS_I_LOCAL, 2);
	EXPECT_EQ(streams_count(), 0);
out:
	fx_free();
}

/* ---- bad input ---- */

/*
 * Every truncation of `frame` passes; a stream appears only once `whole`
 * octets (the headers the stream needs) are there; the rest is counted
 * MALFORMED, or NOT_IP below Ethernet. The kernel refuses to test-run a
 * frame shorter than Ethernet, or than its IP header when the (untagged)
 * ethertype is IP: `runs` is the length it takes from. proves: a second
 * whole frame proves the stream (not a SYN's).
 */
static void truncations(const __u8 *frame, __u32 len, __u32 runs, __u32 whole, bool proves, const char *what)
{
	__u64 malformed = 0, not_ip = 0, tracked = 0;
	__u32 n;
	int v;

	for (n = 0; n <= len; n++) {
		v = run_frame(frame, n);
		if (v < 0) {
			EXPECT(n < runs && errno == EINVAL, "%s: %u octets: test run: %s", what, n, strerror(errno));
			continue;
		}
		EXPECT(v == TC_ACT_OK, "%s: %u octets: verdict %d", what, n, v);
		if (n < 14)
			not_ip++;
		else if (n < whole)
			malformed++;
		else
			tracked++;
		EXPECT(streams_count() == (n >= whole), "%s: %u octets: %d streams", what, n, streams_count());
	}
	EXPECT(malformed >= whole - runs, "%s: only %llu truncations ran", what, (unsigned long long)malformed);
	EXPECT_REASONS(CS_I_NOT_IP, not_ip, CS_I_MALFORMED, malformed, CS_I_TRACKED, tracked, CS_I_NEW,
		       tracked ? 1 : 0, CS_I_PROMOTED, proves && tracked >= 2 ? 1 : 0);
}

static void malformed_syn(void)
{
	struct frame_opts o = opts_of(&T1);
	__u8 frame[128];
	__u32 n;

	if (!fx_setup())
		goto out;
	n = frame_tcp_syn(frame, &o, TCP_SYN, 1460);
	truncations(frame, n, 14 + 20, 14 + 20 + 20, false, "ipv4 syn");
	fx_free();
	/* tagged, the kernel runs every length: the IP header is cut too */
	if (!fx_setup())
		goto out;
	o.vlans = 1;
	n = frame_tcp_syn(frame, &o, TCP_SYN, 1460);
	truncations(frame, n, 14, 18 + 20 + 20, false, "tagged ipv4 syn");
	fx_free();
	if (!fx_setup())
		goto out;
	o = opts_of(&(struct pkt){ .src = CLIENT6, .dst = SERVER6, .sport = 40000, .dport = 443 });
	n = frame_tcp_syn(frame, &o, TCP_SYN, 1440);
	truncations(frame, n, 14 + 40, 14 + 40 + 20, false, "ipv6 syn");
	fx_free();
	if (!fx_setup())
		goto out;
	o.vlans = 2;
	n = frame_tcp_syn(frame, &o, TCP_SYN, 1440);
	truncations(frame, n, 14, 22 + 40 + 20, false, "tagged ipv6 syn");
	fx_free();
	if (!fx_setup())
		goto out;
	o = opts_of(&(struct pkt){ .src = CLIENT4, .dst = SERVER4, .sport = 5000, .dport = 53 });
	n = frame_build(frame, &o, "x", 1);
	truncations(frame, n, 14 + 20, 14 + 20 + 8, true, "ipv4 udp");
out:
	fx_free();
}

/* Cut anywhere, a wrapped SYN passes; only the whole inner headers make a
 * stream. */
static void malformed_vxlan(void)
{
	static __u8 frame[256];
	__u32 n;

	if (!fx_setup_mode(CS_MODE_ENCAP, CS_ICFG_STRICT))
		goto out;
	build_vxlan(&T1, TCP_SYN, false, CHAIN, CODE);
	memcpy(frame, g_frame, g_len);
	n = g_len;
	truncations(frame, n, 14 + 20, 14 + 20 + 8 + 8 + 14 + 20 + 20, false, "vxlan");
out:
	fx_free();
}

/* ---- nsh: the chain header in, the next stage out ---- */

#define NSH_CODE 0xdeadbeefu	/* all 32 bits travel in C1 */
#define NEXT_BUCKETS 256
#define NEXT_A 2		/* the next stage's primary for NSH_CODE */
#define NEXT_B 3		/* and its secondary */
#define NEXT_A4 "10.40.0.2"
#define NEXT_B4 "10.40.0.3"

static struct nsh_fields nsh_default(void)
{
	return (struct nsh_fields){ .spi = CHAIN, .code = NSH_CODE, .si = 255, .ttl = 63, .md_type = 1,
				    .gpe_flags = 0x0c, .len_words = 6 };
}

/* p's IP packet behind VXLAN-GPE and NSH, from the previous hop to this
 * node (docs/chains.md); cut: octets left off the end of the frame. */
static void build_nsh(const struct pkt *p, __u8 tcp_flags, const struct nsh_fields *h, __u32 cut)
{
	static __u8 inner[FRAME_CAP];
	struct frame_opts o = { .src = STEERER4, .dst = LOCAL4, .sport = CS_ENCAP_SPORT(h->code) };
	__u32 n = build(inner, p, tcp_flags, 0);

	g_len = frame_nsh(g_frame, &o, h, inner + 14, n - 14) - cut;
}

static int run_nsh(const struct pkt *p, __u8 tcp_flags, const struct nsh_fields *h)
{
	build_nsh(p, tcp_flags, h, 0);
	return run_frame(g_frame, g_len);
}

/* This node serves `stage` of a chain of n_stages, the next stage's table
 * of NEXT_BUCKETS buckets (and in a symmetric chain the previous one's);
 * instance_out is the program run. */
static bool set_stage(__u16 stage, __u16 n_stages, bool symmetric)
{
	struct cs_inst_cfg c;
	__u32 zero = 0;

	if (bpf_map_lookup_elem(F.cfg, &zero, &c))
		return false;
	c.stage = stage;
	c.n_stages = n_stages;
	c.next_buckets = NEXT_BUCKETS;
	c.prev_buckets = symmetric ? NEXT_BUCKETS : 0;
	c.flags = symmetric ? c.flags | CS_ICFG_SYMMETRIC : c.flags & ~CS_ICFG_SYMMETRIC;
	return EXPECT(bpf_map_update_elem(F.cfg, &zero, &c, BPF_ANY) == 0, "config: %s", strerror(errno));
}

static bool set_next(__u32 id, const char *addr, __u32 state)
{
	struct cs_instance in = { .chain_id = 1, .state = state, .ifindex = 1, .vni = CHAIN, .inner_mtu = 1440 };

	cs_addr_parse(addr, &in.addr);
	cs_addr_parse(LOCAL4, &in.local);
	return EXPECT(bpf_map_update_elem(bpf_map__fd(F.skel->maps.cs_next_instances), &id, &in, BPF_ANY) == 0,
		      "next instance: %s", strerror(errno));
}

/* A neighbour stage's table in cs_next_table's slot: NSH_CODE's bucket is
 * (NEXT_A, NEXT_B), every other one empty. */
static bool set_neighbour_table(__u32 slot)
{
	struct cs_bucket b = { .primary = NEXT_A, .secondary = NEXT_B };
	__u32 idx = NSH_CODE & (NEXT_BUCKETS - 1);
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "cs_bucket_table", sizeof(__u32), sizeof(struct cs_bucket),
				CS_BUCKETS_MAX, NULL);
	bool ok;

	if (!EXPECT(fd >= 0, "table: %s", strerror(errno)))
		return false;
	ok = EXPECT(bpf_map_update_elem(fd, &idx, &b, BPF_ANY) == 0, "bucket") &&
	     EXPECT(bpf_map_update_elem(bpf_map__fd(F.skel->maps.cs_next_table), &slot, &fd, BPF_ANY) == 0,
		    "swap the table in: %s", strerror(errno));
	close(fd);
	return ok;
}

/* Stage `stage` of a chain of two, its neighbour stage's primary and
 * secondary up (the next; in a symmetric chain the previous, in its slot,
 * is the same two). */
static bool fx_setup_nsh_chain(__u16 stage, bool symmetric)
{
	return fx_setup_mode(CS_MODE_NSH, 0) && set_stage(stage, 2, symmetric) &&
	       set_next(NEXT_A, NEXT_A4, CS_INST_UP) && set_next(NEXT_B, NEXT_B4, CS_INST_UP) &&
	       set_neighbour_table(CS_NEXT_SLOT) && (!symmetric || set_neighbour_table(CS_PREV_SLOT));
}

static bool fx_setup_nsh(__u16 stage)
{
	return fx_setup_nsh_chain(stage, false);
}

static __u64 nsh_reason(__u32 r)
{
	__u64 sum = 0;

	cs_percpu_sum(bpf_map__fd(F.skel->maps.cs_nsh_reasons), r, 1, &sum, 1);
	return sum;
}

/* Run a frame through instance_out, as the service sends it. */
static int run_out(const __u8 *frame, __u32 len)
{
	int prog = F.prog, rc;

	F.prog = bpf_program__fd(F.skel->progs.instance_out);
	rc = run_frame(frame, len);
	F.prog = prog;
	return rc;
}


/* g_out is `inner` (a frame) wrapped toward `addr` from this node with SI
 * si, TTL 63 less the hops before it, flags c3, the same code and chain,
 * octet by octet. */
static void expect_wrapped(const __u8 *inner, __u32 inner_len, const char *addr, __u8 si, __u32 c3)
{
	const __u8 *ip = g_out + 14, *udp = ip + 20;
	__u8 ttl = (__u8)(63 - (255 - si));
	__u8 want[40] = {
		0xc0 | ((NSH_CODE >> 8) & 0x3f), NSH_CODE & 0xff, 0x12, 0xb6, 0, 0, 0, 0,
		0x0c, 0, 0, 0x04, 0, 0, CHAIN, 0,
		(__u8)(ttl >> 2), (__u8)(ttl << 6 | 6), 0x01, 0x01,	/* TTL, 6 words, MD type 1, IPv4 */
		0, 0, CHAIN, si,			/* SPI, SI */
		0xde, 0xad, 0xbe, 0xef, 0, 0, 0, CHAIN,	/* C1 the code, C2 the chain */
		0, 0, 0, (__u8)c3, 0, 0, 0, 0,		/* C3, C4 */
	};
	struct cs_addr a, l;

	if (!EXPECT_EQ(g_out_len, inner_len + CS_NSH_OVERHEAD4))
		return;
	want[4] = (__u8)((g_out_len - 34) >> 8);
	want[5] = (__u8)(g_out_len - 34);
	cs_addr_parse(addr, &a);
	cs_addr_parse(LOCAL4, &l);
	EXPECT_EQ(pkt_get16(g_out + 12), 0x0800);
	EXPECT(frame_ip4_csum_ok(ip), "outer IPv4 checksum");
	EXPECT(!memcmp(ip + 12, &l.b[12], 4), "outer source: this node");
	EXPECT(!memcmp(ip + 16, &a.b[12], 4), "outer destination %u.%u.%u.%u, want %s", ip[16], ip[17], ip[18],
	       ip[19], addr);
	EXPECT(!memcmp(udp, want, sizeof(want)), "UDP, VXLAN-GPE and NSH toward the neighbour stage: %s",
	       pkt_hex(udp, sizeof(want)));
	EXPECT(!memcmp(udp + 40, inner + 14, inner_len - 14), "the IP packet is not carried as it was");
}

/* Toward the next stage from stage 0, going out: SI 254, TTL 62. */
static void expect_onward(const __u8 *inner, __u32 inner_len, const char *addr)
{
	expect_wrapped(inner, inner_len, addr, 254, 0);
}

/* A stream's packet comes in behind the chain header: tracked under the
 * code in C1 (all 32 bits, never the 5-tuple's), and handed on as the IP
 * packet alone; NSH_UNWRAPPED counts it besides TRACKED. */
static void nsh_arrive(void)
{
	struct nsh_fields h = nsh_default();
	static __u8 plain[FRAME_CAP];
	struct cs_stream st;
	__u32 n;

	if (!fx_setup_nsh(0))
		goto out;
	EXPECT_EQ(run_nsh(&T1, TCP_SYN, &h), TC_ACT_OK);
	n = build(plain, &T1, TCP_SYN, 0);
	EXPECT(g_out_len == n && !memcmp(g_out + 12, plain + 12, n - 12), "not the client's packet after unwrap");
	if (!expect_stream(&T1, CS_ST_SYN_SENT, 1, 1))
		goto out;
	stream_of(&T1, &st);
	EXPECT_EQ(st.code, NSH_CODE);
	EXPECT_REASONS(CS_I_TRACKED, 1, CS_I_NEW, 1, CS_I_NSH_UNWRAPPED, 1);
	EXPECT_EQ(nsh_reason(CS_NSH_OK), 0);
out:
	fx_free();
}

/* What the service sends on goes to the next stage's instance for C1: the
 * primary, the secondary once the primary is down, and nowhere (dropped,
 * counted) when both are. An answer, and a stream never seen, leave as
 * routed. */
static void nsh_next_stage(void)
{
	struct nsh_fields h = nsh_default();
	struct pkt r = reverse(&T1), other = T1;
	static __u8 seg[FRAME_CAP];
	__u32 n;

	if (!fx_setup_nsh(0))
		goto out;
	EXPECT_EQ(run_nsh(&T1, TCP_SYN, &h), TC_ACT_OK);
	n = build(seg, &T1, TCP_SYN, 0);
	EXPECT_EQ(run_out(seg, n), TC_ACT_REDIRECT);
	expect_onward(seg, n, NEXT_A4);
	EXPECT_EQ(reason(CS_I_NSH_SENT_ON), 1);
	set_next(NEXT_A, NEXT_A4, CS_INST_DOWN);
	EXPECT_EQ(run_out(seg, n), TC_ACT_REDIRECT);
	expect_onward(seg, n, NEXT_B4);
	set_next(NEXT_B, NEXT_B4, CS_INST_DOWN);
	EXPECT_EQ(run_out(seg, n), TC_ACT_SHOT);
	EXPECT_EQ(nsh_reason(CS_NSH_NO_NEXT), 1);
	EXPECT_EQ(reason(CS_I_NSH_SENT_ON), 2);
	/* the primary returns, warming: it takes the stream only while the
	 * secondary cannot */
	set_next(NEXT_A, NEXT_A4, CS_INST_WARMING);
	EXPECT_EQ(run_out(seg, n), TC_ACT_REDIRECT);
	expect_onward(seg, n, NEXT_A4);
	set_next(NEXT_B, NEXT_B4, CS_INST_UP);
	EXPECT_EQ(run_out(seg, n), TC_ACT_REDIRECT);
	expect_onward(seg, n, NEXT_B4);
	EXPECT_EQ(reason(CS_I_NSH_SENT_ON), 4);
	set_next(NEXT_A, NEXT_A4, CS_INST_UP);
	n = build(seg, &r, TCP_SYN | TCP_ACK, 0);
	EXPECT_EQ(run_out(seg, n), TC_ACT_OK);
	EXPECT(g_out_len == n && !memcmp(g_out, seg, n), "an answer was changed");
	other.sport = 40999;
	n = build(seg, &other, TCP_SYN, 0);
	EXPECT_EQ(run_out(seg, n), TC_ACT_OK);
	EXPECT(g_out_len == n && !memcmp(g_out, seg, n), "a stream never seen was changed");
	EXPECT_EQ(reason(CS_I_NSH_SENT_ON), 4);
out:
	fx_free();
}

/* The last stage takes the header off as every stage does, and what its
 * service sends on leaves as routed: delivered to its destination. */
static void nsh_last_stage(void)
{
	struct nsh_fields h = nsh_default();
	static __u8 seg[FRAME_CAP];
	__u32 n;

	if (!fx_setup_nsh(1))
		goto out;
	h.si = 254;
	h.ttl = 62;
	EXPECT_EQ(run_nsh(&T1, TCP_SYN, &h), TC_ACT_OK);
	n = build(seg, &T1, TCP_SYN, 0);
	EXPECT(g_out_len == n && !memcmp(g_out + 12, seg + 12, n - 12), "not the client's packet after unwrap");
	EXPECT_REASONS(CS_I_TRACKED, 1, CS_I_NEW, 1, CS_I_NSH_UNWRAPPED, 1);
	EXPECT_EQ(run_out(seg, n), TC_ACT_OK);
	EXPECT(g_out_len == n && !memcmp(g_out, seg, n), "the last stage wrapped a packet");
out:
	fx_free();
}

/*
 * A symmetric chain of two: its return packets come back through the
 * stages, last first. Stage 1 takes the gateway's header of the way back
 * (SI 253) and sends the answer its service sends on to stage 0's
 * instance for C1 (SI 252, C3 return | symmetric), the primary, then the
 * secondary; what goes out from the last stage, and what stage 0 sends
 * back, leave as routed: delivered.
 */
static void nsh_back(void)
{
	struct nsh_fields h = nsh_default();
	struct pkt r = reverse(&T1);
	static __u8 seg[FRAME_CAP];
	__u32 n;

	if (!fx_setup_nsh_chain(1, true))
		goto out;
	h.si = 254, h.ttl = 62, h.flags = CS_NSH_F_SYMMETRIC;
	EXPECT_EQ(run_nsh(&T1, TCP_SYN, &h), TC_ACT_OK);
	h.si = 253, h.ttl = 61, h.flags = CS_NSH_F_SYMMETRIC | CS_NSH_F_RETURN;
	EXPECT_EQ(run_nsh(&r, TCP_SYN | TCP_ACK, &h), TC_ACT_OK);
	EXPECT_REASONS(CS_I_TRACKED, 2, CS_I_NEW, 1, CS_I_PROMOTED, 1, CS_I_NSH_UNWRAPPED, 2);
	n = build(seg, &r, TCP_SYN | TCP_ACK, 0);
	EXPECT_EQ(run_out(seg, n), TC_ACT_REDIRECT);
	expect_wrapped(seg, n, NEXT_A4, 252, CS_NSH_F_SYMMETRIC | CS_NSH_F_RETURN);
	set_next(NEXT_A, NEXT_A4, CS_INST_DOWN);
	EXPECT_EQ(run_out(seg, n), TC_ACT_REDIRECT);
	expect_wrapped(seg, n, NEXT_B4, 252, CS_NSH_F_SYMMETRIC | CS_NSH_F_RETURN);
	n = build(seg, &T1, TCP_ACK, 0);
	EXPECT_EQ(run_out(seg, n), TC_ACT_OK);
	EXPECT(g_out_len == n && !memcmp(g_out, seg, n), "the last stage wrapped a packet going out");
	EXPECT_EQ(reason(CS_I_NSH_SENT_ON), 2);
	fx_free();

	/* stage 0: the answer, unwrapped from SI 252, is delivered */
	if (!fx_setup_nsh_chain(0, true))
		goto out;
	h.si = 255, h.ttl = 63, h.flags = CS_NSH_F_SYMMETRIC;
	EXPECT_EQ(run_nsh(&T1, TCP_SYN, &h), TC_ACT_OK);
	h.si = 252, h.ttl = 60, h.flags = CS_NSH_F_SYMMETRIC | CS_NSH_F_RETURN;
	EXPECT_EQ(run_nsh(&r, TCP_SYN | TCP_ACK, &h), TC_ACT_OK);
	n = build(seg, &r, TCP_SYN | TCP_ACK, 0);
	EXPECT_EQ(run_out(seg, n), TC_ACT_OK);
	EXPECT(g_out_len == n && !memcmp(g_out, seg, n), "stage 0 wrapped an answer");
	EXPECT_EQ(reason(CS_I_NSH_SENT_ON), 0);
	/* the way back names stage 1 at SI 253: not this node's */
	h.si = 253;
	build_nsh(&r, TCP_ACK, &h, 0);
	EXPECT_EQ(run_frame(g_frame, g_len), TC_ACT_SHOT);
	EXPECT_EQ(nsh_reason(CS_NSH_STAGE), 1);
out:
	fx_free();
}

/* instance.mark: code: what goes on to the service carries its stream's
 * code as its mark, for the service's host to match or the service to
 * read (SO_MARK with tcp_fwmark_accept); without it the mark is left. */
static void nsh_mark(void)
{
	struct nsh_fields h = nsh_default();
	struct cs_inst_cfg c;
	__u32 zero = 0;

	if (!fx_setup_nsh(0))
		goto out;
	EXPECT_EQ(run_nsh(&T1, TCP_SYN, &h), TC_ACT_OK);
	EXPECT_EQ(g_skb.mark, 0);
	if (!EXPECT(bpf_map_lookup_elem(F.cfg, &zero, &c) == 0, "config"))
		goto out;
	c.flags |= CS_ICFG_MARK_CODE;
	bpf_map_update_elem(F.cfg, &zero, &c, BPF_ANY);
	EXPECT_EQ(run_nsh(&T1, TCP_ACK, &h), TC_ACT_OK);
	EXPECT_EQ(g_skb.mark, NSH_CODE);
	h.spi = CHAIN + 1;	/* refused: dropped, unmarked */
	EXPECT_EQ(run_nsh(&T1, TCP_ACK, &h), TC_ACT_SHOT);
	EXPECT_EQ(g_skb.mark, 0);
out:
	fx_free();
}

/* One refused header: dropped, counted under its reason, no stream made. */
static void expect_refused(const struct nsh_fields *h, __u32 cut, __u32 why, const char *what)
{
	__u64 before = nsh_reason(why);

	build_nsh(&T1, TCP_SYN, h, cut);
	EXPECT(run_frame(g_frame, g_len) == TC_ACT_SHOT, "%s: not dropped", what);
	EXPECT(nsh_reason(why) == before + 1, "%s: not counted under its reason", what);
	EXPECT(streams_count() == 0, "%s: a stream was made", what);
}

/* Headers that are malformed, or name another chain or a stage this node
 * does not serve, never go on: counted by reason and dropped. */
static void nsh_refused(void)
{
	struct nsh_fields h;

	if (!fx_setup_nsh(0))
		goto out;
	h = nsh_default(), h.gpe_flags = 0x08;
	expect_refused(&h, 0, CS_NSH_GPE_FLAGS, "VXLAN-GPE without the P bit");
	h = nsh_default(), h.md_type = 2;
	expect_refused(&h, 0, CS_NSH_MD_TYPE, "MD type 2");
	h = nsh_default(), h.ttl = 0;
	expect_refused(&h, 0, CS_NSH_TTL, "TTL 0");
	h = nsh_default();
	expect_refused(&h, 40 + 20, CS_NSH_SHORT, "cut in the context words");
	h = nsh_default(), h.spi = CHAIN + 1;
	expect_refused(&h, 0, CS_NSH_CHAIN, "another chain's SPI");
	h = nsh_default(), h.si = 254;
	expect_refused(&h, 0, CS_NSH_STAGE, "the next stage's SI");
	h = nsh_default(), h.si = 253;
	expect_refused(&h, 0, CS_NSH_SI_RANGE, "an SI past the chain's two stages");
	EXPECT_REASONS(CS_I_NSH_REFUSED, 7);
out:
	fx_free();
}

/* Not IP at all: ARP, and an ethertype nobody knows. */
static void not_ip(void)
{
	__u8 frame[64] = { 2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x06 };

	if (!fx_setup_mode(CS_MODE_ROUTE, CS_ICFG_STRICT))
		goto out;
	EXPECT_EQ(run_frame(frame, sizeof(frame)), TC_ACT_OK);
	frame[12] = 0x88;
	frame[13] = 0xb5;
	EXPECT_EQ(run_frame(frame, sizeof(frame)), TC_ACT_OK);
	EXPECT_REASONS(CS_I_NOT_IP, 2);
out:
	fx_free();
}

/* A full ring buffer loses events, never packets. */
static void ring_full(void)
{
	struct pkt p = { .src = CLIENT4, .dst = SERVER4, .dport = 53, .proto = IPPROTO_UDP };
	__u32 i, n = 12000, dropped = 0;
	__u64 lost;

	if (!fx_setup())
		goto out;
	g_no_consume = true;
	for (i = 0; i < n; i++) {
		p.sport = (__u16)(1024 + i);
		dropped += run(&p) != TC_ACT_OK;
	}
	g_no_consume = false;
	EXPECT_EQ(dropped, 0);
	EXPECT_EQ(streams_count(), n);
	lost = reason(CS_I_EVENT_LOST);
	EXPECT(lost > 0 && lost < n, "%llu events lost", (unsigned long long)lost);
	g_nev = 0;
	ring_buffer__consume(F.rb);
	EXPECT_EQ(g_nev + lost, n);
	EXPECT_REASONS(CS_I_TRACKED, n, CS_I_NEW, n, CS_I_EVENT_LOST, lost);
out:
	g_no_consume = false;
	fx_free();
}

/* ---- streams live by their TCP state, proven or new ---- */

/* FINs both ways close a stream; one FIN leaves it closing, however often
 * it is sent again. Each is a change the peer learns. */
static void fin_both_ways(void)
{
	struct pkt r = reverse(&T1);
	struct cs_stream st;

	if (!fx_setup())
		goto out;
	run_tcp(&T1, TCP_SYN);
	run_tcp(&r, TCP_SYN | TCP_ACK);
	run_tcp(&T1, TCP_ACK);
	expect_stream(&T1, CS_ST_ESTABLISHED, 3, 3);
	EXPECT_EQ(run_tcp(&T1, TCP_FIN | TCP_ACK), TC_ACT_OK);
	expect_stream(&T1, CS_ST_CLOSING, 4, 4);
	expect_event_of(&T1);
	EXPECT_EQ(run_tcp(&T1, TCP_FIN | TCP_ACK), TC_ACT_OK);	/* sent again: no change */
	expect_stream(&T1, CS_ST_CLOSING, 4, 5);
	EXPECT_EQ(g_nev, 0);
	EXPECT_EQ(run_tcp(&r, TCP_FIN | TCP_ACK), TC_ACT_OK);
	expect_stream(&T1, CS_ST_CLOSED, 5, 6);
	expect_event_of(&r);
	if (stream_of(&T1, &st))
		EXPECT_EQ(st.flags & (CS_LIFE_FIN_LO | CS_LIFE_FIN_HI), CS_LIFE_FIN_LO | CS_LIFE_FIN_HI);
out:
	fx_free();
}

/* A SYN on a stream one side closed (all a one-sided view may see of a
 * connection that ended) begins a new incarnation of the 5-tuple. */
static void syn_after_fin(void)
{
	struct cs_stream st;

	if (!fx_setup())
		goto out;
	run_tcp(&T1, TCP_SYN);
	run_tcp(&T1, TCP_ACK);
	run_tcp(&T1, TCP_FIN | TCP_ACK);
	expect_stream(&T1, CS_ST_CLOSING, 3, 3);
	EXPECT_EQ(run_tcp(&T1, TCP_SYN), TC_ACT_OK);
	expect_stream(&T1, CS_ST_SYN_SENT, 4, 1);
	expect_event_of(&T1);
	if (stream_of(&T1, &st))
		EXPECT_EQ(st.flags & (CS_LIFE_FIN_LO | CS_LIFE_FIN_HI), 0);
	EXPECT(proven(&T1), "a new incarnation stays where its stream is");
out:
	fx_free();
}

/* A flood of SYNs from many sources (and of half-open connections: SYNs
 * sent again) churns cs_streams_new alone: the established stream stays in
 * cs_streams, and strict mode keeps admitting it. */
static void syn_flood_keeps_established(void)
{
	struct pkt p = T1, conn = T1;
	__u64 tracked0;
	__u32 i;

	if (!fx_setup_sized(CS_MODE_ROUTE, CS_ICFG_STRICT, 0, 64))
		goto out;
	conn.sport = 40999;
	run_tcp(&conn, TCP_SYN);
	run_tcp(&conn, TCP_ACK);
	EXPECT(proven(&conn), "the connection is not proven");
	g_no_consume = true;
	for (i = 0; i < 1000; i++) {
		char src[32];

		snprintf(src, sizeof(src), "10.9.%u.%u", i / 250, i % 250 + 1);
		p.src = src;
		p.sport = (__u16)(1024 + i);
		EXPECT_EQ(run_tcp(&p, TCP_SYN), TC_ACT_OK);
		if (i % 2)
			EXPECT_EQ(run_tcp(&p, TCP_SYN), TC_ACT_OK);
	}
	g_no_consume = false;
	ring_buffer__consume(F.rb);
	EXPECT_EQ(bpffx_map_len(F.streams), 1);
	EXPECT(bpffx_map_len(F.streams_new) <= 64, "%d streams new", bpffx_map_len(F.streams_new));
	tracked0 = reason(CS_I_TRACKED);
	EXPECT_EQ(run_tcp(&conn, TCP_ACK), TC_ACT_OK);	/* strict, and still admitted */
	expect_stream(&conn, CS_ST_ESTABLISHED, 2, 3);
	EXPECT_EQ(reason(CS_I_TRACKED), tracked0 + 1);
	EXPECT_EQ(reason(CS_I_PROMOTED), 1);
	EXPECT_EQ(reason(CS_I_NEW), 1001);
	EXPECT_EQ(reason(CS_I_STRICT_DROP), 0);
out:
	g_no_consume = false;
	fx_free();
}

/* cs_streams full: a proven stream stays in cs_streams_new and streams_full
 * counts it once; it moves when there is room again. */
static void streams_table_full(void)
{
	struct pkt p = { .src = CLIENT4, .dst = SERVER4, .dport = 53, .proto = IPPROTO_UDP };
	struct cs_flow_key k;
	__u16 port;

	if (!fx_setup_sized(CS_MODE_ROUTE, 0, 2, 0))
		goto out;
	for (port = 5000; port < 5003; port++) {
		p.sport = port;
		run(&p);
		run(&p);
	}
	EXPECT_EQ(bpffx_map_len(F.streams), 2);
	EXPECT(!proven(&p), "a third stream in a table of two");
	EXPECT_EQ(reason(CS_I_STREAMS_FULL), 1);
	EXPECT_EQ(run(&p), TC_ACT_OK);
	expect_stream(&p, CS_ST_ACTIVE, 1, 3);
	EXPECT_EQ(reason(CS_I_STREAMS_FULL), 1);
	p.sport = 5000;
	key_of(&p, &k);
	EXPECT(!bpf_map_delete_elem(F.streams, &k), "delete: %s", strerror(errno));
	p.sport = 5002;
	EXPECT_EQ(run(&p), TC_ACT_OK);
	EXPECT(proven(&p), "not moved once there was room");
	expect_stream(&p, CS_ST_ACTIVE, 2, 4);
	expect_event_of(&p);
	EXPECT_EQ(reason(CS_I_PROMOTED), 3);
out:
	fx_free();
}

/* Headers past the skb's linear part (a tap with IFF_NAPI_FRAGS makes such
 * an skb; BPF_PROG_TEST_RUN cannot): pulled in, and the stream tracked under
 * its own ports; strict mode does not drop it for where its headers lie. */
static void headers_in_fragments(void)
{
	static __u8 frame[256];
	struct frame_opts o = opts_of(&T1);
	char why[128];
	__u32 n;

	if (!fx_setup_mode(CS_MODE_ROUTE, CS_ICFG_STRICT))
		goto out;
	n = frame_tcp(frame, &o, TCP_SYN, 0);
	if (fragskb_ingress(F.prog, frame, n, 14, why, sizeof(why))) {
		T_SKIP("%s", why);
		goto out;
	}
	expect_stream(&T1, CS_ST_SYN_SENT, 1, 1);
	EXPECT_EQ(reason(CS_I_MALFORMED), 0);
	EXPECT_EQ(reason(CS_I_STRICT_DROP), 0);
out:
	fx_free();
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	libbpf_set_print(NULL);
	RUN(not_ready);
	RUN(tcp_life);
	RUN(tcp_no_regress);
	RUN(strict_drop);
	RUN(loose_pickup);
	RUN(udp_icmp);
	RUN(route_affinity_hosts);
	RUN(takeover_old_map);
	RUN(takeover_new_map);
	RUN(takeover_strict);
	RUN(local);
	RUN(ipv6_route);
	RUN(vlan_and_options);
	RUN(later_fragment);
	RUN(encap_v4);
	RUN(encap_code_bits);
	RUN(encap_other_vni);
	RUN(encap_strict);
	RUN(encap_mixed);
	RUN(encap_not_steered);
	RUN(malformed_syn);
	RUN(malformed_vxlan);
	RUN(nsh_arrive);
	RUN(nsh_next_stage);
	RUN(nsh_last_stage);
	RUN(nsh_back);
	RUN(nsh_mark);
	RUN(nsh_refused);
	RUN(not_ip);
	RUN(ring_full);
	RUN(fin_both_ways);
	RUN(syn_after_fin);
	RUN(syn_flood_keeps_established);
	RUN(streams_table_full);
	RUN(headers_in_fragments);
	T_EXIT();
}
