#ifndef DISPATCHD_CRITPATH_H
#define DISPATCHD_CRITPATH_H
/*
 * The build graph as a dispatcher learns it from the jobs it runs, and how
 * much of a build waits on each job: a job's rank is its own expected run
 * time plus the longest chain of known dependents behind it (its "bottom
 * level"), in milliseconds. The job queue serves the highest rank first,
 * so that the chain that decides when a build ends (for std: runtime, then
 * net, crypto/x509, crypto/tls, net/http) is not held up behind work that
 * nothing waits for. Ninja 1.12 schedules from its build log the same way.
 *
 * What is learnt: for each compile that succeeded, keyed by toolchain and
 * package path (-p), its run time (a moving average) and the packages its
 * importcfg names. The edges come from the dependents, so a package's rank
 * knows its dependents only once they were compiled: the first build
 * through a daemon knows only its own packages' sizes (hosts.c then puts
 * the largest job first), and later ones (the edit, build, test loop; CI
 * with a long-lived dispatcher) rank by the graph. Ranks only order a
 * queue; a wrong one costs time, never a wrong output.
 *
 * Thread-safe. At most max packages and CRITPATH_MAX_EDGES imports in all:
 * learning more starts over (a client could otherwise grow the graph
 * without bound).
 */
#include <stddef.h>

struct critpath;
struct gocfg_paths;

#define CRITPATH_MAX 65536
#define CRITPATH_MAX_EDGES (1u << 20)
/* Ranks are recomputed on the next look after a job taught something; for
 * a graph of more edges than CRITPATH_EAGER_EDGES at most once per
 * CRITPATH_RECOMPUTE_MS (a computation visits every edge). */
#define CRITPATH_EAGER_EDGES 20000
#define CRITPATH_RECOMPUTE_MS 1000

/* Aborts on allocation failure. */
struct critpath *critpath_new(size_t max);
void critpath_free(struct critpath *cp); /* accepts NULL */

/* A compile of pkg with toolchain (its id) importing imports ran ms. */
void critpath_learn(struct critpath *cp, const char *toolchain, const char *pkg,
		    const struct gocfg_paths *imports, long ms);
/* The rank of a job of pkg; 0 when nothing is known of it. */
double critpath_rank(struct critpath *cp, const char *toolchain, const char *pkg);
/* Packages known. */
size_t critpath_size(struct critpath *cp);

#endif
