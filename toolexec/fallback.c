#include "fallback.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "localslots.h"
#include "log.h"
#include "rundir.h"
#include "settings.h"

#include "banned.h"

#define FALLBACK_MARKER_PREFIX "warned-"

/* Takes a local slot and leaks its descriptor into the tool that replaces
 * this process (localslots.h): the slot is freed when the tool and its
 * children are gone. Trouble with the slots never stops the tool, which
 * then runs without one. Logs only with settings: a pass-through tool runs
 * before the logger is set up, and stderr belongs to the tool. */
static void fallback_take_slot(const struct settings *s)
{
	long n = s ? s->local_slots : settings_local_slots_env();
	struct err e = {0};
	struct timespec t0, t1;
	char *dir;
	long ms;
	int fd, r;

	if (n == 0)
		return;
	if (!(dir = localslots_default_dir())) {
		if (s)
			log_warn("no usable runtime directory: running without a local slot");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = localslots_acquire(dir, n, &fd, &e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (s && r < 0)
		log_warn("%s; running without a local slot", err_msg(&e));
	else if (s)
		log_debug("local slot (of %ld) after %ld ms", n, ms);
	free(dir);
}

noreturn void fallback_exec(const struct settings *s, char *const *tool_argv)
{
	fallback_take_slot(s);
	/* execvp: the go command's probes name the C compiler as it is
	 * configured, "gcc" -### ..., to be found on PATH. */
	execvp(tool_argv[0], tool_argv);
	fprintf(stderr, "godistcc: cannot run %s: %s\n", tool_argv[0], strerror(errno));
	exit(127);
}

/* Field 22 of /proc/<pid>/stat: start time in clock ticks since boot. */
static int fallback_start_time(pid_t pid, uintmax_t *ret_start)
{
	char path[64], text[1024];
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	/* comm (field 2) may hold spaces and parentheses: skip to its end. */
	if (!(p = strrchr(text, ')')))
		return -1;
	for (int field = 2; field < 22; field++) {
		if (!(p = strchr(p + 1, ' ')))
			return -1;
	}
	return sscanf(p, " %ju", ret_start) == 1 ? 0 : -1;
}

/* Removes markers whose go command is gone (pid dead or reused). */
static void fallback_prune(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		uintmax_t start, now;
		int pid, n = 0;

		if (sscanf(de->d_name, FALLBACK_MARKER_PREFIX "%d-%ju%n", &pid, &start, &n) != 2 ||
		    de->d_name[n] != '\0')
			continue;
		if (fallback_start_time(pid, &now) == 0 && now == start)
			continue;
		unlinkat(dirfd(d), de->d_name, 0);
	}
	closedir(d);
}

/* Whether this shim is the first of its go command to warn. When in doubt
 * (no /proc, no runtime dir), warn: a repeated warning beats a lost one. */
static int fallback_claim_warning(void)
{
	pid_t ppid = getppid();
	uintmax_t start;
	char *dir = NULL, *marker = NULL;
	int fd, first = 1;

	if (fallback_start_time(ppid, &start) < 0 || !(dir = rundir_path()))
		goto out;
	marker = xasprintf("%s/" FALLBACK_MARKER_PREFIX "%d-%ju", dir, (int)ppid, start);
	fd = open(marker, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0) {
		close(fd);
		fallback_prune(dir);
	} else if (errno == EEXIST) {
		first = 0;
	}
out:
	free(marker);
	free(dir);
	return first;
}

static int fallback_same_file(int fd, const struct stat *st)
{
	struct stat mine;

	return fstat(fd, &mine) == 0 && mine.st_dev == st->st_dev && mine.st_ino == st->st_ino;
}

/*
 * The go command's own stderr: the very open file description, shared offset
 * and all, so that the line lands among the go command's output even in a
 * file opened without O_APPEND (go build 2>log). Needs ptrace access to the
 * parent, which Yama's ptrace_scope=1 denies.
 */
static int fallback_dup_parent_stderr(pid_t ppid)
{
#if defined(SYS_pidfd_open) && defined(SYS_pidfd_getfd)
	int pidfd = (int)syscall(SYS_pidfd_open, ppid, 0), fd = -1;

	if (pidfd < 0)
		return -1;
	/* Still our parent, so the pidfd is not a reused pid. */
	if (getppid() == ppid)
		fd = (int)syscall(SYS_pidfd_getfd, pidfd, 2, 0);
	close(pidfd);
	return fd;
#else
	(void)ppid;
	return -1;
#endif
}

/* The parent's stderr opened anew, when it is a terminal or a pipe (a new
 * description of a regular file would write at the wrong offset). */
static int fallback_open_parent_stderr(pid_t ppid)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/fd/2", (int)ppid);
	if (stat(path, &st) < 0 || !(S_ISCHR(st.st_mode) || S_ISFIFO(st.st_mode)) ||
	    fallback_same_file(2, &st))
		return -1;
	return open(path, O_WRONLY | O_APPEND | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
}

/* Where the warning goes; -1 means our own stderr, the last resort. */
static int fallback_parent_stderr(void)
{
	pid_t ppid = getppid();
	int fd;

	if (ppid <= 1)
		return -1;
	if ((fd = fallback_dup_parent_stderr(ppid)) >= 0)
		return fd;
	return fallback_open_parent_stderr(ppid);
}

static void fallback_warn(const char *reason)
{
	char *msg = xasprintf("godistcc: warning: %s; compiling locally\n", reason);
	int fd = fallback_parent_stderr();

	if (fd < 0 || fs_write_all(fd, msg, strlen(msg)) < 0)
		fs_write_all(2, msg, strlen(msg));
	if (fd >= 0)
		close(fd);
	free(msg);
}

noreturn void fallback_run(const struct settings *s, char *const *tool_argv, const char *reason)
{
	if (!s->fallback) {
		log_error("%s: %s; GODISTCC_FALLBACK=0, failing", tool_argv[0], reason);
		fprintf(stderr,
			"godistcc: error: remote compile failed and GODISTCC_FALLBACK=0: %s\n",
			reason);
		exit(1);
	}
	log_warn("%s: %s; running locally", tool_argv[0], reason);
	if (fallback_claim_warning())
		fallback_warn(reason);
	fallback_exec(s, tool_argv);
}
