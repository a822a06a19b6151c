// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * etcd.c - the client and its calls over etcd's JSON gateway (etcd.h says
 * what a call promises: its time limit, its failover, its errors).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "clock.h"
#include "config.h"
#include "etcd_impl.h"
#include "files.h"

/* An answer larger than this is refused: a page of a large prefix is far
 * smaller (cs_etcd_get_prefix), and the daemon's memory is not etcd's to
 * fill. */
#define ANSWER_MAX (64u << 20)

/* ---- bytes received ---- */

static size_t membuf_write(char *data, size_t size, size_t n, void *arg)
{
	struct etcd_membuf *b = arg;
	size_t len = size * n, cap;
	char *p;

	if (b->len + len > b->max) {
		b->too_big = true;
		return 0;	/* curl fails the transfer with CURLE_WRITE_ERROR */
	}
	if (b->len + len + 1 > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + len + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p)
			return 0;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	b->p[b->len] = 0;	/* json-c and strchr read it as a string */
	return len;
}

void etcd_membuf_reset(struct etcd_membuf *b)
{
	b->len = 0;
	b->too_big = false;
	if (b->p)
		b->p[0] = 0;
}

void etcd_membuf_free(struct etcd_membuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* ---- JSON ---- */

/* Adds v under name; v is the object's after, or freed on failure. */
static int add_value(json_object *o, const char *name, json_object *v)
{
	if (!v || json_object_object_add(o, name, v)) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

int etcd_add_bytes(json_object *o, const char *name, struct cs_etcd_buf b)
{
	char *text = malloc(CS_BASE64_LEN(b.len) + 1);
	json_object *s;
	size_t n;

	if (!text)
		return -ENOMEM;
	n = cs_base64_encode(b.p, b.len, text);
	s = json_object_new_string_len(text, (int)n);
	free(text);
	return add_value(o, name, s);
}

int etcd_add_i64(json_object *o, const char *name, int64_t v)
{
	return add_value(o, name, json_object_new_int64(v));
}

int etcd_add_bool(json_object *o, const char *name, bool v)
{
	return add_value(o, name, json_object_new_boolean(v));
}

/* Adds a new object under name and returns it (owned by o), or NULL. */
static json_object *add_object(json_object *o, const char *name)
{
	json_object *child = json_object_new_object();

	return add_value(o, name, child) ? NULL : child;
}

int64_t etcd_get_i64(json_object *o, const char *name)
{
	json_object *v;

	/* json-c reads a string member as a number too */
	return json_object_object_get_ex(o, name, &v) ? json_object_get_int64(v) : 0;
}

bool etcd_get_bool(json_object *o, const char *name)
{
	json_object *v;

	return json_object_object_get_ex(o, name, &v) && json_object_get_boolean(v);
}

static uint64_t get_u64(json_object *o, const char *name)
{
	json_object *v;

	/* member and cluster ids use all 64 bits */
	return json_object_object_get_ex(o, name, &v) ? json_object_get_uint64(v) : 0;
}

/* A base64 member as bytes and a NUL; absent is empty. */
static int get_bytes(json_object *o, const char *name, char **out, size_t *len)
{
	json_object *v;
	const char *text = "";
	size_t tlen = 0;

	if (json_object_object_get_ex(o, name, &v)) {
		if (!json_object_is_type(v, json_type_string))
			return -EPROTO;
		text = json_object_get_string(v);
		tlen = (size_t)json_object_get_string_len(v);
	}
	*out = malloc(tlen / 4 * 3 + 1);
	if (!*out)
		return -ENOMEM;
	if (cs_base64_decode(text, tlen, (unsigned char *)*out, len)) {
		free(*out);
		*out = NULL;
		return -EPROTO;
	}
	return 0;
}

int etcd_decode_kv(json_object *o, struct cs_etcd_kv *kv)
{
	int rc;

	memset(kv, 0, sizeof(*kv));
	rc = get_bytes(o, "key", &kv->key, &kv->key_len);
	if (!rc)
		rc = get_bytes(o, "value", &kv->value, &kv->value_len);
	if (rc) {
		etcd_kv_free(kv);
		return rc;
	}
	kv->create_revision = etcd_get_i64(o, "create_revision");
	kv->mod_revision = etcd_get_i64(o, "mod_revision");
	kv->version = etcd_get_i64(o, "version");
	kv->lease = etcd_get_i64(o, "lease");
	return 0;
}

void etcd_kv_free(struct cs_etcd_kv *kv)
{
	free(kv->key);
	free(kv->value);
	memset(kv, 0, sizeof(*kv));
}

/* ---- what went wrong, in words ---- */

/* etcd says "invalid argument" of credentials it refuses; to the caller it
 * is refused access like any other. */
static bool refused_credentials(const char *msg)
{
	return strstr(msg, "authentication failed") || strstr(msg, "user name is empty") ||
	       strstr(msg, "invalid auth token") || strstr(msg, "user name not found");
}

/* gRPC's status codes, as etcd uses them, to errno. */
static int errno_of_grpc(int code, const char *msg)
{
	if (refused_credentials(msg))
		return -EACCES;
	switch (code) {
	case 3: return -EINVAL;		/* InvalidArgument */
	case 4: return -ETIMEDOUT;	/* DeadlineExceeded */
	case 5: return -ENOENT;		/* NotFound: a lease */
	case 6: return -EEXIST;		/* AlreadyExists: a user, a role */
	case 7: return -EACCES;		/* PermissionDenied */
	case 8: return -ENOSPC;		/* ResourceExhausted: the database is full */
	case 9: return -EPERM;		/* FailedPrecondition */
	case 10: return -EAGAIN;	/* Aborted */
	case 11:			/* OutOfRange: compacted, or a future revision */
		return strstr(msg, "compacted") ? -ESTALE : -ERANGE;
	case 14: return -EAGAIN;	/* Unavailable: no leader, a timeout inside */
	case 16: return -EACCES;	/* Unauthenticated */
	default: return -EIO;
	}
}

int etcd_said_error(json_object *o, int *grpc_code, char *err, size_t errlen)
{
	json_object *e, *m;
	const char *msg = "an error without words";
	int code;

	if (!json_object_object_get_ex(o, "error", &e))
		return 0;
	if (json_object_is_type(e, json_type_object)) {	/* a stream's */
		code = (int)etcd_get_i64(e, "grpc_code");
		if (json_object_object_get_ex(e, "message", &m))
			msg = json_object_get_string(m);
	} else {
		code = (int)etcd_get_i64(o, "code");
		msg = json_object_get_string(e);
	}
	if (grpc_code)
		*grpc_code = code;
	snprintf(err, errlen, "etcd says: %s", msg);
	return errno_of_grpc(code, msg);
}

static bool tls_failure(CURLcode cc)
{
	return cc == CURLE_SSL_CONNECT_ERROR || cc == CURLE_PEER_FAILED_VERIFICATION ||
	       cc == CURLE_SSL_CERTPROBLEM || cc == CURLE_SSL_CIPHER || cc == CURLE_SSL_CACERT_BADFILE ||
	       cc == CURLE_SSL_ENGINE_NOTFOUND || cc == CURLE_SSL_ENGINE_SETFAILED ||
	       cc == CURLE_SSL_ISSUER_ERROR || cc == CURLE_SSL_CRL_BADFILE || cc == CURLE_SSL_INVALIDCERTSTATUS ||
	       cc == CURLE_SSL_PINNEDPUBKEYNOTMATCH || cc == CURLE_USE_SSL_FAILED;
}

static int timeout_error(CURL *e, const char *endpoint, unsigned int timeout_ms, bool sent, char *err,
			 size_t errlen)
{
	curl_off_t connected = 0;

	curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connected);
	if (!connected)
		snprintf(err, errlen, "etcd at %s did not accept a connection within %ums", endpoint, timeout_ms);
	else if (!sent)
		snprintf(err, errlen, "etcd at %s took the connection but did not finish TLS within %ums", endpoint,
			 timeout_ms);
	else
		snprintf(err, errlen, "etcd at %s did not answer within %ums", endpoint, timeout_ms);
	return -ETIMEDOUT;
}

static int connect_error(CURL *e, const char *endpoint, char *err, size_t errlen)
{
	long os = 0;

	curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os);
	if (os == ECONNREFUSED) {
		snprintf(err, errlen, "etcd at %s refused the connection", endpoint);
		return -ECONNREFUSED;
	}
	snprintf(err, errlen, "etcd at %s cannot be reached: %s", endpoint,
		 os ? strerror((int)os) : "no route to it");
	return os ? -(int)os : -EHOSTUNREACH;
}

