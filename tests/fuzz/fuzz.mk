# Included by tests/tests.mk: the libFuzzer target over the learn program and
# `make fuzz`.
#
#   tests/fuzz/learn_prog.c    bpf/learn.bpf.c itself as userspace C, over the
#                              shim (bpf_shim.h, bpf_shim.c; CS_BPF_SHIM)
#   tests/fuzz/learn_fuzzer.c  the target: each input through the program and
#                              the reference learner (tests/lib/refdns.c)
#   tests/fuzz/learn_seeds.c   writes the seed inputs (capture, built answers)
#   tests/fuzz/shim_test.c     the shim's maps and helpers against the kernel's
#                              behaviour (through shim_prog.c)
#   tests/fuzz/learn.sh        the short run of `make test`; `learn.sh long` is
#                              `make fuzz`: FUZZ_SECONDS of libFuzzer, then
#                              FUZZ_ITERATIONS runs of the BPF_PROG_TEST_RUN
#                              campaign (tests/prog/learn_fuzz_test.c)
# Everything lives under build/fuzz/. Without libFuzzer's runtime (Debian's
# libclang-rt-14-dev) the target is not built and the short run skips.

FUZZ_DIR := $(BUILD)/fuzz
FUZZ_RT  := $(shell $(CLANG) --print-runtime-dir 2>/dev/null)/libclang_rt.fuzzer-x86_64.a
FUZZ_BIN := $(FUZZ_DIR)/learn_fuzzer
FUZZ_SEEDS_BIN := $(FUZZ_DIR)/learn_seeds
FUZZ_SHIM_TEST := $(FUZZ_DIR)/shim_test
# the sanitizers' runtimes come in the same package as libFuzzer's
FUZZ_BINS := $(FUZZ_SEEDS_BIN) $(if $(wildcard $(FUZZ_RT)),$(FUZZ_BIN) $(FUZZ_SHIM_TEST))

# Sanitizers abort at the first report, so libFuzzer keeps the input.
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# The harness, the shim and the reference: the project's warnings.
FUZZ_PLAIN := -g -O1 -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
	-Iheaders -Iuser -Itests/lib -Itests/fuzz
FUZZ_CFLAGS := $(FUZZ_PLAIN) $(FUZZ_SAN)
# A BPF source over the shim, with the warnings of its BPF build. Packet
# headers are read at whatever alignment the frame gives them, as x86 XDP
# does: no alignment check.
FUZZ_BPF := -g -O1 -std=gnu11 -Wall -Werror -DCS_BPF_SHIM -Ivmlinux -Iheaders -Ibpf -Itests/fuzz
FUZZ_BPF_SAN := $(FUZZ_SAN) -fno-sanitize=alignment
# libFuzzer's coverage in the program only, so cov/ft count its edges
FUZZ_PROG_CFLAGS := $(FUZZ_BPF) -fsanitize=fuzzer-no-link $(FUZZ_BPF_SAN)
FUZZ_OBJS := $(addprefix $(FUZZ_DIR)/obj/,learn_prog.o learn_fuzzer.o bpf_shim.o refdns.o fuzzset.o pkt.o)

$(FUZZ_DIR)/obj/learn_prog.o: tests/fuzz/learn_prog.c
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_PROG_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(FUZZ_DIR)/obj/%.o: tests/fuzz/%.c | $(GENERATED)
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(FUZZ_DIR)/obj/%.o: tests/lib/%.c | $(GENERATED)
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(FUZZ_DIR)/obj/shim_prog.o: tests/fuzz/shim_prog.c
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_BPF) $(FUZZ_BPF_SAN) $(DEPFLAGS) -c $< -o $@

$(FUZZ_SHIM_TEST): $(addprefix $(FUZZ_DIR)/obj/,shim_prog.o shim_test.o bpf_shim.o)
	$(call msg,LINK,$@)
	$(Q)$(CLANG) $(FUZZ_SAN) -o $@ $^

$(FUZZ_BIN): $(FUZZ_OBJS) $(BUILD)/libcloudsteer.a
	$(call msg,LINK,$@)
	$(Q)$(CLANG) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $(FUZZ_OBJS) $(BUILD)/libcloudsteer.a $(LDLIBS)

# make fuzz also reports the share of the program's lines the corpus reaches:
# the same target built for clang's source coverage, without sanitizers.
FUZZ_COV_BIN  := $(FUZZ_DIR)/learn_fuzzer_cov
FUZZ_COV_OBJS := $(FUZZ_OBJS:$(FUZZ_DIR)/obj/%=$(FUZZ_DIR)/cov/%)

$(FUZZ_DIR)/cov/learn_prog.o: tests/fuzz/learn_prog.c
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_BPF) -fsanitize=fuzzer-no-link -fprofile-instr-generate -fcoverage-mapping \
		$(DEPFLAGS) -c $< -o $@

$(FUZZ_DIR)/cov/%.o: tests/fuzz/%.c | $(GENERATED)
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_PLAIN) $(DEPFLAGS) -c $< -o $@

$(FUZZ_DIR)/cov/%.o: tests/lib/%.c | $(GENERATED)
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_PLAIN) $(DEPFLAGS) -c $< -o $@

$(FUZZ_COV_BIN): $(FUZZ_COV_OBJS) $(BUILD)/libcloudsteer.a
	$(call msg,LINK,$@)
	$(Q)$(CLANG) -fsanitize=fuzzer -fprofile-instr-generate -o $@ $(FUZZ_COV_OBJS) \
		$(BUILD)/libcloudsteer.a $(LDLIBS)

$(FUZZ_SEEDS_BIN): tests/fuzz/learn_seeds.c $(TEST_LIB_OBJS) $(BUILD)/libcloudsteer.a | $(GENERATED)
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(TEST_CFLAGS) $(DEPFLAGS) -o $@ $< $(TEST_LIB_OBJS) $(BUILD)/libcloudsteer.a $(LDLIBS)

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS) $(if $(wildcard $(FUZZ_RT)),$(FUZZ_COV_BIN)) $(BUILD)/tests/prog/learn_fuzz_test

# what the tests need first (libclang-rt-14-dev among them), then the build
fuzz: test-deps
	$(Q)$(MAKE) --no-print-directory fuzz-build
	$(Q)tests/fuzz/learn.sh long
