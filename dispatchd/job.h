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
 * Thread-safe: each call works on its own job; shared state is reached
 * through struct dispatchd.
 */
#include <stddef.h>

struct dispatchd;
struct err;

/* How a job fails; server.c maps each to an HTTP answer. */
enum job_error {
	JOB_E_INTERNAL = -1,	  /* 500 internal */
	JOB_E_BAD_REQUEST = -2,	  /* 400 bad_request */
	JOB_E_MISSING = -3,	  /* 409 missing, see struct job_missing */
	JOB_E_TOO_LARGE = -4,	  /* 413 too_large: output past a cap */
	JOB_E_NO_SLOTS = -5,	  /* 503 no_slots */
	JOB_E_SHUTTING_DOWN = -6, /* 503 shutting_down */
};

/* What the daemon lacks to run a job. */
struct job_missing {
	int toolchain; /* the toolchain is not in the store */
	size_t n;
	char **blobs; /* hashes of files' blobs the request did not carry */
};

void job_missing_release(struct job_missing *m);

/*
 * Runs the job that body (a bundle, borrowed) describes. On success
 * *ret_data is the answer bundle (caller frees with free()). On
 * JOB_E_MISSING, *ret_missing says what to send (caller releases it);
 * otherwise it is left untouched. e says what went wrong in words.
 */
int job_run(struct dispatchd *d, const char *body, size_t len, char **ret_data, size_t *ret_len,
	    struct job_missing *ret_missing, struct err *e);

#endif
