#include "goargs.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"

#include "banned.h"

const char *goargs_tool_name(enum goargs_tool tool)
{
	return tool == GOARGS_ASM ? "asm" : "compile";
}

/* Response files are local files the user's go command wrote; the caps only
 * stop a runaway (a file naming itself recurses forever in objabi too). */
#define RSP_MAX_BYTES (64u << 20)
#define RSP_MAX_DEPTH 32

enum flag_type {
	FT_BOOL,  /* -f or -f=v only */
	FT_COUNT, /* objabi count flag: also -f or -f=N only */
	FT_VALUE, /* -f v or -f=v */
};

enum local_rule {
	LR_NONE,
	LR_ALWAYS,     /* the flag itself means "run locally" */
	LR_NONEMPTY,   /* fine only with an empty value */
	LR_DEBUG_KEYS, /* compile -d: fine only with keys known not to dump files */
};

struct flag_def {
	const char *name; /* without the dash */
	enum flag_type type;
	enum goargs_kind kind;
	enum local_rule rule;
	const char *reason; /* for rule != LR_NONE */
};

#define PLAIN(n, t) {n, t, GA_PLAIN, LR_NONE, NULL}
#define PATHV(n, k) {n, FT_VALUE, k, LR_NONE, NULL}
#define LOCAL(n, t, r, why) {n, t, GA_PLAIN, r, why}
#define SIDE_FILE(n) LOCAL(n, FT_VALUE, LR_ALWAYS, "flag -" n " writes side files")

/* cmd/compile/internal/base/flag.go (go1.26), checked against compile -help. */
static const struct flag_def compile_flags[] = {
	PLAIN("%", FT_COUNT),
	PLAIN("+", FT_BOOL),
	PLAIN("B", FT_COUNT),
	PLAIN("C", FT_COUNT),
	LOCAL("D", FT_VALUE, LR_NONEMPTY, "flag -D sets a local import directory"),
	PLAIN("E", FT_COUNT),
	LOCAL("I", FT_VALUE, LR_NONEMPTY, "flag -I adds an import search directory"),
	PLAIN("K", FT_COUNT),
	PLAIN("L", FT_COUNT),
	PLAIN("N", FT_COUNT),
	PLAIN("S", FT_COUNT),
	LOCAL("V", FT_BOOL, LR_ALWAYS, "flag -V is a version probe"),
	PLAIN("W", FT_COUNT),
	PLAIN("asan", FT_BOOL),
	PATHV("asmhdr", GA_OUT_FILE),
	SIDE_FILE("bench"),
	SIDE_FILE("blockprofile"),
	PLAIN("buildid", FT_VALUE),
	PLAIN("c", FT_VALUE),
	PLAIN("clobberdead", FT_BOOL),
	PLAIN("clobberdeadreg", FT_BOOL),
	PLAIN("complete", FT_BOOL),
	PATHV("coveragecfg", GA_IN_FILE),
	SIDE_FILE("cpuprofile"),
	LOCAL("d", FT_VALUE, LR_DEBUG_KEYS, "flag -d sets debug options that may dump files"),
	PLAIN("dwarf", FT_BOOL),
	PLAIN("dwarfbasentries", FT_BOOL),
	PLAIN("dwarflocationlists", FT_BOOL),
	PLAIN("dynlink", FT_BOOL),
	PLAIN("e", FT_COUNT),
	PATHV("embedcfg", GA_EMBEDCFG),
	PLAIN("env", FT_VALUE),
	PLAIN("errorurl", FT_BOOL),
	PLAIN("gendwarfinl", FT_VALUE),
	PLAIN("goversion", FT_VALUE),
	/* -h is "halt on error" in compile; kept local with the probes because
	 * the go command never passes it and its panic trace shows addresses. */
	LOCAL("h", FT_COUNT, LR_ALWAYS, "flag -h is a debugging aid"),
	PATHV("importcfg", GA_IMPORTCFG),
	PLAIN("installsuffix", FT_VALUE),
	PLAIN("j", FT_COUNT),
	SIDE_FILE("json"),
	PLAIN("l", FT_COUNT),
	PLAIN("lang", FT_VALUE),
	PATHV("linkobj", GA_OUT_FILE),
	PLAIN("linkshared", FT_BOOL),
	PLAIN("live", FT_COUNT),
	PLAIN("m", FT_COUNT),
	SIDE_FILE("memprofile"),
	PLAIN("memprofilerate", FT_VALUE),
	PLAIN("msan", FT_BOOL),
	SIDE_FILE("mutexprofile"),
	PLAIN("nolocalimports", FT_BOOL),
	PATHV("o", GA_OUT_FILE),
	PLAIN("p", FT_VALUE),
	PLAIN("pack", FT_BOOL),
	PATHV("pgoprofile", GA_IN_FILE),
	PLAIN("r", FT_COUNT),
	PLAIN("race", FT_BOOL),
	PLAIN("shared", FT_BOOL),
	PLAIN("smallframes", FT_BOOL),
	PLAIN("spectre", FT_VALUE),
	PLAIN("std", FT_BOOL),
	PATHV("symabis", GA_IN_FILE),
	LOCAL("t", FT_BOOL, LR_ALWAYS, "flag -t traces the compiler"),
	SIDE_FILE("traceprofile"),
	PATHV("trimpath", GA_TRIMPATH),
	LOCAL("v", FT_BOOL, LR_ALWAYS, "flag -v prints debugging output"),
	PLAIN("w", FT_COUNT),
	PLAIN("wb", FT_BOOL),
	{NULL, FT_BOOL, GA_PLAIN, LR_NONE, NULL},
};

