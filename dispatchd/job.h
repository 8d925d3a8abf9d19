#ifndef DISPATCHD_JOB_H
#define DISPATCHD_JOB_H
/*
 * One job, from the request bundle of POST /v1/job to the answer bundle
 * (PROTOCOL, "POST /v1/job" and "Execution on the daemon"): read and verify
 * the bundle, validate the manifest and the tool's arguments, report what
 * is missing, wait for a slot, stage the files in a sandbox, run the tool
 * relocated (DESIGN.md, "Relocation"), collect its outputs and remove the
 * sandbox. Every check on client input happens before anything runs.
 *
 * A job of the local socket (PROTOCOL, "Local socket") goes the same way
 * from its manifest on: its text files become blobs, its other files are
 * linked into the sandbox, and its tool is the store's copy of the
 * client's binary (toolchain_import_path()). Its answer is a JSON header
 * and the raw pieces that follow it, which local.c writes out.
 *
 * Thread-safe: each call works on its own job; shared state is reached
 * through struct dispatchd.
 */
#include <stddef.h>

struct dispatchd;
struct err;
struct job;

/* How a job fails; server.c maps each to an HTTP answer. */
enum job_error {
	JOB_E_INTERNAL = -1,	  /* 500 internal */
	JOB_E_BAD_REQUEST = -2,	  /* 400 bad_request */
	JOB_E_MISSING = -3,	  /* 409 missing, see struct job_missing */
	JOB_E_TOO_LARGE = -4,	  /* 413 too_large: output past a cap */
	JOB_E_NO_SLOTS = -5,	  /* 503 no_slots */
	JOB_E_SHUTTING_DOWN = -6, /* 503 shutting_down */
	JOB_E_BUSY = -7,	  /* 503 busy: the client had better run it */
	JOB_E_FORBIDDEN = -8,	  /* 403 toolchain_not_allowed (--toolchains) */
	JOB_E_LIMIT = -9,	  /* 422 limit: the tool ran past --job-timeout or --job-cpu */
	JOB_E_CLIENT_GONE = -10,  /* a local job's shim went away first: nobody to answer */
};

/* The error code of PROTOCOL for a job_error ("bad_request", ...). */
const char *job_error_code(int r);

/* What the daemon lacks to run a job. */
struct job_missing {
	int toolchain; /* the toolchain is not in the store */
	size_t n;
	char **blobs; /* hashes of files' blobs the request did not carry */
};

void job_missing_release(struct job_missing *m);

/*
 * Runs the job that body (a bundle, borrowed) describes, here or, when
 * the daemon knows volunteers, where the cluster chooses (hosts.h), unless
 * forwarded (a dispatcher sent it: it runs here). On success
 * *ret_data is the answer bundle (caller frees with free()). On
 * JOB_E_MISSING, *ret_missing says what to send (caller releases it);
 * otherwise it is left untouched. e says what went wrong in words.
 */
int job_run(struct dispatchd *d, const char *body, size_t len, int forwarded, char **ret_data,
	    size_t *ret_len, struct job_missing *ret_missing, struct err *e);

/* A local job's answer: header (the JSON text of PROTOCOL, "Local socket"),
 * then pieces in order: stdout, stderr and each listed output. */
struct job_piece {
	const char *data;
	size_t len;
};

struct job_answer {
	char *header;
	size_t header_len;
	size_t npieces;
	struct job_piece *pieces; /* borrowed from job */
	struct job *job;	  /* owns the bytes of the pieces */
};

/*
 * Runs the job that text (the request frame's JSON, borrowed) describes.
 * On success the caller owns *ret and frees it with job_answer_free(), once
 * written. On failure a job_error, and e says what went wrong in words.
 * client_fd is the shim's connection (-1: none): a job whose shim has
 * closed it by the time a slot comes free (the go command was interrupted,
 * or the shim gave up and ran the tool itself) is not run but fails with
 * JOB_E_CLIENT_GONE. Jobs already running are not stopped.
 */
int job_run_local(struct dispatchd *d, const char *text, size_t len, int client_fd,
		  struct job_answer **ret, struct err *e);
void job_answer_free(struct job_answer *a);

#endif
