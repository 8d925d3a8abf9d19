#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "goarchive.h"

#include "banned.h"

static char *tmpdir;

static void setup(void)
{
	tmpdir = xstrdup("/tmp/test_goarchive.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
	fs_rm_rf(tmpdir, NULL);
	free(tmpdir);
}

TestSuite(goarchive, .init = setup, .fini = teardown);

static char *in_tmp(const char *rel)
{
	return xasprintf("%s/%s", tmpdir, rel);
}

static void put(const char *rel, const char *text)
{
	char *path = in_tmp(rel);

	cr_assert_eq(fs_write_file(path, text, strlen(text), 0644, NULL), 0);
	free(path);
}

/* Runs "go build -o <out> ." in dir, as the toolchain writes package
 * archives; returns the exit status. The user's build cache keeps this fast
 * (the second test compiles part of the standard library); without a home
 * directory go needs a cache of its own. */
static int go_build(const char *dir, const char *out)
{
	char *cache = in_tmp("gocache");
	int status = -1;
	pid_t pid = fork();

	cr_assert(pid >= 0);
	if (pid == 0) {
		if (chdir(dir) < 0)
			_exit(127);
		if (!getenv("HOME") || !*getenv("HOME")) {
			setenv("GOCACHE", cache, 1);
			setenv("GOPATH", cache, 1);
		}
		setenv("GOTOOLCHAIN", "local", 1);
		setenv("GOPROXY", "off", 1);
		setenv("GOFLAGS", "", 1);
		setenv("CGO_ENABLED", "0", 1);
		setenv("PATH", "/usr/local/go/bin:/usr/bin:/bin", 0);
		execlp("go", "go", "build", "-o", out, ".", (char *)NULL);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	free(cache);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Builds a small package with exported API and returns its archive path. */
static char *build_go_package(const char *body)
{
	char *dir = in_tmp("pkg");
	char *src = in_tmp("pkg/p.go");
	char *out = in_tmp("p.a");

	cr_assert_eq(fs_mkdir_p(dir, 0755, NULL), 0);
	put("pkg/go.mod", "module example.com/p\n\ngo 1.21\n");
	cr_assert_eq(fs_write_file(src, body, strlen(body), 0644, NULL), 0);
	cr_assert_eq(go_build(dir, out), 0, "go build failed (is go in PATH?)");
	free(dir);
	free(src);
	return out;
}

/* The size field of the first member header, parsed independently. */
static size_t first_member_size(const struct buf *file)
{
	char field[11];

	cr_assert_geq(file->len, 68);
	memcpy(field, file->data + 8 + 48, 10);
	field[10] = '\0';
	return (size_t)strtoul(field, NULL, 10);
}

static void check_pkgdef_of(const char *archive)
{
	struct buf orig, out;
	struct err e = {0};

	buf_init(&orig);
	buf_init(&out);
	cr_assert_eq(fs_read_file(archive, 1u << 30, &orig, &e), 0, "%s", err_msg(&e));
	size_t size = first_member_size(&orig);
	size_t want = 8 + 60 + size + (size & 1);

	buf_adds(&out, "kept");
	cr_assert_eq(goarchive_pkgdef(archive, &out, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(out.len, 4 + want, "got %zu bytes, want %zu", out.len - 4, want);
	cr_assert_eq(memcmp(out.data, "kept", 4), 0, "appending overwrote what was there");
	cr_assert_eq(memcmp(out.data + 4, "!<arch>\n__.PKGDEF", 17), 0);
	cr_assert_lt(want, orig.len, "the stripped form should drop the object code");
	cr_assert_eq(memcmp(out.data + 4, orig.data, want), 0, "not a prefix of the original");
	cr_assert_eq(out.data[out.len], '\0');
	buf_release(&orig);
	buf_release(&out);
}

Test(goarchive, real_go_archive_odd_and_even)
{
	/* Two bodies whose export data sizes differ in parity, so both the
	 * padded and the unpadded layout are exercised. */
	static const char *const bodies[] = {
	    "package p\n\nfunc F() int { return 1 }\n\nvar S = \"hello\"\n",
	    "package p\n\nfunc F() int { return 1 }\n\nvar S = \"hello!\"\n",
	    "package p\n\nfunc F() int { return 1 }\n\nvar Sx = \"hello!\"\n",
	};
	int seen_odd = 0, seen_even = 0;

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		char *archive = build_go_package(bodies[i]);
		struct buf orig;

		buf_init(&orig);
		cr_assert_eq(fs_read_file(archive, 1u << 30, &orig, NULL), 0);
		if (first_member_size(&orig) & 1)
			seen_odd = 1;
		else
			seen_even = 1;
		check_pkgdef_of(archive);
		buf_release(&orig);
		unlink(archive);
		free(archive);
	}
	cr_assert(seen_odd && seen_even, "test bodies did not cover both parities");
}

Test(goarchive, archive_with_imports)
{
	/* A package with imports and real code, as compiled by the toolchain. */
	char *archive =
	    build_go_package("package p\n\nimport \"strings\"\n\n"
			     "func Up(s string) string { return strings.ToUpper(s) }\n");

	check_pkgdef_of(archive);
	free(archive);
}

static void expect_failure(const char *rel, const void *data, size_t len, const char *what)
{
	char *path = in_tmp(rel);
	struct buf out;
	struct err e = {0};

	cr_assert_eq(fs_write_file(path, data, len, 0644, NULL), 0);
	buf_init(&out);
	buf_adds(&out, "kept");
	cr_assert_lt(goarchive_pkgdef(path, &out, &e), 0, "accepted %s", rel);
	cr_assert(strstr(err_msg(&e), path) != NULL, "%s", err_msg(&e));
	cr_assert(strstr(err_msg(&e), what) != NULL, "want '%s' in: %s", what, err_msg(&e));
	cr_assert_eq(out.len, 4, "out was touched on failure");
	cr_assert_str_eq(out.data, "kept");
	buf_release(&out);
	free(path);
}

/* An ar member header: name, mtime, uid, gid, mode, size, "`\n". */
static void ar_member(struct buf *b, const char *name, const char *size_field, const char *data)
{
	buf_addf(b, "%-16s%-12s%-6s%-6s%-8s%-10s`\n", name, "0", "0", "0", "644", size_field);
	buf_adds(b, data);
	if (strlen(data) & 1)
		buf_addch(b, '\n');
}

Test(goarchive, rejects_non_archives)
{
	const char *text = "package main\n\nfunc main() {}\n";
	struct buf b;

	expect_failure("empty", "", 0, "not a Go archive");
	expect_failure("source.go", text, strlen(text), "not a Go archive");
	expect_failure("magic-only", "!<arch>\n", 8, "not a Go archive");
	/* A thin archive: the member data lives in other files. */
	buf_init(&b);
	buf_adds(&b, "!<thin>\n");
	ar_member(&b, "__.PKGDEF", "3", "abc");
	expect_failure("thin.a", b.data, b.len, "magic");
	buf_release(&b);
}

Test(goarchive, rejects_first_member_not_pkgdef)
{
	struct buf b;

	buf_init(&b);
	buf_adds(&b, "!<arch>\n");
	ar_member(&b, "_go_.o", "5", "hello");
	ar_member(&b, "__.PKGDEF", "3", "abc");
	expect_failure("obj-first.a", b.data, b.len, "first member is not __.PKGDEF");

	buf_reset(&b);
	buf_adds(&b, "!<arch>\n");
	ar_member(&b, "//", "10", "__.PKGDEF/");
	expect_failure("gnu-names.a", b.data, b.len, "not a Go archive");
	buf_release(&b);
}

Test(goarchive, rejects_damaged_headers)
{
	struct buf b;

	buf_init(&b);
	buf_adds(&b, "!<arch>\n");
	ar_member(&b, "__.PKGDEF", "1000", "short");
	expect_failure("truncated.a", b.data, b.len, "truncated");

	buf_reset(&b);
	buf_adds(&b, "!<arch>\n");
	ar_member(&b, "__.PKGDEF", "3x", "abc");
	expect_failure("badsize.a", b.data, b.len, "size field");

	buf_reset(&b);
	buf_adds(&b, "!<arch>\n");
	ar_member(&b, "__.PKGDEF", "", "");
	expect_failure("nosize.a", b.data, b.len, "size field");

	/* Odd size without its padding byte at the end of the file. */
	buf_reset(&b);
	buf_adds(&b, "!<arch>\n");
	ar_member(&b, "__.PKGDEF", "3", "abc");
	expect_failure("nopad.a", b.data, b.len - 1, "truncated");

	/* A header whose terminator is not "`\n". */
	buf_reset(&b);
	buf_adds(&b, "!<arch>\n");
	ar_member(&b, "__.PKGDEF", "4", "abcd");
	b.data[8 + 58] = 'X';
	expect_failure("badfmag.a", b.data, b.len, "not a Go archive");
	buf_release(&b);
}

Test(goarchive, hand_made_minimal_archive)
{
	char *path = in_tmp("min.a");
	struct buf b, out;
	struct err e = {0};

	buf_init(&b);
	buf_init(&out);
	buf_adds(&b, "!<arch>\n");
	ar_member(&b, "__.PKGDEF", "3", "abc");
	size_t want = b.len;
	ar_member(&b, "_go_.o", "4", "code");
	cr_assert_eq(fs_write_file(path, b.data, b.len, 0644, NULL), 0);
	cr_assert_eq(goarchive_pkgdef(path, &out, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(out.len, want);
	cr_assert_eq(want, 8 + 60 + 3 + 1);
	cr_assert_eq(memcmp(out.data, b.data, want), 0);
	buf_release(&b);
	buf_release(&out);
	free(path);
}

Test(goarchive, missing_file)
{
	struct buf out;
	struct err e = {0};

	buf_init(&out);
	cr_assert_lt(goarchive_pkgdef("/nonexistent/x.a", &out, &e), 0);
	cr_assert(strstr(err_msg(&e), "/nonexistent/x.a: open") != NULL, "%s", err_msg(&e));
	cr_assert_eq(out.len, 0);
	buf_release(&out);
}
