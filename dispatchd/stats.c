#include "stats.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "blobstore.h"
#include "buf.h"
#include "critpath.h"
#include "dispatchd.h"
#include "load.h"
#include "protocol.h"
#include "slots.h"
#include "toolchain.h"

#include "banned.h"

struct stats_counters {
	unsigned long completed;
	unsigned long failed;
	unsigned long local; /* of completed */
	unsigned long forwarded, retried;
	unsigned long job_requests, forward_requests;
	unsigned long long bytes_received, toolchain_bytes, bytes_forwarded;
};

struct stats {
	pthread_mutex_t mu;
	struct timespec started; /* CLOCK_MONOTONIC */
	struct stats_counters c;
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
	s->c.completed++;
	if (local)
		s->c.local++;
	pthread_mutex_unlock(&s->mu);
}

void stats_job_forwarded(struct stats *s)
{
	pthread_mutex_lock(&s->mu);
	s->c.forwarded++;
	pthread_mutex_unlock(&s->mu);
}

void stats_job_retried(struct stats *s)
{
	pthread_mutex_lock(&s->mu);
	s->c.retried++;
	pthread_mutex_unlock(&s->mu);
}

void stats_job_failed(struct stats *s)
{
	pthread_mutex_lock(&s->mu);
	s->c.failed++;
	pthread_mutex_unlock(&s->mu);
}

void stats_job_request(struct stats *s, size_t len)
{
	pthread_mutex_lock(&s->mu);
	s->c.job_requests++;
	s->c.bytes_received += len;
	pthread_mutex_unlock(&s->mu);
}

void stats_toolchain_received(struct stats *s, size_t len)
{
	pthread_mutex_lock(&s->mu);
	s->c.toolchain_bytes += len;
	pthread_mutex_unlock(&s->mu);
}

void stats_forward_request(struct stats *s, size_t len)
{
	pthread_mutex_lock(&s->mu);
	s->c.forward_requests++;
	s->c.bytes_forwarded += len;
	pthread_mutex_unlock(&s->mu);
}

static json_t *stats_blob_store_json(const struct dispatchd *d)
{
	struct blobstore_stats b;

	if (!d->blobs)
		return json_null();
	blobstore_stats(d->blobs, &b);
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "blobs", (json_int_t)b.blobs,
			 "bytes", (json_int_t)b.bytes, "cap_bytes", (json_int_t)b.cap_bytes, "hits",
			 (json_int_t)b.hits, "misses", (json_int_t)b.misses, "stored",
			 (json_int_t)b.stored, "evicted", (json_int_t)b.evicted, "corrupt",
			 (json_int_t)b.corrupt);
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
	struct stats_counters c;
	long running = slots_running(d->slots);
	json_t *st;

	pthread_mutex_lock(&s->mu);
	c = s->c;
	pthread_mutex_unlock(&s->mu);
	st = json_pack("{s:i, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:b}",
		       "protocol", PROTOCOL_VERSION, "version", GODISTCC_VERSION, "host", d->name,
		       "slots", (json_int_t)slots_total(d->slots), "running", (json_int_t)running,
		       "peak_running", (json_int_t)slots_peak(d->slots), "jobs_completed",
		       (json_int_t)c.completed, "jobs_failed", (json_int_t)c.failed, "jobs_local",
		       (json_int_t)c.local, "jobs_forwarded", (json_int_t)c.forwarded, "jobs_retried",
		       (json_int_t)c.retried, "toolchains", toolchain_list_json(d->store),
		       "uptime_seconds", stats_uptime(s), "accepting",
		       load_accepting(d->max_load, running));
	if (st) {
		json_object_set_new(st, "job_requests", json_integer((json_int_t)c.job_requests));
		json_object_set_new(st, "bytes_received", json_integer((json_int_t)c.bytes_received));
		json_object_set_new(st, "toolchain_bytes_received",
				    json_integer((json_int_t)c.toolchain_bytes));
		json_object_set_new(st, "forward_requests",
				    json_integer((json_int_t)c.forward_requests));
		json_object_set_new(st, "bytes_forwarded",
				    json_integer((json_int_t)c.bytes_forwarded));
		json_object_set_new(st, "blob_store", stats_blob_store_json(d));
		json_object_set_new(st, "graph_packages",
				    json_integer((json_int_t)(d->critpath ? critpath_size(d->critpath)
									  : 0)));
	}
	if (st && d->max_load > 0)
		json_object_set_new(st, "load", json_real(load_owner(running)));
	return st;
}
