/*
 * common/answer.c, common/answer_bundle.c: the answer to POST /v1/job as the
 * shim and a dispatcher reading a volunteer's answer parse it. An answer is
 * hostile input: whatever it holds, parsing ends in an answer or a clear
 * error, never in a crash.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer.h"
#include "bundle.h"
#include "err.h"

#include "banned.h"

#define OBJ "/w/b001/_pkg_.a"
#define RESULT "{\"protocol\":1,\"exit_code\":0,\"signal\":0,\"host\":\"vol\",\"duration_ms\":7," \
	       "\"outputs\":[{\"path\":\"" OBJ "\",\"entry\":\"out/0\"}]}"

static char obj[] = OBJ;
static struct answer_expect outputs[] = {{.path = obj, .arg = "_pkg_.a"}};

struct body {
	char *data;
	size_t len;
};

/* An answer bundle: result.json, stdout, then out/0; uncompressed, so that a
 * test can edit its tar headers. */
static struct body answer_body(const char *object)
{
	struct err e = {0};
	struct bundle_writer *w = bundle_writer_new(0, 0, &e);
	struct body b;

	cr_assert_not_null(w, "%s", err_msg(&e));
	cr_assert_eq(bundle_writer_add(w, "result.json", RESULT, strlen(RESULT), &e), 0, "%s",
		     err_msg(&e));
	cr_assert_eq(bundle_writer_add(w, "stdout", "said\n", 5, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(bundle_writer_add(w, "out/0", object, strlen(object), &e), 0, "%s",
		     err_msg(&e));
	cr_assert_eq(bundle_writer_finish(w, &b.data, &b.len, &e), 0, "%s", err_msg(&e));
	bundle_writer_free(w);
	return b;
}

/* Rewrites the size field of the tar header at off, and its checksum. */
static void set_entry_size(struct body *b, size_t off, unsigned long long size)
{
	unsigned char *h = (unsigned char *)b->data + off;
	char field[16];
	unsigned sum = 0;

	cr_assert_lt(off + 512, b->len + 1);
	cr_assert_eq(memcmp(h, "out/0", 6), 0, "no out/0 header at %zu", off);
	snprintf(field, sizeof(field), "%011llo", size);
	memcpy(h + 124, field, 11);
	memset(h + 148, ' ', 8);
	for (size_t i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
}

/*
 * Fills the stack below the caller with non-NULL junk, so that a field the
 * parser leaves uninitialised holds a wild pointer rather than a lucky zero.
 */
static __attribute__((noinline)) void scribble_stack(void)
{
	volatile char junk[16384];

	memset((char *)junk, 0x5a, sizeof(junk));
	__asm__ volatile("" : : "r"(junk) : "memory");
}

static __attribute__((noinline)) int parse(const struct body *b, struct answer **a, struct err *e)
{
	scribble_stack();
	return answer_parse(b->data, b->len, outputs, 1, a, e);
}

Test(answer, well_formed_answer_is_read_whole)
{
	struct body b = answer_body("!<arch>\nobject");
	struct answer *a = NULL;
	struct err e = {0};

	cr_assert_eq(parse(&b, &a, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(a->exit_code, 0);
	cr_assert_eq(a->noutputs, 1);
	cr_assert_eq(a->outputs[0].path, outputs[0].path);
	cr_assert_eq(a->outputs[0].len, 14);
	cr_assert_eq(memcmp(a->outputs[0].data, "!<arch>\nobject", 14), 0);
	cr_assert_eq(a->out.len, 5);
	cr_assert_str_eq(a->host, "vol");
	answer_free(a);
	free(b.data);
}

/* The header of out/0 declares 2 GiB, over the 1 GiB a job's outputs may
 * take: the error names the cap by number only, with nothing after it. */
Test(answer, entry_over_its_cap_is_refused_by_number)
{
	struct body b = answer_body("object");
	/* result.json's header and data, stdout's header and data */
	size_t off = 512 + 512 + 512 + 512;
	struct answer *a = NULL;
	struct err e = {0};

	set_entry_size(&b, off, 2ull << 30);
	cr_assert_lt(parse(&b, &a, &e), 0);
	cr_assert_null(a);
	cr_assert_str_eq(err_msg(&e),
			 "bundle: entry 'out/0' is 2147483648 bytes, over the 1073741824-byte "
			 "entry limit");
	free(b.data);
}

Test(answer, truncated_answer_is_refused)
{
	struct body b = answer_body("object");
	struct answer *a = NULL;
	struct err e = {0};

	for (size_t len = 0; len < b.len; len += 97) {
		struct body cut = {b.data, len};

		cr_assert_lt(parse(&cut, &a, &e), 0, "accepted %zu of %zu bytes", len, b.len);
		cr_assert(e.set);
		e = (struct err){0};
	}
	free(b.data);
}

Test(answer, output_not_of_this_job_is_refused)
{
	static char other_obj[] = "/w/b002/_pkg_.a";
	struct answer_expect other[] = {{.path = other_obj, .arg = "x.a"}};
	struct body b = answer_body("object");
	struct answer *a = NULL;
	struct err e = {0};

	cr_assert_lt(answer_parse(b.data, b.len, other, 1, &a, &e), 0);
	cr_assert_str_eq(err_msg(&e), "result.json: " OBJ " is not an output of this job");
	free(b.data);
}
