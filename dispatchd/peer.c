#include "peer.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "auth.h"
#include "err.h"
#include "hashset.h"
#include "protocol.h"

#include "banned.h"

/* Idle handles kept per peer: about the connections a dispatcher has open
 * to one volunteer at once (its slots, plus status polls). */
#define PEER_IDLE_MAX 32

/* Blobs remembered per volunteer: more than one build's distinct inputs
 * (about 3000 for std), few enough to stay small (32 bytes each). */
#define PEER_BLOBS_MAX 65536

struct peer {
	char *url;
	struct hashset *blobs;
	int keeps_blobs; /* __atomic: its status reports a blob store */
	pthread_mutex_t mu;
	size_t nidle;
	CURL *idle[PEER_IDLE_MAX];
};

struct peer_sink {
	struct buf *body;
	size_t max;
	int too_large;
};

/* Set once by peer_global_init(), before any thread starts; read-only
 * afterwards. */
static const struct auth_key *peer_key;
static const char *peer_ca_file;

int peer_global_init(const struct auth_key *key, const char *ca_file, struct err *e)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return err_set(e, "libcurl: global initialisation failed");
	peer_key = key;
	peer_ca_file = ca_file;
	return 0;
}

struct peer *peer_new(const char *url)
{
	struct peer *p = xcalloc(1, sizeof(*p));

	p->url = xstrdup(url);
	p->blobs = hashset_new(PEER_BLOBS_MAX);
	p->keeps_blobs = 1; /* until its status says otherwise */
	pthread_mutex_init(&p->mu, NULL);
	return p;
}

void peer_free(struct peer *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nidle; i++)
		curl_easy_cleanup(p->idle[i]);
	pthread_mutex_destroy(&p->mu);
	hashset_free(p->blobs);
	free(p->url);
	free(p);
}

const char *peer_url(const struct peer *p)
{
	return p->url;
}

struct hashset *peer_blobs(struct peer *p)
{
	return __atomic_load_n(&p->keeps_blobs, __ATOMIC_RELAXED) ? p->blobs : NULL;
}

void peer_set_keeps_blobs(struct peer *p, int keeps)
{
	__atomic_store_n(&p->keeps_blobs, keeps, __ATOMIC_RELAXED);
}

static CURL *peer_take(struct peer *p)
{
	CURL *h = NULL;

	pthread_mutex_lock(&p->mu);
	if (p->nidle > 0)
		h = p->idle[--p->nidle];
	pthread_mutex_unlock(&p->mu);
	if (h)
		curl_easy_reset(h); /* keeps the connection cache */
	else
		h = curl_easy_init();
	return h;
}

/* Keeps a handle whose last call completed, so its connection stays open. */
static void peer_give_back(struct peer *p, CURL *h)
{
	pthread_mutex_lock(&p->mu);
	if (p->nidle < PEER_IDLE_MAX) {
		p->idle[p->nidle++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&p->mu);
	curl_easy_cleanup(h);
}

static size_t peer_on_body(char *data, size_t size, size_t n, void *arg)
{
	struct peer_sink *s = arg;

	if (s->body->len + n > s->max) {
		s->too_large = 1;
		return 0; /* aborts the transfer */
	}
	buf_add(s->body, data, n * size);
	return n * size;
}

/* A call's way to give up, and why it did. */
struct peer_stop {
	const struct peer_call *c;
	struct err why; /* set when give_up said so */
};

/* Gives up a call when its cancel descriptor becomes readable (shutdown)
 * or its give_up() says so; libcurl calls this at least once a second. */
static int peer_on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
			    curl_off_t ulnow)
{
	struct peer_stop *s = arg;
	struct pollfd p = {.fd = s->c->cancel_fd, .events = POLLIN};

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (p.fd >= 0 && poll(&p, 1, 0) > 0)
		return 1;
	return s->c->give_up && s->c->give_up(s->c->give_up_arg, &s->why) != 0;
}

static struct curl_slist *peer_headers(const struct peer_call *c)
{
	struct curl_slist *h = curl_slist_append(NULL, PROTOCOL_HEADER ": 1");

	h = h ? curl_slist_append(h, c->expect_continue ? "Expect: 100-continue" : "Expect:") : NULL;
	h = h ? curl_slist_append(h, "Content-Type: application/octet-stream") : NULL;
	if (h && c->extra_header)
		h = curl_slist_append(h, c->extra_header);
	if (h && peer_key) {
		char value[AUTH_VALUE_MAX], *line;

		if (c->body_hex)
			auth_sign(peer_key, c->method, c->path, c->body_hex, auth_now_ms(), value);
		else
			auth_sign_body(peer_key, c->method, c->path, c->body,
				       c->body ? c->len : 0, auth_now_ms(), value);
		line = xasprintf(AUTH_HEADER ": %s", value);
		h = curl_slist_append(h, line);
		free(line);
	}
	return h;
}

static void peer_setup(CURL *h, const char *url, const struct peer_call *c,
		       struct curl_slist *headers, struct peer_sink *sink, struct peer_stop *stop,
		       char *errbuf)
{
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, peer_on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (peer_ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, peer_ca_file);
	if (c->cancel_fd >= 0 || c->give_up) {
		curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, peer_on_progress);
		curl_easy_setopt(h, CURLOPT_XFERINFODATA, stop);
		curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	}
	if (strcmp(c->method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		return;
	}
	curl_easy_setopt(h, CURLOPT_POST, 1L);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->body ? c->body : "");
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->len);
	if (strcmp(c->method, "POST") != 0)
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, c->method);
}

int peer_call(struct peer *p, const struct peer_call *c, struct peer_reply *ret, struct err *e)
{
	struct peer_sink sink = {.body = &ret->body, .max = c->max_reply};
	struct peer_stop stop = {.c = c};
	struct curl_slist *headers = peer_headers(c);
	char errbuf[CURL_ERROR_SIZE] = "", *url = xasprintf("%s%s", p->url, c->path);
	CURL *h = headers ? peer_take(p) : NULL;
	curl_off_t up = 0;
	CURLcode cr;
	int r = PEER_E_TRANSPORT;

	ret->sent = 0;
	if (!h) {
		err_set(e, "%s: libcurl: cannot create a request", url);
		goto out;
	}
	peer_setup(h, url, c, headers, &sink, &stop, errbuf);
	cr = curl_easy_perform(h);
	if (curl_easy_getinfo(h, CURLINFO_SIZE_UPLOAD_T, &up) == CURLE_OK && up > 0)
		ret->sent = (size_t)up;
	if (sink.too_large) {
		err_set(e, "%s: answer larger than %zu bytes", url, c->max_reply);
		r = PEER_E_TOO_LARGE;
	} else if (cr == CURLE_ABORTED_BY_CALLBACK && err_msg(&stop.why)[0]) {
		err_set(e, "%s: gave up: %s", url, err_msg(&stop.why));
	} else if (cr != CURLE_OK) {
		err_set(e, "%s: %s", url, errbuf[0] ? errbuf : curl_easy_strerror(cr));
	} else {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &ret->status);
		r = 0;
	}
	if (r == 0) {
		peer_give_back(p, h);
		h = NULL;
	}
out:
	curl_easy_cleanup(h);
	curl_slist_free_all(headers);
	free(url);
	return r;
}