int etcd_transport_error(CURL *e, CURLcode cc, const char *endpoint, unsigned int timeout_ms,
			 const char *curl_err, bool *sent, char *err, size_t errlen)
{
	long request_bytes = 0;

	curl_easy_getinfo(e, CURLINFO_REQUEST_SIZE, &request_bytes);
	*sent = request_bytes > 0;
	if (cc == CURLE_COULDNT_CONNECT) {
		/* nothing can have left: the request size libcurl reports may
		 * still be the last transfer's on this handle */
		*sent = false;
		return connect_error(e, endpoint, err, errlen);
	}
	if (cc == CURLE_OPERATION_TIMEDOUT)
		return timeout_error(e, endpoint, timeout_ms, *sent, err, errlen);
	if (cc == CURLE_COULDNT_RESOLVE_HOST) {
		snprintf(err, errlen, "the name of etcd at %s does not resolve", endpoint);
		return -EHOSTUNREACH;
	}
	if (tls_failure(cc)) {
		snprintf(err, errlen, "TLS with etcd at %s failed: %s", endpoint,
			 *curl_err ? curl_err : curl_easy_strerror(cc));
		return -EPROTO;
	}
	if (cc == CURLE_GOT_NOTHING || cc == CURLE_RECV_ERROR || cc == CURLE_SEND_ERROR ||
	    cc == CURLE_PARTIAL_FILE) {
		snprintf(err, errlen, "etcd at %s closed the connection without an answer", endpoint);
		return -ECONNRESET;
	}
	snprintf(err, errlen, "etcd at %s: %s", endpoint, *curl_err ? curl_err : curl_easy_strerror(cc));
	return -EIO;
}

