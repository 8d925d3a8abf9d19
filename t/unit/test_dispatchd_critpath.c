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
