#ifndef DISPATCHD_SERVER_H
#define DISPATCHD_SERVER_H
/*
 * The HTTP side of the daemon (libmicrohttpd, one thread per connection so
 * that a request may block while its job runs). It implements PROTOCOL's
 * rules common to every route: the X-Godistcc-Protocol header on every
 * answer and required on versioned routes, body caps checked against
 * Content-Length before anything is read and again while the body arrives
 * (chunked uploads), 404 and 405 answers, and JSON error bodies
 * {"error", "message"}. Routes live in a table (routes.c).
 *
 * A handler works on one struct request, which belongs to the connection's
 * thread; it answers exactly once with a request_reply_*() call.
 *
 * libmicrohttpd cannot queue an answer while a body is still arriving: a
 * chunked upload that passes its cap (no Content-Length to check first) is
 * answered by closing the connection, which clients treat as trouble.
 */
#include <stddef.h>
#include <sys/socket.h>

#include <jansson.h>

struct dispatchd;
struct err;
struct request;
struct server;

struct route {
	const char *method;
	const char *path; /* the whole path, or its first part when prefix */
	int prefix;
	int versioned;	 /* the request must carry X-Godistcc-Protocol */
	int open;	 /* needs no token even when the daemon has one (health) */
	size_t max_body; /* 413 too_large past this; 0: no body accepted */
	/* Headers are in. May answer already; the body is then not read.
	 * Optional. */
	void (*begin)(struct request *rq);
	/* A piece of the body. Optional: without it the body accumulates in
	 * memory (request_body()). May answer (an error) to stop the upload. */
	void (*data)(struct request *rq, const char *data, size_t len);
	/* The whole request is in; must answer. */
	void (*finish)(struct request *rq);
	/* Frees the handler's state (request_set_state()), also when the
	 * client went away. Optional. */
	void (*release)(void *state);
};

/* The routes, ended by a row whose method is NULL. */
extern const struct route routes[];

/* --- requests, for handlers --- */

struct dispatchd *request_daemon(const struct request *rq);
/* The path after the route's prefix ("" for an exact route). */
const char *request_path_rest(const struct request *rq);
/* A request header's value, or NULL. Borrowed from rq. */
const char *request_header(const struct request *rq, const char *name);
/* The accumulated body; borrowed from rq. */
const char *request_body(const struct request *rq, size_t *ret_len);
void request_set_state(struct request *rq, void *state);
void *request_state(const struct request *rq);
/* Whether an answer was queued already. */
int request_replied(const struct request *rq);

/* Answers with body (stolen) as JSON. */
void request_reply_json(struct request *rq, unsigned status, json_t *body);
/* Answers {"error": code, "message": ...}; extra's fields (stolen; may be
 * NULL) are added to the object. Logged. */
void request_reply_error(struct request *rq, unsigned status, const char *code, json_t *extra,
			 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Answers with data (taken over, released with free()). */
void request_reply_data(struct request *rq, unsigned status, const char *content_type, char *data,
			size_t len);

/* --- the server --- */

struct server_opts {
	const char *listen;	  /* "ADDR:PORT"; IPv6 as "[ADDR]:PORT"; port 0 picks one */
	unsigned max_connections; /* at once */
	unsigned conn_timeout;	  /* seconds a connection may stay idle */
	const char *tls_cert;	  /* PEM files: serve HTTPS; NULL: HTTP */
	const char *tls_key;
};

/* Parses "ADDR:PORT" into a socket address. */
int server_parse_listen(const char *listen, struct sockaddr_storage *ret_addr, socklen_t *ret_len,
			struct err *e);

/* Listens and serves in background threads until server_stop(). */
int server_start(const struct server_opts *o, struct dispatchd *d, struct server **ret,
		 struct err *e);
/* The port actually bound (useful after port 0). */
unsigned server_port(const struct server *s);
/* "http://ADDR:PORT" as bound. Borrowed from s. */
const char *server_url(const struct server *s);
/* Stops accepting connections; open ones are still served. */
void server_quiesce(struct server *s);
/* Waits up to timeout_ms for open connections to finish (answers queued
 * by handlers that just returned are still being sent). */
void server_drain(struct server *s, long timeout_ms);
/* Closes every connection, waits for their threads and frees s. Handlers
 * still running must be about to return (jobs cancelled). Accepts NULL. */
void server_stop(struct server *s);

#endif
