// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * health: the prober (user/lib/health.c) against real sockets in a
 * private network namespace: tcp, icmp (raw and ping sockets, IPv4 and
 * IPv6) and udp probes, rise and fall, and link-down on a veth (or dummy)
 * interface, which must fail an instance faster than its probes could.
 *
 * Times are measured and printed; they are asserted loosely (three times
 * the budget that interval, timeout, rise and fall give), as this is not a
 * timing benchmark. Everything lives in the test's own namespace, so nothing
 * leaks into the host's.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testing.h"
#include "lib/health.h"
#include "lib/addr.h"

T_SUITE("health");

#define INTERVAL 100
#define TIMEOUT	 100

static __u64 now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000 + (__u64)ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000 };

	nanosleep(&ts, NULL);
}

/* ---- what the callback said ---- */

struct ev {
	__u32 inst;
	enum cs_health_verdict st;
	char why[192];
	__u64 at;
};

static pthread_mutex_t ev_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ev evs[256];
static size_t n_evs;
static pthread_t prober_thread;	/* the thread the callback ran on */

static void on_change(void *ctx, __u32 inst, enum cs_health_verdict st, const char *why)
{
	(void)ctx;
	pthread_mutex_lock(&ev_lock);
	prober_thread = pthread_self();
	if (n_evs < sizeof(evs) / sizeof(evs[0])) {
		struct ev *e = &evs[n_evs++];

		e->inst = inst;
		e->st = st;
		e->at = now_ms();
		snprintf(e->why, sizeof(e->why), "%s", why);
	}
	pthread_mutex_unlock(&ev_lock);
}

static void ev_reset(void)
{
	pthread_mutex_lock(&ev_lock);
	n_evs = 0;
	pthread_mutex_unlock(&ev_lock);
}

/* Wait for the first event (inst, st) at position >= from; returns a copy
 * of it in out and its position, or -1 after timeout_ms. */
static int ev_wait(size_t from, __u32 inst, enum cs_health_verdict st, unsigned timeout_ms,
		   struct ev *out)
{
	__u64 end = now_ms() + timeout_ms;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&ev_lock);
		for (i = from; i < n_evs; i++)
			if (evs[i].inst == inst && evs[i].st == st) {
				*out = evs[i];
				pthread_mutex_unlock(&ev_lock);
				return (int)i;
			}
		pthread_mutex_unlock(&ev_lock);
		if (now_ms() >= end)
			return -1;
		sleep_ms(2);
	}
}

/* How many events for inst have been seen. */
static int ev_count(__u32 inst)
{
	size_t i;
	int n = 0;

	pthread_mutex_lock(&ev_lock);
	for (i = 0; i < n_evs; i++)
		n += evs[i].inst == inst;
	pthread_mutex_unlock(&ev_lock);
	return n;
}

static size_t ev_pos(void)
{
	size_t n;

	pthread_mutex_lock(&ev_lock);
	n = n_evs;
	pthread_mutex_unlock(&ev_lock);
	return n;
}

/* ---- setup helpers ---- */

static struct cs_health_conf hconf(const char *probe, __u32 port, __u32 fall, __u32 rise)
{
	return (struct cs_health_conf){ .probe = (char *)probe, .port = port, .interval_ms = INTERVAL,
					.timeout_ms = TIMEOUT, .fall = fall, .rise = rise };
}

static struct cs_health_target target(const char *name, const char *addr,
				      const struct cs_health_conf *hc)
{
	struct cs_health_target t = { .name = name, .hc = hc };

	if (cs_addr_parse(addr, &t.addr))
		fprintf(stderr, "bad address %s\n", addr);
	return t;
}

static int bind_inet(int type, const char *ip, __u16 port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0), one = 1;

	inet_pton(AF_INET, ip, &sa.sin_addr);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	return fd;
}

static __u16 port_of(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	getsockname(fd, (struct sockaddr *)&sa, &len);
	return ntohs(sa.sin_port);
}

static int run(const char *cmd)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "%s >/dev/null 2>&1", cmd);
	return system(buf);
}

