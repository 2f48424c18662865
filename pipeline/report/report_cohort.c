/* pipeline/report_cohort: the cohort numbers of `c2seg report`, from the per-case
 * records of predictions.json (whose agreement flags come from dicom-sr/consistency.h):
 *   prediction_vs_text     cases with a text: laterality / zone / count agreement rates
 *   decoded_vs_text        the same after --text-decode (when predict used it)
 *   prediction_vs_ground_truth  cases with a ground truth: the masks' laterality / zones
 *   ground_truth_vs_text   the ceiling: how often the ground truth itself agrees with its text
 *   dice                   mean Dice, and split by consistent / inconsistent prediction
 *   quality_gate           the "inconsistent" flag as a detector of Dice < a threshold
 *                          (dicom-sr/quality_gate.h): precision / recall over the cases with
 *                          text and ground truth; per part too in a merged report
 *   severity               CT volumes: the predicted lesion share of the lung against the
 *                          text's severity (dicom-sr/severity.h), when any case has one
 * Rates are means of 0/1 flags over the cases that have the inputs; null when none. */
#include "pipeline/report/report.h"

#include "dicom-sr/quality_gate.h"
#include "dicom-sr/severity.h"

#include <cjson/cJSON.h>
#include <string.h>

typedef struct rate_acc {
    double sum[5];
    int n;
} rate_acc;

static const char *const rate_names[5] = {"laterality_exact", "zone_exact", "zone_jaccard", "count_exact_zones",
                                          "count_exact_components"};

static double flag(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNumber(v) ? v->valuedouble : cJSON_IsTrue(v) ? 1.0 : 0.0;
}

static void rate_add(rate_acc *r, const cJSON *agreement)
{
    if (!cJSON_IsObject(agreement))
        return;
    for (int k = 0; k < 5; k++)
        r->sum[k] += flag(agreement, rate_names[k]);
    r->n++;
}

static cJSON *rate_json(const rate_acc *r, int n_fields)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "n", r->n);
    for (int k = 0; k < n_fields; k++) {
        if (r->n)
            cJSON_AddNumberToObject(o, rate_names[k], r->sum[k] / r->n);
        else
            cJSON_AddNullToObject(o, rate_names[k]);
    }
    return o;
}

static void mean_add(cJSON *o, const char *name, double sum, int n)
{
    if (n)
        cJSON_AddNumberToObject(o, name, sum / n);
    else
        cJSON_AddNullToObject(o, name);
}

const cJSON *report_path_get(const cJSON *o, const char *a, const char *b)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
    return b ? cJSON_GetObjectItemCaseSensitive(x, b) : x;
}

/* The gate over the cases of one part (part NULL: all cases). */
static cJSON *gate_json(const cJSON *cases, const char *part, double gate_dice)
{
    quality_gate g;
    quality_gate_init(&g, gate_dice);
    const cJSON *c;
    cJSON_ArrayForEach(c, cases)
    {
        if (strcmp(report_str(c, "status"), "ok") != 0 || (part && strcmp(report_str(c, "part"), part) != 0) ||
            !cJSON_IsString(report_path_get(c, "text", "text")))
            continue;
        const cJSON *d = report_path_get(report_path_get(c, "ground_truth", NULL), "dice", NULL);
        const cJSON *agr = report_path_get(report_path_get(c, "consistency", NULL), "agreement", NULL);
        if (cJSON_IsNumber(d) && cJSON_IsObject(agr))
            quality_gate_add(&g, cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(agr, "consistent")), d->valuedouble);
    }
    return quality_gate_json(&g);
}

/* "quality_gate": the whole cohort, plus "by_part" in a merged report. */
static cJSON *gate_block(const cJSON *cases, double gate_dice)
{
    cJSON *o = gate_json(cases, NULL, gate_dice), *by = NULL;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases)
    {
        const char *part = report_str(c, "part");
        if (!part[0] || (by && cJSON_GetObjectItemCaseSensitive(by, part)))
            continue;
        if (!by)
            by = cJSON_AddObjectToObject(o, "by_part");
        cJSON_AddItemToObject(by, part, gate_json(cases, part, gate_dice));
    }
    return o;
}

