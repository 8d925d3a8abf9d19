/*
 * Tests for common/localslots.c. flock locks belong to open file
 * descriptions, so two localslots_try() calls in one process contend as two
 * processes would; holders that must die or exec are forked children.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "localslots.h"

#include "banned.h"

static char *tmpdir, *slots;

static void setup(void)
{
	tmpdir = xstrdup("/tmp/test_localslots.XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	slots = xasprintf("%s/slots", tmpdir); /* made by the first try */
}

static void teardown(void)
{
	fs_rm_rf(tmpdir, NULL);
	free(slots);
	free(tmpdir);
}

TestSuite(localslots, .init = setup, .fini = teardown);

/* Takes a slot that must be free; returns its descriptor. */
static int take(long n)
{
	struct err e = {0};
	int fd = -1;

	cr_assert_eq(localslots_try(slots, n, &fd, &e), 0, "%s", err_msg(&e));
	cr_assert_geq(fd, 0);
	return fd;
}

static int try_busy(long n)
{
	struct err e = {0};
	int fd = -1, r = localslots_try(slots, n, &fd, &e);

	if (r == 0)
		close(fd);
	cr_assert_geq(r, 0, "%s", err_msg(&e));
	return r == LOCALSLOTS_BUSY;
}

/* Whether fd becomes readable within ms milliseconds. */
static int readable_within(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, ms) == 1;
}

Test(localslots, n_holders_then_busy_then_freed)
{
	int fds[3];
	struct stat st;

	for (int i = 0; i < 3; i++)
		fds[i] = take(3);
	cr_assert(try_busy(3), "a fourth holder got one of 3 slots");
	cr_assert(try_busy(3), "busy twice");
	close(fds[1]);
	fds[1] = take(3);
	cr_assert(try_busy(3));
	cr_assert_eq(stat(slots, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0700, "slots directory mode %o", st.st_mode & 07777);
	for (int i = 0; i < 3; i++) {
		char *f = xasprintf("%s/%d", slots, i);

		cr_assert_eq(stat(f, &st), 0, "%s missing", f);
		cr_assert_eq(st.st_mode & 07777, 0600);
		free(f);
		close(fds[i]);
	}
	for (int i = 0; i < 3; i++)
		fds[i] = take(3);
	for (int i = 0; i < 3; i++)
		close(fds[i]);
}

Test(localslots, files_beyond_n_do_not_count)
{
	int a = take(1);

	/* A process allowed 2 finds the second file free. */
	int b = take(2);

	cr_assert(try_busy(2));
	cr_assert(try_busy(1));
	close(a);
	close(b);
}

Test(localslots, descriptor_is_inherited_unless_cloexec)
{
	struct err e = {0};
	int fd = take(1), flags = fcntl(fd, F_GETFD);

	cr_assert_eq(flags & FD_CLOEXEC, 0, "the slot would be dropped at exec");
	close(fd);
	cr_assert_eq(localslots_try_flags(slots, 1, LOCALSLOTS_CLOEXEC, &fd, &e), 0, "%s",
		     err_msg(&e));
	cr_assert_neq(fcntl(fd, F_GETFD) & FD_CLOEXEC, 0);
	close(fd);
}

Test(localslots, acquire_waits_until_a_slot_is_freed)
{
	int a = take(2), b = take(2), p[2];
	pid_t pid;
	int status;

	cr_assert_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		int fd;

		/* Copies of the parent's slots: they would keep b held. */
		close(a);
		close(b);
		close(p[0]);
		if (localslots_acquire(slots, 2, &fd, NULL) == 0 && write(p[1], "x", 1) == 1)
			_exit(0);
		_exit(1);
	}
	close(p[1]);
	cr_assert(!readable_within(p[0], 200), "acquire returned while both slots were held");
	close(b); /* the waiter must notice this one, whichever it is */
	cr_assert(readable_within(p[0], 2000), "acquire did not return after a slot was freed");
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(p[0]);
	close(a);
}

/* A child that waits in localslots_acquire() for one of n slots, writes to
 * *ret_pipe once it has one, and holds it until it reads a byte. held: the
 * parent's slot, whose copy the child must not keep. */
