#ifndef GODISTCC_FUZZ_H
#define GODISTCC_FUZZ_H
/*
 * Helpers shared by the libFuzzer targets (t/fuzz/README). Each target
 * feeds its input to a parser of network input exactly as the program that
 * receives it would, and aborts when a documented invariant of the result
 * does not hold; the sanitizers catch the rest.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A violated invariant: report it and crash, so that libFuzzer keeps the input. */
#define FUZZ_ASSERT(cond)                                                                      \
	do {                                                                                   \
		if (!(cond)) {                                                                 \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__,   \
				#cond);                                                        \
			abort();                                                               \
		}                                                                              \
	} while (0)

/* Input cut into at most max parts at each NUL byte: copies, each
 * NUL-terminated, in parts[0..*n). Free with fuzz_parts_free(). */
struct fuzz_parts {
	size_t n;
	char *parts[64];
	size_t lens[64];
};

static inline void fuzz_split(const uint8_t *data, size_t size, size_t max, struct fuzz_parts *p)
{
	size_t start = 0;

	p->n = 0;
	if (max > sizeof(p->parts) / sizeof(p->parts[0]))
		max = sizeof(p->parts) / sizeof(p->parts[0]);
	for (size_t i = 0; i <= size && p->n < max; i++) {
		if (i < size && (data[i] != '\0' || p->n + 1 == max))
			continue;
		p->lens[p->n] = i - start;
		p->parts[p->n] = malloc(i - start + 1);
		if (i > start)
			memcpy(p->parts[p->n], data + start, i - start);
		p->parts[p->n][i - start] = '\0';
		p->n++;
		start = i + 1;
	}
}

static inline void fuzz_parts_free(struct fuzz_parts *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->parts[i]);
	p->n = 0;
}

#endif
