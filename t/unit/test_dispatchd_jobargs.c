/*
 * Tests for dispatchd/jobargs.c and dispatchd/blobs.c: what the daemon
 * accepts of a job's tool arguments and blobs before anything runs. The
 * daemon's sources are not in libcommon.a; the units under test are
 * compiled into this test directly.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "../../dispatchd/blobs.c"
#include "../../dispatchd/manifest.c"
#include "../../dispatchd/jobargs.c"

static const char importcfg[] = "# import config\n"
				"packagefile fmt=/tmp/wb/b002/_pkg_.a\n";

struct fixture {
	struct manifest *m;
	struct blobs blobs;
	struct jobargs ja;
	struct err e;
};

/* Builds a job: args as given, in cwd /src/m, with main.go, the importcfg
 * and (unless skip_fmt) the archive it names. */
static void setup_job(struct fixture *f, json_t *args, int skip_fmt)
{
	static const char src[] = "package main\n", pkg[] = "!<arch>\n";
	char hsrc[HASH_HEX_LEN + 1], hcfg[HASH_HEX_LEN + 1], hpkg[HASH_HEX_LEN + 1];
	json_t *files, *o;
	char *text;

	memset(f, 0, sizeof(*f));
	blobs_init(&f->blobs);
	hash_buf(src, strlen(src), hsrc);
	hash_buf(importcfg, strlen(importcfg), hcfg);
	hash_buf(pkg, strlen(pkg), hpkg);
	cr_assert_eq(blobs_add(&f->blobs, hsrc, src, strlen(src), &f->e), 0);
	cr_assert_eq(blobs_add(&f->blobs, hcfg, importcfg, strlen(importcfg), &f->e), 0);
	cr_assert_eq(blobs_add(&f->blobs, hpkg, pkg, strlen(pkg), &f->e), 0);
	blobs_seal(&f->blobs);
	files = json_pack("[{s:s, s:s}, {s:s, s:s}]", "path", "/src/m/main.go", "blob", hsrc,
			  "path", "/tmp/wb/b001/importcfg", "blob", hcfg);
	if (!skip_fmt)
		json_array_append_new(
		    files, json_pack("{s:s, s:s}", "path", "/tmp/wb/b002/_pkg_.a", "blob", hpkg));
	o = json_pack("{s:i, s:s, s:s, s:o, s:s, s:o}", "protocol", 1, "tool", "compile",
		      "toolchain", hsrc, "args", args, "cwd", "/src/m", "files", files);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	cr_assert_eq(manifest_parse(text, strlen(text), &f->m, &f->e), 0, "%s", err_msg(&f->e));
	free(text);
}

static void teardown_job(struct fixture *f)
{
	jobargs_release(&f->ja);
	manifest_free(f->m);
	blobs_release(&f->blobs);
}

static json_t *args_with(const char *o_value, const char *extra, const char *source)
{
	json_t *a = json_pack("[s, s, s, s, s, s]", "-o", o_value, "-p", "main", "-importcfg",
			      "/tmp/wb/b001/importcfg");

	if (extra)
		json_array_append_new(a, json_string(extra));
	json_array_append_new(a, json_string(source));
	return a;
}

/* Expects jobargs_check to fail with a message containing want. */
static void expect_refused(json_t *args, int skip_fmt, const char *want)
{
	struct fixture f;

	setup_job(&f, args, skip_fmt);
	cr_assert_lt(jobargs_check(&f.ja, f.m, &f.blobs, &f.e), 0, "accepted, want \"%s\"", want);
	cr_assert(strstr(err_msg(&f.e), want), "error \"%s\" lacks \"%s\"", err_msg(&f.e), want);
	teardown_job(&f);
}

Test(dispatchd_jobargs, accepted)
{
	struct fixture f;

	setup_job(&f, args_with("out/_pkg_.a", NULL, "./main.go"), 0);
	cr_assert_eq(jobargs_check(&f.ja, f.m, &f.blobs, &f.e), 0, "%s", err_msg(&f.e));
	cr_assert_str_eq(f.ja.importcfg, "/tmp/wb/b001/importcfg");
	cr_assert_null(f.ja.embedcfg);
	cr_assert_eq(f.ja.outs.n, 1);
	cr_assert_str_eq(f.ja.outs.paths[0], "out/_pkg_.a", "as the client wrote it");
	cr_assert_str_eq(f.ja.outs_abs.paths[0], "/src/m/out/_pkg_.a", "relative to cwd");
	/* cwd and files give "src" and "tmp"; nothing else is absolute. */
	cr_assert_eq(f.ja.topdirs.n, 2);
	cr_assert_str_eq(f.ja.topdirs.paths[0], "src");
	cr_assert_str_eq(f.ja.topdirs.paths[1], "tmp");
	teardown_job(&f);
}

Test(dispatchd_jobargs, response_files)
{
	expect_refused(args_with("/tmp/wb/b001/_pkg_.a", NULL, "@/etc/passwd"), 0,
		       "response files must be expanded by the client");
}

Test(dispatchd_jobargs, dotdot)
{
	expect_refused(args_with("../../../etc/x.a", NULL, "/src/m/main.go"), 0,
		       "\"..\" is not allowed");
	expect_refused(args_with("/tmp/wb/b001/_pkg_.a", NULL, "/src/m/../m/main.go"), 0,
		       "\"..\" is not allowed");
	expect_refused(args_with("/tmp/wb/b001/_pkg_.a", "-symabis=/tmp/wb/..", "/src/m/main.go"),
		       0, "\"..\" is not allowed");
}

