/* The volunteer's blob store: one copy per blob, the cap kept on disk with
 * least-recently-used eviction, no mismatching content ever served, state
 * that survives a restart, and accounting that holds under concurrency. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The store stops a thread at a named point when that thread asks it to,
 * so that a test can interleave another thread there. */
static void pause_point(const char *point);
#define BLOBSTORE_PAUSE(point) pause_point(point)

#include "../../dispatchd/blobstore.c"

static _Thread_local const char *pause_at; /* once, then NULL */
static sem_t paused, resume;

static void pause_point(const char *point)
{
	if (!pause_at || strcmp(pause_at, point) != 0)
		return;
	pause_at = NULL;
	sem_post(&paused);
	sem_wait(&resume);
}

#define KIB 1024

static char *tmpdir, *storedir;

static void setup(void)
{
	tmpdir = xstrdup("/tmp/test_blobstore.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	storedir = xasprintf("%s/store", tmpdir);
	sem_init(&paused, 0, 0);
	sem_init(&resume, 0, 0);
}

static void teardown(void)
{
	fs_rm_rf(tmpdir, NULL);
	free(storedir);
	free(tmpdir);
}

TestSuite(blobstore, .init = setup, .fini = teardown);

/* Blob number i of len bytes: content differs for every (i, len). */
struct tblob {
	char *data;
	size_t len;
	char hash[HASH_HEX_LEN + 1];
};

static void blob_make(struct tblob *b, unsigned i, size_t len)
{
	unsigned x = i * 2654435761u + (unsigned)len;

	b->data = xmalloc(len + 1);
	b->len = len;
	for (size_t k = 0; k < len; k++) {
		x = x * 1103515245u + 12345u;
		b->data[k] = (char)(x >> 16);
	}
	hash_buf(b->data, len, b->hash);
}

static void blob_free(struct tblob *b)
{
	free(b->data);
}

static struct blobstore *open_store(uint64_t cap)
{
	struct blobstore *s = NULL;
	struct err e = {0};

	cr_assert_eq(blobstore_open(storedir, cap, &s, &e), 0, "%s", err_msg(&e));
	return s;
}

static int put(struct blobstore *s, const struct tblob *b)
{
	struct err e = {0};
	int r = blobstore_put(s, b->hash, b->data, b->len, &e);

	cr_assert_geq(r, 0, "%s", err_msg(&e));
	return r;
}

/* 1 when get returned exactly b's content, 0 when it returned 0. */
static int get(struct blobstore *s, const struct tblob *b)
{
	struct err e = {0};
	struct buf out;
	int r;

	buf_init(&out);
	r = blobstore_get(s, b->hash, 1 << 20, &out, &e);
	cr_assert_geq(r, 0, "%s", err_msg(&e));
	if (r == 1) {
		cr_assert_eq(out.len, b->len);
		cr_assert_eq(memcmp(out.data, b->data, b->len), 0, "get served other content");
	} else {
		cr_assert_eq(out.len, 0);
	}
	buf_release(&out);
	return r;
}

static char *blob_path(const struct tblob *b)
{
	return xasprintf("%s/%.2s/%s", storedir, b->hash, b->hash);
}

static int blob_on_disk(const struct tblob *b)
{
	char *path = blob_path(b);
	struct stat st;
	int r = lstat(path, &st) == 0;

	free(path);
	return r;
}

/* What is really under a directory: regular files and their bytes. */
static uint64_t du_bytes, du_files;

static int du_visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (type == FTW_F && S_ISREG(st->st_mode)) {
		du_bytes += (uint64_t)st->st_size;
		du_files++;
	}
	return 0;
}

static void disk_usage(const char *dir, uint64_t *ret_files, uint64_t *ret_bytes)
{
	du_bytes = du_files = 0;
	cr_assert_eq(nftw(dir, du_visit, 16, FTW_PHYS), 0);
	*ret_files = du_files;
	*ret_bytes = du_bytes;
}

