/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * cloudsteer.h - the contract between the BPF programs and userspace.
 *
 * Every map key and value, event, reason code and size that both sides use
 * is defined here and only here. The BPF side includes it after vmlinux.h,
 * userspace after <linux/types.h>. Keep fields in __u32/__u64 with explicit
 * padding: the layouts are checked by the _Static_asserts at the bottom.
 */
#ifndef CLOUDSTEER_H
#define CLOUDSTEER_H

/* ---- DNS limits (RFC 1035 section 2.3.4) ---- */
#define CS_NAME_WIRE_MAX   255	/* octets of a name on the wire, root label included */
#define CS_NAME_TEXT_MAX   256	/* presentation form, lower case, no trailing dot, NUL */
#define CS_LABEL_MAX       63
#define CS_LABELS_MAX      127	/* labels of a 255-octet name */
#define CS_POINTERS_MAX    32	/* compression pointers followed in one name */

/* ---- learn program bounds ---- */
#define CS_MSG_MAX         4096	/* DNS message bytes copied for parsing (power of two) */
/* Answer records walked per response: more than any message learn reads
 * can hold. A record takes at least 11 octets (a root owner, no rdata), so
 * CS_MSG_MAX holds at most (4096 - 12 - 5) / 11 = 370; A records with owners
 * compressed to 2 octets at most 254, and even owned by the root name 271.
 * The default is the bound, so no answer is cut unless the config says so
 * (rec_capped counts those). The walk is a bpf_loop, verified once
 * whatever the count; the bound sizes the per-CPU scratch. */
#define CS_RECORDS_MAX     512	/* hard bound on answer records walked (a power of two) */
#define CS_RECORDS_DEFAULT CS_RECORDS_MAX	/* default runtime cap (cs_config.max_records) */
#define CS_CHAIN_MAX       16	/* question name + CNAME targets on one chain */
#define CS_ADDRS_MAX       CS_RECORDS_MAX	/* A/AAAA records learned from one response */
#define CS_VLAN_MAX        2	/* 802.1Q / 802.1ad tags parsed */
#define CS_IPV6_EXT_MAX    4	/* IPv6 extension headers skipped */

/* ---- table sizes (defaults; the loader may resize before load) ---- */
#define CS_RECORDS_ENTRIES 1048576
#define CS_ROUTES_ENTRIES  262144
#define CS_NAMES_ENTRIES   262144
#define CS_RULE_NAMES_ENTRIES 262144
#define CS_RULES_MAX       4096	/* rules (not patterns) in one config */
#define CS_ACL_POOL_ENTRIES 65536
#define CS_RESOLVERS_MAX   256	/* learn.resolvers */
#define CS_QUERIES_ENTRIES 65536	/* outstanding queries remembered (LRU) */
#define CS_NEVER_ENTRIES   4096	/* never-steer prefixes, the host's own addresses included */
#define CS_QUOTA_DEFAULT   65536	/* records one rule may hold (learn.quota) */
#define CS_QUERY_WINDOW_DEFAULT_MS 10000	/* learn.query_window */

#define CS_DNS_PORT 53

/* Where the daemon pins every map, by its name; the CLI reads them there. */
#define CS_PIN_DIR "/sys/fs/bpf/cloudsteer"
#define CS_PIN_DIR_ENV "CLOUDSTEER_PIN_DIR"	/* overrides CS_PIN_DIR (tests) */
#define CS_PATTERNS_ENTRIES 1048576
#define CS_STEER_PRIO   0xc5	/* our TC filter's priority and handle */
#define CS_STEER_HANDLE 0xc5
#define CS_QUERY_PRIO   0xc6	/* the query recorder's, on egress */
#define CS_QUERY_HANDLE 0xc6

/* ---- rules ---- */

/* How a pattern matches, most specific first: the order is the tie-break
 * between matches at the same depth. */
enum cs_match_kind {
	CS_MATCH_EXACT = 0,	/* "=example.com": the name alone */
	CS_MATCH_WILD = 1,	/* "*.example.com": names strictly under it */
	CS_MATCH_SUBTREE = 2,	/* "example.com": the name and all under it */
	CS_MATCH_KINDS = 3,
};

/* One pattern in the rule_names map; pattern_id 0 means "no pattern of this kind". */
struct cs_pattern_ref {
	__u32 pattern_id;
	__u32 rule_id;
};

/* rule_names map value, keyed by the suffix hash of the pattern's name
 * (cs_namehash.h): which kinds of pattern exist for that name. */
struct cs_rule_name {
	struct cs_pattern_ref kind[CS_MATCH_KINDS];
};

/* rules map value, indexed by rule_id (0 is never used). */
struct cs_rule {
	__u32 ttl_min;		/* seconds */
	__u32 ttl_max;		/* seconds */
	__u32 ttl_grace;	/* seconds added to the clamped TTL for the expiry */
	__u32 priority;		/* higher wins when two rules claim one IP */
	__u32 chain_id;		/* 0: observe only */
	__u32 flags;
};

/* cs_patterns map value, keyed by pattern_id: what the CLI shows for the ids
 * that records carry. Written by userspace with the rules. */
struct cs_pattern_info {
	char text[CS_NAME_TEXT_MAX + 4];	/* "=a.b", "*.a.b" or "a.b", NUL-padded */
	__u32 rule_id;
	__u32 kind;		/* enum cs_match_kind */
};

/* cs_rule_stats value, per CPU, indexed by rule_id. Written by learn for
 * every answer a rule won; summed by the CLI. */
struct cs_rule_stat {
	__u64 answers;		/* answers the rule won (repeats included) */
	__u64 learned;		/* records made */
	__u64 refreshed;	/* records refreshed (repeats included) */
};

/* The specificity of a match: deeper suffix first, then kind. Higher wins. */
#define CS_MATCH_SCORE(depth, kind) ((__u32)(depth) * 4 + (CS_MATCH_KINDS - (__u32)(kind)))

/* ---- config (array map, one entry, written by userspace) ---- */
struct cs_config {
	__u64 name_key[2];	/* secret key of the name hash */
	__u64 depth_mask[2];	/* bit d set: some pattern has d labels (1..127) */
	__u32 max_records;	/* answer records walked per response, <= CS_RECORDS_MAX */
	__u32 flags;		/* CS_CFG_* */
	__u32 generation;	/* grows with every write of this entry, which
				 * userspace makes on a rule change and after it
				 * removes records: learn reuses the outcome of a
				 * repeated answer only within one generation */
	__u32 query_window_ms;	/* CS_CFG_QUERIES: how long a query waits for its answer */
	__u64 affinity_key[2];	/* secret key of the stream affinity code (steer) */
};

