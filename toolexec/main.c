/*
 * godistcc: the -toolexec shim. The go command runs
 *
 *     godistcc /abs/path/pkg/tool/OS_ARCH/<tool> args...
 *
 * for every tool. compile (and asm when GODISTCC_ASM=remote) become remote
 * jobs; everything else, and every job that cannot or should not go remote,
 * runs locally by exec, unchanged. An argv[1] starting with '-' is the
 * shim's own command line (--help, --version).
 *
 * A job goes to the local socket of this user's dispatchd when one listens
 * (local.h); otherwise this binary executes godistcc-http (shim.h), so that
 * the common path loads no HTTP or archive library.
 */
#include <errno.h>
#include <stdio.h>
#include <stdnoreturn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "answer.h"
#include "buf.h"
#include "err.h"
#include "fallback.h"
#include "goargs.h"
#include "job.h"
#include "local.h"
#include "log.h"
#include "protocol.h"
#include "settings.h"
#include "shim.h"
#include "status.h"

#include "banned.h"

static int shim_help(int argc, char **argv);
static int shim_version(int argc, char **argv);
static int shim_status(int argc, char **argv);

/* The shim's own commands. */
static const struct shim_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help; /* NULL: an alias, not listed */
} shim_commands[] = {
    {"--help", shim_help, "print this help and exit"},
    {"-h", shim_help, NULL},
    {"--version", shim_version, "print the version and the protocol version, and exit"},
    {"--status", shim_status, "print the cluster's hosts and slots (--json: as JSON), and exit"},
    {"-j", shim_status, "print a go build -p for the cluster's current size, and exit"},
};

#define SHIM_NCOMMANDS (sizeof(shim_commands) / sizeof(shim_commands[0]))

static int shim_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("usage: go build -toolexec=godistcc [-p N] [packages]\n"
	       "       godistcc /path/to/pkg/tool/OS_ARCH/TOOL [args...]\n"
	       "       godistcc COMMAND\n\n"
	       "Runs the go command's compile jobs on a dispatch daemon (dispatchd) and every\n"
	       "other tool locally, unchanged. Outputs, diagnostics and exit status are those\n"
	       "of a local run; when the dispatcher cannot run a job, the job runs locally\n"
	       "after one warning per go command.\n\nCommands:\n");
	for (size_t i = 0; i < SHIM_NCOMMANDS; i++)
		if (shim_commands[i].help)
			printf("  %-12s%s\n", shim_commands[i].name, shim_commands[i].help);
	printf("\nSettings (environment variables override the config file, which overrides\n"
	       "the defaults; the file is $GODISTCC_CONFIG, else ~/.config/godistcc/config,\n"
	       "with lines \"name = value\"):\n");
	settings_usage(stdout);
	printf("\nSee godistcc(1).\n");
	return 0;
}

static int shim_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("godistcc %s (protocol %d)\n", GODISTCC_VERSION, PROTOCOL_VERSION);
	return 0;
}

static int shim_command(int argc, char **argv)
{
	for (size_t i = 0; i < SHIM_NCOMMANDS; i++)
		if (strcmp(argv[1], shim_commands[i].name) == 0)
			return shim_commands[i].run(argc, argv);
	fprintf(stderr, "godistcc: unknown option %s (see godistcc --help)\n", argv[1]);
	return 2;
}

/* godistcc-http beside this binary: <prefix>/libexec/godistcc/godistcc-http
 * for <prefix>/bin/godistcc, in the build tree as in an installation. */
static char *shim_http_helper(void)
{
	char self[4096];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	self[n] = '\0';
	if (!(slash = strrchr(self, '/')))
		return NULL;
	*slash = '\0';
	return xasprintf("%s/../libexec/godistcc/godistcc-http", self);
}

/* --status [--json] and -j (status.h). */
static int shim_status(int argc, char **argv)
{
	char *helper = shim_http_helper();
	int r = status_command(argc, argv, helper);

	free(helper);
	return r;
}

/* Hands the job to godistcc-http (argv: the shim's own argv). */
static noreturn void shim_exec_http(struct settings *s, char **argv)
{
	char *helper = shim_http_helper();
	char reason[ERR_MSG_MAX];

	if (helper) {
		argv[0] = helper;
		execv(helper, argv);
	}
	snprintf(reason, sizeof(reason), "cannot run %s: %s",
		 helper ? helper : "godistcc-http", strerror(errno));
	fallback_run(s, argv + 1, reason);
}

static noreturn void shim_run(enum goargs_tool tool, char **argv)
{
	struct settings s;
	struct timespec t0;
	struct err e = {0};
	struct answer *a = NULL;
	struct job *j = shim_start(tool, argv + 1, &s, &t0);
	int absent = 0;

	if (!s.socket_path)
		shim_exec_http(&s, argv);
	if (job_list_inputs(j) == 0 && local_submit(&s, j, s.socket_path, &a, &absent, &e) == 0)
		shim_finish(&s, j, a, &t0);
	if (j->local_reason) {
		log_debug("%s: running locally: %s", argv[1], j->local_reason);
		fallback_exec(&s, argv + 1);
	}
	if (absent && !s.socket_only) {
		log_debug("no dispatchd at %s: %s", s.socket_path, err_msg(&e));
		shim_exec_http(&s, argv);
	}
	fallback_run(&s, argv + 1, err_msg(&e));
}

int main(int argc, char **argv)
{
	enum goargs_tool tool;

	if (argc < 2) {
		fprintf(stderr, "usage: godistcc /path/to/tool [args...] (see godistcc --help)\n");
		return 2;
	}
	if (argv[1][0] == '-')
		return shim_command(argc, argv);
	/* link, vet, cgo, probes...: exec at once (in a local slot), before any set-up. */
	if (goargs_tool_from_path(argv[1], &tool) < 0)
		fallback_exec(NULL, argv + 1);
	shim_run(tool, argv);
}
