#ifndef DISPATCHD_PEER_H
#define DISPATCHD_PEER_H
/*
 * HTTP calls from this daemon to another one (PROTOCOL): a dispatcher's
 * jobs, toolchain uploads and status polls to its volunteers, and a
 * volunteer's heartbeat to its dispatcher. One struct peer per remote
 * daemon keeps idle libcurl handles, so that their connections are reused
 * from one call to the next (a job costs no TCP handshake once warm).
 *
 * Thread-safe: each call takes a handle of its own. peer_global_init()
 * must run once before any thread starts (libcurl's global state).
 */
#include <stddef.h>

#include "buf.h"

struct auth_key;
struct err;
struct hashset;
struct peer;

/* Failures beside -1 (the answer was not usable). */
enum peer_error {
	PEER_E_TRANSPORT = -2, /* no answer: refused, reset, timed out, cut short */
	PEER_E_TOO_LARGE = -3, /* the answer passed its cap */
};

struct peer_reply {
	long status;	/* HTTP status */
	struct buf body; /* initialised by the caller; appended to */
	size_t sent;	 /* bytes of the request body that went out */
};

/* Every call is then signed with key (the cluster's token, auth.h; NULL:
 * none), and https:// peers are verified against ca_file (NULL: the
 * system's store). Both are borrowed for the life of the process. */
int peer_global_init(const struct auth_key *key, const char *ca_file, struct err *e);

/* url: "http://host:port" without a trailing slash (copied). */
struct peer *peer_new(const char *url);
void peer_free(struct peer *p);
const char *peer_url(const struct peer *p);
/* The blobs this daemon sent p, which p is taken to hold (forward.h);
 * NULL while p keeps none (its status reports no blob store: --cache-size
 * 0, or a daemon older than the store), so that every job carries all. */
struct hashset *peer_blobs(struct peer *p);
void peer_set_keeps_blobs(struct peer *p, int keeps);

struct peer_call {
	const char *method; /* "GET", "POST" or "PUT" */
	const char *path;   /* "/v1/job" */
	const void *body;   /* may be NULL for none */
	size_t len;
	const char *body_hex; /* the body's SHA-256 when known (a toolchain's
			       * name), for the token's proof; NULL: hashed */
	int expect_continue; /* PUT: let the server refuse the body before it is sent */
	const char *extra_header; /* one more "Name: value", or NULL */
	long timeout_ms;	  /* the whole call */
	long connect_timeout_ms;
	size_t max_reply;
	int cancel_fd; /* when readable, give up the call; -1: none */
	/* Asked about once a second while the call lasts: nonzero gives it
	 * up, as "gave up: " and its error; NULL: never. */
	int (*give_up)(void *arg, struct err *e);
	void *give_up_arg;
};

/* Makes the call. 0 with ret->status and body filled whatever the status;
 * PEER_E_TRANSPORT when no complete answer arrived; PEER_E_TOO_LARGE. */
int peer_call(struct peer *p, const struct peer_call *c, struct peer_reply *ret, struct err *e);

#endif
