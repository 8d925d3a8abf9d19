/*
 * Tests for toolexec/status.c and status_http.c: godistcc --status and -j
 * as the user sees them (standard output, standard error, exit status),
 * against a fake dispatchd on a Unix socket and a fake HTTP dispatcher
 * (libmicrohttpd), and godistcc's hand-over to godistcc-http.
 */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../toolexec/client.c"
#include "../../toolexec/cluster.c"
#include "../../toolexec/curlapi.c"
#include "../../toolexec/settings.c"
#include "../../toolexec/status.c"
#include "../../toolexec/status_http.c"
#include "../../toolexec/upload.c"

static const char doc[] =
    "{\"protocol\":1,\"name\":\"disp\",\"queued\":0,\"hosts\":["
    "{\"name\":\"disp\",\"url\":null,\"source\":\"self\",\"state\":\"up\",\"slots\":2,"
    "\"running\":0,\"peak\":1,\"done\":12,\"failed\":0,\"toolchains\":[]},"
    "{\"name\":\"v1\",\"url\":\"http://10.0.0.2:3633\",\"source\":\"peer\",\"state\":\"up\","
    "\"slots\":8,\"running\":1,\"peak\":2,\"done\":10,\"failed\":0,\"toolchains\":[\"abcdef0123\"]}"
    ","
    "{\"name\":\"v2\",\"url\":\"http://10.0.0.3:3633\",\"source\":\"join\",\"state\":\"down\","
    "\"slots\":4,\"running\":0,\"peak\":0,\"done\":0,\"failed\":0,\"toolchains\":[]}]}";

static const char row_v1[] = "\nv1    http://10.0.0.2:3633  peer    up         8        1     2    "
			     "10       0  1: abcdef01\n";

/* What -j must print for doc: twice the slots up (2 + 8), or the CPUs. */
static long doc_p(void)
{
	long n = status_local_cpus();

	return n > 20 ? n : 20;
}

/* Settings from the environment only, with the given dispatcher. */
static void env_set(const char *dispatcher)
{
	unsetenv("GODISTCC_CONFIG");
	setenv("XDG_CONFIG_HOME", "/nonexistent", 1);
	setenv("GODISTCC_DISPATCHER", dispatcher, 1);
}

/* Standard output and error of a command, through temporary files. */
struct capture {
	FILE *out, *err;
	int saved_out, saved_err;
	char *out_text, *err_text;
};

static void capture_start(struct capture *c)
{
	memset(c, 0, sizeof(*c));
	fflush(stdout);
	fflush(stderr);
	c->out = tmpfile();
	c->err = tmpfile();
	cr_assert(c->out && c->err);
	c->saved_out = dup(1);
	c->saved_err = dup(2);
	dup2(fileno(c->out), 1);
	dup2(fileno(c->err), 2);
}

static char *capture_read(FILE *f)
{
	struct buf b;
	char chunk[4096];
	size_t n;

	buf_init(&b);
	rewind(f);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	return buf_detach(&b, NULL);
}

static void capture_stop(struct capture *c)
{
	fflush(stdout);
	fflush(stderr);
	dup2(c->saved_out, 1);
	dup2(c->saved_err, 2);
	close(c->saved_out);
	close(c->saved_err);
	c->out_text = capture_read(c->out);
	c->err_text = capture_read(c->err);
}

static void capture_release(struct capture *c)
{
	free(c->out_text);
	free(c->err_text);
}

/* godistcc ARGS... (argv[0] implied), helper as godistcc-http's path. */
static int run_godistcc(struct capture *c, const char *helper, const char *a1, const char *a2)
{
	char *argv[] = {(char *)"godistcc", (char *)a1, (char *)a2, NULL};
	int r;

	capture_start(c);
	r = status_command(a2 ? 3 : 2, argv, helper);
	capture_stop(c);
	return r;
}

static int run_http(struct capture *c, const char *mode, const char *url, const char *note)
{
	char *argv[] = {(char *)"godistcc-http",
			(char *)"--status",
			(char *)mode,
			(char *)url,
			(char *)note,
			NULL};
	int r;

	capture_start(c);
	r = status_http_main(note ? 5 : 4, argv);
	capture_stop(c);
	return r;
}

