#ifndef GODISTCC_FSUTIL_H
#define GODISTCC_FSUTIL_H
/* Small file-system helpers shared by the shim and the daemon. */
#include <stddef.h>
#include <sys/types.h>

struct err;
struct buf;

/* Reads a whole file into out (appending). Fails if it exceeds max bytes. */
int fs_read_file(const char *path, size_t max, struct buf *out, struct err *e);
/* Writes data to path through a temporary file in the same directory and
 * rename(2), so readers never see a partial file. mode as for open(2). */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct err *e);
/* Writes data to path (creating or truncating it), not atomically. */
int fs_write_file(const char *path, const void *data, size_t len, mode_t mode, struct err *e);
/* mkdir -p. Existing directories are fine. */
int fs_mkdir_p(const char *path, mode_t mode, struct err *e);
/* mkdir -p of the directory part of path. */
int fs_mkdir_parent(const char *path, mode_t mode, struct err *e);
/* rm -rf: removes path and everything below it without following links.
 * A missing path is not an error. */
int fs_rm_rf(const char *path, struct err *e);
/* Writes all of data to fd, retrying on EINTR and short writes. */
int fs_write_all(int fd, const void *data, size_t len);
/* Whether a path is absolute and "clean": no empty, "." or ".." components
 * and no trailing slash (the root "/" itself is not accepted). */
int fs_path_is_clean_abs(const char *path);

#endif
