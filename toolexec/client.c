#include "client.h"

#include <errno.h>
#include <stdint.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "auth.h"
#include "buf.h"
#include "curlapi.h"
#include "err.h"
#include "log.h"
#include "protocol.h"
#include "settings.h"
#include "upload.h"

#include "banned.h"

/* Error bodies and 409 answers are small JSON objects. */
#define CLIENT_ERROR_BODY_MAX (64u << 10)

struct client {
	const struct curlapi *api;
	CURL *h;
	const struct settings *s;
	struct curl_slist *headers;	/* the same for every request */
	struct curl_slist *req_headers; /* those and the request's own proof */
	struct auth_key key;		/* the token; key.key NULL: none */
	char errbuf[CURL_ERROR_SIZE];
};

/* One HTTP exchange's answer. */
struct client_reply {
	long status;
	char proto[16]; /* the X-Godistcc-Protocol header, "" if absent */
	struct buf body;
	size_t max;
	int too_large;
};

struct client *client_new(const struct settings *s, struct err *e)
{
	const struct curlapi *api;
	struct client *c;
	struct curl_slist *h = NULL;

	if (curlapi_load(&api, e) < 0)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	c->api = api;
	c->s = s;
	if (!(c->h = api->easy_init())) {
		err_set(e, "libcurl: cannot create a handle");
		free(c);
		return NULL;
	}
	h = api->slist_append(h, PROTOCOL_HEADER ": 1");
	h = h ? api->slist_append(h, "Expect:") : NULL; /* no 100-continue round trip */
	h = h ? api->slist_append(h, "Content-Type: application/octet-stream") : NULL;
	if (!(c->headers = h)) {
		err_set(e, "libcurl: cannot build request headers");
		client_free(c);
		return NULL;
	}
	if (s->token_file && auth_key_load(s->token_file, &c->key, e) < 0) {
		client_free(c);
		return NULL;
	}
	return c;
}

void client_free(struct client *c)
{
	if (!c)
		return;
	c->api->slist_free_all(c->headers);
	c->api->slist_free_all(c->req_headers);
	auth_key_release(&c->key);
	c->api->easy_cleanup(c->h);
	free(c);
}

static size_t client_on_body(char *p, size_t size, size_t n, void *arg)
{
	struct client_reply *rep = arg;

	if (rep->body.len + n > rep->max) {
		rep->too_large = 1;
		return 0; /* aborts the transfer */
	}
	buf_add(&rep->body, p, n);
	(void)size; /* always 1 */
	return n;
}

static size_t client_on_header(char *p, size_t size, size_t n, void *arg)
{
	static const char name[] = PROTOCOL_HEADER ":";
	struct client_reply *rep = arg;
	size_t len = n, skip = sizeof(name) - 1;

	(void)size;
	if (len > skip && strncasecmp(p, name, skip) == 0) {
		while (skip < len && (p[skip] == ' ' || p[skip] == '\t'))
			skip++;
		while (len > skip &&
		       (p[len - 1] == '\r' || p[len - 1] == '\n' || p[len - 1] == ' '))
			len--;
		snprintf(rep->proto, sizeof(rep->proto), "%.*s", (int)(len - skip), p + skip);
	}
	return n;
}

static void client_reply_init(struct client_reply *rep, size_t max)
{
	*rep = (struct client_reply){.max = max};
	buf_init(&rep->body);
}

/* The headers of one request: the common ones and, with a token, the
 * proof of it for this method, route and body (auth.h). */
static struct curl_slist *client_headers(struct client *c, const char *method, const char *route,
					 const char *body_hex)
{
	char value[AUTH_VALUE_MAX], *line;
	struct curl_slist *h = NULL;

	c->api->slist_free_all(c->req_headers);
	c->req_headers = NULL;
	if (!c->key.key)
		return c->headers;
	for (const struct curl_slist *l = c->headers; l; l = l->next)
		if (!(h = c->api->slist_append(h, l->data)))
			return c->headers; /* out of memory: the daemon will say 401 */
	auth_sign(&c->key, method, route, body_hex, auth_now_ms(), value);
	line = xasprintf(AUTH_HEADER ": %s", value);
	if (!(c->req_headers = c->api->slist_append(h, line)))
		c->api->slist_free_all(h);
	free(line);
	return c->req_headers ? c->req_headers : c->headers;
}

/* Options shared by every request; the handle keeps its connection.
 * body_hex: the SHA-256 of the body to be sent (hash.h), NULL for none. */