/* Capture our own stderr (the daemon's log) in a file for a while. */
static int saved_stderr = -1;
static FILE *captured;

static void capture_start(void)
{
	captured = tmpfile();
	fflush(stderr);
	saved_stderr = dup(2);
	if (captured)
		dup2(fileno(captured), 2);
}

/* Stop capturing, copy what was said to the real stderr, count its lines. */
static int capture_stop(void)
{
	char line[512];
	int lines = 0;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	if (!captured)
		return -1;
	rewind(captured);
	while (fgets(line, sizeof(line), captured)) {
		fputs(line, stderr);
		lines++;
	}
	fclose(captured);
	return lines;
}

/* ---- tcp ---- */

static int tcp_listener = -1;

static void *acceptor(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(tcp_listener, NULL, NULL);

		if (fd >= 0)
			close(fd);
		else if (errno != EINTR && errno != ECONNABORTED)
			return NULL;	/* shut down */
	}
}

static void tcp_up_then_down(void)
{
	struct cs_health_conf hc;
	struct cs_health_target t;
	struct cs_health *h = NULL;
	pthread_t th;
	struct ev e;
	__u64 t0, up_ms, down_ms, stop_ms;
	int budget_up = 2 * INTERVAL + TIMEOUT, budget_down = 3 * INTERVAL + TIMEOUT, lines;
	bool listening;

	ev_reset();
	tcp_listener = bind_inet(SOCK_STREAM, "127.0.0.2", 0);
	if (!EXPECT(tcp_listener >= 0 && !listen(tcp_listener, 16), "listen: %s", strerror(errno)))
		return;
	listening = !pthread_create(&th, NULL, acceptor, NULL);
	hc = hconf("tcp", port_of(tcp_listener), 3, 2);
	t = target("web-a", "127.0.0.2", &hc);

	capture_start();
	t0 = now_ms();
	h = cs_health_start(&t, 1, on_change, NULL);
	if (!h) {
		capture_stop();
		EXPECT(h, "cs_health_start: %s", strerror(errno));
		goto out;
	}
	EXPECT(!cs_health_known(h, 0), "a verdict before any probe");
	EXPECT_EQ(cs_health_verdict(h, 0), CS_HEALTH_UP);	/* unknown counts as up */
	if (ev_wait(0, 0, CS_HEALTH_UP, 3 * budget_up, &e) < 0) {
		capture_stop();
		EXPECT(false, "no UP within %d ms", 3 * budget_up);
		goto out;
	}
	up_ms = e.at - t0;
	EXPECT_EQ(ev_count(0), 1);	/* the first verdict, nothing before it */
	EXPECT(strstr(e.why, "2 good probes"), "why: %s", e.why);
	EXPECT(cs_health_known(h, 0), "no verdict after UP");
	EXPECT_EQ(cs_health_verdict(h, 0), CS_HEALTH_UP);
	EXPECT(pthread_equal(prober_thread, pthread_self()) == 0, "callback on the caller's thread");
	sleep_ms(5 * INTERVAL);		/* steady: probes go on, nothing is said */
	EXPECT_EQ(ev_count(0), 1);

	shutdown(tcp_listener, SHUT_RDWR);
	if (listening)
		pthread_join(th, NULL);
	listening = false;
	close(tcp_listener);
	tcp_listener = -1;
	t0 = now_ms();
	if (ev_wait(0, 0, CS_HEALTH_DOWN, 3 * budget_down, &e) < 0) {
		capture_stop();
		EXPECT(false, "no DOWN within %d ms of closing the listener", 3 * budget_down);
		goto out;
	}
	down_ms = e.at - t0;
	EXPECT(strstr(e.why, "connection refused") && strstr(e.why, "3 failures"), "why: %s", e.why);
	EXPECT_EQ(cs_health_verdict(h, 0), CS_HEALTH_DOWN);
	t0 = now_ms();
	cs_health_stop(h);
	stop_ms = now_ms() - t0;
	h = NULL;
	lines = capture_stop();
	/* one line per change (up, down), none per probe */
	EXPECT(lines == 2, "%d log lines at info level for 2 changes", lines);
	EXPECT(stop_ms < 200, "stop took %llu ms", (unsigned long long)stop_ms);
	printf("# tcp: UP after %llu ms (budget %d), DOWN %llu ms after the listener closed "
	       "(budget %d), stop %llu ms\n",
	       (unsigned long long)up_ms, budget_up, (unsigned long long)down_ms, budget_down,
	       (unsigned long long)stop_ms);
out:
	if (h)
		cs_health_stop(h);
	if (tcp_listener >= 0) {
		shutdown(tcp_listener, SHUT_RDWR);
		if (listening)
			pthread_join(th, NULL);
		close(tcp_listener);
		tcp_listener = -1;
	}
}

