#include "critpath.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "gocfg.h"
#include "monotime.h"

#include "banned.h"

/* Weight of the newest run time in a package's average. */
#define CRITPATH_EWMA 0.5
/* critpath_load(): the largest file read, and run times past which a
 * saved one is not believed (a day). */
#define CRITPATH_FILE_MAX (256u << 20)
#define CRITPATH_MS_MAX 86400000.0
#define CRITPATH_FILE_VERSION 1

struct cp_node {
	double est_ms;	 /* its compile's run time; 0: only imported so far */
	size_t *imports; /* node indexes */
	size_t nimports;
	double rank;	/* est_ms plus the longest chain of dependents */
	size_t pending; /* while ranking: dependents not yet ranked */
};

struct critpath {
	pthread_mutex_t mu;
	json_t *index; /* "toolchain package" -> node index (jansson's hash table) */
	struct cp_node *nodes;
	size_t n, cap, max, edges;
	int dirty;
	long computed_ms; /* CLOCK_MONOTONIC */
	unsigned long generation;
};


struct critpath *critpath_new(size_t max)
{
	struct critpath *cp = xcalloc(1, sizeof(*cp));

	pthread_mutex_init(&cp->mu, NULL);
	if (!(cp->index = json_object()))
		abort();
	cp->max = max ? max : 1;
	return cp;
}

static void critpath_clear_locked(struct critpath *cp)
{
	for (size_t i = 0; i < cp->n; i++)
		free(cp->nodes[i].imports);
	cp->n = cp->edges = 0;
	json_object_clear(cp->index);
}

void critpath_free(struct critpath *cp)
{
	if (!cp)
		return;
	critpath_clear_locked(cp);
	free(cp->nodes);
	json_decref(cp->index);
	pthread_mutex_destroy(&cp->mu);
	free(cp);
}

static char *critpath_key(const char *toolchain, const char *pkg)
{
	return xasprintf("%s %s", toolchain, pkg);
}

/* The node of key; added when add is set and there is room, else NULL. */
static struct cp_node *critpath_node_locked(struct critpath *cp, const char *key, int add,
					    size_t *ret_i)
{
	json_t *v = json_object_get(cp->index, key);

	if (v) {
		*ret_i = (size_t)json_integer_value(v);
		return &cp->nodes[*ret_i];
	}
	if (!add || cp->n >= cp->max)
		return NULL;
	if (cp->n == cp->cap) {
		cp->cap = cp->cap ? 2 * cp->cap : 64;
		cp->nodes = xrealloc(cp->nodes, cp->cap * sizeof(*cp->nodes));
	}
	json_object_set_new(cp->index, key, json_integer((json_int_t)cp->n));
	cp->nodes[cp->n] = (struct cp_node){0};
	*ret_i = cp->n++;
	return &cp->nodes[*ret_i];
}

/* How many of key and the n keys of its imports the graph lacks. */
static size_t critpath_missing_locked(struct critpath *cp, const char *key, char *const *keys,
				      size_t n)
{
	size_t missing = json_object_get(cp->index, key) == NULL;

	for (size_t k = 0; k < n; k++)
		missing += json_object_get(cp->index, keys[k]) == NULL;
	return missing;
}

void critpath_learn(struct critpath *cp, const char *toolchain, const char *pkg,
		    const struct gocfg_paths *imports, long ms)
{
	char *key = critpath_key(toolchain, pkg);
	char **keys = xcalloc(imports->n + 1, sizeof(*keys));
	size_t i, *edges = xcalloc(imports->n + 1, sizeof(*edges)), nedges = 0;
	struct cp_node *node;

	for (size_t k = 0; k < imports->n; k++)
		keys[k] = critpath_key(toolchain, imports->paths[k]);
	pthread_mutex_lock(&cp->mu);
	/* Room for the package and everything it imports, or start over. */
	if (cp->n + critpath_missing_locked(cp, key, keys, imports->n) > cp->max ||
	    cp->edges + imports->n > CRITPATH_MAX_EDGES)
		critpath_clear_locked(cp);
	node = critpath_node_locked(cp, key, 1, &i);
	for (size_t k = 0; node && k < imports->n; k++) {
		size_t d;

		if (critpath_node_locked(cp, keys[k], 1, &d) && d != i)
			edges[nedges++] = d;
	}
	if (node) {
		node = &cp->nodes[i]; /* the array may have moved */
		node->est_ms = node->est_ms ? (1.0 - CRITPATH_EWMA) * node->est_ms +
						      CRITPATH_EWMA * (double)ms
					    : (double)(ms > 0 ? ms : 1);
		cp->edges = cp->edges - node->nimports + nedges;
		free(node->imports);
		node->imports = edges;
		node->nimports = nedges;
		edges = NULL;
		cp->dirty = 1;
		cp->generation++;
	}
	pthread_mutex_unlock(&cp->mu);
	for (size_t k = 0; k < imports->n; k++)
		free(keys[k]);
	free(keys);
	free(edges);
	free(key);
}

