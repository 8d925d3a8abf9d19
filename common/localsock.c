#include "localsock.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "protocol.h"
#include "rundir.h"

#include "banned.h"

char *localsock_default_path(void)
{
	char *dir = rundir_path(), *path;

	if (!dir)
		return NULL;
	path = xasprintf("%s/dispatchd.sock", dir);
	free(dir);
	return path;
}

int localsock_peer_uid(int fd, uid_t *ret, struct err *e)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return err_errno(e, errno, "SO_PEERCRED");
	*ret = cred.uid;
	return 0;
}

pid_t localsock_peer_pid(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ? -1 : cred.pid;
}

int localsock_set_timeout(int fd, long timeout_ms, struct err *e)
{
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return err_errno(e, errno, "socket timeouts");
	return 0;
}

int localsock_connect(const char *path, long timeout_ms, int *ret_fd, int *ret_absent,
		      struct err *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	uid_t uid;
	int fd;

	*ret_absent = 0;
	if (strlen(path) >= sizeof(sa.sun_path))
		return err_set(e, "%s: socket path too long", path);
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return err_errno(e, errno, "socket");
	/* Before the connect, which waits on a full backlog (a frozen daemon's)
	 * as long as SO_SNDTIMEO allows. */
	if (localsock_set_timeout(fd, timeout_ms, e) < 0)
		goto fail;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int saved = errno;

		*ret_absent = saved == ENOENT || saved == ECONNREFUSED;
		close(fd);
		return err_errno(e, saved == EAGAIN ? ETIMEDOUT : saved, "connect");
	}
	if (localsock_peer_uid(fd, &uid, e) < 0)
		goto fail;
	if (uid != geteuid()) {
		err_set(e, "%s: the daemon runs as uid %ju, not as this user", path, (uintmax_t)uid);
		goto fail;
	}
	*ret_fd = fd;
	return 0;
fail:
	close(fd);
	return -1;
}

int localsock_read_full(int fd, void *p, size_t len, struct err *e)
{
	char *c = p;

	while (len > 0) {
		ssize_t n = read(fd, c, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(e, errno == EAGAIN ? ETIMEDOUT : errno, "local socket read");
		if (n == 0)
			return err_set(e, "local socket: connection closed early");
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

int localsock_write_full(int fd, const void *p, size_t len, struct err *e)
{
	const char *c = p;

	while (len > 0) {
		ssize_t n = send(fd, c, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return err_errno(e, errno == EAGAIN ? ETIMEDOUT : errno, "local socket write");
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

int localsock_write_frame(int fd, const void *data, size_t len, struct err *e)
{
	unsigned char h[LOCALSOCK_HEADER];

	if (len > UINT32_MAX)
		return err_set(e, "local socket: frame of %zu bytes too large", len);
	h[0] = (unsigned char)(len >> 24);
	h[1] = (unsigned char)(len >> 16);
	h[2] = (unsigned char)(len >> 8);
	h[3] = (unsigned char)len;
	if (localsock_write_full(fd, h, sizeof(h), e) < 0)
		return -1;
	return localsock_write_full(fd, data, len, e);
}

int localsock_read_frame(int fd, size_t max, struct buf *out, struct err *e)
{
	unsigned char h[LOCALSOCK_HEADER];
	size_t len;

	if (localsock_read_full(fd, h, sizeof(h), e) < 0)
		return -1;
	len = (size_t)h[0] << 24 | (size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3];
	if (len > max) {
		err_set(e, "frame of %zu bytes passes the cap of %zu bytes", len, max);
		return LOCALSOCK_E_TOO_LARGE;
	}
	buf_grow(out, len);
	if (localsock_read_full(fd, out->data + out->len, len, e) < 0)
		return -1;
	out->len += len;
	out->data[out->len] = '\0';
	return 0;
}

int localsock_ask_cluster(const char *path, long timeout_ms, struct buf *out, int *ret_absent,
			  struct err *e)
{
	char req[64];
	int fd = -1, r;

	snprintf(req, sizeof(req), "{\"protocol\":%d,\"request\":\"cluster\"}", PROTOCOL_VERSION);
	if ((r = localsock_connect(path, timeout_ms, &fd, ret_absent, e)) == 0 &&
	    (r = localsock_write_frame(fd, req, strlen(req), e)) == 0)
		r = localsock_read_frame(fd, CLUSTER_MAX_BYTES, out, e);
	if (fd >= 0)
		close(fd);
	return r < 0 ? -1 : 0;
}
