/*
 * Tests for toolexec/replay.c's outputs: what the go command finds on disk
 * after a remote run must be what the tool would have left there itself
 * (os.Create: created with 0666 less the umask, or truncated and rewritten
 * in place), and a path that cannot be written is an error naming it, so
 * that the shim falls back to running the tool here.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../toolexec/replay.c"

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof(dir), "/tmp/godistcc-replay.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
	struct err e = {0};

	fs_rm_rf(dir, &e);
}

TestSuite(shim_replay, .init = setup, .fini = teardown);

static char *path_in(const char *name)
{
	static char p[2][128];
	static int n;
	char *s = p[n++ % 2];

	snprintf(s, sizeof(p[0]), "%s/%s", dir, name);
	return s;
}

static void read_back(const char *path, struct buf *out)
{
	struct err e = {0};

	buf_reset(out);
	cr_assert_eq(fs_read_file(path, 1 << 20, out, &e), 0, "%s", err_msg(&e));
}

Test(shim_replay, outputs_land_as_the_tool_would_leave_them)
{
	char a_data[] = "!<arch>\nnew archive", o_data[] = "short";
	const char *a_path = path_in("_pkg_.a"), *o_path = path_in("x.o");
	struct answer_output outs[] = {
		{.path = a_path, .data = a_data, .len = strlen(a_data)},
		{.path = o_path, .data = o_data, .len = strlen(o_data)},
	};
	struct answer a = {.outputs = outs, .noutputs = 2};
	struct err e = {0};
	struct buf got;
	struct stat st;
	FILE *f;
	mode_t old;

	/* An earlier, longer output with a mode of its own. */
	cr_assert_not_null(f = fopen(o_path, "w"));
	fputs("an earlier object file, longer than the new one", f);
	fclose(f);
	cr_assert_eq(chmod(o_path, 0600), 0);

	old = umask(027);
	cr_assert_eq(replay_outputs(&a, &e), 0, "%s", err_msg(&e));
	umask(old);

	buf_init(&got);
	read_back(a_path, &got);
	cr_assert_eq(got.len, strlen(a_data));
	cr_assert_eq(memcmp(got.data, a_data, got.len), 0);
	read_back(o_path, &got);
	cr_assert_eq(got.len, strlen(o_data), "the old file was not truncated: %zu bytes", got.len);
	cr_assert_eq(memcmp(got.data, o_data, got.len), 0);
	buf_release(&got);

	cr_assert_eq(stat(a_path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0640, "a new output has mode %o", st.st_mode & 07777);
	cr_assert_eq(stat(o_path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "a rewritten output has mode %o",
		     st.st_mode & 07777);
}

Test(shim_replay, unwritable_output_is_an_error_naming_it)
{
	char data[] = "x";
	const char *bad = path_in("missing/_pkg_.a");
	struct answer_output outs[] = {{.path = bad, .data = data, .len = 1}};
	struct answer a = {.outputs = outs, .noutputs = 1};
	struct err e = {0};

	cr_assert_lt(replay_outputs(&a, &e), 0);
	cr_assert_not_null(strstr(err_msg(&e), bad), "%s", err_msg(&e));
}
