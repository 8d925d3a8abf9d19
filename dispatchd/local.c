#include "local.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "buf.h"
#include "dispatchd.h"
#include "err.h"
#include "job.h"
#include "hosts.h"
#include "jsonmsg.h"
#include "localsock.h"
#include "log.h"
#include "protocol.h"

#include "banned.h"

/* How long an error frame written by the accept thread may block. */
#define LOCAL_QUICK_TIMEOUT_MS 1000

struct local_conn {
	struct local *l;
	int fd;
	struct local_conn *next;
};

struct local {
	struct dispatchd *d;
	char *path;
	int fd;	     /* the listening socket */
	int stop_fd; /* eventfd: the accept thread ends */
	pthread_t accepter;
	int accepting; /* the accept thread runs */
	unsigned max_connections;
	long timeout_ms;
	pthread_mutex_t mu;	  /* guards the fields below */
	pthread_cond_t ended;	  /* a connection ended */
	struct local_conn *conns; /* open, their threads running */
	unsigned nconns;
	int quiesced;
};

/* --- answers --- */

static void local_reply_error(int fd, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes the error frame {"protocol", "error", "message"}; a peer that is
 * gone is not worth a log line. */
static void local_reply_error(int fd, const char *code, const char *fmt, ...)
{
	struct buf msg;
	json_t *obj;
	char *text;
	va_list ap;

	buf_init(&msg);
	va_start(ap, fmt);
	buf_vaddf(&msg, fmt, ap);
	va_end(ap);
	obj = json_pack("{s:i, s:s, s:o}", "protocol", PROTOCOL_VERSION, "error", code, "message",
			json_message(msg.data));
	text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	if (text)
		localsock_write_frame(fd, text, strlen(text), NULL);
	free(text);
	json_decref(obj);
	buf_release(&msg);
}

/* The header frame, then every piece as it is, in order. */
static int local_write_answer(int fd, const struct job_answer *a, struct err *e)
{
	if (localsock_write_frame(fd, a->header, a->header_len, e) < 0)
		return -1;
	for (size_t i = 0; i < a->npieces; i++)
		if (a->pieces[i].len &&
		    localsock_write_full(fd, a->pieces[i].data, a->pieces[i].len, e) < 0)
			return -1;
	return 0;
}

/* --- one connection --- */

/* Only the daemon's own user: the daemon reads that user's files. */
static int local_check_peer(int fd)
{
	struct err e = {0};
	uid_t uid;

	if (localsock_peer_uid(fd, &uid, &e) < 0) {
		log_warn("local socket: %s", err_msg(&e));
		return -1;
	}
	if (uid == geteuid())
		return 0;
	log_warn("local socket: refused a connection from uid %ju", (uintmax_t)uid);
	local_reply_error(fd, "forbidden", "this daemon serves uid %ju only", (uintmax_t)geteuid());
	return -1;
}

/* Logs a job that gave no answer as HTTP's error answers are logged:
 * the daemon's trouble as a warning, the client's as information. */
static void local_log_failure(int r, const struct err *e)
{
	const char *code = job_error_code(r);

	if (r == JOB_E_BAD_REQUEST || r == JOB_E_TOO_LARGE || r == JOB_E_LIMIT ||
	    r == JOB_E_CLIENT_GONE)
		log_info("local job: %s: %s", code, err_msg(e));
	else
		log_warn("local job: %s: %s", code, err_msg(e));
}

/* {"protocol": 1, "request": "cluster"}: the cluster's table, as GET
 * /v1/cluster. 1 when req was such a request (answered), else 0. */
static int local_cluster(struct local *l, int fd, const struct buf *req)
{
	json_t *o = NULL, *doc;
	const char *what;
	char *text = NULL;
	struct err e = {0};
	int r = 0;

	/* Jobs, by far the most requests, are not parsed twice. */
	if (!memmem(req->data, req->len, "\"request\"", 9))
		return 0;
	o = json_loadb(req->data, req->len, 0, NULL);
	what = json_string_value(json_object_get(o, "request"));
	if (!what || strcmp(what, "cluster") != 0)
		goto out;
	r = 1;
	doc = l->d->hosts ? hosts_cluster_json(l->d->hosts) : NULL;
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		local_reply_error(fd, "internal", "out of memory");
	else if (localsock_write_frame(fd, text, strlen(text), &e) < 0)
		log_info("local socket: cluster table not delivered: %s", err_msg(&e));
out:
	free(text);
	json_decref(o);
	return r;
}

static void local_run(struct local *l, int fd, const struct buf *req)
{
	struct job_answer *a = NULL;
	struct err e = {0};
	int r;

	if (local_cluster(l, fd, req))
		return;
	r = job_run_local(l->d, req->data, req->len, fd, &a, &e);

	if (r < 0) {
		local_log_failure(r, &e);
		local_reply_error(fd, job_error_code(r), "%s", err_msg(&e));
		return;
	}
	if (local_write_answer(fd, a, &e) < 0)
		log_info("local job: answer not delivered: %s", err_msg(&e));
	job_answer_free(a);
}

static void local_serve(struct local *l, int fd)
{
	struct err e = {0};
	struct buf req;
	int r;

	buf_init(&req);
	if (local_check_peer(fd) < 0)
		goto out;
	if (localsock_set_timeout(fd, l->timeout_ms, &e) < 0) {
		log_warn("local socket: %s", err_msg(&e));
		goto out;
	}
	/* A length past the cap is answered before its body is read. */
	r = localsock_read_frame(fd, MANIFEST_MAX_BYTES, &req, &e);
	if (r == LOCALSOCK_E_TOO_LARGE) {
		log_info("local job: too_large: request %s (MANIFEST_MAX_BYTES)", err_msg(&e));
		local_reply_error(fd, "too_large", "request %s (MANIFEST_MAX_BYTES)", err_msg(&e));
	} else if (r < 0) {
		log_debug("local socket: no request: %s", err_msg(&e));
	} else {
		local_run(l, fd, &req);
	}
out:
	buf_release(&req);
}

/* Unlists c; from then on local_stop() no longer touches its descriptor. */
static void local_conn_end(struct local_conn *c)
{
	struct local *l = c->l;

	pthread_mutex_lock(&l->mu);
	for (struct local_conn **p = &l->conns; *p; p = &(*p)->next) {
		if (*p == c) {
			*p = c->next;
			break;
		}
	}
	l->nconns--;
	pthread_cond_broadcast(&l->ended);
	pthread_mutex_unlock(&l->mu);
	close(c->fd);
	free(c);
}

static void *local_conn_main(void *arg)
{
	struct local_conn *c = arg;

	local_serve(c->l, c->fd);
	local_conn_end(c);
	return NULL;
}

/* --- accepting --- */

/* Answers and closes a connection the daemon will not serve. */
static void local_turn_away(int fd, const char *code, const char *msg)
{
	localsock_set_timeout(fd, LOCAL_QUICK_TIMEOUT_MS, NULL);
	local_reply_error(fd, code, "%s", msg);
	close(fd);
}

/* Lists a connection and starts its thread, or says why not (with l->mu
 * held). */
static const char *local_admit_locked(struct local *l, int fd, const char **ret_code)
{
	struct local_conn *c;
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	*ret_code = "shutting_down";
	if (l->quiesced)
		return "the daemon is shutting down";
	*ret_code = "no_slots";
	if (l->nconns >= l->max_connections)
		return "too many local connections at once (max-connections)";
	c = xcalloc(1, sizeof(*c));
	c->l = l;
	c->fd = fd;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &attr, local_conn_main, c);
	pthread_attr_destroy(&attr);
	*ret_code = "internal";
	if (rc != 0) {
		free(c);
		return "cannot start a thread for the connection";
	}
	/* The thread needs l->mu to end, so it cannot unlist itself first. */
	c->next = l->conns;
	l->conns = c;
	l->nconns++;
	return NULL;
}

