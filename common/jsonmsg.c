#include "jsonmsg.h"

#include "banned.h"

json_t *json_message(char *msg)
{
	json_t *s = json_string(msg);

	if (s)
		return s;
	for (char *p = msg; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
	return json_string(msg);
}
