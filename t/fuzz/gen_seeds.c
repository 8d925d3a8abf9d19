/*
 * Writes seeds for the fuzz targets from one real compile or asm
 * invocation, captured as NUL-separated "cwd, tool path, arguments" (see
 * README): the requests the shim would send for it (the HTTP bundle, its
 * manifest, the local socket's request), its arguments and config files,
 * and answers of the form a daemon sends back. Not part of the build:
 *
 *   cc -std=c17 -D_GNU_SOURCE -Icommon -o /tmp/gen_seeds t/fuzz/gen_seeds.c \
 *      toolexec/job.o toolexec/jobbundle.o common/libcommon.a \
 *      $(pkg-config --libs jansson libzstd libarchive libcrypto)
 *   /tmp/gen_seeds t/fuzz/corpus NAME CAPTURE
 */
#include <sys/stat.h>

#include "../../toolexec/local.c"
#include "bundle.h"
#include "fsutil.h"
#include "hash.h"

static const char *outdir, *name;

static void put(const char *target, const char *suffix, const void *data, size_t len)
{
	char *dir = xasprintf("%s/%s", outdir, target);
	char *path = xasprintf("%s/%s%s", dir, name, suffix);
	FILE *f;

	mkdir(dir, 0777);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	free(path);
	free(dir);
}

static void frame(struct buf *b, const char *data, size_t len)
{
	unsigned char h[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16),
			      (unsigned char)(len >> 8), (unsigned char)len};

	buf_add(b, h, 4);
	buf_add(b, data, len);
}

static void outputs_line(const struct job *j, struct buf *b)
{
	for (size_t i = 0; i < j->noutputs; i++)
		buf_addf(b, "%s%s", i ? " " : "", j->outputs[i].path);
	buf_addch(b, '\n');
}

static char *result_json(const struct job *j, int sizes)
{
	json_t *outs = json_array(), *r;
	char *text;

	for (size_t i = 0; i < j->noutputs; i++) {
		char *entry = xasprintf("out/%zu", i);

		json_array_append_new(outs, sizes ? json_pack("{s:s, s:s, s:i}", "path",
							       j->outputs[i].path, "entry", entry,
							       "size", 3)
						  : json_pack("{s:s, s:s}", "path",
							       j->outputs[i].path, "entry", entry));
		free(entry);
	}
	r = json_pack("{s:i, s:i, s:i, s:s, s:i, s:o}", "protocol", 1, "exit_code", 0, "signal", 0,
		      "host", "volunteer-1", "duration_ms", 42, "outputs", outs);
	if (sizes) {
		json_object_set_new(r, "stdout_size", json_integer(2));
		json_object_set_new(r, "stderr_size", json_integer(0));
	}
	text = json_dumps(r, JSON_COMPACT);
	json_decref(r);
	return text;
}

static void answers(const struct job *j)
{
	for (int z = 0; z < 2; z++) {
		struct bundle_writer *w = bundle_writer_new(z ? BUNDLE_ZSTD : 0, 1, NULL);
		char *res = result_json(j, 0), *data;
		struct buf b;
		size_t len;

		buf_init(&b);
		outputs_line(j, &b);
		bundle_writer_add(w, "result.json", res, strlen(res), NULL);
		bundle_writer_add(w, "stdout", "ok", 2, NULL);
		bundle_writer_add(w, "stderr", "", 0, NULL);
		for (size_t i = 0; i < j->noutputs; i++) {
			char *entry = xasprintf("out/%zu", i);

			bundle_writer_add(w, entry, "obj", 3, NULL);
			free(entry);
		}
		bundle_writer_finish(w, &data, &len, NULL);
		buf_add(&b, data, len);
		put("answer", z ? "-zstd" : "", b.data, b.len);
		bundle_writer_free(w);
		free(data);
		free(res);
		buf_release(&b);
	}
}

static void shim_local(const struct job *j)
{
	char *res = result_json(j, 1);
	struct buf b;

	buf_init(&b);
	outputs_line(j, &b);
	frame(&b, res, strlen(res));
	buf_adds(&b, "ok");
	for (size_t i = 0; i < j->noutputs; i++)
		buf_adds(&b, "obj");
	put("shim_local", "", b.data, b.len);
	buf_release(&b);
	free(res);
}

static void configs(const struct job *j)
{
	for (size_t i = 0; i < j->nfiles; i++) {
		const struct job_file *f = &j->files[i];

		if (!f->loaded)
			continue;
		if (strstr(f->path, "importcfg"))
			put("gocfg", "-importcfg", f->data.data, f->data.len);
		else if (strstr(f->path, "embedcfg"))
			put("gocfg", "-embedcfg", f->data.data, f->data.len);
	}
}

