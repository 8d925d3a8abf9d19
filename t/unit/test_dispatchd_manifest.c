/*
 * Tests for dispatchd/manifest.c: the job manifest is the first thing the
 * daemon reads from a hostile network, so every field's type, cap and
 * invariant is checked here. The daemon's sources are not in libcommon.a;
 * the unit under test is compiled into this test directly.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../dispatchd/manifest.c"

#define H1 "1111111111111111111111111111111111111111111111111111111111111111"
#define H2 "2222222222222222222222222222222222222222222222222222222222222222"

/* A valid manifest as an object the tests then spoil. */
static json_t *good(void)
{
	return json_pack("{s:i, s:s, s:s, s:[s,s,s,s,s], s:s, s:{s:s, s:s, s:s}, "
			 "s:[{s:s, s:s}, {s:s, s:s}], s:b, s:b}",
			 "protocol", 1, "tool", "compile", "toolchain", H1, "args", "-o",
			 "/tmp/b/_pkg_.a", "-p", "main", "/src/m/main.go", "cwd", "/src/m", "env",
			 "GOROOT", "/usr/local/go", "GOOS", "linux", "PATH", "/bin", "files",
			 "path", "/src/m/main.go", "blob", H1, "path", "/src/m/a.go", "blob", H2,
			 "merge_output", 1, "compress", 0);
}

/* Parses obj (stolen); returns the manifest or NULL with e set. */
static struct manifest *parse(json_t *obj, struct err *e)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	struct manifest *m = NULL;

	json_decref(obj);
	cr_assert_not_null(text);
	if (manifest_parse(text, strlen(text), &m, e) < 0)
		m = NULL;
	free(text);
	return m;
}

/* Expects parsing to fail with a message containing want. */
static void expect_error(json_t *obj, const char *want)
{
	struct err e = {0};
	struct manifest *m = parse(obj, &e);

	cr_assert_null(m, "parsed, want an error containing \"%s\"", want);
	cr_assert(strstr(err_msg(&e), want), "error \"%s\" lacks \"%s\"", err_msg(&e), want);
}

Test(dispatchd_manifest, valid)
{
	struct err e = {0};
	struct manifest *m = parse(good(), &e);

	cr_assert_not_null(m, "%s", err_msg(&e));
	cr_assert_eq(m->tool, GOARGS_COMPILE);
	cr_assert_str_eq(m->toolchain, H1);
	cr_assert_eq(m->nargs, 5);
	cr_assert_str_eq(m->args[4], "/src/m/main.go");
	cr_assert_null(m->args[5]);
	cr_assert_str_eq(m->cwd, "/src/m");
	/* PATH is not an allowed variable: dropped, not an error. */
	cr_assert_eq(m->nenv, 2);
	cr_assert_null(m->env[2]);
	cr_assert_str_eq(m->goroot, "/usr/local/go");
	cr_assert_eq(m->nfiles, 2);
	cr_assert_str_eq(m->files[0].path, "/src/m/a.go", "files are sorted by path");
	cr_assert_str_eq(m->files[0].blob, H2);
	cr_assert_eq(m->merge_output, 1);
	cr_assert_eq(m->compress, 0);
	manifest_free(m);
}

Test(dispatchd_manifest, optional_fields)
{
	json_t *o = good();
	struct err e = {0};
	struct manifest *m;

	json_object_del(o, "env");
	json_object_del(o, "merge_output");
	json_object_del(o, "compress");
	json_object_set_new(o, "future_field", json_string("ignored"));
	m = parse(o, &e);
	cr_assert_not_null(m, "%s", err_msg(&e));
	cr_assert_eq(m->nenv, 0);
	cr_assert_null(m->env[0]);
	cr_assert_null(m->goroot);
	cr_assert_eq(m->merge_output, 0);
	manifest_free(m);
}

Test(dispatchd_manifest, not_json)
{
	struct manifest *m = NULL;
	struct err e = {0};

	cr_assert_lt(manifest_parse("{\"protocol\":", 12, &m, &e), 0);
	cr_assert(strstr(err_msg(&e), "manifest: line 1"), "%s", err_msg(&e));
	err_clear(&e);
	cr_assert_lt(manifest_parse("[1]", 3, &m, &e), 0);
	cr_assert(strstr(err_msg(&e), "not a JSON object"), "%s", err_msg(&e));
	err_clear(&e);
	cr_assert_lt(manifest_parse("{\"a\":1,\"a\":2}", 13, &m, &e), 0);
	cr_assert(strstr(err_msg(&e), "duplicate"), "%s", err_msg(&e));
}

