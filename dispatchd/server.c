#include "server.h"

#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "auth.h"
#include "buf.h"
#include "dispatchd.h"
#include "err.h"
#include "fsutil.h"
#include "hash.h"
#include "jsonmsg.h"
#include "log.h"
#include "monotime.h"
#include "protocol.h"

#include "banned.h"

/* Bodies are read into memory in steps; a Content-Length says how much to
 * reserve at once, up to this. */
#define BODY_PREALLOC_MAX (64u << 20)
/*
 * Caps on what a peer controls before any handler runs. The request line
 * and headers must fit in a connection's memory, SERVER_HEADER_MAX_BYTES
 * (libmicrohttpd answers 431 or 414 past it, with its own HTML body). One
 * address may hold at most 1/SERVER_PER_IP_SHARE of --max-connections
 * (at least SERVER_PER_IP_MIN): connections it opens past that are closed
 * at once, so that idle connections from one host cannot lock every other
 * client out until --connection-timeout.
 */
#define SERVER_HEADER_MAX_BYTES (32u << 10)
#define SERVER_PER_IP_SHARE 4u
#define SERVER_PER_IP_MIN 16u
/* A certificate chain or key file. */
#define TLS_PEM_MAX (1u << 20)

struct request {
	struct dispatchd *d;
	struct MHD_Connection *conn;
	const struct route *route;
	const char *method; /* borrowed from MHD for the request's life */
	const char *url;
	const char *rest;
	const char *allow; /* methods of the path, for a 405 answer */
	struct buf body;
	size_t received;
	void *state;
	int replied;
	int queue_failed; /* MHD refused the answer: close the connection */
	/* With a token: what the signature promised about the body, and the
	 * body's digest as it arrives; NULL when not checked. */
	struct auth_claim claim;
	struct hash_ctx *body_hash;
	long started_ms;
};

struct server {
	struct MHD_Daemon *mhd;
	struct dispatchd *d;
	char *tls_cert, *tls_key; /* PEM text handed to MHD; NULL for HTTP */
	unsigned port;
	char url[128];
	int quiesced_fd;
};


/* --- answers --- */

static void request_queue(struct request *rq, unsigned status, struct MHD_Response *resp,
			  const char *content_type)
{
	char version[16];

	snprintf(version, sizeof(version), "%d", PROTOCOL_VERSION);
	if (!resp) {
		rq->queue_failed = 1;
		return;
	}
	MHD_add_response_header(resp, PROTOCOL_HEADER, version);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED && rq->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rq->allow);
	if (MHD_queue_response(rq->conn, status, resp) != MHD_YES)
		rq->queue_failed = 1;
	MHD_destroy_response(resp);
	rq->replied = 1;
	log_debug("%s %s: %u (%ld ms)", rq->method, rq->url, status, monotime_ms() - rq->started_ms);
}

void request_reply_data(struct request *rq, unsigned status, const char *content_type, char *data,
			size_t len)
{
	struct MHD_Response *resp;

	if (rq->replied) {
		free(data);
		return;
	}
	resp = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
	if (!resp)
		free(data);
	request_queue(rq, status, resp, content_type);
}

void request_reply_json(struct request *rq, unsigned status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;

	json_decref(body);
	if (!text) {
		rq->queue_failed = 1;
		rq->replied = 1;
		return;
	}
	request_reply_data(rq, status, "application/json", text, strlen(text));
}

void request_reply_error(struct request *rq, unsigned status, const char *code, json_t *extra,
			 const char *fmt, ...)
{
	json_t *obj = extra ? extra : json_object();
	struct buf msg;
	va_list ap;

	buf_init(&msg);
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	if (status >= 500)
		log_warn("%s %s: %u %s: %s", rq->method, rq->url, status, code, msg.data);
	else if (status != MHD_HTTP_CONFLICT)
		log_info("%s %s: %u %s: %s", rq->method, rq->url, status, code, msg.data);
	json_object_set_new(obj, "error", json_string(code));
	json_object_set_new(obj, "message", json_message(msg.data));
	buf_release(&msg);
	request_reply_json(rq, status, obj);
}

/* --- accessors --- */

struct dispatchd *request_daemon(const struct request *rq)
{
	return rq->d;
}

const char *request_path_rest(const struct request *rq)
{
	return rq->rest;
}

const char *request_header(const struct request *rq, const char *name)
{
	return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
}

const char *request_body(const struct request *rq, size_t *ret_len)
{
	*ret_len = rq->body.len;
	return rq->body.data;
}

