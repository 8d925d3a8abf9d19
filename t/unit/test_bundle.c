#include <archive.h>
#include <archive_entry.h>
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <zstd.h>

#include "buf.h"
#include "bundle.h"
#include "err.h"

#include "banned.h"

static const struct bundle_limits roomy = {
    .max_entries = 100000,
    .max_entry_size = 64u << 20,
    .max_total = 256u << 20,
};

/* --- helpers --- */

struct entry {
	const char *name;
	const char *data;
	size_t len;
};

/* An entry as read back: owned copies. */
struct got {
	char *name;
	char *data;
	size_t len;
};

struct bundle {
	char *data;
	size_t len;
};

static struct bundle make_bundle(enum bundle_flags flags, const struct entry *ents, size_t n)
{
	struct err e = {0};
	struct bundle_writer *w = bundle_writer_new(flags, 3, &e);
	struct bundle b;

	cr_assert_not_null(w, "%s", err_msg(&e));
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(bundle_writer_add(w, ents[i].name, ents[i].data, ents[i].len, &e), 0,
			     "%s", err_msg(&e));
	cr_assert_eq(bundle_writer_finish(w, &b.data, &b.len, &e), 0, "%s", err_msg(&e));
	bundle_writer_free(w);
	return b;
}

/* Reads a whole bundle; returns 0 and the entries, or -1 and e set. */
static void free_got(struct got *ents, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ents[i].name);
		free(ents[i].data);
	}
	free(ents);
}

static int read_all(const void *data, size_t len, const struct bundle_limits *lim, struct got **ret,
		    size_t *ret_n, struct err *e)
{
	struct bundle_reader *r = bundle_reader_new(data, len, lim, e);
	struct got *ents = NULL;
	size_t n = 0;
	int rc = -1;

	if (!r)
		return -1;
	for (;;) {
		const char *name, *d;
		size_t dlen;
		rc = bundle_reader_next(r, &name, &d, &dlen, e);
		if (rc <= 0)
			break;
		cr_assert_eq(d[dlen], '\0', "entry data not NUL-terminated");
		ents = xrealloc(ents, (n + 1) * sizeof(*ents));
		ents[n].name = xstrdup(name);
		ents[n].data = xmalloc(dlen + 1);
		memcpy(ents[n].data, d, dlen);
		ents[n].len = dlen;
		n++;
	}
	if (rc == 0) {
		/* The end is sticky. */
		const char *name, *d;
		size_t dlen;
		cr_assert_eq(bundle_reader_next(r, &name, &d, &dlen, e), 0);
	}
	bundle_reader_free(r);
	if (ret) {
		*ret = ents;
		*ret_n = n;
	} else {
		free_got(ents, n);
	}
	return rc;
}