static pid_t line_waiter(long n, int held, int *ret_pipe, int *ret_go)
{
	int p[2], g[2], fd;
	pid_t pid;
	char c;

	cr_assert_eq(pipe(p), 0);
	cr_assert_eq(pipe(g), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		close(g[1]);
		close(held);
		if (localslots_acquire(slots, n, &fd, NULL) != 0 || write(p[1], "x", 1) != 1)
			_exit(1);
		_exit(read(g[0], &c, 1) == 1 ? 0 : 1);
	}
	close(p[1]);
	close(g[0]);
	*ret_pipe = p[0];
	*ret_go = g[1];
	return pid;
}

static int line_seen_within(int ms)
{
	for (int i = 0; i < ms; i++) {
		if (localslots_line_waiting(slots))
			return 1;
		usleep(1000);
	}
	return 0;
}

/* A waiter stands in line, visibly (dispatchd's local jobs yield to it),
 * and with one slot is handed it as soon as it is freed. */
Test(localslots, waiter_stands_in_line_and_gets_the_freed_slot)
{
	int a = take(1), got, go, status;
	pid_t pid = line_waiter(1, a, &got, &go);
	struct timespec t0, t1;

	cr_assert(line_seen_within(2000), "nobody seen waiting in line");
	cr_assert(!readable_within(got, 100), "the waiter took a held slot");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	close(a);
	cr_assert(readable_within(got, 2000), "the waiter did not get the freed slot");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	cr_assert_lt((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000, 500);
	cr_assert(!localslots_line_waiting(slots), "the line is still taken after the handover");
	cr_assert(try_busy(1), "the slot is free while the waiter holds it");
	cr_assert_eq(write(go, "x", 1), 1);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert(!try_busy(1));
	close(got);
	close(go);
}

/* Two in line for the one slot: each gets it in turn, never both at once. */
Test(localslots, waiters_take_turns)
{
	int a = take(1), got[2], go[2], status, first, second;
	pid_t pid[2];

	for (int i = 0; i < 2; i++)
		pid[i] = line_waiter(1, a, &got[i], &go[i]);
	cr_assert(line_seen_within(2000));
	usleep(50000); /* both in line */
	close(a);
	first = readable_within(got[0], 2000) ? 0 : 1;
	second = 1 - first;
	cr_assert(readable_within(got[first], 2000), "no waiter got the freed slot");
	cr_assert(!readable_within(got[second], 100), "both waiters hold the one slot");
	cr_assert(localslots_line_waiting(slots), "the second waiter is not in line");
	cr_assert_eq(write(go[first], "x", 1), 1);
	cr_assert(readable_within(got[second], 2000), "the second waiter never got the slot");
	cr_assert_eq(write(go[second], "x", 1), 1);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(waitpid(pid[i], &status, 0), pid[i]);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		close(got[i]);
		close(go[i]);
	}
}

/* A child that takes the one slot, says so, and then runs argv (or waits). */
static pid_t holder(int flags, char *const *argv)
{
	int p[2], fd;
	pid_t pid;
	char c;

	cr_assert_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		if (localslots_try_flags(slots, 1, flags, &fd, NULL) != 0 ||
		    write(p[1], "x", 1) != 1)
			_exit(1);
		close(p[1]);
		if (argv)
			execv(argv[0], argv);
		pause();
		_exit(1);
	}
	close(p[1]);
	cr_assert_eq(read(p[0], &c, 1), 1, "the holder could not take the slot");
	close(p[0]);
	return pid;
}

static void kill_and_reap(pid_t pid)
{
	kill(pid, SIGKILL);
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
}

Test(localslots, killed_holder_frees_its_slot)
{
	pid_t pid = holder(0, NULL);
	int fd;

	cr_assert(try_busy(1));
	kill_and_reap(pid);
	fd = take(1);
	close(fd);
}

/* Whether pid's /proc/PID/<what> reads as want (a link's target, or a
 * file's first line). */
