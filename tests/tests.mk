# Included by the top Makefile: test binaries, the runner, bench and demo.
.PHONY: test demo
test: test-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/run.sh
demo: deps all
	$(Q)scripts/demo.sh
