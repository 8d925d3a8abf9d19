#include "replay.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "answer.h"
#include "err.h"
#include "fsutil.h"

#include "banned.h"

/*
 * Each output is written in place, created or truncated with mode 0666
 * less the umask, as the tool's own os.Create() does. No temporary file
 * and rename(2): the go command reads outputs only after the tool has
 * exited, a failed write falls back to running the tool here (which
 * rewrites them), and a rename over the output of an earlier run costs a
 * quarter of a millisecond on ext4 (perf trace of t/bench/run-std part 2).
 */
int replay_outputs(const struct answer *a, struct err *e)
{
	for (size_t i = 0; i < a->noutputs; i++) {
		const struct answer_output *o = &a->outputs[i];

		if (fs_write_file(o->path, o->data, o->len, 0666, e) < 0)
			return -1;
	}
	return 0;
}

void replay_streams(const struct answer *a)
{
	/* As for the tool itself, a closed stdout or stderr loses the text only. */
	if (a->out.len)
		fs_write_all(1, a->out.data, a->out.len);
	if (a->err.len)
		fs_write_all(2, a->err.data, a->err.len);
}

noreturn void replay_exit(int exit_code, int sig)
{
	if (sig > 0) {
		struct rlimit no_core = {0, 0};
		sigset_t set;

		/* The go command reports "signal: killed" and the like from our
		 * death; a core file of the shim would only mislead. */
		setrlimit(RLIMIT_CORE, &no_core);
		signal(sig, SIG_DFL);
		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		raise(sig);
		_exit(128 + sig); /* the signal's default is to be ignored */
	}
	/* Everything went out with write(2); skipping the atexit handlers of
	 * libcrypto, libcurl and the 45-odd libraries they pulled in saves a
	 * measurable part of a millisecond per job. */
	_exit(exit_code);
}
