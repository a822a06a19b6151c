// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * livegen - a packet generator for steer_path.sh: BPF_PROG_TEST_RUN of
 * livegen.bpf.c in live-frames mode, so the frames leave a veth toward its
 * peer as if a NIC had received them, and counters (livegen_sink.bpf.c) on
 * the veths where they may arrive.
 *
 *   livegen --dev IF --dst-mac MAC --src IP --dst IP[,IP...] [--flows N]
 *           [--sink NETNS:IF]... [--warmup S] [--seconds S] ...
 *
 * Run it in the sender's namespace (nsenter --net=...); each --sink names
 * a namespace file (/run/netns/NAME) and an interface there, and is
 * attached before the first frame and detached when livegen exits (XDP
 * links), so a killed run leaves nothing behind. After --warmup seconds it
 * counts for --seconds and prints one JSON object: the window in seconds,
 * frames sent and frames at each sink in the window (in --sink order), and
 * the totals of the whole run (taken after the sender stops and a short
 * drain), from which the caller sees what was lost on the way, and the
 * share of the window that the sender thread was on a CPU
 * (sender_cpu_share; less than 1 when it had to share its CPU).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "livegen.h"
#include "livegen.skel.h"
#include "livegen_sink.skel.h"

#define LG_SINKS_MAX 8
/* The largest live frame: a page less the kernel's headroom and tail (4 KiB
 * pages, 64-octet cache lines). */
#define LG_FRAME_MAX 3408
/* Frames per BPF_PROG_TEST_RUN call: more than any window sends. A call
 * puts the program into the XDP dispatcher and takes it out again, each a
 * synchronize_rcu() that the sender sleeps through: with 16,384 frames a
 * call it was on its CPU a tenth of the time, and the path looked ten times
 * slower than it is. So one long call, which the end of the window
 * interrupts with a signal (the kernel's loop checks for one). */
#define LG_REPEAT (1u << 30)

struct lg_opts {
	const char *dev;
	unsigned char src_mac[ETH_ALEN], dst_mac[ETH_ALEN];
	bool have_src_mac, have_dst_mac;
	struct in_addr src;
	__u32 daddr[LG_DADDR_MAX];	/* network order */
	unsigned n_daddr;
	unsigned flows, size, batch, dport;
	double warmup, seconds;
	const char *sink[LG_SINKS_MAX];
	unsigned n_sinks;
};

struct lg_sender {
	int prog_fd, ifindex;
	const struct lg_opts *o;
	unsigned char frame[LG_FRAME_MAX];
	int err;		/* the first failed run's -errno */
};

static volatile sig_atomic_t lg_stop, lg_sender_done;

static void lg_on_signal(int sig)
{
	if (sig != SIGUSR1)
		lg_stop = 1;
}

/* SIGINT and SIGTERM stop the run; SIGUSR1 only interrupts the sender's
 * BPF_PROG_TEST_RUN (no SA_RESTART), which then sees lg_stop. */
static void catch_signals(void)
{
	struct sigaction sa = { .sa_handler = lg_on_signal };

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
}

/* Stop the sender: a signal can come just before it enters the syscall,
 * so repeat it until the thread says it is out. */
static void stop_sender(pthread_t th)
{
	lg_stop = 1;
	while (!lg_sender_done) {
		pthread_kill(th, SIGUSR1);
		usleep(1000);
	}
	pthread_join(th, NULL);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: livegen --dev IF --dst-mac MAC --src IP --dst IP[,IP...] [--src-mac MAC]\n"
		"               [--dport N] [--flows N] [--size N] [--batch N] [--sink NETNS:IF]...\n"
		"               [--warmup S] [--seconds S]\n");
	exit(2);
}

static void die(const char *what, int err)
{
	fprintf(stderr, "livegen: %s: %s\n", what, strerror(err < 0 ? -err : err));
	exit(1);
}

static bool parse_mac(const char *s, unsigned char *mac)
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3],
		      &mac[4], &mac[5]) == 6;
}

