/*
 * common/goargs.c: the tool arguments of a job, which dispatchd takes from
 * a client's manifest and parses without a working directory (no response
 * file may be read). The daemon runs the tool with goargs_render()'s
 * vector: read again, it must mean exactly what was checked.
 *
 * Input: one byte choosing the tool (even: compile, odd: asm), then the
 * arguments, separated by NUL bytes.
 */
#include "fuzz.h"

#include "err.h"
#include "goargs.h"

static int same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_round_trip(const struct goargs *ga)
{
	struct goargs *again = NULL;
	struct err e = {0};
	char **argv = NULL;
	size_t argc = 0;

	FUZZ_ASSERT(goargs_render(ga, &argv, &argc) == 0);
	FUZZ_ASSERT(argv[argc] == NULL);
	FUZZ_ASSERT(goargs_parse(ga->tool, argc, (const char *const *)argv, NULL, &again, &e) == 0);
	FUZZ_ASSERT(again->n == ga->n);
	for (size_t i = 0; i < ga->n; i++) {
		const struct goargs_item *a = &ga->items[i], *b = &again->items[i];

		FUZZ_ASSERT(a->kind == b->kind);
		FUZZ_ASSERT(same_str(a->flag, b->flag));
		FUZZ_ASSERT(same_str(a->value, b->value));
	}
	FUZZ_ASSERT(same_str(ga->local_reason, again->local_reason));
	goargs_free(again);
	goargs_free_argv(argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum goargs_tool tool;
	struct fuzz_parts p;
	struct goargs *ga = NULL;
	struct err e = {0};

	if (size == 0)
		return 0;
	tool = data[0] & 1 ? GOARGS_ASM : GOARGS_COMPILE;
	fuzz_split(data + 1, size - 1, 64, &p);
	/* An empty input is no argument at all, not one empty argument. */
	if (goargs_parse(tool, size > 1 ? p.n : 0, (const char *const *)p.parts, NULL, &ga, &e) ==
	    0) {
		check_round_trip(ga);
		goargs_find(ga, GA_OUT_FILE);
		goargs_free(ga);
	} else {
		FUZZ_ASSERT(e.set);
	}
	fuzz_parts_free(&p);
	return 0;
}
