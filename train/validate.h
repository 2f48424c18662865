/* validate: eval-mode prediction of cache samples and its per-image Dice / IoU, alone
 * (`c2seg eval`, evaluate.c) or in shares over the ranks of a training run. */
#ifndef C2SEG_TRAIN_VALIDATE_H
#define C2SEG_TRAIN_VALIDATE_H

#include "base/base.h"
#include "io/cache.h"
#include "model/c2seg.h"

/* Eval-mode forward of samples idx[0..n) in batches of `batch`; writes the binary
 * prediction (logits > 0) of each into pred [n,S,S] and, when prob != NULL, the
 * sigmoid probabilities [n,S,S]. */
int fit_predict(c2seg_model *m, const cache *c, const int64_t *idx, int64_t n, int batch, uint8_t *pred,
                float *prob, c2_err *e);

/* Per-image Dice / IoU means of pred against the cache's masks (METHOD.md §7). */
void fit_dice_iou(const cache *c, const int64_t *idx, int64_t n, const uint8_t *pred, double *dice,
                  double *iou);

/* Internal to train/: the n_valid masks of valid[] predicted in shares, rank r rows
 * [n r/R, n (r+1)/R) with rank 0's BatchNorm running statistics (broadcast first: each
 * rank kept those of its own first shard, and only rank 0's are written); then every
 * rank holds all n masks in vpred, in the order one process predicts them, so the
 * scores are one process's to the bit (tests/slow/test_mpi.sh compares them). */
struct shard_plan;
int fit_validate_in_shares(struct shard_plan *p, c2seg_model *m, const cache *c, const int64_t *valid,
                           int64_t n_valid, int B, uint8_t *vpred, c2_err *e);

#endif
