/*
 * common/bundle.c: a job bundle (tar, optionally zstd) as dispatchd reads a
 * POST /v1/job body, with the daemon's limits. Every entry handed out must
 * have a valid name and stay within the limits.
 */
#include "fuzz.h"

#include "bundle.h"
#include "err.h"
#include "protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct bundle_limits lim = {
	    .max_entries = JOB_MAX_ENTRIES,
	    .max_entry_size = JOB_MAX_DECOMPRESSED,
	    .max_total = JOB_MAX_DECOMPRESSED,
	};
	struct err e = {0};
	struct bundle_reader *r = bundle_reader_new(data, size, &lim, &e);
	const char *name, *body;
	size_t len, n = 0, total = 0;
	int k;

	if (!r)
		return 0;
	while ((k = bundle_reader_next(r, &name, &body, &len, &e)) > 0) {
		FUZZ_ASSERT(bundle_name_is_valid(name));
		FUZZ_ASSERT(body[len] == '\0');
		FUZZ_ASSERT(len <= lim.max_entry_size);
		total += len;
		n++;
	}
	FUZZ_ASSERT(n <= lim.max_entries && total <= lim.max_total);
	FUZZ_ASSERT(k == 0 || e.set);
	/* A reader that ended or failed stays so. */
	FUZZ_ASSERT(bundle_reader_next(r, &name, &body, &len, NULL) == (k == 0 ? 0 : -1));
	bundle_reader_free(r);
	return 0;
}