/* The index and the disk agree: as many files and bytes as the stats say. */
static void assert_matches_disk(struct blobstore *s)
{
	struct blobstore_stats st;
	uint64_t files, bytes;

	blobstore_stats(s, &st);
	disk_usage(storedir, &files, &bytes);
	cr_assert_eq(st.blobs, files, "index lists %llu blobs, disk holds %llu files",
		     (unsigned long long)st.blobs, (unsigned long long)files);
	cr_assert_eq(st.bytes, bytes, "index counts %llu bytes, disk holds %llu",
		     (unsigned long long)st.bytes, (unsigned long long)bytes);
	cr_assert_leq(bytes, st.cap_bytes, "%llu bytes on disk over the %llu-byte cap",
		      (unsigned long long)bytes, (unsigned long long)st.cap_bytes);
}

Test(blobstore, put_get_and_misses)
{
	struct blobstore *s = open_store(10 * KIB);
	struct tblob a, b;
	struct blobstore_stats st;
	struct err e = {0};
	struct buf out;
	struct stat sb;
	char *path;

	blob_make(&a, 1, 1000);
	blob_make(&b, 2, 1000);
	buf_init(&out);
	cr_assert_eq(put(s, &a), 1);
	cr_assert(blobstore_has(s, a.hash));
	cr_assert_not(blobstore_has(s, b.hash));
	cr_assert_eq(get(s, &a), 1);
	cr_assert_eq(get(s, &b), 0, "never stored");
	cr_assert_eq(blobstore_get(s, "not-a-hash", 100, &out, &e), 0);
	cr_assert_eq(blobstore_put(s, "../../etc/passwd", "x", 1, &e), -1);
	cr_assert_str_not_empty(err_msg(&e));
	/* Asked for at most 999 bytes of a 1000-byte blob: an error, not a
	 * truncated blob. */
	err_clear(&e);
	cr_assert_eq(blobstore_get(s, a.hash, 999, &out, &e), -1);
	cr_assert_str_not_empty(err_msg(&e));
	cr_assert_eq(out.len, 0);

	path = blob_path(&a);
	cr_assert_eq(stat(path, &sb), 0, "layout is dir/<2 hex>/<64 hex>");
	cr_assert(S_ISREG(sb.st_mode));
	cr_assert_eq(sb.st_mode & 0022, 0, "not writable by others");
	blobstore_stats(s, &st);
	cr_assert_eq(st.hits, 1);
	cr_assert_eq(st.misses, 2);
	cr_assert_eq(st.stored, 1);
	assert_matches_disk(s);
	free(path);
	buf_release(&out);
	blob_free(&a);
	blob_free(&b);
	blobstore_close(s);
}

Test(blobstore, same_blob_twice_is_one_file)
{
	struct blobstore *s = open_store(10 * KIB);
	struct blobstore_stats st;
	struct tblob a;

	blob_make(&a, 1, 3000);
	cr_assert_eq(put(s, &a), 1);
	cr_assert_eq(put(s, &a), 0, "already held");
	blobstore_stats(s, &st);
	cr_assert_eq(st.blobs, 1);
	cr_assert_eq(st.bytes, 3000, "bytes counted once");
	cr_assert_eq(st.stored, 1);
	assert_matches_disk(s);
	cr_assert_eq(get(s, &a), 1);
	blob_free(&a);
	blobstore_close(s);
}

struct race {
	struct blobstore *s;
	pthread_barrier_t *go;
	const struct tblob *b;
	int r;
};

static void *race_put(void *arg)
{
	struct race *ra = arg;

	pthread_barrier_wait(ra->go);
	ra->r = blobstore_put(ra->s, ra->b->hash, ra->b->data, ra->b->len, NULL);
	return NULL;
}

