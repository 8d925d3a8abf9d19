#include "jobargs.h"

#include <stdlib.h>
#include <string.h>

#include "blobs.h"
#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "goargs.h"
#include "manifest.h"

#include "banned.h"

void jobargs_release(struct jobargs *ja)
{
	goargs_free(ja->ga);
	free(ja->importcfg);
	free(ja->embedcfg);
	gocfg_paths_release(&ja->outs);
	gocfg_paths_release(&ja->outs_abs);
	gocfg_paths_release(&ja->topdirs);
	memset(ja, 0, sizeof(*ja));
}

static void paths_add(struct gocfg_paths *l, char *owned)
{
	l->paths = xrealloc(l->paths, (l->n + 1) * sizeof(*l->paths));
	l->paths[l->n++] = owned;
}

/* Adds the first component of an absolute path, once. */
static void topdirs_add(struct gocfg_paths *l, const char *abs)
{
	const char *c = abs + 1, *end = strchr(c, '/');
	size_t len = end ? (size_t)(end - c) : strlen(c);

	if (len == 0)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->paths[i]) == len && memcmp(l->paths[i], c, len) == 0)
			return;
	paths_add(l, xstrndup(c, len));
}

static int has_dotdot(const char *p)
{
	for (const char *c = p; c; c = strchr(c, '/')) {
		if (*c == '/')
			c++;
		if (c[0] == '.' && c[1] == '.' && (c[2] == '/' || c[2] == '\0'))
			return 1;
	}
	return 0;
}

/* Appends the components of p to b, skipping empty and "." ones. */
static void clean_append(struct buf *b, const char *p)
{
	while (*p) {
		const char *end = strchr(p, '/');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > 0 && !(len == 1 && p[0] == '.')) {
			buf_addch(b, '/');
			buf_add(b, p, len);
		}
		p += len;
		if (*p == '/')
			p++;
	}
}

char *jobargs_abs_path(const char *cwd, const char *path)
{
	struct buf b;

	buf_init(&b);
	if (path[0] != '/')
		clean_append(&b, cwd);
	clean_append(&b, path);
	if (b.len == 0)
		buf_addch(&b, '/');
	return buf_detach(&b, NULL);
}

static int is_path_kind(enum goargs_kind k)
{
	return k == GA_IN_FILE || k == GA_OUT_FILE || k == GA_IN_DIR || k == GA_IMPORTCFG ||
	       k == GA_EMBEDCFG || k == GA_SOURCE;
}

static int is_input_kind(enum goargs_kind k)
{
	return k == GA_IN_FILE || k == GA_IMPORTCFG || k == GA_EMBEDCFG || k == GA_SOURCE;
}

static const char *item_name(const struct goargs_item *it)
{
	return it->flag ? it->flag : "source";
}

/* Remembers the one -importcfg or -embedcfg file. */
static int jobargs_set_cfg(char **slot, const struct goargs_item *it, const char *abs,
			   struct err *e)
{
	if (*slot)
		return err_set(e, "args: %s given twice", it->flag);
	*slot = xstrdup(abs);
	return 0;
}

static int jobargs_output(struct jobargs *ja, const struct manifest *m,
			  const struct goargs_item *it, const char *abs, struct err *e)
{
	char *dir;
	int conflict;

	/* "/" (also "/.", or "." in cwd "/") names no file: relocated, it is
	 * the job's own directory. */
	if (!fs_path_is_clean_abs(abs))
		return err_set(e, "args: %s %s: not a file's path", it->flag, it->value);
	dir = xstrndup(abs, (size_t)(strrchr(abs, '/') - abs));
	conflict = dir[0] && manifest_dir_conflicts(m, dir);
	free(dir);
	if (conflict)
		return err_set(e, "args: %s %s: its directory is a file of the job", it->flag,
			       it->value);
	paths_add(&ja->outs, xstrdup(it->value));
	paths_add(&ja->outs_abs, xstrdup(abs));
	return 0;
}

/* Checks one path-valued argument, whose clean absolute form is abs. */
static int jobargs_locate(struct jobargs *ja, const struct manifest *m,
			  const struct goargs_item *it, const char *abs, struct err *e)
{
	if (it->value[0] == '/')
		topdirs_add(&ja->topdirs, it->value);
	if (is_input_kind(it->kind) && !manifest_find(m, abs))
		return err_set(e, "args: %s %s: not among the job's files", item_name(it),
			       it->value);
	if (it->kind == GA_IMPORTCFG)
		return jobargs_set_cfg(&ja->importcfg, it, abs, e);
	if (it->kind == GA_EMBEDCFG)
		return jobargs_set_cfg(&ja->embedcfg, it, abs, e);
	if (it->kind == GA_OUT_FILE)
		return jobargs_output(ja, m, it, abs, e);
	return 0;
}

