#include "toolhash.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "log.h"

#include "banned.h"

#define TOOLHASH_FILE "toolhash"
/* A bigger cache is ignored (and not appended to); it holds two lines per
 * toolchain ever used, so this is reached only by something going wrong. */
#define TOOLHASH_MAX_BYTES (4u << 20)
#define TOOLHASH_LINE_MAX 8192

struct toolhash_key {
	uintmax_t dev, ino, size, mtime_ns;
};

static void toolhash_key_from(const struct stat *st, struct toolhash_key *k)
{
	k->dev = (uintmax_t)st->st_dev;
	k->ino = (uintmax_t)st->st_ino;
	k->size = (uintmax_t)st->st_size;
	k->mtime_ns = (uintmax_t)st->st_mtim.tv_sec * 1000000000u + (uintmax_t)st->st_mtim.tv_nsec;
}

static int toolhash_key_eq(const struct toolhash_key *a, const struct toolhash_key *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime_ns == b->mtime_ns;
}

/* Parses one line; returns 0 and the hash if it is well formed and matches. */
static int toolhash_line_match(const char *line, const struct toolhash_key *want,
			       char hex[HASH_HEX_LEN + 1])
{
	struct toolhash_key k;
	char h[HASH_HEX_LEN + 1];
	int n = 0;

	if (sscanf(line, "%ju %ju %ju %ju %64s %n", &k.dev, &k.ino, &k.size, &k.mtime_ns, h, &n) <
		5 ||
	    n == 0 || !hash_is_valid(h) || !toolhash_key_eq(&k, want))
		return -1;
	memcpy(hex, h, sizeof(h));
	return 0;
}

/* Looks key up in the cache text. The last complete matching line wins. */
static int toolhash_lookup(const struct buf *text, const struct toolhash_key *key,
			   char hex[HASH_HEX_LEN + 1])
{
	const char *p = text->data, *end = text->data + text->len;
	int found = -1;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char line[TOOLHASH_LINE_MAX];

		if (!nl)
			break; /* a torn last line */
		if ((size_t)(nl - p) < sizeof(line)) {
			memcpy(line, p, (size_t)(nl - p));
			line[nl - p] = '\0';
			if (toolhash_line_match(line, key, hex) == 0)
				found = 0;
		}
		p = nl + 1;
	}
	return found;
}

static void toolhash_append(const char *file, const struct toolhash_key *k, const char *hex,
			    const char *tool_path)
{
	char *line = xasprintf("%ju %ju %ju %ju %s %s\n", k->dev, k->ino, k->size, k->mtime_ns, hex,
			       tool_path);
	size_t len = strlen(line);
	int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

	if (fd < 0 || strchr(tool_path, '\n') || len >= TOOLHASH_LINE_MAX) {
		log_debug("toolhash: not caching in %s: %s", file,
			  fd < 0 ? strerror(errno) : "unusual path");
	} else if (write(fd, line, len) != (ssize_t)len) {
		log_debug("toolhash: %s: write failed", file);
	}
	if (fd >= 0)
		close(fd);
	free(line);
}

static int toolhash_unchanged(const char *tool_path, const struct toolhash_key *key)
{
	struct toolhash_key now;
	struct stat st;

	if (stat(tool_path, &st) < 0)
		return 0;
	toolhash_key_from(&st, &now);
	return toolhash_key_eq(key, &now);
}

int toolhash_get(const char *tool_path, const char *cache_dir, char hex[HASH_HEX_LEN + 1],
		 struct err *e)
{
	struct toolhash_key key;
	struct stat st;
	struct buf text;
	struct err ce = {0};
	char *file = NULL;
	int r = -1, cached = 0;

	buf_init(&text);
	if (stat(tool_path, &st) < 0) {
		err_errno(e, errno, "%s: stat", tool_path);
		goto out;
	}
	toolhash_key_from(&st, &key);
	if (cache_dir) {
		file = xasprintf("%s/" TOOLHASH_FILE, cache_dir);
		if (fs_read_file(file, TOOLHASH_MAX_BYTES, &text, &ce) == 0)
			cached = 1;
		else if (access(file, F_OK) < 0 && errno == ENOENT)
			cached = fs_mkdir_p(cache_dir, 0755, &ce) == 0;
		if (!cached)
			log_debug("toolhash: cache unusable: %s", err_msg(&ce));
	}
	if (cached && toolhash_lookup(&text, &key, hex) == 0) {
		r = 0;
		goto out;
	}
	if ((r = hash_file(tool_path, hex, e)) < 0)
		goto out;
	/* Only record the hash if the file did not change while we read it. */
	if (cached && toolhash_unchanged(tool_path, &key))
		toolhash_append(file, &key, hex, tool_path);
out:
	buf_release(&text);
	free(file);
	return r;
}