static void round_trip(enum bundle_flags flags, const struct entry *ents, size_t n)
{
	struct bundle b = make_bundle(flags, ents, n);
	struct got *got = NULL;
	size_t ngot = 0;
	struct err e = {0};

	cr_assert_eq(read_all(b.data, b.len, &roomy, &got, &ngot, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(ngot, n);
	for (size_t i = 0; i < n; i++) {
		cr_assert_str_eq(got[i].name, ents[i].name);
		cr_assert_eq(got[i].len, ents[i].len, "%s", ents[i].name);
		cr_assert_eq(memcmp(got[i].data, ents[i].data, ents[i].len), 0, "%s", ents[i].name);
	}
	free_got(got, ngot);
	free(b.data);
}

static void expect_reject(const void *data, size_t len, const struct bundle_limits *lim,
			  const char *what)
{
	struct err e = {0};

	cr_assert_lt(read_all(data, len, lim, NULL, NULL, &e), 0, "accepted; wanted '%s'", what);
	cr_assert(strstr(err_msg(&e), what) != NULL, "want '%s' in: %s", what, err_msg(&e));
}

static char *patterned(size_t len, unsigned seed)
{
	char *p = xmalloc(len + 1);
	uint32_t x = seed * 2654435761u + 1;

	/* Half random, half runs: compressible, but not trivially. */
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (i / 4096) & 1 ? (char)('a' + i % 7) : (char)x;
	}
	p[len] = '\0';
	return p;
}

/* Raw tar streams built with libarchive directly, for what our writer refuses
 * to produce. */
static la_ssize_t raw_write_cb(struct archive *a, void *opaque, const void *data, size_t len)
{
	(void)a;
	buf_add(opaque, data, len);
	return (la_ssize_t)len;
}

static struct archive *raw_begin(struct buf *out, int zstd)
{
	struct archive *a = archive_write_new();

	cr_assert_eq(archive_write_set_format_pax_restricted(a), ARCHIVE_OK);
	cr_assert_eq(archive_write_set_bytes_in_last_block(a, 1), ARCHIVE_OK);
	if (zstd)
		cr_assert_eq(archive_write_add_filter_zstd(a), ARCHIVE_OK);
	cr_assert_eq(archive_write_open(a, out, NULL, raw_write_cb, NULL), ARCHIVE_OK);
	return a;
}

static void raw_entry(struct archive *a, const char *name, mode_t type, const char *symlink,
		      const char *hardlink, const char *data)
{
	struct archive_entry *ent = archive_entry_new();
	size_t len = data ? strlen(data) : 0;

	archive_entry_set_pathname(ent, name);
	archive_entry_set_filetype(ent, type);
	archive_entry_set_perm(ent, 0644);
	if (symlink)
		archive_entry_set_symlink(ent, symlink);
	if (hardlink)
		archive_entry_set_hardlink(ent, hardlink);
	archive_entry_set_size(ent, (la_int64_t)len);
	cr_assert_eq(archive_write_header(a, ent), ARCHIVE_OK, "%s", archive_error_string(a));
	if (len)
		cr_assert_eq(archive_write_data(a, data, len), (la_ssize_t)len);
	archive_entry_free(ent);
}

static void raw_end(struct archive *a)
{
	cr_assert_eq(archive_write_close(a), ARCHIVE_OK);
	archive_write_free(a);
}

static void expect_raw_reject(const char *name, mode_t type, const char *symlink,
			      const char *hardlink, const char *what)
{
	for (int zstd = 0; zstd <= 1; zstd++) {
		struct buf out;
		buf_init(&out);
		struct archive *a = raw_begin(&out, zstd);
		raw_entry(a, "manifest.json", AE_IFREG, NULL, NULL, "{}");
		raw_entry(a, name, type, symlink, hardlink,
			  type == AE_IFREG && !hardlink ? "x" : NULL);
		raw_end(a);
		expect_reject(out.data, out.len, &roomy, what);
		buf_release(&out);
	}
}

/* --- round trips --- */

Test(bundle, round_trip_plain_and_zstd)
{
	struct entry ents[] = {
	    {"manifest.json", "{\"protocol\": 1}", 15},
	    {"blob/ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "abc", 3},
	    {"stdout", "", 0},
	    {"out/0", "\0binary\0data\xff", 13},
	};

	round_trip(0, ents, 4);
	round_trip(BUNDLE_ZSTD, ents, 4);
}

Test(bundle, zstd_is_smaller_and_detected)
{
	char *big = patterned(1u << 20, 1);
	struct entry ents[] = {{"out/0", big, 1u << 20}};
	struct bundle plain = make_bundle(0, ents, 1);
	struct bundle z = make_bundle(BUNDLE_ZSTD, ents, 1);

	cr_assert_lt(z.len, plain.len * 3 / 4, "zstd %zu vs plain %zu", z.len, plain.len);
	cr_assert_eq(memcmp(z.data, "\x28\xb5\x2f\xfd", 4), 0, "no zstd magic");
	/* Uncompressed bundles are not padded to libarchive's 10 KiB blocks. */
	cr_assert_lt(plain.len, (1u << 20) + 4096);
	free(plain.data);
	free(z.data);
	free(big);
}

Test(bundle, empty_bundle_and_empty_entry)
{
	struct entry ents[] = {{"stderr", "", 0}};

	round_trip(0, NULL, 0);
	round_trip(BUNDLE_ZSTD, NULL, 0);
	round_trip(0, ents, 1);
	round_trip(BUNDLE_ZSTD, ents, 1);
}

Test(bundle, many_entries)
{
	size_t n = 5000;
	struct got *owned = xcalloc(n, sizeof(*owned));
	struct entry *ents = xcalloc(n, sizeof(*ents));

	for (size_t i = 0; i < n; i++) {
		owned[i].name = xasprintf("blob/%064zx", i);
		owned[i].data = xasprintf("content of entry %zu", i);
		ents[i] = (struct entry){owned[i].name, owned[i].data, strlen(owned[i].data)};
	}
	round_trip(0, ents, n);
	round_trip(BUNDLE_ZSTD, ents, n);
	free_got(owned, n);
	free(ents);
}

Test(bundle, large_entry)
{
	size_t len = (24u << 20) + 7;
	char *big = patterned(len, 2);
	struct entry ents[] = {{"manifest.json", "{}", 2}, {"out/0", big, len}, {"stdout", "x", 1}};

	round_trip(0, ents, 3);
	round_trip(BUNDLE_ZSTD, ents, 3);
	free(big);
}

Test(bundle, highest_level_is_readable)
{
	char *data = patterned(300000, 3);
	struct err e = {0};
	struct bundle_writer *w = bundle_writer_new(BUNDLE_ZSTD, 19, &e);
	struct bundle b;

	cr_assert_not_null(w, "%s", err_msg(&e));
	cr_assert_eq(bundle_writer_add(w, "out/0", data, 300000, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(bundle_writer_finish(w, &b.data, &b.len, &e), 0, "%s", err_msg(&e));
	bundle_writer_free(w);
	cr_assert_eq(read_all(b.data, b.len, &roomy, NULL, NULL, &e), 0, "%s", err_msg(&e));
	free(b.data);
	free(data);
}

/* --- the writer's own checks --- */

Test(bundle, writer_refuses_bad_names_and_levels)
{
	static const char *const bad[] = {"",	"/etc/passwd", "../x", "a/../../b", "a//b",
					  "a/", "./a",	       "a b",  "a\\b",	    "naïve"};
	struct err e = {0};
	struct bundle_writer *w;

	cr_assert_null(bundle_writer_new(BUNDLE_ZSTD, 0, &e));
	cr_assert(strstr(err_msg(&e), "zstd level 0") != NULL, "%s", err_msg(&e));
	err_clear(&e);
	cr_assert_null(bundle_writer_new(BUNDLE_ZSTD, 20, &e));
	w = bundle_writer_new(0, 0, &e); /* level is ignored without zstd */
	cr_assert_not_null(w, "%s", err_msg(&e));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		cr_assert_lt(bundle_writer_add(w, bad[i], "x", 1, &e), 0, "accepted '%s'", bad[i]);
		cr_assert(strstr(err_msg(&e), "invalid entry name") != NULL, "%s", err_msg(&e));
	}
	bundle_writer_free(w);
}

Test(bundle, writer_finish_is_final)
{
	struct err e = {0};
	struct bundle_writer *w = bundle_writer_new(0, 0, &e);
	char *data = NULL;
	size_t len = 0;

	cr_assert_eq(bundle_writer_finish(w, &data, &len, &e), 0, "%s", err_msg(&e));
	cr_assert_lt(bundle_writer_add(w, "stdout", "x", 1, &e), 0);
	cr_assert_lt(bundle_writer_finish(w, &data, &len, &e), 0);
	bundle_writer_free(w);
	bundle_writer_free(NULL);
	bundle_reader_free(NULL);
	free(data);
}

Test(bundle, name_is_valid)
{
	char longname[BUNDLE_NAME_MAX + 2];

	cr_assert(bundle_name_is_valid("manifest.json"));
	cr_assert(bundle_name_is_valid("blob/ba7816bf"));
	cr_assert(bundle_name_is_valid("out/3"));
	cr_assert(bundle_name_is_valid("a/b.c/d-e_f"));
	cr_assert(bundle_name_is_valid("..a/b..")); /* dots inside a name are fine */
	cr_assert_not(bundle_name_is_valid(NULL));
	cr_assert_not(bundle_name_is_valid(""));
	cr_assert_not(bundle_name_is_valid("/"));
	cr_assert_not(bundle_name_is_valid("/etc/passwd"));
	cr_assert_not(bundle_name_is_valid(".."));
	cr_assert_not(bundle_name_is_valid("../x"));
	cr_assert_not(bundle_name_is_valid("a/../../b"));
	cr_assert_not(bundle_name_is_valid("a/.."));
	cr_assert_not(bundle_name_is_valid("."));
	cr_assert_not(bundle_name_is_valid("a/./b"));
	cr_assert_not(bundle_name_is_valid("a//b"));
	cr_assert_not(bundle_name_is_valid("a/"));
	cr_assert_not(bundle_name_is_valid("a\nb"));
	memset(longname, 'a', sizeof(longname) - 1);
	longname[BUNDLE_NAME_MAX] = '\0';
	cr_assert(bundle_name_is_valid(longname));
	longname[BUNDLE_NAME_MAX] = 'a';
	longname[BUNDLE_NAME_MAX + 1] = '\0';
	cr_assert_not(bundle_name_is_valid(longname));
}

/* --- hostile input --- */

Test(bundle, rejects_path_traversal_names)
{
	expect_raw_reject("../x", AE_IFREG, NULL, NULL, "invalid entry name '../x'");
	expect_raw_reject("/etc/passwd", AE_IFREG, NULL, NULL, "invalid entry name '/etc/passwd'");
	expect_raw_reject("a/../../b", AE_IFREG, NULL, NULL, "invalid entry name 'a/../../b'");
	expect_raw_reject("bad\nname", AE_IFREG, NULL, NULL, "invalid entry name 'bad?name'");
}

Test(bundle, rejects_links_directories_and_devices)
{
	expect_raw_reject("out/0", AE_IFLNK, "/etc/passwd", NULL, "'out/0' is a symlink");
	expect_raw_reject("out/0", AE_IFREG, NULL, "manifest.json", "'out/0' is a hard link");
	expect_raw_reject("out", AE_IFDIR, NULL, NULL, "is a directory");
	expect_raw_reject("out/0", AE_IFIFO, NULL, NULL, "'out/0' is a fifo");
	expect_raw_reject("out/0", AE_IFCHR, NULL, NULL, "'out/0' is a character device");
}

Test(bundle, rejects_truncated_streams)
{
	char *big = patterned(200000, 4);
	struct entry ents[] = {{"manifest.json", "{}", 2}, {"out/0", big, 200000}};

	for (int zstd = 0; zstd <= 1; zstd++) {
		struct bundle b = make_bundle(zstd ? BUNDLE_ZSTD : 0, ents, 2);
		/* Mid-data, the last byte (zstd: of the frame; plain: of the
		 * end marker), inside the first header, just after it. */
		size_t cuts[] = {b.len / 2, b.len - 1, 10, 600, b.len - 1025};
		for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
			struct err e = {0};
			cr_assert_lt(read_all(b.data, cuts[i], &roomy, NULL, NULL, &e), 0,
				     "zstd %d: accepted a cut at %zu of %zu", zstd, cuts[i], b.len);
			cr_assert(e.set);
		}
		free(b.data);
	}
	free(big);
}

Test(bundle, rejects_stream_cut_at_an_entry_boundary)
{
	struct entry ents[] = {{"manifest.json", "{}", 2}, {"stdout", "hello", 5}};
	struct bundle b = make_bundle(0, ents, 2);

	/* Without its 1024-byte end-of-archive marker, the stream ends exactly
	 * after the last entry: libarchive alone would call that a clean end. */
	expect_reject(b.data, b.len - 1024, &roomy, "truncated");
	/* And without the last entry too: a bundle silently missing entries. */
	expect_reject(b.data, b.len - 1024 - 1024, &roomy, "truncated");
	free(b.data);
}

Test(bundle, rejects_garbage)
{
	char *junk = patterned(100000, 5);
	struct err e = {0};

	cr_assert_lt(read_all(junk, 100000, &roomy, NULL, NULL, &e), 0);
	cr_assert(e.set);
	err_clear(&e);
	cr_assert_lt(read_all("", 0, &roomy, NULL, NULL, &e), 0);
	cr_assert(e.set);
	/* zstd magic followed by junk */
	memcpy(junk, "\x28\xb5\x2f\xfd", 4);
	expect_reject(junk, 100000, &roomy, "zstd");
	/* A valid zstd frame holding junk rather than tar. */
	char z[4096];
	size_t zlen = ZSTD_compress(z, sizeof(z), junk + 4, 2000, 1);
	cr_assert_not(ZSTD_isError(zlen));
	err_clear(&e);
	cr_assert_lt(read_all(z, zlen, &roomy, NULL, NULL, &e), 0);
	cr_assert(e.set);
	free(junk);
}

Test(bundle, rejects_corrupted_header)
{
	struct entry ents[] = {{"manifest.json", "{}", 2}, {"stdout", "hello", 5}};
	struct bundle b = make_bundle(0, ents, 2);

	b.data[1024 + 3] ^= 0x20; /* second header: name byte, checksum now wrong */
	expect_reject(b.data, b.len, &roomy, "bundle: corrupt stream");
	free(b.data);
}

Test(bundle, entry_over_size_limit)
{
	char *data = patterned(5000, 6);
	struct entry ents[] = {{"x", data, 5000}};
	struct bundle_limits lim = {
	    .max_entries = 10, .max_entry_size = 4096, .max_total = 1u << 20};

	for (int zstd = 0; zstd <= 1; zstd++) {
		struct bundle b = make_bundle(zstd ? BUNDLE_ZSTD : 0, ents, 1);
		struct err e = {0};
		cr_assert_lt(read_all(b.data, b.len, &lim, NULL, NULL, &e), 0);
		cr_assert_str_eq(err_msg(&e),
				 "bundle: entry 'x' is 5000 bytes, over the 4096-byte entry limit");
		lim.max_entry_size = 5000;
		cr_assert_eq(read_all(b.data, b.len, &lim, NULL, NULL, &e), 0);
		lim.max_entry_size = 4096;
		free(b.data);
	}
	free(data);
}

Test(bundle, too_many_entries)
{
	static const char *const names[] = {"out/0", "out/1", "out/2", "out/3", "out/4", "out/5",
					    "out/6", "out/7", "out/8", "out/9", "out/10"};
	struct entry ents[11];
	struct bundle_limits lim = {.max_entries = 10, .max_entry_size = 100, .max_total = 1000};

	for (size_t i = 0; i < 11; i++)
		ents[i] = (struct entry){names[i], "x", 1};
	struct bundle ten = make_bundle(0, ents, 10);
	struct bundle eleven = make_bundle(0, ents, 11);
	struct err e = {0};
	cr_assert_eq(read_all(ten.data, ten.len, &lim, NULL, NULL, &e), 0, "%s", err_msg(&e));
	expect_reject(eleven.data, eleven.len, &lim, "more than 10 entries");
	free(ten.data);
	free(eleven.data);
}

Test(bundle, total_limit)
{
	char *data = patterned(3000, 7);
	struct entry ents[] = {{"a", data, 3000}, {"b", data, 3000}, {"c", data, 3000}};
	struct bundle_limits lim = {.max_entries = 10, .max_entry_size = 4096, .max_total = 8000};
	struct bundle b = make_bundle(BUNDLE_ZSTD, ents, 3);

	expect_reject(
	    b.data, b.len, &lim,
	    "bundle: entry 'c' (3000 bytes) takes the bundle over its 8000-byte total limit");
	lim.max_total = 9000;
	struct err e = {0};
	cr_assert_eq(read_all(b.data, b.len, &lim, NULL, NULL, &e), 0, "%s", err_msg(&e));
	free(b.data);
	free(data);
}

/* A 2 GiB entry of zeros, compressed as it is produced: a few hundred KiB on
 * the wire. */
static struct buf zstd_bomb(void)
{
	static char zeros[1 << 20];
	struct buf out;
	struct archive *a;
	struct archive_entry *ent = archive_entry_new();

	buf_init(&out);
	a = raw_begin(&out, 1);
	archive_entry_set_pathname(ent, "out/0");
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0644);
	archive_entry_set_size(ent, (la_int64_t)2048 << 20);
	cr_assert_eq(archive_write_header(a, ent), ARCHIVE_OK);
	for (int i = 0; i < 2048; i++)
		cr_assert_eq(archive_write_data(a, zeros, sizeof(zeros)),
			     (la_ssize_t)sizeof(zeros));
	archive_entry_free(ent);
	raw_end(a);
	return out;
}

Test(bundle, zstd_bomb_fails_on_limits, .timeout = 120)
{
	struct buf bomb = zstd_bomb();
	struct bundle_limits lim = {
	    .max_entries = 10, .max_entry_size = 64u << 20, .max_total = 128u << 20};

	cr_assert_lt(bomb.len, 1u << 20, "bomb is %zu bytes", bomb.len);
	expect_reject(
	    bomb.data, bomb.len, &lim,
	    "bundle: entry 'out/0' is 2147483648 bytes, over the 67108864-byte entry limit");
	lim.max_entry_size = SIZE_MAX;
	expect_reject(bomb.data, bomb.len, &lim,
		      "bundle: entry 'out/0' (2147483648 bytes) takes the bundle over its "
		      "134217728-byte total limit");
	buf_release(&bomb);
}

static void tar_octal(char *field, size_t width, unsigned long long v)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%0*llo", (int)(width - 1), v);
	memcpy(field, tmp, width - 1);
}

