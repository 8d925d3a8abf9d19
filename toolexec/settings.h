#ifndef GODISTCC_SETTINGS_H
#define GODISTCC_SETTINGS_H
/*
 * The shim's settings: one table (settings.c) of options with their
 * defaults, loaded as defaults -> config file -> environment. The config file
 * is $GODISTCC_CONFIG (which must then exist), else
 * $XDG_CONFIG_HOME/godistcc/config or ~/.config/godistcc/config (optional).
 * Only compile and asm jobs load settings: every other tool is passed
 * through before this module runs, reading GODISTCC_LOCAL_SLOTS only
 * (settings_local_slots_env()).
 */
#include <stdio.h>

struct err;

struct settings {
	char *dispatcher; /* the HTTP base URL, "http://host:port", or NULL when
			   * the setting names only a socket ("unix:PATH") */
	char *socket_path; /* the local socket to try first, or NULL */
	int socket_only;   /* no HTTP when the socket is absent */
	int fallback;	  /* run locally on infrastructure trouble */
	char *asm_mode;	  /* "local" or "remote" */
	long timeout_s;	  /* one job, including queueing */
	long connect_timeout_ms;
	char *compress;	 /* "auto", "always" or "never" */
	char *cache_dir; /* NULL: derived from XDG_CACHE_HOME or HOME */
	char *log_path;	 /* NULL: no logging */
	char *log_level; /* "error", "warn", "info", "debug" */
	char *token_file; /* the cluster's shared secret (auth.h); NULL: none */
	char *ca_file;	  /* CA certificates for https:// dispatchers; NULL: system's */

	/* Tools run on this host at once (localslots.h); 0: no limit. Valid
	 * even when settings_load() fails: then from the environment, else
	 * the default. */
	long local_slots;
	char *local_slots_text; /* the setting: "auto" or a count */
};

/* The one setting that pass-through tools (link, vet, cgo, ...) read: they
 * run before settings are loaded, from the environment alone. */
#define SETTINGS_LOCAL_SLOTS_ENV "GODISTCC_LOCAL_SLOTS"

/*
 * Loads and validates s. On failure s still holds every layer loaded before
 * the error (at least the defaults), so callers may consult s->fallback;
 * release it either way.
 */
int settings_load(struct settings *s, struct err *e);
void settings_release(struct settings *s);

/* Whether asm jobs go to the dispatcher. */
int settings_asm_remote(const struct settings *s);
/* Whether bundles to and from the dispatcher are zstd-compressed: "auto"
 * means no for a loopback dispatcher (127.x, ::1, localhost), yes otherwise. */
int settings_compress(const struct settings *s);
/* The toolchain hash cache directory, or NULL when none can be derived.
 * Caller frees. */
char *settings_cache_dir(const struct settings *s);

/* The local slot count for pass-through tools: GODISTCC_LOCAL_SLOTS from
 * the environment (no config file), the default when unset or invalid. */
long settings_local_slots_env(void);

/* Prints one paragraph per setting: variable, meaning, default. */
void settings_usage(FILE *out);

#endif
