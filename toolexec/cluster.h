#ifndef GODISTCC_CLUSTER_H
#define GODISTCC_CLUSTER_H
/*
 * The dispatcher's table of hosts as the shim sees it (PROTOCOL, GET
 * /v1/cluster, and the local socket's cluster request), for godistcc
 * --status and -j (status.h). The document is hostile input: its size is
 * capped by the caller (CLUSTER_MAX_BYTES), every field's type is checked,
 * and every string is reduced to printable ASCII before it can reach a
 * terminal. Links libc and jansson only.
 */
#include <stddef.h>
#include <stdio.h>

struct err;

/* The most slots one host may claim: keeps the -p suggestion sane. */
#define CLUSTER_SLOTS_MAX (1 << 20)

struct cluster_host {
	char *name;   /* strings: printable ASCII, others replaced by '?' */
	char *url;    /* NULL when the document has none (the dispatcher itself) */
	char *source; /* "self", "peer", "join" (shown as sent) */
	char *state;  /* "up", "down", "backoff", "busy" (shown as sent) */
	long long slots, running, peak, done, failed;
	size_t ntoolchains;
	char **toolchains; /* hex SHA-256s, as sent (cleaned) */
	size_t nrefuses;
	char **refuses; /* those its policy refused lately (none from older daemons) */
};

struct cluster {
	char *name; /* the dispatcher's */
	long long queued;
	size_t nhosts;
	struct cluster_host *hosts;
};

/*
 * Parses and checks text (len bytes, the whole answer). An error answer
 * ({"error": code, "message": ...}) fails with e saying "answered CODE:
 * MESSAGE"; a malformed one with e naming the first bad field. On success
 * *ret is the table (free with cluster_free()).
 */
int cluster_parse(const char *text, size_t len, struct cluster **ret, struct err *e);
/* Checks only that text is a document of this protocol, not an error
 * answer: what --status --json needs before passing it through. */
int cluster_check(const char *text, size_t len, struct err *e);
void cluster_free(struct cluster *c);

/* Prints one row per host under a header, then a summary line naming the
 * dispatcher as where (e.g. "unix:/run/user/1000/godistcc/dispatchd.sock"). */
void cluster_print(const struct cluster *c, const char *where, FILE *out);

/* The -p to suggest: twice the slots of the hosts that are up, at least
 * ncpu (the local CPUs), at least 1. */
long long cluster_suggest_p(const struct cluster *c, long ncpu);

#endif
