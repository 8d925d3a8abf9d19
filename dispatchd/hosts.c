#include "hosts.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "err.h"
#include "hash.h"
#include "log.h"
#include "monotime.h"
#include "peer.h"
#include "protocol.h"

#include "banned.h"

/* The cost of a toolchain upload, in the choice of a host (milliseconds):
 * tens of MB over a LAN, once per host and toolchain. */
#define HOSTS_UPLOAD_COST_MS 500.0
#define HOSTS_BACKOFF_MIN_MS 1000
#define HOSTS_BACKOFF_MAX_MS 30000
/* Weight of the newest sample in the moving averages. */
#define HOSTS_EWMA 0.2
/* A waiter re-checks the table at least this often (backoffs expire,
 * silent hosts go down). */
#define HOSTS_RECHECK_MS 200
#define HOSTS_STATUS_MAX_BYTES (1u << 20)
#define HOSTS_TOOLCHAINS_MAX 1024
/* How long a host that refused a toolchain (403: its --toolchains policy)
 * is not offered that toolchain's jobs: its owner may change the policy. */
#define HOSTS_REFUSAL_MS (10 * 60 * 1000)
#define HOSTS_REFUSALS_MAX 64

/* A toolchain the host refused, and until when that holds. */
struct host_refusal {
	char toolchain[HASH_HEX_LEN + 1];
	long until_ms;
};

enum host_source { HOST_SELF, HOST_PEER, HOST_JOIN };

static const char *const host_source_names[] = {"self", "peer", "join"};

struct host {
	enum host_source source;
	char *url; /* NULL for self */
	char *name;
	struct peer *peer; /* NULL for self */
	long slots;	   /* as the host reports them (self: configured) */
	long inflight;	   /* jobs this dispatcher has on it now */
	long peak;	   /* the most it ever ran at once, as it reports */
	unsigned long done, failed;
	int dead;	   /* a job could not reach it: down until heard from */
	int accepting;	   /* it reports that it takes jobs (--max-load) */
	long last_seen_ms; /* last poll or heartbeat answered; 0: never */
	long backoff_ms, backoff_until_ms;
	double ms_per_unit; /* 0: no job finished on it yet */
	char **toolchains;
	size_t ntoolchains;
	struct host_refusal refused[HOSTS_REFUSALS_MAX];
	size_t nrefused;
	const char *logged_state; /* for logging changes only */
};

struct hosts_waiter {
	struct hosts_waiter *next;
	double rank; /* the job's rank (critpath.h) */
};

struct hosts {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	struct hosts_opts o;
	char *self_name;
	struct host *hosts[HOSTS_MAX];
	size_t n;
	struct hosts_waiter *queue; /* first attempts waiting, oldest first */
	long queued;
	double avg_ms_per_unit, avg_job_ms; /* over all hosts; 0: unknown */
	int closed;
	int monitor_running;
	pthread_t monitor;
};


static void host_free(struct host *host)
{
	if (!host)
		return;
	for (size_t i = 0; i < host->ntoolchains; i++)
		free(host->toolchains[i]);
	free(host->toolchains);
	peer_free(host->peer);
	free(host->url);
	free(host->name);
	free(host);
}

struct hosts *hosts_new(const struct hosts_opts *o)
{
	struct hosts *h = xcalloc(1, sizeof(*h));
	pthread_condattr_t ca;

	pthread_mutex_init(&h->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&h->cond, &ca);
	pthread_condattr_destroy(&ca);
	h->o = *o;
	h->self_name = xstrdup(o->self_name);
	h->o.self_name = h->self_name;
	if (o->self_slots > 0) {
		struct host *self = xcalloc(1, sizeof(*self));

		self->source = HOST_SELF;
		self->name = xstrdup(o->self_name);
		self->slots = o->self_slots;
		self->accepting = 1;
		h->hosts[h->n++] = self;
	}
	return h;
}

