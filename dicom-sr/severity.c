/* severity: predicted lesion fraction of the lung against the report's CT category,
 * percentage or severity word (rules in severity.h), per volume and per cohort. */
#include "dicom-sr/severity.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

int severity_ct_category(double pct)
{
    return pct <= 0 ? 0 : pct < 25 ? 1 : pct < 50 ? 2 : pct < 75 ? 3 : 4;
}

void severity_compare(const uint8_t *lesion, const uint8_t *lung, int64_t n, const prose_attrs *text,
                      double tolerance_pct, severity_record *r)
{
    int64_t lesion_voxels = 0, lung_voxels = 0;
    for (int64_t i = 0; i < n; i++) {
        int les = lesion[i] != 0;
        lesion_voxels += les;
        lung_voxels += les || lung[i];
    }
    severity_from_counts(lesion_voxels, lung_voxels, text, tolerance_pct, r);
}

void severity_from_counts(int64_t lesion_voxels, int64_t lung_voxels, const prose_attrs *text, double tolerance_pct,
                          severity_record *r)
{
    memset(r, 0, sizeof *r);
    if (tolerance_pct < 0)
        tolerance_pct = 5;
    r->lesion_voxels = lesion_voxels;
    r->lung_voxels = lung_voxels;
    r->pct = r->lung_voxels > 0 ? 100.0 * (double)r->lesion_voxels / (double)r->lung_voxels : 0;
    r->category = severity_ct_category(r->pct);
    r->cat_lo = r->cat_hi = -1;
    r->agree = -1;
    if (!text)
        return;
    if (text->ct_category >= 0) {
        r->cat_lo = r->cat_hi = text->ct_category;
        snprintf(r->stated, sizeof r->stated, "CT%d", text->ct_category);
        if (text->ct_stated || text->pct_lo < 0) {
            r->agree = r->category == text->ct_category;
        } else {
            /* a percentage: its range, widened by the tolerance */
            if (text->pct_hi > text->pct_lo)
                snprintf(r->stated, sizeof r->stated, "pct%g-%g", text->pct_lo, text->pct_hi);
            else
                snprintf(r->stated, sizeof r->stated, "pct%g", text->pct_lo);
            r->cat_lo = severity_ct_category(text->pct_lo);
            r->cat_hi = severity_ct_category(text->pct_hi);
            r->agree = r->pct >= text->pct_lo - tolerance_pct && r->pct <= text->pct_hi + tolerance_pct;
        }
    } else if (text->sev_lo > 0) {
        static const char *w[] = {"", "mild", "moderate", "severe"};
        snprintf(r->stated, sizeof r->stated, "%s", w[text->sev_hi > text->sev_lo ? text->sev_hi : text->sev_lo]);
        r->cat_lo = text->sev_lo;                       /* mild 1, moderate 2, severe 3 */
        r->cat_hi = text->sev_hi == 3 ? 4 : text->sev_hi;   /* severe: CT-3 or CT-4 */
        r->agree = r->category >= r->cat_lo && r->category <= r->cat_hi;
    } else if (text->negative) {
        snprintf(r->stated, sizeof r->stated, "negative");
        r->cat_lo = r->cat_hi = 0;
        r->agree = r->category == 0;
    }
    if (r->agree == 0)
        r->category_diff = r->category < r->cat_lo ? r->cat_lo - r->category : r->category - r->cat_hi;
    if (r->category_diff < 0)
        r->category_diff = 0;
}

void severity_cohort_add(severity_cohort *c, const severity_record *r)
{
    c->n++;
    if (r->agree < 0)
        return;
    c->n_stated++;
    c->n_agree += r->agree;
    c->category_diff_sum += r->category_diff;
}

cJSON *severity_record_json(const severity_record *r)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "lesion_voxels", (double)r->lesion_voxels);
    cJSON_AddNumberToObject(o, "lung_voxels", (double)r->lung_voxels);
    cJSON_AddNumberToObject(o, "percent", r->pct);
    cJSON_AddNumberToObject(o, "category", r->category);
    cJSON_AddStringToObject(o, "stated", r->stated);
    if (r->agree < 0)
        cJSON_AddNullToObject(o, "agree");
    else
        cJSON_AddBoolToObject(o, "agree", r->agree);
    if (r->agree >= 0)
        cJSON_AddNumberToObject(o, "category_diff", r->category_diff);
    return o;
}

cJSON *severity_cohort_json(const severity_cohort *c)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "n", (double)c->n);
    cJSON_AddNumberToObject(o, "n_stated", (double)c->n_stated);
    if (c->n_stated > 0) {
        cJSON_AddNumberToObject(o, "agree_rate", (double)c->n_agree / (double)c->n_stated);
        cJSON_AddNumberToObject(o, "mean_category_diff", c->category_diff_sum / (double)c->n_stated);
    } else {
        cJSON_AddNullToObject(o, "agree_rate");
        cJSON_AddNullToObject(o, "mean_category_diff");
    }
    return o;
}