static void goargs(const struct job *j)
{
	struct buf b;

	buf_init(&b);
	buf_addch(&b, j->tool == GOARGS_ASM ? 1 : 0);
	for (size_t i = 1; j->tool_argv[i]; i++) {
		if (i > 1)
			buf_addch(&b, '\0');
		buf_adds(&b, j->tool_argv[i]);
	}
	put("goargs", "", b.data, b.len);
	buf_release(&b);
}

/* The bundle's manifest and blobs: manifest and jobargs seeds. */
static void from_bundle(const char *data, size_t len)
{
	const struct bundle_limits lim = {20000, 1u << 30, 1u << 30};
	struct bundle_reader *r = bundle_reader_new(data, len, &lim, NULL);
	const char *n, *d;
	size_t l;
	json_t *m = NULL, *files;
	struct buf b;

	buf_init(&b);
	if (bundle_reader_next(r, &n, &d, &l, NULL) != 1)
		exit(1);
	put("manifest", "", d, l);
	buf_add(&b, d, l);
	m = json_loadb(d, l, 0, NULL);
	files = json_object_get(m, "files");
	/* Files in path order, each with its content when it is small. */
	for (;;) {
		const char *best = NULL, *blob = NULL;
		size_t bi = 0;

		for (size_t i = 0; i < json_array_size(files); i++) {
			const char *p = json_string_value(json_object_get(json_array_get(files, i), "path"));

			if (p && (!best || strcmp(p, best) < 0)) {
				best = p;
				bi = i;
			}
		}
		if (!best)
			break;
		blob = json_string_value(json_object_get(json_array_get(files, bi), "blob"));
		buf_addch(&b, '\0');
		for (struct bundle_reader *r2 = bundle_reader_new(data, len, &lim, NULL); r2;) {
			if (bundle_reader_next(r2, &n, &d, &l, NULL) != 1) {
				bundle_reader_free(r2);
				break;
			}
			if (strncmp(n, "blob/", 5) == 0 && strcmp(n + 5, blob) == 0 && l <= 4096)
				buf_add(&b, d, l);
		}
		json_object_set_new(json_array_get(files, bi), "path", json_null());
	}
	put("jobargs", "", b.data, b.len);
	json_decref(m);
	bundle_reader_free(r);
	buf_release(&b);
}

int main(int argc, char **argv)
{
	struct buf cap, b;
	char *args[256], *req, *data;
	size_t n = 0, len;
	struct job *j;
	struct err e = {0};

	if (argc != 4)
		return 2;
	outdir = argv[1];
	name = argv[2];
	buf_init(&cap);
	buf_init(&b);
	if (fs_read_file(argv[3], 1 << 20, &cap, &e) < 0)
		return 1;
	for (size_t i = 0; i < cap.len && n < 255; i += strlen(cap.data + i) + 1)
		args[n++] = cap.data + i;
	args[n] = NULL;
	j = job_new(strstr(args[1], "asm") ? GOARGS_ASM : GOARGS_COMPILE, args + 1, args[0]);
	if (job_parse(j) < 0 || job_list_inputs(j) < 0) {
		fprintf(stderr, "local: %s\n", j->local_reason);
		return 1;
	}
	goargs(j);
	configs(j);
	req = local_request(j);
	put("manifest", "-local", req, strlen(req));
	frame(&b, req, strlen(req));
	put("dispatchd_local", "", b.data, b.len);
	answers(j);
	shim_local(j);
	hash_file(args[1], j->toolchain, NULL);
	if (job_load_files(j) < 0)
		return 1;
	for (int z = 0; z < 2; z++) {
		if (job_bundle(j, z, 1, NULL, &data, &len, &e) < 0) {
			fprintf(stderr, "%s\n", err_msg(&e));
			return 1;
		}
		put("job", z ? "-zstd" : "", data, len);
		put("bundle", z ? "-zstd" : "", data, len);
		if (!z)
			from_bundle(data, len);
		free(data);
		if (!z) { /* a fresh job for the next form */
			job_free(j);
			j = job_new(strstr(args[1], "asm") ? GOARGS_ASM : GOARGS_COMPILE, args + 1, args[0]);
			job_parse(j);
			job_list_inputs(j);
			hash_file(args[1], j->toolchain, NULL);
			job_load_files(j);
		}
	}
	job_free(j);
	free(req);
	buf_release(&b);
	buf_release(&cap);
	return 0;
}
