#include "rundir.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"

#include "banned.h"

char *rundir_path(void)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	char *dir;
	struct stat st;

	if (xdg && xdg[0] == '/')
		dir = xasprintf("%s/godistcc", xdg);
	else
		dir = xasprintf("/tmp/godistcc-%ju", (uintmax_t)getuid());
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		goto fail;
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != getuid() ||
	    (st.st_mode & 0077))
		goto fail;
	return dir;
fail:
	free(dir);
	return NULL;
}
