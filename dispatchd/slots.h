#ifndef DISPATCHD_SLOTS_H
#define DISPATCHD_SLOTS_H
/*
 * Job slots: a counting semaphore (mutex + condition variable) that bounds
 * how many tools run at once. Waiters are served in arrival order, so a job
 * that arrived first runs first. Thread-safe.
 */

struct slots;

/* n: how many jobs may run at once (0: none ever). Aborts on allocation
 * failure, like buf.h. */
struct slots *slots_new(long n);
void slots_free(struct slots *s);

/* Blocks until a slot is free and takes it: 0. -1 once slots_close() was
 * called (the daemon is shutting down) or when there are no slots at all. */
int slots_acquire(struct slots *s);
void slots_release(struct slots *s);
/* Fails every waiting and later slots_acquire(). Running jobs keep their
 * slot until they release it. */
void slots_close(struct slots *s);
/* Waits until no slot is taken or timeout_ms passed: 0 when idle, -1 on
 * timeout. */
int slots_wait_idle(struct slots *s, long timeout_ms);

long slots_total(const struct slots *s);
long slots_running(struct slots *s);
/* The most slots ever taken at once. */
long slots_peak(struct slots *s);

#endif
