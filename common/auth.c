#include "auth.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"

#include "banned.h"

#define AUTH_DOMAIN "godistcc-auth-v1"
#define AUTH_NONCE_BYTES 16
#define AUTH_NONCE_HEX (2 * AUTH_NONCE_BYTES)
#define AUTH_TS_DIGITS_MAX 15 /* ms since 1970 stays at 13 digits for centuries */
#define AUTH_BUCKETS (AUTH_NONCES_MAX / 2)

static const char hexdigits[] = "0123456789abcdef";

long long auth_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- the token --- */

int auth_key_load(const char *path, struct auth_key *ret, struct err *e)
{
	char text[AUTH_TOKEN_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t len;
	int fd;

	ret->key = NULL;
	ret->len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return err_errno(e, errno, "token file %s", path);
	if (fstat(fd, &st) < 0) {
		close(fd);
		return err_errno(e, errno, "token file %s", path);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return err_set(e, "token file %s: not a regular file", path);
	}
	if (st.st_mode & 077) {
		close(fd);
		return err_set(e, "token file %s: mode %03o lets others read or change it; "
				  "chmod 600 it",
			       path, (unsigned)(st.st_mode & 0777));
	}
	n = read(fd, text, AUTH_TOKEN_MAX);
	close(fd);
	if (n < 0)
		return err_errno(e, errno, "token file %s", path);
	text[n] = '\0';
	len = strcspn(text, "\n"); /* a NUL ends it too */
	while (len && (text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\r'))
		len--;
	if (len < AUTH_TOKEN_MIN) {
		OPENSSL_cleanse(text, sizeof(text));
		return err_set(e,
			       "token file %s: the token has %zu bytes, fewer than %u "
			       "(make one with: head -c 32 /dev/urandom | base64 > FILE)",
			       path, len, AUTH_TOKEN_MIN);
	}
	ret->key = xmalloc(len);
	memcpy(ret->key, text, len);
	ret->len = len;
	OPENSSL_cleanse(text, sizeof(text));
	return 0;
}

void auth_key_release(struct auth_key *k)
{
	if (!k || !k->key)
		return;
	OPENSSL_cleanse(k->key, k->len);
	free(k->key);
	k->key = NULL;
	k->len = 0;
}

/* --- signing --- */

/* The MAC of the signed text, as 64 hex digits. Its fields are joined by
 * newlines, which none of them can hold: HTTP carries no newline in a
 * method or path, and the others are digits and hex. */
static void auth_mac(const struct auth_key *k, const char *method, const char *path,
		     const char *ts, const char *nonce, const char *body_hex,
		     char out[HASH_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	struct buf text;

	buf_init(&text);
	buf_addf(&text, AUTH_DOMAIN "\n%s\n%s\n%s\n%s\n%s\n", method, path, ts, nonce, body_hex);
	if (!HMAC(EVP_sha256(), k->key, (int)k->len, (const unsigned char *)text.data, text.len,
		  md, &n) ||
	    n != HASH_HEX_LEN / 2) {
		fprintf(stderr, "godistcc: libcrypto: HMAC failed\n");
		abort();
	}
	buf_release(&text);
	hash_hex(md, n, out);
}

void auth_sign(const struct auth_key *k, const char *method, const char *path,
	       const char *body_hex, long long now_ms, char out[AUTH_VALUE_MAX])
{
	unsigned char raw[AUTH_NONCE_BYTES];
	char nonce[AUTH_NONCE_HEX + 1], ts[32], mac[HASH_HEX_LEN + 1];
	size_t got = 0;

	while (got < sizeof(raw)) {
		ssize_t n = getrandom(raw + got, sizeof(raw) - got, 0);

		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "godistcc: getrandom: %s\n", strerror(errno));
			abort();
		}
		if (n > 0)
			got += (size_t)n;
	}
	hash_hex(raw, sizeof(raw), nonce);
	snprintf(ts, sizeof(ts), "%lld", now_ms);
	auth_mac(k, method, path, ts, nonce, body_hex, mac);
	snprintf(out, AUTH_VALUE_MAX, "v1 %s %s %s %s", ts, nonce, body_hex, mac);
}

void auth_sign_body(const struct auth_key *k, const char *method, const char *path,
		    const void *body, size_t len, long long now_ms, char out[AUTH_VALUE_MAX])
{
	char body_hex[HASH_HEX_LEN + 1];

	hash_buf(len ? body : "", len, body_hex);
	auth_sign(k, method, path, body_hex, now_ms, out);
}

/* --- nonces seen --- */

struct nonce_ent {
	unsigned char nonce[AUTH_NONCE_BYTES];
	long long ts;	/* as claimed; the nonce matters until ts + window */
	uint32_t next; /* in its bucket's chain; UINT32_MAX ends it */
};

/*
 * A ring of the nonces in arrival order, indexed by a chained hash. Old
 * entries leave from the head once their time stamp is out of the window.
 * When the ring is full its oldest entry is dropped all the same, and
 * `floor` rises to its time stamp: requests stamped at or before it are
 * refused as stale from then on, so a dropped nonce can never come back.
 */
struct auth_nonces {
	pthread_mutex_t lock;
	struct nonce_ent *ring;
	uint32_t *buckets;
	uint32_t head, count;
	long long floor;
};

struct auth_nonces *auth_nonces_new(void)
{
	struct auth_nonces *n = xcalloc(1, sizeof(*n));

	pthread_mutex_init(&n->lock, NULL);
	n->ring = xcalloc(AUTH_NONCES_MAX, sizeof(*n->ring));
	n->buckets = xmalloc(AUTH_BUCKETS * sizeof(*n->buckets));
	memset(n->buckets, 0xff, AUTH_BUCKETS * sizeof(*n->buckets));
	n->floor = -1;
	return n;
}

void auth_nonces_free(struct auth_nonces *n)
{
	if (!n)
		return;
	pthread_mutex_destroy(&n->lock);
	free(n->ring);
	free(n->buckets);
	free(n);
}

/* Nonces are random (and MAC-checked before they get here). */
static uint32_t nonce_bucket(const unsigned char *nonce)
{
	uint32_t h;

	memcpy(&h, nonce, sizeof(h));
	return h % AUTH_BUCKETS;
}

static void nonces_drop_head(struct auth_nonces *n)
{
	struct nonce_ent *old = &n->ring[n->head];
	uint32_t *p = &n->buckets[nonce_bucket(old->nonce)];

	while (*p != n->head)
		p = &n->ring[*p].next;
	*p = old->next;
	n->head = (n->head + 1) % AUTH_NONCES_MAX;
	n->count--;
}

/* Remembers nonce; 0 if it is new, -1 if it was seen, -2 if it is at or
 * below the floor. */
static int nonces_add(struct auth_nonces *n, const unsigned char *nonce, long long ts,
		      long long now_ms)
{
	uint32_t b = nonce_bucket(nonce), i;
	int r = 0;

	pthread_mutex_lock(&n->lock);
	while (n->count && n->ring[n->head].ts + AUTH_WINDOW_MS < now_ms)
		nonces_drop_head(n);
	if (ts <= n->floor) {
		r = -2;
		goto out;
	}
	for (i = n->buckets[b]; i != UINT32_MAX; i = n->ring[i].next) {
		if (memcmp(n->ring[i].nonce, nonce, AUTH_NONCE_BYTES) == 0) {
			r = -1;
			goto out;
		}
	}
	if (n->count == AUTH_NONCES_MAX) {
		if (n->ring[n->head].ts > n->floor)
			n->floor = n->ring[n->head].ts;
		nonces_drop_head(n);
	}
	i = (n->head + n->count) % AUTH_NONCES_MAX;
	memcpy(n->ring[i].nonce, nonce, AUTH_NONCE_BYTES);
	n->ring[i].ts = ts;
	n->ring[i].next = n->buckets[b];
	n->buckets[b] = i;
	n->count++;
out:
	pthread_mutex_unlock(&n->lock);
	return r;
}

/* --- checking --- */

static int is_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr(hexdigits, s[i]) || s[i] == '\0')
			return 0;
	return 1;
}

