#include "localslots.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "rundir.h"

#include "banned.h"

#define LOCALSLOTS_SLEEP_MIN_NS 1000000L /* 1 ms */
#define LOCALSLOTS_SLEEP_MAX_NS 5000000L /* 5 ms */
/* The waiting line's lock file, next to the slots "0" .. "N-1". */
#define LOCALSLOTS_LINE "line"

char *localslots_default_dir(void)
{
	char *run = rundir_path();
	char *dir;

	if (!run)
		return NULL;
	dir = xasprintf("%s/local-slots", run);
	free(run);
	return dir;
}

/* Opens lock file name of dir, creating it (and dir) when missing. */
static int localslots_open_name(const char *dir, const char *name, int flags, struct err *e)
{
	char path[4096];
	int oflags = O_RDONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY;
	int fd;

	if (flags & LOCALSLOTS_CLOEXEC)
		oflags |= O_CLOEXEC;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return err_set(e, "%s: local slots directory name too long", dir);
	fd = open(path, oflags, 0600);
	if (fd < 0 && errno == ENOENT) {
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return err_errno(e, errno, "%s: cannot create the local slots directory",
					 dir);
		fd = open(path, oflags, 0600);
	}
	if (fd < 0)
		return err_errno(e, errno, "%s: cannot open local slot", path);
	return fd;
}

/* Opens slot i's lock file. */
static int localslots_open(const char *dir, long i, int flags, struct err *e)
{
	char name[32];

	snprintf(name, sizeof(name), "%ld", i);
	return localslots_open_name(dir, name, flags, e);
}

/* 0: fd now holds slot i; LOCALSLOTS_BUSY: someone else does. */
static int localslots_lock(int fd, const char *dir, long i, struct err *e)
{
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			return LOCALSLOTS_BUSY;
		if (errno != EINTR)
			return err_errno(e, errno, "%s/%ld: cannot lock local slot", dir, i);
	}
	return 0;
}

int localslots_try_flags(const char *dir, long n, int flags, int *ret_fd, struct err *e)
{
	long start;

	if (n < 1 || n > LOCALSLOTS_MAX)
		return err_set(e, "%s: %ld local slots: must be 1 to %d", dir, n, LOCALSLOTS_MAX);
	start = (long)getpid() % n;
	for (long k = 0; k < n; k++) {
		long i = (start + k) % n;
		int fd = localslots_open(dir, i, flags, e);
		int r;

		if (fd < 0)
			return fd;
		if ((r = localslots_lock(fd, dir, i, e)) == 0) {
			*ret_fd = fd;
			return 0;
		}
		close(fd);
		if (r < 0)
			return r;
	}
	return LOCALSLOTS_BUSY;
}

int localslots_try(const char *dir, long n, int *ret_fd, struct err *e)
{
	return localslots_try_flags(dir, n, 0, ret_fd, e);
}

/* flock with EINTR retried. */
static int localslots_flock(int fd, int op)
{
	int r;

	while ((r = flock(fd, op)) < 0 && errno == EINTR)
		;
	return r;
}

/* Waits for one of the n slots as the first in line. With one slot the
 * kernel hands it over as it is freed; with more, no call waits for "any
 * of n", so the first in line polls, and alone. */
static int localslots_wait_first(const char *dir, long n, int *ret_fd, struct err *e)
{
	long sleep_ns = LOCALSLOTS_SLEEP_MIN_NS;
	int r, fd;

	if (n == 1) {
		if ((fd = localslots_open(dir, 0, 0, e)) < 0)
			return fd;
		if (localslots_flock(fd, LOCK_EX) < 0) {
			r = err_errno(e, errno, "%s/0: cannot lock local slot", dir);
			close(fd);
			return r;
		}
		*ret_fd = fd;
		return 0;
	}
	while ((r = localslots_try(dir, n, ret_fd, e)) == LOCALSLOTS_BUSY) {
		struct timespec ts = {0, sleep_ns};

		nanosleep(&ts, NULL);
		sleep_ns += sleep_ns / 2;
		if (sleep_ns > LOCALSLOTS_SLEEP_MAX_NS)
			sleep_ns = LOCALSLOTS_SLEEP_MAX_NS;
	}
	return r;
}

int localslots_acquire(const char *dir, long n, int *ret_fd, struct err *e)
{
	int line, r;

	if (n < 1 || n > LOCALSLOTS_MAX)
		return err_set(e, "%s: %ld local slots: must be 1 to %d", dir, n, LOCALSLOTS_MAX);
	if ((line = localslots_open_name(dir, LOCALSLOTS_LINE, LOCALSLOTS_CLOEXEC, e)) < 0)
		return line;
	if (localslots_flock(line, LOCK_EX) < 0) {
		r = err_errno(e, errno, "%s/%s: cannot wait in line", dir, LOCALSLOTS_LINE);
		close(line);
		return r;
	}
	r = localslots_wait_first(dir, n, ret_fd, e);
	close(line); /* the next in line moves up */
	return r;
}

int localslots_line_waiting(const char *dir)
{
	int line = localslots_open_name(dir, LOCALSLOTS_LINE, LOCALSLOTS_CLOEXEC, NULL);
	int waiting;

	if (line < 0)
		return 0;
	waiting = localslots_flock(line, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(line);
	return waiting;
}

long localslots_cpu_count(void)
{
	cpu_set_t set;
	long n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? n : 1;
}

int localslots_parse(const char *name, const char *text, long *ret_n, struct err *e)
{
	char *end;
	long n;

	if (strcmp(text, "auto") == 0) {
		*ret_n = localslots_cpu_count();
		return 0;
	}
	errno = 0;
	n = strtol(text, &end, 10);
	if (text[0] < '0' || text[0] > '9' || *end || errno || n > LOCALSLOTS_MAX)
		return err_set(e,
			       "setting %s: invalid value \"%s\" (want auto, or 0 to %d; 0: no "
			       "limit)",
			       name, text, LOCALSLOTS_MAX);
	*ret_n = n;
	return 0;
}