/* The fake dispatchd: accepts one connection, keeps the request frame,
 * sends reply (raw bytes: build frames with frame()), closes. */
struct fake {
	char dir[64], path[128], where[160];
	int lfd;
	pthread_t thread;
	struct buf reply, request;
};

static void *fake_serve(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	localsock_read_frame(fd, MANIFEST_MAX_BYTES, &f->request, NULL);
	localsock_write_full(fd, f->reply.data, f->reply.len, NULL);
	close(fd);
	return NULL;
}

/* Appends a frame holding text to b. */
static void frame(struct buf *b, const char *text)
{
	size_t n = strlen(text);
	unsigned char h[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
			      (unsigned char)(n >> 8), (unsigned char)n};

	buf_add(b, h, 4);
	buf_add(b, text, n);
}

/* Starts the fake with an empty reply; fill f->reply before running. */
static void fake_start(struct fake *f)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char setting[160];

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/godistcc-test-status.XXXXXX");
	cr_assert_not_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/sock", f->dir);
	snprintf(f->where, sizeof(f->where), "unix:%s", f->path);
	memcpy(sa.sun_path, f->path, strlen(f->path) + 1);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_geq(f->lfd, 0);
	cr_assert_eq(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(f->lfd, 4), 0);
	buf_init(&f->reply);
	buf_init(&f->request);
	snprintf(setting, sizeof(setting), "unix:%s", f->path);
	env_set(setting);
}

static void fake_go(struct fake *f)
{
	cr_assert_eq(pthread_create(&f->thread, NULL, fake_serve, f), 0);
}

static void fake_stop(struct fake *f)
{
	pthread_join(f->thread, NULL);
	close(f->lfd);
	unlink(f->path);
	rmdir(f->dir);
	buf_release(&f->reply);
	buf_release(&f->request);
}

Test(shim_status, table_from_the_local_socket)
{
	struct fake f;
	struct capture c;
	char *summary;

	fake_start(&f);
	frame(&f.reply, doc);
	fake_go(&f);
	cr_assert_eq(run_godistcc(&c, NULL, "--status", NULL), 0, "%s", c.err_text);
	fake_stop(&f);
	cr_assert_str_eq(c.err_text, "");
	cr_assert_eq(strncmp(c.out_text, "NAME  URL                   SOURCE  STATE  SLOTS  ", 50),
		     0, "%s", c.out_text);
	cr_assert_not_null(strstr(c.out_text, row_v1), "%s", c.out_text);
	summary = xasprintf("dispatcher disp at %s: 2 of 3 hosts up, 10 of 14 slots up, 1 running, "
			    "0 queued\n",
			    f.where);
	cr_assert_not_null(strstr(c.out_text, summary), "%s", c.out_text);
	free(summary);
	capture_release(&c);
}

Test(shim_status, the_request_is_the_cluster_request)
{
	struct fake f;
	struct capture c;

	fake_start(&f);
	frame(&f.reply, doc);
	fake_go(&f);
	run_godistcc(&c, NULL, "--status", NULL);
	cr_assert_str_eq(f.request.data, "{\"protocol\":1,\"request\":\"cluster\"}");
	fake_stop(&f);
	capture_release(&c);
}

Test(shim_status, jobs_prints_just_the_number)
{
	struct fake f;
	struct capture c;
	char want[32];

	fake_start(&f);
	frame(&f.reply, doc);
	fake_go(&f);
	cr_assert_eq(run_godistcc(&c, NULL, "-j", NULL), 0);
	fake_stop(&f);
	snprintf(want, sizeof(want), "%ld\n", doc_p());
	cr_assert_str_eq(c.out_text, want);
	cr_assert_str_eq(c.err_text, "");
	capture_release(&c);
}

Test(shim_status, json_is_passed_through)
{
	struct fake f;
	struct capture c;
	char *want = xasprintf("%s\n", doc);

	fake_start(&f);
	frame(&f.reply, doc);
	fake_go(&f);
	cr_assert_eq(run_godistcc(&c, NULL, "--status", "--json"), 0);
	fake_stop(&f);
	cr_assert_str_eq(c.out_text, want);
	free(want);
	capture_release(&c);
}

