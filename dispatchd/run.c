#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "jail.h"
#include "log.h"
#include "monotime.h"
#include "protocol.h"

#include "banned.h"

/* One running tool: the read ends of its pipes and how to wait for it. */
struct run_proc {
	const char *id; /* the job, for logs */
	pid_t pid;
	int pidfd; /* -1 when the kernel has no pidfd_open() */
	int fd[2]; /* read ends for stdout, stderr; -1 once closed */
	struct buf *dst[2];
	int reaped;
	int status;
	struct rusage ru; /* the leader's, once reaped */
	int status_fd; /* the jail's report, or -1 */
	int watch_status;      /* polling status_fd for the start */
	struct jail_status js; /* what status_fd said so far */
	long long disk_base; /* S's size when the tool started */
	long next_disk_ms;   /* when to measure S again */
	long start_by;	     /* when the tool must have started, if watched */
};

void run_result_init(struct run_result *r)
{
	r->exit_code = 0;
	r->signal = 0;
	r->cpu_ms = r->maxrss_kb = 0;
	buf_init(&r->out);
	buf_init(&r->err);
}

void run_result_release(struct run_result *r)
{
	buf_release(&r->out);
	buf_release(&r->err);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}


/* Starts the tool with the write ends out and err (the same for merged
 * output) in the jail. */
static int run_spawn(const struct run_cmd *c, struct run_proc *p, int out, int err,
		     struct err *e)
{
	struct jail_cmd jc = {.exe = c->exe, .argv = c->argv, .envp = c->envp, .dir = c->dir,
			      .root = c->isolate ? c->sandbox : NULL, .out = out, .err = err,
			      .nice = c->nice, .slice_ms = c->slice_ms, .in = -1, .exe_fd = -1};
	int r = -1;

	if ((jc.in = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		return err_errno(e, errno, "/dev/null");
	if ((jc.exe_fd = open(c->exe, O_PATH | O_CLOEXEC)) < 0) {
		err_errno(e, errno, "%s", c->exe);
		goto out;
	}
	if (jc.root && jail_prepare(c->jail, jc.root, e) < 0)
		goto out;
	if (jail_spawn(c->jail, &jc, &p->pid, &p->status_fd, e) < 0) {
		err_set(e, "%s: cannot run in %s", c->exe, c->dir);
		goto out;
	}
	r = 0;
out:
	close(jc.in);
	if (jc.exe_fd >= 0)
		close(jc.exe_fd);
	return r;
}

/* Bytes of S in use (blocks, so that sparse files count as they are). */
static long long disk_used;

static int disk_add(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)path;
	(void)type;
	(void)ftw;
	disk_used += (long long)st->st_blocks * 512;
	return 0;
}

static pthread_mutex_t disk_lock = PTHREAD_MUTEX_INITIALIZER;

static long long run_disk_usage(const char *dir)
{
	long long n;

	/* nftw() has no context argument: one walk at a time. */
	pthread_mutex_lock(&disk_lock);
	disk_used = 0;
	nftw(dir, disk_add, 16, FTW_PHYS);
	n = disk_used;
	pthread_mutex_unlock(&disk_lock);
	return n;
}

/* The cap on S's growth, in bytes; 0: none. */
static long long run_disk_max(const struct run_cmd *c)
{
	return c->jail && c->sandbox ? (long long)jail_limits(c->jail)->disk_mb << 20 : 0;
}

/* Reads what one pipe holds, straight into its buffer. */
static int run_read(struct run_proc *p, int i, struct err *e)
{
	struct buf *b = p->dst[i];
	size_t room = (size_t)STREAM_MAX_BYTES + 1 - b->len;
	ssize_t n;

	if (room > 65536)
		room = 65536;
	buf_grow(b, room);
	n = read(p->fd[i], b->data + b->len, room);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : err_errno(e, errno, "tool output");
	if (n == 0) {
		close_fd(&p->fd[i]);
		return 0;
	}
	b->len += (size_t)n;
	b->data[b->len] = '\0';
	if (b->len > STREAM_MAX_BYTES) {
		err_set(e, "tool %s passed STREAM_MAX_BYTES (%u bytes)", i ? "stderr" : "stdout",
			STREAM_MAX_BYTES);
		return RUN_E_TOO_LARGE;
	}
	return 0;
}

/* A killed job's processes that outlived RUN_REAP_GRACE_MS. */
struct run_stuck {
	pid_t pid;	/* the group, and its leader unless reaped */
	int leader_reaped;
	long killed_ms; /* when they were killed */
	char id[32];
};

/* Waits for the stuck processes, however long they take, and logs it. The
 * group's id cannot be reused while one of them is left unreaped. */
static void *run_reap_stuck(void *arg)
{
	struct run_stuck *s = arg;

	while (!s->leader_reaped && waitpid(s->pid, NULL, 0) < 0 && errno == EINTR)
		;
	while (waitpid(-s->pid, NULL, 0) > 0 || errno == EINTR)
		;
	log_warn("job %s: its processes died at last, %ld s after SIGKILL", s->id,
		 (monotime_ms() - s->killed_ms) / 1000);
	free(s);
	return NULL;
}

/* Hands the processes still alive to a thread of their own. */
static void run_leave_stuck(struct run_proc *p, long killed_ms)
{
	struct run_stuck *s = xcalloc(1, sizeof(*s));
	pthread_attr_t a;
	pthread_t t;
	int r;

	s->pid = p->pid;
	s->leader_reaped = p->reaped;
	s->killed_ms = killed_ms;
	snprintf(s->id, sizeof(s->id), "%s", p->id);
	log_warn("job %s: its processes are alive %d ms after SIGKILL (stuck in the kernel?); "
		 "answering without waiting for them", s->id, RUN_REAP_GRACE_MS);
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &a, run_reap_stuck, s);
	pthread_attr_destroy(&a);
	if (r != 0)
		run_reap_stuck(s); /* no thread: wait here, as there is no other way */
	p->reaped = 1;
}