void request_set_state(struct request *rq, void *state)
{
	rq->state = state;
}

void *request_state(const struct request *rq)
{
	return rq->state;
}

int request_replied(const struct request *rq)
{
	return rq->replied;
}

/* --- request lifecycle --- */

/* The route for method and url; when none, the answer that says why and,
 * for 405, a method the path accepts. */
static const struct route *route_find(const char *method, const char *url, unsigned *ret_status,
				      const char **ret_allow)
{
	const char *allow = NULL;

	for (const struct route *r = routes; r->method; r++) {
		size_t n = strlen(r->path);
		int match = r->prefix ? strncmp(url, r->path, n) == 0 : strcmp(url, r->path) == 0;

		if (!match)
			continue;
		if (strcmp(method, r->method) == 0)
			return r;
		allow = r->method;
	}
	*ret_status = allow ? MHD_HTTP_METHOD_NOT_ALLOWED : MHD_HTTP_NOT_FOUND;
	*ret_allow = allow;
	return NULL;
}

static int request_version_ok(const struct request *rq)
{
	const char *v = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, PROTOCOL_HEADER);
	char want[16];

	snprintf(want, sizeof(want), "%d", PROTOCOL_VERSION);
	return v && strcmp(v, want) == 0;
}

/* Checks a declared Content-Length against the cap before reading any of
 * the body; reserves memory for a buffered body. */
static int request_check_length(struct request *rq)
{
	const char *v =
	    MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	unsigned long long n;
	char *end;

	if (!v)
		return 0;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-') {
		request_reply_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request", NULL,
				    "Content-Length \"%.40s\" is not a number", v);
		return -1;
	}
	if (n > rq->route->max_body) {
		request_reply_error(rq, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", NULL,
				    "body of %llu bytes is larger than the cap of %zu bytes", n,
				    rq->route->max_body);
		return -1;
	}
	if (!rq->route->data && n > 0)
		buf_grow(&rq->body, n < BODY_PREALLOC_MAX ? (size_t)n : BODY_PREALLOC_MAX);
	return 0;
}

/* With a token, the request must carry proof of it (auth.h); 0 if it does
 * or none is needed. */
static int request_authenticate(struct request *rq)
{
	const struct auth_key *key = rq->d->key;
	enum auth_result r;

	if (!key || rq->route->open)
		return 0;
	r = auth_check(key, rq->d->nonces, rq->method, rq->url,
		       MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, AUTH_HEADER),
		       auth_now_ms(), &rq->claim);
	if (r != AUTH_OK) {
		request_reply_error(rq, MHD_HTTP_UNAUTHORIZED, auth_result_code(r), NULL, "%s",
				    auth_result_message(r));
		return -1;
	}
	rq->body_hash = hash_ctx_new();
	return 0;
}

static void request_begin(struct request *rq)
{
	unsigned status = 0;

	rq->route = route_find(rq->method, rq->url, &status, &rq->allow);
	if (!rq->route) {
		if (status == MHD_HTTP_NOT_FOUND)
			request_reply_error(rq, status, "not_found", NULL, "no route %s", rq->url);
		else
			request_reply_error(rq, status, "method", NULL, "%s does not accept %s",
					    rq->url, rq->method);
		return;
	}
	rq->rest = rq->url + strlen(rq->route->path);
	if (request_authenticate(rq) < 0)
		return;
	if (rq->route->versioned && !request_version_ok(rq)) {
		request_reply_error(rq, MHD_HTTP_BAD_REQUEST, "protocol_mismatch", NULL,
				    "this daemon speaks protocol %d; send the header %s: %d",
				    PROTOCOL_VERSION, PROTOCOL_HEADER, PROTOCOL_VERSION);
		return;
	}
	if (request_check_length(rq) < 0)
		return;
	if (rq->route->begin)
		rq->route->begin(rq);
}

static void request_data(struct request *rq, const char *data, size_t len)
{
	if (len > rq->route->max_body - rq->received) {
		request_reply_error(rq, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", NULL,
				    "body larger than the cap of %zu bytes", rq->route->max_body);
		return;
	}
	rq->received += len;
	if (rq->body_hash)
		hash_ctx_update(rq->body_hash, data, len);
	if (rq->route->data)
		rq->route->data(rq, data, len);
	else
		buf_add(&rq->body, data, len);
}

