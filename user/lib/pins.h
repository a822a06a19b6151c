/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * pins.h - every map pinned by name under one bpffs directory, so the daemon
 * finds its state again after a restart and the CLI reads it while the
 * daemon is down. (lib/pinned.h opens them for the readers.)
 */
#ifndef CS_PINS_H
#define CS_PINS_H

#include <stdbool.h>
#include <stddef.h>

struct bpf_object;
struct bpf_map;

/* $CLOUDSTEER_PIN_DIR, else /sys/fs/bpf/cloudsteer */
const char *cs_pin_dir(void);

/* Maps that are per program instance (working memory, rodata) are not pinned. */
bool cs_map_pinned_kind(const struct bpf_map *map);

/*
 * Before load: make every pinnable map of obj reuse its pin in dir, if one
 * exists. A pin whose type, key, value, size or flags differ from the
 * object's is refused with the reason in err (it holds state the new
 * program cannot read). Returns the number of maps reused, or -errno.
 */
int cs_pins_reuse(struct bpf_object *obj, const char *dir, char *err, size_t errlen);

/* After load: pin every pinnable map that is not pinned yet. 0 or -errno. */
int cs_pins_pin(struct bpf_object *obj, const char *dir, char *err, size_t errlen);

/* Open the pinned map `name` in dir: an fd, or -errno. */
int cs_pin_open(const char *dir, const char *name);

/* Is the attached program prog_id the program prog_fd: the same code on
 * the same pinned maps (they share a map)? The tag alone is not enough: a
 * fresh start loads the same code on new maps, and must replace the old
 * program, which would go on using maps nobody can see any more. */
bool cs_prog_same(int prog_fd, __u32 prog_id);

/* Remove dir and every pin in it. 0 or -errno. */
int cs_pins_remove(const char *dir);

#endif