/* Reaps the leader: 1 once done, 0 when it is still alive at deadline
 * (with a pidfd to wait on; without one, it waits as long as it takes). */
static int run_reap_leader(struct run_proc *p, long deadline)
{
	struct pollfd pf = {.fd = p->pidfd, .events = POLLIN};
	long left;
	pid_t r;

	if (p->pidfd >= 0)
		while ((left = deadline - monotime_ms()) > 0)
			if (poll(&pf, 1, (int)left) > 0)
				break;
	while ((r = wait4(p->pid, &p->status, p->pidfd >= 0 ? WNOHANG : 0, &p->ru)) < 0 &&
	       errno == EINTR)
		;
	return r != 0; /* < 0: ECHILD, nothing left to wait for */
}

/* Kills the whole group (strays included) while the leader is not yet
 * reaped, so the group id cannot have been reused, then reaps it. A jail's
 * init, orphaned when the group was killed, comes back to the daemon
 * (jail_new() makes it a subreaper): it is reaped too. What has not died
 * RUN_REAP_GRACE_MS after the kill is left to run_reap_stuck(). */
static void run_reap(struct run_proc *p)
{
	long killed = monotime_ms(), deadline = killed + RUN_REAP_GRACE_MS;
	siginfo_t si;

	if (p->reaped)
		return;
	kill(-p->pid, SIGKILL);
	if (!run_reap_leader(p, deadline)) {
		run_leave_stuck(p, killed);
		return;
	}
	p->reaped = 1;
	if (p->status_fd < 0)
		return;
	for (;;) {
		memset(&si, 0, sizeof(si));
		if (waitid(P_PGID, (id_t)p->pid, &si, WEXITED | WNOHANG) < 0) {
			if (errno == EINTR)
				continue;
			return; /* ECHILD: the group is gone */
		}
		if (si.si_pid)
			continue;
		if (monotime_ms() >= deadline) {
			run_leave_stuck(p, killed);
			return;
		}
		poll(NULL, 0, 5);
	}
}

/* Whether the tool has exited: then it is reaped (its group killed). */
static void run_check_exit(struct run_proc *p)
{
	siginfo_t si = {0};

	if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid)
		run_reap(p);
}

struct run_poll {
	struct pollfd fds[5];
	int n;
	int slot[5]; /* 0, 1: pipe index; 2: pidfd; 3: cancel_fd; 4: status_fd */
};

static void run_poll_add(struct run_poll *pl, int fd, int slot)
{
	if (fd < 0)
		return;
	pl->fds[pl->n] = (struct pollfd){.fd = fd, .events = POLLIN};
	pl->slot[pl->n++] = slot;
}

/* Takes one report of the jail's; once it says the tool started (or the
 * pipe ends), the start is watched no longer. */
static void run_take_status(struct run_proc *p)
{
	if (jail_status_next(p->status_fd, &p->js) == 0 || p->js.started)
		p->watch_status = 0;
}