static void client_setup(struct client *c, const char *method, const char *route,
			 const char *body_hex, struct client_reply *rep)
{
	char *url = xasprintf("%s%s", c->s->dispatcher, route);
	CURLcode (*set)(CURL *, CURLoption, ...) = c->api->easy_setopt;
	char empty_hex[HASH_HEX_LEN + 1];
	CURL *h = c->h;

	if (!body_hex && c->key.key) {
		hash_buf("", 0, empty_hex);
		body_hex = empty_hex;
	}

	/* Through a pointer, curl's type-checking setopt macro is bypassed:
	 * every integer argument below must be a long. */
	c->api->easy_reset(h);
	set(h, CURLOPT_URL, url);
	set(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	set(h, CURLOPT_NOPROXY, "*");
	set(h, CURLOPT_NOSIGNAL, 1L);
	set(h, CURLOPT_CONNECTTIMEOUT_MS, c->s->connect_timeout_ms);
	set(h, CURLOPT_TIMEOUT, c->s->timeout_s);
	set(h, CURLOPT_HTTPHEADER, client_headers(c, method, route, body_hex));
	if (c->s->ca_file)
		set(h, CURLOPT_CAINFO, c->s->ca_file);
	set(h, CURLOPT_ERRORBUFFER, c->errbuf);
	set(h, CURLOPT_WRITEFUNCTION, client_on_body);
	set(h, CURLOPT_WRITEDATA, rep);
	set(h, CURLOPT_HEADERFUNCTION, client_on_header);
	set(h, CURLOPT_HEADERDATA, rep);
	c->errbuf[0] = '\0';
	free(url); /* libcurl copies string options */
}

/* Why a transfer failed, as "unreachable (Connection refused)" and the like. */
static int client_transfer_error(struct client *c, CURLcode rc, const struct client_reply *rep,
				 struct err *e)
{
	const char *d = c->s->dispatcher;
	const char *why = c->errbuf[0] ? c->errbuf : c->api->easy_strerror(rc);
	long oserr = 0;

	if (rep->too_large)
		return err_set(e, "dispatcher %s: answer larger than %zu bytes", d, rep->max);
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		c->api->easy_getinfo(c->h, CURLINFO_OS_ERRNO, &oserr);
		return err_set(e, "dispatcher %s unreachable (%s)", d,
			       oserr ? strerror((int)oserr) : why);
	case CURLE_COULDNT_RESOLVE_HOST:
		return err_set(e, "dispatcher %s unreachable (cannot resolve host)", d);
	case CURLE_OPERATION_TIMEDOUT:
		return err_set(e, "dispatcher %s timed out (%s)", d, why);
	default:
		return err_set(e, "dispatcher %s: %s", d, why);
	}
}

static int client_perform(struct client *c, struct client_reply *rep, struct err *e)
{
	CURLcode rc = c->api->easy_perform(c->h);

	if (rc != CURLE_OK)
		return client_transfer_error(c, rc, rep, e);
	c->api->easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &rep->status);
	return 0;
}

/* Describes a 4xx/5xx answer from its {"error", "message"} body; what is
 * the verb: "answered", "refused the toolchain upload:". */
static int client_http_error(struct client *c, const char *what, const struct client_reply *rep,
			     struct err *e)
{
	json_t *j = json_loadb(rep->body.data, rep->body.len, 0, NULL);
	const char *code = json_string_value(json_object_get(j, "error"));
	const char *msg = json_string_value(json_object_get(j, "message"));

	if (code && strcmp(code, "protocol_mismatch") == 0)
		err_set(e, "dispatcher %s speaks protocol %s, not %d", c->s->dispatcher,
			rep->proto[0] ? rep->proto : "(unknown)", PROTOCOL_VERSION);
	else
		err_set(e, "dispatcher %s %s %ld%s%s%s%s", c->s->dispatcher, what, rep->status,
			code ? " " : "", code ? code : "", msg ? ": " : "", msg ? msg : "");
	json_decref(j);
	return -1;
}

/* Whether an error answer's code is code. */
static int client_error_is(const struct client_reply *rep, const char *code)
{
	json_t *j = json_loadb(rep->body.data, rep->body.len, 0, NULL);
	const char *got = json_string_value(json_object_get(j, "error"));
	int r = got && strcmp(got, code) == 0;

	json_decref(j);
	return r;
}

