#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"

#include "banned.h"

static char *tmpdir;

static void setup(void)
{
	tmpdir = xstrdup("/tmp/test_fsutil.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
}

static void teardown(void)
{
	/* Best effort; the tests below check fs_rm_rf itself. */
	fs_rm_rf(tmpdir, NULL);
	free(tmpdir);
}

static char *in_tmp(const char *rel)
{
	return xasprintf("%s/%s", tmpdir, rel);
}

static int exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static size_t count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	cr_assert_not_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

TestSuite(fsutil, .init = setup, .fini = teardown);

Test(fsutil, write_atomic_replaces_and_leaves_no_temp)
{
	char *path = in_tmp("out.a");
	struct buf b;
	struct err e = {0};
	struct stat st;

	buf_init(&b);
	cr_assert_eq(fs_write_file(path, "old content", 11, 0644, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(fs_write_atomic(path, "new", 3, 0600, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(fs_read_file(path, 100, &b, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(b.len, 3);
	cr_assert_str_eq(b.data, "new");
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0600);
	/* Only the target: no temporary left behind. */
	cr_assert_eq(count_entries(tmpdir), 1);
	buf_release(&b);
	free(path);
}

Test(fsutil, write_atomic_keeps_old_file_on_failure)
{
	char name[251];
	struct buf b;
	struct err e = {0};

	/* A name near NAME_MAX leaves no room for the temporary's suffix: a
	 * failure that does not depend on permissions (the tests may run as
	 * root). */
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	char *path = in_tmp(name);
	buf_init(&b);
	cr_assert_eq(fs_write_file(path, "old", 3, 0644, NULL), 0);
	cr_assert_lt(fs_write_atomic(path, "new", 3, 0644, &e), 0);
	cr_assert(strstr(err_msg(&e), "File name too long") != NULL, "%s", err_msg(&e));
	cr_assert_eq(fs_read_file(path, 100, &b, NULL), 0);
	cr_assert_str_eq(b.data, "old");
	cr_assert_eq(count_entries(tmpdir), 1);
	buf_release(&b);
	free(path);
}

Test(fsutil, write_atomic_missing_dir_fails_cleanly)
{
	char *path = in_tmp("no/such/dir/f");
	struct err e = {0};

	cr_assert_lt(fs_write_atomic(path, "x", 1, 0644, &e), 0);
	cr_assert(strstr(err_msg(&e), "No such file") != NULL, "%s", err_msg(&e));
	cr_assert_eq(count_entries(tmpdir), 0);
	free(path);
}

Test(fsutil, read_file_limit)
{
	char *path = in_tmp("f");
	struct buf b;
	struct err e = {0};

	buf_init(&b);
	buf_adds(&b, "prefix:");
	cr_assert_eq(fs_write_file(path, "0123456789", 10, 0644, NULL), 0);
	cr_assert_lt(fs_read_file(path, 9, &b, &e), 0);
	cr_assert(strstr(err_msg(&e), "9-byte limit") != NULL, "%s", err_msg(&e));
	/* A failed read leaves the buffer as it was. */
	cr_assert_str_eq(b.data, "prefix:");
	cr_assert_eq(fs_read_file(path, 10, &b, &e), 0);
	cr_assert_str_eq(b.data, "prefix:0123456789");
	buf_release(&b);
	free(path);
}

Test(fsutil, read_file_limit_on_unsized_file)
{
	struct buf b;
	struct err e = {0};

	/* /proc files report size 0, so only the read loop can enforce the cap. */
	buf_init(&b);
	cr_assert_lt(fs_read_file("/proc/self/status", 16, &b, &e), 0);
	cr_assert(strstr(err_msg(&e), "16-byte limit") != NULL, "%s", err_msg(&e));
	cr_assert_eq(b.len, 0);
	cr_assert_eq(fs_read_file("/proc/self/status", 1 << 20, &b, &e), 0);
	cr_assert(strstr(b.data, "Name:") != NULL);
	buf_release(&b);
}

Test(fsutil, write_all_to_pipe)
{
	int p[2];
	char got[6] = {0};

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(fs_write_all(p[1], "hello", 5), 0);
	cr_assert_eq(read(p[0], got, 5), 5);
	cr_assert_str_eq(got, "hello");
	close(p[0]);
	cr_assert_lt(fs_write_all(-1, "x", 1), 0);
	cr_assert_eq(errno, EBADF);
	close(p[1]);
}

Test(fsutil, mkdir_p_and_parent)
{
	char *deep = in_tmp("a/b//c/d/");
	char *file = in_tmp("x/y/z.o");
	char *parent = in_tmp("x/y");
	char *blocker = in_tmp("file");
	char *under = in_tmp("file/sub");
	struct stat st;
	struct err e = {0};

	cr_assert_eq(fs_mkdir_p(deep, 0755, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(stat(deep, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	/* Again: existing directories are fine. */
	cr_assert_eq(fs_mkdir_p(deep, 0755, &e), 0, "%s", err_msg(&e));

	cr_assert_eq(fs_mkdir_parent(file, 0755, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(stat(parent, &st), 0);
	cr_assert(S_ISDIR(st.st_mode));
	cr_assert_not(exists(file));

	cr_assert_eq(fs_write_file(blocker, "", 0, 0644, NULL), 0);
	cr_assert_lt(fs_mkdir_p(under, 0755, &e), 0);
	cr_assert(strstr(err_msg(&e), "not a directory") != NULL, "%s", err_msg(&e));
	/* The path itself is a file: mkdir says EEXIST, which is not enough. */
	err_clear(&e);
	cr_assert_lt(fs_mkdir_p(blocker, 0755, &e), 0);
	cr_assert(strstr(err_msg(&e), "exists and is not a directory") != NULL, "%s",
		  err_msg(&e));
	free(deep);
	free(file);
	free(parent);
	free(blocker);
	free(under);
}

Test(fsutil, rm_rf_does_not_follow_symlinks)
{
	char *outside = in_tmp("outside");
	char *precious = in_tmp("outside/precious");
	char *tree = in_tmp("tree");
	char *sub = in_tmp("tree/a/b");
	char *file = in_tmp("tree/a/b/f");
	char *link = in_tmp("tree/a/link");
	char *roinner = in_tmp("tree/ro");
	char *rofile = in_tmp("tree/ro/f");
	struct err e = {0};

	cr_assert_eq(fs_mkdir_p(outside, 0755, NULL), 0);
	cr_assert_eq(fs_write_file(precious, "keep", 4, 0644, NULL), 0);
	cr_assert_eq(fs_mkdir_p(sub, 0755, NULL), 0);
	cr_assert_eq(fs_write_file(file, "x", 1, 0644, NULL), 0);
	cr_assert_eq(symlink(outside, link), 0);
	/* A read-only directory, as in Go's module cache. */
	cr_assert_eq(fs_mkdir_p(roinner, 0755, NULL), 0);
	cr_assert_eq(fs_write_file(rofile, "x", 1, 0444, NULL), 0);
	cr_assert_eq(chmod(roinner, 0555), 0);

	cr_assert_eq(fs_rm_rf(tree, &e), 0, "%s", err_msg(&e));
	cr_assert_not(exists(tree));
	cr_assert(exists(precious), "rm_rf followed a symlink out of the tree");
	/* A missing path is not an error. */
	cr_assert_eq(fs_rm_rf(tree, &e), 0, "%s", err_msg(&e));
	free(outside);
	free(precious);
	free(tree);
	free(sub);
	free(file);
	free(link);
	free(roinner);
	free(rofile);
}

Test(fsutil, rm_rf_of_a_symlink_removes_only_the_link)
{
	char *target = in_tmp("target");
	char *keep = in_tmp("target/keep");
	char *link = in_tmp("link");
	struct err e = {0};

	cr_assert_eq(fs_mkdir_p(target, 0755, NULL), 0);
	cr_assert_eq(fs_write_file(keep, "k", 1, 0644, NULL), 0);
	cr_assert_eq(symlink(target, link), 0);
	cr_assert_eq(fs_rm_rf(link, &e), 0, "%s", err_msg(&e));
	cr_assert_not(exists(link));
	cr_assert(exists(keep));
	free(target);
	free(keep);
	free(link);
}

Test(fsutil, rm_rf_plain_file)
{
	char *f = in_tmp("plain");

	cr_assert_eq(fs_write_file(f, "x", 1, 0644, NULL), 0);
	cr_assert_eq(fs_rm_rf(f, NULL), 0);
	cr_assert_not(exists(f));
	free(f);
}

Test(fsutil, path_is_clean_abs)
{
	cr_assert(fs_path_is_clean_abs("/a"));
	cr_assert(fs_path_is_clean_abs("/home/u/src/m/main.go"));
	cr_assert(fs_path_is_clean_abs("/a/.hidden/b..c/..."));
	cr_assert_not(fs_path_is_clean_abs("/"));
	cr_assert_not(fs_path_is_clean_abs(""));
	cr_assert_not(fs_path_is_clean_abs(NULL));
	cr_assert_not(fs_path_is_clean_abs("a/b"));
	cr_assert_not(fs_path_is_clean_abs("/a/"));
	cr_assert_not(fs_path_is_clean_abs("//a"));
	cr_assert_not(fs_path_is_clean_abs("/a//b"));
	cr_assert_not(fs_path_is_clean_abs("/a/./b"));
	cr_assert_not(fs_path_is_clean_abs("/a/../b"));
	cr_assert_not(fs_path_is_clean_abs("/.."));
	cr_assert_not(fs_path_is_clean_abs("/a/."));
	cr_assert_not(fs_path_is_clean_abs("/a/.."));
}
