/* batch: model input batches gathered from a cohort cache. */
#ifndef C2SEG_TRAIN_BATCH_H
#define C2SEG_TRAIN_BATCH_H

#include "base/base.h"
#include "io/cache.h"

/* One model input batch gathered from the cache: images normalised (x - 0.5) / 0.25
 * [B,1,S,S], ground truth [B,1,S,S] in {0,1}, text tokens [B,24,512], mask [B,24],
 * pooled [B,512]. Samples without a caption get the encoding of the empty caption. */
typedef struct fit_batch {
    int cap, S;
    float *img, *gt, *tokens, *pooled;
    int32_t *tmask;
    float *empty_tokens, *empty_pooled;
    int32_t *empty_mask;
} fit_batch;
int fit_batch_create(fit_batch *b, int cap, int S, c2_err *e);
void fit_batch_fill(fit_batch *b, const cache *c, const int64_t *idx, int n);
void fit_batch_free(fit_batch *b);

/* C2_EINVAL naming the first of samples idx[0..n) with a non-finite pixel. */
int fit_check_finite(const cache *c, const int64_t *idx, int64_t n, c2_err *e);

#endif
