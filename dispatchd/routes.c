/*
 * The route table of PROTOCOL version 1 and its handlers: each turns one
 * request into calls on the daemon's modules (stats, toolchain, job) and
 * their results into an answer.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>

#include "buf.h"
#include "dispatchd.h"
#include "err.h"
#include "hash.h"
#include "hosts.h"
#include "job.h"
#include "load.h"
#include "log.h"
#include "protocol.h"
#include "server.h"
#include "slots.h"
#include "stats.h"
#include "toolchain.h"

#include "banned.h"

/* --- GET /v1/health: the one route that needs no token --- */

static void route_health(struct request *rq)
{
	request_reply_json(rq, MHD_HTTP_OK,
			   json_pack("{s:s, s:i}", "status", "ok", "protocol", PROTOCOL_VERSION));
}

/* --- GET /v1/status --- */

static void route_status(struct request *rq)
{
	request_reply_json(rq, MHD_HTTP_OK, stats_status_json(request_daemon(rq)));
}

/* --- PUT /v1/toolchains/<sha256> --- */

/* An upload in progress; u is NULL when the store already had the hash
 * (the body is then drained unread). */
struct route_upload {
	char hash[HASH_HEX_LEN + 1];
	struct toolchain_upload *u;
	size_t drained;
};

static void route_upload_free(void *state)
{
	struct route_upload *up = state;

	if (!up)
		return;
	toolchain_upload_free(up->u);
	free(up);
}

/* Whether the client waits for "100 Continue" before it sends the body: an
 * answer given now saves the transfer (without it, answering before the
 * body is read would cut the connection under the client). */
static int route_expects_continue(const struct request *rq)
{
	const char *v = request_header(rq, MHD_HTTP_HEADER_EXPECT);

	return v && strcasecmp(v, "100-continue") == 0;
}

/* The store holds the binary and the client has not sent it: done. */
static void route_toolchain_held(struct request *rq, const char *hash)
{
	log_debug("toolchain %s: already held, body not needed", hash);
	request_reply_json(rq, MHD_HTTP_OK,
			   json_pack("{s:s, s:b}", "toolchain", hash, "created", 0));
}

static void route_toolchain_begin(struct request *rq)
{
	struct toolchain_store *store = request_daemon(rq)->store;
	const char *hash = request_path_rest(rq);
	int early = route_expects_continue(rq);
	struct route_upload *up;
	struct err e = {0};
	int r;

	if (!hash_is_valid(hash)) {
		request_reply_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request", NULL,
				    "toolchain name \"%.80s\" is not a SHA-256 in lower-case hex",
				    hash);
		return;
	}
	if (!toolchain_upload_allowed(store, hash, &e)) {
		request_reply_error(rq, MHD_HTTP_FORBIDDEN, "toolchain_not_allowed", NULL, "%s",
				    err_msg(&e));
		return;
	}
	up = xcalloc(1, sizeof(*up));
	memcpy(up->hash, hash, HASH_HEX_LEN + 1);
	request_set_state(rq, up);
	r = toolchain_upload_new(store, hash, early, &up->u, &e);
	if (r == TOOLCHAIN_E_BUSY)
		request_reply_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE, "too_many_uploads", NULL,
				    "%s", err_msg(&e));
	else if (r < 0)
		request_reply_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL, "%s",
				    err_msg(&e));
	else if (r > 0 && early)
		route_toolchain_held(rq, hash);
}

static void route_toolchain_data(struct request *rq, const char *data, size_t len)
{
	struct route_upload *up = request_state(rq);
	struct err e = {0};
	int r;

	if (!up->u) {
		up->drained += len;
		return;
	}
	r = toolchain_upload_write(up->u, data, len, &e);
	if (r == TOOLCHAIN_E_TOO_LARGE)
		request_reply_error(rq, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", NULL, "%s",
				    err_msg(&e));
	else if (r < 0)
		request_reply_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL, "%s",
				    err_msg(&e));
}

static void route_toolchain_finish(struct request *rq)
{
	struct route_upload *up = request_state(rq);
	struct err e = {0};
	size_t size = up->u ? toolchain_upload_size(up->u) : up->drained;
	int created = 0, r = up->u ? toolchain_upload_finish(up->u, &created, &e) : 0;

	if (r == TOOLCHAIN_E_MISMATCH) {
		request_reply_error(rq, MHD_HTTP_BAD_REQUEST, "hash_mismatch", NULL, "%s",
				    err_msg(&e));
		return;
	}
	if (r < 0) {
		request_reply_error(rq, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", NULL, "%s",
				    err_msg(&e));
		return;
	}
	stats_toolchain_received(request_daemon(rq)->stats, size);
	log_info("toolchain %s: %s (%zu bytes)", up->hash, created ? "stored" : "already held",
		 size);
	request_reply_json(rq, created ? MHD_HTTP_CREATED : MHD_HTTP_OK,
			   json_pack("{s:s, s:b}", "toolchain", up->hash, "created", created));
}

/* --- POST /v1/job --- */

/* Whether the job runs here rather than on a volunteer. */
static int route_job_runs_here(struct request *rq)
{
	struct dispatchd *d = request_daemon(rq);

	return request_header(rq, FORWARDED_HEADER) || !hosts_has_volunteers(d->hosts);
}

