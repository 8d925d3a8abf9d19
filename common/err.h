#ifndef GODISTCC_ERR_H
#define GODISTCC_ERR_H
/*
 * Error context for humans. Library functions return 0 or a negative code
 * and, when given a non-NULL struct err, describe the failure there as
 * "subject: what failed: why". The first error set wins, so the deepest,
 * most specific message survives as a failure travels up.
 */
#include <stddef.h>

#define ERR_MSG_MAX 512

struct err {
	int set;
	char msg[ERR_MSG_MAX];
};

/* Sets e (if non-NULL and not already set) and returns -1. */
int err_set(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Like err_set, appending ": strerror(errnum)". Returns -1. */
int err_errno(struct err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Clears e for reuse. */
void err_clear(struct err *e);
/* The message, or "" when none was set. Borrowed from e. */
const char *err_msg(const struct err *e);

#endif
