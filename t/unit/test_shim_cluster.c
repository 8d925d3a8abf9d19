/*
 * Tests for toolexec/cluster.c: the dispatcher's table of hosts as godistcc
 * --status prints it and godistcc -j sums it up. The document is hostile:
 * wrong types, error answers, huge numbers and terminal escapes must give
 * a clear error or harmless text, never a crash.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../toolexec/cluster.c"

/* clang-format off */
#define SHA_A "3f2a91c0" "00000000000000000000000000000000000000000000000000000000"
#define SHA_B "9b1d04e2" "00000000000000000000000000000000000000000000000000000000"

/* A host object with the given fields after "name". */
#define HOST(name, url, source, state, slots, running, tcs)                                    \
	"{\"name\":\"" name "\",\"url\":" url ",\"source\":\"" source "\",\"state\":\"" state  \
	"\",\"slots\":" #slots ",\"running\":" #running ",\"peak\":2,\"done\":10,\"failed\":1," \
	"\"toolchains\":" tcs ",\"ms_per_unit\":0.004}"

#define DOC(hosts)                                                                             \
	"{\"protocol\":1,\"name\":\"disp\",\"queued\":3,\"heartbeat_ms\":1000,"                \
	"\"down_after_ms\":3000,\"hosts\":[" hosts "]}"

static const char cluster_doc[] = DOC(
	HOST("disp", "null", "self", "up", 1, 0, "[]") ","
	HOST("v1", "\"http://10.0.0.2:3633\"", "peer", "up", 2, 1, "[\"" SHA_A "\",\"" SHA_B "\"]") ","
	HOST("v2", "\"http://10.0.0.3:3633\"", "join", "down", 4, 0, "[\"" SHA_A "\"]") ","
	HOST("v3", "\"http://10.0.0.4:3633\"", "peer", "backoff", 8, 0, "[]") ","
	HOST("v4", "\"http://10.0.0.5:3633\"", "peer", "busy", 16, 0, "[]"));
/* clang-format on */

static struct cluster *parse_ok(const char *text)
{
	struct cluster *c = NULL;
	struct err e = {0};

	cr_assert_eq(cluster_parse(text, strlen(text), &c, &e), 0, "%s", err_msg(&e));
	return c;
}

/* The error cluster_parse() gives for text, which must fail. */
static const char *parse_error(const char *text)
{
	static struct err e;
	struct cluster *c = NULL;

	err_clear(&e);
	cr_assert_lt(cluster_parse(text, strlen(text), &c, &e), 0, "accepted: %s", text);
	cr_assert_null(c);
	return err_msg(&e);
}

/* What cluster_print() prints. Caller frees. */
static char *printed(const struct cluster *c, const char *where)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_not_null(f);
	cluster_print(c, where, f);
	fclose(f);
	return text;
}

Test(shim_cluster, table_rows_and_summary)
{
	struct cluster *c = parse_ok(cluster_doc);
	char *out = printed(c, "unix:/run/user/1000/godistcc/dispatchd.sock");

	cr_assert_str_eq(
	    out,
	    "NAME  URL                   SOURCE  STATE    SLOTS  RUNNING  PEAK  DONE  FAILED  "
	    "TOOLCHAINS\n"
	    "disp  -                     self    up           1        0     2    10       1  0\n"
	    "v1    http://10.0.0.2:3633  peer    up           2        1     2    10       1  "
	    "2: 3f2a91c0 9b1d04e2\n"
	    "v2    http://10.0.0.3:3633  join    down         4        0     2    10       1  "
	    "1: 3f2a91c0\n"
	    "v3    http://10.0.0.4:3633  peer    backoff      8        0     2    10       1  0\n"
	    "v4    http://10.0.0.5:3633  peer    busy        16        0     2    10       1  0\n"
	    "dispatcher disp at unix:/run/user/1000/godistcc/dispatchd.sock: 2 of 5 hosts up, 3 of "
	    "31 slots up, 1 running, 3 queued\n");
	free(out);
	cluster_free(c);
}

Test(shim_cluster, suggestion_counts_hosts_that_are_up)
{
	struct cluster *c = parse_ok(cluster_doc);

	/* disp (1) and v1 (2) are up; down, backoff and busy hosts take no jobs. */
	cr_assert_eq(cluster_suggest_p(c, 2), 6);
	cr_assert_eq(cluster_suggest_p(c, 16), 16, "never below the local CPUs");
	cluster_free(c);
	c = parse_ok(DOC(""));
	cr_assert_eq(cluster_suggest_p(c, 4), 4);
	cr_assert_eq(cluster_suggest_p(c, 0), 1, "always at least 1");
	cluster_free(c);
}

