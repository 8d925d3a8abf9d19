#include "upload.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "hash.h"
#include "log.h"
#include "rundir.h"

#include "banned.h"

/* The lock file holds this once the toolchain has been uploaded. */
#define UPLOAD_DONE "uploaded\n"

struct upload_lock {
	int fd;
};

struct upload_lock *upload_lock_take(const char *dispatcher, const char *toolchain)
{
	char url_hash[HASH_HEX_LEN + 1];
	char *dir = rundir_path(), *path = NULL;
	struct upload_lock *l = NULL;
	int fd = -1;

	if (!dir)
		goto out;
	/* The URL is hashed into the name: it may hold any character. */
	hash_buf(dispatcher, strlen(dispatcher), url_hash);
	path = xasprintf("%s/upload-%.16s-%s", dir, url_hash, toolchain);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0 || flock(fd, LOCK_EX) < 0) {
		log_debug("upload lock %s unusable; uploading without it", path);
		goto out;
	}
	l = xcalloc(1, sizeof(*l));
	l->fd = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	free(path);
	free(dir);
	return l;
}

int upload_lock_is_done(const struct upload_lock *l)
{
	struct stat st;

	return l && fstat(l->fd, &st) == 0 && st.st_size > 0;
}

void upload_lock_mark_done(struct upload_lock *l)
{
	if (l)
		fs_write_all(l->fd, UPLOAD_DONE, strlen(UPLOAD_DONE));
}

void upload_lock_release(struct upload_lock *l)
{
	if (!l)
		return;
	close(l->fd); /* drops the flock */
	free(l);
}
