#include "settings.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "localslots.h"
#include "localsock.h"
#include "log.h"
#include "protocol.h"

#include "banned.h"

/* One row per setting; dest is found by offset so the table stays static. */
struct settings_row {
	const char *name;
	enum config_type type;
	const char *def;
	const char *env;
	const char *help;
	size_t off;
};

/* clang-format off */
#define ROW(n, t, d, v, h, f) {n, t, d, v, h, offsetof(struct settings, f)}
/* clang-format on */
static const struct settings_row settings_rows[] = {
    ROW("dispatcher", CONFIG_STRING, "auto", "GODISTCC_DISPATCHER",
	"the dispatch daemon (dispatchd) that runs compile jobs: an http:// or https:// "
	"URL; unix:PATH for the local socket of a dispatchd on this host, run by this "
	"user; or auto: the default local socket ($XDG_RUNTIME_DIR/godistcc/"
	"dispatchd.sock, else /tmp/godistcc-UID/dispatchd.sock) when a dispatchd listens "
	"there, else " GODISTCC_DEFAULT_DISPATCHER,
	dispatcher),
    ROW("fallback", CONFIG_BOOL, "1", "GODISTCC_FALLBACK",
	"when the dispatcher cannot run a job, run it locally after one warning per go "
	"command; 0 makes such failures fail the build instead",
	fallback),
    ROW("asm", CONFIG_STRING, "local", "GODISTCC_ASM",
	"where asm jobs run: local (they take ~10 ms) or remote", asm_mode),
    ROW("timeout", CONFIG_INT, "900", "GODISTCC_TIMEOUT",
	"seconds one remote job may take, queueing included", timeout_s),
    ROW("connect_timeout_ms", CONFIG_INT, "2000", "GODISTCC_CONNECT_TIMEOUT_MS",
	"milliseconds to wait for a connection to the dispatcher", connect_timeout_ms),
    ROW("compress", CONFIG_STRING, "auto", "GODISTCC_COMPRESS",
	"zstd-compress job and answer bundles: always, never, or auto (never for a "
	"loopback dispatcher, always otherwise)",
	compress),
    ROW("cache_dir", CONFIG_STRING, NULL, "GODISTCC_CACHE_DIR",
	"directory for the toolchain hash cache (default $XDG_CACHE_HOME/godistcc or "
	"~/.cache/godistcc)",
	cache_dir),
    ROW("log", CONFIG_STRING, NULL, "GODISTCC_LOG",
	"file to append log lines to (default: none, the shim is silent)", log_path),
    ROW("log_level", CONFIG_STRING, "info", "GODISTCC_LOG_LEVEL", "error, warn, info or debug",
	log_level),
    ROW("token_file", CONFIG_STRING, NULL, "GODISTCC_TOKEN_FILE",
	"file holding the cluster's shared token (mode 600); every HTTP request to the "
	"dispatcher then carries proof of it. The local socket needs none", token_file),
    ROW("ca_file", CONFIG_STRING, NULL, "GODISTCC_CA_FILE",
	"CA certificates (PEM) that an https:// dispatcher's certificate must chain to "
	"(default: the system's store)", ca_file),
    ROW("local_slots", CONFIG_STRING, "auto", SETTINGS_LOCAL_SLOTS_ENV,
	"how many tools may run on this host at once, counted over all of this user's go "
	"commands: pass-through tools (link, vet, cgo, ...), local asm and compiles that run "
	"locally; the others wait. auto: the number of CPUs godistcc may run on; 0: no limit. "
	"Pass-through tools read the environment variable only, never the config file",
	local_slots_text),
};
#undef ROW

#define SETTINGS_NROWS (sizeof(settings_rows) / sizeof(settings_rows[0]))

static void settings_table(struct settings *s, struct config_opt tab[SETTINGS_NROWS + 1])
{
	for (size_t i = 0; i < SETTINGS_NROWS; i++) {
		const struct settings_row *r = &settings_rows[i];

		tab[i] = (struct config_opt){.name = r->name,
					     .type = r->type,
					     .def = r->def,
					     .env = r->env,
					     .help = r->help,
					     .dest = (char *)s + r->off};
	}
	tab[SETTINGS_NROWS] = (struct config_opt){0};
}

/* The config file and whether it must exist. Caller frees; NULL for none. */
static char *settings_file(int *ret_required)
{
	const char *p = getenv("GODISTCC_CONFIG");
	const char *home;

	*ret_required = 0;
	if (p && *p) {
		*ret_required = 1;
		return xstrdup(p);
	}
	if ((p = getenv("XDG_CONFIG_HOME")) && p[0] == '/')
		return xasprintf("%s/godistcc/config", p);
	if ((home = getenv("HOME")) && home[0] == '/')
		return xasprintf("%s/.config/godistcc/config", home);
	return NULL;
}

static int settings_one_of(const char *name, const char *value, const char *const *allowed,
			   struct err *e)
{
	for (size_t i = 0; allowed[i]; i++)
		if (strcmp(value, allowed[i]) == 0)
			return 0;
	return err_set(e, "setting %s: invalid value \"%s\"", name, value);
}

