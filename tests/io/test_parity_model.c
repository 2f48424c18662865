/* `c2seg parity` on every golden dump of the PyTorch reference (../shared/reference):
 * the whole C2Seg forward (eval and train-mode BatchNorm), the loss, the backward
 * (every grad.*), one SGD step (post.*), the stage-I heads and CaCL must match the
 * reference within the tolerances of docs/model.md. Tiny and small presets, batch 2. */
#include "tests/support/check.h"

#include <stdlib.h>
#include <string.h>

/* Runs parity; returns its exit status and checks the summary's counts. */
static int parity(const char *dump, const char *params, const char *extra, int min_compared)
{
    char pf[4200] = "";
    if (params)
        snprintf(pf, sizeof pf, "--params-from %s", shared_path(params));
    char *out = run_capture("%s parity %s %s %s 2>/dev/null; echo \"rc=$?\"", c2seg_bin(), shared_path(dump), pf,
                            extra);
    CHECK_MSG(out != NULL, "%s", dump);
    if (!out)
        return -1;
    int rc = -1, compared = -1;
    const char *r = strstr(out, "rc="), *c = strstr(out, "\"compared\":");
    if (r)
        rc = atoi(r + 3);
    if (c)
        compared = atoi(c + 11);
    CHECK_MSG(compared >= min_compared, "%s: %d tensors compared, expected >= %d", dump, compared, min_compared);
    free(out);
    return rc;
}

static void test_tiny_eval(void) { CHECK(parity("reference/golden_tiny_eval", NULL, "", 50) == 0); }
static void test_small_eval(void) { CHECK(parity("reference/golden_small_eval", NULL, "", 50) == 0); }

static void test_tiny_train(void)
{
    CHECK(parity("reference/golden_tiny_train", "reference/golden_tiny_eval", "", 340) == 0);
}

static void test_small_train(void)
{
    CHECK(parity("reference/golden_small_train", "reference/golden_small_eval", "", 340) == 0);
}

/* The comparison can fail: a thousandth of the tolerance rejects float rounding. */
static void test_tight_tolerance_fails(void)
{
    CHECK(parity("reference/golden_tiny_eval", NULL, "--tolerance-scale 1e-3", 50) == 3);
}

/* The same on a train dump, whose tolerances follow the measured float32 noise floor
 * (tiny: 10-100x the manifest's f64_check): that floor still rejects a hundredth of it. */
static void test_tight_tolerance_fails_train(void)
{
    CHECK(parity("reference/golden_tiny_train", "reference/golden_tiny_eval", "--tolerance-scale 1e-2", 340) == 3);
}

static void test_train_dump_without_params_fails(void)
{
    CHECK(run_cmd("%s parity %s >/dev/null 2>&1", c2seg_bin(), shared_path("reference/golden_tiny_train")) == 3);
}

int main(void)
{
    RUN_TEST(test_tiny_eval);
    RUN_TEST(test_small_eval);
    RUN_TEST(test_tiny_train);
    RUN_TEST(test_small_train);
    RUN_TEST(test_tight_tolerance_fails);
    RUN_TEST(test_tight_tolerance_fails_train);
    RUN_TEST(test_train_dump_without_params_fails);
    return test_summary();
}
