/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * etcd.h - an etcd v3 client over its JSON gateway (POST /v3/..., JSON in
 * and out), with libcurl and json-c.
 *
 * Written for a thread of a daemon that must never stall: every call blocks,
 * but never longer than the request timeout, failovers included. A call
 * goes to the endpoint that last worked; one that refuses the connection,
 * cannot be reached in the dial timeout or says it is cut off from its
 * cluster is left for the next in the list, within the same call, and the
 * one that answers is remembered. A call that changes something (put,
 * delete, txn, lease grant and revoke) moves on only while its request has
 * not been sent: once sent, its outcome is unknown, and repeating it could
 * apply it twice (a txn that took would then report that it did not), so it
 * fails (-ETIMEDOUT, or -ECONNRESET when the connection broke under it),
 * saying it "may or may not have been applied", and the next call starts
 * at the next endpoint. Reads and keepalives are repeated, each
 * try with its share of the time left.
 *
 * Errors are -errno-like codes, with what happened in plain words in err:
 *   -ECONNREFUSED  "etcd at URL refused the connection" (every endpoint did)
 *   -ETIMEDOUT     "etcd at URL did not answer within 5s"
 *   -EPROTO        TLS failed, or the answer was not what the gateway sends
 *   -EACCES        "etcd says: etcdserver: permission denied", bad credentials
 *   -ENOENT        "etcd says: etcdserver: requested lease not found"
 *   -ESTALE        a revision that etcd has compacted away: list again
 *   -EAGAIN        etcd is there but cannot serve now: "etcdserver: no
 *                  leader" (every request asks etcd to refuse at once
 *                  rather than wait when the member has no leader)
 *   -EINVAL, -ERANGE, -ENOSPC, -EIO   what etcd said, with its words
 * Keys and values are bytes (base64 on the wire); text is the common case,
 * so returned keys and values are followed by a NUL that their length does
 * not count.
 *
 * A client is one thread's: calls on one client must not overlap. A watch
 * has a connection of its own and may live in another thread than its
 * client, but is opened from the client's thread.
 */
#ifndef CS_ETCD_H
#define CS_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define CS_ETCD_ERR_MAX 256	/* an err buffer this long holds every message */

struct cs_cluster_conf;

/* Bytes to send: a key, a value. */
struct cs_etcd_buf {
	const void *p;
	size_t len;
};

#define CS_ETCD_STR(s) ((struct cs_etcd_buf){ (s), strlen(s) })

/* How to reach etcd; what the client needs of it is copied at open. */
struct cs_etcd_opts {
	const char *const *endpoints;	/* "http://HOST:PORT", "https://..." */
	size_t n_endpoints;
	struct cs_etcd_buf ca, cert, key;	/* PEM; ca alone, or cert and key too */
	const char *user, *password;	/* NULL: no auth */
	unsigned int dial_timeout_ms;	/* to connect to one endpoint */
	unsigned int request_timeout_ms;	/* a whole call */
};

/* The options of a `cluster:` section (its strings stay the config's). */
void cs_etcd_opts_from_conf(const struct cs_cluster_conf *cl, struct cs_etcd_opts *o);

struct cs_etcd;

/* A client. With credentials it authenticates here, so a wrong password
 * fails now and not at the first call; no other request is made. */
int cs_etcd_open(const struct cs_etcd_opts *o, struct cs_etcd **out, char *err, size_t errlen);
void cs_etcd_close(struct cs_etcd *c);
/* The endpoint calls go to now: the last that answered. */
const char *cs_etcd_endpoint(const struct cs_etcd *c);

/* ---- keys and values ---- */

struct cs_etcd_kv {
	char *key;			/* NUL-terminated after key_len bytes */
	size_t key_len;
	char *value;			/* the same */
	size_t value_len;
	int64_t create_revision;	/* the revision that made the key */
	int64_t mod_revision;		/* the revision of its last change */
	int64_t version;		/* changes since it was made, 1 first */
	int64_t lease;			/* 0: none */
};

/* What a get found. */
struct cs_etcd_kvs {
	struct cs_etcd_kv *kvs;
	size_t n;
	int64_t revision;		/* the store's revision the answer is from */
	int64_t count;			/* keys in the range in all, beyond a limit too */
	bool more;			/* the limit cut it: more keys follow */
};

