/*
 * dispatchd: options, start-up and shutdown. See dispatchd(8).
 *
 * Configuration is table-driven (common/config.h): defaults, then the file
 * named by --config, then DISPATCHD_* environment variables, then flags.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <sys/un.h>
#include <unistd.h>

#include "blobstore.h"
#include "buf.h"
#include "config.h"
#include "dispatchd.h"
#include "err.h"
#include "fsutil.h"
#include "hash.h"
#include "critpath.h"
#include "hashcache.h"
#include "hosts.h"
#include "jail.h"
#include "janitor.h"
#include "join.h"
#include "local.h"
#include "localslots.h"
#include "localsock.h"
#include "log.h"
#include "peer.h"
#include "auth.h"
#include "protocol.h"
#include "server.h"
#include "slots.h"
#include "stats.h"
#include "toolchain.h"

#include "banned.h"

/* The parsed configuration: the daemon's only global state besides the
 * logger. */
static struct {
	char *config;
	char *listen;
	char *socket;
	char *port_file;
	char *state_dir;
	char *sandbox_dir;
	long slots;
	long job_timeout;
	char *name;
	char *log_level;
	long max_connections;
	long connection_timeout;
	long shutdown_grace;
	struct config_list peers;
	char *join;
	char *advertise;
	long heartbeat;
	long down_after;
	long nice;
	long job_slice;
	char *max_load;
	char *local_slots;
	char *user;
	long job_cpu, job_memory, job_files, job_procs, job_disk;
	char *token_file;
	int insecure_no_token;
	char *tls_cert;
	char *tls_key;
	char *ca_file;
	char *toolchains;
	long cache_size;
} conf;

