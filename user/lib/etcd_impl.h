/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * etcd_impl.h - what etcd.c (the calls) and etcdwatch.c (the watches) share:
 * the client's insides, one way to set up a connection, the JSON on both
 * sides, and the words for what went wrong. Nothing else includes it.
 */
#ifndef CS_ETCD_IMPL_H
#define CS_ETCD_IMPL_H

#include <curl/curl.h>
#include <json-c/json.h>

#include "etcd.h"

/* A copy of a PEM file's bytes, wiped when freed (the key is one). */
struct etcd_blob {
	char *p;
	size_t len;
};

/* Bytes received: an answer, or a watch's stream not yet read. */
struct etcd_membuf {
	char *p;
	size_t len, cap;
	size_t max;			/* more is an error, not an allocation */
	bool too_big;
};

struct cs_etcd {
	char **endpoints;
	size_t n_endpoints;
	size_t cur;			/* where calls go: the last that answered */
	struct etcd_blob ca, cert, key;
	char *user, *password;
	char *token;			/* from /v3/auth/authenticate; NULL: none */
	unsigned int dial_ms, request_ms;
	CURL *easy;			/* kept, so its connections are reused */
	struct curl_slist *headers;	/* with the token, when there is one */
	struct etcd_membuf answer;
	char curl_err[CURL_ERROR_SIZE];
};

/* The headers every request carries: JSON, no "Expect: 100-continue" (a
 * second's wait on bodies over 1 KiB), etcd's require-leader, the auth
 * token when there is one. */
struct curl_slist *etcd_headers(const struct cs_etcd *c);

/* Set an easy handle up for one endpoint: TLS, headers, timeouts in ms
 * (total 0: none, for a watch), the answer into buf. */
int etcd_setup_easy(const struct cs_etcd *c, CURL *e, const char *url, struct curl_slist *headers,
		    unsigned int connect_ms, unsigned int total_ms, struct etcd_membuf *buf, char *curl_err);

/* What a failed transfer means, in words into err; returns -errno. *sent
 * says whether the request may have reached etcd. */
int etcd_transport_error(CURL *e, CURLcode cc, const char *endpoint, unsigned int timeout_ms,
			 const char *curl_err, bool *sent, char *err, size_t errlen);

/* An error etcd sent, either shape the gateway writes: {"error": "text",
 * "code": N} or, in a stream, {"error": {"grpc_code": N, "message": ...}}.
 * Returns -errno and "etcd says: ..." in err; 0 when o holds no error. */
int etcd_said_error(json_object *o, int *grpc_code, char *err, size_t errlen);

void etcd_membuf_reset(struct etcd_membuf *b);
void etcd_membuf_free(struct etcd_membuf *b);

/* JSON to send: bytes as base64, numbers. 0 or -ENOMEM. */
int etcd_add_bytes(json_object *o, const char *name, struct cs_etcd_buf b);
int etcd_add_i64(json_object *o, const char *name, int64_t v);
int etcd_add_bool(json_object *o, const char *name, bool v);

/* JSON received. The gateway writes 64-bit numbers as strings and leaves
 * out members of value 0, false or empty. */
int64_t etcd_get_i64(json_object *o, const char *name);
bool etcd_get_bool(json_object *o, const char *name);
/* A kv as the gateway writes it; 0, -ENOMEM or -EPROTO. */
int etcd_decode_kv(json_object *o, struct cs_etcd_kv *kv);
void etcd_kv_free(struct cs_etcd_kv *kv);

#endif
