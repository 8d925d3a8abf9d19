#ifndef GODISTCC_GOARCHIVE_H
#define GODISTCC_GOARCHIVE_H
/*
 * Go package archives. compile reads only the first member, __.PKGDEF (the
 * export data), of each archive it imports, so an archive holding just that
 * member is enough to compile against it and is much smaller: for net/http's
 * imports, 0.49 MB instead of 29 MB.
 */
#include <stddef.h>

struct err;
struct buf;

/*
 * Appends to out the export-data-only form of the archive at path: the
 * "!<arch>\n" magic followed by its __.PKGDEF member (header, data, padding),
 * byte for byte as in the original. Member headers are parsed with
 * libarchive's ar reader. Fails (without touching out) if the file is not a
 * Go archive whose first member is __.PKGDEF; callers then ship the whole file.
 */
int goarchive_pkgdef(const char *path, struct buf *out, struct err *e);

#endif
