// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/ethtool.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>

#include <bpf/libbpf.h>

#include "fragskb.h"

#define TAP_NAME "csfrag0"

/* What a child reports through its exit status. */
enum { OK = 0, E_NETNS, E_TUN, E_UP, E_TC, E_WRITE };

static const char *const steps[] = {
	[E_NETNS] = "cannot make a network namespace",
	[E_TUN] = "cannot open a tap with IFF_NAPI_FRAGS",
	[E_UP] = "cannot bring the tap up",
	[E_TC] = "cannot attach to the tap's TC ingress",
	[E_WRITE] = "the tap refused the frame",
};

/* The tap up, without GRO: GRO would pull the headers in before TC. */
static int tap_up(void)
{
	struct ethtool_value gro = { .cmd = ETHTOOL_SGRO, .data = 0 };
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM, 0), e;

	if (s < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TAP_NAME);
	ifr.ifr_data = (void *)&gro;
	ioctl(s, SIOCETHTOOL, &ifr);	/* best effort */
	e = ioctl(s, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	if (!e)
		e = ioctl(s, SIOCSIFFLAGS, &ifr);
	close(s);
	return e;
}

static int tap_open(void)
{
	struct ifreq ifr;
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", TAP_NAME);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_NAPI | IFF_NAPI_FRAGS;
	if (ioctl(fd, TUNSETIFF, &ifr)) {
		close(fd);
		return -1;
	}
	return fd;
}

static int tc_ingress(int prog_fd)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = (int)if_nametoindex(TAP_NAME), .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .handle = 1, .priority = 1);
	int e = bpf_tc_hook_create(&hook);

	if (e && e != -EEXIST)
		return e;
	return bpf_tc_attach(&hook, &opts);
}

/* The child: its own namespace, the tap, the program, the frame. */
static int child(int prog_fd, const void *frame, size_t len, size_t linear)
{
	struct iovec iov[2] = { { (void *)frame, linear }, { (char *)frame + linear, len - linear } };
	int fd;

	if (unshare(CLONE_NEWNET))
		return E_NETNS;
	fd = tap_open();
	if (fd < 0)
		return E_TUN;
	if (tap_up())
		return E_UP;
	if (tc_ingress(prog_fd))
		return E_TC;
	if (writev(fd, iov, 2) != (ssize_t)len)
		return E_WRITE;
	close(fd);
	return OK;
}

int fragskb_ingress(int prog_fd, const void *frame, size_t len, size_t linear, char *why, size_t whylen)
{
	int status;
	pid_t pid;

	if (linear > len)
		linear = len;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		return -1;
	}
	if (!pid)
		_exit(child(prog_fd, frame, len, linear));
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) {
		snprintf(why, whylen, "the child that sends the frame died");
		return -1;
	}
	if (WEXITSTATUS(status) != OK) {
		snprintf(why, whylen, "%s",
			 WEXITSTATUS(status) < (int)(sizeof(steps) / sizeof(steps[0])) ? steps[WEXITSTATUS(status)]
											  : "?");
		return -1;
	}
	return 0;
}
