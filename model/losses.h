/* losses: the Stage-II segmentation loss (METHOD.md §6)
 *
 *   L = BCE_with_logits(mean over B*H*W) + mean_b [1 - (2 sum p*g + 1) / (sum p + sum g + 1)],
 *   p = sigmoid(logits), smoothing 1 (DICE_SMOOTH).
 *
 * Its two terms, bce_forward / bce_backward and dice_forward / dice_backward, are declared
 * with the layers in model/layers_real.h (float and _f64 twins). The contrastive losses
 * of Stage I (CaCL, HardCL) are in model/cacl.h. */
#ifndef C2SEG_MODEL_LOSSES_H
#define C2SEG_MODEL_LOSSES_H

#include "model/layers.h"

/* Returns bce + dice over logits, gt (B, n_per) (gt in {0,1}); *bce and *dice (may be
 * NULL) receive the two terms. */
float seg_loss_forward(float *bce, float *dice, const float *logits, const float *gt, int B,
                       size_t n_per);
/* dlogits (B, n_per) += dloss * d(bce + dice) / d logits. */
void seg_loss_backward(float *dlogits, const float *logits, const float *gt, int B,
                       size_t n_per, float dloss);

#endif
