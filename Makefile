# dockerpty: `make` builds the core for Lua 5.4; `make test` sets up everything and runs the specs.

LUA_VERSION ?= 5.4
ifeq ($(LUA_VERSION),luajit)
LUA_PKG ?= luajit
LUA ?= luajit
LUA_DIR_VERSION ?= 5.1
else
LUA_PKG ?= lua$(LUA_VERSION)
LUA ?= lua$(LUA_VERSION)
LUA_DIR_VERSION ?= $(LUA_VERSION)
endif
LUA_INCDIR ?=
PREFIX ?= /usr/local
FUZZ_SECONDS ?= 10

BUILD := build/$(LUA_VERSION)
CORE := $(BUILD)/dockerpty/core.so
SOURCES := $(wildcard src/*.c)
OBJECTS := $(SOURCES:src/%.c=$(BUILD)/obj/%.o)
HEADERS := $(wildcard src/*.h)

PKG_CFLAGS = $(if $(LUA_INCDIR),-I$(LUA_INCDIR),$(shell pkg-config --cflags $(LUA_PKG))) \
	$(shell pkg-config --cflags libcurl libcjson openssl)
PKG_LIBS = $(shell pkg-config --libs libcurl libcjson openssl)

CFLAGS ?= -O2 -g
CFLAGS += -std=c99 -D_POSIX_C_SOURCE=200809L -fPIC -Wall -Wextra -Werror $(PKG_CFLAGS)
LDFLAGS += -shared
# Debian's wslay has no pkg-config file.
LIBS += $(PKG_LIBS) -lwslay -lm

# SANITIZE=1: AddressSanitizer and UndefinedBehaviorSanitizer, any error fatal. The Lua
# interpreters are not built with them, so scripts/test preloads their runtimes.
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
export SANITIZE
endif

TESTPTY := $(BUILD)/testpty.so

.PHONY: all deps unit-deps test-deps engine test unit run install clean fuzz bench bench-smoke lint valgrind FORCE

all: $(CORE) $(TESTPTY) doc/tags

$(CORE): $(OBJECTS) $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(OBJECTS) $(LIBS)

# A helper the specs use to run programs in a pseudo-terminal; not installed.
$(TESTPTY): spec/support/testpty.c src/compat.h $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc $(LDFLAGS) -o $@ $<

$(BUILD)/obj/%.o: src/%.c $(HEADERS) $(BUILD)/flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# :help dockerpty for a checkout on the runtimepath; written in Lua so that no Neovim is needed.
doc/tags: $(wildcard doc/*.txt) scripts/helptags
	$(LUA) scripts/helptags doc

# Rewritten only when the flags change (SANITIZE=1 and back), so the objects follow them.
$(BUILD)/flags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(CC) $(CFLAGS) $(LDFLAGS)' | cmp -s - $@ || echo '$(CC) $(CFLAGS) $(LDFLAGS)' > $@

# What building and running need (make, make run); unit-deps adds busted, test-deps every
# tool the specs and checks use.
deps:
	@scripts/deps

unit-deps:
	@scripts/deps unit

test-deps:
	@scripts/deps test

# The deps check runs before the build's pkg-config look-ups are needed.
engine: deps
	@scripts/engine

# Every spec, under Lua 5.4 and under LuaJIT (what Neovim embeds), the registries the pull
# specs use up too.
test: test-deps engine
	@scripts/registry
	@$(MAKE) -s --no-print-directory all
	@$(MAKE) -s --no-print-directory all LUA_VERSION=luajit
	@scripts/test

# The README's first command: a shell in a fresh busybox container, removed when it exits.
run: engine
	@$(MAKE) -s --no-print-directory all
	@bin/dockerpty run -it --rm busybox sh

# The specs that reach each part of the C core with every Lua process under valgrind's
# memcheck (scripts/valgrind lists them): no invalid access, no leak. (make test SANITIZE=1 runs every spec under ASan and UBSan.)
valgrind: test-deps engine
	@$(MAKE) -s --no-print-directory all
	@scripts/valgrind

# clang-tidy and cppcheck on src/, luacheck on the Lua: any finding fails.
lint: test-deps
	@scripts/lint

unit: unit-deps
	@$(MAKE) -s --no-print-directory all
	@$(MAKE) -s --no-print-directory all LUA_VERSION=luajit
	@scripts/test --exclude-tags=engine,install,nvim

# Side by side with the docker CLI and Python dockerpty: bench/RESULTS.md and bench/results.png.
bench: test-deps engine
	@$(MAKE) -s --no-print-directory all
	@bench/run

bench-smoke: test-deps engine
	@$(MAKE) -s --no-print-directory all
	@bench/run --smoke

# libFuzzer targets for the parsers and the JSON bridge: make fuzz FUZZ_SECONDS=60
fuzz: test-deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz

# Lua 5.4 gets the modules precompiled (scripts/precompile): the command starts with no Lua
# to parse, about 2 ms of CPU less. LuaJIT gets the sources: Neovim may embed another build.
# The command names its interpreter by its full path, found now: no env in between to exec
# and search PATH at every start.
LUA_BIN = $(shell command -v $(LUA) 2>/dev/null)
install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	sed '1s|.*|#!$(or $(filter /%,$(LUA_BIN)),/usr/bin/env $(LUA))|' bin/dockerpty > $(DESTDIR)$(PREFIX)/bin/dockerpty
	chmod 755 $(DESTDIR)$(PREFIX)/bin/dockerpty
	install -d $(DESTDIR)$(PREFIX)/lib/lua/$(LUA_DIR_VERSION)/dockerpty
	install -m 755 $(CORE) $(DESTDIR)$(PREFIX)/lib/lua/$(LUA_DIR_VERSION)/dockerpty/core.so
	install -d $(DESTDIR)$(PREFIX)/share/lua/$(LUA_DIR_VERSION)/dockerpty
ifeq ($(LUA_VERSION),luajit)
	for f in lua/dockerpty/*.lua lua/dockerpty/*/*.lua; do \
	  install -D -m 644 $$f $(DESTDIR)$(PREFIX)/share/lua/$(LUA_DIR_VERSION)/$${f#lua/} || exit 1; \
	done
else
	for f in lua/dockerpty/*.lua lua/dockerpty/*/*.lua; do \
	  m=$(PREFIX)/share/lua/$(LUA_DIR_VERSION)/$${f#lua/}; \
	  install -d $$(dirname $(DESTDIR)$$m) && \
	  $(LUA) scripts/precompile $$f $(DESTDIR)$$m $$m && chmod 644 $(DESTDIR)$$m || exit 1; \
	done
endif

clean:
	rm -rf build doc/tags