#define CS_CFG_READY 1u		/* userspace filled the rules: learning is on */
#define CS_CFG_RESOLVERS 2u	/* learn only from the servers in cs_resolvers */
#define CS_CFG_QUERIES 4u	/* learn only answers to queries that query saw leave */

/* ---- addresses: IPv4 is stored IPv4-mapped (::ffff:a.b.c.d) ---- */
struct cs_addr {
	__u8 b[16];
};

/* records map key: one cloud IP table record per (name, IP). */
struct cs_record_key {
	__u64 name_id;		/* full-name hash of the record's owner */
	struct cs_addr addr;
};

/* cs_records value. Written by learn (made, refreshed) and by the daemon
 * (expiry; in a cluster, the records of other gateways: docs/cluster.md). */
struct cs_record {
	__u64 expires_ns;	/* CLOCK_BOOTTIME */
	__u64 first_ns;
	__u64 last_ns;
	__u32 rule_id;
	__u32 pattern_id;
	__u32 ttl;		/* seconds, after clamps */
	__u32 hits;		/* answers that taught or refreshed it */
	__u32 origin;		/* enum cs_record_origin */
	__u32 shared_s;		/* the expiry the cluster knows of, CLOCK_BOOTTIME
				 * seconds rounded up: the last this node
				 * published (learn's NEW and EXTENDED events)
				 * or heard; 0: none */
};

/* Where a record came from. learn refreshes in place only a record it
 * learned here; one heard from the cluster it refreshes by replacing the
 * element (which serializes with the daemon's lookup-and-delete), and it is
 * this node's own from then on. Only this node's own records are published. */
enum cs_record_origin {
	CS_ORIGIN_LOCAL = 0,	/* learned (or refreshed) from an answer here */
	CS_ORIGIN_CLUSTER = 1,	/* heard from another gateway through etcd */
};

/* In a cluster, learn reports a refresh (CS_EV_RECORD_EXTENDED) once it moves
 * a record's expiry past what the cluster knows (shared_s) by the rule's
 * grace, and at least by this: the copies elsewhere then expire at most a
 * grace before this one, when no client holds the answer any more, and a
 * busy name is published once per grace, not once per answer. */
#define CS_SHARE_STEP_MIN_S 5

/* routes map value, keyed by struct cs_addr. */
struct cs_route {
	__u64 created_ns;
	__u64 learned_ns;	/* last time a record for this IP was made or changed rule */
	__u32 acl_id;		/* 0 while CS_ROUTE_WAIT_ACL */
	__u32 rule_id;
	__u32 flags;		/* CS_ROUTE_* */
	__u32 _pad;
};

#define CS_ROUTE_WAIT_ACL 1u	/* made while the ACL id pool was empty */
#define CS_ROUTE_KEPT_BY_FLOWS 2u	/* no record needs it; a live flow does */

/* names map value, keyed by name_id: the text of every owner that has records. */
struct cs_name {
	char text[CS_NAME_TEXT_MAX];
};

/* ---- trust: query matching, never-steer ranges, quotas ---- */

/* cs_queries key: one query as it left the host (after any source NAT, so
 * the answer arrives addressed to client:client_port). */
struct cs_query_key {
	struct cs_addr client;	/* the query's source */
	struct cs_addr server;	/* the resolver it was sent to */
	__u16 client_port;	/* host order */
	__u16 dns_id;
	__u8 proto;		/* IPPROTO_UDP or IPPROTO_TCP */
	__u8 _pad[3];
};

struct cs_query {
	__u64 sent_ns;		/* CLOCK_BOOTTIME */
	__u64 qname_id;		/* full-name hash of the question */
};

/* cs_never key: an LPM prefix over struct cs_addr (an IPv4 /N is ::ffff:a.b.c.d/96+N). */
struct cs_never_key {
	__u32 prefixlen;
	struct cs_addr addr;
};

/* cs_never value: why no route is ever made for addresses under the prefix.
 * Each kind is counted under the record reason CS_R_NEVER_LOOPBACK + kind - 1. */
enum cs_never_kind {
	CS_NEVER_LOOPBACK = 1,	/* 127/8, ::1 */
	CS_NEVER_LINK_LOCAL = 2,	/* 169.254/16, fe80::/10 */
	CS_NEVER_MULTICAST = 3,	/* 224/4, 255.255.255.255, ff00::/8 */
	CS_NEVER_UNSPECIFIED = 4,	/* 0/8, :: */
	CS_NEVER_LOCAL = 5,	/* this host's own addresses (the daemon keeps them) */
	CS_NEVER_CONFIGURED = 6,	/* learn.never_steer (private ranges by default) */
	CS_NEVER_KINDS = 7,
};

/* cs_repeats value (per CPU, CS_REPEAT_SLOTS direct-mapped by digest): the
 * outcome of an answer that changed nothing, kept for CS_REPEAT_NS so that
 * the same bytes (ID aside) seen again on this CPU skip the walk. */
struct cs_repeat_slot {
	__u64 digest;
	__u64 until_ns;		/* CLOCK_MONOTONIC_COARSE */
	__u32 generation;	/* cs_config.generation it was made under */
	__u32 reason;
	__u32 refreshed;	/* records it refreshed */
	__u32 rule_id;		/* the rule that won it, 0 if none */
	__u64 qname_id;		/* its question: a query must match it too */
	__u32 capped;		/* 1: cut at max_records, counted again (rec_capped) */
	__u32 _pad;
};

#define CS_REPEAT_SLOTS 256
#define CS_REPEAT_NS 1000000000ULL

/* The sweep removes only records expired for at least this long, and learn
 * refreshes a record in place only while it has not expired (an expired one
 * it revives by replacing the element, which serializes with the removal
 * under the hash bucket's lock). So a refresh written in place can be lost to
 * a removal only if learn took longer than this margin between reading its
 * clock and its store, which an XDP program (it runs in softirq, and cannot
 * sleep or be preempted) cannot. */
#define CS_EXPIRY_MARGIN_NS 1000000000ULL	/* the sweep removes records expired this long */