/* A 200 or 409 must come from a daemon that speaks our protocol. */
static int client_check_protocol(struct client *c, const struct client_reply *rep, struct err *e)
{
	char want[16];

	snprintf(want, sizeof(want), "%d", PROTOCOL_VERSION);
	if (strcmp(rep->proto, want) == 0)
		return 0;
	return err_set(e, "dispatcher %s speaks protocol %s, not %s", c->s->dispatcher,
		       rep->proto[0] ? rep->proto : "(none)", want);
}

static int client_put_toolchain(struct client *c, const char *tool_path, const char *toolchain,
				struct err *e)
{
	struct client_reply rep;
	struct stat st;
	FILE *f = fopen(tool_path, "rbe");
	char *route = xasprintf(ROUTE_TOOLCHAIN_PREFIX "%s", toolchain);
	int r = -1;

	client_reply_init(&rep, CLIENT_ERROR_BODY_MAX);
	if (!f || fstat(fileno(f), &st) < 0) {
		err_errno(e, errno, "%s: cannot upload", tool_path);
		goto out;
	}
	/* A toolchain is named by the SHA-256 of its content: that of the body. */
	client_setup(c, "PUT", route, toolchain, &rep);
	c->api->easy_setopt(c->h, CURLOPT_UPLOAD, 1L);
	c->api->easy_setopt(c->h, CURLOPT_READDATA, f); /* the default reader fread()s it */
	c->api->easy_setopt(c->h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
	if ((r = client_perform(c, &rep, e)) < 0)
		goto out;
	if (rep.status != 200 && rep.status != 201)
		r = client_http_error(c, "refused the toolchain upload:", &rep, e);
	else
		log_info("uploaded toolchain %s (%s, %jd bytes)", toolchain, tool_path,
			 (intmax_t)st.st_size);
out:
	if (f)
		fclose(f);
	free(route);
	buf_release(&rep.body);
	return r;
}

static int client_post_job(struct client *c, const void *body, size_t len, struct client_reply *rep,
			   struct err *e)
{
	char body_hex[HASH_HEX_LEN + 1];

	if (c->key.key)
		hash_buf(len ? body : "", len, body_hex);
	client_setup(c, "POST", ROUTE_JOB, c->key.key ? body_hex : NULL, rep);
	c->api->easy_setopt(c->h, CURLOPT_POST, 1L);
	c->api->easy_setopt(c->h, CURLOPT_POSTFIELDS, body);
	c->api->easy_setopt(c->h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	return client_perform(c, rep, e);
}

static void client_blobs_release(struct client_blobs *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->blobs[i]);
	free(b->blobs);
	memset(b, 0, sizeof(*b));
}

/* Reads a 409 answer: what the daemon lacks (the blobs replace ret_blobs'). */
static int client_parse_missing(struct client *c, const struct client_reply *rep,
				int *ret_toolchain, struct client_blobs *ret_blobs, struct err *e)
{
	json_t *j = json_loadb(rep->body.data, rep->body.len, 0, NULL);
	json_t *tc = json_object_get(j, "toolchain"), *blobs = json_object_get(j, "blobs"), *v;
	size_t k;
	int r = 0;

	if (!json_is_object(j) || (tc && !json_is_boolean(tc)) || (blobs && !json_is_array(blobs)))
		r = err_set(e, "dispatcher %s: malformed 409 answer", c->s->dispatcher);
	else if (!json_is_true(tc) && json_array_size(blobs) == 0)
		r = err_set(e, "dispatcher %s: 409 answer names nothing missing", c->s->dispatcher);
	json_array_foreach(blobs, k, v)
		if (r == 0 && !hash_is_valid(json_string_value(v) ? json_string_value(v) : ""))
			r = err_set(e, "dispatcher %s: 409 answer names an invalid blob",
				    c->s->dispatcher);
	if (r == 0) {
		*ret_toolchain = json_is_true(tc);
		client_blobs_release(ret_blobs);
		ret_blobs->blobs = xcalloc(json_array_size(blobs) + 1, sizeof(char *));
		json_array_foreach(blobs, k, v)
			ret_blobs->blobs[ret_blobs->n++] = xstrdup(json_string_value(v));
	}
	json_decref(j);
	return r;
}

/* What a job's 409 answers have made this shim do so far. */
struct client_dance {
	int uploaded; /* the toolchain */
	int deferred; /* re-sent without uploading: another shim had uploaded it */
	int resent;   /* re-sent because blobs were missing */
	int all;      /* the next request carries every blob */
	struct client_blobs missing; /* the blobs the last 409 named */
};

/* Uploads the toolchain unless another shim has (then the job is re-sent
 * once without it, and uploaded only if the dispatcher still lacks it). */
static int client_provide_toolchain(struct client *c, const char *tool_path, const char *toolchain,
				    struct client_dance *d, struct err *e)
{
	struct upload_lock *l;
	int r = 0;

