#ifndef DISPATCHD_MANIFEST_H
#define DISPATCHD_MANIFEST_H
/*
 * The manifest of POST /v1/job (PROTOCOL, "POST /v1/job"), parsed and
 * validated, and its local form: the request of the local socket (PROTOCOL,
 * "Local socket"), which names the tool by path and carries the text of
 * some files instead of blobs. The manifest comes from a peer: every field
 * is type-checked and capped (protocol.h) before it is used, and a manifest
 * that passes manifest_parse() or manifest_parse_local() satisfies the
 * invariants listed below.
 */
#include <stddef.h>

#include "goargs.h"
#include "hash.h"

struct err;

struct manifest_file {
	char *path; /* clean absolute (fs_path_is_clean_abs), unique */
	/* HTTP: the blob named in the manifest. Local: empty until the job
	 * hashes text; stays empty for a linked file. */
	char blob[HASH_HEX_LEN + 1];
	char *text; /* local only: the content to stage, or NULL */
	size_t text_len;
	int link; /* local only: staged as a symbolic link to path (no text) */
};

struct manifest {
	enum goargs_tool tool;
	/* HTTP: from the manifest. Local: empty; the job fills it in once it
	 * has imported tool_path into the store. */
	char toolchain[HASH_HEX_LEN + 1];
	char *tool_path; /* local only: clean absolute; NULL for HTTP */
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
	int compress; /* always 0 for a local manifest */
	int client_may_run; /* the client would run the job itself rather than
			     * wait long in a dispatcher's queue; 0 for local */
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
/*
 * Parses the request of the local socket with the same checks, except that
 * "tool_path" (a clean absolute path) replaces "toolchain", and each file
 * has an optional string "text" instead of "blob" (a file with "blob" is
 * refused: the client mixed up the protocols). "compress" is ignored.
 */
int manifest_parse_local(const char *text, size_t len, struct manifest **ret, struct err *e);
void manifest_free(struct manifest *m);

/* The file staged at path (clean absolute), or NULL. Borrowed from m. */
const struct manifest_file *manifest_find(const struct manifest *m, const char *path);
/* Whether dir (clean absolute) or one of its ancestors is a file of m, so
 * that the directory could not be created in the sandbox. */
int manifest_dir_conflicts(const struct manifest *m, const char *dir);

#endif
