/*
 * godistcc: the -toolexec shim. The go command runs
 *
 *     godistcc /abs/path/pkg/tool/OS_ARCH/<tool> args...
 *
 * for every tool. compile (and asm when GODISTCC_ASM=remote) become remote
 * jobs; everything else, and every job that cannot or should not go remote,
 * runs locally by exec, unchanged. An argv[1] starting with '-' is the
 * shim's own command line (--help, --version).
 */
#include <stdio.h>
#include <stdnoreturn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "buf.h"
#include "client.h"
#include "curlapi.h"
#include "err.h"
#include "fallback.h"
#include "fsutil.h"
#include "goargs.h"
#include "job.h"
#include "log.h"
#include "protocol.h"
#include "replay.h"
#include "settings.h"
#include "toolhash.h"

#include "banned.h"

static int shim_help(int argc, char **argv);
static int shim_version(int argc, char **argv);

/* The shim's own commands; later ones (--status, -j) join this table. */
static const struct shim_command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help; /* NULL: an alias, not listed */
} shim_commands[] = {
    {"--help", shim_help, "print this help and exit"},
    {"-h", shim_help, NULL},
    {"--version", shim_version, "print the version and the protocol version, and exit"},
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

/* The working directory as Go's os.Getwd finds it: $PWD when it names ".". */
static char *shim_cwd(void)
{
	const char *pwd = getenv("PWD");
	struct stat a, b;

	if (pwd && pwd[0] == '/' && stat(pwd, &a) == 0 && stat(".", &b) == 0 &&
	    a.st_dev == b.st_dev && a.st_ino == b.st_ino)
		return xstrdup(pwd);
	return getcwd(NULL, 0);
}

/* Logging goes to GODISTCC_LOG or nowhere: the go command shows whatever a
 * tool prints, and caches it with the tool's output. */
static void shim_log_init(const struct settings *s)
{
	enum log_level level = LOG_INFO;

	if (s->log_level)
		log_parse_level(s->log_level, &level);
	if (!s->log_path || !*s->log_path || log_init("godistcc", level, s->log_path) < 0)
		log_init("godistcc", LOG_ERROR, "/dev/null");
}

static long shim_ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)((t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000);
}

/* Sends the job and parses the answer. Fails with j->local_reason set when
 * the job should simply run locally, otherwise with e naming the trouble. */
static int shim_remote(const struct settings *s, struct job *j, struct answer **ret, struct err *e)
{
	struct client *c = NULL;
	struct buf reply;
	struct err ae = {0};
	struct timespec t0;
	char *cache = settings_cache_dir(s), *body = NULL;
	size_t len = 0;
	long t_collect = 0, t_bundle = 0, t_submit = 0;
	int r = -1;

	buf_init(&reply);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	curlapi_preload(strncmp(s->dispatcher, "https:", 6) == 0);
	if (job_collect(j) < 0)
		goto out;
	t_collect = shim_ms_since(&t0);
	if ((r = toolhash_get(j->tool_argv[0], cache, j->toolchain, e)) < 0 ||
	    (r = job_bundle(j, settings_compress(s), &body, &len, e)) < 0)
		goto out;
	t_bundle = shim_ms_since(&t0);
	if (!(c = client_new(s, e))) {
		r = -1;
		goto out;
	}
	if ((r = client_submit(c, j->tool_argv[0], j->toolchain, body, len,
			       answer_max_bytes(j->noutputs), &reply, e)) < 0)
		goto out;
	t_submit = shim_ms_since(&t0);
	if ((r = answer_parse(reply.data, reply.len, j->outputs, j->noutputs, ret, &ae)) < 0)
		err_set(e, "dispatcher %s: malformed answer: %s", s->dispatcher, err_msg(&ae));
	log_debug("%zu inputs, %zu bytes sent, %zu received; ms: collect %ld, hash+bundle %ld, "
		  "request %ld, parse %ld",
		  j->nfiles, len, reply.len, t_collect, t_bundle - t_collect, t_submit - t_bundle,
		  shim_ms_since(&t0) - t_submit);
out:
	client_free(c);
	free(body);
	buf_release(&reply);
	free(cache);
	return r;
}

/* Whether the job runs locally by design; sets j->local_reason. */
static int shim_is_local(const struct settings *s, struct job *j)
{
	if (j->tool == GOARGS_ASM && !settings_asm_remote(s)) {
		j->local_reason = "asm runs locally (GODISTCC_ASM=local)";
		return 1;
	}
	if (!fs_path_is_clean_abs(j->cwd)) {
		j->local_reason = "the working directory is not a clean absolute path";
		return 1;
	}
	return job_parse(j) < 0;
}

/* Replays a remote run: outputs, then stdout and stderr. */
static void shim_replay(const struct settings *s, struct job *j, const struct answer *a,
			const struct timespec *t0)
{
	struct err e = {0};
	const char *pkg = getenv("TOOLEXEC_IMPORTPATH");

	if (replay_outputs(a, &e) < 0)
		fallback_run(s, j->tool_argv, err_msg(&e));
	replay_streams(a);
	log_info("%s %s: ran on %s in %ld ms (%ld ms here), exit %d, signal %d",
		 j->tool == GOARGS_ASM ? "asm" : "compile", pkg ? pkg : "?",
		 a->host ? a->host : "?", a->duration_ms, shim_ms_since(t0), a->exit_code,
		 a->signal);
}

static noreturn void shim_run(enum goargs_tool tool, char **tool_argv)
{
	struct settings s;
	struct timespec t0;
	struct err e = {0};
	struct answer *a = NULL;
	struct job *j;
	char *cwd;
	int r, code, sig;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = settings_load(&s, &e);
	shim_log_init(&s); /* before anything logs: the default logger is stderr */
	if (r < 0)
		fallback_run(&s, tool_argv, err_msg(&e));
	if (!(cwd = shim_cwd()))
		fallback_run(&s, tool_argv, "cannot determine the working directory");
	j = job_new(tool, tool_argv, cwd);
	free(cwd);
	if (shim_is_local(&s, j) || shim_remote(&s, j, &a, &e) < 0) {
		if (!j->local_reason)
			fallback_run(&s, tool_argv, err_msg(&e));
		log_debug("%s: running locally: %s", tool_argv[0], j->local_reason);
		fallback_exec(tool_argv);
	}
	shim_replay(&s, j, a, &t0);
	code = a->exit_code;
	sig = a->signal;
	answer_free(a);
	job_free(j);
	settings_release(&s);
	replay_exit(code, sig);
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
	/* link, vet, cgo, probes...: exec at once, before any set-up. */
	if (goargs_tool_from_path(argv[1], &tool) < 0)
		fallback_exec(argv + 1);
	shim_run(tool, argv + 1);
}
