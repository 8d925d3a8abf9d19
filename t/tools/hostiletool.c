/*
 * hostiletool: a "compile" that attacks the machine it runs on, for
 * t/integration/test_sandbox.sh. dispatchd runs it as an uploaded
 * toolchain; it reads its orders from its first input file (the last
 * argument, a .go file that the job ships), one per line:
 *
 *   read PATH        open and read PATH
 *   list PATH        list the directory PATH
 *   write PATH       create PATH and write to it
 *   connect PORT     connect to 127.0.0.1:PORT over TCP
 *   forkbomb         fork until fork fails; children sleep
 *   alloc            allocate and touch memory until that fails
 *   spin             burn CPU forever
 *   sleep            sleep forever (only the wall-clock timeout ends it)
 *   bigfile          write one file until that fails
 *   manyfiles        write 8 MiB files until that fails
 *   escape           setsid() children that outlive the tool
 *
 * Before its orders it prints who and where it is, and how the kernel
 * schedules it ("sched: policy P, nice N, slice S ns", from
 * sched_getattr(2)). For each it prints "ACT: ok ..." when the attack worked and
 * "ACT: blocked: ..." when it failed, to stdout, then exits 3 as a
 * failed compile does (it writes no output file). Build it
 * statically (cc -static) to run it in the jail, which holds no libraries.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void act_read(const char *path)
{
	char buf[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0) {
		printf("read %s: blocked: %s\n", path, strerror(errno));
		return;
	}
	n = read(fd, buf, sizeof(buf));
	if (n < 0)
		printf("read %s: blocked: %s\n", path, strerror(errno));
	else
		printf("read %s: ok: %zd bytes\n", path, n);
	close(fd);
}

static void act_list(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (!d) {
		printf("list %s: blocked: %s\n", path, strerror(errno));
		return;
	}
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	printf("list %s: ok: %d entries\n", path, n);
}

static void act_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0) {
		printf("write %s: blocked: %s\n", path, strerror(errno));
		return;
	}
	if (write(fd, "pwned\n", 6) != 6)
		printf("write %s: blocked: %s\n", path, strerror(errno));
	else
		printf("write %s: ok\n", path);
	close(fd);
}

static void act_connect(const char *port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0) {
		printf("connect %s: blocked: socket: %s\n", port, strerror(errno));
		return;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		printf("connect %s: blocked: %s\n", port, strerror(errno));
	else
		printf("connect %s: ok\n", port);
	close(fd);
}

static void act_forkbomb(void)
{
	long n = 0;

	fflush(stdout);
	for (;;) {
		pid_t pid = fork();

		if (pid < 0)
			break;
		if (pid == 0) {
			for (;;)
				pause();
		}
		if (++n >= 1000000)
			break;
	}
	printf("forkbomb: blocked: fork failed after %ld processes: %s\n", n, strerror(errno));
}

static void act_alloc(void)
{
	size_t chunk = 16 << 20, total = 0;

	for (;;) {
		char *p = malloc(chunk);

		if (!p)
			break;
		memset(p, 1, chunk);
		total += chunk;
		if (total >= ((size_t)64 << 30))
			break;
	}
	printf("alloc: %s after %zu MiB\n", total >= ((size_t)64 << 30) ? "ok" : "blocked",
	       total >> 20);
}

static void act_spin(void)
{
	volatile unsigned long x = 0;

	fflush(stdout);
	for (;;)
		x++;
}

static void act_bigfile(const char *name, size_t max, size_t per_file)
{
	static char buf[1 << 20];
	size_t total = 0;
	int fd = -1, files = 0;

	memset(buf, 'x', sizeof(buf));
	if (per_file) /* see write() fail rather than die of SIGXFSZ */
		signal(SIGXFSZ, SIG_IGN);
	while (total < max) {
		if (fd < 0 || (per_file && total % per_file == 0)) {
			char path[64];

			if (fd >= 0)
				close(fd);
			snprintf(path, sizeof(path), "hostile-%d.out", files++);
			if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
				break;
		}
		if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
			break;
		total += sizeof(buf);
	}
	printf("%s: %s after %zu MiB in %d file(s): %s\n", name, total >= max ? "ok" : "blocked",
	       total >> 20, files, strerror(errno));
	if (fd >= 0)
		close(fd);
}

static void act_escape(void)
{
	for (int i = 0; i < 3; i++) {
		if (fork() == 0) {
			setsid();
			for (;;)
				pause();
		}
	}
	printf("escape: started 3 setsid() children\n");
}

static void act(char *line)
{
	char *arg = strchr(line, ' ');

	if (arg)
		*arg++ = '\0';
	if (strcmp(line, "read") == 0 && arg)
		act_read(arg);
	else if (strcmp(line, "list") == 0 && arg)
		act_list(arg);
	else if (strcmp(line, "write") == 0 && arg)
		act_write(arg);
	else if (strcmp(line, "connect") == 0 && arg)
		act_connect(arg);
	else if (strcmp(line, "forkbomb") == 0)
		act_forkbomb();
	else if (strcmp(line, "alloc") == 0)
		act_alloc();
	else if (strcmp(line, "spin") == 0)
		act_spin();
	else if (strcmp(line, "sleep") == 0)
		for (;;)
			pause();
	else if (strcmp(line, "bigfile") == 0)
		act_bigfile("bigfile", (size_t)8 << 30, 0);
	else if (strcmp(line, "manyfiles") == 0)
		act_bigfile("manyfiles", (size_t)8 << 30, (size_t)8 << 20);
	else if (strcmp(line, "escape") == 0)
		act_escape();
	else
		printf("unknown order \"%s\"\n", line);
	fflush(stdout);
}

/* The kernel's struct sched_attr (glibc before 2.41 declares none). */
struct sched_attr_v1 {
	uint32_t size, policy;
	uint64_t flags;
	int32_t nice;
	uint32_t priority;
	uint64_t runtime, deadline, period;
};

static void print_sched(void)
{
	struct sched_attr_v1 a = {0};

	if (syscall(SYS_sched_getattr, 0, &a, sizeof(a), 0) < 0)
		printf("sched: unknown: %s\n", strerror(errno));
	else
		printf("sched: policy %u, nice %d, slice %llu ns\n", a.policy, a.nice,
		       (unsigned long long)a.runtime);
}

int main(int argc, char **argv)
{
	char line[4096];
	FILE *f;

	if (argc > 1 && strncmp(argv[1], "-V", 2) == 0) {
		printf("compile version go1.99 hostile\n");
		return 0;
	}
	if (argc < 2 || !(f = fopen(argv[argc - 1], "r"))) {
		printf("hostiletool: no orders file\n");
		return 2;
	}
	printf("uid %d, pid %d, cwd %s\n", (int)getuid(), (int)getpid(),
	       getcwd(line, sizeof(line)) ? line : "?");
	print_sched();
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (line[0] && line[0] != '#')
			act(line);
	}
	fclose(f);
	return 3;
}
