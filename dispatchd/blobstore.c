#include "blobstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"

#include "banned.h"

#define BS_MD_LEN HASH_LEN
#define BS_FILE_MODE 0644
#define BS_DIR_MODE 0755
#define BS_MIN_SLOTS 64

/* A seam for the unit test, which defines it to stop one thread at a named
 * point where other threads may interleave (nothing in the daemon). */
#ifndef BLOBSTORE_PAUSE
#define BLOBSTORE_PAUSE(point) ((void)0)
#endif

/*
 * An entry's life: a put reserves it (WRITING, its bytes counted so that
 * eviction makes room before the write), the file lands (READY, on the LRU
 * list), then eviction or a failed check takes it off the list and the
 * counters (DYING) and unlinks the file outside the lock. A DYING entry
 * stays in the index until its file is gone, and a put of the same hash
 * waits for that: otherwise the late unlink could remove the new file.
 * Only READY entries are held; the others read as absent.
 */
enum bs_state { BS_WRITING, BS_READY, BS_DYING };

struct bs_entry {
	unsigned char md[BS_MD_LEN];
	enum bs_state state;
	uint64_t size;
	uint64_t id; /* tells the entry a get looked up from a later one of the same hash */
	/* READY: the LRU list, head most recent. DYING: next links the
	 * entries waiting for bs_retire(). */
	struct bs_entry *prev, *next;
};

struct blobstore {
	char *dir;
	pthread_mutex_t mu;
	pthread_cond_t gone; /* a DYING entry left the index */
	/* Index of every entry: open addressing, linear probing, removal by
	 * backward shift (no tombstones); at most 3/4 full. */
	struct bs_entry **slots;
	size_t mask, n;
	struct bs_entry *head, *tail;
	uint64_t next_id;
	struct blobstore_stats st; /* blobs and bytes: WRITING and READY entries */
};

/* dir/ab/abcd... for the blob named hex. Caller frees. */
static char *bs_path(const struct blobstore *s, const char *hex)
{
	return xasprintf("%s/%.2s/%s", s->dir, hex, hex);
}

/* ---- index ---- */

/* A digest is uniform already: its first bytes serve as the hash. */
static size_t bs_home(const struct blobstore *s, const unsigned char *md)
{
	uint64_t h;

	memcpy(&h, md, sizeof(h));
	return (size_t)h & s->mask;
}

/* The slot holding md, or the empty slot where it would go. */
static size_t bs_probe(const struct blobstore *s, const unsigned char *md)
{
	size_t i = bs_home(s, md);

	while (s->slots[i] && memcmp(s->slots[i]->md, md, BS_MD_LEN) != 0)
		i = (i + 1) & s->mask;
	return i;
}

static struct bs_entry *bs_find_locked(const struct blobstore *s, const unsigned char *md)
{
	return s->slots[bs_probe(s, md)];
}

static void bs_index_grow(struct blobstore *s)
{
	struct bs_entry **old = s->slots;
	size_t nold = s->mask + 1;

	s->slots = xcalloc(2 * nold, sizeof(*s->slots));
	s->mask = 2 * nold - 1;
	for (size_t i = 0; i < nold; i++)
		if (old[i])
			s->slots[bs_probe(s, old[i]->md)] = old[i];
	free(old);
}

static void bs_index_add_locked(struct blobstore *s, struct bs_entry *ent)
{
	if ((s->n + 1) * 4 > (s->mask + 1) * 3)
		bs_index_grow(s);
	s->slots[bs_probe(s, ent->md)] = ent;
	s->n++;
}

/* Empties ent's slot, then moves back each later member of the run whose
 * home is not between the hole and itself, so no probe run is broken. */
static void bs_index_del_locked(struct blobstore *s, const struct bs_entry *ent)
{
	size_t i = bs_probe(s, ent->md), j = i;

	s->slots[i] = NULL;
	s->n--;
	for (;;) {
		j = (j + 1) & s->mask;
		if (!s->slots[j])
			return;
		size_t dist = (j - bs_home(s, s->slots[j]->md)) & s->mask;
		if (dist >= ((j - i) & s->mask)) {
			s->slots[i] = s->slots[j];
			s->slots[j] = NULL;
			i = j;
		}
	}
}

