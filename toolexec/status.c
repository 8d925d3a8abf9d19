#include "status.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cluster.h"
#include "err.h"
#include "localsock.h"
#include "settings.h"

#include "banned.h"

static const char *const status_mode_names[] = {
    [STATUS_TABLE] = "table",
    [STATUS_JSON] = "json",
    [STATUS_JOBS] = "jobs",
};

const char *status_mode_name(enum status_mode m)
{
	return status_mode_names[m];
}

int status_mode_parse(const char *name, enum status_mode *ret)
{
	for (size_t i = 0; i < sizeof(status_mode_names) / sizeof(status_mode_names[0]); i++)
		if (strcmp(name, status_mode_names[i]) == 0) {
			*ret = (enum status_mode)i;
			return 0;
		}
	return -1;
}

long status_local_cpus(void)
{
	cpu_set_t set;
	long n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n < 1)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n;
}

int status_fail(enum status_mode m, const char *fmt, ...)
{
	char why[2 * ERR_MSG_MAX];
	va_list ap;
	long n;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (m != STATUS_JOBS) {
		fprintf(stderr, "godistcc: cannot get the cluster status: %s\n", why);
		return 1;
	}
	n = status_local_cpus();
	fprintf(stderr, "godistcc: warning: %s; suggesting -p %ld, the local CPU count\n", why, n);
	printf("%ld\n", n);
	return 0;
}

/* Whether everything printed reached standard output. */
static int status_flush(void)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return 0;
	fprintf(stderr, "godistcc: cannot write to standard output: %s\n", strerror(errno));
	return 1;
}

int status_show(enum status_mode m, const char *where, const char *text, size_t len)
{
	struct cluster *c = NULL;
	struct err e = {0};

	if (m == STATUS_JSON) {
		if (cluster_check(text, len, &e) < 0)
			return status_fail(m, "dispatcher %s %s", where, err_msg(&e));
		fwrite(text, 1, len, stdout);
		if (len == 0 || text[len - 1] != '\n')
			putchar('\n');
		return status_flush();
	}
	if (cluster_parse(text, len, &c, &e) < 0)
		return status_fail(m, "dispatcher %s %s", where, err_msg(&e));
	if (m == STATUS_TABLE)
		cluster_print(c, where, stdout);
	else
		printf("%lld\n", cluster_suggest_p(c, status_local_cpus()));
	cluster_free(c);
	return status_flush();
}

/* Hands the request to godistcc-http: "--status MODE URL [NOTE]", NOTE
 * being added to its error message. Returns only on failure. */
static int status_exec_http(enum status_mode m, const char *helper, const char *url,
			    const char *note)
{
	char *argv[] = {(char *)helper, (char *)"--status", (char *)status_mode_name(m),
			(char *)url,	(char *)note,	    NULL};

	if (helper)
		execv(helper, argv);
	return status_fail(m, "cannot run %s to ask dispatcher %s: %s",
			   helper ? helper : "godistcc-http", url,
			   helper ? strerror(errno) : "not found");
}

static int status_run(enum status_mode m, const char *helper)
{
	struct settings s;
	struct err e = {0};
	struct buf text;
	char *where = NULL, *note = NULL;
	int absent = 0, r;

	buf_init(&text);
	if (settings_load(&s, &e) < 0) {
		r = status_fail(m, "%s", err_msg(&e));
		goto out;
	}
	if (s.socket_path) {
		where = xasprintf("unix:%s", s.socket_path);
		if (localsock_ask_cluster(s.socket_path, STATUS_TIMEOUT_S * 1000L, &text, &absent,
					  &e) == 0) {
			r = status_show(m, where, text.data, text.len);
			goto out;
		}
		if (!absent || s.socket_only) {
			r = status_fail(m, "dispatcher %s: %s%s", where,
					absent ? "no dispatchd listens there: " : "", err_msg(&e));
			goto out;
		}
		note = xasprintf("no dispatchd listens at %s either", where);
	}
	r = status_exec_http(m, helper, s.dispatcher, note);
out:
	free(where);
	free(note);
	buf_release(&text);
	settings_release(&s);
	return r;
}

int status_command(int argc, char **argv, const char *helper)
{
	if (strcmp(argv[1], "-j") == 0 && argc == 2)
		return status_run(STATUS_JOBS, helper);
	if (strcmp(argv[1], "--status") == 0 && argc == 2)
		return status_run(STATUS_TABLE, helper);
	if (strcmp(argv[1], "--status") == 0 && argc == 3 && strcmp(argv[2], "--json") == 0)
		return status_run(STATUS_JSON, helper);
	fprintf(stderr, "usage: godistcc --status [--json]\n       godistcc -j\n");
	return 2;
}
