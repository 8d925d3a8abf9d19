#ifndef GODISTCC_FALLBACK_H
#define GODISTCC_FALLBACK_H
/*
 * Running the tool locally. fallback_exec() replaces the shim with the tool
 * (the pass-through path for link, vet, probes and local-only jobs);
 * fallback_run() is the answer to infrastructure trouble.
 *
 * Every local run first takes a local slot (localslots.h, in the default
 * directory), waiting as long as it takes, and keeps it through the exec:
 * at most local_slots tools (GODISTCC_LOCAL_SLOTS) run on this host at once
 * for all of the user's go commands. Version probes (-V=full) take one too:
 * they are a handful per go command, and a probe running beside N tools
 * would be one tool too many. A shim waiting for a remote answer holds no
 * slot.
 *
 * The warning for a fallback is printed at most once per go command: the
 * go command is the shim's parent, so the first shim to create the marker
 * file <runtime dir>/warned-<ppid>-<parent start time> (O_CREAT|O_EXCL;
 * rundir.h) prints and the others stay quiet. The warning goes to the go
 * command's own stderr (its open file description, taken with
 * pidfd_getfd(2), or the terminal or pipe reopened through /proc), and to
 * the tool's stderr only when neither works: written there, it becomes part
 * of the compile's output, which the go command caches and replays with
 * every later cache hit.
 */
#include <stdnoreturn.h>

struct settings;

/* Takes a local slot, then execvp(argv[0], argv): a bare name ("gcc") is
 * looked up on PATH. s gives the slot count; NULL (a pass-through tool,
 * before settings are loaded) reads GODISTCC_LOCAL_SLOTS from the
 * environment alone. On failure prints why and exits 127. */
noreturn void fallback_exec(const struct settings *s, char *const *tool_argv);

/*
 * Infrastructure trouble (reason names it, e.g. "dispatcher http://h:3633
 * unreachable (Connection refused)"). With s->fallback set: one warning per
 * go command, then fallback_exec(). Otherwise: an error naming the reason on
 * stderr and exit status 1, without running the tool.
 */
noreturn void fallback_run(const struct settings *s, char *const *tool_argv, const char *reason);

#endif
