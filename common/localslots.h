#ifndef GODISTCC_LOCALSLOTS_H
#define GODISTCC_LOCALSLOTS_H
/*
 * Local slots: a counting semaphore shared by every process of one user on
 * this host that runs tools locally (the shim's pass-through and fallback
 * runs, dispatchd's jobs from its local socket), so that `go build -p 64`
 * keeps at most N tools running on a laptop, as distcc's lock slots do.
 *
 * The semaphore is a directory (mode 0700, created on demand) of lock files
 * "0" .. "N-1" (mode 0600, created on demand). Holding a slot means holding
 * flock(LOCK_EX) on one of them through an open file description. The
 * kernel drops the lock when the last descriptor of that description is
 * closed: when its holder exits, however it dies (kill -9 included), or,
 * since the descriptor is inherited across fork and exec, when the tool the
 * holder became and every child it started have exited. No state is kept
 * anywhere else, so nothing goes stale.
 *
 * Every process sharing a directory should use the same N: a process
 * limited to N looks at files 0 .. N-1 only.
 *
 * Waiting is a line: localslots_acquire() holds the lock file "line"
 * while it waits, so that waiters take turns (in the order the kernel
 * wakes flock's waiters), and the first in line waits for a slot: in
 * flock when N is 1, else polling (flock cannot wait for "any of N").
 * dispatchd's local jobs do not line up: they take a slot only while
 * nobody waits in line (localslots_line_waiting()), so that a tool only
 * this host can run (a link, local asm, a fallback) is not held up for
 * the length of a stream of compiles that could have run anywhere. Before
 * the line, a short asm job polled for up to 20 ms between tries and lost
 * the slot to the next queued compile, for seconds.
 */
struct err;

/* The largest N accepted (one lock file each). */
#define LOCALSLOTS_MAX 4096

/* localslots_try() found every slot taken. */
#define LOCALSLOTS_BUSY 1

enum localslots_flags {
	/* Set FD_CLOEXEC on the slot's descriptor, atomically. For a threaded
	 * process that spawns children meanwhile (dispatchd): without it,
	 * another thread's child would inherit the lock and hold the slot
	 * until that child exits. */
	LOCALSLOTS_CLOEXEC = 1 << 0,
};

/*
 * <rundir>/local-slots (rundir.h): the pool of this user's shims and
 * dispatchd. NULL when the runtime directory is unusable. Caller frees.
 */
char *localslots_default_dir(void);

/*
 * Takes a free slot of the n (1 .. LOCALSLOTS_MAX) in dir without waiting,
 * trying them from an offset derived from the pid so that concurrent
 * callers spread over the files. Returns 0 and the slot's descriptor in
 * *ret_fd (the caller owns it; closing it, or every copy of it, frees the
 * slot), LOCALSLOTS_BUSY when all n are taken, or a negative code with e
 * set (dir cannot be created, a lock file cannot be opened, bad n).
 *
 * The descriptor is NOT close-on-exec, so that a process which takes a
 * slot and then execs a tool keeps the slot until the tool ends.
 */
int localslots_try(const char *dir, long n, int *ret_fd, struct err *e);

/* localslots_try() with flags (enum localslots_flags). */
int localslots_try_flags(const char *dir, long n, int flags, int *ret_fd, struct err *e);

/*
 * Waits in line until a slot is free and takes it (above); the first in
 * line notices a slot freeing at once when n is 1, else within 5 ms. No
 * time limit: slots are held by running tools, which end. 0 and *ret_fd
 * as for localslots_try(); a negative code with e set on error (never
 * LOCALSLOTS_BUSY).
 */
int localslots_acquire(const char *dir, long n, int *ret_fd, struct err *e);
/* Whether a process waits in localslots_acquire() for a slot of dir. */
int localslots_line_waiting(const char *dir);

/* How many CPUs this process may run on (sched_getaffinity), at least 1. */
long localslots_cpu_count(void);

/*
 * Parses a slot count setting: "auto" (localslots_cpu_count()) or a
 * decimal 0 .. LOCALSLOTS_MAX, where 0 means no limit. name is the
 * setting's name for e.
 */
int localslots_parse(const char *name, const char *text, long *ret_n, struct err *e);

#endif