static int proc_is(pid_t pid, const char *what, int is_link, const char *want)
{
	char path[64], got[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	if (is_link) {
		n = readlink(path, got, sizeof(got) - 1);
	} else {
		if ((fd = open(path, O_RDONLY)) < 0)
			return 0;
		n = read(fd, got, sizeof(got) - 1);
		close(fd);
		if (n > 0 && got[n - 1] == '\n')
			n--;
	}
	if (n <= 0)
		return 0;
	got[n] = '\0';
	return strcmp(got, want) == 0;
}

/* Whether pid sleeps (state S in /proc/PID/stat). */
static int proc_sleeps(pid_t pid)
{
	char path[64], stat[512], *paren;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY)) < 0)
		return 0;
	n = read(fd, stat, sizeof(stat) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	stat[n] = '\0';
	paren = strrchr(stat, ')');
	return paren && paren[1] == ' ' && paren[2] == 'S';
}

/*
 * Waits until pid has exec'ed path and sleeps in it. /proc/PID/exe and
 * comm change during exec, before the descriptors closed on exec have
 * released their locks (the last close of a file completes on the way
 * back to user space): only a program that has started running, here
 * sleeping, is past that.
 */
static void wait_exec(pid_t pid, const char *path)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

	for (int i = 0; i < 500; i++) {
		if (proc_is(pid, "exe", 1, path) && proc_is(pid, "comm", 0, base) &&
		    proc_sleeps(pid))
			return;
		usleep(10000);
	}
	cr_assert_fail("pid %d did not exec %s", (int)pid, path);
}

Test(localslots, slot_lasts_through_exec_unless_cloexec)
{
	char sleep_path[4096], secs[] = "30";
	char *argv[] = {sleep_path, secs, NULL};
	pid_t pid;

	cr_assert_not_null(realpath("/bin/sleep", sleep_path), "no /bin/sleep");
	pid = holder(0, argv);
	wait_exec(pid, sleep_path);
	cr_assert(try_busy(1), "the slot was dropped when its holder exec'ed");
	kill_and_reap(pid);
	cr_assert(!try_busy(1));

	pid = holder(LOCALSLOTS_CLOEXEC, argv);
	wait_exec(pid, sleep_path);
	cr_assert(!try_busy(1), "LOCALSLOTS_CLOEXEC: the slot outlived exec");
	kill_and_reap(pid);
}

Test(localslots, bad_count_and_directory)
{
	struct err e = {0};
	int fd = -1;
	char *file = xasprintf("%s/file", tmpdir), *below = xasprintf("%s/file/slots", tmpdir);

	cr_assert_lt(localslots_try(slots, 0, &fd, &e), 0);
	cr_assert(strstr(err_msg(&e), "local slots"), "%s", err_msg(&e));
	err_clear(&e);
	cr_assert_lt(localslots_try(slots, LOCALSLOTS_MAX + 1, &fd, &e), 0);
	err_clear(&e);
	cr_assert_eq(fs_write_file(file, "", 0, 0600, NULL), 0);
	cr_assert_lt(localslots_acquire(below, 2, &fd, &e), 0, "acquire must fail, not wait");
	cr_assert(strstr(err_msg(&e), below), "%s", err_msg(&e));
	cr_assert_eq(fd, -1, "*ret_fd written on failure");
	free(file);
	free(below);
}

Test(localslots, parse)
{
	static const char *const bad[] = {"",	 "-1",	 "+3", "3 ",
					  "two", "4097", " 3", "99999999999999999999"};
	struct err e = {0};
	long n = -1;

	cr_assert_eq(localslots_parse("x", "auto", &n, NULL), 0);
	cr_assert_eq(n, localslots_cpu_count());
	cr_assert_geq(n, 1);
	cr_assert_eq(localslots_parse("x", "0", &n, NULL), 0);
	cr_assert_eq(n, 0);
	cr_assert_eq(localslots_parse("x", "12", &n, NULL), 0);
	cr_assert_eq(n, 12);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = -7;
		err_clear(&e);
		cr_assert_lt(localslots_parse("local_slots", bad[i], &n, &e), 0, "\"%s\"", bad[i]);
		cr_assert_eq(n, -7);
		cr_assert(strstr(err_msg(&e), "local_slots"), "%s", err_msg(&e));
	}
}
