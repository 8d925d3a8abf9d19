#ifndef GODISTCC_TOOLHASH_H
#define GODISTCC_TOOLHASH_H
/*
 * Toolchain identity: the SHA-256 of the tool binary, cached so that the
 * 25 MB compile binary is not hashed again for every job. The cache is one
 * append-only text file, cache_dir/toolhash, with lines
 *
 *     <dev> <ino> <size> <mtime_ns> <sha256> <path>
 *
 * A line is a hit when all four stat fields equal the tool's current ones
 * (the path is for humans). A miss hashes the file and appends one line with
 * a single O_APPEND write(2), so concurrent shims never interleave partial
 * lines; duplicates are harmless. Torn or foreign lines are ignored.
 * A cache that cannot be read or written only costs the hashing: it never
 * fails the lookup.
 */
#include "hash.h"

struct err;

/* cache_dir may be NULL (no caching). Fails only if the tool itself cannot
 * be stat'ed or read. */
int toolhash_get(const char *tool_path, const char *cache_dir, char hex[HASH_HEX_LEN + 1],
		 struct err *e);

#endif