/*
 * An old GNU sparse entry whose map goes on for `blocks` extension blocks.
 * libarchive turns each map item into an allocation while parsing the
 * header, before the reader sees the entry; repeated blocks compress to
 * almost nothing. Only a cap on the decompressed stream stops this.
 */
static struct buf sparse_map_bomb(size_t blocks)
{
	unsigned char hdr[512] = {0}, ext[512] = {0};
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	char zout[1 << 16];
	struct buf out;
	unsigned sum = 0;

	memcpy(hdr, "out/0", 5);
	tar_octal((char *)hdr + 100, 8, 0644);
	tar_octal((char *)hdr + 108, 8, 0);
	tar_octal((char *)hdr + 116, 8, 0);
	tar_octal((char *)hdr + 124, 12, 0);
	tar_octal((char *)hdr + 136, 12, 0);
	hdr[156] = 'S';
	memcpy(hdr + 257, "ustar  ", 8);
	tar_octal((char *)hdr + 386, 12, 1);
	tar_octal((char *)hdr + 398, 12, 1);
	hdr[482] = 1;
	tar_octal((char *)hdr + 483, 12, 2);
	memset(hdr + 148, ' ', 8);
	for (size_t i = 0; i < 512; i++)
		sum += hdr[i];
	snprintf((char *)hdr + 148, 8, "%06o", sum);
	for (int i = 0; i < 21; i++) {
		tar_octal((char *)ext + i * 24, 12, 1);
		tar_octal((char *)ext + i * 24 + 12, 12, 1);
	}
	ext[504] = 1;

