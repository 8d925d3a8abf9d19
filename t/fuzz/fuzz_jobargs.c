/*
 * dispatchd/jobargs.c (with common/goargs.c and common/gocfg.c): a job's
 * tool arguments, checked against its manifest, and the importcfg and
 * embedcfg it carries, as dispatchd checks a POST /v1/job request once
 * every blob has arrived.
 *
 * Input: manifest.json (the HTTP form), then, after each NUL byte, the
 * content of the next file of the manifest in path order (a file without a
 * part is empty). The harness names each blob by its content, as a client
 * would, so that the fuzzer reaches the config parsers without forging
 * hashes.
 */
#include "fuzz.h"

#include "../../dispatchd/blobs.h"
#include "../../dispatchd/jobargs.h"
#include "../../dispatchd/manifest.h"
#include "err.h"
#include "fsutil.h"
#include "goargs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_parts p;
	struct manifest *m = NULL;
	struct jobargs ja = {0};
	struct blobs blobs;
	struct err e = {0};

	fuzz_split(data, size, 64, &p);
	blobs_init(&blobs);
	if (manifest_parse(p.parts[0], p.lens[0], &m, &e) < 0)
		goto out;
	for (size_t i = 0; i < m->nfiles; i++) {
		const char *text = i + 1 < p.n ? p.parts[i + 1] : "";
		size_t len = i + 1 < p.n ? p.lens[i + 1] : 0;

		blobs_add_content(&blobs, text, len, m->files[i].blob);
	}
	blobs_seal(&blobs);
	if (jobargs_check(&ja, m, &blobs, &e) < 0)
		goto out;
	FUZZ_ASSERT(ja.ga && !ja.ga->local_reason);
	FUZZ_ASSERT(ja.outs.n == ja.outs_abs.n);
	for (size_t i = 0; i < ja.outs_abs.n; i++)
		FUZZ_ASSERT(fs_path_is_clean_abs(ja.outs_abs.paths[i]));
	for (size_t i = 0; i < ja.topdirs.n; i++)
		FUZZ_ASSERT(!strchr(ja.topdirs.paths[i], ';') && !strstr(ja.topdirs.paths[i], "=>"));
out:
	jobargs_release(&ja);
	blobs_release(&blobs);
	manifest_free(m);
	fuzz_parts_free(&p);
	return 0;
}
