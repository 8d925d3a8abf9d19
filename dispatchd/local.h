#ifndef DISPATCHD_LOCAL_H
#define DISPATCHD_LOCAL_H
/*
 * The local socket (PROTOCOL, "Local socket"): a Unix stream socket, mode
 * 0600, on which shims of the daemon's own user on its own host send one
 * job per connection without HTTP or bundles. An accept thread hands each
 * connection to a thread of its own (at most max_connections at once);
 * that thread checks the peer's user (SO_PEERCRED), reads one request
 * frame within MANIFEST_MAX_BYTES, runs the job (job_run_local()) and
 * writes the answer frame and its raw pieces, or an error frame
 * {"protocol", "error", "message"}. A malformed request is answered and
 * closed; the listener goes on serving.
 *
 * Threading: local_start() must be called while no other thread creates
 * files (it changes the umask for bind(2)). The other calls come from the
 * thread that started it.
 */
struct dispatchd;
struct err;
struct local;

struct local_opts {
	const char *path;	  /* where to bind; copied */
	unsigned max_connections; /* served at once; more are answered and closed */
	long timeout_ms;	  /* for reading a request and writing an answer; 0: none */
};

/*
 * Binds o->path and starts serving. A stale socket at the path (nothing
 * listens) is replaced; a path where a daemon answers, or that is not a
 * socket, is an error that says so. The caller owns *ret.
 */
int local_start(const struct local_opts *o, struct dispatchd *d, struct local **ret, struct err *e);
/* The bound path. Borrowed from l. */
const char *local_path(const struct local *l);
/* Shutdown begins: new connections are answered shutting_down. Accepts
 * NULL. */
void local_quiesce(struct local *l);
/* Waits up to timeout_ms for open connections to finish. Accepts NULL. */
void local_drain(struct local *l, long timeout_ms);
/* Stops accepting, closes and unlinks the socket, wakes connections still
 * blocked on their peer, waits for every connection's thread and frees l.
 * Jobs still running must be about to end (cancelled). Accepts NULL. */
void local_stop(struct local *l);

#endif