/* cs_rule_quota value, indexed by rule_id (mmapable: both sides add to
 * records atomically). learn adds a record it makes and moves one that
 * changes rule; the daemon takes off the records it removes and writes the
 * limit. A rule at its limit makes no new records (rule_quota). */
struct cs_rule_quota {
	__u64 records;
	__u64 limit;		/* 0: not configured yet (no limit) */
};

/* ---- flows (steer) ---- */

#define CS_FLOWS_ENTRIES 262144		/* cs_flows: proven flows (steer.limits.flows) */
#define CS_FLOWS_NEW_ENTRIES 65536	/* cs_flows_new: unproven ones (steer.limits.flows_new) */

/* cs_flows key: a 5-tuple with the lower (address, port) first, so both
 * directions of a stream are one flow. */
struct cs_flow_key {
	struct cs_addr lo;
	struct cs_addr hi;
	__u16 lo_port;		/* host order */
	__u16 hi_port;
	__u8 proto;
	__u8 _pad[3];
};

/* cs_flows and cs_flows_new value, keyed by struct cs_flow_key. A flow
 * lives by its state (enum cs_stream_state, the same TCP states as the
 * instance's streams): the daemon's sweep removes it once it has been quiet
 * for its state's lifetime (steer.flow_timeouts; steer.flow_idle for
 * protocols other than TCP). */
struct cs_flow {
	__u64 first_ns;		/* CLOCK_BOOTTIME */
	__u64 last_ns;
	__u64 packets;
	__u64 bytes;
	struct cs_addr route;	/* the route (IP) it matched */
	__u32 acl_id;		/* the route's ACL id (followed when the route gets a new one) */
	__u32 code;		/* stream affinity code */
	__u16 instance;		/* pinned instance id; 0: not steered (observe, bypass) */
	__u16 chain;		/* chain id, 0: observe */
	__u32 ifindex;		/* where the instance is reached */
	__u8 state;		/* enum cs_stream_state */
	__u8 flags;		/* CS_LIFE_* */
	__u16 rule_id;		/* the route's rule (followed, as acl_id is) */
	__u32 tick;		/* the tick (CS_FLOW_TICK_SHIFT) when last_ns was
				 * last written: last_ns is read from the clock
				 * and written once a tick, not every packet */
};

/* A tick: 2^CS_FLOW_TICK_SHIFT of the kernel's jiffies (bpf_jiffies64, a
 * load, where even the coarse clock does a helper's work): 64 ms at
 * HZ=1000, 256 ms at Debian's 250, 640 ms at 100. last_ns is at most a tick
 * behind a stream's last packet, against lifetimes of seconds. */
#define CS_FLOW_TICK_SHIFT 6

/* In cs_flow.flags and cs_stream.flags: what steer and instance keep of a
 * stream's life (bpf/lib/flowstate.h): which side sent a FIN (FINs both
 * ways close a TCP stream), and how the stream began, which says what
 * proves it. The other bits of cs_stream.flags are CS_STREAM_*. */
#define CS_LIFE_FIN_LO    0x4	/* a FIN from the key's lo side */
#define CS_LIFE_FIN_HI    0x8	/* a FIN from its hi side */
#define CS_LIFE_FIRST_LO  0x20	/* its first packet came from the lo side */
#define CS_LIFE_BEGAN_SYN 0x40	/* its first packet was a SYN (without ACK) */
#define CS_LIFE_FULL_SEEN 0x80	/* proven, but the protected table was full:
				 * counted once */

/* What steer counts about its flow tables, per CPU in cs_steer_stats.
 * X(enum suffix, name printed by the CLI, help text) */
#define CS_STEER_COUNTERS(X)                                                                     \
	X(FLOWS_NEW, "flows_new", "flows begun: their first packet, in cs_flows_new")            \
	X(FLOWS_PROMOTED, "flows_promoted", "flows proven and moved to cs_flows")               \
	X(FLOW_TABLE_FULL, "flow_table_full", "proven flows left in cs_flows_new: cs_flows was full") \
	X(FLOW_NOT_STORED, "flow_not_stored", "first packets whose flow could not be stored: on_failure decided") \
	X(HEADERS_PULLED, "headers_pulled", "packets whose headers were pulled into the linear part") \
	X(TC_STEERED, "tc_steered", "packets sent to an instance by the TC program")              \
	X(XDP_STEERED, "xdp_steered", "packets sent to an instance by the XDP fast path, before the kernel built an skb") \
	X(XDP_TO_TC, "xdp_to_tc", "packets of proven streams the XDP fast path left to TC (a TCP flag, no neighbour yet, too big, a port XDP cannot send on)")

#define CS_STEER_COUNTER_ENUM(sym, name, help) CS_S_##sym,
enum cs_steer_counter {
	CS_STEER_COUNTERS(CS_STEER_COUNTER_ENUM)
	CS_S_MAX,
};
#undef CS_STEER_COUNTER_ENUM

/* ---- chains, instances, the service map (steer) ---- */

#define CS_CHAINS_MAX     64
#define CS_INSTANCES_MAX  256	/* instance ids 1..255 across all chains */
#define CS_BUCKETS_DEFAULT 256
#define CS_BUCKETS_MAX    65536	/* every chain's table map has this many slots */

/* nsh: the packet goes in VXLAN-GPE and NSH (docs/chains.md) to the chain's
 * first stage, and from each stage to the next. */
enum cs_chain_mode { CS_MODE_ROUTE = 0, CS_MODE_ENCAP = 1, CS_MODE_NSH = 2 };
enum cs_on_failure { CS_FAIL_BYPASS = 0, CS_FAIL_DROP = 1 };

/* cs_chain.flags */
#define CS_CHAIN_SYMMETRIC 0x1	/* return packets go to the stream's instance too */
#define CS_CHAIN_AFFINITY_HOSTS 0x2	/* the affinity code is the pair of hosts',
					 * ports and protocol left out (affinity: hosts) */

/* Encap mode: VXLAN (RFC 7348) to the instance. The VNI is the chain's
 * wire id (its `vni:`, else derived from its name: lib/ids.h), which every
 * node reading the config agrees on, never the chain id of this node;
 * the UDP source port carries the low CS_ENCAP_CODE_BITS of the affinity
 * code in the RFC's dynamic range, enough to name the bucket of any table
 * up to 2^CS_ENCAP_CODE_BITS buckets. */
