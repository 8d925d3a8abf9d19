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
 *
 * The graph outlives the daemon in a file of its state directory
 * (critpath_save(), critpath_load()), so that the first build after a
 * restart is ranked too. The file is JSON:
 *   {"version": 1, "packages": [["TOOLCHAIN PKG", MS, [I, ...]], ...]}
 * where MS is the package's run time (0: only imported so far) and each I
 * the place in "packages" of a package it imports.
 */
#include <stddef.h>

struct critpath;
struct err;
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
/* A number that changes whenever the graph learns something. */
unsigned long critpath_generation(struct critpath *cp);

/* Writes the graph to path (atomically, mode 0600). 0 or -1. */
int critpath_save(struct critpath *cp, const char *path, struct err *e);
/* Replaces the graph with the one saved in path: 0; 1 when path does not
 * exist (the graph is left alone); -1 when it cannot be read or is not a
 * graph within the limits, and the graph is then empty. */
int critpath_load(struct critpath *cp, const char *path, struct err *e);

#endif
