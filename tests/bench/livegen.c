// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * livegen - a packet generator for steer_path.sh, and counters
 * (livegen_sink.bpf.c) on the veths where its frames may arrive. Two ways
 * to send, the same frames either way:
 *   live_frames  BPF_PROG_TEST_RUN of livegen.bpf.c in live-frames mode
 *                (BPF_F_TEST_XDP_LIVE_FRAMES): the frames leave the veth
 *                toward its peer as if a NIC had received them. The fastest;
 *                some kernel builds refuse it (EPERM, also as root).
 *   af_packet    an AF_PACKET socket on the veth, sendmmsg in batches,
 *                PACKET_QDISC_BYPASS: an skb a frame, so slower, but every
 *                kernel allows it.
 * --generator auto (the default) probes for live frames with one frame and
 * falls back to af_packet; --probe only says which auto would pick and why.
 *
 *   livegen --dev IF --dst-mac MAC --src IP --dst IP[,IP...] [--flows N]
 *           [--sink NETNS:IF]... [--warmup S] [--seconds S]
 *           [--generator auto|live_frames|af_packet] [--probe] ...
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
 * (sender_cpu_share; less than 1 when it had to share its CPU), and which
 * generator sent.
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
#include <linux/if_packet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define DIE_NAME "livegen"
#include "die.h"
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
/* Frames per sendmmsg call of the af_packet sender. */
#define LG_BATCH_MAX 256

enum lg_generator { LG_AUTO, LG_LIVE_FRAMES, LG_AF_PACKET };
static const char *const lg_generator_name[] = { "auto", "live_frames", "af_packet" };

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
	enum lg_generator generator;
	bool probe;
};

struct lg_sender {
	enum lg_generator kind;	/* the one sending: live_frames or af_packet */
	int prog_fd, ifindex;
	int gen_fd;		/* live_frames: livegen_tx's lg_gen (frames built) */
	__u64 probe_sent;	/* live_frames: what the probe sent, before any sink */
	int sock;		/* af_packet: the socket */
	__u32 csum_base;	/* af_packet: csum_base() of frame */
	const struct lg_opts *o;
	unsigned char frame[LG_FRAME_MAX];
	__u64 sent;		/* af_packet: frames the veth took */
	int err;		/* the first failed send's -errno */
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
		"               [--warmup S] [--seconds S] [--generator auto|live_frames|af_packet]\n"
		"               [--probe]\n");
	exit(2);
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
		{"sink", 1, 0, 'k'}, {"warmup", 1, 0, 'w'}, {"seconds", 1, 0, 't'},
		{"generator", 1, 0, 'g'}, {"probe", 0, 0, 'P'}, {0},
	};
	int c, g;

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
		case 'g':
			for (g = LG_AUTO; g <= LG_AF_PACKET && strcmp(optarg, lg_generator_name[g]); g++)
				;
			if (g > LG_AF_PACKET)
				usage();
			o->generator = g;
			break;
		case 'P': o->probe = true; break;
		default: usage();
		}
	}
	if (!o->dev || !o->have_dst_mac || !o->src.s_addr || !o->n_daddr || !o->flows ||
	    o->flows > LG_FLOWS_MAX || o->size < LG_HDR_LEN || o->size > LG_FRAME_MAX ||
	    !o->dport || o->dport > 65535 || o->seconds <= 0 || !o->batch)
		usage();
}

static void own_mac(const char *dev, unsigned char *mac)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	if (fd < 0 || ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		die_errno(dev, errno);
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
		die_errno("open livegen.bpf.o", errno);
	memcpy((void *)skel->rodata->lg_hdr, frame, LG_HDR_LEN);
	skel->rodata->lg_csum_base = csum_base(frame);
	for (i = 0; i < o->n_daddr; i++)
		skel->rodata->lg_daddr[i] = o->daddr[i];
	skel->rodata->lg_n_daddr = o->n_daddr;
	skel->rodata->lg_flows = o->flows;
	err = livegen_bpf__load(skel);
	if (err)
		die_errno("load livegen.bpf.o", err);
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
		die_errno(path, errno);
	close(fd);
	ifindex = if_nametoindex(colon + 1);
	if (!ifindex)
		die_errno(spec, errno);
	skel = livegen_sink_bpf__open();
	if (!skel)
		die_errno("open livegen_sink.bpf.o", errno);
	skel->rodata->lg_dport = htons(dport);
	err = livegen_sink_bpf__load(skel);
	if (err)
		die_errno("load livegen_sink.bpf.o", err);
	skel->links.livegen_sink = bpf_program__attach_xdp(skel->progs.livegen_sink, ifindex);
	if (!skel->links.livegen_sink)
		die_errno(spec, errno);
	if (setns(home, CLONE_NEWNET) < 0)
		die_errno("back to the sender's namespace", errno);
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
		die_errno("memory", ENOMEM);
	if (bpf_map_lookup_elem(map_fd, &zero, vals))
		die_errno("read a counter", errno);
	for (i = 0; i < ncpu; i++) {
		memcpy(&v, vals + i * stride, sizeof(v));
		sum += v;
	}
	free(vals);
	return sum;
}