	buf_init(&out);
	for (size_t i = 0; i <= blocks; i++) {
		ZSTD_inBuffer in = {i == 0 ? hdr : ext, 512, 0};
		ZSTD_EndDirective end = i == blocks ? ZSTD_e_end : ZSTD_e_continue;
		size_t left;
		do {
			ZSTD_outBuffer o = {zout, sizeof(zout), 0};
			left = ZSTD_compressStream2(cctx, &o, &in, end);
			cr_assert_not(ZSTD_isError(left));
			buf_add(&out, zout, o.pos);
		} while (in.pos < in.size || (end == ZSTD_e_end && left != 0));
	}
	ZSTD_freeCCtx(cctx);
	return out;
}

Test(bundle, header_bomb_stops_at_stream_cap, .timeout = 60)
{
	/* 256 MiB of sparse map: unchecked, about 600 MiB of small allocations. */
	struct buf bomb = sparse_map_bomb((256u << 20) / 512);
	struct bundle_limits lim = {
	    .max_entries = 16, .max_entry_size = 1u << 20, .max_total = 1u << 20};

	cr_assert_lt(bomb.len, 4u << 20, "bomb is %zu bytes", bomb.len);
	expect_reject(bomb.data, bomb.len, &lim,
		      "past the 1048576-byte total limit plus tar headers");
	buf_release(&bomb);
}