Test(dispatchd_jobargs, inputs_must_travel)
{
	expect_refused(args_with("/tmp/wb/b001/_pkg_.a", NULL, "/etc/passwd"), 0,
		       "source /etc/passwd: not among the job's files");
	expect_refused(args_with("/tmp/wb/b001/_pkg_.a", NULL, "/src/m/main.go"), 1,
		       "names /tmp/wb/b002/_pkg_.a, which is not among the job's files");
}

Test(dispatchd_jobargs, output_below_a_file)
{
	expect_refused(args_with("/src/m/main.go/x.a", NULL, "/src/m/main.go"), 0,
		       "its directory is a file of the job");
}

/* Found by t/fuzz/fuzz_jobargs (its corpus keeps the input). */
Test(dispatchd_jobargs, output_is_the_root)
{
	expect_refused(args_with("/", NULL, "/src/m/main.go"), 0, "-o /: not a file's path");
	expect_refused(args_with("/.", NULL, "/src/m/main.go"), 0, "-o /.: not a file's path");
}

Test(dispatchd_jobargs, local_only)
{
	expect_refused(args_with("/tmp/wb/b001/_pkg_.a", "-json=0,file:///tmp/x", "/src/m/main.go"),
		       0, "must run on the client");
}

Test(dispatchd_jobargs, abs_path)
{
	static const char *const cases[][3] = {
	    {"/src/m", "main.go", "/src/m/main.go"},
	    {"/src/m", "./a//b/./c", "/src/m/a/b/c"},
	    {"/src/m", "/abs/x", "/abs/x"},
	    {"/src/m", ".", "/src/m"},
	    {"/", "x", "/x"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = jobargs_abs_path(cases[i][0], cases[i][1]);

		cr_assert_str_eq(p, cases[i][2], "%s + %s", cases[i][0], cases[i][1]);
		free(p);
	}
}

Test(dispatchd_blobs, verified)
{
	struct blobs b;
	struct err e = {0};
	char h[HASH_HEX_LEN + 1];

	blobs_init(&b);
	hash_buf("abc", 3, h);
	cr_assert_lt(blobs_add(&b, h, "abd", 3, &e), 0);
	cr_assert(strstr(err_msg(&e), "content hashes to"), "%s", err_msg(&e));
	err_clear(&e);
	cr_assert_lt(blobs_add(&b, "../x", "abc", 3, &e), 0);
	cr_assert_eq(blobs_add(&b, h, "abc", 3, &e), 0);
	cr_assert_eq(blobs_add(&b, h, "abc", 3, &e), 0, "the same blob twice is fine");
	blobs_seal(&b);
	cr_assert_eq(b.n, 1);
	cr_assert_not_null(blobs_find(&b, h));
	cr_assert_eq(blobs_find(&b, h)->len, 3);
	cr_assert_null(
	    blobs_find(&b, "0000000000000000000000000000000000000000000000000000000000000000"));
	blobs_release(&b);
}

Test(dispatchd_blobs, empty)
{
	struct blobs b;

	blobs_init(&b);
	blobs_seal(&b);
	cr_assert_null(
	    blobs_find(&b, "0000000000000000000000000000000000000000000000000000000000000000"));
	blobs_release(&b);
}

/* A local job whose importcfg is linked rather than sent: the daemon could
 * not rewrite it, so it is refused (and nothing dereferences a missing
 * blob). */
Test(dispatchd_jobargs, local_config_needs_text)
{
	json_t *o =
	    json_pack("{s:i, s:s, s:s, s:o, s:s, s:[{s:s}, {s:s}]}", "protocol", 1, "tool",
		      "compile", "tool_path", "/go/pkg/tool/compile", "args",
		      args_with("/tmp/wb/b001/_pkg_.a", NULL, "/src/m/main.go"), "cwd", "/src/m",
		      "files", "path", "/src/m/main.go", "path", "/tmp/wb/b001/importcfg");
	char *text = json_dumps(o, JSON_COMPACT);
	struct fixture f;

	json_decref(o);
	memset(&f, 0, sizeof(f));
	blobs_init(&f.blobs);
	blobs_seal(&f.blobs);
	cr_assert_eq(manifest_parse_local(text, strlen(text), &f.m, &f.e), 0, "%s", err_msg(&f.e));
	free(text);
	cr_assert_lt(jobargs_check(&f.ja, f.m, &f.blobs, &f.e), 0);
	cr_assert(strstr(err_msg(&f.e), "-importcfg must be sent with its text"), "%s",
		  err_msg(&f.e));
	teardown_job(&f);
}

Test(dispatchd_blobs, add_content)
{
	struct blobs b;
	char h[HASH_HEX_LEN + 1], want[HASH_HEX_LEN + 1];
	const struct blob *bl;

	blobs_init(&b);
	blobs_add_content(&b, "text", 4, h);
	blobs_seal(&b);
	hash_buf("text", 4, want);
	cr_assert_str_eq(h, want);
	bl = blobs_find(&b, h);
	cr_assert_not_null(bl);
	cr_assert_eq(bl->len, 4);
	cr_assert_str_eq(bl->data, "text");
	blobs_release(&b);
}