/*
 * Every node's rank, dependents before what they import (Kahn's order on
 * the reversed edges): rank(P) = est(P) + the largest rank(Q) over the Q
 * that import P. Nodes on a cycle (which no build has, but keys of
 * different builds could form) keep what reached them.
 */
static void critpath_compute_locked(struct critpath *cp)
{
	size_t *stack = xcalloc(cp->n + 1, sizeof(*stack)), top = 0;

	for (size_t i = 0; i < cp->n; i++) {
		cp->nodes[i].rank = cp->nodes[i].est_ms;
		cp->nodes[i].pending = 0;
	}
	for (size_t i = 0; i < cp->n; i++)
		for (size_t k = 0; k < cp->nodes[i].nimports; k++)
			cp->nodes[cp->nodes[i].imports[k]].pending++;
	for (size_t i = 0; i < cp->n; i++)
		if (cp->nodes[i].pending == 0)
			stack[top++] = i;
	while (top > 0) {
		const struct cp_node *q = &cp->nodes[stack[--top]];

		for (size_t k = 0; k < q->nimports; k++) {
			size_t d = q->imports[k];
			struct cp_node *p = &cp->nodes[d];

			if (p->rank < p->est_ms + q->rank)
				p->rank = p->est_ms + q->rank;
			if (--p->pending == 0)
				stack[top++] = d;
		}
	}
	free(stack);
	cp->dirty = 0;
	cp->computed_ms = monotime_ms();
}

double critpath_rank(struct critpath *cp, const char *toolchain, const char *pkg)
{
	char *key = critpath_key(toolchain, pkg);
	struct cp_node *node;
	double rank = 0;
	size_t i;

	pthread_mutex_lock(&cp->mu);
	if (cp->dirty && (cp->edges <= CRITPATH_EAGER_EDGES ||
			  monotime_ms() - cp->computed_ms >= CRITPATH_RECOMPUTE_MS))
		critpath_compute_locked(cp);
	if ((node = critpath_node_locked(cp, key, 0, &i)))
		rank = node->rank;
	pthread_mutex_unlock(&cp->mu);
	free(key);
	return rank;
}

size_t critpath_size(struct critpath *cp)
{
	size_t n;

	pthread_mutex_lock(&cp->mu);
	n = cp->n;
	pthread_mutex_unlock(&cp->mu);
	return n;
}

unsigned long critpath_generation(struct critpath *cp)
{
	unsigned long g;

	pthread_mutex_lock(&cp->mu);
	g = cp->generation;
	pthread_mutex_unlock(&cp->mu);
	return g;
}

/* The graph as the JSON of the file (critpath.h). */
static json_t *critpath_json_locked(const struct critpath *cp)
{
	const char **keys = xcalloc(cp->n + 1, sizeof(*keys));
	json_t *packages = json_array(), *doc;
	const char *key;
	json_t *v;

	json_object_foreach(cp->index, key, v)
		keys[json_integer_value(v)] = key;
	for (size_t i = 0; packages && i < cp->n; i++) {
		const struct cp_node *node = &cp->nodes[i];
		json_t *imports = json_array();

		for (size_t k = 0; imports && k < node->nimports; k++)
			json_array_append_new(imports, json_integer((json_int_t)node->imports[k]));
		json_array_append_new(packages,
				      json_pack("[s, f, o*]", keys[i], node->est_ms, imports));
	}
	free(keys);
	doc = json_pack("{s:i, s:o*}", "version", CRITPATH_FILE_VERSION, "packages", packages);
	if (!doc || json_array_size(packages) != cp->n) {
		json_decref(doc);
		return NULL;
	}
	return doc;
}