void hosts_free(struct hosts *h)
{
	if (!h)
		return;
	hosts_stop(h);
	for (size_t i = 0; i < h->n; i++)
		host_free(h->hosts[i]);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->mu);
	free(h->self_name);
	free(h);
}

int hosts_url_is_valid(const char *url)
{
	size_t len = url ? strlen(url) : 0;

	if (len == 0 || len > HOST_URL_MAX)
		return 0;
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return 0;
	for (size_t i = 0; i < len; i++)
		if (url[i] <= ' ' || url[i] > '~')
			return 0;
	return url[len - 1] != '/' && strchr(url + 8, '/') == NULL;
}

/* A peer's name, cut to HOST_NAME_MAX_LEN bytes, never inside a UTF-8
 * sequence: the name goes out again in GET /v1/cluster, and jansson drops
 * a host whose name is not UTF-8 from that table. */
static void host_set_name(struct host *host, const char *name)
{
	size_t len = strnlen(name, HOST_NAME_MAX_LEN);

	while (len > 0 && ((unsigned char)name[len] & 0xc0) == 0x80)
		len--;
	free(host->name);
	host->name = xstrndup(name, len);
}

/* The host with url, or NULL. */
static struct host *hosts_find_locked(struct hosts *h, const char *url)
{
	for (size_t i = 0; i < h->n; i++)
		if (h->hosts[i]->url && strcmp(h->hosts[i]->url, url) == 0)
			return h->hosts[i];
	return NULL;
}

static struct host *hosts_add_locked(struct hosts *h, const char *url, enum host_source source,
				     struct err *e)
{
	struct host *host;

	if (!hosts_url_is_valid(url)) {
		err_set(e, "volunteer URL \"%.100s\" is not http(s)://host:port", url);
		return NULL;
	}
	if (h->n == HOSTS_MAX) {
		err_set(e, "the cluster is full (%d hosts)", HOSTS_MAX);
		return NULL;
	}
	host = xcalloc(1, sizeof(*host));
	host->source = source;
	host->url = xstrdup(url);
	host->name = xstrdup(url);
	host->peer = peer_new(url);
	host->accepting = 1;
	host->logged_state = "down";
	h->hosts[h->n++] = host;
	return host;
}

int hosts_add_peer(struct hosts *h, const char *url, struct err *e)
{
	int r = 0;

	pthread_mutex_lock(&h->mu);
	if (!hosts_find_locked(h, url) && !hosts_add_locked(h, url, HOST_PEER, e))
		r = -1;
	pthread_mutex_unlock(&h->mu);
	return r;
}

int hosts_has_volunteers(struct hosts *h)
{
	int r = 0;

	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; i < h->n && !r; i++)
		r = h->hosts[i]->source != HOST_SELF;
	pthread_mutex_unlock(&h->mu);
	return r;
}

int hosts_join(struct hosts *h, const char *url, const char *name, struct err *e)
{
	struct host *host;
	int r = -1;

	pthread_mutex_lock(&h->mu);
	host = hosts_find_locked(h, url);
	if (!host && !(host = hosts_add_locked(h, url, HOST_JOIN, e)))
		goto out;
	if (!host->last_seen_ms || host->dead)
		log_info("volunteer %s joined", url);
	if (name && name[0] && host->last_seen_ms == 0)
		host_set_name(host, name);
	host->last_seen_ms = monotime_ms();
	host->dead = 0;
	pthread_cond_broadcast(&h->cond);
	r = 0;
out:
	pthread_mutex_unlock(&h->mu);
	return r;
}

const char *hosts_state_name(int dead, long last_seen_ms, long down_after_ms, int accepting,
			     long backoff_until_ms, long now_ms)
{
	if (dead || last_seen_ms == 0 || now_ms - last_seen_ms > down_after_ms)
		return "down";
	if (!accepting)
		return "busy";
	if (now_ms < backoff_until_ms)
		return "backoff";
	return "up";
}