/* clang-format off */
static const struct config_opt options[] = {
	{"config", CONFIG_STRING, NULL, NULL,
	 "read options from FILE (\"name = value\" lines, '#' comments)", &conf.config, "FILE"},
	{"listen", CONFIG_STRING, "127.0.0.1:3633", "DISPATCHD_LISTEN",
	 "serve on ADDR:PORT ([ADDR]:PORT for IPv6); port 0 picks a free port",
	 &conf.listen, "ADDR:PORT"},
	{"socket", CONFIG_STRING, NULL, "DISPATCHD_SOCKET",
	 "serve shims of this user on this host on the Unix socket PATH (default: "
	 "$XDG_RUNTIME_DIR/godistcc/dispatchd.sock, else /tmp/godistcc-UID/dispatchd.sock); "
	 "\"none\" turns it off", &conf.socket, "PATH"},
	{"port-file", CONFIG_STRING, NULL, "DISPATCHD_PORT_FILE",
	 "write the port served on to FILE once listening", &conf.port_file, "FILE"},
	{"state-dir", CONFIG_STRING, NULL, "DISPATCHD_STATE_DIR",
	 "toolchains, sandboxes and uploads (default: /var/lib/dispatchd for root, else "
	 "$XDG_STATE_HOME/dispatchd or ~/.local/state/dispatchd)",
	 &conf.state_dir, "DIR"},
	{"sandbox-dir", CONFIG_STRING, NULL, "DISPATCHD_SANDBOX_DIR",
	 "make job sandboxes in a private directory below DIR (default: /dev/shm when it "
	 "is a tmpfs, else STATE-DIR/jobs): sandboxes live for one job, and on tmpfs "
	 "creating and removing them costs no disk journal",
	 &conf.sandbox_dir, "DIR"},
	{"slots", CONFIG_INT, "-1", "DISPATCHD_SLOTS",
	 "jobs run at once; -1: one per CPU; 0: run none (POST /v1/job answers no_slots)",
	 &conf.slots, "N"},
	{"job-timeout", CONFIG_INT, "600", "DISPATCHD_JOB_TIMEOUT",
	 "seconds a tool may run before its process group is killed", &conf.job_timeout, "SECONDS"},
	{"name", CONFIG_STRING, NULL, "DISPATCHD_NAME",
	 "name reported to clients as \"host\" (default: the host name)", &conf.name, "NAME"},
	{"log-level", CONFIG_STRING, "info", "DISPATCHD_LOG_LEVEL", "error, warn, info or debug",
	 &conf.log_level, "LEVEL"},
	{"max-connections", CONFIG_INT, "256", NULL, "connections served at once",
	 &conf.max_connections, "N"},
	{"connection-timeout", CONFIG_INT, "60", NULL,
	 "seconds an idle connection stays open", &conf.connection_timeout, "SECONDS"},
	{"shutdown-grace", CONFIG_INT, "5", NULL,
	 "seconds running jobs may take to finish after SIGTERM or SIGINT",
	 &conf.shutdown_grace, "SECONDS"},
	{"peer", CONFIG_LIST, NULL, NULL,
	 "dispatch jobs to the volunteer dispatchd at URL (http://host:port); repeatable",
	 &conf.peers, "URL"},
	{"join", CONFIG_STRING, NULL, "DISPATCHD_JOIN",
	 "volunteer for the dispatcher at URL: register with it and send a heartbeat every "
	 "--heartbeat seconds", &conf.join, "URL"},
	{"advertise", CONFIG_STRING, NULL, "DISPATCHD_ADVERTISE",
	 "with --join: the URL the dispatcher reaches this daemon at (default: the "
	 "--listen address, which must then not be a wildcard)", &conf.advertise, "URL"},
	{"heartbeat", CONFIG_INT, "1", NULL,
	 "seconds between a volunteer's heartbeats, and between a dispatcher's status polls",
	 &conf.heartbeat, "SECONDS"},
	{"down-after", CONFIG_INT, "3", NULL,
	 "seconds without an answer after which a dispatcher marks a volunteer down",
	 &conf.down_after, "SECONDS"},
	{"nice", CONFIG_INT, "10", "DISPATCHD_NICE",
	 "CPU priority (nice value, 0 to 19) of the tools the daemon runs, so that a "
	 "volunteer's owner comes first", &conf.nice, "N"},
	{"job-slice", CONFIG_INT, "50", "DISPATCHD_JOB_SLICE",
	 "tools run as SCHED_BATCH with a time slice of this many milliseconds (1 to 100), so that "
	 "two sharing a CPU switch seldom; what wakes up still preempts them; 0: leave the "
	 "scheduling to the kernel's defaults", &conf.job_slice, "MS"},
	{"max-load", CONFIG_STRING, "0", "DISPATCHD_MAX_LOAD",
	 "take no jobs while the machine's one-minute load average, less the daemon's own "
	 "jobs, is above LOAD (the owner is busy); 0: always take jobs", &conf.max_load, "LOAD"},
	{"local-slots", CONFIG_STRING, "auto", "GODISTCC_LOCAL_SLOTS",
	 "jobs of the local socket take one of the user's local slots, which the shims' "
	 "own local work (links, fallbacks) shares, so that the client runs at most N "
	 "tools at once; auto: one per CPU; 0: do not share", &conf.local_slots, "N"},
	{"user", CONFIG_STRING, NULL, "DISPATCHD_USER",
	 "started as root: run as user NAME once the state directory is ready (root "
	 "without it runs jobs as nobody but keeps root itself)", &conf.user, "NAME"},
	{"job-cpu", CONFIG_INT, "600", "DISPATCHD_JOB_CPU",
	 "CPU seconds a tool may use (all its threads): SIGXCPU, then SIGKILL",
	 &conf.job_cpu, "SECONDS"},
	{"job-memory", CONFIG_INT, "4096", "DISPATCHD_JOB_MEMORY",
	 "MiB of writable memory a tool may map (RLIMIT_DATA)", &conf.job_memory, "MiB"},
	{"job-files", CONFIG_INT, "4096", "DISPATCHD_JOB_FILES",
	 "files a tool may hold open at once", &conf.job_files, "N"},
	{"job-procs", CONFIG_INT, "512", "DISPATCHD_JOB_PROCS",
	 "processes and threads a remote job may run at once", &conf.job_procs, "N"},
	{"job-disk", CONFIG_INT, "1024", "DISPATCHD_JOB_DISK",
	 "MiB a job may add to its directory (also the largest file it may write)",
	 &conf.job_disk, "MiB"},
	{"token-file", CONFIG_STRING, NULL, "DISPATCHD_TOKEN_FILE",
	 "the cluster's shared token (a file of mode 600): every request but GET /v1/health "
	 "must carry proof of it, and this daemon's own calls to other daemons carry it",
	 &conf.token_file, "FILE"},
	{"insecure-no-token", CONFIG_BOOL, "0", NULL,
	 "serve a non-loopback --listen address without --token-file: anyone who can reach "
	 "the port may then run compilers here", &conf.insecure_no_token, NULL},
	{"tls-cert", CONFIG_STRING, NULL, "DISPATCHD_TLS_CERT",
	 "serve HTTPS with this certificate chain (PEM); needs --tls-key", &conf.tls_cert, "FILE"},
	{"tls-key", CONFIG_STRING, NULL, "DISPATCHD_TLS_KEY",
	 "the private key (PEM) of --tls-cert", &conf.tls_key, "FILE"},
	{"ca-file", CONFIG_STRING, NULL, "DISPATCHD_CA_FILE",
	 "CA certificates (PEM) that https:// volunteers and dispatchers must chain to "
	 "(default: the system's store)", &conf.ca_file, "FILE"},
	{"toolchains", CONFIG_STRING, "upload", "DISPATCHD_TOOLCHAINS",
	 "which toolchains HTTP clients may run: upload (any, uploaded by an authenticated "
	 "client), allowlist:FILE (only the SHA-256 hashes listed in FILE) or local (only "
	 "those this daemon holds; no uploads)", &conf.toolchains, "POLICY"},
	{"cache-size", CONFIG_INT, "1024", "DISPATCHD_CACHE_SIZE",
	 "MiB of job inputs (sources, export data) kept by content in STATE-DIR/blobs, so "
	 "that a dispatcher sends each only once; the least recently used go first",
	 &conf.cache_size, "MiB"},
	{NULL, CONFIG_STRING, NULL, NULL, NULL, NULL, NULL},
};
/* clang-format on */