Test(blobstore, same_blob_from_two_threads_is_one_file)
{
	struct blobstore *s = open_store(1 << 20);
	struct blobstore_stats st;
	pthread_barrier_t go;
	enum { ROUNDS = 50 };

	for (unsigned i = 0; i < ROUNDS; i++) {
		struct tblob b;
		struct race ra[2];
		pthread_t t[2];

		blob_make(&b, i, 4000 + i);
		pthread_barrier_init(&go, NULL, 2);
		for (int k = 0; k < 2; k++) {
			ra[k] = (struct race){.s = s, .go = &go, .b = &b, .r = -2};
			cr_assert_eq(pthread_create(&t[k], NULL, race_put, &ra[k]), 0);
		}
		for (int k = 0; k < 2; k++)
			pthread_join(t[k], NULL);
		pthread_barrier_destroy(&go);
		cr_assert_eq(ra[0].r + ra[1].r, 1, "round %u: one put stores (%d, %d)", i, ra[0].r,
			     ra[1].r);
		cr_assert_eq(get(s, &b), 1);
		blob_free(&b);
	}
	blobstore_stats(s, &st);
	cr_assert_eq(st.blobs, ROUNDS);
	cr_assert_eq(st.stored, ROUNDS);
	assert_matches_disk(s);
	blobstore_close(s);
}

Test(blobstore, evicts_least_recently_used_down_to_the_cap)
{
	struct blobstore *s = open_store(10 * KIB);
	struct blobstore_stats st;
	struct tblob b[20];

	for (unsigned i = 0; i < 20; i++)
		blob_make(&b[i], i, KIB);
	for (unsigned i = 0; i < 10; i++)
		cr_assert_eq(put(s, &b[i]), 1);
	blobstore_stats(s, &st);
	cr_assert_eq(st.evicted, 0, "exactly at the cap is not over it");

	/* Blob 0 is the oldest put, but a get makes it the most recent:
	 * blob 1, put later and not touched since, goes first. */
	cr_assert_eq(get(s, &b[0]), 1);
	cr_assert_eq(put(s, &b[10]), 1);
	cr_assert(blobstore_has(s, b[0].hash));
	cr_assert(blob_on_disk(&b[0]));
	cr_assert_not(blobstore_has(s, b[1].hash));
	cr_assert_not(blob_on_disk(&b[1]));
	cr_assert_eq(get(s, &b[1]), 0);
	for (unsigned i = 2; i <= 10; i++)
		cr_assert(blobstore_has(s, b[i].hash), "blob %u", i);
	assert_matches_disk(s);

	/* Putting a blob held already refreshes it too: 3 goes, not 2. */
	cr_assert_eq(put(s, &b[2]), 0);
	cr_assert_eq(put(s, &b[11]), 1);
	cr_assert(blob_on_disk(&b[2]));
	cr_assert_not(blob_on_disk(&b[3]));
	assert_matches_disk(s);

	for (unsigned i = 12; i < 20; i++) {
		cr_assert_eq(put(s, &b[i]), 1);
		assert_matches_disk(s);
	}
	/* Then 4..9 went in put order, then 0 and 10. */
	for (unsigned i = 0; i < 11; i++)
		if (i != 2)
			cr_assert_not(blob_on_disk(&b[i]), "blob %u", i);
	cr_assert_eq(get(s, &b[2]), 1);
	for (unsigned i = 11; i < 20; i++)
		cr_assert_eq(get(s, &b[i]), 1, "blob %u", i);
	blobstore_stats(s, &st);
	cr_assert_eq(st.blobs, 10);
	cr_assert_eq(st.bytes, 10 * KIB);
	cr_assert_eq(st.evicted, 10);
	for (unsigned i = 0; i < 20; i++)
		blob_free(&b[i]);
	blobstore_close(s);
}

Test(blobstore, blob_larger_than_the_cap_is_not_kept)
{
	struct blobstore *s = open_store(1000);
	struct blobstore_stats st;
	struct tblob small, big;

	blob_make(&small, 1, 600);
	blob_make(&big, 2, 1001);
	cr_assert_eq(put(s, &small), 1);
	cr_assert_eq(put(s, &big), 0);
	cr_assert_not(blobstore_has(s, big.hash));
	cr_assert_not(blob_on_disk(&big));
	cr_assert_eq(get(s, &small), 1, "nothing evicted for a blob that is not kept");
	blobstore_stats(s, &st);
	cr_assert_eq(st.blobs, 1);
	cr_assert_eq(st.evicted, 0);
	assert_matches_disk(s);
	blob_free(&small);
	blob_free(&big);
	blobstore_close(s);
}