static const char *host_state(const struct hosts *h, const struct host *host, long now)
{
	if (host->source == HOST_SELF)
		return "up";
	return hosts_state_name(host->dead, host->last_seen_ms, h->o.down_after_ms,
				host->accepting, host->backoff_until_ms, now);
}

static int host_has_toolchain(const struct host *host, const char *toolchain)
{
	if (host->source == HOST_SELF)
		return 1; /* the job was checked against the store */
	for (size_t i = 0; i < host->ntoolchains; i++)
		if (strcmp(host->toolchains[i], toolchain) == 0)
			return 1;
	return 0;
}

static struct host_refusal *host_refusal_find(struct host *host, const char *toolchain)
{
	for (size_t i = 0; i < host->nrefused; i++)
		if (strcmp(host->refused[i].toolchain, toolchain) == 0)
			return &host->refused[i];
	return NULL;
}

/* Whether refusal r still holds at now. */
static int host_refusal_holds(const struct host_refusal *r, long now)
{
	return r->until_ms > now;
}

/* Whether host refused toolchain lately. */
static int host_refuses(struct host *host, const char *toolchain, long now)
{
	const struct host_refusal *r = host_refusal_find(host, toolchain);

	return r && host_refusal_holds(r, now);
}

static void host_refusal_drop(struct host *host, const char *toolchain)
{
	struct host_refusal *r = host_refusal_find(host, toolchain);

	if (r)
		*r = host->refused[--host->nrefused];
}

/* Expected milliseconds until host would finish j, if it started now. */
static double host_cost(const struct hosts *h, const struct host *host, const struct hosts_job *j)
{
	double msu = host->ms_per_unit ? host->ms_per_unit : h->avg_ms_per_unit;
	double cost = (msu ? msu : 1.0) * j->units;

	if (!host_has_toolchain(host, j->toolchain))
		cost += HOSTS_UPLOAD_COST_MS;
	/* Busier hosts lose ties and share their CPU among more jobs. */
	return cost * (1.0 + (double)host->inflight / (double)host->slots);
}

static int hosts_excluded(struct host *const *exclude, size_t n, const struct host *host)
{
	for (size_t i = 0; i < n; i++)
		if (exclude[i] == host)
			return 1;
	return 0;
}

/* The best host with a free slot, or NULL; *ret_later: slots of the hosts
 * that could take the job once one is free; *ret_refused: hosts that would
 * but refuse its toolchain. */
static struct host *hosts_choose_locked(struct hosts *h, const struct hosts_job *j,
					struct host *const *exclude, size_t nexclude,
					long *ret_later, long *ret_refused)
{
	long now = monotime_ms(), later = 0, refused = 0;
	struct host *best = NULL;
	double best_cost = 0;

	for (size_t i = 0; i < h->n; i++) {
		struct host *host = h->hosts[i];
		const char *st = host_state(h, host, now);
		double cost;

		if (hosts_excluded(exclude, nexclude, host) || host->slots <= 0)
			continue;
		if (strcmp(st, "up") != 0 && strcmp(st, "backoff") != 0)
			continue;
		if (host_refuses(host, j->toolchain, now)) {
			refused++;
			continue;
		}
		later += host->slots;
		if (strcmp(st, "up") != 0 || host->inflight >= host->slots)
			continue;
		cost = host_cost(h, host, j);
		if (!best || cost < best_cost) {
			best = host;
			best_cost = cost;
		}
	}
	*ret_later = later;
	*ret_refused = refused;
	return best;
}

int hosts_queue_slower(long ahead, long slots, double job_ms, double avg_ms)
{
	if (slots <= 0 || job_ms <= 0 || avg_ms <= 0)
		return 0; /* nothing known yet: queue */
	/* A slot frees every avg_ms / slots on average. */
	return (double)(ahead + 1) * avg_ms / (double)slots > job_ms;
}

static void hosts_dequeue_locked(struct hosts *h, struct hosts_waiter *w)
{
	struct hosts_waiter **p = &h->queue;

	while (*p && *p != w)
		p = &(*p)->next;
	if (*p)
		*p = w->next;
	h->queued--;
	pthread_cond_broadcast(&h->cond);
}

