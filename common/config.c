#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "err.h"

#include "banned.h"

/*
 * Layering of list options. config_set() appends (a repeated flag adds an
 * item) and splits its value on commas and white space, so that one
 * environment variable can carry several items; an empty value empties the
 * list. config_load_file() and config_load_env() replace a list as a whole:
 * a file line or a variable overrides the earlier layers like any other
 * option, and repeated lines in one file accumulate.
 *
 * dest pointers must start zeroed (static storage or {0}): setting an option
 * frees the value it replaces.
 */

static const struct config_opt *config_find(const struct config_opt *tab, const char *name)
{
	for (; tab->name; tab++)
		if (strcmp(tab->name, name) == 0)
			return tab;
	return NULL;
}

static void config_list_clear(struct config_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static void config_list_split(struct config_list *l, const char *value)
{
	const char *sep = ", \t\r\n";
	const char *p = value + strspn(value, sep);

	while (*p) {
		size_t n = strcspn(p, sep);
		l->items = xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
		l->items[l->n++] = xstrndup(p, n);
		p += n;
		p += strspn(p, sep);
	}
}

static int config_parse_int(const struct config_opt *o, const char *value, const char *source,
			    long *ret, struct err *e)
{
	char *end = NULL;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (end == value || *end != '\0' || isspace((unsigned char)value[0]))
		return err_set(e, "%s: option '%s': '%s' is not a decimal integer", source, o->name,
			       value);
	if (errno == ERANGE)
		return err_set(e, "%s: option '%s': '%s' is out of range", source, o->name, value);
	*ret = v;
	return 0;
}

static int config_parse_bool(const struct config_opt *o, const char *value, const char *source,
			     int *ret, struct err *e)
{
	static const char *const yes[] = {"1", "true", "yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(value, yes[i]) == 0) {
			*ret = 1;
			return 0;
		}
		if (strcasecmp(value, no[i]) == 0) {
			*ret = 0;
			return 0;
		}
	}
	return err_set(
	    e, "%s: option '%s': '%s' is not a boolean (use true/false, yes/no, on/off, 1/0)",
	    source, o->name, value);
}

/* Applies value to one option; a failed parse leaves dest unchanged. */
static int config_apply(const struct config_opt *o, const char *value, const char *source,
			struct err *e)
{
	char **s = o->dest;

	switch (o->type) {
	case CONFIG_STRING:
		free(*s);
		*s = xstrdup(value);
		return 0;
	case CONFIG_INT:
		return config_parse_int(o, value, source, o->dest, e);
	case CONFIG_BOOL:
		return config_parse_bool(o, value, source, o->dest, e);
	case CONFIG_LIST:
		if (!*value)
			config_list_clear(o->dest);
		else
			config_list_split(o->dest, value);
		return 0;
	}
	return err_set(e, "%s: option '%s': unknown type", source, o->name);
}

/*
 * value NULL is a bare command-line flag: it turns a boolean on and is an
 * error for the other types.
 */
int config_set(const struct config_opt *tab, const char *name, const char *value,
	       const char *source, struct err *e)
{
	const struct config_opt *o = config_find(tab, name);

	if (!o)
		return err_set(e, "%s: unknown option '%s'", source, name);
	if (!value && o->type != CONFIG_BOOL)
		return err_set(e, "%s: option '%s' needs a value", source, name);
	return config_apply(o, value ? value : "1", source, e);
}

/* An option without a default is NULL, 0, false or empty. */
static int config_default_one(const struct config_opt *o, struct err *e)
{
	char **s = o->dest;

	if (o->type == CONFIG_LIST)
		config_list_clear(o->dest);
	if (o->def)
		return config_apply(o, o->def, "default", e);
	if (o->type == CONFIG_STRING) {
		free(*s);
		*s = NULL;
	} else if (o->type == CONFIG_INT) {
		*(long *)o->dest = 0;
	} else if (o->type == CONFIG_BOOL) {
		*(int *)o->dest = 0;
	}
	return 0;
}

int config_defaults(const struct config_opt *tab, struct err *e)
{
	for (; tab->name; tab++)
		if (config_default_one(tab, e) < 0)
			return -1;
	return 0;
}

