/* Tests for common/relocate.c: running a job under a sandbox prefix. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "goargs.h"
#include "relocate.h"

#include "banned.h"

#define SB "/var/sb/j1"
#define GOROOT "/usr/local/go"

static const char *const topdirs[] = {"tmp", "usr", "home"};
#define NTOP (sizeof(topdirs) / sizeof(topdirs[0]))

Test(relocate, path)
{
	char *p = relocate_path(SB, "/tmp/go-build1/b001/_pkg_.a");
	cr_assert_str_eq(p, SB "/tmp/go-build1/b001/_pkg_.a");
	free(p);
	p = relocate_path(SB, "default.pgo");
	cr_assert_str_eq(p, "default.pgo");
	free(p);
	p = relocate_path(SB, "");
	cr_assert_str_eq(p, "");
	free(p);
}

Test(relocate, trimpath_exact)
{
	char *t = relocate_trimpath("/tmp/go-build1619037084/b009=>", SB, GOROOT, topdirs, 2);

	cr_assert_str_eq(t, SB "/tmp/go-build1619037084/b009=>;" SB "/usr/local/go=>$GOROOT;" SB
			       "/tmp=>/tmp;" SB "/usr=>/usr;/tmp/go-build1619037084/b009=>");
	free(t);
}

Test(relocate, trimpath_rule_forms)
{
	/* a bare prefix, a replacement, an empty rule (never applies) and a
	 * rule split at its last "=>" as objabi does */
	char *t = relocate_trimpath("/home/u/m;;/tmp/w=>example.com/m;/a=>b=>c", SB, GOROOT,
				    topdirs, 1);

	cr_assert_str_eq(t, SB "/home/u/m=>;" SB "/tmp/w=>example.com/m;" SB "/a=>b=>c;" SB
			       "/usr/local/go=>$GOROOT;" SB "/tmp=>/tmp;"
			       "/home/u/m=>;/tmp/w=>example.com/m;/a=>b=>c");
	free(t);
}

Test(relocate, trimpath_absent)
{
	char *t = relocate_trimpath(NULL, SB, GOROOT, topdirs, NTOP);
	char *u = relocate_trimpath("", SB, GOROOT, topdirs, NTOP);
	const char *want = SB "/usr/local/go=>$GOROOT;" SB "/tmp=>/tmp;" SB "/usr=>/usr;" SB
			      "/home=>/home";

	cr_assert_str_eq(t, want);
	cr_assert_str_eq(u, want);
	free(t);
	free(u);
}

/* ---- the rewrite semantics of cmd/internal/objabi/line.go, to check that a
 * relocated path comes out of the new rules exactly as the original path
 * came out of the old ones ---- */

static int has_path_prefix(const char *s, const char *t, size_t tlen)
{
	size_t i;

	if (tlen > strlen(s))
		return 0;
	for (i = 0; i < tlen; i++) {
		char cs = s[i], ct = t[i];
		if (cs >= 'A' && cs <= 'Z')
			cs += 'a' - 'A';
		if (ct >= 'A' && ct <= 'Z')
			ct += 'a' - 'A';
		if (cs != ct)
			return 0;
	}
	return s[i] == '\0' || s[i] == '/';
}

static int apply_rule(const char *path, const char *rule, size_t len, char **ret)
{
	size_t plen = len;
	const char *repl = "";
	size_t rlen = 0;

	for (size_t i = 0; i + 1 < len; i++) {
		if (rule[i] == '=' && rule[i + 1] == '>') {
			plen = i;
			repl = rule + i + 2;
			rlen = len - i - 2;
		}
	}
	if (plen == 0 || !has_path_prefix(path, rule, plen))
		return 0;
	if (path[plen] == '\0')
		*ret = xstrndup(repl, rlen);
	else if (rlen == 0)
		*ret = xstrdup(path + plen + 1);
	else
		*ret = xasprintf("%.*s%s", (int)rlen, repl, path + plen);
	return 1;
}

/* objabi.AbsFile for an absolute path */
static char *abs_file(const char *path, const char *rules, const char *goroot)
{
	const char *s = rules;
	char *out = NULL;

	for (;;) {
		size_t n = strcspn(s, ";");
		if (apply_rule(path, s, n, &out))
			return out;
		if (!s[n])
			break;
		s += n + 1;
	}
	if (has_path_prefix(path, goroot, strlen(goroot)))
		return xasprintf("$GOROOT%s", path + strlen(goroot));
	return xstrdup(path);
}