/* ---- icmp ---- */

static void icmp_case(const char *label)
{
	struct cs_health_conf hc = hconf("icmp", 0, 2, 2);
	struct cs_health_target t[3] = {
		target("lo4", "127.0.0.1", &hc),
		target("lo6", "::1", &hc),
		target("nowhere", "192.0.2.1", &hc),	/* no route in this namespace */
	};
	int budget = 2 * INTERVAL + TIMEOUT;
	struct cs_health *h;
	struct ev e;
	__u64 t0 = now_ms(), ms[3] = { 0 };
	int i;

	ev_reset();
	h = cs_health_start(t, 3, on_change, NULL);
	if (!EXPECT(h, "cs_health_start: %s", strerror(errno)))
		return;
	for (i = 0; i < 3; i++) {
		enum cs_health_verdict want = i < 2 ? CS_HEALTH_UP : CS_HEALTH_DOWN;

		if (EXPECT(ev_wait(0, (__u32)i, want, 3 * budget, &e) >= 0, "%s: no %s within %d ms",
			   t[i].name, want ? "UP" : "DOWN", 3 * budget))
			ms[i] = e.at - t0;
		if (i == 2)
			EXPECT(strstr(e.why, "unreachable"), "why: %s", e.why);
	}
	cs_health_stop(h);
	for (i = 0; i < 3; i++)
		EXPECT_EQ(ev_count((__u32)i), 1);
	printf("# icmp (%s sockets): 127.0.0.1 UP after %llu ms, ::1 UP after %llu ms, "
	       "192.0.2.1 DOWN after %llu ms (budget %d)\n",
	       label, (unsigned long long)ms[0], (unsigned long long)ms[1],
	       (unsigned long long)ms[2], budget);
}

/* Raw sockets: a fresh namespace allows no unprivileged ping sockets. */
static void icmp_raw_sockets(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);

	if (fd >= 0) {
		close(fd);
		T_SKIP("ping sockets are allowed here, so the raw path cannot be forced");
		return;
	}
	icmp_case("raw");
}

static void icmp_ping_sockets(void)
{
	int fd, w = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY);
	bool ok = w >= 0 && write(w, "0 2147483647", 12) == 12;

	if (w >= 0)
		close(w);
	fd = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
	if (!ok || fd < 0) {
		T_SKIP("cannot allow ping sockets in this namespace");
		return;
	}
	close(fd);
	icmp_case("ping");
}

/* ---- udp ---- */

static volatile int echo_stop;
static int echo_fd = -1;

static void *echo_responder(void *arg)
{
	char buf[512];

	(void)arg;
	while (!echo_stop) {
		struct pollfd p = { .fd = echo_fd, .events = POLLIN };
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		ssize_t n;

		if (poll(&p, 1, 20) <= 0)
			continue;
		n = recvfrom(echo_fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &len);
		if (n >= 0)
			sendto(echo_fd, buf, (size_t)n, 0, (struct sockaddr *)&ss, len);
	}
	return NULL;
}