/*
 * A plain tar header that declares a 1 GiB entry, followed by only one block
 * of data: a request of a few hundred bytes. The reader must not reserve the
 * declared size before the data arrives. Outside AddressSanitizer (which
 * reserves terabytes of shadow memory) the address space is capped at 512 MiB,
 * so a reservation would abort the test instead of failing the read.
 */
Test(bundle, declared_size_is_not_reserved_up_front)
{
	unsigned char t[3 * 512] = {0};
	struct bundle_limits lim = {
	    .max_entries = 16, .max_entry_size = 2u << 30, .max_total = 2u << 30};
	unsigned sum = 0;

#ifndef __SANITIZE_ADDRESS__
	struct rlimit as = {512u << 20, 512u << 20};
	cr_assert_eq(setrlimit(RLIMIT_AS, &as), 0);
#endif
	memcpy(t, "out/0", 5);
	tar_octal((char *)t + 100, 8, 0644);
	tar_octal((char *)t + 108, 8, 0);
	tar_octal((char *)t + 116, 8, 0);
	tar_octal((char *)t + 124, 12, 1ull << 30);
	tar_octal((char *)t + 136, 12, 0);
	t[156] = '0';
	memcpy(t + 257, "ustar", 6);
	memcpy(t + 263, "00", 2);
	memset(t + 148, ' ', 8);
	for (size_t i = 0; i < 512; i++)
		sum += t[i];
	snprintf((char *)t + 148, 8, "%06o", sum);
	memset(t + 512, 'x', 1024);
	expect_reject(t, sizeof(t), &lim, "out/0");
}