/* Overwrites a stored blob's file with other bytes of new_len bytes: the
 * store must notice, drop it, and take the right content again. */
static void check_corruption(size_t new_len)
{
	struct blobstore *s = open_store(10 * KIB);
	struct blobstore_stats st;
	struct err e = {0};
	struct tblob a, other;
	char *path, *logpath = xasprintf("%s/log", tmpdir);
	struct buf log;

	buf_init(&log);
	cr_assert_eq(log_init("test", LOG_INFO, logpath), 0);
	blob_make(&a, 1, 2000);
	blob_make(&other, 99, new_len);
	path = blob_path(&a);
	cr_assert_eq(put(s, &a), 1);
	cr_assert_eq(fs_write_file(path, other.data, other.len, 0644, &e), 0, "%s", err_msg(&e));

	cr_assert(blobstore_has(s, a.hash), "has() does not read the disk");
	cr_assert_eq(get(s, &a), 0, "mismatching content is never served");
	cr_assert_not(blob_on_disk(&a), "the bad file is removed");
	cr_assert_not(blobstore_has(s, a.hash));
	blobstore_stats(s, &st);
	cr_assert_eq(st.corrupt, 1);
	cr_assert_eq(st.misses, 1);
	cr_assert_eq(st.hits, 0);
	cr_assert_eq(st.blobs, 0);
	cr_assert_eq(st.bytes, 0);
	cr_assert_eq(fs_read_file(logpath, 1 << 20, &log, &e), 0, "%s", err_msg(&e));
	cr_assert_not_null(strstr(log.data, " warn: "), "%s", log.data);
	cr_assert_not_null(strstr(log.data, a.hash), "the warning names the blob: %s", log.data);

	cr_assert_eq(put(s, &a), 1, "stored again");
	cr_assert_eq(get(s, &a), 1);
	blobstore_stats(s, &st);
	cr_assert_eq(st.corrupt, 1);
	assert_matches_disk(s);
	free(path);
	free(logpath);
	buf_release(&log);
	blob_free(&a);
	blob_free(&other);
	blobstore_close(s);
}

Test(blobstore, corrupt_file_same_length_is_not_served)
{
	check_corruption(2000);
}

Test(blobstore, corrupt_file_shorter_is_not_served)
{
	check_corruption(10);
}

Test(blobstore, corrupt_file_longer_is_not_served)
{
	check_corruption(3000);
}

Test(blobstore, file_removed_behind_its_back_is_a_miss)
{
	struct blobstore *s = open_store(10 * KIB);
	struct blobstore_stats st;
	struct tblob a;
	char *path;

	blob_make(&a, 1, 500);
	path = blob_path(&a);
	cr_assert_eq(put(s, &a), 1);
	cr_assert_eq(unlink(path), 0);
	cr_assert_eq(get(s, &a), 0);
	cr_assert_not(blobstore_has(s, a.hash));
	blobstore_stats(s, &st);
	cr_assert_eq(st.corrupt, 0);
	assert_matches_disk(s);
	free(path);
	blob_free(&a);
	blobstore_close(s);
}

/* ---- interleavings, forced with BLOBSTORE_PAUSE ---- */

/* A put or get on its own thread, optionally stopped at pause point. */
struct op {
	struct blobstore *s;
	const struct tblob *b;
	int is_get;
	const char *pause;
	int r; /* as returned; -9: a get served other content */
	pthread_t t;
};

static void *op_run(void *arg)
{
	struct op *o = arg;
	struct buf out;

	pause_at = o->pause;
	if (!o->is_get) {
		o->r = blobstore_put(o->s, o->b->hash, o->b->data, o->b->len, NULL);
		return NULL;
	}
	buf_init(&out);
	o->r = blobstore_get(o->s, o->b->hash, 1 << 20, &out, NULL);
	if (o->r == 1 && (out.len != o->b->len || memcmp(out.data, o->b->data, out.len) != 0))
		o->r = -9;
	buf_release(&out);
	return NULL;
}