/* Handles the ready descriptors of one poll round. */
static int run_dispatch(struct run_proc *p, const struct run_poll *pl, struct err *e)
{
	for (int i = 0; i < pl->n; i++) {
		int r;

		if (!pl->fds[i].revents)
			continue;
		if (pl->slot[i] == 3) {
			err_set(e, "tool killed: the daemon is shutting down");
			return RUN_E_CANCELED;
		}
		if (pl->slot[i] == 2)
			run_check_exit(p);
		else if (pl->slot[i] == 4)
			run_take_status(p);
		else if ((r = run_read(p, pl->slot[i], e)) < 0)
			return r;
	}
	return 0;
}

/* How often S's size is checked while the tool runs. */
#define RUN_DISK_CHECK_MS 100

/* Whether S grew past the disk limit (checked every RUN_DISK_CHECK_MS). */
static int run_check_disk(struct run_proc *p, const struct run_cmd *c, long now, struct err *e)
{
	long long max = run_disk_max(c), grown;

	if (!max || now < p->next_disk_ms)
		return 0;
	p->next_disk_ms = now + RUN_DISK_CHECK_MS;
	grown = run_disk_usage(c->sandbox) - p->disk_base;
	if (grown <= max)
		return 0;
	err_set(e, "the job wrote more than its disk limit (%lld MiB)", max >> 20);
	log_warn("job %s: contained: disk limit: the job directory grew by %lld MiB "
		 "(limit %lld MiB); killed the job", c->id ? c->id : "?", grown >> 20, max >> 20);
	return RUN_E_DISK;
}

/* Whether the jail has not started the tool by its deadline. */
static int run_check_start(const struct run_proc *p, const struct run_cmd *c, long now,
			   struct err *e)
{
	if (!p->watch_status || now < p->start_by)
		return 0;
	err_set(e, "the jail did not start the tool within %ld ms: this host's trouble, not "
		   "the job's", c->start_ms);
	log_warn("job %s: the jail did not start the tool within %ld ms: killed the job's "
		 "processes", p->id, c->start_ms);
	return RUN_E_START;
}

/* Collects output until both pipes are closed and the tool has exited. */
static int run_wait(struct run_proc *p, const struct run_cmd *c, struct err *e)
{
	long deadline = monotime_ms() + c->timeout_s * 1000;

	while (p->fd[0] >= 0 || p->fd[1] >= 0 || (!p->reaped && p->pidfd >= 0)) {
		struct run_poll pl = {.n = 0};
		long now = monotime_ms(), left = deadline - now;
		int n, r;

		if ((r = run_check_start(p, c, now, e)) < 0)
			return r;
		if (p->watch_status && p->start_by - now < left)
			left = p->start_by - now;
		if (left <= 0) {
			err_set(e, "the tool ran past the job's wall-clock timeout (--job-timeout, %ld s)",
				c->timeout_s);
			log_warn("job %s: contained: wall-clock timeout (%ld s): killed the job's "
				 "processes", c->id ? c->id : "?", c->timeout_s);
			return RUN_E_TIMEOUT;
		}
		if ((r = run_check_disk(p, c, now, e)) < 0)
			return r;
		if (run_disk_max(c) && left > RUN_DISK_CHECK_MS)
			left = RUN_DISK_CHECK_MS;
		run_poll_add(&pl, p->fd[0], 0);
		run_poll_add(&pl, p->fd[1], 1);
		run_poll_add(&pl, p->reaped ? -1 : p->pidfd, 2);
		run_poll_add(&pl, c->cancel_fd, 3);
		run_poll_add(&pl, p->watch_status ? p->status_fd : -1, 4);
		n = poll(pl.fds, (nfds_t)pl.n, left > 1000000 ? 1000000 : (int)left);
		if (n < 0 && errno != EINTR)
			return err_errno(e, errno, "poll");
		if (n > 0 && (r = run_dispatch(p, &pl, e)) < 0)
			return r;
	}
	return 0;
}

static const char *run_signame(int sig)
{
	switch (sig) {
	case SIGXCPU:
		return "SIGXCPU";
	case SIGXFSZ:
		return "SIGXFSZ";
	case SIGKILL:
		return "SIGKILL";
	case SIGSEGV:
		return "SIGSEGV";
	case SIGABRT:
		return "SIGABRT";
	default:
		return "a signal";
	}
}