static int unhex(const char *s, unsigned char *out, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *hi = strchr(hexdigits, s[2 * i]);
		const char *lo = strchr(hexdigits, s[2 * i + 1]);

		if (!hi || !lo || !s[2 * i] || !s[2 * i + 1])
			return -1;
		out[i] = (unsigned char)((hi - hexdigits) << 4 | (lo - hexdigits));
	}
	return 0;
}

/* Splits "v1 TS NONCE BODY MAC" into its fields (borrowed from value). */
static int auth_parse(const char *value, char ts[AUTH_TS_DIGITS_MAX + 1],
		      char nonce[AUTH_NONCE_HEX + 1], char body[HASH_HEX_LEN + 1],
		      char mac[HASH_HEX_LEN + 1])
{
	const char *p = value;
	size_t n;

	if (strncmp(p, "v1 ", 3) != 0)
		return -1;
	p += 3;
	n = strspn(p, "0123456789");
	if (n == 0 || n > AUTH_TS_DIGITS_MAX || p[n] != ' ' || (p[0] == '0' && n > 1))
		return -1;
	memcpy(ts, p, n);
	ts[n] = '\0';
	p += n + 1;
	if (strlen(p) != AUTH_NONCE_HEX + 1 + HASH_HEX_LEN + 1 + HASH_HEX_LEN)
		return -1;
	if (!is_hex(p, AUTH_NONCE_HEX) || p[AUTH_NONCE_HEX] != ' ')
		return -1;
	memcpy(nonce, p, AUTH_NONCE_HEX);
	nonce[AUTH_NONCE_HEX] = '\0';
	p += AUTH_NONCE_HEX + 1;
	if (!is_hex(p, HASH_HEX_LEN) || p[HASH_HEX_LEN] != ' ')
		return -1;
	memcpy(body, p, HASH_HEX_LEN);
	body[HASH_HEX_LEN] = '\0';
	p += HASH_HEX_LEN + 1;
	if (!is_hex(p, HASH_HEX_LEN))
		return -1;
	memcpy(mac, p, HASH_HEX_LEN);
	mac[HASH_HEX_LEN] = '\0';
	return 0;
}

