/*
 * common/answer.c, common/answer_bundle.c: the answer bundle of POST
 * /v1/job, as the shim (godistcc-http) and a dispatcher reading a
 * volunteer's answer parse it with answer_parse().
 *
 * Input: the job's output paths on the first line, separated by spaces
 * (at most 8), then the answer's bytes. An accepted answer may only name
 * those outputs, and must carry all of them after a successful run.
 */
#include "fuzz.h"

#include "answer.h"
#include "err.h"

#define MAX_OUTPUTS 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size < 4096 ? size : 4096);
	struct answer_expect outs[MAX_OUTPUTS];
	char *line, *save = NULL;
	size_t n = 0;
	struct answer *a = NULL;
	struct err e = {0};

	if (!nl)
		return 0;
	line = strndup((const char *)data, (size_t)(nl - data));
	for (char *t = strtok_r(line, " ", &save); t && n < MAX_OUTPUTS; t = strtok_r(NULL, " ", &save)) {
		const char *base = strrchr(t, '/');

		outs[n].path = t;
		outs[n].arg = base ? base + 1 : t; /* as relative arguments would write it */
		n++;
	}
	size -= (size_t)(nl + 1 - data);
	data = nl + 1;
	if (answer_parse(data, size, outs, n, &a, &e) == 0) {
		FUZZ_ASSERT(a->noutputs <= n);
		for (size_t i = 0; i < a->noutputs; i++) {
			int mine = 0;

			for (size_t k = 0; k < n; k++)
				mine |= a->outputs[i].path == outs[k].path;
			FUZZ_ASSERT(mine && a->outputs[i].data);
		}
		FUZZ_ASSERT(a->exit_code != 0 || a->signal != 0 || a->noutputs == n);
		answer_free(a);
	} else {
		FUZZ_ASSERT(e.set);
	}
	free(line);
	return 0;
}
