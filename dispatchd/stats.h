#ifndef DISPATCHD_STATS_H
#define DISPATCHD_STATS_H
/*
 * Counters the daemon reports on GET /v1/status (see PROTOCOL). Thread-safe.
 */
#include <jansson.h>

struct dispatchd;
struct stats;

/* Starts the uptime clock. Aborts on allocation failure. */
struct stats *stats_new(void);
void stats_free(struct stats *s);

/* A job ran its tool to an exit status or a signal, whatever it was;
 * local: it came through the local socket (counted in jobs_local too). */
void stats_job_completed(struct stats *s, int local);
/* A job ran on a volunteer (counted in jobs_forwarded). */
void stats_job_forwarded(struct stats *s);
/* A volunteer failed a job, which went to another host. */
void stats_job_retried(struct stats *s);
/* An accepted job produced no result (staging, exec or output failure). */
void stats_job_failed(struct stats *s);

/* The status document of PROTOCOL, plus "host". Caller owns the result
 * (json_decref); NULL only if jansson runs out of memory. */
json_t *stats_status_json(const struct dispatchd *d);

#endif
