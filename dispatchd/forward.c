#include "forward.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "answer.h"
#include "blobs.h"
#include "buf.h"
#include "bundle.h"
#include "err.h"
#include "fsutil.h"
#include "goarchive.h"
#include "gocfg.h"
#include "hash.h"
#include "hashcache.h"
#include "hashset.h"
#include "manifest.h"
#include "peer.h"
#include "protocol.h"
#include "stats.h"

#include "banned.h"

/* zstd level of forwarded bundles: the cheapest at 1 Gbit/s, counting the
 * sender's CPU (t/bench/run-zstd). */
#define FORWARD_ZSTD_LEVEL 1
#define FORWARD_ERROR_BODY_MAX (64u << 10)
#define FORWARD_CONNECT_TIMEOUT_MS 2000L

/* What is sent for one file: an imported archive's export data or the
 * whole file. */
#define FORWARD_KIND_EXPORT "export"
#define FORWARD_KIND_FILE "file"

/* One file's content for the bundle: a blob of the request, or a linked
 * file of the client's, read when its content must travel. */
struct forward_file {
	char blob[HASH_HEX_LEN + 1];
	const char *path; /* linked: read from here; NULL: borrowed */
	int is_archive;	  /* linked import archive: its export data */
	struct buf data;  /* read here */
	const char *content;
	size_t len;
	int loaded;
	int dup;   /* an earlier file has the same blob */
	int force; /* the volunteer said it lacks this blob: send it */
};

struct forward_job {
	const struct forward_req *r;
	struct forward_file *files;
	size_t nfiles;
	char *manifest;
	int blob_409s; /* 409 answers naming blobs so far */
};

/* A linked file's content as sent: export data for an import archive
 * (the whole file when it is no archive), else the whole file. */
static int forward_read(const struct forward_file *f, struct buf *out, struct err *e)
{
	struct err ae = {0};

	if (f->is_archive && goarchive_pkgdef(f->path, out, &ae) == 0)
		return 0;
	buf_reset(out);
	return fs_read_file(f->path, JOB_MAX_DECOMPRESSED, out, e);
}

/* Reads a linked file's content as sent and names it by hash into hex. */
static int forward_take(struct forward_file *f, char hex[HASH_HEX_LEN + 1], struct err *e)
{
	if (forward_read(f, &f->data, e) < 0)
		return -1;
	hash_buf(f->data.data, f->data.len, hex);
	f->content = f->data.data;
	f->len = f->data.len;
	f->loaded = 1;
	return 0;
}

/* Names a linked file's content: from the hash cache when it knows the
 * file, else by reading it (and then keeping what was read). */
static int forward_name(const struct forward_req *r, struct forward_file *f, struct err *e)
{
	const char *kind = f->is_archive ? FORWARD_KIND_EXPORT : FORWARD_KIND_FILE;
	struct stat st;

	if (stat(f->path, &st) < 0)
		return err_errno(e, errno, "%s", f->path);
	if (r->hashes && hashcache_get(r->hashes, &st, kind, f->blob))
		return 0;
	if (forward_take(f, f->blob, e) < 0)
		return -1;
	if (r->hashes)
		hashcache_put(r->hashes, &st, kind, f->blob);
	return 0;
}

/* Reads a linked file whose content must travel, named from the cache:
 * it must still hash to that name. */
static int forward_load(struct forward_file *f, struct err *e)
{
	char got[HASH_HEX_LEN + 1];

	if (f->loaded)
		return 0;
	if (forward_take(f, got, e) < 0)
		return -1;
	if (strcmp(got, f->blob) != 0)
		return err_set(e, "%s: changed while the build ran", f->path);
	return 0;
}

static int forward_file_init(const struct forward_req *r, const struct manifest_file *mf,
			     struct forward_file *f, struct err *e)
{
	const struct blob *b;

	buf_init(&f->data);
	if (mf->link) {
		f->path = mf->path;
		f->is_archive = gocfg_paths_contains(r->archives, mf->path);
		return forward_name(r, f, e);
	}
	if (!(b = blobs_find(r->blobs, mf->blob)))
		return err_set(e, "%s: blob %s not held", mf->path, mf->blob);
	memcpy(f->blob, mf->blob, sizeof(f->blob));
	f->content = b->data;
	f->len = b->len;
	f->loaded = 1;
	return 0;
}