static void udp_echo_silence_refused(void)
{
	struct cs_health_conf hc_echo, hc_silent, hc_closed;
	struct cs_health_target t[3];
	static struct cs_probe_stats st[3];	/* each result counted where it belongs */
	int silent = bind_inet(SOCK_DGRAM, "127.0.0.3", 0);
	int closed = bind_inet(SOCK_DGRAM, "127.0.0.3", 0);
	int budget_up = 2 * INTERVAL + TIMEOUT, budget_down = 2 * INTERVAL + TIMEOUT;
	struct cs_health *h = NULL;
	bool echoing = false;
	__u64 t0, ms[4] = { 0 };
	pthread_t th;
	struct ev e;
	__u16 closed_port;

	ev_reset();
	echo_fd = bind_inet(SOCK_DGRAM, "127.0.0.3", 0);
	if (!EXPECT(echo_fd >= 0 && silent >= 0 && closed >= 0, "bind: %s", strerror(errno)))
		goto out;
	closed_port = port_of(closed);
	close(closed);		/* nothing listens there now: port unreachable */
	closed = -1;
	echo_stop = 0;
	echoing = !pthread_create(&th, NULL, echo_responder, NULL);
	hc_echo = hconf("udp", port_of(echo_fd), 2, 2);
	hc_silent = hconf("udp", port_of(silent), 2, 2);
	hc_closed = hconf("udp", closed_port, 2, 2);
	t[0] = target("echo", "127.0.0.3", &hc_echo);
	t[1] = target("silent", "127.0.0.3", &hc_silent);
	t[2] = target("closed", "127.0.0.3", &hc_closed);
	t[0].stats = &st[0], t[1].stats = &st[1], t[2].stats = &st[2];

	t0 = now_ms();
	h = cs_health_start(t, 3, on_change, NULL);
	if (!EXPECT(h, "cs_health_start: %s", strerror(errno)))
		goto out;
	if (EXPECT(ev_wait(0, 0, CS_HEALTH_UP, 3 * budget_up, &e) >= 0, "echo: no UP"))
		ms[0] = e.at - t0;
	if (EXPECT(ev_wait(0, 1, CS_HEALTH_DOWN, 3 * budget_down, &e) >= 0, "silent: no DOWN")) {
		ms[1] = e.at - t0;
		EXPECT(strstr(e.why, "no answer within"), "why: %s", e.why);
	}
	if (EXPECT(ev_wait(0, 2, CS_HEALTH_DOWN, 3 * budget_down, &e) >= 0, "closed: no DOWN")) {
		ms[2] = e.at - t0;
		EXPECT(strstr(e.why, "port unreachable"), "why: %s", e.why);
	}

	/* the metrics' counts: good probes with their latency, timeouts, failures */
	EXPECT(st[0].ok >= 2 && !st[0].timeout, "echo: %llu ok, %llu timeouts", (unsigned long long)st[0].ok,
	       (unsigned long long)st[0].timeout);
	{
		__u64 in_buckets = 0;
		size_t b;

		for (b = 0; b <= CS_HIST_BUCKETS; b++)
			in_buckets += st[0].latency.bucket[b];
		EXPECT(in_buckets == st[0].ok && st[0].latency.bucket[CS_HIST_BUCKETS] == 0,
		       "echo: %llu in the latency buckets, %llu ok; above 10 s: %llu",
		       (unsigned long long)in_buckets, (unsigned long long)st[0].ok,
		       (unsigned long long)st[0].latency.bucket[CS_HIST_BUCKETS]);
	}
	EXPECT(st[1].timeout >= 2 && !st[1].ok && !st[1].failed, "silent: %llu timeouts, %llu ok, %llu failed",
	       (unsigned long long)st[1].timeout, (unsigned long long)st[1].ok, (unsigned long long)st[1].failed);
	EXPECT(st[2].failed >= 2 && !st[2].ok && !st[2].timeout, "closed: %llu failed, %llu ok, %llu timeouts",
	       (unsigned long long)st[2].failed, (unsigned long long)st[2].ok, (unsigned long long)st[2].timeout);

	/* the responder goes away: its instance fails by port unreachable */
	echo_stop = 1;
	if (echoing)
		pthread_join(th, NULL);
	echoing = false;
	close(echo_fd);
	echo_fd = -1;
	t0 = now_ms();
	if (EXPECT(ev_wait(0, 0, CS_HEALTH_DOWN, 3 * budget_down, &e) >= 0,
		   "echo: no DOWN after the responder stopped")) {
		ms[3] = e.at - t0;
		EXPECT(strstr(e.why, "port unreachable"), "why: %s", e.why);
	}
	printf("# udp: echo UP after %llu ms (budget %d); silent DOWN after %llu ms, closed port "
	       "DOWN after %llu ms (budget %d); echo DOWN %llu ms after the responder stopped\n",
	       (unsigned long long)ms[0], budget_up, (unsigned long long)ms[1],
	       (unsigned long long)ms[2], budget_down, (unsigned long long)ms[3]);
out:
	if (h)
		cs_health_stop(h);
	echo_stop = 1;
	if (echoing)
		pthread_join(th, NULL);
	if (echo_fd >= 0)
		close(echo_fd);
	echo_fd = -1;
	if (silent >= 0)
		close(silent);
}

