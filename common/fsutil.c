#include "fsutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"

#include "banned.h"

#define FS_READ_CHUNK (64u << 10)
#define FS_TMP_TRIES 16

static int fs_read_fd(int fd, const char *path, size_t max, struct buf *out, struct err *e)
{
	size_t got = 0;

	for (;;) {
		/* Ask for one byte more than max so that a file grown past the
		 * cap is noticed without reading it all. */
		size_t want = max - got < FS_READ_CHUNK ? max - got + 1 : FS_READ_CHUNK;
		buf_grow(out, want);
		ssize_t n = read(fd, out->data + out->len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(e, errno, "%s: read", path);
		if (n == 0)
			return 0;
		got += (size_t)n;
		out->len += (size_t)n;
		out->data[out->len] = '\0';
		if (got > max)
			return err_set(e, "%s: larger than the %zu-byte limit", path, max);
	}
}

int fs_read_file(const char *path, size_t max, struct buf *out, struct err *e)
{
	size_t old_len = out->len;
	struct stat st;
	int fd = -1, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = err_errno(e, errno, "%s: open", path);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		r = err_errno(e, errno, "%s: stat", path);
		goto out;
	}
	if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size > max) {
		r = err_set(e, "%s: %lld bytes, over the %zu-byte limit", path,
			    (long long)st.st_size, max);
		goto out;
	}
	if (S_ISREG(st.st_mode))
		buf_grow(out, (size_t)st.st_size);
	r = fs_read_fd(fd, path, max, out, e);
out:
	if (r < 0 && out->len != old_len) {
		out->len = old_len;
		out->data[old_len] = '\0';
	}
	if (fd >= 0)
		close(fd);
	return r;
}

int fs_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes and closes fd; close(2) is checked since NFS reports errors there. */
static int fs_write_close(int fd, const char *path, const void *data, size_t len, struct err *e)
{
	int r = 0;

	if (fs_write_all(fd, data, len) < 0)
		r = err_errno(e, errno, "%s: write", path);
	if (close(fd) < 0 && r == 0)
		r = err_errno(e, errno, "%s: close", path);
	return r;
}

int fs_write_file(const char *path, const void *data, size_t len, mode_t mode, struct err *e)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0)
		return err_errno(e, errno, "%s: open", path);
	return fs_write_close(fd, path, data, len, e);
}

/*
 * Creates "<path>.tmp.<random>" with O_EXCL. A name of our own rather than
 * mkstemp(3) so that mode goes through open(2) and the umask like any other
 * file, without a racy umask() read in a threaded daemon.
 */