cJSON *report_cohort_json(const cJSON *cases, double gate_dice)
{
    rate_acc pt = {0}, dt = {0}, pg = {0}, gt = {0};
    double dice = 0, dice_c = 0, dice_i = 0, dice_dec = 0;
    int n = 0, n_ok = 0, n_dice = 0, n_c = 0, n_i = 0, n_dec = 0, n_cons = 0, n_text = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, cases)
    {
        n++;
        if (strcmp(report_str(c, "status"), "ok") != 0)
            continue;
        n_ok++;
        int has_text = cJSON_IsString(report_path_get(c, "text", "text"));
        const cJSON *agr = report_path_get(report_path_get(c, "consistency", NULL), "agreement", NULL);
        int consistent = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(agr, "consistent"));
        if (has_text) {
            n_text++;
            rate_add(&pt, agr);
            n_cons += consistent;
            rate_add(&dt, report_path_get(report_path_get(c, "consistency_decoded", NULL), "agreement", NULL));
        }
        const cJSON *g = cJSON_GetObjectItemCaseSensitive(c, "ground_truth");
        if (!cJSON_IsObject(g))
            continue;
        rate_add(&pg, cJSON_GetObjectItemCaseSensitive(g, "prediction_vs_ground_truth"));
        if (has_text)
            rate_add(&gt, report_path_get(report_path_get(g, "consistency", NULL), "agreement", NULL));
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(g, "dice"), *dd = cJSON_GetObjectItemCaseSensitive(g, "dice_decoded");
        if (cJSON_IsNumber(d)) {
            dice += d->valuedouble, n_dice++;
            if (has_text && consistent)
                dice_c += d->valuedouble, n_c++;
            else if (has_text)
                dice_i += d->valuedouble, n_i++;
        }
        if (cJSON_IsNumber(dd))
            dice_dec += dd->valuedouble, n_dec++;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "cases", n);
    cJSON_AddNumberToObject(o, "cases_ok", n_ok);
    cJSON_AddNumberToObject(o, "cases_with_text", n_text);
    cJSON_AddNumberToObject(o, "cases_consistent", n_cons);
    cJSON_AddItemToObject(o, "prediction_vs_text", rate_json(&pt, 5));
    if (dt.n)
        cJSON_AddItemToObject(o, "decoded_vs_text", rate_json(&dt, 5));
    cJSON_AddItemToObject(o, "prediction_vs_ground_truth", rate_json(&pg, 4));
    cJSON_AddItemToObject(o, "ground_truth_vs_text", rate_json(&gt, 5));
    cJSON *d = cJSON_AddObjectToObject(o, "dice");
    cJSON_AddNumberToObject(d, "n", n_dice);
    mean_add(d, "mean", dice, n_dice);
    cJSON_AddNumberToObject(d, "n_consistent", n_c);
    mean_add(d, "consistent", dice_c, n_c);
    cJSON_AddNumberToObject(d, "n_inconsistent", n_i);
    mean_add(d, "inconsistent", dice_i, n_i);
    if (n_dec)
        mean_add(d, "decoded", dice_dec, n_dec);
    cJSON_AddItemToObject(o, "quality_gate", gate_block(cases, gate_dice));
    severity_cohort sev = {0};
    cJSON_ArrayForEach(c, cases)
    {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(c, "severity");
        if (strcmp(report_str(c, "status"), "ok") != 0 || !cJSON_IsObject(s))
            continue;
        severity_record r = {0};
        const cJSON *agree = cJSON_GetObjectItemCaseSensitive(s, "agree");
        r.agree = cJSON_IsBool(agree) ? cJSON_IsTrue(agree) : -1;
        r.category_diff = (int)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(s, "category_diff"));
        severity_cohort_add(&sev, &r);
    }
    if (sev.n)
        cJSON_AddItemToObject(o, "severity", severity_cohort_json(&sev));
    return o;
}

const char *report_str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : "";
}