/* ---- connections ---- */

struct curl_slist *etcd_headers(const struct cs_etcd *c)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	char *auth = NULL;

	if (h && !curl_slist_append(h, "Expect:"))
		goto fail;
	/* etcd's "require leader": a member cut off from its cluster says "no
	 * leader" at once instead of holding the request for seconds, and
	 * ends a watch instead of keeping it open on a stale view */
	if (h && !curl_slist_append(h, "Grpc-Metadata-Hasleader: true"))
		goto fail;
	if (h && c->token) {
		/* a JWT token is long: no fixed buffer */
		if (asprintf(&auth, "Authorization: %s", c->token) < 0) {
			auth = NULL;
			goto fail;
		}
		if (!curl_slist_append(h, auth))
			goto fail;
		free(auth);
	}
	return h;
fail:
	free(auth);
	curl_slist_free_all(h);
	return NULL;
}

static int setup_tls(const struct cs_etcd *c, CURL *e)
{
	struct curl_blob ca = { c->ca.p, c->ca.len, CURL_BLOB_COPY };
	struct curl_blob cert = { c->cert.p, c->cert.len, CURL_BLOB_COPY };
	struct curl_blob key = { c->key.p, c->key.len, CURL_BLOB_COPY };
	CURLcode cc = CURLE_OK;

	if (c->ca.p)
		cc = curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &ca);
	if (!cc && c->cert.p)
		cc = curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &cert);
	if (!cc && c->key.p)
		cc = curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &key);
	return cc ? -EINVAL : 0;
}

int etcd_setup_easy(const struct cs_etcd *c, CURL *e, const char *url, struct curl_slist *headers,
		    unsigned int connect_ms, unsigned int total_ms, struct etcd_membuf *buf, char *curl_err)
{
	curl_err[0] = 0;
	/* no signals: the client lives in a thread of a daemon that has its own */
	if (curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) || curl_easy_setopt(e, CURLOPT_URL, url) ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers) ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms) ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)total_ms) ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, membuf_write) ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, buf) || curl_easy_setopt(e, CURLOPT_ERRORBUFFER, curl_err) ||
	    /* a member that dies with the connection open is found by TCP's
	     * keepalives, not by a wait without end */
	    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) || curl_easy_setopt(e, CURLOPT_TCP_KEEPIDLE, 5L) ||
	    curl_easy_setopt(e, CURLOPT_TCP_KEEPINTVL, 2L))
		return -EINVAL;
	return setup_tls(c, e);
}

/* ---- one call ---- */

/* A read may be sent again to another endpoint; a write only while it
 * has not been sent (etcd.h). */
enum call_kind { CALL_READ, CALL_WRITE };

struct attempt {
	json_object *answer;
	bool sent;			/* the request may have reached etcd */
	bool move_on;			/* another endpoint may do better */
	int grpc_code;
};

static int parse_answer(struct cs_etcd *c, const char *endpoint, long http, struct attempt *a, char *err,
			size_t errlen)
{
	json_object *o = json_tokener_parse(c->answer.p ? c->answer.p : "");
	int rc;

	if (!o) {
		snprintf(err, errlen, "etcd at %s answered HTTP %ld with something that is not JSON", endpoint, http);
		return -EPROTO;
	}
	rc = etcd_said_error(o, &a->grpc_code, err, errlen);
	if (!rc && http != 200) {
		snprintf(err, errlen, "etcd at %s answered HTTP %ld", endpoint, http);
		rc = -EPROTO;
	}
	if (rc) {
		json_object_put(o);
		/* a member cut off from its cluster; another may have a leader */
		a->move_on = a->grpc_code == 14;
		/* "no leader" is said before the request is proposed */
		a->sent = !strstr(err, "no leader");
		return rc;
	}
	a->answer = o;
	return 0;
}

static int try_endpoint(struct cs_etcd *c, const char *endpoint, const char *path, const char *body,
			unsigned int timeout_ms, struct attempt *a, char *err, size_t errlen)
{
	char url[1024];
	long http = 0;
	CURLcode cc;
	int rc;

	memset(a, 0, sizeof(*a));
	snprintf(url, sizeof(url), "%s%s", endpoint, path);
	etcd_membuf_reset(&c->answer);
	rc = etcd_setup_easy(c, c->easy, url, c->headers, timeout_ms < c->dial_ms ? timeout_ms : c->dial_ms,
			     timeout_ms, &c->answer, c->curl_err);
	if (!rc && curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body))
		rc = -EINVAL;
	if (rc) {
		snprintf(err, errlen, "cannot set up a request to etcd at %s", endpoint);
		return rc;
	}
	cc = curl_easy_perform(c->easy);
	if (cc == CURLE_WRITE_ERROR && c->answer.too_big) {
		snprintf(err, errlen, "etcd at %s sent an answer larger than %u MiB", endpoint, ANSWER_MAX >> 20);
		a->sent = true;
		return -EFBIG;
	}
	if (cc) {
		a->move_on = true;
		return etcd_transport_error(c->easy, cc, endpoint, timeout_ms, c->curl_err, &a->sent, err, errlen);
	}
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &http);
	a->sent = true;
	return parse_answer(c, endpoint, http, a, err, errlen);
}

