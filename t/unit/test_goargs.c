/* Tests for common/goargs.c: the compile/asm argument model. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "goargs.h"

#include "banned.h"

/* Real go1.26 command lines, captured with go build -toolexec. */
static const char compile_runtime[] =
	"-o /tmp/go-build1619037084/b009/_pkg_.a -trimpath /tmp/go-build1619037084/b009=> "
	"-p runtime -lang=go1.26 -std -buildid IhQfDhqNsR_aTYQvfqlN/IhQfDhqNsR_aTYQvfqlN "
	"-goversion go1.26.8 -symabis /tmp/go-build1619037084/b009/symabis -c=2 "
	"-nolocalimports -importcfg /tmp/go-build1619037084/b009/importcfg -pack "
	"-asmhdr /tmp/go-build1619037084/b009/go_asm.h /usr/local/go/src/runtime/alg.go "
	"/usr/local/go/src/runtime/arena.go";
static const char compile_main[] =
	"-o /tmp/go-build1619037084/b001/_pkg_.a -trimpath /tmp/go-build1619037084/b001=> "
	"-p main -lang=go1.21 -complete -buildid JcLJsR6FDpnuFO0Az0Xz/JcLJsR6FDpnuFO0Az0Xz "
	"-goversion go1.26.8 -c=2 -nolocalimports -importcfg "
	"/tmp/go-build1619037084/b001/importcfg -embedcfg /tmp/go-build1619037084/b001/embedcfg "
	"-pack /tmp/probe/m/main.go";
static const char asm_runtime[] =
	"-p runtime -trimpath /tmp/go-build1619037084/b009=> -I /tmp/go-build1619037084/b009/ "
	"-I /usr/local/go/pkg/include -D GOOS_linux -D GOARCH_amd64 -D GOAMD64_v1 -gensymabis "
	"-o /tmp/go-build1619037084/b009/symabis /usr/local/go/src/runtime/asm.s "
	"/usr/local/go/src/runtime/asm_amd64.s";

/* Splits on single spaces (the test lines hold no other blanks). */
struct argv {
	size_t n;
	char *v[128];
};

static void split(const char *line, struct argv *a)
{
	a->n = 0;
	while (*line) {
		size_t len = strcspn(line, " ");
		cr_assert_lt(a->n, 128);
		a->v[a->n++] = xstrndup(line, len);
		line += len + (line[len] == ' ');
	}
}

static void argv_release(struct argv *a)
{
	for (size_t i = 0; i < a->n; i++)
		free(a->v[i]);
	a->n = 0;
}

static struct goargs *parse_vec(enum goargs_tool tool, size_t n, const char *const *v,
				const char *cwd)
{
	struct goargs *ga = NULL;
	struct err e = {0};

	cr_assert_eq(goargs_parse(tool, n, v, cwd, &ga, &e), 0, "parse failed: %s", err_msg(&e));
	cr_assert_not_null(ga);
	return ga;
}

static struct goargs *parse_line(enum goargs_tool tool, const char *line)
{
	struct argv a;
	struct goargs *ga;

	split(line, &a);
	ga = parse_vec(tool, a.n, (const char *const *)a.v, "/");
	argv_release(&a);
	return ga;
}

struct want {
	enum goargs_kind kind;
	const char *flag;
	const char *value;
	int inline_value;
};

static void check_items(const struct goargs *ga, const struct want *w, size_t n)
{
	cr_assert_eq(ga->n, n, "got %zu items, want %zu", ga->n, n);
	for (size_t i = 0; i < n; i++) {
		const struct goargs_item *it = &ga->items[i];
		cr_assert_eq(it->kind, w[i].kind, "item %zu: kind %d, want %d", i, it->kind,
			     w[i].kind);
		if (w[i].flag)
			cr_assert_str_eq(it->flag, w[i].flag, "item %zu", i);
		else
			cr_assert_null(it->flag, "item %zu", i);
		if (w[i].value)
			cr_assert_str_eq(it->value, w[i].value, "item %zu", i);
		else
			cr_assert_null(it->value, "item %zu: value %s", i, it->value);
		cr_assert_eq(it->inline_value, w[i].inline_value, "item %zu", i);
	}
}

#define NWANT(w) (sizeof(w) / sizeof((w)[0]))

