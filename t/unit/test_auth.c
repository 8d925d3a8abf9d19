#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "buf.h"
#include "err.h"
#include "hash.h"

#include "banned.h"

#define KEY "correct horse battery staple"
#define T0 1763700000000LL
#define SHA256_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
/* From the openssl command line, independently of auth.c:
 * printf 'godistcc-auth-v1\nPOST\n/v1/job\n1763700000000\n'\
 *   '00112233445566778899aabbccddeeff\n<SHA256_EMPTY>\n' |
 *   openssl dgst -sha256 -hmac "correct horse battery staple" */
#define VECTOR_MAC "cbdd7ed34b0343e8f41e986230a4759bcb709c76030ca50bcc3321c9cfa5c130"
#define VECTOR                                                                                    \
	"v1 1763700000000 00112233445566778899aabbccddeeff " SHA256_EMPTY " " VECTOR_MAC

static struct auth_key key(const char *text)
{
	struct auth_key k = {.key = xmalloc(strlen(text)), .len = strlen(text)};

	memcpy(k.key, text, k.len);
	return k;
}

static enum auth_result check(const struct auth_key *k, struct auth_nonces *n, const char *method,
			      const char *path, const char *value, long long now)
{
	return auth_check(k, n, method, path, value, now, NULL);
}

Test(auth, documented_format_checks)
{
	struct auth_key k = key(KEY);
	struct auth_nonces *n = auth_nonces_new();
	struct auth_claim c;

	cr_assert_eq(auth_check(&k, n, "POST", "/v1/job", VECTOR, T0, &c), AUTH_OK);
	cr_assert_str_eq(c.body_hex, SHA256_EMPTY);
	cr_assert_eq(auth_check_body(&c, SHA256_EMPTY), AUTH_OK);
	auth_nonces_free(n);
	auth_key_release(&k);
}

Test(auth, sign_then_check)
{
	struct auth_key k = key(KEY);
	struct auth_nonces *n = auth_nonces_new();
	char v[AUTH_VALUE_MAX], body_hex[HASH_HEX_LEN + 1];
	struct auth_claim c;

	auth_sign_body(&k, "PUT", "/v1/toolchains/ab", "tool", 4, T0, v);
	cr_assert_eq(auth_check(&k, n, "PUT", "/v1/toolchains/ab", v, T0 + 1000, &c), AUTH_OK);
	hash_buf("tool", 4, body_hex);
	cr_assert_eq(auth_check_body(&c, body_hex), AUTH_OK);
	hash_buf("toot", 4, body_hex);
	cr_assert_eq(auth_check_body(&c, body_hex), AUTH_BODY_MISMATCH);
	auth_nonces_free(n);
	auth_key_release(&k);
}

Test(auth, wrong_token_method_or_path_is_bad_mac)
{
	struct auth_key k = key(KEY), other = key(KEY "!");
	struct auth_nonces *n = auth_nonces_new();

	cr_assert_eq(check(&other, n, "POST", "/v1/job", VECTOR, T0), AUTH_BAD_MAC);
	cr_assert_eq(check(&k, n, "PUT", "/v1/job", VECTOR, T0), AUTH_BAD_MAC);
	cr_assert_eq(check(&k, n, "POST", "/v1/status", VECTOR, T0), AUTH_BAD_MAC);
	/* A bad MAC does not use up the nonce: the real request still passes. */
	cr_assert_eq(check(&k, n, "POST", "/v1/job", VECTOR, T0), AUTH_OK);
	auth_nonces_free(n);
	auth_key_release(&other);
	auth_key_release(&k);
}

Test(auth, altered_fields_are_bad_mac)
{
	struct auth_key k = key(KEY);
	struct auth_nonces *n = auth_nonces_new();
	char v[AUTH_VALUE_MAX];

	/* Another time stamp, nonce, body digest or MAC digit. */
	snprintf(v, sizeof(v), "%s", VECTOR);
	v[15] = '1';
	cr_assert_eq(check(&k, n, "POST", "/v1/job", v, T0), AUTH_BAD_MAC);
	snprintf(v, sizeof(v), "%s", VECTOR);
	v[20] = 'f';
	cr_assert_eq(check(&k, n, "POST", "/v1/job", v, T0), AUTH_BAD_MAC);
	snprintf(v, sizeof(v), "%s", VECTOR);
	v[60] = v[60] == '0' ? '1' : '0';
	cr_assert_eq(check(&k, n, "POST", "/v1/job", v, T0), AUTH_BAD_MAC);
	snprintf(v, sizeof(v), "%s", VECTOR);
	v[strlen(v) - 1] = v[strlen(v) - 1] == '0' ? '1' : '0';
	cr_assert_eq(check(&k, n, "POST", "/v1/job", v, T0), AUTH_BAD_MAC);
	auth_nonces_free(n);
	auth_key_release(&k);
}

Test(auth, replay_is_refused)
{
	struct auth_key k = key(KEY);
	struct auth_nonces *n = auth_nonces_new();

	cr_assert_eq(check(&k, n, "POST", "/v1/job", VECTOR, T0), AUTH_OK);
	cr_assert_eq(check(&k, n, "POST", "/v1/job", VECTOR, T0 + 10), AUTH_REPLAYED);
	/* Once the window has passed it is stale, never new again. */
	cr_assert_eq(check(&k, n, "POST", "/v1/job", VECTOR, T0 + AUTH_WINDOW_MS + 1), AUTH_STALE);
	auth_nonces_free(n);
	auth_key_release(&k);
}

