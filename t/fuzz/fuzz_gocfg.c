/*
 * common/gocfg.c: the -importcfg and -embedcfg files of a job, which arrive
 * as blobs of a POST /v1/job bundle (or as text on the local socket); the
 * daemon lists the files they name and rewrites them into the sandbox.
 * Every input is read both ways. A file that lists must rewrite (the
 * rewrite passes directives it does not know, the listing refuses them),
 * and the rewrite must keep its meaning: read again, it names the same
 * files, absolute ones under the prefix. The package paths an importcfg
 * lists match its files one for one, and survive the rewrite.
 */
#include "fuzz.h"

#include "buf.h"
#include "err.h"
#include "gocfg.h"

#define PREFIX "/sandbox/j1"

typedef int files_fn(const char *text, size_t len, struct gocfg_paths *ret, struct err *e);
typedef int rewrite_fn(const char *text, size_t len, const char *prefix, struct buf *out,
		       struct err *e);

static void check(const char *text, size_t len, files_fn *files, rewrite_fn *rewrite)
{
	struct gocfg_paths before = {0}, after = {0};
	struct buf out;
	struct err e = {0};
	int fr, rr;

	buf_init(&out);
	fr = files(text, len, &before, &e);
	err_clear(&e);
	rr = rewrite(text, len, PREFIX, &out, &e);
	FUZZ_ASSERT(fr < 0 || rr == 0);
	if (fr == 0 && rr == 0) {
		FUZZ_ASSERT(files(out.data, out.len, &after, &e) == 0);
		FUZZ_ASSERT(after.n == before.n);
		for (size_t i = 0; i < before.n; i++) {
			const char *b = before.paths[i], *a = after.paths[i];

			if (b[0] == '/')
				FUZZ_ASSERT(strncmp(a, PREFIX, strlen(PREFIX)) == 0 &&
					    strcmp(a + strlen(PREFIX), b) == 0);
			else
				FUZZ_ASSERT(strcmp(a, b) == 0);
		}
	}
	gocfg_paths_release(&before);
	gocfg_paths_release(&after);
	buf_release(&out);
}

/* The package paths of an importcfg (the dispatcher's build graph): one per
 * file listed, and a rewrite keeps them. (A path may hold NUL bytes, as
 * compile's parser allows; as a C string it may then even be empty.) */
static void check_packages(const char *text, size_t len)
{
	struct gocfg_paths files = {0}, pkgs = {0}, again = {0};
	struct buf out;
	int fr = gocfg_importcfg_files(text, len, &files, NULL);
	int pr = gocfg_importcfg_packages(text, len, &pkgs, NULL);

	buf_init(&out);
	FUZZ_ASSERT((fr < 0) == (pr < 0));
	if (pr == 0) {
		FUZZ_ASSERT(pkgs.n == files.n);
		FUZZ_ASSERT(gocfg_importcfg_rewrite(text, len, PREFIX, &out, NULL) == 0);
		FUZZ_ASSERT(gocfg_importcfg_packages(out.data, out.len, &again, NULL) == 0);
		FUZZ_ASSERT(again.n == pkgs.n);
		for (size_t i = 0; i < pkgs.n; i++)
			FUZZ_ASSERT(strcmp(again.paths[i], pkgs.paths[i]) == 0);
	}
	gocfg_paths_release(&files);
	gocfg_paths_release(&pkgs);
	gocfg_paths_release(&again);
	buf_release(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check((const char *)data, size, gocfg_importcfg_files, gocfg_importcfg_rewrite);
	check_packages((const char *)data, size);
	check((const char *)data, size, gocfg_embedcfg_files, gocfg_embedcfg_rewrite);
	return 0;
}
