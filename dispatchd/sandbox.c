#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "log.h"
#include "relocate.h"

#include "banned.h"

struct sandbox {
	char *root;
};

int sandbox_new(const char *jobs_dir, struct sandbox **ret, struct err *e)
{
	struct sandbox *sb = xcalloc(1, sizeof(*sb));

	sb->root = xasprintf("%s/XXXXXX", jobs_dir);
	if (!mkdtemp(sb->root)) {
		err_errno(e, errno, "%s: cannot create a sandbox", jobs_dir);
		free(sb->root);
		free(sb);
		return -1;
	}
	*ret = sb;
	return 0;
}

void sandbox_free(struct sandbox *sb)
{
	struct err e = {0};

	if (!sb)
		return;
	if (fs_rm_rf(sb->root, &e) < 0)
		log_warn("removing sandbox: %s", err_msg(&e));
	free(sb->root);
	free(sb);
}

const char *sandbox_root(const struct sandbox *sb)
{
	return sb->root;
}

const char *sandbox_id(const struct sandbox *sb)
{
	return strrchr(sb->root, '/') + 1;
}

char *sandbox_path(const struct sandbox *sb, const char *path)
{
	return relocate_path(sb->root, path);
}

int sandbox_mkdir(const struct sandbox *sb, const char *dir, struct err *e)
{
	char *p = sandbox_path(sb, dir);
	int r = fs_mkdir_p(p, 0755, e);

	free(p);
	return r;
}

int sandbox_write(const struct sandbox *sb, const char *path, const void *data, size_t len,
		  struct err *e)
{
	char *p = sandbox_path(sb, path);
	int r = -1;

	if (fs_mkdir_parent(p, 0755, e) < 0 || fs_write_file(p, data, len, 0644, e) < 0)
		goto out;
	r = 0;
out:
	free(p);
	return r;
}

int sandbox_symlink(const struct sandbox *sb, const char *path, const char *target, struct err *e)
{
	char *p = sandbox_path(sb, path);
	int r = -1;

	if (fs_mkdir_parent(p, 0755, e) < 0)
		goto out;
	if (symlink(target, p) < 0) {
		err_errno(e, errno, "%s: symlink to %s", p, target);
		goto out;
	}
	r = 0;
out:
	free(p);
	return r;
}

/* 1: a regular file (st filled in), 0: absent or not a regular file. */
static int sandbox_lstat_file(const char *p, struct stat *st, struct err *e)
{
	if (lstat(p, st) < 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : err_errno(e, errno, "%s", p);
	return S_ISREG(st->st_mode);
}

int sandbox_read(const struct sandbox *sb, const char *path, size_t max, struct buf *out,
		 int *ret_found, struct err *e)
{
	char *p = sandbox_path(sb, path);
	struct stat st;
	int found, r = -1;

	if ((found = sandbox_lstat_file(p, &st, e)) < 0)
		goto out;
	if (!found) {
		*ret_found = 0;
		r = 0;
		goto out;
	}
	if ((size_t)st.st_size > max) {
		err_set(e, "output %s: %lld bytes, more than the %zu left of OUTPUT_MAX_BYTES",
			path, (long long)st.st_size, max);
		r = SANDBOX_E_TOO_LARGE;
		goto out;
	}
	if (fs_read_file(p, max, out, e) < 0)
		goto out;
	*ret_found = 1;
	r = 0;
out:
	free(p);
	return r;
}
