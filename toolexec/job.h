#ifndef GODISTCC_JOB_H
#define GODISTCC_JOB_H
/*
 * One compile or asm invocation as a remote job: its parsed arguments, the
 * input files it reads (with the bytes to ship and their SHA-256), the output
 * files it may write, and the request bundle built from them (PROTOCOL,
 * POST /v1/job).
 *
 * Some invocations cannot or should not run remotely (probes such as -V=full,
 * flags that write side files, unclean or unreadable input paths, an asm
 * #include that cannot be found). Those are not errors: the functions below
 * then fail with local_reason set, and the caller runs the tool locally and
 * quietly. A failure without local_reason is a real local error.
 */
#include <stddef.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "goargs.h"
#include "answer.h"
#include "hash.h"

struct job_file {
	char *path;	 /* absolute and clean; unique within the job */
	int archive;	 /* an imported package archive: ship its export data */
	int loaded;	 /* data holds the bytes to ship */
	struct buf data; /* released once the bundle is built */
	char blob[HASH_HEX_LEN + 1];
};

struct job {
	enum goargs_tool tool;
	char *const *tool_argv; /* borrowed: tool path, then its arguments, NULL-terminated */
	size_t nargs;		/* arguments after the tool path */
	char *cwd;
	struct goargs *ga;
	struct answer_expect *outputs; /* the -o, -asmhdr, -linkobj values */
	size_t noutputs;
	struct job_file *files;
	size_t nfiles, capfiles;
	char toolchain[HASH_HEX_LEN + 1]; /* set by the caller before job_bundle() */
	int merge_output;		  /* fd 1 and fd 2 are one open file */
	const char *local_reason;	  /* NULL, or why the job runs locally */
	char local_buf[ERR_MSG_MAX];
};

/* A job for tool_argv (borrowed for the job's life: the tool path followed
 * by its arguments, NULL-terminated) run in cwd. Free with job_free(). */
struct job *job_new(enum goargs_tool tool, char *const *tool_argv, const char *cwd);
void job_free(struct job *j);

/* Parses the arguments and finds the outputs. Fails only with local_reason
 * set (a parse error is the tool's to report, in its own words). */
int job_parse(struct job *j);

/* Finds every input: sources, -symabis and other input flags, the
 * importcfg and the archives it names, the embedcfg and the files it names,
 * and for asm the headers it includes. The importcfg and embedcfg are read
 * (loaded); nothing else is. Fails only with local_reason set. */
int job_list_inputs(struct job *j);

/* Reads and hashes every input listed (archives as their export data), for
 * the HTTP path (jobbundle.c). Fails only with local_reason set. */
int job_load_files(struct job *j);

/* Import archives' export data up to this size travel with a job's first
 * request; larger export data (shared by many jobs, and kept by the
 * dispatcher's blob store) only when the dispatcher asks for it. */
#define JOB_INLINE_MAX 4096

/* Which blobs a request carries. */
struct job_want {
	int all;	     /* every input */
	/* Otherwise every input but export data past JOB_INLINE_MAX, and
	 * these (a 409 answer's list). */
	char *const *blobs;
	size_t n;
};

/*
 * Builds the request bundle: manifest.json, then one blob/<sha256> entry per
 * distinct input content that want selects (NULL: every one). compress
 * selects zstd (level 1) for the bundle and the answer. client_may_run
 * tells a dispatcher that the shim would run the job itself rather than
 * wait long in its queue (the answer is then 503 "busy"). The file data is
 * kept for later requests. The caller frees *ret_data.
 */
int job_bundle(struct job *j, int compress, int client_may_run, const struct job_want *want,
	       char **ret_data, size_t *ret_len, struct err *e);

/* Marks the job local-only (the first reason wins) and fails with -1. */
int job_local(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One files[] entry of a request. */
typedef json_t *job_file_json(const struct job_file *f);

/*
 * The request text shared by POST /v1/job's manifest (jobbundle.c) and the
 * local socket's request (local.c): protocol, tool, args (@response files
 * expanded), cwd, env (the variables that affect output, and GOROOT derived
 * from the tool path when unset), merge_output, files[] with file_json's
 * entry for each input, and the fields of extra (taken over; NULL fails).
 * Caller frees; NULL when some string is not UTF-8.
 */
char *job_request_text(const struct job *j, job_file_json *file_json, json_t *extra);

#endif
