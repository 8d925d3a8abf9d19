#ifndef DISPATCHD_STATS_H
#define DISPATCHD_STATS_H
/*
 * Counters the daemon reports on GET /v1/status (see PROTOCOL). Thread-safe.
 */
#include <stddef.h>

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

/* Traffic (PROTOCOL, "GET /v1/status"): a POST /v1/job of len bytes
 * arrived (job_requests, bytes_received); a toolchain upload of len bytes
 * arrived (toolchain_bytes_received); this daemon sent a volunteer a
 * request for a job, of which len body bytes went out (forward_requests,
 * bytes_forwarded: job posts, resends and toolchain uploads alike). */
void stats_job_request(struct stats *s, size_t len);
void stats_toolchain_received(struct stats *s, size_t len);
void stats_forward_request(struct stats *s, size_t len);

/* The status document of PROTOCOL, plus "host". Caller owns the result
 * (json_decref); NULL only if jansson runs out of memory. */
json_t *stats_status_json(const struct dispatchd *d);

#endif
