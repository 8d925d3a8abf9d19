#include "slots.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "buf.h"

#include "banned.h"

struct slots {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	long total;
	long running;
	long peak; /* the most running at once */
	/* Tickets make the semaphore fair: each waiter draws the next ticket
	 * and may take a slot only when its ticket is the one being served. */
	unsigned long next_ticket;
	unsigned long serving;
	int closed;
};

struct slots *slots_new(long n)
{
	struct slots *s = xcalloc(1, sizeof(*s));
	pthread_condattr_t attr;

	/* The monotonic clock, so that slots_wait_idle() ignores clock jumps. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cond, &attr);
	pthread_condattr_destroy(&attr);
	s->total = n < 0 ? 0 : n;
	return s;
}

void slots_free(struct slots *s)
{
	if (!s)
		return;
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

int slots_acquire(struct slots *s)
{
	unsigned long ticket;
	int r = -1;

	pthread_mutex_lock(&s->mu);
	if (s->total == 0)
		goto out;
	ticket = s->next_ticket++;
	while (!s->closed && (ticket != s->serving || s->running >= s->total))
		pthread_cond_wait(&s->cond, &s->mu);
	if (s->closed)
		goto out;
	s->serving++;
	s->running++;
	if (s->running > s->peak)
		s->peak = s->running;
	/* The next ticket holder may be able to go as well. */
	pthread_cond_broadcast(&s->cond);
	r = 0;
out:
	pthread_mutex_unlock(&s->mu);
	return r;
}

void slots_release(struct slots *s)
{
	pthread_mutex_lock(&s->mu);
	s->running--;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

void slots_close(struct slots *s)
{
	pthread_mutex_lock(&s->mu);
	s->closed = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

int slots_wait_idle(struct slots *s, long timeout_ms)
{
	struct timespec deadline;
	int r = 0;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_ms / 1000;
	deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&s->mu);
	while (s->running > 0 && r == 0)
		if (pthread_cond_timedwait(&s->cond, &s->mu, &deadline) == ETIMEDOUT)
			r = s->running > 0 ? -1 : 0;
	pthread_mutex_unlock(&s->mu);
	return r;
}

long slots_total(const struct slots *s)
{
	return s->total;
}

long slots_peak(struct slots *s)
{
	long n;

	pthread_mutex_lock(&s->mu);
	n = s->peak;
	pthread_mutex_unlock(&s->mu);
	return n;
}

long slots_running(struct slots *s)
{
	long n;

	pthread_mutex_lock(&s->mu);
	n = s->running;
	pthread_mutex_unlock(&s->mu);
	return n;
}
