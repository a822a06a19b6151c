/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * clusterview.h - what `cloudsteer show cluster` reads from etcd itself (not
 * from a daemon, so it works on any node with the config, its daemon
 * running or not): the members, what each published, and where they
 * disagree with this node's config.
 *
 * The comparison is with the config given (-c FILE), not with what this
 * node registered: what the file says is what the node runs once it
 * (re)starts.
 */
#ifndef CS_CLUSTERVIEW_H
#define CS_CLUSTERVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agreedmap.h"
#include "clustervalues.h"
#include "config.h"
#include "etcd.h"

struct cs_cluster_member {
	char node[CS_NODE_WORD_MAX];
	struct cs_node_value v;
	int64_t lease;
	int64_t ttl_left, ttl_granted;	/* -1: the lease is gone (it is leaving) */
	__u64 records;			/* ip/ keys it published */
	unsigned int differs;		/* bit p: its digest of part p is not this node's */
};

/* Who published records, members or not (a node that left has its records
 * until they expire). */
struct cs_cluster_publisher {
	char node[CS_NODE_WORD_MAX];
	__u64 records;
	bool member;
};

/* Records another node publishes under a pattern this node lacks. */
struct cs_cluster_drift {
	char node[CS_NODE_WORD_MAX];
	char pattern[CS_NAME_TEXT_MAX + 2];
	__u64 records;
};

/* One chain of the config given, as etcd has it. */
struct cs_cluster_chain {
	char name[CS_NODE_WORD_MAX];
	char leader[CS_NODE_WORD_MAX];	/* "": nobody leads it */
	int64_t fence;			/* its leader key's create revision */
	struct cs_map_value map;	/* its agreed map, when map_revision */
	int64_t map_revision;		/* 0: none (or it did not parse: map_bad) */
	bool map_bad;
	/* by the position of the instance in map (or the config, with no map) */
	unsigned int observers[CS_AGREED_INSTANCES_MAX], down[CS_AGREED_INSTANCES_MAX];
	bool drain[CS_AGREED_INSTANCES_MAX];
	bool self_seen[CS_AGREED_INSTANCES_MAX];
};

struct cs_cluster_view {
	char cluster[CS_NODE_WORD_MAX], self[CS_NODE_WORD_MAX];
	char endpoint[256];		/* the member that answered */
	struct cs_etcd_status status;
	int64_t revision;		/* the records were read at it */
	struct cs_conf_digest mine;	/* of the config given */
	struct cs_cluster_member *members;
	size_t n_members;
	struct cs_cluster_publisher *publishers;
	size_t n_publishers;
	struct cs_cluster_drift *drift;
	size_t n_drift;
	__u64 records;			/* every ip/ key */
	__u64 malformed;		/* ip/ keys that are not records */
	struct cs_cluster_chain *chains;	/* the config's, in its order */
	size_t n_chains;
};

/* Read it all from the etcd of conf's cluster: section. 0, or -errno with
 * the reason in err. */
int cs_cluster_view_read(const struct cs_conf *conf, struct cs_cluster_view *v, char *err, size_t errlen);
void cs_cluster_view_free(struct cs_cluster_view *v);

#endif
