#include "job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "answer.h"
#include "blobs.h"
#include "blobstore.h"
#include "buf.h"
#include "bundle.h"
#include "critpath.h"
#include "dispatchd.h"
#include "err.h"
#include "forward.h"
#include "goargs.h"
#include "gocfg.h"
#include "hosts.h"
#include "janitor.h"
#include "jobargs.h"
#include "localslots.h"
#include "log.h"
#include "manifest.h"
#include "monotime.h"
#include "peer.h"
#include "protocol.h"
#include "relocate.h"
#include "run.h"
#include "sandbox.h"
#include "slots.h"
#include "stats.h"
#include "toolchain.h"

#include "banned.h"

/* One output file the tool was asked to write. */
struct job_output {
	struct buf data;
	int entry; /* n of the "out/n" entry, or -1 when the tool did not write it */
};

struct job {
	struct dispatchd *d;
	struct manifest *m;
	struct blobs blobs;
	struct jobargs ja;
	struct sandbox *sb;
	struct run_result run;
	struct job_output *outs; /* one per ja.outs */
	long duration_ms;	 /* staging to collected outputs */
	char *ran_on;		 /* the volunteer that ran it, or NULL for this daemon */
	int local;		 /* came through the local socket */
	int forwarded;		 /* a dispatcher sent it: run here, never forward */
	int ran;		 /* took a slot: counted in the stats */
	int client_fd;		 /* a local job's connection, else -1 */
};


void job_missing_release(struct job_missing *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++)
		free(m->blobs[i]);
	free(m->blobs);
	memset(m, 0, sizeof(*m));
}

static void job_release(struct job *j)
{
	for (size_t i = 0; j->outs && i < j->ja.outs.n; i++)
		buf_release(&j->outs[i].data);
	free(j->outs);
	sandbox_free(j->sb);
	run_result_release(&j->run);
	jobargs_release(&j->ja);
	blobs_release(&j->blobs);
	free(j->ran_on);
	manifest_free(j->m);
}

/* "manifest.json" first, then only verified "blob/<sha256>" entries. */
static int job_read_entries(struct job *j, struct bundle_reader *br, struct err *e)
{
	const char *name, *data;
	size_t len;
	int k;

	if ((k = bundle_reader_next(br, &name, &data, &len, e)) < 0)
		return -1;
	if (k == 0 || strcmp(name, ENTRY_MANIFEST) != 0)
		return err_set(e, "bundle: the first entry must be %s", ENTRY_MANIFEST);
	if (manifest_parse(data, len, &j->m, e) < 0)
		return -1;
	while ((k = bundle_reader_next(br, &name, &data, &len, e)) > 0) {
		if (strncmp(name, ENTRY_BLOB_PREFIX, strlen(ENTRY_BLOB_PREFIX)) != 0)
			return err_set(e, "bundle: unexpected entry \"%s\"", name);
		if (blobs_add(&j->blobs, name + strlen(ENTRY_BLOB_PREFIX), data, len, e) < 0)
			return -1;
	}
	blobs_seal(&j->blobs);
	return k;
}

