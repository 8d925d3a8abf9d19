#ifndef GODISTCC_CURLAPI_H
#define GODISTCC_CURLAPI_H
/*
 * libcurl, loaded with dlopen(3) on first use. Linking it normally makes the
 * dynamic loader map and relocate libcurl and its ~30 dependencies (TLS,
 * HTTP/2, LDAP, Kerberos, ...) in every shim process, about 4 ms of CPU
 * each, measured; most shim processes (link, vet, cgo, asm, probes) exec the
 * real tool at once and never make a request. Only the functions client.c
 * uses are here; they have libcurl's own signatures.
 */
#include <curl/curl.h>

struct err;

struct curlapi {
	CURLcode (*global_init)(long flags);
	CURL *(*easy_init)(void);
	void (*easy_cleanup)(CURL *h);
	void (*easy_reset)(CURL *h);
	CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
	CURLcode (*easy_perform)(CURL *h);
	CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
	const char *(*easy_strerror)(CURLcode rc);
	struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
	void (*slist_free_all)(struct curl_slist *l);
};

/*
 * Starts loading libcurl on a thread of its own, so that the ~30 libraries
 * are mapped while the caller collects and hashes the job's inputs; tls says
 * whether TLS will be needed (without it curl_global_init() skips OpenSSL's
 * set-up). curlapi_load() waits for it. Without this call curlapi_load()
 * loads on the calling thread.
 */
void curlapi_preload(int tls);

/* Loads libcurl (once per process; later calls return the same table).
 * The table is borrowed for the life of the process. */
int curlapi_load(const struct curlapi **ret, struct err *e);

#endif
