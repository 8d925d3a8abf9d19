#include "asminc.h"

#include <ctype.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "goargs.h"
#include "gocfg.h"

#include "banned.h"

/* Assembly sources and headers are small; this only stops a runaway. */
#define ASMINC_MAX_BYTES (16u << 20)

/* Where one source's includes are looked up (cmd/asm/internal/lex NewInput):
 * the source file's directory, then the -I directories. asm keeps this list
 * for the whole source, so nested includes use it too. */
struct search {
	const char *cwd;
	char **dirs; /* absolute and clean */
	size_t ndirs;
};

/* Lexically cleans an absolute path, as Go's filepath.Clean does. */
static char *path_clean(const char *path)
{
	struct buf b;
	const char *s = path;

	buf_init(&b);
	while (*s) {
		size_t n = strcspn(s, "/");
		if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (b.len > 0 && b.data[--b.len] != '/')
				;
			b.data[b.len] = '\0';
		} else if (n > 0 && !(n == 1 && s[0] == '.')) {
			buf_addch(&b, '/');
			buf_add(&b, s, n);
		}
		s += n + (s[n] == '/');
	}
	if (b.len == 0)
		buf_addch(&b, '/');
	return buf_detach(&b, NULL);
}

/* path made absolute against cwd, then cleaned. Caller frees. */
static char *path_abs(const char *cwd, const char *path, size_t len)
{
	char *joined = path[0] == '/' ? xstrndup(path, len)
				      : xasprintf("%s/%.*s", cwd, (int)len, path);
	char *clean = path_clean(joined);

	free(joined);
	return clean;
}

static int paths_has(const struct gocfg_paths *p, const char *s)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->paths[i], s) == 0)
			return 1;
	return 0;
}

/* Takes ownership of s. */
static void paths_take(struct gocfg_paths *p, char *s)
{
	p->paths = xrealloc(p->paths, (p->n + 1) * sizeof(*p->paths));
	p->paths[p->n++] = s;
}

/* The file asm would open: os.Open(name) first, which succeeds on whatever
 * open(2) accepts, then filepath.Join(dir, name) for each search directory. */
static char *include_resolve(const struct search *sr, const char *name, size_t len)
{
	char *cand = path_abs(sr->cwd, name, len);

	for (size_t i = 0;; i++) {
		int fd = open(cand, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			close(fd);
			return cand;
		}
		free(cand);
		if (i == sr->ndirs)
			return NULL;
		/* Join never lets an absolute name escape the directory. */
		cand = xasprintf("%s/%.*s", sr->dirs[i], (int)len, name);
		char *clean = path_clean(cand);
		free(cand);
		cand = clean;
	}
}

