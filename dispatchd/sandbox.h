#ifndef DISPATCHD_SANDBOX_H
#define DISPATCHD_SANDBOX_H
/*
 * A job's sandbox: a fresh directory S = <state>/jobs/<unique> in which the
 * job's files are staged at S+path (DESIGN.md, "Relocation"), the tool runs
 * and leaves its outputs. Paths given to these functions are the client's
 * clean absolute paths; the sandbox prefixes them, so nothing is written
 * outside S. sandbox_free() removes S with everything in it.
 */
#include <stddef.h>

struct buf;
struct err;
struct sandbox;

/* Creates the directory (mode 0700). The caller owns *ret. */
int sandbox_new(const char *jobs_dir, struct sandbox **ret, struct err *e);
/* Removes the directory tree; logs when that fails. Accepts NULL. */
void sandbox_free(struct sandbox *sb);

/* S itself: absolute, no trailing slash. Borrowed from sb. */
const char *sandbox_root(const struct sandbox *sb);
/* The unique last component of S, for logs. Borrowed from sb. */
const char *sandbox_id(const struct sandbox *sb);
/* S+path. Caller frees. */
char *sandbox_path(const struct sandbox *sb, const char *path);

/* mkdir -p S+dir (mode 0755). */
int sandbox_mkdir(const struct sandbox *sb, const char *dir, struct err *e);
/* Writes S+path (mode 0644), creating its parent directories. */
int sandbox_write(const struct sandbox *sb, const char *path, const void *data, size_t len,
		  struct err *e);

/* Creates S+path as a symbolic link to target (not checked, not
 * followed), creating its parent directories. */
int sandbox_symlink(const struct sandbox *sb, const char *path, const char *target, struct err *e);

/* Failure beside -1 for sandbox_read(). */
#define SANDBOX_E_TOO_LARGE (-2)

/*
 * Appends the regular file S+path to out when it exists; *ret_found says
 * whether it did (a missing file or a non-regular one, such as a symlink,
 * counts as absent). SANDBOX_E_TOO_LARGE when it holds more than max bytes.
 */
int sandbox_read(const struct sandbox *sb, const char *path, size_t max, struct buf *out,
		 int *ret_found, struct err *e);

#endif