enum action { ACT_RUN, ACT_HELP, ACT_VERSION, ACT_CHECK };

static void usage(FILE *out)
{
	fprintf(out, "usage: dispatchd [options]\n\n"
		     "Runs Go compile and asm jobs for godistcc clients (see dispatchd(8)).\n\n"
		     "  --check-config  validate the configuration, print what is wrong, exit\n"
		     "  --help          show this help\n"
		     "  --version       show the version\n");
	config_usage(options, out);
}

static const struct config_opt *option_find(const char *name, size_t len)
{
	for (const struct config_opt *o = options; o->name; o++)
		if (strlen(o->name) == len && strncmp(o->name, name, len) == 0)
			return o;
	return NULL;
}

/* One "--name[=value]" argument (with its value from argv[*i + 1] when
 * needed). only_config: set --config alone (the first pass), else all
 * but --config. */
static int parse_flag(int argc, char **argv, int *i, int only_config, struct err *e)
{
	const char *arg = argv[*i] + 2, *eq = strchr(arg, '=');
	size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
	const struct config_opt *o = option_find(arg, len);
	const char *value = eq ? eq + 1 : NULL;

	if (!o)
		return err_set(e, "unknown option --%.*s (see --help)", (int)len, arg);
	if (!value && o->type == CONFIG_BOOL)
		value = "true";
	if (!value && *i + 1 >= argc)
		return err_set(e, "option --%s needs a value", o->name);
	if (!value)
		value = argv[++*i];
	if (only_config != (strcmp(o->name, "config") == 0))
		return 0;
	return config_set(options, o->name, value, "command line", e);
}

static int parse_args(int argc, char **argv, int only_config, enum action *ret_act, struct err *e)
{
	enum action act = ACT_RUN;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			act = ACT_HELP;
		else if (strcmp(argv[i], "--version") == 0)
			act = act == ACT_HELP ? act : ACT_VERSION;
		else if (strcmp(argv[i], "--check-config") == 0)
			act = act == ACT_RUN ? ACT_CHECK : act;
		else if (strncmp(argv[i], "--", 2) != 0 || argv[i][2] == '\0')
			return err_set(e, "unexpected argument \"%s\" (see --help)", argv[i]);
		else if (parse_flag(argc, argv, &i, only_config, e) < 0)
			return -1;
	}
	*ret_act = act;
	return 0;
}

/* defaults -> --config FILE -> environment -> flags */
static int load_config(int argc, char **argv, enum action *ret_act, struct err *e)
{
	if (config_defaults(options, e) < 0 || parse_args(argc, argv, 1, ret_act, e) < 0)
		return -1;
	if (conf.config && config_load_file(options, conf.config, 1, e) < 0)
		return -1;
	if (config_load_env(options, e) < 0 || parse_args(argc, argv, 0, ret_act, e) < 0)
		return -1;
	return 0;
}

static char *default_state_dir(void)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	struct passwd *pw;

	if (geteuid() == 0)
		return xstrdup("/var/lib/dispatchd");
	if (xdg && xdg[0] == '/')
		return xasprintf("%s/dispatchd", xdg);
	if ((!home || !*home) && (pw = getpwuid(geteuid())))
		home = pw->pw_dir;
	return xasprintf("%s/.local/state/dispatchd", home ? home : "");
}

