#include "gocfg.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"

#include "banned.h"

int gocfg_paths_contains(const struct gocfg_paths *p, const char *path)
{
	for (size_t i = 0; p && i < p->n; i++)
		if (strcmp(p->paths[i], path) == 0)
			return 1;
	return 0;
}

void gocfg_paths_release(struct gocfg_paths *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->paths[i]);
	free(p->paths);
	p->paths = NULL;
	p->n = 0;
}

static void paths_add(struct gocfg_paths *p, const char *s, size_t len)
{
	p->paths = xrealloc(p->paths, (p->n + 1) * sizeof(*p->paths));
	p->paths[p->n++] = xstrndup(s, len);
}

/* ---- importcfg (cmd/compile/internal/base/flag.go readImportCfg) ---- */

enum cfg_kind {
	CFG_SKIP,	 /* blank or comment */
	CFG_PACKAGEFILE, /* "packagefile path=file" */
	CFG_IMPORTMAP,	 /* "importmap old=new" */
	CFG_BAD,	 /* a known directive with bad syntax */
	CFG_UNKNOWN,	 /* another directive (compile rejects it, link has more) */
};

/* One line, as compile reads it. The file part is an offset into the raw
 * line, so that a rewrite can keep every other byte. */
struct cfg_line {
	enum cfg_kind kind;
	size_t name_off, name_len; /* the part before '=' */
	size_t file_off, file_len;
};

static int cfg_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/* strings.TrimSpace on [*start, *end). */
static void cfg_trim(const char *s, size_t *start, size_t *end)
{
	while (*start < *end && cfg_space(s[*start]))
		(*start)++;
	while (*end > *start && cfg_space(s[*end - 1]))
		(*end)--;
}

/* Go's TrimSpace also removes Unicode spaces, which the go command never
 * writes: rather than guess, a non-ASCII byte where trimming happened is
 * treated as bad syntax. */
static int cfg_edges_ascii(const char *s, size_t start, size_t end)
{
	return start == end || ((unsigned char)s[start] < 0x80 && (unsigned char)s[end - 1] < 0x80);
}

static enum cfg_kind cfg_verb(const char *s, size_t len)
{
	if (len == 11 && memcmp(s, "packagefile", 11) == 0)
		return CFG_PACKAGEFILE;
	if (len == 9 && memcmp(s, "importmap", 9) == 0)
		return CFG_IMPORTMAP;
	return CFG_UNKNOWN;
}

/* Where compile's parse puts the file part of "verb args": the arguments
 * are trimmed and cut at the first '='; both sides must be non-empty. */
static enum cfg_kind cfg_parse_args(const char *s, size_t args, size_t end, struct cfg_line *ret)
{
	size_t eq;

	cfg_trim(s, &args, &end);
	if (!cfg_edges_ascii(s, args, end))
		return CFG_BAD;
	for (eq = args; eq < end && s[eq] != '='; eq++)
		;
	if (eq == end || eq == args || eq + 1 == end)
		return CFG_BAD;
	ret->name_off = args;
	ret->name_len = eq - args;
	ret->file_off = eq + 1;
	ret->file_len = end - eq - 1;
	return ret->kind;
}

/* compile trims the line, skips comments and cuts it at the first ' ' into
 * verb and arguments. */
static void cfg_parse_line(const char *s, size_t len, struct cfg_line *ret)
{
	size_t start = 0, end = len, verb_end;

	ret->name_off = ret->name_len = ret->file_off = ret->file_len = 0;
	cfg_trim(s, &start, &end);
	ret->kind = CFG_SKIP;
	if (start == end || s[start] == '#')
		return;
	ret->kind = CFG_BAD;
	if (!cfg_edges_ascii(s, start, end))
		return;
	for (verb_end = start; verb_end < end && s[verb_end] != ' '; verb_end++)
		;
	ret->kind = cfg_verb(s + start, verb_end - start);
	if (ret->kind != CFG_UNKNOWN)
		ret->kind = cfg_parse_args(s, verb_end < end ? verb_end + 1 : end, end, ret);
}

/* Next line of text from *off: [*ret_line, +*ret_len) without its '\n';
 * *off moves past the '\n'. Returns 0 at the end. */
static int cfg_next_line(const char *text, size_t len, size_t *off, const char **ret_line,
			 size_t *ret_len)
{
	const char *nl;

	if (*off >= len)
		return 0;
	nl = memchr(text + *off, '\n', len - *off);
	*ret_line = text + *off;
	*ret_len = nl ? (size_t)(nl - text) - *off : len - *off;
	*off += *ret_len + (nl != NULL);
	return 1;
}

static int cfg_line_error(size_t lineno, const char *line, size_t len, enum cfg_kind kind,
			  struct err *e)
{
	return err_set(e, "importcfg:%zu: %s: \"%.*s\"", lineno,
		       kind == CFG_BAD ? "invalid directive syntax" : "unknown directive",
		       (int)(len > 120 ? 120 : len), line);
}

/* The file (or, with names, the package path) of each packagefile line. */
static int cfg_packagefiles(const char *text, size_t len, int names, struct gocfg_paths *ret,
			    struct err *e)
{
	struct gocfg_paths p = {0, NULL};
	size_t off = 0, lineno = 0, n;
	const char *line;
	int r = 0;

	while (cfg_next_line(text, len, &off, &line, &n)) {
		struct cfg_line cl;
		lineno++;
		cfg_parse_line(line, n, &cl);
		if (cl.kind == CFG_BAD || cl.kind == CFG_UNKNOWN) {
			r = cfg_line_error(lineno, line, n, cl.kind, e);
			goto out;
		}
		if (cl.kind == CFG_PACKAGEFILE)
			paths_add(&p, line + (names ? cl.name_off : cl.file_off),
				  names ? cl.name_len : cl.file_len);
	}
	*ret = p;
	p.paths = NULL; /* caller owns them now */
	p.n = 0;
out:
	gocfg_paths_release(&p);
	return r;
}