/* One BPF_PROG_TEST_RUN in live-frames mode: repeat frames. 0 or -errno. */
static int run_live_frames(const struct lg_sender *s, __u32 repeat)
{
	struct xdp_md ctx = { .data_end = s->o->size, .ingress_ifindex = s->ifindex };
	LIBBPF_OPTS(bpf_test_run_opts, run, .data_in = s->frame, .data_size_in = s->o->size,
		    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = repeat,
		    .batch_size = s->o->batch, .flags = BPF_F_TEST_XDP_LIVE_FRAMES);

	return bpf_prog_test_run_opts(s->prog_fd, &run);
}

static void *send_live_frames(void *arg)
{
	struct lg_sender *s = arg;

	while (!lg_stop) {
		int err = run_live_frames(s, LG_REPEAT);

		if (err && err != -EINTR) {
			s->err = err;
			lg_stop = 1;
		}
	}
	lg_sender_done = 1;
	return NULL;
}

/* A raw socket on the sender's veth that only sends (protocol 0), past the
 * qdisc straight to the driver, as pktgen and trafgen do. */
static int open_packet_socket(int ifindex)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = ifindex };
	int one = 1, fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);

	if (fd < 0)
		die_errno("AF_PACKET socket", errno);
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		die_errno("bind the AF_PACKET socket to the veth", errno);
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0)
		die_errno("PACKET_QDISC_BYPASS", errno);
	return fd;
}

/* The frame of stream flow into f: what livegen_tx writes, byte for byte. */
static void write_frame(const struct lg_sender *s, unsigned flow, unsigned char *f)
{
	const struct lg_opts *o = s->o;
	__u32 daddr = o->daddr[flow % o->n_daddr];
	__u16 csum = lg_ip_csum(s->csum_base, daddr), sport = htons(LG_SPORT_BASE + flow);

	memcpy(f, s->frame, o->size);
	memcpy(f + LG_OFF_DADDR, &daddr, 4);
	memcpy(f + LG_OFF_CSUM, &csum, 2);
	memcpy(f + LG_OFF_SPORT, &sport, 2);
}

/* Streams take turns frame by frame, as in livegen_tx; a frame the veth
 * refused (its peer's ring full: ENOBUFS) is not counted as sent. */
static void *send_af_packet(void *arg)
{
	static unsigned char frames[LG_BATCH_MAX][LG_FRAME_MAX];
	struct mmsghdr msgs[LG_BATCH_MAX];
	struct iovec iov[LG_BATCH_MAX];
	struct lg_sender *s = arg;
	unsigned batch = s->o->batch < LG_BATCH_MAX ? s->o->batch : LG_BATCH_MAX, flow = 0, i;

	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < batch; i++) {
		iov[i] = (struct iovec){ .iov_base = frames[i], .iov_len = s->o->size };
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	while (!lg_stop) {
		int n;

		for (i = 0; i < batch; i++) {
			write_frame(s, flow, frames[i]);
			flow = flow + 1 < s->o->flows ? flow + 1 : 0;
		}
		n = sendmmsg(s->sock, msgs, batch, 0);
		if (n > 0)
			__atomic_add_fetch(&s->sent, (__u64)n, __ATOMIC_RELAXED);
		else if (n < 0 && errno != EINTR && errno != ENOBUFS && errno != EAGAIN) {
			s->err = -errno;
			lg_stop = 1;
		}
	}
	lg_sender_done = 1;
	return NULL;
}

/* The generator to use: live frames when asked for, or when auto and one
 * frame goes out that way; else af_packet, with why in why. */
static enum lg_generator pick_generator(const struct lg_sender *s, char *why, size_t len)
{
	int err;