/* cmd/asm/internal/flags/flags.go (go1.26), checked against asm -help. */
static const struct flag_def asm_flags[] = {
	PLAIN("D", FT_VALUE),
	PATHV("I", GA_IN_DIR),
	PLAIN("S", FT_COUNT),
	LOCAL("V", FT_BOOL, LR_ALWAYS, "flag -V is a version probe"),
	PLAIN("compiling-runtime", FT_BOOL), /* go1.19 and go1.20 */
	LOCAL("d", FT_VALUE, LR_NONEMPTY, "flag -d sets debug options"),
	LOCAL("debug", FT_BOOL, LR_ALWAYS, "flag -debug dumps instructions"),
	PLAIN("dynlink", FT_BOOL),
	PLAIN("e", FT_BOOL),
	PLAIN("gensymabis", FT_BOOL),
	PLAIN("linkshared", FT_BOOL),
	PATHV("o", GA_OUT_FILE),
	PLAIN("p", FT_VALUE),
	PLAIN("shared", FT_BOOL),
	PLAIN("spectre", FT_VALUE),
	PATHV("trimpath", GA_TRIMPATH),
	LOCAL("v", FT_BOOL, LR_ALWAYS, "flag -v prints debugging output"),
	{NULL, FT_BOOL, GA_PLAIN, LR_NONE, NULL},
};

/* -d keys that only change code generation, never write files. */
static const char *const safe_debug_keys[] = {"checkptr", "libfuzzer", "loopvar", NULL};

/* A growable vector of owned strings. */
struct strvec {
	char **v;
	size_t n, cap;
};

static void strvec_push(struct strvec *sv, char *s)
{
	if (sv->n == sv->cap) {
		sv->cap = sv->cap ? 2 * sv->cap : 16;
		sv->v = xrealloc(sv->v, sv->cap * sizeof(*sv->v));
	}
	sv->v[sv->n++] = s;
}

