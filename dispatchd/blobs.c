#include "blobs.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"

#include "banned.h"

void blobs_init(struct blobs *b)
{
	memset(b, 0, sizeof(*b));
}

void blobs_release(struct blobs *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->items[i].data);
	free(b->items);
	blobs_init(b);
}

/* A new blob named hash, its data still to be set. */
static struct blob *blobs_append(struct blobs *b, const char *hash)
{
	struct blob *bl;

	if (b->n == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->items = xrealloc(b->items, b->cap * sizeof(*b->items));
	}
	bl = &b->items[b->n++];
	memcpy(bl->hash, hash, HASH_HEX_LEN + 1);
	b->sealed = 0;
	return bl;
}

static void blobs_put(struct blobs *b, const char *hash, const char *data, size_t len)
{
	struct blob *bl = blobs_append(b, hash);

	bl->data = xstrndup(data, len);
	bl->len = len;
}

int blobs_add(struct blobs *b, const char *hash, const char *data, size_t len, struct err *e)
{
	char got[HASH_HEX_LEN + 1];

	if (!hash_is_valid(hash))
		return err_set(e, "blob/%.80s: name is not a SHA-256 in lower-case hex", hash);
	hash_buf(data, len, got);
	if (strcmp(got, hash) != 0)
		return err_set(e, "blob/%s: content hashes to %s", hash, got);
	blobs_put(b, hash, data, len);
	return 0;
}

void blobs_add_content(struct blobs *b, const char *data, size_t len,
		       char ret_hash[HASH_HEX_LEN + 1])
{
	hash_buf(data, len, ret_hash);
	blobs_put(b, ret_hash, data, len);
}

void blobs_take(struct blobs *b, const char *hash, struct buf *data)
{
	struct blob *bl = blobs_append(b, hash);

	bl->data = buf_detach(data, &bl->len);
}

static int blob_cmp(const void *a, const void *b)
{
	return strcmp(((const struct blob *)a)->hash, ((const struct blob *)b)->hash);
}

void blobs_seal(struct blobs *b)
{
	size_t w = 0;

	if (b->n)
		qsort(b->items, b->n, sizeof(*b->items), blob_cmp);
	/* Same name, same content: keep one copy. */
	for (size_t i = 0; i < b->n; i++) {
		if (w > 0 && strcmp(b->items[w - 1].hash, b->items[i].hash) == 0) {
			free(b->items[i].data);
			continue;
		}
		b->items[w++] = b->items[i];
	}
	b->n = w;
	b->sealed = 1;
}

const struct blob *blobs_find(const struct blobs *b, const char *hash)
{
	struct blob key;

	if (!b->sealed || !b->n || !hash_is_valid(hash))
		return NULL;
	memcpy(key.hash, hash, HASH_HEX_LEN + 1);
	return bsearch(&key, b->items, b->n, sizeof(*b->items), blob_cmp);
}
