#ifndef GODISTCC_ANSWER_H
#define GODISTCC_ANSWER_H
/*
 * The answer to a job: over HTTP (PROTOCOL, POST /v1/job, 200) a bundle
 * holding result.json first, then "stdout", "stderr" and one "out/<n>" entry
 * per output file written (answer_bundle.c); over the local socket a header
 * with the same fields, then the bytes (local.c). The answer is hostile input: it is parsed within
 * limits and accepted only if it is complete and consistent, and an output
 * may only be one of the job's own output paths, so that a daemon cannot
 * make the shim write anywhere else. Anything else makes it malformed, which
 * the caller treats as infrastructure trouble.
 */
#include <stddef.h>

#include <jansson.h>

#include "buf.h"

struct err;

/* An output file the job's tool may write, as the answer is checked against. */
struct answer_expect {
	char *path;	 /* absolute and clean: where the output is written; owned by
			  * whoever built the list */
	const char *arg; /* the value as the arguments wrote it */
};

struct answer_output {
	const char *path; /* absolute; borrowed from the outputs given to answer_parse() */
	char *entry;	  /* "out/<n>" */
	char *data;	  /* owned; NULL until its entry is read */
	size_t len;
};

struct answer {
	int exit_code;
	int signal;
	struct buf out; /* the tool's stdout (all of its output when merged) */
	struct buf err; /* the tool's stderr */
	struct answer_output *outputs;
	size_t noutputs;
	char *host; /* who ran the job, for logs; may be NULL */
	long duration_ms;
};

/* An empty answer (buffers initialised). */
struct answer *answer_new(void);

/*
 * Takes the result object (result.json, or the local socket's header):
 * protocol, exit_code, signal, host, duration_ms, and the outputs, each of
 * which must be one of the job's outputs (given by its absolute path or as
 * the arguments wrote it) and listed once. Their data is left unset.
 */
int answer_take_result(struct answer *a, json_t *result, const struct answer_expect *outputs,
		       size_t noutputs, struct err *e);
/* Whether every listed output has arrived and a successful run (exit 0, no
 * signal) returned all noutputs of the job's outputs. */
int answer_check_complete(const struct answer *a, size_t noutputs, struct err *e);

/* The largest answer body worth receiving for a job with noutputs outputs. */
size_t answer_max_bytes(size_t noutputs);

/*
 * Parses and validates an answer bundle. outputs are the job's outputs
 * (borrowed for the answer's life); the answer may name each by its absolute
 * path or as the arguments wrote it. A successful tool run (exit 0, no
 * signal) must return every one of them. On success the caller frees *ret
 * with answer_free().
 */
int answer_parse(const void *data, size_t len, const struct answer_expect *outputs, size_t noutputs,
		 struct answer **ret, struct err *e);
void answer_free(struct answer *a);

#endif
