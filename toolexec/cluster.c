#include "cluster.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "protocol.h"

#include "banned.h"

/* Longer strings are cut when copied: a name is at most 128 bytes and a URL
 * 512 in the daemon's table. */
#define CLUSTER_STRING_MAX 512
/* Wider cells are cut to this many bytes, the last three being "...". */
#define CLUSTER_CELL_MAX 64
/* Toolchain hash prefixes shown per host, and their length. */
#define CLUSTER_SHOWN_TOOLCHAINS 3
#define CLUSTER_PREFIX_LEN 8
/* Caps that keep sums of counts far from overflowing: CLUSTER_HOSTS_MAX
 * times CLUSTER_COUNT_MAX is 2^56. The daemon lists at most 256 hosts. */
#define CLUSTER_HOSTS_MAX (1 << 16)
#define CLUSTER_COUNT_MAX (1LL << 40)

/* A copy of s, cut at CLUSTER_STRING_MAX bytes, with every byte outside
 * printable ASCII replaced by '?': names come from volunteers and must not
 * carry terminal escape sequences. Caller frees. */
static char *cluster_clean(const char *s)
{
	char *c = xstrndup(s, strnlen(s, CLUSTER_STRING_MAX));

	for (char *p = c; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	return c;
}

/* A string field; with nullable, null or absent gives NULL. */
static int cluster_string(json_t *o, const char *key, int nullable, char **ret, const char *ctx,
			  struct err *e)
{
	json_t *v = json_object_get(o, key);

	if (nullable && (!v || json_is_null(v))) {
		*ret = NULL;
		return 0;
	}
	if (!json_is_string(v))
		return err_set(e, "sent a malformed cluster table: %s\"%s\" is not a string%s", ctx,
			       key, nullable ? " or null" : "");
	*ret = cluster_clean(json_string_value(v));
	return 0;
}

/* An integer field from 0 to max. */
static int cluster_count(json_t *o, const char *key, long long max, long long *ret, const char *ctx,
			 struct err *e)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > max)
		return err_set(
		    e, "sent a malformed cluster table: %s\"%s\" is not an integer from 0 to %lld",
		    ctx, key, max);
	*ret = json_integer_value(v);
	return 0;
}

/* A list of toolchain hashes; with optional, an absent one is empty (a
 * dispatcher older than the field). */
static int cluster_toolchains(json_t *o, const char *key, int optional, size_t *ret_n,
			      char ***ret, const char *ctx, struct err *e)
{
	json_t *list = json_object_get(o, key);

	*ret = NULL;
	*ret_n = 0;
	if (optional && !list)
		return 0;
	if (!json_is_array(list))
		return err_set(e, "sent a malformed cluster table: %s\"%s\" is not an array", ctx,
			       key);
	*ret = xcalloc(json_array_size(list) + 1, sizeof(**ret));
	for (size_t i = 0; i < json_array_size(list); i++) {
		const char *id = json_string_value(json_array_get(list, i));

		if (!id)
			return err_set(
			    e, "sent a malformed cluster table: %s\"%s\"[%zu] is not a string", ctx,
			    key, i);
		(*ret)[(*ret_n)++] = cluster_clean(id);
	}
	return 0;
}

static int cluster_host_parse(json_t *o, size_t i, struct cluster_host *h, struct err *e)
{
	char ctx[32];

	snprintf(ctx, sizeof(ctx), "hosts[%zu]: ", i);
	if (!json_is_object(o))
		return err_set(e, "sent a malformed cluster table: %snot an object", ctx);
	if (cluster_string(o, "name", 0, &h->name, ctx, e) < 0 ||
	    cluster_string(o, "url", 1, &h->url, ctx, e) < 0 ||
	    cluster_string(o, "source", 0, &h->source, ctx, e) < 0 ||
	    cluster_string(o, "state", 0, &h->state, ctx, e) < 0 ||
	    cluster_count(o, "slots", CLUSTER_SLOTS_MAX, &h->slots, ctx, e) < 0 ||
	    cluster_count(o, "running", CLUSTER_COUNT_MAX, &h->running, ctx, e) < 0 ||
	    cluster_count(o, "peak", CLUSTER_COUNT_MAX, &h->peak, ctx, e) < 0 ||
	    cluster_count(o, "done", CLUSTER_COUNT_MAX, &h->done, ctx, e) < 0 ||
	    cluster_count(o, "failed", CLUSTER_COUNT_MAX, &h->failed, ctx, e) < 0)
		return -1;
	if (cluster_toolchains(o, "toolchains", 0, &h->ntoolchains, &h->toolchains, ctx, e) < 0)
		return -1;
	return cluster_toolchains(o, "refuses", 1, &h->nrefuses, &h->refuses, ctx, e);
}