#define CS_VXLAN_PORT       4789
#define CS_ENCAP_CODE_BITS  14
#define CS_ENCAP_SPORT_BASE 0xc000
#define CS_ENCAP_SPORT(code) (CS_ENCAP_SPORT_BASE | ((code) & ((1u << CS_ENCAP_CODE_BITS) - 1)))
/* what encap adds before the inner frame: outer IP, UDP, VXLAN, inner Ethernet */
#define CS_ENCAP_OVERHEAD4  (20 + 8 + 8 + 14)
#define CS_ENCAP_OVERHEAD6  (40 + 8 + 8 + 14)
/* The inner destination MAC when the config names none: 02:c5:00 and the
 * 24-bit VNI. Give the instance's vxlan device this address. */
#define CS_ENCAP_MAC_OUI0 0x02
#define CS_ENCAP_MAC_OUI1 0xc5
#define CS_ENCAP_MAC_OUI2 0x00

/* cs_chains value, indexed by chain_id (1-based; 0 never used). */
struct cs_chain {
	__u32 mode;		/* enum cs_chain_mode */
	__u32 on_failure;	/* enum cs_on_failure */
	__u32 n_buckets;	/* a power of two, <= CS_BUCKETS_MAX; 0: no table yet */
	__u32 flags;		/* CS_CHAIN_* */
	__u32 n_stages;		/* nsh: its stages (1 for every other chain) */
	__u32 last_buckets;	/* nsh, symmetric, several stages: buckets of the last
				 * stage's table (cs_stage_map), where return packets
				 * go first; 0: none yet */
};

enum cs_inst_state {
	CS_INST_DOWN = 0,	/* failed: its streams move to the bucket's secondary */
	CS_INST_UP = 1,
	CS_INST_DRAINING = 2,	/* no new streams; pinned ones finish */
	CS_INST_WARMING = 3,	/* back from DOWN: secondary only (its
				 * peers sync it the state of its buckets),
				 * primary once health.warmup has passed; it
				 * takes failover like UP */
};

/* cs_instances value, indexed by instance id. state is written alone by the
 * daemon's health checks and `cloudsteer drain`; steer reads it per stream. */
struct cs_instance {
	struct cs_addr addr;
	struct cs_addr local;	/* encap: the outer source, this host's address
				 * on the way to addr; all zero: not known */
	__u32 chain_id;
	__u32 state;		/* enum cs_inst_state */
	__u32 ifindex;		/* where it is reached; 0: steer asks the FIB */
	__u16 inner_mtu;	/* encap, nsh: the largest inner IP packet that fits
				 * the path once wrapped; TCP MSS is clamped to
				 * it. 0: not known, no clamp */
	__u8 mac[6];		/* encap: inner destination MAC, the instance's
				 * vxlan device */
	__u32 vni;		/* encap, nsh: its chain's VNI and NSH SPI (the
				 * chain's wire id) */
};

/* One bucket of a chain's table (the inner maps of cs_service_map). */
struct cs_bucket {
	__u16 primary;		/* instance ids; 0: none */
	__u16 secondary;
};

/* cs_inst_stats value, per CPU, by instance id. */
struct cs_inst_stat {
	__u64 packets;
	__u64 bytes;
	__u64 flows;		/* streams pinned to it (new or moved) */
	__u64 clamped;		/* TCP SYNs whose MSS was lowered for the tunnel */
	__u64 encap_failed;	/* packets not wrapped (too big for the path once
				 * wrapped, or VLAN-tagged): on_failure decides */
};

/* ---- the XDP fast path of steer (docs/design.md: which path a packet takes) ---- */

/* Learn's XDP program hands a packet on to steer's (a tail call) on an
 * interface that learns and steers: slot = the interface's ifindex. An
 * interface whose ifindex is this or more steers in TC alone there. */
#define CS_XDP_IFINDEX_SLOTS 4096
/* cs_route_bits: a bit for every route with a live flow, at
 * cs_route_bit(address) (affinity.h), 2^CS_ROUTE_BITS_SHIFT bits in words
 * of 64: the fast path's first look, before any hash lookup. */
#define CS_ROUTE_BITS_SHIFT 20
#define CS_ROUTE_BIT_WORDS (1u << (CS_ROUTE_BITS_SHIFT - 6))

/* cs_xdp_ports: the interfaces XDP may send a frame out of. */
#define CS_XDP_PORTS_MAX 256

/* How steer's XDP program reaches an instance: what bpf_fib_lookup said
 * of the instance's address, kept per CPU for one tick
 * (CS_XDP_NH_TICK_SHIFT of the jiffies) so that a pinned stream's packet
 * costs no FIB lookup. Not pinned: a new program starts with an empty
 * cache. */
struct cs_xdp_nh {
	struct cs_addr addr;	/* the instance's address it was looked up for: a
				 * reload that moves the instance misses the cache */
	__u32 tick;		/* the tick when it was looked up; 0: never */
	__u32 ifindex;		/* the way out */
	__u16 mtu;		/* the MTU forwarding takes (the device's, or a
				 * route's locked MTU): larger packets are TC's */
	__u8 dmac[6];		/* the next hop */
	__u8 smac[6];		/* this host on that link */
	__u16 flags;		/* CS_XDP_NH_* */
};

#define CS_XDP_NH_VIA_GW 0x1	/* the FIB's next hop is a router, not the instance */

/* 2^8 jiffies, 256 ms at HZ=1000 to 2.56 s at 100 (1 s at Debian's 250):
 * a neighbour's new MAC reaches the fast path within that. */
#define CS_XDP_NH_TICK_SHIFT 8

/* cs_acl_stats value, per CPU, indexed by ACL id: what the routes carried;
 * and cs_rule_traffic's, indexed by rule id. */
struct cs_acl_stat {
	__u64 packets;
	__u64 bytes;
};

/* ---- ids: who holds each chain and instance id on this node ---- */

/*
 * Chain and instance ids are this node's own small numbers, the indexes of
 * the dataplane's arrays (cs_chains, cs_instances, the bucket tables). They
 * are given by name and kept in the pinned cs_chain_ids and cs_instance_ids,
 * so a change of the lists or a restart never moves them. Nothing that
 * crosses the wire carries them: see lib/ids.h for what does.
 */
#define CS_ID_NAME_MAX 64	/* a chain's or an instance's name, NUL included */

enum cs_id_state {
	CS_ID_FREE = 0,		/* nobody's: a new name may take it */
	CS_ID_HELD = 1,		/* a chain or an instance of the config holds it */
	CS_ID_LEFT = 2,		/* its holder left the config (or took another
				 * id): kept from new names while steer's flows
				 * (an instance node: its streams) still name it */
};

