/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * testing.h - the smallest harness that fits tests/run.sh.
 *
 * Each case prints one line: "PASS: suite: case", "FAIL: suite: case: why"
 * or "SKIP: suite: case: why". The runner counts those lines. EXPECT returns
 * false on failure, so a case can `if (!EXPECT(...)) goto out;` to clean up.
 */
#ifndef CS_TESTING_H
#define CS_TESTING_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

struct t_state {
	const char *suite;
	const char *name;
	int failed;
	int skipped;
	int n_failed;
};

extern struct t_state t_state;

#define T_SUITE(s) struct t_state t_state = { .suite = s }

#define EXPECT(cond, ...)                                                          \
	({                                                                         \
		bool _ok = (cond);                                                 \
		if (!_ok) {                                                        \
			printf("FAIL: %s: %s: %s:%d: %s: ", t_state.suite, t_state.name, \
			       __FILE__, __LINE__, #cond);                          \
			printf(__VA_ARGS__);                                       \
			printf("\n");                                              \
			t_state.failed = 1;                                        \
		}                                                                  \
		_ok;                                                               \
	})

#define EXPECT_EQ(a, b)                                                            \
	EXPECT((long long)(a) == (long long)(b), "%lld != %lld", (long long)(a), (long long)(b))

#define T_SKIP(...)                                                                \
	do {                                                                       \
		printf("SKIP: %s: %s: ", t_state.suite, t_state.name);             \
		printf(__VA_ARGS__);                                               \
		printf("\n");                                                      \
		t_state.skipped = 1;                                               \
	} while (0)

static inline void t_run(const char *name, void (*fn)(void))
{
	t_state.name = name;
	t_state.failed = 0;
	t_state.skipped = 0;
	fn();
	if (t_state.failed)
		t_state.n_failed++;
	else if (!t_state.skipped)
		printf("PASS: %s: %s\n", t_state.suite, name);
	fflush(stdout);
}

#define RUN(fn) t_run(#fn, fn)
#define T_EXIT() return t_state.n_failed ? 1 : 0

#endif
