/*
 * Tests for dispatchd/local.c over a real Unix socket, with the pieces of
 * a local job it relies on: sandbox_symlink() (dispatchd/sandbox.c) and
 * toolchain_import_path() (dispatchd/toolchain.c). The daemon's sources are
 * not in libcommon.a; the units are compiled into this test directly. The
 * "tool" is a shell script standing in for compile: it copies its last
 * argument to its -o file and says so on stdout.
 */
#include <criterion/criterion.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../dispatchd/blobs.c"
#include "../../dispatchd/blobstore.c"
#include "../../dispatchd/critpath.c"
#include "../../dispatchd/hashcache.c"
#include "../../dispatchd/hashset.c"
#include "../../dispatchd/janitor.c"
#include "../../dispatchd/jobargs.c"
#include "../../dispatchd/manifest.c"
#include "../../dispatchd/jail.c"
#include "../../dispatchd/run.c"
#include "../../dispatchd/sandbox.c"
#include "../../dispatchd/slots.c"
#include "../../dispatchd/stats.c"
#include "../../dispatchd/toolchain.c"
#include "../../dispatchd/peer.c"
#include "../../dispatchd/hosts.c"
#include "../../dispatchd/forward.c"
#include "../../dispatchd/load.c"
#include "../../dispatchd/job.c"
#include "../../dispatchd/local.c"

#include "fsutil.h"

static const char fake_tool[] = "#!/bin/sh\n"
				"out=\n"
				"while [ $# -gt 0 ]; do\n"
				"\tcase $1 in -o) out=$2; shift ;; esac\n"
				"\tlast=$1\n"
				"\tshift\n"
				"done\n"
				"cat \"$last\" >\"$out\" && echo \"compiled $last\"\n";

static char *dir; /* the test's temporary directory */
static struct dispatchd d;
static struct local *loc;
static char *sock;