static int authenticate(struct cs_etcd *c, char *err, size_t errlen);

/* An expired or unknown token (simple tokens live five minutes unused, and
 * a member restart forgets them) is worth one new authentication. */
static bool token_refused(const struct cs_etcd *c, const struct attempt *a, int rc)
{
	return rc == -EACCES && a->grpc_code == 16 && c->user;
}

/* The time an attempt may take: a read shares what is left with the
 * endpoints still to try, so one that hangs cannot take it all; a write
 * cannot be tried again once sent, so it gets it all. */
static unsigned int attempt_budget(uint64_t deadline, size_t left, enum call_kind kind)
{
	uint64_t now = cs_monotonic_ms(), rest = deadline > now ? deadline - now : 0;

	if (kind == CALL_READ && left > 1)
		rest /= left;
	return rest ? (unsigned int)rest : 1;
}

static void note_others(size_t tried, char *err, size_t errlen)
{
	size_t n = strlen(err);

	if (tried > 1 && n < errlen)
		snprintf(err + n, errlen - n, " (and %zu other endpoint%s failed before it)", tried - 1,
			 tried == 2 ? "" : "s");
}

/* POST body to path with failover; the answer in *answer. */
static int call(struct cs_etcd *c, const char *path, json_object *req, enum call_kind kind,
		json_object **answer, char *err, size_t errlen)
{
	const char *body = json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN);
	uint64_t deadline = cs_monotonic_ms() + c->request_ms;
	size_t start = c->cur, tried = 0;
	bool reauthed = false;
	struct attempt a;
	int rc = -EIO;

	if (!body) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	while (tried < c->n_endpoints) {
		size_t i = (start + tried) % c->n_endpoints;

		if (tried && cs_monotonic_ms() >= deadline)
			break;
		rc = try_endpoint(c, c->endpoints[i], path, body,
				  attempt_budget(deadline, c->n_endpoints - tried, kind), &a, err, errlen);
		if (!rc) {
			c->cur = i;
			*answer = a.answer;
			return 0;
		}
		if (token_refused(c, &a, rc) && !reauthed) {
			reauthed = true;
			c->cur = i;
			rc = authenticate(c, err, errlen);
			if (rc)
				return rc;
			continue;	/* the same endpoint, with the new token */
		}
		tried++;
		if (!a.move_on)
			return rc;
		if (kind == CALL_WRITE && a.sent) {
			/* unknown outcome: the next call starts elsewhere */
			c->cur = (i + 1) % c->n_endpoints;
			if (strlen(err) + 40 < errlen)
				strcat(err, "; it may or may not have been applied");
			return rc;
		}
	}
	c->cur = (start + 1) % c->n_endpoints;
	note_others(tried, err, errlen);
	return rc;
}

/* ---- open and close ---- */

