/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * clustervalues.h - what the keys of a cluster hold (docs/cluster.md), and
 * how a record's key hangs on a lease. JSON, one object a value: etcdctl
 * shows it as it is, and a member a later version adds is ignored by this
 * one (only the layout's version, v1 in every key, breaks readers).
 *
 *   nodes/<node>    {"role":"gateway","version":"...","addresses":["10.40.0.11"],
 *                    "config":"<16 hex>","digests":{"rules":"...","chains":"...",
 *                    "mesh.affinity_key":"...","mesh.sync_key":"..."},
 *                    "lease_ttl":10,"started":1764000000,"synced":["ip"],
 *                    "tables":{"casb":{"digest":"<16 hex>","map":57}}}
 *   ip/<ip>/<name>  {"pattern":"*.cloudapp.test","rule":"<16 hex>","chain":"casb",
 *                    "ttl":300,"expires":1764000330,"learned":1764000000123,"by":"gw-1"}
 *
 * Times are wall clock (Unix seconds; learned in milliseconds): CLOCK_BOOTTIME
 * differs from host to host, so a record's expiry crosses the wire as a
 * date, and each node turns it back into its own clock.
 */
#ifndef CS_CLUSTERVALUES_H
#define CS_CLUSTERVALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#include "cloudsteer.h"
#include "confdigest.h"

/* ---- nodes/<node> ---- */

#define CS_NODE_ADDRS_MAX 16
#define CS_NODE_SYNCED_MAX 8
#define CS_NODE_WORD_MAX 64
#define CS_NODE_TABLES_MAX 16

/* A chain's table as a node installed it: its digest in names
 * (cs_table_digest) and the revision of the agreed map it was built from
 * (0: from the node's own view, no agreed map yet). */
struct cs_node_table {
	char chain[CS_NODE_WORD_MAX];
	__u64 digest;
	__s64 map_revision;
};

struct cs_node_value {
	char role[CS_NODE_WORD_MAX];		/* "gateway" or "instance" */
	char version[CS_NODE_WORD_MAX];		/* cloudsteer's */
	struct cs_addr addrs[CS_NODE_ADDRS_MAX];	/* this host's, but loopback
						 * and link-local */
	size_t n_addrs;
	struct cs_conf_digest digest;
	__u32 lease_ttl_s;
	__s64 started_s;			/* when its daemon started */
	char synced[CS_NODE_SYNCED_MAX][CS_NODE_WORD_MAX];	/* the parts whose first
						 * full publish is done */
	size_t n_synced;
	struct cs_node_table tables[CS_NODE_TABLES_MAX];	/* "tables" */
	size_t n_tables;
};

/* The value's JSON, malloc'd; NULL when out of memory. */
char *cs_node_value_encode(const struct cs_node_value *v);
/* -EINVAL when it is not a node's value (a member of the wrong kind, or
 * missing role or config). */
int cs_node_value_decode(const char *json, size_t len, struct cs_node_value *v);

/* ---- ip/<ip>/<name> ---- */

struct cs_record_value {
	char pattern[CS_NAME_TEXT_MAX + 2];	/* its text: ids are local */
	__u64 rule;				/* cs_rule_digest() of the rule */
	char chain[CS_NODE_WORD_MAX];		/* the rule's; "" when it observes */
	__u32 ttl;				/* seconds, after the rule's clamps */
	__s64 expires_s;			/* when it expires, rounded up */
	__s64 learned_ms;			/* the answer that made or last
						 * extended it, on its publisher */
	char by[CS_NODE_WORD_MAX];		/* the publisher's node name */
};

char *cs_record_value_encode(const struct cs_record_value *v);
int cs_record_value_decode(const char *json, size_t len, struct cs_record_value *v);

/* The key of (addr, name) in cluster: ".../ip/<ip>/<name>", the IP as
 * cs_addr_format() writes it (dotted quad, or RFC 5952), the name lower
 * case. Its length, or -ENAMETOOLONG. */
int cs_record_key(char *buf, size_t len, const char *cluster, const struct cs_addr *addr, const char *name);
/* Back from a key whose first prefix_len octets are the ip/ prefix. 0, or
 * -EINVAL when the rest is not "<ip>/<name>" with a name learn could have
 * learned. */
int cs_record_key_parse(const char *key, size_t len, size_t prefix_len, struct cs_addr *addr, char *name,
			size_t namelen);

/* ---- leases of ip/ keys ---- */

/*
 * Records hang on leases by expiry, never on one lease each and never kept
 * alive: etcd forgets a record about when it expires, even when its
 * publisher is gone. Expiries are grouped in buckets of CS_LEASE_BUCKET_S:
 * a record's bucket ends at its expiry rounded up, and the bucket's lease is
 * granted with a TTL to that end plus CS_LEASE_SLACK_S, so a key outlives
 * its record by at most a bucket and the slack (plus etcd's own lag in
 * revoking, up to half a second, and a renewal of every lease when etcd's
 * leader changes). Nobody relies on that lifetime for expiry: every node
 * expires its copy at the expiry in the value.
 */
#define CS_LEASE_BUCKET_S 5
#define CS_LEASE_SLACK_S 2
#define CS_LEASE_TTL_MIN_S 2	/* etcd grants no less (1.5 election timeouts) */

/* The end of the bucket of a record that expires at expires_s. */
__s64 cs_lease_bucket(__s64 expires_s);
/* The TTL to grant at now_s for the bucket that ends at bucket_s. */
__s64 cs_lease_ttl(__s64 bucket_s, __s64 now_s);

#endif
