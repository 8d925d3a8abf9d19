#ifndef GODISTCC_HASH_H
#define GODISTCC_HASH_H
/*
 * SHA-256 content addresses (OpenSSL libcrypto), written as 64 lower-case
 * hex digits. Used for blobs and for toolchain identity.
 */
#include <stddef.h>

#define HASH_HEX_LEN 64
#define HASH_LEN (HASH_HEX_LEN / 2) /* bytes of a digest */

struct err;

/* Writes the hex digest of data and a NUL into hex (HASH_HEX_LEN + 1 bytes). */
void hash_buf(const void *data, size_t len, char hex[HASH_HEX_LEN + 1]);
/* Hashes a file's content, streaming. */
int hash_file(const char *path, char hex[HASH_HEX_LEN + 1], struct err *e);
/* Writes n bytes as 2n lower-case hex digits and a NUL into hex. */
void hash_hex(const unsigned char *md, size_t n, char *hex);
/* Whether s is exactly 64 lower-case hex digits. */
int hash_is_valid(const char *s);
/* Decodes a valid hex digest into md: 0, or -1 when !hash_is_valid(hex). */
int hash_unhex(const char *hex, unsigned char md[HASH_LEN]);

/* Incremental hashing for streams (uploads). Opaque. */
struct hash_ctx;
struct hash_ctx *hash_ctx_new(void);
void hash_ctx_update(struct hash_ctx *c, const void *data, size_t len);
/* Finishes the digest; c cannot be updated afterwards. */
void hash_ctx_final(struct hash_ctx *c, char hex[HASH_HEX_LEN + 1]);
void hash_ctx_free(struct hash_ctx *c);

#endif