Test(shim_cluster, empty_cluster_prints_header_and_summary)
{
	struct cluster *c = parse_ok(DOC(""));
	char *out = printed(c, "http://127.0.0.1:3633");

	cr_assert_str_eq(
	    out, "NAME  URL  SOURCE  STATE  SLOTS  RUNNING  PEAK  DONE  FAILED  TOOLCHAINS\n"
		 "dispatcher disp at http://127.0.0.1:3633: 0 of 0 hosts up, 0 of 0 "
		 "slots up, 0 running, 3 queued\n");
	free(out);
	cluster_free(c);
}

Test(shim_cluster, many_toolchains_show_count_and_three_prefixes)
{
	struct cluster *c = parse_ok(
	    DOC(HOST("v", "null", "peer", "up", 1, 0,
		     "[\"aaaaaaaa1\",\"bbbbbbbb2\",\"cccccccc3\",\"dddddddd4\",\"eeeeeeee5\"]")));
	char *out = printed(c, "x");

	cr_assert_not_null(strstr(out, "  5: aaaaaaaa bbbbbbbb cccccccc ...\n"), "%s", out);
	free(out);
	cluster_free(c);
}

/* A host with a "refuses" list (dispatchers from this version on). */
#define HOST_REFUSES(refuses)                                                                  \
	"{\"name\":\"v\",\"url\":null,\"source\":\"peer\",\"state\":\"up\",\"slots\":1,"      \
	"\"running\":0,\"peak\":0,\"done\":0,\"failed\":0,\"toolchains\":[\"" SHA_A "\"],"         \
	"\"refuses\":" refuses ",\"ms_per_unit\":0}"

Test(shim_cluster, refused_toolchains_follow_the_held_ones)
{
	struct cluster *c = parse_ok(DOC(HOST_REFUSES("[\"" SHA_B "\"]")));
	char *out = printed(c, "x");

	cr_assert_not_null(strstr(out, "  1: 3f2a91c0; refuses 1: 9b1d04e2\n"), "%s", out);
	free(out);
	cluster_free(c);
	c = parse_ok(DOC(HOST_REFUSES("[]")));
	out = printed(c, "x");
	cr_assert_not_null(strstr(out, "  1: 3f2a91c0\n"), "an empty list is not shown: %s", out);
	free(out);
	cluster_free(c);
	cr_assert_str_eq(parse_error(DOC(HOST_REFUSES("\"x\""))),
			 "sent a malformed cluster table: hosts[0]: \"refuses\" is not an array");
	cr_assert_str_eq(parse_error(DOC(HOST_REFUSES("[7]"))),
			 "sent a malformed cluster table: hosts[0]: \"refuses\"[0] is not a string");
}

Test(shim_cluster, escapes_never_reach_the_terminal)
{
	struct cluster *c = parse_ok(
	    DOC(HOST("ev\\u001b[2Jil\\u00e9", "\"http://x\\u0007\"", "peer", "up\\n", 1, 0, "[]")));
	char *out = printed(c, "x");

	cr_assert_null(strchr(out, '\033'), "%s", out);
	cr_assert_null(strchr(out, '\007'), "%s", out);
	cr_assert_not_null(strstr(out, "ev?[2Jil??  http://x?  peer    up?  "), "%s", out);
	free(out);
	cluster_free(c);
}

Test(shim_cluster, long_cells_are_cut)
{
	char name[200], doc[1024], want[128];
	struct cluster *c;
	char *out;

	memset(name, 'n', 150);
	name[150] = '\0';
	snprintf(doc, sizeof(doc), DOC(HOST("%s", "null", "peer", "up", 1, 0, "[]")), name);
	c = parse_ok(doc);
	out = printed(c, "x");
	/* 61 bytes of the name and "...": 64, the widest a cell gets. */
	snprintf(want, sizeof(want), "\n%.61s...  -    peer", name);
	cr_assert_not_null(strstr(out, want), "%s", out);
	free(out);
	cluster_free(c);
}

Test(shim_cluster, error_answer_is_reported)
{
	cr_assert_str_eq(
	    parse_error("{\"protocol\":1,\"error\":\"not_found\",\"message\":\"no route "
			"GET /v1/cluster\"}"),
	    "answered not_found: no route GET /v1/cluster");
	cr_assert_str_eq(parse_error("{\"error\":\"forbidden\"}"),
			 "answered forbidden: (no message)");
}

Test(shim_cluster, other_protocol_is_refused)
{
	cr_assert_str_eq(parse_error("{\"protocol\":2,\"name\":\"d\",\"queued\":0,\"hosts\":[]}"),
			 "speaks protocol 2, not 1");
	cr_assert_str_eq(parse_error("{\"name\":\"d\",\"queued\":0,\"hosts\":[]}"),
			 "sent a malformed cluster table: no \"protocol\" number");
}

