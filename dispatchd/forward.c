#include "forward.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
#include "manifest.h"
#include "peer.h"
#include "protocol.h"

#include "banned.h"

/* zstd level of forwarded bundles: the fastest (measured for the shim). */
#define FORWARD_ZSTD_LEVEL 1
#define FORWARD_ERROR_BODY_MAX (64u << 10)
#define FORWARD_CONNECT_TIMEOUT_MS 2000L

/* One file's content for the bundle: a blob of the request, or read. */
struct forward_file {
	char blob[HASH_HEX_LEN + 1];
	struct buf data; /* read here; empty when the blob is borrowed */
	const char *borrowed;
	size_t len;
};

/* The content of file i: its blob, or the client's file read now. */
static int forward_load(const struct forward_req *r, const struct manifest_file *mf,
			struct forward_file *f, size_t *left, struct err *e)
{
	const struct blob *b;

	buf_init(&f->data);
	if (!mf->link) {
		if (!(b = blobs_find(r->blobs, mf->blob)))
			return err_set(e, "%s: blob %s not held", mf->path, mf->blob);
		memcpy(f->blob, mf->blob, sizeof(f->blob));
		f->borrowed = b->data;
		f->len = b->len;
	} else {
		struct err ae = {0};

		if (!gocfg_paths_contains(r->archives, mf->path) ||
		    goarchive_pkgdef(mf->path, &f->data, &ae) < 0) {
			buf_reset(&f->data);
			if (fs_read_file(mf->path, *left, &f->data, e) < 0)
				return -1;
		}
		hash_buf(f->data.data, f->data.len, f->blob);
		f->borrowed = f->data.data;
		f->len = f->data.len;
	}
	if (f->len > *left)
		return err_set(e, "inputs exceed %u bytes", JOB_MAX_DECOMPRESSED);
	*left -= f->len;
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
			PROTOCOL_VERSION, "tool", m->tool == GOARGS_ASM ? "asm" : "compile",
			"toolchain", m->toolchain, "args", args, "cwd", m->cwd, "env",
			forward_env_json(m), "files", list, "merge_output", m->merge_output,
			"compress", 1);
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	return text;
}

/* Adds each distinct blob once. */
static int forward_add_blobs(struct bundle_writer *w, const struct forward_file *files, size_t n,
			     struct err *e)
{
	for (size_t i = 0; i < n; i++) {
		char name[sizeof(ENTRY_BLOB_PREFIX) + HASH_HEX_LEN];
		int seen = 0;

		for (size_t k = 0; k < i && !seen; k++)
			seen = strcmp(files[k].blob, files[i].blob) == 0;
		if (seen)
			continue;
		snprintf(name, sizeof(name), ENTRY_BLOB_PREFIX "%s", files[i].blob);
		if (bundle_writer_add(w, name, files[i].borrowed, files[i].len, e) < 0)
			return -1;
	}
	return 0;
}

int forward_bundle(const struct forward_req *r, char **ret_body, size_t *ret_len, struct err *e)
{
	const struct manifest *m = r->m;
	struct forward_file *files = xcalloc(m->nfiles + 1, sizeof(*files));
	struct bundle_writer *w = NULL;
	size_t left = JOB_MAX_DECOMPRESSED, loaded = 0;
	char *text = NULL;
	int rc = -1;

	for (; loaded < m->nfiles; loaded++)
		if (forward_load(r, &m->files[loaded], &files[loaded], &left, e) < 0) {
			loaded++;
			goto out;
		}
	if (!(text = forward_manifest(r, files))) {
		err_set(e, "manifest: cannot encode (not UTF-8?)");
		goto out;
	}
	if (!(w = bundle_writer_new(BUNDLE_ZSTD, FORWARD_ZSTD_LEVEL, e)) ||
	    bundle_writer_add(w, ENTRY_MANIFEST, text, strlen(text), e) < 0 ||
	    forward_add_blobs(w, files, m->nfiles, e) < 0 ||
	    bundle_writer_finish(w, ret_body, ret_len, e) < 0)
		goto out;
	rc = 0;
out:
	bundle_writer_free(w);
	free(text);
	for (size_t i = 0; i < loaded; i++)
		buf_release(&files[i].data);
	free(files);
	return rc;
}

/* "missing" naming the toolchain only: 1; anything else: 0. */
static int forward_lacks_toolchain(const struct peer_reply *rep)
{
	json_t *o = json_loadb(rep->body.data, rep->body.len, 0, NULL);
	json_t *blobs = json_object_get(o, "blobs");
	int r = json_is_true(json_object_get(o, "toolchain")) &&
		(!blobs || (json_is_array(blobs) && json_array_size(blobs) == 0));

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
			      .cancel_fd = r->cancel_fd};
	int rc = -1;

	buf_init(&bin);
	buf_init(&rep.body);
	if (fs_read_file(r->tool_exe, TOOLCHAIN_MAX_BYTES, &bin, e) < 0)
		goto out;
	c.body = bin.data;
	c.len = bin.len;
	c.body_hex = r->m->toolchain; /* the store's file hashes to its name */
	if ((rc = peer_call(p, &c, &rep, e)) < 0) {
		rc = FORWARD_E_UNREACHABLE;
		goto out;
	}
	if (rep.status != 200 && rep.status != 201) {
		err_set(e, "%s: toolchain upload answered %ld", peer_url(p), rep.status);
		rc = FORWARD_E_ANSWER;
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
			      .cancel_fd = r->cancel_fd};

	buf_reset(&rep->body);
	rep->status = 0;
	return peer_call(p, &c, rep, e) < 0 ? FORWARD_E_UNREACHABLE : 0;
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

int forward_send(struct peer *p, const struct forward_req *r, const char *body, size_t len,
		 int *ret_uploaded, struct answer **ret, struct err *e)
{
	struct peer_reply rep = {0};
	struct err ae = {0};
	char text[200];
	int rc;

	buf_init(&rep.body);
	*ret_uploaded = 0;
	if ((rc = forward_post(p, r, body, len, &rep, e)) < 0)
		goto out;
	if (rep.status == 409 && forward_lacks_toolchain(&rep)) {
		if ((rc = forward_upload(p, r, e)) < 0)
			goto out;
		*ret_uploaded = 1;
		if ((rc = forward_post(p, r, body, len, &rep, e)) < 0)
			goto out;
	}
	if (rep.status != 200) {
		forward_error_text(&rep, text, sizeof(text));
		err_set(e, "%s: answered %ld: %s", peer_url(p), rep.status, text);
		rc = FORWARD_E_ANSWER;
		goto out;
	}
	if (answer_parse(rep.body.data, rep.body.len, r->outs, r->nouts, ret, &ae) < 0) {
		err_set(e, "%s: unusable answer: %s", peer_url(p), err_msg(&ae));
		rc = FORWARD_E_ANSWER;
		goto out;
	}
	rc = 0;
out:
	buf_release(&rep.body);
	return rc;
}
