# stortune — build, install, run and test.
#
#   make            build ./stortune and build/libstortune.a
#   make deps       install the Debian packages the build, the tool and the tests need
#   make run        the main job on its embedded default (a scratch target)
#   make check      unit tests, then the privileged tests (root; skipped with exit 77 otherwise)
#   make check-ansible   the fleet playbook against this machine (deploy/ansible/test.sh)
#   make bench-ci   the CI regression benchmark against results/baselines/<machine kind>.json
#   make bench-baseline   record that baseline
#   make fuzz       every fuzz harness for FUZZ_SECONDS each (libFuzzer, clang, ASan, UBSan)
#
# DEVELOPER=1 adds -Werror; SANITIZE=address,undefined builds with sanitizers; V=1 shows commands.

PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
DATADIR    ?= $(PREFIX)/share/stortune
DESTDIR    ?=
PKG_CONFIG ?= pkg-config
CC         ?= cc
INSTALL    ?= install

VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
GIT_REV := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)

PKGS := blkid devmapper json-c inih cunit libarchive libcurl libcrypto
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

CFLAGS ?= -O2 -g
WARN   := -Wall -Wextra -Wformat-security -Wstrict-prototypes -Wwrite-strings -Wvla
# snprintf truncation is deliberate throughout (bounded buffers for names and messages).
WARN   += -Wno-format-truncation
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -Isrc -Icmd $(PKG_CFLAGS) -MMD -MP \
	-D_GNU_SOURCE -DSTT_VERSION='"$(VERSION)"' -DSTT_GIT_REV='"$(GIT_REV)"' -DSTT_DATADIR='"$(DATADIR)"' -pthread
ALL_LDFLAGS := $(LDFLAGS) -pthread
LIBS := $(PKG_LIBS) -laio -llvm2cmd -lm

ifeq ($(DEVELOPER),1)
ALL_CFLAGS += -Werror
endif
ifneq ($(SANITIZE),)
ALL_CFLAGS  += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
ALL_LDFLAGS += -fsanitize=$(SANITIZE)
endif

ifneq ($(V),1)
Q_CC = @echo "  [CC]    $@";
Q_AR = @echo "  [AR]    $@";
Q_LD = @echo "  [LD]    $@";
endif

SRC_C  := $(sort $(wildcard src/*/*.c))
CMD_C  := $(sort $(filter-out cmd/main.c,$(wildcard cmd/*.c)))
UNIT_C := $(sort $(wildcard tests/unit/*.c tests/unit/*/*.c))
PRIV_C := $(sort $(wildcard tests/priv/*.c tests/priv/*/*.c))

SRC_O  := $(SRC_C:%.c=build/%.o)
CMD_O  := $(CMD_C:%.c=build/%.o)
UNIT_O := $(UNIT_C:%.c=build/%.o)
PRIV_O := $(PRIV_C:%.c=build/%.o)

# The test suites include their runner's header (unit.h, priv.h) from any folder below it.
$(UNIT_O): ALL_CFLAGS += -Itests/unit
$(PRIV_O): ALL_CFLAGS += -Itests/priv

UPLOT  := vendor/npm/node_modules/uplot

LIB    := build/libstortune.a
CMDLIB := build/libstortune-cmd.a

# Fuzzing (tests/fuzz/, libFuzzer): src/ and cmd/ built again with clang and the sanitizers
# into build/fuzz/, one binary per harness in build/fuzz/bin/. scripts/fuzz.sh runs them.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=gnu11 -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link -Wall -Wextra \
	-Wno-unknown-warning-option -Wno-unused-parameter -Wno-string-plus-int -Isrc -Icmd -Itests/fuzz \
	$(PKG_CFLAGS) -MMD -MP -D_GNU_SOURCE -DSTT_VERSION='"$(VERSION)"' \
	-DSTT_GIT_REV='"$(GIT_REV)"' -DSTT_DATADIR='"$(DATADIR)"' -pthread
FUZZ_C       := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS    := $(FUZZ_C:tests/fuzz/fuzz_%.c=build/fuzz/bin/%)
FUZZ_OBJ     := $(SRC_C:%.c=build/fuzz/%.o) $(CMD_C:%.c=build/fuzz/%.o) \
	$(FUZZ_C:%.c=build/fuzz/%.o)