void cs_etcd_kvs_free(struct cs_etcd_kvs *r);

/* A get: one key, a prefix, or [key, end). */
struct cs_etcd_get {
	struct cs_etcd_buf key;
	bool prefix;			/* every key that starts with key */
	struct cs_etcd_buf end;		/* with .p and no prefix: up to end, excluded */
	int64_t revision;		/* 0: the latest; else the store as it was then */
	int64_t limit;			/* 0: every key */
	bool keys_only;			/* no values */
	bool count_only;		/* only count */
};

int cs_etcd_get(struct cs_etcd *c, const struct cs_etcd_get *q, struct cs_etcd_kvs *out, char *err,
		size_t errlen);

/* Every key under a prefix, in pages of page_size keys, all read at one
 * revision (the first page's, unless revision is given), so the list is one
 * consistent view however large: the list of a list-then-watch. */
int cs_etcd_get_prefix(struct cs_etcd *c, struct cs_etcd_buf prefix, int64_t revision, int64_t page_size,
		       struct cs_etcd_kvs *out, char *err, size_t errlen);

/* Put a value, on a lease (0: none); the revision it made in *revision
 * (may be NULL). */
int cs_etcd_put(struct cs_etcd *c, struct cs_etcd_buf key, struct cs_etcd_buf value, int64_t lease,
		int64_t *revision, char *err, size_t errlen);

/* Delete a key, or every key under it with prefix; how many went in
 * *deleted, the revision in *revision (either may be NULL). */
int cs_etcd_delete(struct cs_etcd *c, struct cs_etcd_buf key, bool prefix, int64_t *deleted,
		   int64_t *revision, char *err, size_t errlen);

/* ---- transactions ---- */

enum cs_etcd_target { CS_ETCD_VALUE, CS_ETCD_VERSION, CS_ETCD_CREATE, CS_ETCD_MOD, CS_ETCD_LEASE };
enum cs_etcd_cmp_op { CS_ETCD_EQ, CS_ETCD_NE, CS_ETCD_LT, CS_ETCD_GT };

/* One compare: the key's target against value (CS_ETCD_VALUE) or number.
 * A key that does not exist has version, create and mod revision 0: "create
 * revision = 0" is "the key is absent". */
struct cs_etcd_cmp {
	struct cs_etcd_buf key;
	enum cs_etcd_target target;
	enum cs_etcd_cmp_op op;
	struct cs_etcd_buf value;
	int64_t number;
};

enum cs_etcd_op_kind { CS_ETCD_OP_PUT, CS_ETCD_OP_DELETE, CS_ETCD_OP_GET };

struct cs_etcd_op {
	enum cs_etcd_op_kind kind;
	struct cs_etcd_buf key;
	struct cs_etcd_buf value;	/* put */
	int64_t lease;			/* put */
	bool prefix;			/* delete, get */
};

struct cs_etcd_txn {
	const struct cs_etcd_cmp *cmp;	/* all must hold ... */
	size_t n_cmp;
	const struct cs_etcd_op *then;	/* ... for these to run, */
	size_t n_then;
	const struct cs_etcd_op *otherwise;	/* else these, */
	size_t n_otherwise;		/* at one revision, all or nothing */
};

struct cs_etcd_txn_result {
	bool succeeded;			/* the compares held: then ran */
	int64_t revision;
	struct cs_etcd_kvs *gets;	/* one per op of the branch that ran; */
	size_t n_gets;			/* what a get found, empty for the others */
};

int cs_etcd_txn(struct cs_etcd *c, const struct cs_etcd_txn *t, struct cs_etcd_txn_result *out, char *err,
		size_t errlen);
void cs_etcd_txn_result_free(struct cs_etcd_txn_result *r);

/* ---- leases ---- */

int cs_etcd_lease_grant(struct cs_etcd *c, int64_t ttl_s, int64_t *id, char *err, size_t errlen);
/* Renew once: the TTL it has now in *ttl_s; -ENOENT when the lease is gone
 * (expired or revoked: its keys are gone too). */
int cs_etcd_lease_keepalive(struct cs_etcd *c, int64_t id, int64_t *ttl_s, char *err, size_t errlen);
/* Without renewing it: the TTL it has left and the one it was granted;
 * -ENOENT when it is gone. */
int cs_etcd_lease_ttl(struct cs_etcd *c, int64_t id, int64_t *ttl_s, int64_t *granted_s, char *err,
		      size_t errlen);