static void local_admit(struct local *l, int fd)
{
	const char *code, *why;

	pthread_mutex_lock(&l->mu);
	why = local_admit_locked(l, fd, &code);
	pthread_mutex_unlock(&l->mu);
	if (!why)
		return;
	if (strcmp(code, "shutting_down") == 0)
		log_debug("local socket: %s", why);
	else
		log_warn("local socket: %s", why);
	local_turn_away(fd, code, why);
}

/* Waits for a connection or the stop signal: 1, 0 (stop) or -1. */
static int local_wait(struct local *l)
{
	struct pollfd p[2] = {{.fd = l->fd, .events = POLLIN},
			      {.fd = l->stop_fd, .events = POLLIN}};

	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("local socket: poll: %s", strerror(errno));
			return -1;
		}
		if (p[1].revents)
			return 0;
		if (p[0].revents)
			return 1;
	}
}

static void *local_accept_main(void *arg)
{
	struct local *l = arg;

	while (local_wait(l) > 0) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd >= 0) {
			local_admit(l, fd);
		} else if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			   errno == ENOMEM) {
			/* Out of descriptors or memory: try again later,
			 * rather than spin. */
			log_warn("local socket: accept: %s", strerror(errno));
			usleep(100000);
		}
	}
	return NULL;
}

/* --- the listener --- */

/* Clears the way for bind(): a stale socket is removed, a live one (or a
 * file that is no socket) is left alone and reported. */
