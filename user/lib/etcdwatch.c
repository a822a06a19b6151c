// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * etcdwatch.c - watches over etcd's JSON gateway: one POST /v3/watch whose
 * answer never ends, one JSON object a line ({"result": {...}}).
 *
 * libcurl's multi interface drives the connection, so a wait has a timeout
 * (curl_multi_poll), another thread can cut it short (curl_multi_wakeup),
 * and TLS, the auth header and chunked decoding stay curl's, as in every
 * other call. A read loop of our own on the socket would have had to do TLS
 * itself.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "etcd_impl.h"

/* One line of the stream is one answer: a batch of events, at most
 * etcd's request size (1.5 MiB by default) times a few. */
#define STREAM_MAX (64u << 20)

struct cs_etcd_watch {
	CURLM *multi;
	CURL *easy;
	struct curl_slist *headers;
	char *endpoint;
	struct etcd_membuf in;		/* what came and is not read yet */
	size_t read;			/* up to here, in.p has been read */
	struct cs_etcd_event *events;	/* the batch being handed out */
	size_t n_events, next_event;
	int64_t revision, compact_revision;
	bool from_now;			/* no start revision: from the creation's */
	bool created, running;
	unsigned int dial_ms;		/* for the words of a connect timeout */
	int error;			/* sticky once set */
	char why[CS_ETCD_ERR_MAX];
	atomic_bool woken;
	char curl_err[CURL_ERROR_SIZE];
};

static void free_events(struct cs_etcd_watch *w)
{
	size_t i;

	for (i = 0; i < w->n_events; i++) {
		etcd_kv_free(&w->events[i].kv);
		etcd_kv_free(&w->events[i].prev_kv);
	}
	free(w->events);
	w->events = NULL;
	w->n_events = w->next_event = 0;
}

__attribute__((format(printf, 3, 4)))
static int set_error(struct cs_etcd_watch *w, int rc, const char *fmt, ...)
{
	va_list ap;

	if (w->error)
		return w->error;
	va_start(ap, fmt);
	vsnprintf(w->why, sizeof(w->why), fmt, ap);
	va_end(ap);
	w->error = rc;
	return rc;
}

/* ---- one line of the stream ---- */

static int decode_event(json_object *o, struct cs_etcd_event *ev)
{
	json_object *type, *kv;
	int rc;

	memset(ev, 0, sizeof(*ev));
	/* PUT is 0, which the gateway leaves out */
	ev->type = json_object_object_get_ex(o, "type", &type) &&
			   !strcmp(json_object_get_string(type), "DELETE") ?
			   CS_ETCD_EVENT_DELETE : CS_ETCD_EVENT_PUT;
	if (!json_object_object_get_ex(o, "kv", &kv))
		return -EPROTO;
	rc = etcd_decode_kv(kv, &ev->kv);
	if (!rc && json_object_object_get_ex(o, "prev_kv", &kv)) {
		rc = etcd_decode_kv(kv, &ev->prev_kv);
		ev->has_prev = !rc;
	}
	return rc;
}

static int take_events(struct cs_etcd_watch *w, json_object *list)
{
	size_t i, n = json_object_array_length(list);

	free_events(w);
	w->events = calloc(n ? n : 1, sizeof(*w->events));
	if (!w->events)
		return set_error(w, -ENOMEM, "out of memory");
	for (i = 0; i < n; i++) {
		if (decode_event(json_object_array_get_idx(list, i), &w->events[i])) {
			w->n_events = i + 1;	/* what was decoded is freed */
			return set_error(w, -EPROTO, "etcd at %s sent an event the client cannot read",
					 w->endpoint);
		}
	}
	w->n_events = n;
	return 0;
}

static int take_cancel(struct cs_etcd_watch *w, json_object *result)
{
	json_object *reason;

	w->compact_revision = etcd_get_i64(result, "compact_revision");
	if (w->compact_revision)
		return set_error(w, -ESTALE,
				 "etcd compacted its history up to revision %lld, past where the watch started: "
				 "list again", (long long)w->compact_revision);
	return set_error(w, -ECANCELED, "etcd canceled the watch: %s",
			 json_object_object_get_ex(result, "cancel_reason", &reason) ?
			 json_object_get_string(reason) : "no reason given");
}

/* One answer: the watch is in place, a batch of events, a cancel, or a
 * progress report (a revision and nothing else). */
static int take_result(struct cs_etcd_watch *w, json_object *result)
{
	json_object *events, *h;
	int64_t header_rev = json_object_object_get_ex(result, "header", &h) ? etcd_get_i64(h, "revision") : 0;

	if (etcd_get_bool(result, "canceled"))
		return take_cancel(w, result);
	if (json_object_object_get_ex(result, "events", &events) && json_object_array_length(events))
		return take_events(w, events);
	if (etcd_get_bool(result, "created")) {
		/* from now: everything up to the header's revision came before */
		if (w->from_now)
			w->revision = header_rev;
		w->created = true;
		return 0;
	}
	/* progress: etcd sends it only to a watch that has caught up */
	if (header_rev > w->revision)
		w->revision = header_rev;
	return 0;
}

