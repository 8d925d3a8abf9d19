#ifndef GODISTCC_REPLAY_H
#define GODISTCC_REPLAY_H
/*
 * Replaying a remote run as if the tool had run here: its output files,
 * then its stdout and stderr bytes, then its exit status or death by signal.
 */
#include <stdnoreturn.h>

struct answer;
struct err;

/* Writes every output at its path, created or truncated with mode
 * 0666 & ~umask, as compile and asm create them (os.Create). */
int replay_outputs(const struct answer *a, struct err *e);

/* Writes the captured stdout to fd 1 and stderr to fd 2, verbatim. */
void replay_streams(const struct answer *a);

/* Ends the process as the tool ended: killed by sig when it is non-zero
 * (default disposition, no core file), else exit(exit_code). */
noreturn void replay_exit(int exit_code, int sig);

#endif