static int job_read_bundle(struct job *j, const char *body, size_t len, struct err *e)
{
	const struct bundle_limits lim = {
	    .max_entries = JOB_MAX_ENTRIES,
	    .max_entry_size = JOB_MAX_DECOMPRESSED,
	    .max_total = JOB_MAX_DECOMPRESSED,
	    .entries_name = "JOB_MAX_ENTRIES",
	    .bytes_name = "JOB_MAX_DECOMPRESSED",
	};
	struct bundle_reader *br = bundle_reader_new(body, len, &lim, e);
	int r = -1;

	if (!br || job_read_entries(j, br, e) < 0) {
		err_set(e, "bundle: unreadable");
		goto out;
	}
	r = 0;
out:
	bundle_reader_free(br);
	return r;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Fills miss with what the store and the request lack: 1 when anything. */
static int job_find_missing(const struct job *j, struct job_missing *miss)
{
	const struct manifest *m = j->m;
	size_t w = 0;

	memset(miss, 0, sizeof(*miss));
	miss->toolchain = !toolchain_exists(j->d->store, m->toolchain);
	miss->blobs = xcalloc(m->nfiles ? m->nfiles : 1, sizeof(*miss->blobs));
	for (size_t i = 0; i < m->nfiles; i++)
		if (!blobs_find(&j->blobs, m->files[i].blob))
			miss->blobs[miss->n++] = xstrdup(m->files[i].blob);
	qsort(miss->blobs, miss->n, sizeof(*miss->blobs), str_cmp);
	for (size_t i = 0; i < miss->n; i++) {
		if (w > 0 && strcmp(miss->blobs[w - 1], miss->blobs[i]) == 0)
			free(miss->blobs[i]);
		else
			miss->blobs[w++] = miss->blobs[i];
	}
	miss->n = w;
	if (miss->toolchain || miss->n)
		return 1;
	job_missing_release(miss);
	return 0;
}

/* The bytes of the blobs the job holds now. */
static size_t job_blob_bytes(const struct job *j)
{
	size_t n = 0;

	for (size_t i = 0; i < j->blobs.n; i++)
		n += j->blobs.items[i].len;
	return n;
}

/* Takes from the store the blobs the request left out (miss->blobs, as
 * job_find_missing() found them), at most JOB_MAX_DECOMPRESSED in all
 * with the request's own; those it cannot give stay missing. When the
 * toolchain is missing too, the job cannot run yet: the store is only
 * asked what it holds, so that the 409 names just what it lacks. */
static void job_take_stored(struct job *j, struct job_missing *miss)
{
	struct blobstore *bs = j->d->blobs;
	size_t left = JOB_MAX_DECOMPRESSED, w = 0, have = job_blob_bytes(j);
	struct err e = {0};
	struct buf data;

	left = have < left ? left - have : 0;
	buf_init(&data);
	for (size_t i = 0; i < miss->n; i++) {
		int r = 0;

		if (miss->toolchain)
			r = blobstore_has(bs, miss->blobs[i]);
		else if ((r = blobstore_get(bs, miss->blobs[i], left, &data, &e)) == 1) {
			left -= data.len;
			blobs_take(&j->blobs, miss->blobs[i], &data);
		} else if (r < 0) {
			log_warn("blob store: %s", err_msg(&e));
			memset(&e, 0, sizeof(e));
		}
		if (r == 1)
			free(miss->blobs[i]);
		else
			miss->blobs[w++] = miss->blobs[i];
	}
	miss->n = w;
	buf_release(&data);
	blobs_seal(&j->blobs);
}

/* Keeps the request's blobs that its manifest names in the store; a blob
 * the store cannot keep only costs a resend. */
static void job_keep_blobs(const struct job *j)
{
	struct err e = {0};

	for (size_t i = 0; i < j->m->nfiles; i++) {
		const struct blob *b = j->m->files[i].link ? NULL
							   : blobs_find(&j->blobs, j->m->files[i].blob);

		if (b && blobstore_put(j->d->blobs, b->hash, b->data, b->len, &e) < 0) {
			log_warn("blob store: %s", err_msg(&e));
			memset(&e, 0, sizeof(e));
		}
	}
}

/* Writes one file, with -importcfg and -embedcfg pointing into the sandbox;
 * a local job's file without text is linked to where the client has it. */
static int job_stage_file(struct job *j, const struct manifest_file *f, struct err *e)
{
	const struct blob *b;
	int imp = j->ja.importcfg && strcmp(f->path, j->ja.importcfg) == 0;
	int emb = j->ja.embedcfg && strcmp(f->path, j->ja.embedcfg) == 0;
	struct buf rw;
	int r = -1;

	if (f->link)
		return sandbox_symlink(j->sb, f->path, f->path, e);
	b = blobs_find(&j->blobs, f->blob);
	if (!imp && !emb)
		return sandbox_write(j->sb, f->path, b->data, b->len, e);
	buf_init(&rw);
	if ((imp ? gocfg_importcfg_rewrite
		 : gocfg_embedcfg_rewrite)(b->data, b->len, sandbox_root(j->sb), &rw, e) < 0)
		goto out;
	r = sandbox_write(j->sb, f->path, rw.data, rw.len, e);
out:
	buf_release(&rw);
	return r;
}

/* The sandbox with the working directory, TMPDIR, the outputs'
 * directories and every file of the job. */
static int job_stage(struct job *j, struct err *e)
{
	const struct gocfg_paths *outs = &j->ja.outs_abs;

	if (sandbox_new(j->d->jobs_dir, &j->sb, e) < 0 || sandbox_mkdir(j->sb, j->m->cwd, e) < 0 ||
	    sandbox_mkdir(j->sb, "/tmp", e) < 0)
		return -1;
	for (size_t i = 0; i < outs->n; i++) {
		char *dir = xstrndup(outs->paths[i],
				     (size_t)(strrchr(outs->paths[i], '/') - outs->paths[i]));
		int r = dir[0] ? sandbox_mkdir(j->sb, dir, e) : 0;

		free(dir);
		if (r < 0)
			return -1;
	}
	for (size_t i = 0; i < j->m->nfiles; i++)
		if (job_stage_file(j, &j->m->files[i], e) < 0)
			return -1;
	return 0;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* The tool's whole environment: the manifest's allowed variables, PWD and
 * TMPDIR. */
static char **job_envp(const struct job *j, const char *dir)
{
	char **envp = xcalloc(j->m->nenv + 3, sizeof(*envp));
	size_t n = 0;

	for (size_t i = 0; i < j->m->nenv; i++)
		envp[n++] = xstrdup(j->m->env[i]);
	envp[n++] = xasprintf("PWD=%s", dir);
	envp[n++] = xasprintf("TMPDIR=%s/tmp", sandbox_root(j->sb));
	return envp;
}

/* argv[0] as the go command would pass it, then the relocated arguments. */
static char **job_argv(const struct job *j, char **args, size_t argc)
{
	char **argv = xcalloc(argc + 2, sizeof(*argv));

	argv[0] = xstrdup(goargs_tool_name(j->m->tool));
	for (size_t i = 0; i < argc; i++)
		argv[i + 1] = xstrdup(args[i]);
	return argv;
}

/*
 * How long the jail may take to start an isolated tool (the fork, the
 * namespaces and the mounts take milliseconds). Past it the host is in
 * trouble, as when one of its processes spun in the kernel for minutes
 * before its exec: the job fails with 500 and the client runs it
 * elsewhere, rather than waiting for --job-timeout.
 */
#define JOB_START_MS 10000L

static int job_run_error(int r)
{
	switch (r) {
	case RUN_E_CANCELED:
		return JOB_E_SHUTTING_DOWN;
	case RUN_E_TOO_LARGE:
	case RUN_E_DISK:
		return JOB_E_TOO_LARGE;
	case RUN_E_TIMEOUT:
		return JOB_E_LIMIT;
	case RUN_E_START: /* this host's trouble: the client tries another */
	default:
		return JOB_E_INTERNAL;
	}
}

/* A tool the jail killed at one of its limits produced no result a local
 * run would have: the client had better run the job itself. 0 otherwise. */
static int job_limit_hit(const struct job *j, struct err *e)
{
	if (!j->d->jail)
		return 0;
	if (j->run.signal == SIGXFSZ) {
		err_set(e, "the tool wrote a file past the job's file size limit (--job-disk, at "
			   "most OUTPUT_MAX_BYTES)");
		return JOB_E_TOO_LARGE;
	}
	if (j->run.signal == SIGXCPU) {
		err_set(e, "the tool used up the job's CPU time limit (--job-cpu)");
		return JOB_E_LIMIT;
	}
	return 0;
}

/* Relocates the arguments and runs the tool in S+cwd. */
static int job_exec(struct job *j, struct err *e)
{
	const struct jobargs *ja = &j->ja;
	char **args = NULL, **argv = NULL, **envp = NULL;
	char *exe = NULL, *dir = NULL;
	struct run_cmd c = {
		.cancel_fd = j->d->cancel_fd,
		.nice = j->d->nice,
		.slice_ms = j->d->job_slice_ms,
	};
	size_t argc;
	int r = JOB_E_INTERNAL;

	if (relocate_goargs(ja->ga, sandbox_root(j->sb), j->m->goroot,
			    (const char *const *)ja->topdirs.paths, ja->topdirs.n, e) < 0 ||
	    goargs_render(ja->ga, &args, &argc) < 0) {
		err_set(e, "args: cannot relocate into the sandbox");
		goto out;
	}
	c.argv = argv = job_argv(j, args, argc);
	c.dir = dir = sandbox_path(j->sb, j->m->cwd);
	c.envp = envp = job_envp(j, dir);
	c.exe = exe = toolchain_path(j->d->store, j->m->toolchain);
	c.merge_output = j->m->merge_output;
	c.timeout_s = j->d->job_timeout;
	c.start_ms = JOB_START_MS;
	c.jail = j->d->jail;
	c.sandbox = sandbox_root(j->sb);
	c.isolate = !j->local; /* a local job reads the user's files through links */
	c.id = sandbox_id(j->sb);
	if ((r = run_tool(&c, &j->run, e)) < 0)
		r = job_run_error(r);
	else
		r = job_limit_hit(j, e);
out:
	goargs_free_argv(args);
	strv_free(argv);
	strv_free(envp);
	free(exe);
	free(dir);
	return r;
}

/* Whether output i names the same file as an earlier one. */
static int job_output_repeats(const struct job *j, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (strcmp(j->ja.outs_abs.paths[k], j->ja.outs_abs.paths[i]) == 0)
			return 1;
	return 0;
}

/* Reads the outputs the tool wrote, within OUTPUT_MAX_BYTES in all. */
static int job_collect(struct job *j, struct err *e)
{
	size_t left = OUTPUT_MAX_BYTES;
	int next = 0;

	j->outs = xcalloc(j->ja.outs.n ? j->ja.outs.n : 1, sizeof(*j->outs));
	for (size_t i = 0; i < j->ja.outs.n; i++) {
		struct job_output *o = &j->outs[i];
		int found = 0, r;

		buf_init(&o->data);
		o->entry = -1;
		if (job_output_repeats(j, i))
			continue;
		r = sandbox_read(j->sb, j->ja.outs_abs.paths[i], left, &o->data, &found, e);
		if (r < 0)
			return r == SANDBOX_E_TOO_LARGE ? JOB_E_TOO_LARGE : JOB_E_INTERNAL;
		if (found) {
			o->entry = next++;
			left -= o->data.len;
		}
	}
	return 0;
}

/* result.json, or for a local job the answer's header, which also gives
 * the size of each piece that follows it. */
static json_t *job_result_json(const struct job *j)
{
	json_t *outputs = json_array(), *res;

	for (size_t i = 0; outputs && i < j->ja.outs.n; i++) {
		char entry[32];
		json_t *o;

		if (j->outs[i].entry < 0)
			continue;
		snprintf(entry, sizeof(entry), ENTRY_OUT_PREFIX "%d", j->outs[i].entry);
		o = json_pack("{s:s, s:s}", "path", j->ja.outs.paths[i], "entry", entry);
		if (o && j->local)
			json_object_set_new(o, "size",
					    json_integer((json_int_t)j->outs[i].data.len));
		json_array_append_new(outputs, o);
	}
	res = json_pack("{s:i, s:i, s:i, s:o, s:s, s:I}", "protocol", PROTOCOL_VERSION, "exit_code",
			j->run.exit_code, "signal", j->run.signal, "outputs", outputs, "host",
			j->ran_on ? j->ran_on : j->d->name, "duration_ms", (json_int_t)j->duration_ms);
	if (res && j->local) {
		json_object_set_new(res, "stdout_size", json_integer((json_int_t)j->run.out.len));
		json_object_set_new(res, "stderr_size", json_integer((json_int_t)j->run.err.len));
	}
	return res;
}

static int job_add_outputs(const struct job *j, struct bundle_writer *w, struct err *e)
{
	for (size_t i = 0; i < j->ja.outs.n; i++) {
		char entry[32];

		if (j->outs[i].entry < 0)
			continue;
		snprintf(entry, sizeof(entry), ENTRY_OUT_PREFIX "%d", j->outs[i].entry);
		if (bundle_writer_add(w, entry, j->outs[i].data.data, j->outs[i].data.len, e) < 0)
			return -1;
	}
	return 0;
}

/* The answer bundle: result.json, stdout, stderr, then out/<n>. */
static int job_answer(const struct job *j, char **ret_data, size_t *ret_len, struct err *e)
{
	struct bundle_writer *w = NULL;
	json_t *res = job_result_json(j);
	char *text = res ? json_dumps(res, JSON_COMPACT) : NULL;
	int r = JOB_E_INTERNAL;

	if (!text) {
		err_set(e, "result.json: out of memory");
		goto out;
	}
	w = bundle_writer_new(j->m->compress ? BUNDLE_ZSTD : 0, 1, e);
	if (!w || bundle_writer_add(w, ENTRY_RESULT, text, strlen(text), e) < 0 ||
	    bundle_writer_add(w, ENTRY_STDOUT, j->run.out.data, j->run.out.len, e) < 0 ||
	    bundle_writer_add(w, ENTRY_STDERR, j->run.err.data, j->run.err.len, e) < 0 ||
	    job_add_outputs(j, w, e) < 0 || bundle_writer_finish(w, ret_data, ret_len, e) < 0)
		goto out;
	r = 0;
out:
	bundle_writer_free(w);
	free(text);
	json_decref(res);
	return r;
}

/* Diagnostics name the client's paths, as a local run prints them. */
static void job_strip(struct job *j)
{
	const char *root = sandbox_root(j->sb);

	j->run.out.len = relocate_strip(j->run.out.data, j->run.out.len, root);
	j->run.out.data[j->run.out.len] = '\0';
	j->run.err.len = relocate_strip(j->run.err.data, j->run.err.len, root);
	j->run.err.data[j->run.err.len] = '\0';
}

/* The -p package path, for logs. */
static const char *job_package(const struct job *j)
{
	for (size_t i = 0; i < j->ja.ga->n; i++) {
		const struct goargs_item *it = &j->ja.ga->items[i];

		if (it->flag && strcmp(it->flag, "-p") == 0 && it->value)
			return it->value;
	}
	return "?";
}

/* Stages, runs and collects; the job holds a slot. */
static int job_execute(struct job *j, struct err *e)
{
	long started = monotime_ms();
	int r;

	if (job_stage(j, e) < 0)
		return JOB_E_INTERNAL;
	if ((r = job_exec(j, e)) < 0)
		return r;
	job_strip(j);
	if ((r = job_collect(j, e)) < 0)
		return r;
	j->duration_ms = monotime_ms() - started;
	log_info("job %s: %s %s%s: exit %d, signal %d, %ld ms, %ld ms CPU, %ld MiB peak",
		 sandbox_id(j->sb), goargs_tool_name(j->m->tool), job_package(j),
		 j->local ? " (local)" : "", j->run.exit_code, j->run.signal, j->duration_ms,
		 j->run.cpu_ms, j->run.maxrss_kb >> 10);
	return 0;
}

static int job_take_slot(struct dispatchd *d, struct err *e)
{
	if (slots_total(d->slots) == 0) {
		err_set(e, "this daemon runs no jobs (--slots 0)");
		return JOB_E_NO_SLOTS;
	}
	if (slots_acquire(d->slots) < 0) {
		err_set(e, "the daemon is shutting down");
		return JOB_E_SHUTTING_DOWN;
	}
	return 0;
}

/* Whether the daemon is shutting down and running tools are killed. */
static int job_cancelled(const struct dispatchd *d)
{
	struct pollfd p = {.fd = d->cancel_fd, .events = POLLIN};

	return d->cancel_fd >= 0 && poll(&p, 1, 0) > 0;
}

/* Whether a local job's shim has closed its connection: it only reads once
 * its request is sent, so a hang-up or end of file means it is gone. */
static int job_client_gone(const struct job *j, struct err *e)
{
	struct pollfd p = {.fd = j->client_fd, .events = POLLRDHUP};

	if (j->client_fd < 0 || poll(&p, 1, 0) <= 0 ||
	    !(p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
		return 0;
	err_set(e, "the shim went away while the job waited for a slot: not run");
	return 1;
}

/* A local job's tool runs on the client's CPUs: it waits for one of the
 * user's local slots, shared with the shims' own local work, which goes
 * first: while a shim waits in line (localslots.h) the job does not take
 * a slot. *ret_fd holds it (-1: none taken, the pool is off or unusable). */
static int job_take_local_slot(struct job *j, int *ret_fd, struct err *e)
{
	const struct dispatchd *d = j->d;
	useconds_t pause = 1000;
	struct err le = {0};
	int r = 0;

	*ret_fd = -1;
	if (!j->local || !d->local_slots_dir || d->local_slots <= 0)
		return 0;
	while (localslots_line_waiting(d->local_slots_dir) ||
	       (r = localslots_try_flags(d->local_slots_dir, d->local_slots, LOCALSLOTS_CLOEXEC,
					 ret_fd, &le)) == LOCALSLOTS_BUSY) {
		if (job_cancelled(d)) {
			err_set(e, "the daemon is shutting down");
			return JOB_E_SHUTTING_DOWN;
		}
		if (job_client_gone(j, e))
			return JOB_E_CLIENT_GONE;
		usleep(pause);
		pause = pause < 5000 ? 2 * pause : 5000;
	}
	if (r < 0) { /* the pool is the user's business: run anyway */
		log_warn("local slots: %s", err_msg(&le));
		*ret_fd = -1;
	}
	return 0;
}

/* Waits for a slot and executes the checked job; the outputs stay in
 * memory, the sandbox goes to the janitor. */
static int job_run_slot(struct job *j, struct err *e)
{
	int r, local_fd = -1;

	if ((r = job_take_slot(j->d, e)) < 0)
		return r;
	if ((r = job_take_local_slot(j, &local_fd, e)) == 0 && job_client_gone(j, e))
		r = JOB_E_CLIENT_GONE;
	if (r < 0) {
		if (local_fd >= 0)
			close(local_fd);
		slots_release(j->d->slots);
		return r;
	}
	j->ran = 1;
	r = job_execute(j, e);
	if (local_fd >= 0)
		close(local_fd);
	/* Removal happens after the answer, off this thread; the janitor's
	 * bounded backlog keeps disk use bounded by slots. */
	janitor_discard(j->d->janitor, j->sb);
	j->sb = NULL;
	slots_release(j->d->slots);
	return r;
}

/* Counts a job that took a slot, once its answer is built (r) or not. */
static void job_count(const struct job *j, int r)
{
	if (!j->ran)
		return;
	if (r < 0)
		stats_job_failed(j->d->stats);
	else
		stats_job_completed(j->d->stats, j->local);
}

/* --- where a job runs: here, or on a volunteer --- */

/* Volunteers tried for one job before it is given back to its client. */
#define JOB_MAX_TRIES 3
/* The part of a job's cost that does not grow with its source. */
#define JOB_UNITS_BASE 20000.0

/* The job's importcfg, or NULL without one. */
static const struct blob *job_importcfg(const struct job *j)
{
	const struct manifest_file *f = j->ja.importcfg ? manifest_find(j->m, j->ja.importcfg) : NULL;

	return f ? blobs_find(&j->blobs, f->blob) : NULL;
}

/* The import archives the job's importcfg names (empty without one). */
static void job_archives(const struct job *j, struct gocfg_paths *ret)
{
	const struct blob *b = job_importcfg(j);
	struct err e = {0};

	memset(ret, 0, sizeof(*ret));
	if (b && gocfg_importcfg_files(b->data, b->len, ret, &e) < 0)
		gocfg_paths_release(ret);
}

/* The work a job is, for comparing hosts' speeds: its source bytes. */
static double job_units(const struct job *j, const struct gocfg_paths *archives)
{
	double units = JOB_UNITS_BASE;

	for (size_t i = 0; i < j->m->nfiles; i++) {
		const struct manifest_file *f = &j->m->files[i];
		const struct blob *b;
		struct stat st;

		if (gocfg_paths_contains(archives, f->path))
			continue;
		if (!f->link && (b = blobs_find(&j->blobs, f->blob)))
			units += (double)b->len;
		else if (f->link && stat(f->path, &st) == 0)
			units += (double)st.st_size;
	}
	return units;
}

/* Takes the volunteer's answer as if the tool had run here. */
static void job_take_answer(struct job *j, struct answer *a, const struct answer_expect *outs,
			    char *host)
{
	int next = 0;

	j->run.exit_code = a->exit_code;
	j->run.signal = a->signal;
	buf_release(&j->run.out);
	buf_release(&j->run.err);
	j->run.out = a->out;
	j->run.err = a->err;
	buf_init(&a->out);
	buf_init(&a->err);
	j->outs = xcalloc(j->ja.outs.n ? j->ja.outs.n : 1, sizeof(*j->outs));
	for (size_t i = 0; i < j->ja.outs.n; i++) {
		struct job_output *o = &j->outs[i];

		buf_init(&o->data);
		o->entry = -1;
		for (size_t k = 0; k < a->noutputs && !job_output_repeats(j, i); k++) {
			struct answer_output *ao = &a->outputs[k];

			if (ao->path != outs[i].path)
				continue;
			buf_release(&o->data);
			o->data = (struct buf){.data = ao->data, .len = ao->len, .cap = ao->len + 1};
			ao->data = NULL;
			o->entry = next++;
		}
	}
	j->duration_ms = a->duration_ms;
	j->ran_on = a->host ? xstrdup(a->host) : host;
	if (a->host)
		free(host);
}

/* The request to a volunteer, prepared at its first use and kept for
 * retries. */
struct job_fwd {
	struct forward_req req;
	struct forward_job *fj;
	struct answer_expect *outs;
	char *exe;
};

static void job_fwd_release(struct job_fwd *f)
{
	forward_job_free(f->fj);
	free(f->outs);
	free(f->exe);
}

static int job_fwd_build(struct job *j, struct job_fwd *f, const struct gocfg_paths *archives,
			 struct err *e)
{
	if (f->fj)
		return 0;
	if (!f->outs) {
		f->outs = xcalloc(j->ja.outs.n + 1, sizeof(*f->outs));
		for (size_t i = 0; i < j->ja.outs.n; i++)
			f->outs[i] = (struct answer_expect){j->ja.outs_abs.paths[i],
							    j->ja.outs.paths[i]};
		f->exe = toolchain_path(j->d->store, j->m->toolchain);
	}
	f->req = (struct forward_req){.m = j->m,
				      .blobs = &j->blobs,
				      .archives = archives,
				      .hashes = j->d->hashes,
				      .stats = j->d->stats,
				      .tool_exe = f->exe,
				      .outs = f->outs,
				      .nouts = j->ja.outs.n,
				      .timeout_ms = (j->d->job_timeout + 30) * 1000,
				      .cancel_fd = j->d->cancel_fd};
	return forward_prepare(&f->req, &f->fj, e);
}

/* What a forward_send() result says of the host, for hosts_done(). */
static enum host_outcome job_host_outcome(int r)
{
	switch (r) {
	case 0:
		return HOST_OK;
	case FORWARD_E_UNREACHABLE:
		return HOST_UNREACHABLE;
	case FORWARD_E_TOO_LARGE: /* the job's own size */
	case FORWARD_E_LIMIT:
	case FORWARD_E_REFUSED: /* its policy on one toolchain */
		return HOST_UNUSED;
	default:
		return HOST_FAILED;
	}
}

/* The host an attempt went to, for its give_up(). */
struct job_attempt {
	struct hosts *hs;
	const struct host *host;
};

/* An attempt's give_up(): the host went silent or unreachable meanwhile. */
static int job_host_lost(void *arg, struct err *e)
{
	const struct job_attempt *at = arg;

	return hosts_lost(at->hs, at->host, e);
}

/* One attempt on a volunteer; the host's slot is given back here. */
static int job_forward(struct job *j, struct host *host, struct job_fwd *f,
		       const struct gocfg_paths *archives, double units, struct err *e)
{
	struct hosts *hs = j->d->hosts;
	struct job_attempt at = {hs, host};
	struct answer *a = NULL;
	long t0 = monotime_ms();
	int uploaded = 0, r;

	if (job_fwd_build(j, f, archives, e) < 0) {
		hosts_done(hs, host, HOST_UNUSED, 0, 0);
		return -1;
	}
	f->req.give_up = job_host_lost;
	f->req.give_up_arg = &at;
	r = forward_send(host_peer(host), f->fj, &uploaded, &a, e);
	f->req.give_up = NULL; /* at is about to go */
	f->req.give_up_arg = NULL;
	if (uploaded)
		hosts_add_toolchain(hs, host, j->m->toolchain);
	if (r == FORWARD_E_REFUSED)
		hosts_refuse_toolchain(hs, host, j->m->toolchain);
	hosts_done(hs, host, job_host_outcome(r), monotime_ms() - t0, uploaded ? 0 : units);
	if (r < 0)
		return r;
	job_take_answer(j, a, f->outs, host_name(hs, host));
	answer_free(a);
	stats_job_forwarded(j->d->stats);
	log_info("job %s %s: ran on %s: exit %d, %ld ms (%ld ms there)",
		 goargs_tool_name(j->m->tool), job_package(j), j->ran_on,
		 j->run.exit_code, monotime_ms() - t0, j->duration_ms);
	return 0;
}

/* Teaches the build graph (critpath.h) what a compile that succeeded
 * imports and how long it ran. */
static void job_learn(const struct job *j)
{
	const struct blob *b = job_importcfg(j);
	struct gocfg_paths imports = {0, NULL};
	const char *pkg = job_package(j);

	if (j->m->tool != GOARGS_COMPILE || j->run.exit_code != 0 || j->run.signal != 0 ||
	    strcmp(pkg, "?") == 0)
		return;
	if (b && gocfg_importcfg_packages(b->data, b->len, &imports, NULL) < 0)
		return;
	critpath_learn(j->d->critpath, j->m->toolchain, pkg, &imports, j->duration_ms);
	gocfg_paths_release(&imports);
}

/* Runs the job on the host the cluster chooses, trying others when a
 * volunteer fails it. */
static int job_dispatch(struct job *j, struct err *e)
{
	struct hosts *hs = j->d->hosts;
	struct host *tried[JOB_MAX_TRIES];
	struct gocfg_paths archives;
	struct job_fwd fwd = {0};
	struct hosts_job hj = {.toolchain = j->m->toolchain,
			       .client_may_run = j->m->client_may_run,
			       .deadline_ms = monotime_ms() + j->d->job_timeout * 1000};
	size_t ntried = 0;
	struct err last = {0};
	int r;

	job_archives(j, &archives);
	hj.units = job_units(j, &archives);
	hj.rank = critpath_rank(j->d->critpath, j->m->toolchain, job_package(j));
	for (;;) {
		struct host *host;
		long t0 = monotime_ms();

		r = hosts_pick(hs, &hj, tried, ntried, &host);
		log_debug("job %s %s: rank %.0f ms, %ld ms for a slot",
			  goargs_tool_name(j->m->tool), job_package(j), hj.rank,
			  monotime_ms() - t0);
		if (r < 0) {
			if (r == HOSTS_E_BUSY) {
				err_set(e, "every slot of the cluster is taken for longer than the "
					   "job takes: the client runs it");
				r = JOB_E_BUSY;
			} else if (r == HOSTS_E_REFUSED) {
				err_set(e, "every host of the cluster that is up refuses toolchain "
					   "%.12s (its --toolchains policy)",
					j->m->toolchain);
				r = JOB_E_FORBIDDEN;
			} else if (ntried > 0) {
				err_set(e, "no other host could take the job after: %s",
					err_msg(&last));
				r = JOB_E_NO_SLOTS;
			} else if (r == HOSTS_E_CLOSED) {
				err_set(e, "the daemon is shutting down");
				r = JOB_E_SHUTTING_DOWN;
			} else {
				err_set(e, r == HOSTS_E_NONE
					       ? "no host of the cluster is up"
					       : "no slot of the cluster came free in time");
				r = JOB_E_NO_SLOTS;
			}
			break;
		}
		if (job_client_gone(j, e)) {
			hosts_done(hs, host, HOST_UNUSED, 0, 0);
			r = JOB_E_CLIENT_GONE;
			break;
		}
		if (host_is_self(host)) {
			t0 = monotime_ms();
			r = job_run_slot(j, e);
			hosts_done(hs, host, HOST_OK, monotime_ms() - t0, hj.units);
			break;
		}
		if ((r = job_forward(j, host, &fwd, &archives, hj.units, &last)) == 0)
			break;
		if (r == -1) { /* this daemon's own trouble: no point trying others */
			err_set(e, "%s", err_msg(&last));
			r = JOB_E_INTERNAL;
			break;
		}
		if (r == FORWARD_E_TOO_LARGE || r == FORWARD_E_LIMIT) {
			/* The job's own size, not the host's fault: the host
			 * keeps its standing, and rather than spend the same
			 * limit on more hosts, the client runs the job. */
			log_info("job %s %s: past a cap or limit of the volunteer, back to the "
				 "client: %s",
				 goargs_tool_name(j->m->tool), job_package(j), err_msg(&last));
			err_set(e, "%s", err_msg(&last));
			r = r == FORWARD_E_LIMIT ? JOB_E_LIMIT : JOB_E_TOO_LARGE;
			break;
		}
		log_warn("job %s %s: volunteer %s failed it: %s",
			 goargs_tool_name(j->m->tool), job_package(j),
			 peer_url(host_peer(host)), err_msg(&last));
		stats_job_retried(j->d->stats);
		tried[ntried++] = host;
		if (ntried == JOB_MAX_TRIES) {
			err_set(e, "%d volunteers failed the job; the last: %s", JOB_MAX_TRIES,
				err_msg(&last));
			r = JOB_E_NO_SLOTS;
			break;
		}
		memset(&last, 0, sizeof(last));
	}
	job_fwd_release(&fwd);
	gocfg_paths_release(&archives);
	if (r == 0)
		job_learn(j);
	return r;
}

/* Runs the job here, or where the cluster says. */
static int job_place(struct job *j, struct err *e)
{
	if (j->forwarded || !j->d->hosts || !hosts_has_volunteers(j->d->hosts))
		return job_run_slot(j, e);
	return job_dispatch(j, e);
}

int job_run(struct dispatchd *d, const char *body, size_t len, int forwarded, char **ret_data,
	    size_t *ret_len, struct job_missing *ret_missing, struct err *e)
{
	struct job j = {.d = d, .forwarded = forwarded, .client_fd = -1};
	int r = JOB_E_BAD_REQUEST;

	blobs_init(&j.blobs);
	run_result_init(&j.run);
	if (job_read_bundle(&j, body, len, e) < 0)
		goto out;
	if (!toolchain_allowed(d->store, j.m->toolchain, e)) {
		r = JOB_E_FORBIDDEN;
		goto out;
	}
	job_find_missing(&j, ret_missing);
	if (d->blobs) {
		/* Takes before it keeps: the request's own blobs must not evict
		 * the ones it is about to take. */
		job_take_stored(&j, ret_missing);
		job_keep_blobs(&j);
	}
	if (ret_missing->toolchain || ret_missing->n) {
		/* A 409 would ask for an upload that would be refused. */
		if (ret_missing->toolchain &&
		    !toolchain_upload_allowed(d->store, j.m->toolchain, e)) {
			job_missing_release(ret_missing);
			r = JOB_E_FORBIDDEN;
			goto out;
		}
		if (!ret_missing->n)
			err_set(e, "the daemon lacks the toolchain");
		else
			err_set(e, "the daemon lacks %s%zu blob(s)",
				ret_missing->toolchain ? "the toolchain and " : "", ret_missing->n);
		r = JOB_E_MISSING;
		goto out;
	}
	if (jobargs_check(&j.ja, j.m, &j.blobs, e) < 0)
		goto out;
	if ((r = job_place(&j, e)) == 0)
		r = job_answer(&j, ret_data, ret_len, e);
	job_count(&j, r);
out:
	job_release(&j);
	return r;
}

/* --- jobs of the local socket --- */

const char *job_error_code(int r)
{
	switch (r) {
	case JOB_E_BAD_REQUEST:
		return "bad_request";
	case JOB_E_MISSING:
		return "missing";
	case JOB_E_TOO_LARGE:
		return "too_large";
	case JOB_E_NO_SLOTS:
		return "no_slots";
	case JOB_E_SHUTTING_DOWN:
		return "shutting_down";
	case JOB_E_BUSY:
		return "busy";
	case JOB_E_FORBIDDEN:
		return "toolchain_not_allowed";
	case JOB_E_LIMIT:
		return "limit";
	case JOB_E_CLIENT_GONE:
		return "client_gone";
	default:
		return "internal";
	}
}

/* The texts the client sent become the blobs of their files, so that
 * jobargs_check() and the importcfg/embedcfg rewrite see a local job as
 * any other. Linked files are neither read nor hashed. */
static void job_add_texts(struct job *j)
{
	for (size_t i = 0; i < j->m->nfiles; i++) {
		struct manifest_file *f = &j->m->files[i];

		if (f->text)
			blobs_add_content(&j->blobs, f->text, f->text_len, f->blob);
	}
	blobs_seal(&j->blobs);
}

/* The tool would write an output through a link into the client's file:
 * the daemon writes nothing but what it returns. */
static int job_check_links(const struct job *j, struct err *e)
{
	for (size_t i = 0; i < j->ja.outs_abs.n; i++) {
		const struct manifest_file *f = manifest_find(j->m, j->ja.outs_abs.paths[i]);

		if (f && f->link)
			return err_set(e, "args: output %s is one of the job's linked files",
				       j->ja.outs.paths[i]);
	}
	return 0;
}

/* Puts the client's tool binary into the store and names it by hash. */
static int job_import_tool(struct job *j, struct err *e)
{
	int r = toolchain_import_path(j->d->store, j->m->tool_path, j->m->toolchain, e);

	if (r == 1)
		log_info("toolchain %s: stored from %s", j->m->toolchain, j->m->tool_path);
	switch (r) {
	case 0:
	case 1:
		return 0;
	case TOOLCHAIN_E_NOT_TOOL:
		return JOB_E_BAD_REQUEST;
	case TOOLCHAIN_E_TOO_LARGE:
		return JOB_E_TOO_LARGE;
	default:
		return JOB_E_INTERNAL;
	}
}

static void job_answer_add(struct job_answer *a, const char *data, size_t len)
{
	a->pieces[a->npieces].data = data;
	a->pieces[a->npieces].len = len;
	a->npieces++;
}

/* The header and the pieces, which point into j (owned by the answer). */
static int job_answer_local(struct job *j, struct job_answer **ret, struct err *e)
{
	json_t *res = job_result_json(j);
	char *text = res ? json_dumps(res, JSON_COMPACT) : NULL;
	struct job_answer *a;

	json_decref(res);
	if (!text) {
		err_set(e, "answer header: out of memory");
		return JOB_E_INTERNAL;
	}
	a = xcalloc(1, sizeof(*a));
	a->header = text;
	a->header_len = strlen(text);
	a->pieces = xcalloc(j->ja.outs.n + 2, sizeof(*a->pieces));
	job_answer_add(a, j->run.out.data, j->run.out.len);
	job_answer_add(a, j->run.err.data, j->run.err.len);
	for (size_t i = 0; i < j->ja.outs.n; i++)
		if (j->outs[i].entry >= 0)
			job_answer_add(a, j->outs[i].data.data, j->outs[i].data.len);
	a->job = j;
	*ret = a;
	return 0;
}

/* Everything checked before the job waits for a slot. */
static int job_check_local(struct job *j, const char *text, size_t len, struct err *e)
{
	int r;

	if (manifest_parse_local(text, len, &j->m, e) < 0)
		return JOB_E_BAD_REQUEST;
	job_add_texts(j);
	if (jobargs_check(&j->ja, j->m, &j->blobs, e) < 0 || job_check_links(j, e) < 0)
		return JOB_E_BAD_REQUEST;
	if ((r = job_import_tool(j, e)) < 0)
		return r;
	return 0;
}

static void job_free(struct job *j)
{
	if (!j)
		return;
	job_release(j);
	free(j);
}

int job_run_local(struct dispatchd *d, const char *text, size_t len, int client_fd,
		  struct job_answer **ret, struct err *e)
{
	struct job *j = xcalloc(1, sizeof(*j));
	int r;

	j->d = d;
	j->local = 1;
	j->client_fd = client_fd;
	blobs_init(&j->blobs);
	run_result_init(&j->run);
	if ((r = job_check_local(j, text, len, e)) < 0)
		goto out;
	if ((r = job_place(j, e)) == 0)
		r = job_answer_local(j, ret, e);
	job_count(j, r);
	if (r == 0)
		j = NULL; /* the answer owns it now */
out:
	job_free(j);
	return r;
}

void job_answer_free(struct job_answer *a)
{
	if (!a)
		return;
	job_free(a->job);
	free(a->pieces);
	free(a->header);
	free(a);
}
