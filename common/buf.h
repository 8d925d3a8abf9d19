#ifndef GODISTCC_BUF_H
#define GODISTCC_BUF_H
/*
 * A growable byte buffer, in the manner of git's strbuf. The data is always
 * NUL-terminated (the NUL is not counted in len), so text can be used as a
 * C string. Allocation failure aborts: these buffers hold at most the capped
 * sizes defined in protocol.h.
 */
#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data; /* owned; never NULL after buf_init() */
	size_t len;
	size_t cap;
};

void buf_init(struct buf *b);
void buf_release(struct buf *b);
void buf_reset(struct buf *b);
void buf_grow(struct buf *b, size_t extra);
void buf_add(struct buf *b, const void *data, size_t len);
void buf_adds(struct buf *b, const char *s);
void buf_addch(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vaddf(struct buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
/* Hands the data to the caller (who frees it) and re-initialises b. */
char *buf_detach(struct buf *b, size_t *ret_len);

/* Allocation helpers that abort on failure. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
