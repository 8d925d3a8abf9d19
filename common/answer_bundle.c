#include "answer.h"

#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "bundle.h"
#include "err.h"
#include "protocol.h"

#include "banned.h"

/* The HTTP answer: a bundle (answer.h). */

#define ANSWER_MAX_EXTRA_ENTRIES 64
/* Room for tar headers and padding around the entries. */
#define ANSWER_ENTRY_OVERHEAD 2048

static void answer_limits(size_t noutputs, struct bundle_limits *lim)
{
	/* Every field: the cap names are printed when a hostile answer passes a cap. */
	*lim = (struct bundle_limits){
	    .max_entries = ANSWER_MAX_EXTRA_ENTRIES + noutputs,
	    .max_entry_size = OUTPUT_MAX_BYTES,
	    .max_total = (size_t)OUTPUT_MAX_BYTES + 2 * (size_t)STREAM_MAX_BYTES + RESULT_MAX_BYTES,
	};
}

size_t answer_max_bytes(size_t noutputs)
{
	struct bundle_limits lim;

	answer_limits(noutputs, &lim);
	return lim.max_total + lim.max_entries * ANSWER_ENTRY_OVERHEAD;
}

/* Stores one entry after result.json. */
static int answer_take_entry(struct answer *a, struct bundle_reader *rd, const char *name,
			     const char *data, size_t len, int *seen, struct err *e)
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
		o->data = bundle_reader_take(rd, &o->len); /* not copied */
		return 0;
	}
	return err_set(e, "answer: unexpected entry %s", name);
}

static int answer_read(struct answer *a, struct bundle_reader *rd, const struct answer_expect *outputs,
		       size_t noutputs, struct err *e)
{
	const char *name, *data;
	json_t *res;
	size_t len;
	int r, seen = 0;

	if ((r = bundle_reader_next(rd, &name, &data, &len, e)) < 0)
		return r;
	if (r == 0 || strcmp(name, ENTRY_RESULT) != 0)
		return err_set(e, "answer: first entry is not " ENTRY_RESULT);
	if (len > RESULT_MAX_BYTES)
		return err_set(e, "answer: " ENTRY_RESULT " larger than %u bytes",
			       RESULT_MAX_BYTES);
	if (!(res = json_loadb(data, len, 0, NULL)))
		return err_set(e, "result.json: not JSON");
	r = answer_take_result(a, res, outputs, noutputs, e);
	json_decref(res);
	if (r < 0)
		return -1;
	while ((r = bundle_reader_next(rd, &name, &data, &len, e)) > 0)
		if (answer_take_entry(a, rd, name, data, len, &seen, e) < 0)
			return -1;
	if (r < 0)
		return r;
	return answer_check_complete(a, noutputs, e);
}

int answer_parse(const void *data, size_t len, const struct answer_expect *outputs, size_t noutputs,
		 struct answer **ret, struct err *e)
{
	struct bundle_limits lim;
	struct bundle_reader *rd = NULL;
	struct answer *a = answer_new();
	int r = -1;

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