/* ---- bad targets ---- */

static void refuses_bad_targets(void)
{
	struct cs_health_conf no_port = hconf("tcp", 0, 3, 2), bogus = hconf("http", 80, 3, 2);
	struct cs_health_target t1 = target("a", "127.0.0.1", &no_port);
	struct cs_health_target t2 = target("b", "127.0.0.1", &bogus);
	struct cs_health *h;

	errno = 0;
	h = cs_health_start(&t1, 1, on_change, NULL);
	EXPECT(!h && errno == EINVAL, "tcp without a port: %p, %s", (void *)h, strerror(errno));
	errno = 0;
	h = cs_health_start(&t2, 1, on_change, NULL);
	EXPECT(!h && errno == EINVAL, "unknown probe: %p, %s", (void *)h, strerror(errno));
	h = cs_health_start(NULL, 0, on_change, NULL);
	if (EXPECT(h, "no targets: %s", strerror(errno))) {
		EXPECT_EQ(cs_health_verdict(h, 0), CS_HEALTH_DOWN);	/* out of range */
		cs_health_stop(h);
	}
}

/* ---- link-down ---- */

struct peer {
	pid_t pid;
	int ctl;			/* closing it ends the peer */
};

/*
 * The far end of csh0: csh1 in a namespace of its own, held by a child
 * process, with 10.99.0.2/24. Returns 0, or -1 with why.
 */
static int peer_start(struct peer *p, char *why, size_t len)
{
	int up[2], down[2];
	char c, cmd[128];

	if (pipe(up) || pipe(down)) {
		snprintf(why, len, "pipe: %s", strerror(errno));
		return -1;
	}
	p->pid = fork();
	if (p->pid < 0) {
		snprintf(why, len, "fork: %s", strerror(errno));
		return -1;
	}
	if (!p->pid) {
		close(up[0]);
		close(down[1]);
		c = unshare(CLONE_NEWNET) ? 'n' : 'y';
		if (write(up[1], &c, 1) != 1 || read(down[0], &c, 1) != 1)
			_exit(1);
		c = run("ip link set lo up && ip addr add 10.99.0.2/24 dev csh1 && ip link set csh1 up")
			    ? 'n' : 'y';
		if (write(up[1], &c, 1) != 1)
			_exit(1);
		while (read(down[0], &c, 1) > 0)	/* until the parent closes it */
			;
		_exit(0);
	}
	close(up[1]);
	close(down[0]);
	p->ctl = down[1];
	if (read(up[0], &c, 1) != 1 || c != 'y') {
		snprintf(why, len, "the peer cannot unshare its namespace");
		goto fail;
	}
	snprintf(cmd, sizeof(cmd), "ip link set csh1 netns %d", (int)p->pid);
	if (run(cmd)) {
		snprintf(why, len, "cannot move csh1 into the peer's namespace");
		goto fail;
	}
	if (write(p->ctl, "g", 1) != 1 || read(up[0], &c, 1) != 1 || c != 'y') {
		snprintf(why, len, "the peer cannot configure csh1");
		goto fail;
	}
	close(up[0]);
	return 0;
fail:
	close(up[0]);
	close(p->ctl);
	waitpid(p->pid, NULL, 0);
	p->pid = 0;
	return -1;
}

