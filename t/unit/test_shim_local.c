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
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../../toolexec/job.c"
#include "../../toolexec/local.c"

/* The fake daemon: accepts fake_conns connections (default 1), serving
 * each in a thread of its own as dispatchd does: keeps the request (all of
 * them, one after another), sends reply (header frame text, then raw
 * payload bytes), closes. */
struct fake {
	char dir[64], path[128];
	int lfd;
	pthread_t thread;
	const char *header;
	const char *payload;
	size_t payload_len;
	pthread_mutex_t mu;
	struct buf request;
	int joined;
};

static int fake_conns = 1;

struct fake_conn {
	struct fake *f;
	int fd;
};

static void *fake_serve_conn(void *arg)
{
	struct fake_conn *c = arg;
	struct fake *f = c->f;
	struct buf req;

	buf_init(&req);
	localsock_read_frame(c->fd, MANIFEST_MAX_BYTES, &req, NULL);
	pthread_mutex_lock(&f->mu);
	buf_add(&f->request, req.data, req.len);
	pthread_mutex_unlock(&f->mu);
	buf_release(&req);
	if (f->header)
		localsock_write_frame(c->fd, f->header, strlen(f->header), NULL);
	if (f->payload_len)
		localsock_write_full(c->fd, f->payload, f->payload_len, NULL);
	close(c->fd);
	return NULL;
}

static void *fake_serve(void *arg)
{
	struct fake *f = arg;
	struct fake_conn c[4];
	pthread_t t[4];
	int n = 0;

	while (n < fake_conns && n < 4) {
		c[n].f = f;
		if ((c[n].fd = accept(f->lfd, NULL, NULL)) < 0)
			break;
		if (pthread_create(&t[n], NULL, fake_serve_conn, &c[n]) != 0) {
			close(c[n].fd);
			break;
		}
		n++;
	}
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
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
	pthread_mutex_init(&f->mu, NULL);
	cr_assert_eq(pthread_create(&f->thread, NULL, fake_serve, f), 0);
}

/* Waits for the fake to have served its connections; f->request is then
 * complete. */
static void fake_join(struct fake *f)
{
	if (!f->joined)
		pthread_join(f->thread, NULL);
	f->joined = 1;
}

static void fake_stop(struct fake *f)
{
	fake_join(f);
	close(f->lfd);
	unlink(f->path);
	rmdir(f->dir);
	buf_release(&f->request);
	pthread_mutex_destroy(&f->mu);
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

/* <socket>.stuck names a process: fresh, then old, and a mark naming
 * another process (a restarted daemon) is removed. */
Test(shim_local, stuck_marks_name_a_process_and_age)
{
	struct fake f;
	struct timespec old[2] = {{.tv_sec = time(NULL) - LOCAL_STUCK_MS / 1000 - 5},
				  {.tv_sec = time(NULL) - LOCAL_STUCK_MS / 1000 - 5}};
	char *m;

	fake_start(&f, NULL, NULL, 0);
	m = local_stuck_path(f.path);
	cr_assert_eq(local_stuck_mark(f.path, 4242), LOCAL_MARK_NONE);
	local_mark_stuck(f.path, 4242);
	cr_assert_eq(local_stuck_mark(f.path, 4242), LOCAL_MARK_FRESH);
	cr_assert_eq(utimensat(AT_FDCWD, m, old, 0), 0);
	cr_assert_eq(local_stuck_mark(f.path, 4242), LOCAL_MARK_OLD);
	cr_assert_eq(local_stuck_mark(f.path, 4243), LOCAL_MARK_NONE);
	cr_assert_neq(access(m, F_OK), 0, "a mark naming another process was kept");
	free(m);
	shutdown(f.lfd, SHUT_RDWR); /* the fake's accept fails: nobody connected */
	fake_stop(&f);
}

/* A daemon marked stuck a moment ago gets no job: the shim is told at once
 * why, naming the process (the fake is this process). */
Test(shim_local, fresh_stuck_mark_passes_the_daemon_over)
{
	struct fake f;
	struct answer *a = NULL;
	struct err e = {0};
	char want[64];

	fake_start(&f, OK_HEADER("[]", 0), NULL, 0);
	local_mark_stuck(f.path, getpid());
	job_free(last_job);
	last_job = test_job();
	{
		struct settings s = {.timeout_s = 5};
		int absent = 0;

		cr_assert_lt(local_submit(&s, last_job, f.path, &a, &absent, &e), 0);
	}
	snprintf(want, sizeof(want), "passed over: process %ld", (long)getpid());
	cr_assert_not_null(strstr(err_msg(&e), want), "%s", err_msg(&e));
	fake_join(&f);
	cr_assert_eq(f.request.len, 0, "the job was sent: %s", f.request.data);
	local_unmark_stuck(f.path);
	fake_stop(&f);
}

/* An old mark: the shim asks the daemon first (a cluster request), and
 * when it answers, removes the mark and sends the job. */
Test(shim_local, old_stuck_mark_asks_then_sends)
{
	static const char out[] = "OBJ";
	struct fake f;
	struct answer *a = NULL;
	struct err e = {0};
	struct timespec old[2] = {{.tv_sec = time(NULL) - LOCAL_STUCK_MS / 1000 - 5},
				  {.tv_sec = time(NULL) - LOCAL_STUCK_MS / 1000 - 5}};
	char *m;
	int r;

	fake_conns = 2; /* the question, then the job */
	job_free(last_job);
	last_job = test_job();
	fake_start(&f, OK_HEADER("[{\"path\":\"/w/b001/_pkg_.a\",\"entry\":\"out/0\",\"size\":3}]", 0),
		   out, 3);
	m = local_stuck_path(f.path);
	local_mark_stuck(f.path, getpid());
	cr_assert_eq(utimensat(AT_FDCWD, m, old, 0), 0);
	{
		struct settings s = {.timeout_s = 5};
		int absent = 0;

		r = local_submit(&s, last_job, f.path, &a, &absent, &e);
	}
	fake_join(&f);
	fake_conns = 1;
	cr_assert_eq(r, 0, "%s", err_msg(&e));
	cr_assert_not_null(strstr(f.request.data, "\"request\":\"cluster\""), "%s", f.request.data);
	cr_assert_not_null(strstr(f.request.data, "\"tool\":\"compile\""), "%s", f.request.data);
	cr_assert_neq(access(m, F_OK), 0, "the mark was kept although the daemon answered");
	answer_free(a);
	free(m);
	fake_stop(&f);
}
