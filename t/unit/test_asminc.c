/* Tests for common/asminc.c: the headers an asm invocation reads. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "goargs.h"
#include "gocfg.h"
#include "asminc.h"

#include "banned.h"

#define GOROOT "/usr/local/go"

static char root[64];

static void setup(void)
{
	snprintf(root, sizeof(root), "/tmp/asminc-test-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
}

static void teardown(void)
{
	cr_assert_eq(fs_rm_rf(root, NULL), 0);
}

/* Writes root/name, creating directories. */
static void put(const char *name, const char *text)
{
	char *path = xasprintf("%s/%s", root, name);
	struct err e = {0};

	cr_assert_eq(fs_mkdir_parent(path, 0755, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(fs_write_file(path, text, strlen(text), 0644, &e), 0, "%s", err_msg(&e));
	free(path);
}

/* root/name, for comparisons. Caller frees. */
static char *at(const char *name)
{
	return xasprintf("%s/%s", root, name);
}

static struct goargs *asm_args(const char *const *v, size_t n)
{
	struct goargs *ga = NULL;
	struct err e = {0};

	cr_assert_eq(goargs_parse(GOARGS_ASM, n, v, "/", &ga, &e), 0, "%s", err_msg(&e));
	return ga;
}

static int find(const struct goargs *ga, const char *cwd, struct gocfg_paths *ret,
		struct err *e)
{
	return asminc_find(ga, cwd, ret, e);
}

/* ret holds exactly the root-relative names in want, in any order. */
static void check_set(const struct gocfg_paths *ret, const char *const *want, size_t n)
{
	cr_assert_eq(ret->n, n, "found %zu headers, want %zu (first: %s)", ret->n, n,
		     ret->n ? ret->paths[0] : "none");
	for (size_t i = 0; i < n; i++) {
		char *p = at(want[i]);
		size_t hits = 0;
		for (size_t j = 0; j < ret->n; j++)
			hits += strcmp(ret->paths[j], p) == 0;
		cr_assert_eq(hits, 1, "%s found %zu times", p, hits);
		free(p);
	}
}

/*
 * The tree:
 *   src/a.s      includes x.h (next to it), sub/y.h, i1.h (in -I inc1),
 *                and z.h under an #ifdef
 *   src/x.h      includes deep.h, which only -I inc2 has, and i1.h again
 *   inc1/i1.h    includes w.h: asm looks in cwd, the *source's* directory
 *                and the -I list, so src/w.h is the one (not inc1/w.h)
 *   inc2/z.h     found through the second -I
 */
static void make_tree(void)
{
	put("src/a.s", "// comment #include \"nothing.h\"\n"
		       "#include \"x.h\"\n"
		       "  #  include \"sub/y.h\"  // trailing\n"
		       "#include <i1.h>\n"
		       "#ifdef NEVER\n"
		       "\t#include \"z.h\"\n"
		       "#endif\n"
		       "#includes \"not-an-include.h\"\n"
		       "TEXT ·F(SB),0,$0\n\tRET\n");
	put("src/x.h", "#include \"deep.h\"\n#include \"i1.h\"\n");
	put("src/sub/y.h", "#define Y 1\n");
	put("src/w.h", "#define W 1\n");
	put("inc1/i1.h", "#include \"w.h\"\r\n");
	put("inc1/w.h", "#error wrong one\n");
	put("inc2/z.h", "#define Z 1\n");
	put("inc2/deep.h", "#define DEEP 1\n");
}

Test(asminc, nested_tree, .init = setup, .fini = teardown)
{
	static const char *const want[] = {"src/x.h",	  "src/sub/y.h", "inc1/i1.h",
					   "inc2/z.h",	  "inc2/deep.h", "src/w.h"};
	char *src = at("src/a.s"), *i1 = at("inc1"), *i2 = at("inc2");
	const char *v[] = {"-I", i1, "-I", i2, "-o", "/dev/null", src};
	struct goargs *ga;
	struct gocfg_paths ret = {0, NULL};
	struct err e = {0};

	make_tree();
	ga = asm_args(v, 7);
	cr_assert_eq(find(ga, "/", &ret, &e), 0, "%s", err_msg(&e));
	check_set(&ret, want, 6);
	gocfg_paths_release(&ret);
	goargs_free(ga);
	free(i2);
	free(i1);
	free(src);
}

/* Relative source and -I paths resolve against cwd; results are clean. */
Test(asminc, relative_paths, .init = setup, .fini = teardown)
{
	static const char *const want[] = {"src/x.h",	  "src/sub/y.h", "inc1/i1.h",
					   "inc2/z.h",	  "inc2/deep.h", "src/w.h"};
	const char *v[] = {"-I", "../inc1/", "-I", "./../inc2", "a.s"};
	char *cwd = at("src");
	struct goargs *ga;
	struct gocfg_paths ret = {0, NULL};
	struct err e = {0};

	make_tree();
	ga = asm_args(v, 5);
	cr_assert_eq(find(ga, cwd, &ret, &e), 0, "%s", err_msg(&e));
	check_set(&ret, want, 6);
	for (size_t i = 0; i < ret.n; i++) {
		cr_assert_null(strstr(ret.paths[i], "/."), "unclean %s", ret.paths[i]);
		cr_assert_null(strstr(ret.paths[i], "//"), "unclean %s", ret.paths[i]);
	}
	gocfg_paths_release(&ret);
	goargs_free(ga);
	free(cwd);
}

/* asm tries the name in cwd first, then the source's directory, then -I in
 * order: the first that opens is the one it reads. */
Test(asminc, search_order, .init = setup, .fini = teardown)
{
	static const char *const want[] = {"cwd/h1.h", "src/h2.h", "incA/h3.h"};
	char *src = at("src/b.s"), *ia = at("incA"), *ib = at("incB"), *cwd = at("cwd");
	const char *v[] = {"-I", ia, "-I", ib, src};
	struct goargs *ga;
	struct gocfg_paths ret = {0, NULL};

	put("src/b.s", "#include \"h1.h\"\n#include \"h2.h\"\n#include \"h3.h\"\n");
	put("cwd/h1.h", "");
	put("src/h1.h", "");
	put("src/h2.h", "");
	put("incA/h2.h", "");
	put("incA/h3.h", "");
	put("incB/h3.h", "");
	ga = asm_args(v, 5);
	cr_assert_eq(find(ga, cwd, &ret, NULL), 0);
	check_set(&ret, want, 3);
	gocfg_paths_release(&ret);
	goargs_free(ga);
	free(cwd);
	free(ib);
	free(ia);
	free(src);
}

/* A header next to an including header but on no search path is not found
 * by asm either (checked with go1.26 asm: "#include: open ...: no such
 * file"), so the job must not be sent anywhere. */
Test(asminc, missing_include_fails, .init = setup, .fini = teardown)
{
	char *src = at("src/c.s"), *inc = at("inc");
	const char *v[] = {"-I", inc, src};
	struct goargs *ga;
	struct gocfg_paths ret = {0, NULL};
	struct err e = {0};

	put("src/c.s", "#include \"sub/h.h\"\n");
	put("inc/sub/h.h", "\n\n#include \"n.h\"\n");
	put("inc/sub/n.h", "");
	ga = asm_args(v, 3);
	/* ret keeps what it held */
	ret.paths = xcalloc(1, sizeof(*ret.paths));
	ret.paths[0] = xstrdup("/earlier");
	ret.n = 1;
	cr_assert_lt(find(ga, "/", &ret, &e), 0);
	cr_assert_not_null(strstr(err_msg(&e), "n.h"), "%s", err_msg(&e));
	cr_assert_not_null(strstr(err_msg(&e), "h.h:3"), "%s", err_msg(&e));
	cr_assert_eq(ret.n, 1);
	cr_assert_str_eq(ret.paths[0], "/earlier");
	gocfg_paths_release(&ret);
	goargs_free(ga);
	free(inc);
	free(src);
}

Test(asminc, unreadable_name_fails, .init = setup, .fini = teardown)
{
	static const char *const bad[] = {"#include\n", "#include x.h\n", "#include \"x.h\n",
					  "#include \"\"\n", "#include \"a\\x.h\"\n"};
	char *src = at("d.s");
	const char *v[] = {src};

	put("x.h", "");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct goargs *ga = asm_args(v, 1);
		struct gocfg_paths ret = {0, NULL};
		put("d.s", bad[i]);
		cr_assert_lt(find(ga, root, &ret, NULL), 0, "accepted %s", bad[i]);
		cr_assert_eq(ret.n, 0);
		goargs_free(ga);
	}
	free(src);
}

Test(asminc, missing_source_fails, .init = setup, .fini = teardown)
{
	const char *v[] = {"nosuch.s"};
	struct goargs *ga = asm_args(v, 1);
	struct gocfg_paths ret = {0, NULL};
	struct err e = {0};

	cr_assert_lt(find(ga, root, &ret, &e), 0);
	cr_assert_not_null(strstr(err_msg(&e), "nosuch.s"), "%s", err_msg(&e));
	goargs_free(ga);
}

/* Two sources sharing headers: each header once. */
Test(asminc, dedupe_across_sources, .init = setup, .fini = teardown)
{
	static const char *const want[] = {"h.h", "g.h"};
	const char *v[] = {"e.s", "f.s"};
	struct goargs *ga;
	struct gocfg_paths ret = {0, NULL};

	put("e.s", "#include \"h.h\"\n#include \"h.h\"\n");
	put("f.s", "#include \"g.h\"\n#include \"h.h\"\n");
	put("h.h", "#include \"h.h\"\n"); /* includes itself: no loop */
	put("g.h", "#include \"h.h\"\n");
	ga = asm_args(v, 2);
	cr_assert_eq(find(ga, root, &ret, NULL), 0);
	check_set(&ret, want, 2);
	gocfg_paths_release(&ret);
	goargs_free(ga);
}

/* The real runtime, as go build runs asm for it: cwd is the package
 * directory, go_asm.h comes from $WORK/bNNN/. */
Test(asminc, real_runtime_asm_amd64, .init = setup, .fini = teardown)
{
	static const char *const gr[] = {
		GOROOT "/src/runtime/go_tls.h",
		GOROOT "/src/runtime/funcdata.h",
		GOROOT "/src/runtime/textflag.h",
		GOROOT "/src/runtime/cgo/abi_amd64.h",
		GOROOT "/src/runtime/asm_amd64.h", /* from memclr_amd64.s */
	};
	char *work = at("b009/"), *asm_h = at("b009/go_asm.h");
	const char *v[] = {"-p",	      "runtime",
			   "-trimpath",	      "/tmp/w/b009=>",
			   "-I",	      work,
			   "-I",	      GOROOT "/pkg/include",
			   "-D",	      "GOOS_linux",
			   "-D",	      "GOARCH_amd64",
			   "-gensymabis",     "-o",
			   "/tmp/w/symabis",  GOROOT "/src/runtime/asm_amd64.s",
			   GOROOT "/src/runtime/memclr_amd64.s"};
	struct goargs *ga;
	struct gocfg_paths ret = {0, NULL};
	struct err e = {0};
	size_t found = 0;

	if (access(GOROOT "/src/runtime/asm_amd64.s", R_OK) != 0)
		cr_skip_test("no Go tree at " GOROOT);
	put("b009/go_asm.h", "// fake\n");
	ga = asm_args(v, sizeof(v) / sizeof(v[0]));
	cr_assert_eq(find(ga, GOROOT "/src/runtime", &ret, &e), 0, "%s", err_msg(&e));
	for (size_t i = 0; i < ret.n; i++) {
		cr_assert_eq(ret.paths[i][0], '/', "%s", ret.paths[i]);
		cr_assert_eq(access(ret.paths[i], R_OK), 0, "%s", ret.paths[i]);
	}
	for (size_t i = 0; i < ret.n; i++)
		found += strcmp(ret.paths[i], asm_h) == 0;
	for (size_t j = 0; j < sizeof(gr) / sizeof(gr[0]); j++)
		for (size_t i = 0; i < ret.n; i++)
			found += strcmp(ret.paths[i], gr[j]) == 0;
	cr_assert_eq(found, 6, "go_asm.h, go_tls.h, funcdata.h, textflag.h, abi_amd64.h, "
			       "asm_amd64.h");
	cr_assert_eq(ret.n, 6);
	gocfg_paths_release(&ret);
	goargs_free(ga);
	free(asm_h);
	free(work);
}

/* Without go_asm.h anywhere on the path, runtime asm cannot be shipped. */
Test(asminc, real_runtime_missing_go_asm_h)
{
	const char *v[] = {"-I", GOROOT "/pkg/include", GOROOT "/src/runtime/asm_amd64.s"};
	struct goargs *ga;
	struct gocfg_paths ret = {0, NULL};
	struct err e = {0};

	if (access(GOROOT "/src/runtime/asm_amd64.s", R_OK) != 0)
		cr_skip_test("no Go tree at " GOROOT);
	ga = asm_args(v, 3);
	cr_assert_lt(find(ga, GOROOT "/src/runtime", &ret, &e), 0);
	cr_assert_not_null(strstr(err_msg(&e), "go_asm.h"), "%s", err_msg(&e));
	cr_assert_eq(ret.n, 0);
	goargs_free(ga);
}
