/* base/lazylib: a library opened on first use fills its caller's table with the library's
 * own symbols (judged against libm's cos, which this test links, and the address dlsym gives
 * for the handle the loader already holds), a second open returns at once, and a library or a
 * symbol that cannot be found is one error naming it (C2_EUNSUPPORTED), with the table left
 * unopened; a module of this build absent beside the executable is looked for in the build
 * folder (C2SEG_BUILD, which the tests' environment names), and the error names that path. */
#include "base/base.h"
#include "tests/support/check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fills_the_table(void)
{
    struct {
        double (*cos)(double);
        double (*sqrt)(double);
    } t = {0};
    static const char *const names[] = {"cos", "sqrt"};
    c2_lazylib l = {"libm.so.6", "the test", 0, names, 2, &t, sizeof t, 0, 0};
    c2_err e = {0};
    CHECK(c2_lazylib_open(&l, &e) == C2_OK);
    CHECK(l.opened == 1);
    volatile double x = 0.5;
    CHECK(t.cos && t.cos(x) == cos(x));
    CHECK(t.sqrt && t.sqrt(x) == sqrt(x));
    t.cos = NULL;   /* opened: a second call does not resolve again */
    CHECK(c2_lazylib_open(&l, &e) == C2_OK);
    CHECK(t.cos == NULL);
}

static void missing_library_or_symbol(void)
{
    void *t[1] = {0};
    static const char *const names[] = {"cos"};
    c2_lazylib l = {"libc2seg-absent.so.9", "the feature", 0, names, 1, t, sizeof t, 0, 0};
    c2_err e = {0};
    CHECK(c2_lazylib_open(&l, &e) == C2_EUNSUPPORTED);
    CHECK_MSG(strstr(e.msg, "the feature needs libc2seg-absent.so.9") != NULL, "%s", e.msg);
    CHECK(l.opened == 0 && t[0] == NULL);

    static const char *const bad[] = {"cos", "c2seg_no_such_function"};
    void *t2[2] = {0};
    c2_lazylib m = {"libm.so.6", "the feature", 0, bad, 2, t2, sizeof t2, 0, 0};
    CHECK(c2_lazylib_open(&m, &e) == C2_EUNSUPPORTED);
    CHECK_MSG(strstr(e.msg, "libm.so.6") && strstr(e.msg, "c2seg_no_such_function"), "%s", e.msg);
    CHECK(m.opened == 0 && t2[0] == NULL);

    c2_lazylib w = {"libm.so.6", "the feature", 0, names, 1, t2, sizeof t2, 0, 0};   /* table of 2 for 1 name */
    CHECK(c2_lazylib_open(&w, &e) == C2_EINVAL);
    CHECK(w.opened == 0);

    /* a module of this build that is not beside the executable: the build folder's path */
    c2_lazylib mod = {"c2seg-absent.so", "the feature", 0, names, 1, t, sizeof t, 0, 1};
    CHECK(c2_lazylib_open(&mod, &e) == C2_EUNSUPPORTED);
    char want[4200];
    snprintf(want, sizeof want, "%s/c2seg-absent.so", getenv("C2SEG_BUILD") ? getenv("C2SEG_BUILD") : "?");
    CHECK_MSG(strstr(e.msg, "the feature needs c2seg-absent.so") && strstr(e.msg, want), "%s", e.msg);
    CHECK(mod.opened == 0 && t[0] == NULL);
}

int main(void)
{
    RUN_TEST(fills_the_table);
    RUN_TEST(missing_library_or_symbol);
    return test_summary();
}
