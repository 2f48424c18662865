/* metrics: per-image segmentation metrics of METHOD.md §7 on binary masks
 * (row-major [H,W], nonzero = foreground):
 * - Dice = 2|P∩G| / (|P|+|G|), IoU = |P∩G| / |P∪G|; both 1 when both masks are
 *   empty and 0 when exactly one is.
 * - HD95: the boundary of a mask is the mask minus its 4-connected erosion (outside
 *   the image counts as background, so foreground on the image edge is boundary).
 *   The distances from every boundary pixel of P to the nearest boundary pixel of G
 *   and from every boundary pixel of G to the nearest of P are pooled into one set,
 *   and HD95 is its 95th percentile with linear interpolation (numpy's default:
 *   position 0.95·(n−1) in the sorted set). Both empty: 0. Exactly one empty: the
 *   image diagonal sqrt(H² + W²) (in mm: sqrt((H·sy)² + (W·sx)²)).
 * Distances are Euclidean between pixel centres, in pixels, and in mm when the pixel
 * spacing (sy = row spacing, sx = column spacing, mm) is known. */
#ifndef C2SEG_TRAIN_METRICS_H
#define C2SEG_TRAIN_METRICS_H

#include "base/base.h"

#include <stdint.h>

typedef struct seg_metrics {
    double dice, iou;
    double hd95_px;
    double hd95_mm;        /* NAN when the spacing is unknown */
} seg_metrics;

/* pred, gt: [H,W]. sy, sx: pixel spacing in mm, or <= 0 when unknown.
 * Returns C2_OK, or C2_ENOMEM (the boundary lists need 2·H·W ints of scratch). */
int metrics_image(seg_metrics *out, const uint8_t *pred, const uint8_t *gt, int H, int W, double sy, double sx,
                  c2_err *e);

/* The 95th percentile (linear interpolation) of v[0..n) (sorted in place); 0 for n = 0. */
double metrics_percentile95(double *v, size_t n);

#endif