static bool parse_daddrs(char *list, struct lg_opts *o)
{
	char *save = NULL, *tok;
	struct in_addr a;

	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (o->n_daddr == LG_DADDR_MAX || inet_pton(AF_INET, tok, &a) != 1)
			return false;
		o->daddr[o->n_daddr++] = a.s_addr;
	}
	return o->n_daddr > 0;
}

static void parse_args(int argc, char **argv, struct lg_opts *o)
{
	static const struct option longs[] = {
		{"dev", 1, 0, 'd'}, {"src-mac", 1, 0, 'm'}, {"dst-mac", 1, 0, 'M'},
		{"src", 1, 0, 's'}, {"dst", 1, 0, 'D'}, {"dport", 1, 0, 'p'},
		{"flows", 1, 0, 'f'}, {"size", 1, 0, 'z'}, {"batch", 1, 0, 'b'},
		{"sink", 1, 0, 'k'}, {"warmup", 1, 0, 'w'}, {"seconds", 1, 0, 't'}, {0},
	};
	int c;

	*o = (struct lg_opts){ .flows = 1, .size = 60, .batch = 64, .dport = 9, .warmup = 0.3,
			       .seconds = 1 };
	while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (c) {
		case 'd': o->dev = optarg; break;
		case 'm': if (!parse_mac(optarg, o->src_mac)) usage(); o->have_src_mac = true; break;
		case 'M': if (!parse_mac(optarg, o->dst_mac)) usage(); o->have_dst_mac = true; break;
		case 's': if (inet_pton(AF_INET, optarg, &o->src) != 1) usage(); break;
		case 'D': if (!parse_daddrs(optarg, o)) usage(); break;
		case 'p': o->dport = strtoul(optarg, NULL, 0); break;
		case 'f': o->flows = strtoul(optarg, NULL, 0); break;
		case 'z': o->size = strtoul(optarg, NULL, 0); break;
		case 'b': o->batch = strtoul(optarg, NULL, 0); break;
		case 'k': if (o->n_sinks == LG_SINKS_MAX) usage(); o->sink[o->n_sinks++] = optarg; break;
		case 'w': o->warmup = strtod(optarg, NULL); break;
		case 't': o->seconds = strtod(optarg, NULL); break;
		default: usage();
		}
	}
	if (!o->dev || !o->have_dst_mac || !o->src.s_addr || !o->n_daddr || !o->flows ||
	    o->flows > LG_FLOWS_MAX || o->size < LG_HDR_LEN || o->size > LG_FRAME_MAX ||
	    !o->dport || o->dport > 65535 || o->seconds <= 0)
		usage();
}

static void own_mac(const char *dev, unsigned char *mac)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		die(dev, errno);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	close(fd);
}

/* The frame as BPF_PROG_TEST_RUN first copies it into each page; livegen_tx
 * rewrites its headers from the same template on every run. */
static void build_frame(const struct lg_opts *o, unsigned char *f)
{
	unsigned char *ip = f + LG_OFF_IP, *udp = ip + 20;
	__u16 tot = htons(o->size - LG_OFF_IP), ulen = htons(o->size - LG_OFF_IP - 20);
	__u16 dport = htons(o->dport);

	memset(f, 0, o->size);
	memcpy(f, o->dst_mac, ETH_ALEN);
	memcpy(f + ETH_ALEN, o->src_mac, ETH_ALEN);
	f[12] = 0x08;		/* IPv4 */
	ip[0] = 0x45;
	memcpy(ip + 2, &tot, 2);
	ip[8] = 64;		/* TTL */
	ip[9] = 17;		/* UDP */
	memcpy(ip + 12, &o->src.s_addr, 4);
	memcpy(udp + 2, &dport, 2);
	memcpy(udp + 4, &ulen, 2);	/* checksum 0: none, as IPv4 allows */
}

/* The one's complement sum of the IPv4 header words as they lie in memory
 * (the sum does not care about byte order if the result is stored the same
 * way), with the destination and the checksum still 0. */