static int authenticate(struct cs_etcd *c, char *err, size_t errlen)
{
	json_object *req = json_object_new_object(), *answer = NULL, *token;
	int rc = -ENOMEM;

	free(c->token);
	c->token = NULL;
	curl_slist_free_all(c->headers);
	c->headers = etcd_headers(c);
	if (!req || !c->headers || json_object_object_add(req, "name", json_object_new_string(c->user)) ||
	    json_object_object_add(req, "password", json_object_new_string(c->password)))
		goto out;
	rc = call(c, "/v3/auth/authenticate", req, CALL_READ, &answer, err, errlen);
	if (rc)
		goto out;
	rc = -EPROTO;
	if (!json_object_object_get_ex(answer, "token", &token) || !json_object_get_string_len(token)) {
		snprintf(err, errlen, "etcd at %s gave no auth token (is auth enabled?)", cs_etcd_endpoint(c));
		goto out;
	}
	rc = -ENOMEM;
	c->token = strdup(json_object_get_string(token));
	curl_slist_free_all(c->headers);
	c->headers = c->token ? etcd_headers(c) : NULL;
	if (c->headers)
		rc = 0;
out:
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	json_object_put(answer);
	json_object_put(req);
	return rc;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

/* Once per process, before any thread uses curl (it is not safe to run
 * twice at once). */
static void init_curl(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int copy_blob(struct etcd_blob *to, struct cs_etcd_buf from)
{
	if (!from.p)
		return 0;
	to->p = malloc(from.len + 1);
	if (!to->p)
		return -ENOMEM;
	memcpy(to->p, from.p, from.len);
	to->p[from.len] = 0;
	to->len = from.len;
	return 0;
}

static int copy_opts(struct cs_etcd *c, const struct cs_etcd_opts *o)
{
	size_t i;

	c->endpoints = calloc(o->n_endpoints, sizeof(char *));
	if (!c->endpoints)
		return -ENOMEM;
	for (i = 0; i < o->n_endpoints; i++) {
		c->endpoints[i] = strdup(o->endpoints[i]);
		if (!c->endpoints[i])
			return -ENOMEM;
		c->n_endpoints++;
	}
	if (copy_blob(&c->ca, o->ca) || copy_blob(&c->cert, o->cert) || copy_blob(&c->key, o->key))
		return -ENOMEM;
	if (o->user && (!(c->user = strdup(o->user)) || !(c->password = strdup(o->password ? o->password : ""))))
		return -ENOMEM;
	c->dial_ms = o->dial_timeout_ms ? o->dial_timeout_ms : CS_CLUSTER_DIAL_TIMEOUT_DEFAULT_MS;
	c->request_ms = o->request_timeout_ms ? o->request_timeout_ms : CS_CLUSTER_REQUEST_TIMEOUT_DEFAULT_MS;
	return 0;
}

int cs_etcd_open(const struct cs_etcd_opts *o, struct cs_etcd **out, char *err, size_t errlen)
{
	struct cs_etcd *c;
	int rc;

	*out = NULL;
	if (!o->n_endpoints) {
		snprintf(err, errlen, "no etcd endpoint to call");
		return -EINVAL;
	}
	pthread_once(&curl_once, init_curl);
	if (curl_init_result) {
		snprintf(err, errlen, "libcurl cannot start: %s", curl_easy_strerror(curl_init_result));
		return -EIO;
	}
	c = calloc(1, sizeof(*c));
	if (!c || copy_opts(c, o) || !(c->easy = curl_easy_init()) || !(c->headers = etcd_headers(c))) {
		cs_etcd_close(c);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->answer.max = ANSWER_MAX;
	if (c->user && (rc = authenticate(c, err, errlen))) {
		cs_etcd_close(c);
		return rc;
	}
	*out = c;
	return 0;
}

void cs_etcd_close(struct cs_etcd *c)
{
	size_t i;

	if (!c)
		return;
	if (c->easy)
		curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->headers);
	etcd_membuf_free(&c->answer);
	for (i = 0; i < c->n_endpoints; i++)
		free(c->endpoints[i]);
	free(c->endpoints);
	free(c->ca.p);
	free(c->cert.p);
	cs_file_forget(c->key.p, c->key.len);
	free(c->user);
	if (c->password)
		cs_file_forget(c->password, strlen(c->password));
	if (c->token)
		cs_file_forget(c->token, strlen(c->token));
	free(c);
}

const char *cs_etcd_endpoint(const struct cs_etcd *c)
{
	return c->endpoints[c->cur];
}

void cs_etcd_opts_from_conf(const struct cs_cluster_conf *cl, struct cs_etcd_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->endpoints = (const char *const *)cl->endpoints;
	o->n_endpoints = cl->n_endpoints;
	o->ca = (struct cs_etcd_buf){ cl->ca.data, cl->ca.len };
	o->cert = (struct cs_etcd_buf){ cl->cert.data, cl->cert.len };
	o->key = (struct cs_etcd_buf){ cl->key.data, cl->key.len };
	o->user = cl->user;
	o->password = cl->password;
	o->dial_timeout_ms = cl->dial_timeout_ms;
	o->request_timeout_ms = cl->request_timeout_ms;
}

/* ---- ranges ---- */

size_t cs_etcd_prefix_end(const void *key, size_t len, unsigned char *out)
{
	const unsigned char *k = key;

	while (len && k[len - 1] == 0xff)
		len--;
	if (!len) {
		out[0] = 0;
		return 1;
	}
	memcpy(out, k, len);
	out[len - 1]++;
	return len;
}

/* key and range_end of a range: one key, a prefix, or [key, end). */
static int add_range(json_object *o, struct cs_etcd_buf key, bool prefix, struct cs_etcd_buf end)
{
	unsigned char *buf;
	int rc = etcd_add_bytes(o, "key", key);

	if (rc || (!prefix && !end.p))
		return rc;
	if (!prefix)
		return etcd_add_bytes(o, "range_end", end);
	buf = malloc(key.len + 1);
	if (!buf)
		return -ENOMEM;
	rc = etcd_add_bytes(o, "range_end", (struct cs_etcd_buf){ buf, cs_etcd_prefix_end(key.p, key.len, buf) });
	free(buf);
	return rc;
}

/* ---- keys and values ---- */

static int oom(char *err, size_t errlen)
{
	snprintf(err, errlen, "out of memory");
	return -ENOMEM;
}

/* The store's revision an answer is from (its header's). */
static int64_t revision_of(json_object *answer)
{
	json_object *h;

	return json_object_object_get_ex(answer, "header", &h) ? etcd_get_i64(h, "revision") : 0;
}

void cs_etcd_kvs_free(struct cs_etcd_kvs *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		etcd_kv_free(&r->kvs[i]);
	free(r->kvs);
	memset(r, 0, sizeof(*r));
}

/* A range's answer (from a get, or inside a txn). */
static int decode_kvs(json_object *answer, int64_t revision, struct cs_etcd_kvs *out)
{
	json_object *kvs;
	size_t i, n;
	int rc;

	memset(out, 0, sizeof(*out));
	out->revision = revision;
	out->count = etcd_get_i64(answer, "count");
	out->more = etcd_get_bool(answer, "more");
	if (!json_object_object_get_ex(answer, "kvs", &kvs))
		return 0;
	if (!json_object_is_type(kvs, json_type_array))
		return -EPROTO;
	n = json_object_array_length(kvs);
	out->kvs = calloc(n ? n : 1, sizeof(*out->kvs));
	if (!out->kvs)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		rc = etcd_decode_kv(json_object_array_get_idx(kvs, i), &out->kvs[i]);
		if (rc) {
			cs_etcd_kvs_free(out);
			return rc;
		}
		out->n++;
	}
	return 0;
}

static int decode_error(int rc, const struct cs_etcd *c, char *err, size_t errlen)
{
	if (rc == -ENOMEM)
		return oom(err, errlen);
	snprintf(err, errlen, "etcd at %s sent an answer the client cannot read", cs_etcd_endpoint(c));
	return rc;
}

/*
 * The common frame of a call: req was built (built is 0) or building it ran
 * out of memory; either way req is freed here. The answer in *answer.
 */
static int exchange(struct cs_etcd *c, const char *path, json_object *req, int built, enum call_kind kind,
		    json_object **answer, char *err, size_t errlen)
{
	int rc;

	*answer = NULL;
	if (!req || built) {
		json_object_put(req);
		return oom(err, errlen);
	}
	rc = call(c, path, req, kind, answer, err, errlen);
	json_object_put(req);
	return rc;
}

static int range_request(json_object *req, const struct cs_etcd_get *q)
{
	return add_range(req, q->key, q->prefix, q->end) ||
	       (q->revision && etcd_add_i64(req, "revision", q->revision)) ||
	       (q->limit && etcd_add_i64(req, "limit", q->limit)) ||
	       (q->keys_only && etcd_add_bool(req, "keys_only", true)) ||
	       (q->count_only && etcd_add_bool(req, "count_only", true));
}

int cs_etcd_get(struct cs_etcd *c, const struct cs_etcd_get *q, struct cs_etcd_kvs *out, char *err,
		size_t errlen)
{
	json_object *req = json_object_new_object(), *answer;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = exchange(c, "/v3/kv/range", req, req ? range_request(req, q) : 0, CALL_READ, &answer, err, errlen);
	if (rc)
		return rc;
	rc = decode_kvs(answer, revision_of(answer), out);
	json_object_put(answer);
	return rc ? decode_error(rc, c, err, errlen) : 0;
}

/* Moves the kvs of page to the end of all's. */
static int append_page(struct cs_etcd_kvs *all, struct cs_etcd_kvs *page)
{
	struct cs_etcd_kv *kvs = realloc(all->kvs, (all->n + page->n + 1) * sizeof(*kvs));

	if (!kvs)
		return -ENOMEM;
	memcpy(kvs + all->n, page->kvs, page->n * sizeof(*kvs));
	all->kvs = kvs;
	all->n += page->n;
	free(page->kvs);
	page->kvs = NULL;
	page->n = 0;
	return 0;
}

/* The first key after kv's: its bytes and a 0. */
static int key_after(const struct cs_etcd_kv *kv, unsigned char **next, size_t *len)
{
	unsigned char *p = realloc(*next, kv->key_len + 1);

	if (!p)
		return -ENOMEM;
	memcpy(p, kv->key, kv->key_len);
	p[kv->key_len] = 0;
	*next = p;
	*len = kv->key_len + 1;
	return 0;
}

int cs_etcd_get_prefix(struct cs_etcd *c, struct cs_etcd_buf prefix, int64_t revision, int64_t page_size,
		       struct cs_etcd_kvs *out, char *err, size_t errlen)
{
	unsigned char *end = malloc(prefix.len + 1), *next = NULL;
	struct cs_etcd_get q = { .key = prefix, .revision = revision, .limit = page_size };
	struct cs_etcd_kvs page;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!end)
		return oom(err, errlen);
	q.end = (struct cs_etcd_buf){ end, cs_etcd_prefix_end(prefix.p, prefix.len, end) };
	do {
		rc = cs_etcd_get(c, &q, &page, err, errlen);
		if (rc)
			break;
		/* every page at the first one's revision: one view */
		q.revision = out->revision = page.revision;
		if (!out->n)
			out->count = page.count;
		rc = page.n ? key_after(&page.kvs[page.n - 1], &next, &q.key.len) : 0;
		q.key.p = next;
		if (!rc)
			rc = append_page(out, &page);
		if (rc) {
			oom(err, errlen);
			cs_etcd_kvs_free(&page);
			break;
		}
		out->more = page.more;
		cs_etcd_kvs_free(&page);
	} while (out->more && page_size);
	free(end);
	free(next);
	if (rc)
		cs_etcd_kvs_free(out);
	return rc;
}

