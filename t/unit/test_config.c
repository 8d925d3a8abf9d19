#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "err.h"

#include "banned.h"

static char *opt_dispatcher;
static char *opt_logfile;
static long opt_jobs;
static int opt_fallback;
static int opt_verbose;
static struct config_list opt_hosts;

static const struct config_opt tab[] = {
    {"dispatcher", CONFIG_STRING, "http://127.0.0.1:3633", "TEST_GODISTCC_DISPATCHER", "daemon URL",
     &opt_dispatcher, "URL"},
    {"log-file", CONFIG_STRING, NULL, NULL, "log file", &opt_logfile, NULL},
    {"jobs", CONFIG_INT, "4", "TEST_GODISTCC_JOBS", "parallel jobs", &opt_jobs, NULL},
    {"fallback", CONFIG_BOOL, "true", "TEST_GODISTCC_FALLBACK", "run locally on trouble",
     &opt_fallback, NULL},
    {"verbose", CONFIG_BOOL, NULL, NULL, "chatty", &opt_verbose, NULL},
    {"host", CONFIG_LIST, "a,b", "TEST_GODISTCC_HOSTS", "hosts", &opt_hosts, "HOST"},
    {NULL, 0, NULL, NULL, NULL, NULL, NULL},
};

static char *cfg_path;

static void setup(void)
{
	struct err e = {0};

	unsetenv("TEST_GODISTCC_DISPATCHER");
	unsetenv("TEST_GODISTCC_JOBS");
	unsetenv("TEST_GODISTCC_FALLBACK");
	unsetenv("TEST_GODISTCC_HOSTS");
	cr_assert_eq(config_defaults(tab, &e), 0, "%s", err_msg(&e));
	cfg_path = xstrdup("/tmp/test_config.XXXXXX");
	int fd = mkstemp(cfg_path);
	cr_assert(fd >= 0);
	close(fd);
}

static void teardown(void)
{
	config_release(tab);
	unlink(cfg_path);
	free(cfg_path);
}

static void write_cfg(const char *text)
{
	FILE *f = fopen(cfg_path, "w");

	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
}