Test(goargs, tool_from_path)
{
	enum goargs_tool t = GOARGS_ASM;

	cr_assert_eq(goargs_tool_from_path("/usr/local/go/pkg/tool/linux_amd64/compile", &t), 0);
	cr_assert_eq(t, GOARGS_COMPILE);
	cr_assert_eq(goargs_tool_from_path("C:/go/pkg/tool/windows_amd64/asm.exe", &t), 0);
	cr_assert_eq(t, GOARGS_ASM);
	cr_assert_eq(goargs_tool_from_path("compile", &t), 0);
	cr_assert_eq(t, GOARGS_COMPILE);
	t = GOARGS_ASM;
	cr_assert_lt(goargs_tool_from_path("/usr/local/go/pkg/tool/linux_amd64/link", &t), 0);
	cr_assert_lt(goargs_tool_from_path("/x/compile2", &t), 0);
	cr_assert_lt(goargs_tool_from_path("/x/compile/", &t), 0);
	cr_assert_lt(goargs_tool_from_path("/x/xasm", &t), 0);
	cr_assert_eq(t, GOARGS_ASM, "ret_tool written on failure");
}

Test(goargs, compile_runtime_classified)
{
	static const struct want w[] = {
		{GA_OUT_FILE, "-o", "/tmp/go-build1619037084/b009/_pkg_.a", 0},
		{GA_TRIMPATH, "-trimpath", "/tmp/go-build1619037084/b009=>", 0},
		{GA_PLAIN, "-p", "runtime", 0},
		{GA_PLAIN, "-lang", "go1.26", 1},
		{GA_PLAIN, "-std", NULL, 0},
		{GA_PLAIN, "-buildid", "IhQfDhqNsR_aTYQvfqlN/IhQfDhqNsR_aTYQvfqlN", 0},
		{GA_PLAIN, "-goversion", "go1.26.8", 0},
		{GA_IN_FILE, "-symabis", "/tmp/go-build1619037084/b009/symabis", 0},
		{GA_PLAIN, "-c", "2", 1},
		{GA_PLAIN, "-nolocalimports", NULL, 0},
		{GA_IMPORTCFG, "-importcfg", "/tmp/go-build1619037084/b009/importcfg", 0},
		{GA_PLAIN, "-pack", NULL, 0},
		{GA_OUT_FILE, "-asmhdr", "/tmp/go-build1619037084/b009/go_asm.h", 0},
		{GA_SOURCE, NULL, "/usr/local/go/src/runtime/alg.go", 0},
		{GA_SOURCE, NULL, "/usr/local/go/src/runtime/arena.go", 0},
	};
	struct goargs *ga = parse_line(GOARGS_COMPILE, compile_runtime);

	cr_assert_eq(ga->tool, GOARGS_COMPILE);
	check_items(ga, w, NWANT(w));
	cr_assert_null(ga->local_reason, "local: %s", ga->local_reason);
	goargs_free(ga);
}

Test(goargs, compile_main_with_embedcfg)
{
	struct goargs *ga = parse_line(GOARGS_COMPILE, compile_main);

	cr_assert_null(ga->local_reason, "local: %s", ga->local_reason);
	cr_assert_str_eq(goargs_find(ga, GA_EMBEDCFG), "/tmp/go-build1619037084/b001/embedcfg");
	cr_assert_str_eq(goargs_find(ga, GA_IMPORTCFG), "/tmp/go-build1619037084/b001/importcfg");
	cr_assert_str_eq(goargs_find(ga, GA_OUT_FILE), "/tmp/go-build1619037084/b001/_pkg_.a");
	cr_assert_str_eq(goargs_find(ga, GA_SOURCE), "/tmp/probe/m/main.go");
	cr_assert_null(goargs_find(ga, GA_IN_FILE));
	cr_assert_null(goargs_find(ga, GA_IN_DIR));
	cr_assert_eq(ga->items[ga->n - 1].kind, GA_SOURCE);
	cr_assert_eq(ga->items[ga->n - 2].kind, GA_PLAIN); /* -pack */
	goargs_free(ga);
}