int cs_etcd_put(struct cs_etcd *c, struct cs_etcd_buf key, struct cs_etcd_buf value, int64_t lease,
		int64_t *revision, char *err, size_t errlen)
{
	json_object *req = json_object_new_object(), *answer;
	int built = req && (etcd_add_bytes(req, "key", key) || etcd_add_bytes(req, "value", value) ||
			    (lease && etcd_add_i64(req, "lease", lease)));
	int rc = exchange(c, "/v3/kv/put", req, built, CALL_WRITE, &answer, err, errlen);

	if (!rc && revision)
		*revision = revision_of(answer);
	json_object_put(answer);
	return rc;
}

int cs_etcd_delete(struct cs_etcd *c, struct cs_etcd_buf key, bool prefix, int64_t *deleted,
		   int64_t *revision, char *err, size_t errlen)
{
	json_object *req = json_object_new_object(), *answer;
	int built = req ? add_range(req, key, prefix, (struct cs_etcd_buf){ 0 }) : 0;
	int rc = exchange(c, "/v3/kv/deleterange", req, built, CALL_WRITE, &answer, err, errlen);

	if (!rc && deleted)
		*deleted = etcd_get_i64(answer, "deleted");
	if (!rc && revision)
		*revision = revision_of(answer);
	json_object_put(answer);
	return rc;
}

