#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "protocol.h"

Test(buf, grows_and_stays_terminated)
{
	struct buf b;

	buf_init(&b);
	cr_assert_str_eq(b.data, "");
	for (int i = 0; i < 1000; i++)
		buf_addf(&b, "%d,", i);
	cr_assert_eq(strlen(b.data), b.len);
	cr_assert(strncmp(b.data, "0,1,2,", 6) == 0);
	cr_assert(strstr(b.data, ",999,") != NULL);
	buf_reset(&b);
	cr_assert_eq(b.len, 0);
	cr_assert_str_eq(b.data, "");
	buf_release(&b);
}

Test(buf, binary_data_and_detach)
{
	struct buf b;
	char *p;
	size_t n;

	buf_init(&b);
	buf_add(&b, "a\0b", 3);
	buf_addch(&b, 'c');
	p = buf_detach(&b, &n);
	cr_assert_eq(n, 4);
	cr_assert(memcmp(p, "a\0bc", 4) == 0);
	cr_assert_eq(b.len, 0);
	free(p);
	buf_release(&b);
}

Test(buf, detach_of_empty_is_freeable_string)
{
	struct buf b;
	char *p;

	buf_init(&b);
	p = buf_detach(&b, NULL);
	cr_assert_str_eq(p, "");
	free(p);
}

Test(err, first_error_wins_and_errno_is_appended)
{
	struct err e = {0};

	cr_assert_eq(err_errno(&e, 2, "open %s", "/x"), -1);
	cr_assert_str_eq(err_msg(&e), "open /x: No such file or directory");
	err_set(&e, "outer");
	cr_assert_str_eq(err_msg(&e), "open /x: No such file or directory");
	err_clear(&e);
	cr_assert_str_eq(err_msg(&e), "");
	cr_assert_eq(err_set(NULL, "ignored"), -1);
}

Test(protocol, only_output_affecting_env_is_allowed)
{
	cr_assert(protocol_env_allowed("GOARCH"));
	cr_assert(protocol_env_allowed("GOEXPERIMENT"));
	cr_assert(protocol_env_allowed("GOROOT"));
	cr_assert_not(protocol_env_allowed("HOME"));
	cr_assert_not(protocol_env_allowed("LD_PRELOAD"));
	cr_assert_not(protocol_env_allowed("GOARCH2"));
}