	snprintf(why, len, "asked for");
	if (s->o->generator != LG_AUTO)
		return s->o->generator;
	err = run_live_frames(s, 1);
	if (!err) {
		snprintf(why, len, "the kernel allows live frames");
		return LG_LIVE_FRAMES;
	}
	snprintf(why, len, "the kernel refuses live frames: %s", strerror(-err));
	return LG_AF_PACKET;
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

static __u64 frames_sent(const struct lg_sender *s)
{
	if (s->kind == LG_AF_PACKET)
		return __atomic_load_n(&s->sent, __ATOMIC_RELAXED);
	return percpu_first(s->gen_fd, sizeof(struct lg_gen)) - s->probe_sent;
}

static void read_counts(struct lg_counts *c, const struct lg_sender *s, struct livegen_sink_bpf **sinks,
			unsigned n)
{
	unsigned i;

	c->sent = frames_sent(s);
	for (i = 0; i < n; i++)
		c->sink[i] = percpu_first(bpf_map__fd(sinks[i]->maps.lg_sink), sizeof(struct lg_sink));
}

/* An end of the window: the clocks, then the counts. */
static void snapshot(struct lg_counts *c, const struct lg_sender *s, struct livegen_sink_bpf **sinks,
		     unsigned n, pthread_t th)
{
	c->sender_cpu = thread_cpu_s(th);
	c->t = now_s();
	read_counts(c, s, sinks, n);
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
	char why[256];
	pthread_t th;
	unsigned i;
	int home, cpu = pinned_cpu();

	parse_args(argc, argv, &o);
	catch_signals();
	s.o = &o;
	s.ifindex = if_nametoindex(o.dev);
	if (!s.ifindex)
		die_errno(o.dev, errno);
	if (!o.have_src_mac)
		own_mac(o.dev, o.src_mac);
	build_frame(&o, s.frame);
	s.csum_base = csum_base(s.frame);
	gen = load_sender(&o, s.frame);
	s.prog_fd = bpf_program__fd(gen->progs.livegen_tx);
	s.gen_fd = bpf_map__fd(gen->maps.lg_gen);
	s.kind = pick_generator(&s, why, sizeof(why));
	if (o.probe) {
		printf("%s (%s)\n", lg_generator_name[s.kind], why);
		livegen_bpf__destroy(gen);
		return 0;
	}
	if (s.kind == LG_AF_PACKET)
		s.sock = open_packet_socket(s.ifindex);
	else
		s.probe_sent = percpu_first(s.gen_fd, sizeof(struct lg_gen));

	home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (home < 0)
		die_errno("/proc/self/ns/net", errno);
	for (i = 0; i < o.n_sinks; i++)
		sinks[i] = attach_sink(o.sink[i], o.dport, home);

	errno = pthread_create(&th, NULL, s.kind == LG_AF_PACKET ? send_af_packet : send_live_frames, &s);
	if (errno)
		die_errno("thread", errno);
	nap(o.warmup);
	snapshot(&a, &s, sinks, o.n_sinks, th);
	nap(o.seconds);
	snapshot(&b, &s, sinks, o.n_sinks, th);
	stop_sender(th);
	if (s.err)
		die_errno(s.kind == LG_AF_PACKET ? "sendmmsg (AF_PACKET)" : "BPF_PROG_TEST_RUN (live frames)", s.err);
	usleep(50000);		/* what is still in the veths' rings lands */
	read_counts(&end, &s, sinks, o.n_sinks);

	printf("{\"generator\":\"%s\",\"seconds\":%.6f,\"sent\":%llu", lg_generator_name[s.kind], b.t - a.t,
	       (unsigned long long)(b.sent - a.sent));
	print_u64s("sinks", b.sink, a.sink, o.n_sinks);
	printf(",\"sent_total\":%llu", (unsigned long long)end.sent);
	print_u64s("sinks_total", end.sink, NULL, o.n_sinks);
	printf(",\"cpu\":%d,\"sender_cpu_share\":%.3f}\n", cpu,
	       a.sender_cpu >= 0 ? (b.sender_cpu - a.sender_cpu) / (b.t - a.t) : -1.0);

	for (i = 0; i < o.n_sinks; i++)
		livegen_sink_bpf__destroy(sinks[i]);
	if (s.kind == LG_AF_PACKET)
		close(s.sock);
	livegen_bpf__destroy(gen);
	return 0;
}
