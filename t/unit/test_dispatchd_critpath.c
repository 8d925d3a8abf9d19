/* The dispatcher's picture of the build graph: a job's rank is its own run
 * time plus the longest chain of dependents waiting behind it. */
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "../../dispatchd/critpath.c"

#define TC "aa11"

static void learn(struct critpath *cp, const char *tc, const char *pkg, long ms, ...)
{
	struct gocfg_paths imp = {0, NULL};
	char *list[16];
	va_list ap;
	const char *s;

	va_start(ap, ms);
	while ((s = va_arg(ap, const char *)))
		list[imp.n++] = (char *)s;
	va_end(ap);
	imp.paths = list;
	critpath_learn(cp, tc, pkg, &imp, ms);
}

/*
 * runtime <- sync <- os <- fmt <- main (a chain), and runtime <- unicode
 * (a leaf): runtime holds up the whole chain, unicode nothing.
 */
Test(critpath, rank_is_own_time_plus_longest_dependent_chain)
{
	struct critpath *cp = critpath_new(CRITPATH_MAX);

	learn(cp, TC, "runtime", 5000, NULL);
	learn(cp, TC, "unicode", 300, "runtime", NULL);
	learn(cp, TC, "sync", 400, "runtime", NULL);
	learn(cp, TC, "os", 600, "runtime", "sync", NULL);
	learn(cp, TC, "fmt", 700, "os", "sync", "unicode", NULL);
	learn(cp, TC, "main", 100, "fmt", "os", NULL);
	cr_assert_float_eq(critpath_rank(cp, TC, "main"), 100, 1e-9);
	cr_assert_float_eq(critpath_rank(cp, TC, "fmt"), 800, 1e-9);
	cr_assert_float_eq(critpath_rank(cp, TC, "os"), 1400, 1e-9);
	cr_assert_float_eq(critpath_rank(cp, TC, "sync"), 1800, 1e-9);
	cr_assert_float_eq(critpath_rank(cp, TC, "unicode"), 1100, 1e-9);
	cr_assert_float_eq(critpath_rank(cp, TC, "runtime"), 6800, 1e-9);
	cr_assert_eq(critpath_size(cp), 6);
	critpath_free(cp);
}

/* A package seen only as an import, or never, ranks by what is known. */
Test(critpath, unknown_packages)
{
	struct critpath *cp = critpath_new(CRITPATH_MAX);

	cr_assert_float_eq(critpath_rank(cp, TC, "fmt"), 0, 1e-9);
	learn(cp, TC, "fmt", 700, "os", NULL);
	cr_assert_float_eq(critpath_rank(cp, TC, "os"), 700, 1e-9); /* not run yet: 0 of its own */
	cr_assert_float_eq(critpath_rank(cp, TC, "strings"), 0, 1e-9);
	critpath_free(cp);
}

/* The same package path under another toolchain is another package. */
Test(critpath, toolchains_are_kept_apart)
{
	struct critpath *cp = critpath_new(CRITPATH_MAX);

	learn(cp, TC, "os", 600, NULL);
	learn(cp, TC, "fmt", 700, "os", NULL);
	learn(cp, "bb22", "os", 50, NULL);
	cr_assert_float_eq(critpath_rank(cp, TC, "os"), 1300, 1e-9);
	cr_assert_float_eq(critpath_rank(cp, "bb22", "os"), 50, 1e-9);
	critpath_free(cp);
}

/* A package's imports are what its latest compile named; its time a
 * moving average. */
Test(critpath, later_compiles_replace_edges_and_average_times)
{
	struct critpath *cp = critpath_new(CRITPATH_MAX);

	learn(cp, TC, "os", 600, NULL);
	learn(cp, TC, "fmt", 700, "os", NULL);
	cr_assert_float_eq(critpath_rank(cp, TC, "os"), 1300, 1e-9);
	learn(cp, TC, "fmt", 900, "strings", NULL); /* fmt no longer imports os */
	cr_assert_float_eq(critpath_rank(cp, TC, "os"), 600, 1e-9);
	cr_assert_float_eq(critpath_rank(cp, TC, "fmt"), 800, 1e-9);
	cr_assert_float_eq(critpath_rank(cp, TC, "strings"), 800, 1e-9);
	cr_assert_eq(cp->edges, 1);
	critpath_free(cp);
}

/* Keys of different builds may form a cycle; ranking still ends, and a
 * package outside the cycle is ranked in full. */