static json_t *forward_env_json(const struct manifest *m)
{
	json_t *env = json_object();

	for (size_t i = 0; env && i < m->nenv; i++) {
		const char *eq = strchr(m->env[i], '=');
		char *name = xstrndup(m->env[i], (size_t)(eq - m->env[i]));

		json_object_set_new(env, name, json_string(eq + 1));
		free(name);
	}
	return env;
}

static char *forward_manifest(const struct forward_req *r, const struct forward_file *files)
{
	const struct manifest *m = r->m;
	json_t *args = json_array(), *list = json_array(), *doc;
	char *text;

	for (size_t i = 0; args && i < m->nargs; i++)
		json_array_append_new(args, json_string(m->args[i]));
	for (size_t i = 0; list && i < m->nfiles; i++)
		json_array_append_new(list, json_pack("{s:s, s:s}", "path", m->files[i].path,
						      "blob", files[i].blob));
	doc = json_pack("{s:i, s:s, s:s, s:o, s:s, s:o, s:o, s:b, s:b}", "protocol",
			PROTOCOL_VERSION, "tool", goargs_tool_name(m->tool),
			"toolchain", m->toolchain, "args", args, "cwd", m->cwd, "env",
			forward_env_json(m), "files", list, "merge_output", m->merge_output,
			"compress", 1);
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return text;
}

int forward_prepare(const struct forward_req *r, struct forward_job **ret, struct err *e)
{
	const struct manifest *m = r->m;
	struct forward_job *fj = xcalloc(1, sizeof(*fj));

	*ret = NULL;
	fj->r = r;
	fj->files = xcalloc(m->nfiles + 1, sizeof(*fj->files));
	for (; fj->nfiles < m->nfiles; fj->nfiles++)
		if (forward_file_init(r, &m->files[fj->nfiles], &fj->files[fj->nfiles], e) < 0) {
			fj->nfiles++;
			goto fail;
		}
	for (size_t i = 0; i < fj->nfiles; i++)
		for (size_t k = 0; k < i && !fj->files[i].dup; k++)
			fj->files[i].dup = strcmp(fj->files[k].blob, fj->files[i].blob) == 0;
	if (!(fj->manifest = forward_manifest(r, fj->files))) {
		err_set(e, "manifest: cannot encode (not UTF-8?)");
		goto fail;
	}
	*ret = fj;
	return 0;
fail:
	forward_job_free(fj);
	return -1;
}

void forward_job_free(struct forward_job *fj)
{
	if (!fj)
		return;
	for (size_t i = 0; i < fj->nfiles; i++)
		buf_release(&fj->files[i].data);
	free(fj->files);
	free(fj->manifest);
	free(fj);
}

/* The request body for p: the manifest and each distinct blob that p is
 * not known to hold (known NULL: every blob) or said it lacks, which p is
 * then taken to hold; sent[i] says whether file i's blob went along. */
static int forward_body(struct forward_job *fj, struct hashset *known, char *sent,
			char **ret_body, size_t *ret_len, struct err *e)
{
	struct bundle_writer *w = bundle_writer_new(BUNDLE_ZSTD, FORWARD_ZSTD_LEVEL, e);
	size_t left = JOB_MAX_DECOMPRESSED;
	char *body = NULL;
	size_t len = 0;
	int r = -1;

	memset(sent, 0, fj->nfiles);
	if (!w || bundle_writer_add(w, ENTRY_MANIFEST, fj->manifest, strlen(fj->manifest), e) < 0)
		goto out;
	for (size_t i = 0; i < fj->nfiles; i++) {
		struct forward_file *f = &fj->files[i];
		char name[sizeof(ENTRY_BLOB_PREFIX) + HASH_HEX_LEN];

		if (f->dup || (!f->force && known && hashset_has(known, f->blob)))
			continue;
		if (forward_load(f, e) < 0)
			goto out;
		if (f->len > left) {
			err_set(e, "inputs exceed %u bytes", JOB_MAX_DECOMPRESSED);
			goto out;
		}
		left -= f->len;
		snprintf(name, sizeof(name), ENTRY_BLOB_PREFIX "%s", f->blob);
		if (bundle_writer_add(w, name, f->content, f->len, e) < 0)
			goto out;
		sent[i] = 1;
	}
	if (bundle_writer_finish(w, &body, &len, e) < 0)
		goto out;
	free(*ret_body);
	*ret_body = body;
	*ret_len = len;
	for (size_t i = 0; known && i < fj->nfiles; i++)
		if (sent[i])
			hashset_add(known, fj->files[i].blob);
	r = 0;
out:
	bundle_writer_free(w);
	return r;
}