static int take_line(struct cs_etcd_watch *w, const char *line, size_t len)
{
	json_tokener *tok = json_tokener_new();
	json_object *o = tok ? json_tokener_parse_ex(tok, line, (int)len) : NULL, *result;
	char why[CS_ETCD_ERR_MAX];
	int rc;

	json_tokener_free(tok);
	if (!o)
		return set_error(w, -EPROTO, "etcd at %s sent a watch line that is not JSON", w->endpoint);
	rc = etcd_said_error(o, NULL, why, sizeof(why));
	if (rc)
		set_error(w, rc, "%s", why);
	else if (json_object_object_get_ex(o, "result", &result))
		rc = take_result(w, result);
	json_object_put(o);
	return rc;
}

/* Reads the next whole line that came: 1, or 0 when none is whole yet. */
static int take_next_line(struct cs_etcd_watch *w)
{
	char *start = w->in.p + w->read, *nl;

	if (!w->in.p || w->read >= w->in.len || !(nl = memchr(start, '\n', w->in.len - w->read)))
		return 0;
	w->read += (size_t)(nl - start) + 1;
	if (nl > start)
		take_line(w, start, (size_t)(nl - start));
	if (w->read == w->in.len) {	/* all read: start the buffer over */
		etcd_membuf_reset(&w->in);
		w->read = 0;
	}
	return 1;
}

/* ---- the connection ---- */

/* The transfer ended: a watch never ends by itself, so something broke. */
static void take_end(struct cs_etcd_watch *w, CURLcode cc)
{
	char why[CS_ETCD_ERR_MAX];
	bool sent;
	long http = 0;
	int rc;

	w->running = false;
	/* an error as the whole answer ({"error": ...}) has no newline */
	if (w->in.len > w->read)
		take_line(w, w->in.p + w->read, w->in.len - w->read);
	if (cc == CURLE_WRITE_ERROR && w->in.too_big) {
		set_error(w, -EFBIG, "etcd at %s sent a watch answer larger than %u MiB", w->endpoint,
			  STREAM_MAX >> 20);
		return;
	}
	if (cc) {
		rc = etcd_transport_error(w->easy, cc, w->endpoint, w->dial_ms, w->curl_err, &sent, why,
					  sizeof(why));
		set_error(w, rc == -EIO ? -ECONNRESET : rc, "%s", why);
		return;
	}
	curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &http);
	if (http != 200)
		set_error(w, -EPROTO, "etcd at %s answered the watch with HTTP %ld", w->endpoint, http);
	set_error(w, -ECONNRESET, "etcd at %s ended the watch's connection", w->endpoint);
}

/* Lets curl move the transfer on; notes its end. */
static void drive(struct cs_etcd_watch *w)
{
	struct CURLMsg *m;
	int running, left;

	curl_multi_perform(w->multi, &running);
	while ((m = curl_multi_info_read(w->multi, &left)))
		if (m->msg == CURLMSG_DONE)
			take_end(w, m->data.result);
}

/*
 * Waits until the stream has something to read, it ended, the deadline
 * passed (0) or a wake (0). Returns 1 when there is something to look at.
 */
static int wait_stream(struct cs_etcd_watch *w, uint64_t deadline, bool forever)
{
	for (;;) {
		size_t before = w->in.len;
		uint64_t now;
		int ms;

		drive(w);
		if (w->in.len != before || !w->running || w->error)
			return 1;
		if (atomic_exchange(&w->woken, false))
			return 0;
		now = cs_monotonic_ms();
		if (!forever && now >= deadline)
			return 0;
		ms = forever || deadline - now > 1000 ? 1000 : (int)(deadline - now);
		curl_multi_poll(w->multi, NULL, 0, ms, NULL);
	}
}

/* The next thing the stream says: an event to hand out (1), nothing before
 * the deadline (0), or the watch's end (its error). */
static int next_thing(struct cs_etcd_watch *w, uint64_t deadline, bool forever)
{
	for (;;) {
		if (w->next_event < w->n_events)
			return 1;
		if (w->error)
			return w->error;
		if (take_next_line(w))
			continue;
		if (!w->running)
			return set_error(w, -ECONNRESET, "etcd at %s ended the watch's connection", w->endpoint);
		if (!wait_stream(w, deadline, forever))
			return 0;
	}
}