FUZZ_LIB     := build/fuzz/libstortune.a
FUZZ_CMDLIB  := build/fuzz/libstortune-cmd.a

all: stortune build/stortune-replay

# The static replayer of traced starts that the real engine's containers run (tools/replay.c).
build/stortune-replay: tools/replay.c src/workload/replay.h
	@mkdir -p build
	$(Q_LD)$(CC) -std=gnu11 $(WARN) -O2 -Isrc -D_GNU_SOURCE -static -o $@ $<

build/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q_CC)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(SRC_O)
	$(Q_AR)rm -f $@ && $(AR) rcs $@ $^

$(CMDLIB): $(CMD_O)
	$(Q_AR)rm -f $@ && $(AR) rcs $@ $^

stortune: build/cmd/main.o $(CMDLIB) $(LIB)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

build/fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q_CC)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_LIB): $(SRC_C:%.c=build/fuzz/%.o)
	$(Q_AR)rm -f $@ && $(AR) rcs $@ $^

$(FUZZ_CMDLIB): $(CMD_C:%.c=build/fuzz/%.o)
	$(Q_AR)rm -f $@ && $(AR) rcs $@ $^

build/fuzz/bin/%: build/fuzz/tests/fuzz/fuzz_%.o $(FUZZ_CMDLIB) $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(Q_LD)$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -pthread -o $@ $^ $(LIBS)

fuzz-build: $(FUZZ_BINS)
.SECONDARY: $(FUZZ_C:%.c=build/fuzz/%.o)

# Every harness for FUZZ_SECONDS (default 60) each, niced; corpora kept in build/fuzz/corpus.
fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@nice -n 10 scripts/fuzz.sh $(FUZZ_SECONDS)

build/unit-tests: $(UNIT_O) $(CMDLIB) $(LIB)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

build/priv-tests: $(PRIV_O) $(CMDLIB) $(LIB)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

deps:
	@scripts/deps.sh

run: deps
	@$(MAKE) --no-print-directory stortune
	@scripts/run.sh

check: deps
	@$(MAKE) --no-print-directory stortune build/stortune-replay build/unit-tests build/priv-tests
	@echo "== layers (scripts/check-layers.sh)"
	@scripts/check-layers.sh
	@echo "== unit tests"
	build/unit-tests
	@echo "== fuzz smoke (tests/fuzz: the regressions, then a few seconds of each harness)"
	@$(MAKE) --no-print-directory fuzz-build
	@scripts/fuzz.sh smoke
	@echo "== privileged tests"
	@build/priv-tests; rc=$$?; \
	if [ $$rc -eq 77 ]; then echo "privileged tests skipped (need root)"; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi
	@echo "== VM tests (qemu/TCG guest: device-mapper backends)"
	@tests/vm/run.sh; rc=$$?; \
	if [ $$rc -eq 77 ]; then echo "VM tests skipped (no qemu-system-x86_64)"; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi

# The real engine killed in every step with SIGINT and with SIGKILL + cleanup (make check does
# a few of them): about 5-8 minutes.
check-engine: stortune build/priv-tests
	@STT_APIKILL_FULL=1 STT_PRIV_ONLY=apikill build/priv-tests

# The debootstrapped images `stortune trace` is tested on and the shipped traces were made of
# (scripts/trace-image.sh; minutes the first time, then kept in build/trace/). make check's
# trace suite builds the first itself; the JRE image is for `make trace-java` alone.
trace-images:
	scripts/trace-image.sh build/trace/debian-python-perl.tar stortune-trace:python-perl \
		python3,perl

trace-java: stortune
	scripts/trace-image.sh build/trace/debian-java.tar stortune-trace:java \
		openjdk-17-jre-headless
	./stortune trace build/trace/debian-java.tar -o build/trace/java-version.json \
		-- java -version

# The fault sweep (not part of check, ~15 min): the faults suite with 20 SIGKILLs in each
# phase of bench and of qualify, each followed by `stortune cleanup`; the table of faults
# goes to build/faults-table.md.
check-faults: stortune build/priv-tests
	@rm -f build/faults-table.md
	STT_PRIV_ONLY=faults STT_FAULT_KILLS=20 STT_FAULT_QUALIFY_KILLS=20 \
		STT_FAULT_TABLE=build/faults-table.md build/priv-tests