Test(dispatchd_manifest, too_large)
{
	size_t n = MANIFEST_MAX_BYTES + 1;
	char *text = malloc(n);
	struct manifest *m = NULL;
	struct err e = {0};

	memset(text, ' ', n);
	cr_assert_lt(manifest_parse(text, n, &m, &e), 0);
	cr_assert(strstr(err_msg(&e), "MANIFEST_MAX_BYTES"), "%s", err_msg(&e));
	free(text);
}

Test(dispatchd_manifest, protocol_and_tool)
{
	json_t *o;

	o = good();
	json_object_set_new(o, "protocol", json_integer(2));
	expect_error(o, "protocol: 2");
	o = good();
	json_object_set_new(o, "protocol", json_string("1"));
	expect_error(o, "protocol: missing or not an integer");
	o = good();
	json_object_set_new(o, "tool", json_string("link"));
	expect_error(o, "tool: \"link\"");
	o = good();
	json_object_set_new(o, "toolchain", json_string("ABC"));
	expect_error(o, "toolchain: not a SHA-256");
	o = good();
	json_object_del(o, "toolchain");
	expect_error(o, "toolchain: not a string");
}

Test(dispatchd_manifest, wrong_types)
{
	json_t *o;

	o = good();
	json_object_set_new(o, "args", json_string("-o x"));
	expect_error(o, "args: missing or not an array");
	o = good();
	json_array_append_new(json_object_get(o, "args"), json_integer(3));
	expect_error(o, "args[5]: not a string");
	o = good();
	json_object_set_new(o, "cwd", json_null());
	expect_error(o, "cwd: not a string");
	o = good();
	json_object_set_new(o, "env", json_array());
	expect_error(o, "env: not an object");
	o = good();
	json_object_set_new(json_object_get(o, "env"), "GOOS", json_true());
	expect_error(o, "env.GOOS: not a string");
	o = good();
	json_object_set_new(o, "files", json_object());
	expect_error(o, "files: missing or not an array");
	o = good();
	json_array_append_new(json_object_get(o, "files"), json_string("/x"));
	expect_error(o, "files[2]: not an object");
	o = good();
	json_object_set_new(json_array_get(json_object_get(o, "files"), 1), "blob",
			    json_integer(1));
	expect_error(o, "files[1].blob: not a string");
	o = good();
	json_object_set_new(o, "compress", json_integer(1));
	expect_error(o, "compress: not a boolean");
}

Test(dispatchd_manifest, paths)
{
	static const char *const bad[] = {"src/m",   "/src/../etc", "/src/./m", "/src//m",
					  "/src/m/", "/",	    ""};
	json_t *o;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = good();
		json_object_set_new(o, "cwd", json_string(bad[i]));
		expect_error(o, "is not a clean absolute path");
		o = good();
		json_object_set_new(json_array_get(json_object_get(o, "files"), 0), "path",
				    json_string(bad[i]));
		expect_error(o, "files[0].path");
	}
}

Test(dispatchd_manifest, layout)
{
	json_t *o, *files;

	o = good();
	files = json_object_get(o, "files");
	json_array_append_new(files, json_pack("{s:s, s:s}", "path", "/src/m/a.go", "blob", H1));
	expect_error(o, "\"/src/m/a.go\" listed twice");
	o = good();
	files = json_object_get(o, "files");
	json_array_append_new(files,
			      json_pack("{s:s, s:s}", "path", "/src/m/a.go/x.go", "blob", H1));
	expect_error(o, "lies below the file \"/src/m/a.go\"");
	o = good();
	json_object_set_new(o, "cwd", json_string("/src/m/main.go"));
	expect_error(o, "cwd: \"/src/m/main.go\" is a file");
	o = good();
	json_object_set_new(o, "cwd", json_string("/src/m/main.go/sub"));
	expect_error(o, "cwd: \"/src/m/main.go/sub\" is a file or lies below one");
}

