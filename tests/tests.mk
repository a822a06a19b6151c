# Included by the top Makefile: test binaries, the runner, bench and the demos.
#
#   tests/unit/NAME.c   pure userspace; linked with libcloudsteer.a
#   tests/prog/NAME.c   BPF_PROG_TEST_RUN against the real objects
#   tests/prog/NAME.bpf.c  a test-only BPF object for tests/prog/NAME.c, which
#                       includes its skeleton NAME.skel.h (struct NAME_bpf)
#   tests/e2e/*.sh, tests/corpus/*.sh   network namespaces and real peers
#   tests/cluster/NAME.c  clients of a real etcd that tests/cluster/*.sh starts
#                       (tests/lib/etcd.sh) and runs them against
#   tests/tools/NAME.c  helpers that e2e tests call (not tests themselves)
#   tests/fuzz/                          the libFuzzer target (fuzz.mk)
# Every C test becomes build/tests/<kind>/NAME and tests/run.sh runs it.

TEST_LIB_SRCS := $(wildcard tests/lib/*.c)
TEST_LIB_OBJS := $(TEST_LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_BINS     := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(wildcard tests/unit/*.c))
PROG_BINS     := $(patsubst tests/prog/%.c,$(BUILD)/tests/prog/%,$(filter-out %.bpf.c,$(wildcard tests/prog/*.c)))
CLUSTER_BINS  := $(patsubst tests/cluster/%.c,$(BUILD)/tests/cluster/%,$(wildcard tests/cluster/*.c))
TOOL_BINS     := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(wildcard tests/tools/*.c))
# test-only BPF objects and skeletons live apart, under bpf/, so that
# tests/run.sh, which runs every file of build/tests/prog, never sees them
TEST_BPF_DIR  := $(BUILD)/tests/prog/bpf
TEST_CFLAGS   := $(CFLAGS) -Itests/lib -I$(TEST_BPF_DIR)
TEST_SKELS    := $(patsubst tests/prog/%.bpf.c,$(TEST_BPF_DIR)/%.skel.h,$(wildcard tests/prog/*.bpf.c))

$(TEST_BPF_DIR)/%.bpf.o: tests/prog/%.bpf.c
	$(call msg,BPF,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(TEST_BPF_DIR)/%.skel.h: $(TEST_BPF_DIR)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

$(PROG_BINS): | $(TEST_SKELS)

$(BUILD)/tests/lib/%.o: tests/lib/%.c | $(GENERATED)
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(TEST_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/tests/%: tests/%.c $(TEST_LIB_OBJS) $(BUILD)/libcloudsteer.a | $(GENERATED)
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(TEST_CFLAGS) $(DEPFLAGS) -o $@ $< $(TEST_LIB_OBJS) $(BUILD)/libcloudsteer.a $(LDLIBS)

# the libFuzzer target and `make fuzz` (tests/fuzz/fuzz.mk)
include tests/fuzz/fuzz.mk

.PHONY: test test-build demo demo-cluster
test-build: all $(UNIT_BINS) $(PROG_BINS) $(CLUSTER_BINS) $(TOOL_BINS) $(FUZZ_BINS)

test: test-deps
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)tests/run.sh

# make demo: what the lab needs (the build set too), the build, then the
# story told step by step (scripts/demo.sh; DEMO_PAUSE=1 waits between steps)
demo:
	$(Q)scripts/install-deps.sh demo
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo.sh

# make demo-cluster: the same for the cluster: two gateways, three etcd
# members, the lab of tests/e2e/cluster.bash (scripts/demo-cluster.sh)
demo-cluster:
	$(Q)scripts/install-deps.sh demo-cluster
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/demo-cluster.sh

# make bench: every benchmark -> build/bench.json, docs/benchmarks.md (tests/bench/bench.mk)
-include tests/bench/bench.mk

# make man: build/cloudsteer.8, the man page, from docs/commands.md (scripts/gen-man.py)
.PHONY: man
man: $(BUILD)/cloudsteer.8

$(BUILD)/cloudsteer.8: docs/commands.md scripts/gen-man.py $(BUILD)/version.h | $(BUILD)
	$(call msg,MAN,$@)
	$(Q)python3 scripts/gen-man.py --version $(VERSION) docs/commands.md > $@.tmp && mv $@.tmp $@

# make docs: the generated tables of docs/reference.md, from the contract
# header and the map definitions under bpf/ (scripts/gen-reference.py);
# tests/e2e/docs.sh fails when they are stale
.PHONY: docs
docs:
	$(call msg,DOCS,docs/reference.md)
	$(Q)python3 scripts/gen-reference.py

# make soak: the soak test alone, for minutes: SOAK_SECONDS (default 300) or
# SOAK_ROUNDS kill rounds (default: no limit), whichever ends first; it
# prints its figures ("soak: ..." lines) among its PASS/FAIL lines
.PHONY: soak
soak: test-deps
	$(Q)$(MAKE) --no-print-directory all $(TOOL_BINS)
	$(Q)SOAK_SECONDS=$${SOAK_SECONDS:-300} SOAK_ROUNDS=$${SOAK_ROUNDS:-0} tests/e2e/soak.sh
