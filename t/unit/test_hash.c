#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "hash.h"

#include "banned.h"

#define SHA256_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA256_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/* FIPS 180-2 vector: one million repetitions of 'a'. */
#define SHA256_MILLION_A "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

Test(hash, known_vectors)
{
	char hex[HASH_HEX_LEN + 1];

	hash_buf("", 0, hex);
	cr_assert_str_eq(hex, SHA256_EMPTY);
	hash_buf("abc", 3, hex);
	cr_assert_str_eq(hex, SHA256_ABC);
}

Test(hash, incremental_equals_one_shot)
{
	char *a = xmalloc(1000000);
	char hex[HASH_HEX_LEN + 1];
	struct hash_ctx *c = hash_ctx_new();

	memset(a, 'a', 1000000);
	/* Uneven pieces, so block boundaries fall inside updates. */
	for (size_t off = 0, step = 1; off < 1000000; off += step, step = step * 3 + 1) {
		size_t n = off + step > 1000000 ? 1000000 - off : step;
		hash_ctx_update(c, a + off, n);
	}
	hash_ctx_final(c, hex);
	hash_ctx_free(c);
	cr_assert_str_eq(hex, SHA256_MILLION_A);
	hash_buf(a, 1000000, hex);
	cr_assert_str_eq(hex, SHA256_MILLION_A);
	free(a);
}

static char *write_temp(const void *data, size_t len)
{
	char *path = xstrdup("/tmp/test_hash.XXXXXX");
	int fd = mkstemp(path);

	cr_assert(fd >= 0);
	cr_assert_eq(write(fd, data, len), (ssize_t)len);
	close(fd);
	return path;
}

Test(hash, file_equals_buffer)
{
	/* Larger than the streaming chunk, and not a multiple of it. */
	size_t len = (3u << 20) + 12345;
	unsigned char *data = xmalloc(len);
	char want[HASH_HEX_LEN + 1], got[HASH_HEX_LEN + 1];
	struct err e = {0};

	for (size_t i = 0; i < len; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	char *path = write_temp(data, len);
	hash_buf(data, len, want);
	cr_assert_eq(hash_file(path, got, &e), 0, "%s", err_msg(&e));
	cr_assert_str_eq(got, want);
	unlink(path);
	free(path);

	path = write_temp("", 0);
	cr_assert_eq(hash_file(path, got, &e), 0, "%s", err_msg(&e));
	cr_assert_str_eq(got, SHA256_EMPTY);
	unlink(path);
	free(path);
	free(data);
}

Test(hash, file_missing_names_path)
{
	char hex[HASH_HEX_LEN + 1] = "untouched";
	struct err e = {0};

	cr_assert_lt(hash_file("/nonexistent/godistcc-hash", hex, &e), 0);
	cr_assert(strstr(err_msg(&e), "/nonexistent/godistcc-hash") != NULL, "%s", err_msg(&e));
	cr_assert(strstr(err_msg(&e), "No such file") != NULL, "%s", err_msg(&e));
	cr_assert_str_eq(hex, "untouched");
}

Test(hash, is_valid)
{
	cr_assert(hash_is_valid(SHA256_ABC));
	cr_assert(hash_is_valid(SHA256_EMPTY));
	cr_assert_not(hash_is_valid(""));
	cr_assert_not(hash_is_valid(NULL));
	/* upper case, one short, one long, non-hex, path tricks */
	cr_assert_not(
	    hash_is_valid("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
	cr_assert_not(hash_is_valid(SHA256_ABC + 1));
	cr_assert_not(hash_is_valid(SHA256_ABC "0"));
	cr_assert_not(
	    hash_is_valid("ga7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
	cr_assert_not(
	    hash_is_valid("../7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
}

Test(hash, unhex_round_trips_and_refuses_what_is_not_a_digest)
{
	unsigned char md[HASH_LEN];
	char hex[HASH_HEX_LEN + 1];

	cr_assert_eq(hash_unhex(SHA256_ABC, md), 0);
	cr_assert_eq(md[0], 0xba);
	cr_assert_eq(md[HASH_LEN - 1], 0xad);
	hash_hex(md, HASH_LEN, hex);
	cr_assert_str_eq(hex, SHA256_ABC);
	cr_assert_eq(hash_unhex(SHA256_ABC + 1, md), -1);
	cr_assert_eq(
	    hash_unhex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD", md), -1);
}