static int jobargs_item(struct jobargs *ja, const struct manifest *m, const struct goargs_item *it,
			struct err *e)
{
	char *abs;
	int r;

	if (!is_path_kind(it->kind) || !it->value)
		return 0;
	if (it->value[0] == '\0')
		return err_set(e, "args: %s: empty path", item_name(it));
	if (has_dotdot(it->value))
		return err_set(e, "args: %s %s: \"..\" is not allowed in paths", item_name(it),
			       it->value);
	abs = jobargs_abs_path(m->cwd, it->value);
	r = jobargs_locate(ja, m, it, abs, e);
	free(abs);
	return r;
}

static int jobargs_parse(struct jobargs *ja, const struct manifest *m, struct err *e)
{
	for (size_t i = 0; i < m->nargs; i++)
		if (m->args[i][0] == '@')
			return err_set(e,
				       "args[%zu]: \"%s\": response files must be expanded by "
				       "the client",
				       i, m->args[i]);
	/* No cwd: the daemon must never read a response file a client named. */
	if (goargs_parse(m->tool, m->nargs, (const char *const *)m->args, NULL, &ja->ga, e) < 0)
		return -1;
	if (ja->ga->local_reason)
		return err_set(e, "args: the job must run on the client: %s", ja->ga->local_reason);
	return 0;
}

/* Every file an importcfg or embedcfg names must travel with the job. */
static int jobargs_check_cfg(const char *path, int embed, const struct manifest *m,
			     const struct blobs *blobs, struct err *e)
{
	const struct blob *b = blobs_find(blobs, manifest_find(m, path)->blob);
	struct gocfg_paths named = {0};
	int r = -1;

	/* A local job's file without text is linked, never read: the daemon
	 * must see (and rewrite) a config, so its text must travel. */
	if (!b)
		return err_set(e, "%s: the %s must be sent with its text", path,
			       embed ? "-embedcfg" : "-importcfg");
	if ((embed ? gocfg_embedcfg_files : gocfg_importcfg_files)(b->data, b->len, &named, e) < 0)
		goto out;
	for (size_t i = 0; i < named.n; i++) {
		char *abs;
		int found;

		if (has_dotdot(named.paths[i])) {
			err_set(e, "%s: %s: \"..\" is not allowed in paths", path, named.paths[i]);
			goto out;
		}
		abs = jobargs_abs_path(m->cwd, named.paths[i]);
		found = manifest_find(m, abs) != NULL;
		free(abs);
		if (!found) {
			err_set(e, "%s names %s, which is not among the job's files", path,
				named.paths[i]);
			goto out;
		}
	}
	r = 0;
out:
	gocfg_paths_release(&named);
	return r;
}

/* Text that goes into -trimpath rules, where ';' and "=>" are syntax. */
static int jobargs_check_rule_text(const struct jobargs *ja, const struct manifest *m,
				   struct err *e)
{
	for (size_t i = 0; i < ja->topdirs.n; i++) {
		const char *t = ja->topdirs.paths[i];

		if (strchr(t, ';') || strstr(t, "=>"))
			return err_set(e,
				       "path component \"%s\": ';' and \"=>\" cannot be "
				       "relocated",
				       t);
	}
	if (m->goroot && (strchr(m->goroot, ';') || strstr(m->goroot, "=>")))
		return err_set(e, "env.GOROOT: ';' and \"=>\" cannot be relocated");
	return 0;
}

int jobargs_check(struct jobargs *ja, const struct manifest *m, const struct blobs *blobs,
		  struct err *e)
{
	if (jobargs_parse(ja, m, e) < 0)
		return -1;
	topdirs_add(&ja->topdirs, m->cwd);
	for (size_t i = 0; i < m->nfiles; i++)
		topdirs_add(&ja->topdirs, m->files[i].path);
	for (size_t i = 0; i < ja->ga->n; i++)
		if (jobargs_item(ja, m, &ja->ga->items[i], e) < 0)
			return -1;
	if (jobargs_check_rule_text(ja, m, e) < 0)
		return -1;
	if (ja->importcfg && jobargs_check_cfg(ja->importcfg, 0, m, blobs, e) < 0)
		return -1;
	if (ja->embedcfg && jobargs_check_cfg(ja->embedcfg, 1, m, blobs, e) < 0)
		return -1;
	return 0;
}