/* ---- LRU list and counters ---- */

static void bs_lru_unlink(struct blobstore *s, struct bs_entry *ent)
{
	if (ent->prev)
		ent->prev->next = ent->next;
	else
		s->head = ent->next;
	if (ent->next)
		ent->next->prev = ent->prev;
	else
		s->tail = ent->prev;
	ent->prev = ent->next = NULL;
}

static void bs_lru_push(struct blobstore *s, struct bs_entry *ent)
{
	ent->prev = NULL;
	ent->next = s->head;
	if (s->head)
		s->head->prev = ent;
	else
		s->tail = ent;
	s->head = ent;
}

static void bs_touch_locked(struct blobstore *s, struct bs_entry *ent)
{
	bs_lru_unlink(s, ent);
	bs_lru_push(s, ent);
}

/* A new entry, indexed and counted; a READY one goes to the LRU head. */
static struct bs_entry *bs_add_locked(struct blobstore *s, const unsigned char *md, uint64_t size,
				      enum bs_state state)
{
	struct bs_entry *ent = xcalloc(1, sizeof(*ent));

	memcpy(ent->md, md, BS_MD_LEN);
	ent->size = size;
	ent->state = state;
	ent->id = ++s->next_id;
	bs_index_add_locked(s, ent);
	if (state == BS_READY)
		bs_lru_push(s, ent);
	s->st.blobs++;
	s->st.bytes += size;
	return ent;
}

/* Takes a WRITING or READY entry out of the counters and onto *victims;
 * bs_retire() then removes its file and the entry. */
static void bs_kill_locked(struct blobstore *s, struct bs_entry *ent, struct bs_entry **victims)
{
	if (ent->state == BS_READY)
		bs_lru_unlink(s, ent);
	ent->state = BS_DYING;
	s->st.blobs--;
	s->st.bytes -= ent->size;
	ent->next = *victims;
	*victims = ent;
}

/* Least recently used first, until the total fits the cap; keep (at the
 * LRU head, or NULL) is spared. */
static struct bs_entry *bs_evict_locked(struct blobstore *s, const struct bs_entry *keep)
{
	struct bs_entry *victims = NULL;

	while (s->st.bytes > s->st.cap_bytes && s->tail && s->tail != keep) {
		s->st.evicted++;
		bs_kill_locked(s, s->tail, &victims);
	}
	return victims;
}

/* Unlinks the victims' files without the lock, then drops the entries. */
static void bs_retire(struct blobstore *s, struct bs_entry *victims)
{
	char hex[HASH_HEX_LEN + 1];

	if (!victims)
		return;
	BLOBSTORE_PAUSE("retire:unlink");
	for (struct bs_entry *v = victims; v; v = v->next) {
		hash_hex(v->md, BS_MD_LEN, hex);
		char *path = bs_path(s, hex);
		if (unlink(path) < 0 && errno != ENOENT)
			log_warn("blob store: %s: unlink: %s", path, strerror(errno));
		free(path);
	}
	pthread_mutex_lock(&s->mu);
	while (victims) {
		struct bs_entry *v = victims;
		victims = v->next;
		bs_index_del_locked(s, v);
		free(v);
	}
	pthread_cond_broadcast(&s->gone);
	pthread_mutex_unlock(&s->mu);
}

/* ---- open and close ---- */

struct bs_found {
	unsigned char md[BS_MD_LEN];
	uint64_t size;
	struct timespec mtime;
};

struct bs_scan {
	struct bs_found *v;
	size_t n, cap;
};

