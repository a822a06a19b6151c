# cloudsteer - read top to bottom. `make help` lists the targets; V=1 shows commands.

BUILD   := build
CLANG   ?= clang
CC      ?= gcc
BPFTOOL ?= bpftool
# scripts/version.sh: git describe of a vX.Y.Z tag, else the file VERSION and
# the commit; a tree without .git: VERSION alone
VERSION := $(shell scripts/version.sh 2>/dev/null || echo dev)

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)"
endif

# Every compile, BPF and userspace, writes what it included next to its
# output ($@.d, read at the bottom): changing any header rebuilds exactly
# what includes it. -MP: a header that goes away breaks nothing.
DEPFLAGS = -MMD -MP -MF $@.d -MT $@

# ---- BPF objects and skeletons ----
BPF_PROGS := learn steer instance
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall -Werror \
	-Ivmlinux -Iheaders -Ibpf

$(BUILD)/%.bpf.o: bpf/%.bpf.c | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

# ---- userspace ----
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -Iheaders -Iuser -I$(BUILD)
LDLIBS  := -lbpf -lxdp -lyaml -lpcap -lcurl -ljson-c -lelf -lz

LIB_SRCS := $(wildcard user/lib/*.c user/daemon/*.c user/instance/*.c)
CMD_SRCS := user/main.c $(wildcard user/cmd_*.c)
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CMD_OBJS := $(CMD_SRCS:%.c=$(BUILD)/%.o)
SKELS    := $(BPF_PROGS:%=$(BUILD)/%.skel.h)
# made before the first compile that may include them; after it, the .d
# files say who does
GENERATED := $(SKELS) $(BUILD)/version.h

# The version the binary reports: a header rewritten only when the version
# changes, so a commit rebuilds what prints it and nothing else.
$(BUILD)/version.h: FORCE | $(BUILD)
	@v='#define CS_VERSION "$(VERSION)"'; [ "$$(cat $@ 2>/dev/null)" = "$$v" ] || echo "$$v" > $@

$(BUILD)/%.o: %.c | $(GENERATED)
	$(call msg,CC,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

# made anew each time: ar would keep the object of a source that was renamed
# or removed, and the link would find its functions twice
$(BUILD)/libcloudsteer.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BUILD)/cloudsteer: $(CMD_OBJS) $(BUILD)/libcloudsteer.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD):
	@mkdir -p $@

.PHONY: all
all: $(BUILD)/cloudsteer

.DEFAULT_GOAL := all
# keep objects and skeletons: they are inputs of tests and benchmarks too
.SECONDARY:

# ---- tests ----
include tests/tests.mk

# ---- container image (Containerfile, scripts/build-image.sh) ----
.PHONY: image test-container
image:
	$(Q)scripts/install-deps.sh container
	$(Q)$(MAKE) --no-print-directory all
	$(Q)scripts/build-image.sh

# the image against a lab of its own (tests/container/); slower, so not part of
# make test. The demo's packages are what it needs (dnsmasq, dig, iproute2).
test-container: image
	$(Q)scripts/install-deps.sh demo
	$(Q)tests/container/run.sh

# ---- the Debian package (scripts/build-deb.sh): build/cloudsteer_VERSION_ARCH.deb ----
.PHONY: deb
deb: $(BUILD)/cloudsteer $(BUILD)/cloudsteer.8
	$(Q)BUILD=$(BUILD) MAKE="$(MAKE)" scripts/build-deb.sh $(VERSION)

# ---- the rest ----
.PHONY: deps test-deps clean help FORCE
FORCE:
deps:
	$(Q)scripts/install-deps.sh

test-deps:
	$(Q)scripts/install-deps.sh test

# ---- install (GNU directory variables; DESTDIR stages, PREFIX places) ----
PREFIX        ?= /usr/local
prefix        ?= $(PREFIX)
exec_prefix   ?= $(prefix)
sbindir       ?= $(exec_prefix)/sbin
datarootdir   ?= $(prefix)/share
mandir        ?= $(datarootdir)/man
man8dir       ?= $(mandir)/man8
# /usr/local/etc would be the GNU default; cloudsteer reads /etc/cloudsteer
sysconfdir    ?= /etc
# systemd looks in /usr/local/lib/systemd/system and /usr/lib/systemd/system
systemdunitdir ?= $(prefix)/lib/systemd/system
bashcompdir   ?= $(datarootdir)/bash-completion/completions
UNITS         := $(wildcard scripts/systemd/*.service)
COMPLETION    := $(wildcard scripts/completion/cloudsteer.bash)
EXAMPLE_CONF  := scripts/cloudsteer.yaml.example
# what install puts, each a path under DESTDIR; uninstall removes exactly these
INSTALLED = $(sbindir)/cloudsteer $(man8dir)/cloudsteer.8 \
	$(UNITS:scripts/systemd/%=$(systemdunitdir)/%) \
	$(if $(COMPLETION),$(bashcompdir)/cloudsteer) \
	$(sysconfdir)/cloudsteer/cloudsteer.yaml.example

.PHONY: install uninstall installed-files
install: $(BUILD)/cloudsteer $(BUILD)/cloudsteer.8
	install -D -m 0755 $(BUILD)/cloudsteer $(DESTDIR)$(sbindir)/cloudsteer
	install -D -m 0644 $(BUILD)/cloudsteer.8 $(DESTDIR)$(man8dir)/cloudsteer.8
	install -d $(DESTDIR)$(systemdunitdir)
	@# the units name /usr/local/sbin/cloudsteer: the binary's path here instead
	$(foreach u,$(UNITS),sed 's|/usr/local/sbin/cloudsteer|$(sbindir)/cloudsteer|g' $(u) \
		> $(DESTDIR)$(systemdunitdir)/$(notdir $(u)) && chmod 0644 $(DESTDIR)$(systemdunitdir)/$(notdir $(u));)
	$(if $(COMPLETION),install -D -m 0644 $(COMPLETION) $(DESTDIR)$(bashcompdir)/cloudsteer)
	@# an example beside the config, never the config itself
	install -D -m 0644 $(EXAMPLE_CONF) $(DESTDIR)$(sysconfdir)/cloudsteer/cloudsteer.yaml.example

# the files install puts, one a line (tests/e2e/install.sh, make deb)
installed-files:
	@printf '%s\n' $(INSTALLED)

# what install put, and the directories it made that are now empty
uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(sysconfdir)/cloudsteer 2>/dev/null

clean:
	rm -rf $(BUILD)

help:
	@echo "make              build build/cloudsteer (BPF objects, skeletons, binary)"
	@echo "make test         install test dependencies, build, run every test"
	@echo "make bench        every benchmark -> build/bench.json and docs/benchmarks.md (about 9 min)"
	@echo "make soak         the daemon killed and restarted for minutes under load (SOAK_SECONDS, SOAK_ROUNDS)"
	@echo "make fuzz         libFuzzer on learn (FUZZ_SECONDS=600), then the BPF campaign (FUZZ_ITERATIONS=5000000)"
	@echo "make demo         the whole story, narrated, in a lab of network namespaces"
	@echo "make demo-cluster  two gateways sharing what they learn through a real etcd, narrated"
	@echo "make man          build/cloudsteer.8, the man page, from docs/commands.md"
	@echo "make docs         regenerate the tables of docs/reference.md from the code"
	@echo "make image        the container image localhost/cloudsteer (podman, no registry)"
	@echo "make test-container  run that image against a lab; ends with \"N passed, N failed\""
	@echo "make install      the binary to PREFIX/sbin (PREFIX=/usr/local), the man page, the systemd units,"
	@echo "                  completion, /etc/cloudsteer/cloudsteer.yaml.example; DESTDIR= stages"
	@echo "make uninstall    remove what make install put (the same PREFIX and DESTDIR)"
	@echo "make deb          the Debian package build/cloudsteer_VERSION_ARCH.deb (dpkg-deb, prefix /usr)"
	@echo "make clean        remove build/"
	@echo "V=1               show the commands"

# what every object included when it was last built (DEPFLAGS)
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
