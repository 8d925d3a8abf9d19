#ifndef DISPATCHD_MANIFEST_H
#define DISPATCHD_MANIFEST_H
/*
 * The manifest of POST /v1/job (PROTOCOL, "POST /v1/job"), parsed and
 * validated. The manifest comes from the network: every field is
 * type-checked and capped (protocol.h) before it is used, and a manifest
 * that passes manifest_parse() satisfies the invariants listed below.
 */
#include <stddef.h>

#include "goargs.h"
#include "hash.h"

struct err;

struct manifest_file {
	char *path; /* clean absolute (fs_path_is_clean_abs), unique */
	char blob[HASH_HEX_LEN + 1];
};

struct manifest {
	enum goargs_tool tool;
	char toolchain[HASH_HEX_LEN + 1];
	size_t nargs;
	char **args; /* NULL-terminated; each at most PATH_MAX_BYTES, no NUL */
	char *cwd;   /* clean absolute */
	size_t nenv;
	char **env;	    /* "NAME=value", NULL-terminated; only protocol_env_allowed()
			     * names, the others dropped */
	const char *goroot; /* value of GOROOT in env, or NULL; points into env */
	size_t nfiles;
	struct manifest_file *files; /* sorted by path */
	int merge_output;
	int compress;
};

/*
 * Parses manifest.json. Fails with a message naming the field when the JSON
 * is malformed, a field has the wrong type, passes a cap (MANIFEST_MAX_*,
 * PATH_MAX_BYTES), protocol is not PROTOCOL_VERSION, tool is not "compile"
 * or "asm", a hash is invalid, a path is not clean and absolute, two files
 * share a path, or a file sits below another file (the sandbox could not
 * hold both). Unknown fields are ignored. The caller owns *ret.
 */
int manifest_parse(const char *text, size_t len, struct manifest **ret, struct err *e);
void manifest_free(struct manifest *m);

/* The file staged at path (clean absolute), or NULL. Borrowed from m. */
const struct manifest_file *manifest_find(const struct manifest *m, const char *path);
/* Whether dir (clean absolute) or one of its ancestors is a file of m, so
 * that the directory could not be created in the sandbox. */
int manifest_dir_conflicts(const struct manifest *m, const char *dir);

#endif
