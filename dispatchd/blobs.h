#ifndef DISPATCHD_BLOBS_H
#define DISPATCHD_BLOBS_H
/*
 * The blobs a job request carries ("blob/<sha256>" bundle entries), held in
 * memory and looked up by hash. Every blob is verified on insertion: its
 * content must hash to its name. Not thread-safe; one set belongs to one
 * job.
 */
#include <stddef.h>

#include "hash.h"

struct buf;
struct err;

struct blob {
	char hash[HASH_HEX_LEN + 1];
	char *data; /* owned, NUL-terminated (the NUL not counted in len) */
	size_t len;
};

struct blobs {
	size_t n, cap;
	struct blob *items; /* sorted by hash once blobs_seal() ran */
	int sealed;
};

void blobs_init(struct blobs *b);
void blobs_release(struct blobs *b);
/* Adds a copy of data as the blob named hash, after checking that hash is
 * valid and that the content hashes to it. A blob given twice is kept once. */
int blobs_add(struct blobs *b, const char *hash, const char *data, size_t len, struct err *e);
/* Adds a copy of data, which the daemon trusts (a local client's text), as
 * a blob named by its hash, which is written to ret_hash. */
void blobs_add_content(struct blobs *b, const char *data, size_t len,
		       char ret_hash[HASH_HEX_LEN + 1]);
/* Takes data over (data is re-initialised) as the blob named hash, which
 * the caller has verified (a blob store's read, blobstore.h). */
void blobs_take(struct blobs *b, const char *hash, struct buf *data);
/* Sorts the set for lookups; call after the last blobs_add(). */
void blobs_seal(struct blobs *b);
/* The blob named hash, or NULL. Borrowed from b. Requires blobs_seal(). */
const struct blob *blobs_find(const struct blobs *b, const char *hash);

#endif
