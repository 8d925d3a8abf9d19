#include "toolchain.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "hash.h"
#include "protocol.h"

#include "banned.h"

/* How long toolchain_wait_uploads() waits at most. */
#define TOOLCHAIN_WAIT_MAX_S 300

/* A local tool binary as last hashed: it is the same file with the same
 * content while all of these stay equal. */
struct toolchain_cached {
	char *path; /* NULL: an unused entry */
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
	char hash[HASH_HEX_LEN + 1];
};

struct toolchain_store {
	char *dir; /* <state>/toolchains */
	char *tmp; /* <state>/tmp */
	pthread_mutex_t mu;
	pthread_cond_t done;		  /* an upload ended */
	struct toolchain_upload *uploads; /* in progress, linked by next */
	size_t nuploads;		  /* of them */
	pthread_mutex_t cache_mu;	  /* guards cache and cache_next */
	struct toolchain_cached cache[TOOLCHAIN_CACHE_MAX];
	size_t cache_next; /* the entry to fill (or replace) next */
	/* Set before serving, read-only afterwards. */
	enum toolchain_policy policy;
	char **allow; /* sorted hashes of an allowlist */
	size_t nallow;
};

struct toolchain_upload {
	struct toolchain_store *store;
	struct toolchain_upload *next;
	char hash[HASH_HEX_LEN + 1];
	int registered; /* listed in store->uploads */
	char *tmp_path; /* NULL once removed */
	int fd;
	size_t size;
	struct hash_ctx *ctx;
};

struct toolchain_store *toolchain_store_new(const char *state_dir)
{
	struct toolchain_store *s = xcalloc(1, sizeof(*s));

	pthread_condattr_t attr;

	s->dir = xasprintf("%s/toolchains", state_dir);
	s->tmp = xasprintf("%s/tmp", state_dir);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&s->mu, NULL);
	pthread_mutex_init(&s->cache_mu, NULL);
	pthread_cond_init(&s->done, &attr);
	pthread_condattr_destroy(&attr);
	return s;
}

void toolchain_store_free(struct toolchain_store *s)
{
	if (!s)
		return;
	pthread_cond_destroy(&s->done);
	pthread_mutex_destroy(&s->mu);
	pthread_mutex_destroy(&s->cache_mu);
	for (size_t i = 0; i < TOOLCHAIN_CACHE_MAX; i++)
		free(s->cache[i].path);
	for (size_t i = 0; i < s->nallow; i++)
		free(s->allow[i]);
	free(s->allow);
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
	if (n)
		qsort(names, n, sizeof(*names), toolchain_cmp);
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(arr, json_string(names[i]));
		free(names[i]);
	}
	free(names);
	return arr;
}

/* --- policy --- */

/* Allowlists hold a few toolchains per Go version in use. */
#define TOOLCHAIN_ALLOWLIST_MAX_BYTES (1u << 20)