/* Refuses before the body is read what cannot run here. */
static void route_job_begin(struct request *rq)
{
	struct dispatchd *d = request_daemon(rq);
	long running;

	if (!route_job_runs_here(rq))
		return;
	if (slots_total(d->slots) == 0) {
		request_reply_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE, "no_slots", NULL,
				    "this daemon runs no jobs (--slots 0)");
		return;
	}
	running = slots_running(d->slots);
	if (!load_accepting(d->max_load, running))
		request_reply_error(rq, MHD_HTTP_SERVICE_UNAVAILABLE, "busy", NULL,
				    "the machine's owner is busy: load %.2f is over --max-load %.2f",
				    load_owner(running), d->max_load);
}

static json_t *route_missing_json(const struct job_missing *m)
{
	json_t *blobs = json_array();

	for (size_t i = 0; blobs && i < m->n; i++)
		json_array_append_new(blobs, json_string(m->blobs[i]));
	return json_pack("{s:b, s:o}", "toolchain", m->toolchain, "blobs", blobs);
}

static const struct {
	int code;
	unsigned status;
} route_job_errors[] = {
    {JOB_E_BAD_REQUEST, MHD_HTTP_BAD_REQUEST},
    {JOB_E_TOO_LARGE, MHD_HTTP_CONTENT_TOO_LARGE},
    {JOB_E_NO_SLOTS, MHD_HTTP_SERVICE_UNAVAILABLE},
    {JOB_E_SHUTTING_DOWN, MHD_HTTP_SERVICE_UNAVAILABLE},
    {JOB_E_BUSY, MHD_HTTP_SERVICE_UNAVAILABLE},
    {JOB_E_FORBIDDEN, MHD_HTTP_FORBIDDEN},
    {JOB_E_LIMIT, MHD_HTTP_UNPROCESSABLE_CONTENT},
    {JOB_E_INTERNAL, MHD_HTTP_INTERNAL_SERVER_ERROR},
};

static void route_job_error(struct request *rq, int r, const struct err *e)
{
	size_t n = sizeof(route_job_errors) / sizeof(route_job_errors[0]);
	size_t i = 0;

	while (i < n - 1 && route_job_errors[i].code != r)
		i++;
	request_reply_error(rq, route_job_errors[i].status,
			    job_error_code(route_job_errors[i].code), NULL, "%s", err_msg(e));
}

static void route_job(struct request *rq)
{
	struct job_missing missing = {0};
	struct err e = {0};
	char *data = NULL;
	size_t len = 0, body_len;
	const char *body = request_body(rq, &body_len);
	int forwarded = request_header(rq, FORWARDED_HEADER) != NULL;
	int r;

	stats_job_request(request_daemon(rq)->stats, body_len);
	r = job_run(request_daemon(rq), body, body_len, forwarded, &data, &len, &missing, &e);

	if (r == 0)
		request_reply_data(rq, MHD_HTTP_OK, "application/octet-stream", data, len);
	else if (r == JOB_E_MISSING)
		request_reply_error(rq, MHD_HTTP_CONFLICT, "missing", route_missing_json(&missing),
				    "%s", err_msg(&e));
	else
		route_job_error(rq, r, &e);
	job_missing_release(&missing);
}

/* --- GET /v1/cluster --- */

static void route_cluster(struct request *rq)
{
	request_reply_json(rq, MHD_HTTP_OK, hosts_cluster_json(request_daemon(rq)->hosts));
}

/* --- POST /v1/join --- */

static void route_join(struct request *rq)
{
	struct dispatchd *d = request_daemon(rq);
	size_t len;
	const char *body = request_body(rq, &len);
	json_t *o = json_loadb(body, len, 0, NULL);
	const char *url = json_string_value(json_object_get(o, "url"));
	const char *name = json_string_value(json_object_get(o, "name"));
	struct err e = {0};

	if (!json_is_object(o) || !url)
		request_reply_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request", NULL,
				    "join: expected {\"url\": \"http://host:port\", \"name\": ...}");
	else if (hosts_join(d->hosts, url, name, &e) < 0)
		request_reply_error(rq, MHD_HTTP_BAD_REQUEST, "bad_request", NULL, "join: %s",
				    err_msg(&e));
	else
		request_reply_json(rq, MHD_HTTP_OK,
				   json_pack("{s:i, s:s}", "protocol", PROTOCOL_VERSION, "name",
					     d->name));
	json_decref(o);
}

/* clang-format off */
const struct route routes[] = {
	{.method = "GET", .path = ROUTE_HEALTH, .open = 1, .finish = route_health},
	{.method = "GET", .path = ROUTE_STATUS, .finish = route_status},
	{.method = "GET", .path = ROUTE_CLUSTER, .finish = route_cluster},
	{.method = "POST", .path = ROUTE_JOIN, .versioned = 1, .max_body = JOIN_MAX_BYTES,
	 .finish = route_join},
	{.method = "PUT", .path = ROUTE_TOOLCHAIN_PREFIX, .prefix = 1, .versioned = 1,
	 .max_body = TOOLCHAIN_MAX_BYTES, .begin = route_toolchain_begin,
	 .data = route_toolchain_data, .finish = route_toolchain_finish,
	 .release = route_upload_free},
	{.method = "POST", .path = ROUTE_JOB, .versioned = 1, .max_body = JOB_MAX_BYTES,
	 .begin = route_job_begin, .finish = route_job},
	{.method = NULL},
};
/* clang-format on */
