/*
 * Tests for toolexec/local.c, the shim's side of the local socket: a fake
 * daemon on a real Unix socket reads the request and sends a canned answer.
 * The answer is hostile input: only the job's own outputs may come back,
 * every size is capped, a short or inconsistent answer is refused (the
 * caller then falls back), and an error answer's message reaches the user.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../toolexec/job.c"
#include "../../toolexec/local.c"

/* The fake daemon: accepts one connection, keeps the request, sends reply
 * (header frame text, then raw payload bytes), closes. */
struct fake {
	char dir[64], path[128];
	int lfd;
	pthread_t thread;
	const char *header;
	const char *payload;
	size_t payload_len;
	struct buf request;
};

static void *fake_serve(void *arg)
{
	struct fake *f = arg;
	int fd = accept(f->lfd, NULL, NULL);

	if (fd < 0)
		return NULL;
	localsock_read_frame(fd, MANIFEST_MAX_BYTES, &f->request, NULL);
	if (f->header)
		localsock_write_frame(fd, f->header, strlen(f->header), NULL);
	if (f->payload_len)
		localsock_write_full(fd, f->payload, f->payload_len, NULL);
	close(fd);
	return NULL;
}

static void fake_start(struct fake *f, const char *header, const char *payload, size_t len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/godistcc-test-local.XXXXXX");
	cr_assert_not_null(mkdtemp(f->dir));
	snprintf(f->path, sizeof(f->path), "%s/sock", f->dir);
	memcpy(sa.sun_path, f->path, strlen(f->path) + 1);
	f->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_geq(f->lfd, 0);
	cr_assert_eq(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(f->lfd, 4), 0);
	f->header = header;
	f->payload = payload;
	f->payload_len = len;
	buf_init(&f->request);
	cr_assert_eq(pthread_create(&f->thread, NULL, fake_serve, f), 0);
}

static void fake_stop(struct fake *f)
{
	pthread_join(f->thread, NULL);
	close(f->lfd);
	unlink(f->path);
	rmdir(f->dir);
	buf_release(&f->request);
}

static char a0[] = "/go/pkg/tool/linux_amd64/compile", a1[] = "-o", a2[] = "/w/b001/_pkg_.a",
	    a3[] = "-p", a4[] = "m", a5[] = "/src/m/main.go";
static char *argv_compile[] = {a0, a1, a2, a3, a4, a5, NULL};

/* A parsed job for argv_compile with one input listed. */
static struct job *test_job(void)
{
	struct job *j = job_new(GOARGS_COMPILE, argv_compile, "/src/m");

	cr_assert_eq(job_parse(j), 0, "%s", j->local_reason);
	cr_assert_eq(j->noutputs, 1);
	cr_assert_eq(job_list_inputs(j), 0, "%s", j->local_reason);
	return j;
}

/* The job of the last submit(): an answer borrows its output paths. */
static struct job *last_job;

/* Submits the test job to a fake daemon answering header + payload. */
static int submit(struct fake *f, const char *header, const char *payload, size_t len,
		  struct answer **a, struct err *e)
{
	struct settings s = {.timeout_s = 5};
	int absent = 0, r;

	job_free(last_job);
	last_job = test_job();
	fake_start(f, header, payload, len);
	r = local_submit(&s, last_job, f->path, a, &absent, e);
	cr_assert_eq(absent, 0);
	return r;
}

#define OK_HEADER(outputs, out_size)                                                           \
	"{\"protocol\":1,\"exit_code\":0,\"signal\":0,\"host\":\"h\",\"duration_ms\":5,"       \
	"\"stdout_size\":" #out_size ",\"stderr_size\":0,\"outputs\":" outputs "}"

Test(shim_local, good_answer_and_request)
{
	struct fake f;
	struct answer *a = NULL;
	struct err e = {0};
	json_t *req;

	cr_assert_eq(submit(&f,
			    OK_HEADER("[{\"path\":\"/w/b001/_pkg_.a\",\"entry\":\"out/0\",\"size\":3}]",
				      2),
			    "hiABC", 5, &a, &e),
		     0, "%s", err_msg(&e));
	cr_assert_eq(a->noutputs, 1);
	cr_assert_str_eq(a->outputs[0].path, "/w/b001/_pkg_.a");
	cr_assert_eq(a->outputs[0].len, 3);
	cr_assert_eq(memcmp(a->outputs[0].data, "ABC", 3), 0);
	cr_assert_str_eq(a->out.data, "hi");
	req = json_loads(f.request.data, 0, NULL);
	cr_assert_not_null(req, "request is not JSON: %s", f.request.data);
	cr_assert_str_eq(json_string_value(json_object_get(req, "tool_path")), argv_compile[0]);
	cr_assert_str_eq(json_string_value(json_object_get(req, "cwd")), "/src/m");
	cr_assert_str_eq(json_string_value(json_object_get(json_array_get(
			     json_object_get(req, "files"), 0), "path")),
			 "/src/m/main.go");
	cr_assert_null(json_object_get(req, "toolchain"), "the daemon hashes the tool itself");
	json_decref(req);
	answer_free(a);
	fake_stop(&f);
	job_free(last_job);
	last_job = NULL;
}

