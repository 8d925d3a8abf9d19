#include "toolchain.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "hash.h"
#include "protocol.h"

#include "banned.h"

struct toolchain_store {
	char *dir; /* <state>/toolchains */
	char *tmp; /* <state>/tmp */
};

struct toolchain_upload {
	const struct toolchain_store *store;
	char hash[HASH_HEX_LEN + 1];
	char *tmp_path; /* NULL once renamed or removed */
	int fd;
	size_t size;
	struct hash_ctx *ctx;
};

struct toolchain_store *toolchain_store_new(const char *state_dir)
{
	struct toolchain_store *s = xcalloc(1, sizeof(*s));

	s->dir = xasprintf("%s/toolchains", state_dir);
	s->tmp = xasprintf("%s/tmp", state_dir);
	return s;
}

void toolchain_store_free(struct toolchain_store *s)
{
	if (!s)
		return;
	free(s->dir);
	free(s->tmp);
	free(s);
}

char *toolchain_path(const struct toolchain_store *s, const char *hash)
{
	return xasprintf("%s/%s", s->dir, hash);
}

int toolchain_exists(const struct toolchain_store *s, const char *hash)
{
	char *path = toolchain_path(s, hash);
	struct stat st;
	int found = stat(path, &st) == 0 && S_ISREG(st.st_mode);

	free(path);
	return found;
}

static int toolchain_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

json_t *toolchain_list_json(const struct toolchain_store *s)
{
	json_t *arr = json_array();
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	if (!arr || !(d = opendir(s->dir)))
		return arr;
	while ((de = readdir(d))) {
		if (!hash_is_valid(de->d_name))
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), toolchain_cmp);
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(arr, json_string(names[i]));
		free(names[i]);
	}
	free(names);
	return arr;
}

int toolchain_upload_new(const struct toolchain_store *s, const char *hash,
			 struct toolchain_upload **ret, struct err *e)
{
	struct toolchain_upload *u = xcalloc(1, sizeof(*u));
	int r = -1;

	u->store = s;
	u->fd = -1;
	memcpy(u->hash, hash, HASH_HEX_LEN);
	u->tmp_path = xasprintf("%s/upload-XXXXXX", s->tmp);
	if ((u->fd = mkostemp(u->tmp_path, O_CLOEXEC)) < 0) {
		err_errno(e, errno, "%s: create", u->tmp_path);
		free(u->tmp_path);
		u->tmp_path = NULL;
		goto out;
	}
	u->ctx = hash_ctx_new();
	if (!u->ctx) {
		err_set(e, "toolchain %s: cannot start hashing", hash);
		goto out;
	}
	*ret = u;
	u = NULL;
	r = 0;
out:
	toolchain_upload_free(u);
	return r;
}

int toolchain_upload_write(struct toolchain_upload *u, const void *data, size_t len, struct err *e)
{
	if (len > TOOLCHAIN_MAX_BYTES - u->size) {
		err_set(e, "toolchain %s: larger than TOOLCHAIN_MAX_BYTES (%u bytes)", u->hash,
			TOOLCHAIN_MAX_BYTES);
		return TOOLCHAIN_E_TOO_LARGE;
	}
	if (fs_write_all(u->fd, data, len) < 0)
		return err_errno(e, errno, "%s: write", u->tmp_path);
	hash_ctx_update(u->ctx, data, len);
	u->size += len;
	return 0;
}

size_t toolchain_upload_size(const struct toolchain_upload *u)
{
	return u->size;
}

/* Makes the temporary file executable and durable before it gets a name
 * that jobs can run. */
static int toolchain_upload_seal(struct toolchain_upload *u, struct err *e)
{
	int fd = u->fd;

	u->fd = -1;
	if (fchmod(fd, 0755) < 0 || fsync(fd) < 0) {
		err_errno(e, errno, "%s", u->tmp_path);
		close(fd);
		return -1;
	}
	if (close(fd) < 0)
		return err_errno(e, errno, "%s: close", u->tmp_path);
	return 0;
}

int toolchain_upload_finish(struct toolchain_upload *u, int *ret_created, struct err *e)
{
	char got[HASH_HEX_LEN + 1];
	char *dest = NULL;
	int r = -1;

	hash_ctx_final(u->ctx, got);
	if (strcmp(got, u->hash) != 0) {
		err_set(e, "toolchain %s: content hashes to %s", u->hash, got);
		r = TOOLCHAIN_E_MISMATCH;
		goto out;
	}
	if (toolchain_exists(u->store, u->hash)) {
		*ret_created = 0;
		r = 0;
		goto out;
	}
	if (toolchain_upload_seal(u, e) < 0)
		goto out;
	dest = toolchain_path(u->store, u->hash);
	if (rename(u->tmp_path, dest) < 0) {
		err_errno(e, errno, "%s: rename to %s", u->tmp_path, dest);
		goto out;
	}
	free(u->tmp_path);
	u->tmp_path = NULL;
	*ret_created = 1;
	r = 0;
out:
	free(dest);
	return r;
}

void toolchain_upload_free(struct toolchain_upload *u)
{
	if (!u)
		return;
	if (u->fd >= 0)
		close(u->fd);
	if (u->tmp_path) {
		unlink(u->tmp_path);
		free(u->tmp_path);
	}
	hash_ctx_free(u->ctx);
	free(u);
}