static __u32 csum_base(const unsigned char *f)
{
	__u32 sum = 0;
	__u16 w;
	int i;

	for (i = 0; i < 20; i += 2) {
		memcpy(&w, f + LG_OFF_IP + i, 2);
		sum += w;
	}
	return sum;
}

static struct livegen_bpf *load_sender(const struct lg_opts *o, const unsigned char *frame)
{
	struct livegen_bpf *skel = livegen_bpf__open();
	unsigned i;
	int err;

	if (!skel)
		die("open livegen.bpf.o", errno);
	memcpy((void *)skel->rodata->lg_hdr, frame, LG_HDR_LEN);
	skel->rodata->lg_csum_base = csum_base(frame);
	for (i = 0; i < o->n_daddr; i++)
		skel->rodata->lg_daddr[i] = o->daddr[i];
	skel->rodata->lg_n_daddr = o->n_daddr;
	skel->rodata->lg_flows = o->flows;
	err = livegen_bpf__load(skel);
	if (err)
		die("load livegen.bpf.o", err);
	return skel;
}

/* Attach a counter to IF in the namespace NETNS ("NETNS:IF"), then come
 * back to the namespace livegen started in (home). */
static struct livegen_sink_bpf *attach_sink(const char *spec, unsigned dport, int home)
{
	char path[256], *colon;
	struct livegen_sink_bpf *skel;
	unsigned ifindex;
	int fd, err;

	snprintf(path, sizeof(path), "%s", spec);
	colon = strrchr(path, ':');
	if (!colon)
		usage();
	*colon = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		die(path, errno);
	close(fd);
	ifindex = if_nametoindex(colon + 1);
	if (!ifindex)
		die(spec, errno);
	skel = livegen_sink_bpf__open();
	if (!skel)
		die("open livegen_sink.bpf.o", errno);
	skel->rodata->lg_dport = htons(dport);
	err = livegen_sink_bpf__load(skel);
	if (err)
		die("load livegen_sink.bpf.o", err);
	skel->links.livegen_sink = bpf_program__attach_xdp(skel->progs.livegen_sink, ifindex);
	if (!skel->links.livegen_sink)
		die(spec, errno);
	if (setns(home, CLONE_NEWNET) < 0)
		die("back to the sender's namespace", errno);
	return skel;
}

/* The sum over CPUs of the first __u64 of a one-entry per-CPU array. */
static __u64 percpu_first(int map_fd, size_t value_size)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	size_t stride = (value_size + 7) & ~(size_t)7;
	unsigned char *vals = calloc(ncpu, stride);
	__u32 zero = 0;
	__u64 sum = 0, v;

	if (!vals)
		die("memory", ENOMEM);
	if (bpf_map_lookup_elem(map_fd, &zero, vals))
		die("read a counter", errno);
	for (i = 0; i < ncpu; i++) {
		memcpy(&v, vals + i * stride, sizeof(v));
		sum += v;
	}
	free(vals);
	return sum;
}