static void request_finish(struct request *rq)
{
	char got[HASH_HEX_LEN + 1];

	if (rq->body_hash) {
		hash_ctx_final(rq->body_hash, got);
		hash_ctx_free(rq->body_hash);
		rq->body_hash = NULL;
		if (auth_check_body(&rq->claim, got) != AUTH_OK) {
			request_reply_error(rq, MHD_HTTP_UNAUTHORIZED,
					    auth_result_code(AUTH_BODY_MISMATCH), NULL, "%s",
					    auth_result_message(AUTH_BODY_MISMATCH));
			return;
		}
	}
	rq->route->finish(rq);
	if (!rq->replied)
		request_reply_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL,
				    "the handler gave no answer");
}

static void request_free(struct request *rq)
{
	if (!rq)
		return;
	if (rq->route && rq->route->release)
		rq->route->release(rq->state);
	if (rq->body_hash)
		hash_ctx_free(rq->body_hash);
	buf_release(&rq->body);
	free(rq);
}

static enum MHD_Result server_on_request(void *cls, struct MHD_Connection *conn, const char *url,
					 const char *method, const char *version,
					 const char *upload_data, size_t *upload_data_size,
					 void **con_cls)
{
	struct request *rq = *con_cls;

	(void)version;
	if (!rq) {
		rq = xcalloc(1, sizeof(*rq));
		rq->d = cls;
		rq->conn = conn;
		rq->method = method;
		rq->url = url;
		rq->started_ms = monotime_ms();
		buf_init(&rq->body);
		*con_cls = rq;
		request_begin(rq);
	} else if (*upload_data_size) {
		/* After an early answer the rest of the body is dropped. */
		if (!rq->replied)
			request_data(rq, upload_data, *upload_data_size);
		*upload_data_size = 0;
	} else if (!rq->replied) {
		request_finish(rq);
	}
	return rq->queue_failed ? MHD_NO : MHD_YES;
}

static void server_on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
				enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	request_free(*con_cls);
	*con_cls = NULL;
}

/* libmicrohttpd logs every connection it refuses: a peer opening thousands
 * must not flood the log. At most this many lines a second; the number
 * left out is logged with the next line that gets through. */
#define SERVER_LOG_PER_SECOND 10

static void server_on_log(void *cls, const char *fmt, va_list ap)
{
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static long second, lines, dropped;
	long now = monotime_ms() / 1000, skipped = 0;
	struct buf line;

	(void)cls;
	pthread_mutex_lock(&mu);
	if (now != second) {
		second = now;
		lines = 0;
	}
	if (lines++ >= SERVER_LOG_PER_SECOND) {
		dropped++;
		pthread_mutex_unlock(&mu);
		return;
	}
	skipped = dropped;
	dropped = 0;
	pthread_mutex_unlock(&mu);
	buf_init(&line);
	buf_vaddf(&line, fmt, ap);
	while (line.len && line.data[line.len - 1] == '\n')
		line.data[--line.len] = '\0';
	if (skipped)
		log_warn("libmicrohttpd: %s (and %ld more messages left out)", line.data, skipped);
	else
		log_warn("libmicrohttpd: %s", line.data);
	buf_release(&line);
}

/* --- the daemon --- */

/* Splits "ADDR:PORT" or "[ADDR]:PORT" into host and port text. */
static int split_listen(const char *listen, struct buf *host, const char **ret_port, struct err *e)
{
	const char *colon = strrchr(listen, ':');
	const char *h = listen;
	size_t hlen;

	if (!colon || colon[1] == '\0')
		return err_set(e, "listen address \"%s\": expected ADDR:PORT", listen);
	hlen = (size_t)(colon - listen);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	if (hlen == 0)
		return err_set(e, "listen address \"%s\": no address", listen);
	buf_add(host, h, hlen);
	*ret_port = colon + 1;
	return 0;
}

int server_parse_listen(const char *listen, struct sockaddr_storage *ret_addr, socklen_t *ret_len,
			struct err *e)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	const char *port;
	struct buf host;
	char *end;
	int r = -1, rc;

	buf_init(&host);
	if (split_listen(listen, &host, &port, e) < 0)
		goto out;
	if (strtoul(port, &end, 10) > 65535 || *end || port[0] < '0' || port[0] > '9') {
		err_set(e, "listen address \"%s\": bad port \"%s\"", listen, port);
		goto out;
	}
	if ((rc = getaddrinfo(host.data, port, &hints, &res)) != 0) {
		err_set(e, "listen address \"%s\": %s", listen, gai_strerror(rc));
		goto out;
	}
	memcpy(ret_addr, res->ai_addr, res->ai_addrlen);
	*ret_len = res->ai_addrlen;
	r = 0;
