#ifndef GODISTCC_JSONMSG_H
#define GODISTCC_JSONMSG_H
/*
 * Error messages as JSON strings, for the daemon's error answers (HTTP and
 * the local socket). JSON text must be UTF-8, and a message may quote
 * hostile bytes.
 */
#include <jansson.h>

/* msg as a JSON string; when it is not UTF-8, control and non-ASCII bytes
 * are first replaced by '?' (in msg itself). */
json_t *json_message(char *msg);

#endif
