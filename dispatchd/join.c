#include "join.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "peer.h"
#include "protocol.h"

#include "banned.h"

#define JOIN_REPLY_MAX (64u << 10)

struct join {
	struct peer *peer;
	char *body;
	long heartbeat_ms;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	int stop;
	pthread_t thread;
};

/* One heartbeat: 0 when the dispatcher took it. */
static int join_once(struct join *j, struct err *e)
{
	long t = j->heartbeat_ms < 1000 ? 1000 : j->heartbeat_ms;
	struct peer_call c = {.method = "POST",
			      .path = ROUTE_JOIN,
			      .body = j->body,
			      .len = strlen(j->body),
			      .timeout_ms = t,
			      .connect_timeout_ms = t,
			      .max_reply = JOIN_REPLY_MAX,
			      .cancel_fd = -1};
	struct peer_reply rep = {0};
	int r;

	buf_init(&rep.body);
	r = peer_call(j->peer, &c, &rep, e);
	if (r == 0 && rep.status != 200)
		r = err_set(e, "%s: join answered %ld: %.200s", peer_url(j->peer), rep.status,
			    rep.body.data);
	buf_release(&rep.body);
	return r;
}

static void *join_main(void *arg)
{
	struct join *j = arg;
	int joined = -1; /* unknown */

	pthread_mutex_lock(&j->mu);
	while (!j->stop) {
		struct err e = {0};
		struct timespec ts;
		long until;
		int ok;

		pthread_mutex_unlock(&j->mu);
		ok = join_once(j, &e) == 0;
		if (ok && joined != 1)
			log_info("joined the dispatcher %s", peer_url(j->peer));
		else if (!ok && joined != 0)
			log_warn("cannot join the dispatcher (retrying every %ld ms): %s",
				 j->heartbeat_ms, err_msg(&e));
		joined = ok;
		pthread_mutex_lock(&j->mu);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		until = ts.tv_sec * 1000L + ts.tv_nsec / 1000000 + j->heartbeat_ms;
		ts.tv_sec = until / 1000;
		ts.tv_nsec = (until % 1000) * 1000000;
		if (!j->stop)
			pthread_cond_timedwait(&j->cond, &j->mu, &ts);
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

int join_start(const struct join_opts *o, struct join **ret, struct err *e)
{
	struct join *j = xcalloc(1, sizeof(*j));
	json_t *body = json_pack("{s:s, s:s}", "url", o->advertise, "name", o->name);
	pthread_condattr_t ca;
	int r;

	j->peer = peer_new(o->dispatcher);
	j->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	j->heartbeat_ms = o->heartbeat_ms;
	pthread_mutex_init(&j->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (!j->body) {
		join_stop(j);
		return err_set(e, "--join: cannot encode the request (not UTF-8?)");
	}
	if ((r = pthread_create(&j->thread, NULL, join_main, j)) != 0) {
		j->stop = 1; /* never started: nothing to join */
		pthread_cond_destroy(&j->cond);
		pthread_mutex_destroy(&j->mu);
		peer_free(j->peer);
		free(j->body);
		free(j);
		return err_set(e, "--join: cannot start a thread: %s", strerror(r));
	}
	*ret = j;
	return 0;
}

void join_stop(struct join *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&j->mu);
	j->stop = 1;
	pthread_cond_broadcast(&j->cond);
	pthread_mutex_unlock(&j->mu);
	if (j->body)
		pthread_join(j->thread, NULL);
	pthread_cond_destroy(&j->cond);
	pthread_mutex_destroy(&j->mu);
	peer_free(j->peer);
	free(j->body);
	free(j);
}
