# Included by tests/bench/bench.mk: what steer_path.sh runs.
#
#   tests/bench/livegen.bpf.c       the frames: BPF_PROG_TEST_RUN live frames, XDP_TX out of a veth
#   tests/bench/livegen_sink.bpf.c  the counter at the instance and the origin (XDP, count and drop)
#   tests/bench/livegen.c           loads both, sends for a window, prints what arrived (JSON)
#   (it takes tests/lib/die.h, header-only: none of tests/lib's objects)

LIVEGEN      := $(BENCH_DIR)/livegen
LIVEGEN_BPF  := livegen livegen_sink
LIVEGEN_SKEL := $(LIVEGEN_BPF:%=$(BENCH_DIR)/%.skel.h)
BENCH_BINS   += $(LIVEGEN)

$(LIVEGEN_BPF:%=$(BENCH_DIR)/%.bpf.o): $(BENCH_DIR)/%.bpf.o: tests/bench/%.bpf.c | $(BENCH_DIR)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIVEGEN_SKEL): $(BENCH_DIR)/%.skel.h: $(BENCH_DIR)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

$(LIVEGEN): tests/bench/livegen.c | $(LIVEGEN_SKEL)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -I$(BENCH_DIR) -Itests/bench -Itests/lib -o $@ $< $(LDLIBS) -lpthread