int critpath_save(struct critpath *cp, const char *path, struct err *e)
{
	json_t *doc;
	char *text;
	int r;

	pthread_mutex_lock(&cp->mu);
	doc = critpath_json_locked(cp);
	pthread_mutex_unlock(&cp->mu);
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return err_set(e, "%s: cannot encode the build graph", path);
	r = fs_write_atomic(path, text, strlen(text), 0600, e);
	free(text);
	return r;
}

/* Whether v is the run time of a saved package. */
static int critpath_ms_is_valid(const json_t *v)
{
	double ms = json_number_value(v);

	return json_is_number(v) && isfinite(ms) && ms >= 0 && ms <= CRITPATH_MS_MAX;
}

/* Fills the empty graph from the "packages" of a file; -1 (and e) when
 * one is not as critpath.h says or the limits are passed. */
static int critpath_fill_locked(struct critpath *cp, const json_t *packages, const char *path,
				struct err *e)
{
	size_t n = json_array_size(packages), i, edges = 0;
	json_t *entry;

	if (n > cp->max)
		return err_set(e, "%s: %zu packages, over the limit of %zu", path, n, cp->max);
	json_array_foreach(packages, i, entry) {
		const json_t *key = json_array_get(entry, 0), *imports = json_array_get(entry, 2);
		size_t at;

		if (!json_is_array(entry) || json_array_size(entry) != 3 || !json_is_string(key) ||
		    !strchr(json_string_value(key), ' ') || !critpath_ms_is_valid(json_array_get(entry, 1)) ||
		    !json_is_array(imports))
			return err_set(e, "%s: package %zu is not [\"TOOLCHAIN PACKAGE\", MS, [IMPORTS]]",
				       path, i);
		if (json_object_get(cp->index, json_string_value(key)))
			return err_set(e, "%s: package %zu is listed twice", path, i);
		if ((edges += json_array_size(imports)) > CRITPATH_MAX_EDGES)
			return err_set(e, "%s: over the limit of %u imports", path, CRITPATH_MAX_EDGES);
		critpath_node_locked(cp, json_string_value(key), 1, &at);
	}
	json_array_foreach(packages, i, entry) {
		const json_t *imports = json_array_get(entry, 2), *imp;
		struct cp_node *node = &cp->nodes[i];
		size_t k;

		node->est_ms = json_number_value(json_array_get(entry, 1));
		node->imports = xcalloc(json_array_size(imports) + 1, sizeof(*node->imports));
		json_array_foreach(imports, k, imp) {
			json_int_t d = json_integer_value(imp);

			if (!json_is_integer(imp) || d < 0 || (size_t)d >= n || (size_t)d == i)
				return err_set(e, "%s: package %zu imports no package (%zu)", path, i,
					       k);
			node->imports[node->nimports++] = (size_t)d;
		}
	}
	cp->edges = edges;
	return 0;
}

int critpath_load(struct critpath *cp, const char *path, struct err *e)
{
	struct buf text;
	struct err why = {0};
	json_error_t jerr;
	json_t *doc = NULL;
	int r = -1;

	if (access(path, F_OK) < 0 && errno == ENOENT)
		return 1;
	buf_init(&text);
	if (fs_read_file(path, CRITPATH_FILE_MAX, &text, &why) < 0) {
		err_set(e, "%s", err_msg(&why));
	} else if (!(doc = json_loadb(text.data, text.len, 0, &jerr))) {
		err_set(e, "%s: not JSON: %s (line %d)", path, jerr.text, jerr.line);
	} else if (json_integer_value(json_object_get(doc, "version")) != CRITPATH_FILE_VERSION ||
		   !json_is_array(json_object_get(doc, "packages"))) {
		err_set(e, "%s: not a build graph of version %d", path, CRITPATH_FILE_VERSION);
	} else {
		r = 0;
	}
	buf_release(&text);
	pthread_mutex_lock(&cp->mu);
	critpath_clear_locked(cp);
	if (r == 0 && (r = critpath_fill_locked(cp, json_object_get(doc, "packages"), path, e)) < 0)
		critpath_clear_locked(cp);
	cp->dirty = 1;
	cp->generation++;
	pthread_mutex_unlock(&cp->mu);
	json_decref(doc);
	return r;
}
