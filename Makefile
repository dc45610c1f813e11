# scenarist. `make` builds ./scenarist; `make test` installs what is missing, builds
# twice (plain and ASan+UBSan) and runs every suite; `make demo` runs the main job.

CC      ?= cc
PKGS    := yaml-0.1 libcurl jansson lua5.4 sqlite3 libmicrohttpd libcrypto glib-2.0 libutf8proc zlib libsystemd jemalloc libpq
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror
OPT     ?= -O2 -g
BASE_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -Iengine $(WARN) $(PKG_CFLAGS) -MMD -MP
SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer

CLI_SRC  := $(wildcard engine/cli/*.c)
LIB_SRC  := $(filter-out $(CLI_SRC),$(wildcard engine/*.c engine/*/*.c)) $(wildcard modules/*.c)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
SANDBOX_SRC := $(wildcard tools/sandbox/*.c)
FUZZ_TARGETS := $(patsubst tools/fuzz/fuzz_%.c,%,$(wildcard tools/fuzz/fuzz_*.c))

all: scenarist tools/sandbox/sandbox

# the console's files are built into the binary (.incbin in engine/daemon/console.c)
build/plain/engine/daemon/console.o build/asan/engine/daemon/console.o: $(wildcard console/*)

# Two flavours share one set of rules: build/plain and build/asan.
define flavour
$(1)_CFLAGS := $(BASE_CFLAGS) $(2)
$(1)_LDFLAGS := $(3)
$(1)_OBJ := $$(patsubst %.c,build/$(1)/%.o,$$(LIB_SRC))
$(1)_UNIT := $$(patsubst %.c,build/$(1)/%,$$(UNIT_SRC))

build/$(1)/%.o: %.c | deps-check
	@mkdir -p $$(@D)
	$$(CC) $$($(1)_CFLAGS) -c $$< -o $$@

build/$(1)/libscenarist.a: $$($(1)_OBJ)
	@rm -f $$@
	ar rcs $$@ $$^

build/$(1)/scenarist: $$(patsubst %.c,build/$(1)/%.o,$$(CLI_SRC)) build/$(1)/libscenarist.a
	$$(CC) $$($(1)_CFLAGS) -o $$@ $$^ $$($(1)_LDFLAGS) $$(PKG_LIBS) -lm

build/$(1)/tests/unit/%: build/$(1)/tests/unit/%.o build/$(1)/libscenarist.a
	$$(CC) $$($(1)_CFLAGS) -o $$@ $$^ $$($(1)_LDFLAGS) $$(PKG_LIBS) $$(CMOCKA_LIBS) -lm

build/$(1)/tests/stub: tests/stub/stub.c build/$(1)/libscenarist.a | deps-check
	@mkdir -p $$(@D)
	$$(CC) $$($(1)_CFLAGS) -o $$@ $$(filter %.c %.a,$$^) $$($(1)_LDFLAGS) $$(PKG_LIBS) -lpthread

$(1)_REPLAY := $$(patsubst %,build/$(1)/tools/fuzz/replay_%,$$(FUZZ_TARGETS))
build/$(1)/tools/fuzz/replay_%: build/$(1)/tools/fuzz/fuzz_%.o build/$(1)/tools/fuzz/replay.o build/$(1)/libscenarist.a
	$$(CC) $$($(1)_CFLAGS) -o $$@ $$^ $$($(1)_LDFLAGS) $$(PKG_LIBS) -lpthread -lm

build/$(1)/tools/sandbox/sandbox: $$(patsubst %.c,build/$(1)/%.o,$$(SANDBOX_SRC)) build/$(1)/libscenarist.a
	$$(CC) $$($(1)_CFLAGS) -o $$@ $$^ $$($(1)_LDFLAGS) $$(PKG_LIBS) -lpthread -lm

-include $$(shell find build/$(1) -name '*.d' 2>/dev/null)
endef

$(eval $(call flavour,plain,$(OPT),))
$(eval $(call flavour,asan,-O1 -g $(SAN),$(SAN)))

.PHONY: all asan unit test demo docs docs-check deps deps-check clean bench fuzz install
.SECONDARY:

scenarist: build/plain/scenarist
	cp $< $@

tools/sandbox/sandbox: build/plain/tools/sandbox/sandbox
	cp $< $@

asan: build/asan/scenarist build/asan/tests/stub build/asan/tools/sandbox/sandbox $(asan_UNIT) $(asan_REPLAY)

unit: $(plain_UNIT) build/plain/tests/stub $(plain_REPLAY)

deps:
	tools/install-deps

deps-check:
	@pkg-config --exists $(PKGS) cmocka || { \
	  echo "missing libraries: run tools/install-deps (make test and make demo run it)"; exit 1; }

# Recursive make so that pkg-config is asked again after install-deps; on every core
# unless -j was given (CI runs a bare `make test`: the two builds were serial).
test: deps
	$(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc 2>/dev/null || echo 1)) all unit asan docs-check
	tools/check-layers
	tools/check-functions
	tests/run.sh

DOCS := docs/modules.md docs/format-tables.md docs/org-tables.md docs/scenarist.1 docs/scenarist-scenario.5 docs/scenario.schema.json

docs: scenarist
	./scenarist docs modules > docs/modules.md
	./scenarist docs format > docs/format-tables.md
	./scenarist docs org > docs/org-tables.md
	./scenarist docs man1 > docs/scenarist.1
	./scenarist docs man5 > docs/scenarist-scenario.5
	./scenarist schema > docs/scenario.schema.json

# The generated docs, regenerated to a temporary folder: any difference fails.
docs-check: scenarist
	@t=$$(mktemp -d) && ./scenarist docs modules > $$t/modules.md && \
	  ./scenarist docs format > $$t/format-tables.md && ./scenarist docs org > $$t/org-tables.md && \
	  ./scenarist docs man1 > $$t/scenarist.1 && ./scenarist docs man5 > $$t/scenarist-scenario.5 && \
	  ./scenarist schema > $$t/scenario.schema.json && \
	  for f in $(notdir $(DOCS)); do diff -u docs/$$f $$t/$$f > $$t/diff || { \
	    cat $$t/diff; echo "docs/$$f is out of date: run make docs"; rm -rf $$t; exit 1; }; done; \
	  rm -rf $$t; echo "docs-check: $(DOCS) are up to date"

# make install [PREFIX=/usr/local] [DESTDIR=]: the binary, lua/ in DATADIR, the manual
# pages, a systemd unit and an example org. The folders are compiled into engine/paths.c
# (one under PREFIX is found relative to the binary, so a DESTDIR tree runs as it is).
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/scenarist
MANDIR  ?= $(PREFIX)/share/man
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
STATEDIR ?= $(if $(filter /usr,$(PREFIX)),/var/lib/scenarist,$(PREFIX)/var/lib/scenarist)
UNITDIR ?= $(PREFIX)/lib/systemd/system
INSTALL_BIN ?= build/plain/scenarist
PATH_DEFS := -DSC_PREFIX='"$(PREFIX)"' -DSC_DATADIR='"$(DATADIR)"' \
             -DSC_CONFDIR='"$(SYSCONFDIR)/scenarist"' -DSC_STATEDIR='"$(STATEDIR)"'
build/plain/engine/paths.o: plain_CFLAGS += $(PATH_DEFS)
build/asan/engine/paths.o: asan_CFLAGS += $(PATH_DEFS)
build/plain/engine/paths.o build/asan/engine/paths.o: build/paths.defs
# rewritten only when the folders change, so paths.o is rebuilt then and only then
$(shell mkdir -p build; echo '$(PATH_DEFS)' | cmp -s - build/paths.defs || echo '$(PATH_DEFS)' > build/paths.defs)

install: $(INSTALL_BIN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/lua/prelude $(DESTDIR)$(DATADIR)/lua/transforms \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/scenarist/orgs $(DESTDIR)$(STATEDIR)
	install -m 755 $(INSTALL_BIN) $(DESTDIR)$(BINDIR)/scenarist
	install -m 644 lua/prelude/*.lua $(DESTDIR)$(DATADIR)/lua/prelude/
	install -m 644 lua/transforms/*.lua $(DESTDIR)$(DATADIR)/lua/transforms/
	install -m 644 docs/scenarist.1 $(DESTDIR)$(MANDIR)/man1/scenarist.1
	install -m 644 docs/scenarist-scenario.5 $(DESTDIR)$(MANDIR)/man5/scenarist-scenario.5
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@STATEDIR@|$(STATEDIR)|g' \
	    -e 's|@CONFDIR@|$(SYSCONFDIR)/scenarist|g' tools/scenarist@.service.in \
	    > $(DESTDIR)$(UNITDIR)/scenarist@.service
	chmod 644 $(DESTDIR)$(UNITDIR)/scenarist@.service
	test -e $(DESTDIR)$(SYSCONFDIR)/scenarist/orgs/example.yaml || \
	    install -m 644 tools/example-org.yaml $(DESTDIR)$(SYSCONFDIR)/scenarist/orgs/example.yaml

# A simulated week of the whole library at 10,000 employees, 10% of webhooks dropped (tools/simulate).
.PHONY: simulate
simulate: all
	tools/simulate --employees 10000 --days 7 --drop 0.1 --seed 1

demo: deps
	$(MAKE) --no-print-directory all
	tools/demo $(if $(PORT),--port $(PORT))

clean:
	rm -rf build scenarist

# Benchmarks (tools/bench): optimised build, figures written to docs/benchmarks.md.
build/plain/tools/bench/expr: tools/bench/expr.c build/plain/libscenarist.a | deps-check
	@mkdir -p $(@D)
	$(CC) $(plain_CFLAGS) -o $@ $^ $(PKG_LIBS) -lm

build/plain/tools/bench/raw: tools/bench/raw.c | deps-check
	@mkdir -p $(@D)
	$(CC) $(plain_CFLAGS) -o $@ $< $(PKG_LIBS)

build/plain/tools/bench/recon: tools/bench/recon.c | deps-check
	@mkdir -p $(@D)
	$(CC) $(plain_CFLAGS) -o $@ $< $(PKG_LIBS)

build/plain/tools/bench/reconcile: tools/bench/reconcile.c build/plain/libscenarist.a | deps-check
	@mkdir -p $(@D)
	$(CC) $(plain_CFLAGS) -o $@ $< build/plain/libscenarist.a $(PKG_LIBS) -lm

bench:
	BENCH=1 tools/install-deps
	$(MAKE) --no-print-directory all build/plain/tools/bench/expr build/plain/tools/bench/raw \
	    build/plain/tools/bench/recon build/plain/tools/bench/reconcile
	tools/bench/run

# Fuzzing with clang's libFuzzer: `make fuzz FUZZ_SECONDS=N` runs every target N seconds.
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -Iengine $(WARN) $(PKG_CFLAGS) -O1 -g -fno-omit-frame-pointer \
               -fsanitize=fuzzer-no-link,address,undefined
FUZZ_OBJ := $(patsubst %.c,build/fuzz/%.o,$(LIB_SRC))

build/fuzz/%.o: %.c
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -c $< -o $@

build/fuzz/fuzz_%: build/fuzz/tools/fuzz/fuzz_%.o $(FUZZ_OBJ)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) -lpthread -lm

fuzz:
	FUZZ=1 tools/install-deps
	$(MAKE) --no-print-directory $(patsubst %,build/fuzz/fuzz_%,$(FUZZ_TARGETS))
	tools/fuzz/run $(FUZZ_SECONDS) $(FUZZ_TARGETS)
