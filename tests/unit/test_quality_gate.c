/* dicom-sr/quality_gate: precision / recall of "inconsistent" at catching Dice < threshold,
 * on ten hand-listed cases whose counts are worked out below by hand. */
#include "dicom-sr/dicom_sr.h"
#include "tests/support/check.h"

#include <cjson/cJSON.h>

static double num(const cJSON *o, const char *k) { return cJSON_GetNumberValue(cJSON_GetObjectItem(o, k)); }

static void counts_on_ten_cases(void)
{
    /* dice, consistent. Poor (< 0.5): .45 .2 .1 .49 .3 = 5; flagged: .7 .45 .2 .49 = 4;
     * both: .45 .2 .49 = 3 -> precision 3/4, recall 3/5; 0.5 itself is not poor. */
    static const double dice[10] = {0.9, 0.8, 0.7, 0.45, 0.2, 0.1, 0.5, 0.49, 0.6, 0.3};
    static const int cons[10] = {1, 1, 0, 0, 0, 1, 1, 0, 1, 1};
    quality_gate g;
    quality_gate_init(&g, QUALITY_GATE_DICE);
    for (int i = 0; i < 10; i++)
        quality_gate_add(&g, cons[i], dice[i]);
    CHECK(g.tp == 3 && g.fp == 1 && g.fn == 2 && g.tn == 4);
    cJSON *j = quality_gate_json(&g);
    CHECK(num(j, "n") == 10 && num(j, "n_poor") == 5 && num(j, "n_flagged") == 4);
    CHECK_NEAR(num(j, "precision"), 0.75, 1e-12);
    CHECK_NEAR(num(j, "recall"), 0.6, 1e-12);
    cJSON_Delete(j);
    /* threshold 0.75: poor adds .7 and .6 and .5: poor 8, tp 4 (adds .7), precision 1, recall 4/8 */
    quality_gate_init(&g, 0.75);
    for (int i = 0; i < 10; i++)
        quality_gate_add(&g, cons[i], dice[i]);
    CHECK(g.tp == 4 && g.fp == 0 && g.fn == 4 && g.tn == 2);
}

static void empty_is_null_and_parse(void)
{
    quality_gate g;
    quality_gate_init(&g, 0.5);
    quality_gate_add(&g, 1, 0.9); /* nothing flagged, nothing poor */
    cJSON *j = quality_gate_json(&g);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(j, "precision")) && cJSON_IsNull(cJSON_GetObjectItem(j, "recall")));
    cJSON_Delete(j);
    double t = -1;
    CHECK(quality_gate_parse("0.3", &t) == 0 && t == 0.3);
    CHECK(quality_gate_parse("1.5", &t) == -1 && quality_gate_parse("x", &t) == -1 && quality_gate_parse("", &t) == -1);
    CHECK(quality_gate_parse("nan", &t) == -1 && quality_gate_parse("0.5x", &t) == -1);
}

int main(void)
{
    RUN_TEST(counts_on_ten_cases);
    RUN_TEST(empty_is_null_and_parse);
    return test_summary();
}
