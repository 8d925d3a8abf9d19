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
	$(CC) $(LDFLAGS) -o $@ $^ $(SHIM_LIBS)

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

check: all unit unit-sanitize integration

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)/godistcc \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 bin/godistcc bin/dispatchd $(DESTDIR)$(BINDIR)/
	install -m 0755 $(HTTP_HELPER) $(DESTDIR)$(LIBEXECDIR)/godistcc/
	install -m 0644 contrib/man/godistcc.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 contrib/man/dispatchd.8 $(DESTDIR)$(MANDIR)/man8/

clean:
	rm -rf bin bin-asan libexec t/unit/bin t/unit/bin-asan t/tools/bin common/libcommon.a */*.o */*.d

.PHONY: all unit unit-sanitize tools integration check install clean
-include $(COMMON_OBJ:.o=.d) $(ALL_SHIM_OBJ:.o=.d) $(UNIT_BIN:=.d) $(DAEMON_OBJ:.o=.d) \
	$(TOOLS_BIN:=.d)