static void check_equivalent(const char *orig)
{
	static const char *const paths[] = {
		"/tmp/go-build1/b009/_cgo_gotypes.go",
		"/tmp/go-build1/b009/x/y.go",
		"/tmp/go-build1/b0091/z.go",
		"/usr/local/go/src/runtime/alg.go",
		"/usr/local/go",
		"/usr/local/gopher/x.go",
		"/home/u/m/main.go",
		"/home/u/m",
		"/home/u/mod/other.go",
		"/tmp/elsewhere/a.s",
	};
	char *rules = relocate_trimpath(orig, SB, GOROOT, topdirs, NTOP);

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		char *moved = relocate_path(SB, paths[i]);
		char *want = abs_file(paths[i], orig ? orig : "", GOROOT);
		char *got = abs_file(moved, rules, GOROOT);
		/* paths the job does not relocate (//line directives) too */
		char *unmoved = abs_file(paths[i], rules, GOROOT);
		cr_assert_str_eq(got, want, "rules \"%s\": %s", orig, paths[i]);
		cr_assert_str_eq(unmoved, want, "rules \"%s\": unrelocated %s", orig, paths[i]);
		free(unmoved);
		free(got);
		free(want);
		free(moved);
	}
	free(rules);
}

Test(relocate, trimpath_equivalent)
{
	check_equivalent(NULL);
	check_equivalent("");
	check_equivalent("/tmp/go-build1/b009=>");
	check_equivalent("/tmp/go-build1/b009=>;/home/u/m=>example.com/m");
	check_equivalent("/home/u/m");
	check_equivalent("/usr/local/go/src=>std;/tmp/go-build1/b009");
	check_equivalent("/home/U/M=>case");
	/* original prefixes that are prefixes of the sandbox itself */
	check_equivalent("/var=>v");
	check_equivalent("/tmp/go-build1/b009=>;/var/sb");
}

/* ---- relocate_goargs ---- */

static struct goargs *parse_words(enum goargs_tool tool, const char *const *v, size_t n)
{
	struct goargs *ga = NULL;
	struct err e = {0};

	cr_assert_eq(goargs_parse(tool, n, v, "/", &ga, &e), 0, "%s", err_msg(&e));
	return ga;
}