Test(shim_local, output_not_of_the_job_is_refused)
{
	struct fake f;
	struct answer *a = NULL;
	struct err e = {0};

	cr_assert_lt(submit(&f,
			    OK_HEADER("[{\"path\":\"/home/u/.bashrc\",\"entry\":\"out/0\",\"size\":3}]",
				      0),
			    "ABC", 3, &a, &e),
		     0);
	cr_assert_not_null(strstr(err_msg(&e), "not an output of this job"), "%s", err_msg(&e));
	cr_assert_not_null(strstr(err_msg(&e), "dispatcher unix:"), "%s", err_msg(&e));
	fake_stop(&f);
}

Test(shim_local, success_without_every_output_is_refused)
{
	struct fake f;
	struct answer *a = NULL;
	struct err e = {0};

	cr_assert_lt(submit(&f, OK_HEADER("[]", 0), NULL, 0, &a, &e), 0);
	cr_assert_not_null(strstr(err_msg(&e), "returned 0 of 1 outputs"), "%s", err_msg(&e));
	fake_stop(&f);
}

Test(shim_local, truncated_payload_is_refused)
{
	struct fake f;
	struct answer *a = NULL;
	struct err e = {0};

	cr_assert_lt(submit(&f,
			    OK_HEADER("[{\"path\":\"/w/b001/_pkg_.a\",\"entry\":\"out/0\",\"size\":100}]",
				      0),
			    "short", 5, &a, &e),
		     0);
	cr_assert_not_null(strstr(err_msg(&e), "closed early"), "%s", err_msg(&e));
	fake_stop(&f);
}

Test(shim_local, sizes_past_the_caps_are_refused_before_reading)
{
	struct fake f;
	struct answer *a = NULL;
	struct err e = {0};

	cr_assert_lt(submit(&f, OK_HEADER("[]", 99999999999), NULL, 0, &a, &e), 0);
	cr_assert_not_null(strstr(err_msg(&e), "stdout_size"), "%s", err_msg(&e));
	fake_stop(&f);
	err_clear(&e);
	cr_assert_lt(submit(&f, OK_HEADER("[]", -1), NULL, 0, &a, &e), 0);
	fake_stop(&f);
}

Test(shim_local, error_answer_names_the_trouble)
{
	struct fake f;
	struct answer *a = NULL;
	struct err e = {0};

	cr_assert_lt(submit(&f,
			    "{\"protocol\":1,\"error\":\"no_slots\",\"message\":\"this daemon runs "
			    "no jobs (--slots 0)\"}",
			    NULL, 0, &a, &e),
		     0);
	cr_assert_not_null(strstr(err_msg(&e), "runs no jobs (--slots 0) (no_slots)"), "%s",
			   err_msg(&e));
	fake_stop(&f);
}

Test(shim_local, garbage_and_silence_are_refused)
{
	struct fake f;
	struct answer *a = NULL;
	struct err e = {0};

	cr_assert_lt(submit(&f, "not json", NULL, 0, &a, &e), 0);
	cr_assert_not_null(strstr(err_msg(&e), "not a JSON object"), "%s", err_msg(&e));
	fake_stop(&f);
	err_clear(&e);
	cr_assert_lt(submit(&f, NULL, NULL, 0, &a, &e), 0); /* closes without a word */
	cr_assert_not_null(strstr(err_msg(&e), "closed early"), "%s", err_msg(&e));
	fake_stop(&f);
	err_clear(&e);
	cr_assert_lt(submit(&f, "{\"protocol\":2,\"exit_code\":0,\"signal\":0,\"outputs\":[]}",
			    NULL, 0, &a, &e),
		     0);
	cr_assert_not_null(strstr(err_msg(&e), "protocol"), "%s", err_msg(&e));
	fake_stop(&f);
}

Test(shim_local, no_daemon_is_absent_not_trouble)
{
	struct settings s = {.timeout_s = 5};
	struct job *j = test_job();
	struct answer *a = NULL;
	struct err e = {0};
	int absent = 0;

	cr_assert_lt(local_submit(&s, j, "/nonexistent/godistcc/dispatchd.sock", &a, &absent, &e),
		     0);
	cr_assert_eq(absent, 1);
	job_free(j);
}
