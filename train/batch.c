/* Batch assembly: cache samples into normalised model input, with text embeddings. */
#include "train/batch.h"

#include "model/text_encoder.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define IMG_MEAN 0.5f
#define IMG_STD 0.25f

int fit_batch_create(fit_batch *b, int cap, int S, c2_err *e)
{
    memset(b, 0, sizeof *b);
    b->cap = cap;
    b->S = S;
    /* one block of floats (img, gt, tokens, pooled, empty_tokens, empty_pooled) and one
     * of ints (tmask, empty_mask) */
    size_t px = (size_t)cap * S * S, tk = (size_t)TEXT_MAX_TOKENS * TEXT_DIM;
    b->img = malloc((2 * px + (size_t)(cap + 1) * (tk + TEXT_DIM)) * sizeof(float));
    b->tmask = malloc((size_t)(cap + 1) * TEXT_MAX_TOKENS * sizeof(int32_t));
    if (!b->img || !b->tmask) {
        fit_batch_free(b);
        return c2_fail(e, C2_ENOMEM, "out of memory for a batch of %d", cap);
    }
    b->gt = b->img + px;
    b->tokens = b->gt + px;
    b->pooled = b->tokens + (size_t)cap * tk;
    b->empty_tokens = b->pooled + (size_t)cap * TEXT_DIM;
    b->empty_pooled = b->empty_tokens + tk;
    b->empty_mask = b->tmask + (size_t)cap * TEXT_MAX_TOKENS;
    hash_text_encode("", b->empty_tokens, b->empty_mask, b->empty_pooled);
    return C2_OK;
}

void fit_batch_free(fit_batch *b)
{
    free(b->img); /* the float block */
    free(b->tmask); /* the int block */
    memset(b, 0, sizeof *b);
}

void fit_batch_fill(fit_batch *b, const cache *c, const int64_t *idx, int n)
{
    size_t px = (size_t)b->S * b->S, tk = (size_t)TEXT_MAX_TOKENS * TEXT_DIM;
    for (int k = 0; k < n; k++) {
        int64_t i = idx[k];
        const float *src = c->images + (size_t)i * px;
        const uint8_t *msk = c->masks + (size_t)i * px;
        for (size_t p = 0; p < px; p++) {
            b->img[k * px + p] = (src[p] - IMG_MEAN) / IMG_STD;
            b->gt[k * px + p] = msk[p] ? 1.0f : 0.0f;
        }
        int32_t t = c->caption_index ? c->caption_index[i] : -1;
        int have = c->has_embeddings && t >= 0 && t < c->n_captions;
        memcpy(b->tokens + k * tk, have ? c->text_tokens + (size_t)t * tk : b->empty_tokens, tk * sizeof(float));
        memcpy(b->pooled + (size_t)k * TEXT_DIM, have ? c->text_pooled + (size_t)t * TEXT_DIM : b->empty_pooled,
               TEXT_DIM * sizeof(float));
        memcpy(b->tmask + (size_t)k * TEXT_MAX_TOKENS,
               have ? c->text_mask + (size_t)t * TEXT_MAX_TOKENS : b->empty_mask, TEXT_MAX_TOKENS * sizeof(int32_t));
    }
}

int fit_check_finite(const cache *c, const int64_t *idx, int64_t n, c2_err *e)
{
    size_t px = (size_t)c->size * c->size;
    for (int64_t k = 0; k < n; k++)
        for (size_t p = 0; p < px; p++)
            if (!isfinite(c->images[(size_t)idx[k] * px + p]))
                return c2_fail(e, C2_EINVAL, "sample %lld (%s) has a non-finite pixel in the cache",
                               (long long)idx[k], c->samples[idx[k]].file ? c->samples[idx[k]].file : "?");
    return C2_OK;
}
