#include "local.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "answer.h"
#include "buf.h"
#include "err.h"
#include "fsutil.h"
#include "job.h"
#include "localsock.h"
#include "monotime.h"
#include "protocol.h"
#include "settings.h"

#include "banned.h"

/* A files[] entry: the path, with the text of a file already read (the
 * importcfg and embedcfg), which the daemon stages as sent. */
static json_t *local_file(const struct job_file *f)
{
	return f->loaded ? json_pack("{s:s, s:s%}", "path", f->path, "text", f->data.data,
				     f->data.len)
			 : json_pack("{s:s}", "path", f->path);
}

/* The request text (caller frees), or NULL when some string is not UTF-8. */
static char *local_request(const struct job *j)
{
	return job_request_text(j, local_file, json_pack("{s:s}", "tool_path", j->tool_argv[0]));
}

/* A size field of the header, within max. */
static int local_size(json_t *o, const char *key, size_t max, size_t *ret, struct err *e)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (unsigned long long)json_integer_value(v) > max)
		return err_set(e, "answer: \"%s\" missing or past %zu", key, max);
	*ret = (size_t)json_integer_value(v);
	return 0;
}

static int local_read_stream(int fd, json_t *h, const char *key, struct buf *out, struct err *e)
{
	size_t n;

	if (local_size(h, key, STREAM_MAX_BYTES, &n, e) < 0)
		return -1;
	buf_grow(out, n);
	if (localsock_read_full(fd, out->data, n, e) < 0)
		return -1;
	out->len = n;
	out->data[n] = '\0';
	return 0;
}

/* The size of the output listed with entry name, from the header. */
static int local_output_size(json_t *h, const char *entry, size_t max, size_t *ret, struct err *e)
{
	json_t *outs = json_object_get(h, "outputs");

	for (size_t i = 0; i < json_array_size(outs); i++) {
		json_t *o = json_array_get(outs, i);

		if (strcmp(json_string_value(json_object_get(o, "entry")), entry) == 0)
			return local_size(o, "size", max, ret, e);
	}
	return err_set(e, "answer: no size for %s", entry);
}

/* Reads stdout, stderr and the outputs that follow the header. */
static int local_read_payload(int fd, json_t *h, struct answer *a, struct err *e)
{
	size_t left = OUTPUT_MAX_BYTES;

	if (local_read_stream(fd, h, "stdout_size", &a->out, e) < 0 ||
	    local_read_stream(fd, h, "stderr_size", &a->err, e) < 0)
		return -1;
	for (size_t i = 0; i < a->noutputs; i++) {
		struct answer_output *o = &a->outputs[i];

		if (local_output_size(h, o->entry, left, &o->len, e) < 0)
			return -1;
		o->data = xmalloc(o->len + 1);
		if (localsock_read_full(fd, o->data, o->len, e) < 0)
			return -1;
		left -= o->len;
	}
	return 0;
}

/* Reads and validates the answer. */
static int local_read_answer(int fd, const struct job *j, struct answer **ret, struct err *e)
{
	struct answer *a = answer_new();
	struct buf text;
	json_t *h = NULL;
	const char *code;
	int r = -1;

	buf_init(&text);
	if (localsock_read_frame(fd, RESULT_MAX_BYTES, &text, e) < 0)
		goto out;
	if (!(h = json_loadb(text.data, text.len, 0, NULL)) || !json_is_object(h)) {
		err_set(e, "answer: not a JSON object");
		goto out;
	}
	if ((code = json_string_value(json_object_get(h, "error")))) {
		const char *msg = json_string_value(json_object_get(h, "message"));

		err_set(e, "%s (%s)", msg ? msg : "no message", code);
		goto out;
	}
	if (answer_take_result(a, h, j->outputs, j->noutputs, e) < 0 ||
	    local_read_payload(fd, h, a, e) < 0 || answer_check_complete(a, j->noutputs, e) < 0)
		goto out;
	*ret = a;
	a = NULL;
	r = 0;
out:
	json_decref(h);
	buf_release(&text);
	answer_free(a);
	return r;
}

/* --- the watch on the dispatcher (local.h) --- */

/* Whether the dispatcher at path answers a cluster request within
 * LOCAL_PING_MS. Any answer will do, such as no_slots from a daemon at its
 * --max-connections. */
static int local_answers(const char *path)
{
	struct buf text;
	struct err e = {0};
	int absent, r;

	buf_init(&text);
	r = localsock_ask_cluster(path, LOCAL_PING_MS, &text, &absent, &e);
	buf_release(&text);
	return r == 0;
}

static char *local_stuck_path(const char *path)
{
	return xasprintf("%s.stuck", path);
}

