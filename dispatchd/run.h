#ifndef DISPATCHD_RUN_H
#define DISPATCHD_RUN_H
/*
 * Running one tool process: the program the daemon chose (a toolchain from
 * its store), in its own process group and in the job jail (jail.h), with
 * stdin from /dev/null and stdout and stderr captured through pipes (one
 * pipe for both when the client's streams are merged). The child starts
 * with an empty signal mask and default signal dispositions, whatever the
 * daemon's threads block or ignore, so it behaves as when the go command
 * starts it.
 *
 * Every limit the tool hits (timeout, CPU time, file size, memory, disk,
 * processes left behind) is logged (warn) with the job's id.
 *
 * Thread-safe: the child is forked and uses only async-signal-safe calls,
 * and gets descriptors 0-2 only, so that tools started by concurrent jobs
 * never inherit another job's pipes.
 */
#include "buf.h"

struct err;
struct jail;

struct run_cmd {
	const char *exe;   /* absolute path of the binary */
	char *const *argv; /* NULL-terminated; argv[0] as the tool should see it */
	char *const *envp; /* NULL-terminated: the whole environment */
	const char *dir;   /* working directory */
	int merge_output;  /* one pipe for stdout and stderr, captured as out */
	long timeout_s;	   /* the whole process group is killed after this */
	long start_ms;	   /* > 0: killed too when an isolated tool has not
			    * started (its exec) after this; 0: no limit */
	int cancel_fd;	   /* when readable, kill the tool now; -1: none */
	int nice;	   /* the tool's CPU priority (0: the daemon's own) */
	int slice_ms;	   /* > 0: SCHED_BATCH, this time slice (jail.h) */
	const struct jail *jail; /* NULL: no limits, no namespaces */
	const char *sandbox;	 /* S: its growth is capped; NULL: unchecked */
	int isolate;		 /* a remote job: namespaces, S its only files */
	const char *id;		 /* the job, for logs */
};

/* Failures beside -1 (could not start the tool, I/O trouble). In each case
 * the process group was killed and reaped, or, when its processes have not
 * died RUN_REAP_GRACE_MS after SIGKILL (stuck in the kernel), is left to a
 * thread of its own that reaps them whenever they do. */
#define RUN_REAP_GRACE_MS 2000

enum run_error {
	RUN_E_TIMEOUT = -2,   /* ran past timeout_s */
	RUN_E_CANCELED = -3,  /* cancel_fd became readable */
	RUN_E_TOO_LARGE = -4, /* stdout or stderr passed STREAM_MAX_BYTES */
	RUN_E_DISK = -5,      /* the job directory grew past the disk limit */
	RUN_E_START = -6,     /* the jail did not start the tool in start_ms */
};

struct run_result {
	int exit_code; /* exit status, or 0 when killed by a signal */
	int signal;    /* the signal that ended the tool, or 0 */
	long cpu_ms;    /* the tool's user and system CPU time */
	long maxrss_kb; /* the tool's peak resident set */
	struct buf out;
	struct buf err; /* empty when merge_output */
};

void run_result_init(struct run_result *r);
void run_result_release(struct run_result *r);

/* Runs c to its end. On success ret->out and ret->err hold what the tool
 * wrote (ret must have been initialised; its buffers are appended to). */
int run_tool(const struct run_cmd *c, struct run_result *ret, struct err *e);

#endif
