#include "goarchive.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"

#include "banned.h"

#define AR_MAGIC "!<arch>\n"
#define AR_MAGIC_LEN 8
#define AR_HDR_LEN 60
#define AR_SIZE_OFF 48 /* the decimal size field: 10 bytes */
#define AR_SIZE_LEN 10
#define GOARCHIVE_PREFIX (AR_MAGIC_LEN + AR_HDR_LEN)
#define GOARCHIVE_PKGDEF "__.PKGDEF"

static int goarchive_pread(int fd, void *dst, size_t len, off_t off, const char *path,
			   struct err *e)
{
	char *p = dst;

	while (len > 0) {
		ssize_t n = pread(fd, p, len, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(e, errno, "%s: read", path);
		if (n == 0)
			return err_set(e, "%s: not a Go archive: truncated", path);
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

/*
 * libarchive parses numbers leniently ("12x" is 12, "abc" is 0); a size
 * field that is not digits then spaces means a damaged file, whose bytes we
 * would otherwise ship as a smaller, wrong member.
 */
static int goarchive_size_field_ok(const char *hdr)
{
	const char *f = hdr + AR_MAGIC_LEN + AR_SIZE_OFF;
	size_t i = 0;

	while (i < AR_SIZE_LEN && f[i] >= '0' && f[i] <= '9')
		i++;
	if (i == 0)
		return 0;
	while (i < AR_SIZE_LEN && f[i] == ' ')
		i++;
	return i == AR_SIZE_LEN;
}

/*
 * Parses the magic and first member header with libarchive's ar reader
 * (which accepts archives as the Go toolchain writes them). It sees only
 * these 68 bytes, so it cannot wander into the rest of a large archive, and
 * a first member that needs more (a GNU "//" name table, a BSD "#1/" long
 * name) fails as it should.
 */
static int goarchive_parse(const char *hdr, const char *path, size_t *ret_size, struct err *e)
{
	struct archive *a = archive_read_new();
	struct archive_entry *ent;
	const char *name;
	int r = -1;

	if (!a)
		return err_set(e, "%s: cannot set up ar reader: out of memory", path);
	if (archive_read_support_format_ar(a) != ARCHIVE_OK ||
	    archive_read_open_memory(a, hdr, GOARCHIVE_PREFIX) != ARCHIVE_OK ||
	    archive_read_next_header(a, &ent) != ARCHIVE_OK) {
		r = err_set(e, "%s: not a Go archive: %s", path,
			    archive_error_string(a) ? archive_error_string(a) : "no members");
		goto out;
	}
	name = archive_entry_pathname(ent);
	if (!name || strcmp(name, GOARCHIVE_PKGDEF) != 0) {
		r = err_set(e, "%s: not a Go archive: first member is not " GOARCHIVE_PKGDEF, path);
		goto out;
	}
	if (!goarchive_size_field_ok(hdr) || archive_entry_size(ent) < 0) {
		r = err_set(e, "%s: not a Go archive: bad " GOARCHIVE_PKGDEF " size field", path);
		goto out;
	}
	*ret_size = (size_t)archive_entry_size(ent);
	r = 0;
out:
	archive_read_free(a);
	return r;
}

/* Reads the header and checks the file holds the whole member. */
static int goarchive_header(int fd, const char *path, char *hdr, size_t *ret_want, struct err *e)
{
	struct stat st;
	size_t size = 0, want;

	if (fstat(fd, &st) < 0)
		return err_errno(e, errno, "%s: stat", path);
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)GOARCHIVE_PREFIX)
		return err_set(e, "%s: not a Go archive: too short", path);
	if (goarchive_pread(fd, hdr, GOARCHIVE_PREFIX, 0, path, e) < 0)
		return -1;
	if (memcmp(hdr, AR_MAGIC, AR_MAGIC_LEN) != 0)
		return err_set(e, "%s: not a Go archive: no \"!<arch>\" magic", path);
	if (goarchive_parse(hdr, path, &size, e) < 0)
		return -1;
	/* ar pads odd-sized members to an even offset; the padding is part of
	 * the byte-for-byte copy. */
	want = GOARCHIVE_PREFIX + size + (size & 1);
	if ((unsigned long long)st.st_size < want)
		return err_set(
		    e, "%s: not a Go archive: " GOARCHIVE_PKGDEF " of %zu bytes is truncated", path,
		    size);
	*ret_want = want;
	return 0;
}

int goarchive_pkgdef(const char *path, struct buf *out, struct err *e)
{
	char hdr[GOARCHIVE_PREFIX];
	size_t want = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_errno(e, errno, "%s: open", path);
	if ((r = goarchive_header(fd, path, hdr, &want, e)) < 0)
		goto out;
	/* Read the member straight into out's spare room: the export data can
	 * be megabytes, and this runs for every import of every job. len moves
	 * only on success, so a failure leaves out as it was. */
	buf_grow(out, want);
	memcpy(out->data + out->len, hdr, GOARCHIVE_PREFIX);
	r = goarchive_pread(fd, out->data + out->len + GOARCHIVE_PREFIX, want - GOARCHIVE_PREFIX,
			    GOARCHIVE_PREFIX, path, e);
	if (r == 0)
		out->len += want;
	out->data[out->len] = '\0';
out:
	close(fd);
	return r;
}