static int bs_is_shard_name(const char *name)
{
	for (int i = 0; i < 2; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	return name[2] == '\0';
}

static void bs_scan_add(struct bs_scan *sc, const char *name, const struct stat *st)
{
	struct bs_found *f;

	if (sc->n == sc->cap) {
		sc->cap = sc->cap ? 2 * sc->cap : 256;
		sc->v = xrealloc(sc->v, sc->cap * sizeof(*sc->v));
	}
	f = &sc->v[sc->n++];
	hash_unhex(name, f->md);
	f->size = (uint64_t)st->st_size;
	f->mtime = st->st_mtim;
}

/* Everything in a shard directory belongs to the store, so what is not a
 * blob (a temporary a crash left, junk) goes. */
static int bs_scan_entry(struct blobstore *s, int fd, const char *shard, const char *name,
			 struct bs_scan *sc, struct err *e)
{
	struct stat st;
	char *path;
	int r;

	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return 0;
	if (fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return err_errno(e, errno, "%s/%s/%s: stat", s->dir, shard, name);
	}
	if (S_ISREG(st.st_mode) && hash_is_valid(name) && memcmp(name, shard, 2) == 0) {
		bs_scan_add(sc, name, &st);
		return 0;
	}
	path = xasprintf("%s/%s/%s", s->dir, shard, name);
	r = fs_rm_rf(path, e);
	free(path);
	return r;
}

static int bs_scan_shard(struct blobstore *s, int topfd, const char *shard, struct bs_scan *sc,
			 struct err *e)
{
	struct dirent *de;
	struct stat st;
	DIR *d;
	int fd, r = 0;

	if (fstatat(topfd, shard, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return err_errno(e, errno, "%s/%s: stat", s->dir, shard);
	if (!S_ISDIR(st.st_mode)) {
		/* Where a shard directory belongs, a file would fail every put. */
		if (unlinkat(topfd, shard, 0) < 0)
			return err_errno(e, errno, "%s/%s: unlink", s->dir, shard);
		return 0;
	}
	fd = openat(topfd, shard, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || !(d = fdopendir(fd))) {
		r = err_errno(e, errno, "%s/%s: open", s->dir, shard);
		if (fd >= 0)
			close(fd);
		return r;
	}
	while (r == 0 && (errno = 0, de = readdir(d)) != NULL)
		r = bs_scan_entry(s, dirfd(d), shard, de->d_name, sc, e);
	if (r == 0 && errno != 0)
		r = err_errno(e, errno, "%s/%s: readdir", s->dir, shard);
	closedir(d);
	return r;
}

static int bs_found_cmp(const void *pa, const void *pb)
{
	const struct bs_found *a = pa, *b = pb;

	if (a->mtime.tv_sec != b->mtime.tv_sec)
		return a->mtime.tv_sec < b->mtime.tv_sec ? -1 : 1;
	if (a->mtime.tv_nsec != b->mtime.tv_nsec)
		return a->mtime.tv_nsec < b->mtime.tv_nsec ? -1 : 1;
	return memcmp(a->md, b->md, BS_MD_LEN);
}

/* Indexes the blobs in s->dir, oldest first so the newest ends at the LRU
 * head. Entries of dir other than shard directories are not the store's. */
static int bs_scan(struct blobstore *s, struct err *e)
{
	struct bs_scan sc = {0};
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (!(d = opendir(s->dir)))
		return err_errno(e, errno, "%s: open", s->dir);
	while (r == 0 && (errno = 0, de = readdir(d)) != NULL)
		if (bs_is_shard_name(de->d_name))
			r = bs_scan_shard(s, dirfd(d), de->d_name, &sc, e);
	if (r == 0 && errno != 0)
		r = err_errno(e, errno, "%s: readdir", s->dir);
	closedir(d);
	if (r == 0 && sc.n)
		qsort(sc.v, sc.n, sizeof(*sc.v), bs_found_cmp);
	for (size_t i = 0; r == 0 && i < sc.n; i++)
		bs_add_locked(s, sc.v[i].md, sc.v[i].size, BS_READY);
	free(sc.v);
	return r;
}

int blobstore_open(const char *dir, uint64_t cap_bytes, struct blobstore **ret, struct err *e)
{
	struct blobstore *s = NULL;
	struct bs_entry *victims;
	int r;

	if ((r = fs_mkdir_p(dir, BS_DIR_MODE, e)) < 0)
		goto out;
	s = xcalloc(1, sizeof(*s));
	s->dir = xstrdup(dir);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->gone, NULL);
	s->slots = xcalloc(BS_MIN_SLOTS, sizeof(*s->slots));
	s->mask = BS_MIN_SLOTS - 1;
	s->st.cap_bytes = cap_bytes;
	if ((r = bs_scan(s, e)) < 0)
		goto out;
	pthread_mutex_lock(&s->mu);
	victims = bs_evict_locked(s, NULL);
	pthread_mutex_unlock(&s->mu);
	bs_retire(s, victims);
	*ret = s;
	s = NULL; /* caller owns it now */
	r = 0;
out:
	blobstore_close(s);
	return r;
}

void blobstore_close(struct blobstore *s)
{
	if (!s)
		return;
	for (size_t i = 0; i <= s->mask; i++)
		free(s->slots[i]);
	free(s->slots);
	pthread_cond_destroy(&s->gone);
	pthread_mutex_destroy(&s->mu);
	free(s->dir);
	free(s);
}

/* ---- put ---- */

/* The entry a put of md should write, or NULL when md is held (refreshed)
 * or another put is writing it. */
static struct bs_entry *bs_reserve_locked(struct blobstore *s, const unsigned char *md,
					  uint64_t size)
{
	struct bs_entry *ent;

	while ((ent = bs_find_locked(s, md)) != NULL && ent->state == BS_DYING)
		pthread_cond_wait(&s->gone, &s->mu);
	if (!ent)
		return bs_add_locked(s, md, size, BS_WRITING);
	if (ent->state == BS_READY)
		bs_touch_locked(s, ent);
	return NULL;
}

static int bs_write(struct blobstore *s, const char *hash, const void *data, size_t len,
		    struct err *e)
{
	char *shard = xasprintf("%s/%.2s", s->dir, hash);
	char *path = bs_path(s, hash);
	int r = 0;

	if (mkdir(shard, BS_DIR_MODE) < 0 && errno != EEXIST)
		r = err_errno(e, errno, "%s: mkdir", shard);
	if (r == 0)
		r = fs_write_atomic(path, data, len, BS_FILE_MODE, e);
	free(shard);
	free(path);
	return r;
}

/* The file's mtime is the recency a restart sees; best effort. */
static void bs_refresh_mtime(struct blobstore *s, const char *hash)
{
	char *path = bs_path(s, hash);

	utimensat(AT_FDCWD, path, NULL, AT_SYMLINK_NOFOLLOW);
	free(path);
}

int blobstore_put(struct blobstore *s, const char *hash, const void *data, size_t len,
		  struct err *e)
{
	unsigned char md[BS_MD_LEN];
	struct bs_entry *ent, *victims;
	int r;

	if (hash_unhex(hash, md) < 0)
		return err_set(e, "blob %.80s: name is not a SHA-256 in lower-case hex", hash);
	if (len > s->st.cap_bytes) /* the cap never changes: no lock needed */
		return 0;
	pthread_mutex_lock(&s->mu);
	ent = bs_reserve_locked(s, md, len);
	victims = bs_evict_locked(s, NULL);
	pthread_mutex_unlock(&s->mu);
	bs_retire(s, victims);
	if (!ent) {
		bs_refresh_mtime(s, hash);
		return 0;
	}
	BLOBSTORE_PAUSE("put:write");
	r = bs_write(s, hash, data, len, e);
	victims = NULL;
	pthread_mutex_lock(&s->mu);
	if (r < 0) {
		bs_kill_locked(s, ent, &victims);
	} else {
		ent->state = BS_READY;
		bs_lru_push(s, ent);
		s->st.stored++;
		/* Puts under way may have pushed the total past the cap. */
		victims = bs_evict_locked(s, ent);
	}
	pthread_mutex_unlock(&s->mu);
	bs_retire(s, victims);
	return r < 0 ? -1 : 1;
}

/* ---- get ---- */

enum bs_read { BS_READ_ERR = -1, BS_READ_ABSENT = 0, BS_READ_OK = 1, BS_READ_CORRUPT = 2 };

/* Reads exactly size bytes from fd; more or fewer means the file changed. */
static int bs_read_fd(int fd, const char *path, uint64_t size, struct buf *ret, struct err *e)
{
	buf_grow(ret, size + 1);
	for (;;) {
		ssize_t n = read(fd, ret->data + ret->len, size + 1 - ret->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(e, errno, "%s: read", path);
		if (n == 0)
			return ret->len == size ? BS_READ_OK : BS_READ_CORRUPT;
		ret->len += (size_t)n;
		ret->data[ret->len] = '\0';
		if (ret->len > size)
			return BS_READ_CORRUPT;
	}
}

static int bs_read(const char *path, uint64_t size, struct buf *ret, struct err *e)
{
	struct stat st;
	int fd, r;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return BS_READ_ABSENT;
	if (fd < 0 && errno == ELOOP)
		return BS_READ_CORRUPT; /* a symbolic link is no blob of ours */
	if (fd < 0)
		return err_errno(e, errno, "%s: open", path);
	if (fstat(fd, &st) < 0)
		r = err_errno(e, errno, "%s: stat", path);
	else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)
		r = BS_READ_CORRUPT;
	else
		r = bs_read_fd(fd, path, size, ret, e);
	if (r == BS_READ_OK)
		futimens(fd, NULL); /* recency for a restart; best effort */
	close(fd);
	return r;
}

static int bs_count(struct blobstore *s, int hit)
{
	pthread_mutex_lock(&s->mu);
	if (hit)
		s->st.hits++;
	else
		s->st.misses++;
	pthread_mutex_unlock(&s->mu);
	return hit;
}

/* After a get found the file of entry id absent or corrupt: forgets the
 * entry, unless it changed meanwhile (evicted, or evicted and stored again,
 * by other threads: then the absence is theirs and nothing is wrong). */
static void bs_forget(struct blobstore *s, const unsigned char *md, uint64_t id, int corrupt,
		      const char *path)
{
	struct bs_entry *ent, *victims = NULL;

	pthread_mutex_lock(&s->mu);
	if (corrupt)
		s->st.corrupt++;
	ent = bs_find_locked(s, md);
	if (ent && ent->id == id && ent->state == BS_READY)
		bs_kill_locked(s, ent, &victims);
	pthread_mutex_unlock(&s->mu);
	if (corrupt)
		log_warn("blob store: %s: content does not match its name%s", path,
			 victims ? "; removed" : "");
	else if (victims)
		log_warn("blob store: %s: vanished; forgotten", path);
	bs_retire(s, victims);
}

int blobstore_get(struct blobstore *s, const char *hash, size_t max, struct buf *ret, struct err *e)
{
	char got[HASH_HEX_LEN + 1];
	unsigned char md[BS_MD_LEN];
	struct bs_entry *ent;
	uint64_t id = 0, size = 0;
	char *path;
	int r;

	buf_reset(ret);
	if (hash_unhex(hash, md) < 0)
		return bs_count(s, 0);
	pthread_mutex_lock(&s->mu);
	ent = bs_find_locked(s, md);
	if (ent && ent->state == BS_READY) {
		bs_touch_locked(s, ent);
		id = ent->id;
		size = ent->size;
	}
	pthread_mutex_unlock(&s->mu);
	if (!id)
		return bs_count(s, 0);
	if (size > max)
		return err_set(e, "blob %s: %llu bytes, over the %zu-byte limit", hash,
			       (unsigned long long)size, max);
	path = bs_path(s, hash);
	BLOBSTORE_PAUSE("get:read");
	r = bs_read(path, size, ret, e);
	if (r == BS_READ_OK) {
		hash_buf(ret->data, ret->len, got);
		r = strcmp(got, hash) == 0 ? BS_READ_OK : BS_READ_CORRUPT;
	}
	if (r != BS_READ_OK)
		buf_reset(ret);
	if (r == BS_READ_ABSENT || r == BS_READ_CORRUPT)
		bs_forget(s, md, id, r == BS_READ_CORRUPT, path);
	free(path);
	return r == BS_READ_ERR ? -1 : bs_count(s, r == BS_READ_OK);
}

int blobstore_has(struct blobstore *s, const char *hash)
{
	unsigned char md[BS_MD_LEN];
	struct bs_entry *ent;
	int r;

	if (hash_unhex(hash, md) < 0)
		return 0;
	pthread_mutex_lock(&s->mu);
	ent = bs_find_locked(s, md);
	r = ent && ent->state == BS_READY;
	pthread_mutex_unlock(&s->mu);
	return r;
}

void blobstore_stats(struct blobstore *s, struct blobstore_stats *ret)
{
	pthread_mutex_lock(&s->mu);
	*ret = s->st;
	pthread_mutex_unlock(&s->mu);
}
