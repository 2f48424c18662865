/* severity: the CT severity check of the consistency report. The predicted lesion volume as a
 * fraction of the lung (lung = lung_mask_from_hu() united with the lesion mask, so lesions on
 * the chest wall count as lung) against what the report states:
 *   - a CT category CT-0..CT-4 (MosMedData: 0 %, < 25 %, 25-50 %, 50-75 %, >= 75 %): the
 *     predicted category must be equal;
 *   - else a percentage (or range "25-50 %", "< 25 %"): the predicted percentage must lie in
 *     it, widened by `tolerance_pct` points on each side (5 by default: readers estimate);
 *   - else a severity word: mild = CT-1, moderate = CT-2, severe = CT-3 or CT-4;
 *   - else a negative report: CT-0 (no lesion voxel);
 *   - otherwise the volume has no stated severity (agree = -1, not counted).
 * Per volume a severity_record; per cohort the agreement rate and the mean absolute category
 * difference over volumes with a stated severity. */
#ifndef C2SEG_DICOM_SR_SEVERITY_H
#define C2SEG_DICOM_SR_SEVERITY_H

#include "dicom-sr/lung_mask.h"
#include "dicom-sr/prose_parse.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON;

/* MosMedData's category of a percentage of lung involved: 0 for 0 %, 1 below 25, 2 below 50,
 * 3 below 75, 4 from 75. */
int severity_ct_category(double pct);

typedef struct severity_record {
    int64_t lesion_voxels;      /* predicted lesion voxels inside the volume */
    int64_t lung_voxels;        /* lung mask united with the lesion mask */
    double pct;                 /* 100 * lesion / lung (0 when the lung is empty) */
    int category;               /* severity_ct_category(pct) */
    char stated[32];            /* what the text states: "CT2", "pct25-50", "moderate", "negative", "" */
    int cat_lo, cat_hi;         /* categories the statement allows (-1 when none) */
    int agree;                  /* 1 / 0; -1 when the text states no severity */
    int category_diff;          /* |category - nearest allowed category|, 0 when agree */
} severity_record;

/* Lesion fraction of the lung of one volume. lesion [n] nonzero = lesion, lung [n] 0/1 from
 * lung_mask_from_hu (same grid). text NULL = no statement. tolerance_pct < 0 = 5. */
void severity_compare(const uint8_t *lesion, const uint8_t *lung, int64_t n, const prose_attrs *text,
                      double tolerance_pct, severity_record *out);
/* The same from the counts (a volume taken slice by slice): lesion voxels and voxels of the
 * lung united with the lesion. */
void severity_from_counts(int64_t lesion_voxels, int64_t lung_voxels, const prose_attrs *text, double tolerance_pct,
                          severity_record *out);

typedef struct severity_cohort {
    int64_t n, n_stated, n_agree;
    double category_diff_sum;
} severity_cohort;

void severity_cohort_add(severity_cohort *c, const severity_record *r);
/* {"lesion_voxels","lung_voxels","percent","category","stated","agree"[,"category_diff" when
 * agree is not null]} / cohort
 * {"n","n_stated","agree_rate"|null,"mean_category_diff"|null} as new JSON objects. */
struct cJSON *severity_record_json(const severity_record *r);
struct cJSON *severity_cohort_json(const severity_cohort *c);

#ifdef __cplusplus
}
#endif
#endif
