#ifndef GODISTCC_SHIM_H
#define GODISTCC_SHIM_H
/*
 * What both shim binaries share. godistcc (main.c) runs every job it can
 * through the local socket of a dispatchd on this host and links nothing
 * heavier than jansson; when the job must travel over HTTP it executes
 * godistcc-http (http_main.c, with libcurl, libarchive, zstd, libcrypto)
 * with the same arguments. Both start a job the same way and replay an
 * answer the same way.
 */
#include <stdnoreturn.h>
#include <time.h>

#include "goargs.h"

struct answer;
struct job;
struct settings;

/* Loads the settings, starts logging and models the job for tool_argv
 * (tool path, then its arguments). A job that runs locally by design is
 * executed here (no return); infrastructure trouble falls back here too.
 * Fills *t0 with the start time for logs. */
struct job *shim_start(enum goargs_tool tool, char **tool_argv, struct settings *s,
		       struct timespec *t0);

/* Writes the outputs, replays stdout and stderr, logs, and ends the process
 * as the tool ended, releasing a, j and s. Falls back to a local run when
 * an output cannot be written. */
noreturn void shim_finish(struct settings *s, struct job *j, struct answer *a,
			  const struct timespec *t0);

/* Milliseconds since t0 (CLOCK_MONOTONIC). */
long shim_ms_since(const struct timespec *t0);

#endif
