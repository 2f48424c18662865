/* evaluate: metrics and text-mask consistency of a model's predictions on a split of a
 * cohort cache (`c2seg eval`). Per image: Dice, IoU, HD95 in pixels (and mm when the
 * cache knows the pixel spacing), and the consistency record (dicom-sr/consistency.h)
 * of the prediction against its text, of the ground truth against its text (the
 * ceiling), and the prediction's zones against the ground truth's zones. */
#ifndef C2SEG_TRAIN_EVALUATE_H
#define C2SEG_TRAIN_EVALUATE_H

#include "base/base.h"
#include "io/cache.h"
#include "model/c2seg.h"

struct cJSON;

/* Predicts idx[0..n), binarises at probability > threshold (0.5: logits > 0, as
 * training's validation), and writes a per-case CSV to csv_path (atomically); returns a
 * JSON summary (caller deletes) in *summary, with "threshold", "dice_by_threshold" (the
 * mean Dice at thresholds 0.05, 0.10, .. 0.95: the curve to choose predict's --threshold
 * from) and "quality_gate": precision / recall of "inconsistent with the text" at catching
 * the cases with text whose Dice < gate_dice. */
int evaluate_split(c2seg_model *m, const cache *c, const int64_t *idx, int64_t n, int batch, double threshold,
                   double gate_dice, const char *csv_path, struct cJSON **summary, c2_err *e);

#endif
