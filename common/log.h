#ifndef GODISTCC_LOG_H
#define GODISTCC_LOG_H
/*
 * The logger: one per process, configured once at start-up by the program
 * (library code in common/ never logs; it returns errors). Lines go to stderr
 * or to a file, prefixed by the program name. Thread-safe: one write(2) per
 * line.
 */
enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* prog is borrowed for the life of the process. path NULL means stderr. */
int log_init(const char *prog, enum log_level level, const char *path);
void log_set_level(enum log_level level);
int log_enabled(enum log_level level);
/* Parses "error", "warn", "info", "debug". Returns 0 or -1. */
int log_parse_level(const char *s, enum log_level *ret_level);
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
