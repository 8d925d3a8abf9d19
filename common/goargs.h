#ifndef GODISTCC_GOARGS_H
#define GODISTCC_GOARGS_H
/*
 * The argument model of one compile or asm invocation, as the go command
 * passes it (go1.21+). Parsing follows Go's flag package (-f v, -f=v, --f,
 * boolean and count flags, "--" and the first non-flag ending the flags) and
 * objabi's @response files (read relative to cwd, one argument per line,
 * "\\" and "\n" escapes, nested).
 *
 * Each argument is classified, so that the shim can find the job's inputs and
 * outputs and the daemon can relocate paths into a sandbox. A flag that the
 * model does not know, or one that writes side files (-json, -cpuprofile,
 * -memprofile, -bench, -d dumps, ...), makes the invocation "local only":
 * goargs_parse() still succeeds and sets local_reason. Only parse errors
 * (unreadable response file, a flag missing its value) fail.
 */
#include <stddef.h>

struct err;

enum goargs_tool { GOARGS_COMPILE, GOARGS_ASM };
/* "compile" or "asm": the tool's name in manifests and logs. */
const char *goargs_tool_name(enum goargs_tool tool);

enum goargs_kind {
	GA_PLAIN,     /* a flag whose value (if any) is not a path */
	GA_IN_FILE,   /* value is an input file: -symabis -pgoprofile -coveragecfg */
	GA_OUT_FILE,  /* value is an output file: -o -asmhdr -linkobj */
	GA_IN_DIR,    /* value is an include directory (asm -I) */
	GA_TRIMPATH,  /* value is a -trimpath rewrite list */
	GA_IMPORTCFG, /* value is the -importcfg file (an input) */
	GA_EMBEDCFG,  /* value is the -embedcfg file (an input) */
	GA_SOURCE,    /* positional: a .go or .s source file (an input) */
};

struct goargs_item {
	enum goargs_kind kind;
	char *flag;  /* "-o", "-race", ...: the flag as written without "=value";
		      * NULL for GA_SOURCE */
	char *value; /* the flag's value or the source path; NULL for a boolean
		      * or count flag written without "=" */
	int inline_value; /* value was written as -flag=value (one argument) */
};

struct goargs {
	enum goargs_tool tool;
	size_t n;
	struct goargs_item *items; /* owned */
	/* NULL when the invocation can run remotely; otherwise a static string
	 * naming why not, e.g. "flag -json writes side files". */
	const char *local_reason;
};

/* "compile" or "asm" from the basename of a tool path (a trailing ".exe" is
 * ignored). Returns 0 and sets *ret_tool, or -1 for any other tool. */
int goargs_tool_from_path(const char *path, enum goargs_tool *ret_tool);

/*
 * Parses argv (the tool's arguments, without the tool path itself).
 * cwd is the directory @response files are relative to. With cwd NULL any
 * @ argument fails: the daemon parses client arguments that way, because it
 * must never read a file a client named. On success the caller owns *ret and
 * frees it with goargs_free().
 */
int goargs_parse(enum goargs_tool tool, size_t argc, const char *const *argv, const char *cwd,
		 struct goargs **ret, struct err *e);
void goargs_free(struct goargs *ga);

/*
 * Renders the model back to an argument vector: each item becomes "-flag=value"
 * when it was written inline, "-flag" "value" otherwise, and sources stay
 * positional after a "--"-free flag list. Response files are not recreated
 * (the vector is the expanded form). The caller frees the strings and the
 * vector; the vector is NULL-terminated and *ret_argc excludes the NULL.
 */
int goargs_render(const struct goargs *ga, char ***ret_argv, size_t *ret_argc);
void goargs_free_argv(char **argv);

/* The value of the first item of a kind, or NULL. Borrowed from ga. */
const char *goargs_find(const struct goargs *ga, enum goargs_kind kind);

#endif
