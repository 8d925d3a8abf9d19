#ifndef GODISTCC_LOCAL_H
#define GODISTCC_LOCAL_H
/*
 * The shim's side of the local socket (PROTOCOL, "Local socket"): hands a
 * job to the dispatchd of this user on this host, which reads the inputs in
 * place. Costs the shim one connection, a JSON request naming the inputs,
 * and reading the answer: no HTTP client, archive library or hashing, so
 * the shim binary that takes this path links none of them.
 */

/*
 * The watch on the dispatcher. A job may wait in the dispatcher's queue for
 * minutes, so silence on its connection proves nothing. Every
 * LOCAL_WATCH_MS without the answer the shim asks the dispatcher for its
 * cluster table on a connection of its own; a dispatcher that does not
 * answer within LOCAL_PING_MS is stopped (^Z), frozen or deadlocked, and the
 * job is infrastructure trouble (the shim runs it itself). The file
 * <socket>.stuck, holding the dispatcher's process id, then tells the shims
 * that follow to pass that dispatcher over for LOCAL_STUCK_MS; the first to
 * come after that asks it again, and the others pass it over while it asks.
 * A mark naming another process (a restarted daemon) is removed.
 */
#define LOCAL_WATCH_MS 5000L
#define LOCAL_PING_MS 5000L
#define LOCAL_STUCK_MS 30000L

struct answer;
struct err;
struct job;
struct settings;

/*
 * Runs j (parsed, inputs listed) through the socket at path. On success
 * *ret is the validated answer (free with answer_free()). Fails with
 * *ret_absent set when no daemon listens at path, with j->local_reason set
 * when the job should simply run locally, otherwise with e naming the
 * trouble.
 */
int local_submit(const struct settings *s, struct job *j, const char *path, struct answer **ret,
		 int *ret_absent, struct err *e);

#endif