/* Starts o and, if it has a pause point, returns once it stopped there. */
static void op_start(struct op *o)
{
	cr_assert_eq(pthread_create(&o->t, NULL, op_run, o), 0);
	if (o->pause)
		sem_wait(&paused);
}

static int op_finish(struct op *o)
{
	if (o->pause)
		sem_post(&resume);
	pthread_join(o->t, NULL);
	return o->r;
}

Test(blobstore, put_while_another_put_writes_the_same_blob)
{
	struct blobstore *s = open_store(10 * KIB);
	struct blobstore_stats st;
	struct tblob x;
	struct op a;

	blob_make(&x, 1, 2000);
	a = (struct op){.s = s, .b = &x, .pause = "put:write"};
	op_start(&a);
	cr_assert_eq(put(s, &x), 0, "the other put is storing it");
	cr_assert_not(blobstore_has(s, x.hash), "not held until written");
	cr_assert_eq(get(s, &x), 0);
	cr_assert_eq(op_finish(&a), 1);
	cr_assert_eq(get(s, &x), 1);
	blobstore_stats(s, &st);
	cr_assert_eq(st.blobs, 1);
	cr_assert_eq(st.bytes, 2000);
	cr_assert_eq(st.stored, 1);
	assert_matches_disk(s);
	blob_free(&x);
	blobstore_close(s);
}

Test(blobstore, puts_under_way_together_end_under_the_cap)
{
	struct blobstore *s = open_store(2000);
	struct blobstore_stats st;
	struct tblob x, y;
	struct op a;

	blob_make(&x, 1, 1500);
	blob_make(&y, 2, 1500);
	/* x is reserved but not written: nothing can be evicted for y. */
	a = (struct op){.s = s, .b = &x, .pause = "put:write"};
	op_start(&a);
	cr_assert_eq(put(s, &y), 1);
	cr_assert(blobstore_has(s, y.hash), "a put does not evict the blob it stored");
	cr_assert_eq(op_finish(&a), 1);
	/* The last put to finish evicts what is over the cap. */
	cr_assert(blobstore_has(s, x.hash));
	cr_assert_not(blobstore_has(s, y.hash));
	blobstore_stats(s, &st);
	cr_assert_eq(st.bytes, 1500);
	cr_assert_eq(st.evicted, 1);
	assert_matches_disk(s);
	blob_free(&x);
	blob_free(&y);
	blobstore_close(s);
}

Test(blobstore, put_of_a_blob_being_evicted_waits_for_the_unlink)
{
	struct blobstore *s = open_store(2000);
	struct tblob v, w, z;
	struct op a, b;

	blob_make(&v, 1, 1000);
	blob_make(&w, 2, 1000);
	blob_make(&z, 3, 1000);
	cr_assert_eq(put(s, &v), 1);
	cr_assert_eq(put(s, &w), 1);
	/* z's put evicts v and stops before unlinking v's file. */
	a = (struct op){.s = s, .b = &z, .pause = "retire:unlink"};
	op_start(&a);
	cr_assert_not(blobstore_has(s, v.hash));
	cr_assert_eq(get(s, &v), 0, "being evicted: a miss, not an error");
	/* v stored again meanwhile: had its file been written now, the late
	 * unlink would remove it while the index lists it. */
	b = (struct op){.s = s, .b = &v};
	op_start(&b);
	usleep(100 * 1000);
	cr_assert_eq(op_finish(&a), 1);
	cr_assert_eq(op_finish(&b), 1);
	cr_assert_eq(get(s, &v), 1);
	cr_assert_eq(get(s, &z), 1);
	cr_assert_not(blobstore_has(s, w.hash));
	assert_matches_disk(s);
	blob_free(&v);
	blob_free(&w);
	blob_free(&z);
	blobstore_close(s);
}