#define CS_ID_EXPLICIT 1u	/* the config gave it (`id:`) */

/* cs_chain_ids and cs_instance_ids value, indexed by id. */
struct cs_id_holder {
	char chain[CS_ID_NAME_MAX];	/* the chain's name */
	char instance[CS_ID_NAME_MAX];	/* the instance's; "" in cs_chain_ids */
	__u64 since_ns;		/* CLOCK_BOOTTIME: when it took this state */
	__u32 state;		/* enum cs_id_state */
	__u32 flags;		/* CS_ID_* */
};

/* ---- the instance role (instance.bpf.c, `cloudsteer instance`) ---- */

#define CS_STREAMS_ENTRIES 262144	/* cs_streams: proven streams (instance.limits.streams) */
#define CS_STREAMS_NEW_ENTRIES 65536	/* cs_streams_new: unproven ones (instance.limits.streams_new) */
#define CS_LOCAL_ADDRS_MAX 256	/* this node's own addresses: never tracked */
#define CS_SYNC_PORT_DEFAULT 4788	/* UDP, between the instances of a chain */

/* A stream's state as the instance tracks it, and a flow's as steer does
 * (bpf/lib/flowstate.h, one direction is enough). TCP follows the flags it sees;
 * UDP and other protocols are ACTIVE from their first packet. Each state
 * has a lifetime since the last packet, which the daemons enforce:
 * SYN_SENT and SYN_RECV the syn timeout, ESTABLISHED established, CLOSING
 * fin, CLOSED linger; ACTIVE the protocol's idle time. */
enum cs_stream_state {
	CS_ST_NONE = 0,
	CS_ST_SYN_SENT = 1,	/* a SYN */
	CS_ST_SYN_RECV = 2,	/* a SYN-ACK */
	CS_ST_ESTABLISHED = 3,	/* an ACK after the handshake, or picked up (loose) */
	CS_ST_CLOSING = 4,	/* a FIN one way */
	CS_ST_CLOSED = 5,	/* FINs both ways, or a RST */
	CS_ST_ACTIVE = 6,	/* UDP and other protocols */
	CS_ST_MAX = 7,
};

/* cs_stream.flags */
#define CS_STREAM_SYNCED    0x1	/* installed by sync from a peer; no packet
				 * of it has come here since */
#define CS_STREAM_PICKED_UP 0x2	/* loose: admitted mid-stream without state */
/* 0x4, 0x8, 0x20, 0x40, 0x80: CS_LIFE_* */
#define CS_STREAM_PROVEN    0x10	/* proven (lives in cs_streams, not
				 * cs_streams_new); travels with the sync so
				 * the peer keeps it in its protected table */

/* cs_streams and cs_streams_new value, keyed by struct cs_flow_key (both
 * directions, one key). Written by instance on every packet of a tracked
 * stream and by the instance daemon when a peer syncs a stream; read by the
 * daemon (sync, the sweep by state) and the CLI. Times are this node's
 * CLOCK_BOOTTIME.
 *
 * (epoch, seq) orders the versions of a stream across instances: epoch is
 * the service map version (cs_inst_cfg.map_version, a Lamport clock over
 * the instances' table rebuilds) when its holder took it; seq counts its
 * changes within that epoch. A holder that takes a synced stream over moves
 * to max(map_version, epoch + 1), so nothing its old holder sent, however
 * late it arrives, outranks what the new holder does. */
struct cs_stream {
	__u64 first_ns;
	__u64 last_ns;
	__u64 packets;
	__u64 bytes;
	__u64 epoch;
	__u32 code;		/* affinity code: from the 5-tuple (or the pair of
				 * hosts: CS_ICFG_AFFINITY_HOSTS) and the shared
				 * key (route), or the VXLAN source port's low
				 * CS_ENCAP_CODE_BITS (encap) */
	__u32 seq;
	__u16 peer;		/* CS_STREAM_SYNCED: the instance id that sent it */
	__u8 state;		/* enum cs_stream_state */
	__u8 flags;		/* CS_STREAM_* */
	__u32 _pad;
};

/* cs_stream_events record: a stream that is new, changed state or was taken
 * over, as instance left it. Written by instance; read by the instance
 * daemon, which batches them to the secondary. */
struct cs_stream_event {
	struct cs_flow_key key;
	struct cs_stream st;
};

/* cs_inst_cfg value (array, one entry). Written by the instance daemon at
 * start, on SIGHUP and with every table rebuild (map_version); read by
 * instance on every packet. Until CS_ICFG_READY, nothing is tracked. */
struct cs_inst_cfg {
	__u64 affinity_key[2];	/* route mode: the steering hosts' key (mesh.affinity_key) */
	__u64 map_version;	/* the epoch of a stream that begins here */
	__u32 vni;		/* encap: the VNI to read, this node's chain's;
				 * nsh: the SPI, the chain's wire id */
	__u32 self_id;		/* this instance's id on this node (cs_instance_ids) */
	__u32 mode;		/* enum cs_chain_mode */
	__u32 flags;		/* CS_ICFG_* */
	__u16 stage;		/* nsh: the stage this instance serves, from 0 */
	__u16 n_stages;		/* nsh: its chain's stages; stage + 1 == n_stages:
				 * the last, which delivers */
	__u32 next_buckets;	/* nsh: buckets of the next stage's table
				 * (cs_next_table, slot CS_NEXT_SLOT), a power of two;
				 * 0: none (the last stage) or none yet */
	__u32 prev_buckets;	/* nsh, symmetric: buckets of the previous stage's
				 * table (slot CS_PREV_SLOT), where return packets go
				 * on; 0: none (stage 0) or none yet */
	__u32 _pad;
};

/* cs_next_table slots: the neighbour stages of an instance's own */
#define CS_NEXT_SLOT 0	/* the next stage: what goes out goes on there */
#define CS_PREV_SLOT 1	/* the previous stage: what comes back goes on there */

#define CS_ICFG_READY  0x1	/* filled: track streams */
#define CS_ICFG_STRICT 0x2	/* drop TCP without state that is not a SYN */
#define CS_ICFG_SYMMETRIC 0x4	/* nsh: the chain is symmetric; return packets
				 * go back through the stages */
