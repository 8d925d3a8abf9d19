#ifndef GODISTCC_STATUS_HTTP_H
#define GODISTCC_STATUS_HTTP_H
/*
 * godistcc-http's half of godistcc --status and -j (status.h) for a
 * dispatcher by URL: GET /v1/cluster with libcurl (client.h), then the same
 * output as godistcc gives for a local socket. godistcc executes
 *
 *     godistcc-http --status table|json|jobs URL [NOTE]
 *
 * NOTE, when given, is added to the error message (what godistcc tried
 * before, e.g. that no dispatchd listens at the default socket).
 */

/* argv[1] is "--status". Returns the exit status. */
int status_http_main(int argc, char **argv);

#endif
