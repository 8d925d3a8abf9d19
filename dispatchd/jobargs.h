#ifndef DISPATCHD_JOBARGS_H
#define DISPATCHD_JOBARGS_H
/*
 * A job's tool arguments, checked against its manifest before anything
 * runs: parsed with the goargs model, refused when the shim should have
 * kept the job local, and with every path-valued argument located. The
 * daemon trusts none of it: it refuses response files (the client expands
 * them; the tool would read them from the daemon's disk), ".." in paths,
 * inputs that the job does not carry and outputs whose directory could
 * not be created.
 */
#include "gocfg.h"

struct blobs;
struct err;
struct goargs;
struct manifest;

struct jobargs {
	struct goargs *ga;
	char *importcfg;	     /* client absolute path of -importcfg, or NULL */
	char *embedcfg;		     /* client absolute path of -embedcfg, or NULL */
	struct gocfg_paths outs;     /* output values as written in args */
	struct gocfg_paths outs_abs; /* the same, clean absolute */
	struct gocfg_paths topdirs;  /* distinct first components of all paths */
};

/*
 * Fills ja (zeroed by the caller) from m's args. The importcfg and
 * embedcfg must name only files of the job; their contents come from
 * blobs, which must hold the blob of every file of m (checked before).
 * A file with no blob (a local job's linked file) cannot be one of them.
 * On failure the message names the argument; release ja anyway.
 */
int jobargs_check(struct jobargs *ja, const struct manifest *m, const struct blobs *blobs,
		  struct err *e);
void jobargs_release(struct jobargs *ja);

/* The clean absolute form of path, taken relative to cwd when it is not
 * absolute. path must not contain "..". Caller frees. */
char *jobargs_abs_path(const char *cwd, const char *path);

#endif
