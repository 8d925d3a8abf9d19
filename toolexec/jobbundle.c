#include "job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bundle.h"
#include "fsutil.h"
#include "goarchive.h"
#include "protocol.h"

#include "banned.h"

/* Reading, hashing and bundling the inputs: the HTTP path only (the local
 * socket path sends paths, and the daemon reads the files in place). */

static int job_load_file(struct job *j, struct job_file *f, size_t max)
{
	struct err le = {0};

	if (!f->loaded && f->archive && goarchive_pkgdef(f->path, &f->data, &le) == 0)
		f->loaded = 1;
	if (!f->loaded && fs_read_file(f->path, max, &f->data, &le) < 0) {
		buf_release(&f->data); /* a failed read may have appended */
		return job_local(j, "input %s", err_msg(&le));
	}
	f->loaded = 1;
	if (f->data.len > max)
		return job_local(j, "inputs exceed %u bytes", JOB_MAX_DECOMPRESSED);
	hash_buf(f->data.data, f->data.len, f->blob);
	return 0;
}

int job_load_files(struct job *j)
{
	size_t total = 0;

	for (size_t i = 0; i < j->nfiles; i++) {
		if (job_load_file(j, &j->files[i], JOB_MAX_DECOMPRESSED - total) < 0)
			return -1;
		total += j->files[i].data.len;
	}
	return 0;
}

static json_t *job_blob_file(const struct job_file *f)
{
	return json_pack("{s:s, s:s}", "path", f->path, "blob", f->blob);
}

/* The manifest text (caller frees), or NULL when some string is not UTF-8. */
static char *job_manifest(const struct job *j, int compress, int client_may_run)
{
	return job_request_text(
	    j, job_blob_file,
	    json_pack("{s:s, s:b, s:b}", "toolchain", j->toolchain, "compress", compress,
		      "client_may_run", client_may_run));
}

static int job_file_cmp_blob(const void *a, const void *b)
{
	const struct job_file *const *fa = a, *const *fb = b;

	return strcmp((*fa)->blob, (*fb)->blob);
}

static int job_wants(const struct job_want *want, const struct job_file *f)
{
	if (!want || want->all || !f->archive || f->data.len <= JOB_INLINE_MAX)
		return 1;
	for (size_t i = 0; i < want->n; i++)
		if (strcmp(want->blobs[i], f->blob) == 0)
			return 1;
	return 0;
}

/* Adds one blob entry per distinct content that want selects. */
static int job_add_blobs(struct job *j, const struct job_want *want, struct bundle_writer *w,
			 struct err *e)
{
	struct job_file **by_blob = xcalloc(j->nfiles + 1, sizeof(*by_blob));
	int r = 0;

	for (size_t i = 0; i < j->nfiles; i++)
		by_blob[i] = &j->files[i];
	qsort(by_blob, j->nfiles, sizeof(*by_blob), job_file_cmp_blob);
	for (size_t i = 0; r == 0 && i < j->nfiles; i++) {
		struct job_file *f = by_blob[i];
		char name[sizeof(ENTRY_BLOB_PREFIX) + HASH_HEX_LEN];

		if (i > 0 && strcmp(by_blob[i - 1]->blob, f->blob) == 0)
			continue;
		if (!job_wants(want, f))
			continue;
		snprintf(name, sizeof(name), ENTRY_BLOB_PREFIX "%s", f->blob);
		r = bundle_writer_add(w, name, f->data.data, f->data.len, e);
	}
	free(by_blob);
	return r;
}

int job_bundle(struct job *j, int compress, int client_may_run, const struct job_want *want,
	       char **ret_data, size_t *ret_len, struct err *e)
{
	struct bundle_writer *w = NULL;
	char *manifest = job_manifest(j, compress, client_may_run);
	int r = -1;

	if (!manifest) {
		job_local(j, "cannot encode the manifest: an argument or path is not UTF-8");
		goto out;
	}
	if (!(w = bundle_writer_new(compress ? BUNDLE_ZSTD : 0, 1, e)))
		goto out;
	if ((r = bundle_writer_add(w, ENTRY_MANIFEST, manifest, strlen(manifest), e)) < 0 ||
	    (r = job_add_blobs(j, want, w, e)) < 0)
		goto out;
	r = bundle_writer_finish(w, ret_data, ret_len, e);
out:
	bundle_writer_free(w);
	free(manifest);
	return r;
}