static void peer_stop(struct peer *p)
{
	if (p->pid <= 0)
		return;
	close(p->ctl);
	waitpid(p->pid, NULL, 0);
	p->pid = 0;
}

/*
 * veth: an instance behind csh0 answers pings, so it comes UP; csh0 goes
 * down and the instance must be DOWN long before fall=100 probes could say
 * so; csh0 comes back and rise good probes bring it UP again. A link-only
 * instance (no probe) follows the link at once; an instance on another link
 * (lo) is not touched. Deleting csh0 fails the instance at once too.
 */
static void link_down_veth(void)
{
	struct cs_health_conf hc = hconf("icmp", 0, 100, 2);
	struct cs_health_target t[3] = {
		target("behind-csh0", "10.99.0.2", &hc),
		target("link-only", "10.99.0.2", NULL),
		target("on-lo", "127.0.0.1", &hc),
	};
	int fall_ms = 100 * INTERVAL, budget_up = 2 * INTERVAL + TIMEOUT;
	struct peer peer = { 0 };
	struct cs_health *h = NULL;
	__u64 t0, up_ms = 0, down_ms = 0, down1_ms = 0, back_ms = 0, back1_ms = 0, del_ms = 0;
	char why[128];
	size_t mark;
	struct ev e;

	if (peer_start(&peer, why, sizeof(why))) {
		T_SKIP("%s", why);
		goto out;
	}
	if (!EXPECT(!run("ip addr add 10.99.0.1/24 dev csh0 && ip link set csh0 up"),
		    "cannot configure csh0"))
		goto out;
	ev_reset();
	t0 = now_ms();
	h = cs_health_start(t, 3, on_change, NULL);
	if (!EXPECT(h, "cs_health_start: %s", strerror(errno)))
		goto out;
	/* a first ping may wait for ARP: allow a second more */
	if (!EXPECT(ev_wait(0, 0, CS_HEALTH_UP, 3 * budget_up + 1000, &e) >= 0,
		    "the instance behind csh0 never came UP"))
		goto out;
	up_ms = e.at - t0;
	EXPECT(ev_wait(0, 2, CS_HEALTH_UP, 3 * budget_up, &e) >= 0, "on-lo: no UP");
	EXPECT_EQ(ev_count(1), 0);	/* link-only: nothing to say while the link is up */

	mark = ev_pos();
	t0 = now_ms();
	if (!EXPECT(!run("ip link set csh0 down"), "ip link set csh0 down failed"))
		goto out;
	if (EXPECT(ev_wait(mark, 0, CS_HEALTH_DOWN, 1000, &e) >= 0,
		   "no DOWN within 1000 ms of csh0 going down (fall would take %d ms)", fall_ms)) {
		down_ms = e.at - t0;
		EXPECT(strstr(e.why, "link csh0 down"), "why: %s", e.why);
		EXPECT(down_ms < (__u64)fall_ms / 10, "DOWN after %llu ms",
		       (unsigned long long)down_ms);
	}
	if (EXPECT(ev_wait(mark, 1, CS_HEALTH_DOWN, 1000, &e) >= 0, "link-only: no DOWN")) {
		down1_ms = e.at - t0;
		EXPECT(strstr(e.why, "link csh0 down"), "why: %s", e.why);
	}
	EXPECT_EQ(cs_health_verdict(h, 0), CS_HEALTH_DOWN);

	mark = ev_pos();
	t0 = now_ms();
	if (!EXPECT(!run("ip link set csh0 up"), "ip link set csh0 up failed"))
		goto out;
	if (EXPECT(ev_wait(mark, 1, CS_HEALTH_UP, 1000, &e) >= 0, "link-only: no UP")) {
		back1_ms = e.at - t0;
		EXPECT(strstr(e.why, "link csh0 up"), "why: %s", e.why);
	}
	if (EXPECT(ev_wait(mark, 0, CS_HEALTH_UP, 3 * budget_up + 1000, &e) >= 0,
		   "no UP after csh0 came back")) {
		back_ms = e.at - t0;
		EXPECT(back_ms >= (__u64)INTERVAL, "UP %llu ms after the link, before rise=2 probes",
		       (unsigned long long)back_ms);
	}

	/* the interface is deleted: down at once too */
	mark = ev_pos();
	t0 = now_ms();
	if (!EXPECT(!run("ip link del csh0"), "ip link del csh0 failed"))
		goto out;
	if (EXPECT(ev_wait(mark, 0, CS_HEALTH_DOWN, 1000, &e) >= 0, "no DOWN after deleting csh0")) {
		del_ms = e.at - t0;
		/* the kernel says "down" before "deleted": either may be the why */
		EXPECT(strstr(e.why, "link csh0 down"), "why: %s", e.why);
	}
	EXPECT_EQ(ev_count(2), 1);	/* on-lo: its UP, nothing else */
	printf("# link (veth): UP after %llu ms; csh0 down -> DOWN after %llu ms (fall=100 would "
	       "take %d ms), link-only DOWN after %llu ms; csh0 up -> link-only UP after %llu ms, "
	       "probed UP after %llu ms; csh0 deleted -> DOWN after %llu ms\n",
	       (unsigned long long)up_ms, (unsigned long long)down_ms, fall_ms,
	       (unsigned long long)down1_ms, (unsigned long long)back1_ms,
	       (unsigned long long)back_ms, (unsigned long long)del_ms);
out:
	if (h)
		cs_health_stop(h);
	peer_stop(&peer);
	run("ip link del csh0");
}

