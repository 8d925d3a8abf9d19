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

#define LOCALSLOTS_SLEEP_MIN_NS 1000000L  /* 1 ms */
#define LOCALSLOTS_SLEEP_MAX_NS 20000000L /* 20 ms */

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

/* Opens lock file i of dir, creating it (and dir) when missing. */
static int localslots_open(const char *dir, long i, int flags, struct err *e)
{
	char path[4096];
	int oflags = O_RDONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY;
	int fd;

	if (flags & LOCALSLOTS_CLOEXEC)
		oflags |= O_CLOEXEC;
	if ((size_t)snprintf(path, sizeof(path), "%s/%ld", dir, i) >= sizeof(path))
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

int localslots_acquire(const char *dir, long n, int *ret_fd, struct err *e)
{
	long sleep_ns = LOCALSLOTS_SLEEP_MIN_NS;
	int r;

	while ((r = localslots_try(dir, n, ret_fd, e)) == LOCALSLOTS_BUSY) {
		struct timespec ts = {0, sleep_ns};

		nanosleep(&ts, NULL);
		sleep_ns += sleep_ns / 2;
		if (sleep_ns > LOCALSLOTS_SLEEP_MAX_NS)
			sleep_ns = LOCALSLOTS_SLEEP_MAX_NS;
	}
	return r;
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