Test(shim_status, error_answer_is_one_line_naming_the_dispatcher)
{
	struct fake f;
	struct capture c;
	char *want;

	fake_start(&f);
	frame(&f.reply, "{\"protocol\":1,\"error\":\"forbidden\",\"message\":\"this daemon "
			"serves uid 0 only\"}");
	fake_go(&f);
	cr_assert_eq(run_godistcc(&c, NULL, "--status", NULL), 1);
	fake_stop(&f);
	want = xasprintf("godistcc: cannot get the cluster status: dispatcher %s answered "
			 "forbidden: this daemon serves uid 0 only\n",
			 f.where);
	cr_assert_str_eq(c.err_text, want);
	cr_assert_str_eq(c.out_text, "");
	free(want);
	capture_release(&c);
}

Test(shim_status, silence_and_garbage_fail_cleanly)
{
	struct fake f;
	struct capture c;

	fake_start(&f); /* closes without a word */
	fake_go(&f);
	cr_assert_eq(run_godistcc(&c, NULL, "--status", NULL), 1);
	fake_stop(&f);
	cr_assert_not_null(strstr(c.err_text, "closed early"), "%s", c.err_text);
	capture_release(&c);

	fake_start(&f);
	frame(&f.reply, "{\"protocol\":1,\"name\":\"d\",\"queued\":0,\"hosts\":[7]}");
	fake_go(&f);
	cr_assert_eq(run_godistcc(&c, NULL, "--status", "--json"), 0, "--json checks less");
	fake_stop(&f);
	capture_release(&c);

	fake_start(&f);
	frame(&f.reply, "{\"protocol\":1,\"name\":\"d\",\"queued\":0,\"hosts\":[7]}");
	fake_go(&f);
	cr_assert_eq(run_godistcc(&c, NULL, "--status", NULL), 1);
	fake_stop(&f);
	cr_assert_not_null(strstr(c.err_text, " sent a malformed cluster table: hosts[0]: not an "
					      "object\n"),
			   "%s", c.err_text);
	cr_assert_str_eq(c.out_text, "");
	capture_release(&c);
}

Test(shim_status, oversized_answer_is_refused_before_reading)
{
	struct fake f;
	struct capture c;
	static const unsigned char huge[4] = {0x7f, 0xff, 0xff, 0xff};

	fake_start(&f);
	buf_add(&f.reply, huge, sizeof(huge));
	fake_go(&f);
	cr_assert_eq(run_godistcc(&c, NULL, "--status", NULL), 1);
	fake_stop(&f);
	cr_assert_not_null(strstr(c.err_text, "passes the cap of 33554432 bytes"), "%s",
			   c.err_text);
	capture_release(&c);
}

Test(shim_status, jobs_without_a_dispatcher_suggests_the_cpus)
{
	struct capture c;
	char want[32];

	env_set("unix:/nonexistent/dispatchd.sock");
	cr_assert_eq(run_godistcc(&c, NULL, "-j", NULL), 0);
	snprintf(want, sizeof(want), "%ld\n", status_local_cpus());
	cr_assert_str_eq(c.out_text, want);
	cr_assert_not_null(strstr(c.err_text,
				  "godistcc: warning: dispatcher "
				  "unix:/nonexistent/dispatchd.sock: no dispatchd listens "
				  "there: "),
			   "%s", c.err_text);
	cr_assert_not_null(strstr(c.err_text, "; suggesting -p "), "%s", c.err_text);
	cr_assert_eq(strchr(c.err_text, '\n'), c.err_text + strlen(c.err_text) - 1, "one line");
	capture_release(&c);

	cr_assert_eq(run_godistcc(&c, NULL, "--status", NULL), 1);
	cr_assert_str_eq(c.out_text, "");
	capture_release(&c);
}

Test(shim_status, bad_command_lines)
{
	struct capture c;

	env_set("unix:/nonexistent/dispatchd.sock");
	cr_assert_eq(run_godistcc(&c, NULL, "--status", "--xml"), 2);
	cr_assert_not_null(strstr(c.err_text, "usage: godistcc --status [--json]"));
	capture_release(&c);
	cr_assert_eq(run_godistcc(&c, NULL, "-j", "4"), 2);
	capture_release(&c);
	cr_assert_eq(run_http(&c, "yaml", "http://127.0.0.1:1", NULL), 2);
	capture_release(&c);
}

