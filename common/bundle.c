#include "bundle.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "buf.h"
#include "err.h"

#include "banned.h"

#define BUNDLE_ZSTD_LEVEL_MAX 19
/* Decompressed bytes handed to libarchive per read callback. */
#define BUNDLE_CHUNK (128u << 10)
/*
 * What a tar stream holds besides entry data: per entry a header block, a
 * pax header for names over 100 bytes and padding to 512 (under 2 KiB for
 * our names; 4 KiB leaves room), then the end-of-archive marker and block
 * padding. Only with this slack can the decompressed stream itself be
 * capped, and it must be: libarchive parses some headers (GNU sparse maps)
 * into lists that grow with the stream, before we see the entry.
 */
#define BUNDLE_ENTRY_OVERHEAD 4096u
#define BUNDLE_STREAM_SLACK (1u << 20)
/*
 * zstd allocates the window a frame header declares, so a peer could make
 * us allocate 2 GiB with a few bytes. Levels up to 19 use at most 2^23.
 */
#define BUNDLE_ZSTD_WINDOW_LOG_MAX 24
/* A tar stream ends with two 512-byte blocks of zeros. */
#define BUNDLE_END_MARKER 1024

static const unsigned char bundle_zstd_magic[4] = {0x28, 0xb5, 0x2f, 0xfd};

int bundle_name_is_valid(const char *name)
{
	size_t len, comp = 0;

	if (!name || name[0] == '/')
		return 0;
	len = strlen(name);
	if (len == 0 || len > BUNDLE_NAME_MAX)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		char c = name[i];
		if (c == '/' || c == '\0') {
			const char *p = name + i - comp;
			if (comp == 0 || (comp == 1 && p[0] == '.') ||
			    (comp == 2 && p[0] == '.' && p[1] == '.'))
				return 0;
			comp = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return 0;
		comp++;
	}
	return 1;
}

/* A hostile name goes into messages that travel back to the client:
 * keep it printable and short. */