/* The waiter that takes the next free slot: the highest rank, the oldest
 * of equals. Starting the job the most work waits on first shortens the
 * build (critical-path list scheduling); a job nothing waits on waits
 * while those, also ones queued after it, start (at most until its
 * deadline). Ranking by the job's own size alone (LPT, what a first
 * build gets, hosts_rank()) starts big leaves such as go/types before the
 * small packages of the chain to net/http. */
static struct hosts_waiter *hosts_queue_first(const struct hosts *h)
{
	struct hosts_waiter *best = h->queue;

	for (struct hosts_waiter *w = h->queue; w; w = w->next)
		if (w->rank > best->rank)
			best = w;
	return best;
}

/* A job's place in the queue: its rank, or for a package the build graph
 * does not know yet (a first build) its own expected run time, so that
 * the largest job goes first where nothing better is known. */
static double hosts_rank(const struct hosts *h, const struct hosts_job *j)
{
	return j->rank > 0 ? j->rank : j->units * h->avg_ms_per_unit;
}

/* Waiters that would take a slot before a job of rank. */
static long hosts_ahead_locked(const struct hosts *h, double rank)
{
	long n = 0;

	for (const struct hosts_waiter *w = h->queue; w; w = w->next)
		n += w->rank >= rank;
	return n;
}

static void hosts_enqueue_locked(struct hosts *h, struct hosts_waiter *w)
{
	struct hosts_waiter **p = &h->queue;

	while (*p)
		p = &(*p)->next;
	w->next = NULL;
	*p = w;
	h->queued++;
}

static void hosts_wait_locked(struct hosts *h, long deadline_ms)
{
	long until = monotime_ms() + HOSTS_RECHECK_MS;
	struct timespec ts;

	if (deadline_ms && deadline_ms < until)
		until = deadline_ms;
	ts.tv_sec = until / 1000;
	ts.tv_nsec = (until % 1000) * 1000000;
	pthread_cond_timedwait(&h->cond, &h->mu, &ts);
}

static void hosts_take_locked(struct host *host)
{
	host->inflight++;
	if (host->source == HOST_SELF && host->inflight > host->peak)
		host->peak = host->inflight;
}

int hosts_pick(struct hosts *h, const struct hosts_job *j, struct host *const *exclude,
	       size_t nexclude, struct host **ret)
{
	struct hosts_waiter me = {0};
	int queued = 0, r;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		long later = 0, refused = 0;
		struct host *host = NULL;

		if (h->closed) {
			r = HOSTS_E_CLOSED;
			break;
		}
		if (j->deadline_ms && monotime_ms() >= j->deadline_ms) {
			r = HOSTS_E_TIMEOUT;
			break;
		}
		if (nexclude > 0 || !h->queue || hosts_queue_first(h) == &me)
			host = hosts_choose_locked(h, j, exclude, nexclude, &later, &refused);
		else
			hosts_choose_locked(h, j, exclude, nexclude, &later, &refused);
		if (host) {
			hosts_take_locked(host);
			*ret = host;
			r = 0;
			break;
		}
		if (later == 0) {
			r = refused ? HOSTS_E_REFUSED : HOSTS_E_NONE;
			break;
		}
		if (!queued && nexclude == 0) {
			if (j->client_may_run &&
			    hosts_queue_slower(hosts_ahead_locked(h, hosts_rank(h, j)), later,
					       j->units * h->avg_ms_per_unit,
					       h->avg_job_ms)) {
				r = HOSTS_E_BUSY;
				break;
			}
			me.rank = hosts_rank(h, j);
			hosts_enqueue_locked(h, &me);
			queued = 1;
		}
		hosts_wait_locked(h, j->deadline_ms);
	}
	if (queued)
		hosts_dequeue_locked(h, &me);
	pthread_mutex_unlock(&h->mu);
	return r;
}