/* Without a local dispatchd, auto hands the question to godistcc-http,
 * saying what it tried; a helper that cannot run is reported. */
Test(shim_status, auto_without_a_socket_asks_godistcc_http)
{
	char dir[] = "/tmp/godistcc-test-status.XXXXXX", *script, *args_path, *want, *run;
	struct capture c;
	FILE *f;
	pid_t pid;
	int status;
	char got[1024] = "";

	cr_assert_not_null(mkdtemp(dir));
	setenv("XDG_RUNTIME_DIR", dir, 1);
	env_set("auto");
	script = xasprintf("%s/godistcc-http", dir);
	args_path = xasprintf("%s/args", dir);
	f = fopen(script, "w");
	fprintf(f, "#!/bin/sh\necho \"$*\" > %s\n", args_path);
	fclose(f);
	chmod(script, 0755);
	if ((pid = fork()) == 0)
		_exit(
		    status_command(2, (char *[]){(char *)"godistcc", (char *)"-j", NULL}, script));
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	f = fopen(args_path, "r");
	cr_assert_not_null(f);
	cr_assert_not_null(fgets(got, sizeof(got), f));
	fclose(f);
	want = xasprintf("--status jobs http://127.0.0.1:3633 no dispatchd listens at "
			 "unix:%s/godistcc/dispatchd.sock either\n",
			 dir);
	cr_assert_str_eq(got, want);

	cr_assert_eq(run_godistcc(&c, "/nonexistent/godistcc-http", "--status", NULL), 1);
	cr_assert_str_eq(c.err_text, "godistcc: cannot get the cluster status: cannot run "
				     "/nonexistent/godistcc-http to ask dispatcher "
				     "http://127.0.0.1:3633: No such file or directory\n");
	capture_release(&c);
	unlink(args_path);
	unlink(script);
	run = xasprintf("%s/godistcc", dir);
	rmdir(run);
	rmdir(dir);
	free(run);
	free(want);
	free(script);
	free(args_path);
}

/* The fake HTTP dispatcher: answers every request with status, body and,
 * unless proto is NULL, the protocol header. */
struct fake_http {
	struct MHD_Daemon *d;
	unsigned status;
	const char *body;
	const char *proto;
	char url[64], method[16], path[64];
};

static enum MHD_Result fake_http_answer(void *cls, struct MHD_Connection *conn, const char *url,
					const char *method, const char *version,
					const char *upload_data, size_t *upload_size, void **ctx)
{
	struct fake_http *f = cls;
	struct MHD_Response *resp;
	enum MHD_Result r;

	(void)version;
	(void)upload_data;
	(void)upload_size;
	(void)ctx;
	snprintf(f->method, sizeof(f->method), "%s", method);
	snprintf(f->path, sizeof(f->path), "%s", url);
	resp = MHD_create_response_from_buffer(strlen(f->body), (void *)f->body,
					       MHD_RESPMEM_MUST_COPY);
	if (f->proto)
		MHD_add_response_header(resp, PROTOCOL_HEADER, f->proto);
	r = MHD_queue_response(conn, f->status, resp);
	MHD_destroy_response(resp);
	return r;
}

static void fake_http_start(struct fake_http *f, unsigned status, const char *body)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	memset(f, 0, sizeof(*f));
	f->status = status;
	f->body = body;
	f->proto = "1";
	f->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, fake_http_answer, f,
				MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_END);
	cr_assert_not_null(f->d);
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%u",
		 MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT)->port);
	env_set(f->url);
}

static void fake_http_stop(struct fake_http *f)
{
	MHD_stop_daemon(f->d);
}