/* Its keys go with it. -ENOENT: it was gone already. */
int cs_etcd_lease_revoke(struct cs_etcd *c, int64_t id, char *err, size_t errlen);

/* ---- health ---- */

struct cs_etcd_status {
	char version[32];		/* etcd's, "3.4.23" */
	uint64_t member;		/* the member that answered */
	uint64_t leader;		/* 0: it knows no leader */
	int64_t revision;
	uint64_t raft_term;
	int64_t db_size;		/* bytes */
};

/* The status of the member calls go to (with failover like any read). */
int cs_etcd_status(struct cs_etcd *c, struct cs_etcd_status *st, char *err, size_t errlen);

/* ---- watches ---- */

struct cs_etcd_watch_opts {
	struct cs_etcd_buf key;
	bool prefix;			/* every key under key */
	int64_t start_revision;		/* 0: from now; else from then (list's + 1) */
	bool prev_kv;			/* each event with the key's value before it */
	bool progress_notify;		/* etcd's periodic empty answers, with the revision */
};

enum cs_etcd_event_type { CS_ETCD_EVENT_PUT, CS_ETCD_EVENT_DELETE };

struct cs_etcd_event {
	enum cs_etcd_event_type type;
	struct cs_etcd_kv kv;		/* a delete: the key and mod_revision only */
	struct cs_etcd_kv prev_kv;	/* with prev_kv, when etcd still had it */
	bool has_prev;
};

struct cs_etcd_watch;

/*
 * Open a watch on a connection of its own: returns once etcd says it is in
 * place (so a put made after this is seen), failing over like a read.
 */
int cs_etcd_watch_open(struct cs_etcd *c, const struct cs_etcd_watch_opts *o, struct cs_etcd_watch **out,
		       char *err, size_t errlen);

/*
 * The next event, waiting up to timeout_ms for it (0: do not wait; -1: no
 * limit). Returns 1 with *ev (valid until the next call), 0 when none came
 * in time or cs_etcd_watch_wake() was called, or:
 *   -ESTALE      etcd canceled the watch: its start revision was compacted
 *                (cs_etcd_watch_compact_revision() says to which); list
 *                again and watch from the list's revision + 1
 *   -ECONNRESET  the connection broke or the member went away: open again
 *                from cs_etcd_watch_revision() + 1
 *   -EAGAIN      the member lost its leader (it is cut off from its
 *                cluster): open again, from the revision as above; the
 *                client moves to a member that has one
 *   -ECANCELED   etcd canceled it for another reason (in err)
 * After an error, every call returns the same error.
 */
int cs_etcd_watch_next(struct cs_etcd_watch *w, int timeout_ms, struct cs_etcd_event **ev, char *err,
		       size_t errlen);

/*
 * Wait until one of ws[0..n) has something to hand out or has ended, fd is
 * readable (-1: none; an eventfd another thread writes, say), or timeout_ms
 * passed: for a thread that reads several watches. Then call
 * cs_etcd_watch_next() with a timeout of 0 on each. Returns 1 when
 * something may be ready, 0 when the time passed.
 */
int cs_etcd_watch_wait(struct cs_etcd_watch *const *ws, size_t n, int fd, int timeout_ms);

/* The highest revision the watch has reported: every change up to it has
 * been delivered. */
int64_t cs_etcd_watch_revision(const struct cs_etcd_watch *w);
int64_t cs_etcd_watch_compact_revision(const struct cs_etcd_watch *w);
/* Make a wait in cs_etcd_watch_next() return 0 now (or the next wait, when
 * none is under way); from any thread, to give the watch's thread other
 * work. */
void cs_etcd_watch_wake(struct cs_etcd_watch *w);
void cs_etcd_watch_close(struct cs_etcd_watch *w);

/* ---- ranges ---- */

/*
 * The end of the range of every key that starts with key[0..len): the key
 * with its last byte + 1, bytes of 0xff dropped first ("a\xff" -> "b"). A
 * key of 0xff bytes alone has no such end: the range goes to the end of the
 * keyspace, which etcd writes as the single byte 0. Writes to out (len + 1
 * bytes hold it) and returns the end's length.
 */
size_t cs_etcd_prefix_end(const void *key, size_t len, unsigned char *out);

#endif