static int local_clear_path(const char *path, struct err *e)
{
	struct err probe = {0};
	struct stat st;
	int fd, absent;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : err_errno(e, errno, "%s", path);
	if (!S_ISSOCK(st.st_mode))
		return err_set(e,
			       "%s: exists and is not a socket; pass --socket to choose "
			       "another path, or --socket none",
			       path);
	if (localsock_connect(path, LOCAL_QUICK_TIMEOUT_MS, &fd, &absent, &probe) == 0) {
		close(fd);
		return err_set(e,
			       "another dispatchd listens on %s; pass --socket to choose "
			       "another, or --socket none",
			       path);
	}
	if (!absent)
		return err_set(e, "%s; pass --socket to choose another path, or --socket none",
			       err_msg(&probe));
	if (unlink(path) < 0 && errno != ENOENT)
		return err_errno(e, errno, "%s: remove the stale socket", path);
	return 0;
}

/* The listening socket at path, mode 0600 from the start. */
static int local_listen(const char *path, int *ret_fd, struct err *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	mode_t old;
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(e, "%s: socket path longer than %zu bytes", path,
			       sizeof(sa.sun_path) - 1);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (local_clear_path(path, e) < 0)
		return -1;
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return err_errno(e, errno, "socket");
	old = umask(0177);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r < 0 || listen(fd, SOMAXCONN) < 0) {
		err_errno(e, errno, "%s: %s", path, r < 0 ? "bind" : "listen");
		close(fd);
		if (r == 0)
			unlink(path);
		return -1;
	}
	*ret_fd = fd;
	return 0;
}

static struct local *local_new(const struct local_opts *o, struct dispatchd *d)
{
	struct local *l = xcalloc(1, sizeof(*l));
	pthread_condattr_t attr;

	l->d = d;
	l->path = xstrdup(o->path);
	l->fd = -1;
	l->stop_fd = -1;
	l->max_connections = o->max_connections;
	l->timeout_ms = o->timeout_ms;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->ended, &attr);
	pthread_condattr_destroy(&attr);
	return l;
}

int local_start(const struct local_opts *o, struct dispatchd *d, struct local **ret, struct err *e)
{
	struct local *l = local_new(o, d);
	int rc;

	if (local_listen(l->path, &l->fd, e) < 0)
		goto fail;
	if ((l->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		err_errno(e, errno, "eventfd");
		goto fail;
	}
	if ((rc = pthread_create(&l->accepter, NULL, local_accept_main, l)) != 0) {
		err_errno(e, rc, "local socket: cannot start the accept thread");
		goto fail;
	}
	l->accepting = 1;
	*ret = l;
	return 0;
fail:
	local_stop(l);
	return -1;
}

const char *local_path(const struct local *l)
{
	return l->path;
}

void local_quiesce(struct local *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->mu);
	l->quiesced = 1;
	pthread_mutex_unlock(&l->mu);
}

/* Waits, with l->mu held, until no connection is open or deadline. */
static void local_wait_idle_locked(struct local *l, const struct timespec *deadline)
{
	while (l->nconns > 0) {
		int rc = deadline ? pthread_cond_timedwait(&l->ended, &l->mu, deadline)
				  : pthread_cond_wait(&l->ended, &l->mu);

		if (rc == ETIMEDOUT)
			return;
	}
}

void local_drain(struct local *l, long timeout_ms)
{
	struct timespec deadline;

	if (!l)
		return;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (timeout_ms % 1000) * 1000000;
	if (deadline.tv_nsec >= 1000000000) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&l->mu);
	local_wait_idle_locked(l, &deadline);
	pthread_mutex_unlock(&l->mu);
}

/* Ends the accept thread and removes the socket from the file system. */
static void local_close_listener(struct local *l)
{
	if (l->accepting) {
		eventfd_write(l->stop_fd, 1);
		pthread_join(l->accepter, NULL);
		l->accepting = 0;
	}
	if (l->fd >= 0) {
		close(l->fd);
		unlink(l->path);
		l->fd = -1;
	}
}

void local_stop(struct local *l)
{
	if (!l)
		return;
	local_close_listener(l);
	pthread_mutex_lock(&l->mu);
	/* Reads and writes still blocked on a slow peer fail at once; the
	 * threads close their descriptors themselves. */
	for (struct local_conn *c = l->conns; c; c = c->next)
		shutdown(c->fd, SHUT_RDWR);
	local_wait_idle_locked(l, NULL);
	pthread_mutex_unlock(&l->mu);
	if (l->stop_fd >= 0)
		close(l->stop_fd);
	pthread_cond_destroy(&l->ended);
	pthread_mutex_destroy(&l->mu);
	free(l->path);
	free(l);
}
