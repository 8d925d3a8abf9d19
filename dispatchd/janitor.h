#ifndef DISPATCHD_JANITOR_H
#define DISPATCHD_JANITOR_H
/*
 * Removes finished jobs' sandboxes in a background thread, so that removal
 * (tens of milliseconds for a deep tree on some file systems) is not paid
 * between a tool's exit and its answer. Disk use stays bounded: when
 * max_pending removals are already waiting, the caller removes its sandbox
 * itself before going on.
 *
 * Threading: janitor_discard() may be called from any thread.
 */
#include <stddef.h>

struct janitor;
struct sandbox;

/* Starts the thread. Aborts if it cannot (like allocation failure). */
struct janitor *janitor_new(size_t max_pending);
/* Takes ownership of sb (NULL is fine) and removes it, later or now. */
void janitor_discard(struct janitor *jn, struct sandbox *sb);
/* Removes every sandbox still waiting, stops the thread. Accepts NULL. */
void janitor_free(struct janitor *jn);

#endif
