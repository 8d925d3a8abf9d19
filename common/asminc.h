#ifndef GODISTCC_ASMINC_H
#define GODISTCC_ASMINC_H
/*
 * Finds the header files an asm invocation includes, so the shim can ship
 * them. asm resolves #include "name" by trying name relative to the working
 * directory, then the directory of the including source file, then each -I
 * directory in order (cmd/asm/internal/lex). Headers may include further
 * headers. Every #include line is followed, whatever #ifdef surrounds it,
 * so the result is a superset of what the assembler reads.
 */
#include <stddef.h>

struct err;
struct goargs;
struct gocfg_paths;

/*
 * Appends to ret the absolute paths of every header reached from the sources
 * of ga (an asm model), each once. cwd is the invocation's working directory.
 * Fails if an included name cannot be found anywhere on the search path:
 * the caller must then run the job locally rather than guess.
 */
int asminc_find(const struct goargs *ga, const char *cwd, struct gocfg_paths *ret,
		struct err *e);

#endif
