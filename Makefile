# muster: mass-provisioning bootstrap orchestrator for libvirt.
#
#   make                 build build/muster
#   make check-fast      unit tests and golden/integration tests on the test driver
#   make check           everything: check-fast, again under ASan+UBSan, the
#                        fuzzers for 30 s each (make check-fuzz), faults
#                        injected (make check-faults), the Debian package
#                        (make check-package), then real guests under TCG
#                        once (make check-guests)
#   make deps            install (apt-get) what building and testing need
#   make check-faults    faults injected while muster works (tests/fault)
#   make check-package   the Debian package built, linted, installed in a new root
#   make reliability     one table: faults injected, hostile input tried, outcomes
#   make check-fresh     the README's two commands on a new Debian 12 root
#   make install         PREFIX=/usr/local DESTDIR=
#   REGEN=1 make check-fast   rewrite golden files; review the diff

PREFIX ?= /usr/local
DESTDIR ?=
PKG_CONFIG ?= pkg-config
CC ?= cc
BUILD ?= build
SANITIZE ?=

VERSION := 0.1.0
PKGS := libvirt yaml-0.1 sqlite3 libcrypto libxml-2.0 jansson libssh libisofs-1 libcurl libmicrohttpd

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wformat=2 -Wvla -Wpointer-arith -Wno-format-nonliteral -fno-common
CFLAGS ?= -O2 -g
# (not asked for `make deps` alone: on a new machine it installs them)
ifneq ($(filter-out deps,$(or $(MAKECMDGOALS),all)),)
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS))
LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS))
endif
# The source tree, a folder per concern (README "Where things live"); each
# includes only its own layer and those below it (tools/layers checks).
SRC_DIRS := orchestrator/util orchestrator/model orchestrator/hv orchestrator/keys \
	orchestrator/json orchestrator/fetch db cloud-init kickstart orchestrator/serve \
	orchestrator/engine orchestrator/web orchestrator/cli
INCLUDES := $(SRC_DIRS:%=-I%) -Iagent
ALL_CFLAGS := -std=gnu11 $(WARN) $(CPPFLAGS) $(CFLAGS) -D_GNU_SOURCE -DMUSTER_VERSION='"$(VERSION)"' \
	$(INCLUDES) -I$(BUILD)/gen $(PKG_CFLAGS)
ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif

