#include "manifest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "protocol.h"

#include "banned.h"

void manifest_free(struct manifest *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nargs; i++)
		free(m->args[i]);
	free(m->args);
	for (size_t i = 0; i < m->nenv; i++)
		free(m->env[i]);
	free(m->env);
	for (size_t i = 0; i < m->nfiles; i++) {
		free(m->files[i].path);
		free(m->files[i].text);
	}
	free(m->files);
	free(m->cwd);
	free(m->tool_path);
	free(m);
}

/* A string of at most PATH_MAX_BYTES without NUL bytes, borrowed from v. */
static int json_text(const json_t *v, const char *what, const char **ret, struct err *e)
{
	size_t len;

	if (!json_is_string(v))
		return err_set(e, "manifest: %s: not a string", what);
	len = json_string_length(v);
	if (len > PATH_MAX_BYTES)
		return err_set(e, "manifest: %s: longer than PATH_MAX_BYTES (%u)", what,
			       PATH_MAX_BYTES);
	if (strlen(json_string_value(v)) != len)
		return err_set(e, "manifest: %s: contains a NUL byte", what);
	*ret = json_string_value(v);
	return 0;
}

static int json_bool_field(const json_t *root, const char *key, int *ret, struct err *e)
{
	const json_t *v = json_object_get(root, key);

	if (!v) {
		*ret = 0;
		return 0;
	}
	if (!json_is_boolean(v))
		return err_set(e, "manifest: %s: not a boolean", key);
	*ret = json_is_true(v);
	return 0;
}

static int manifest_parse_protocol(const json_t *root, struct err *e)
{
	const json_t *v = json_object_get(root, "protocol");

	if (!json_is_integer(v))
		return err_set(e, "manifest: protocol: missing or not an integer");
	if (json_integer_value(v) != PROTOCOL_VERSION)
		return err_set(e, "manifest: protocol: %lld, this daemon speaks %d",
			       (long long)json_integer_value(v), PROTOCOL_VERSION);
	return 0;
}

static int manifest_parse_toolchain(const json_t *root, struct manifest *m, struct err *e)
{
	const char *tc;

	if (json_text(json_object_get(root, "toolchain"), "toolchain", &tc, e) < 0)
		return -1;
	if (!hash_is_valid(tc))
		return err_set(e, "manifest: toolchain: not a SHA-256 in lower-case hex");
	memcpy(m->toolchain, tc, HASH_HEX_LEN + 1);
	return 0;
}

static int manifest_parse_tool_path(const json_t *root, struct manifest *m, struct err *e)
{
	const char *path;

	if (json_text(json_object_get(root, "tool_path"), "tool_path", &path, e) < 0)
		return -1;
	if (!fs_path_is_clean_abs(path))
		return err_set(e, "manifest: tool_path: \"%s\" is not a clean absolute path", path);
	m->tool_path = xstrdup(path);
	return 0;
}

static int manifest_parse_tool(const json_t *root, struct manifest *m, int local, struct err *e)
{
	const char *tool;

	if (json_text(json_object_get(root, "tool"), "tool", &tool, e) < 0)
		return -1;
	if (strcmp(tool, "compile") == 0)
		m->tool = GOARGS_COMPILE;
	else if (strcmp(tool, "asm") == 0)
		m->tool = GOARGS_ASM;
	else
		return err_set(e, "manifest: tool: \"%s\" is neither \"compile\" nor \"asm\"",
			       tool);
	return local ? manifest_parse_tool_path(root, m, e) : manifest_parse_toolchain(root, m, e);
}

static int manifest_parse_args(const json_t *root, struct manifest *m, struct err *e)
{
	const json_t *arr = json_object_get(root, "args");
	size_t n;

	if (!json_is_array(arr))
		return err_set(e, "manifest: args: missing or not an array");
	n = json_array_size(arr);
	if (n > MANIFEST_MAX_ARGS)
		return err_set(e, "manifest: args: more than MANIFEST_MAX_ARGS (%u)",
			       MANIFEST_MAX_ARGS);
	m->args = xcalloc(n + 1, sizeof(*m->args));
	for (size_t i = 0; i < n; i++) {
		char what[32];
		const char *s;

		snprintf(what, sizeof(what), "args[%zu]", i);
		if (json_text(json_array_get(arr, i), what, &s, e) < 0)
			return -1;
		m->args[m->nargs++] = xstrdup(s);
	}
	return 0;
}

