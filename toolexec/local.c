#include "local.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "answer.h"
#include "buf.h"
#include "err.h"
#include "job.h"
#include "localsock.h"
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

int local_submit(const struct settings *s, struct job *j, const char *path, struct answer **ret,
		 int *ret_absent, struct err *e)
{
	struct err le = {0};
	char *req = NULL;
	int fd = -1, r = -1;

	if (localsock_connect(path, s->timeout_s * 1000, &fd, ret_absent, &le) < 0)
		goto out;
	if (!(req = local_request(j))) {
		r = job_local(j, "cannot encode the request: an argument or path is not UTF-8");
		goto out;
	}
	if (localsock_write_frame(fd, req, strlen(req), &le) < 0)
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