/* An error answer's "answered CODE: MESSAGE"; 0 when doc is not one. */
static int cluster_error_answer(json_t *doc, struct err *e)
{
	const char *code = json_string_value(json_object_get(doc, "error"));
	const char *msg = json_string_value(json_object_get(doc, "message"));
	char *c, *m;

	if (!code)
		return 0;
	c = cluster_clean(code);
	m = cluster_clean(msg ? msg : "(no message)");
	err_set(e, "answered %s: %s", c, m);
	free(c);
	free(m);
	return -1;
}

/* Loads text as a cluster document of this protocol. Caller decrefs. */
static int cluster_load(const char *text, size_t len, json_t **ret, struct err *e)
{
	json_error_t je;
	json_t *doc = json_loadb(text, len, 0, &je), *p;
	char *why;

	if (!doc) {
		why = cluster_clean(je.text);
		err_set(e, "sent a malformed cluster table: not JSON: %s", why);
		free(why);
		return -1;
	}
	if (!json_is_object(doc)) {
		json_decref(doc);
		return err_set(e, "sent a malformed cluster table: not a JSON object");
	}
	if (cluster_error_answer(doc, e) < 0) {
		json_decref(doc);
		return -1;
	}
	p = json_object_get(doc, "protocol");
	if (!json_is_integer(p) || json_integer_value(p) != PROTOCOL_VERSION) {
		if (json_is_integer(p))
			err_set(e, "speaks protocol %lld, not %d", (long long)json_integer_value(p),
				PROTOCOL_VERSION);
		else
			err_set(e, "sent a malformed cluster table: no \"protocol\" number");
		json_decref(doc);
		return -1;
	}
	*ret = doc;
	return 0;
}

int cluster_check(const char *text, size_t len, struct err *e)
{
	json_t *doc;

	if (cluster_load(text, len, &doc, e) < 0)
		return -1;
	json_decref(doc);
	return 0;
}

static int cluster_from_json(json_t *doc, struct cluster *c, struct err *e)
{
	json_t *hosts = json_object_get(doc, "hosts");

	if (cluster_string(doc, "name", 0, &c->name, "", e) < 0 ||
	    cluster_count(doc, "queued", CLUSTER_COUNT_MAX, &c->queued, "", e) < 0)
		return -1;
	if (!json_is_array(hosts))
		return err_set(e, "sent a malformed cluster table: \"hosts\" is not an array");
	if (json_array_size(hosts) > CLUSTER_HOSTS_MAX)
		return err_set(e, "sent a malformed cluster table: more than %d hosts",
			       CLUSTER_HOSTS_MAX);
	c->hosts = xcalloc(json_array_size(hosts) + 1, sizeof(*c->hosts));
	for (size_t i = 0; i < json_array_size(hosts); i++) {
		/* Counted first, so that cluster_free() releases a half-parsed host. */
		c->nhosts++;
		if (cluster_host_parse(json_array_get(hosts, i), i, &c->hosts[i], e) < 0)
			return -1;
	}
	return 0;
}

int cluster_parse(const char *text, size_t len, struct cluster **ret, struct err *e)
{
	struct cluster *c = xcalloc(1, sizeof(*c));
	json_t *doc = NULL;
	int r = -1;

	if (cluster_load(text, len, &doc, e) < 0 || cluster_from_json(doc, c, e) < 0)
		goto out;
	*ret = c;
	c = NULL;
	r = 0;
out:
	json_decref(doc);
	cluster_free(c);
	return r;
}

static void cluster_host_release(struct cluster_host *h)
{
	free(h->name);
	free(h->url);
	free(h->source);
	free(h->state);
	for (size_t i = 0; i < h->ntoolchains; i++)
		free(h->toolchains[i]);
	free(h->toolchains);
	for (size_t i = 0; i < h->nrefuses; i++)
		free(h->refuses[i]);
	free(h->refuses);
}

void cluster_free(struct cluster *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nhosts; i++)
		cluster_host_release(&c->hosts[i]);
	free(c->hosts);
	free(c->name);
	free(c);
}

static int cluster_host_is_up(const struct cluster_host *h)
{
	return strcmp(h->state, "up") == 0;
}

long long cluster_suggest_p(const struct cluster *c, long ncpu)
{
	long long slots = 0, p;

	for (size_t i = 0; i < c->nhosts; i++)
		if (cluster_host_is_up(&c->hosts[i]))
			slots += c->hosts[i].slots;
	p = 2 * slots;
	if (p < ncpu)
		p = ncpu;
	return p < 1 ? 1 : p;
}

/* The table's columns; numbers are right-aligned. */
enum cluster_col {
	COL_NAME,
	COL_URL,
	COL_SOURCE,
	COL_STATE,
	COL_SLOTS,
	COL_RUNNING,
	COL_PEAK,
	COL_DONE,
	COL_FAILED,
	COL_TOOLCHAINS,
	CLUSTER_NCOLS
};