/* Fills in the defaults that depend on the machine. */
static void resolve_defaults(void)
{
	char host[HOST_NAME_MAX + 1] = "";

	if (!conf.state_dir)
		conf.state_dir = default_state_dir();
	if (conf.slots == -1)
		conf.slots = localslots_cpu_count();
	if (!conf.name) {
		if (gethostname(host, sizeof(host) - 1) < 0 || !host[0])
			snprintf(host, sizeof(host), "localhost");
		conf.name = xstrdup(host);
	}
}

static void problem(int *n, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(int *n, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "dispatchd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	(*n)++;
}

static void check_range(int *n, const char *name, long v, long lo, long hi)
{
	if (v < lo || v > hi)
		problem(n, "--%s %ld: must be between %ld and %ld", name, v, lo, hi);
}

static int parse_load(const char *text, double *ret)
{
	char *end = NULL;
	double v = strtod(text, &end);

	if (!text[0] || *end || !(v >= 0 && v <= 10000))
		return -1;
	*ret = v;
	return 0;
}

/* Whether ADDR:PORT listens on every address (no use as a URL). */
static int listen_is_wildcard(const char *listen)
{
	return strncmp(listen, "0.0.0.0:", 8) == 0 || strncmp(listen, "[::]:", 5) == 0 ||
	       listen[0] == ':';
}

/* Whether ADDR:PORT listens on loopback only (127.0.0.0/8 or ::1). */
static int listen_is_loopback(const char *listen)
{
	struct sockaddr_storage addr;
	socklen_t len;

	if (server_parse_listen(listen, &addr, &len, NULL) < 0)
		return 0;
	if (addr.ss_family == AF_INET)
		return (ntohl(((struct sockaddr_in *)&addr)->sin_addr.s_addr) >> 24) == 127;
	if (addr.ss_family == AF_INET6)
		return IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&addr)->sin6_addr);
	return 0;
}

static void check_jail_options(int *n)
{
	check_range(n, "job-cpu", conf.job_cpu, 1, 7 * 24 * 3600);
	check_range(n, "job-memory", conf.job_memory, 64, 1024 * 1024);
	check_range(n, "job-files", conf.job_files, 64, 1 << 20);
	check_range(n, "job-procs", conf.job_procs, 16, 1 << 20);
	check_range(n, "job-disk", conf.job_disk, 1, OUTPUT_MAX_BYTES >> 20);
}