static int manifest_parse_cwd(const json_t *root, struct manifest *m, struct err *e)
{
	const char *cwd;

	if (json_text(json_object_get(root, "cwd"), "cwd", &cwd, e) < 0)
		return -1;
	if (!fs_path_is_clean_abs(cwd))
		return err_set(e, "manifest: cwd: \"%s\" is not a clean absolute path", cwd);
	m->cwd = xstrdup(cwd);
	return 0;
}

static int manifest_parse_env(const json_t *root, struct manifest *m, struct err *e)
{
	json_t *obj = json_object_get(root, "env");

	if (!obj) {
		m->env = xcalloc(1, sizeof(*m->env));
		return 0;
	}
	if (!json_is_object(obj))
		return err_set(e, "manifest: env: not an object");
	if (json_object_size(obj) > MANIFEST_MAX_ENV)
		return err_set(e, "manifest: env: more than MANIFEST_MAX_ENV (%u) variables",
			       MANIFEST_MAX_ENV);
	m->env = xcalloc(json_object_size(obj) + 1, sizeof(*m->env));
	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
		const char *name = json_object_iter_key(it), *val;
		char what[64];

		snprintf(what, sizeof(what), "env.%.40s", name);
		if (json_text(json_object_iter_value(it), what, &val, e) < 0)
			return -1;
		if (!protocol_env_allowed(name))
			continue;
		m->env[m->nenv] = xasprintf("%s=%s", name, val);
		if (strcmp(name, "GOROOT") == 0)
			m->goroot = m->env[m->nenv] + strlen("GOROOT=");
		m->nenv++;
	}
	return 0;
}

static int manifest_parse_blob(const json_t *v, size_t i, struct manifest_file *f, struct err *e)
{
	char what[48];
	const char *blob;

	snprintf(what, sizeof(what), "files[%zu].blob", i);
	if (json_text(json_object_get(v, "blob"), what, &blob, e) < 0)
		return -1;
	if (!hash_is_valid(blob))
		return err_set(e, "manifest: %s: not a SHA-256 in lower-case hex", what);
	memcpy(f->blob, blob, HASH_HEX_LEN + 1);
	return 0;
}

/* A local file: its text, or nothing (it is then linked). The text may be
 * as long as the request allows (MANIFEST_MAX_BYTES); jansson has already
 * refused NUL bytes, as the tools' text files hold none. */
static int manifest_parse_text(const json_t *v, size_t i, struct manifest_file *f, struct err *e)
{
	const json_t *text = json_object_get(v, "text");

	if (json_object_get(v, "blob"))
		return err_set(e,
			       "manifest: files[%zu].blob: not used on the local socket "
			       "(send \"text\", or nothing to have the file linked)",
			       i);
	if (!text) {
		f->link = 1;
		return 0;
	}
	if (!json_is_string(text))
		return err_set(e, "manifest: files[%zu].text: not a string", i);
	f->text_len = json_string_length(text);
	f->text = xstrndup(json_string_value(text), f->text_len);
	return 0;
}

static int manifest_parse_file(const json_t *v, size_t i, int local, struct manifest_file *f,
			       struct err *e)
{
	char what[48];
	const char *path;

	if (!json_is_object(v))
		return err_set(e, "manifest: files[%zu]: not an object", i);
	snprintf(what, sizeof(what), "files[%zu].path", i);
	if (json_text(json_object_get(v, "path"), what, &path, e) < 0)
		return -1;
	if (!fs_path_is_clean_abs(path))
		return err_set(e, "manifest: %s: \"%s\" is not a clean absolute path", what, path);
	if ((local ? manifest_parse_text : manifest_parse_blob)(v, i, f, e) < 0)
		return -1;
	f->path = xstrdup(path);
	return 0;
}

static int manifest_file_cmp(const void *a, const void *b)
{
	return strcmp(((const struct manifest_file *)a)->path,
		      ((const struct manifest_file *)b)->path);
}

