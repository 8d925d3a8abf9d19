#ifndef DISPATCHD_TOOLCHAIN_H
#define DISPATCHD_TOOLCHAIN_H
/*
 * The toolchain store: tool binaries (compile, asm) that clients uploaded,
 * kept as <state>/toolchains/<sha256> with mode 0755 and named by the
 * SHA-256 of their content (DESIGN.md, invariant 4). A job names its tool
 * by hash and the daemon runs the file it holds under that name: a client
 * never chooses a path to execute.
 *
 * Uploads stream into <state>/tmp/ while being hashed, and are renamed into
 * the store only when the digest matches, so the store never holds a
 * partial or wrong binary. Thread-safe: concurrent uploads of one hash
 * each write their own temporary file; the first to finish stores it and
 * the others find it held.
 *
 * Local jobs name their tool by the client's path instead; the daemon
 * copies that file into the store through the same upload path (so it is
 * hashed as it is copied) and runs the stored copy, never the client's
 * file. A path's hash is cached (toolchain_import_path()).
 */
#include <stddef.h>

#include "hash.h"

#include <jansson.h>

struct err;
struct toolchain_store;
struct toolchain_upload;

/* Negative codes beside -1 (internal trouble). */
enum toolchain_error {
	TOOLCHAIN_E_MISMATCH = -2,  /* the content does not hash to its name */
	TOOLCHAIN_E_TOO_LARGE = -3, /* past TOOLCHAIN_MAX_BYTES */
	TOOLCHAIN_E_NOT_TOOL = -4,  /* not a regular executable file */
	TOOLCHAIN_E_BUSY = -5,	    /* TOOLCHAIN_UPLOADS_MAX uploads are in progress */
};

/*
 * Which toolchains HTTP clients may run and upload (--toolchains):
 * upload: any, uploaded by an authenticated client; allowlist: only the
 * hashes listed in a file, uploads of those included; local: only those the
 * store holds already, no uploads. Jobs of the local socket (this user's
 * own) may always bring their tool.
 */
enum toolchain_policy { TOOLCHAINS_UPLOAD, TOOLCHAINS_ALLOWLIST, TOOLCHAINS_LOCAL };

/* Parses "upload", "allowlist:FILE" (one hash per line, '#' comments) or
 * "local" and applies it; call before serving. */
int toolchain_store_set_policy(struct toolchain_store *s, const char *spec, struct err *e);
enum toolchain_policy toolchain_store_policy(const struct toolchain_store *s);
/* Whether an HTTP client may run hash (0 puts a reason in e). */
int toolchain_allowed(const struct toolchain_store *s, const char *hash, struct err *e);
/* Whether an HTTP client may upload hash (0 puts a reason in e). */
int toolchain_upload_allowed(const struct toolchain_store *s, const char *hash, struct err *e);

/* How many paths toolchain_import_path() remembers. */
#define TOOLCHAIN_CACHE_MAX 64

/* state_dir is copied. The directories must exist (main.c creates them).
 * Aborts on allocation failure. */
struct toolchain_store *toolchain_store_new(const char *state_dir);
void toolchain_store_free(struct toolchain_store *s);

/* Whether the store holds hash (which must pass hash_is_valid()). */
int toolchain_exists(const struct toolchain_store *s, const char *hash);
/* The binary's path for hash. Caller frees. */
char *toolchain_path(const struct toolchain_store *s, const char *hash);
/* The sorted hashes held, as a JSON array. Caller owns it. */
json_t *toolchain_list_json(const struct toolchain_store *s);

/*
 * Starts an upload of the content named hash (hash_is_valid() already
 * checked by the caller): 0, and the caller owns *ret and ends it with
 * toolchain_upload_free(), which removes any temporary file left. 1 when
 * the store already holds hash (*ret untouched). With wait set, an upload
 * of hash in progress is first waited for (at most a few minutes, in case
 * it hangs), so that of simultaneous requests one uploads and the others
 * find the binary held.
 */
int toolchain_upload_new(struct toolchain_store *s, const char *hash, int wait,
			 struct toolchain_upload **ret, struct err *e);
/* Appends a piece of the body. TOOLCHAIN_E_TOO_LARGE past the cap. */
int toolchain_upload_write(struct toolchain_upload *u, const void *data, size_t len, struct err *e);
/* Checks the digest and moves the binary into the store. *ret_created is 1
 * when it is new, 0 when the store already had it. TOOLCHAIN_E_MISMATCH
 * when the content hashes to something else (it is then discarded). */
int toolchain_upload_finish(struct toolchain_upload *u, int *ret_created, struct err *e);
/* Bytes received so far. */
size_t toolchain_upload_size(const struct toolchain_upload *u);
void toolchain_upload_free(struct toolchain_upload *u);

/*
 * The hash of the tool binary at path (clean absolute, on this host), with
 * the binary put into the store when it lacks it: 1 when it was stored
 * now, 0 when the store held it. The hash is remembered (up to
 * TOOLCHAIN_CACHE_MAX paths) under the path, device, inode, size,
 * modification and change times, so a binary is hashed once per daemon
 * life while it stays the same file. TOOLCHAIN_E_NOT_TOOL when path is
 * missing or not a regular executable file; TOOLCHAIN_E_TOO_LARGE past
 * TOOLCHAIN_MAX_BYTES; TOOLCHAIN_E_MISMATCH when it changed while being
 * copied. Thread-safe.
 */
int toolchain_import_path(struct toolchain_store *s, const char *path,
			  char ret_hash[HASH_HEX_LEN + 1], struct err *e);

#endif