static char *config_trim(char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* A '#' starts a comment at the start of a line or after white space, so
 * values such as URLs with fragments keep theirs. */
static void config_strip_comment(char *line)
{
	for (char *p = line; *p; p++) {
		if (*p == '#' && (p == line || isspace((unsigned char)p[-1]))) {
			*p = '\0';
			return;
		}
	}
}

/* Lists named in a file replace earlier layers on their first line only. */
static void config_file_list_reset(const struct config_opt *o, const struct config_opt **seen,
				   size_t *nseen)
{
	for (size_t i = 0; i < *nseen; i++)
		if (seen[i] == o)
			return;
	seen[(*nseen)++] = o;
	config_list_clear(o->dest);
}

static int config_file_line(const struct config_opt *tab, char *line, const char *where,
			    const struct config_opt **seen, size_t *nseen, struct err *e)
{
	const struct config_opt *o;
	char *eq, *name, *value;

	config_strip_comment(line);
	name = config_trim(line);
	if (!*name)
		return 0;
	eq = strchr(name, '=');
	if (!eq)
		return err_set(e, "%s: expected 'name = value'", where);
	*eq = '\0';
	name = config_trim(name);
	value = config_trim(eq + 1);
	if (!*name)
		return err_set(e, "%s: expected 'name = value'", where);
	if (!(o = config_find(tab, name)))
		return err_set(e, "%s: unknown option '%s'", where, name);
	if (o->type == CONFIG_LIST)
		config_file_list_reset(o, seen, nseen);
	return config_apply(o, value, where, e);
}

static size_t config_count(const struct config_opt *tab)
{
	size_t n = 0;

	while (tab[n].name)
		n++;
	return n;
}

int config_load_file(const struct config_opt *tab, const char *path, int required, struct err *e)
{
	const struct config_opt **seen = xcalloc(config_count(tab) + 1, sizeof(*seen));
	size_t nseen = 0, lineno = 0, cap = 0;
	char *line = NULL, *where = NULL;
	FILE *f;
	int r = 0;

	f = fopen(path, "re");
	if (!f) {
		if (errno != ENOENT || required)
			r = err_errno(e, errno, "%s", path);
		goto out;
	}
	while (r == 0 && getline(&line, &cap, f) >= 0) {
		free(where);
		where = xasprintf("%s:%zu", path, ++lineno);
		r = config_file_line(tab, line, where, seen, &nseen, e);
	}
	if (r == 0 && ferror(f))
		r = err_errno(e, errno, "%s: read", path);
out:
	if (f)
		fclose(f);
	free(where);
	free(line);
	free(seen);
	return r;
}

int config_load_env(const struct config_opt *tab, struct err *e)
{
	for (; tab->name; tab++) {
		const char *v = tab->env ? getenv(tab->env) : NULL;
		char *source;
		int r;

		/* Set but empty counts as unset, as the go command does. */
		if (!v || !*v)
			continue;
		if (tab->type == CONFIG_LIST)
			config_list_clear(tab->dest);
		source = xasprintf("environment variable %s", tab->env);
		r = config_apply(tab, v, source, e);
		free(source);
		if (r < 0)
			return r;
	}
	return 0;
}

static void config_usage_row(const struct config_opt *o, const char *label, int width, FILE *out)
{
	const char *sep = " (";

	fprintf(out, "  --%-*s  %s", width, label, o->help ? o->help : "");
	if (o->def && *o->def) {
		fprintf(out, "%sdefault: %s", sep, o->def);
		sep = "; ";
	}
	if (o->env) {
		fprintf(out, "%senv: %s", sep, o->env);
		sep = "; ";
	}
	if (o->type == CONFIG_LIST) {
		fprintf(out, "%srepeatable", sep);
		sep = "; ";
	}
	fputs(sep[0] == ';' ? ")\n" : "\n", out);
}

static const char *config_metavar(const struct config_opt *o)
{
	if (o->type == CONFIG_BOOL)
		return "";
	if (o->metavar)
		return o->metavar;
	return o->type == CONFIG_INT ? "N" : "VALUE";
}

void config_usage(const struct config_opt *tab, FILE *out)
{
	struct buf label;
	int width = 0;

	for (const struct config_opt *o = tab; o->name; o++) {
		size_t n = strlen(o->name) + 1 + strlen(config_metavar(o));
		if (n > (size_t)width && n < 40)
			width = (int)n;
	}
	buf_init(&label);
	for (const struct config_opt *o = tab; o->name; o++) {
		const char *metavar = config_metavar(o);

		buf_reset(&label);
		buf_addf(&label, "%s%s%s", o->name, *metavar ? " " : "", metavar);
		config_usage_row(o, label.data, width, out);
	}
	buf_release(&label);
}

void config_release(const struct config_opt *tab)
{
	for (; tab->name; tab++) {
		if (tab->type == CONFIG_STRING) {
			char **s = tab->dest;
			free(*s);
			*s = NULL;
		} else if (tab->type == CONFIG_LIST) {
			config_list_clear(tab->dest);
		}
	}
}