static void strvec_release(struct strvec *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

int goargs_tool_from_path(const char *path, enum goargs_tool *ret_tool)
{
	const char *base = strrchr(path, '/');
	size_t len;

	base = base ? base + 1 : path;
	len = strlen(base);
	if (len >= 4 && strcmp(base + len - 4, ".exe") == 0)
		len -= 4;
	if (len == 7 && strncmp(base, "compile", 7) == 0) {
		*ret_tool = GOARGS_COMPILE;
		return 0;
	}
	if (len == 3 && strncmp(base, "asm", 3) == 0) {
		*ret_tool = GOARGS_ASM;
		return 0;
	}
	return -1;
}

/* ---- @response files (cmd/internal/objabi expandArgs, DecodeArg) ---- */

static int is_ascii_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

/*
 * objabi.DecodeArg: "\\\\" is a backslash, "\\n" a newline, a trailing lone
 * backslash vanishes, and any other escape panics the tool. Go decodes the
 * argument rune by rune there, which would turn invalid UTF-8 into U+FFFD;
 * rather than reproduce that, non-ASCII escaped arguments are refused.
 */
static int rsp_decode(const char *s, size_t len, const char *file, char **ret, struct err *e)
{
	struct buf b;
	int bs = 0;

	if (!memchr(s, '\\', len)) {
		*ret = xstrndup(s, len);
		return 0;
	}
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return err_set(e, "%s: non-ASCII argument with escapes", file);
	buf_init(&b);
	for (size_t i = 0; i < len; i++) {
		if (bs && s[i] != '\\' && s[i] != 'n') {
			buf_release(&b);
			return err_set(e, "%s: bad escape \\%c", file, s[i]);
		}
		if (bs)
			buf_addch(&b, s[i] == 'n' ? '\n' : '\\');
		else if (s[i] != '\\')
			buf_addch(&b, s[i]);
		bs = !bs && s[i] == '\\';
	}
	*ret = buf_detach(&b, NULL);
	return 0;
}

/* Removes "\r", then trims surrounding whitespace, as expandArgs does.
 * Go's TrimSpace also knows Unicode spaces; a file whose content starts or
 * ends with a non-ASCII byte is refused instead of guessed at. */
static int rsp_normalize(struct buf *raw, const char *file, const char **ret_s, size_t *ret_len,
			 struct err *e)
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i < raw->len; i++)
		if (raw->data[i] != '\r')
			raw->data[n++] = raw->data[i];
	raw->len = n;
	raw->data[n] = '\0';
	if (memchr(raw->data, '\0', n))
		return err_set(e, "%s: response file holds a NUL byte", file);
	while (start < n && is_ascii_space(raw->data[start]))
		start++;
	while (n > start && is_ascii_space(raw->data[n - 1]))
		n--;
	if (n > start && ((unsigned char)raw->data[start] >= 0x80 ||
			  (unsigned char)raw->data[n - 1] >= 0x80))
		return err_set(e, "%s: response file begins or ends with a non-ASCII byte", file);
	*ret_s = raw->data + start;
	*ret_len = n - start;
	return 0;
}

static int expand_one(const char *arg, const char *cwd, int depth, struct strvec *out,
		      struct err *e);

/* Splits normalized content on "\n" (an empty file is one empty argument,
 * as strings.Split gives) and expands each decoded line in turn. */
static int rsp_split(const char *s, size_t len, const char *file, const char *cwd, int depth,
		     struct strvec *out, struct err *e)
{
	const char *end = s + len;
	char *arg = NULL;
	int r = 0;

	for (;;) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		const char *stop = nl ? nl : end;
		if ((r = rsp_decode(s, (size_t)(stop - s), file, &arg, e)) < 0)
			break;
		r = expand_one(arg, cwd, depth, out, e);
		free(arg);
		if (r < 0 || !nl)
			break;
		s = nl + 1;
	}
	return r;
}

static int rsp_expand(const char *name, const char *cwd, int depth, struct strvec *out,
		      struct err *e)
{
	struct buf raw;
	char *path = NULL;
	const char *s = NULL;
	size_t len = 0;
	int r;

