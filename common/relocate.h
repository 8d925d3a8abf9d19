#ifndef GODISTCC_RELOCATE_H
#define GODISTCC_RELOCATE_H
/*
 * Relocation: running a job with every path /x moved to S/x, where S is a
 * per-job sandbox directory, and still producing byte-identical output.
 * See DESIGN.md, "Relocation". The recipe:
 *  - working directory S+cwd, PWD set to it;
 *  - -trimpath: "S/P=>R" for each original rule P=>R, then
 *    "S/<GOROOT>=>$GOROOT" (literally "$GOROOT"), then "S/c=>/c" for each
 *    top-level directory c of the relocated paths, and only then the original
 *    rules, for paths the job does not relocate (//line directives of cgo
 *    output). Rules are first-match-wins; DESIGN.md lists "S/P=>R;P=>R" pair
 *    by pair, which rewrites a relocated path by the wrong rule when an
 *    original prefix P is itself a prefix of S. A -trimpath flag is added
 *    when the invocation had none;
 *  - GOROOT in the environment stays the client's GOROOT string;
 *  - every path argument (inputs, outputs, include dirs, sources) is
 *    rewritten to its S form; relative paths stay relative (they resolve
 *    under S+cwd).
 */
#include <stddef.h>

struct err;
struct goargs;

/* S+path for an absolute path, a copy of path otherwise. Caller frees. */
char *relocate_path(const char *sandbox, const char *path);

/*
 * Builds the relocated -trimpath value. orig may be NULL (no -trimpath).
 * topdirs lists the distinct first components ("tmp", "usr", "home") of all
 * paths in the job. Caller frees the result.
 */
char *relocate_trimpath(const char *orig, const char *sandbox, const char *goroot,
			const char *const *topdirs, size_t ntopdirs);

/*
 * Rewrites ga in place for the sandbox: path-valued items get their S form
 * and the -trimpath item the relocated rule list (one is appended when
 * missing). topdirs as above.
 */
int relocate_goargs(struct goargs *ga, const char *sandbox, const char *goroot,
		    const char *const *topdirs, size_t ntopdirs, struct err *e);

/*
 * Removes the sandbox prefix from tool output in place: every occurrence of
 * sandbox immediately followed by '/' loses the sandbox part. Returns the new
 * length. Used on stdout and stderr so diagnostics match a local run.
 */
size_t relocate_strip(char *data, size_t len, const char *sandbox);

#endif