static const struct cluster_column {
	const char *title;
	int right;
} cluster_columns[CLUSTER_NCOLS] = {
    [COL_NAME] = {"NAME", 0},	  [COL_URL] = {"URL", 0},
    [COL_SOURCE] = {"SOURCE", 0}, [COL_STATE] = {"STATE", 0},
    [COL_SLOTS] = {"SLOTS", 1},	  [COL_RUNNING] = {"RUNNING", 1},
    [COL_PEAK] = {"PEAK", 1},	  [COL_DONE] = {"DONE", 1},
    [COL_FAILED] = {"FAILED", 1}, [COL_TOOLCHAINS] = {"TOOLCHAINS", 0},
};

/* A cell's text, cut to CLUSTER_CELL_MAX bytes. Caller frees. */
static char *cluster_cell(const char *s)
{
	if (strlen(s) <= CLUSTER_CELL_MAX)
		return xstrdup(s);
	return xasprintf("%.*s...", CLUSTER_CELL_MAX - 3, s);
}

/* The count and the first hash prefixes: "2: 3f2a91c0 9b1d04e2". */
static void cluster_hash_list(struct buf *b, size_t n, char **list)
{
	buf_addf(b, "%zu", n);
	for (size_t i = 0; i < n && i < CLUSTER_SHOWN_TOOLCHAINS; i++)
		buf_addf(b, "%s%.*s", i ? " " : ": ", CLUSTER_PREFIX_LEN, list[i]);
	if (n > CLUSTER_SHOWN_TOOLCHAINS)
		buf_adds(b, " ...");
}

/* The toolchains held, then those the host's policy refused lately (its
 * jobs go elsewhere): "1: 3f2a91c0; refuses 1: 9b1d04e2". */
static char *cluster_toolchains_cell(const struct cluster_host *h)
{
	struct buf b;

	buf_init(&b);
	cluster_hash_list(&b, h->ntoolchains, h->toolchains);
	if (h->nrefuses > 0) {
		buf_adds(&b, "; refuses ");
		cluster_hash_list(&b, h->nrefuses, h->refuses);
	}
	return buf_detach(&b, NULL);
}

static void cluster_row(const struct cluster_host *h, char **cells)
{
	cells[COL_NAME] = cluster_cell(h->name);
	cells[COL_URL] = cluster_cell(h->url ? h->url : "-");
	cells[COL_SOURCE] = cluster_cell(h->source);
	cells[COL_STATE] = cluster_cell(h->state);
	cells[COL_SLOTS] = xasprintf("%lld", h->slots);
	cells[COL_RUNNING] = xasprintf("%lld", h->running);
	cells[COL_PEAK] = xasprintf("%lld", h->peak);
	cells[COL_DONE] = xasprintf("%lld", h->done);
	cells[COL_FAILED] = xasprintf("%lld", h->failed);
	cells[COL_TOOLCHAINS] = cluster_toolchains_cell(h);
}

/* Prints rows of cells in columns two spaces apart; the last column is not
 * padded, so no line ends in blanks. */
static void cluster_print_rows(char **cells, size_t nrows, FILE *out)
{
	int width[CLUSTER_NCOLS] = {0};

	for (size_t r = 0; r < nrows; r++)
		for (int k = 0; k < CLUSTER_NCOLS; k++) {
			int w = (int)strlen(cells[r * CLUSTER_NCOLS + k]);

			width[k] = w > width[k] ? w : width[k];
		}
	for (size_t r = 0; r < nrows; r++) {
		for (int k = 0; k < CLUSTER_NCOLS - 1; k++)
			fprintf(out, cluster_columns[k].right ? "%*s  " : "%-*s  ", width[k],
				cells[r * CLUSTER_NCOLS + k]);
		fprintf(out, "%s\n", cells[r * CLUSTER_NCOLS + CLUSTER_NCOLS - 1]);
	}
}

static void cluster_print_summary(const struct cluster *c, const char *where, FILE *out)
{
	long long slots = 0, slots_up = 0, running = 0;
	size_t up = 0;

	for (size_t i = 0; i < c->nhosts; i++) {
		const struct cluster_host *h = &c->hosts[i];

		slots += h->slots;
		running += h->running;
		if (cluster_host_is_up(h)) {
			up++;
			slots_up += h->slots;
		}
	}
	fprintf(out,
		"dispatcher %s at %s: %zu of %zu hosts up, %lld of %lld slots up, %lld running, "
		"%lld queued\n",
		c->name, where, up, c->nhosts, slots_up, slots, running, c->queued);
}

void cluster_print(const struct cluster *c, const char *where, FILE *out)
{
	size_t nrows = c->nhosts + 1;
	char **cells = xcalloc(nrows * CLUSTER_NCOLS, sizeof(*cells));

	for (int k = 0; k < CLUSTER_NCOLS; k++)
		cells[k] = xstrdup(cluster_columns[k].title);
	for (size_t i = 0; i < c->nhosts; i++)
		cluster_row(&c->hosts[i], cells + (i + 1) * CLUSTER_NCOLS);
	cluster_print_rows(cells, nrows, out);
	cluster_print_summary(c, where, out);
	for (size_t i = 0; i < nrows * CLUSTER_NCOLS; i++)
		free(cells[i]);
	free(cells);
}
