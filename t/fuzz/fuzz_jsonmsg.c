/*
 * common/jsonmsg.c: json_message() turns an error message, which may quote
 * a client's hostile bytes, into a JSON string for an error answer (HTTP
 * and the local socket). It must always succeed, and the answer must read
 * back as the same string.
 */
#include "fuzz.h"

#include "jsonmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *msg = strndup((const char *)data, size);
	json_t *s = json_message(msg), *back;
	char *text;

	FUZZ_ASSERT(s && json_is_string(s));
	text = json_dumps(s, JSON_ENCODE_ANY | JSON_COMPACT);
	FUZZ_ASSERT(text);
	back = json_loads(text, JSON_DECODE_ANY, NULL);
	FUZZ_ASSERT(back && json_equal(back, s));
	json_decref(back);
	free(text);
	json_decref(s);
	free(msg);
	return 0;
}
