#ifndef GODISTCC_CLIENT_H
#define GODISTCC_CLIENT_H
/*
 * The shim's side of the HTTP protocol (PROTOCOL, libcurl easy API): submits
 * one job to the dispatcher and answers "409 missing" by uploading the
 * toolchain (once among concurrent shims: upload.h) or re-sending, at most
 * CLIENT_MAX_ATTEMPTS job requests in all.
 * Every failure is infrastructure trouble and its message names the
 * dispatcher and the cause, ready for a one-line warning, e.g.
 * "dispatcher http://127.0.0.1:3633 unreachable (Connection refused)".
 * One client per process; not thread-safe.
 */
#include <stddef.h>

struct buf;
struct err;
struct settings;

#define CLIENT_MAX_ATTEMPTS 4

struct client; /* opaque */

/* s is borrowed for the client's life. Loads and initialises libcurl on
 * first use (curlapi.h). */
struct client *client_new(const struct settings *s, struct err *e);
void client_free(struct client *c);

/* Blobs a 409 answer named (64-digit hex). */
struct client_blobs {
	char **blobs;
	size_t n;
	int all; /* a second 409 named blobs: send every one */
};

/* Builds a request body (the caller frees *ret_body): the first request's
 * when missing is NULL, else the first request's blobs plus missing's
 * (n may be 0 after a 409 for the toolchain alone), or every blob when
 * missing->all. */
typedef int client_body_fn(void *arg, const struct client_blobs *missing, char **ret_body,
			   size_t *ret_len, struct err *e);

/*
 * POSTs request bundles that build makes to /v1/job. On a 200 answer, hands
 * its body (at most max_answer bytes) to ret_answer, an initialised buffer
 * whose old content is released. tool_path is the binary whose SHA-256 is
 * toolchain, uploaded when the dispatcher lacks it. *ret_sent: the body
 * bytes posted in all. CLIENT_E_BUSY: the dispatcher answered "busy" (its
 * cluster's queue is longer than the job: run it here).
 */
#define CLIENT_E_BUSY (-2)
int client_submit(struct client *c, const char *tool_path, const char *toolchain,
		  client_body_fn *build, void *arg, size_t max_answer, struct buf *ret_answer,
		  size_t *ret_sent, struct err *e);

/* GETs route. On a 200 answer of this protocol, hands its body (at most
 * max bytes) to ret_body, an initialised buffer whose old content is
 * released; any other answer fails, described as for a job. */
int client_get(struct client *c, const char *route, size_t max, struct buf *ret_body,
	       struct err *e);

#endif
