#ifndef GODISTCC_GOCFG_H
#define GODISTCC_GOCFG_H
/*
 * The configuration files the go command hands to compile: -importcfg (text:
 * "packagefile path=file", "importmap old=new", comments) and -embedcfg (JSON:
 * {"Patterns": {...}, "Files": {"name": "/abs/file"}}). Both name input files
 * by path. The shim lists those paths to ship them; the daemon rewrites them
 * into the sandbox.
 */
#include <stddef.h>

struct err;
struct buf;

/* A list of paths; each string and the array are owned by the list. */
struct gocfg_paths {
	size_t n;
	char **paths;
};
void gocfg_paths_release(struct gocfg_paths *p);
/* Whether path is one of p's (p may be NULL). */
int gocfg_paths_contains(const struct gocfg_paths *p, const char *path);

/* The files an importcfg names in its packagefile lines, in order.
 * Syntax errors fail as compile's own parser would. */
int gocfg_importcfg_files(const char *text, size_t len, struct gocfg_paths *ret, struct err *e);
/* The package paths of those lines, in the same order (what the job imports). */
int gocfg_importcfg_packages(const char *text, size_t len, struct gocfg_paths *ret, struct err *e);
/* The files an embedcfg's "Files" object names (values, in document order). */
int gocfg_embedcfg_files(const char *text, size_t len, struct gocfg_paths *ret, struct err *e);

/* Rewrite every named absolute path P to prefix+P (relative paths unchanged);
 * everything else in the file keeps its meaning. Output appended to out. */
int gocfg_importcfg_rewrite(const char *text, size_t len, const char *prefix, struct buf *out,
			    struct err *e);
int gocfg_embedcfg_rewrite(const char *text, size_t len, const char *prefix, struct buf *out,
			   struct err *e);

#endif