LIB_SRC := $(filter-out orchestrator/cli/main.c,$(wildcard $(SRC_DIRS:%=%/*.c)))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/db_schema.o
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

# `make V=1` shows every command
ifeq ($(V),1)
Q :=
say = @:
else
Q := @
say = @printf '  %-6s %s\n'
endif

all: $(BUILD)/muster $(BUILD)/agent/muster-agent $(BUILD)/agent/muster-agent.gz

# the in-guest agent: libc only, static (and a dynamic build the tests can sanitize)
include agent/build.mk

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(say) CC $<
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(dir $@)
	$(say) CC $<
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tools/embed: tools/embed.c
	@mkdir -p $(dir $@)
	$(say) CC $<
	$(Q)$(CC) -std=gnu11 $(WARN) -O2 -o $@ $<

$(BUILD)/gen/db_schema.c: $(BUILD)/tools/embed db/schema.sql $(sort $(wildcard db/migrations/*.sql))
	@mkdir -p $(dir $@)
	$(say) EMBED $@
	$(Q)$(BUILD)/tools/embed db_migrations db/schema.sql $(sort $(wildcard db/migrations/*.sql)) > $@.tmp
	$(Q)mv $@.tmp $@

$(BUILD)/libmuster.a: $(LIB_OBJ)
	$(say) AR $@
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

# muster reads its own templates (templates/...) beside its binary, as it
# does from <prefix>/share/muster once installed
$(BUILD)/templates:
	@mkdir -p $(BUILD)
	@ln -sfn $(abspath templates) $@

$(BUILD)/muster: $(BUILD)/obj/orchestrator/cli/main.o $(BUILD)/libmuster.a | $(BUILD)/templates
	$(say) LINK $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# (tests/unit/testutil.c: helpers every unit test may use)
$(BUILD)/tests/%: tests/unit/%.c tests/unit/testutil.c tests/unit/testutil.h $(BUILD)/libmuster.a
	@mkdir -p $(dir $@)
	$(say) TEST $@
	$(Q)$(CC) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags cmocka) $(LDFLAGS) -o $@ $< \
		tests/unit/testutil.c $(BUILD)/libmuster.a $(LIBS) $(shell $(PKG_CONFIG) --libs cmocka)

# (tests/streams/probe.c: the channels' streams against a real daemon, with the tier's flags)
$(BUILD)/probe/streams: tests/streams/probe.c $(BUILD)/libmuster.a
	@mkdir -p $(dir $@)
	$(say) PROBE $@
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libmuster.a $(LIBS)

# ---- tests -----------------------------------------------------------------
# Every test prints TAP; tests/run records it under $(BUILD)/results and
# tests/summary prints "N passed, N failed" (and fails when N failed > 0).

RESULTS := $(BUILD)/results
export MUSTER_BIN := $(abspath $(BUILD)/muster)
export MUSTER_SANITIZED ?=
export ASAN_OPTIONS ?= detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1

# (clean-results first, also under make -j: the tests write where it removes)
check-unit: $(UNIT_BIN) | clean-results
	@for t in $(UNIT_BIN); do tests/run $(RESULTS) unit-$$(basename $$t) $$t; done

check-golden: $(BUILD)/muster agent $(BUILD)/probe/streams | clean-results
	@tests/run $(RESULTS) layers tests/layers/run
	@tests/run $(RESULTS) manifest tests/manifest/run
	@tests/run $(RESULTS) plan tests/plan/run
	@tests/run $(RESULTS) cli tests/cli/run
	@tests/run $(RESULTS) man tests/man/run
	@tests/run $(RESULTS) render tests/render/run
	@tests/run $(RESULTS) xml tests/xml/run
	@tests/run $(RESULTS) ssh tests/ssh/run
	@tests/run $(RESULTS) apply tests/apply/run
	@tests/run $(RESULTS) rebuild tests/rebuild/run
	@tests/run $(RESULTS) drift tests/drift/run
	@tests/run $(RESULTS) hosts tests/hosts/run
	@tests/run $(RESULTS) pools tests/pools/run
	@STREAMS_PROBE=$(abspath $(BUILD)/probe/streams) tests/run $(RESULTS) streams tests/streams/run
	@tests/run $(RESULTS) kickstart tests/kickstart/run
	@tests/run $(RESULTS) serve tests/serve/run
	@tests/run $(RESULTS) monitor tests/monitor/run
	@MUSTER_RESULTS=$(abspath $(RESULTS)) tests/run $(RESULTS) page tests/page/run
	@tests/run $(RESULTS) install tests/install/run
	@AGENT_BIN=$(abspath $(BUILD)/agent/muster-agent-dyn) \
		AGENT_STATIC=$(abspath $(BUILD)/agent/muster-agent) \
		tests/run $(RESULTS) agent tests/agent/run

# The fast tier: units, golden files and the command line on the test driver.
check-fast: clean-results check-unit check-golden
	@tests/summary $(RESULTS)

# The same again with AddressSanitizer and UndefinedBehaviorSanitizer.
check-sanitize:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/san SANITIZE=address,undefined \
		CFLAGS='-O1 -g' MUSTER_SANITIZED=1 check-fast

# Fuzzing (tests/fuzz/): libFuzzer targets built with clang, ASan and UBSan
# over a library built the same way in $(BUILD)/fuzz. `make fuzz` builds
# them; check-fuzz runs each over its checked-in regressions, then for
# FUZZ_SECONDS from its seed corpus (new inputs go to $(BUILD)/fuzz/corpus,
# crashes to $(BUILD)/fuzz/results: make each a file in tests/fuzz/regress/).
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/%)
FUZZ_SECONDS ?= 30
FUZZ_SAN := fuzzer-no-link,address,undefined

$(BUILD)/fuzz/libmuster.a: FORCE
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/fuzz CC=clang SANITIZE=$(FUZZ_SAN) \
		CFLAGS='-O1 -g' $(BUILD)/fuzz/libmuster.a

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/fuzz/libmuster.a
	$(say) FUZZ $@
	$(Q)clang -std=gnu11 $(WARN) -O1 -g -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=all $(INCLUDES) \
		$(PKG_CFLAGS) -o $@ $< $(BUILD)/fuzz/libmuster.a $(LIBS)

fuzz: $(FUZZ_BIN)

check-fuzz: $(FUZZ_BIN)
	@rm -rf $(BUILD)/fuzz/results
	@for t in $(FUZZ_TARGETS); do \
		tests/run $(BUILD)/fuzz/results $$t tests/fuzz/run $(BUILD)/fuzz/$$t $(FUZZ_SECONDS); \
	done
	@tests/summary $(BUILD)/fuzz/results

FORCE:

# Faults injected while muster works (tests/fault/): SQLite's writes
# failing and allocations failing, from a library preloaded into muster
# (tests/fault/faultlib.c), a state directory that fills up, a libvirt
# daemon stopped; then a rerun. The plain build: a sanitizer's runtime must
# come first, before any preloaded library.
$(BUILD)/tests/libmuster-fault.so: tests/fault/faultlib.c
	@mkdir -p $(dir $@)
	$(say) CC $@
	$(Q)$(CC) -std=gnu11 $(WARN) -O2 -g -fPIC -shared -o $@ $< $(shell $(PKG_CONFIG) --cflags --libs sqlite3)

check-faults: $(BUILD)/muster $(BUILD)/tests/libmuster-fault.so
	@rm -rf $(BUILD)/fault-results
	@FAULTLIB=$(abspath $(BUILD)/tests/libmuster-fault.so) \
		tests/run $(BUILD)/fault-results fault tests/fault/run
	@tests/summary $(BUILD)/fault-results

# The reliability report: the fast tier, the fuzzers and the fault tier,
# each test adding its lines (faults injected, hostile inputs tried,
# secrets looked for) to $(BUILD)/reliability.tsv; then one table
# (tools/reliability). Fails when a tier or a line does.
reliability:
	@rm -f $(BUILD)/reliability.tsv
	@rc=0; export RELIABILITY_REPORT=$(abspath $(BUILD)/reliability.tsv); \
	$(MAKE) --no-print-directory check-fast || rc=1; \
	$(MAKE) --no-print-directory check-fuzz || rc=1; \
	$(MAKE) --no-print-directory check-faults || rc=1; \
	echo "== reliability"; tools/reliability $(BUILD)/reliability.tsv || rc=1; exit $$rc

# Real guests under TCG (tests/guest/run, hosts, networks): once, with the plain build.
# The guest image is built on first use (~3 min) and cached in
# /var/cache/muster-test/images (MUSTER_IMAGE_CACHE).
check-guests: $(BUILD)/muster agent
	@rm -rf $(BUILD)/guest-results
	@tests/run $(BUILD)/guest-results guest tests/guest/run
	@tests/run $(BUILD)/guest-results guest-hosts tests/guest/hosts
	@tests/run $(BUILD)/guest-results guest-networks tests/guest/networks
	@tests/summary $(BUILD)/guest-results

# The Debian package (tests/package/run): dpkg-buildpackage from a copy of
# the tracked files, lintian, then the .deb installed into a throwaway
# Debian 12 root (debootstrap, cached in /var/cache/muster-test/package-root)
# and run there. A few minutes; not in check-fast.
check-package:
	@rm -rf $(BUILD)/package-results
	@tests/run $(BUILD)/package-results package tests/package/run
	@tests/summary $(BUILD)/package-results

# Everything; the last line adds up every tier. Each tier runs whatever
# happened to the one before (a build that fails is that tier's failure),
# and a tier that leaves no results counts as failed.
check:
	-@$(MAKE) --no-print-directory check-fast
	-@$(MAKE) --no-print-directory check-sanitize
	-@$(MAKE) --no-print-directory check-fuzz
	-@$(MAKE) --no-print-directory check-faults
	-@$(MAKE) --no-print-directory check-package
	-@$(MAKE) --no-print-directory check-guests
	@echo "== all tiers"
	@tests/summary $(RESULTS) $(BUILD)/san/results $(BUILD)/fuzz/results $(BUILD)/fault-results \
		$(BUILD)/package-results $(BUILD)/guest-results

# Benchmarks print figures; they are not tests.
$(BUILD)/bench/%: bench/%.c $(BUILD)/libmuster.a
	@mkdir -p $(dir $@)
	$(say) BENCH $@
	$(Q)$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libmuster.a $(LIBS)

bench: $(BUILD)/bench/seed $(BUILD)/muster
	@tools/deps cloud-image-utils openssh-client qemu-utils bc libvirt-clients sqlite3 virtinst wrk nginx-light >/dev/null
	@echo "== apply"
	@MUSTER_BIN=$(BUILD)/muster bench/apply.sh
	@echo "== on disk (/var/tmp, where a state directory would be)"
	@MUSTER_BENCH_DIR=/var/tmp $(BUILD)/bench/seed 1000 100
	@echo "== in memory (/dev/shm: what is left once file creation is free)"
	@MUSTER_BENCH_DIR=/dev/shm $(BUILD)/bench/seed 1000 100
	@echo "== serve"
	@MUSTER_BIN=$(BUILD)/muster bench/serve.sh

# the agents of real guests, through libvirt and through QEMU's sockets
# (boots guests: not in `make bench`)
bench-channels: $(BUILD)/bench/channels $(BUILD)/muster agent
	@MUSTER_BIN=$(BUILD)/muster bench/channels.sh

clean-results:
	@rm -rf $(RESULTS)

# The README's two commands on a freshly made Debian 12 root (tools/fresh-check):
# before resolving anything that changes set-up. 15-30 minutes; not in check.
check-fresh:
	@tools/fresh-check

# A real little fleet booted under TCG, reporting ready, shown and logged
# into (tools/demo); the first run builds the guest image (~3 min).
demo: $(BUILD)/muster agent
	@tools/demo

DEB_BUILD := build-essential pkg-config libvirt-dev libyaml-dev libssh-dev libsqlite3-dev \
	libcurl4-openssl-dev libmicrohttpd-dev libisofs-dev libxml2-dev libjansson-dev \
	libssl-dev libcmocka-dev musl-tools clang libclang-rt-14-dev \
	debhelper dpkg-dev fakeroot
# tools the tests check muster's output with, and the commands their scripts
# run (each named, not left to what a package happens to pull in: make deps
# installs no Recommends, and a minimal Debian has no curl, xmllint or file;
# libvirt's nat and isolated networks need dnsmasq-base and iptables; the
# status page is checked in a headless chromium, tests/page)
DEB_TEST := sqlite3 python3 python3-yaml cloud-init genisoimage openssh-client openssh-server \
	libvirt-clients libvirt-daemon-system libvirt-daemon-driver-qemu qemu-system-x86 \
	qemu-utils debootstrap e2fsprogs iproute2 libxml2-utils curl file procps systemd \
	dnsmasq-base iptables ansible-core mandoc lintian python3-prometheus-client chromium git
deps:
	@tools/deps $(DEB_BUILD) $(DEB_TEST)

# systemd reads units from $(PREFIX)/lib/systemd/system for /usr/local; a
# package puts them where its distribution wants them (debian/rules)
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
UNITS := muster-serve.service muster-rebuild@.service muster-rebuild@.timer

install: $(BUILD)/muster $(BUILD)/agent/muster-agent $(BUILD)/agent/muster-agent.gz
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/muster
	install -m 0755 $(BUILD)/muster $(DESTDIR)$(PREFIX)/bin/muster
	install -m 0755 $(BUILD)/agent/muster-agent $(DESTDIR)$(PREFIX)/lib/muster/muster-agent
	install -m 0644 $(BUILD)/agent/muster-agent.gz $(DESTDIR)$(PREFIX)/lib/muster/muster-agent.gz
	install -d $(DESTDIR)$(PREFIX)/share/muster/templates/kickstart
	install -m 0644 templates/kickstart/*.ks $(DESTDIR)$(PREFIX)/share/muster/templates/kickstart/
	install -d $(DESTDIR)$(PREFIX)/share/muster/templates/status
	install -m 0644 templates/status/page.html templates/status/timeline.svg \
		templates/status/style.css templates/status/script.js \
		$(DESTDIR)$(PREFIX)/share/muster/templates/status/
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 0644 orchestrator/cli/man/muster.1 $(DESTDIR)$(PREFIX)/share/man/man1/muster.1
	install -m 0644 orchestrator/cli/man/muster.yaml.5 $(DESTDIR)$(PREFIX)/share/man/man5/muster.yaml.5
	install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0644 orchestrator/cli/completion/muster \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/muster
	@# the units, running the muster installed here
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	for u in $(UNITS); do \
		sed 's|/usr/local/bin/muster|$(PREFIX)/bin/muster|g' examples/$$u \
			>$(DESTDIR)$(SYSTEMDUNITDIR)/$$u.tmp && \
		chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.tmp && \
		mv $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.tmp $(DESTDIR)$(SYSTEMDUNITDIR)/$$u || exit 1; \
	done

clean:
	rm -rf $(BUILD)

.PHONY: bench bench-channels all check check-fast check-faults check-package reliability check-fresh check-fuzz fuzz FORCE check-guests check-unit check-golden check-sanitize clean-results demo deps install clean
.SECONDARY:

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
