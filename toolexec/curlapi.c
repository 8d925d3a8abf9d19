#include "curlapi.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "err.h"

#include "banned.h"

/* The soname of libcurl's stable ABI (version 4 since 2006). */
#define CURLAPI_SONAME "libcurl.so.4"

static struct curlapi curlapi_table;
static int curlapi_loaded;

static const struct curlapi_sym {
	const char *name;
	size_t off;
} curlapi_syms[] = {
    {"curl_global_init", offsetof(struct curlapi, global_init)},
    {"curl_easy_init", offsetof(struct curlapi, easy_init)},
    {"curl_easy_cleanup", offsetof(struct curlapi, easy_cleanup)},
    {"curl_easy_reset", offsetof(struct curlapi, easy_reset)},
    {"curl_easy_setopt", offsetof(struct curlapi, easy_setopt)},
    {"curl_easy_perform", offsetof(struct curlapi, easy_perform)},
    {"curl_easy_getinfo", offsetof(struct curlapi, easy_getinfo)},
    {"curl_easy_strerror", offsetof(struct curlapi, easy_strerror)},
    {"curl_slist_append", offsetof(struct curlapi, slist_append)},
    {"curl_slist_free_all", offsetof(struct curlapi, slist_free_all)},
};

/* A load started early by curlapi_preload(), on its own thread. */
static struct {
	pthread_t thread;
	int started;
	int rc;
	long init_flags;
	struct err e;
} curlapi_bg = {.init_flags = CURL_GLOBAL_DEFAULT};

static int curlapi_do_load(struct err *e)
{
	void *lib;

	if (!(lib = dlopen(CURLAPI_SONAME, RTLD_LAZY | RTLD_LOCAL)))
		return err_set(e, "cannot load libcurl: %s", dlerror());
	for (size_t i = 0; i < sizeof(curlapi_syms) / sizeof(curlapi_syms[0]); i++) {
		void *fn = dlsym(lib, curlapi_syms[i].name);

		if (!fn)
			return err_set(e, "libcurl: %s", dlerror());
		/* POSIX guarantees that a dlsym() result converts to a function
		 * pointer; copy the bytes to say so without a cast warning. */
		memcpy((char *)&curlapi_table + curlapi_syms[i].off, &fn, sizeof(fn));
	}
	if (curlapi_table.global_init(curlapi_bg.init_flags) != CURLE_OK)
		return err_set(e, "libcurl initialisation failed");
	curlapi_loaded = 1;
	return 0;
}

static void *curlapi_bg_main(void *arg)
{
	(void)arg;
	curlapi_bg.rc = curlapi_do_load(&curlapi_bg.e);
	return NULL;
}

void curlapi_preload(int tls)
{
	if (curlapi_loaded || curlapi_bg.started)
		return;
	curlapi_bg.init_flags = tls ? CURL_GLOBAL_DEFAULT : CURL_GLOBAL_NOTHING;
	curlapi_bg.started = pthread_create(&curlapi_bg.thread, NULL, curlapi_bg_main, NULL) == 0;
}

int curlapi_load(const struct curlapi **ret, struct err *e)
{
	if (curlapi_bg.started) {
		pthread_join(curlapi_bg.thread, NULL);
		curlapi_bg.started = 0;
		if (curlapi_bg.rc < 0)
			return err_set(e, "%s", err_msg(&curlapi_bg.e));
	}
	if (!curlapi_loaded && curlapi_do_load(e) < 0)
		return -1;
	*ret = &curlapi_table;
	return 0;
}
