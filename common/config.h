#ifndef GODISTCC_CONFIG_H
#define GODISTCC_CONFIG_H
/*
 * Table-driven configuration. A program describes its options in one table
 * (name, type, default, environment variable, help, destination) and loads
 * them in order: defaults, then a file, then the environment, then flags;
 * each layer overrides the one before. The file format is "name = value"
 * lines with '#' comments. Errors name the source and the option.
 */
#include <stdio.h>

struct err;

enum config_type {
	CONFIG_STRING, /* dest: char ** (owned by the config, strdup'ed) */
	CONFIG_INT,    /* dest: long *, decimal */
	CONFIG_BOOL,   /* dest: int *, 1/0/true/false/yes/no/on/off */
	CONFIG_LIST,   /* dest: struct config_list *, repeatable; appends */
};

struct config_list {
	size_t n;
	char **items;
};

struct config_opt {
	const char *name; /* as in the file and as --name on a command line */
	enum config_type type;
	const char *def;  /* default as text; NULL for none */
	const char *env;  /* environment variable, or NULL */
	const char *help;
	void *dest;
	/* The value's name in --help (NULL: N for an integer, VALUE for a
	 * string or list; a flag takes none). */
	const char *metavar;
};

/* Sets every option to its default. Table ends with a row whose name is NULL. */
int config_defaults(const struct config_opt *tab, struct err *e);
/* Sets one option from text; source names the layer in errors. */
int config_set(const struct config_opt *tab, const char *name, const char *value,
	       const char *source, struct err *e);
/* Loads "name = value" lines. A missing file is an error only if required. */
int config_load_file(const struct config_opt *tab, const char *path, int required,
		     struct err *e);
/* Loads every option whose env variable is set. */
int config_load_env(const struct config_opt *tab, struct err *e);
/* Prints "  --name METAVAR  help (default: x; env: Y)" rows. */
void config_usage(const struct config_opt *tab, FILE *out);
/* Frees strings and lists the table owns. */
void config_release(const struct config_opt *tab);

#endif
