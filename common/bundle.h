#ifndef GODISTCC_BUNDLE_H
#define GODISTCC_BUNDLE_H
/*
 * Bundles: the unit of transfer between shim and daemon. A bundle is a tar
 * stream (pax restricted format, libarchive), optionally compressed with
 * zstd, held in memory. Entry names are short relative names chosen by our
 * protocol ("manifest.json", "blob/<sha256>", "out/3", "stdout"); readers
 * reject anything else, so a hostile bundle cannot name a path.
 *
 * Reading auto-detects compression (zstd or none). Every size a peer
 * controls is capped by struct bundle_limits, checked before allocating:
 * a zstd bomb fails once the decompressed total passes max_total.
 */
#include <stddef.h>

struct err;

enum bundle_flags {
	BUNDLE_ZSTD = 1 << 0, /* compress the stream with zstd */
};

/* --- writing --- */
struct bundle_writer; /* opaque */

/* level: zstd level (1..19) when flags has BUNDLE_ZSTD, ignored otherwise.
 * Returns NULL only on libarchive setup failure (message in e). */
struct bundle_writer *bundle_writer_new(enum bundle_flags flags, int level, struct err *e);
/* Adds a regular file entry. name must pass bundle_name_is_valid(); data is
 * copied (the caller keeps ownership). */
int bundle_writer_add(struct bundle_writer *w, const char *name, const void *data, size_t len,
		      struct err *e);
/* Finishes the stream and hands its bytes to the caller (free() them).
 * The writer may then only be freed. */
int bundle_writer_finish(struct bundle_writer *w, char **ret_data, size_t *ret_len,
			 struct err *e);
void bundle_writer_free(struct bundle_writer *w);

/* --- reading --- */
struct bundle_limits {
	size_t max_entries;    /* entries in the bundle */
	size_t max_entry_size; /* bytes of one entry, decompressed */
	size_t max_total;      /* bytes of all entries, decompressed */
	/* The names of the caps in messages (protocol.h's constants, such
	 * as "JOB_MAX_ENTRIES"); NULL: just the numbers. */
	const char *entries_name;
	const char *bytes_name; /* of max_entry_size and max_total */
};

struct bundle_reader; /* opaque */

/* Reads from data, which stays borrowed until bundle_reader_free(). */
struct bundle_reader *bundle_reader_new(const void *data, size_t len,
					const struct bundle_limits *lim, struct err *e);
/*
 * Reads the next entry. Returns 1 with *ret_name and *ret_data (both owned by
 * the reader, valid until the next call or free; data is NUL-terminated for
 * convenience, the NUL not counted), 0 at the end, negative on a corrupt or
 * truncated stream, an invalid name, a non-regular entry (link, device,
 * directory) or a limit passed; e says which, naming the limit.
 */
int bundle_reader_next(struct bundle_reader *r, const char **ret_name, const char **ret_data,
		       size_t *ret_len, struct err *e);
/* Hands the data of the entry the last bundle_reader_next() returned to
 * the caller (free() it; NUL-terminated, the NUL not counted in
 * *ret_len) instead of copying it; the reader reads on into a new buffer. */
char *bundle_reader_take(struct bundle_reader *r, size_t *ret_len);
void bundle_reader_free(struct bundle_reader *r);

/* Entry names: 1..BUNDLE_NAME_MAX bytes of [A-Za-z0-9._/-], not starting
 * with '/', no empty, "." or ".." component. */
#define BUNDLE_NAME_MAX 128
int bundle_name_is_valid(const char *name);

#endif
