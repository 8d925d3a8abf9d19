#ifndef DISPATCHD_HASHCACHE_H
#define DISPATCHD_HASHCACHE_H
/*
 * SHA-256 hashes of the client files a dispatcher forwards, remembered by
 * the file's identity (device, inode, size, modification and change times
 * in nanoseconds) and by what was hashed of it (the whole file, or an
 * archive's export data), so that a file every job imports is read and
 * hashed once, not once per job; with a volunteer that already holds the
 * blob it is then not read at all.
 *
 * A stale entry would name an older content, which a volunteer holding
 * that blob would compile: the identity must change whenever the content
 * does. Every write moves the change time, in nanoseconds on Linux's
 * local file systems, so a file changed within HASHCACHE_SETTLE_MS of
 * being looked at is not remembered (a second write within one tick of
 * the file system's clock could keep its identity; ccache takes the same
 * care). File systems with coarse times (FAT's 2 s, some network mounts)
 * are not safe for inputs being edited during a build. A blob that must
 * travel is re-hashed as it is read, and a mismatch fails the attempt.
 *
 * Thread-safe. At most max entries: adding to a full cache empties it.
 */
#include <stddef.h>
#include <sys/stat.h>

#include "hash.h"

#define HASHCACHE_MAX 65536
#define HASHCACHE_SETTLE_MS 1000

struct hashcache;

/* Aborts on allocation failure. */
struct hashcache *hashcache_new(size_t max);
void hashcache_free(struct hashcache *c); /* accepts NULL */

/* kind: what of the file was hashed ("file", "pkgdef"). 1 and hex filled
 * when known for this identity; 0 otherwise. */
int hashcache_get(struct hashcache *c, const struct stat *st, const char *kind,
		  char hex[HASH_HEX_LEN + 1]);
/* Remembers hex unless the file changed too recently (see above). */
void hashcache_put(struct hashcache *c, const struct stat *st, const char *kind, const char *hex);

#endif