	buf_init(&raw);
	if (!cwd) {
		r = err_set(e, "@%s: response files are not accepted here", name);
		goto out;
	}
	if (depth >= RSP_MAX_DEPTH) {
		r = err_set(e, "@%s: response files nested more than %d deep", name,
			    RSP_MAX_DEPTH);
		goto out;
	}
	path = name[0] == '/' ? xstrdup(name) : xasprintf("%s/%s", cwd, name);
	if ((r = fs_read_file(path, RSP_MAX_BYTES, &raw, e)) < 0)
		goto out;
	if ((r = rsp_normalize(&raw, path, &s, &len, e)) < 0)
		goto out;
	r = rsp_split(s, len, path, cwd, depth + 1, out, e);
out:
	free(path);
	buf_release(&raw);
	return r;
}

static int expand_one(const char *arg, const char *cwd, int depth, struct strvec *out,
		      struct err *e)
{
	if (arg[0] == '@')
		return rsp_expand(arg + 1, cwd, depth, out, e);
	strvec_push(out, xstrdup(arg));
	return 0;
}

/* ---- flag parsing (Go's flag package) ---- */

static const struct flag_def *flag_lookup(enum goargs_tool tool, const char *name, size_t len)
{
	const struct flag_def *d = tool == GOARGS_COMPILE ? compile_flags : asm_flags;

	for (; d->name; d++)
		if (strlen(d->name) == len && memcmp(d->name, name, len) == 0)
			return d;
	return NULL;
}

static int debug_keys_safe(const char *value)
{
	const char *s = value;

	while (*s) {
		size_t seg = strcspn(s, ","), key = strcspn(s, ",=:");
		int ok = seg == 0;
		if (key > seg)
			key = seg;
		for (const char *const *k = safe_debug_keys; *k && !ok; k++)
			ok = strlen(*k) == key && memcmp(*k, s, key) == 0;
		if (!ok)
			return 0;
		s += seg + (s[seg] == ',');
	}
	return 1;
}

static const char *local_check(const struct flag_def *d, const char *value)
{
	switch (d->rule) {
	case LR_ALWAYS:
		return d->reason;
	case LR_NONEMPTY:
		return value && *value ? d->reason : NULL;
	case LR_DEBUG_KEYS:
		return value && !debug_keys_safe(value) ? d->reason : NULL;
	case LR_NONE:
		break;
	}
	return NULL;
}

static void note_local(struct goargs *ga, const char *reason)
{
	if (reason && !ga->local_reason)
		ga->local_reason = reason;
}

static void item_add(struct goargs *ga, enum goargs_kind kind, const char *flag, size_t flag_len,
		     const char *value, int inline_value)
{
	struct goargs_item *it = &ga->items[ga->n++];

	it->kind = kind;
	it->flag = flag ? xstrndup(flag, flag_len) : NULL;
	it->value = value ? xstrdup(value) : NULL;
	it->inline_value = inline_value;
}

/* What Go's flag package rejects before looking the name up. */
static const char *flag_syntax_check(const char *name)
{
	if (!*name || *name == '-' || *name == '=')
		return "bad flag syntax";
	return NULL;
}

/* Go's flag package answers an undefined -help or -h with usage. */
static int is_help(const char *name, size_t len)
{
	return (len == 4 && memcmp(name, "help", 4) == 0) || (len == 1 && *name == 'h');
}

/* Parses the flag at args[*pos] and advances *pos past it (and its value). */
static int parse_flag(struct goargs *ga, const struct strvec *args, size_t *pos, struct err *e)
{
	const char *s = args->v[*pos];
	const char *name = s + (s[1] == '-' ? 2 : 1);
	const char *eq = strchr(name, '=');
	size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
	size_t flag_len = (size_t)(name - s) + name_len;
	const char *value = eq ? eq + 1 : NULL;
	const struct flag_def *d;

	*pos += 1;
	if (flag_syntax_check(name)) {
		note_local(ga, flag_syntax_check(name));
		item_add(ga, GA_PLAIN, s, strlen(s), NULL, 0);
		return 0;
	}
	d = flag_lookup(ga->tool, name, name_len);
	if (!d) {
		note_local(ga, is_help(name, name_len) ? "flag -help prints usage" : "unknown flag");
		item_add(ga, GA_PLAIN, s, flag_len, value, eq != NULL);
		return 0;
	}
	if (d->type == FT_VALUE && !eq) {
		if (*pos == args->n)
			return err_set(e, "flag needs an argument: %s", s);
		value = args->v[(*pos)++];
	}
	note_local(ga, local_check(d, value));
	item_add(ga, d->kind, s, flag_len, value, eq != NULL);
	return 0;
}

