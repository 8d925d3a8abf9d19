#include "jail.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "log.h"

#include "banned.h"

/* The uid and gid of jobs when the daemon runs as root without --user. */
#define JAIL_NOBODY 65534

struct jail {
	struct jail_limits lim;
	uid_t uid; /* jobs run as this user (outside their namespace) */
	gid_t gid;
	int change_uid; /* the daemon is root: the child changes to uid first */
	int userns_fd;	/* the namespaces made at start-up; -1: none */
	int netns_fd;
	char uid_map[32]; /* "U U 1": the job's namespace maps its user only */
	char gid_map[32];
};

/* The child's descriptors, at fixed numbers once it has set them up.
 * FD_STARTED is the job's init's: the tool holds it until its exec. */
enum { FD_EXE = 3, FD_STATUS, FD_USERNS, FD_NETNS, FD_COUNT, FD_STARTED = FD_COUNT };

/* What the child writes on the status pipe. */
struct jail_msg {
	int kind; /* JAIL_MSG_* */
	int wstatus;
	long maxrss_kb, cpu_ms;
	int strays;
	int err;	   /* errno of the failed step */
	char step[64];	   /* which step failed */
};

/* STARTED: the set-up is over, the tool's exec happened (or failed, then
 * a FAILED came first). EXIT: the tool's end, the last message. */
enum { JAIL_MSG_FAILED = 1, JAIL_MSG_EXIT = 2, JAIL_MSG_STARTED = 3 };

/* --- start-up --- */

static int chown_one(const char *path, uid_t uid, gid_t gid, struct err *e)
{
	if (lchown(path, uid, gid) < 0 && errno != ENOENT)
		return err_errno(e, errno, "%s: chown", path);
	return 0;
}

static uid_t tree_uid;
static gid_t tree_gid;

static int chown_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw, (void)type;
	if (st->st_uid != tree_uid && lchown(path, tree_uid, tree_gid) < 0)
		return errno;
	return 0;
}

/* The state directory, its lock and its subdirectories become the user's;
 * toolchains already stored stay root's, and readable. The blob store,
 * which the daemon writes and prunes, becomes the user's throughout. */
static int jail_chown_state(const char *dir, uid_t uid, gid_t gid, struct err *e)
{
	static const char *const subs[] = {"", "/lock", "/toolchains", "/jobs", "/tmp"};
	char *blobs = xasprintf("%s/blobs", dir);
	struct stat st;
	int r = 0;

	tree_uid = uid; /* before any thread starts */
	tree_gid = gid;
	if (lstat(blobs, &st) == 0 && (r = nftw(blobs, chown_entry, 16, FTW_PHYS)) != 0)
		err_errno(e, r > 0 ? r : errno, "%s: chown", blobs);
	free(blobs);
	for (size_t i = 0; r == 0 && i < sizeof(subs) / sizeof(subs[0]); i++) {
		char *p = xasprintf("%s%s", dir, subs[i]);

		r = chown_one(p, uid, gid, e);
		free(p);
	}
	return r == 0 ? 0 : -1;
}