Test(shim_cluster, wrong_types_name_the_field)
{
	cr_assert_str_eq(
	    parse_error(DOC(HOST("v", "null", "peer", "up", "2", 0, "[]"))),
	    "sent a malformed cluster table: hosts[0]: \"slots\" is not an integer from "
	    "0 to 1048576");
	cr_assert_str_eq(
	    parse_error(DOC(HOST("v", "null", "peer", "up", -1, 0, "[]"))),
	    "sent a malformed cluster table: hosts[0]: \"slots\" is not an integer from "
	    "0 to 1048576");
	cr_assert_str_eq(
	    parse_error(DOC(HOST("v", "null", "peer", "up", 2000000, 0, "[]"))),
	    "sent a malformed cluster table: hosts[0]: \"slots\" is not an integer from "
	    "0 to 1048576");
	cr_assert_str_eq(
	    parse_error(DOC(HOST("v", "null", "peer", "up", 1, 9223372036854775807, "[]"))),
	    "sent a malformed cluster table: hosts[0]: \"running\" is not an integer "
	    "from 0 to 1099511627776");
	cr_assert_str_eq(
	    parse_error(DOC(HOST("v", "7", "peer", "up", 1, 0, "[]"))),
	    "sent a malformed cluster table: hosts[0]: \"url\" is not a string or null");
	cr_assert_str_eq(
	    parse_error(DOC(HOST("v", "null", "peer", "up", 1, 0, "{}"))),
	    "sent a malformed cluster table: hosts[0]: \"toolchains\" is not an array");
	cr_assert_str_eq(parse_error(DOC(HOST("v", "null", "peer", "up", 1, 0, "[\"a\",3]"))),
			 "sent a malformed cluster table: hosts[0]: \"toolchains\"[1] is not a "
			 "string");
	cr_assert_str_eq(parse_error(DOC("{}," HOST("v", "null", "peer", "up", 1, 0, "[]"))),
			 "sent a malformed cluster table: hosts[0]: \"name\" is not a string");
	cr_assert_str_eq(parse_error(DOC(HOST("v", "null", "peer", "up", 1, 0, "[]") ",[]")),
			 "sent a malformed cluster table: hosts[1]: not an object");
	cr_assert_str_eq(parse_error("{\"protocol\":1,\"name\":\"d\",\"queued\":0,\"hosts\":{}}"),
			 "sent a malformed cluster table: \"hosts\" is not an array");
	cr_assert_str_eq(parse_error("{\"protocol\":1,\"name\":\"d\",\"hosts\":[]}"),
			 "sent a malformed cluster table: \"queued\" is not an integer from 0 to "
			 "1099511627776");
}

Test(shim_cluster, garbage_is_refused)
{
	cr_assert_not_null(strstr(parse_error(""), "sent a malformed cluster table: not JSON"));
	cr_assert_not_null(strstr(parse_error("<html>\033[31m"), "not JSON"));
	cr_assert_null(strchr(parse_error("\033[31m"), '\033'), "jansson's message is cleaned");
	cr_assert_str_eq(parse_error("[1,2]"), "sent a malformed cluster table: not a JSON object");
	cr_assert_str_eq(parse_error("null"),
			 "sent a malformed cluster table: not JSON: '[' or '{' "
			 "expected near 'null'");
}

/* Every prefix of a good document, and each with one byte flipped, parses
 * or fails cleanly (ASan and UBSan watch in make unit-sanitize). */
Test(shim_cluster, truncations_and_flips_never_crash)
{
	size_t n = strlen(cluster_doc);
	char *copy = xmalloc(n + 1);

	for (size_t len = 0; len <= n; len++) {
		struct cluster *c = NULL;

		memcpy(copy, cluster_doc, n + 1);
		if (cluster_parse(copy, len, &c, NULL) == 0) {
			cr_assert_eq(len, n, "a prefix of %zu bytes parsed", len);
			cluster_free(c);
		}
		if (len < n) {
			copy[len] ^= 0x5a;
			if (cluster_parse(copy, n, &c, NULL) == 0)
				cluster_free(c);
		}
	}
	free(copy);
}

Test(shim_cluster, check_passes_documents_through_and_refuses_errors)
{
	const char doc[] = "{\"protocol\":1,\"future\":{\"field\":[1]}}";
	struct err e = {0};

	cr_assert_eq(cluster_check(doc, strlen(doc), &e), 0, "%s", err_msg(&e));
	const char err_doc[] = "{\"protocol\":1,\"error\":\"internal\",\"message\":\"m\"}";
	cr_assert_lt(cluster_check(err_doc, strlen(err_doc), &e), 0);
	cr_assert_str_eq(err_msg(&e), "answered internal: m");
}