Test(goargs, asm_runtime_classified)
{
	static const struct want w[] = {
		{GA_PLAIN, "-p", "runtime", 0},
		{GA_TRIMPATH, "-trimpath", "/tmp/go-build1619037084/b009=>", 0},
		{GA_IN_DIR, "-I", "/tmp/go-build1619037084/b009/", 0},
		{GA_IN_DIR, "-I", "/usr/local/go/pkg/include", 0},
		{GA_PLAIN, "-D", "GOOS_linux", 0},
		{GA_PLAIN, "-D", "GOARCH_amd64", 0},
		{GA_PLAIN, "-D", "GOAMD64_v1", 0},
		{GA_PLAIN, "-gensymabis", NULL, 0},
		{GA_OUT_FILE, "-o", "/tmp/go-build1619037084/b009/symabis", 0},
		{GA_SOURCE, NULL, "/usr/local/go/src/runtime/asm.s", 0},
		{GA_SOURCE, NULL, "/usr/local/go/src/runtime/asm_amd64.s", 0},
	};
	struct goargs *ga = parse_line(GOARGS_ASM, asm_runtime);

	cr_assert_eq(ga->tool, GOARGS_ASM);
	check_items(ga, w, NWANT(w));
	cr_assert_null(ga->local_reason, "local: %s", ga->local_reason);
	goargs_free(ga);
}

/* The other path-valued compile flags. */
Test(goargs, compile_path_flags)
{
	static const struct want w[] = {
		{GA_IN_FILE, "-pgoprofile", "default.pgo", 1},
		{GA_IN_FILE, "-coveragecfg", "/w/b1/covcfg", 0},
		{GA_OUT_FILE, "-linkobj", "/w/b1/_pkg_.x", 0},
		{GA_PLAIN, "-env", "GOEXPERIMENT=x", 1},
		{GA_SOURCE, NULL, "a.go", 0},
	};
	struct goargs *ga = parse_line(
		GOARGS_COMPILE,
		"-pgoprofile=default.pgo -coveragecfg /w/b1/covcfg -linkobj /w/b1/_pkg_.x "
		"-env=GOEXPERIMENT=x a.go");

	check_items(ga, w, NWANT(w));
	cr_assert_null(ga->local_reason);
	goargs_free(ga);
}

static void expect_local(enum goargs_tool tool, const char *line, const char *needle)
{
	struct goargs *ga = parse_line(tool, line);

	cr_assert_not_null(ga->local_reason, "%s: should be local", line);
	cr_assert_not_null(strstr(ga->local_reason, needle), "%s: reason \"%s\" lacks \"%s\"",
			   line, ga->local_reason, needle);
	goargs_free(ga);
}

static void expect_remote(enum goargs_tool tool, const char *line)
{
	struct goargs *ga = parse_line(tool, line);

	cr_assert_null(ga->local_reason, "%s: local because %s", line, ga->local_reason);
	goargs_free(ga);
}

Test(goargs, local_only_compile)
{
	expect_local(GOARGS_COMPILE, "-json=0,file:///tmp/j -p x a.go", "-json");
	expect_local(GOARGS_COMPILE, "-p x -cpuprofile /tmp/cpu a.go", "-cpuprofile");
	expect_local(GOARGS_COMPILE, "-memprofile=/tmp/m a.go", "-memprofile");
	expect_local(GOARGS_COMPILE, "-bench /tmp/b a.go", "-bench");
	expect_local(GOARGS_COMPILE, "-traceprofile /tmp/t a.go", "-traceprofile");
	expect_local(GOARGS_COMPILE, "-blockprofile /tmp/t -mutexprofile /tmp/u a.go",
		     "-blockprofile");
	expect_local(GOARGS_COMPILE, "-d=ssa/check/on a.go", "-d");
	expect_local(GOARGS_COMPILE, "-d checkptr,ssa/prove/debug=1 a.go", "-d");
	expect_local(GOARGS_COMPILE, "-d=checkptrx a.go", "-d");
	expect_local(GOARGS_COMPILE, "-V=full", "-V");
	expect_local(GOARGS_COMPILE, "-V", "-V");
	expect_local(GOARGS_COMPILE, "-frobnicate a.go", "unknown");
	expect_local(GOARGS_COMPILE, "-racelite a.go", "unknown");
	expect_local(GOARGS_COMPILE, "-help", "-help");
	expect_local(GOARGS_COMPILE, "-I /tmp/inc a.go", "-I");
	expect_local(GOARGS_COMPILE, "-D=/tmp/d a.go", "-D");
	expect_local(GOARGS_COMPILE, "---o x a.go", "syntax");
	expect_local(GOARGS_COMPILE, "-=x a.go", "syntax");
}

