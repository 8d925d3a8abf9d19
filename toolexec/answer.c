#include "answer.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bundle.h"
#include "err.h"
#include "job.h"
#include "protocol.h"

#include "banned.h"

#define ANSWER_MAX_EXTRA_ENTRIES 64
#define ANSWER_MAX_SIGNAL 64
/* Room for tar headers and padding around the entries. */
#define ANSWER_ENTRY_OVERHEAD 2048

static void answer_limits(size_t noutputs, struct bundle_limits *lim)
{
	lim->max_entries = ANSWER_MAX_EXTRA_ENTRIES + noutputs;
	lim->max_entry_size = OUTPUT_MAX_BYTES;
	lim->max_total = (size_t)OUTPUT_MAX_BYTES + 2 * (size_t)STREAM_MAX_BYTES + RESULT_MAX_BYTES;
}

size_t answer_max_bytes(size_t noutputs)
{
	struct bundle_limits lim;

	answer_limits(noutputs, &lim);
	return lim.max_total + lim.max_entries * ANSWER_ENTRY_OVERHEAD;
}

void answer_free(struct answer *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->noutputs; i++) {
		free(a->outputs[i].entry);
		free(a->outputs[i].data);
	}
	free(a->outputs);
	buf_release(&a->out);
	buf_release(&a->err);
	free(a->host);
	free(a);
}

static int answer_int(json_t *o, const char *key, long lo, long hi, int *ret, struct err *e)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return err_set(e, "result.json: \"%s\" missing or out of range", key);
	*ret = (int)json_integer_value(v);
	return 0;
}

/* The absolute path of the job's output named path, or NULL. */
static const char *answer_expected(const char *path, const struct job_output *outputs,
				   size_t noutputs)
{
	for (size_t i = 0; i < noutputs; i++)
		if (strcmp(path, outputs[i].path) == 0 || strcmp(path, outputs[i].arg) == 0)
			return outputs[i].path;
	return NULL;
}

static int answer_add_output(struct answer *a, json_t *o, const struct job_output *outputs,
			     size_t noutputs, struct err *e)
{
	const char *path = json_string_value(json_object_get(o, "path"));
	const char *entry = json_string_value(json_object_get(o, "entry"));
	const char *mine = path ? answer_expected(path, outputs, noutputs) : NULL;

	if (!path || !entry)
		return err_set(e, "result.json: an output lacks \"path\" or \"entry\"");
	if (!mine)
		return err_set(e, "result.json: %s is not an output of this job", path);
	if (strncmp(entry, ENTRY_OUT_PREFIX, strlen(ENTRY_OUT_PREFIX)) != 0)
		return err_set(e, "result.json: bad entry name %s", entry);
	for (size_t i = 0; i < a->noutputs; i++)
		if (a->outputs[i].path == mine || strcmp(a->outputs[i].entry, entry) == 0)
			return err_set(e, "result.json: output %s listed twice", path);
	a->outputs[a->noutputs++] = (struct answer_output){.path = mine, .entry = xstrdup(entry)};
	return 0;
}

static int answer_parse_result(struct answer *a, const char *text, size_t len,
			       const struct job_output *outputs, size_t noutputs, struct err *e)
{
	json_t *j = json_loadb(text, len, 0, NULL);
	json_t *outs = json_object_get(j, "outputs");
	const char *host = json_string_value(json_object_get(j, "host"));
	int proto, r = -1;

	if (!json_is_object(j) || !json_is_array(outs) || json_array_size(outs) > noutputs) {
		err_set(e, "result.json: not an object with an \"outputs\" list of at most %zu",
			noutputs);
		goto out;
	}
	if (answer_int(j, "protocol", PROTOCOL_VERSION, PROTOCOL_VERSION, &proto, e) < 0 ||
	    answer_int(j, "exit_code", 0, 255, &a->exit_code, e) < 0 ||
	    answer_int(j, "signal", 0, ANSWER_MAX_SIGNAL, &a->signal, e) < 0)
		goto out;
	a->outputs = xcalloc(noutputs + 1, sizeof(*a->outputs));
	for (size_t i = 0; i < json_array_size(outs); i++)
		if (answer_add_output(a, json_array_get(outs, i), outputs, noutputs, e) < 0)
			goto out;
	a->host = host ? xstrdup(host) : NULL;
	a->duration_ms = (long)json_integer_value(json_object_get(j, "duration_ms"));
	r = 0;
out:
	json_decref(j);
	return r;
}

