/*
 * godistcc-http: the shim's HTTP path (PROTOCOL, POST /v1/job). godistcc
 * executes it, with its own arguments, for a job that goes to a dispatcher
 * by URL: this binary carries libcurl (loaded while the inputs are read),
 * libarchive, zstd and libcrypto, which the local-socket path never needs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "answer.h"
#include "buf.h"
#include "client.h"
#include "curlapi.h"
#include "err.h"
#include "fallback.h"
#include "goargs.h"
#include "job.h"
#include "log.h"
#include "settings.h"
#include "shim.h"
#include "status_http.h"
#include "toolhash.h"

#include "banned.h"

struct shim_body {
	struct job *j;
	int compress, client_may_run;
};

/* The first request carries every input but large export data, which the
 * dispatcher's blob store most likely holds; a resend that and what the
 * dispatcher lacked; a third every input. */
static int shim_body(void *arg, const struct client_blobs *missing, char **ret_body,
		     size_t *ret_len, struct err *e)
{
	struct shim_body *b = arg;
	struct job_want want = {0};

	if (missing) {
		want.all = missing->all;
		want.blobs = missing->blobs;
		want.n = missing->n;
	}
	return job_bundle(b->j, b->compress, b->client_may_run, &want, ret_body, ret_len, e);
}

/* Sends the job and parses the answer. Fails with j->local_reason set when
 * the job should simply run locally, otherwise with e naming the trouble. */
static int shim_remote(const struct settings *s, struct job *j, struct answer **ret, struct err *e)
{
	struct client *c = NULL;
	struct buf reply;
	struct err ae = {0};
	struct timespec t0;
	struct shim_body sb = {.j = j, .compress = settings_compress(s),
			       .client_may_run = s->fallback};
	char *cache = settings_cache_dir(s);
	size_t len = 0;
	long t_collect = 0, t_bundle = 0, t_submit = 0;
	int r = -1;

	buf_init(&reply);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	curlapi_preload(strncmp(s->dispatcher, "https:", 6) == 0);
	if (job_list_inputs(j) < 0 || job_load_files(j) < 0)
		goto out;
	t_collect = shim_ms_since(&t0);
	if ((r = toolhash_get(j->tool_argv[0], cache, j->toolchain, e)) < 0)
		goto out;
	t_bundle = shim_ms_since(&t0);
	if (!(c = client_new(s, e))) {
		r = -1;
		goto out;
	}
	r = client_submit(c, j->tool_argv[0], j->toolchain, shim_body, &sb,
			  answer_max_bytes(j->noutputs), &reply, &len, e);
	if (r == CLIENT_E_BUSY && s->fallback)
		job_local(j, "the cluster is busy: %s", err_msg(e));
	if (r < 0)
		goto out;
	t_submit = shim_ms_since(&t0);
	if ((r = answer_parse(reply.data, reply.len, j->outputs, j->noutputs, ret, &ae)) < 0)
		err_set(e, "dispatcher %s: malformed answer: %s", s->dispatcher, err_msg(&ae));
	log_debug("%zu inputs, %zu bytes sent, %zu received; ms: collect %ld, hash %ld, "
		  "bundle+requests %ld, parse %ld",
		  j->nfiles, len, reply.len, t_collect, t_bundle - t_collect, t_submit - t_bundle,
		  shim_ms_since(&t0) - t_submit);
out:
	client_free(c);
	buf_release(&reply);
	free(cache);
	return r;
}

int main(int argc, char **argv)
{
	enum goargs_tool tool;
	struct settings s;
	struct timespec t0;
	struct err e = {0};
	struct answer *a = NULL;
	struct job *j;

	if (argc >= 2 && strcmp(argv[1], "--status") == 0)
		return status_http_main(argc, argv); /* godistcc --status, -j */
	if (argc < 2 || goargs_tool_from_path(argv[1], &tool) < 0) {
		fprintf(stderr, "godistcc-http: run by godistcc for compile and asm jobs only\n");
		return 2;
	}
	j = shim_start(tool, argv + 1, &s, &t0);
	if (!s.dispatcher)
		fallback_run(&s, j->tool_argv, "no dispatcher URL (GODISTCC_DISPATCHER)");
	if (shim_remote(&s, j, &a, &e) < 0) {
		if (!j->local_reason)
			fallback_run(&s, j->tool_argv, err_msg(&e));
		log_debug("%s: running locally: %s", j->tool_argv[0], j->local_reason);
		fallback_exec(&s, j->tool_argv);
	}
	shim_finish(&s, j, a, &t0);
}