int cs_etcd_watch_next(struct cs_etcd_watch *w, int timeout_ms, struct cs_etcd_event **ev, char *err,
		       size_t errlen)
{
	uint64_t deadline = cs_monotonic_ms() + (timeout_ms > 0 ? (uint64_t)timeout_ms : 0);
	int rc;

	*ev = NULL;
	if (w->next_event >= w->n_events)
		free_events(w);	/* the last batch was handed out: its memory goes */
	rc = next_thing(w, deadline, timeout_ms < 0);
	if (rc < 0) {
		snprintf(err, errlen, "%s", w->why);
		return rc;
	}
	if (!rc)
		return 0;
	*ev = &w->events[w->next_event++];
	if ((*ev)->kv.mod_revision > w->revision)
		w->revision = (*ev)->kv.mod_revision;
	return 1;
}

/* ---- open and close ---- */

static int fill_create(json_object *create, const struct cs_etcd_watch_opts *o, unsigned char *end)
{
	return etcd_add_bytes(create, "key", o->key) ||
	       (o->prefix && etcd_add_bytes(create, "range_end",
					    (struct cs_etcd_buf){ end, cs_etcd_prefix_end(o->key.p, o->key.len, end) })) ||
	       (o->start_revision && etcd_add_i64(create, "start_revision", o->start_revision)) ||
	       (o->prev_kv && etcd_add_bool(create, "prev_kv", true)) ||
	       (o->progress_notify && etcd_add_bool(create, "progress_notify", true));
}

static json_object *create_request(const struct cs_etcd_watch_opts *o)
{
	json_object *req = json_object_new_object(), *create = json_object_new_object();
	unsigned char *end = malloc(o->key.len + 1);
	bool bad = !req || !create || !end || fill_create(create, o, end);

	free(end);
	if (bad || json_object_object_add(req, "create_request", create)) {
		json_object_put(create);
		json_object_put(req);
		return NULL;
	}
	return req;
}

/* Start the stream on one endpoint, and wait for "created". */
static int start_on(struct cs_etcd *c, struct cs_etcd_watch *w, const char *endpoint, const char *body,
		    unsigned int budget_ms, char *err, size_t errlen)
{
	uint64_t deadline = cs_monotonic_ms() + budget_ms;
	char url[1024];

	snprintf(url, sizeof(url), "%s/v3/watch", endpoint);
	free(w->endpoint);
	w->endpoint = strdup(endpoint);
	if (!w->endpoint || etcd_setup_easy(c, w->easy, url, w->headers, budget_ms < c->dial_ms ? budget_ms : c->dial_ms,
					    0, &w->in, w->curl_err) ||
	    curl_easy_setopt(w->easy, CURLOPT_COPYPOSTFIELDS, body) || curl_multi_add_handle(w->multi, w->easy)) {
		snprintf(err, errlen, "cannot set up a watch on etcd at %s", endpoint);
		return -ENOMEM;
	}
	w->running = true;
	while (!w->created && !w->error && w->running && cs_monotonic_ms() < deadline) {
		if (take_next_line(w))
			continue;
		wait_stream(w, deadline, false);
	}
	if (w->created)
		return 0;
	if (!w->error)
		set_error(w, -ETIMEDOUT, "etcd at %s did not set the watch up within %ums", endpoint, budget_ms);
	snprintf(err, errlen, "%s", w->why);
	return w->error;
}

/* Back to a watch that has not started, for the next endpoint. */
static void reset_watch(struct cs_etcd_watch *w, int64_t revision)
{
	curl_multi_remove_handle(w->multi, w->easy);
	curl_easy_reset(w->easy);
	etcd_membuf_reset(&w->in);
	free_events(w);
	w->read = 0;
	w->created = w->running = false;
	w->error = 0;
	w->why[0] = 0;
	w->revision = revision;
}

static struct cs_etcd_watch *new_watch(const struct cs_etcd *c)
{
	struct cs_etcd_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->in.max = STREAM_MAX;
	w->dial_ms = c->dial_ms;
	w->multi = curl_multi_init();
	w->easy = curl_easy_init();
	w->headers = etcd_headers(c);
	if (!w->multi || !w->easy || !w->headers) {
		cs_etcd_watch_close(w);
		return NULL;
	}
	return w;
}

int cs_etcd_watch_open(struct cs_etcd *c, const struct cs_etcd_watch_opts *o, struct cs_etcd_watch **out,
		       char *err, size_t errlen)
{
	json_object *req = create_request(o);
	struct cs_etcd_watch *w = req ? new_watch(c) : NULL;
	uint64_t deadline = cs_monotonic_ms() + c->request_ms;
	/* before any event, the watch has seen up to the revision before its start */
	int64_t before = o->start_revision ? o->start_revision - 1 : 0;
	size_t tried, start = c->cur;
	int rc = -ETIMEDOUT;

	*out = NULL;
	if (!w) {
		json_object_put(req);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	w->from_now = !o->start_revision;
	for (tried = 0; tried < c->n_endpoints; tried++) {
		size_t i = (start + tried) % c->n_endpoints;
		uint64_t now = cs_monotonic_ms();

		if (now >= deadline)
			break;
		reset_watch(w, before);
		/* like a read: each endpoint its share of the time left */
		rc = start_on(c, w, c->endpoints[i], json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN),
			      (unsigned int)((deadline - now) / (c->n_endpoints - tried)) + 1, err, errlen);
		if (!rc) {
			c->cur = i;
			*out = w;
			break;
		}
		if (rc == -ESTALE || rc == -EACCES || rc == -EINVAL)
			break;	/* etcd answered: another member would say the same */
	}
	json_object_put(req);
	if (!*out)
		cs_etcd_watch_close(w);
	return rc;
}

