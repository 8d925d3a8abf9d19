#ifndef DISPATCHD_JAIL_H
#define DISPATCHD_JAIL_H
/*
 * The job jail: what a tool the daemon runs for a client may do.
 *
 * Every tool runs with resource limits (CPU seconds, writable memory,
 * file size, open files; processes when it has a user namespace of its
 * own) in its own process group, with an empty signal mask and default
 * signal dispositions. A remote job's tool (jail_spawn() with a root)
 * runs, where the kernel allows unprivileged user namespaces, in:
 *
 * - a user namespace of its own, as an unprivileged user without
 *   capabilities outside it (the daemon's user, or nobody when the daemon
 *   runs as root), so that its process count is its own;
 * - a mount namespace whose root is an empty read-only tmpfs showing only
 *   the job's directory S, at its usual absolute path (the relocation of
 *   DESIGN.md stays byte-identical); the tool is executed by descriptor;
 * - a network namespace without interfaces (one, made at start-up);
 * - a PID namespace whose init is a small process of the daemon's: when
 *   the tool exits, or the daemon kills the job, every process the tool
 *   started dies with it, even one that called setsid().
 *
 * A local job (jail_spawn() without a root) is the socket user's own tool
 * reading the user's own files through links: it gets the limits only.
 *
 * Threading: a jail is built once before the server starts and only read
 * afterwards; jail_spawn() may be called from any thread (the child uses
 * only async-signal-safe calls).
 */
#include <sys/types.h>

struct err;
struct rusage;

struct jail_limits {
	long cpu_s;	/* RLIMIT_CPU: SIGXCPU at this, SIGKILL a second later */
	long memory_mb; /* RLIMIT_DATA: writable memory */
	long files;	/* RLIMIT_NOFILE */
	long procs;	/* RLIMIT_NPROC within the job's user namespace */
	long disk_mb;	/* RLIMIT_FSIZE, and the job directory's growth */
};

struct jail;

/*
 * Started as root with user set: chowns state_dir and its toolchains/,
 * jobs/ and tmp/ (not their contents) to the user, then changes to its
 * uid, gid and groups, and checks that root cannot be regained. Not root:
 * user must be NULL or the current user. Root without a user: nothing
 * changes (the daemon runs jobs as nobody, see jail_new()).
 */
int jail_drop_privileges(const char *user, const char *state_dir, struct err *e);

/*
 * Probes what the kernel allows, makes the network namespace and logs
 * (warn) every protection that is missing. Call after
 * jail_drop_privileges(). The caller owns *ret.
 */
int jail_new(const struct jail_limits *lim, struct jail **ret, struct err *e);
void jail_free(struct jail *j);

const struct jail_limits *jail_limits(const struct jail *j);

/* Whether remote jobs get the namespaces (else limits only). */
int jail_isolates(const struct jail *j);

/* One tool to start. The descriptors are borrowed; the child gets in,
 * out and err as 0, 1 and 2 and nothing else. */
struct jail_cmd {
	int exe_fd;	   /* the binary, opened O_PATH: a remote job runs it */
	const char *exe;   /* its path: a local job runs it (scripts too) */
	char *const *argv;
	char *const *envp;
	const char *dir;   /* working directory (inside S for a remote job) */
	const char *root;  /* S: a remote job, isolated; NULL: a local job */
	int in, out, err;
	int nice;
	int slice_ms; /* > 0: SCHED_BATCH with this time slice */
};

/*
 * What the jail reports about an isolated tool: that its set-up is over
 * (jail_status_next() while it runs), then how it ended, once the process
 * jail_spawn() started has been reaped (jail_status_read()).
 */
struct jail_status {
	int started;	 /* the tool's exec happened, or the jail failed */
	int valid;	 /* 0: the tool never started; error holds why */
	int failed;	 /* the jail reported a failed step (error) */
	int wstatus;	 /* the tool's wait status */
	long maxrss_kb;	 /* peak resident memory */
	long cpu_ms;	 /* user + system CPU time */
	int strays;	 /* processes still running when the tool exited */
	char error[128]; /* "mount S: Permission denied" etc. */
};

/*
 * Makes S usable by the jail's user (when that is not the daemon's):
 * chowns S and its directories. Before jail_spawn() of a remote job.
 */
int jail_prepare(const struct jail *j, const char *root, struct err *e);

/*
 * Starts the process that becomes (or starts) the tool: vfork(2) for a
 * job without isolation, fork(2) for an isolated one; *ret_pid leads its
 * own process group. *ret_status_fd (-1: none, the wait status of
 * *ret_pid is the tool's) is read with jail_status_read() after *ret_pid
 * has been reaped; the caller closes it.
 */
int jail_spawn(const struct jail *j, const struct jail_cmd *c, pid_t *ret_pid,
	       int *ret_status_fd, struct err *e);

/* Empty: nothing started, "the jail reported nothing". */
void jail_status_init(struct jail_status *st);

/*
 * Reads one report from status_fd into *st: 1 when there was one, 0 at
 * the end (every writer gone), -1 when there is none yet (status_fd does
 * not block) or on a read error. Each report is written whole, in one
 * write(2).
 */
int jail_status_next(int status_fd, struct jail_status *st);

/* Reads every report left on status_fd into *st (see struct
 * jail_status), once the process jail_spawn() started has been reaped. */
void jail_status_read(int status_fd, struct jail_status *st);

/* User plus system CPU time of ru, in milliseconds (jail_status.cpu_ms). */
long jail_cpu_ms(const struct rusage *ru);

#endif
