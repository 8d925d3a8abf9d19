/*
 * procpeak: how many tool processes ran at once, measured from outside.
 * Every ~2 ms it lists /proc and counts the processes whose executable
 * (/proc/PID/exe) lies under one of the PREFIXes, such as
 * "$(go env GOROOT)/pkg/tool/"; it keeps the largest count (the peak) and
 * the number of samples. It stops on SIGTERM or SIGINT, or when STOP_FILE
 * exists, and prints "peak N samples M" on stdout, and the processes of
 * the (last) peak on stderr.
 *
 * usage: procpeak [-a ANCESTOR_PID] [-f STOP_FILE] [-i INTERVAL_US] PREFIX...
 *   -a  count only descendants of ANCESTOR_PID (a test's shell), so that
 *       other users of the machine do not count; also stop when it is gone
 *
 * It needs no cooperation from the processes it watches. What it takes
 * care of:
 * - A process may vanish between readdir and readlink (or stat): skipped.
 * - One sample is not instantaneous: a tool seen early in the scan may
 *   have exited, and another started, before the scan ends, and counting
 *   both would report an overlap that never happened. So every process
 *   matched in the scan is looked at again after it: a process counted
 *   was under the prefix at both looks, so (its executable being under
 *   the prefix from its exec to its exit) at the moment between the two
 *   passes, together with every other process counted.
 * - A process that forks shows its parent's executable until the child
 *   execs (cgo starting gcc, link starting the external linker). A matched
 *   process whose parent is matched too counts as part of its parent: it is
 *   such a fork, or a child that shares its parent's slot.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_MATCH 1024
#define MAX_PREFIX 16
#define MAX_DEPTH 256

struct proc {
	int pid, ppid;
	char exe[4096];
};

static volatile sig_atomic_t stop;
static const char *prefixes[MAX_PREFIX];
static int nprefixes;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int read_exe(int pid, char *out, size_t size)
{
	char path[64];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", pid);
	n = readlink(path, out, size - 1);
	if (n <= 0)
		return -1;
	out[n] = '\0';
	return 0;
}

static int under_prefix(const char *exe)
{
	for (int i = 0; i < nprefixes; i++)
		if (strncmp(exe, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}

/* Field 4 of /proc/PID/stat; -1 when the process is gone. */
static int read_ppid(int pid)
{
	char path[64], text[1024];
	const char *p;
	ssize_t n;
	int fd, ppid;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	text[n] = '\0';
	/* comm (field 2) may hold spaces and parentheses. */
	if (!(p = strrchr(text, ')')) || sscanf(p + 1, " %*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

static int is_descendant(int pid, int ancestor)
{
	for (int depth = 0; depth < MAX_DEPTH && pid > 1; depth++) {
		if (pid == ancestor)
			return 1;
		pid = read_ppid(pid);
	}
	return 0;
}

/* Pass 1: every process under a prefix. Returns how many (at most max). */
static int scan(struct proc *m, int max)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	int n = 0;

	if (!d) {
		perror("procpeak: /proc");
		exit(2);
	}
	while (n < max && (de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (de->d_name[0] < '1' || de->d_name[0] > '9' || *end)
			continue;
		if (read_exe((int)pid, m[n].exe, sizeof(m[n].exe)) < 0 || !under_prefix(m[n].exe))
			continue;
		m[n].pid = (int)pid;
		if ((m[n].ppid = read_ppid((int)pid)) < 0)
			continue; /* gone meanwhile */
		n++;
	}
	closedir(d);
	return n;
}

/* Pass 2: keeps those still running the same executable. */
static int recheck(struct proc *m, int n)
{
	char exe[4096];
	int k = 0;

	for (int i = 0; i < n; i++)
		if (read_exe(m[i].pid, exe, sizeof(exe)) == 0 && strcmp(exe, m[i].exe) == 0)
			m[k++] = m[i];
	return k;
}

static int has_pid(const struct proc *m, int n, int pid)
{
	for (int i = 0; i < n; i++)
		if (m[i].pid == pid)
			return 1;
	return 0;
}

/* One sample: the count, with the counted processes first in m. */
static int sample(struct proc *m, int ancestor)
{
	static struct proc tmp;
	int n = recheck(m, scan(m, MAX_MATCH)), c = 0;

	for (int i = 0; i < n; i++) {
		if (has_pid(m, n, m[i].ppid))
			continue;
		if (ancestor > 0 && !is_descendant(m[i].ppid, ancestor))
			continue;
		tmp = m[c];
		m[c] = m[i];
		m[i] = tmp;
		c++;
	}
	return c;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: procpeak [-a ANCESTOR_PID] [-f STOP_FILE] [-i INTERVAL_US] PREFIX...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct proc m[MAX_MATCH], at_peak[64];
	struct sigaction sa = {0};
	const char *stop_file = NULL;
	long interval_us = 2000, samples = 0;
	int ancestor = 0, peak = 0, npeak = 0, opt;

	while ((opt = getopt(argc, argv, "a:f:i:")) != -1) {
		if (opt == 'a')
			ancestor = (int)strtol(optarg, NULL, 10);
		else if (opt == 'f')
			stop_file = optarg;
		else if (opt == 'i')
			interval_us = strtol(optarg, NULL, 10);
		else
			usage();
	}
	if (optind >= argc || argc - optind > MAX_PREFIX || interval_us <= 0)
		usage();
	for (int i = optind; i < argc; i++)
		prefixes[nprefixes++] = argv[i];
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stop) {
		struct timespec ts = {interval_us / 1000000, (interval_us % 1000000) * 1000};
		struct stat st;
		int c = sample(m, ancestor);

		samples++;
		if (c > peak) {
			peak = c;
			npeak = c < 64 ? c : 64;
			memcpy(at_peak, m, sizeof(at_peak[0]) * (size_t)npeak);
		}
		if (stop_file && stat(stop_file, &st) == 0)
			break;
		if (ancestor > 0 && kill(ancestor, 0) < 0 && errno == ESRCH)
			break;
		nanosleep(&ts, NULL);
	}
	printf("peak %d samples %ld\n", peak, samples);
	fflush(stdout);
	fprintf(stderr, "procpeak: at the peak:");
	for (int i = 0; i < npeak; i++) {
		const char *base = strrchr(at_peak[i].exe, '/');

		fprintf(stderr, " %s[%d]", base ? base + 1 : at_peak[i].exe, at_peak[i].pid);
	}
	fprintf(stderr, "\n");
	return 0;
}