	if (d->uploaded)
		return err_set(e, "dispatcher %s still lacks toolchain %s after its upload",
			       c->s->dispatcher, toolchain);
	l = upload_lock_take(c->s->dispatcher, toolchain);
	if (upload_lock_is_done(l) && !d->deferred) {
		d->deferred = 1;
	} else {
		d->uploaded = 1;
		if ((r = client_put_toolchain(c, tool_path, toolchain, e)) == 0)
			upload_lock_mark_done(l);
	}
	upload_lock_release(l);
	return r;
}

/* Acts on a 409: provides the toolchain and/or allows a resend with the
 * blobs it names (d->missing), and one more with every blob. */
static int client_handle_missing(struct client *c, const struct client_reply *rep,
				 const char *tool_path, const char *toolchain,
				 struct client_dance *d, struct err *e)
{
	int need_toolchain = 0;

	if (client_parse_missing(c, rep, &need_toolchain, &d->missing, e) < 0)
		return -1;
	/* A resend carries the blobs named; should the dispatcher then lack
	 * others (no blob store, or it evicted them), the next every blob. */
	if (d->missing.n && d->resent++)
		d->all = 1;
	d->missing.all = d->all;
	if (d->missing.n && d->resent > 2)
		return err_set(e, "dispatcher %s still lacks %zu blob(s) after every blob was sent",
			       c->s->dispatcher, d->missing.n);
	if (!need_toolchain)
		return 0;
	return client_provide_toolchain(c, tool_path, toolchain, d, e);
}

int client_get(struct client *c, const char *route, size_t max, struct buf *ret_body, struct err *e)
{
	struct client_reply rep;
	int r;

	client_reply_init(&rep, max);
	client_setup(c, "GET", route, NULL, &rep);
	if ((r = client_perform(c, &rep, e)) < 0)
		goto out;
	if (rep.status != 200)
		r = client_http_error(c, "answered", &rep, e);
	else if ((r = client_check_protocol(c, &rep, e)) == 0) {
		buf_release(ret_body);
		*ret_body = rep.body; /* handed over, not copied */
		buf_init(&rep.body);
	}
out:
	buf_release(&rep.body);
	return r;
}

int client_submit(struct client *c, const char *tool_path, const char *toolchain,
		  client_body_fn *build, void *arg, size_t max_answer, struct buf *ret_answer,
		  size_t *ret_sent, struct err *e)
{
	struct client_reply rep;
	struct client_dance dance = {0};
	char *body = NULL;
	size_t len = 0;
	int r = -1;

	*ret_sent = 0;
	client_reply_init(&rep, max_answer);
	for (int attempt = 0; attempt < CLIENT_MAX_ATTEMPTS; attempt++) {
		buf_release(&rep.body);
		client_reply_init(&rep, max_answer);
		free(body);
		body = NULL;
		if ((r = build(arg, attempt == 0 ? NULL : &dance.missing, &body, &len, e)) < 0)
			goto out;
		*ret_sent += len;
		if ((r = client_post_job(c, body, len, &rep, e)) < 0)
			goto out;
		if (rep.status != 200 && rep.status != 409) {
			r = client_http_error(c, "answered", &rep, e);
			if (rep.status == 503 && client_error_is(&rep, "busy"))
				r = CLIENT_E_BUSY;
			goto out;
		}
		if ((r = client_check_protocol(c, &rep, e)) < 0)
			goto out;
		if (rep.status == 200) {
			buf_release(ret_answer);
			*ret_answer = rep.body; /* handed over, not copied */
			buf_init(&rep.body);
			goto out;
		}
		r = client_handle_missing(c, &rep, tool_path, toolchain, &dance, e);
		if (r < 0)
			goto out;
	}
	r = err_set(e, "dispatcher %s: job still refused after %d attempts", c->s->dispatcher,
		    CLIENT_MAX_ATTEMPTS);
out:
	free(body);
	client_blobs_release(&dance.missing);
	buf_release(&rep.body);
	return r;
}