#define CS_ICFG_MARK_CODE 0x8	/* instance.mark: code: an admitted packet goes
				 * on to the service with its stream's affinity
				 * code as its mark (skb->mark) */
#define CS_ICFG_AFFINITY_HOSTS 0x10	/* route: the code is the pair of hosts', as
					 * the chain's steering hosts compute it */

/* cs_sync_stats value (array, one entry): what the instance daemon's sync
 * did since it started. Written by the daemon once a tick; read by the CLI. */
struct cs_sync_stat {
	__u64 msgs_sent;	/* datagrams sent to peers */
	__u64 streams_sent;	/* stream versions in them */
	__u64 msgs_received;	/* datagrams accepted */
	__u64 streams_received;
	__u64 installed;	/* newer than what was here: written */
	__u64 stale;		/* not newer (old or repeated): ignored */
	__u64 refused;		/* datagrams from addresses that are not peers of the chain, or
				 * that name another chain, sender or receiver */
	__u64 malformed;	/* datagrams from peers that do not parse (or another version) */
	__u64 send_errors;	/* datagrams the kernel would not send */
	__u64 lag_last_us;	/* event in the dataplane to its datagram sent */
	__u64 lag_max_us;
	__u64 map_version;
	__u64 resyncs;		/* whole-table passes (the table changed) */
	__u64 refreshes;	/* streams re-sent to keep peers' copies alive */
	__u64 unauthenticated;	/* datagrams from peers whose tag does not verify */
	__u64 authenticated;	/* 1: datagrams carry a keyed tag (mesh.sync_key or derived) */
};

/* Per-packet outcomes of instance, counted per CPU in cs_inst_reasons.
 * X(enum suffix, name printed by the CLI, help text) */
#define CS_INSTANCE_REASONS(X)                                                        \
	X(TRACKED, "tracked", "packets of streams with state: admitted")             \
	X(NEW, "new", "streams begun here (SYN, first datagram, loose pickup)")       \
	X(PICKED_UP, "picked_up", "loose: TCP streams admitted mid-stream")           \
	X(STRICT_DROP, "strict_drop", "strict: TCP without state, not a SYN: dropped") \
	X(TAKEN_OVER, "taken_over", "synced streams whose first packet came here")   \
	X(LOCAL, "local", "this node's (probes, sync) or link-local/multicast: not tracked") \
	X(NOT_IP, "not_ip", "not IPv4 or IPv6: not tracked")                          \
	X(OTHER_VNI, "other_vni", "encap: VXLAN of another chain: not tracked")       \
	X(NOT_STEERED, "not_steered", "encap: not VXLAN to this node: not tracked")   \
	X(MALFORMED, "malformed", "headers cut short: passed, not tracked")           \
	X(EVENT_LOST, "event_lost", "ring buffer full: change left to the next resync") \
	X(NOT_READY, "not_ready", "the daemon has not configured it yet")                  \
	X(PROMOTED, "promoted", "streams proven and moved to cs_streams")                   \
	X(STREAMS_FULL, "streams_full", "proven streams left in cs_streams_new: cs_streams was full") \
	X(NSH_REFUSED, "nsh_refused", "nsh: chain header refused (cs_nsh_reasons says why): dropped") \
	X(NSH_UNWRAPPED, "nsh_unwrapped", "nsh: chain header taken off for the service (counted besides tracked)") \
	X(NSH_SENT_ON, "nsh_sent_on", "nsh, egress: packets from the service wrapped toward the next stage")

#define CS_INSTANCE_REASON_ENUM(sym, name, help) CS_I_##sym,
enum cs_inst_reason {
	CS_INSTANCE_REASONS(CS_INSTANCE_REASON_ENUM)
	CS_I_MAX,
};
#undef CS_INSTANCE_REASON_ENUM

/* ---- chains of services: NSH (RFC 8300) over VXLAN-GPE (docs/chains.md) ---- */

/* VXLAN-GPE's port (draft-ietf-nvo3-vxlan-gpe), apart from VXLAN's
 * CS_VXLAN_PORT: a receiver tells the two apart by port alone. */
#define CS_GPE_PORT         4790	/* UDP: VXLAN-GPE, carrying the chain header */
#define CS_GPE_NP_NSH       4	/* VXLAN-GPE next protocol: NSH */
/* NSH next protocols (RFC 8300 section 11.2.5): what follows the header.
 * cloudsteer carries the IP packet alone; Ethernet is named to be refused. */
#define CS_NSH_NP_IPV4      1	/* NSH next protocol: IPv4 */
#define CS_NSH_NP_IPV6      2	/* NSH next protocol: IPv6 */
#define CS_NSH_NP_ETHERNET  3	/* NSH next protocol: Ethernet (refused) */
#define CS_NSH_MD_TYPE1     1	/* four fixed 32-bit context words */
#define CS_NSH_TTL_DEFAULT  63	/* RFC 8300's initial TTL: the hops a packet may make */
/* A chain of n stages is one service path, out and back (docs/chains.md):
 * going out, the SI toward stage k is 255 - k; coming back (the return
 * packets of a symmetric chain, last stage first), 255 - n - (n - 1 - k).
 * Each hop lowers it by one, as RFC 8300 asks. */
#define CS_NSH_SI_FIRST     255	/* the SI toward stage 0, going out */
#define CS_CHAIN_STAGES_MAX 16	/* stages of one chain: SIs 255 down to 224 */
/* what wrapping adds between the frame's Ethernet header and its IP packet:
 * outer IP, UDP, VXLAN-GPE, NSH of MD type 1 (8 + 16 octets) */
#define CS_NSH_OVERHEAD4    (20 + 8 + 8 + 24)	/* over IPv4 */
#define CS_NSH_OVERHEAD6    (40 + 8 + 8 + 24)	/* over IPv6 */

/* cs_nsh_md.flags, the third context word; the other bits are sent 0 and
 * ignored on receipt, as RFC 8300 asks of unassigned bits */
#define CS_NSH_F_RETURN     0x1	/* the packet goes server to client */
#define CS_NSH_F_SYMMETRIC  0x2	/* the chain sees both directions of the stream */

/* What one NSH header says, in host order: what the gateway or a stage
 * writes and the next stage reads (bpf/lib/nsh.h). The fourth context word
 * is sent 0 and ignored on receipt. */