Test(critpath, cycles_end)
{
	struct critpath *cp = critpath_new(CRITPATH_MAX);

	learn(cp, TC, "a", 10, "b", NULL);
	learn(cp, TC, "b", 20, "a", "c", NULL);
	learn(cp, TC, "c", 30, NULL);
	learn(cp, TC, "d", 40, "c", NULL);
	cr_assert_float_eq(critpath_rank(cp, TC, "d"), 40, 1e-9);
	cr_assert_geq(critpath_rank(cp, TC, "c"), 70);
	critpath_rank(cp, TC, "a");
	critpath_free(cp);
}

/* A full table starts over rather than grow past its cap. */
Test(critpath, full_table_starts_over)
{
	struct critpath *cp = critpath_new(4);

	learn(cp, TC, "a", 10, "b", NULL);
	learn(cp, TC, "c", 10, "d", NULL);
	cr_assert_eq(critpath_size(cp), 4);
	learn(cp, TC, "e", 10, NULL);
	cr_assert_eq(critpath_size(cp), 1);
	cr_assert_float_eq(critpath_rank(cp, TC, "a"), 0, 1e-9);
	cr_assert_float_eq(critpath_rank(cp, TC, "e"), 10, 1e-9);
	learn(cp, TC, "f", 10, "1", "2", "3", "4", NULL); /* cannot fit: learnt nothing */
	cr_assert_leq(critpath_size(cp), 4);
	critpath_free(cp);
}

/* A full table that already holds a job's package and imports keeps
 * learning instead of starting over. */
Test(critpath, full_table_keeps_what_it_knows)
{
	struct critpath *cp = critpath_new(3);

	learn(cp, TC, "a", 10, "b", "c", NULL);
	cr_assert_eq(critpath_size(cp), 3);
	learn(cp, TC, "b", 20, "c", NULL);
	learn(cp, TC, "a", 30, "b", "c", NULL);
	cr_assert_eq(critpath_size(cp), 3);
	cr_assert_float_eq(critpath_rank(cp, TC, "b"), 20 + 20, 1e-9); /* a: (10 + 30) / 2 */
	critpath_free(cp);
}

/* A scratch directory, its file "graph.json" and a way to write one. */
static char *graph_dir(void)
{
	char *dir = xstrdup("/tmp/test_critpath.XXXXXX");

	cr_assert_not_null(mkdtemp(dir));
	return dir;
}

static char *graph_write(const char *dir, const char *text)
{
	char *path = xasprintf("%s/graph.json", dir);

	cr_assert_eq(fs_write_file(path, text, strlen(text), 0600, NULL), 0);
	return path;
}

static void graph_cleanup(char *dir, char *path)
{
	unlink(path);
	rmdir(dir);
	free(path);
	free(dir);
}

/* A restarted daemon ranks as the one before it did: the saved graph
 * loads with the same ranks, for each toolchain apart, and keeps
 * learning. */