static double hosts_ewma(double old, double sample)
{
	return old ? (1.0 - HOSTS_EWMA) * old + HOSTS_EWMA * sample : sample;
}

void hosts_done(struct hosts *h, struct host *host, enum host_outcome o, long ms, double units)
{
	long now = monotime_ms();

	pthread_mutex_lock(&h->mu);
	host->inflight--;
	if (o == HOST_UNUSED) {
		/* nothing learnt */
	} else if (o == HOST_OK) {
		double msu = units > 0 ? (double)(ms > 0 ? ms : 1) / units : 0;

		host->done++;
		host->backoff_ms = 0;
		if (msu) {
			host->ms_per_unit = hosts_ewma(host->ms_per_unit, msu);
			h->avg_ms_per_unit = hosts_ewma(h->avg_ms_per_unit, msu);
			h->avg_job_ms = hosts_ewma(h->avg_job_ms, (double)ms);
		}
	} else {
		host->failed++;
		host->backoff_ms = host->backoff_ms ? 2 * host->backoff_ms : HOSTS_BACKOFF_MIN_MS;
		if (host->backoff_ms > HOSTS_BACKOFF_MAX_MS)
			host->backoff_ms = HOSTS_BACKOFF_MAX_MS;
		host->backoff_until_ms = now + host->backoff_ms;
		if (o == HOST_UNREACHABLE)
			host->dead = 1;
	}
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->mu);
}

static void host_add_toolchain_locked(struct host *host, const char *toolchain)
{
	host_refusal_drop(host, toolchain); /* it holds it now after all */
	if (host_has_toolchain(host, toolchain) || host->ntoolchains >= HOSTS_TOOLCHAINS_MAX)
		return;
	host->toolchains =
	    xrealloc(host->toolchains, (host->ntoolchains + 1) * sizeof(*host->toolchains));
	host->toolchains[host->ntoolchains++] = xstrdup(toolchain);
}

void hosts_add_toolchain(struct hosts *h, struct host *host, const char *toolchain)
{
	pthread_mutex_lock(&h->mu);
	host_add_toolchain_locked(host, toolchain);
	pthread_mutex_unlock(&h->mu);
}

void hosts_refuse_toolchain(struct hosts *h, struct host *host, const char *toolchain)
{
	long now = monotime_ms();
	struct host_refusal *r;

	if (strlen(toolchain) != HASH_HEX_LEN)
		return;
	pthread_mutex_lock(&h->mu);
	if (!(r = host_refusal_find(host, toolchain))) {
		if (host->nrefused < HOSTS_REFUSALS_MAX) {
			r = &host->refused[host->nrefused++];
		} else { /* full: the refusal that ends first makes room */
			r = &host->refused[0];
			for (size_t i = 1; i < host->nrefused; i++)
				if (host->refused[i].until_ms < r->until_ms)
					r = &host->refused[i];
		}
		memcpy(r->toolchain, toolchain, HASH_HEX_LEN + 1);
		log_info("host %s refuses toolchain %.12s: not offered its jobs for %d min",
			 host->url ? host->url : "self", toolchain, HOSTS_REFUSAL_MS / 60000);
	}
	r->until_ms = now + HOSTS_REFUSAL_MS;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->mu);
}

int hosts_lost(struct hosts *h, const struct host *host, struct err *e)
{
	long limit = h->o.down_after_ms > HOSTS_GIVE_UP_MS ? h->o.down_after_ms : HOSTS_GIVE_UP_MS;
	long silent;
	int lost;

	if (host->source == HOST_SELF)
		return 0;
	pthread_mutex_lock(&h->mu);
	silent = monotime_ms() - host->last_seen_ms;
	lost = host->dead || silent > limit;
	if (lost && host->dead)
		err_set(e, "the volunteer is unreachable");
	else if (lost)
		err_set(e, "the volunteer has not answered for %ld s", silent / 1000);
	pthread_mutex_unlock(&h->mu);
	return lost;
}

int host_is_self(const struct host *host)
{
	return host->source == HOST_SELF;
}