Test(dispatchd_manifest, caps)
{
	json_t *o, *arr, *env;
	char *longarg;

	o = good();
	arr = json_array();
	for (size_t i = 0; i <= MANIFEST_MAX_ARGS; i++)
		json_array_append_new(arr, json_string("-x"));
	json_object_set_new(o, "args", arr);
	expect_error(o, "MANIFEST_MAX_ARGS");

	o = good();
	longarg = malloc(PATH_MAX_BYTES + 2);
	memset(longarg, 'a', PATH_MAX_BYTES + 1);
	longarg[PATH_MAX_BYTES + 1] = '\0';
	json_array_append_new(json_object_get(o, "args"), json_string(longarg));
	free(longarg);
	expect_error(o, "args[5]: longer than PATH_MAX_BYTES");

	o = good();
	env = json_object_get(o, "env");
	for (size_t i = 0; i <= MANIFEST_MAX_ENV; i++) {
		char name[32];

		snprintf(name, sizeof(name), "X%zu", i);
		json_object_set_new(env, name, json_string("v"));
	}
	expect_error(o, "MANIFEST_MAX_ENV");

	o = good();
	arr = json_array();
	for (size_t i = 0; i <= MANIFEST_MAX_FILES; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/f/%zu", i);
		json_array_append_new(arr, json_pack("{s:s, s:s}", "path", path, "blob", H1));
	}
	json_object_set_new(o, "files", arr);
	expect_error(o, "MANIFEST_MAX_FILES");
}

Test(dispatchd_manifest, find_and_conflicts)
{
	struct err e = {0};
	struct manifest *m = parse(good(), &e);

	cr_assert_not_null(m, "%s", err_msg(&e));
	cr_assert_not_null(manifest_find(m, "/src/m/main.go"));
	cr_assert_str_eq(manifest_find(m, "/src/m/main.go")->blob, H1);
	cr_assert_null(manifest_find(m, "/src/m/main.g"));
	cr_assert_null(manifest_find(m, "/src/m/main.go2"));
	cr_assert_null(manifest_find(m, "/src/m"));
	cr_assert(!manifest_dir_conflicts(m, "/src/m"));
	cr_assert(!manifest_dir_conflicts(m, "/tmp/b"));
	cr_assert(manifest_dir_conflicts(m, "/src/m/a.go"));
	cr_assert(manifest_dir_conflicts(m, "/src/m/a.go/deeper/still"));
	manifest_free(m);
}

/* --- the local socket's request (manifest_parse_local) --- */

/* A valid local request: one linked source, one importcfg with its text. */
static json_t *good_local(void)
{
	return json_pack("{s:i, s:s, s:s, s:[s,s,s,s,s,s,s], s:s, s:{s:s, s:s}, "
			 "s:[{s:s}, {s:s, s:s}], s:b}",
			 "protocol", 1, "tool", "compile", "tool_path",
			 "/usr/local/go/pkg/tool/linux_amd64/compile", "args", "-o",
			 "/tmp/b/_pkg_.a", "-p", "main", "-importcfg", "/tmp/b/importcfg",
			 "/src/m/main.go", "cwd", "/src/m", "env", "GOROOT", "/usr/local/go",
			 "GOOS", "linux", "files", "path", "/src/m/main.go", "path",
			 "/tmp/b/importcfg", "text", "packagefile fmt=/c/fmt.a\n", "compress", 1);
}

static struct manifest *parse_local(json_t *obj, struct err *e)
{
	char *text = json_dumps(obj, JSON_COMPACT);
	struct manifest *m = NULL;

	json_decref(obj);
	cr_assert_not_null(text);
	if (manifest_parse_local(text, strlen(text), &m, e) < 0)
		m = NULL;
	free(text);
	return m;
}

static void expect_local_error(json_t *obj, const char *want)
{
	struct err e = {0};
	struct manifest *m = parse_local(obj, &e);

	cr_assert_null(m, "parsed, want an error containing \"%s\"", want);
	cr_assert(strstr(err_msg(&e), want), "error \"%s\" lacks \"%s\"", err_msg(&e), want);
}

Test(dispatchd_manifest, local_valid)
{
	struct err e = {0};
	struct manifest *m = parse_local(good_local(), &e);
	const struct manifest_file *f;

	cr_assert_not_null(m, "%s", err_msg(&e));
	cr_assert_str_eq(m->tool_path, "/usr/local/go/pkg/tool/linux_amd64/compile");
	cr_assert_str_eq(m->toolchain, "", "filled in by the job, not the parser");
	cr_assert_eq(m->compress, 0, "compress is ignored on the local socket");
	cr_assert_str_eq(m->goroot, "/usr/local/go");
	cr_assert_eq(m->nfiles, 2);
	f = manifest_find(m, "/src/m/main.go");
	cr_assert_not_null(f);
	cr_assert(f->link);
	cr_assert_null(f->text);
	f = manifest_find(m, "/tmp/b/importcfg");
	cr_assert_not_null(f);
	cr_assert(!f->link);
	cr_assert_eq(f->text_len, strlen("packagefile fmt=/c/fmt.a\n"));
	cr_assert_str_eq(f->text, "packagefile fmt=/c/fmt.a\n");
	manifest_free(m);
}

