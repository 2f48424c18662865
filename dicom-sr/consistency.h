/* consistency: the text-mask consistency record of one case and the cohort rates of
 * METHOD.md §7. One module shared by `c2seg eval` and `c2seg report`.
 *   laterality-exact : laterality of the mask's zones == the text's laterality
 *   zone-exact       : the 6-zone vectors are equal
 *   zone-Jaccard     : |Zt & Zm| / |Zt | Zm| (1 when both are empty)
 *   count-exact      : the text's stated count == the mask's involved-zone count (the
 *                      captions' meaning), and separately == its component count
 * A caption without a stated count never counts as count-exact (as the reference).
 * The caller extracts the mask's zones with the half that matches the text's convention
 * (zone_rule.left_half), so left / right are never guessed here. */
#ifndef C2SEG_DICOM_SR_CONSISTENCY_H
#define C2SEG_DICOM_SR_CONSISTENCY_H

#include "dicom-sr/caption_parse.h"
#include "dicom-sr/zones.h"

#ifdef __cplusplus
extern "C" {
#endif

struct cJSON;

typedef struct consistency_record {
    char case_id[256];
    caption_attrs text;             /* parsed text */
    mask_zones mask;                /* zones of the mask (owns mask.components) */
    int laterality_exact;
    int zone_exact;
    double zone_jaccard;
    int count_exact_zones;
    int count_exact_components;
    int consistent;                 /* laterality_exact && zone_exact */
    double dice;                    /* vs ground truth, -1 when there is none */
} consistency_record;

/* Fills r from a parsed text and the mask's zones (takes ownership of z->components;
 * z is zeroed). dice < 0 = no ground truth. */
void consistency_compare(consistency_record *r, const char *case_id, const caption_attrs *text, mask_zones *z,
                         double dice);
/* Convenience: parses caption, extracts the mask's zones (rule NULL = default) and compares. */
int consistency_evaluate(consistency_record *r, const char *case_id, const char *caption, lr_convention conv,
                         const uint8_t *mask, int H, int W, const uint8_t *lung, const zone_rule *rule, double dice,
                         c2_err *e);
void consistency_record_free(consistency_record *r);
/* The record as a new JSON object (text, mask with components, flags, dice). */
struct cJSON *consistency_record_json(const consistency_record *r);

/* Cohort rates: means over added records; Dice split by consistent / inconsistent. */
typedef struct consistency_cohort {
    int64_t n;
    double laterality_exact, zone_exact, zone_jaccard, count_exact_zones, count_exact_components; /* sums */
    int64_t n_consistent, n_inconsistent, n_dice_consistent, n_dice_inconsistent;
    double dice_consistent, dice_inconsistent;   /* sums */
} consistency_cohort;

void consistency_cohort_init(consistency_cohort *c);
void consistency_cohort_add(consistency_cohort *c, const consistency_record *r);
/* {"n":..,"laterality_exact":..,"zone_exact":..,"zone_jaccard":..,"count_exact_zones":..,
 *  "count_exact_components":..,"n_consistent":..,"dice_consistent":..|null,"dice_inconsistent":..|null} */
struct cJSON *consistency_cohort_json(const consistency_cohort *c);

#ifdef __cplusplus
}
#endif
#endif
