#ifndef DISPATCHD_HASHSET_H
#define DISPATCHD_HASHSET_H
/*
 * A bounded set of SHA-256 digests. A dispatcher keeps one per volunteer to
 * remember which blobs it believes that volunteer holds, so it sends each
 * blob once. Being wrong is cheap in one direction only: a forgotten entry
 * costs one resend, so when the set is full it is emptied rather than grown.
 *
 * Digests are given as 64 lower-case hex digits (hash_is_valid()); any other
 * string is never a member, and hashset_add()/hashset_remove() ignore it.
 *
 * Thread-safe: every function takes the set's own lock, so callers need none.
 */
#include <stddef.h>

struct hashset;

/* A set keeping at most max digests (0 is taken as 1). Adding a digest to a
 * full set first empties it. Aborts on allocation failure. Free with
 * hashset_free(). */
struct hashset *hashset_new(size_t max);
/* Accepts NULL. No other thread may use s any more. */
void hashset_free(struct hashset *s);
int hashset_has(struct hashset *s, const char *hex);
void hashset_add(struct hashset *s, const char *hex);
void hashset_remove(struct hashset *s, const char *hex);
size_t hashset_size(struct hashset *s);

#endif