static const char *bundle_quote(const char *name, char *out, size_t size)
{
	size_t i;

	if (!name)
		name = "(null)";
	for (i = 0; name[i] && i + 4 < size; i++)
		out[i] = (name[i] > 0x20 && name[i] < 0x7f) ? name[i] : '?';
	if (name[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

/* --- writing --- */

struct bundle_writer {
	struct archive *a;
	struct buf out;
	int done; /* finished or failed: only free is allowed */
};

static la_ssize_t bundle_write_cb(struct archive *a, void *opaque, const void *data, size_t len)
{
	struct bundle_writer *w = opaque;

	(void)a;
	buf_add(&w->out, data, len);
	return (la_ssize_t)len;
}

static int bundle_writer_setup(struct bundle_writer *w, enum bundle_flags flags, int level,
			       struct err *e)
{
	char lvl[16];

	if (archive_write_set_format_pax_restricted(w->a) != ARCHIVE_OK)
		goto fail;
	/* Without this, libarchive pads the stream to 10 KiB blocks. */
	if (archive_write_set_bytes_in_last_block(w->a, 1) != ARCHIVE_OK)
		goto fail;
	if (flags & BUNDLE_ZSTD) {
		snprintf(lvl, sizeof(lvl), "%d", level);
		if (archive_write_add_filter_zstd(w->a) != ARCHIVE_OK ||
		    archive_write_set_filter_option(w->a, "zstd", "compression-level", lvl) !=
			ARCHIVE_OK)
			goto fail;
	}
	if (archive_write_open(w->a, w, NULL, bundle_write_cb, NULL) != ARCHIVE_OK)
		goto fail;
	return 0;
fail:
	return err_set(e, "bundle: cannot set up writer: %s", archive_error_string(w->a));
}

struct bundle_writer *bundle_writer_new(enum bundle_flags flags, int level, struct err *e)
{
	struct bundle_writer *w = NULL;

	if ((flags & BUNDLE_ZSTD) && (level < 1 || level > BUNDLE_ZSTD_LEVEL_MAX)) {
		err_set(e, "bundle: zstd level %d is outside 1..%d", level, BUNDLE_ZSTD_LEVEL_MAX);
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	buf_init(&w->out);
	w->a = archive_write_new();
	if (!w->a) {
		err_set(e, "bundle: cannot set up writer: out of memory");
		goto fail;
	}
	if (bundle_writer_setup(w, flags, level, e) < 0)
		goto fail;
	return w;
fail:
	bundle_writer_free(w);
	return NULL;
}

static int bundle_write_data(struct bundle_writer *w, const char *name, const void *data,
			     size_t len, struct err *e)
{
	const char *p = data;

	while (len > 0) {
		la_ssize_t n = archive_write_data(w->a, p, len);
		if (n <= 0)
			return err_set(e, "bundle: writing entry '%s': %s", name,
				       n < 0 ? archive_error_string(w->a) : "no progress");
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int bundle_writer_add(struct bundle_writer *w, const char *name, const void *data, size_t len,
		      struct err *e)
{
	struct archive_entry *ent = NULL;
	int r;

	if (w->done)
		return err_set(e, "bundle: writer is finished");
	if (!bundle_name_is_valid(name)) {
		char q[BUNDLE_NAME_MAX + 8];
		return err_set(e, "bundle: invalid entry name '%s'",
			       bundle_quote(name, q, sizeof(q)));
	}
	ent = archive_entry_new();
	if (!ent) {
		r = err_set(e, "bundle: out of memory");
		goto out;
	}
	archive_entry_set_pathname(ent, name);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0644);
	archive_entry_set_size(ent, (la_int64_t)len);
	if (archive_write_header(w->a, ent) != ARCHIVE_OK) {
		r = err_set(e, "bundle: writing entry '%s': %s", name, archive_error_string(w->a));
		goto out;
	}
	r = bundle_write_data(w, name, data, len, e);
out:
	if (r < 0)
		w->done = 1; /* libarchive's state is unknown now */
	archive_entry_free(ent);
	return r;
}

int bundle_writer_finish(struct bundle_writer *w, char **ret_data, size_t *ret_len, struct err *e)
{
	if (w->done)
		return err_set(e, "bundle: writer is finished");
	w->done = 1;
	if (archive_write_close(w->a) != ARCHIVE_OK)
		return err_set(e, "bundle: finishing: %s", archive_error_string(w->a));
	*ret_data = buf_detach(&w->out, ret_len);
	return 0;
}

void bundle_writer_free(struct bundle_writer *w)
{
	if (!w)
		return;
	if (w->a)
		archive_write_free(w->a);
	buf_release(&w->out);
	free(w);
}

/* --- reading --- */

struct bundle_reader {
	struct archive *a;
	struct bundle_limits lim;
	const unsigned char *src; /* borrowed */
	size_t src_len, src_pos;
	ZSTD_DStream *zs; /* NULL when the stream is not compressed */
	int zs_in_frame;
	unsigned char *chunk; /* decompressed bytes for libarchive */
	size_t produced, stream_max;
	size_t entries, total;
	struct buf data;
	struct err stream_err; /* why the read callback failed */
	int state;	       /* 0 reading, 1 at the end, -1 failed */
};

static size_t bundle_sat_add(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static size_t bundle_stream_max(const struct bundle_limits *lim)
{
	size_t headers = lim->max_entries > SIZE_MAX / BUNDLE_ENTRY_OVERHEAD
			     ? SIZE_MAX
			     : lim->max_entries * BUNDLE_ENTRY_OVERHEAD;

	return bundle_sat_add(bundle_sat_add(lim->max_total, headers), BUNDLE_STREAM_SLACK);
}

static int bundle_inflate(struct bundle_reader *r, size_t *ret_n)
{
	ZSTD_outBuffer out = {r->chunk, BUNDLE_CHUNK, 0};

	while (out.pos == 0) {
		if (r->src_pos == r->src_len) {
			if (r->zs_in_frame)
				return err_set(&r->stream_err, "bundle: truncated zstd stream");
			break;
		}
		ZSTD_inBuffer in = {r->src, r->src_len, r->src_pos};
		size_t ret = ZSTD_decompressStream(r->zs, &out, &in);
		if (ZSTD_isError(ret))
			return err_set(&r->stream_err, "bundle: corrupt zstd stream: %s",
				       ZSTD_getErrorName(ret));
		r->src_pos = in.pos;
		r->zs_in_frame = ret != 0;
	}
	*ret_n = out.pos;
	return 0;
}

/*
 * libarchive's source. We decompress here rather than with libarchive's zstd
 * filter so that the running total of decompressed bytes is checked as they
 * are produced, whatever part of libarchive asks for them.
 */
/* The arguments of "%s%s%s": " (NAME)" after a limit's number in a
 * message, when the caller named the limit. */
#define BUNDLE_CAP(name) (name) ? " (" : "", (name) ? (name) : "", (name) ? ")" : ""

static la_ssize_t bundle_read_cb(struct archive *a, void *opaque, const void **ret_buf)
{
	struct bundle_reader *r = opaque;
	size_t n = 0;

	if (r->zs) {
		if (bundle_inflate(r, &n) < 0)
			goto fail;
		*ret_buf = r->chunk;
	} else {
		n = r->src_len - r->src_pos < BUNDLE_CHUNK ? r->src_len - r->src_pos : BUNDLE_CHUNK;
		*ret_buf = r->src + r->src_pos;
		r->src_pos += n;
	}
	r->produced += n;
	if (r->produced > r->stream_max) {
		err_set(&r->stream_err,
			"bundle: stream decompresses to over %zu bytes, past the %zu-byte total "
			"limit%s%s%s plus tar headers",
			r->stream_max, r->lim.max_total, BUNDLE_CAP(r->lim.bytes_name));
		goto fail;
	}
	return (la_ssize_t)n;
fail:
	archive_set_error(a, EINVAL, "%s", err_msg(&r->stream_err));
	return ARCHIVE_FATAL;
}

/* Reports a libarchive failure, preferring what our own callback said. */
static int bundle_read_fail(struct bundle_reader *r, const char *what, struct err *e)
{
	r->state = -1;
	if (r->stream_err.set)
		return err_set(e, "%s", err_msg(&r->stream_err));
	return err_set(e, "bundle: %s: %s", what,
		       archive_error_string(r->a) ? archive_error_string(r->a) : "unknown error");
}

static int bundle_reader_open(struct bundle_reader *r, struct err *e)
{
	r->a = archive_read_new();
	if (!r->a)
		return err_set(e, "bundle: cannot set up reader: out of memory");
	if (archive_read_support_format_tar(r->a) != ARCHIVE_OK)
		return bundle_read_fail(r, "cannot set up reader", e);
	if (archive_read_open(r->a, r, NULL, bundle_read_cb, NULL) != ARCHIVE_OK)
		return bundle_read_fail(r, "not a tar stream", e);
	return 0;
}

static int bundle_reader_zstd_init(struct bundle_reader *r, struct err *e)
{
	r->zs = ZSTD_createDStream();
	if (!r->zs)
		return err_set(e, "bundle: cannot set up zstd: out of memory");
	size_t ret = ZSTD_DCtx_setParameter(r->zs, ZSTD_d_windowLogMax, BUNDLE_ZSTD_WINDOW_LOG_MAX);
	if (ZSTD_isError(ret))
		return err_set(e, "bundle: cannot set up zstd: %s", ZSTD_getErrorName(ret));
	r->chunk = xmalloc(BUNDLE_CHUNK);
	r->zs_in_frame = 1; /* the magic promises a frame */
	return 0;
}

struct bundle_reader *bundle_reader_new(const void *data, size_t len,
					const struct bundle_limits *lim, struct err *e)
{
	struct bundle_reader *r = xcalloc(1, sizeof(*r));

	r->lim = *lim;
	r->src = data;
	r->src_len = len;
	r->stream_max = bundle_stream_max(lim);
	buf_init(&r->data);
	err_clear(&r->stream_err);
	if (len >= sizeof(bundle_zstd_magic) &&
	    memcmp(data, bundle_zstd_magic, sizeof(bundle_zstd_magic)) == 0) {
		if (bundle_reader_zstd_init(r, e) < 0)
			goto fail;
	}
	if (bundle_reader_open(r, e) < 0)
		goto fail;
	return r;
fail:
	bundle_reader_free(r);
	return NULL;
}

static const char *bundle_kind(struct archive_entry *ent)
{
	if (archive_entry_hardlink(ent))
		return "hard link";
	switch (archive_entry_filetype(ent)) {
	case AE_IFREG:
		return archive_entry_symlink(ent) ? "symlink" : NULL;
	case AE_IFLNK:
		return "symlink";
	case AE_IFDIR:
		return "directory";
	case AE_IFCHR:
		return "character device";
	case AE_IFBLK:
		return "block device";
	case AE_IFIFO:
		return "fifo";
	case AE_IFSOCK:
		return "socket";
	default:
		return "special file";
	}
}

/* Checks an entry's header against the limits; sets *ret_size. */
static int bundle_check_entry(struct bundle_reader *r, struct archive_entry *ent, size_t *ret_size,
			      struct err *e)
{
	const char *name = archive_entry_pathname(ent);
	const char *kind = bundle_kind(ent);
	char q[BUNDLE_NAME_MAX + 8];
	la_int64_t size;

	if (r->entries >= r->lim.max_entries)
		return err_set(e, "bundle: more than %zu entries, over the entry-count limit%s%s%s",
			       r->lim.max_entries, BUNDLE_CAP(r->lim.entries_name));
	if (!name)
		return err_set(e, "bundle: entry %zu has no name", r->entries);
	bundle_quote(name, q, sizeof(q));
	if (kind)
		return err_set(e, "bundle: entry '%s' is a %s, not a regular file", q, kind);
	if (!bundle_name_is_valid(name))
		return err_set(e, "bundle: invalid entry name '%s'", q);
	if (archive_entry_sparse_count(ent) > 0)
		return err_set(e, "bundle: entry '%s' is sparse, not a plain file", q);
	size = archive_entry_size(ent);
	if (!archive_entry_size_is_set(ent) || size < 0)
		return err_set(e, "bundle: entry '%s' has no valid size", q);
	if ((uint64_t)size > r->lim.max_entry_size)
		return err_set(
		    e, "bundle: entry '%s' is %lld bytes, over the %zu-byte entry limit%s%s%s", q,
		    (long long)size, r->lim.max_entry_size, BUNDLE_CAP(r->lim.bytes_name));
	if ((uint64_t)size > r->lim.max_total - r->total)
		return err_set(e,
			       "bundle: entry '%s' (%lld bytes) takes the bundle over its "
			       "%zu-byte total limit%s%s%s",
			       q, (long long)size, r->lim.max_total, BUNDLE_CAP(r->lim.bytes_name));
	*ret_size = (size_t)size;
	return 0;
}

/* How much of an entry the reader reserves ahead of data that has arrived. */
#define BUNDLE_READ_STEP (1u << 20)

/*
 * The buffer grows with the data that actually arrives, not with the size
 * the header declares: a header of a few bytes may declare an entry as large
 * as the limits allow, and the stream may then end.
 */
static int bundle_read_data(struct bundle_reader *r, const char *name, size_t size, struct err *e)
{
	buf_reset(&r->data);
	while (r->data.len < size) {
		size_t want = size - r->data.len;

		if (want > BUNDLE_READ_STEP)
			want = BUNDLE_READ_STEP;
		buf_grow(&r->data, want);
		la_ssize_t n = archive_read_data(r->a, r->data.data + r->data.len, want);
		if (n < 0) {
			char what[BUNDLE_NAME_MAX + 32];

			snprintf(what, sizeof(what), "reading entry '%s'", name);
			return bundle_read_fail(r, what, e);
		}
		if (n == 0)
			return err_set(e, "bundle: entry '%s' is truncated", name);
		r->data.len += (size_t)n;
	}
	r->data.data[r->data.len] = '\0';
	return 0;
}

/*
 * libarchive reports the end of a tar stream also when it simply stops at
 * an entry boundary ("some writers omit the block of nulls"), or after one
 * of the two null blocks. Ours always write both, so anything less means a
 * truncated stream. At the end libarchive has consumed exactly the null
 * blocks it found past the position where it looked for another header.
 */
static int bundle_check_end(struct bundle_reader *r, struct err *e)
{
	la_int64_t marker = archive_filter_bytes(r->a, 0) - archive_read_header_position(r->a);

	if (marker < BUNDLE_END_MARKER) {
		r->state = -1;
		return err_set(e, "bundle: truncated stream (no end-of-archive marker)");
	}
	r->state = 1;
	return 0;
}

int bundle_reader_next(struct bundle_reader *r, const char **ret_name, const char **ret_data,
		       size_t *ret_len, struct err *e)
{
	struct archive_entry *ent;
	size_t size = 0;
	int rc;

	if (r->state < 0)
		return err_set(e, "bundle: reader failed earlier");
	if (r->state > 0)
		return 0;
	rc = archive_read_next_header(r->a, &ent);
	if (rc == ARCHIVE_EOF)
		return bundle_check_end(r, e);
	/* ARCHIVE_WARN too: a damaged header is not something to work around. */
	if (rc != ARCHIVE_OK)
		return bundle_read_fail(r, "corrupt stream", e);
	if (bundle_check_entry(r, ent, &size, e) < 0 ||
	    bundle_read_data(r, archive_entry_pathname(ent), size, e) < 0) {
		r->state = -1;
		return -1;
	}
	r->entries++;
	r->total += size;
	*ret_name = archive_entry_pathname(ent);
	*ret_data = r->data.data;
	*ret_len = r->data.len;
	return 1;
}

char *bundle_reader_take(struct bundle_reader *r, size_t *ret_len)
{
	return buf_detach(&r->data, ret_len);
}

void bundle_reader_free(struct bundle_reader *r)
{
	if (!r)
		return;
	if (r->a)
		archive_read_free(r->a);
	ZSTD_freeDStream(r->zs);
	free(r->chunk);
	buf_release(&r->data);
	free(r);
}