Test(goargs, local_only_asm)
{
	expect_local(GOARGS_ASM, "-debug -o x.o a.s", "-debug");
	expect_local(GOARGS_ASM, "-v -o x.o a.s", "-v");
	expect_local(GOARGS_ASM, "-V=full", "-V");
	expect_local(GOARGS_ASM, "-d=pctab=pctoline a.s", "-d");
	expect_local(GOARGS_ASM, "-h", "-help");
	/* compile-only flags are unknown to asm */
	expect_local(GOARGS_ASM, "-std -o x.o a.s", "unknown");
	expect_local(GOARGS_ASM, "-importcfg /x a.s", "unknown");
}

Test(goargs, remote_ok)
{
	expect_remote(GOARGS_COMPILE, "-d=checkptr a.go");
	expect_remote(GOARGS_COMPILE, "-d=libfuzzer,loopvar=2,checkptr:1 a.go");
	expect_remote(GOARGS_COMPILE, "-d= a.go");
	expect_remote(GOARGS_COMPILE, "-I= -D= a.go");
	expect_remote(GOARGS_COMPILE, "-S -m=2 -W -N -l -race -msan=false -% -+ a.go");
	expect_remote(GOARGS_COMPILE, "-shared -dynlink -spectre=all -installsuffix=race a.go");
	expect_remote(GOARGS_ASM, "-d= -S -e -shared -spectre ret -o x.o a.s");
	/* go1.19 and go1.20 mark runtime packages' asm so */
	expect_remote(GOARGS_ASM, "-p runtime -compiling-runtime -o x.o a.s");
	/* the first error only counts: local_reason names -json, not -d */
	expect_local(GOARGS_COMPILE, "-json=0,/x -d=ssa/x a.go", "-json");
}

Test(goargs, value_syntax)
{
	static const struct want w[] = {
		{GA_OUT_FILE, "-o", "x.a", 1},
		{GA_OUT_FILE, "--o", "y.a", 0},
		{GA_OUT_FILE, "-asmhdr", "-looks-like-a-flag", 0},
		{GA_PLAIN, "-p", "", 1},
		{GA_PLAIN, "-N", "2", 1},
		{GA_PLAIN, "--std", NULL, 0},
		{GA_PLAIN, "-race", "false", 1},
		{GA_TRIMPATH, "-trimpath", "/a=>b;/c=>d", 1},
		{GA_SOURCE, NULL, "a.go", 0},
	};
	struct goargs *ga = parse_line(GOARGS_COMPILE,
				       "-o=x.a --o y.a -asmhdr -looks-like-a-flag -p= -N=2 --std "
				       "-race=false -trimpath=/a=>b;/c=>d a.go");

	check_items(ga, w, NWANT(w));
	goargs_free(ga);
}

/* A bool flag never takes the next argument: that ends the flags. */
Test(goargs, bool_does_not_take_value)
{
	static const struct want w[] = {
		{GA_PLAIN, "-std", NULL, 0},
		{GA_SOURCE, NULL, "true", 0},
		{GA_SOURCE, NULL, "-o", 0},
		{GA_SOURCE, NULL, "x", 0},
	};
	struct goargs *ga = parse_line(GOARGS_COMPILE, "-std true -o x");

	check_items(ga, w, NWANT(w));
	goargs_free(ga);
}

Test(goargs, dashdash_and_positional)
{
	static const struct want w[] = {
		{GA_PLAIN, "-p", "main", 0},
		{GA_SOURCE, NULL, "-x.go", 0},
		{GA_SOURCE, NULL, "--", 0},
		{GA_SOURCE, NULL, "-o", 0},
	};
	struct goargs *ga = parse_line(GOARGS_COMPILE, "-p main -- -x.go -- -o");

	check_items(ga, w, NWANT(w));
	cr_assert_null(ga->local_reason);
	goargs_free(ga);

	const char *v[] = {"-", "-o", "x"};
	ga = parse_vec(GOARGS_COMPILE, 3, v, "/");
	cr_assert_eq(ga->n, 3);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_eq(ga->items[i].kind, GA_SOURCE);
		cr_assert_str_eq(ga->items[i].value, v[i]);
	}
	goargs_free(ga);
}

