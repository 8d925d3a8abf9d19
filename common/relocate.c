#include "relocate.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "goargs.h"

#include "banned.h"

char *relocate_path(const char *sandbox, const char *path)
{
	if (path[0] != '/')
		return xstrdup(path);
	return xasprintf("%s%s", sandbox, path);
}

static void add_rule(struct buf *b, const char *prefix, size_t prefix_len, const char *repl,
		     size_t repl_len)
{
	if (b->len)
		buf_addch(b, ';');
	buf_add(b, prefix, prefix_len);
	buf_adds(b, "=>");
	buf_add(b, repl, repl_len);
}

/*
 * One original rule: objabi splits it at the last "=>" (a bare prefix means
 * "=>" with an empty replacement) and skips rules with an empty prefix, which
 * can never match. With moved set, the rule is added in its relocated form
 * (S/P=>R); otherwise as it was, for paths that were not relocated (//line
 * directives in cgo output).
 */
static void add_orig_rule(struct buf *b, const char *rule, size_t len, const char *sandbox,
			  int moved)
{
	size_t prefix_len = len, repl_len = 0;
	char *prefix, *path;

	for (size_t i = 0; i + 1 < len; i++) {
		if (rule[i] == '=' && rule[i + 1] == '>') {
			prefix_len = i;
			repl_len = len - i - 2;
		}
	}
	if (prefix_len == 0)
		return;
	prefix = xstrndup(rule, prefix_len);
	path = moved ? relocate_path(sandbox, prefix) : xstrdup(prefix);
	add_rule(b, path, strlen(path), rule + len - repl_len, repl_len);
	free(path);
	free(prefix);
}

static void add_orig_rules(struct buf *b, const char *orig, const char *sandbox, int moved)
{
	const char *s = orig ? orig : "";

	while (*s) {
		size_t len = strcspn(s, ";");
		add_orig_rule(b, s, len, sandbox, moved);
		s += len + (s[len] == ';');
	}
}

char *relocate_trimpath(const char *orig, const char *sandbox, const char *goroot,
			const char *const *topdirs, size_t ntopdirs)
{
	struct buf b;

	/*
	 * Every relocated rule comes before every original one: rules are
	 * first-match-wins, and an original prefix P may itself be a prefix of
	 * the sandbox (a module rooted at $HOME with the state directory below
	 * it), which would rewrite relocated paths by the wrong rule.
	 */
	buf_init(&b);
	add_orig_rules(&b, orig, sandbox, 1);
	/* Without this rule a relocated GOROOT path would reach the topdir rule
	 * below, and compile only writes "$GOROOT" for unrewritten paths. */
	if (goroot && goroot[0] == '/') {
		char *moved = relocate_path(sandbox, goroot);
		add_rule(&b, moved, strlen(moved), "$GOROOT", 7);
		free(moved);
	}
	for (size_t i = 0; i < ntopdirs; i++) {
		char *moved = xasprintf("%s/%s", sandbox, topdirs[i]);
		char *back = xasprintf("/%s", topdirs[i]);
		add_rule(&b, moved, strlen(moved), back, strlen(back));
		free(back);
		free(moved);
	}
	add_orig_rules(&b, orig, sandbox, 0);
	return buf_detach(&b, NULL);
}

static int is_path_kind(enum goargs_kind k)
{
	return k == GA_IN_FILE || k == GA_OUT_FILE || k == GA_IN_DIR || k == GA_IMPORTCFG ||
	       k == GA_EMBEDCFG || k == GA_SOURCE;
}

/* A sandbox or top directory holding rule syntax would corrupt the list. */
static int check_rule_text(const char *what, const char *s, struct err *e)
{
	if (strchr(s, ';') || strstr(s, "=>"))
		return err_set(e, "%s %s: contains ';' or '=>', cannot be a -trimpath rule", what,
			       s);
	return 0;
}

static int check_inputs(const char *sandbox, const char *goroot, const char *const *topdirs,
			size_t ntopdirs, struct err *e)
{
	if (sandbox[0] != '/' || sandbox[1] == '\0')
		return err_set(e, "sandbox %s: not an absolute directory", sandbox);
	if (check_rule_text("sandbox", sandbox, e) < 0)
		return -1;
	if (goroot && check_rule_text("GOROOT", goroot, e) < 0)
		return -1;
	for (size_t i = 0; i < ntopdirs; i++) {
		if (!topdirs[i][0] || strchr(topdirs[i], '/'))
			return err_set(e, "top directory \"%s\": not one path component",
				       topdirs[i]);
		if (check_rule_text("top directory", topdirs[i], e) < 0)
			return -1;
	}
	return 0;
}

/* The new -trimpath goes before the first source: after it, it would be
 * read as a source file. */
static void insert_trimpath(struct goargs *ga, char *value)
{
	size_t at = 0;

	while (at < ga->n && ga->items[at].kind != GA_SOURCE)
		at++;
	ga->items = xrealloc(ga->items, (ga->n + 1) * sizeof(*ga->items));
	memmove(&ga->items[at + 1], &ga->items[at], (ga->n - at) * sizeof(*ga->items));
	ga->items[at].kind = GA_TRIMPATH;
	ga->items[at].flag = xstrdup("-trimpath");
	ga->items[at].value = value;
	ga->items[at].inline_value = 0;
	ga->n++;
}

int relocate_goargs(struct goargs *ga, const char *sandbox, const char *goroot,
		    const char *const *topdirs, size_t ntopdirs, struct err *e)
{
	int have_trimpath = 0;

	if (check_inputs(sandbox, goroot, topdirs, ntopdirs, e) < 0)
		return -1;
	for (size_t i = 0; i < ga->n; i++) {
		struct goargs_item *it = &ga->items[i];
		char *v;
		if (it->kind == GA_TRIMPATH) {
			v = relocate_trimpath(it->value, sandbox, goroot, topdirs, ntopdirs);
			have_trimpath = 1;
		} else if (is_path_kind(it->kind) && it->value) {
			v = relocate_path(sandbox, it->value);
		} else {
			continue;
		}
		free(it->value);
		it->value = v;
	}
	if (!have_trimpath)
		insert_trimpath(ga, relocate_trimpath(NULL, sandbox, goroot, topdirs, ntopdirs));
	return 0;
}

size_t relocate_strip(char *data, size_t len, const char *sandbox)
{
	size_t slen = strlen(sandbox), in = 0, out = 0;

	if (slen == 0)
		return len;
	while (in < len) {
		char *hit = memmem(data + in, len - in, sandbox, slen);
		size_t stop = hit ? (size_t)(hit - data) : len;
		memmove(data + out, data + in, stop - in);
		out += stop - in;
		in = stop;
		if (!hit)
			break;
		/* Drop the sandbox, keep the '/'. Either way one byte moves on, so
		 * a path that itself starts with the sandbox keeps it: the
		 * stripping is not applied twice to one path. */
		if (in + slen < len && data[in + slen] == '/')
			in += slen;
		data[out++] = data[in++];
	}
	return out;
}