static int toolchain_load_allowlist(struct toolchain_store *s, const char *path, struct err *e)
{
	struct buf text;
	char *line, *save = NULL;
	int r = -1;

	buf_init(&text);
	if (fs_read_file(path, TOOLCHAIN_ALLOWLIST_MAX_BYTES, &text, e) < 0)
		goto out;
	for (line = strtok_r(text.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t n;

		line += strspn(line, " \t");
		n = strcspn(line, " \t\r#");
		if (n == 0)
			continue;
		line[n] = '\0';
		if (!hash_is_valid(line)) {
			err_set(e, "allowlist %s: \"%.80s\" is not a SHA-256 in lower-case hex",
				path, line);
			goto out;
		}
		s->allow = xrealloc(s->allow, (s->nallow + 1) * sizeof(*s->allow));
		s->allow[s->nallow++] = xstrdup(line);
	}
	qsort(s->allow, s->nallow, sizeof(*s->allow), toolchain_cmp);
	r = 0;
out:
	buf_release(&text);
	return r;
}

int toolchain_store_set_policy(struct toolchain_store *s, const char *spec, struct err *e)
{
	if (strcmp(spec, "upload") == 0)
		s->policy = TOOLCHAINS_UPLOAD;
	else if (strcmp(spec, "local") == 0)
		s->policy = TOOLCHAINS_LOCAL;
	else if (strncmp(spec, "allowlist:", 10) == 0 && spec[10])
		s->policy = TOOLCHAINS_ALLOWLIST;
	else
		return err_set(e, "--toolchains \"%s\": use upload, allowlist:FILE or local", spec);
	if (s->policy == TOOLCHAINS_ALLOWLIST)
		return toolchain_load_allowlist(s, spec + 10, e);
	return 0;
}

enum toolchain_policy toolchain_store_policy(const struct toolchain_store *s)
{
	return s->policy;
}

static int toolchain_listed(const struct toolchain_store *s, const char *hash)
{
	return s->nallow && bsearch(&hash, s->allow, s->nallow, sizeof(*s->allow), toolchain_cmp);
}

int toolchain_allowed(const struct toolchain_store *s, const char *hash, struct err *e)
{
	if (s->policy != TOOLCHAINS_ALLOWLIST || toolchain_listed(s, hash))
		return 1;
	err_set(e, "toolchain %s is not on this daemon's allowlist (--toolchains allowlist:...)",
		hash);
	return 0;
}

int toolchain_upload_allowed(const struct toolchain_store *s, const char *hash, struct err *e)
{
	if (s->policy == TOOLCHAINS_LOCAL) {
		err_set(e, "this daemon takes no toolchain uploads (--toolchains local)%s",
			toolchain_exists(s, hash) ? "" : ", and does not hold this one");
		return 0;
	}
	return toolchain_allowed(s, hash, e);
}

static int toolchain_uploading(const struct toolchain_store *s, const char *hash)
{
	for (const struct toolchain_upload *u = s->uploads; u; u = u->next)
		if (strcmp(u->hash, hash) == 0)
			return 1;
	return 0;
}

/* Waits, with s->mu held, while another upload of hash is in progress. */
static void toolchain_wait_locked(struct toolchain_store *s, const char *hash)
{
	struct timespec deadline;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += TOOLCHAIN_WAIT_MAX_S;
	while (toolchain_uploading(s, hash))
		if (pthread_cond_timedwait(&s->done, &s->mu, &deadline) == ETIMEDOUT)
			break;
}

/* Creates the temporary file and lists u, with s->mu held. */
static int toolchain_start_locked(struct toolchain_upload *u, struct err *e)
{
	if (u->store->nuploads >= TOOLCHAIN_UPLOADS_MAX) {
		err_set(e, "toolchain %s: %u uploads are in progress, TOOLCHAIN_UPLOADS_MAX", u->hash,
			TOOLCHAIN_UPLOADS_MAX);
		return TOOLCHAIN_E_BUSY;
	}
	u->tmp_path = xasprintf("%s/upload-XXXXXX", u->store->tmp);
	if ((u->fd = mkostemp(u->tmp_path, O_CLOEXEC)) < 0) {
		err_errno(e, errno, "%s: create", u->tmp_path);
		free(u->tmp_path);
		u->tmp_path = NULL;
		return -1;
	}
	u->next = u->store->uploads;
	u->store->uploads = u;
	u->store->nuploads++;
	u->registered = 1;
	return 0;
}

static void toolchain_unregister(struct toolchain_upload *u)
{
	struct toolchain_store *s = u->store;

	pthread_mutex_lock(&s->mu);
	for (struct toolchain_upload **p = &s->uploads; *p; p = &(*p)->next) {
		if (*p == u) {
			*p = u->next;
			s->nuploads--;
			break;
		}
	}
	u->registered = 0;
	pthread_cond_broadcast(&s->done);
	pthread_mutex_unlock(&s->mu);
}

int toolchain_upload_new(struct toolchain_store *s, const char *hash, int wait,
			 struct toolchain_upload **ret, struct err *e)
{
	struct toolchain_upload *u = xcalloc(1, sizeof(*u));
	int r = -1;

	u->store = s;
	u->fd = -1;
	memcpy(u->hash, hash, HASH_HEX_LEN);
	if (!(u->ctx = hash_ctx_new())) {
		err_set(e, "toolchain %s: cannot start hashing", hash);
		goto out;
	}
	pthread_mutex_lock(&s->mu);
	if (wait)
		toolchain_wait_locked(s, hash);
	r = toolchain_exists(s, hash) ? 1 : toolchain_start_locked(u, e);
	pthread_mutex_unlock(&s->mu);
	if (r != 0)
		goto out;
	*ret = u;
	u = NULL;
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
	int linked, r = -1;

	hash_ctx_final(u->ctx, got);
	if (strcmp(got, u->hash) != 0) {
		err_set(e, "toolchain %s: content hashes to %s", u->hash, got);
		r = TOOLCHAIN_E_MISMATCH;
		goto out;
	}
	if (toolchain_upload_seal(u, e) < 0)
		goto out;
	/* link(2), unlike rename(2), fails when the name exists: of two
	 * concurrent uploads exactly one stores the binary. */
	dest = toolchain_path(u->store, u->hash);
	linked = link(u->tmp_path, dest) == 0;
	if (!linked && errno != EEXIST) {
		err_errno(e, errno, "%s: link to %s", u->tmp_path, dest);
		goto out;
	}
	*ret_created = linked;
	r = 0;
out:
	/* Whatever the outcome, requests waiting for this upload may go on. */
	if (u->registered)
		toolchain_unregister(u);
	free(dest);
	return r;
}

void toolchain_upload_free(struct toolchain_upload *u)
{
	if (!u)
		return;
	if (u->registered)
		toolchain_unregister(u);
	if (u->fd >= 0)
		close(u->fd);
	if (u->tmp_path) {
		unlink(u->tmp_path);
		free(u->tmp_path);
	}
	hash_ctx_free(u->ctx);
	free(u);
}

/* --- local tools, by path --- */

static int toolchain_same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

static int toolchain_cached_matches(const struct toolchain_cached *c, const char *path,
				    const struct stat *st)
{
	return c->path && c->dev == st->st_dev && c->ino == st->st_ino && c->size == st->st_size &&
	       toolchain_same_time(&c->mtim, &st->st_mtim) &&
	       toolchain_same_time(&c->ctim, &st->st_ctim) && strcmp(c->path, path) == 0;
}

/* The cached hash of path as st describes it: 1 when found. */
static int toolchain_cache_find(struct toolchain_store *s, const char *path, const struct stat *st,
				char hash[HASH_HEX_LEN + 1])
{
	int found = 0;

	pthread_mutex_lock(&s->cache_mu);
	for (size_t i = 0; i < TOOLCHAIN_CACHE_MAX && !found; i++) {
		if (toolchain_cached_matches(&s->cache[i], path, st)) {
			memcpy(hash, s->cache[i].hash, HASH_HEX_LEN + 1);
			found = 1;
		}
	}
	pthread_mutex_unlock(&s->cache_mu);
	return found;
}

/* Remembers hash for path; the oldest entry makes room. */
static void toolchain_cache_add(struct toolchain_store *s, const char *path, const struct stat *st,
				const char *hash)
{
	struct toolchain_cached *c;

	pthread_mutex_lock(&s->cache_mu);
	c = &s->cache[s->cache_next];
	s->cache_next = (s->cache_next + 1) % TOOLCHAIN_CACHE_MAX;
	free(c->path);
	c->path = xstrdup(path);
	c->dev = st->st_dev;
	c->ino = st->st_ino;
	c->size = st->st_size;
	c->mtim = st->st_mtim;
	c->ctim = st->st_ctim;
	memcpy(c->hash, hash, HASH_HEX_LEN + 1);
	pthread_mutex_unlock(&s->cache_mu);
}

static int toolchain_stat_tool(const char *path, struct stat *st, struct err *e)
{
	if (stat(path, st) < 0) {
		int saved = errno;

		err_errno(e, saved, "tool_path %s", path);
		return saved == ENOENT || saved == ENOTDIR || saved == EACCES ? TOOLCHAIN_E_NOT_TOOL
									      : -1;
	}
	if (!S_ISREG(st->st_mode) || !(st->st_mode & 0111)) {
		err_set(e, "tool_path %s: not a regular executable file", path);
		return TOOLCHAIN_E_NOT_TOOL;
	}
	if ((unsigned long long)st->st_size > TOOLCHAIN_MAX_BYTES) {
		err_set(e, "tool_path %s: larger than TOOLCHAIN_MAX_BYTES (%u bytes)", path,
			TOOLCHAIN_MAX_BYTES);
		return TOOLCHAIN_E_TOO_LARGE;
	}
	return 0;
}

/* Hashes path, and remembers the hash when the file did not change while
 * it was read. */
static int toolchain_hash_path(struct toolchain_store *s, const char *path, const struct stat *st,
			       char hash[HASH_HEX_LEN + 1], struct err *e)
{
	struct stat after;

	if (hash_file(path, hash, e) < 0)
		return -1;
	if (stat(path, &after) == 0 && after.st_dev == st->st_dev && after.st_ino == st->st_ino &&
	    after.st_size == st->st_size && toolchain_same_time(&after.st_mtim, &st->st_mtim) &&
	    toolchain_same_time(&after.st_ctim, &st->st_ctim))
		toolchain_cache_add(s, path, st, hash);
	return 0;
}

/* Streams fd into u. */
static int toolchain_upload_fd(struct toolchain_upload *u, int fd, const char *path, struct err *e)
{
	size_t size = 1u << 20;
	char *chunk = xmalloc(size);
	int r = 0;

	for (;;) {
		ssize_t n = read(fd, chunk, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = err_errno(e, errno, "tool_path %s: read", path);
		if (n <= 0)
			break;
		if ((r = toolchain_upload_write(u, chunk, (size_t)n, e)) < 0)
			break;
	}
	free(chunk);
	return r;
}

/* Copies path into the store as hash: 1 when stored now, 0 when held. The
 * upload hashes what it copies, so a file changed since it was hashed is
 * refused (TOOLCHAIN_E_MISMATCH) rather than stored under a wrong name. */
static int toolchain_copy_path(struct toolchain_store *s, const char *path, const char *hash,
			       struct err *e)
{
	struct toolchain_upload *u = NULL;
	int fd = -1, created = 0, r;

	if ((r = toolchain_upload_new(s, hash, 1, &u, e)) != 0)
		return r > 0 ? 0 : r;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		r = err_errno(e, errno, "tool_path %s", path);
		goto out;
	}
	if ((r = toolchain_upload_fd(u, fd, path, e)) < 0)
		goto out;
	if ((r = toolchain_upload_finish(u, &created, e)) == TOOLCHAIN_E_MISMATCH)
		err_set(e, "tool_path %s: changed while being copied", path);
	if (r == 0)
		r = created;
out:
	if (fd >= 0)
		close(fd);
	toolchain_upload_free(u);
	return r;
}

int toolchain_import_path(struct toolchain_store *s, const char *path,
			  char ret_hash[HASH_HEX_LEN + 1], struct err *e)
{
	char hash[HASH_HEX_LEN + 1];
	struct stat st;
	int r;

	if ((r = toolchain_stat_tool(path, &st, e)) < 0)
		return r;
	if (!toolchain_cache_find(s, path, &st, hash) &&
	    toolchain_hash_path(s, path, &st, hash, e) < 0)
		return -1;
	r = toolchain_exists(s, hash) ? 0 : toolchain_copy_path(s, path, hash, e);
	if (r < 0)
		return r;
	memcpy(ret_hash, hash, HASH_HEX_LEN + 1);
	return r;
}