static void assert_hosts(size_t n, const char *const *want)
{
	cr_assert_eq(opt_hosts.n, n, "hosts has %zu items, want %zu", opt_hosts.n, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_str_eq(opt_hosts.items[i], want[i]);
}

TestSuite(config, .init = setup, .fini = teardown);

Test(config, defaults)
{
	cr_assert_str_eq(opt_dispatcher, "http://127.0.0.1:3633");
	cr_assert_null(opt_logfile);
	cr_assert_eq(opt_jobs, 4);
	cr_assert_eq(opt_fallback, 1);
	cr_assert_eq(opt_verbose, 0);
	assert_hosts(2, (const char *const[]){"a", "b"});
}

Test(config, file_with_comments_and_blank_lines)
{
	struct err e = {0};

	write_cfg("# godistcc configuration\n"
		  "\n"
		  "   \t\n"
		  "dispatcher = http://build1:3633/#frag   # trailing comment\n"
		  "  jobs=12\n"
		  "fallback = off\n"
		  "verbose = YES\n"
		  "log-file = /var/log/godistcc.log\n");
	cr_assert_eq(config_load_file(tab, cfg_path, 1, &e), 0, "%s", err_msg(&e));
	cr_assert_str_eq(opt_dispatcher, "http://build1:3633/#frag");
	cr_assert_eq(opt_jobs, 12);
	cr_assert_eq(opt_fallback, 0);
	cr_assert_eq(opt_verbose, 1);
	cr_assert_str_eq(opt_logfile, "/var/log/godistcc.log");
}

static void assert_file_error(const char *text, int line, const char *what)
{
	struct err e = {0};
	char *where = xasprintf("%s:%d:", cfg_path, line);

	write_cfg(text);
	cr_assert_lt(config_load_file(tab, cfg_path, 1, &e), 0, "accepted: %s", text);
	cr_assert(strstr(err_msg(&e), where) != NULL, "no %s in: %s", where, err_msg(&e));
	cr_assert(strstr(err_msg(&e), what) != NULL, "no %s in: %s", what, err_msg(&e));
	free(where);
}

Test(config, file_errors_name_file_and_line)
{
	assert_file_error("jobs = 2\n# ok\njust some words\n", 3, "expected 'name = value'");
	assert_file_error("\n= 5\n", 2, "expected 'name = value'");
	assert_file_error("jobs = 2\nwarp-speed = 9\n", 2, "unknown option 'warp-speed'");
	assert_file_error("jobs = many\n", 1, "'many' is not a decimal integer");
	assert_file_error("jobs = 99999999999999999999999\n", 1, "out of range");
	assert_file_error("\n\nfallback = maybe\n", 3, "not a boolean");
}

Test(config, bad_value_leaves_option_unchanged)
{
	struct err e = {0};

	write_cfg("jobs = 7x\n");
	cr_assert_lt(config_load_file(tab, cfg_path, 1, &e), 0);
	cr_assert_eq(opt_jobs, 4);
}

Test(config, missing_file)
{
	struct err e = {0};

	cr_assert_eq(config_load_file(tab, "/nonexistent/godistcc.conf", 0, &e), 0);
	cr_assert_not(e.set);
	cr_assert_lt(config_load_file(tab, "/nonexistent/godistcc.conf", 1, &e), 0);
	cr_assert(strstr(err_msg(&e), "/nonexistent/godistcc.conf") != NULL, "%s", err_msg(&e));
}

Test(config, env_overrides_file)
{
	struct err e = {0};

	write_cfg("jobs = 12\ndispatcher = http://from-file\n");
	cr_assert_eq(config_load_file(tab, cfg_path, 1, &e), 0, "%s", err_msg(&e));
	setenv("TEST_GODISTCC_JOBS", "32", 1);
	setenv("TEST_GODISTCC_FALLBACK", "0", 1);
	/* Set but empty counts as unset. */
	setenv("TEST_GODISTCC_DISPATCHER", "", 1);
	cr_assert_eq(config_load_env(tab, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(opt_jobs, 32);
	cr_assert_eq(opt_fallback, 0);
	cr_assert_str_eq(opt_dispatcher, "http://from-file");
}

Test(config, env_error_names_variable)
{
	struct err e = {0};

	setenv("TEST_GODISTCC_FALLBACK", "perhaps", 1);
	cr_assert_lt(config_load_env(tab, &e), 0);
	cr_assert(strstr(err_msg(&e), "TEST_GODISTCC_FALLBACK") != NULL, "%s", err_msg(&e));
	cr_assert(strstr(err_msg(&e), "fallback") != NULL, "%s", err_msg(&e));
}

Test(config, bool_parsing)
{
	static const char *const yes[] = {"1", "true", "TRUE", "yes", "Yes", "on"};
	static const char *const no[] = {"0", "false", "no", "off", "OFF"};
	static const char *const bad[] = {"", "2", "y", "enable", "true ", "-1"};
	struct err e = {0};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		opt_verbose = 0;
		cr_assert_eq(config_set(tab, "verbose", yes[i], "test", &e), 0, "%s", yes[i]);
		cr_assert_eq(opt_verbose, 1, "%s", yes[i]);
	}
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		opt_verbose = 1;
		cr_assert_eq(config_set(tab, "verbose", no[i], "test", &e), 0, "%s", no[i]);
		cr_assert_eq(opt_verbose, 0, "%s", no[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		cr_assert_lt(config_set(tab, "verbose", bad[i], "test", &e), 0, "'%s'", bad[i]);
	}
	/* A bare flag turns a boolean on. */
	opt_verbose = 0;
	cr_assert_eq(config_set(tab, "verbose", NULL, "--verbose", &e), 0);
	cr_assert_eq(opt_verbose, 1);
}

Test(config, unknown_option_and_missing_value)
{
	struct err e = {0};

	cr_assert_lt(config_set(tab, "jobz", "3", "command line", &e), 0);
	cr_assert_str_eq(err_msg(&e), "command line: unknown option 'jobz'");
	err_clear(&e);
	cr_assert_lt(config_set(tab, "jobs", NULL, "command line", &e), 0);
	cr_assert(strstr(err_msg(&e), "needs a value") != NULL, "%s", err_msg(&e));
	cr_assert_eq(opt_jobs, 4);
}

Test(config, list_options)
{
	struct err e = {0};

	/* Flags append, one or several items at a time. */
	cr_assert_eq(config_set(tab, "host", "c", "--host", &e), 0);
	cr_assert_eq(config_set(tab, "host", "d e,f", "--host", &e), 0);
	assert_hosts(6, (const char *const[]){"a", "b", "c", "d", "e", "f"});
	/* An empty value empties the list. */
	cr_assert_eq(config_set(tab, "host", "", "--host", &e), 0);
	assert_hosts(0, NULL);
}

Test(config, list_layers_replace)
{
	struct err e = {0};

	/* The file replaces the default; repeated lines accumulate. */
	write_cfg("host = x1\nhost = x2, x3\n");
	cr_assert_eq(config_load_file(tab, cfg_path, 1, &e), 0, "%s", err_msg(&e));
	assert_hosts(3, (const char *const[]){"x1", "x2", "x3"});
	/* The environment replaces the file. */
	setenv("TEST_GODISTCC_HOSTS", "  e1 e2  ", 1);
	cr_assert_eq(config_load_env(tab, &e), 0, "%s", err_msg(&e));
	assert_hosts(2, (const char *const[]){"e1", "e2"});
}

Test(config, strings_replace_and_release)
{
	struct err e = {0};

	cr_assert_eq(config_set(tab, "log-file", "/a", "test", &e), 0);
	cr_assert_eq(config_set(tab, "log-file", "/b", "test", &e), 0);
	cr_assert_str_eq(opt_logfile, "/b");
	config_release(tab);
	cr_assert_null(opt_logfile);
	cr_assert_null(opt_dispatcher);
	cr_assert_eq(opt_hosts.n, 0);
	/* Defaults can be loaded again after a release. */
	cr_assert_eq(config_defaults(tab, &e), 0);
	cr_assert_str_eq(opt_dispatcher, "http://127.0.0.1:3633");
}

Test(config, bad_default_is_reported)
{
	long n = 0;
	const struct config_opt bad[] = {
	    {"n", CONFIG_INT, "ten", NULL, "a number", &n, NULL},
	    {NULL, 0, NULL, NULL, NULL, NULL, NULL},
	};
	struct err e = {0};

	cr_assert_lt(config_defaults(bad, &e), 0);
	cr_assert(strstr(err_msg(&e), "default: option 'n': 'ten'") != NULL, "%s", err_msg(&e));
}

Test(config, usage_lists_every_option)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	cr_assert_not_null(f);
	config_usage(tab, f);
	fclose(f);
	cr_assert(strstr(text, "  --dispatcher URL  ") != NULL, "%s", text);
	cr_assert(strstr(text, "daemon URL (default: http://127.0.0.1:3633; env: "
			       "TEST_GODISTCC_DISPATCHER)\n") != NULL,
		  "%s", text);
	/* The value's name: the row's own, else by type; a flag has none. */
	cr_assert(strstr(text, "  --log-file VALUE  ") != NULL, "%s", text);
	cr_assert(strstr(text, "  --jobs N  ") != NULL, "%s", text);
	cr_assert(strstr(text, "  --host HOST  ") != NULL, "%s", text);
	cr_assert(strstr(text, "  --verbose     ") != NULL, "%s", text);
	cr_assert(strstr(text, "--verbose VALUE") == NULL, "%s", text);
	cr_assert(strstr(text, "chatty\n") != NULL, "%s", text);
	free(text);
}
