#ifndef DISPATCHD_FORWARD_H
#define DISPATCHD_FORWARD_H
/*
 * A dispatcher sending a checked job on to a volunteer: the request bundle
 * of POST /v1/job (PROTOCOL), whatever way the job came in (a local job's
 * linked files are read here, imported archives as export data only), the
 * upload of the toolchain when the volunteer lacks it, and the volunteer's
 * answer, which is validated as strictly as the shim validates one
 * (common/answer.h) before anything of it is passed on.
 *
 * Each blob is sent to a volunteer once: the peer remembers the blobs it
 * was sent (peer_blobs()), a request carries only the others, and when
 * the volunteer answers 409 for blobs it no longer holds (evicted, or its
 * store was wiped) they are forgotten and sent with the job again.
 *
 * Thread-safe: each call works on its own request.
 */
#include <stddef.h>

struct answer;
struct answer_expect;
struct blobs;
struct err;
struct forward_job;
struct gocfg_paths;
struct hashcache;
struct manifest;
struct peer;
struct stats;

struct forward_req {
	const struct manifest *m; /* toolchain set */
	const struct blobs *blobs; /* the blob of every file that has one */
	/* Import archives among m's linked files: sent as export data. */
	const struct gocfg_paths *archives;
	struct hashcache *hashes;  /* of the linked files; NULL: hash each time */
	struct stats *stats;	   /* counts the requests; NULL: none */
	const char *tool_exe; /* the store's copy of the toolchain, to upload */
	const struct answer_expect *outs;
	size_t nouts;
	long timeout_ms; /* one attempt, transfer and run */
	int cancel_fd;	 /* when readable, give up (shutdown); -1: none */
	/* As struct peer_call's: nonzero gives up the attempt (the host
	 * went silent), FORWARD_E_UNREACHABLE. NULL: never. */
	int (*give_up)(void *arg, struct err *e);
	void *give_up_arg;
};

/* Failures beside -1 (this daemon's trouble: reading a file, ...). */
enum forward_error {
	FORWARD_E_UNREACHABLE = -2, /* no answer from the volunteer */
	FORWARD_E_ANSWER = -3,	    /* an answer not to be used */
	/* The volunteer ran the job into one of its caps or limits (413
	 * too_large, 422 limit): the job's own size, which another host
	 * would likely meet too. */
	FORWARD_E_TOO_LARGE = -4,
	FORWARD_E_LIMIT = -5,
	/* 403 toolchain_not_allowed, to the job or the toolchain's upload:
	 * the volunteer's policy refuses the toolchain, not the job. */
	FORWARD_E_REFUSED = -6,
};

/* Names every file's content by hash (reading a linked file only when
 * r->hashes does not know it) and encodes the manifest, once per job for
 * all its attempts. r is borrowed until forward_job_free(). */
int forward_prepare(const struct forward_req *r, struct forward_job **ret, struct err *e);
void forward_job_free(struct forward_job *fj); /* accepts NULL */

/*
 * Posts the job to the volunteer p with the blobs p lacks. When it lacks
 * the toolchain, uploads it (*ret_uploaded = 1); when it lacks blobs,
 * sends them; and posts again. On success *ret is the validated answer
 * (answer_free()).
 */
int forward_send(struct peer *p, struct forward_job *fj, int *ret_uploaded, struct answer **ret,
		 struct err *e);

#endif