Test(auth, clock_window)
{
	struct auth_key k = key(KEY);
	struct auth_nonces *n = auth_nonces_new();
	char v[AUTH_VALUE_MAX];

	auth_sign(&k, "GET", "/v1/status", SHA256_EMPTY, T0, v);
	cr_assert_eq(check(&k, n, "GET", "/v1/status", v, T0 - AUTH_WINDOW_MS - 1), AUTH_STALE);
	cr_assert_eq(check(&k, n, "GET", "/v1/status", v, T0 + AUTH_WINDOW_MS + 1), AUTH_STALE);
	cr_assert_eq(check(&k, n, "GET", "/v1/status", v, T0 + AUTH_WINDOW_MS), AUTH_OK);
	auth_nonces_free(n);
	auth_key_release(&k);
}

Test(auth, malformed_and_missing)
{
	static const char *const bad[] = {
	    "",
	    "v1",
	    "v2 1763700000000 00112233445566778899aabbccddeeff " SHA256_EMPTY " " VECTOR_MAC,
	    "v1 0001763700000 00112233445566778899aabbccddeeff " SHA256_EMPTY " " VECTOR_MAC,
	    "v1 -1 00112233445566778899aabbccddeeff " SHA256_EMPTY " " VECTOR_MAC,
	    "v1 1763700000000 00112233445566778899AABBCCDDEEFF " SHA256_EMPTY " " VECTOR_MAC,
	    "v1 1763700000000 0011223344556677 " SHA256_EMPTY " " VECTOR_MAC,
	    "v1 1763700000000 00112233445566778899aabbccddeeff " SHA256_EMPTY " " VECTOR_MAC " ",
	    "v1 1763700000000 00112233445566778899aabbccddeeff " SHA256_EMPTY "  " VECTOR_MAC,
	    "v1 99999999999999999999 00112233445566778899aabbccddeeff " SHA256_EMPTY
	    " " VECTOR_MAC,
	};
	struct auth_key k = key(KEY);
	struct auth_nonces *n = auth_nonces_new();

	cr_assert_eq(check(&k, n, "POST", "/v1/job", NULL, T0), AUTH_MISSING);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(check(&k, n, "POST", "/v1/job", bad[i], T0), AUTH_MALFORMED,
			     "case %zu: \"%s\"", i, bad[i]);
	for (int r = AUTH_OK; r <= AUTH_BODY_MISMATCH; r++)
		cr_assert(strlen(auth_result_code(r)) > 0 && strlen(auth_result_message(r)) > 0);
	auth_nonces_free(n);
	auth_key_release(&k);
}

/* A full store drops its oldest nonce and refuses anything stamped at or
 * before it, so that the dropped nonce cannot be replayed. */
Test(auth, full_nonce_store_never_forgets_into_a_replay)
{
	struct auth_key k = key(KEY);
	struct auth_nonces *n = auth_nonces_new();
	char first[AUTH_VALUE_MAX], v[AUTH_VALUE_MAX];

	auth_sign(&k, "GET", "/v1/status", SHA256_EMPTY, T0, first);
	cr_assert_eq(check(&k, n, "GET", "/v1/status", first, T0), AUTH_OK);
	for (unsigned i = 0; i < AUTH_NONCES_MAX; i++) {
		auth_sign(&k, "GET", "/v1/status", SHA256_EMPTY, T0 + 1 + i / 1000, v);
		cr_assert_eq(check(&k, n, "GET", "/v1/status", v, T0 + 200), AUTH_OK);
	}
	cr_assert_eq(check(&k, n, "GET", "/v1/status", first, T0 + 200), AUTH_STALE);
	auth_nonces_free(n);
	auth_key_release(&k);
}

static char *token_file(const char *text, mode_t mode)
{
	char *path = xstrdup("/tmp/test_auth_XXXXXX");
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	fchmod(fd, mode);
	close(fd);
	return path;
}

Test(auth, key_file)
{
	struct auth_key k;
	struct err e = {0};
	char *p;

	p = token_file(KEY "  \nsecond line\n", 0600);
	cr_assert_eq(auth_key_load(p, &k, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(k.len, strlen(KEY));
	cr_assert(memcmp(k.key, KEY, k.len) == 0);
	auth_key_release(&k);
	unlink(p);
	free(p);

	p = token_file(KEY "\n", 0644);
	cr_assert_eq(auth_key_load(p, &k, &e), -1);
	cr_assert(strstr(err_msg(&e), "chmod 600"), "%s", err_msg(&e));
	unlink(p);
	free(p);

	err_clear(&e);
	p = token_file("short\n", 0600);
	cr_assert_eq(auth_key_load(p, &k, &e), -1);
	cr_assert(strstr(err_msg(&e), "fewer than 16"), "%s", err_msg(&e));
	unlink(p);
	free(p);

	err_clear(&e);
	cr_assert_eq(auth_key_load("/nonexistent/token", &k, &e), -1);
	cr_assert(strstr(err_msg(&e), "/nonexistent/token"));
}