static int jail_setids(const struct passwd *pw, struct err *e)
{
	if (initgroups(pw->pw_name, pw->pw_gid) < 0)
		return err_errno(e, errno, "--user %s: initgroups", pw->pw_name);
	if (setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0)
		return err_errno(e, errno, "--user %s: setresgid", pw->pw_name);
	if (setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		return err_errno(e, errno, "--user %s: setresuid", pw->pw_name);
	if (setuid(0) == 0 || seteuid(0) == 0)
		return err_set(e, "--user %s: could regain root after dropping it", pw->pw_name);
	return 0;
}

int jail_drop_privileges(const char *user, const char *state_dir, struct err *e)
{
	struct passwd *pw;

	if (!user || !user[0]) {
		if (geteuid() == 0)
			log_warn("running as root without --user: jobs run as uid %d (nobody) in "
				 "their jail, but the daemon itself keeps root; give --user",
				 JAIL_NOBODY);
		return 0;
	}
	if (!(pw = getpwnam(user)))
		return err_set(e, "--user %s: no such user", user);
	if (geteuid() != 0) {
		if (pw->pw_uid != geteuid())
			return err_set(e, "--user %s: only root can change to another user", user);
		return 0;
	}
	if (pw->pw_uid == 0)
		return err_set(e, "--user %s: jobs must not run as root", user);
	if (jail_chown_state(state_dir, pw->pw_uid, pw->pw_gid, e) < 0 || jail_setids(pw, e) < 0)
		return -1;
	log_info("running as user %s (uid %ju, gid %ju)", user, (uintmax_t)pw->pw_uid,
		 (uintmax_t)pw->pw_gid);
	return 0;
}

/* Async-signal-safe: writes s to path, for /proc/self/{uid,gid}_map. */
static int jail_write_proc(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/* Async-signal-safe: the child becomes the jobs' user, when the daemon is
 * root. */
static int child_setids(const struct jail *j)
{
	if (!j->change_uid)
		return 0;
	/* Raw system calls: they change this process only, which is all a
	 * child of a threaded daemon is. */
	if (syscall(SYS_setgroups, 0, NULL) < 0 ||
	    syscall(SYS_setresgid, j->gid, j->gid, j->gid) < 0 ||
	    syscall(SYS_setresuid, j->uid, j->uid, j->uid) < 0)
		return -1;
	return 0;
}

static int child_maps(const struct jail *j)
{
	/* A process that changed its uid is not dumpable, and then its
	 * /proc/self files are root's. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0 || jail_write_proc("/proc/self/setgroups", "deny") < 0 ||
	    jail_write_proc("/proc/self/uid_map", j->uid_map) < 0 ||
	    jail_write_proc("/proc/self/gid_map", j->gid_map) < 0)
		return -1;
	return 0;
}

/* The start-up helper: makes the user and network namespaces that every
 * job joins, reports on the pipe and waits to be killed. */
static void helper_main(const struct jail *j, int wfd)
{
	char ok = 'x';

	if (child_setids(j) < 0 || unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0 || child_maps(j) < 0)
		ok = 'e';
	if (write(wfd, &ok, 1) != 1)
		_exit(1);
	pause();
	_exit(0);
}

static int open_ns(pid_t pid, const char *name)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%ld/ns/%s", (long)pid, name);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* The namespaces of the helper; 0 with the descriptors in j, or -1 when
 * the kernel does not allow them (e says why). */
static int jail_make_ns(struct jail *j, struct err *e)
{
	int p[2];
	char ok = 0;
	pid_t pid;
	int r = -1;

	if (pipe2(p, O_CLOEXEC) < 0)
		return err_errno(e, errno, "pipe");
	if ((pid = fork()) < 0) {
		err_errno(e, errno, "fork");
		goto out;
	}
	if (pid == 0)
		helper_main(j, p[1]);
	close(p[1]);
	p[1] = -1;
	if (read(p[0], &ok, 1) != 1 || ok != 'x') {
		err_set(e, "no unprivileged user and network namespaces (see "
			   "/proc/sys/user/max_user_namespaces, kernel.unprivileged_userns_clone)");
	} else {
		j->userns_fd = open_ns(pid, "user");
		j->netns_fd = open_ns(pid, "net");
		if (j->userns_fd < 0 || j->netns_fd < 0)
			err_errno(e, errno, "/proc/%ld/ns", (long)pid);
		else
			r = 0;
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
out:
	close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return r;
}

static void jail_close_ns(struct jail *j)
{
	if (j->userns_fd >= 0)
		close(j->userns_fd);
	if (j->netns_fd >= 0)
		close(j->netns_fd);
	j->userns_fd = j->netns_fd = -1;
}

int jail_new(const struct jail_limits *lim, struct jail **ret, struct err *e)
{
	struct jail *j = xcalloc(1, sizeof(*j));
	struct err ne = {0};

	(void)e;
	j->lim = *lim;
	j->userns_fd = j->netns_fd = -1;
	j->uid = geteuid();
	j->gid = getegid();
	if (j->uid == 0) {
		j->change_uid = 1;
		j->uid = j->gid = JAIL_NOBODY;
	}
	snprintf(j->uid_map, sizeof(j->uid_map), "%ju %ju 1", (uintmax_t)j->uid,
		 (uintmax_t)j->uid);
	snprintf(j->gid_map, sizeof(j->gid_map), "%ju %ju 1", (uintmax_t)j->gid,
		 (uintmax_t)j->gid);
	if (jail_make_ns(j, &ne) < 0) {
		jail_close_ns(j);
		log_warn("job jail: %s: remote jobs get resource limits only: no private "
			 "filesystem view, no network isolation, no PID namespace, no "
			 "process limit", err_msg(&ne));
	}
	/* A job's init orphaned by a kill comes back to the daemon, which
	 * reaps it (run.c), rather than to a pid 1 that may not. */
	if (j->userns_fd >= 0)
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	log_info("job jail: uid %ju, %s; limits: cpu %ld s, memory %ld MiB, files %ld, "
		 "processes %ld, disk %ld MiB", (uintmax_t)j->uid,
		 j->userns_fd >= 0 ? "user, mount, PID and network namespaces" : "no namespaces",
		 lim->cpu_s, lim->memory_mb, lim->files, lim->procs, lim->disk_mb);
	*ret = j;
	return 0;
}

void jail_free(struct jail *j)
{
	if (!j)
		return;
	jail_close_ns(j);
	free(j);
}

const struct jail_limits *jail_limits(const struct jail *j)
{
	return &j->lim;
}

int jail_isolates(const struct jail *j)
{
	return j && j->userns_fd >= 0;
}

/* --- per job, in the daemon --- */

static uid_t chown_uid;
static gid_t chown_gid;
static pthread_mutex_t chown_lock = PTHREAD_MUTEX_INITIALIZER;

static int chown_dir(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_D && st->st_uid != chown_uid && lchown(path, chown_uid, chown_gid) < 0)
		return errno;
	return 0;
}

int jail_prepare(const struct jail *j, const char *root, struct err *e)
{
	int r;

	if (!jail_isolates(j) || !j->change_uid)
		return 0;
	/* nftw() has no context argument: one job at a time. */
	pthread_mutex_lock(&chown_lock);
	chown_uid = j->uid;
	chown_gid = j->gid;
	r = nftw(root, chown_dir, 16, FTW_PHYS);
	pthread_mutex_unlock(&chown_lock);
	if (r != 0)
		return err_errno(e, r > 0 ? r : errno, "%s: chown for the jail", root);
	return 0;
}

/* --- per job, in the child: async-signal-safe calls only --- */

/* Whether FD_STATUS is the status pipe (only in the forked child). */
static int child_has_status;

/* Reports a failed step on the status pipe (when there is one) and exits. */
static void __attribute__((noreturn)) child_fail(const char *step)
{
	struct jail_msg m = {.kind = JAIL_MSG_FAILED, .err = errno};
	size_t n = strlen(step);

	if (!child_has_status)
		_exit(127);
	if (n >= sizeof(m.step))
		n = sizeof(m.step) - 1;
	memcpy(m.step, step, n);
	if (write(FD_STATUS, &m, sizeof(m)) < 0)
		_exit(126);
	_exit(126);
}

/* Puts src[i] at descriptor i (sources may sit anywhere, even on the
 * targets; -1 leaves i closed), then closes everything else. */
static int child_fds(const int *src, int n)
{
	int tmp[FD_COUNT];

	for (int i = 0; i < n; i++) {
		tmp[i] = -1;
		if (src[i] >= 0 && (tmp[i] = fcntl(src[i], F_DUPFD, FD_COUNT)) < 0)
			return -1;
	}
	for (int i = 0; i < n; i++) {
		if (tmp[i] < 0)
			close(i);
		else if (dup2(tmp[i], i) < 0)
			return -1;
	}
	return (int)syscall(SYS_close_range, FD_COUNT, ~0U, 0);
}

static void child_signals(void)
{
	sigset_t none;
	struct sigaction sa = {.sa_handler = SIG_DFL};

	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &sa, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

static void set_limit(int resource, long v)
{
	struct rlimit rl = {.rlim_cur = (rlim_t)v, .rlim_max = (rlim_t)v};

	if (v > 0)
		setrlimit(resource, &rl);
}

static void child_limits(const struct jail *j, int own_userns)
{
	struct rlimit core = {0, 0};
	struct rlimit cpu;

	setrlimit(RLIMIT_CORE, &core);
	if (!j)
		return;
	/* SIGXCPU first, SIGKILL one second later if the tool ignores it. */
	cpu.rlim_cur = (rlim_t)j->lim.cpu_s;
	cpu.rlim_max = (rlim_t)j->lim.cpu_s + 1;
	if (j->lim.cpu_s > 0)
		setrlimit(RLIMIT_CPU, &cpu);
	set_limit(RLIMIT_DATA, j->lim.memory_mb << 20);
	set_limit(RLIMIT_FSIZE, j->lim.disk_mb << 20);
	set_limit(RLIMIT_NOFILE, j->lim.files);
	/* Outside a user namespace of its own, the count would be the whole
	 * user's, daemon threads included. */
	if (own_userns)
		set_limit(RLIMIT_NPROC, j->lim.procs);
}

/* sched_setattr(2)'s argument (glibc before 2.41 has no declaration). */
struct child_sched_attr {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period; /* runtime: a fair task's slice, ns */
};

/*
 * The tool's CPU priority, and with slice_ms SCHED_BATCH and a time slice
 * that long (kernels before 6.12 ignore the slice): two compiles sharing
 * a CPU then switch every slice, not every ~1.5 ms, and the wake-ups of a
 * compile's own threads do not preempt the other. That cost a compile 2
 * to 5% more CPU (t/bench/run-slice: net/http, two at once on one CPU,
 * against one alone; SCHED_BATCH with 50 ms: 1.00). Whatever else wakes up
 * still preempts a batch task. Best effort: without it the tool only gets
 * its nice value.
 */
static void child_sched(const struct jail_cmd *c)
{
	int nice = c->nice > 0 ? c->nice : getpriority(PRIO_PROCESS, 0);
	struct child_sched_attr a = {
		.size = sizeof(a),
		.policy = SCHED_BATCH,
		.nice = nice,
		.runtime = (uint64_t)c->slice_ms * 1000000,
	};

#ifdef SYS_sched_setattr
	if (c->slice_ms > 0 && syscall(SYS_sched_setattr, 0, &a, 0) == 0)
		return;
#endif
	if (c->nice > 0)
		setpriority(PRIO_PROCESS, 0, c->nice);
}

/* Runs the tool: never returns. */
static void __attribute__((noreturn)) child_exec(const struct jail *j, const struct jail_cmd *c,
						 int own_userns)
{
	struct timespec pause = {0, 10 * 1000 * 1000};

	child_limits(j, own_userns);
	child_sched(c);
	if (chdir(c->dir) < 0)
		child_fail("chdir");
	fcntl(FD_EXE, F_SETFD, FD_CLOEXEC);
	fcntl(FD_STATUS, F_SETFD, FD_CLOEXEC);
	syscall(SYS_close_range, FD_STATUS + 1, FD_STARTED - 1, 0);
	syscall(SYS_close_range, FD_STARTED + 1, ~0U, 0); /* FD_STARTED: close-on-exec */
	/* A toolchain just uploaded may still be open for writing in a child
	 * another thread forked a moment ago: retry briefly. */
	for (int tries = 0; tries < 20; tries++) {
		/* The path is not in an isolated job's root; a script only
		 * runs by path (its interpreter gets a /dev/fd name). */
		if (own_userns)
			syscall(SYS_execveat, FD_EXE, "", c->argv, c->envp, AT_EMPTY_PATH);
		else
			execve(c->exe, c->argv, c->envp);
		if (errno != ETXTBSY)
			break;
		nanosleep(&pause, NULL);
	}
	child_fail("exec"); /* without a status pipe, 127 is all the daemon learns */
}

/* mkdir -p of path (absolute) below the current root, in place. */
static int child_mkdirs(char *path)
{
	for (char *s = path + 1;; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			return -1;
		*s = c;
		if (!c)
			return 0;
	}
}

/* The job's root: a read-only tmpfs on /tmp (any directory would do)
 * holding S at its own path, then pivoted to. tree: a detached copy of S
 * (-1: bind S by its path). */
static void child_mounts(const struct jail_cmd *c, int tree)
{
	char at[4096 + 8] = "/tmp";
	size_t n = strlen(c->root);

	if (n + 5 > sizeof(at))
		child_fail("sandbox path too long");
	memcpy(at + 4, c->root, n + 1);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		child_fail("make mounts private");
	if (mount("jail", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=64k,nr_inodes=256,mode=0755") < 0)
		child_fail("mount tmpfs");
	if (child_mkdirs(at) < 0)
		child_fail("mkdir sandbox path");
	if (tree >= 0 ? syscall(SYS_move_mount, tree, "", AT_FDCWD, at, MOVE_MOUNT_F_EMPTY_PATH) < 0
		      : mount(c->root, at, NULL, MS_BIND | MS_REC, NULL) < 0)
		child_fail("bind the sandbox");
	if (tree >= 0)
		close(tree);
	if (mount(NULL, "/tmp", NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		child_fail("remount tmpfs read-only");
	if (chdir("/tmp") < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		child_fail("pivot_root");
}

long jail_cpu_ms(const struct rusage *ru)
{
	return (ru->ru_utime.tv_sec + ru->ru_stime.tv_sec) * 1000L +
	       (ru->ru_utime.tv_usec + ru->ru_stime.tv_usec) / 1000;
}

/* pid 1 of the job's PID namespace: starts the tool, waits for it,
 * kills what it left behind and reports. */
static void __attribute__((noreturn)) child_init(const struct jail *j, const struct jail_cmd *c)
{
	struct jail_msg m = {.kind = JAIL_MSG_EXIT};
	struct jail_msg started = {.kind = JAIL_MSG_STARTED};
	struct rusage ru;
	pid_t tool, pid;
	int st, go[2];
	char byte;

	/* The tool's exec (or death) closes its copy of FD_STARTED, the only
	 * write end left: then the daemon hears that the set-up is over. */
	if (pipe2(go, O_CLOEXEC) < 0 ||
	    (go[1] != FD_STARTED && dup3(go[1], FD_STARTED, O_CLOEXEC) < 0))
		child_fail("pipe");
	if (go[1] != FD_STARTED)
		close(go[1]);
	if ((tool = fork()) < 0)
		child_fail("fork the tool");
	if (tool == 0) {
		close(go[0]);
		child_exec(j, c, 1);
	}
	close(FD_STARTED);
	while (read(go[0], &byte, 1) < 0 && errno == EINTR)
		;
	close(go[0]);
	if (write(FD_STATUS, &started, sizeof(started)) < 0)
		_exit(1);
	for (;;) {
		pid = wait4(-1, &st, 0, &ru);
		if (pid == tool)
			break;
		if (pid < 0 && errno != EINTR)
			child_fail("wait for the tool");
		if (pid > 0)
			m.strays++; /* orphans that ended before the tool */
	}
	m.wstatus = st;
	m.maxrss_kb = ru.ru_maxrss;
	m.cpu_ms = jail_cpu_ms(&ru);
	if (kill(-1, SIGKILL) == 0)
		while ((pid = waitpid(-1, &st, 0)) > 0 || (pid < 0 && errno == EINTR))
			m.strays += pid > 0;
	if (write(FD_STATUS, &m, sizeof(m)) < 0)
		_exit(1);
	_exit(0);
}

/* The isolated child: joins the namespaces, makes its own, builds the
 * root and starts pid 1 of the job, whose fate it takes. */
static void __attribute__((noreturn)) child_isolated(const struct jail *j,
						     const struct jail_cmd *c)
{
	pid_t init;
	int st, tree = -1;

	/* The jobs' user may not reach S by its path when the daemon is
	 * root: take a copy of the mount while still root. */
	if (j->change_uid && (tree = (int)syscall(SYS_open_tree, AT_FDCWD, c->root,
						  OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
						      AT_RECURSIVE)) < 0)
		child_fail("open_tree the sandbox");
	if (child_setids(j) < 0)
		child_fail("change to the jobs' user");
	if (setns(FD_USERNS, CLONE_NEWUSER) < 0 || setns(FD_NETNS, CLONE_NEWNET) < 0)
		child_fail("join the jail's namespaces");
	if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC) < 0)
		child_fail("unshare");
	if (child_maps(j) < 0)
		child_fail("write the uid and gid maps");
	child_mounts(c, tree);
	close(FD_USERNS);
	close(FD_NETNS);
	if ((init = fork()) < 0)
		child_fail("fork the job's init");
	if (init == 0)
		child_init(j, c);
	while (waitpid(init, &st, 0) < 0)
		if (errno != EINTR)
			_exit(125);
	_exit(WIFEXITED(st) ? WEXITSTATUS(st) : 125);
}

static void __attribute__((noreturn)) child_main(const struct jail *j, const struct jail_cmd *c,
						 int status_fd)
{
	int src[FD_COUNT] = {c->in, c->out, c->err, c->exe_fd, status_fd,
			     jail_isolates(j) ? j->userns_fd : -1,
			     jail_isolates(j) ? j->netns_fd : -1};

	if (status_fd >= 0)
		child_has_status = 1; /* forked: the daemon's copy stays 0 */
	setpgid(0, 0);
	child_signals();
	if (child_fds(src, FD_COUNT) < 0)
		_exit(126);
	if (status_fd < 0)
		child_exec(j, c, 0);
	child_isolated(j, c);
}

/*
 * A job without isolation starts with vfork(2): the child borrows the
 * daemon's memory until its exec, where a fork would first copy the
 * daemon's page tables (the spawn took 0.55 ms before the exec began, per
 * "perf trace" of t/bench/run-std part 2, and longer with a bigger daemon).
 * This thread waits meanwhile, other threads run on. The child writes no
 * memory but its stack and this thread's errno: child_main() without a
 * status pipe makes only system calls, on values read before. Every signal
 * stays blocked until it has reset the handlers, so none of the daemon's
 * runs in the child. An isolating job cannot borrow: unshare(2) of a user
 * namespace refuses a shared address space.
 */
static int jail_vspawn(const struct jail *j, const struct jail_cmd *c, pid_t *ret_pid,
		       int *ret_status_fd, struct err *e)
{
	sigset_t all, old;
	pid_t pid;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pid = vfork();
	if (pid == 0)
		child_main(j, c, -1);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (pid < 0)
		return err_errno(e, errno, "vfork");
	*ret_pid = pid; /* the child made its own process group before exec */
	*ret_status_fd = -1;
	return 0;
}

int jail_spawn(const struct jail *j, const struct jail_cmd *c, pid_t *ret_pid,
	       int *ret_status_fd, struct err *e)
{
	int isolate = c->root && jail_isolates(j);
	int st[2] = {-1, -1}, r = -1;
	pid_t pid;

	if (!isolate)
		return jail_vspawn(j, c, ret_pid, ret_status_fd, e);
	if (pipe2(st, O_CLOEXEC) < 0)
		return err_errno(e, errno, "pipe");
	fcntl(st[0], F_SETFL, O_NONBLOCK); /* a stuck writer never blocks a read */
	if ((pid = fork()) < 0) {
		err_errno(e, errno, "fork");
		goto out;
	}
	if (pid == 0)
		child_main(j, c, st[1]);
	setpgid(pid, pid); /* also in the child: whichever runs first */
	*ret_pid = pid;
	*ret_status_fd = st[0];
	st[0] = -1;
	r = 0;
out:
	if (st[0] >= 0)
		close(st[0]);
	if (st[1] >= 0)
		close(st[1]);
	return r;
}

void jail_status_init(struct jail_status *ret)
{
	memset(ret, 0, sizeof(*ret));
	snprintf(ret->error, sizeof(ret->error), "the jail reported nothing");
}

int jail_status_next(int status_fd, struct jail_status *st)
{
	struct jail_msg m;
	ssize_t n;

	while ((n = read(status_fd, &m, sizeof(m))) < 0 && errno == EINTR)
		;
	if (n < 0)
		return -1;
	if (n != (ssize_t)sizeof(m)) /* the end: every writer is gone */
		return 0;
	if (st->failed) /* what follows a failure (a STARTED) says nothing */
		return 1;
	switch (m.kind) {
	case JAIL_MSG_FAILED:
		m.step[sizeof(m.step) - 1] = '\0';
		snprintf(st->error, sizeof(st->error), "%s: %s", m.step, strerror(m.err));
		st->failed = st->started = 1;
		st->valid = 0;
		break;
	case JAIL_MSG_STARTED:
		st->started = 1;
		break;
	case JAIL_MSG_EXIT:
		st->started = st->valid = 1;
		st->wstatus = m.wstatus;
		st->maxrss_kb = m.maxrss_kb;
		st->cpu_ms = m.cpu_ms;
		st->strays = m.strays;
		break;
	}
	return 1;
}

void jail_status_read(int status_fd, struct jail_status *st)
{
	if (status_fd >= 0)
		while (jail_status_next(status_fd, st) > 0)
			;
}
