/* lung_mask: a lung mask from a CT volume in Hounsfield units, for the severity check
 * (severity.h: lesion volume as a fraction of the lung). Rule (docs/consistency.md):
 *   1. air = voxels with HU < air_hu (-320; NAN padding is not air);
 *   2. 3-D 6-connected components of air; a component touching the volume's in-plane border
 *      (first / last row or column of any slice) is the air around the patient, dropped;
 *   3. the lungs = the largest remaining components, at most max_components (2: the two
 *      lungs, or one when they touch through the airways), each at least min_frac of the
 *      largest (smaller ones: trachea, bowel gas, emphysema outside the lung field);
 *   4. holes filled slice by slice (vessels, airways walls and lesions enclosed by lung):
 *      in-plane 4-connected regions of non-lung not reachable from the slice border.
 * Lesions touching the chest wall are not enclosed: severity.h takes the union of this mask
 * and the lesion mask as the lung. */
#ifndef C2SEG_DICOM_SR_LUNG_MASK_H
#define C2SEG_DICOM_SR_LUNG_MASK_H

#include "base/base.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct lung_mask_rule {
    double air_hu;          /* -320 */
    int max_components;     /* 2 */
    double min_frac;        /* 0.1: a kept component is >= 10 % of the largest */
} lung_mask_rule;

lung_mask_rule lung_mask_rule_default(void);

typedef struct lung_mask_stats {
    int64_t air_voxels;        /* HU < air_hu */
    int n_components;          /* inner air components (not touching the in-plane border) */
    int n_kept;                /* kept as lung */
    int64_t kept_voxels;       /* before hole filling */
    int64_t lung_voxels;       /* after hole filling */
} lung_mask_stats;

/* hu [D][H][W] (slices of H rows x W columns), lung [D*H*W] written 0/1; rule NULL = default.
 * Fails (C2_EINVAL) on bad sizes, C2_ENOMEM. */
int lung_mask_from_hu(const float *hu, int D, int H, int W, const lung_mask_rule *rule, uint8_t *lung,
                      lung_mask_stats *stats, c2_err *e);

/* The same mask one slice at a time, for volumes read slice by slice (c2seg predict): create
 * for D slices of H x W; add the D slices hu [H][W] in order; finish (picks the lungs); then
 * take the D lung slices [H][W] (0/1) in the same order; stats after the last. Holds one bit
 * per voxel (the air) and a few slices; identical to lung_mask_from_hu, which is built on it. */
typedef struct lung_mask_stream lung_mask_stream;
int lung_mask_stream_create(lung_mask_stream **s, int D, int H, int W, const lung_mask_rule *rule, c2_err *e);
int lung_mask_stream_add(lung_mask_stream *s, const float *hu, c2_err *e);
/* The same as lung_mask_stream_add for a slice whose air (HU below the rule's air_hu, NaN not
 * air) was found elsewhere: bits [(H * W + 7) / 8], bit p = bits[p / 8] >> p % 8 (c2seg
 * predict: io's dicom_read_below_isolated, so only bits leave the decoder's worker). */
int lung_mask_stream_add_air(lung_mask_stream *s, const uint8_t *bits, c2_err *e);
int lung_mask_stream_finish(lung_mask_stream *s, c2_err *e);
int lung_mask_stream_slice(lung_mask_stream *s, uint8_t *lung, c2_err *e);
/* After finish: the remaining lung slices as bits in place of their air (no memory more):
 * *bits = [(D * H * W + 7) / 8], voxel (z, y, x) at bit (z * H + y) * W + x, valid until free. */
int lung_mask_stream_to_bits(lung_mask_stream *s, const uint8_t **bits, c2_err *e);
void lung_mask_stream_stats(const lung_mask_stream *s, lung_mask_stats *stats);
void lung_mask_stream_free(lung_mask_stream *s);

#ifdef __cplusplus
}
#endif
#endif