/* Prints every problem of the configuration; returns how many. */
static int validate_config(void)
{
	double load;
	long local_slots;
	struct sockaddr_storage addr;
	enum log_level level;
	struct err e = {0};
	socklen_t len;
	int n = 0;

	if (server_parse_listen(conf.listen, &addr, &len, &e) < 0)
		problem(&n, "--listen: %s", err_msg(&e));
	if (conf.socket && strlen(conf.socket) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		problem(&n, "--socket \"%s\": longer than %zu bytes", conf.socket,
			sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	if (log_parse_level(conf.log_level, &level) < 0)
		problem(&n, "--log-level \"%s\": use error, warn, info or debug", conf.log_level);
	check_range(&n, "slots", conf.slots, -1, 4096);
	check_range(&n, "job-timeout", conf.job_timeout, 1, 7 * 24 * 3600);
	check_range(&n, "max-connections", conf.max_connections, 1, 65536);
	check_range(&n, "connection-timeout", conf.connection_timeout, 0, 24 * 3600);
	check_range(&n, "shutdown-grace", conf.shutdown_grace, 0, 3600);
	check_range(&n, "heartbeat", conf.heartbeat, 1, 3600);
	check_range(&n, "down-after", conf.down_after, 1, 24 * 3600);
	check_range(&n, "nice", conf.nice, 0, 19);
	check_range(&n, "job-slice", conf.job_slice, 0, 100);
	check_range(&n, "cache-size", conf.cache_size, 0, 1L << 30);
	check_jail_options(&n);
	if (localslots_parse("--local-slots", conf.local_slots, &local_slots, &e) < 0)
		problem(&n, "%s", err_msg(&e));
	err_clear(&e);
	if (parse_load(conf.max_load, &load) < 0)
		problem(&n, "--max-load \"%s\": must be a number from 0 to 10000", conf.max_load);
	for (size_t i = 0; i < conf.peers.n; i++)
		if (!hosts_url_is_valid(conf.peers.items[i]))
			problem(&n, "--peer \"%s\": must be http(s)://HOST:PORT", conf.peers.items[i]);
	if (conf.join && !hosts_url_is_valid(conf.join))
		problem(&n, "--join \"%s\": must be http(s)://HOST:PORT", conf.join);
	if (conf.advertise && !hosts_url_is_valid(conf.advertise))
		problem(&n, "--advertise \"%s\": must be http(s)://HOST:PORT", conf.advertise);
	if (conf.join && !conf.advertise && listen_is_wildcard(conf.listen))
		problem(&n, "--join with --listen %s: give --advertise, the URL the dispatcher "
			    "reaches this daemon at", conf.listen);
	if (!conf.token_file && !conf.insecure_no_token && !listen_is_loopback(conf.listen))
		problem(&n, "--listen %s is reachable from other machines, and anyone who reaches "
			    "it could run programs here: give --token-file FILE, the cluster's "
			    "shared token (see dispatchd(8), Security), or --insecure-no-token "
			    "to serve it without one", conf.listen);
	if (!conf.tls_cert != !conf.tls_key)
		problem(&n, "--tls-cert and --tls-key go together");
	if (!conf.name[0] || strlen(conf.name) > 255)
		problem(&n, "--name: must hold 1 to 255 bytes");
	/* The sandbox path goes into -trimpath rules, which ';' and "=>"
	 * would break. */
	if (strchr(conf.state_dir, ';') || strstr(conf.state_dir, "=>") || !conf.state_dir[0])
		problem(&n, "--state-dir \"%s\": must be non-empty, without ';' or \"=>\"",
			conf.state_dir);
	return n;
}

/* One daemon per state directory: a second one would delete the first's
 * sandboxes at start-up. The lock lives as long as the process. */
static int state_lock(const char *dir, struct err *e)
{
	char *path = xasprintf("%s/lock", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	int r = -1;

	if (fd < 0) {
		err_errno(e, errno, "%s", path);
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK)
			err_set(e, "%s: another dispatchd uses this state directory", dir);
		else
			err_errno(e, errno, "%s: lock", path);
		close(fd);
		goto out;
	}
	r = 0;
out:
	free(path);
	return r;
}

/* Empties dir/sub, or creates it. */
static int state_fresh_dir(const char *dir, const char *sub, mode_t mode, struct err *e)
{
	char *path = xasprintf("%s/%s", dir, sub);
	int r = -1;

	if (fs_rm_rf(path, e) < 0 || fs_mkdir_p(path, mode, e) < 0 || chmod(path, mode) < 0) {
		err_errno(e, errno, "%s", path);
		goto out;
	}
	r = 0;
out:
	free(path);
	return r;
}

/* Creates the layout (toolchains/, jobs/, tmp/), takes the lock and removes
 * what a previous run left behind. *ret_abs is the absolute path. */
static int state_prepare(const char *dir, char **ret_abs, struct err *e)
{
	char *abs = NULL, *tc = NULL;
	int r = -1;

	if (fs_mkdir_p(dir, 0755, e) < 0)
		goto out;
	if (!(abs = realpath(dir, NULL))) {
		err_errno(e, errno, "%s", dir);
		goto out;
	}
	if (strchr(abs, ';') || strstr(abs, "=>")) {
		err_set(e, "%s: the state directory's path may not contain ';' or \"=>\"", abs);
		goto out;
	}
	tc = xasprintf("%s/toolchains", abs);
	if (state_lock(abs, e) < 0 || fs_mkdir_p(tc, 0755, e) < 0 ||
	    state_fresh_dir(abs, "jobs", 0755, e) < 0 || state_fresh_dir(abs, "tmp", 0700, e) < 0)
		goto out;
	*ret_abs = abs;
	abs = NULL;
	r = 0;
out:
	free(abs);
	free(tc);
	return r;
}

static int write_port_file(unsigned port, struct err *e)
{
	char text[16];
	int n = snprintf(text, sizeof(text), "%u\n", port);

	return fs_write_atomic(conf.port_file, text, (size_t)n, 0644, e);
}

/* Descriptors 0-2 must be open, or a pipe could land on them; anything
 * else inherited would leak into every tool. */
static void sanitize_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDWR) < 0)
			abort();
	closefrom(3);
}

/* Blocks the shutdown signals in every thread (the server's threads inherit
 * the mask; tools get a clean one) so that main can wait for them. */
