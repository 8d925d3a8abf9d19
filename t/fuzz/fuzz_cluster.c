/*
 * toolexec/cluster.c: the cluster table a dispatcher sends the shim (GET
 * /v1/cluster, or the local socket's cluster request), as godistcc
 * --status, --status --json and -j read it. Every string of a parsed table
 * must be printable ASCII before it reaches a terminal.
 */
#include "fuzz.h"

#include "../../toolexec/cluster.h"
#include "err.h"
#include "protocol.h"

static FILE *devnull;

static void check_text(const char *s)
{
	for (; s && *s; s++)
		FUZZ_ASSERT(*s >= ' ' && *s <= '~');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cluster *c = NULL;
	struct err e = {0};
	int checked;

	if (size > CLUSTER_MAX_BYTES)
		return 0;
	if (!devnull)
		devnull = fopen("/dev/null", "w");
	checked = cluster_check((const char *)data, size, &e);
	err_clear(&e);
	if (cluster_parse((const char *)data, size, &c, &e) < 0) {
		FUZZ_ASSERT(e.set);
		return 0;
	}
	FUZZ_ASSERT(checked == 0);
	check_text(c->name);
	for (size_t i = 0; i < c->nhosts; i++) {
		const struct cluster_host *h = &c->hosts[i];

		check_text(h->name);
		check_text(h->url);
		check_text(h->source);
		check_text(h->state);
		for (size_t k = 0; k < h->ntoolchains; k++)
			check_text(h->toolchains[k]);
		FUZZ_ASSERT(h->slots >= 0 && h->slots <= CLUSTER_SLOTS_MAX);
	}
	cluster_print(c, "unix:/fuzz", devnull);
	FUZZ_ASSERT(cluster_suggest_p(c, 4) >= 4);
	cluster_free(c);
	return 0;
}
