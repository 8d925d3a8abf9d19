/* The dispatcher's memory of file hashes by identity: a file it forwards
 * is hashed once, and never named by the hash of an older content. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../../dispatchd/hashcache.c"
#include "fsutil.h"

static char dir[] = "/tmp/test_hashcache.XXXXXX";

static void setup(void)
{
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	cr_assert_eq(fs_rm_rf(dir, NULL), 0);
}

/* utimensat() sets ctime to now: waits until that is settled too. */
static void settle(void)
{
	usleep((HASHCACHE_SETTLE_MS + 50) * 1000);
}

/* Writes path with text, its modification time set seconds_ago in the
 * past; *st is its identity right after. */
static void write_aged(const char *path, const char *text, int seconds_ago, struct stat *st)
{
	FILE *f = fopen(path, "w");
	struct timespec ts[2];

	cr_assert_not_null(f);
	fputs(text, f);
	cr_assert_eq(fclose(f), 0);
	clock_gettime(CLOCK_REALTIME, &ts[0]);
	ts[0].tv_sec -= seconds_ago;
	ts[1] = ts[0];
	cr_assert_eq(utimensat(AT_FDCWD, path, ts, 0), 0);
	cr_assert_eq(stat(path, st), 0);
}

TestSuite(hashcache, .init = setup, .fini = teardown);

Test(hashcache, remembers_a_settled_file_by_identity_and_kind)
{
	struct hashcache *c = hashcache_new(16);
	char path[64], hex[HASH_HEX_LEN + 1], got[HASH_HEX_LEN + 1];
	struct stat st;

	snprintf(path, sizeof(path), "%s/a.go", dir);
	write_aged(path, "package a\n", 10, &st);
	settle();
	hash_buf("package a\n", 10, hex);
	cr_assert_not(hashcache_get(c, &st, "file", got));
	hashcache_put(c, &st, "file", hex);
	cr_assert(hashcache_get(c, &st, "file", got));
	cr_assert_str_eq(got, hex);
	cr_assert_not(hashcache_get(c, &st, "export", got),
		      "another kind of content of the same file is not the same hash");
	hashcache_free(c);
}

Test(hashcache, a_rewritten_file_is_not_named_by_its_old_hash)
{
	struct hashcache *c = hashcache_new(16);
	char path[64], hex[HASH_HEX_LEN + 1], got[HASH_HEX_LEN + 1];
	struct stat st, st2;

	snprintf(path, sizeof(path), "%s/a.go", dir);
	write_aged(path, "package a\n", 10, &st);
	settle();
	hash_buf("package a\n", 10, hex);
	hashcache_put(c, &st, "file", hex);
	cr_assert(hashcache_get(c, &st, "file", got));
	/* Same size, rewritten in place: mtime and ctime move. */
	write_aged(path, "package b\n", 0, &st2);
	cr_assert_eq(st.st_ino, st2.st_ino);
	cr_assert_eq(st.st_size, st2.st_size);
	cr_assert_not(hashcache_get(c, &st2, "file", got));
	hashcache_free(c);
}

Test(hashcache, a_file_changed_within_the_settle_time_is_not_remembered)
{
	struct hashcache *c = hashcache_new(16);
	char path[64], hex[HASH_HEX_LEN + 1], got[HASH_HEX_LEN + 1];
	struct stat st;

	snprintf(path, sizeof(path), "%s/fresh.go", dir);
	write_aged(path, "package fresh\n", 0, &st);
	hash_buf("package fresh\n", 14, hex);
	hashcache_put(c, &st, "file", hex);
	cr_assert_not(hashcache_get(c, &st, "file", got),
		      "a rewrite in the same clock tick could keep this identity");
	hashcache_free(c);
}

Test(hashcache, a_full_cache_empties_instead_of_growing)
{
	struct hashcache *c = hashcache_new(2);
	char path[64], hex[HASH_HEX_LEN + 1], got[HASH_HEX_LEN + 1];
	struct stat st[3];

	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/f%d", dir, i);
		write_aged(path, i == 0 ? "0" : i == 1 ? "1" : "2", 10, &st[i]);
	}
	settle();
	hash_buf("x", 1, hex);
	hashcache_put(c, &st[0], "file", hex);
	hashcache_put(c, &st[1], "file", hex);
	hashcache_put(c, &st[2], "file", hex);
	cr_assert_not(hashcache_get(c, &st[0], "file", got));
	cr_assert(hashcache_get(c, &st[2], "file", got));
	hashcache_free(c);
}
