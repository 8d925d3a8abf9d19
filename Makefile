# godistcc: one Makefile for the shim, the daemon, their library and tests.
PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR   ?= $(PREFIX)/bin
# godistcc finds godistcc-http at ../libexec/godistcc/ from its own directory.
LIBEXECDIR = $(BINDIR)/../libexec
MANDIR   ?= $(PREFIX)/share/man

CC       ?= cc
PKGS      = libcurl jansson libzstd libarchive libmicrohttpd libcrypto
WARN      = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wwrite-strings -Wvla -Wformat=2 -Wno-format-nonliteral
ifneq ($(CI),)
WERROR   ?= -Werror
endif
OPT      ?= -O2 -g
BASE_CFLAGS = -std=c17 -D_GNU_SOURCE $(OPT) $(WARN) $(WERROR) -Icommon \
            $(shell pkg-config --cflags $(PKGS))
CFLAGS   += $(BASE_CFLAGS) -MMD -MP
LDLIBS   += $(shell pkg-config --libs $(PKGS)) -lpthread
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=$(SANITIZE)
endif

COMMON_SRC = $(wildcard common/*.c)
COMMON_OBJ = $(COMMON_SRC:.c=.o)
# godistcc: the local-socket path, linked with jansson only (every library
# more costs each compile job its loading time). godistcc-http: the rest.
SHIM_OBJ   = $(addprefix toolexec/,main.o shim.o local.o job.o replay.o \
               settings.o fallback.o status.o cluster.o)
SHIM_LIBS  = $(shell pkg-config --libs jansson)
# It runs once per compile: linked statically (a static PIE) it skips the
# dynamic loader, 0.3 ms of the 0.7 ms its start took (hyperfine of
# "godistcc --version"). Sanitizer builds cannot link statically.
ifeq ($(SANITIZE),)
SHIM_LDFLAGS = -static-pie
SHIM_LIBS  = $(shell pkg-config --static --libs jansson)
endif
HTTP_OBJ   = $(addprefix toolexec/,http_main.o shim.o job.o jobbundle.o replay.o settings.o \
               fallback.o client.o curlapi.o toolhash.o upload.o status.o cluster.o \
               status_http.o)
ALL_SHIM_OBJ = $(patsubst %.c,%.o,$(wildcard toolexec/*.c))
DAEMON_OBJ = $(patsubst %.c,%.o,$(wildcard dispatchd/*.c))
UNIT_SRC   = $(wildcard t/unit/test_*.c)
UNIT_BIN   = $(UNIT_SRC:t/unit/%.c=t/unit/bin/%)
# The unit tests again, built from source with AddressSanitizer and
# UndefinedBehaviorSanitizer into their own directory (no shared objects).
ASAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
UNIT_ASAN_BIN = $(UNIT_SRC:t/unit/%.c=t/unit/bin-asan/%)
# The daemon again, built the same way, for the hostile-input suite.
ASAN_DAEMON = bin-asan/dispatchd

HTTP_HELPER = libexec/godistcc/godistcc-http
# Helper programs of the integration tests (t/tools/NAME.c -> t/tools/bin/NAME).
TOOLS_BIN  = $(patsubst t/tools/%.c,t/tools/bin/%,$(wildcard t/tools/*.c))

all: bin/godistcc $(HTTP_HELPER) bin/dispatchd

common/libcommon.a: $(COMMON_OBJ)
	$(AR) rcs $@ $^

bin/godistcc: $(SHIM_OBJ) common/libcommon.a | bin
	$(CC) $(LDFLAGS) $(SHIM_LDFLAGS) -o $@ $^ $(SHIM_LIBS)

$(HTTP_HELPER): $(HTTP_OBJ) common/libcommon.a | libexec/godistcc
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bin/dispatchd: $(DAEMON_OBJ) common/libcommon.a | bin
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

bin libexec/godistcc t/unit/bin t/unit/bin-asan t/tools/bin bin-asan:
	mkdir -p $@

t/unit/bin/%: t/unit/%.c common/libcommon.a | t/unit/bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< common/libcommon.a $(LDLIBS) -lcriterion

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t --jobs 2; done

# Tests #include sources of dispatchd/ and toolexec/: any change rebuilds them.
t/unit/bin-asan/%: t/unit/%.c $(COMMON_SRC) $(wildcard common/*.h dispatchd/*.[ch] toolexec/*.[ch]) \
		| t/unit/bin-asan
	$(CC) $(BASE_CFLAGS) $(ASAN_FLAGS) -o $@ $< $(COMMON_SRC) $(LDLIBS) -lcriterion

unit-sanitize: $(UNIT_ASAN_BIN)
	@set -e; for t in $(UNIT_ASAN_BIN); do echo "== $$t (asan+ubsan)"; \
		ASAN_OPTIONS=detect_leaks=1 $$t --jobs 2; done

$(ASAN_DAEMON): $(COMMON_SRC) $(wildcard common/*.h dispatchd/*.[ch]) | bin-asan
	$(CC) $(BASE_CFLAGS) $(ASAN_FLAGS) -o $@ $(wildcard dispatchd/*.c) $(COMMON_SRC) $(LDLIBS)

t/tools/bin/%: t/tools/%.c common/libcommon.a | t/tools/bin
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< common/libcommon.a $(LDLIBS)

tools: $(TOOLS_BIN)

integration: all tools $(ASAN_DAEMON)
	t/integration/run

# Fuzz targets (t/fuzz/README): libFuzzer with AddressSanitizer and
# UndefinedBehaviorSanitizer, built with clang from source into t/fuzz/obj
# (never gcc's objects). fuzz-smoke runs each over its committed corpus, then
# fuzzes it for FUZZ_SECONDS; new inputs go to a scratch directory only.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 15
FUZZ_CFLAGS   = -std=c17 -D_GNU_SOURCE -O1 -g $(WARN) $(WERROR) -Icommon \
                $(shell pkg-config --cflags $(PKGS)) -fsanitize=address,undefined \
                -fno-sanitize-recover=all -fno-omit-frame-pointer -MMD -MP
FUZZ_LIB_SRC  = $(COMMON_SRC) $(filter-out dispatchd/main.c,$(wildcard dispatchd/*.c)) \
                $(filter-out toolexec/main.c toolexec/http_main.c,$(wildcard toolexec/*.c))
FUZZ_LIB_OBJ  = $(FUZZ_LIB_SRC:%.c=t/fuzz/obj/%.o)
FUZZ_LIBS     = t/fuzz/obj/libshim.a t/fuzz/obj/libdispatchd.a t/fuzz/obj/libcommon.a
# fuzz_auth builds only where common/auth.c exists.
FUZZ_SRC      = $(filter-out $(if $(wildcard common/auth.c),,t/fuzz/fuzz_auth.c), \
                  $(wildcard t/fuzz/fuzz_*.c))
FUZZ_BIN      = $(FUZZ_SRC:t/fuzz/%.c=t/fuzz/bin/%)

t/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

t/fuzz/obj/lib%.a: $(FUZZ_LIB_OBJ)
	rm -f $@ && $(AR) rcs $@ $(filter t/fuzz/obj/$(subst shim,toolexec,$*)/%,$^)

t/fuzz/bin/fuzz_%: t/fuzz/fuzz_%.c $(FUZZ_LIBS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIBS) $(LDLIBS)

fuzz: $(FUZZ_BIN)

fuzz-smoke: $(FUZZ_BIN:t/fuzz/bin/fuzz_%=fuzz-smoke-%)

fuzz-smoke-%: t/fuzz/bin/fuzz_%
	@rm -rf t/fuzz/bin/scratch/$* && mkdir -p t/fuzz/bin/scratch/$* t/fuzz/bin/crash
	$< -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 -timeout=30 -print_final_stats=1 \
		-artifact_prefix=t/fuzz/bin/crash/$*- \
		$(addprefix -dict=,$(wildcard t/fuzz/dict/$*.dict)) \
		t/fuzz/bin/scratch/$* t/fuzz/corpus/$* 2>t/fuzz/bin/scratch/$*.log \
		|| { tail -n 60 t/fuzz/bin/scratch/$*.log; exit 1; }
	@grep -E '^(stat::number_of_executed_units|stat::new_units_added)' t/fuzz/bin/scratch/$*.log \
		| tr '\n' ' ' | sed 's/^/   $*: /'; echo

check: all unit unit-sanitize integration fuzz-smoke

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)/godistcc \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 bin/godistcc bin/dispatchd $(DESTDIR)$(BINDIR)/
	install -m 0755 $(HTTP_HELPER) $(DESTDIR)$(LIBEXECDIR)/godistcc/
	install -m 0644 contrib/man/godistcc.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 contrib/man/dispatchd.8 $(DESTDIR)$(MANDIR)/man8/

clean:
	rm -rf bin bin-asan libexec t/unit/bin t/unit/bin-asan t/tools/bin common/libcommon.a */*.o */*.d \
		t/fuzz/bin t/fuzz/obj

.PHONY: all unit unit-sanitize tools integration check install clean fuzz fuzz-smoke
-include $(COMMON_OBJ:.o=.d) $(ALL_SHIM_OBJ:.o=.d) $(UNIT_BIN:=.d) $(DAEMON_OBJ:.o=.d) \
	$(TOOLS_BIN:=.d) $(FUZZ_LIB_OBJ:.o=.d) $(FUZZ_BIN:=.d)
