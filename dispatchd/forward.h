#ifndef DISPATCHD_FORWARD_H
#define DISPATCHD_FORWARD_H
/*
 * A dispatcher sending a checked job on to a volunteer: the request bundle
 * of POST /v1/job (PROTOCOL), built once per job whatever way it came in
 * (a local job's linked files are read here, imported archives as export
 * data only), the upload of the toolchain when the volunteer lacks it, and
 * the volunteer's answer, which is validated as strictly as the shim
 * validates one (common/answer.h) before anything of it is passed on.
 *
 * Thread-safe: each call works on its own request.
 */
#include <stddef.h>

struct answer;
struct answer_expect;
struct blobs;
struct err;
struct gocfg_paths;
struct manifest;
struct peer;

struct forward_req {
	const struct manifest *m; /* toolchain set */
	const struct blobs *blobs; /* the blob of every file that has one */
	/* Import archives among m's linked files: sent as export data. */
	const struct gocfg_paths *archives;
	const char *tool_exe; /* the store's copy of the toolchain, to upload */
	const struct answer_expect *outs;
	size_t nouts;
	long timeout_ms; /* one attempt, transfer and run */
	int cancel_fd;	 /* when readable, give up (shutdown); -1: none */
};

/* Failures beside -1 (this daemon's trouble: reading a file, ...). */
enum forward_error {
	FORWARD_E_UNREACHABLE = -2, /* no answer from the volunteer */
	FORWARD_E_ANSWER = -3,	    /* an answer not to be used */
};

/* The request body (caller frees). */
int forward_bundle(const struct forward_req *r, char **ret_body, size_t *ret_len, struct err *e);

/*
 * Posts body to the volunteer p. When it lacks the toolchain, uploads it
 * (*ret_uploaded = 1) and posts again. On success *ret is the validated
 * answer (answer_free()).
 */
int forward_send(struct peer *p, const struct forward_req *r, const char *body, size_t len,
		 int *ret_uploaded, struct answer **ret, struct err *e);

#endif