struct cs_nsh_md {
	__u32 spi;		/* service path id, 24 bits: the chain's wire id (VNI) */
	__u32 code;		/* context word 1: the stream affinity code, all 32 bits */
	__u32 chain;		/* context word 2: the chain's wire id, whatever path SPI names */
	__u32 flags;		/* context word 3: CS_NSH_F_* */
	__u8 si;		/* service index: which stage, going out or back (CS_NSH_SI_FIRST) */
	__u8 ttl;		/* hops left: each stage that forwards takes one */
	__u8 next_proto;	/* CS_NSH_NP_IPV4 or CS_NSH_NP_IPV6 */
	__u8 _pad;
};

/* Why a VXLAN-GPE + NSH header was refused (bpf/lib/nsh.h); every refused
 * packet is dropped, never sent on around the chain.
 * X(enum suffix, name printed by the CLI, help text) */
#define CS_NSH_REASONS(X)                                                                        \
	X(OK, "nsh_ok", "a header cloudsteer writes and reads")                                  \
	X(SHORT, "nsh_short", "the UDP, VXLAN-GPE or NSH header, or the inner IP header, cut short") \
	X(GPE_FLAGS, "gpe_flags", "VXLAN-GPE without the P bit, or with a version other than 0 or the O (OAM) bit") \
	X(GPE_NOT_NSH, "gpe_not_nsh", "VXLAN-GPE whose next protocol is not NSH (4)")           \
	X(VERSION, "nsh_version", "NSH version other than 0")                                    \
	X(OAM, "nsh_oam", "NSH with the O bit: an OAM packet, which no stage answers")          \
	X(MD_TYPE, "nsh_md_type", "NSH of an MD type other than 1 (four fixed context words)")   \
	X(LENGTH, "nsh_length", "NSH of MD type 1 whose length is not 6 words")                  \
	X(TTL, "nsh_ttl", "NSH with TTL 0: its sender forwarded what it must not")                \
	X(NEXT_PROTO, "nsh_next_proto", "NSH carrying something other than IPv4 (1) or IPv6 (2)") \
	X(INNER, "nsh_inner", "the inner packet is not of the IP version the next protocol names") \
	X(SI_RANGE, "nsh_si", "a service index that names no stage: below 256 - 2 x CS_CHAIN_STAGES_MAX, or past the chain's path out and back") \
	X(TTL_EXPIRED, "nsh_ttl_expired", "forwarding would take the TTL to 0: a loop in the service plane") \
	X(CHAIN, "nsh_chain", "an SPI that names no chain this instance serves")                 \
	X(STAGE, "nsh_stage", "an SI that names a stage this instance does not serve")           \
	X(NO_NEXT, "nsh_no_next", "no instance of the next stage (or, coming back, the previous one) is up, or none is reachable yet") \
	X(UNWRAP, "nsh_unwrap", "the header could not be taken off (VLAN-tagged, or families differ before 6.3)")

#define CS_NSH_REASON_ENUM(sym, name, help) CS_NSH_##sym,
enum cs_nsh_reason {
	CS_NSH_REASONS(CS_NSH_REASON_ENUM)
	CS_NSH_MAX,
};
#undef CS_NSH_REASON_ENUM

/* ---- events (ring buffer) ---- */
enum cs_event_type {
	CS_EV_RECORD_NEW = 1,
	CS_EV_RECORD_REFRESH = 2,	/* only with the report_refresh load option (replay) */
	CS_EV_RECORD_EXTENDED = 3,	/* only with report_extended (a cluster's
					 * gateway): a refresh that moved the
					 * expiry past what the cluster knows */
};

struct cs_learn_event {
	__u64 ts_ns;
	__u32 type;		/* enum cs_event_type */
	__u32 rule_id;
	__u32 pattern_id;
	__u32 ttl;
	__u32 acl_id;
	__u32 _pad;
	struct cs_addr addr;
	struct cs_name qname;	/* the question */
	struct cs_name name;	/* the owner of the A/AAAA record */
};

/*
 * ---- reasons ----
 * Packet outcomes: exactly one per packet the learn program sees.
 * Record outcomes: one per A/AAAA record on a matched chain, or per event.
 * X(enum suffix, name printed by the CLI, help text)
 */
#define CS_PACKET_REASONS(X)                                                          \
	X(NOT_IP, "not_ip", "not IPv4 or IPv6")                                        \
	X(NOT_DNS, "not_dns", "not UDP or TCP from port 53")                           \
	X(NOT_RESOLVER, "not_resolver", "answer from a server not in learn.resolvers")  \
	X(NO_QUERY, "no_query", "answer to no query seen leaving within learn.query_window") \
	X(QUERY_MISMATCH, "query_mismatch", "answer whose question is not its query's")     \
	X(FRAGMENT, "fragment", "IP fragment: the DNS message is not whole")           \
	X(TCP_PARTIAL, "tcp_partial", "TCP segment without one whole DNS message")     \
	X(TRUNCATED, "truncated", "packet shorter than its headers say")               \
	X(TOO_BIG, "too_big", "DNS message larger than CS_MSG_MAX")                    \
	X(NOT_RESPONSE, "not_response", "QR=0: a query")                               \
	X(BAD_OPCODE, "bad_opcode", "opcode is not QUERY")                             \
	X(RCODE, "rcode", "RCODE is not NOERROR")                                      \
	X(QDCOUNT, "qdcount", "question count is not 1")                              \
	X(BAD_NAME, "bad_name", "bad label type, label over 63 or name over 255")     \
	X(POINTER_LOOP, "pointer_loop", "compression pointer loops or points forward") \
	X(BAD_RECORD, "bad_record", "record runs past the message or lies about counts") \
	X(NO_ANSWER, "no_answer", "response without answer records")                   \
	X(NO_RULE, "no_rule", "no name on the chain matches a rule")                   \
	X(NO_ADDRESS, "no_address", "matched, but no A/AAAA record on the chain")      \
	X(LEARNED, "learned", "taught at least one new record")                        \
	X(REFRESHED, "refreshed", "only refreshed known records")                      \
	X(NOT_STORED, "not_stored", "matched, but tables or the rule's quota were full: nothing stored") \
	X(NOT_READY, "not_ready", "rules not loaded yet")                              \
	X(INTERNAL, "internal", "scratch map unavailable (should not happen)")