/* The file whose path is the first len bytes of path, or NULL. */
static const struct manifest_file *manifest_find_n(const struct manifest *m, const char *path,
						   size_t len)
{
	size_t lo = 0, hi = m->nfiles;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *p = m->files[mid].path;
		size_t plen = strlen(p);
		int c = memcmp(path, p, len < plen ? len : plen);

		if (c == 0)
			c = len < plen ? -1 : len > plen;
		if (c == 0)
			return &m->files[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct manifest_file *manifest_find(const struct manifest *m, const char *path)
{
	return manifest_find_n(m, path, strlen(path));
}

/* The first ancestor of path (a proper prefix ending before a '/') that is
 * a file, or NULL. */
static const struct manifest_file *manifest_file_ancestor(const struct manifest *m,
							  const char *path)
{
	for (const char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		const struct manifest_file *f = manifest_find_n(m, path, (size_t)(p - path));

		if (f)
			return f;
	}
	return NULL;
}

int manifest_dir_conflicts(const struct manifest *m, const char *dir)
{
	return manifest_find(m, dir) || manifest_file_ancestor(m, dir);
}

/* Unique paths, and no file below another: both would make staging fail. */
static int manifest_check_layout(const struct manifest *m, struct err *e)
{
	for (size_t i = 0; i < m->nfiles; i++) {
		const struct manifest_file *f;

		if (i > 0 && strcmp(m->files[i - 1].path, m->files[i].path) == 0)
			return err_set(e, "manifest: files: \"%s\" listed twice", m->files[i].path);
		if ((f = manifest_file_ancestor(m, m->files[i].path)))
			return err_set(e, "manifest: files: \"%s\" lies below the file \"%s\"",
				       m->files[i].path, f->path);
	}
	if (manifest_dir_conflicts(m, m->cwd))
		return err_set(e, "manifest: cwd: \"%s\" is a file or lies below one", m->cwd);
	return 0;
}

static int manifest_parse_files(const json_t *root, struct manifest *m, int local, struct err *e)
{
	const json_t *arr = json_object_get(root, "files");
	size_t n;

	if (!json_is_array(arr))
		return err_set(e, "manifest: files: missing or not an array");
	n = json_array_size(arr);
	if (n > MANIFEST_MAX_FILES)
		return err_set(e, "manifest: files: more than MANIFEST_MAX_FILES (%u)",
			       MANIFEST_MAX_FILES);
	m->files = xcalloc(n ? n : 1, sizeof(*m->files));
	for (size_t i = 0; i < n; i++) {
		if (manifest_parse_file(json_array_get(arr, i), i, local, &m->files[i], e) < 0)
			return -1;
		m->nfiles++;
	}
	qsort(m->files, m->nfiles, sizeof(*m->files), manifest_file_cmp);
	return manifest_check_layout(m, e);
}

static int manifest_parse_root(const json_t *root, struct manifest *m, int local, struct err *e)
{
	if (!json_is_object(root))
		return err_set(e, "manifest: not a JSON object");
	if (manifest_parse_protocol(root, e) < 0 || manifest_parse_tool(root, m, local, e) < 0 ||
	    manifest_parse_args(root, m, e) < 0 || manifest_parse_cwd(root, m, e) < 0 ||
	    manifest_parse_env(root, m, e) < 0 || manifest_parse_files(root, m, local, e) < 0 ||
	    json_bool_field(root, "merge_output", &m->merge_output, e) < 0)
		return -1;
	if (!local && (json_bool_field(root, "compress", &m->compress, e) < 0 ||
		       json_bool_field(root, "client_may_run", &m->client_may_run, e) < 0))
		return -1;
	return 0;
}

static int manifest_parse_mode(const char *text, size_t len, int local, struct manifest **ret,
			       struct err *e)
{
	struct manifest *m = NULL;
	json_error_t jerr;
	json_t *root = NULL;
	int r = -1;

	if (len > MANIFEST_MAX_BYTES) {
		err_set(e, "manifest: larger than MANIFEST_MAX_BYTES (%u bytes)",
			MANIFEST_MAX_BYTES);
		goto out;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		err_set(e, "manifest: line %d column %d: %s", jerr.line, jerr.column, jerr.text);
		goto out;
	}
	m = xcalloc(1, sizeof(*m));
	if (manifest_parse_root(root, m, local, e) < 0)
		goto out;
	*ret = m;
	m = NULL;
	r = 0;
out:
	manifest_free(m);
	json_decref(root);
	return r;
}

int manifest_parse(const char *text, size_t len, struct manifest **ret, struct err *e)
{
	return manifest_parse_mode(text, len, 0, ret, e);
}

int manifest_parse_local(const char *text, size_t len, struct manifest **ret, struct err *e)
{
	return manifest_parse_mode(text, len, 1, ret, e);
}