/* Splits the dispatcher setting into the socket to try and the URL. */
static int settings_dispatcher(struct settings *s, struct err *e)
{
	const char *d = s->dispatcher;

	if (strcmp(d, "auto") == 0) {
		s->socket_path = localsock_default_path();
		s->dispatcher = xstrdup(GODISTCC_DEFAULT_DISPATCHER);
	} else if (strncmp(d, "unix:", 5) == 0) {
		if (d[5] != '/')
			return err_set(e, "setting dispatcher: \"%s\": unix: needs an absolute path",
				       d);
		s->socket_path = xstrdup(d + 5);
		s->socket_only = 1;
		s->dispatcher = NULL;
	} else if (strncmp(d, "http://", 7) == 0 || strncmp(d, "https://", 8) == 0) {
		return 0;
	} else {
		return err_set(e,
			       "setting dispatcher: \"%s\" is not auto, unix:PATH or an http:// "
			       "or https:// URL",
			       d);
	}
	free((char *)d);
	return 0;
}

static int settings_validate(struct settings *s, struct err *e)
{
	static const char *const asm_modes[] = {"local", "remote", NULL};
	static const char *const compress_modes[] = {"auto", "always", "never", NULL};
	enum log_level level;
	size_t n;

	/* First: a fallback after any other invalid setting still honours it. */
	if (localslots_parse("local_slots", s->local_slots_text, &s->local_slots, e) < 0)
		return -1;
	if (settings_dispatcher(s, e) < 0)
		return -1;
	n = s->dispatcher ? strlen(s->dispatcher) : 0;
	while (n > 0 && s->dispatcher[n - 1] == '/')
		s->dispatcher[--n] = '\0'; /* routes are appended with their own '/' */
	if (settings_one_of("asm", s->asm_mode, asm_modes, e) < 0 ||
	    settings_one_of("compress", s->compress, compress_modes, e) < 0)
		return -1;
	if (s->timeout_s <= 0)
		return err_set(e, "setting timeout: must be a positive number of seconds");
	if (s->connect_timeout_ms <= 0)
		return err_set(e, "setting connect_timeout_ms: must be positive");
	if (log_parse_level(s->log_level, &level) < 0)
		return err_set(e, "setting log_level: invalid value \"%s\"", s->log_level);
	return 0;
}

int settings_load(struct settings *s, struct err *e)
{
	struct config_opt tab[SETTINGS_NROWS + 1];
	char *file = NULL;
	int required, r;

	*s = (struct settings){0};
	s->local_slots = settings_local_slots_env();
	settings_table(s, tab);
	if ((r = config_defaults(tab, e)) < 0)
		goto out;
	file = settings_file(&required);
	if (file && (r = config_load_file(tab, file, required, e)) < 0)
		goto out;
	if ((r = config_load_env(tab, e)) < 0)
		goto out;
	r = settings_validate(s, e);
out:
	free(file);
	return r;
}

void settings_release(struct settings *s)
{
	struct config_opt tab[SETTINGS_NROWS + 1];

	if (!s)
		return;
	settings_table(s, tab);
	config_release(tab);
	free(s->socket_path);
	*s = (struct settings){0};
}

long settings_local_slots_env(void)
{
	const char *v = getenv(SETTINGS_LOCAL_SLOTS_ENV);
	long n;

	if (!v || localslots_parse(SETTINGS_LOCAL_SLOTS_ENV, v, &n, NULL) < 0)
		return localslots_cpu_count();
	return n;
}

int settings_asm_remote(const struct settings *s)
{
	return strcmp(s->asm_mode, "remote") == 0;
}

/* The host part of an http(s) URL, without brackets, port or userinfo. */
static char *settings_url_host(const char *url)
{
	const char *p = strstr(url, "://");
	const char *end, *at;

	p = p ? p + 3 : url;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));

		return close ? xstrndup(p + 1, (size_t)(close - p - 1)) : xstrdup("");
	}
	return xstrndup(p, strcspn(p, ":/?#"));
}

static int settings_host_is_loopback(const char *host)
{
	return strcasecmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
	       strncmp(host, "127.", 4) == 0;
}

int settings_compress(const struct settings *s)
{
	char *host;
	int loopback;

	if (strcmp(s->compress, "always") == 0)
		return 1;
	if (strcmp(s->compress, "never") == 0)
		return 0;
	if (!s->dispatcher)
		return 0;
	host = settings_url_host(s->dispatcher);
	loopback = settings_host_is_loopback(host);
	free(host);
	return !loopback;
}

char *settings_cache_dir(const struct settings *s)
{
	const char *p;

	if (s->cache_dir && *s->cache_dir)
		return xstrdup(s->cache_dir);
	if ((p = getenv("XDG_CACHE_HOME")) && p[0] == '/')
		return xasprintf("%s/godistcc", p);
	if ((p = getenv("HOME")) && p[0] == '/')
		return xasprintf("%s/.cache/godistcc", p);
	return NULL;
}

/* Prints text word-wrapped, each line indented. */
static void settings_wrap(FILE *out, const char *text, int indent, int width)
{
	int col = 0;

	while (*text) {
		size_t w = strcspn(text, " ");

		if (col > indent && col + 1 + (int)w > width) {
			fputc('\n', out);
			col = 0;
		}
		if (col == 0)
			col = fprintf(out, "%*s", indent, "");
		else
			col += fprintf(out, " ");
		col += fprintf(out, "%.*s", (int)w, text);
		text += w;
		text += strspn(text, " ");
	}
	fputc('\n', out);
}

void settings_usage(FILE *out)
{
	for (size_t i = 0; i < SETTINGS_NROWS; i++) {
		const struct settings_row *r = &settings_rows[i];
		char *text = r->def ? xasprintf("%s (default: %s; config file: %s).", r->help,
						r->def, r->name)
				    : xasprintf("%s (config file: %s).", r->help, r->name);

		fprintf(out, "  %s\n", r->env);
		settings_wrap(out, text, 6, 78);
		free(text);
	}
}
