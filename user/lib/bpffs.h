/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * bpffs.h - the BPF file system that holds the pins. The daemons mount it
 * on /sys/fs/bpf when nothing is mounted there, as systemd does at boot and
 * Cilium's agent and bpftool do when it is missing; a container, a minimal
 * VM or a CI runner often has none. The readers (show, explain, drain,
 * detach) never mount: no bpffs means no daemon has pinned anything here.
 */
#ifndef CS_BPFFS_H
#define CS_BPFFS_H

#include <stdbool.h>
#include <stddef.h>

/* The one place cloudsteer mounts bpffs itself. */
#define CS_BPFFS_ROOT "/sys/fs/bpf"

/*
 * For `run` and `instance`, before anything is pinned: make sure the
 * directory that holds pin_dir is on bpffs, mounting bpffs on /sys/fs/bpf
 * when pin_dir is under it and nothing is mounted there. Two daemons that
 * start at once mount it once. Returns 1 when it mounted, 0 when bpffs was
 * there already, or -errno with what is wrong and what to do in err.
 */
int cs_bpffs_ensure(const char *pin_dir, char *err, size_t errlen);

/* cs_bpffs_ensure for a daemon's start: a mount is said in one log line, a
 * failure in one error line. 0, or -1 when the daemon cannot go on. */
int cs_bpffs_ready(const char *pin_dir);

/*
 * For the readers: true when the directory that would hold pin_dir is on
 * bpffs; otherwise false, with a sentence for the user in err (no daemon
 * has run here, or something else is mounted where the pins would be).
 */
bool cs_bpffs_present(const char *pin_dir, char *err, size_t errlen);

#endif