Test(shim_status, table_over_http)
{
	struct fake_http f;
	struct capture c;
	char *summary;

	fake_http_start(&f, 200, doc);
	cr_assert_eq(run_http(&c, "table", f.url, NULL), 0, "%s", c.err_text);
	fake_http_stop(&f);
	cr_assert_str_eq(f.method, "GET");
	cr_assert_str_eq(f.path, "/v1/cluster");
	cr_assert_not_null(strstr(c.out_text, row_v1), "%s", c.out_text);
	summary = xasprintf("\ndispatcher disp at %s: 2 of 3 hosts up,", f.url);
	cr_assert_not_null(strstr(c.out_text, summary), "%s", c.out_text);
	cr_assert_str_eq(c.err_text, "");
	free(summary);
	capture_release(&c);
}

Test(shim_status, jobs_and_json_over_http)
{
	struct fake_http f;
	struct capture c;
	char want[32];

	fake_http_start(&f, 200, doc);
	cr_assert_eq(run_http(&c, "jobs", f.url, NULL), 0);
	snprintf(want, sizeof(want), "%ld\n", doc_p());
	cr_assert_str_eq(c.out_text, want);
	capture_release(&c);
	cr_assert_eq(run_http(&c, "json", f.url, NULL), 0);
	cr_assert_eq(strncmp(c.out_text, doc, strlen(doc)), 0);
	capture_release(&c);
	fake_http_stop(&f);
}

Test(shim_status, http_errors_are_one_line_naming_the_dispatcher)
{
	struct fake_http f;
	struct capture c;
	char *want;

	fake_http_start(&f, 404,
			"{\"error\":\"not_found\",\"message\":\"no route GET /v1/cluster\"}");
	cr_assert_eq(run_http(&c, "table", f.url, NULL), 1);
	want = xasprintf("godistcc: cannot get the cluster status: dispatcher %s answered 404 "
			 "not_found: no route GET /v1/cluster\n",
			 f.url);
	cr_assert_str_eq(c.err_text, want);
	cr_assert_str_eq(c.out_text, "");
	free(want);
	capture_release(&c);
	fake_http_stop(&f);

	fake_http_start(&f, 200, doc);
	f.proto = NULL;
	cr_assert_eq(run_http(&c, "table", f.url, NULL), 1);
	cr_assert_not_null(strstr(c.err_text, "speaks protocol (none), not 1"), "%s", c.err_text);
	capture_release(&c);
	fake_http_stop(&f);
}

Test(shim_status, unreachable_over_http_adds_what_was_tried)
{
	struct fake_http f;
	struct capture c;
	char url[64], *want;

	fake_http_start(&f, 200, doc);
	snprintf(url, sizeof(url), "%s", f.url);
	fake_http_stop(&f); /* nobody listens there now */
	cr_assert_eq(run_http(&c, "table", url, "no dispatchd listens at unix:/x either"), 1);
	want = xasprintf("godistcc: cannot get the cluster status: dispatcher %s unreachable "
			 "(Connection refused); no dispatchd listens at unix:/x either\n",
			 url);
	cr_assert_str_eq(c.err_text, want);
	free(want);
	capture_release(&c);
	cr_assert_eq(run_http(&c, "jobs", url, NULL), 0);
	cr_assert_not_null(strstr(c.err_text, "godistcc: warning: dispatcher "), "%s", c.err_text);
	capture_release(&c);
}

Test(shim_status, http_answer_past_its_cap_is_refused)
{
	struct fake_http f;
	struct settings s = {.connect_timeout_ms = 2000, .timeout_s = 5};
	struct client *cl;
	struct buf body;
	struct err e = {0};

	fake_http_start(&f, 200, doc);
	s.dispatcher = f.url;
	buf_init(&body);
	cl = client_new(&s, &e);
	cr_assert_not_null(cl, "%s", err_msg(&e));
	cr_assert_lt(client_get(cl, ROUTE_CLUSTER, 100, &body, &e), 0);
	cr_assert_not_null(strstr(err_msg(&e), "answer larger than 100 bytes"), "%s", err_msg(&e));
	err_clear(&e);
	cr_assert_eq(client_get(cl, ROUTE_CLUSTER, CLUSTER_MAX_BYTES, &body, &e), 0, "%s",
		     err_msg(&e));
	cr_assert_str_eq(body.data, doc);
	client_free(cl);
	buf_release(&body);
	fake_http_stop(&f);
}