/* Is there something to hand out, or to say, without waiting? */
static bool ready_now(struct cs_etcd_watch *w)
{
	return w->next_event < w->n_events || w->error || !w->running || atomic_load(&w->woken) ||
	       (w->in.p && w->read < w->in.len && memchr(w->in.p + w->read, '\n', w->in.len - w->read));
}

#define WAIT_FDS_MAX 64
/* When curl has no socket to show (between connections), look again this
 * soon; and fds past FD_SETSIZE, which curl_multi_fdset cannot show, are
 * never waited on longer than this. */
#define WAIT_BLIND_MS 100

/* The sockets of w's transfer into fds, and how long curl lets it wait. */
static size_t add_fds(struct cs_etcd_watch *w, struct pollfd *fds, size_t at, long *wait_ms)
{
	fd_set rd, wr, ex;
	long curl_ms = -1;
	int maxfd = -1, s;

	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_ZERO(&ex);
	if (curl_multi_fdset(w->multi, &rd, &wr, &ex, &maxfd) || maxfd < 0) {
		*wait_ms = *wait_ms < WAIT_BLIND_MS ? *wait_ms : WAIT_BLIND_MS;
		return at;
	}
	for (s = 0; s <= maxfd && at < WAIT_FDS_MAX; s++) {
		short ev = (short)((FD_ISSET(s, &rd) ? POLLIN : 0) | (FD_ISSET(s, &wr) ? POLLOUT : 0));

		if (ev)
			fds[at++] = (struct pollfd){ .fd = s, .events = ev };
	}
	if (!curl_multi_timeout(w->multi, &curl_ms) && curl_ms >= 0 && curl_ms < *wait_ms)
		*wait_ms = curl_ms;
	return at;
}

/* One look and one wait, of at most ms: 1 when something is ready, 0 when
 * the wait ended with nothing (curl's own timers may end it early). */
static int wait_once(struct cs_etcd_watch *const *ws, size_t n, int fd, long ms)
{
	struct pollfd fds[WAIT_FDS_MAX];
	size_t i, nfds = 0;

	for (i = 0; i < n; i++) {
		if (!ws[i])
			continue;
		drive(ws[i]);
		if (ready_now(ws[i]))
			return 1;
	}
	if (fd >= 0)
		fds[nfds++] = (struct pollfd){ .fd = fd, .events = POLLIN };
	for (i = 0; i < n; i++)
		if (ws[i])
			nfds = add_fds(ws[i], fds, nfds, &ms);
	if (poll(fds, nfds, (int)ms) <= 0)
		return 0;
	/* a socket woke us: ready once curl has read it (drive, next round) */
	return fd >= 0 && fds[0].revents ? 1 : 2;
}

int cs_etcd_watch_wait(struct cs_etcd_watch *const *ws, size_t n, int fd, int timeout_ms)
{
	uint64_t deadline = cs_monotonic_ms() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 0);
	int rc;

	for (;;) {
		uint64_t now = cs_monotonic_ms();

		rc = wait_once(ws, n, fd, now < deadline ? (long)(deadline - now) : 0);
		if (rc == 1)
			return 1;
		if (rc == 0 && cs_monotonic_ms() >= deadline)
			return 0;
	}
}

int64_t cs_etcd_watch_revision(const struct cs_etcd_watch *w)
{
	return w->revision;
}

int64_t cs_etcd_watch_compact_revision(const struct cs_etcd_watch *w)
{
	return w->compact_revision;
}

void cs_etcd_watch_wake(struct cs_etcd_watch *w)
{
	atomic_store(&w->woken, true);
	curl_multi_wakeup(w->multi);
}

void cs_etcd_watch_close(struct cs_etcd_watch *w)
{
	if (!w)
		return;
	if (w->multi && w->easy)
		curl_multi_remove_handle(w->multi, w->easy);
	if (w->easy)
		curl_easy_cleanup(w->easy);
	if (w->multi)
		curl_multi_cleanup(w->multi);
	curl_slist_free_all(w->headers);
	etcd_membuf_free(&w->in);
	free_events(w);
	free(w->endpoint);
	free(w);
}