static int fs_open_tmp(const char *path, mode_t mode, struct buf *tmp, struct err *e)
{
	for (int i = 0; i < FS_TMP_TRIES; i++) {
		unsigned long long rnd = 0;
		if (getrandom(&rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			rnd = ((unsigned long long)getpid() << 20) ^ (unsigned long long)i;
		buf_reset(tmp);
		buf_addf(tmp, "%s.tmp.%012llx", path, rnd & 0xffffffffffffULL);
		int fd = open(tmp->data, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return err_errno(e, errno, "%s: open", tmp->data);
	}
	return err_set(e, "%s: could not create a temporary file", path);
}

/*
 * No fsync: the contract is that readers never see a partial file, which
 * rename(2) gives. Durability across power loss is not promised, and an
 * fsync per compile output would cost more than the compile.
 */
int fs_write_atomic(const char *path, const void *data, size_t len, mode_t mode, struct err *e)
{
	struct buf tmp;
	int fd, r;

	buf_init(&tmp);
	fd = fs_open_tmp(path, mode, &tmp, e);
	if (fd < 0) {
		r = fd;
		goto out;
	}
	if ((r = fs_write_close(fd, tmp.data, data, len, e)) < 0)
		goto out;
	if (rename(tmp.data, path) < 0) {
		r = err_errno(e, errno, "%s: rename", path);
		goto out;
	}
	r = 0;
out:
	if (r < 0 && fd >= 0)
		unlink(tmp.data);
	buf_release(&tmp);
	return r;
}

/* After mkdir(2) said EEXIST: fine if dir is a directory. */
static int fs_check_dir(const char *dir, struct err *e)
{
	struct stat st;

	/* stat, not lstat: a symlink to a directory is as good as one. */
	if (stat(dir, &st) < 0)
		return err_errno(e, errno, "%s: stat", dir);
	if (!S_ISDIR(st.st_mode))
		return err_set(e, "%s: exists and is not a directory", dir);
	return 0;
}

static int fs_mkdir_one(const char *dir, mode_t mode, struct err *e)
{
	if (mkdir(dir, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return err_errno(e, errno, "%s: mkdir", dir);
	return fs_check_dir(dir, e);
}

int fs_mkdir_p(const char *path, mode_t mode, struct err *e)
{
	char *dir;
	size_t len = strlen(path);
	int r = 0;

	if (len == 0)
		return err_set(e, "mkdir: empty path");
	dir = xstrdup(path);
	while (len > 1 && dir[len - 1] == '/')
		dir[--len] = '\0';
	/* Usually the parent exists (or the whole path does): one mkdir(2)
	 * instead of one per component, which matters per staged file. */
	if (mkdir(dir, mode) == 0)
		goto out;
	if (errno == EEXIST) {
		r = fs_check_dir(dir, e);
		goto out;
	}
	/* Create each prefix ending before a '/' (and the whole path). */
	for (size_t i = 1; i <= len && r == 0; i++) {
		if ((dir[i] != '/' && dir[i] != '\0') || dir[i - 1] == '/')
			continue;
		char c = dir[i];
		dir[i] = '\0';
		r = fs_mkdir_one(dir, mode, e);
		dir[i] = c;
	}
out:
	free(dir);
	return r;
}

int fs_mkdir_parent(const char *path, mode_t mode, struct err *e)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int r;

	if (!slash || slash == path)
		return 0; /* relative name in ".", or a child of "/" */
	dir = xstrndup(path, (size_t)(slash - path));
	r = fs_mkdir_p(dir, mode, e);
	free(dir);
	return r;
}

static int fs_rm_at(int dirfd, const char *name, const char *path, struct err *e);

/*
 * Empties the directory open as fd. Everything goes through *at() calls on
 * descriptors opened with O_NOFOLLOW, so a symlink (even one swapped in
 * while we run) is removed, never followed.
 */
static int fs_rm_contents(int fd, const char *path, struct err *e)
{
	struct buf child;
	struct dirent *de;
	DIR *d;
	int r = 0;

	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return err_errno(e, errno, "%s: opendir", path);
	}
	buf_init(&child);
	while (r == 0 && (errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		buf_reset(&child);
		buf_addf(&child, "%s/%s", path, de->d_name);
		r = fs_rm_at(dirfd(d), de->d_name, child.data, e);
	}
	if (r == 0 && errno != 0)
		r = err_errno(e, errno, "%s: readdir", path);
	buf_release(&child);
	closedir(d);
	return r;
}

/* Opens a directory for emptying; read-only trees (like Go's module cache)
 * are made writable first, as rm -rf by their owner would manage. */
static int fs_open_dir_at(int dirfd, const char *name, const char *path, struct err *e)
{
	int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	int fd = openat(dirfd, name, flags);

	if (fd < 0 && errno == EACCES) {
		if (fchmodat(dirfd, name, S_IRWXU, 0) == 0)
			fd = openat(dirfd, name, flags);
	}
	if (fd < 0)
		return err_errno(e, errno, "%s: open", path);
	struct stat st;
	if (fstat(fd, &st) == 0 && (st.st_mode & S_IRWXU) != S_IRWXU)
		(void)fchmod(fd, st.st_mode | S_IRWXU);
	return fd;
}

static int fs_rm_at(int dirfd, const char *name, const char *path, struct err *e)
{
	struct stat st;
	int fd;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return err_errno(e, errno, "%s: stat", path);
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return err_errno(e, errno, "%s: unlink", path);
		return 0;
	}
	if ((fd = fs_open_dir_at(dirfd, name, path, e)) < 0)
		return fd;
	if (fs_rm_contents(fd, path, e) < 0)
		return -1;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return err_errno(e, errno, "%s: rmdir", path);
	return 0;
}

int fs_rm_rf(const char *path, struct err *e)
{
	return fs_rm_at(AT_FDCWD, path, path, e);
}

int fs_path_is_clean_abs(const char *path)
{
	const char *p = path;

	if (!p || p[0] != '/' || p[1] == '\0')
		return 0;
	while (*p == '/') {
		const char *c = p + 1;
		size_t n = strcspn(c, "/");
		if (n == 0)
			return 0; /* "//" or a trailing slash */
		if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		p = c + n;
	}
	return 1;
}