Test(goargs, missing_value_fails)
{
	const char *v[] = {"-p", "x", "-o"};
	struct goargs *ga = NULL;
	struct err e = {0};

	cr_assert_lt(goargs_parse(GOARGS_COMPILE, 3, v, "/", &ga, &e), 0);
	cr_assert_null(ga);
	cr_assert_not_null(strstr(err_msg(&e), "-o"), "message: %s", err_msg(&e));
}

Test(goargs, no_arguments)
{
	struct goargs *ga = parse_vec(GOARGS_ASM, 0, NULL, "/");

	cr_assert_eq(ga->n, 0);
	cr_assert_null(goargs_find(ga, GA_SOURCE));
	goargs_free(ga);
	goargs_free(NULL);
}

/* ---- @response files ---- */

static char tmpdir[64];

static void rsp_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/goargs-test-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void rsp_teardown(void)
{
	cr_assert_eq(fs_rm_rf(tmpdir, NULL), 0);
}

static void write_file(const char *name, const char *content)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fwrite(content, 1, strlen(content), f);
	fclose(f);
}

Test(goargs_rsp, nested_with_escapes, .init = rsp_setup, .fini = rsp_teardown)
{
	static const struct want w[] = {
		{GA_PLAIN, "-p", "main", 0},
		{GA_OUT_FILE, "-o", "/out dir/x.a", 0},
		{GA_PLAIN, "-goversion", "go\\1", 1},
		{GA_PLAIN, "-buildid", "a\nb", 1},
		{GA_PLAIN, "-lang", "go1.26", 1},
		{GA_SOURCE, NULL, "  a.go", 0},
		{GA_SOURCE, NULL, "b.go", 0},
	};
	/* CRLF, surrounding blank lines, a trailing lone backslash vanishing,
	 * and a nested file named relative to cwd, not to the outer file. */
	write_file("outer", "\r\n  -p\r\nmain\r\n@sub/inner\r\n-lang=go1.26\\\r\n  a.go\nb.go\n\n");
	char sub[128];
	snprintf(sub, sizeof(sub), "%s/sub", tmpdir);
	cr_assert_eq(mkdir(sub, 0755), 0);
	write_file("sub/inner", "-o\n/out dir/x.a\n-goversion=go\\\\1\n-buildid=a\\nb");
	const char *v[] = {"@outer"};
	struct goargs *ga = parse_vec(GOARGS_COMPILE, 1, v, tmpdir);

	check_items(ga, w, NWANT(w));
	goargs_free(ga);
}

Test(goargs_rsp, absolute_and_mixed, .init = rsp_setup, .fini = rsp_teardown)
{
	char at[128];
	write_file("r", "-o\nx.a");
	snprintf(at, sizeof(at), "@%s/r", tmpdir);
	const char *v[] = {"-p", "m", at, "y.go"};
	struct goargs *ga = parse_vec(GOARGS_COMPILE, 4, v, "/nonexistent");

	cr_assert_eq(ga->n, 3);
	cr_assert_str_eq(goargs_find(ga, GA_OUT_FILE), "x.a");
	cr_assert_str_eq(goargs_find(ga, GA_SOURCE), "y.go");
	goargs_free(ga);
}

/* objabi splits the trimmed content: an empty file is one empty argument. */
Test(goargs_rsp, empty_file, .init = rsp_setup, .fini = rsp_teardown)
{
	write_file("empty", " \r\n ");
	const char *v[] = {"-std", "@empty", "a.go"};
	struct goargs *ga = parse_vec(GOARGS_COMPILE, 3, v, tmpdir);

	cr_assert_eq(ga->n, 3);
	cr_assert_eq(ga->items[1].kind, GA_SOURCE);
	cr_assert_str_eq(ga->items[1].value, "");
	cr_assert_str_eq(ga->items[2].value, "a.go");
	goargs_free(ga);
}

