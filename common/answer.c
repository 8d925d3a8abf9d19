#include "answer.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "protocol.h"

#include "banned.h"

#define ANSWER_MAX_SIGNAL 64

struct answer *answer_new(void)
{
	struct answer *a = xcalloc(1, sizeof(*a));

	buf_init(&a->out);
	buf_init(&a->err);
	return a;
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
static const char *answer_expected(const char *path, const struct answer_expect *outputs,
				   size_t noutputs)
{
	for (size_t i = 0; i < noutputs; i++)
		if (strcmp(path, outputs[i].path) == 0 || strcmp(path, outputs[i].arg) == 0)
			return outputs[i].path;
	return NULL;
}

static int answer_add_output(struct answer *a, json_t *o, const struct answer_expect *outputs,
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

int answer_take_result(struct answer *a, json_t *j, const struct answer_expect *outputs,
		       size_t noutputs, struct err *e)
{
	json_t *outs = json_object_get(j, "outputs");
	const char *host = json_string_value(json_object_get(j, "host"));
	int proto;

	if (!json_is_object(j) || !json_is_array(outs) || json_array_size(outs) > noutputs)
		return err_set(e, "result.json: not an object with an \"outputs\" list of at most %zu",
			       noutputs);
	if (answer_int(j, "protocol", PROTOCOL_VERSION, PROTOCOL_VERSION, &proto, e) < 0 ||
	    answer_int(j, "exit_code", 0, 255, &a->exit_code, e) < 0 ||
	    answer_int(j, "signal", 0, ANSWER_MAX_SIGNAL, &a->signal, e) < 0)
		return -1;
	a->outputs = xcalloc(noutputs + 1, sizeof(*a->outputs));
	for (size_t i = 0; i < json_array_size(outs); i++)
		if (answer_add_output(a, json_array_get(outs, i), outputs, noutputs, e) < 0)
			return -1;
	a->host = host ? xstrdup(host) : NULL;
	a->duration_ms = (long)json_integer_value(json_object_get(j, "duration_ms"));
	return 0;
}

int answer_check_complete(const struct answer *a, size_t noutputs, struct err *e)
{
	for (size_t i = 0; i < a->noutputs; i++)
		if (!a->outputs[i].data)
			return err_set(e, "answer: entry %s missing", a->outputs[i].entry);
	if (a->exit_code == 0 && a->signal == 0 && a->noutputs != noutputs)
		return err_set(e, "answer: tool succeeded but returned %zu of %zu outputs",
			       a->noutputs, noutputs);
	return 0;
}