Test(blobstore, get_racing_an_eviction_is_a_miss)
{
	struct blobstore *s = open_store(2000);
	struct blobstore_stats st;
	struct tblob v, w, y, z;
	struct op g;

	blob_make(&v, 1, 1000);
	blob_make(&w, 2, 1000);
	blob_make(&y, 3, 1000);
	blob_make(&z, 4, 1000);
	cr_assert_eq(put(s, &v), 1);
	cr_assert_eq(put(s, &w), 1);
	/* The get has looked v up and stops before opening its file, which
	 * two more puts then evict. */
	g = (struct op){.s = s, .b = &v, .is_get = 1, .pause = "get:read"};
	op_start(&g);
	cr_assert_eq(put(s, &y), 1);
	cr_assert_eq(put(s, &z), 1);
	cr_assert_not(blob_on_disk(&v));
	cr_assert_eq(op_finish(&g), 0);

	/* Evicted and stored again before the get reads: the new file is
	 * the blob, and is served. */
	g = (struct op){.s = s, .b = &z, .is_get = 1, .pause = "get:read"};
	op_start(&g);
	cr_assert_eq(put(s, &v), 1);
	cr_assert_eq(put(s, &w), 1);
	cr_assert_not(blobstore_has(s, z.hash));
	cr_assert_eq(put(s, &z), 1);
	cr_assert_eq(op_finish(&g), 1);
	cr_assert(blobstore_has(s, z.hash), "the get kept the new entry");
	blobstore_stats(s, &st);
	cr_assert_eq(st.corrupt, 0);
	assert_matches_disk(s);
	blob_free(&v);
	blob_free(&w);
	blob_free(&y);
	blob_free(&z);
	blobstore_close(s);
}

static void set_mtime(const struct tblob *b, time_t t)
{
	struct timespec ts[2] = {{.tv_sec = t}, {.tv_sec = t}};
	char *path = blob_path(b);

	cr_assert_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
	free(path);
}