/* objabi expands every argument, flag values included. */
Test(goargs_rsp, value_position, .init = rsp_setup, .fini = rsp_teardown)
{
	write_file("val", "/real/out.a");
	const char *v[] = {"-o", "@val", "a.go"};
	struct goargs *ga = parse_vec(GOARGS_COMPILE, 3, v, tmpdir);

	cr_assert_str_eq(goargs_find(ga, GA_OUT_FILE), "/real/out.a");
	goargs_free(ga);
}

static void expect_rsp_error(const char *arg, const char *cwd, const char *needle)
{
	const char *v[] = {"-p", "x", arg};
	struct goargs *ga = NULL;
	struct err e = {0};

	cr_assert_lt(goargs_parse(GOARGS_COMPILE, 3, v, cwd, &ga, &e), 0, "%s parsed", arg);
	cr_assert_null(ga);
	cr_assert_not_null(strstr(err_msg(&e), needle), "%s: message \"%s\" lacks \"%s\"", arg,
			   err_msg(&e), needle);
}

Test(goargs_rsp, errors, .init = rsp_setup, .fini = rsp_teardown)
{
	write_file("badesc", "-o\nx\\ty");
	write_file("loop", "a.go\n@loop");
	write_file("ok", "a.go");
	expect_rsp_error("@missing", tmpdir, "missing");
	expect_rsp_error("@badesc", tmpdir, "escape");
	expect_rsp_error("@loop", tmpdir, "nested");
	expect_rsp_error("@", tmpdir, tmpdir);
	/* the daemon parses without a cwd and must never read what a client names */
	expect_rsp_error("@ok", NULL, "not accepted");
}

/* ---- rendering ---- */

static int items_equal(const struct goargs_item *a, const struct goargs_item *b)
{
	if (a->kind != b->kind || a->inline_value != b->inline_value)
		return 0;
	if ((a->flag == NULL) != (b->flag == NULL) || (a->flag && strcmp(a->flag, b->flag)))
		return 0;
	if ((a->value == NULL) != (b->value == NULL) || (a->value && strcmp(a->value, b->value)))
		return 0;
	return 1;
}

static void round_trip(enum goargs_tool tool, const char *line)
{
	struct goargs *ga = parse_line(tool, line), *again;
	char **argv = NULL;
	size_t argc = 0;

	cr_assert_eq(goargs_render(ga, &argv, &argc), 0);
	cr_assert_null(argv[argc], "vector not NULL-terminated");
	again = parse_vec(tool, argc, (const char *const *)argv, "/");
	cr_assert_eq(again->n, ga->n, "%s: %zu items after round trip, %zu before", line,
		     again->n, ga->n);
	for (size_t i = 0; i < ga->n; i++)
		cr_assert(items_equal(&ga->items[i], &again->items[i]), "%s: item %zu differs",
			  line, i);
	cr_assert_eq(again->local_reason == NULL, ga->local_reason == NULL);
	goargs_free_argv(argv);
	goargs_free(again);
	goargs_free(ga);
}

Test(goargs, render_round_trip)
{
	round_trip(GOARGS_COMPILE, compile_runtime);
	round_trip(GOARGS_COMPILE, compile_main);
	round_trip(GOARGS_ASM, asm_runtime);
	round_trip(GOARGS_COMPILE, "-o=x.a --o y.a -asmhdr -z -N=2 --std -p= a.go");
	round_trip(GOARGS_COMPILE, "-p main -- -x.go -- -o");
	round_trip(GOARGS_COMPILE, "-p main -- - -x.go");
	round_trip(GOARGS_COMPILE, "-json=0,/x -frob a.go");
}

Test(goargs, render_exact)
{
	static const char *const want[] = {"-o",  "/w/x.a", "-lang=go1.26", "-std",
					   "--",  "-a.go",  "b.go"};
	struct goargs *ga = parse_line(GOARGS_COMPILE, "-o /w/x.a -lang=go1.26 -std -- -a.go b.go");
	char **argv = NULL;
	size_t argc = 0;

	cr_assert_eq(goargs_render(ga, &argv, &argc), 0);
	cr_assert_eq(argc, NWANT(want));
	for (size_t i = 0; i < argc; i++)
		cr_assert_str_eq(argv[i], want[i], "argv[%zu]", i);
	cr_assert_null(argv[argc]);
	goargs_free_argv(argv);
	goargs_free_argv(NULL);
	goargs_free(ga);
}
