/*
 * dispatchd/local.c: what a client writes to the daemon's local socket, as
 * local_serve() reads it: one frame (common/localsock.c) holding either the
 * cluster request (local_cluster(), answered here) or a job, which goes
 * through the checks of job_run_local() that come before the tool is
 * imported and run: manifest_parse_local(), the texts as blobs, the
 * arguments (jobargs_check()) and the linked files. The fuzzer never runs
 * a tool.
 *
 * Input: the bytes of the connection (a 4-byte big-endian length, then the
 * request), at most 128 KiB, so that they fit in the socket's buffer.
 */
#include <sys/socket.h>

#include "fuzz.h"

#include "../../dispatchd/job.c"
#include "../../dispatchd/local.c"

#define MAX_INPUT (128u << 10)

static struct dispatchd fuzz_daemon;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const struct hosts_opts o = {.self_name = "fuzz", .self_slots = 2, .heartbeat_ms = 1000,
				     .down_after_ms = 3000};

	(void)argc;
	(void)argv;
	log_init("fuzz_dispatchd_local", LOG_ERROR, NULL);
	fuzz_daemon.name = "fuzz";
	fuzz_daemon.hosts = hosts_new(&o);
	return 0;
}

/* The checks job_check_local() makes before it imports the tool. */
static void check_job(const struct buf *req)
{
	struct job j = {0};
	struct err e = {0};

	j.d = &fuzz_daemon;
	j.local = 1;
	blobs_init(&j.blobs);
	run_result_init(&j.run);
	if (manifest_parse_local(req->data, req->len, &j.m, &e) == 0) {
		job_add_texts(&j);
		if (jobargs_check(&j.ja, j.m, &j.blobs, &e) == 0 && job_check_links(&j, &e) == 0)
			FUZZ_ASSERT(j.m->tool_path && !j.m->toolchain[0]);
	}
	job_release(&j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct local l = {.d = &fuzz_daemon, .timeout_ms = 1000};
	struct buf req;
	struct err e = {0};
	int sv[2], r;

	if (size > MAX_INPUT)
		return 0;
	FUZZ_ASSERT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	FUZZ_ASSERT(localsock_write_full(sv[1], data, size, NULL) == 0);
	shutdown(sv[1], SHUT_WR);
	buf_init(&req);
	FUZZ_ASSERT(local_check_peer(sv[0]) == 0);
	r = localsock_read_frame(sv[0], MANIFEST_MAX_BYTES, &req, &e);
	if (r == LOCALSOCK_E_TOO_LARGE)
		local_reply_error(sv[0], "too_large", "request %s (MANIFEST_MAX_BYTES)", err_msg(&e));
	else if (r == 0 && !local_cluster(&l, sv[0], &req))
		check_job(&req);
	buf_release(&req);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
