#ifndef GODISTCC_LOCALSOCK_H
#define GODISTCC_LOCALSOCK_H
/*
 * The local socket between a shim and the dispatchd of the same user on the
 * same host (PROTOCOL, "Local socket"): its default path, credential checks,
 * and frames (a 4-byte big-endian length, then that many bytes).
 *
 * Reads and writes honour the socket's SO_RCVTIMEO and SO_SNDTIMEO, which
 * the caller sets; a timeout fails like any other short read or write.
 */
#include <stddef.h>
#include <sys/types.h>

struct buf;
struct err;

/* The frame header's size. */
#define LOCALSOCK_HEADER 4

/* <rundir>/dispatchd.sock (rundir.h), or NULL when the runtime directory is
 * unusable. Caller frees. */
char *localsock_default_path(void);

/* Connects to path and checks that the daemon runs as this user. Fails with
 * errno-style detail in e; *ret_absent is set when nothing listens there
 * (no such file, or connection refused), which callers treat as "no local
 * daemon" rather than as trouble. */
int localsock_connect(const char *path, long timeout_ms, int *ret_fd, int *ret_absent,
		      struct err *e);

/* The peer's user id (SO_PEERCRED). */
int localsock_peer_uid(int fd, uid_t *ret, struct err *e);
/* The peer's process id (SO_PEERCRED: for a client, the process that made
 * the listening socket), or -1. */
pid_t localsock_peer_pid(int fd);

/* Sets SO_RCVTIMEO and SO_SNDTIMEO (0: none). */
int localsock_set_timeout(int fd, long timeout_ms, struct err *e);

/* Reads exactly len bytes; fails on end of file, error or timeout. */
int localsock_read_full(int fd, void *p, size_t len, struct err *e);
/* Writes all of len bytes (MSG_NOSIGNAL: a closed peer fails, never kills). */
int localsock_write_full(int fd, const void *p, size_t len, struct err *e);

/* Writes one frame. */
int localsock_write_frame(int fd, const void *data, size_t len, struct err *e);
/* A frame whose length passes the reader's cap (nothing of it was read). */
#define LOCALSOCK_E_TOO_LARGE (-2)

/* Reads one frame into out (appending). LOCALSOCK_E_TOO_LARGE, before
 * allocating or reading the body, when it passes max bytes. */
int localsock_read_frame(int fd, size_t max, struct buf *out, struct err *e);

/* The cluster request (PROTOCOL, "Local socket") on a connection of its
 * own: connects to path, sends it and reads the answer's frame (at most
 * CLUSTER_MAX_BYTES) into out, each step within timeout_ms. *ret_absent as
 * for localsock_connect(). */
int localsock_ask_cluster(const char *path, long timeout_ms, struct buf *out, int *ret_absent,
			  struct err *e);

#endif
