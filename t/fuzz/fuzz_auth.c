/*
 * common/auth.c: the X-Godistcc-Auth header of every authenticated HTTP
 * request, checked by auth_check() before anything else of the request is
 * looked at. The fuzzer cannot forge a MAC; the harness also signs the
 * input's method, path and body itself, and checks that the daemon's side
 * accepts that header once, refuses it replayed, and refuses it for
 * another path.
 *
 * Input: METHOD NUL PATH NUL HEADER-VALUE NUL BODY.
 */
#include "fuzz.h"

#include "auth.h"
#include "hash.h"

#define NOW_MS 1700000000000LL

static unsigned char token[] = "fuzz-token-0123456789abcdef";
static const struct auth_key key = {.key = token, .len = sizeof(token) - 1};

static void check_own(struct auth_nonces *seen, const char *method, const char *path,
		      const char *body, size_t len)
{
	char value[AUTH_VALUE_MAX], body_hex[HASH_HEX_LEN + 1];
	struct auth_claim c;
	char *other = malloc(strlen(path) + 2);

	hash_buf(body, len, body_hex);
	auth_sign_body(&key, method, path, body, len, NOW_MS, value);
	snprintf(other, strlen(path) + 2, "%s/", path);
	FUZZ_ASSERT(auth_check(&key, seen, method, other, value, NOW_MS, &c) == AUTH_BAD_MAC);
	FUZZ_ASSERT(auth_check(&key, seen, method, path, value, NOW_MS, &c) == AUTH_OK);
	FUZZ_ASSERT(auth_check_body(&c, body_hex) == AUTH_OK);
	FUZZ_ASSERT(auth_check(&key, seen, method, path, value, NOW_MS + 1000, &c) ==
		    AUTH_REPLAYED);
	free(other);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct auth_nonces *seen = auth_nonces_new();
	struct fuzz_parts p;
	struct auth_claim c;
	enum auth_result r;

	fuzz_split(data, size, 4, &p);
	if (p.n == 4) {
		r = auth_check(&key, seen, p.parts[0], p.parts[1], p.parts[2], NOW_MS, &c);
		FUZZ_ASSERT(r <= AUTH_BODY_MISMATCH && auth_result_code(r) &&
			    auth_result_message(r));
		if (r == AUTH_OK) {
			char body_hex[HASH_HEX_LEN + 1];

			FUZZ_ASSERT(strlen(c.body_hex) == HASH_HEX_LEN);
			hash_buf(p.parts[3], p.lens[3], body_hex);
			auth_check_body(&c, body_hex);
		}
		check_own(seen, p.parts[0], p.parts[1], p.parts[3], p.lens[3]);
	}
	auth_nonces_free(seen);
	fuzz_parts_free(&p);
	return 0;
}
