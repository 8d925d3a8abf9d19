#include "hashset.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "hash.h"

#include "banned.h"

#define HASHSET_MD_LEN HASH_LEN

struct hashset_slot {
	unsigned char md[HASHSET_MD_LEN];
	unsigned char used;
};

/*
 * Open addressing with linear probing. The table never grows: it has at
 * least twice as many slots as the set may hold, so probes stay short.
 * Removal shifts later members of the probe run back (no tombstones), so a
 * lookup may stop at the first empty slot.
 */
struct hashset {
	pthread_mutex_t mu;
	struct hashset_slot *slots;
	size_t mask; /* slots - 1; slots is a power of two */
	size_t n, max;
};

struct hashset *hashset_new(size_t max)
{
	struct hashset *s = xcalloc(1, sizeof(*s));
	size_t nslots = 8;

	if (max == 0)
		max = 1;
	if (max > SIZE_MAX / 4)
		abort(); /* as xcalloc() would: no such table fits in memory */
	while (nslots < 2 * max)
		nslots *= 2;
	pthread_mutex_init(&s->mu, NULL);
	s->slots = xcalloc(nslots, sizeof(*s->slots));
	s->mask = nslots - 1;
	s->max = max;
	return s;
}

void hashset_free(struct hashset *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->mu);
	free(s->slots);
	free(s);
}

/* The digest is uniform already: its first bytes serve as the hash. */
static size_t hashset_home(const struct hashset *s, const unsigned char *md)
{
	uint64_t h;

	memcpy(&h, md, sizeof(h));
	return (size_t)h & s->mask;
}

/* The slot holding md, or the empty slot where it would go. */
static size_t hashset_probe(const struct hashset *s, const unsigned char *md)
{
	size_t i = hashset_home(s, md);

	while (s->slots[i].used && memcmp(s->slots[i].md, md, HASHSET_MD_LEN) != 0)
		i = (i + 1) & s->mask;
	return i;
}

/* Empties slot i, then moves back each later member of the run whose home
 * is not between the hole and itself, so no probe run is broken. */
static void hashset_delete_slot(struct hashset *s, size_t i)
{
	size_t j = i;

	s->slots[i].used = 0;
	for (;;) {
		j = (j + 1) & s->mask;
		if (!s->slots[j].used)
			return;
		size_t dist = (j - hashset_home(s, s->slots[j].md)) & s->mask;
		if (dist >= ((j - i) & s->mask)) {
			s->slots[i] = s->slots[j];
			s->slots[j].used = 0;
			i = j;
		}
	}
}

int hashset_has(struct hashset *s, const char *hex)
{
	unsigned char md[HASHSET_MD_LEN];
	int r;

	if (hash_unhex(hex, md) < 0)
		return 0;
	pthread_mutex_lock(&s->mu);
	r = s->slots[hashset_probe(s, md)].used;
	pthread_mutex_unlock(&s->mu);
	return r;
}

void hashset_add(struct hashset *s, const char *hex)
{
	unsigned char md[HASHSET_MD_LEN];
	size_t i;

	if (hash_unhex(hex, md) < 0)
		return;
	pthread_mutex_lock(&s->mu);
	i = hashset_probe(s, md);
	if (!s->slots[i].used && s->n == s->max) {
		memset(s->slots, 0, (s->mask + 1) * sizeof(*s->slots));
		s->n = 0;
		i = hashset_probe(s, md);
	}
	if (!s->slots[i].used) {
		memcpy(s->slots[i].md, md, HASHSET_MD_LEN);
		s->slots[i].used = 1;
		s->n++;
	}
	pthread_mutex_unlock(&s->mu);
}

void hashset_remove(struct hashset *s, const char *hex)
{
	unsigned char md[HASHSET_MD_LEN];
	size_t i;

	if (hash_unhex(hex, md) < 0)
		return;
	pthread_mutex_lock(&s->mu);
	i = hashset_probe(s, md);
	if (s->slots[i].used) {
		hashset_delete_slot(s, i);
		s->n--;
	}
	pthread_mutex_unlock(&s->mu);
}

size_t hashset_size(struct hashset *s)
{
	size_t n;

	pthread_mutex_lock(&s->mu);
	n = s->n;
	pthread_mutex_unlock(&s->mu);
	return n;
}