static void signals_block(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* The build graph (critpath.h) outlives the daemon in this file of its
 * state directory, written every GRAPH_SAVE_S seconds when it learnt
 * something, and at shutdown. */
#define GRAPH_FILE "graph.json"
#define GRAPH_SAVE_S 60

static unsigned long graph_saved; /* critpath_generation() of the file */

static void graph_load(struct dispatchd *d)
{
	char *path = xasprintf("%s/%s", d->state_dir, GRAPH_FILE);
	struct err e = {0};
	int r = critpath_load(d->critpath, path, &e);

	if (r == 0)
		log_info("build graph %s: %zu packages", path, critpath_size(d->critpath));
	else if (r < 0)
		log_warn("%s; the build graph starts empty", err_msg(&e));
	graph_saved = critpath_generation(d->critpath);
	free(path);
}

static void graph_save(struct dispatchd *d)
{
	unsigned long g = critpath_generation(d->critpath);
	char *path;
	struct err e = {0};

	if (g == graph_saved)
		return;
	path = xasprintf("%s/%s", d->state_dir, GRAPH_FILE);
	if (critpath_save(d->critpath, path, &e) < 0) {
		log_warn("%s; the build graph is not saved", err_msg(&e));
	} else {
		graph_saved = g;
		log_debug("build graph %s: %zu packages saved", path, critpath_size(d->critpath));
	}
	free(path);
}

/* Waits for SIGINT or SIGTERM, saving the build graph meanwhile. */
static int wait_for_signal(struct dispatchd *d, const sigset_t *set)
{
	const struct timespec period = {.tv_sec = GRAPH_SAVE_S};
	int sig;

	for (;;) {
		sig = sigtimedwait(set, NULL, &period);
		if (sig > 0)
			return sig;
		if (errno == EAGAIN)
			graph_save(d);
	}
}

/* Stop accepting, let running jobs finish for a while, then kill them. */
static void shutdown_daemon(struct server *srv, struct local *loc, struct dispatchd *d, int sig)
{
	log_info("%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	server_quiesce(srv);
	local_quiesce(loc);
	hosts_stop(d->hosts);
	slots_close(d->slots);
	if (slots_wait_idle(d->slots, conf.shutdown_grace * 1000) < 0) {
		log_warn("killing %ld job(s) still running", slots_running(d->slots));
		eventfd_write(d->cancel_fd, 1);
		slots_wait_idle(d->slots, 2000);
	}
	/* Let the last answers go out before every connection is closed. */
	server_drain(srv, 1000);
	local_drain(loc, 1000);
	server_stop(srv);
	local_stop(loc);
}

/* The local socket's path, or NULL when it is off. Caller frees. */
static char *socket_path(void)
{
	char *path;

	if (conf.socket)
		return conf.socket[0] && strcmp(conf.socket, "none") != 0 ? xstrdup(conf.socket)
									  : NULL;
	if (!(path = localsock_default_path()))
		log_warn("no usable runtime directory: the local socket is off (see --socket)");
	return path;
}

/* Before the HTTP server: local_start() changes the umask, which must not
 * affect files that jobs create. */
static int start_local(struct dispatchd *d, struct local **ret, struct err *e)
{
	struct local_opts lo = {
	    .max_connections = (unsigned)conf.max_connections,
	    .timeout_ms = conf.connection_timeout * 1000,
	};
	char *path = socket_path();
	int r = 0;

	*ret = NULL;
	if (path) {
		lo.path = path;
		r = local_start(&lo, d, ret, e);
	}
	free(path);
	return r;
}

static int serve(struct dispatchd *d, const sigset_t *set, struct err *e)
{
	const struct server_opts so = {
	    .listen = conf.listen,
	    .max_connections = (unsigned)conf.max_connections,
	    .conn_timeout = (unsigned)conf.connection_timeout,
	    .tls_cert = conf.tls_cert,
	    .tls_key = conf.tls_key,
	};
	struct server *srv = NULL;
	struct local *loc = NULL;
	struct join *jn = NULL;
	int sig;

	if (start_local(d, &loc, e) < 0)
		return -1;
	if (server_start(&so, d, &srv, e) < 0) {
		local_stop(loc);
		return -1;
	}
	if (conf.join) {
		struct join_opts jo = {.dispatcher = conf.join,
				       .advertise = conf.advertise ? conf.advertise : server_url(srv),
				       .name = conf.name,
				       .heartbeat_ms = conf.heartbeat * 1000};

		if (join_start(&jo, &jn, e) < 0) {
			server_stop(srv);
			local_stop(loc);
			return -1;
		}
		log_info("volunteering for %s as %s", conf.join, jo.advertise);
	}
	log_info("listening on %s (%ld slots, state in %s, sandboxes in %s)", server_url(srv),
		 conf.slots, d->state_dir, d->jobs_dir);
	if (loc)
		log_info("local socket %s", local_path(loc));
	if (conf.port_file && write_port_file(server_port(srv), e) < 0) {
		join_stop(jn);
		server_stop(srv);
		local_stop(loc);
		return -1;
	}
	for (size_t i = 0; i < conf.peers.n; i++)
		log_info("volunteer %s: listed (--peer)", conf.peers.items[i]);
	sig = wait_for_signal(d, set);
	join_stop(jn);
	shutdown_daemon(srv, loc, d, sig);
	graph_save(d);
	return 0;
}

/* Whether dir is on a tmpfs. */
static int is_tmpfs(const char *dir)
{
	struct statfs fs;

	return statfs(dir, &fs) == 0 && fs.f_type == TMPFS_MAGIC;
}

/*
 * The directory for job sandboxes: <base>/dispatchd-<uid>-<hash of the state
 * directory>, emptied, where base is --sandbox-dir or /dev/shm when that is
 * a tmpfs; else, or when /dev/shm cannot be used, <state>/jobs (already
 * emptied). The name is stable, so that
 * what a killed daemon left is removed by the next one for the same state
 * directory (whose lock this daemon holds); in a world-writable base, an
 * entry of that name that is not our own directory is never touched.
 */
static char *sandbox_parent(const char *state, struct err *e)
{
	const char *base = conf.sandbox_dir;
	char hex[HASH_HEX_LEN + 1], *dir, *abs;
	struct stat st;

	if (!base && is_tmpfs("/dev/shm"))
		base = "/dev/shm";
	if (!base)
		return xasprintf("%s/jobs", state);
	if (!(abs = realpath(base, NULL))) {
		err_errno(e, errno, "--sandbox-dir %s", base);
		return NULL;
	}
	hash_buf(state, strlen(state), hex);
	dir = xasprintf("%s/dispatchd-%ju-%.12s", abs, (uintmax_t)geteuid(), hex);
	free(abs);
	if (strchr(dir, ';') || strstr(dir, "=>")) {
		err_set(e, "%s: the sandbox directory's path may not contain ';' or \"=>\"", dir);
		goto fail;
	}
	if (lstat(dir, &st) == 0) {
		if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid()) {
			err_set(e, "%s exists and is not a directory of this user", dir);
			goto fail;
		}
		if (fs_rm_rf(dir, e) < 0)
			goto fail;
	}
	if (mkdir(dir, 0700) < 0) {
		err_errno(e, errno, "%s", dir);
		goto fail;
	}
	return dir;
fail:
	free(dir);
	if (conf.sandbox_dir)
		return NULL;
	log_warn("%s; sandboxes go to %s/jobs instead", err_msg(e), state);
	err_clear(e);
	return xasprintf("%s/jobs", state);
}

/* The cluster table with the --peer volunteers, and its monitor. */
static int start_cluster(struct dispatchd *d, struct err *e)
{
	struct hosts_opts ho = {.self_name = conf.name,
				.self_slots = conf.slots,
				.heartbeat_ms = conf.heartbeat * 1000,
				.down_after_ms = conf.down_after * 1000};

	if (peer_global_init(d->key, conf.ca_file, e) < 0)
		return -1;
	d->nice = (int)conf.nice;
	d->job_slice_ms = (int)conf.job_slice;
	parse_load(conf.max_load, &d->max_load);
	d->hosts = hosts_new(&ho);
	d->critpath = critpath_new(CRITPATH_MAX);
	graph_load(d);
	for (size_t i = 0; i < conf.peers.n; i++)
		if (hosts_add_peer(d->hosts, conf.peers.items[i], e) < 0)
			return -1;
	return hosts_start_monitor(d->hosts, e);
}

/* Drops root when asked, then sets up the job jail (jail.h), before any
 * thread starts and before the sandbox directory is made as that user. */
static int start_jail(struct dispatchd *d, const char *state, struct err *e)
{
	const struct jail_limits lim = {.cpu_s = conf.job_cpu,
					.memory_mb = conf.job_memory,
					.files = conf.job_files,
					.procs = conf.job_procs,
					.disk_mb = conf.job_disk};

	if (jail_drop_privileges(conf.user, state, e) < 0)
		return -1;
	return jail_new(&lim, &d->jail, e);
}

/* The blob store (--cache-size 0: none, every blob travels with its job)
 * and the cache of file hashes for what this daemon forwards. */
static int start_blobs(struct dispatchd *d, const char *state, struct err *e)
{
	char *dir = xasprintf("%s/blobs", state);
	struct blobstore_stats st;
	int r = 0;

	d->hashes = hashcache_new(HASHCACHE_MAX);
	if (conf.cache_size > 0) {
		r = blobstore_open(dir, (uint64_t)conf.cache_size << 20, &d->blobs, e);
		if (r == 0) {
			blobstore_stats(d->blobs, &st);
			log_info("blob store %s: %llu blobs, %llu of %llu MiB", dir,
				 (unsigned long long)st.blobs, (unsigned long long)st.bytes >> 20,
				 (unsigned long long)st.cap_bytes >> 20);
		}
	}
	free(dir);
	return r;
}

static int run(struct err *e)
{
	struct dispatchd d = {.name = conf.name, .job_timeout = conf.job_timeout, .cancel_fd = -1};
	char *state = NULL, *jobs = NULL, *pool = NULL;
	struct auth_key key = {0};
	sigset_t set;
	int r = -1;

	signals_block(&set);
	if (conf.token_file) {
		if (auth_key_load(conf.token_file, &key, e) < 0)
			goto out;
		d.key = &key;
		d.nonces = auth_nonces_new();
	} else if (!listen_is_loopback(conf.listen)) {
		log_warn("serving %s WITHOUT A TOKEN (--insecure-no-token): anyone who can reach "
			 "this port can run programs as this user",
			 conf.listen);
	}
	if (state_prepare(conf.state_dir, &state, e) < 0 || start_jail(&d, state, e) < 0)
		goto out;
	d.state_dir = state;
	if (!(d.jobs_dir = jobs = sandbox_parent(state, e)))
		goto out;
	if ((d.cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		err_errno(e, errno, "eventfd");
		goto out;
	}
	if (start_cluster(&d, e) < 0)
		goto out;
	localslots_parse("--local-slots", conf.local_slots, &d.local_slots, e);
	if (d.local_slots > 0 && (pool = localslots_default_dir()))
		d.local_slots_dir = pool;
	d.slots = slots_new(conf.slots);
	d.stats = stats_new();
	d.store = toolchain_store_new(state);
	if (toolchain_store_set_policy(d.store, conf.toolchains, e) < 0)
		goto out;
	if (start_blobs(&d, state, e) < 0)
		goto out;
	d.janitor = janitor_new(conf.slots > 0 ? 2 * (size_t)conf.slots : 1);
	r = serve(&d, &set, e);
	janitor_free(d.janitor);
	d.janitor = NULL;
	if (r == 0 && (state_fresh_dir(state, "jobs", 0755, e) < 0 ||
		       state_fresh_dir(state, "tmp", 0700, e) < 0))
		r = -1;
	if (r == 0 && strncmp(jobs, state, strlen(state)) != 0 && fs_rm_rf(jobs, e) < 0)
		r = -1;
out:
	hosts_free(d.hosts);
	critpath_free(d.critpath);
	jail_free(d.jail);
	toolchain_store_free(d.store);
	blobstore_close(d.blobs);
	hashcache_free(d.hashes);
	stats_free(d.stats);
	slots_free(d.slots);
	if (d.cancel_fd >= 0)
		close(d.cancel_fd);
	auth_nonces_free(d.nonces);
	auth_key_release(&key);
	free(pool);
	free(jobs);
	free(state);
	return r;
}

int main(int argc, char **argv)
{
	enum action act = ACT_RUN;
	enum log_level level = LOG_INFO;
	struct err e = {0};
	int status = 1;

	sanitize_fds();
	if (load_config(argc, argv, &act, &e) < 0) {
		fprintf(stderr, "dispatchd: %s\n", err_msg(&e));
		goto out;
	}
	if (act == ACT_HELP || act == ACT_VERSION) {
		if (act == ACT_HELP)
			usage(stdout);
		else
			printf("dispatchd %s (protocol %d)\n", GODISTCC_VERSION, PROTOCOL_VERSION);
		status = 0;
		goto out;
	}
	resolve_defaults();
	if (validate_config() > 0)
		goto out;
	if (act == ACT_CHECK) {
		printf("dispatchd: configuration is valid\n");
		status = 0;
		goto out;
	}
	log_parse_level(conf.log_level, &level);
	log_init("dispatchd", level, NULL);
	if (run(&e) < 0) {
		log_error("%s", err_msg(&e));
		goto out;
	}
	log_info("stopped");
	status = 0;
out:
	config_release(options);
	return status;
}
