/*
 * dispatchd/manifest.c: the manifest.json of POST /v1/job (manifest_parse())
 * and the request of the local socket (manifest_parse_local()), both from a
 * client. Every input goes through both; a manifest that parses must hold
 * the invariants manifest.h promises.
 */
#include "fuzz.h"

#include "../../dispatchd/manifest.h"
#include "err.h"
#include "fsutil.h"
#include "protocol.h"

static void check(const struct manifest *m, int local)
{
	FUZZ_ASSERT(fs_path_is_clean_abs(m->cwd));
	FUZZ_ASSERT(m->args[m->nargs] == NULL && m->env[m->nenv] == NULL);
	for (size_t i = 0; i < m->nargs; i++)
		FUZZ_ASSERT(strlen(m->args[i]) <= PATH_MAX_BYTES);
	for (size_t i = 0; i < m->nenv; i++)
		FUZZ_ASSERT(strchr(m->env[i], '='));
	FUZZ_ASSERT(local ? m->tool_path && fs_path_is_clean_abs(m->tool_path) : !m->tool_path);
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct manifest_file *f = &m->files[i];

		FUZZ_ASSERT(fs_path_is_clean_abs(f->path));
		FUZZ_ASSERT(i == 0 || strcmp(m->files[i - 1].path, f->path) < 0);
		FUZZ_ASSERT(manifest_find(m, f->path) == f);
		FUZZ_ASSERT(local || !f->text);
	}
	FUZZ_ASSERT(!manifest_dir_conflicts(m, m->cwd));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (int local = 0; local < 2; local++) {
		struct manifest *m = NULL;
		struct err e = {0};

		if ((local ? manifest_parse_local : manifest_parse)((const char *)data, size, &m,
								     &e) < 0) {
			FUZZ_ASSERT(e.set && !m);
			continue;
		}
		check(m, local);
		manifest_free(m);
	}
	return 0;
}
