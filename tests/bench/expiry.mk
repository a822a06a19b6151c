# Included by tests/bench/bench.mk: the expiry part's measuring tool,
# build/bench/expiry (tests/bench/expiry.c), which tests/bench/expiry.sh runs
# next to a real daemon.

EXPIRY_BIN := $(BENCH_DIR)/expiry
BENCH_BINS += $(EXPIRY_BIN)

$(EXPIRY_BIN): tests/bench/expiry.c $(TEST_LIB_OBJS) $(BUILD)/libcloudsteer.a | $(GENERATED) $(BENCH_DIR)
	$(call msg,CC,$@)
	$(Q)$(CC) $(TEST_CFLAGS) $(DEPFLAGS) -o $@ $< $(TEST_LIB_OBJS) $(BUILD)/libcloudsteer.a $(LDLIBS)
