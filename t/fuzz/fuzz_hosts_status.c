/*
 * dispatchd/hosts.c: a volunteer's answer to GET /v1/status, as the
 * dispatcher's monitor takes it (hosts_poll(): JSON, then
 * hosts_take_status_locked()), and the cluster table built from it.
 * hosts.c is included to reach the static functions.
 */
#include "fuzz.h"

#include "../../dispatchd/hosts.c"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_init("fuzz_hosts_status", LOG_ERROR, NULL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct hosts_opts o = {.self_name = "disp", .self_slots = 1, .heartbeat_ms = 1000,
				     .down_after_ms = 3000};
	struct hosts *h;
	struct host *host;
	json_t *st, *doc;
	char *text;

	if (size > HOSTS_STATUS_MAX_BYTES)
		return 0;
	st = json_loadb((const char *)data, size, 0, NULL);
	if (!json_is_object(st)) {
		json_decref(st);
		return 0;
	}
	h = hosts_new(&o);
	FUZZ_ASSERT(hosts_add_peer(h, "http://127.0.0.1:1", NULL) == 0);
	host = hosts_find_locked(h, "http://127.0.0.1:1");
	pthread_mutex_lock(&h->mu);
	/* Twice: a second poll refreshes what the first one learnt. */
	hosts_take_status_locked(host, st, monotime_ms());
	hosts_take_status_locked(host, st, monotime_ms());
	pthread_mutex_unlock(&h->mu);
	FUZZ_ASSERT(host->slots >= 0 && host->slots <= 4096);
	FUZZ_ASSERT(host->ntoolchains <= HOSTS_TOOLCHAINS_MAX);
	FUZZ_ASSERT(strlen(host->name) <= HOST_NAME_MAX_LEN);
	for (size_t i = 0; i < host->ntoolchains; i++)
		FUZZ_ASSERT(hash_is_valid(host->toolchains[i]));
	/* GET /v1/cluster lists every host, whatever it said. */
	doc = hosts_cluster_json(h);
	FUZZ_ASSERT(json_array_size(json_object_get(doc, "hosts")) == h->n);
	text = json_dumps(doc, JSON_COMPACT);
	FUZZ_ASSERT(text);
	free(text);
	json_decref(doc);
	json_decref(st);
	hosts_free(h);
	return 0;
}