static int is_hspace(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/*
 * Recognises `#include "name"` (and <name>) at the start of a line, '#' and
 * word possibly separated by blanks as asm's tokenizer allows. Returns 1 with
 * the name, 0 for any other line, -1 for an include asm could not read the
 * name of (a name with escapes is not unquoted here).
 */
static int include_parse(const char *s, size_t len, const char **ret_name, size_t *ret_len)
{
	const char *end = s + len, *close;
	char q;

	while (s < end && is_hspace(*s))
		s++;
	if (s == end || *s++ != '#')
		return 0;
	while (s < end && is_hspace(*s))
		s++;
	if ((size_t)(end - s) < 7 || memcmp(s, "include", 7) != 0)
		return 0;
	s += 7;
	if (s < end && (*s == '_' || isalnum((unsigned char)*s)))
		return 0; /* a longer word such as "includes" */
	while (s < end && is_hspace(*s))
		s++;
	if (s == end || (*s != '"' && *s != '<'))
		return -1;
	q = *s == '"' ? '"' : '>';
	s++;
	close = memchr(s, q, (size_t)(end - s));
	if (!close || close == s || memchr(s, '\\', (size_t)(close - s)))
		return -1;
	*ret_name = s;
	*ret_len = (size_t)(close - s);
	return 1;
}

/* Adds to found every header path (new to it) that file includes. */
static int scan_file(const struct search *sr, const char *path, struct gocfg_paths *found,
		     struct err *e)
{
	struct buf text;
	size_t off = 0;
	int r;

	buf_init(&text);
	if ((r = fs_read_file(path, ASMINC_MAX_BYTES, &text, e)) < 0)
		goto out;
	for (size_t lineno = 1; off < text.len; lineno++) {
		const char *line = text.data + off, *name;
		size_t n = strcspn(line, "\n"), name_len;
		int k = include_parse(line, n, &name, &name_len);
		off += n + 1;
		if (k == 0)
			continue;
		if (k < 0) {
			r = err_set(e, "%s:%zu: #include: cannot read the file name", path, lineno);
			goto out;
		}
		char *hdr = include_resolve(sr, name, name_len);
		if (!hdr) {
			r = err_set(e, "%s:%zu: #include \"%.*s\": not found", path, lineno,
				    (int)name_len, name);
			goto out;
		}
		if (paths_has(found, hdr))
			free(hdr);
		else
			paths_take(found, hdr);
	}
out:
	buf_release(&text);
	return r;
}

/* Follows the includes of one source, breadth first over found. */
static int scan_source(const struct search *sr, const char *src, struct gocfg_paths *found,
		       struct err *e)
{
	if (scan_file(sr, src, found, e) < 0)
		return -1;
	for (size_t i = 0; i < found->n; i++)
		if (scan_file(sr, found->paths[i], found, e) < 0)
			return -1;
	return 0;
}

static void search_release(struct search *sr)
{
	for (size_t i = 0; i < sr->ndirs; i++)
		free(sr->dirs[i]);
	free(sr->dirs);
}

/* The search list of one source: its directory, then every -I in order. */
static void search_init(struct search *sr, const struct goargs *ga, const char *cwd,
			const char *src_abs)
{
	const char *slash = strrchr(src_abs, '/');

	sr->cwd = cwd;
	sr->dirs = xcalloc(ga->n + 1, sizeof(*sr->dirs));
	sr->ndirs = 0;
	sr->dirs[sr->ndirs++] = slash == src_abs ? xstrdup("/")
						 : xstrndup(src_abs, (size_t)(slash - src_abs));
	for (size_t i = 0; i < ga->n; i++)
		if (ga->items[i].kind == GA_IN_DIR && ga->items[i].value)
			sr->dirs[sr->ndirs++] = path_abs(cwd, ga->items[i].value,
							 strlen(ga->items[i].value));
}

static int find_for_source(const struct goargs *ga, const char *cwd, const char *src,
			   struct gocfg_paths *all, struct err *e)
{
	struct gocfg_paths found = {0, NULL};
	struct search sr;
	char *abs = path_abs(cwd, src, strlen(src));
	int r;

	search_init(&sr, ga, cwd, abs);
	r = scan_source(&sr, abs, &found, e);
	for (size_t i = 0; r == 0 && i < found.n; i++) {
		if (!paths_has(all, found.paths[i])) {
			paths_take(all, found.paths[i]);
			found.paths[i] = NULL; /* all owns it now */
		}
	}
	gocfg_paths_release(&found);
	search_release(&sr);
	free(abs);
	return r;
}

int asminc_find(const struct goargs *ga, const char *cwd, struct gocfg_paths *ret,
		struct err *e)
{
	size_t old_n = ret->n;
	int r = 0;

	if (cwd[0] != '/')
		return err_set(e, "asm working directory %s: not absolute", cwd);
	for (size_t i = 0; i < ga->n && r == 0; i++)
		if (ga->items[i].kind == GA_SOURCE)
			r = find_for_source(ga, cwd, ga->items[i].value, ret, e);
	if (r < 0) {
		/* leave ret as it was */
		for (size_t i = old_n; i < ret->n; i++)
			free(ret->paths[i]);
		ret->n = old_n;
	}
	return r;
}