/* Logs each limit the tool met, from what the jail reported. */
static void run_log_limits(const struct run_cmd *c, const struct jail_status *js,
			   const struct run_result *ret)
{
	const struct jail_limits *lim = c->jail ? jail_limits(c->jail) : NULL;
	const char *id = c->id ? c->id : "?";

	if (!lim)
		return;
	if (ret->signal == SIGXCPU || (ret->signal == SIGKILL && js->cpu_ms >= lim->cpu_s * 1000))
		log_warn("job %s: contained: CPU time limit (%ld s): killed by %s after %ld ms "
			 "of CPU", id, lim->cpu_s, run_signame(ret->signal), js->cpu_ms);
	else if (ret->signal == SIGXFSZ)
		log_warn("job %s: contained: file size limit (%ld MiB): killed by SIGXFSZ", id,
			 lim->disk_mb);
	else if (ret->signal)
		log_warn("job %s: the tool was killed by %s (signal %d)", id,
			 run_signame(ret->signal), ret->signal);
	if ((ret->signal || ret->exit_code) && js->maxrss_kb >= (lim->memory_mb << 10) / 2)
		log_warn("job %s: contained: memory limit (%ld MiB): the tool failed at a peak "
			 "of %ld MiB resident", id, lim->memory_mb, js->maxrss_kb >> 10);
	if (js->strays > 0)
		log_warn("job %s: contained: the tool left %d process(es) behind%s; killed them",
			 id, js->strays, js->strays + 3 >= lim->procs ? " (process limit reached)" : "");
}

/* The tool's end: from the jail's report when it ran isolated. */
static int run_result_fill(const struct run_cmd *c, struct run_proc *p, struct run_result *ret,
			   struct err *e)
{
	struct jail_status js = {
		.valid = 1,
		.wstatus = p->status,
		.maxrss_kb = p->ru.ru_maxrss,
		.cpu_ms = jail_cpu_ms(&p->ru),
	};

	if (p->status_fd >= 0) {
		jail_status_read(p->status_fd, &p->js);
		js = p->js;
		if (!js.valid) {
			log_error("job %s: the jail failed: %s", c->id ? c->id : "?", js.error);
			return err_set(e, "%s: cannot run in the jail: %s", c->exe, js.error);
		}
	}
	ret->exit_code = WIFEXITED(js.wstatus) ? WEXITSTATUS(js.wstatus) : 0;
	ret->signal = WIFSIGNALED(js.wstatus) ? WTERMSIG(js.wstatus) : 0;
	ret->cpu_ms = js.cpu_ms;
	ret->maxrss_kb = js.maxrss_kb;
	run_log_limits(c, &js, ret);
	return 0;
}

static int run_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
	return (int)syscall(SYS_pidfd_open, pid, 0);
#else
	(void)pid;
	return -1;
#endif
}

int run_tool(const struct run_cmd *c, struct run_result *ret, struct err *e)
{
	struct run_proc p = {.id = c->id ? c->id : "?", .pid = -1, .pidfd = -1, .fd = {-1, -1},
			     .status_fd = -1};
	int out[2] = {-1, -1}, errp[2] = {-1, -1};
	int r = -1;

	if (pipe2(out, O_CLOEXEC) < 0 || (!c->merge_output && pipe2(errp, O_CLOEXEC) < 0)) {
		err_errno(e, errno, "pipe");
		goto out;
	}
	if (run_disk_max(c))
		p.disk_base = run_disk_usage(c->sandbox);
	if (run_spawn(c, &p, out[1], c->merge_output ? out[1] : errp[1], e) < 0)
		goto out;
	close_fd(&out[1]);
	close_fd(&errp[1]);
	p.fd[0] = out[0];
	p.fd[1] = errp[0];
	out[0] = errp[0] = -1;
	p.dst[0] = &ret->out;
	p.dst[1] = &ret->err;
	p.pidfd = run_pidfd(p.pid);
	p.next_disk_ms = monotime_ms() + RUN_DISK_CHECK_MS;
	jail_status_init(&p.js);
	p.watch_status = p.status_fd >= 0 && c->start_ms > 0;
	p.start_by = monotime_ms() + c->start_ms;
	r = run_wait(&p, c, e);
	run_reap(&p);
	if (r == 0)
		r = run_result_fill(c, &p, ret, e);
out:
	close_fd(&p.fd[0]);
	close_fd(&p.fd[1]);
	close_fd(&p.pidfd);
	close_fd(&p.status_fd);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&errp[0]);
	close_fd(&errp[1]);
	return r;
}
