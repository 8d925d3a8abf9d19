/*
 * toolexec/local.c: the answer of the local socket as the shim reads it
 * (local_read_answer()): a frame holding the JSON header, then stdout,
 * stderr and the outputs, raw. The daemon is the user's own, but the shim
 * must not trust it with more than the job's outputs.
 *
 * Input: the job's output paths on the first line, separated by spaces
 * (at most 8), then the bytes the shim reads from the socket.
 */
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"

#include "../../toolexec/local.c"

#define MAX_OUTPUTS 8

/* A descriptor that reads back buf, then end of file. */
static int fuzz_fd(const uint8_t *buf, size_t len)
{
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	FUZZ_ASSERT(fd >= 0);
	FUZZ_ASSERT(write(fd, buf, len) == (ssize_t)len);
	FUZZ_ASSERT(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size < 4096 ? size : 4096);
	struct answer_expect outs[MAX_OUTPUTS];
	struct job j = {0};
	struct answer *a = NULL;
	struct err e = {0};
	char *line, *save = NULL;
	int fd;

	if (!nl)
		return 0;
	line = strndup((const char *)data, (size_t)(nl - data));
	for (char *t = strtok_r(line, " ", &save); t && j.noutputs < MAX_OUTPUTS;
	     t = strtok_r(NULL, " ", &save)) {
		const char *base = strrchr(t, '/');

		outs[j.noutputs].path = t;
		outs[j.noutputs].arg = base ? base + 1 : t;
		j.noutputs++;
	}
	j.outputs = outs;
	fd = fuzz_fd(nl + 1, size - (size_t)(nl + 1 - data));
	if (local_read_answer(fd, &j, &a, &e) == 0) {
		FUZZ_ASSERT(a->noutputs <= j.noutputs);
		for (size_t i = 0; i < a->noutputs; i++)
			FUZZ_ASSERT(a->outputs[i].data);
		FUZZ_ASSERT(a->exit_code != 0 || a->signal != 0 || a->noutputs == j.noutputs);
		answer_free(a);
	} else {
		FUZZ_ASSERT(e.set);
	}
	close(fd);
	free(line);
	return 0;
}