/* After a failed request: what it carried may not have arrived. */
static void forward_forget(struct forward_job *fj, struct hashset *known, const char *sent)
{
	for (size_t i = 0; known && i < fj->nfiles; i++)
		if (sent[i])
			hashset_remove(known, fj->files[i].blob);
}

/* Reads a 409 answer: whether the toolchain is missing, and marks the
 * job's blobs that are to be sent again. A blob that was sent with this
 * very request, or that is no blob of the job, makes the answer unusable. */
static int forward_missing(struct forward_job *fj, struct hashset *known, const char *sent,
			   const struct peer_reply *rep, int *ret_toolchain, struct err *e)
{
	json_t *o = json_loadb(rep->body.data, rep->body.len, 0, NULL);
	json_t *blobs = json_object_get(o, "blobs"), *v;
	size_t k;
	int r = 0;

	*ret_toolchain = json_is_true(json_object_get(o, "toolchain"));
	if (!o || (blobs && !json_is_array(blobs)))
		r = err_set(e, "malformed 409 answer");
	json_array_foreach(blobs, k, v) {
		const char *h = json_string_value(v);
		size_t i = 0;

		while (h && i < fj->nfiles && strcmp(fj->files[i].blob, h) != 0)
			i++;
		if (!h || i == fj->nfiles) {
			r = err_set(e, "409 answer names a blob the job does not have");
			break;
		}
		if (sent[i]) {
			r = err_set(e, "409 answer names blob %s, which was sent", h);
			break;
		}
		fj->files[i].force = 1;
		if (known)
			hashset_remove(known, h);
	}
	if (json_array_size(blobs) > 0)
		fj->blob_409s++;
	if (r == 0 && !*ret_toolchain && json_array_size(blobs) == 0)
		r = err_set(e, "409 answer names nothing missing");
	json_decref(o);
	return r;
}

static int forward_upload(struct peer *p, const struct forward_req *r, struct err *e)
{
	struct buf bin;
	struct peer_reply rep = {0};
	char *path = xasprintf(ROUTE_TOOLCHAIN_PREFIX "%s", r->m->toolchain);
	struct peer_call c = {.method = "PUT",
			      .path = path,
			      .expect_continue = 1,
			      .timeout_ms = r->timeout_ms,
			      .connect_timeout_ms = FORWARD_CONNECT_TIMEOUT_MS,
			      .max_reply = FORWARD_ERROR_BODY_MAX,
			      .cancel_fd = r->cancel_fd,
			      .give_up = r->give_up,
			      .give_up_arg = r->give_up_arg};
	int rc = -1;

	buf_init(&bin);
	buf_init(&rep.body);
	if (fs_read_file(r->tool_exe, TOOLCHAIN_MAX_BYTES, &bin, e) < 0)
		goto out;
	c.body = bin.data;
	c.len = bin.len;
	c.body_hex = r->m->toolchain; /* the store's file hashes to its name */
	rc = peer_call(p, &c, &rep, e);
	if (r->stats) /* an early answer (another upload won) sends no body */
		stats_forward_request(r->stats, rep.sent);
	if (rc < 0) {
		rc = FORWARD_E_UNREACHABLE;
		goto out;
	}
	if (rep.status != 200 && rep.status != 201) {
		err_set(e, "%s: toolchain upload answered %ld", peer_url(p), rep.status);
		rc = rep.status == 403 ? FORWARD_E_REFUSED : FORWARD_E_ANSWER;
	}
out:
	buf_release(&bin);
	buf_release(&rep.body);
	free(path);
	return rc;
}

