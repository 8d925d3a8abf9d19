/* The dispatcher's per-volunteer memory of which blobs it holds: a bounded
 * set of digests that forgets everything rather than grow. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../dispatchd/hashset.c"

/* Digest number i in hex. With collide, the digests share their first 8
 * bytes (the table's hash), all of them 0xff: every one starts probing at
 * the last slot, so the probe runs are long and wrap around. */
static void digest(unsigned i, int collide, char hex[HASH_HEX_LEN + 1])
{
	unsigned char md[HASHSET_MD_LEN];

	memset(md, 0, sizeof(md));
	memset(md, 0xff, 8);
	for (int k = 0; k < 4; k++)
		md[HASHSET_MD_LEN - 1 - k] = (unsigned char)(i >> (8 * k));
	if (!collide)
		hash_buf(md, sizeof(md), hex);
	else
		hash_hex(md, sizeof(md), hex);
}

Test(hashset, add_has_remove)
{
	struct hashset *s = hashset_new(16);
	char a[HASH_HEX_LEN + 1], b[HASH_HEX_LEN + 1];

	digest(1, 0, a);
	digest(2, 0, b);
	cr_assert_not(hashset_has(s, a));
	hashset_add(s, a);
	cr_assert(hashset_has(s, a));
	cr_assert_not(hashset_has(s, b));
	hashset_add(s, a);
	cr_assert_eq(hashset_size(s), 1, "a digest added twice is one member");
	hashset_add(s, b);
	cr_assert_eq(hashset_size(s), 2);
	hashset_remove(s, a);
	cr_assert_not(hashset_has(s, a));
	cr_assert(hashset_has(s, b));
	hashset_remove(s, a);
	cr_assert_eq(hashset_size(s), 1, "removing a non-member changes nothing");
	hashset_free(s);
	hashset_free(NULL);
}

Test(hashset, invalid_hex_is_never_a_member)
{
	struct hashset *s = hashset_new(16);
	char a[HASH_HEX_LEN + 1], upper[HASH_HEX_LEN + 1];
	const char *bad[] = {"", "abc", "not a hash", NULL};

	digest(1, 0, a);
	memcpy(upper, a, sizeof(upper));
	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	for (int i = 0; bad[i]; i++) {
		hashset_add(s, bad[i]);
		cr_assert_not(hashset_has(s, bad[i]));
	}
	hashset_add(s, NULL);
	cr_assert_not(hashset_has(s, NULL));
	hashset_add(s, upper);
	cr_assert_not(hashset_has(s, upper), "upper case is not a valid name");
	cr_assert_eq(hashset_size(s), 0);

	hashset_add(s, a);
	hashset_remove(s, upper);
	hashset_remove(s, NULL);
	cr_assert(hashset_has(s, a), "an invalid name removes nothing");
	cr_assert_eq(hashset_size(s), 1);
	hashset_free(s);
}

Test(hashset, full_set_is_emptied_before_an_add)
{
	struct hashset *s = hashset_new(4);
	char d[6][HASH_HEX_LEN + 1];

	for (unsigned i = 0; i < 6; i++)
		digest(i, 0, d[i]);
	for (unsigned i = 0; i < 4; i++)
		hashset_add(s, d[i]);
	cr_assert_eq(hashset_size(s), 4);
	hashset_add(s, d[2]);
	cr_assert_eq(hashset_size(s), 4, "adding a member to a full set keeps it");
	cr_assert(hashset_has(s, d[0]));

	hashset_add(s, d[4]);
	cr_assert_eq(hashset_size(s), 1);
	cr_assert(hashset_has(s, d[4]));
	for (unsigned i = 0; i < 4; i++)
		cr_assert_not(hashset_has(s, d[i]), "digest %u forgotten", i);
	hashset_add(s, d[5]);
	cr_assert_eq(hashset_size(s), 2);
	hashset_free(s);
}

Test(hashset, zero_max_holds_one)
{
	struct hashset *s = hashset_new(0);
	char a[HASH_HEX_LEN + 1], b[HASH_HEX_LEN + 1];

	digest(1, 0, a);
	digest(2, 0, b);
	hashset_add(s, a);
	cr_assert(hashset_has(s, a));
	hashset_add(s, b);
	cr_assert(hashset_has(s, b));
	cr_assert_not(hashset_has(s, a));
	hashset_free(s);
}

/* Random adds and removes against a plain array of flags. With collide,
 * every digest has the same home slot, so each removal must shift a run. */
static void check_against_reference(int collide, unsigned universe, size_t max, int ops)
{
	struct hashset *s = hashset_new(max);
	char(*d)[HASH_HEX_LEN + 1] = xcalloc(universe, sizeof(*d));
	unsigned char *ref = xcalloc(universe, 1);
	unsigned seed = 42;
	size_t n = 0;

	for (unsigned i = 0; i < universe; i++)
		digest(i, collide, d[i]);
	for (int op = 0; op < ops; op++) {
		unsigned i = (unsigned)rand_r(&seed) % universe;
		if (rand_r(&seed) % 3) {
			if (!ref[i] && n == max) {
				memset(ref, 0, universe);
				n = 0;
			}
			n += !ref[i];
			ref[i] = 1;
			hashset_add(s, d[i]);
		} else {
			n -= ref[i];
			ref[i] = 0;
			hashset_remove(s, d[i]);
		}
		if (op % 97 == 0 || op == ops - 1) {
			for (unsigned k = 0; k < universe; k++)
				cr_assert_eq(hashset_has(s, d[k]), ref[k], "op %d: digest %u", op,
					     k);
		}
		cr_assert_eq(hashset_size(s), n, "op %d", op);
	}
	free(d);
	free(ref);
	hashset_free(s);
}

Test(hashset, many_adds_and_removes_match_a_reference)
{
	check_against_reference(0, 3000, 1000, 40000);
}

Test(hashset, colliding_digests_match_a_reference)
{
	check_against_reference(1, 64, 40, 20000);
}

struct worker {
	struct hashset *s;
	unsigned base;
	int bad;
};

/* Each thread owns its own digests, so it knows exactly what it should see. */
static void *worker(void *arg)
{
	struct worker *w = arg;
	char hex[HASH_HEX_LEN + 1];

	for (unsigned i = 0; i < 2000; i++) {
		digest(w->base + i, 0, hex);
		hashset_add(w->s, hex);
		if (!hashset_has(w->s, hex))
			w->bad++;
		hashset_remove(w->s, hex);
		if (hashset_has(w->s, hex))
			w->bad++;
	}
	return NULL;
}

Test(hashset, threads_need_no_lock_of_their_own)
{
	struct hashset *s = hashset_new(1 << 16);
	struct worker w[4];
	pthread_t t[4];

	for (unsigned k = 0; k < 4; k++) {
		w[k] = (struct worker){.s = s, .base = 100000 * k};
		cr_assert_eq(pthread_create(&t[k], NULL, worker, &w[k]), 0);
	}
	for (unsigned k = 0; k < 4; k++) {
		pthread_join(t[k], NULL);
		cr_assert_eq(w[k].bad, 0, "thread %u", k);
	}
	cr_assert_eq(hashset_size(s), 0);
	hashset_free(s);
}
