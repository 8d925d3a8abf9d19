#ifndef DISPATCHD_BLOBSTORE_H
#define DISPATCHD_BLOBSTORE_H
/*
 * A volunteer's persistent store of job input blobs (Go sources, export
 * data), named by SHA-256, so that a dispatcher sends each blob only once.
 *
 * Layout: dir/<first 2 hex digits>/<64 hex digits>, one file per blob,
 * written atomically (a temporary in the same directory, then rename(2)).
 * The store keeps at most cap_bytes of blob content and evicts the least
 * recently used blobs (put or get) first. Recency survives a restart as the
 * files' mtime.
 *
 * The store never serves content that does not match its name: a get
 * re-hashes what it read, and a file that fails the check is removed.
 *
 * Thread-safe: any number of threads may call put, get, has and stats at
 * once. The lock covers the in-memory index only; file I/O happens outside
 * it. One process owns dir: two stores on one directory are not supported.
 */
#include <stddef.h>
#include <stdint.h>

struct buf;
struct err;
struct blobstore;

struct blobstore_stats {
	uint64_t blobs, bytes, cap_bytes; /* held now (writes under way included); the cap */
	/* Counters since blobstore_open(); evictions made by the open count. */
	uint64_t hits, misses, stored, evicted, corrupt;
};

/*
 * Opens the store in dir (creating it), keeping at most cap_bytes of blob
 * content. Existing blobs are indexed, their mtime giving the recency
 * (oldest goes first). Inside the two-digit directories, anything that is
 * not a blob file named by a valid hash in the right directory (leftover
 * temporaries, junk) is removed; other entries of dir itself are left
 * alone, so that a mistyped directory costs nothing. Then blobs are evicted
 * down to the cap. On success *ret owns the store (blobstore_close()).
 */
int blobstore_open(const char *dir, uint64_t cap_bytes, struct blobstore **ret, struct err *e);
/* Accepts NULL. No other thread may use s any more. */
void blobstore_close(struct blobstore *s);

/*
 * Keeps data (borrowed) as the blob named hash; the caller has verified
 * that data hashes to hash. Evicts least-recently-used blobs until the
 * total fits the cap; the blob just stored is not one of them.
 * Returns 1: stored; 0: already held or being stored by another thread
 * (a held blob's recency is refreshed), or larger than the cap (not kept);
 * -1: I/O error or hash not a valid digest (e set; nothing kept).
 */
int blobstore_put(struct blobstore *s, const char *hash, const void *data, size_t len,
		  struct err *e);

/*
 * Reads the blob named hash into ret, replacing its content.
 * Returns 1: held, and the content read hashes to hash (refreshes recency,
 * counts a hit); 0: not held (counts a miss; ret emptied). A file whose
 * content no longer matches its name counts as not held: it is removed,
 * counted as corrupt, logged with log_warn() and never returned. A blob
 * that another thread is still writing, or is evicting, is not held.
 * -1: I/O error other than the file being absent, or the blob is larger
 * than max bytes (e set; ret emptied).
 */
int blobstore_get(struct blobstore *s, const char *hash, size_t max, struct buf *ret,
		  struct err *e);

/* Whether the index lists hash as held: no disk access, no verification. */
int blobstore_has(struct blobstore *s, const char *hash);

void blobstore_stats(struct blobstore *s, struct blobstore_stats *ret);

#endif