Test(relocate, goargs_compile)
{
	static const char *const v[] = {
		"-o", "/tmp/go-build1619037084/b009/_pkg_.a", "-trimpath",
		"/tmp/go-build1619037084/b009=>", "-p", "runtime", "-lang=go1.26", "-std",
		"-symabis", "/tmp/go-build1619037084/b009/symabis", "-c=2",
		"-importcfg", "/tmp/go-build1619037084/b009/importcfg", "-pack",
		"-embedcfg=/tmp/go-build1619037084/b009/embedcfg", "-pgoprofile=default.pgo",
		"-asmhdr", "/tmp/go-build1619037084/b009/go_asm.h", "-linkobj", "rel/obj.x",
		"/usr/local/go/src/runtime/alg.go", "rel.go"};
	static const char *const want[] = {
		"-o", SB "/tmp/go-build1619037084/b009/_pkg_.a", "-trimpath",
		SB "/tmp/go-build1619037084/b009=>;" SB "/usr/local/go=>$GOROOT;" SB
		   "/tmp=>/tmp;" SB "/usr=>/usr;/tmp/go-build1619037084/b009=>",
		"-p", "runtime", "-lang=go1.26", "-std",
		"-symabis", SB "/tmp/go-build1619037084/b009/symabis", "-c=2",
		"-importcfg", SB "/tmp/go-build1619037084/b009/importcfg", "-pack",
		"-embedcfg=" SB "/tmp/go-build1619037084/b009/embedcfg", "-pgoprofile=default.pgo",
		"-asmhdr", SB "/tmp/go-build1619037084/b009/go_asm.h", "-linkobj", "rel/obj.x",
		SB "/usr/local/go/src/runtime/alg.go", "rel.go"};
	size_t n = sizeof(v) / sizeof(v[0]), argc = 0;
	struct goargs *ga = parse_words(GOARGS_COMPILE, v, n);
	char **argv = NULL;
	struct err e = {0};

	cr_assert_eq(relocate_goargs(ga, SB, GOROOT, topdirs, 2, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(goargs_render(ga, &argv, &argc), 0);
	cr_assert_eq(argc, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(argv[i], want[i], "argv[%zu]", i);
	goargs_free_argv(argv);
	goargs_free(ga);
}

Test(relocate, goargs_asm_adds_trimpath)
{
	static const char *const v[] = {"-p", "runtime", "-I", "/tmp/w/b009/", "-I",
					 "inc", "-D", "GOOS_linux", "-gensymabis", "-o",
					 "/tmp/w/b009/symabis", "/usr/local/go/src/runtime/asm.s"};
	static const char *const want[] = {
		"-p", "runtime", "-I", SB "/tmp/w/b009/", "-I", "inc", "-D", "GOOS_linux",
		"-gensymabis", "-o", SB "/tmp/w/b009/symabis", "-trimpath",
		SB "/usr/local/go=>$GOROOT;" SB "/tmp=>/tmp;" SB "/usr=>/usr",
		SB "/usr/local/go/src/runtime/asm.s"};
	size_t n = sizeof(v) / sizeof(v[0]), argc = 0;
	struct goargs *ga = parse_words(GOARGS_ASM, v, n), *again;
	char **argv = NULL;

	cr_assert_eq(relocate_goargs(ga, SB, GOROOT, topdirs, 2, NULL), 0);
	cr_assert_eq(goargs_render(ga, &argv, &argc), 0);
	cr_assert_eq(argc, n + 2);
	for (size_t i = 0; i < argc; i++)
		cr_assert_str_eq(argv[i], want[i], "argv[%zu]", i);
	/* still one source after a re-parse: -trimpath went before it */
	again = parse_words(GOARGS_ASM, (const char *const *)argv, argc);
	cr_assert_str_eq(goargs_find(again, GA_SOURCE), SB "/usr/local/go/src/runtime/asm.s");
	cr_assert_eq(again->items[again->n - 1].kind, GA_SOURCE);
	cr_assert_eq(again->items[again->n - 2].kind, GA_TRIMPATH);
	goargs_free(again);
	goargs_free_argv(argv);
	goargs_free(ga);
}

Test(relocate, goargs_rejects_bad_sandbox)
{
	static const char *const v[] = {"-o", "/tmp/x.a", "/tmp/a.go"};
	static const char *const bad_top[] = {"tmp;x"};
	struct goargs *ga = parse_words(GOARGS_COMPILE, v, 3);
	struct err e = {0};

	cr_assert_lt(relocate_goargs(ga, "relative/sb", GOROOT, topdirs, 1, &e), 0);
	cr_assert_not_null(strstr(err_msg(&e), "relative/sb"));
	err_clear(&e);
	cr_assert_lt(relocate_goargs(ga, "/sb;x", GOROOT, topdirs, 1, &e), 0);
	cr_assert_lt(relocate_goargs(ga, "/sb=>x", GOROOT, topdirs, 1, NULL), 0);
	cr_assert_lt(relocate_goargs(ga, SB, GOROOT, bad_top, 1, NULL), 0);
	/* nothing was changed by the failed calls */
	cr_assert_str_eq(ga->items[0].value, "/tmp/x.a");
	cr_assert_eq(ga->n, 2);
	goargs_free(ga);
}

/* ---- relocate_strip ---- */

static void check_strip(const char *in, const char *sb, const char *want)
{
	char *data = xstrdup(in);
	size_t n = relocate_strip(data, strlen(in), sb);

	cr_assert_eq(n, strlen(want), "\"%s\" -> \"%.*s\"", in, (int)n, data);
	cr_assert(memcmp(data, want, n) == 0, "\"%s\" -> \"%.*s\", want \"%s\"", in, (int)n, data,
		  want);
	free(data);
}

Test(relocate, strip)
{
	check_strip(SB "/tmp/m/a.go:3:2: undefined: x\n" SB "/tmp/m/b.go:4:1: y\n", SB,
		    "/tmp/m/a.go:3:2: undefined: x\n/tmp/m/b.go:4:1: y\n");
	check_strip("at " SB "/usr/x (" SB "/usr/y)", SB, "at /usr/x (/usr/y)");
	check_strip(SB SB "/tmp/x", SB, SB "/tmp/x"); /* only the one before '/' goes */
	check_strip("x" SB "/a" SB, SB, "x/a" SB);
	check_strip(SB "2/tmp/x " SB "x", SB, SB "2/tmp/x " SB "x");
	check_strip("no sandbox here", SB, "no sandbox here");
	check_strip("", SB, "");
}

Test(relocate, strip_binary_safe)
{
	char data[] = "x\0" SB "/y\0z";
	size_t len = sizeof(data) - 1;
	size_t n = relocate_strip(data, len, SB);

	cr_assert_eq(n, len - strlen(SB));
	cr_assert(memcmp(data, "x\0/y\0z", n) == 0);
}

/* ---- the real compiler: a relocated job writes the same bytes ---- */

#define COMPILE GOROOT "/pkg/tool/linux_amd64/compile"

static int run(const char *cwd, char *const argv[], char *const envp[])
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		if (chdir(cwd) < 0)
			_exit(126);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int compile_job(const char *cwd, char **args, size_t n)
{
	static char goroot[] = "GOROOT=" GOROOT, goos[] = "GOOS=linux", goarch[] = "GOARCH=amd64";
	static char compile[] = COMPILE;
	char pwd[512], *argv[32], *envp[] = {pwd, goroot, goos, goarch, NULL};

	cr_assert_lt(n, 30);
	snprintf(pwd, sizeof(pwd), "PWD=%s", cwd);
	argv[0] = compile;
	for (size_t i = 0; i < n; i++)
		argv[i + 1] = args[i];
	argv[n + 1] = NULL;
	return run(cwd, argv, envp);
}

static void read_all(const char *path, struct buf *b)
{
	struct err e = {0};
	cr_assert_eq(fs_read_file(path, 64u << 20, b, &e), 0, "%s", err_msg(&e));
}

static void write_source(const char *path, const char *text)
{
	struct err e = {0};

	cr_assert_eq(fs_mkdir_parent(path, 0755, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(fs_write_file(path, text, strlen(text), 0644, &e), 0, "%s", err_msg(&e));
}

/* Renders ga, runs compile in cwd and reads the -o output into out. */
static void compile_into(const struct goargs *ga, const char *cwd, struct buf *out)
{
	char **argv = NULL, *outdir = xstrdup(goargs_find(ga, GA_OUT_FILE));
	size_t argc = 0;

	cr_assert_eq(fs_mkdir_parent(outdir, 0755, NULL), 0);
	cr_assert_eq(goargs_render(ga, &argv, &argc), 0);
	cr_assert_eq(compile_job(cwd, argv, argc), 0, "compile in %s failed", cwd);
	read_all(goargs_find(ga, GA_OUT_FILE), out);
	goargs_free_argv(argv);
	free(outdir);
}

Test(relocate, real_compile_byte_identical, .timeout = 60)
{
	static const char src[] = "package p\n\nimport \"unsafe\"\n\n"
				  "func F(x []int) int { return x[3] + int(unsafe.Sizeof(x)) }\n\n"
				  "func G() { panic(\"here\") }\n";
	static const char *const top[] = {"tmp"};
	char dir[] = "/tmp/reloc-test-XXXXXX";
	struct goargs *ga;
	struct buf a, b;

	if (access(COMPILE, X_OK) != 0)
		cr_skip_test("no Go toolchain at " GOROOT);
	cr_assert_not_null(mkdtemp(dir));
	buf_init(&a);
	buf_init(&b);
	char *p = xasprintf("%s/m/p.go", dir), *trim = xasprintf("%s/b001=>", dir);
	char *out = xasprintf("%s/b001/_pkg_.a", dir), *sb = xasprintf("%s/sandbox", dir);
	char *p_sb = relocate_path(sb, p), *cwd_sb = relocate_path(sb, dir);
	const char *v[] = {"-o", out, "-trimpath", trim, "-p", "p", "-lang=go1.21", "-complete",
			   "-buildid", "x/x", "-c=1", "-nolocalimports", "-pack", p};

	write_source(p, src);
	ga = parse_words(GOARGS_COMPILE, v, sizeof(v) / sizeof(v[0]));
	compile_into(ga, dir, &a);
	/* the same job with every path under a sandbox holding only the source */
	write_source(p_sb, src);
	cr_assert_eq(relocate_goargs(ga, sb, GOROOT, top, 1, NULL), 0);
	compile_into(ga, cwd_sb, &b);

	cr_assert_gt(a.len, 0);
	cr_assert_eq(a.len, b.len, "sizes differ: %zu vs %zu", a.len, b.len);
	cr_assert(memcmp(a.data, b.data, a.len) == 0, "relocated object differs");
	/* guard against a vacuous pass: the source path is in the object */
	cr_assert_not_null(memmem(a.data, a.len, p, strlen(p)), "object lacks the source path");
	cr_assert_null(memmem(b.data, b.len, sb, strlen(sb)), "sandbox path leaked");
	goargs_free(ga);
	buf_release(&a);
	buf_release(&b);
	cr_assert_eq(fs_rm_rf(dir, NULL), 0);
	free(cwd_sb);
	free(p_sb);
	free(sb);
	free(out);
	free(trim);
	free(p);
}