#define CS_RECORD_REASONS(X)                                                          \
	X(REC_LEARNED, "rec_learned", "records created")                               \
	X(REC_REFRESHED, "rec_refreshed", "records refreshed")                         \
	X(REC_OFF_CHAIN, "rec_off_chain", "A/AAAA/CNAME whose owner is not on the chain") \
	X(REC_BAD_ADDR, "rec_bad_addr", "AAAA holding an IPv4-mapped address")         \
	X(REC_CAPPED, "rec_capped", "answers cut at learn.max_records: their later records not read") \
	X(REC_CHAIN_LONG, "rec_chain_long", "CNAME chains longer than CS_CHAIN_MAX")   \
	X(TABLE_FULL, "table_full", "record table full: record not made")             \
	X(ROUTE_FULL, "route_full", "route table full: route not made")               \
	X(NAMES_FULL, "names_full", "name table full: name text not kept")            \
	X(ACL_EMPTY, "acl_empty", "route made without an ACL id: pool empty")         \
	X(EVENT_LOST, "event_lost", "ring buffer full: event dropped")                 \
	X(REPEATS, "repeats", "identical answers within a second: outcome reused")    \
	X(RULE_QUOTA, "rule_quota", "record not made: its rule holds its quota of records") \
	X(NEVER_LOOPBACK, "never_loopback", "no route: a loopback address")            \
	X(NEVER_LINK_LOCAL, "never_link_local", "no route: a link-local address")      \
	X(NEVER_MULTICAST, "never_multicast", "no route: a multicast or broadcast address") \
	X(NEVER_UNSPECIFIED, "never_unspecified", "no route: an unspecified address (0/8, ::)") \
	X(NEVER_LOCAL, "never_local", "no route: one of this host's own addresses")    \
	X(NEVER_CONFIGURED, "never_configured", "no route: in learn.never_steer")      \
	X(QUERIES_SEEN, "queries_seen", "queries recorded leaving the host (query matching)")

#define CS_REASON_ENUM(sym, name, help) CS_R_##sym,
enum cs_reason {
	CS_R_OK = 0,		/* not a reason: "go on" for the parsers */
	CS_PACKET_REASONS(CS_REASON_ENUM)
	CS_R_PACKET_END,	/* marker between the two groups, never counted */
	CS_RECORD_REASONS(CS_REASON_ENUM)
	CS_R_MAX,
};
#undef CS_REASON_ENUM

/* ---- compile-time checks of the layouts ---- */
_Static_assert(sizeof(struct cs_pattern_ref) == 8, "cs_pattern_ref layout");
_Static_assert(sizeof(struct cs_rule_name) == 24, "cs_rule_name layout");
_Static_assert(sizeof(struct cs_rule) == 24, "cs_rule layout");
_Static_assert(sizeof(struct cs_pattern_info) == 268, "cs_pattern_info layout");
_Static_assert(sizeof(struct cs_rule_stat) == 24, "cs_rule_stat layout");
_Static_assert(sizeof(struct cs_config) == 64, "cs_config layout");
_Static_assert(sizeof(struct cs_addr) == 16, "cs_addr layout");
_Static_assert(sizeof(struct cs_record_key) == 24, "cs_record_key layout");
_Static_assert(sizeof(struct cs_record) == 48, "cs_record layout");
_Static_assert(sizeof(struct cs_route) == 32, "cs_route layout");
_Static_assert(sizeof(struct cs_learn_event) == 48 + 2 * CS_NAME_TEXT_MAX, "event layout");
_Static_assert((CS_MSG_MAX & (CS_MSG_MAX - 1)) == 0, "CS_MSG_MAX is a power of two");
_Static_assert((CS_RECORDS_MAX & (CS_RECORDS_MAX - 1)) == 0, "CS_RECORDS_MAX is a power of two");
_Static_assert(CS_RECORDS_MAX * 11 > CS_MSG_MAX, "no message learn reads holds more records than it walks");
_Static_assert(sizeof(struct cs_flow_key) == 40, "cs_flow_key layout");
_Static_assert(sizeof(struct cs_flow) == 72, "cs_flow layout");
_Static_assert(!((CS_LIFE_FIN_LO | CS_LIFE_FIN_HI | CS_LIFE_FIRST_LO | CS_LIFE_BEGAN_SYN | CS_LIFE_FULL_SEEN) &
		 (CS_STREAM_SYNCED | CS_STREAM_PICKED_UP | CS_STREAM_PROVEN)), "stream flags apart");
_Static_assert(sizeof(struct cs_chain) == 24, "cs_chain layout");
_Static_assert(sizeof(struct cs_instance) == 56, "cs_instance layout");
_Static_assert(__builtin_offsetof(struct cs_instance, state) == 36, "tests/e2e/steer.sh writes the state at 36");
_Static_assert(sizeof(struct cs_bucket) == 4, "cs_bucket layout");
_Static_assert(sizeof(struct cs_inst_stat) == 40, "cs_inst_stat layout");
_Static_assert(sizeof(struct cs_acl_stat) == 16, "cs_acl_stat layout");
_Static_assert(sizeof(struct cs_stream) == 56, "cs_stream layout");
_Static_assert(sizeof(struct cs_stream_event) == 96, "cs_stream_event layout");
_Static_assert(sizeof(struct cs_inst_cfg) == 56, "cs_inst_cfg layout");
_Static_assert(sizeof(struct cs_nsh_md) == 20, "cs_nsh_md layout");
_Static_assert(CS_NSH_SI_FIRST - 2 * CS_CHAIN_STAGES_MAX + 1 > 0, "every stage has an SI above 0, out and back");
_Static_assert(sizeof(struct cs_sync_stat) == 128, "cs_sync_stat layout");
_Static_assert(sizeof(struct cs_id_holder) == 2 * CS_ID_NAME_MAX + 16, "cs_id_holder layout");
_Static_assert(CS_R_MAX <= 64, "reasons fit the stats map");
_Static_assert(sizeof(struct cs_query_key) == 40, "cs_query_key layout");
_Static_assert(sizeof(struct cs_query) == 16, "cs_query layout");
_Static_assert(sizeof(struct cs_never_key) == 20, "cs_never_key layout");
_Static_assert(sizeof(struct cs_rule_quota) == 16, "cs_rule_quota layout");
_Static_assert(sizeof(struct cs_repeat_slot) == 48, "cs_repeat_slot layout");
_Static_assert(CS_R_NEVER_CONFIGURED - CS_R_NEVER_LOOPBACK == CS_NEVER_CONFIGURED - CS_NEVER_LOOPBACK,
	       "a never-steer kind counts under its reason");

#endif /* CLOUDSTEER_H */