static char *junk(const char *rel)
{
	char *path = xasprintf("%s/%s", storedir, rel);
	struct err e = {0};

	cr_assert_eq(fs_mkdir_parent(path, 0755, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(fs_write_file(path, "junk", 4, 0644, &e), 0, "%s", err_msg(&e));
	return path;
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

Test(blobstore, reopen_keeps_blobs_removes_junk_and_applies_a_smaller_cap)
{
	struct blobstore *s = open_store(10 * KIB);
	struct blobstore_stats st;
	struct tblob b[4];
	char *bad_name, *tmp, *rel, *wrong_shard, *mine;

	for (unsigned i = 0; i < 4; i++) {
		blob_make(&b[i], i, KIB);
		cr_assert_eq(put(s, &b[i]), 1);
		set_mtime(&b[i], 1000000 + 1000 * (time_t)i); /* b[0] oldest */
	}
	blobstore_close(s);
	bad_name = junk("ab/not-a-hash");
	tmp = xasprintf("%s/%.2s/%s.tmp.0123456789ab", storedir, b[0].hash, b[0].hash);
	cr_assert_eq(fs_write_file(tmp, "partial", 7, 0644, NULL), 0);
	/* A valid name in the wrong directory would never be found. */
	rel = xasprintf("%s/%s", b[0].hash[0] == '0' ? "11" : "00", b[0].hash);
	wrong_shard = junk(rel);
	free(rel);
	/* Not in a shard directory: not the store's to delete. */
	mine = junk("README");

	s = open_store(10 * KIB);
	cr_assert_not(exists(bad_name));
	cr_assert_not(exists(tmp));
	cr_assert_not(exists(wrong_shard));
	cr_assert(exists(mine));
	cr_assert_eq(unlink(mine), 0);
	blobstore_stats(s, &st);
	cr_assert_eq(st.blobs, 4);
	cr_assert_eq(st.bytes, 4 * KIB);
	cr_assert_eq(st.evicted, 0);
	for (unsigned i = 0; i < 4; i++)
		cr_assert(blobstore_has(s, b[i].hash), "blob %u", i);
	assert_matches_disk(s);
	/* Using the two oldest (a get, a put) makes them the newest, for the
	 * next start too. */
	cr_assert_eq(get(s, &b[0]), 1);
	cr_assert_eq(put(s, &b[1]), 0);
	blobstore_close(s);

	s = open_store(2 * KIB);
	blobstore_stats(s, &st);
	cr_assert_eq(st.blobs, 2);
	cr_assert_eq(st.bytes, 2 * KIB);
	cr_assert_eq(st.evicted, 2);
	cr_assert_not(blob_on_disk(&b[2]));
	cr_assert_not(blob_on_disk(&b[3]));
	cr_assert_eq(get(s, &b[0]), 1);
	cr_assert_eq(get(s, &b[1]), 1);
	assert_matches_disk(s);
	blobstore_close(s);
	for (unsigned i = 0; i < 4; i++)
		blob_free(&b[i]);
	free(bad_name);
	free(tmp);
	free(wrong_shard);
	free(mine);
}

Test(blobstore, open_fails_cleanly_on_a_file)
{
	struct blobstore *s = NULL;
	struct err e = {0};
	char *file = xasprintf("%s/file", tmpdir);

	cr_assert_eq(fs_write_file(file, "x", 1, 0644, NULL), 0);
	cr_assert_lt(blobstore_open(file, KIB, &s, &e), 0);
	cr_assert_null(s);
	cr_assert_str_not_empty(err_msg(&e));
	free(file);
}

/* ---- concurrency smoke ---- */

enum { SMOKE_BLOBS = 200, SMOKE_THREADS = 8, SMOKE_OPS = 3000 };

static struct tblob smoke[SMOKE_BLOBS];
static atomic_uint smoke_hits, smoke_bad, smoke_errors;

struct smoke_arg {
	struct blobstore *s;
	unsigned seed;
};

static void *smoke_thread(void *arg)
{
	struct blobstore *s = ((struct smoke_arg *)arg)->s;
	unsigned seed = ((struct smoke_arg *)arg)->seed;
	struct buf out;

	buf_init(&out);
	for (int n = 0; n < SMOKE_OPS; n++) {
		const struct tblob *b = &smoke[rand_r(&seed) % SMOKE_BLOBS];
		int r;

		if (rand_r(&seed) % 2) {
			r = blobstore_put(s, b->hash, b->data, b->len, NULL);
		} else {
			r = blobstore_get(s, b->hash, 1 << 20, &out, NULL);
			if (r == 1)
				smoke_hits++;
			if (r == 1 && (out.len != b->len || memcmp(out.data, b->data, b->len) != 0))
				smoke_bad++;
		}
		if (r < 0)
			smoke_errors++;
	}
	buf_release(&out);
	return NULL;
}

Test(blobstore, concurrent_puts_and_gets_keep_the_books)
{
	struct blobstore *s = open_store(8 * KIB);
	struct blobstore_stats st;
	pthread_t t[SMOKE_THREADS];
	struct smoke_arg args[SMOKE_THREADS];

	for (unsigned i = 0; i < SMOKE_BLOBS; i++)
		blob_make(&smoke[i], i, 100 + (i * 37) % 1500);
	for (int k = 0; k < SMOKE_THREADS; k++) {
		args[k] = (struct smoke_arg){.s = s, .seed = 7u * (unsigned)k + 1u};
		cr_assert_eq(pthread_create(&t[k], NULL, smoke_thread, &args[k]), 0);
	}
	for (int k = 0; k < SMOKE_THREADS; k++)
		pthread_join(t[k], NULL);

	cr_assert_eq(smoke_errors, 0);
	cr_assert_eq(smoke_bad, 0, "a get returned content that is not the blob's");
	blobstore_stats(s, &st);
	cr_assert_eq(st.hits, smoke_hits);
	cr_assert_gt(st.evicted, 0, "the cap was exercised");
	cr_assert_eq(st.corrupt, 0);
	assert_matches_disk(s);
	for (unsigned i = 0; i < SMOKE_BLOBS; i++)
		if (blobstore_has(s, smoke[i].hash))
			cr_assert_eq(get(s, &smoke[i]), 1, "blob %u", i);
		else
			cr_assert_not(blob_on_disk(&smoke[i]), "blob %u", i);
	blobstore_close(s);
	for (unsigned i = 0; i < SMOKE_BLOBS; i++)
		blob_free(&smoke[i]);
}