/* Stores one entry after result.json. */
static int answer_take_entry(struct answer *a, const char *name, const char *data, size_t len,
			     int *seen, struct err *e)
{
	int is_out = strcmp(name, ENTRY_STDOUT) == 0;

	if (is_out || strcmp(name, ENTRY_STDERR) == 0) {
		int bit = is_out ? 1 : 2;

		if (*seen & bit)
			return err_set(e, "answer: entry %s twice", name);
		if (len > STREAM_MAX_BYTES)
			return err_set(e, "answer: %s larger than %u bytes", name,
				       STREAM_MAX_BYTES);
		*seen |= bit;
		buf_add(is_out ? &a->out : &a->err, data, len);
		return 0;
	}
	for (size_t i = 0; i < a->noutputs; i++) {
		struct answer_output *o = &a->outputs[i];

		if (strcmp(o->entry, name) != 0)
			continue;
		if (o->data)
			return err_set(e, "answer: entry %s twice", name);
		o->data = xmalloc(len + 1);
		memcpy(o->data, data, len);
		o->len = len;
		return 0;
	}
	return err_set(e, "answer: unexpected entry %s", name);
}

static int answer_check_complete(const struct answer *a, size_t noutputs, struct err *e)
{
	for (size_t i = 0; i < a->noutputs; i++)
		if (!a->outputs[i].data)
			return err_set(e, "answer: entry %s missing", a->outputs[i].entry);
	if (a->exit_code == 0 && a->signal == 0 && a->noutputs != noutputs)
		return err_set(e, "answer: tool succeeded but returned %zu of %zu outputs",
			       a->noutputs, noutputs);
	return 0;
}

static int answer_read(struct answer *a, struct bundle_reader *rd, const struct job_output *outputs,
		       size_t noutputs, struct err *e)
{
	const char *name, *data;
	size_t len;
	int r, seen = 0;

	if ((r = bundle_reader_next(rd, &name, &data, &len, e)) < 0)
		return r;
	if (r == 0 || strcmp(name, ENTRY_RESULT) != 0)
		return err_set(e, "answer: first entry is not " ENTRY_RESULT);
	if (len > RESULT_MAX_BYTES)
		return err_set(e, "answer: " ENTRY_RESULT " larger than %u bytes",
			       RESULT_MAX_BYTES);
	if (answer_parse_result(a, data, len, outputs, noutputs, e) < 0)
		return -1;
	while ((r = bundle_reader_next(rd, &name, &data, &len, e)) > 0)
		if (answer_take_entry(a, name, data, len, &seen, e) < 0)
			return -1;
	if (r < 0)
		return r;
	return answer_check_complete(a, noutputs, e);
}

int answer_parse(const void *data, size_t len, const struct job_output *outputs, size_t noutputs,
		 struct answer **ret, struct err *e)
{
	struct bundle_limits lim;
	struct bundle_reader *rd = NULL;
	struct answer *a = xcalloc(1, sizeof(*a));
	int r = -1;

	buf_init(&a->out);
	buf_init(&a->err);
	answer_limits(noutputs, &lim);
	if (!(rd = bundle_reader_new(data, len, &lim, e)))
		goto out;
	if ((r = answer_read(a, rd, outputs, noutputs, e)) < 0)
		goto out;
	*ret = a;
	a = NULL;
	r = 0;
out:
	bundle_reader_free(rd);
	answer_free(a);
	return r;
}
