// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cloudsteer.h"
#include "pins.h"

const char *cs_pin_dir(void)
{
	const char *d = getenv(CS_PIN_DIR_ENV);

	return d && *d ? d : CS_PIN_DIR;
}

bool cs_map_pinned_kind(const struct bpf_map *map)
{
	const char *name = bpf_map__name(map);

	return !bpf_map__is_internal(map) && strcmp(name, "cs_scratch") && strcmp(name, "cs_repeats") &&
	       strcmp(name, "cs_xdp_nh");
}

static int pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int cs_pin_open(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (pin_path(path, sizeof(path), dir, name))
		return -ENAMETOOLONG;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

/* Flags the kernel adds to a map of this type, which an object cannot
 * declare (a devmap refuses them at creation): every devmap is read-only to
 * programs, since a lookup hands them the device's own entry. */
static __u32 kernel_flags(const struct bpf_map *map)
{
	enum bpf_map_type t = bpf_map__type(map);

	return t == BPF_MAP_TYPE_DEVMAP || t == BPF_MAP_TYPE_DEVMAP_HASH ? BPF_F_RDONLY_PROG : 0;
}

/* Does the pinned map behind fd have the layout the object declares? */
static const char *layout_mismatch(int fd, const struct bpf_map *map)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return "its description cannot be read";
	if (info.type != bpf_map__type(map))
		return "its type differs";
	if (info.key_size != bpf_map__key_size(map) || info.value_size != bpf_map__value_size(map))
		return "its key or value size differs (the contract changed)";
	if (info.max_entries != bpf_map__max_entries(map))
		return "its size (max entries) differs";
	if (info.map_flags != (bpf_map__map_flags(map) | kernel_flags(map)))
		return "its flags differ";
	return NULL;
}

int cs_pins_reuse(struct bpf_object *obj, const char *dir, char *err, size_t errlen)
{
	struct bpf_map *map;
	int reused = 0;

	bpf_object__for_each_map(map, obj) {
		const char *why;
		int fd, e;

		if (!cs_map_pinned_kind(map))
			continue;
		fd = cs_pin_open(dir, bpf_map__name(map));
		if (fd == -ENOENT)
			continue;
		if (fd < 0) {
			snprintf(err, errlen, "cannot open the pinned map %s/%s: %s", dir, bpf_map__name(map),
				 strerror(-fd));
			return fd;
		}
		why = layout_mismatch(fd, map);
		if (why) {
			snprintf(err, errlen, "the pinned map %s/%s cannot be reused: %s; "
				 "'cloudsteer detach' removes the old state", dir, bpf_map__name(map), why);
			close(fd);
			return -EEXIST;
		}
		e = bpf_map__reuse_fd(map, fd);
		close(fd);
		if (e) {
			snprintf(err, errlen, "cannot reuse the pinned map %s: %s", bpf_map__name(map),
				 strerror(-e));
			return e;
		}
		reused++;
	}
	return reused;
}

int cs_pins_pin(struct bpf_object *obj, const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct bpf_map *map;

	if (mkdir(dir, 0700) && errno != EEXIST) {
		int e = -errno;

		snprintf(err, errlen, "cannot make %s: %s%s", dir, strerror(errno),
			 errno == ENOENT ? " (the directory above it must exist)" : "");
		return e;
	}
	bpf_object__for_each_map(map, obj) {
		struct stat st;
		int e;

		if (!cs_map_pinned_kind(map))
			continue;
		if (pin_path(path, sizeof(path), dir, bpf_map__name(map)))
			return -ENAMETOOLONG;
		if (!stat(path, &st))
			continue;	/* reused: already there */
		e = bpf_map__pin(map, path);
		if (e) {
			snprintf(err, errlen, "cannot pin %s: %s", path, strerror(-e));
			return e;
		}
	}
	return 0;
}

int cs_pins_remove(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (pin_path(path, sizeof(path), dir, de->d_name) || unlink(path))
			rc = -errno;
	}
	closedir(d);
	if (rmdir(dir) && !rc)
		rc = -errno;
	return rc;
}

/* What a program is: its code (the tag) and the maps it uses. Two loads of
 * one object have the same tag whatever maps they were given, so "the same
 * program" needs both: a program on other maps (a fresh start) is replaced. */
struct prog_identity {
	__u8 tag[BPF_TAG_SIZE];
	__u32 n_maps;
	__u32 map_ids[64];
};

static void identity_of_fd(int fd, struct prog_identity *id)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(id, 0, sizeof(*id));
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = 64;
	info.map_ids = (__u64)(unsigned long)id->map_ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return;
	memcpy(id->tag, info.tag, BPF_TAG_SIZE);
	id->n_maps = info.nr_map_ids < 64 ? info.nr_map_ids : 64;
}

static void identity_of_id(__u32 prog_id, struct prog_identity *id)
{
	int fd = bpf_prog_get_fd_by_id(prog_id);

	memset(id, 0, sizeof(*id));
	if (fd < 0)
		return;
	identity_of_fd(fd, id);
	close(fd);
}

bool cs_prog_same(int prog_fd, __u32 prog_id)
{
	struct prog_identity a, b;
	__u32 i, j;

	identity_of_fd(prog_fd, &a);
	identity_of_id(prog_id, &b);
	if (memcmp(a.tag, b.tag, BPF_TAG_SIZE))
		return false;
	/* working memory and rodata are the program's own: a shared map is
	 * a pinned one */
	for (i = 0; i < a.n_maps; i++)
		for (j = 0; j < b.n_maps; j++)
			if (a.map_ids[i] == b.map_ids[j])
				return true;
	return false;
}
