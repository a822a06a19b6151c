// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * verify_load - load one BPF object into the running kernel and say whether
 * the verifier accepts every program in it. Nothing is attached; the object
 * is closed again at once. Built static so that it runs alone in the tiny
 * initramfs of scripts/kernel-verify.sh, but it works on any host too.
 *
 *   verify_load [-v] [-l LABEL] OBJ [VAR=VALUE...]
 *
 * VAR=VALUE sets a `const volatile` global of the object (in .rodata) before
 * load, as a loader would: the verifier drops branches on a frozen value, so
 * each setting that turns code on needs its own load to have it verified.
 *
 * Output, one line each, for the caller to parse (LABEL defaults to the
 * object's file name):
 *   VL-STAT LABEL PROG key=value...        per program, when it loaded
 *   VL-LOG LABEL PROG line                 the verifier's last lines, on failure
 *   VL-RESULT LABEL PASS
 *   VL-RESULT LABEL FAIL reason
 * Exits 0 when everything loaded, 1 otherwise.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#define TAIL_LINES 30
#define STATS_LOG_SIZE (1u << 20)

static int verbose;
static const char *label;
/* the last libbpf warning, a hint when the failure is not the verifier's */
static char last_warn[512];

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	va_list aq;

	if (level == LIBBPF_WARN) {
		va_copy(aq, ap);
		vsnprintf(last_warn, sizeof(last_warn), fmt, aq);
		va_end(aq);
		last_warn[strcspn(last_warn, "\n")] = 0;
	}
	if (level == LIBBPF_DEBUG && verbose < 2)
		return 0;
	if (level == LIBBPF_INFO && !verbose)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void result(int ok, const char *fmt, ...)
{
	va_list ap;

	printf("VL-RESULT %s %s", label, ok ? "PASS" : "FAIL");
	if (fmt) {
		putchar(' ');
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	putchar('\n');
	fflush(stdout);
}

/* Set a .rodata/.data/.bss global by name; value parsed as a number. */
static int set_global(struct bpf_object *obj, const char *assign)
{
	const char *eq = strchr(assign, '=');
	struct btf *btf = bpf_object__btf(obj);
	struct bpf_map *map;
	char name[128];
	unsigned long long val;
	char *end;

	if (!eq || eq == assign || (size_t)(eq - assign) >= sizeof(name))
		return -EINVAL;
	memcpy(name, assign, eq - assign);
	name[eq - assign] = 0;
	errno = 0;
	val = strtoull(eq + 1, &end, 0);
	if (errno || *end || !btf)
		return -EINVAL;

	bpf_object__for_each_map(map, obj) {
		const struct btf_var_secinfo *vs;
		const struct btf_type *sec;
		const char *sname;
		const void *cur;
		size_t size;
		__s32 id;
		__u8 *data;
		int i, e;

		if (!bpf_map__is_internal(map))
			continue;
		sname = strchr(bpf_map__name(map), '.');	/* "learn_bp.rodata" */
		if (!sname)
			continue;
		id = btf__find_by_name_kind(btf, sname, BTF_KIND_DATASEC);
		if (id < 0)
			continue;
		sec = btf__type_by_id(btf, id);
		vs = btf_var_secinfos(sec);
		for (i = 0; i < btf_vlen(sec); i++, vs++) {
			const struct btf_type *var = btf__type_by_id(btf, vs->type);

			if (strcmp(btf__name_by_offset(btf, var->name_off), name))
				continue;
			cur = bpf_map__initial_value(map, &size);
			if (!cur || vs->offset + vs->size > size)
				return -EINVAL;
			data = malloc(size);
			if (!data)
				return -ENOMEM;
			memcpy(data, cur, size);
			switch (vs->size) {
			case 1: { __u8 v = val; memcpy(data + vs->offset, &v, 1); break; }
			case 2: { __u16 v = val; memcpy(data + vs->offset, &v, 2); break; }
			case 4: { __u32 v = val; memcpy(data + vs->offset, &v, 4); break; }
			case 8: { __u64 v = val; memcpy(data + vs->offset, &v, 8); break; }
			default: free(data); return -EINVAL;
			}
			e = bpf_map__set_initial_value(map, data, size);
			free(data);
			return e;
		}
	}
	return -ENOENT;
}

static struct bpf_object *open_obj(const char *path, int nset, char **sets, char *why, size_t whylen)
{
	struct bpf_object *obj;
	int i, e;

	obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		snprintf(why, whylen, "cannot open %s: %s%s%s", path, strerror(errno),
			 last_warn[0] ? "; libbpf: " : "", last_warn);
		return NULL;
	}
	for (i = 0; i < nset; i++) {
		e = set_global(obj, sets[i]);
		if (e) {
			snprintf(why, whylen, "cannot set %s: %s", sets[i], strerror(-e));
			bpf_object__close(obj);
			return NULL;
		}
	}
	return obj;
}

/* "key N" in the log -> N, or -1 */
static long long log_num(const char *log, const char *key)
{
	const char *p = strstr(log, key);

	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

static void print_stats(struct bpf_program *prog, const char *log)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);
	const char *p;

	printf("VL-STAT %s %s insns=%zu", label, bpf_program__name(prog), bpf_program__insn_cnt(prog));
	if (!bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len))
		printf(" xlated=%u jited_bytes=%u verified_insns=%u", info.xlated_prog_len / 8,
		       info.jited_prog_len, info.verified_insns);
	printf(" processed=%lld max_states_per_insn=%lld total_states=%lld peak_states=%lld"
	       " time_us=%lld",
	       log_num(log, "processed "), log_num(log, "max_states_per_insn "),
	       log_num(log, "total_states "), log_num(log, "peak_states "),
	       log_num(log, "verification time "));
	p = strstr(log, "stack depth ");
	if (p)
		printf(" stack=%.*s", (int)strcspn(p + 12, "\n"), p + 12);
	putchar('\n');
}