/* ---- transactions ---- */

static const char *const target_names[] = {
	[CS_ETCD_VALUE] = "VALUE", [CS_ETCD_VERSION] = "VERSION", [CS_ETCD_CREATE] = "CREATE",
	[CS_ETCD_MOD] = "MOD", [CS_ETCD_LEASE] = "LEASE",
};
/* the member each target's operand goes in */
static const char *const target_members[] = {
	[CS_ETCD_VALUE] = "value", [CS_ETCD_VERSION] = "version", [CS_ETCD_CREATE] = "create_revision",
	[CS_ETCD_MOD] = "mod_revision", [CS_ETCD_LEASE] = "lease",
};
static const char *const cmp_names[] = {
	[CS_ETCD_EQ] = "EQUAL", [CS_ETCD_NE] = "NOT_EQUAL", [CS_ETCD_LT] = "LESS", [CS_ETCD_GT] = "GREATER",
};

static int add_compare(json_object *list, const struct cs_etcd_cmp *cmp)
{
	json_object *o = json_object_new_object();

	if (!o || json_object_array_add(list, o)) {
		json_object_put(o);
		return -ENOMEM;
	}
	if (json_object_object_add(o, "result", json_object_new_string(cmp_names[cmp->op])) ||
	    json_object_object_add(o, "target", json_object_new_string(target_names[cmp->target])) ||
	    etcd_add_bytes(o, "key", cmp->key))
		return -ENOMEM;
	if (cmp->target == CS_ETCD_VALUE)
		return etcd_add_bytes(o, "value", cmp->value);
	return etcd_add_i64(o, target_members[cmp->target], cmp->number);
}

static int add_op(json_object *list, const struct cs_etcd_op *op)
{
	static const char *const names[] = {
		[CS_ETCD_OP_PUT] = "request_put", [CS_ETCD_OP_DELETE] = "request_delete_range",
		[CS_ETCD_OP_GET] = "request_range",
	};
	json_object *o = json_object_new_object(), *r;

	if (!o || json_object_array_add(list, o)) {
		json_object_put(o);
		return -ENOMEM;
	}
	r = add_object(o, names[op->kind]);
	if (!r)
		return -ENOMEM;
	if (op->kind != CS_ETCD_OP_PUT)
		return add_range(r, op->key, op->prefix, (struct cs_etcd_buf){ 0 });
	return etcd_add_bytes(r, "key", op->key) || etcd_add_bytes(r, "value", op->value) ||
	       (op->lease && etcd_add_i64(r, "lease", op->lease)) ? -ENOMEM : 0;
}

