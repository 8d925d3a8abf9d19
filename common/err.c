#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "banned.h"

static void err_vset(struct err *e, const char *fmt, va_list ap)
{
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	e->set = 1;
}

int err_set(struct err *e, const char *fmt, ...)
{
	va_list ap;

	if (!e || e->set)
		return -1;
	va_start(ap, fmt);
	err_vset(e, fmt, ap);
	va_end(ap);
	return -1;
}

int err_errno(struct err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!e || e->set)
		return -1;
	va_start(ap, fmt);
	err_vset(e, fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(errnum));
	return -1;
}

void err_clear(struct err *e)
{
	if (!e)
		return;
	e->set = 0;
	e->msg[0] = '\0';
}

const char *err_msg(const struct err *e)
{
	return (e && e->set) ? e->msg : "";
}
