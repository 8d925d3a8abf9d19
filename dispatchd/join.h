#ifndef DISPATCHD_JOIN_H
#define DISPATCHD_JOIN_H
/*
 * A volunteer's side of --join: a thread that registers this daemon with
 * its dispatcher (POST /v1/join) and repeats it every heartbeat, so that
 * the dispatcher lists it again after either of them restarts. Changes
 * (joined, dispatcher unreachable) are logged once each.
 */
struct err;
struct join;

struct join_opts {
	const char *dispatcher; /* its base URL */
	const char *advertise;	/* this daemon's URL as the dispatcher reaches it */
	const char *name;
	long heartbeat_ms;
};

int join_start(const struct join_opts *o, struct join **ret, struct err *e);
/* Stops the thread and frees j. Accepts NULL. */
void join_stop(struct join *j);

#endif
