/*
 * Tests for dispatchd/run.c with the job jail (dispatchd/jail.c): the
 * deadline for the jail to start an isolated tool. The tool is the gofmt
 * on PATH (Go's bin/), a static binary as the jail's empty root needs; it
 * reads its input from a FIFO in the job's directory, so that it runs as
 * long as the test wants. Starts isolated jobs: needs root or
 * unprivileged user namespaces (CI runs as root).
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../dispatchd/jail.c"
#include "../../dispatchd/run.c"

#include "fsutil.h"

static char dir[] = "/tmp/godistcc-run.XXXXXX";
static char *sandbox, *fifo, *gofmt;
static struct jail *jail;

/* The gofmt on PATH, symbolic links resolved. */
static char *find_gofmt(void)
{
	char *path = xstrdup(getenv("PATH") ? getenv("PATH") : ""), *rest = path, *d;
	char *found = NULL;

	while (!found && (d = strsep(&rest, ":"))) {
		char *f = xasprintf("%s/gofmt", d);

		if (access(f, X_OK) == 0)
			found = realpath(f, NULL);
		free(f);
	}
	free(path);
	cr_assert(found, "prerequisite: no gofmt on PATH");
	return found;
}

/* A copy of the file at from, mode 755. */
static void copy_exe(const char *from, const char *to)
{
	struct buf b;
	struct err e = {0};

	buf_init(&b);
	cr_assert(fs_read_file(from, 1 << 30, &b, &e) == 0, "%s", err_msg(&e));
	cr_assert(fs_write_file(to, b.data, b.len, 0755, &e) == 0, "%s", err_msg(&e));
	cr_assert(chmod(to, 0755) == 0);
	buf_release(&b);
}

static void setup(void)
{
	struct jail_limits lim = {.cpu_s = 30, .memory_mb = 1024, .files = 256, .procs = 64,
				  .disk_mb = 64};
	struct err e = {0};

	cr_assert(mkdtemp(dir));
	cr_assert(chmod(dir, 0755) == 0);
	sandbox = xasprintf("%s/S", dir);
	fifo = xasprintf("%s/in.go", sandbox);
	gofmt = find_gofmt();
	cr_assert(mkdir(sandbox, 0755) == 0);
	cr_assert(mkfifo(fifo, 0666) == 0 && chmod(fifo, 0666) == 0);
	cr_assert(jail_new(&lim, &jail, &e) == 0, "%s", err_msg(&e));
	cr_assert(jail_isolates(jail),
		  "prerequisite: no user namespaces here (run as root, as CI does)");
}

static void teardown(void)
{
	struct err e = {0};

	jail_free(jail);
	cr_expect(fs_rm_rf(dir, &e) == 0, "%s", err_msg(&e));
	free(sandbox);
	free(fifo);
	free(gofmt);
}

TestSuite(run, .init = setup, .fini = teardown);

struct job {
	struct run_cmd c;
	const char *argv[3];
	char *envp[1];
	struct run_result res;
	struct err e;
	int r;
	long ms; /* how long run_tool() took */
};

static void job_init(struct job *j, const char *exe, long start_ms)
{
	memset(j, 0, sizeof(*j));
	j->argv[0] = "gofmt";
	j->argv[1] = fifo;
	j->c = (struct run_cmd){.exe = exe, .argv = (char *const *)j->argv, .envp = j->envp, .dir = sandbox,
				.timeout_s = 30, .start_ms = start_ms, .cancel_fd = -1,
				.jail = jail, .sandbox = sandbox, .isolate = 1, .id = "test"};
	run_result_init(&j->res);
}

static void *job_run(void *arg)
{
	struct job *j = arg;
	long t0 = monotime_ms();

	j->r = run_tool(&j->c, &j->res, &j->e);
	j->ms = monotime_ms() - t0;
	return NULL;
}

/* Every process the job started has been reaped. */
static void expect_no_children(void)
{
	cr_expect(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD,
		  "a process of the job is left unreaped");
}

Test(run, a_started_tool_outlives_the_start_deadline)
{
	struct job j;
	pthread_t t;
	int fd = -1;

	job_init(&j, gofmt, 100);
	cr_assert(pthread_create(&t, NULL, job_run, &j) == 0);
	/* gofmt waits on the FIFO four times the start deadline... */
	poll(NULL, 0, 400);
	/* ...then its input arrives (ENXIO: it has not opened it yet). */
	for (int tries = 0; fd < 0 && tries < 1000; tries++)
		if ((fd = open(fifo, O_WRONLY | O_NONBLOCK)) < 0)
			poll(NULL, 0, 10);
	cr_assert(fd >= 0, "gofmt never opened its input: %s", strerror(errno));
	cr_assert(write(fd, "package  p\n", 11) == 11);
	close(fd);
	pthread_join(t, NULL);
	cr_assert_eq(j.r, 0, "run_tool: %s", err_msg(&j.e));
	cr_expect_eq(j.res.exit_code, 0, "gofmt: %s", j.res.err.data ? j.res.err.data : "");
	cr_expect_str_eq(j.res.out.data ? j.res.out.data : "", "package p\n");
	cr_expect_geq(j.ms, 400, "the tool ended after %ld ms, before its input came", j.ms);
	expect_no_children();
	run_result_release(&j.res);
}

Test(run, a_jail_that_does_not_start_the_tool_is_cut_short)
{
	char *copy = xasprintf("%s/gofmt", dir);
	struct job j;
	int busy;

	/* Held open for writing, the binary cannot be executed: the jail's
	 * child retries for 200 ms (ETXTBSY, see child_exec()), and its exec
	 * is that long in coming. */
	copy_exe(gofmt, copy);
	cr_assert((busy = open(copy, O_WRONLY)) >= 0);
	job_init(&j, copy, 20);
	job_run(&j);
	close(busy);
	cr_assert_eq(j.r, RUN_E_START, "run_tool returned %d: %s", j.r, err_msg(&j.e));
	cr_expect(strstr(err_msg(&j.e), "the jail did not start the tool within 20 ms"), "%s",
		  err_msg(&j.e));
	cr_expect_lt(j.ms, 5000, "the job took %ld ms", j.ms);
	expect_no_children();
	run_result_release(&j.res);
	free(copy);
}

Test(run, a_jail_failure_is_still_reported_with_a_start_deadline)
{
	char *copy = xasprintf("%s/notexec", dir);
	struct job j;
	int fd;

	cr_assert((fd = open(copy, O_WRONLY | O_CREAT | O_EXCL, 0644)) >= 0);
	close(fd);
	job_init(&j, copy, 10000);
	job_run(&j);
	cr_assert_eq(j.r, -1, "run_tool returned %d: %s", j.r, err_msg(&j.e));
	cr_expect(strstr(err_msg(&j.e), "cannot run in the jail: exec: "), "%s", err_msg(&j.e));
	cr_expect_lt(j.ms, 5000, "the job took %ld ms", j.ms);
	expect_no_children();
	run_result_release(&j.res);
	free(copy);
}
