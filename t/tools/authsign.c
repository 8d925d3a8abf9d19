/*
 * authsign TOKEN_FILE METHOD PATH [BODY_FILE]: prints the X-Godistcc-Auth
 * header value (auth.h) for one request, so that tests can reach a daemon
 * that has a token with curl:
 *
 *   curl -H "X-Godistcc-Auth: $(authsign tok GET /v1/status)" URL/v1/status
 */
#include <stdio.h>
#include <stdlib.h>

#include "auth.h"
#include "buf.h"
#include "err.h"
#include "fsutil.h"

#include "banned.h"

int main(int argc, char **argv)
{
	char value[AUTH_VALUE_MAX];
	struct auth_key key;
	struct err e = {0};
	struct buf body;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: authsign TOKEN_FILE METHOD PATH [BODY_FILE]\n");
		return 2;
	}
	buf_init(&body);
	if (auth_key_load(argv[1], &key, &e) < 0 ||
	    (argc == 5 && fs_read_file(argv[4], (size_t)1 << 30, &body, &e) < 0)) {
		fprintf(stderr, "authsign: %s\n", err_msg(&e));
		return 1;
	}
	auth_sign_body(&key, argv[2], argv[3], body.data, body.len, auth_now_ms(), value);
	printf("%s\n", value);
	auth_key_release(&key);
	buf_release(&body);
	return 0;
}
