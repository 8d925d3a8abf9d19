#ifndef GODISTCC_RUNDIR_H
#define GODISTCC_RUNDIR_H
/*
 * The per-user runtime directory: where concurrent shims coordinate (fallback
 * warning markers, toolchain upload locks) and where dispatchd's local socket
 * lives by default (localsock.h). It is
 * $XDG_RUNTIME_DIR/godistcc, else /tmp/godistcc-<uid>, mode 0700, and is
 * used only when it is a directory owned by this user that nobody else may
 * write (in a shared /tmp another user could have made it first).
 */

/* The directory, created if needed; NULL when it is unusable. Caller frees. */
char *rundir_path(void);

#endif
