/* Tests for common/gocfg.c: importcfg and embedcfg files. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "gocfg.h"

#include "banned.h"

/* As go1.26 writes it (go build -work), plus the forms compile also takes. */
static const char importcfg[] = "# import config\n"
				"packagefile embed=/tmp/go-build1925461042/b002/_pkg_.a\n"
				"packagefile fmt=/tmp/go-build1925461042/b052/_pkg_.a\n"
				"\n"
				"   # indented comment, caf\xc3\xa9\r\n"
				"importmap golang.org/x/net/http2=vendor/golang.org/x/net/http2\n"
				"\tpackagefile  rel=b003/_pkg_.a \r\n"
				"packagefile runtime=/tmp/go-build1925461042/b009/_pkg_.a";

static void check_paths(const struct gocfg_paths *p, const char *const *want, size_t n)
{
	cr_assert_eq(p->n, n, "got %zu paths, want %zu", p->n, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(p->paths[i], want[i], "path %zu", i);
}

Test(gocfg, importcfg_files)
{
	static const char *const want[] = {
		"/tmp/go-build1925461042/b002/_pkg_.a",
		"/tmp/go-build1925461042/b052/_pkg_.a",
		"b003/_pkg_.a",
		"/tmp/go-build1925461042/b009/_pkg_.a",
	};
	struct gocfg_paths p = {0, NULL};
	struct err e = {0};

	cr_assert_eq(gocfg_importcfg_files(importcfg, strlen(importcfg), &p, &e), 0, "%s",
		     err_msg(&e));
	check_paths(&p, want, 4);
	gocfg_paths_release(&p);
	gocfg_paths_release(&p);
	gocfg_paths_release(NULL);
}

/* The package paths, for the dispatcher's picture of the build graph. */
Test(gocfg, importcfg_packages)
{
	static const char *const want[] = {"embed", "fmt", "rel", "runtime"};
	struct gocfg_paths p = {0, NULL};
	struct err e = {0};

	cr_assert_eq(gocfg_importcfg_packages(importcfg, strlen(importcfg), &p, &e), 0, "%s",
		     err_msg(&e));
	check_paths(&p, want, 4);
	gocfg_paths_release(&p);
	cr_assert_lt(gocfg_importcfg_packages("packagefile =x\n", 15, &p, &e), 0);
	cr_assert_eq(p.n, 0);
}

Test(gocfg, importcfg_empty)
{
	struct gocfg_paths p = {0, NULL};

	cr_assert_eq(gocfg_importcfg_files("", 0, &p, NULL), 0);
	cr_assert_eq(p.n, 0);
	cr_assert_eq(gocfg_importcfg_files("# only\n\n", 8, &p, NULL), 0);
	cr_assert_eq(p.n, 0);
	gocfg_paths_release(&p);
}

/* Lines compile's readImportCfg rejects. */
Test(gocfg, importcfg_malformed)
{
	static const char *const bad[] = {
		"packagefile fmt\n",
		"packagefile =/x.a\n",
		"packagefile fmt=\n",
		"packagefile\n",
		"importmap a=\n",
		"importmap =b\n",
		"packagefile\tfmt=/x.a\n", /* the verb ends at a space, not a tab */
		"frobnicate x=y\n",
		"modinfo \"xyz\"\n",
		/* Go would trim the no-break space; not guessed at here */
		"packagefile fmt=/x.a\xc2\xa0\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gocfg_paths p = {0, NULL};
		struct err e = {0};
		char *text = xasprintf("# ok\npackagefile a=/a.a\n%s", bad[i]);
		cr_assert_lt(gocfg_importcfg_files(text, strlen(text), &p, &e), 0, "accepted %s",
			     bad[i]);
		cr_assert_null(p.paths);
		cr_assert_not_null(strstr(err_msg(&e), ":3:"), "%s: no line number in \"%s\"",
				   bad[i], err_msg(&e));
		free(text);
	}
}

Test(gocfg, importcfg_rewrite)
{
	static const char want[] = "# import config\n"
				   "packagefile embed=/sb/tmp/go-build1925461042/b002/_pkg_.a\n"
				   "packagefile fmt=/sb/tmp/go-build1925461042/b052/_pkg_.a\n"
				   "\n"
				   "   # indented comment, caf\xc3\xa9\r\n"
				   "importmap golang.org/x/net/http2=vendor/golang.org/x/net/http2\n"
				   "\tpackagefile  rel=b003/_pkg_.a \r\n"
				   "packagefile runtime=/sb/tmp/go-build1925461042/b009/_pkg_.a";
	struct buf out;
	struct err e = {0};

	buf_init(&out);
	buf_adds(&out, "kept:");
	cr_assert_eq(gocfg_importcfg_rewrite(importcfg, strlen(importcfg), "/sb", &out, &e), 0,
		     "%s", err_msg(&e));
	cr_assert_str_eq(out.data + 5, want);
	cr_assert_eq(strncmp(out.data, "kept:", 5), 0, "rewrite must append");
	buf_release(&out);
}

/* Only the file part moves, even when the package path looks like a path. */
Test(gocfg, importcfg_rewrite_file_part_only)
{
	static const char in[] = "packagefile /abs/pkg=/x/y.a\nimportmap /a=/b\n";
	struct buf out;

	buf_init(&out);
	cr_assert_eq(gocfg_importcfg_rewrite(in, strlen(in), "/S", &out, NULL), 0);
	cr_assert_str_eq(out.data, "packagefile /abs/pkg=/S/x/y.a\nimportmap /a=/b\n");
	buf_release(&out);
}

/* The linker's extra directives survive; bad known ones fail untouched. */
Test(gocfg, importcfg_rewrite_unknown_and_bad)
{
	static const char linkcfg[] = "packagefile fmt=/w/fmt.a\nmodinfo \"0w\\xaf\"\n";
	static const char bad[] = "packagefile fmt=/w/fmt.a\npackagefile x\n";
	struct buf out;
	struct err e = {0};

	buf_init(&out);
	cr_assert_eq(gocfg_importcfg_rewrite(linkcfg, strlen(linkcfg), "/S", &out, NULL), 0);
	cr_assert_str_eq(out.data, "packagefile fmt=/S/w/fmt.a\nmodinfo \"0w\\xaf\"\n");
	buf_reset(&out);
	cr_assert_lt(gocfg_importcfg_rewrite(bad, strlen(bad), "/S", &out, &e), 0);
	cr_assert_eq(out.len, 0, "output written on failure");
	cr_assert_not_null(strstr(err_msg(&e), ":2:"), "%s", err_msg(&e));
	buf_release(&out);
}

/* ---- embedcfg ---- */

/* As go1.26 writes it. */
static const char embedcfg[] = "{\n\t\"Patterns\": {\n\t\t\"hello.txt\": [\n\t\t\t\"hello.txt\"\n"
			       "\t\t],\n\t\t\"static/*\": [\"static/a.css\", \"static/b.js\"]\n\t},\n"
			       "\t\"Files\": {\n\t\t\"hello.txt\": \"/tmp/probe2/m/hello.txt\",\n"
			       "\t\t\"static/b.js\": \"/tmp/probe2/m/static/b.js\",\n"
			       "\t\t\"static/a.css\": \"rel/a.css\"\n\t}\n}\n";

Test(gocfg, embedcfg_files)
{
	static const char *const want[] = {"/tmp/probe2/m/hello.txt", "/tmp/probe2/m/static/b.js",
					   "rel/a.css"};
	struct gocfg_paths p = {0, NULL};
	struct err e = {0};

	cr_assert_eq(gocfg_embedcfg_files(embedcfg, strlen(embedcfg), &p, &e), 0, "%s",
		     err_msg(&e));
	check_paths(&p, want, 3);
	gocfg_paths_release(&p);
}

Test(gocfg, embedcfg_empty_maps)
{
	static const char text[] = "{\"Patterns\":{},\"Files\":{}}";
	struct gocfg_paths p = {0, NULL};

	cr_assert_eq(gocfg_embedcfg_files(text, strlen(text), &p, NULL), 0);
	cr_assert_eq(p.n, 0);
	gocfg_paths_release(&p);
}

Test(gocfg, embedcfg_rewrite)
{
	struct buf out;
	struct err e = {0};
	json_t *root, *files, *pats;
	const char *key;
	json_t *v;
	size_t i = 0;
	static const char *const keys[] = {"hello.txt", "static/b.js", "static/a.css"};
	static const char *const vals[] = {"/S/tmp/probe2/m/hello.txt",
					   "/S/tmp/probe2/m/static/b.js", "rel/a.css"};

	buf_init(&out);
	cr_assert_eq(gocfg_embedcfg_rewrite(embedcfg, strlen(embedcfg), "/S", &out, &e), 0, "%s",
		     err_msg(&e));
	root = json_loads(out.data, 0, NULL);
	cr_assert_not_null(root, "output is not JSON: %s", out.data);
	files = json_object_get(root, "Files");
	json_object_foreach(files, key, v) {
		cr_assert_lt(i, 3);
		cr_assert_str_eq(key, keys[i], "order of Files");
		cr_assert_str_eq(json_string_value(v), vals[i]);
		i++;
	}
	cr_assert_eq(i, 3);
	pats = json_object_get(root, "Patterns");
	cr_assert_eq(json_object_size(pats), 2);
	cr_assert_str_eq(json_string_value(json_array_get(json_object_get(pats, "static/*"), 1)),
			 "static/b.js");
	cr_assert_eq(json_object_size(root), 2);
	/* and it lists as compile will read it */
	struct gocfg_paths p = {0, NULL};
	cr_assert_eq(gocfg_embedcfg_files(out.data, out.len, &p, NULL), 0);
	check_paths(&p, vals, 3);
	gocfg_paths_release(&p);
	json_decref(root);
	buf_release(&out);
}

/* What compile rejects, and what Go would read differently from jansson. */
Test(gocfg, embedcfg_malformed)
{
	static const char *const bad[] = {
		"",
		"[]",
		"{\"Patterns\":{}}",
		"{\"Files\":{}}",
		"{\"Patterns\":{},\"Files\":null}",
		"{\"Patterns\":null,\"Files\":{}}",
		"{\"Patterns\":{},\"Files\":{\"a\":1}}",
		"{\"Patterns\":{\"a\":\"a\"},\"Files\":{}}",
		"{\"Patterns\":{\"a\":[1]},\"Files\":{}}",
		"{\"Patterns\":{},\"Files\":{},\"files\":{\"x\":\"/etc/passwd\"}}",
		"{\"Patterns\":{},\"Files\":{\"a\":\"/a\",\"a\":\"/b\"}}",
		"{\"Patterns\":{},\"Files\":{}} trailing",
		"{\"Patterns\":{},\"Files\":{\"a\":\"/a\\u0000b\"}}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gocfg_paths p = {0, NULL};
		struct buf out;
		struct err e = {0};
		buf_init(&out);
		cr_assert_lt(gocfg_embedcfg_files(bad[i], strlen(bad[i]), &p, &e), 0, "listed %s",
			     bad[i]);
		cr_assert_null(p.paths);
		cr_assert_neq(err_msg(&e)[0], '\0', "%s: no message", bad[i]);
		cr_assert_lt(gocfg_embedcfg_rewrite(bad[i], strlen(bad[i]), "/S", &out, NULL), 0,
			     "rewrote %s", bad[i]);
		cr_assert_eq(out.len, 0);
		buf_release(&out);
	}
}

/* Patterns with a null list are what encoding/json accepts too. */
Test(gocfg, embedcfg_null_pattern_list)
{
	static const char text[] = "{\"Patterns\":{\"a\":null},\"Files\":{\"a\":\"/a\"}}";
	struct gocfg_paths p = {0, NULL};

	cr_assert_eq(gocfg_embedcfg_files(text, strlen(text), &p, NULL), 0);
	cr_assert_eq(p.n, 1);
	gocfg_paths_release(&p);
}
