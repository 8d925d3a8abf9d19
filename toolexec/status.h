#ifndef GODISTCC_STATUS_H
#define GODISTCC_STATUS_H
/*
 * godistcc --status [--json] and godistcc -j: ask the dispatcher the shim
 * would send jobs to (settings.h: GODISTCC_DISPATCHER) for its table of
 * hosts (cluster.h) and print it, or the go build -p it suggests.
 *
 * godistcc asks a dispatchd's local socket itself; for a dispatcher by URL
 * it executes godistcc-http (status_http.h), which makes the HTTP request
 * and then prints through status_show() or status_fail() as well, so both
 * binaries give the same output.
 *
 * Exit status: 0 when the dispatcher answered (--status) or always (-j,
 * which then suggests the local CPU count with a warning on stderr, so
 * that go build -p $(godistcc -j) keeps working); 1 when --status got no
 * usable answer, with one line on stderr naming the dispatcher and why;
 * 2 for a bad command line.
 */
#include <stddef.h>

enum status_mode {
	STATUS_TABLE, /* --status */
	STATUS_JSON,  /* --status --json: the document as the dispatcher sent it */
	STATUS_JOBS,  /* -j */
};

/* Seconds the whole exchange with the dispatcher may take. */
#define STATUS_TIMEOUT_S 10

/* godistcc's commands, argv[1] being "--status" or "-j". helper is
 * godistcc-http's path (borrowed; NULL when unknown). Returns the exit
 * status. */
int status_command(int argc, char **argv, const char *helper);

/* The mode's name on godistcc-http's command line, and back. */
const char *status_mode_name(enum status_mode m);
int status_mode_parse(const char *name, enum status_mode *ret);

/* Prints what m asks for from the dispatcher's answer text (len bytes);
 * where names the dispatcher ("unix:PATH" or its URL). A malformed or
 * error answer goes to status_fail(). Returns the exit status. */
int status_show(enum status_mode m, const char *where, const char *text, size_t len);

/* The dispatcher could not be asked (the message says which and why):
 * prints the error, or for -j the local CPU count and a warning. Returns
 * the exit status. */
int status_fail(enum status_mode m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The CPUs this process may run on, as Go's runtime.NumCPU counts them
 * (the go command's default -p); at least 1. */
long status_local_cpus(void);

#endif
