#ifndef GODISTCC_UPLOAD_H
#define GODISTCC_UPLOAD_H
/*
 * Coordinating toolchain uploads among concurrent shims. At the start of a
 * build every running compile learns at once that the dispatcher lacks the
 * 25 MB compile binary; without coordination each would upload it (with
 * -p 32, 800 MB). An upload lock per (dispatcher, toolchain) is an flock(2)
 * on a file in the runtime directory (rundir.h); the shim that uploads marks
 * the file when the upload succeeds, and the shims that waited for the lock
 * then re-send their job instead of uploading again.
 *
 * Every failure to lock degrades to an uncoordinated upload: never an error.
 */

struct upload_lock; /* opaque */

/* Blocks until this shim holds the lock for uploading toolchain (a hex
 * SHA-256) to dispatcher. Returns NULL when no lock can be had. */
struct upload_lock *upload_lock_take(const char *dispatcher, const char *toolchain);
/* Whether a shim has uploaded this toolchain to this dispatcher before. */
int upload_lock_is_done(const struct upload_lock *l);
/* Records that the upload succeeded. */
void upload_lock_mark_done(struct upload_lock *l);
/* Releases the lock. Accepts NULL. */
void upload_lock_release(struct upload_lock *l);

#endif