int gocfg_importcfg_files(const char *text, size_t len, struct gocfg_paths *ret, struct err *e)
{
	return cfg_packagefiles(text, len, 0, ret, e);
}

int gocfg_importcfg_packages(const char *text, size_t len, struct gocfg_paths *ret, struct err *e)
{
	return cfg_packagefiles(text, len, 1, ret, e);
}

int gocfg_importcfg_rewrite(const char *text, size_t len, const char *prefix, struct buf *out,
			    struct err *e)
{
	struct buf b;
	size_t off = 0, lineno = 0, n;
	const char *line;
	int r = 0;

	buf_init(&b);
	while (cfg_next_line(text, len, &off, &line, &n)) {
		struct cfg_line cl;
		lineno++;
		cfg_parse_line(line, n, &cl);
		if (cl.kind == CFG_BAD) {
			r = cfg_line_error(lineno, line, n, cl.kind, e);
			goto out;
		}
		if (cl.kind == CFG_PACKAGEFILE && line[cl.file_off] == '/') {
			buf_add(&b, line, cl.file_off);
			buf_adds(&b, prefix);
			buf_add(&b, line + cl.file_off, off - (size_t)(line - text) - cl.file_off);
		} else {
			buf_add(&b, line, off - (size_t)(line - text));
		}
	}
	buf_add(out, b.data, b.len);
out:
	buf_release(&b);
	return r;
}

/* ---- embedcfg (cmd/compile/internal/base/flag.go readEmbedCfg) ---- */

/*
 * encoding/json matches struct fields case-insensitively (with Unicode
 * folding) and merges repeated keys, so a key such as "files" would add
 * files unseen here. Only the two exact keys the go command writes are
 * accepted; anything else fails and the job runs locally.
 */
static int embed_check_keys(json_t *root, struct err *e)
{
	const char *key;
	json_t *v;

	if (!json_is_object(root))
		return err_set(e, "embedcfg: not a JSON object");
	json_object_foreach(root, key, v) {
		if (strcmp(key, "Patterns") != 0 && strcmp(key, "Files") != 0)
			return err_set(e, "embedcfg: unexpected key \"%s\"", key);
	}
	return 0;
}

static int embed_check_strings(json_t *arr, const char *pattern, struct err *e)
{
	size_t i;
	json_t *v;

	if (json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return err_set(e, "embedcfg: Patterns[\"%s\"]: not an array", pattern);
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			return err_set(e, "embedcfg: Patterns[\"%s\"]: not a string list", pattern);
	}
	return 0;
}

/* The shape compile's json.Unmarshal accepts, with both maps present. */
static int embed_check(json_t *root, struct err *e)
{
	json_t *pats, *files, *v;
	const char *key;

	if (embed_check_keys(root, e) < 0)
		return -1;
	pats = json_object_get(root, "Patterns");
	files = json_object_get(root, "Files");
	if (!json_is_object(pats))
		return err_set(e, "embedcfg: missing Patterns");
	if (!json_is_object(files))
		return err_set(e, "embedcfg: missing Files");
	json_object_foreach(pats, key, v) {
		if (embed_check_strings(v, key, e) < 0)
			return -1;
	}
	json_object_foreach(files, key, v) {
		if (!json_is_string(v))
			return err_set(e, "embedcfg: Files[\"%s\"]: not a string", key);
	}
	return 0;
}

/* Parses and validates; the caller owns *ret. Duplicate keys are refused
 * because Go and jansson would resolve them differently. */
static int embed_load(const char *text, size_t len, json_t **ret, struct err *e)
{
	json_error_t je;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);

	if (!root)
		return err_set(e, "embedcfg:%d:%d: %s", je.line, je.column, je.text);
	if (embed_check(root, e) < 0) {
		json_decref(root);
		return -1;
	}
	*ret = root;
	return 0;
}

int gocfg_embedcfg_files(const char *text, size_t len, struct gocfg_paths *ret, struct err *e)
{
	struct gocfg_paths p = {0, NULL};
	json_t *root = NULL, *files, *v;
	const char *key;

	if (embed_load(text, len, &root, e) < 0)
		return -1;
	files = json_object_get(root, "Files");
	json_object_foreach(files, key, v) {
		paths_add(&p, json_string_value(v), json_string_length(v));
	}
	*ret = p;
	json_decref(root);
	return 0;
}

int gocfg_embedcfg_rewrite(const char *text, size_t len, const char *prefix, struct buf *out,
			   struct err *e)
{
	json_t *root = NULL, *files, *v;
	const char *key;
	char *dumped = NULL;
	int r = -1;

	if (embed_load(text, len, &root, e) < 0)
		goto out;
	files = json_object_get(root, "Files");
	json_object_foreach(files, key, v) {
		const char *path = json_string_value(v);
		char *moved;
		if (path[0] != '/')
			continue;
		moved = xasprintf("%s%s", prefix, path);
		r = json_string_set(v, moved);
		free(moved);
		if (r < 0) {
			err_set(e, "embedcfg: Files[\"%s\"]: prefix %s is not UTF-8", key, prefix);
			goto out;
		}
	}
	r = -1;
	dumped = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!dumped) {
		r = err_set(e, "embedcfg: cannot encode the rewritten file");
		goto out;
	}
	buf_adds(out, dumped);
	buf_addch(out, '\n');
	r = 0;
out:
	free(dumped);
	json_decref(root);
	return r;
}