static void print_tail(const char *prog, const char *log, int n)
{
	const char *end = log + strlen(log), *p = end;
	int lines = 0;

	while (p > log && end[-1] == '\n')
		p = --end;
	while (p > log && lines < n)
		if (*--p == '\n')
			lines++;
	if (*p == '\n')
		p++;
	while (p < end) {
		size_t l = strcspn(p, "\n");

		printf("VL-LOG %s %s %.*s\n", label, prog, (int)l, p);
		p += l + (p[l] == '\n');
	}
}

/* The last line of a verifier log that is not a statistic: the error. */
static void log_error(const char *log, char *out, size_t outlen)
{
	const char *end = log + strlen(log), *p;

	out[0] = 0;
	while (end > log) {
		while (end > log && end[-1] == '\n')
			end--;
		for (p = end; p > log && p[-1] != '\n'; p--)
			;
		if (end > p && strncmp(p, "processed ", 10) && strncmp(p, "verification time", 17) &&
		    strncmp(p, "stack depth", 11)) {
			snprintf(out, outlen, "%.*s", (int)(end - p), p);
			return;
		}
		end = p;
	}
}

/* Load again with the full log to show the path that failed. */
static void explain(const char *path, int nset, char **sets, const char *failed)
{
	static const size_t sizes[] = { 16u << 20, 128u << 20, 512u << 20 };
	char why[256];
	size_t k;

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct bpf_object *obj = open_obj(path, nset, sets, why, sizeof(why));
		struct bpf_program *prog;
		char *buf;
		int e;

		if (!obj)
			return;
		buf = malloc(sizes[k]);
		if (!buf) {
			bpf_object__close(obj);
			return;
		}
		buf[0] = 0;
		bpf_object__for_each_program(prog, obj) {
			if (strcmp(bpf_program__name(prog), failed)) {
				bpf_program__set_autoload(prog, false);
				continue;
			}
			bpf_program__set_log_level(prog, 1 | 4);
			bpf_program__set_log_buf(prog, buf, sizes[k]);
		}
		e = bpf_object__load(obj);
		bpf_object__close(obj);
		if (e == -ENOSPC && k + 1 < sizeof(sizes) / sizeof(sizes[0])) {
			free(buf);
			continue;
		}
		printf("VL-LOG %s %s -- last %d lines of the verifier log (level 1) --\n", label, failed,
		       TAIL_LINES);
		print_tail(failed, buf, TAIL_LINES);
		free(buf);
		return;
	}
}

int main(int argc, char **argv)
{
	struct rlimit inf = { RLIM_INFINITY, RLIM_INFINITY };
	struct bpf_object *obj;
	struct bpf_program *prog;
	const char *path, *failed = NULL;
	char why[600], err[300];
	char **logs;
	int i, n, e, opt, nset;
	struct timespec t0, t1;

	while ((opt = getopt(argc, argv, "vl:")) != -1) {
		switch (opt) {
		case 'v': verbose++; break;
		case 'l': label = optarg; break;
		default: goto usage;
		}
	}
	if (optind >= argc)
		goto usage;
	path = argv[optind];
	nset = argc - optind - 1;
	if (!label) {
		label = strrchr(path, '/');
		label = label ? label + 1 : path;
	}
	libbpf_set_print(print_fn);
	setrlimit(RLIMIT_MEMLOCK, &inf);	/* kernels before memcg accounting */

	obj = open_obj(path, nset, argv + optind + 1, why, sizeof(why));
	if (!obj) {
		result(0, "%s", why);
		return 1;
	}
	n = 0;
	bpf_object__for_each_program(prog, obj)
		n++;
	logs = calloc(n ? n : 1, sizeof(*logs));
	i = 0;
	bpf_object__for_each_program(prog, obj) {
		logs[i] = calloc(1, STATS_LOG_SIZE);
		/* level 4: statistics and the error, without the trace */
		bpf_program__set_log_level(prog, 4);
		bpf_program__set_log_buf(prog, logs[i], STATS_LOG_SIZE);
		i++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	e = bpf_object__load(obj);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	i = 0;
	if (!e) {
		bpf_object__for_each_program(prog, obj)
			print_stats(prog, logs[i++]);
		printf("VL-STAT %s load_ms=%ld\n", label,
		       (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
		result(1, NULL);
	} else {
		/* libbpf loads the programs in order and stops at the first it
		 * cannot: the failed one is the last whose log says something
		 * (the ones before it logged their statistics) */
		int last = -1, j = 0;

		bpf_object__for_each_program(prog, obj) {
			if (logs[j][0] && bpf_program__fd(prog) < 0) {
				failed = bpf_program__name(prog);
				last = j;
			}
			j++;
		}
		if (failed) {
			log_error(logs[last], err, sizeof(err));
			printf("VL-LOG %s %s -- verifier log (level 4) --\n", label, failed);
			print_tail(failed, logs[last], TAIL_LINES);
		}
		if (failed) {
			char name[128];

			snprintf(name, sizeof(name), "%s", failed);
			bpf_object__close(obj);
			obj = NULL;
			explain(path, nset, argv + optind + 1, name);
			result(0, "prog %s rejected (%s): %s", name, strerror(-e), err);
		} else {
			result(0, "load failed (%s)%s%s", strerror(-e), last_warn[0] ? ": libbpf: " : "",
			       last_warn);
		}
	}
	bpf_object__close(obj);
	return e ? 1 : 0;
usage:
	fprintf(stderr, "usage: %s [-v] [-l LABEL] OBJ [VAR=VALUE...]\n", argv[0]);
	return 2;
}
