# Included by tests/tests.mk: `make bench` -> build/bench.json (+ bench-env.json)
# and docs/benchmarks.md with its plots.
#
#   tests/bench/run.sh       runs every part, then scripts/bench-report.py
#   tests/bench/noop.bpf.c   the XDP_PASS baseline, built like the real programs
#   tests/bench/tc_noop.bpf.c  the TC_ACT_OK baseline of the steer and instance cases
#   tests/bench/xdp_parse.bpf.c, xdp_fwd_min.bpf.c  the controls: the least a
#                            steering program does (parse.bpf.h, controls.h)
#   tests/bench/bench.c      BPF_PROG_TEST_RUN of learn, steer and instance against the baselines
#   tests/bench/PART.sh      the other parts (run.sh says which and their contract)
#   tests/bench/PART.mk      what a part builds, included here; its targets join BENCH_BINS
# Everything they build or write (configs, rule lists, parts/*.json) lives under build/bench/.
# BENCH_ARGS passes options to the per-packet runner, e.g. BENCH_ARGS="-r 11 -t 300";
# BENCH_PARTS="dns_path failover" runs only those parts.

BENCH_DIR := $(BUILD)/bench
BENCH_BIN := $(BENCH_DIR)/bench
BENCH_BINS := $(BENCH_BIN)

include $(filter-out tests/bench/bench.mk,$(wildcard tests/bench/*.mk))

$(BENCH_DIR):
	@mkdir -p $@

$(BENCH_DIR)/noop.bpf.o: tests/bench/noop.bpf.c | $(BENCH_DIR)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BENCH_DIR)/noop.skel.h: $(BENCH_DIR)/noop.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name noop_bpf > $@.tmp && mv $@.tmp $@

$(BENCH_DIR)/tc_noop.bpf.o: tests/bench/tc_noop.bpf.c | $(BENCH_DIR)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BENCH_DIR)/tc_noop.skel.h: $(BENCH_DIR)/tc_noop.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name tc_noop_bpf > $@.tmp && mv $@.tmp $@

BENCH_CONTROLS := xdp_parse xdp_fwd_min

$(BENCH_CONTROLS:%=$(BENCH_DIR)/%.bpf.o): $(BENCH_DIR)/%.bpf.o: tests/bench/%.bpf.c | $(BENCH_DIR)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BENCH_CONTROLS:%=$(BENCH_DIR)/%.skel.h): $(BENCH_DIR)/%.skel.h: $(BENCH_DIR)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

$(BENCH_BIN): tests/bench/bench.c $(TEST_LIB_OBJS) $(BUILD)/libcloudsteer.a \
		| $(GENERATED) $(BENCH_DIR)/noop.skel.h $(BENCH_DIR)/tc_noop.skel.h \
		  $(BENCH_CONTROLS:%=$(BENCH_DIR)/%.skel.h)
	$(call msg,CC,$@)
	$(Q)$(CC) $(TEST_CFLAGS) $(DEPFLAGS) -I$(BENCH_DIR) -o $@ $< $(TEST_LIB_OBJS) $(BUILD)/libcloudsteer.a $(LDLIBS)

.PHONY: bench bench-build
bench-build: all $(TOOL_BINS) $(BENCH_BINS)

# make test runs every part once, quickly (tests/e2e/bench_smoke.sh)
test-build: $(BENCH_BINS)

bench: test-deps
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)BENCH_ARGS="$(BENCH_ARGS)" tests/bench/run.sh