/* dummy: no peer, so the probes fail, slowly (fall=100); only the link can
 * explain a quick DOWN. */
static void link_down_dummy(void)
{
	struct cs_health_conf hc = hconf("tcp", 9, 100, 1);
	struct cs_health_target t = target("behind-csh0", "10.99.0.2", &hc);
	struct cs_health *h = NULL;
	__u64 t0, down_ms;
	struct ev e;

	if (!EXPECT(!run("ip addr add 10.99.0.1/24 dev csh0 && ip link set csh0 up"),
		    "cannot configure csh0"))
		goto out;
	ev_reset();
	h = cs_health_start(&t, 1, on_change, NULL);
	if (!EXPECT(h, "cs_health_start: %s", strerror(errno)))
		goto out;
	sleep_ms(3 * INTERVAL);
	EXPECT_EQ(ev_count(0), 0);
	t0 = now_ms();
	if (!EXPECT(!run("ip link set csh0 down"), "ip link set csh0 down failed"))
		goto out;
	if (EXPECT(ev_wait(0, 0, CS_HEALTH_DOWN, 1000, &e) >= 0, "no DOWN within 1000 ms")) {
		down_ms = e.at - t0;
		EXPECT(strstr(e.why, "link csh0 down"), "why: %s", e.why);
		printf("# link (dummy): csh0 down -> DOWN after %llu ms (fall=100 would take %d ms)\n",
		       (unsigned long long)down_ms, 100 * INTERVAL);
	}
out:
	if (h)
		cs_health_stop(h);
	run("ip link del csh0");
}

static void link_down(void)
{
	if (!run("ip link add csh0 type veth peer name csh1"))
		link_down_veth();
	else if (!run("ip link add csh0 type dummy"))
		link_down_dummy();
	else
		T_SKIP("neither veth nor dummy interfaces can be created (modules missing?)");
}

static int lo_up(void)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = -1;

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (!ioctl(fd, SIOCGIFFLAGS, &ifr)) {
		ifr.ifr_flags |= IFF_UP;
		rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return rc;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (unshare(CLONE_NEWNET) || lo_up()) {
		printf("SKIP: health: all: cannot make a network namespace: %s\n", strerror(errno));
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	RUN(refuses_bad_targets);
	RUN(tcp_up_then_down);
	RUN(icmp_raw_sockets);
	RUN(icmp_ping_sockets);
	RUN(udp_echo_silence_refused);
	RUN(link_down);
	T_EXIT();
}
