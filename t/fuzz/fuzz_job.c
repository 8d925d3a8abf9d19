/*
 * dispatchd/job.c: the body of POST /v1/job as the daemon checks it before
 * anything runs: the bundle (common/bundle.c), manifest.json first
 * (dispatchd/manifest.c), then verified blob/<sha256> entries
 * (dispatchd/blobs.c), and, when the request lacks nothing, the tool
 * arguments against the manifest with the importcfg and embedcfg the
 * blobs hold (dispatchd/jobargs.c, common/goargs.c, common/gocfg.c).
 * job.c is included to reach its static job_read_bundle().
 */
#include "fuzz.h"

#include "../../dispatchd/job.c"
#include "fsutil.h"

/* Whether every file of the manifest has its blob, as job_find_missing()
 * requires before the arguments are checked. */
static int has_all_blobs(const struct job *j)
{
	for (size_t i = 0; i < j->m->nfiles; i++)
		if (!blobs_find(&j->blobs, j->m->files[i].blob))
			return 0;
	return 1;
}

static void check_jobargs(const struct job *j)
{
	const struct jobargs *ja = &j->ja;

	FUZZ_ASSERT(ja->outs.n == ja->outs_abs.n);
	for (size_t i = 0; i < ja->outs_abs.n; i++)
		FUZZ_ASSERT(fs_path_is_clean_abs(ja->outs_abs.paths[i]));
	FUZZ_ASSERT(!ja->importcfg || manifest_find(j->m, ja->importcfg));
	FUZZ_ASSERT(!ja->embedcfg || manifest_find(j->m, ja->embedcfg));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct job j = {0};
	struct err e = {0};

	blobs_init(&j.blobs);
	run_result_init(&j.run);
	if (job_read_bundle(&j, (const char *)data, size, &e) == 0 && has_all_blobs(&j) &&
	    jobargs_check(&j.ja, j.m, &j.blobs, &e) == 0)
		check_jobargs(&j);
	job_release(&j);
	return 0;
}
