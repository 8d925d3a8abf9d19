/*
 * A volunteer that misbehaves, for tests of a dispatcher's retries: it
 * answers GET /v1/status like a healthy dispatchd with SLOTS slots, and
 * every POST /v1/job according to MODE:
 *   garbage  200 with bytes that are no answer bundle
 *   error    500 with a JSON error
 *   hang     never answers (the connection stays open)
 *   limit    422 limit, as a volunteer whose --job-cpu the job used up
 * It counts the jobs it was sent and prints the count to COUNT_FILE after
 * each one.
 *
 * usage: fakevolunteer MODE PORT_FILE COUNT_FILE [SLOTS]
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *mode;
static const char *count_file;
static long slots = 4;
static long jobs;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	MHD_add_response_header(r, "X-Godistcc-Protocol", "1");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void count_job(void)
{
	FILE *f = fopen(count_file, "w");

	jobs++;
	if (f) {
		fprintf(f, "%ld\n", jobs);
		fclose(f);
	}
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *size, void **state)
{
	static int started;
	char status[256];

	(void)cls, (void)version, (void)data;
	if (!*state) { /* headers only: wait for the body */
		*state = &started;
		return MHD_YES;
	}
	if (*size) { /* drain the body */
		*size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "GET") == 0 && strcmp(url, "/v1/status") == 0) {
		snprintf(status, sizeof(status),
			 "{\"protocol\":1,\"host\":\"fake-%s\",\"slots\":%ld,\"running\":0,"
			 "\"toolchains\":[],\"accepting\":true}",
			 mode, slots);
		return reply(c, 200, status);
	}
	if (strcmp(method, "PUT") == 0)
		return reply(c, 201, "{\"created\":true}");
	if (strcmp(method, "POST") != 0 || strcmp(url, "/v1/job") != 0)
		return reply(c, 404, "{\"error\":\"not_found\",\"message\":\"no\"}");
	count_job();
	if (strcmp(mode, "garbage") == 0)
		return reply(c, 200, "this is not a bundle \x01\x02\x03");
	if (strcmp(mode, "limit") == 0)
		return reply(c, 422, "{\"error\":\"limit\",\"message\":\"the tool used up the "
				     "job's CPU time limit (--job-cpu)\"}");
	if (strcmp(mode, "hang") == 0) {
		for (;;)
			pause();
	}
	return reply(c, 500, "{\"error\":\"internal\",\"message\":\"fake failure\"}");
}

int main(int argc, char **argv)
{
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	FILE *f;

	if (argc < 4) {
		fprintf(stderr, "usage: fakevolunteer garbage|error|hang|limit PORT_FILE COUNT_FILE "
				"[SLOTS]\n");
		return 2;
	}
	mode = argv[1];
	count_file = argv[3];
	if (argc > 4)
		slots = atol(argv[4]);
	struct sockaddr_in addr = {.sin_family = AF_INET,
				   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0,
			     NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, &addr,
			     MHD_OPTION_END);
	if (!d || !(info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT))) {
		fprintf(stderr, "fakevolunteer: cannot listen\n");
		return 1;
	}
	if (!(f = fopen(argv[2], "w")))
		return 1;
	fprintf(f, "%u\n", (unsigned)info->port);
	fclose(f);
	for (;;)
		pause();
}
