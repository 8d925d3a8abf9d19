#include "hash.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "err.h"

#include "banned.h"

#define HASH_FILE_CHUNK (128u << 10)

struct hash_ctx {
	EVP_MD_CTX *md;
};

/*
 * libcrypto fails here only when it cannot allocate; like xmalloc() we abort
 * rather than make every caller of a digest handle a case that never happens.
 */
static void hash_die(const char *what)
{
	fprintf(stderr, "godistcc: libcrypto: %s failed\n", what);
	abort();
}

void hash_hex(const unsigned char *md, size_t n, char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0xf];
	}
	hex[2 * n] = '\0';
}

void hash_buf(const void *data, size_t len, char hex[HASH_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL))
		hash_die("EVP_Digest");
	hash_hex(md, n, hex);
}

struct hash_ctx *hash_ctx_new(void)
{
	struct hash_ctx *c = malloc(sizeof(*c));

	if (!c)
		hash_die("malloc");
	c->md = EVP_MD_CTX_new();
	if (!c->md || !EVP_DigestInit_ex(c->md, EVP_sha256(), NULL))
		hash_die("EVP_DigestInit_ex");
	return c;
}

void hash_ctx_update(struct hash_ctx *c, const void *data, size_t len)
{
	if (!EVP_DigestUpdate(c->md, data, len))
		hash_die("EVP_DigestUpdate");
}

void hash_ctx_final(struct hash_ctx *c, char hex[HASH_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!EVP_DigestFinal_ex(c->md, md, &n))
		hash_die("EVP_DigestFinal_ex");
	hash_hex(md, n, hex);
}

void hash_ctx_free(struct hash_ctx *c)
{
	if (!c)
		return;
	EVP_MD_CTX_free(c->md);
	free(c);
}

static int hash_fd(int fd, const char *path, struct hash_ctx *c, struct err *e)
{
	unsigned char *chunk = malloc(HASH_FILE_CHUNK);
	int r = 0;

	if (!chunk)
		hash_die("malloc");
	for (;;) {
		ssize_t n = read(fd, chunk, HASH_FILE_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = err_errno(e, errno, "%s: read", path);
			break;
		}
		if (n == 0)
			break;
		hash_ctx_update(c, chunk, (size_t)n);
	}
	free(chunk);
	return r;
}

int hash_file(const char *path, char hex[HASH_HEX_LEN + 1], struct err *e)
{
	struct hash_ctx *c = NULL;
	int fd = -1, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = err_errno(e, errno, "%s: open", path);
		goto out;
	}
	c = hash_ctx_new();
	if ((r = hash_fd(fd, path, c, e)) < 0)
		goto out;
	hash_ctx_final(c, hex);
	r = 0;
out:
	hash_ctx_free(c);
	if (fd >= 0)
		close(fd);
	return r;
}

int hash_is_valid(const char *s)
{
	size_t i;

	if (!s)
		return 0;
	for (i = 0; s[i]; i++) {
		if (i >= HASH_HEX_LEN)
			return 0;
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	}
	return i == HASH_HEX_LEN;
}

static int hash_nibble(char c)
{
	return c <= '9' ? c - '0' : c - 'a' + 10;
}

int hash_unhex(const char *hex, unsigned char md[HASH_LEN])
{
	if (!hash_is_valid(hex))
		return -1;
	for (size_t i = 0; i < HASH_LEN; i++)
		md[i] = (unsigned char)(hash_nibble(hex[2 * i]) << 4 | hash_nibble(hex[2 * i + 1]));
	return 0;
}