struct peer *host_peer(const struct host *host)
{
	return host->peer;
}

char *host_name(struct hosts *h, const struct host *host)
{
	char *name;

	pthread_mutex_lock(&h->mu);
	name = xstrdup(host->name);
	pthread_mutex_unlock(&h->mu);
	return name;
}

/* --- the monitor --- */

static long hosts_json_long(json_t *o, const char *key, long lo, long hi, long def)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return def;
	return (long)json_integer_value(v);
}

/* Takes what a status answer says about host. */
static void hosts_take_status_locked(struct host *host, json_t *st, long now)
{
	json_t *tcs = json_object_get(st, "toolchains"), *acc = json_object_get(st, "accepting");
	const char *name = json_string_value(json_object_get(st, "host"));
	size_t i;
	json_t *v;

	host->slots = hosts_json_long(st, "slots", 0, 4096, 0);
	host->peak = hosts_json_long(st, "peak_running", 0, 1L << 30, host->peak);
	host->accepting = json_is_boolean(acc) ? json_is_true(acc) : 1;
	peer_set_keeps_blobs(host->peer, json_is_object(json_object_get(st, "blob_store")));
	if (name && name[0])
		host_set_name(host, name);
	json_array_foreach(tcs, i, v) {
		if (json_is_string(v) && hash_is_valid(json_string_value(v)))
			host_add_toolchain_locked(host, json_string_value(v));
	}
	host->last_seen_ms = now;
	host->dead = 0;
}

/* Polls one host; the table is unlocked (the host is never freed). */
static void hosts_poll(struct hosts *h, struct host *host)
{
	long t = h->o.heartbeat_ms < 500 ? 500 : h->o.heartbeat_ms;
	struct peer_call c = {.method = "GET",
			      .path = ROUTE_STATUS,
			      .timeout_ms = t > 2000 ? 2000 : t,
			      .connect_timeout_ms = t > 2000 ? 2000 : t,
			      .max_reply = HOSTS_STATUS_MAX_BYTES,
			      .cancel_fd = -1};
	struct peer_reply rep = {0};
	struct err e = {0};
	json_t *st = NULL;

	buf_init(&rep.body);
	if (peer_call(host->peer, &c, &rep, &e) == 0 && rep.status == 200)
		st = json_loadb(rep.body.data, rep.body.len, 0, NULL);
	pthread_mutex_lock(&h->mu);
	if (json_is_object(st)) {
		hosts_take_status_locked(host, st, monotime_ms());
		pthread_cond_broadcast(&h->cond);
	} else if (!host->dead && strcmp(host->logged_state, "down") != 0) {
		log_debug("volunteer %s: status: %s", host->url,
			  err_msg(&e)[0] ? err_msg(&e) : "malformed answer");
	}
	pthread_mutex_unlock(&h->mu);
	json_decref(st);
	buf_release(&rep.body);
}

/* One volunteer's poll in a round, in a thread of its own. */
struct hosts_poller {
	struct hosts *h;
	struct host *host;
	pthread_t thread;
	int started;
};

static void *hosts_poller_main(void *arg)
{
	struct hosts_poller *p = arg;

	hosts_poll(p->h, p->host);
	return NULL;
}

/* Polls the volunteers among snap all at once, so that one that does not
 * answer (each poll waits up to its timeout) delays no other's: in turn,
 * two silent hosts made the round last past --down-after, and the hosts
 * that did answer looked down too. */
static void hosts_poll_all(struct hosts *h, struct host *const *snap, size_t n)
{
	struct hosts_poller *p = xcalloc(n ? n : 1, sizeof(*p));

	for (size_t i = 0; i < n; i++) {
		if (snap[i]->source == HOST_SELF)
			continue;
		p[i] = (struct hosts_poller){.h = h, .host = snap[i]};
		p[i].started = pthread_create(&p[i].thread, NULL, hosts_poller_main, &p[i]) == 0;
		if (!p[i].started)
			hosts_poll(h, snap[i]); /* no thread: in turn */
	}
	for (size_t i = 0; i < n; i++)
		if (p[i].started)
			pthread_join(p[i].thread, NULL);
	free(p);
}