static int add_list(json_object *req, const char *name, const void *items, size_t n, size_t size,
		    int (*add)(json_object *, const void *))
{
	json_object *list = json_object_new_array();
	size_t i;

	if (!list || json_object_object_add(req, name, list)) {
		json_object_put(list);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		if (add(list, (const char *)items + i * size))
			return -ENOMEM;
	return 0;
}

static int add_compare_any(json_object *l, const void *x) { return add_compare(l, x); }
static int add_op_any(json_object *l, const void *x) { return add_op(l, x); }

static int txn_request(json_object *req, const struct cs_etcd_txn *t)
{
	return add_list(req, "compare", t->cmp, t->n_cmp, sizeof(*t->cmp), add_compare_any) ||
	       add_list(req, "success", t->then, t->n_then, sizeof(*t->then), add_op_any) ||
	       add_list(req, "failure", t->otherwise, t->n_otherwise, sizeof(*t->otherwise), add_op_any);
}

/* What each op of the branch that ran answered: a get's kvs, else empty. */
static int decode_txn(json_object *answer, struct cs_etcd_txn_result *out)
{
	json_object *list, *range;
	size_t i, n;
	int rc;

	out->succeeded = etcd_get_bool(answer, "succeeded");
	out->revision = revision_of(answer);
	if (!json_object_object_get_ex(answer, "responses", &list))
		return 0;
	n = json_object_array_length(list);
	out->gets = calloc(n ? n : 1, sizeof(*out->gets));
	if (!out->gets)
		return -ENOMEM;
	for (i = 0; i < n; i++, out->n_gets++) {
		json_object *one = json_object_array_get_idx(list, i);

		if (!json_object_object_get_ex(one, "response_range", &range))
			continue;
		rc = decode_kvs(range, out->revision, &out->gets[i]);
		if (rc)
			return rc;
	}
	return 0;
}

int cs_etcd_txn(struct cs_etcd *c, const struct cs_etcd_txn *t, struct cs_etcd_txn_result *out, char *err,
		size_t errlen)
{
	json_object *req = json_object_new_object(), *answer;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = exchange(c, "/v3/kv/txn", req, req ? txn_request(req, t) : 0, CALL_WRITE, &answer, err, errlen);
	if (rc)
		return rc;
	rc = decode_txn(answer, out);
	json_object_put(answer);
	if (rc) {
		cs_etcd_txn_result_free(out);
		return decode_error(rc, c, err, errlen);
	}
	return 0;
}

void cs_etcd_txn_result_free(struct cs_etcd_txn_result *r)
{
	size_t i;

	for (i = 0; i < r->n_gets; i++)
		cs_etcd_kvs_free(&r->gets[i]);
	free(r->gets);
	memset(r, 0, sizeof(*r));
}

/* ---- leases ---- */

/* A call whose request is one number: {"ID": id} or {"TTL": ttl}. */
static int call_number(struct cs_etcd *c, const char *path, const char *name, int64_t v, enum call_kind kind,
		       json_object **answer, char *err, size_t errlen)
{
	json_object *req = json_object_new_object();

	return exchange(c, path, req, req ? etcd_add_i64(req, name, v) : 0, kind, answer, err, errlen);
}

int cs_etcd_lease_grant(struct cs_etcd *c, int64_t ttl_s, int64_t *id, char *err, size_t errlen)
{
	json_object *answer = NULL, *why;
	int rc = call_number(c, "/v3/lease/grant", "TTL", ttl_s, CALL_WRITE, &answer, err, errlen);

	if (rc)
		return rc;
	*id = etcd_get_i64(answer, "ID");
	if (json_object_object_get_ex(answer, "error", &why) && json_object_get_string_len(why)) {
		snprintf(err, errlen, "etcd says: %s", json_object_get_string(why));
		rc = -EIO;
	} else if (!*id) {
		snprintf(err, errlen, "etcd at %s granted a lease without an id", cs_etcd_endpoint(c));
		rc = -EPROTO;
	}
	json_object_put(answer);
	return rc;
}

int cs_etcd_lease_keepalive(struct cs_etcd *c, int64_t id, int64_t *ttl_s, char *err, size_t errlen)
{
	json_object *answer = NULL, *result;
	int rc;

	/* a stream in gRPC; through the gateway one request, one answer,
	 * inside "result". Renewing twice is harmless: a read. */
	rc = call_number(c, "/v3/lease/keepalive", "ID", id, CALL_READ, &answer, err, errlen);
	if (rc)
		return rc;
	rc = etcd_said_error(answer, NULL, err, errlen);
	if (!rc && !json_object_object_get_ex(answer, "result", &result)) {
		snprintf(err, errlen, "etcd at %s answered a keepalive without a result", cs_etcd_endpoint(c));
		rc = -EPROTO;
	}
	if (!rc) {
		*ttl_s = etcd_get_i64(result, "TTL");
		if (*ttl_s <= 0) {
			snprintf(err, errlen, "lease %llx is gone (it expired or was revoked)", (unsigned long long)id);
			rc = -ENOENT;
		}
	}
	json_object_put(answer);
	return rc;
}

int cs_etcd_lease_ttl(struct cs_etcd *c, int64_t id, int64_t *ttl_s, int64_t *granted_s, char *err,
		      size_t errlen)
{
	json_object *answer = NULL;
	int rc = call_number(c, "/v3/lease/timetolive", "ID", id, CALL_READ, &answer, err, errlen);

	if (!rc)
		rc = etcd_said_error(answer, NULL, err, errlen);
	if (!rc) {
		*ttl_s = etcd_get_i64(answer, "TTL");
		*granted_s = etcd_get_i64(answer, "grantedTTL");
		if (*ttl_s < 0) {
			snprintf(err, errlen, "lease %llx is gone (it expired or was revoked)", (unsigned long long)id);
			rc = -ENOENT;
		}
	}
	json_object_put(answer);
	return rc;
}

int cs_etcd_lease_revoke(struct cs_etcd *c, int64_t id, char *err, size_t errlen)
{
	json_object *answer = NULL;
	int rc = call_number(c, "/v3/lease/revoke", "ID", id, CALL_WRITE, &answer, err, errlen);

	json_object_put(answer);
	return rc;
}

/* ---- health ---- */

int cs_etcd_status(struct cs_etcd *c, struct cs_etcd_status *st, char *err, size_t errlen)
{
	json_object *req = json_object_new_object(), *answer = NULL, *h, *v;
	int rc;

	memset(st, 0, sizeof(*st));
	if (!req)
		return oom(err, errlen);
	rc = call(c, "/v3/maintenance/status", req, CALL_READ, &answer, err, errlen);
	json_object_put(req);
	if (rc)
		return rc;
	if (json_object_object_get_ex(answer, "version", &v))
		snprintf(st->version, sizeof(st->version), "%s", json_object_get_string(v));
	if (json_object_object_get_ex(answer, "header", &h)) {
		st->member = get_u64(h, "member_id");
		st->revision = etcd_get_i64(h, "revision");
	}
	st->leader = get_u64(answer, "leader");
	st->raft_term = get_u64(answer, "raftTerm");
	st->db_size = etcd_get_i64(answer, "dbSize");
	json_object_put(answer);
	return 0;
}