Test(bundle, zstd_frame_with_huge_window_is_refused)
{
	struct entry ents[] = {{"stdout", "hello", 5}};
	struct bundle plain = make_bundle(0, ents, 1);
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	char z[1 << 16];
	ZSTD_outBuffer o = {z, sizeof(z), 0};

	/* A frame that asks the reader for a 64 MiB window: within zstd's own
	 * default limit, far more than our writer ever needs. */
	cr_assert_not(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, 26)));
	cr_assert_not(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)));
	ZSTD_inBuffer in = {plain.data, plain.len, 0};
	cr_assert_not(ZSTD_isError(ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_continue)));
	ZSTD_inBuffer none = {NULL, 0, 0};
	cr_assert_eq(ZSTD_compressStream2(cctx, &o, &none, ZSTD_e_end), 0);
	ZSTD_freeCCtx(cctx);
	expect_reject(z, o.pos, &roomy, "too much memory");
	free(plain.data);
}

Test(bundle, failure_is_sticky)
{
	struct entry ents[] = {{"a", "1", 1}, {"b", "22", 2}, {"c", "3", 1}};
	struct bundle_limits lim = {.max_entries = 10, .max_entry_size = 1, .max_total = 100};
	struct bundle b = make_bundle(0, ents, 3);
	struct err e = {0};
	struct bundle_reader *r = bundle_reader_new(b.data, b.len, &lim, &e);
	const char *name, *data;
	size_t len;

	cr_assert_not_null(r, "%s", err_msg(&e));
	cr_assert_eq(bundle_reader_next(r, &name, &data, &len, &e), 1);
	cr_assert_str_eq(name, "a");
	cr_assert_lt(bundle_reader_next(r, &name, &data, &len, &e), 0);
	cr_assert_lt(bundle_reader_next(r, &name, &data, &len, NULL), 0,
		     "reading went on past a rejected entry");
	bundle_reader_free(r);
	free(b.data);
}
