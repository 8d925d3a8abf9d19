/*
 * dispatchd/routes.c: the body of POST /v1/join, a volunteer's heartbeat,
 * through the real handler route_join() and hosts_join()
 * (dispatchd/hosts.c), then GET /v1/cluster, which must list every host
 * that joined. routes.c is included to reach route_join(); the request API
 * of server.c is replaced by the stubs below, which keep the answer.
 */
#include <stdarg.h>

#include "fuzz.h"

#include "../../dispatchd/routes.c"

struct request {
	struct dispatchd *d;
	const char *body;
	size_t len;
	unsigned status; /* 0 until answered */
};

struct dispatchd *request_daemon(const struct request *rq)
{
	return rq->d;
}

const char *request_path_rest(const struct request *rq)
{
	(void)rq;
	return "";
}

const char *request_header(const struct request *rq, const char *name)
{
	(void)rq;
	(void)name;
	return NULL;
}

const char *request_body(const struct request *rq, size_t *ret_len)
{
	*ret_len = rq->len;
	return rq->body;
}

void request_set_state(struct request *rq, void *state)
{
	(void)rq;
	(void)state;
}

void *request_state(const struct request *rq)
{
	(void)rq;
	return NULL;
}

int request_replied(const struct request *rq)
{
	return rq->status != 0;
}

void request_reply_json(struct request *rq, unsigned status, json_t *body)
{
	FUZZ_ASSERT(rq->status == 0);
	FUZZ_ASSERT(body);
	rq->status = status;
	json_decref(body);
}

void request_reply_error(struct request *rq, unsigned status, const char *code, json_t *extra,
			 const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	FUZZ_ASSERT(rq->status == 0 && code);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rq->status = status;
	json_decref(extra);
}

void request_reply_data(struct request *rq, unsigned status, const char *content_type, char *data,
			size_t len)
{
	(void)content_type;
	(void)len;
	FUZZ_ASSERT(rq->status == 0);
	rq->status = status;
	free(data);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_join", LOG_ERROR, NULL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct hosts_opts o = {.self_name = "disp", .self_slots = 1, .heartbeat_ms = 1000,
				     .down_after_ms = 3000};
	struct dispatchd d = {.name = "disp"};
	size_t joined = 0;
	json_t *doc;

	if (size > JOIN_MAX_BYTES) /* server.c refuses a longer body */
		return 0;
	d.hosts = hosts_new(&o);
	/* Twice: the first heartbeat registers, the second refreshes. */
	for (int i = 0; i < 2; i++) {
		struct request rq = {.d = &d, .body = (const char *)data, .len = size};

		route_join(&rq);
		FUZZ_ASSERT(rq.status == MHD_HTTP_OK || rq.status == MHD_HTTP_BAD_REQUEST);
		joined = rq.status == MHD_HTTP_OK;
	}
	doc = hosts_cluster_json(d.hosts);
	FUZZ_ASSERT(json_array_size(json_object_get(doc, "hosts")) == 1 + joined);
	json_decref(doc);
	hosts_free(d.hosts);
	return 0;
}
