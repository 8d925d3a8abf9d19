#include "hashcache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"

#include "banned.h"

struct hashcache {
	pthread_mutex_t mu;
	json_t *map; /* identity key -> hex string (jansson's hash table) */
	size_t max;
};

struct hashcache *hashcache_new(size_t max)
{
	struct hashcache *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->mu, NULL);
	if (!(c->map = json_object()))
		abort();
	c->max = max ? max : 1;
	return c;
}

void hashcache_free(struct hashcache *c)
{
	if (!c)
		return;
	json_decref(c->map);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

static void hashcache_key(const struct stat *st, const char *kind, char *key, size_t cap)
{
	snprintf(key, cap, "%s:%llx:%llx:%llx:%lld.%09ld:%lld.%09ld", kind,
		 (unsigned long long)st->st_dev, (unsigned long long)st->st_ino,
		 (unsigned long long)st->st_size, (long long)st->st_mtim.tv_sec,
		 st->st_mtim.tv_nsec, (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
}

int hashcache_get(struct hashcache *c, const struct stat *st, const char *kind,
		  char hex[HASH_HEX_LEN + 1])
{
	char key[160];
	const char *v;

	hashcache_key(st, kind, key, sizeof(key));
	pthread_mutex_lock(&c->mu);
	v = json_string_value(json_object_get(c->map, key));
	if (v)
		memcpy(hex, v, HASH_HEX_LEN + 1);
	pthread_mutex_unlock(&c->mu);
	return v != NULL;
}

static long long ts_ms(const struct timespec *t)
{
	return (long long)t->tv_sec * 1000 + t->tv_nsec / 1000000;
}

/* Whether the file changed so recently that a rewrite could still keep
 * its identity. */
static int hashcache_unsettled(const struct stat *st)
{
	struct timespec now;
	long long n;

	clock_gettime(CLOCK_REALTIME, &now);
	n = ts_ms(&now);
	return n - ts_ms(&st->st_mtim) < HASHCACHE_SETTLE_MS ||
	       n - ts_ms(&st->st_ctim) < HASHCACHE_SETTLE_MS;
}

void hashcache_put(struct hashcache *c, const struct stat *st, const char *kind, const char *hex)
{
	char key[160];

	if (!hash_is_valid(hex) || hashcache_unsettled(st))
		return;
	hashcache_key(st, kind, key, sizeof(key));
	pthread_mutex_lock(&c->mu);
	if (json_object_size(c->map) >= c->max)
		json_object_clear(c->map);
	json_object_set_new(c->map, key, json_string(hex));
	pthread_mutex_unlock(&c->mu);
}
