# stortune — build, install, run and test.
#
#   make            build ./stortune and build/libstortune.a
#   make deps       install the Debian packages the build, the tool and the tests need
#   make run        the main job on its embedded default (a scratch target)
#   make check      unit tests, then the privileged tests (root; skipped with exit 77 otherwise)
#   make bench-ci   the CI regression benchmark against results/baselines/<machine kind>.json
#   make bench-baseline   record that baseline
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

PKGS := blkid devmapper json-c inih cunit libarchive
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

LIB    := build/libstortune.a
CMDLIB := build/libstortune-cmd.a

all: stortune

build/%.o: %.c
	@mkdir -p $(dir $@)
	$(Q_CC)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(SRC_O)
	$(Q_AR)rm -f $@ && $(AR) rcs $@ $^

$(CMDLIB): $(CMD_O)
	$(Q_AR)rm -f $@ && $(AR) rcs $@ $^

stortune: build/cmd/main.o $(CMDLIB) $(LIB)
	$(Q_LD)$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

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
	@$(MAKE) --no-print-directory stortune build/unit-tests build/priv-tests
	@echo "== layers (scripts/check-layers.sh)"
	@scripts/check-layers.sh
	@echo "== unit tests"
	build/unit-tests
	@echo "== privileged tests"
	@build/priv-tests; rc=$$?; \
	if [ $$rc -eq 77 ]; then echo "privileged tests skipped (need root)"; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi
	@echo "== VM tests (qemu/TCG guest: device-mapper backends)"
	@tests/vm/run.sh; rc=$$?; \
	if [ $$rc -eq 77 ]; then echo "VM tests skipped (no qemu-system-x86_64)"; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi

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

# The CI regression benchmark (not part of check): overlay with the ci profile, compared with
# the baseline of this machine kind; see scripts/bench-ci.sh for PROFILE, REPETITIONS, ...
bench-ci: stortune
	@scripts/bench-ci.sh

bench-baseline: stortune
	@scripts/bench-ci.sh baseline

install: stortune
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/profiles
	$(INSTALL) -m 0755 stortune $(DESTDIR)$(BINDIR)/stortune
	for f in profiles/*.ini; do [ -e "$$f" ] || continue; \
		$(INSTALL) -m 0644 "$$f" $(DESTDIR)$(DATADIR)/profiles/; done

clean:
	rm -rf build stortune

format:
	clang-format -i $(SRC_C) $(wildcard src/*/*.h cmd/*.c cmd/*.h tests/*/*.c tests/*/*/*.c tests/*/*.h)

.PHONY: all deps run check check-faults check-vm bench-ci bench-baseline install clean format

-include $(SRC_O:.o=.d) $(CMD_O:.o=.d) $(UNIT_O:.o=.d) $(PRIV_O:.o=.d) build/cmd/main.d