/* Writes <path>.stuck naming pid, which also makes it new. */
static void local_mark_stuck(const char *path, pid_t pid)
{
	char *m = local_stuck_path(path), text[32];
	int n = snprintf(text, sizeof(text), "%ld\n", (long)pid);

	if (fs_write_file(m, text, (size_t)n, 0600, NULL) < 0)
		unlink(m);
	free(m);
}

static void local_unmark_stuck(const char *path)
{
	char *m = local_stuck_path(path);

	unlink(m);
	free(m);
}

enum local_mark {
	LOCAL_MARK_NONE,  /* no mark for this dispatcher (one for another is removed) */
	LOCAL_MARK_FRESH, /* marked less than LOCAL_STUCK_MS ago */
	LOCAL_MARK_OLD,	  /* marked longer ago */
};

/* What <path>.stuck says of the dispatcher whose process is pid. */
static enum local_mark local_stuck_mark(const char *path, pid_t pid)
{
	char *m = local_stuck_path(path), text[32];
	enum local_mark r = LOCAL_MARK_NONE;
	struct timespec now;
	struct stat st;
	int fd = open(m, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		free(m);
		return r;
	}
	n = read(fd, text, sizeof(text) - 1);
	if (n > 0 && fstat(fd, &st) == 0 && clock_gettime(CLOCK_REALTIME, &now) == 0) {
		long age_ms = (long)(now.tv_sec - st.st_mtim.tv_sec) * 1000 +
			      (now.tv_nsec - st.st_mtim.tv_nsec) / 1000000;

		text[n] = '\0';
		if (pid <= 0 || strtol(text, NULL, 10) != pid)
			unlink(m);
		else
			r = age_ms >= 0 && age_ms < LOCAL_STUCK_MS ? LOCAL_MARK_FRESH : LOCAL_MARK_OLD;
	}
	close(fd);
	free(m);
	return r;
}

/* Ends the wait on a dispatcher that does not answer. */
static int local_stuck(const char *path, pid_t pid, struct err *e)
{
	local_mark_stuck(path, pid);
	return err_set(e, "process %ld did not answer a status request within %ld s (stopped or "
			  "stuck?); the next %ld s of jobs pass it over",
		       (long)pid, LOCAL_PING_MS / 1000, LOCAL_STUCK_MS / 1000);
}

/* Before a job: 0 to send it, -1 when the dispatcher is passed over. */
static int local_check_mark(const char *path, pid_t pid, struct err *e)
{
	switch (local_stuck_mark(path, pid)) {
	case LOCAL_MARK_NONE:
		return 0;
	case LOCAL_MARK_FRESH:
		return err_set(e, "passed over: process %ld did not answer a status request less "
				  "than %ld s ago",
			       (long)pid, LOCAL_STUCK_MS / 1000);
	case LOCAL_MARK_OLD:
		break;
	}
	/* This shim asks; the others pass the dispatcher over meanwhile. */
	local_mark_stuck(path, pid);
	if (!local_answers(path))
		return local_stuck(path, pid, e);
	local_unmark_stuck(path);
	return 0;
}

/* Waits for the answer to begin, asking every LOCAL_WATCH_MS whether the
 * dispatcher still answers at all; the whole wait is the job's timeout. */
static int local_watch(const struct settings *s, int fd, const char *path, pid_t pid,
		       struct err *e)
{
	long deadline = monotime_ms() + s->timeout_s * 1000L;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		long left = deadline - monotime_ms();
		int n;

		if (left <= 0)
			return err_errno(e, ETIMEDOUT, "local socket read");
		n = poll(&p, 1, (int)(left < LOCAL_WATCH_MS ? left : LOCAL_WATCH_MS));
		if (n < 0 && errno != EINTR)
			return err_errno(e, errno, "poll");
		if (n > 0)
			return 0;
		if (n == 0 && !local_answers(path))
			return local_stuck(path, pid, e);
	}
}

int local_submit(const struct settings *s, struct job *j, const char *path, struct answer **ret,
		 int *ret_absent, struct err *e)
{
	struct err le = {0};
	char *req = NULL;
	int fd = -1, r = -1;
	pid_t pid;

	if (localsock_connect(path, s->timeout_s * 1000, &fd, ret_absent, &le) < 0)
		goto out;
	pid = localsock_peer_pid(fd);
	if (local_check_mark(path, pid, &le) < 0)
		goto out;
	if (!(req = local_request(j))) {
		r = job_local(j, "cannot encode the request: an argument or path is not UTF-8");
		goto out;
	}
	if (localsock_write_frame(fd, req, strlen(req), &le) < 0 ||
	    local_watch(s, fd, path, pid, &le) < 0)
		goto out;
	r = local_read_answer(fd, j, ret, &le);
out:
	if (r < 0 && !j->local_reason)
		err_set(e, "dispatcher unix:%s: %s", path, err_msg(&le));
	if (fd >= 0)
		close(fd);
	free(req);
	return r;
}
