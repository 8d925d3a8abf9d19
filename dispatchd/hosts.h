#ifndef DISPATCHD_HOSTS_H
#define DISPATCHD_HOSTS_H
/*
 * The cluster as a dispatcher sees it: the hosts that may run a job (the
 * dispatcher itself when it has slots, volunteers given with --peer, and
 * volunteers that joined with --join) and what is known of each, and the
 * choice of a host for each job (README, "Cluster").
 *
 * Membership. A --peer is listed from the start; a joined volunteer from
 * its first heartbeat (POST /v1/join). A monitor thread polls every
 * volunteer's GET /v1/status each heartbeat interval for its slots,
 * whether it accepts jobs and the toolchains it holds. A volunteer is
 * "down" when nothing was heard from it for down_after_ms, or at once when
 * a job could not reach it; a successful poll or heartbeat brings it back.
 * Hosts are never removed (a joined host that left stays listed as down),
 * so a struct host stays valid for the table's life; HOSTS_MAX bounds the
 * table.
 *
 * Choice. Among hosts that are up, accept jobs, are not backing off after
 * a failure and have a free slot, the one expected to finish the job
 * first: its observed speed (milliseconds per unit of work, a moving
 * average over its recent jobs, as icecream's "fastest" policy), plus a
 * toolchain upload when it lacks the job's toolchain, with the busier
 * host losing ties. A job never waits while a slot it may use is free.
 * When every slot is taken the job queues (the job of the highest rank,
 * critpath.h, takes the next free slot: the one the most work waits on; a
 * job of a package the graph does not know ranks by its own expected run
 * time; the oldest of equals goes first), or,
 * when its client may run it and the queue would take longer than the job
 * itself, the dispatcher answers "busy" and the client runs it. A host
 * whose job failed backs off (1 s, doubling to 30 s) and is tried again
 * after that.
 *
 * Thread-safe: one mutex guards the table.
 */
#include <jansson.h>

struct err;
struct host;
struct hosts;
struct peer;

#define HOSTS_MAX 256
#define HOST_URL_MAX 512
#define HOST_NAME_MAX_LEN 128

struct hosts_opts {
	const char *self_name;
	long self_slots;    /* jobs the dispatcher runs itself at once; 0: none */
	long heartbeat_ms;  /* status poll period; also what joiners are told */
	long down_after_ms; /* silence after which a volunteer is down */
};

/* Aborts on allocation failure. */
struct hosts *hosts_new(const struct hosts_opts *o);
/* Stops the monitor first when it runs. Accepts NULL. */
void hosts_free(struct hosts *h);

/* Adds a static volunteer (url as for peer_new()). 0, or -1 when the
 * table is full or the URL is invalid. */
int hosts_add_peer(struct hosts *h, const char *url, struct err *e);
/* A volunteer's heartbeat: registers url, or refreshes it and brings it
 * back up. name may be NULL. Fails on an invalid URL or a full table. */
int hosts_join(struct hosts *h, const char *url, const char *name, struct err *e);
/* Whether URL is usable for a volunteer: http(s)://, printable, capped. */
int hosts_url_is_valid(const char *url);

/* Polls the volunteers in a thread until hosts_stop(). */
/* Whether any volunteer is listed (up or not). */
int hosts_has_volunteers(struct hosts *h);

int hosts_start_monitor(struct hosts *h, struct err *e);
/* Stops the monitor and fails every waiting and later hosts_pick(). */
void hosts_stop(struct hosts *h);

/* What the scheduler knows of one job. */
struct hosts_job {
	const char *toolchain; /* sha256 hex */
	double units;	       /* work estimate (bytes of source, plus a base) */
	double rank;	       /* work waiting on it, ms (critpath.h); 0: unknown */
	int client_may_run;    /* "busy" is an acceptable answer */
	long deadline_ms;      /* CLOCK_MONOTONIC ms; give up waiting then */
};

enum hosts_error {
	HOSTS_E_NONE = -1,   /* no host can ever take it now: none up */
	HOSTS_E_BUSY = -2,   /* the client had better run it */
	HOSTS_E_CLOSED = -3, /* shutting down */
	HOSTS_E_TIMEOUT = -4, /* the deadline passed while the job waited */
	HOSTS_E_REFUSED = -5, /* every host up refuses its toolchain */
};

/*
 * Chooses a host for j and takes one of its slots, waiting when every slot
 * is taken. Hosts in exclude (tried already) are not chosen; a retry
 * (nexclude > 0) does not queue behind first attempts. Release the slot
 * with hosts_done().
 */
int hosts_pick(struct hosts *h, const struct hosts_job *j, struct host *const *exclude,
	       size_t nexclude, struct host **ret);

enum host_outcome {
	HOST_OK,	  /* the host ran the job and answered well */
	HOST_FAILED,	  /* it answered, but not usefully: back off */
	HOST_UNREACHABLE, /* no answer: down until heard from again */
	HOST_UNUSED,	  /* the slot was not used after all: learn nothing */
};
/* Gives the slot back and learns from the outcome; ms: the job's wall
 * time as the dispatcher saw it, over units of work (the speed estimate).
 * units 0: the time says nothing of the host's speed (the job brought it
 * a toolchain first, which would make a new volunteer look ten times
 * slower for its next jobs). */
void hosts_done(struct hosts *h, struct host *host, enum host_outcome o, long ms, double units);
/* The host now holds toolchain (the dispatcher uploaded it). */
void hosts_add_toolchain(struct hosts *h, struct host *host, const char *toolchain);
/* The host refused toolchain (403 toolchain_not_allowed: its --toolchains
 * policy): jobs of that toolchain do not go there for HOSTS_REFUSAL_MS,
 * or until it reports holding the toolchain; its other jobs are not
 * affected. */
void hosts_refuse_toolchain(struct hosts *h, struct host *host, const char *toolchain);

/*
 * How long a volunteer may be silent (no status poll or heartbeat
 * answered) before the jobs this dispatcher has on it are given up, when
 * --down-after is shorter: a machine suspended or frozen mid-job keeps
 * its connections open and never answers. Longer than --down-after, since
 * a job given up on a live host is work lost, where a host marked down a
 * moment too early only misses new jobs.
 */
#define HOSTS_GIVE_UP_MS 10000L

/* Whether the jobs on host are to be given up: a job could not reach it,
 * or it has been silent for the longer of --down-after and
 * HOSTS_GIVE_UP_MS (then e says so). Thread-safe. */
int hosts_lost(struct hosts *h, const struct host *host, struct err *e);

int host_is_self(const struct host *host);
/* Borrowed for the table's life; NULL for self. */
struct peer *host_peer(const struct host *host);
/* A copy of the host's name, for logs (caller frees). */
char *host_name(struct hosts *h, const struct host *host);

/* The document of GET /v1/cluster (PROTOCOL). Caller owns it. */
json_t *hosts_cluster_json(struct hosts *h);

/* The state name of a host, from its facts ("up", "down", "backoff",
 * "busy"); exposed for tests. now and the times are CLOCK_MONOTONIC ms. */
const char *hosts_state_name(int dead, long last_seen_ms, long down_after_ms, int accepting,
			     long backoff_until_ms, long now_ms);
/* Whether waiting in the queue is expected to take longer than running the
 * job: ahead jobs queued before it, slots usable in all, job_ms the job's
 * expected run time, avg_ms a typical job's. Exposed for tests. */
int hosts_queue_slower(long ahead, long slots, double job_ms, double avg_ms);

#endif