static int is_flag(const char *s)
{
	return s[0] == '-' && s[1] != '\0';
}

static int parse_args(struct goargs *ga, const struct strvec *args, struct err *e)
{
	size_t pos = 0;
	int r;

	while (pos < args->n && is_flag(args->v[pos])) {
		if (strcmp(args->v[pos], "--") == 0) {
			pos++;
			break;
		}
		if ((r = parse_flag(ga, args, &pos, e)) < 0)
			return r;
	}
	for (; pos < args->n; pos++)
		item_add(ga, GA_SOURCE, NULL, 0, args->v[pos], 0);
	return 0;
}

int goargs_parse(enum goargs_tool tool, size_t argc, const char *const *argv, const char *cwd,
		 struct goargs **ret, struct err *e)
{
	struct strvec args = {0};
	struct goargs *ga = NULL;
	int r = 0;

	for (size_t i = 0; i < argc && r == 0; i++)
		r = expand_one(argv[i], cwd, 0, &args, e);
	if (r < 0)
		goto out;
	ga = xcalloc(1, sizeof(*ga));
	ga->tool = tool;
	ga->items = xcalloc(args.n ? args.n : 1, sizeof(*ga->items));
	if ((r = parse_args(ga, &args, e)) < 0)
		goto out;
	*ret = ga;
	ga = NULL; /* caller owns it now */
out:
	goargs_free(ga);
	strvec_release(&args);
	return r;
}

void goargs_free(struct goargs *ga)
{
	if (!ga)
		return;
	for (size_t i = 0; i < ga->n; i++) {
		free(ga->items[i].flag);
		free(ga->items[i].value);
	}
	free(ga->items);
	free(ga);
}

/* ---- rendering ---- */

static void render_flag(const struct goargs_item *it, struct strvec *out)
{
	if (!it->value)
		strvec_push(out, xstrdup(it->flag));
	else if (it->inline_value)
		strvec_push(out, xasprintf("%s=%s", it->flag, it->value));
	else {
		strvec_push(out, xstrdup(it->flag));
		strvec_push(out, xstrdup(it->value));
	}
}

int goargs_render(const struct goargs *ga, char ***ret_argv, size_t *ret_argc)
{
	struct strvec out = {0};
	int need_dashdash = 1; /* until the first source is seen */

	for (size_t i = 0; i < ga->n; i++)
		if (ga->items[i].kind != GA_SOURCE)
			render_flag(&ga->items[i], &out);
	for (size_t i = 0; i < ga->n; i++) {
		const struct goargs_item *it = &ga->items[i];
		if (it->kind != GA_SOURCE)
			continue;
		/* A first source that looks like a flag was written after "--";
		 * without one it would be re-read as a flag. */
		if (need_dashdash && is_flag(it->value))
			strvec_push(&out, xstrdup("--"));
		need_dashdash = 0;
		strvec_push(&out, xstrdup(it->value));
	}
	*ret_argc = out.n;
	strvec_push(&out, NULL);
	*ret_argv = out.v;
	return 0;
}

void goargs_free_argv(char **argv)
{
	if (!argv)
		return;
	for (char **p = argv; *p; p++)
		free(*p);
	free(argv);
}

const char *goargs_find(const struct goargs *ga, enum goargs_kind kind)
{
	for (size_t i = 0; i < ga->n; i++)
		if (ga->items[i].kind == kind)
			return ga->items[i].value;
	return NULL;
}