/* Logs each host whose state changed since the last round. */
static void hosts_log_changes_locked(struct hosts *h)
{
	long now = monotime_ms();

	for (size_t i = 0; i < h->n; i++) {
		struct host *host = h->hosts[i];
		const char *st = host_state(h, host, now);

		if (host->source == HOST_SELF || strcmp(st, host->logged_state) == 0)
			continue;
		if (strcmp(st, "down") == 0)
			log_warn("volunteer %s (%s) is down", host->name, host->url);
		else
			log_info("volunteer %s (%s) is %s, %ld slots", host->name, host->url, st,
				 host->slots);
		host->logged_state = st;
	}
}

static void *hosts_monitor_main(void *arg)
{
	struct hosts *h = arg;

	pthread_mutex_lock(&h->mu);
	while (!h->closed) {
		size_t n = h->n;
		struct host *snap[HOSTS_MAX];

		memcpy(snap, h->hosts, n * sizeof(*snap));
		pthread_mutex_unlock(&h->mu);
		hosts_poll_all(h, snap, n);
		pthread_mutex_lock(&h->mu);
		hosts_log_changes_locked(h);
		if (!h->closed) {
			long until = monotime_ms() + h->o.heartbeat_ms;
			struct timespec ts = {.tv_sec = until / 1000,
					      .tv_nsec = (until % 1000) * 1000000};

			pthread_cond_timedwait(&h->cond, &h->mu, &ts);
		}
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

int hosts_start_monitor(struct hosts *h, struct err *e)
{
	int r = pthread_create(&h->monitor, NULL, hosts_monitor_main, h);

	if (r != 0)
		return err_set(e, "cannot start the cluster monitor: %s", strerror(r));
	h->monitor_running = 1;
	return 0;
}

void hosts_stop(struct hosts *h)
{
	pthread_mutex_lock(&h->mu);
	h->closed = 1;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->mu);
	if (h->monitor_running) {
		pthread_join(h->monitor, NULL);
		h->monitor_running = 0;
	}
}

/* --- GET /v1/cluster --- */

static json_t *host_json_locked(const struct hosts *h, const struct host *host, long now)
{
	json_t *tcs = json_array(), *refuses = json_array();

	for (size_t i = 0; tcs && i < host->ntoolchains; i++)
		json_array_append_new(tcs, json_string(host->toolchains[i]));
	for (size_t i = 0; refuses && i < host->nrefused; i++)
		if (host_refusal_holds(&host->refused[i], now))
			json_array_append_new(refuses, json_string(host->refused[i].toolchain));
	return json_pack("{s:s, s:s?, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:f}",
			 "name", host->name, "url", host->url, "source",
			 host_source_names[host->source], "state", host_state(h, host, now),
			 "slots", (json_int_t)host->slots, "running", (json_int_t)host->inflight,
			 "peak", (json_int_t)host->peak, "done", (json_int_t)host->done, "failed",
			 (json_int_t)host->failed, "toolchains", tcs, "refuses", refuses,
			 "ms_per_unit", host->ms_per_unit);
}

json_t *hosts_cluster_json(struct hosts *h)
{
	json_t *list = json_array(), *doc;
	long now = monotime_ms();

	pthread_mutex_lock(&h->mu);
	for (size_t i = 0; list && i < h->n; i++)
		json_array_append_new(list, host_json_locked(h, h->hosts[i], now));
	doc = json_pack("{s:i, s:s, s:I, s:I, s:I, s:o}", "protocol", PROTOCOL_VERSION, "name",
			h->self_name, "queued", (json_int_t)h->queued, "heartbeat_ms",
			(json_int_t)h->o.heartbeat_ms, "down_after_ms",
			(json_int_t)h->o.down_after_ms, "hosts", list);
	pthread_mutex_unlock(&h->mu);
	return doc;
}