static char *in_dir(const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static void write_file(const char *name, const char *text, mode_t mode)
{
	char *p = in_dir(name);
	struct err e = {0};

	cr_assert_eq(fs_write_file(p, text, strlen(text), mode, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(chmod(p, mode), 0);
	free(p);
}

static void make_dirs(void)
{
	static const char *const subs[] = {"state/toolchains", "state/tmp", "state/jobs", "src",
					   "b"};
	struct err e = {0};

	dir = xstrdup("/tmp/godistcc-test-local-XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		char *p = in_dir(subs[i]);

		cr_assert_eq(fs_mkdir_p(p, 0755, &e), 0, "%s", err_msg(&e));
		free(p);
	}
}

static void setup(void)
{
	char *state;

	make_dirs();
	state = in_dir("state");
	d.name = "testhost";
	d.state_dir = state;
	d.jobs_dir = in_dir("state/jobs");
	d.job_timeout = 30;
	d.slots = slots_new(1);
	d.stats = stats_new();
	d.store = toolchain_store_new(state);
	d.janitor = janitor_new(2);
	d.cancel_fd = -1;
	write_file("compile", fake_tool, 0755);
	write_file("src/main.go", "package main\n", 0644);
}

static void teardown(void)
{
	struct err e = {0};

	local_stop(loc);
	loc = NULL;
	janitor_free(d.janitor);
	toolchain_store_free(d.store);
	stats_free(d.stats);
	slots_free(d.slots);
	free((char *)d.state_dir);
	free((char *)d.jobs_dir);
	fs_rm_rf(dir, &e);
	free(dir);
	free(sock);
	sock = NULL;
}

static void start(unsigned max_connections)
{
	struct local_opts o = {.max_connections = max_connections, .timeout_ms = 5000};
	struct err e = {0};

	sock = in_dir("d.sock");
	o.path = sock;
	cr_assert_eq(local_start(&o, &d, &loc, &e), 0, "%s", err_msg(&e));
}

static int client(void)
{
	struct err e = {0};
	int fd, absent;

	cr_assert_eq(localsock_connect(sock, 5000, &fd, &absent, &e), 0, "%s", err_msg(&e));
	return fd;
}

/* Reads one frame and parses it as a JSON object. */
static json_t *read_header(int fd)
{
	struct buf b;
	struct err e = {0};
	json_t *h;

	buf_init(&b);
	cr_assert_eq(localsock_read_frame(fd, 1 << 20, &b, &e), 0, "%s", err_msg(&e));
	h = json_loadb(b.data, b.len, 0, NULL);
	cr_assert_not_null(h, "header is not JSON: %s", b.data);
	buf_release(&b);
	return h;
}

/* Sends raw as the request frame and returns the answer's header. */
static json_t *call_raw(const char *raw, size_t len, int *ret_fd)
{
	struct err e = {0};
	int fd = client();

	cr_assert_eq(localsock_write_frame(fd, raw, len, &e), 0, "%s", err_msg(&e));
	*ret_fd = fd;
	return read_header(fd);
}

static json_t *call(json_t *req, int *ret_fd)
{
	char *text = json_dumps(req, JSON_COMPACT);
	json_t *h;

	json_decref(req);
	h = call_raw(text, strlen(text), ret_fd);
	free(text);
	return h;
}

static void expect_error(json_t *h, const char *code, const char *want)
{
	const char *msg = json_string_value(json_object_get(h, "message"));

	cr_assert_eq(json_integer_value(json_object_get(h, "protocol")), 1);
	cr_assert_str_eq(json_string_value(json_object_get(h, "error")), code);
	cr_assert(msg && strstr(msg, want), "message \"%s\" lacks \"%s\"", msg, want);
	json_decref(h);
}

/* A job: compile src/main.go (linked) with an importcfg (sent) into b/. */
static json_t *request(const char *out)
{
	char *tool = in_dir("compile"), *src = in_dir("src/main.go"), *cfg = in_dir("b/importcfg");
	char *cwd = in_dir("src");
	json_t *r =
	    json_pack("{s:i, s:s, s:s, s:[s,s,s,s,s,s,s], s:s, s:{s:s}, "
		      "s:[{s:s}, {s:s, s:s}]}",
		      "protocol", 1, "tool", "compile", "tool_path", tool, "args", "-o", out, "-p",
		      "main", "-importcfg", cfg, src, "cwd", cwd, "env", "GOOS", "linux", "files",
		      "path", src, "path", cfg, "text", "# import config\n");

	free(tool);
	free(src);
	free(cfg);
	free(cwd);
	return r;
}

static json_int_t status_field(const char *name)
{
	json_t *st = stats_status_json(&d);
	json_int_t v = json_integer_value(json_object_get(st, name));

	json_decref(st);
	return v;
}

/* The answer's raw bytes after the header: n bytes, then end of stream. */
static char *read_rest(int fd, size_t n)
{
	char *p = xmalloc(n + 1), extra;
	struct err e = {0};

	cr_assert_eq(localsock_read_full(fd, p, n, &e), 0, "%s", err_msg(&e));
	p[n] = '\0';
	cr_assert_eq(read(fd, &extra, 1), 0, "nothing follows the listed pieces");
	return p;
}

/* Waits until the accept thread has handed n connections to threads. */
static void wait_admitted(unsigned n)
{
	for (int i = 0; i < 500; i++) {
		unsigned have;

		pthread_mutex_lock(&loc->mu);
		have = loc->nconns;
		pthread_mutex_unlock(&loc->mu);
		if (have >= n)
			return;
		usleep(10000);
	}
	cr_assert_fail("the daemon did not admit %u connection(s)", n);
}

TestSuite(dispatchd_local, .init = setup, .fini = teardown);

Test(dispatchd_local, runs_a_job)
{
	char *out = in_dir("b/_pkg_.a"), *src = in_dir("src/main.go"), *want_stdout, *rest;
	json_t *h, *o;
	int fd;

	start(4);
	h = call(request(out), &fd);
	cr_assert_null(json_object_get(h, "error"), "%s",
		       json_string_value(json_object_get(h, "message")));
	cr_assert_eq(json_integer_value(json_object_get(h, "exit_code")), 0);
	cr_assert_str_eq(json_string_value(json_object_get(h, "host")), "testhost");
	o = json_array_get(json_object_get(h, "outputs"), 0);
	cr_assert_str_eq(json_string_value(json_object_get(o, "path")), out);
	cr_assert_str_eq(json_string_value(json_object_get(o, "entry")), "out/0");
	cr_assert_eq(json_integer_value(json_object_get(o, "size")), strlen("package main\n"));
	/* stdout names the client's path: the sandbox prefix is gone. */
	want_stdout = xasprintf("compiled %s\n", src);
	cr_assert_eq(json_integer_value(json_object_get(h, "stdout_size")), strlen(want_stdout));
	cr_assert_eq(json_integer_value(json_object_get(h, "stderr_size")), 0);
	rest = read_rest(fd, strlen(want_stdout) + strlen("package main\n"));
	cr_assert_eq(memcmp(rest, want_stdout, strlen(want_stdout)), 0, "stdout: %s", rest);
	cr_assert_str_eq(rest + strlen(want_stdout), "package main\n");
	close(fd);
	cr_assert_eq(access(out, F_OK), -1, "the daemon wrote nothing at the client's path");
	cr_assert_eq(status_field("jobs_local"), 1);
	cr_assert_eq(status_field("jobs_completed"), 1);
	json_decref(h);
	free(rest);
	free(want_stdout);
	free(src);
	free(out);
}

Test(dispatchd_local, bad_requests_then_serves_on)
{
	unsigned char huge[LOCALSOCK_HEADER] = {0x00, 0x81, 0x00, 0x00}; /* 8.5 MiB */
	char *out = in_dir("b/_pkg_.a");
	struct err e = {0};
	json_t *h, *req;
	int fd;

	start(4);
	/* Only the length prefix: the daemon must answer without the body. */
	fd = client();
	cr_assert_eq(localsock_write_full(fd, huge, sizeof(huge), &e), 0, "%s", err_msg(&e));
	expect_error(read_header(fd), "too_large", "MANIFEST_MAX_BYTES");
	close(fd);
	h = call_raw("{garbage", 8, &fd);
	close(fd);
	expect_error(h, "bad_request", "manifest: line 1");
	req = request(out);
	json_object_del(req, "tool_path");
	h = call(req, &fd);
	close(fd);
	expect_error(h, "bad_request", "tool_path");
	req = request(out);
	json_object_set_new(req, "tool_path", json_string("/nonexistent/compile"));
	h = call(req, &fd);
	close(fd);
	expect_error(h, "bad_request", "/nonexistent/compile");
	h = call(request(out), &fd);
	close(fd);
	cr_assert_null(json_object_get(h, "error"), "the listener still serves");
	json_decref(h);
	cr_assert_eq(status_field("jobs_local"), 1);
	free(out);
}

Test(dispatchd_local, no_output_through_a_link)
{
	char *src = in_dir("src/main.go");
	json_t *h;
	int fd;

	start(4);
	h = call(request(src), &fd);
	close(fd);
	expect_error(h, "bad_request", "linked files");
	free(src);
}

Test(dispatchd_local, shutting_down)
{
	char *out = in_dir("b/_pkg_.a");
	int fd;

	start(4);
	/* Connected (and admitted) before shutdown, asking after slots closed. */
	fd = client();
	wait_admitted(1);
	local_quiesce(loc);
	slots_close(d.slots);
	{
		char *text;
		json_t *req = request(out);
		struct err e = {0};

		text = json_dumps(req, JSON_COMPACT);
		json_decref(req);
		cr_assert_eq(localsock_write_frame(fd, text, strlen(text), &e), 0);
		free(text);
	}
	expect_error(read_header(fd), "shutting_down", "shutting down");
	close(fd);
	/* Connecting after shutdown began. */
	fd = client();
	expect_error(read_header(fd), "shutting_down", "shutting down");
	close(fd);
	free(out);
}

Test(dispatchd_local, connection_limit)
{
	int first, second;

	start(1);
	first = client();
	/* The first connection's thread waits for its request. */
	wait_admitted(1);
	second = client();
	expect_error(read_header(second), "no_slots", "too many local connections");
	close(second);
	close(first);
}

Test(dispatchd_local, stale_and_live_sockets)
{
	struct local_opts o = {.max_connections = 1, .timeout_ms = 1000};
	struct local *other = NULL;
	struct err e = {0};
	int fd;

	start(1);
	o.path = sock;
	cr_assert_lt(local_start(&o, &d, &other, &e), 0);
	cr_assert(strstr(err_msg(&e), "another dispatchd listens on"), "%s", err_msg(&e));
	local_stop(loc);
	loc = NULL;
	cr_assert_eq(access(sock, F_OK), -1, "local_stop removes the socket");
	/* A socket nobody listens on (a daemon killed with SIGKILL). */
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un sa = {.sun_family = AF_UNIX};

		memcpy(sa.sun_path, sock, strlen(sock) + 1);
		cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	close(fd);
	err_clear(&e);
	cr_assert_eq(local_start(&o, &d, &loc, &e), 0, "%s", err_msg(&e));
	{
		struct stat st;

		cr_assert_eq(stat(sock, &st), 0);
		cr_assert_eq(st.st_mode & 0777, 0600);
	}
}

Test(dispatchd_local, not_a_socket)
{
	struct local_opts o = {.max_connections = 1, .timeout_ms = 1000};
	struct err e = {0};

	write_file("plain", "x", 0644);
	sock = in_dir("plain");
	o.path = sock;
	cr_assert_lt(local_start(&o, &d, &loc, &e), 0);
	cr_assert(strstr(err_msg(&e), "exists and is not a socket"), "%s", err_msg(&e));
	cr_assert_eq(access(sock, F_OK), 0, "the file is left alone");
}

Test(dispatchd_local, sandbox_symlink)
{
	struct sandbox *sb = NULL;
	struct err e = {0};
	char target[256], *p;
	ssize_t n;

	cr_assert_eq(sandbox_new(d.jobs_dir, &sb, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(sandbox_symlink(sb, "/home/u/src/m/main.go", "/home/u/src/m/main.go", &e), 0,
		     "%s", err_msg(&e));
	p = sandbox_path(sb, "/home/u/src/m/main.go");
	n = readlink(p, target, sizeof(target) - 1);
	cr_assert_gt(n, 0);
	target[n] = '\0';
	cr_assert_str_eq(target, "/home/u/src/m/main.go");
	/* A second link at the same path fails rather than replacing it. */
	cr_assert_lt(sandbox_symlink(sb, "/home/u/src/m/main.go", "/etc/passwd", &e), 0);
	cr_assert(strstr(err_msg(&e), "symlink"), "%s", err_msg(&e));
	free(p);
	sandbox_free(sb);
}

/* Removing a sandbox removes its links, never what they point to (a local
 * client could name a directory as a file). */
Test(dispatchd_local, sandbox_removal_keeps_link_targets)
{
	char *srcdir = in_dir("src"), *src = in_dir("src/main.go");
	struct sandbox *sb = NULL;
	struct err e = {0};

	cr_assert_eq(sandbox_new(d.jobs_dir, &sb, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(sandbox_symlink(sb, "/x/dir", srcdir, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(sandbox_symlink(sb, "/x/file", src, &e), 0, "%s", err_msg(&e));
	sandbox_free(sb);
	cr_assert_eq(access(src, R_OK), 0, "the linked file survives");
	free(srcdir);
	free(src);
}

Test(dispatchd_local, toolchain_import_path)
{
	char *tool = in_dir("compile"), *stored;
	char h1[HASH_HEX_LEN + 1], h2[HASH_HEX_LEN + 1], want[HASH_HEX_LEN + 1];
	struct err e = {0};
	struct stat st;

	cr_assert_eq(hash_file(tool, want, &e), 0);
	cr_assert_eq(toolchain_import_path(d.store, tool, h1, &e), 1, "%s", err_msg(&e));
	cr_assert_str_eq(h1, want);
	stored = toolchain_path(d.store, h1);
	cr_assert_eq(stat(stored, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0755);
	free(stored);
	cr_assert_eq(toolchain_import_path(d.store, tool, h2, &e), 0, "held now");
	cr_assert_str_eq(h2, h1);
	/* A changed binary (new inode) is hashed again. */
	cr_assert_eq(unlink(tool), 0);
	write_file("compile", "#!/bin/sh\nexit 3\n", 0755);
	cr_assert_eq(toolchain_import_path(d.store, tool, h2, &e), 1, "%s", err_msg(&e));
	cr_assert_str_neq(h2, h1);
	free(tool);
}

Test(dispatchd_local, toolchain_import_refuses_non_tools)
{
	char *plain = in_dir("src/main.go"), *missing = in_dir("nope"), *d_ = in_dir("src");
	char h[HASH_HEX_LEN + 1];
	struct err e = {0};

	cr_assert_eq(toolchain_import_path(d.store, plain, h, &e), TOOLCHAIN_E_NOT_TOOL);
	cr_assert(strstr(err_msg(&e), "not a regular executable file"), "%s", err_msg(&e));
	err_clear(&e);
	cr_assert_eq(toolchain_import_path(d.store, missing, h, &e), TOOLCHAIN_E_NOT_TOOL);
	cr_assert(strstr(err_msg(&e), "No such file"), "%s", err_msg(&e));
	err_clear(&e);
	cr_assert_eq(toolchain_import_path(d.store, d_, h, &e), TOOLCHAIN_E_NOT_TOOL);
	free(plain);
	free(missing);
	free(d_);
}