static int forward_post(struct peer *p, const struct forward_req *r, const char *body, size_t len,
			struct peer_reply *rep, struct err *e)
{
	struct peer_call c = {.method = "POST",
			      .path = ROUTE_JOB,
			      .body = body,
			      .len = len,
			      .extra_header = FORWARDED_HEADER ": 1",
			      .timeout_ms = r->timeout_ms,
			      .connect_timeout_ms = FORWARD_CONNECT_TIMEOUT_MS,
			      .max_reply = answer_max_bytes(r->nouts),
			      .cancel_fd = r->cancel_fd,
			      .give_up = r->give_up,
			      .give_up_arg = r->give_up_arg};

	int rc;

	buf_reset(&rep->body);
	rep->status = 0;
	rc = peer_call(p, &c, rep, e);
	if (r->stats)
		stats_forward_request(r->stats, rep->sent);
	return rc < 0 ? FORWARD_E_UNREACHABLE : 0;
}

/* A short form of an error answer's body, for the log. */
static void forward_error_text(const struct peer_reply *rep, char *out, size_t cap)
{
	size_t n = rep->body.len < cap - 1 ? rep->body.len : cap - 1;

	for (size_t i = 0; i < n; i++)
		out[i] = rep->body.data[i] >= ' ' && rep->body.data[i] <= '~' ? rep->body.data[i]
									      : '?';
	out[n] = '\0';
}

/* Posts one job may take: the first, one after the toolchain's upload, one
 * with the blobs a 409 named, and one with every blob (a store smaller
 * than the job's inputs evicts some to keep the others). */
#define FORWARD_MAX_POSTS 4

int forward_send(struct peer *p, struct forward_job *fj, int *ret_uploaded, struct answer **ret,
		 struct err *e)
{
	const struct forward_req *r = fj->r;
	struct hashset *known = peer_blobs(p);
	struct peer_reply rep = {0};
	struct err ae = {0};
	char text[200], *sent = xcalloc(fj->nfiles + 1, 1), *body = NULL;
	size_t len = 0;
	int rc = FORWARD_E_ANSWER, posts = 0, toolchain;

	buf_init(&rep.body);
	*ret_uploaded = 0;
	/* What another host lacked says nothing about this one. */
	fj->blob_409s = 0;
	for (size_t i = 0; i < fj->nfiles; i++)
		fj->files[i].force = 0;
	for (;;) {
		if (forward_body(fj, known, sent, &body, &len, e) < 0) {
			rc = -1;
			goto out;
		}
		posts++;
		if ((rc = forward_post(p, r, body, len, &rep, e)) < 0) {
			forward_forget(fj, known, sent);
			goto out;
		}
		if (rep.status != 409)
			break;
		if (forward_missing(fj, known, sent, &rep, &toolchain, &ae) < 0) {
			err_set(e, "%s: %s", peer_url(p), err_msg(&ae));
			rc = FORWARD_E_ANSWER;
			goto out;
		}
		if (posts == FORWARD_MAX_POSTS || (toolchain && *ret_uploaded)) {
			err_set(e, "%s: still lacks %s after %d requests", peer_url(p),
				toolchain ? "the toolchain" : "blobs", posts);
			rc = FORWARD_E_ANSWER;
			goto out;
		}
		if (toolchain) {
			if ((rc = forward_upload(p, r, e)) < 0)
				goto out;
			*ret_uploaded = 1;
		}
		if (fj->blob_409s > 1)
			for (size_t i = 0; i < fj->nfiles; i++)
				fj->files[i].force = 1;
	}
	if (rep.status != 200) {
		forward_forget(fj, known, sent);
		forward_error_text(&rep, text, sizeof(text));
		err_set(e, "%s: answered %ld: %s", peer_url(p), rep.status, text);
		rc = rep.status == 413	 ? FORWARD_E_TOO_LARGE
		     : rep.status == 422 ? FORWARD_E_LIMIT
		     : rep.status == 403 ? FORWARD_E_REFUSED
					 : FORWARD_E_ANSWER;
		goto out;
	}
	if (answer_parse(rep.body.data, rep.body.len, r->outs, r->nouts, ret, &ae) < 0) {
		err_set(e, "%s: unusable answer: %s", peer_url(p), err_msg(&ae));
		rc = FORWARD_E_ANSWER;
		goto out;
	}
	rc = 0;
out:
	free(body);
	free(sent);
	buf_release(&rep.body);
	return rc;
}