Test(critpath, a_saved_graph_loads_with_the_same_ranks)
{
	struct critpath *cp = critpath_new(CRITPATH_MAX), *back = critpath_new(CRITPATH_MAX);
	const char *pkgs[] = {"runtime", "unicode", "sync", "os", "fmt", "main", "x"};
	char *dir = graph_dir(), *path = xasprintf("%s/graph.json", dir);
	struct err e = {0};

	learn(cp, TC, "runtime", 5000, NULL);
	learn(cp, TC, "unicode", 300, "runtime", NULL);
	learn(cp, TC, "sync", 400, "runtime", NULL);
	learn(cp, TC, "os", 600, "runtime", "sync", NULL);
	learn(cp, TC, "fmt", 700, "os", "sync", "unicode", NULL);
	learn(cp, TC, "main", 100, "fmt", "os", "x", NULL); /* x: imported only */
	learn(cp, "bb22", "runtime", 9000, NULL);
	cr_assert_eq(critpath_save(cp, path, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(critpath_load(back, path, &e), 0, "%s", err_msg(&e));
	cr_assert_eq(critpath_size(back), critpath_size(cp));
	for (size_t i = 0; i < sizeof(pkgs) / sizeof(pkgs[0]); i++)
		cr_assert_float_eq(critpath_rank(back, TC, pkgs[i]), critpath_rank(cp, TC, pkgs[i]),
				   1e-9, "%s", pkgs[i]);
	cr_assert_float_eq(critpath_rank(back, TC, "runtime"), 6800, 1e-9);
	cr_assert_float_eq(critpath_rank(back, "bb22", "runtime"), 9000, 1e-9);
	learn(back, TC, "net", 2000, "os", NULL);
	cr_assert_float_eq(critpath_rank(back, TC, "runtime"), 5000 + 400 + 600 + 2000, 1e-9);
	critpath_free(cp);
	critpath_free(back);
	graph_cleanup(dir, path);
}

/* No file yet (a new state directory): 1, and the graph is left alone. */
Test(critpath, no_saved_graph)
{
	struct critpath *cp = critpath_new(CRITPATH_MAX);
	unsigned long g;

	learn(cp, TC, "runtime", 5000, NULL);
	g = critpath_generation(cp);
	cr_assert_eq(critpath_load(cp, "/nonexistent/graph.json", NULL), 1);
	cr_assert_eq(critpath_size(cp), 1);
	cr_assert_eq(critpath_generation(cp), g);
	critpath_free(cp);
}

/* A damaged or foreign file is refused with a reason and the graph starts
 * empty: ranks only order a queue, and a bad one must not take the
 * daemon down. */
Test(critpath, a_bad_file_gives_an_empty_graph_and_a_reason)
{
	static const struct {
		const char *text, *reason;
	} bad[] = {
	    {"", "not JSON"},
	    {"{\"version\":1,\"packages\":[[\"aa11 fmt\",5", "not JSON"},
	    {"{\"version\":2,\"packages\":[]}", "version 1"},
	    {"{\"version\":1}", "version 1"},
	    {"[1,2]", "version 1"},
	    {"{\"version\":1,\"packages\":[[\"aa11 fmt\",5]]}", "package 0 is not"},
	    {"{\"version\":1,\"packages\":[[\"fmt\",5,[]]]}", "package 0 is not"},
	    {"{\"version\":1,\"packages\":[[\"aa11 fmt\",-5,[]]]}", "package 0 is not"},
	    {"{\"version\":1,\"packages\":[[\"aa11 fmt\",1e300,[]]]}", "package 0 is not"},
	    {"{\"version\":1,\"packages\":[[\"aa11 fmt\",\"5\",[]]]}", "package 0 is not"},
	    {"{\"version\":1,\"packages\":[[\"aa11 a\",5,[]],[\"aa11 a\",5,[]]]}", "listed twice"},
	    {"{\"version\":1,\"packages\":[[\"aa11 a\",5,[1]]]}", "imports no package"},
	    {"{\"version\":1,\"packages\":[[\"aa11 a\",5,[0]]]}", "imports no package"},
	    {"{\"version\":1,\"packages\":[[\"aa11 a\",5,[-1]]]}", "imports no package"},
	    {"{\"version\":1,\"packages\":[[\"aa11 a\",5,[\"0\"]],[\"aa11 b\",1,[]]]}",
	     "imports no package"},
	    {"{\"version\":1,\"packages\":[[\"aa11 a\",5,[]],[\"aa11 b\",1,[]],[\"aa11 c\",1,[]]]}",
	     "3 packages, over the limit of 2"},
	};
	char *dir = graph_dir();

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct critpath *cp = critpath_new(2);
		char *path = graph_write(dir, bad[i].text);
		struct err e = {0};

		learn(cp, TC, "runtime", 5000, NULL);
		cr_assert_eq(critpath_load(cp, path, &e), -1, "%s", bad[i].text);
		cr_assert(strstr(err_msg(&e), bad[i].reason), "%s: %s", bad[i].text, err_msg(&e));
		cr_assert(strstr(err_msg(&e), path), "%s", err_msg(&e));
		cr_assert_eq(critpath_size(cp), 0, "%s", bad[i].text);
		cr_assert_float_eq(critpath_rank(cp, TC, "runtime"), 0, 1e-9);
		learn(cp, TC, "fmt", 700, "os", NULL); /* and it keeps learning */
		cr_assert_float_eq(critpath_rank(cp, TC, "os"), 700, 1e-9);
		critpath_free(cp);
		unlink(path);
		free(path);
	}
	rmdir(dir);
	free(dir);
}

/* Only learning moves the generation that tells the daemon to save. */
Test(critpath, generation_moves_when_it_learns)
{
	struct critpath *cp = critpath_new(CRITPATH_MAX);
	unsigned long g = critpath_generation(cp);

	critpath_rank(cp, TC, "fmt");
	cr_assert_eq(critpath_generation(cp), g);
	learn(cp, TC, "fmt", 700, "os", NULL);
	cr_assert_neq(critpath_generation(cp), g);
	critpath_free(cp);
}