static void *send_loop(void *arg)
{
	struct lg_sender *s = arg;
	struct xdp_md ctx = { .data_end = s->o->size, .ingress_ifindex = s->ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = s->frame, .data_size_in = s->o->size,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = LG_REPEAT,
		    .batch_size = s->o->batch, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

	while (!lg_stop) {
		int err = bpf_prog_test_run_opts(s->prog_fd, &run);

		if (err && err != -EINTR) {
			s->err = err;
			lg_stop = 1;
		}
	}
	lg_sender_done = 1;
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Sleep s seconds unless a signal or the sender asks to stop. */
static void nap(double s)
{
	double end = now_s() + s;

	while (!lg_stop && now_s() < end)
		usleep(10000);
}

struct lg_counts {
	double t;
	__u64 sent, sink[LG_SINKS_MAX];
	double sender_cpu;	/* the sender thread's CPU time, softirq in its context included */
};

/* The CPU time of the sender thread. The kernel counts the softirq work
 * that runs in its context (the veths' NAPI: the whole path) as its time,
 * as long as it has no IRQ time accounting (CONFIG_IRQ_TIME_ACCOUNTING);
 * work deferred to ksoftirqd is not counted. */
static double thread_cpu_s(pthread_t th)
{
	struct timespec ts;
	clockid_t clk;

	if (pthread_getcpuclockid(th, &clk) || clock_gettime(clk, &ts))
		return -1;
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The one CPU livegen may run on, or -1 when it may run on several. */
static int pinned_cpu(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) || CPU_COUNT(&set) != 1)
		return -1;
	return sched_getcpu();
}

static void read_counts(struct lg_counts *c, int gen_fd, struct livegen_sink_bpf **sinks, unsigned n)
{
	unsigned i;

	c->sent = percpu_first(gen_fd, sizeof(struct lg_gen));
	for (i = 0; i < n; i++)
		c->sink[i] = percpu_first(bpf_map__fd(sinks[i]->maps.lg_sink), sizeof(struct lg_sink));
}

/* An end of the window: the clocks, then the counts. */
static void snapshot(struct lg_counts *c, int gen_fd, struct livegen_sink_bpf **sinks, unsigned n,
		     pthread_t th)
{
	c->sender_cpu = thread_cpu_s(th);
	c->t = now_s();
	read_counts(c, gen_fd, sinks, n);
}

static void print_u64s(const char *name, const __u64 *v, const __u64 *base, unsigned n)
{
	unsigned i;

	printf(",\"%s\":[", name);
	for (i = 0; i < n; i++)
		printf("%s%llu", i ? "," : "", (unsigned long long)(v[i] - (base ? base[i] : 0)));
	printf("]");
}

int main(int argc, char **argv)
{
	static struct lg_sender s;
	struct livegen_sink_bpf *sinks[LG_SINKS_MAX] = {};
	struct lg_counts a, b, end;
	struct livegen_bpf *gen;
	struct lg_opts o;
	pthread_t th;
	unsigned i;
	int home, gen_fd, cpu = pinned_cpu();

	parse_args(argc, argv, &o);
	catch_signals();
	s.o = &o;
	s.ifindex = if_nametoindex(o.dev);
	if (!s.ifindex)
		die(o.dev, errno);
	if (!o.have_src_mac)
		own_mac(o.dev, o.src_mac);
	build_frame(&o, s.frame);
	gen = load_sender(&o, s.frame);
	s.prog_fd = bpf_program__fd(gen->progs.livegen_tx);
	gen_fd = bpf_map__fd(gen->maps.lg_gen);

	home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0)
		die("/proc/self/ns/net", errno);
	for (i = 0; i < o.n_sinks; i++)
		sinks[i] = attach_sink(o.sink[i], o.dport, home);

	errno = pthread_create(&th, NULL, send_loop, &s);
	if (errno)
		die("thread", errno);
	nap(o.warmup);
	snapshot(&a, gen_fd, sinks, o.n_sinks, th);
	nap(o.seconds);
	snapshot(&b, gen_fd, sinks, o.n_sinks, th);
	stop_sender(th);
	if (s.err)
		die("BPF_PROG_TEST_RUN (live frames)", s.err);
	usleep(50000);		/* what is still in the veths' rings lands */
	read_counts(&end, gen_fd, sinks, o.n_sinks);

	printf("{\"seconds\":%.6f,\"sent\":%llu", b.t - a.t, (unsigned long long)(b.sent - a.sent));
	print_u64s("sinks", b.sink, a.sink, o.n_sinks);
	printf(",\"sent_total\":%llu", (unsigned long long)end.sent);
	print_u64s("sinks_total", end.sink, NULL, o.n_sinks);
	printf(",\"cpu\":%d,\"sender_cpu_share\":%.3f}\n", cpu,
	       a.sender_cpu >= 0 ? (b.sender_cpu - a.sender_cpu) / (b.t - a.t) : -1.0);

	for (i = 0; i < o.n_sinks; i++)
		livegen_sink_bpf__destroy(sinks[i]);
	livegen_bpf__destroy(gen);
	return 0;
}