enum auth_result auth_check(const struct auth_key *k, struct auth_nonces *seen,
			    const char *method, const char *path, const char *value,
			    long long now_ms, struct auth_claim *ret)
{
	char ts[AUTH_TS_DIGITS_MAX + 1], nonce[AUTH_NONCE_HEX + 1], body[HASH_HEX_LEN + 1];
	char mac[HASH_HEX_LEN + 1], want[HASH_HEX_LEN + 1];
	unsigned char raw[AUTH_NONCE_BYTES];
	long long t;
	int r;

	if (!value)
		return AUTH_MISSING;
	if (strnlen(value, AUTH_VALUE_MAX) >= AUTH_VALUE_MAX ||
	    auth_parse(value, ts, nonce, body, mac) < 0)
		return AUTH_MALFORMED;
	t = strtoll(ts, NULL, 10);
	if (t < now_ms - AUTH_WINDOW_MS || t > now_ms + AUTH_WINDOW_MS)
		return AUTH_STALE;
	auth_mac(k, method, path, ts, nonce, body, want);
	if (CRYPTO_memcmp(want, mac, HASH_HEX_LEN) != 0)
		return AUTH_BAD_MAC;
	if (unhex(nonce, raw, sizeof(raw)) < 0)
		return AUTH_MALFORMED;
	if ((r = nonces_add(seen, raw, t, now_ms)) == -1)
		return AUTH_REPLAYED;
	if (r == -2)
		return AUTH_STALE;
	if (ret)
		memcpy(ret->body_hex, body, sizeof(ret->body_hex));
	return AUTH_OK;
}

enum auth_result auth_check_body(const struct auth_claim *c, const char *body_hex)
{
	return CRYPTO_memcmp(c->body_hex, body_hex, HASH_HEX_LEN) == 0 ? AUTH_OK
									 : AUTH_BODY_MISMATCH;
}

const char *auth_result_code(enum auth_result r)
{
	switch (r) {
	case AUTH_OK:
		return "ok";
	case AUTH_MISSING:
		return "auth_missing";
	case AUTH_MALFORMED:
		return "auth_malformed";
	case AUTH_STALE:
		return "auth_stale";
	case AUTH_BAD_MAC:
		return "auth_bad_mac";
	case AUTH_REPLAYED:
		return "auth_replayed";
	case AUTH_BODY_MISMATCH:
		return "auth_body_mismatch";
	}
	return "auth";
}

const char *auth_result_message(enum auth_result r)
{
	switch (r) {
	case AUTH_OK:
		return "authenticated";
	case AUTH_MISSING:
		return "this daemon needs the cluster's token: send the header " AUTH_HEADER
		       " (set GODISTCC_TOKEN_FILE or --token-file)";
	case AUTH_MALFORMED:
		return "the " AUTH_HEADER " header is not \"v1 TS NONCE BODY MAC\"";
	case AUTH_STALE:
		return "the request's time stamp is more than 300 s from this daemon's clock "
		       "(check both clocks), or too old to be checked for replays";
	case AUTH_BAD_MAC:
		return "the request was not signed with this cluster's token (wrong token, or "
		       "the request was altered)";
	case AUTH_REPLAYED:
		return "this request was seen before (replayed)";
	case AUTH_BODY_MISMATCH:
		return "the body is not the one that was signed";
	}
	return "authentication failed";
}
