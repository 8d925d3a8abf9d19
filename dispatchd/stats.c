#include "stats.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "buf.h"
#include "dispatchd.h"
#include "load.h"
#include "protocol.h"
#include "slots.h"
#include "toolchain.h"

#include "banned.h"

struct stats {
	pthread_mutex_t mu;
	struct timespec started; /* CLOCK_MONOTONIC */
	unsigned long completed;
	unsigned long failed;
	unsigned long local; /* of completed */
	unsigned long forwarded, retried;
};

struct stats *stats_new(void)
{
	struct stats *s = xcalloc(1, sizeof(*s));

	pthread_mutex_init(&s->mu, NULL);
	clock_gettime(CLOCK_MONOTONIC, &s->started);
	return s;
}

void stats_free(struct stats *s)
{
	if (!s)
		return;
	pthread_mutex_destroy(&s->mu);
	free(s);
}

void stats_job_completed(struct stats *s, int local)
{
	pthread_mutex_lock(&s->mu);
	s->completed++;
	if (local)
		s->local++;
	pthread_mutex_unlock(&s->mu);
}

void stats_job_forwarded(struct stats *s)
{
	pthread_mutex_lock(&s->mu);
	s->forwarded++;
	pthread_mutex_unlock(&s->mu);
}

void stats_job_retried(struct stats *s)
{
	pthread_mutex_lock(&s->mu);
	s->retried++;
	pthread_mutex_unlock(&s->mu);
}

void stats_job_failed(struct stats *s)
{
	pthread_mutex_lock(&s->mu);
	s->failed++;
	pthread_mutex_unlock(&s->mu);
}

static json_int_t stats_uptime(const struct stats *s)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (json_int_t)(now.tv_sec - s->started.tv_sec);
}

json_t *stats_status_json(const struct dispatchd *d)
{
	struct stats *s = d->stats;
	unsigned long completed, failed, local, forwarded, retried;
	long running = slots_running(d->slots);
	json_t *st;

	pthread_mutex_lock(&s->mu);
	completed = s->completed;
	failed = s->failed;
	local = s->local;
	forwarded = s->forwarded;
	retried = s->retried;
	pthread_mutex_unlock(&s->mu);
	st = json_pack("{s:i, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:b}",
		       "protocol", PROTOCOL_VERSION, "version", GODISTCC_VERSION, "host", d->name,
		       "slots", (json_int_t)slots_total(d->slots), "running", (json_int_t)running,
		       "peak_running", (json_int_t)slots_peak(d->slots), "jobs_completed",
		       (json_int_t)completed, "jobs_failed", (json_int_t)failed, "jobs_local",
		       (json_int_t)local, "jobs_forwarded", (json_int_t)forwarded, "jobs_retried",
		       (json_int_t)retried, "toolchains", toolchain_list_json(d->store),
		       "uptime_seconds", stats_uptime(s), "accepting",
		       load_accepting(d->max_load, running));
	if (st && d->max_load > 0)
		json_object_set_new(st, "load", json_real(load_owner(running)));
	return st;
}