out:
	if (res)
		freeaddrinfo(res);
	buf_release(&host);
	return r;
}

static void server_set_url(struct server *s, const char *listen)
{
	struct buf host;
	const char *port;

	buf_init(&host);
	if (split_listen(listen, &host, &port, NULL) == 0)
		snprintf(s->url, sizeof(s->url),
			 strchr(host.data, ':') ? "%s://[%s]:%u" : "%s://%s:%u",
			 s->tls_cert ? "https" : "http", host.data, s->port);
	buf_release(&host);
}

/* Reads the PEM files of o into s, for HTTPS. */
static int server_load_tls(struct server *s, const struct server_opts *o, struct err *e)
{
	struct buf cert, key;

	buf_init(&cert);
	buf_init(&key);
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		err_set(e, "--tls-cert: this libmicrohttpd was built without TLS");
		goto fail;
	}
	if (fs_read_file(o->tls_cert, TLS_PEM_MAX, &cert, e) < 0 ||
	    fs_read_file(o->tls_key, TLS_PEM_MAX, &key, e) < 0)
		goto fail;
	s->tls_cert = buf_detach(&cert, NULL);
	s->tls_key = buf_detach(&key, NULL);
	return 0;
fail:
	buf_release(&cert);
	buf_release(&key);
	return -1;
}

static void server_free(struct server *s)
{
	free(s->tls_cert);
	if (s->tls_key) {
		explicit_bzero(s->tls_key, strlen(s->tls_key));
		free(s->tls_key);
	}
	free(s);
}

static unsigned server_per_ip_limit(unsigned max_connections)
{
	unsigned n = max_connections / SERVER_PER_IP_SHARE;

	n = n < SERVER_PER_IP_MIN ? SERVER_PER_IP_MIN : n;
	return n < max_connections ? n : max_connections;
}

int server_start(const struct server_opts *o, struct dispatchd *d, struct server **ret,
		 struct err *e)
{
	struct sockaddr_storage addr;
	const union MHD_DaemonInfo *info;
	struct server *s = NULL;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_POLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
	socklen_t len;

	if (server_parse_listen(o->listen, &addr, &len, e) < 0)
		return -1;
	if (addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s = xcalloc(1, sizeof(*s));
	s->d = d;
	s->quiesced_fd = -1;
	if (o->tls_cert) {
		if (server_load_tls(s, o, e) < 0) {
			server_free(s);
			return -1;
		}
		flags |= MHD_USE_TLS;
	}
	/* Without TLS the two PEM options are skipped: MHD_OPTION_END ends
	 * the list early. */
	s->mhd = MHD_start_daemon(
	    flags, 0, NULL, NULL, server_on_request, d, MHD_OPTION_EXTERNAL_LOGGER, server_on_log,
	    NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT,
	    o->max_connections, MHD_OPTION_CONNECTION_TIMEOUT, o->conn_timeout,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, server_per_ip_limit(o->max_connections),
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SERVER_HEADER_MAX_BYTES,
	    MHD_OPTION_NOTIFY_COMPLETED, server_on_completed, NULL,
	    s->tls_cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, s->tls_cert,
	    MHD_OPTION_HTTPS_MEM_KEY, s->tls_key, MHD_OPTION_END);
	if (!s->mhd) {
		server_free(s);
		return err_set(e, "cannot listen on %s (see the libmicrohttpd message above)",
			       o->listen);
	}
	info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : 0;
	server_set_url(s, o->listen);
	*ret = s;
	return 0;
}

unsigned server_port(const struct server *s)
{
	return s->port;
}

const char *server_url(const struct server *s)
{
	return s->url;
}

void server_quiesce(struct server *s)
{
	if (s->quiesced_fd < 0)
		s->quiesced_fd = MHD_quiesce_daemon(s->mhd);
}

void server_drain(struct server *s, long timeout_ms)
{
	long deadline = monotime_ms() + timeout_ms;

	while (monotime_ms() < deadline) {
		const union MHD_DaemonInfo *info =
		    MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

		if (!info || info->num_connections == 0)
			return;
		usleep(20000);
	}
}

void server_stop(struct server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->mhd);
	/* MHD hands the listening socket over on quiesce; it may be closed only
	 * once the daemon's threads are gone. */
	if (s->quiesced_fd >= 0)
		close(s->quiesced_fd);
	server_free(s);
}