Test(dispatchd_manifest, local_text_exact)
{
	const char *text = "# import config\npackagefile \xc3\xa9t\xc3\xa9=/c/x.a\n\n";
	json_t *o = good_local();
	json_t *f = json_array_get(json_object_get(o, "files"), 1);
	struct err e = {0};
	struct manifest *m;

	json_object_set_new(f, "text", json_string(text));
	m = parse_local(o, &e);
	cr_assert_not_null(m, "%s", err_msg(&e));
	cr_assert_eq(m->files[1].text_len, strlen(text));
	cr_assert_str_eq(m->files[1].text, text);
	manifest_free(m);
	/* jansson refuses \u0000 (JSON_ALLOW_NUL unset): texts are C strings. */
	o = good_local();
	f = json_array_get(json_object_get(o, "files"), 1);
	json_object_set_new(f, "text", json_stringn("a\0b", 3));
	expect_local_error(o, "manifest: line 1");
}

Test(dispatchd_manifest, local_tool_path)
{
	static const char *const bad[] = {"go/pkg/tool/compile", "/usr/../bin/compile",
					  "/usr//compile", "/usr/compile/", ""};
	json_t *o;

	o = good_local();
	json_object_del(o, "tool_path");
	expect_local_error(o, "tool_path: not a string");
	o = good_local();
	json_object_set_new(o, "tool_path", json_integer(7));
	expect_local_error(o, "tool_path: not a string");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o = good_local();
		json_object_set_new(o, "tool_path", json_string(bad[i]));
		expect_local_error(o, "tool_path: \"");
	}
	/* A toolchain hash does not replace tool_path on the socket. */
	o = good_local();
	json_object_del(o, "tool_path");
	json_object_set_new(o, "toolchain", json_string(H1));
	expect_local_error(o, "tool_path");
}

Test(dispatchd_manifest, local_files)
{
	json_t *o, *files;

	o = good_local();
	files = json_object_get(o, "files");
	json_object_set_new(json_array_get(files, 1), "text", json_integer(1));
	expect_local_error(o, "files[1].text: not a string");
	o = good_local();
	files = json_object_get(o, "files");
	json_object_set_new(json_array_get(files, 0), "text", json_null());
	expect_local_error(o, "files[0].text: not a string");
	o = good_local();
	files = json_object_get(o, "files");
	json_array_append_new(files, json_pack("{s:s, s:s}", "path", "/src/m/a.go", "blob", H1));
	expect_local_error(o, "files[2].blob: not used on the local socket");
	o = good_local();
	files = json_object_get(o, "files");
	json_object_set_new(json_array_get(files, 1), "blob", json_string(H1));
	expect_local_error(o, "files[1].blob: not used on the local socket");
	o = good_local();
	files = json_object_get(o, "files");
	json_object_set_new(json_array_get(files, 0), "path", json_string("src/m/main.go"));
	expect_local_error(o, "files[0].path");
	o = good_local();
	files = json_object_get(o, "files");
	json_array_append_new(files, json_pack("{s:s}", "path", "/src/m/main.go"));
	expect_local_error(o, "\"/src/m/main.go\" listed twice");
	o = good_local();
	files = json_object_get(o, "files");
	json_array_append_new(files, json_pack("{s:s}", "path", "/src/m/main.go/x"));
	expect_local_error(o, "lies below the file \"/src/m/main.go\"");
}

Test(dispatchd_manifest, local_shared_checks)
{
	json_t *o;

	o = good_local();
	json_object_set_new(o, "protocol", json_integer(2));
	expect_local_error(o, "protocol: 2");
	o = good_local();
	json_object_set_new(o, "tool", json_string("link"));
	expect_local_error(o, "tool: \"link\"");
	o = good_local();
	json_object_set_new(o, "cwd", json_string("src"));
	expect_local_error(o, "cwd: \"src\" is not a clean absolute path");
	o = good_local();
	json_object_set_new(o, "env", json_string("GOOS=linux"));
	expect_local_error(o, "env: not an object");
	o = good_local();
	json_object_set_new(o, "merge_output", json_string("yes"));
	expect_local_error(o, "merge_output: not a boolean");
	o = good_local();
	json_object_set_new(o, "files", json_null());
	expect_local_error(o, "files: missing or not an array");
}

Test(dispatchd_manifest, http_refuses_local_files)
{
	json_t *o = good();

	json_object_del(json_array_get(json_object_get(o, "files"), 0), "blob");
	json_object_set_new(json_array_get(json_object_get(o, "files"), 0), "text",
			    json_string("x"));
	expect_error(o, "files[0].blob: not a string");
}
