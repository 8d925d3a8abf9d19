#include "janitor.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "buf.h"
#include "sandbox.h"

#include "banned.h"

struct janitor {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	struct sandbox **queue; /* ring of max_pending entries */
	size_t max_pending, head, count;
	int stopping;
};

static struct sandbox *janitor_pop(struct janitor *jn)
{
	struct sandbox *sb = jn->queue[jn->head];

	jn->head = (jn->head + 1) % jn->max_pending;
	jn->count--;
	return sb;
}

static void *janitor_main(void *arg)
{
	struct janitor *jn = arg;

	pthread_mutex_lock(&jn->lock);
	for (;;) {
		while (!jn->count && !jn->stopping)
			pthread_cond_wait(&jn->wake, &jn->lock);
		if (!jn->count)
			break;
		struct sandbox *sb = janitor_pop(jn);
		pthread_mutex_unlock(&jn->lock);
		sandbox_free(sb);
		pthread_mutex_lock(&jn->lock);
	}
	pthread_mutex_unlock(&jn->lock);
	return NULL;
}

struct janitor *janitor_new(size_t max_pending)
{
	struct janitor *jn = xcalloc(1, sizeof(*jn));

	jn->max_pending = max_pending ? max_pending : 1;
	jn->queue = xcalloc(jn->max_pending, sizeof(*jn->queue));
	pthread_mutex_init(&jn->lock, NULL);
	pthread_cond_init(&jn->wake, NULL);
	if (pthread_create(&jn->thread, NULL, janitor_main, jn) != 0) {
		fprintf(stderr, "dispatchd: cannot start the janitor thread\n");
		abort();
	}
	return jn;
}

void janitor_discard(struct janitor *jn, struct sandbox *sb)
{
	if (!sb)
		return;
	pthread_mutex_lock(&jn->lock);
	if (jn->count < jn->max_pending && !jn->stopping) {
		jn->queue[(jn->head + jn->count) % jn->max_pending] = sb;
		jn->count++;
		sb = NULL;
		pthread_cond_signal(&jn->wake);
	}
	pthread_mutex_unlock(&jn->lock);
	sandbox_free(sb); /* the backlog is full: keep disk use bounded */
}

void janitor_free(struct janitor *jn)
{
	if (!jn)
		return;
	pthread_mutex_lock(&jn->lock);
	jn->stopping = 1;
	pthread_cond_signal(&jn->wake);
	pthread_mutex_unlock(&jn->lock);
	pthread_join(jn->thread, NULL);
	pthread_cond_destroy(&jn->wake);
	pthread_mutex_destroy(&jn->lock);
	free(jn->queue);
	free(jn);
}
