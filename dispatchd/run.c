#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "protocol.h"

#include "banned.h"

/* One running tool: the read ends of its pipes and how to wait for it. */
struct run_proc {
	pid_t pid;
	int pidfd; /* -1 when the kernel has no pidfd_open() */
	int fd[2]; /* read ends for stdout, stderr; -1 once closed */
	struct buf *dst[2];
	int reaped;
	int status;
};

void run_result_init(struct run_result *r)
{
	r->exit_code = 0;
	r->signal = 0;
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

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void run_actions(posix_spawn_file_actions_t *fa, posix_spawnattr_t *attr,
			const struct run_cmd *c, int in, int out, int err)
{
	sigset_t none, all;

	posix_spawn_file_actions_init(fa);
	posix_spawn_file_actions_adddup2(fa, in, 0);
	posix_spawn_file_actions_adddup2(fa, out, 1);
	posix_spawn_file_actions_adddup2(fa, err, 2);
	posix_spawn_file_actions_addchdir_np(fa, c->dir);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_init(attr);
	posix_spawnattr_setflags(attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
					   POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setpgroup(attr, 0);
	posix_spawnattr_setsigmask(attr, &none);
	posix_spawnattr_setsigdefault(attr, &all);
}

/* Starts the tool with the write ends out and err (the same for merged
 * output). posix_spawn() reports exec and chdir failures itself. */
static int run_spawn(const struct run_cmd *c, int out, int err, pid_t *ret_pid, struct err *e)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int in, rc;

	if ((in = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0)
		return err_errno(e, errno, "/dev/null");
	run_actions(&fa, &attr, c, in, out, err);
	/* A toolchain that was just uploaded may still be open for writing in
	 * a child another thread forked a moment ago: retry briefly. */
	for (int tries = 0;; tries++) {
		rc = posix_spawn(ret_pid, c->exe, &fa, &attr, c->argv, c->envp);
		if (rc != ETXTBSY || tries == 20)
			break;
		usleep(10000);
	}
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(in);
	if (rc != 0)
		return err_errno(e, rc, "%s: cannot run in %s", c->exe, c->dir);
	/* posix_spawn() cannot lower the priority itself; the tool has barely
	 * started, and anything it starts inherits the new value. */
	if (c->nice > 0)
		setpriority(PRIO_PROCESS, (id_t)*ret_pid, c->nice);
	return 0;
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

/* Kills the whole group (strays included) while the leader is not yet
 * reaped, so the group id cannot have been reused, then reaps it. */
static void run_reap(struct run_proc *p)
{
	if (p->reaped)
		return;
	kill(-p->pid, SIGKILL);
	while (waitpid(p->pid, &p->status, 0) < 0 && errno == EINTR)
		;
	p->reaped = 1;
}

/* Whether the tool has exited: then it is reaped (its group killed). */
static void run_check_exit(struct run_proc *p)
{
	siginfo_t si = {0};

	if (waitid(P_PID, (id_t)p->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid)
		run_reap(p);
}

struct run_poll {
	struct pollfd fds[4];
	int n;
	int slot[4]; /* 0, 1: pipe index; 2: pidfd; 3: cancel_fd */
};

static void run_poll_add(struct run_poll *pl, int fd, int slot)
{
	if (fd < 0)
		return;
	pl->fds[pl->n] = (struct pollfd){.fd = fd, .events = POLLIN};
	pl->slot[pl->n++] = slot;
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
		else if ((r = run_read(p, pl->slot[i], e)) < 0)
			return r;
	}
	return 0;
}

/* Collects output until both pipes are closed and the tool has exited. */
static int run_wait(struct run_proc *p, const struct run_cmd *c, struct err *e)
{
	long deadline = now_ms() + c->timeout_s * 1000;

	while (p->fd[0] >= 0 || p->fd[1] >= 0 || (!p->reaped && p->pidfd >= 0)) {
		struct run_poll pl = {.n = 0};
		long left = deadline - now_ms();
		int n, r;

		if (left <= 0) {
			err_set(e, "tool ran past the job timeout (%ld s)", c->timeout_s);
			return RUN_E_TIMEOUT;
		}
		run_poll_add(&pl, p->fd[0], 0);
		run_poll_add(&pl, p->fd[1], 1);
		run_poll_add(&pl, p->reaped ? -1 : p->pidfd, 2);
		run_poll_add(&pl, c->cancel_fd, 3);
		n = poll(pl.fds, (nfds_t)pl.n, left > 1000000 ? 1000000 : (int)left);
		if (n < 0 && errno != EINTR)
			return err_errno(e, errno, "poll");
		if (n > 0 && (r = run_dispatch(p, &pl, e)) < 0)
			return r;
	}
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
	struct run_proc p = {.pid = -1, .pidfd = -1, .fd = {-1, -1}};
	int out[2] = {-1, -1}, errp[2] = {-1, -1};
	int r = -1;

	if (pipe2(out, O_CLOEXEC) < 0 || (!c->merge_output && pipe2(errp, O_CLOEXEC) < 0)) {
		err_errno(e, errno, "pipe");
		goto out;
	}
	if (run_spawn(c, out[1], c->merge_output ? out[1] : errp[1], &p.pid, e) < 0)
		goto out;
	close_fd(&out[1]);
	close_fd(&errp[1]);
	p.fd[0] = out[0];
	p.fd[1] = errp[0];
	out[0] = errp[0] = -1;
	p.dst[0] = &ret->out;
	p.dst[1] = &ret->err;
	p.pidfd = run_pidfd(p.pid);
	r = run_wait(&p, c, e);
	run_reap(&p);
	if (r == 0) {
		ret->exit_code = WIFEXITED(p.status) ? WEXITSTATUS(p.status) : 0;
		ret->signal = WIFSIGNALED(p.status) ? WTERMSIG(p.status) : 0;
	}
out:
	close_fd(&p.fd[0]);
	close_fd(&p.fd[1]);
	close_fd(&p.pidfd);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&errp[0]);
	close_fd(&errp[1]);
	return r;
}
