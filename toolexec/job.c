#include "job.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "asminc.h"
#include "fsutil.h"
#include "gocfg.h"
#include "protocol.h"

#include "banned.h"

/* Marks the job local-only (the first reason wins) and fails. */
int job_local(struct job *j, const char *fmt, ...)
{
	va_list ap;

	if (!j->local_reason) {
		va_start(ap, fmt);
		vsnprintf(j->local_buf, sizeof(j->local_buf), fmt, ap);
		va_end(ap);
		j->local_reason = j->local_buf;
	}
	return -1;
}

/* path made absolute against cwd; NULL (job marked local) if not clean. */
static char *job_resolve(struct job *j, const char *path)
{
	char *abs = path[0] == '/' ? xstrdup(path) : xasprintf("%s/%s", j->cwd, path);

	if (!fs_path_is_clean_abs(abs)) {
		job_local(j, "path %s is not absolute and clean", abs);
		free(abs);
		return NULL;
	}
	return abs;
}

static int job_same_file(int fd1, int fd2)
{
	struct stat a, b;

	return fstat(fd1, &a) == 0 && fstat(fd2, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

static int job_find_outputs(struct job *j)
{
	const struct goargs *ga = j->ga;

	j->outputs = xcalloc(ga->n + 1, sizeof(*j->outputs));
	for (size_t i = 0; i < ga->n; i++) {
		const struct goargs_item *it = &ga->items[i];
		char *abs;

		if (it->kind != GA_OUT_FILE)
			continue;
		if (!it->value)
			return job_local(j, "flag %s has no value", it->flag);
		if (!(abs = job_resolve(j, it->value)))
			return -1;
		j->outputs[j->noutputs++] = (struct answer_expect){abs, it->value};
	}
	return 0;
}

struct job *job_new(enum goargs_tool tool, char *const *tool_argv, const char *cwd)
{
	struct job *j = xcalloc(1, sizeof(*j));

	j->tool = tool;
	j->tool_argv = tool_argv;
	while (tool_argv[j->nargs + 1])
		j->nargs++;
	j->cwd = xstrdup(cwd);
	j->merge_output = job_same_file(1, 2);
	return j;
}

int job_parse(struct job *j)
{
	const char *const *args = (const char *const *)j->tool_argv + 1;
	struct err pe = {0};

	if (goargs_parse(j->tool, j->nargs, args, j->cwd, &j->ga, &pe) < 0)
		return job_local(j, "cannot model the arguments: %s", err_msg(&pe));
	if (j->ga->local_reason)
		return job_local(j, "%s", j->ga->local_reason);
	return job_find_outputs(j);
}

void job_free(struct job *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->nfiles; i++) {
		free(j->files[i].path);
		buf_release(&j->files[i].data);
	}
	free(j->files);
	for (size_t i = 0; i < j->noutputs; i++)
		free(j->outputs[i].path);
	free(j->outputs);
	goargs_free(j->ga);
	free(j->cwd);
	free(j);
}

/* Adds an input; data (may be NULL) is the whole file, already read, and
 * is taken over. */
static int job_add_file(struct job *j, const char *path, int archive, struct buf *data)
{
	struct job_file *f;
	char *abs = job_resolve(j, path);

	if (!abs)
		return -1;
	if (j->nfiles == j->capfiles) {
		j->capfiles = j->capfiles ? 2 * j->capfiles : 64;
		j->files = xrealloc(j->files, j->capfiles * sizeof(*j->files));
	}
	f = &j->files[j->nfiles++];
	*f = (struct job_file){.path = abs, .archive = archive};
	buf_init(&f->data);
	if (data) {
		f->data = *data;
		f->loaded = 1;
		buf_init(data);
	}
	return 0;
}

typedef int job_cfg_lister(const char *text, size_t len, struct gocfg_paths *ret, struct err *e);

/* Adds a config file (importcfg, embedcfg) and every file it names. */
static int job_add_cfg(struct job *j, const char *path, job_cfg_lister *list, int archives)
{
	struct gocfg_paths named = {0};
	struct buf text;
	struct err ce = {0};
	char *abs = job_resolve(j, path);
	int r = -1;

	buf_init(&text);
	if (!abs)
		goto out;
	if (fs_read_file(abs, MANIFEST_MAX_BYTES, &text, &ce) < 0) {
		job_local(j, "%s", err_msg(&ce));
		goto out;
	}
	if (list(text.data, text.len, &named, &ce) < 0) {
		job_local(j, "%s: %s", abs, err_msg(&ce));
		goto out;
	}
	for (size_t i = 0; i < named.n; i++)
		if (job_add_file(j, named.paths[i], archives, NULL) < 0)
			goto out;
	r = job_add_file(j, abs, 0, &text);
out:
	gocfg_paths_release(&named);
	buf_release(&text);
	free(abs);
	return r;
}

static int job_add_headers(struct job *j)
{
	struct gocfg_paths hdrs = {0};
	struct err he = {0};
	int r = 0;

	if (asminc_find(j->ga, j->cwd, &hdrs, &he) < 0)
		r = job_local(j, "asm includes: %s", err_msg(&he));
	for (size_t i = 0; r == 0 && i < hdrs.n; i++)
		r = job_add_file(j, hdrs.paths[i], 0, NULL);
	gocfg_paths_release(&hdrs);
	return r;
}

static int job_add_item(struct job *j, const struct goargs_item *it)
{
	if (!it->value)
		return 0;
	switch (it->kind) {
	case GA_SOURCE:
	case GA_IN_FILE:
		return job_add_file(j, it->value, 0, NULL);
	case GA_IMPORTCFG:
		return job_add_cfg(j, it->value, gocfg_importcfg_files, 1);
	case GA_EMBEDCFG:
		return job_add_cfg(j, it->value, gocfg_embedcfg_files, 0);
	default:
		return 0;
	}
}

static int job_file_cmp_path(const void *a, const void *b)
{
	return strcmp(((const struct job_file *)a)->path, ((const struct job_file *)b)->path);
}

/* Keeps one entry per path: a loaded one if any, whole file if any asks. */
static void job_dedupe(struct job *j)
{
	size_t out = 0;

	qsort(j->files, j->nfiles, sizeof(*j->files), job_file_cmp_path);
	for (size_t i = 0; i < j->nfiles; i++) {
		struct job_file *keep = out ? &j->files[out - 1] : NULL;
		struct job_file *f = &j->files[i];

		if (!keep || strcmp(keep->path, f->path) != 0) {
			j->files[out++] = *f;
			continue;
		}
		keep->archive = keep->archive && f->archive;
		if (!keep->loaded && f->loaded) {
			buf_release(&keep->data);
			keep->data = f->data;
			keep->loaded = 1;
			buf_init(&f->data);
		}
		free(f->path);
		buf_release(&f->data);
	}
	j->nfiles = out;
}

int job_list_inputs(struct job *j)
{
	for (size_t i = 0; i < j->ga->n; i++)
		if (job_add_item(j, &j->ga->items[i]) < 0)
			return -1;
	if (j->tool == GOARGS_ASM && job_add_headers(j) < 0)
		return -1;
	job_dedupe(j);
	if (j->nfiles > MANIFEST_MAX_FILES)
		return job_local(j, "%zu inputs exceed %u", j->nfiles, MANIFEST_MAX_FILES);
	return 0;
}

/* --- JSON for requests --- */

/* A JSON array of strings; NULL if one is not valid UTF-8. */
static json_t *job_json_strings(char *const *v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++) {
		if (json_array_append_new(a, json_string(v[i])) < 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

static int job_has_response_file(const struct job *j)
{
	for (size_t i = 1; i <= j->nargs; i++)
		if (j->tool_argv[i][0] == '@')
			return 1;
	return 0;
}

/* The arguments with @response files expanded: as given when there are none
 * (cheapest and exact), else rendered from the model. */
static json_t *job_json_args(const struct job *j)
{
	char **argv;
	size_t argc;
	json_t *a;

	if (!job_has_response_file(j))
		return job_json_strings(j->tool_argv + 1, j->nargs);
	if (goargs_render(j->ga, &argv, &argc) < 0)
		return NULL;
	a = job_json_strings(argv, argc);
	goargs_free_argv(argv);
	return a;
}

/* GOROOT of a tool at GOROOT/pkg/tool/OS_ARCH/<tool>, or NULL. */
static char *job_goroot_from_tool(const char *tool)
{
	static const char *const want[] = {NULL, NULL, "tool", "pkg"};
	size_t end = strlen(tool);

	for (size_t up = 0; up < 4; up++) {
		size_t slash = end;

		while (slash > 0 && tool[slash - 1] != '/')
			slash--;
		if (slash == 0)
			return NULL;
		if (want[up] && (end - slash != strlen(want[up]) ||
				 memcmp(tool + slash, want[up], end - slash) != 0))
			return NULL;
		end = slash - 1;
	}
	return end > 0 ? xstrndup(tool, end) : xstrdup("/");
}

static json_t *job_json_env(const struct job *j)
{
	json_t *env = json_object();
	char *goroot = NULL;
	int bad = 0;

	for (size_t i = 0; protocol_env_vars[i]; i++) {
		const char *v = getenv(protocol_env_vars[i]);

		if (v)
			bad |= json_object_set_new(env, protocol_env_vars[i], json_string(v)) < 0;
	}
	if (!getenv("GOROOT") && (goroot = job_goroot_from_tool(j->tool_argv[0])))
		bad |= json_object_set_new(env, "GOROOT", json_string(goroot)) < 0;
	free(goroot);
	if (bad) {
		json_decref(env);
		return NULL;
	}
	return env;
}

static json_t *job_json_files(const struct job *j, job_file_json *file_json)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < j->nfiles; i++) {
		if (json_array_append_new(a, file_json(&j->files[i])) < 0) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

char *job_request_text(const struct job *j, job_file_json *file_json, json_t *extra)
{
	json_t *args = job_json_args(j), *env = job_json_env(j);
	json_t *files = job_json_files(j, file_json);
	json_t *m = NULL;
	char *text = NULL;

	if (args && env && files && extra) {
		/* "o" steals the references, on failure too (jansson >= 2.12). */
		m = json_pack("{s:i, s:s, s:o, s:s, s:o, s:o, s:b}", "protocol", PROTOCOL_VERSION,
			      "tool", goargs_tool_name(j->tool), "args", args, "cwd",
			      j->cwd, "env", env, "files", files, "merge_output", j->merge_output);
		args = env = files = NULL;
	}
	if (m && json_object_update(m, extra) == 0)
		text = json_dumps(m, JSON_COMPACT);
	json_decref(m);
	json_decref(args);
	json_decref(env);
	json_decref(files);
	json_decref(extra);
	return text;
}
