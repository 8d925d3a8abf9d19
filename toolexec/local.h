#ifndef GODISTCC_LOCAL_H
#define GODISTCC_LOCAL_H
/*
 * The shim's side of the local socket (PROTOCOL, "Local socket"): hands a
 * job to the dispatchd of this user on this host, which reads the inputs in
 * place. Costs the shim one connection, a JSON request naming the inputs,
 * and reading the answer: no HTTP client, archive library or hashing, so
 * the shim binary that takes this path links none of them.
 */

struct answer;
struct err;
struct job;
struct settings;

/*
 * Runs j (parsed, inputs listed) through the socket at path. On success
 * *ret is the validated answer (free with answer_free()). Fails with
 * *ret_absent set when no daemon listens at path, with j->local_reason set
 * when the job should simply run locally, otherwise with e naming the
 * trouble.
 */
int local_submit(const struct settings *s, struct job *j, const char *path, struct answer **ret,
		 int *ret_absent, struct err *e);

#endif
