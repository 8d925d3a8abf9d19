#ifndef DISPATCHD_LOAD_H
#define DISPATCHD_LOAD_H
/*
 * The load of the machine's owner, for a volunteer on a workstation that
 * stops taking jobs while its owner is busy (--max-load): the one-minute
 * load average (/proc/loadavg) minus the jobs the daemon runs itself.
 */

/* The owner's load, or -1 when it cannot be read. */
double load_owner(long running);
/* Whether a daemon with --max-load max_load (0: off) takes jobs now. */
int load_accepting(double max_load, long running);
/* The decision from the figures; exposed for tests. */
int load_accepting_at(double max_load, double loadavg, long running);

#endif
