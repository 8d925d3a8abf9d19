#ifndef DISPATCHD_DISPATCHD_H
#define DISPATCHD_DISPATCHD_H
/*
 * The daemon's shared services, built once by main.c and handed to every
 * request (there is no other global state besides the parsed configuration
 * and the logger). Everything a request needs is reached from here.
 *
 * Threading: the fields are set before the server starts and not changed
 * afterwards; the services they point to are thread-safe themselves.
 */

struct auth_key;
struct auth_nonces;
struct blobstore;
struct hashcache;
struct critpath;
struct hosts;
struct jail;
struct janitor;
struct slots;
struct stats;
struct toolchain_store;

struct dispatchd {
	const char *name;      /* reported as "host"; borrowed from the config */
	const char *state_dir; /* absolute, contains jobs/, tmp/, toolchains/ */
	const char *jobs_dir;  /* state_dir/jobs: one sandbox per running job */
	long job_timeout;      /* seconds a tool may run before it is killed */
	struct slots *slots;
	struct stats *stats;
	struct toolchain_store *store;
	/* Job inputs kept by content (blobstore.h), so that a client or
	 * dispatcher sends each blob once; NULL with --cache-size 0. */
	struct blobstore *blobs;
	/* Hashes of the client files this daemon reads to forward jobs, by
	 * file identity (hashcache.h). */
	struct hashcache *hashes;
	/* The build graph learnt from the jobs it dispatched, which ranks
	 * the jobs waiting for a slot (critpath.h). */
	struct critpath *critpath;
	struct janitor *janitor; /* removes finished sandboxes */
	struct jail *jail;	 /* what tools may do (jail.h); NULL: no limits */
	/* The cluster this daemon dispatches to: itself, its --peer
	 * volunteers and those that joined. While it holds no volunteer the
	 * daemon runs every job itself, as it always did. */
	struct hosts *hosts;
	int nice;	 /* CPU priority of the tools it runs */
	int job_slice_ms; /* their time slice as SCHED_BATCH; 0: as the daemon's */
	/* The user's local slots (localslots.h), which jobs of the local
	 * socket take as the shims' own local work does, so that the client
	 * never runs more tools at once than it has slots; NULL: not shared. */
	const char *local_slots_dir;
	long local_slots;
	double max_load; /* take no jobs while the owner's load passes it; 0: off */
	/* The cluster's token (auth.h): every request but the health check
	 * must prove it, and this daemon signs its own calls to other daemons
	 * with it. NULL: no token, anyone who reaches the port is served. */
	const struct auth_key *key;
	struct auth_nonces *nonces; /* nonces seen, against replays */
	/* An eventfd that becomes readable when running tools must be killed
	 * (shutdown after the grace period). Jobs poll it, never read it. */
	int cancel_fd;
};

#endif
