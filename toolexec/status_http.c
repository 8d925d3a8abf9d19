#include "status_http.h"

#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "client.h"
#include "err.h"
#include "protocol.h"
#include "settings.h"
#include "status.h"

#include "banned.h"

static int status_http_ask(enum status_mode m, const char *url, const char *note)
{
	struct settings s;
	struct client *c = NULL;
	struct err e = {0};
	struct buf body;
	int r;

	buf_init(&body);
	if (settings_load(&s, &e) < 0) {
		r = status_fail(m, "%s", err_msg(&e));
		goto out;
	}
	free(s.dispatcher); /* godistcc chose it with the same settings */
	s.dispatcher = xstrdup(url);
	s.timeout_s = STATUS_TIMEOUT_S;
	if (!(c = client_new(&s, &e)) ||
	    client_get(c, ROUTE_CLUSTER, CLUSTER_MAX_BYTES, &body, &e) < 0)
		r = status_fail(m, "%s%s%s", err_msg(&e), note ? "; " : "", note ? note : "");
	else
		r = status_show(m, url, body.data, body.len);
out:
	client_free(c);
	buf_release(&body);
	settings_release(&s);
	return r;
}

int status_http_main(int argc, char **argv)
{
	enum status_mode m;

	if (argc < 4 || argc > 5 || status_mode_parse(argv[2], &m) < 0) {
		fprintf(stderr, "usage: godistcc-http --status table|json|jobs URL [NOTE] (run by "
				"godistcc --status and godistcc -j)\n");
		return 2;
	}
	return status_http_ask(m, argv[3], argc == 5 ? argv[4] : NULL);
}
