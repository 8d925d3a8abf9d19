#include "shim.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "answer.h"
#include "buf.h"
#include "err.h"
#include "fallback.h"
#include "fsutil.h"
#include "job.h"
#include "log.h"
#include "replay.h"
#include "settings.h"

#include "banned.h"

long shim_ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)((t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000);
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

struct job *shim_start(enum goargs_tool tool, char **tool_argv, struct settings *s,
		       struct timespec *t0)
{
	struct err e = {0};
	struct job *j;
	char *cwd;
	int r;

	clock_gettime(CLOCK_MONOTONIC, t0);
	r = settings_load(s, &e);
	shim_log_init(s); /* before anything logs: the default logger is stderr */
	if (r < 0)
		fallback_run(s, tool_argv, err_msg(&e));
	if (!(cwd = shim_cwd()))
		fallback_run(s, tool_argv, "cannot determine the working directory");
	j = job_new(tool, tool_argv, cwd);
	free(cwd);
	if (shim_is_local(s, j)) {
		log_debug("%s: running locally: %s", tool_argv[0], j->local_reason);
		fallback_exec(s, tool_argv);
	}
	return j;
}

noreturn void shim_finish(struct settings *s, struct job *j, struct answer *a,
			  const struct timespec *t0)
{
	struct err e = {0};
	int code, sig;
	const char *pkg = getenv("TOOLEXEC_IMPORTPATH");

	if (replay_outputs(a, &e) < 0)
		fallback_run(s, j->tool_argv, err_msg(&e));
	replay_streams(a);
	log_info("%s %s: ran on %s in %ld ms (%ld ms here), exit %d, signal %d",
		 goargs_tool_name(j->tool), pkg ? pkg : "?",
		 a->host ? a->host : "?", a->duration_ms, shim_ms_since(t0), a->exit_code,
		 a->signal);
	code = a->exit_code;
	sig = a->signal;
	answer_free(a);
	job_free(j);
	settings_release(s);
	replay_exit(code, sig);
}