# The VM tier alone (it needs ./stortune and build/priv-tests).
check-vm: stortune build/priv-tests
	@tests/vm/run.sh

# The VM tier with every fault of tests/vm/faults.sh in every phase (check runs its quick set).
check-vm-faults: stortune build/priv-tests
	@STT_VM_FAULTS=1 tests/vm/run.sh

# The Ansible playbook (deploy/ansible/qualify.yml) for real against this machine; .ci/run calls it.
check-ansible: deps stortune
	@deploy/ansible/test.sh; rc=$$?; \
	if [ $$rc -eq 77 ]; then echo "ansible test skipped"; elif [ $$rc -ne 0 ]; then exit $$rc; fi

# The containerd-devmapper interruption test in the guest (about 10 minutes under TCG; not in check)
check-vm-containerd: stortune build/priv-tests
	@mkdir -p build/vm/out/ctrd-interrupt build/vm/tmp
	@TMPDIR=$(CURDIR)/build/vm/tmp tests/vm/guest.sh run tests/vm/priv.sh \
		--out build/vm/out/ctrd-interrupt --timeout 1500 --mem 3072 --quiet \
		--env STT_PRIV_ONLY=interrupt --env STT_PRIV_BACKENDS=containerd-devmapper \
		--file build/priv-tests:/usr/local/bin/priv-tests
	@grep -a -A1 'Test: containerd-devmapper: SIGTERM' build/vm/out/ctrd-interrupt/priv.log | \
		grep -q 'passed$$' && echo "ok     containerd-devmapper interruption test in the guest"

# The CI regression benchmark (not part of check): overlay with the ci profile, compared with
# the baseline of this machine kind; see scripts/bench-ci.sh for PROFILE, REPETITIONS, ...
bench-ci: stortune
	@scripts/bench-ci.sh

bench-baseline: stortune
	@scripts/bench-ci.sh baseline

install: stortune build/stortune-replay
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/profiles
	$(INSTALL) -m 0755 stortune $(DESTDIR)$(BINDIR)/stortune
	$(INSTALL) -m 0755 build/stortune-replay $(DESTDIR)$(DATADIR)/stortune-replay
	for f in profiles/*.ini; do [ -e "$$f" ] || continue; \
		$(INSTALL) -m 0644 "$$f" $(DESTDIR)$(DATADIR)/profiles/; done
	$(INSTALL) -d $(DESTDIR)$(DATADIR)/profiles/traces
	for f in profiles/traces/*.json; do [ -e "$$f" ] || continue; \
		$(INSTALL) -m 0644 "$$f" $(DESTDIR)$(DATADIR)/profiles/traces/; done
	@# the report page's assets: uPlot and its licence (make deps puts them in vendor/npm)
	@test -f $(UPLOT)/dist/uPlot.iife.min.js || { echo "install: $(UPLOT) missing: run make deps" >&2; exit 1; }
	$(INSTALL) -d $(DESTDIR)$(DATADIR)/report
	$(INSTALL) -m 0644 $(UPLOT)/dist/uPlot.iife.min.js $(UPLOT)/dist/uPlot.min.css $(DESTDIR)$(DATADIR)/report/
	$(INSTALL) -m 0644 $(UPLOT)/LICENSE $(DESTDIR)$(DATADIR)/report/uPlot.LICENSE
	$(INSTALL) -m 0644 report/report.js report/report.css $(DESTDIR)$(DATADIR)/report/

clean:
	rm -rf build stortune

format:
	clang-format -i $(SRC_C) $(wildcard src/*/*.h cmd/*.c cmd/*.h tests/*/*.c tests/*/*/*.c tests/*/*.h)

.PHONY: all deps run check trace-images trace-java check-faults check-vm check-vm-faults check-vm-containerd check-engine check-ansible\
	bench-ci bench-baseline install clean format fuzz fuzz-build

-include $(SRC_O:.o=.d) $(CMD_O:.o=.d) $(UNIT_O:.o=.d) $(PRIV_O:.o=.d) build/cmd/main.d
-include $(FUZZ_OBJ:.o=.d)
