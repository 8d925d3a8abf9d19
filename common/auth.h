#ifndef GODISTCC_AUTH_H
#define GODISTCC_AUTH_H
/*
 * Proof of a cluster's shared secret on every HTTP request but the health
 * check. The secret never travels: a request carries
 *
 *   X-Godistcc-Auth: v1 TS NONCE BODY MAC
 *
 * TS is the sender's clock in milliseconds since the epoch, NONCE 32 hex
 * digits of random bytes, BODY the SHA-256 of the request body (64 hex
 * digits) and MAC the HMAC-SHA256, keyed by the token, of
 *
 *   "godistcc-auth-v1\n" METHOD "\n" PATH "\n" TS "\n" NONCE "\n" BODY "\n"
 *
 * The receiver checks, in this order: the form, that TS is within
 * AUTH_WINDOW_MS of its own clock, the MAC (in constant time), and that it
 * has not seen NONCE before (so a captured request cannot be replayed). The
 * body's digest is checked once the body has arrived. A forged or altered
 * request fails the MAC or the body check.
 */
#include <stddef.h>

#include "hash.h"

struct err;

#define AUTH_HEADER "X-Godistcc-Auth"
#define AUTH_TOKEN_MIN 16u	  /* bytes of secret a token must have */
#define AUTH_TOKEN_MAX 4096u	  /* bytes read from a token file */
#define AUTH_WINDOW_MS 300000LL	  /* accepted clock difference, both ways */
#define AUTH_NONCES_MAX (1u << 17) /* nonces remembered for replay checks */
#define AUTH_VALUE_MAX 192u	  /* a header value, NUL included */

/* A loaded token. */
struct auth_key {
	unsigned char *key;
	size_t len;
};

/*
 * Reads a token file: its first line, without trailing white space. The file
 * must not be readable or writable by group or others (like an ssh key), and
 * the token must have at least AUTH_TOKEN_MIN bytes.
 */
int auth_key_load(const char *path, struct auth_key *ret, struct err *e);
void auth_key_release(struct auth_key *k);

/* The header value for a request whose body has the given SHA-256 (hex, as
 * hash.h writes it). */
void auth_sign(const struct auth_key *k, const char *method, const char *path,
	       const char *body_hex, long long now_ms, char out[AUTH_VALUE_MAX]);
/* The same, hashing body itself (len 0 for none). */
void auth_sign_body(const struct auth_key *k, const char *method, const char *path,
		    const void *body, size_t len, long long now_ms, char out[AUTH_VALUE_MAX]);

enum auth_result {
	AUTH_OK,
	AUTH_MISSING,	    /* no header */
	AUTH_MALFORMED,	    /* not "v1 TS NONCE BODY MAC" */
	AUTH_STALE,	    /* TS outside the window */
	AUTH_BAD_MAC,	    /* wrong token, or a forged or altered request */
	AUTH_REPLAYED,	    /* the nonce was seen before */
	AUTH_BODY_MISMATCH, /* the body is not the one that was signed */
};

/* What a checked header promised about the body. */
struct auth_claim {
	char body_hex[HASH_HEX_LEN + 1];
};

/* Nonces seen within the window; thread-safe. */
struct auth_nonces;
struct auth_nonces *auth_nonces_new(void);
void auth_nonces_free(struct auth_nonces *n);

/* Checks a header value (NULL when absent); remembers its nonce on success. */
enum auth_result auth_check(const struct auth_key *k, struct auth_nonces *seen,
			    const char *method, const char *path, const char *value,
			    long long now_ms, struct auth_claim *ret);
/* Whether the body that arrived is the one the header promised. */
enum auth_result auth_check_body(const struct auth_claim *c, const char *body_hex);

/* "auth_missing", ... for the error field of a 401 answer, and a sentence. */
const char *auth_result_code(enum auth_result r);
const char *auth_result_message(enum auth_result r);

/* Milliseconds since the epoch (CLOCK_REALTIME). */
long long auth_now_ms(void);

#endif
